//! Explanations of the nemesis' lines (crashes, restarts, pauses, network cuts, slow disks,
//! clock skews, paused consumers, stopped producers) and of the network's connection resets.

use super::*;

pub(super) fn nemesis_line(sim: &ClusterSim, at_ms: i64, text: &str) -> Option<Draft> {
    let fault = |severity: Severity, what: String| draft(severity, Topic::Fault, what);
    if let Some(rest) = text.strip_prefix("hold the next EndTxn") {
        // "hold the next EndTxn[(commit)|(abort)] from node N for M ms[, then until ...]"
        let (which, rest) = match rest.strip_prefix("(commit)") {
            Some(r) => ("EndTxn(commit)", r),
            None => match rest.strip_prefix("(abort)") {
                Some(r) => ("EndTxn(abort)", r),
                None => ("EndTxn", rest),
            },
        };
        let (rest, until) = match rest.strip_suffix(", then until a later transaction is under way")
        {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let [from, ms] = capture(rest, " from node {} for {} ms")?;
        let from: u32 = num(from)?;
        let hold = if until {
            format!("for {ms} ms and then until the producer's next transaction has records in a partition")
        } else {
            format!("for {ms} ms")
        };
        return Some(
            fault(
                Severity::Warning,
                format!(
                    "Nemesis: the next {which} from {} will be held {hold}",
                    node_name(sim, from)
                ),
            )
            .why("The producer will time out and retry, and the retry ends the transaction. The held request arrives later, during the producer's next transaction: below transaction version 2 it carries that transaction's producer id and epoch, so the coordinator takes it for the next transaction's end (J-7 #3, drill D15).".to_owned())
            .refs(node_ref(sim, from)),
        );
    }
    if let Some([from, to, ms]) =
        capture(text, "hold the next Produce from node {} to {} for {} ms")
    {
        let from: u32 = num(from)?;
        let broker = to.strip_prefix("broker ").and_then(num::<u32>);
        return Some(
            fault(
                Severity::Warning,
                format!(
                    "Nemesis: the next Produce from {} to {to} will be held for {ms} ms",
                    node_name(sim, from)
                ),
            )
            .why("A router sitting on one packet: the request arrives long after it was sent, out of order with what follows (drill D14).".to_owned())
            .refs(node_ref(sim, from).into_iter().chain(broker.and_then(|b| node_ref(sim, b)))),
        );
    }
    if let Some(rest) = text.strip_prefix("crash broker ") {
        let (b, kind) = match rest.split_once(' ') {
            Some((b, kind)) => (num::<u32>(b)?, kind),
            None => (num::<u32>(rest)?, ""),
        };
        let (what, why) = match kind {
            "" => (
                format!("Broker {b} crashed (process killed); its unsynced page cache survives"),
                "A process crash (SIGKILL) keeps the OS page cache: records appended but not yet written back still reach the disk.".to_owned(),
            ),
            "with power loss (unsynced page cache lost)" => (
                format!("Broker {b} lost power: its unsynced page cache is gone"),
                format!(
                    "Kafka does not fsync; the OS writes dirty pages back every os.writeback.interval.ms ({} ms). Records appended since the last writeback exist only on other replicas, if any.",
                    sim.scenario().broker.os_writeback_interval_ms
                ),
            ),
            "with power loss tearing its last unsynced append" => (
                format!("Broker {b} lost power while writing back: its last unsynced append is torn"),
                "Everything unsynced is lost except a torn prefix of the newest append; log recovery finds it by its size and CRC-32C and cuts it.".to_owned(),
            ),
            _ => return None,
        };
        let led = led_partitions(sim, b);
        let followed = followed_partitions(sim, b);
        let timeout = sim.scenario().broker.broker_session_timeout_ms;
        let mut consequences = String::new();
        if !led.is_empty() {
            consequences.push_str(&format!(
                " It led {}: after broker.session.timeout.ms ({timeout} ms) without heartbeats the controller fences it and elects new leaders from the ISR.",
                list(&led)
            ));
        }
        if !followed.is_empty() {
            consequences.push_str(&format!(
                " Its follower replicas of {} stop fetching and leave their ISRs (when the leader shrinks the ISR after replica.lag.time.max.ms, or when the controller fences it).",
                list(&followed)
            ));
        }
        return Some(
            fault(Severity::Warning, what)
                .why(format!("{why}{consequences}"))
                .refs(
                    std::iter::once(Ref::Broker(b))
                        .chain(led.iter().chain(&followed).map(|tp| replica_ref(tp, b))),
                ),
        );
    }
    for (template, action) in [
        ("{} has no leader to crash", "crash"),
        ("{} has no leader to cut off", "cut off"),
    ] {
        if let Some([tp]) = capture(text, template) {
            let tp = parse_tp(tp)?;
            return Some(
                fault(
                    Severity::Notice,
                    format!("Nothing to {action}: {tp} has no leader"),
                )
                .why(format!(
                    "{tp} is offline, so the step that targets its leader does nothing"
                ))
                .refs([partition_ref(&tp)]),
            );
        }
    }
    if let Some([b]) = capture(text, "restart broker {}") {
        let b: u32 = num(b)?;
        return Some(
            fault(Severity::Notice, format!("Broker {b} restarted"))
                .why("It recovers its logs from disk, registers with the controller under a new broker epoch and replays the metadata log; it stays fenced, leading nothing, until it has caught up. Its replicas then truncate to their leaders' leader epochs and fetch their way back into the ISR.".to_owned())
                .refs([Ref::Broker(b)]),
        );
    }
    if let Some([sides]) = capture(text, "partition the network into {}") {
        let groups: Vec<Vec<u32>> = sides.split("], [").map(numbers).collect();
        let names: Vec<String> = groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|n| node_name(sim, *n))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .map(|g| format!("{{{g}}}"))
            .collect();
        return Some(
            fault(Severity::Warning, format!("Network partitioned into {}", names.join(" | ")))
                .why("Messages between the groups are lost, both ways; connections inside a group still work. Requests across the cut time out.".to_owned())
                .refs(groups.iter().flatten().filter_map(|n| node_ref(sim, *n))),
        );
    }
    if let Some([from, to]) = capture(text, "drop messages from node {} to node {}") {
        let (from, to) = (num::<u32>(from)?, num::<u32>(to)?);
        return Some(
            fault(
                Severity::Warning,
                format!("Network: messages from {} to {} are lost", node_name(sim, from), node_name(sim, to)),
            )
            .why("A one-way cut: the other direction still works, so requests arrive but answers (or the reverse) never do.".to_owned())
            .refs([from, to].into_iter().filter_map(|n| node_ref(sim, n))),
        );
    }
    if let Some([count, from, to]) = capture(
        text,
        "drop the {} message(s) in flight from node {} to node {}",
    ) {
        let (count, from, to) = (num::<u32>(count)?, num::<u32>(from)?, num::<u32>(to)?);
        return Some(
            fault(
                Severity::Warning,
                format!(
                    "Network: {count} message(s) on the wire from {} to {} are lost",
                    node_name(sim, from),
                    node_name(sim, to)
                ),
            )
            .why("Only what was already in flight is lost; the link stays up. A lost request is retried after request.timeout.ms; a lost answer leaves its sender unsure whether the write happened, which is what idempotence is for.".to_owned())
            .refs([from, to].into_iter().filter_map(|n| node_ref(sim, n))),
        );
    }
    if let Some([sequence, kind, from, to]) = capture(
        text,
        "drop message #{} ({}) in flight from node {} to node {}",
    ) {
        let (sequence, from, to) = (num::<u64>(sequence)?, num::<u32>(from)?, num::<u32>(to)?);
        return Some(
            fault(
                Severity::Warning,
                format!(
                    "Network: the {kind} #{sequence} on the wire from {} to {} is lost",
                    node_name(sim, from),
                    node_name(sim, to)
                ),
            )
            .why("Only that message is lost; the link stays up and later messages arrive. A lost request is retried after request.timeout.ms; a lost answer leaves its sender unsure whether the write happened, which is what idempotence is for.".to_owned())
            .refs([from, to].into_iter().filter_map(|n| node_ref(sim, n))),
        );
    }
    if let Some([sequence, from, to]) = capture(
        text,
        "drop message #{} from node {} to node {}: not in flight, nothing lost",
    ) {
        let (sequence, from, to) = (num::<u64>(sequence)?, num::<u32>(from)?, num::<u32>(to)?);
        return Some(
            fault(
                Severity::Info,
                format!(
                    "Network: message #{sequence} from {} to {} had already arrived; nothing lost",
                    node_name(sim, from),
                    node_name(sim, to)
                ),
            )
            .why("A message can only be dropped while it is on the wire.".to_owned())
            .refs([from, to].into_iter().filter_map(|n| node_ref(sim, n))),
        );
    }
    if let Some([n]) = capture(text, "isolate node {}") {
        let n: u32 = num(n)?;
        return Some(
            fault(Severity::Warning, format!("Network: {} is cut off from every other node", node_name(sim, n)))
                .why("Everything it sends and everything sent to it is lost until the network heals; a broker cut off from the controller is fenced after broker.session.timeout.ms.".to_owned())
                .refs(node_ref(sim, n)),
        );
    }
    if text == "heal the network" {
        return Some(
            fault(
                Severity::Notice,
                "Network healed: every node reaches every other".into(),
            )
            .why("Partitions end; fenced brokers heartbeat again and catch up.".to_owned()),
        );
    }
    if text == "change network faults" {
        return Some(
            fault(Severity::Warning, "Network faults changed".into())
                .why(network_config_why(sim, at_ms)),
        );
    }
    if text == "pause consumers" || text == "resume consumers" {
        let pause = text == "pause consumers";
        return Some(if pause {
            fault(Severity::Notice, "Every consumer pauses fetching".into())
                .why("Like consumer.pause() on all partitions: a slow or stuck application falls behind; retention may delete records before it reads them.".to_owned())
        } else {
            fault(Severity::Notice, "Every consumer resumes fetching".into())
                .why("Like consumer.resume(): each continues from its position.".to_owned())
        });
    }
    if let Some([b]) = capture(
        text,
        "pause broker {} (SIGSTOP): no timers, no heartbeats, input waits",
    ) {
        let b: u32 = num(b)?;
        return Some(
            fault(Severity::Warning, format!("Broker {b} paused (SIGSTOP)"))
                .why(format!(
                    "It runs nothing and sends no heartbeats; what reaches it waits in its sockets. After broker.session.timeout.ms ({} ms) the controller fences it and moves its leaderships.",
                    sim.scenario().broker.broker_session_timeout_ms
                ))
                .refs([Ref::Broker(b)]),
        );
    }
    if let Some([b, n]) = capture(text, "resume broker {} (SIGCONT): {} message(s) waited") {
        let (b, n): (u32, u32) = (num(b)?, num(n)?);
        return Some(
            fault(Severity::Notice, format!("Broker {b} resumed (SIGCONT); {n} message(s) waited for it"))
                .why("Its overdue timers fire first, then it reads what waited in arrival order, with its stale view: produce requests queued while it led are appended until the metadata behind them demotes it, and then truncated.".to_owned())
                .refs([Ref::Broker(b)]),
        );
    }
    if let Some([b]) = capture(text, "broker {}'s disk is healthy again") {
        let b: u32 = num(b)?;
        return Some(
            fault(Severity::Notice, format!("Broker {b}'s disk is healthy again"))
                .why("Requests already queued keep their due times; the backlog drains and a lagging follower catches up.".to_owned())
                .refs([Ref::Broker(b)]),
        );
    }
    if let Some([b, factor]) = capture(text, "broker {}'s disk is {} times slower") {
        let (b, factor): (u32, u32) = (num(b)?, num(factor)?);
        return Some(
            fault(Severity::Warning, format!("Broker {b}'s disk is {factor} times slower"))
                .why(format!(
                    "Every write blocks the broker's request handler; a follower that cannot keep up for replica.lag.time.max.ms ({} ms) leaves the ISR.",
                    sim.scenario().broker.replica.replica_lag_time_max_ms
                ))
                .refs([Ref::Broker(b)]),
        );
    }
    if let Some([n, skew]) = capture(text, "skew node {}'s wall clock by {} ms") {
        let n: u32 = num(n)?;
        let skew: i64 = num(skew.trim_start_matches('+'))?;
        return Some(
            fault(Severity::Warning, format!("{}'s wall clock is now {skew:+} ms off", capitalise(&node_name(sim, n))))
                .why("Only the wall clock moves, not timers: a broker's retention.ms checks, LogAppendTime and produce timestamp checks read it, and so do a producer's CreateTime timestamps.".to_owned())
                .refs(node_ref(sim, n)),
        );
    }
    if let Some([l, tp, tail]) = capture(text, "cut leader {} of {} off from the other brokers{}") {
        let (l, tp): (u32, _) = (num(l)?, parse_tp(tp)?);
        let why = match tail {
            "" => "Clients and the controller still reach it, but its followers cannot fetch: after replica.lag.time.max.ms it shrinks the ISR to itself if the controller accepts. acks=all writes wait for the followers; acks=1 writes are acknowledged by the leader alone.".to_owned(),
            " and the controller" => format!(
                "A zombie leader: clients still reach it, but it cannot change the ISR without the controller. After broker.session.timeout.ms ({} ms) the controller fences it and elects another leader; acks=1 writes it keeps taking are lost, acks=all writes time out.",
                sim.scenario().broker.broker_session_timeout_ms
            ),
            _ => return None,
        };
        return Some(
            fault(
                Severity::Warning,
                format!("Leader {l} of {tp} cut off from the other brokers{tail}"),
            )
            .why(why)
            .refs([Ref::Broker(l), partition_ref(&tp)]),
        );
    }
    if text == "stop producers" {
        return Some(
            fault(
                Severity::Notice,
                "Every producer stops sending new records".into(),
            )
            .why("Requests in flight still finish; consumers can then read everything.".to_owned()),
        );
    }
    None
}

