//! Explanations of the controller's lines: fencing and unfencing, topic creation, each
//! partition change (created, a broker fenced or unfenced, an ISR change by AlterPartition, an
//! unclean or preferred election) and refused AlterPartition requests. The metadata record is
//! traced before any broker applies it, so a broker's metadata cache still shows the state
//! before the change: that is how a line tells an election from an ISR shrink.

use super::*;
use crate::broker::config::FollowerTruncation;
use crate::controller::{LeaderRecoveryState, PartitionState};

pub(super) fn controller_line(sim: &ClusterSim, text: &str) -> Option<Draft> {
    if let Some([b]) = capture(
        text,
        "fence broker {}: no heartbeat for broker.session.timeout.ms",
    ) {
        return Some(fenced(sim, num(b)?));
    }
    if let Some([b]) = capture(text, "unfence broker {}") {
        let b: u32 = num(b)?;
        return Some(
            draft(
                Severity::Notice,
                Topic::Controller,
                format!("Controller unfenced broker {b}: it may lead partitions and join ISRs again"),
            )
            .why(format!(
                "Broker {b}'s heartbeat reported it had replayed the metadata log up to its own registration, so the controller lets it serve (KRaft broker fencing)"
            ))
            .refs([Ref::Broker(b)]),
        );
    }
    if let Some([tp, leader, epoch, isr, reason]) =
        capture(text, "{}: leader {} epoch {} ISR [{}] ({})")
    {
        let leader = if leader == "none" {
            None
        } else {
            Some(num::<u32>(leader)?)
        };
        return partition_change(
            sim,
            &parse_tp(tp)?,
            leader,
            num(epoch)?,
            &parse_ids(isr)?,
            parse_reason(reason)?,
        );
    }
    if let Some([tp, b, isr, code]) = capture(
        text,
        "{}: AlterPartition from broker {} for ISR [{}] refused: {}",
    ) {
        return Some(alter_partition_refused(
            sim,
            &parse_tp(tp)?,
            num(b)?,
            &parse_ids(isr)?,
            code,
        ));
    }
    if let Some([topic, partitions, rf]) = capture(
        text,
        "create topic {} with {} partition(s), replication factor {}, min.insync.replicas {}",
    )
    .map(|[t, p, rf, _]| [t, p, rf])
    .or_else(|| {
        capture(
            text,
            "create topic {} with {} partition(s), replication factor {}",
        )
    }) {
        let partitions: u32 = num(partitions)?;
        let rf: u32 = num(rf)?;
        return Some(
            draft(
                Severity::Info,
                Topic::Controller,
                format!("Controller created topic {topic}: {partitions} partition(s), each on {rf} replica(s)"),
            )
            .why(format!(
                "min.insync.replicas={} for {topic}; each partition's first replica is its preferred leader",
                min_insync_replicas(sim, topic)
            ))
            .refs((0..partitions).map(|p| Ref::Partition {
                topic: topic.to_owned(),
                partition: p,
            })),
        );
    }
    if let Some([topic, reason]) = capture(text, "create topic {} failed: {}") {
        return Some(
            draft(
                Severity::Error,
                Topic::Controller,
                format!("Controller could not create topic {topic}"),
            )
            .why(format!("The controller answered {reason}")),
        );
    }
    None
}

pub(super) fn fenced(sim: &ClusterSim, b: u32) -> Draft {
    let timeout = sim.scenario().broker.broker_session_timeout_ms;
    let state = match broker_node(sim, b) {
        Some(node) if !node.alive => format!("broker {b} is down"),
        _ => format!("broker {b} is running but its heartbeats did not reach the controller (paused, cut off, or messages lost)"),
    };
    draft(
        Severity::Warning,
        Topic::Controller,
        format!("Controller fenced broker {b}: no heartbeat for broker.session.timeout.ms ({timeout} ms)"),
    )
    .why(format!(
        "{}. A fenced broker leaves every ISR and cannot be elected leader until it heartbeats again; the partitions it led get new leaders from their ISRs",
        capitalise(&state)
    ))
    .refs([Ref::Broker(b)])
}

/// Why the controller changed a partition (the `ChangeReason` of its metadata record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reason {
    Created,
    BrokerFenced(u32),
    BrokerUnfenced(u32),
    AlterPartition(u32),
    UncleanElection,
    PreferredElection,
}

pub(super) fn parse_reason(text: &str) -> Option<Reason> {
    let broker = |name: &str| -> Option<u32> {
        let inner = text.strip_prefix(name)?.strip_prefix("(BrokerId(")?;
        num(inner.strip_suffix("))")?)
    };
    match text {
        "Created" => Some(Reason::Created),
        "UncleanElection" => Some(Reason::UncleanElection),
        "PreferredElection" => Some(Reason::PreferredElection),
        _ => broker("BrokerFenced")
            .map(Reason::BrokerFenced)
            .or_else(|| broker("BrokerUnfenced").map(Reason::BrokerUnfenced))
            .or_else(|| broker("AlterPartition").map(Reason::AlterPartition)),
    }
}

pub(super) fn partition_change(
    sim: &ClusterSim,
    tp: &TopicPartition,
    leader: Option<u32>,
    epoch: i32,
    isr: &[u32],
    reason: Reason,
) -> Option<Draft> {
    let mut refs = vec![partition_ref(tp)];
    refs.extend(leader.map(|l| replica_ref(tp, l)));
    let before = state_before(sim, tp, leader, epoch, isr);
    let min_isr = min_insync_replicas(sim, &tp.topic);
    let below_min = (isr.len() as u32) < min_isr;
    let min_isr_note = if below_min {
        format!(
            " The ISR is now below min.insync.replicas={min_isr}: acks=all produce requests fail with NOT_ENOUGH_REPLICAS until it grows back."
        )
    } else {
        String::new()
    };
    let draft = match leader {
        None => offline(sim, tp, epoch, isr, reason),
        Some(l)
            if reason == Reason::UncleanElection
                || elected_outside_isr(sim, tp, l, epoch, before.as_ref()) =>
        {
            unclean(tp, l, epoch, reason, before.as_ref())
        }
        Some(l) => match reason {
            Reason::AlterPartition(b) => {
                isr_change(sim, tp, b, epoch, isr, before.as_ref(), &min_isr_note)
            }
            _ => leader_change(
                sim,
                tp,
                l,
                epoch,
                isr,
                reason,
                before.as_ref(),
                &min_isr_note,
            ),
        },
    };
    let severity = if below_min {
        draft.severity.max(Severity::Warning)
    } else {
        draft.severity
    };
    // The partition and its leader first, then what the sentence names.
    refs.extend(draft.refs);
    Some(Draft {
        severity,
        refs,
        ..draft
    })
}

/// The partition as it was just before this change, when a live broker is known to hold it:
/// brokers apply a metadata record after the network delivers it, so a broker whose cache (or
/// replica registration) has the partition epoch before the controller's current one holds
/// exactly the state this record replaced. `None` when no broker has it (all down or behind),
/// or when a later change in the same step moved the controller on.
fn state_before(
    sim: &ClusterSim,
    tp: &TopicPartition,
    leader: Option<u32>,
    epoch: i32,
    isr: &[u32],
) -> Option<PartitionState> {
    let now = sim.controller().partition(tp)?;
    let now_isr: Vec<u32> = now.isr.iter().map(|b| b.0).collect();
    if now.leader.map(|l| l.0) != leader || now.leader_epoch.0 != epoch || now_isr != isr {
        return None;
    }
    let is_previous = |partition_epoch: crate::protocol::PartitionEpoch| {
        partition_epoch.next() == now.partition_epoch
    };
    let live = sim.brokers().iter().filter(|node| node.alive);
    let from_cache = live
        .clone()
        .filter_map(|node| node.cached_partition(tp))
        .find(|s| is_previous(s.partition_epoch))
        .cloned();
    from_cache.or_else(|| {
        live.filter_map(|node| node.replicas.get(tp)?.registration())
            .find(|r| is_previous(r.partition_epoch))
            .map(|r| PartitionState {
                replicas: r.replicas.clone(),
                isr: r.isr.clone(),
                leader: r.leader,
                leader_epoch: r.leader_epoch,
                partition_epoch: r.partition_epoch,
                leader_recovery_state: now.leader_recovery_state,
            })
    })
}