/// The network settings a `set_network` step at this millisecond installed.
pub(super) fn network_config_why(sim: &ClusterSim, at_ms: i64) -> String {
    use crate::sim::cluster::scenario::Action;
    let step = sim
        .scenario()
        .steps
        .iter()
        .rev()
        .find_map(|s| match &s.action {
            Action::SetNetwork { config } if i64::try_from(s.at_ms).ok() == Some(at_ms) => {
                Some(config)
            }
            _ => None,
        });
    match step {
        Some(c) => format!(
            "Each message is now dropped with probability {}, duplicated with probability {}, and delayed by up to {} ms with probability {}; latency {}..={} µs",
            c.drop,
            c.duplicate,
            c.delay.extra_us_max / 1000,
            c.delay.probability,
            c.latency_us_min,
            c.latency_us_max
        ),
        None => "The network's drop, duplicate and delay settings changed".to_owned(),
    }
}

pub(super) fn network_line(sim: &ClusterSim, text: &str) -> Option<Draft> {
    if let Some([seq, from, to, when]) =
        capture(text, "releases EndTxn #{} from node {} to node {} {}")
    {
        let (from, to): (u32, u32) = (num(from)?, num(to)?);
        let when = match when {
            "in the middle of a later transaction" => {
                "now that the producer's next transaction is under way"
            }
            _ => "after waiting as long as it was told to, with no later transaction under way",
        };
        return Some(
            draft(
                Severity::Warning,
                Topic::Network,
                format!(
                    "Network: the held EndTxn #{seq} from {} reaches {} {when}",
                    node_name(sim, from),
                    node_name(sim, to)
                ),
            )
            .why("Below transaction version 2 it carries the same producer id and epoch as the transaction now open, so the coordinator ends that one with it: early, before the producer chose to (J-7 #3). With transaction version 2 every EndTxn bumped the epoch, so this stale copy is fenced (T-10).".to_owned())
            .refs(node_ref(sim, from).into_iter().chain(node_ref(sim, to))),
        );
    }
    if let Some([kind, seq, from, to, ms]) =
        capture(text, "holds {} #{} from node {} to node {} for {} ms")
    {
        let why = match kind {
            "EndTxn" => "The transaction's end will arrive late. The producer's retry ends this transaction; the held copy lands in whatever transaction comes next, which it ends early unless transaction version 2 bumped the epoch in between (T-10).",
            "Produce" => "The request will arrive late, after messages sent after it. If the producer gives up on it first (delivery.timeout.ms) and ends its transaction, the batch reaches the leader after the transaction's marker: without partition verification it opens a transaction nobody will end (T-8).",
            _ => return None,
        };
        let (from, to): (u32, u32) = (num(from)?, num(to)?);
        return Some(
            draft(
                Severity::Warning,
                Topic::Network,
                format!(
                    "Network: {kind} #{seq} from {} to {} is held for {ms} ms",
                    node_name(sim, from),
                    node_name(sim, to)
                ),
            )
            .why(why.to_owned())
            .refs(node_ref(sim, from).into_iter().chain(node_ref(sim, to))),
        );
    }
    let [n, node] = capture(text, "{} connection(s) of node {} reset")?;
    let (n, node): (u32, u32) = (num(n)?, num(node)?);
    Some(
        draft(
            Severity::Notice,
            Topic::Network,
            format!("{} connection(s) of {} reset", n, node_name(sim, node)),
        )
        .why("A dead process's sockets close: what was in flight on them is discarded, producers fail their requests in flight with NETWORK_EXCEPTION and retry, followers back off replica.fetch.backoff.ms.".to_owned())
        .refs(node_ref(sim, node)),
    )
}

fn list(partitions: &[TopicPartition]) -> String {
    partitions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