/// Whether the new leader came from outside the ISR: it was not in the ISR before, or the
/// controller marks it as recovering (KIP-704), which only an election outside the ISR does.
fn elected_outside_isr(
    sim: &ClusterSim,
    tp: &TopicPartition,
    leader: u32,
    epoch: i32,
    before: Option<&PartitionState>,
) -> bool {
    let outside_before = before
        .is_some_and(|s| s.leader != Some(BrokerId(leader)) && !s.isr.contains(&BrokerId(leader)));
    let recovering = sim.controller().partition(tp).is_some_and(|s| {
        s.leader_epoch.0 == epoch && s.leader_recovery_state == LeaderRecoveryState::Recovering
    });
    outside_before || recovering
}

fn offline(
    sim: &ClusterSim,
    tp: &TopicPartition,
    epoch: i32,
    isr: &[u32],
    reason: Reason,
) -> Draft {
    let cause = match reason {
        Reason::BrokerFenced(b) => format!("Broker {b} was fenced and no other"),
        _ => "No".to_owned(),
    };
    let rule = if sim.controller().unclean_leader_election_enabled(&tp.topic) {
        "unclean.leader.election.enable=true would accept a replica outside the ISR, but none is alive and unfenced either"
    } else {
        "The controller elects only from the ISR (unclean.leader.election.enable=false)"
    };
    draft(
        Severity::Error,
        Topic::Election,
        format!("{tp} is offline: no leader (leader epoch {epoch}); its ISR stays {}", ids(isr)),
    )
    .why(format!(
        "{cause} ISR member is alive and unfenced. {rule}, so {tp} accepts no writes and serves no reads until an ISR member returns."
    ))
    .refs(isr.iter().map(|b| replica_ref(tp, *b)))
}

fn unclean(
    tp: &TopicPartition,
    leader: u32,
    epoch: i32,
    reason: Reason,
    before: Option<&PartitionState>,
) -> Draft {
    let old_isr = before.map_or_else(String::new, |s| format!(" {}", ids_of(&s.isr)));
    let cause = match reason {
        Reason::BrokerFenced(b) => {
            format!("Broker {b} was fenced, no in-sync replica was left alive")
        }
        Reason::BrokerUnfenced(b) => {
            format!("Broker {b} came back outside the ISR while no in-sync replica was alive")
        }
        _ => "No in-sync replica was alive".to_owned(),
    };
    draft(
        Severity::Error,
        Topic::Election,
        format!("Unclean election: broker {leader} leads {tp} (leader epoch {epoch}) though it was not in the ISR{old_isr}"),
    )
    .why(format!(
        "{cause}, and unclean.leader.election.enable=true lets the controller elect a replica outside the ISR. Records it lacks are lost, even acknowledged acks=all ones, and their offsets go to new records; the old ISR members truncate when they return."
    ))
}

/// What the deposed leader keeps when it returns as a follower. With leader epochs (KIP-101,
/// KIP-279) it asks the new leader where its last epoch ends (OffsetsForLeaderEpoch) and cuts
/// only past that divergence point, so records above the old high watermark that reached the
/// new leader stay; only the legacy mode (before 0.11) cuts to the follower's own high watermark.
fn old_leader_truncation(sim: &ClusterSim) -> &'static str {
    match sim.scenario().broker.replica.follower_truncation {
        FollowerTruncation::LeaderEpoch => "When the old leader returns as a follower it asks the new leader where its last leader epoch ends (OffsetsForLeaderEpoch) and truncates only past that divergence point (KIP-101, KIP-279): records above the high watermark that the new leader also has are kept; only those it never got are removed.",
        FollowerTruncation::HighWatermark => "When the old leader returns as a follower it truncates its log to its own high watermark, as Kafka did before 0.11 (follower_truncation \"<0.11\"), and fetches the rest from the new leader, which may have less: the bug KIP-101 fixed.",
    }
}

/// A clean leader change, or a fenced follower leaving the ISR.
#[allow(clippy::too_many_arguments)]
fn leader_change(
    sim: &ClusterSim,
    tp: &TopicPartition,
    l: u32,
    epoch: i32,
    isr: &[u32],
    reason: Reason,
    before: Option<&PartitionState>,
    min_isr_note: &str,
) -> Draft {
    let isr_text = ids(isr);
    let led_before = before.and_then(|s| s.leader);
    match reason {
        Reason::Created => {
            let replicas = sim
                .controller()
                .partition(tp)
                .map_or_else(|| isr_text.clone(), |s| ids_of(&s.replicas));
            draft(
                Severity::Info,
                Topic::Replication,
                format!("{tp} created: broker {l} leads it (leader epoch {epoch}), ISR {isr_text}"),
            )
            .why(format!(
                "The controller placed its replicas on brokers {replicas}; the first, broker {l}, is the preferred leader, and every replica starts in the ISR"
            ))
        }
        Reason::BrokerFenced(b) if before.is_none() => draft(
            Severity::Notice,
            Topic::Election,
            format!("Broker {b} was fenced and left the ISR of {tp}: broker {l} leads (leader epoch {epoch}), ISR {isr_text}"),
        )
        .why(format!(
            "The controller removes a fenced broker from every ISR; where it led, the first replica in assignment order that is in the ISR and not fenced takes over. {}{min_isr_note}",
            old_leader_truncation(sim)
        ))
        .refs([Ref::Broker(b)]),
        Reason::BrokerFenced(b) if led_before == Some(BrokerId(l)) => draft(
            Severity::Warning,
            Topic::Isr,
            format!("Controller removed fenced broker {b} from the ISR of {tp}: ISR now {isr_text}"),
        )
        .why(format!(
            "A fenced broker cannot stay in sync; broker {l} still leads {tp} (leader epoch {epoch}).{min_isr_note}"
        ))
        .refs([Ref::Broker(b)]),
        Reason::BrokerFenced(b) => draft(
            Severity::Notice,
            Topic::Election,
            format!("Controller elected broker {l} leader of {tp} (leader epoch {epoch}) from the ISR {isr_text}"),
        )
        .why(format!(
            "Broker {b}{} was fenced; the controller picks the first replica in assignment order that is in the ISR and not fenced. {}{min_isr_note}",
            if led_before == Some(BrokerId(b)) {
                format!(", the leader of {tp},")
            } else {
                String::new()
            },
            old_leader_truncation(sim)
        ))
        .refs([Ref::Broker(b)]),
        Reason::BrokerUnfenced(b) => draft(
            Severity::Notice,
            Topic::Election,
            format!("Controller elected broker {l} leader of {tp} (leader epoch {epoch}), ISR {isr_text}"),
        )
        .why(format!(
            "Broker {b} came back and was unfenced, so the controller retried the election of {tp}, which had no leader: broker {l} is in the ISR.{min_isr_note}"
        ))
        .refs([Ref::Broker(b)]),
        Reason::PreferredElection => draft(
            Severity::Notice,
            Topic::Election,
            format!("Controller moved leadership of {tp} back to its preferred replica, broker {l} (leader epoch {epoch})"),
        )
        .why(format!(
            "auto.leader.rebalance.enable={}: every leader.imbalance.check.interval.seconds ({} s) the controller hands leadership back to each partition's first replica once it is an unfenced ISR member",
            sim.scenario().broker.auto_leader_rebalance_enable,
            sim.scenario().broker.leader_imbalance_check_interval_seconds
        )),
        // Handled by the caller; kept total so a new reason still reads well.
        Reason::AlterPartition(_) | Reason::UncleanElection => draft(
            Severity::Notice,
            Topic::Election,
            format!("{tp}: broker {l} leads (leader epoch {epoch}), ISR {isr_text}"),
        ),
    }
}

pub(super) fn isr_change(
    sim: &ClusterSim,
    tp: &TopicPartition,
    leader: u32,
    epoch: i32,
    isr: &[u32],
    before: Option<&PartitionState>,
    min_isr_note: &str,
) -> Draft {
    let isr_text = ids(isr);
    // Without the state before, every member would look added: then say only what it is now.
    let old: Vec<u32> =
        before.map_or_else(|| isr.to_vec(), |s| s.isr.iter().map(|b| b.0).collect());
    let removed: Vec<u32> = old.iter().copied().filter(|b| !isr.contains(b)).collect();
    let added: Vec<u32> = isr.iter().copied().filter(|b| !old.contains(b)).collect();
    let lag_ms = sim.scenario().broker.replica.replica_lag_time_max_ms;
    let refs: Vec<Ref> = removed
        .iter()
        .chain(&added)
        .map(|b| replica_ref(tp, *b))
        .collect();
    let draft = if !removed.is_empty() && added.is_empty() {
        let down: Vec<u32> = removed
            .iter()
            .copied()
            .filter(|b| broker_node(sim, *b).is_some_and(|n| !n.alive))
            .collect();
        let down_note = if down.is_empty() {
            String::new()
        } else {
            format!(
                " ({} {} down)",
                brokers_phrase(&down),
                if down.len() == 1 { "is" } else { "are" }
            )
        };
        draft(
            Severity::Warning,
            Topic::Isr,
            format!("Leader {leader} shrank the ISR of {tp} to {isr_text}, removing {}", brokers_phrase(&removed)),
        )
        .why(format!(
            "The removed follower{down_note} had not caught up with the leader's log end offset within replica.lag.time.max.ms ({lag_ms} ms); the controller accepted the leader's AlterPartition (leader epoch now {epoch}).{min_isr_note}"
        ))
    } else if !added.is_empty() && removed.is_empty() {
        draft(
            Severity::Notice,
            Topic::Isr,
            format!("{} rejoined the ISR of {tp}: ISR now {isr_text}", capitalise(&brokers_phrase(&added))),
        )
        .why(format!(
            "The follower's log end offset reached the leader's high watermark in the current leader epoch, so leader {leader} proposed it back and the controller accepted"
        ))
    } else {
        draft(
            Severity::Notice,
            Topic::Isr,
            format!("Leader {leader} changed the ISR of {tp} to {isr_text}"),
        )
        .why(format!(
            "The controller accepted the leader's AlterPartition (leader epoch {epoch}); followers are in the ISR while they keep up within replica.lag.time.max.ms ({lag_ms} ms).{min_isr_note}"
        ))
    };
    draft.refs(refs)
}

pub(super) fn alter_partition_refused(
    sim: &ClusterSim,
    tp: &TopicPartition,
    b: u32,
    isr: &[u32],
    code: &str,
) -> Draft {
    let now = sim.controller().partition(tp);
    let current = now.map_or_else(String::new, |s| {
        format!(
            " The controller's view: leader {}, leader epoch {}, ISR {}.",
            s.leader.map_or("none".into(), |l| l.0.to_string()),
            s.leader_epoch.0,
            ids_of(&s.isr)
        )
    });
    let why = match code {
        "FENCED_LEADER_EPOCH" => format!(
            "Broker {b} proposed under a leader epoch the controller has moved past: it is no longer {tp}'s leader and has not heard yet."
        ),
        "INELIGIBLE_REPLICA" => "The proposed ISR names a broker the controller does not accept as in sync: fenced, shutting down, or fetching with an old broker epoch (KIP-903).".to_owned(),
        "INVALID_UPDATE_VERSION" => "The proposal carried an old partition epoch: the partition changed since the leader last heard.".to_owned(),
        other => format!("The controller answered {other}."),
    };
    draft(
        Severity::Warning,
        Topic::Isr,
        format!(
            "Controller refused broker {b}'s ISR change for {tp} to {}: {code}",
            ids(isr)
        ),
    )
    .why(format!("{why}{current}"))
    .refs([Ref::Broker(b), partition_ref(tp)])
}
