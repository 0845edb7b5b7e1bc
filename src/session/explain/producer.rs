//! Explanations of a producer's lines: produce requests, acknowledgements, retries, failed
//! sends, and ignored stale metadata (shared with consumers). The producer's config comes from
//! the scenario; min.insync.replicas and the ISR from the controller and the leader.

use super::*;
use crate::client::producer::{Acks, ProducerConfig};
use crate::sim::history::{Op, SendOutcome, ValueId};

pub(super) fn producer_line(sim: &ClusterSim, p: u32, text: &str) -> Option<Draft> {
    let me = Ref::Producer(p);
    let config = sim.scenario().producers.get(p as usize).map(|s| &s.config);
    if let Some([b, parts, acks]) = capture(text, "produce to broker {} [{}] acks={}") {
        let b: u32 = num(b)?;
        let tps: Vec<TopicPartition> = parts.split(", ").map(parse_tp).collect::<Option<_>>()?;
        let acks = match acks {
            "All" => "all",
            "Leader" => "1",
            "None" => "0",
            _ => return None,
        };
        let names: Vec<String> = tps.iter().map(ToString::to_string).collect();
        let why = match acks {
            "all" => {
                let min = min_insync_replicas(sim, &tps[0].topic);
                // Say so when the request is bound to be refused.
                let short: Vec<String> = tps
                    .iter()
                    .filter_map(|tp| {
                        let isr = partition_isr(sim, tp)?;
                        let rf = sim.controller().partition(tp)?.replicas.len() as u32;
                        let needed = min_insync_replicas(sim, &tp.topic).min(rf);
                        ((isr.len() as u32) < needed).then(|| format!("{tp} has only {} in its ISR", ids_of(&isr)))
                    })
                    .collect();
                let note = if short.is_empty() {
                    String::new()
                } else {
                    format!(". Right now {}: expect NOT_ENOUGH_REPLICAS", short.join("; "))
                };
                format!(
                    "acks=all: the leader answers once every in-sync replica has the records (the high watermark passes them), and refuses the write with NOT_ENOUGH_REPLICAS while the ISR has fewer than min.insync.replicas={min} members{note}"
                )
            }
            "1" => "acks=1: the leader answers as soon as the records are in its own log (its page cache), before any follower has them".to_owned(),
            _ => "acks=0: no answer; the producer counts the records sent when the request leaves".to_owned(),
        };
        let idempotent = config.is_some_and(ProducerConfig::idempotence_enabled);
        let why = if idempotent {
            format!("{why}. Idempotent: the leader drops a retried batch it already has, by producer id and sequence number")
        } else {
            why
        };
        return Some(
            draft(
                Severity::Info,
                Topic::Produce,
                format!(
                    "Producer {p} sent a produce request for {} to broker {b} (acks={acks})",
                    names.join(", ")
                ),
            )
            .why(why)
            .refs(
                [me, Ref::Broker(b)]
                    .into_iter()
                    .chain(tps.iter().map(partition_ref)),
            ),
        );
    }
    if let Some([n, tp, first, last]) = capture(text, "acked {} record(s) at {} offsets {}..={}") {
        let (n, tp): (u32, _) = (num(n)?, parse_tp(tp)?);
        let (first, last): (i64, i64) = (num(first)?, num(last)?);
        let (Ok(first), Ok(last)) = (u64::try_from(first), u64::try_from(last)) else {
            // acks=0: the send completes when the request leaves, with offset -1.
            return Some(
                draft(
                    Severity::Info,
                    Topic::Produce,
                    format!("Producer {p}: {n} record(s) to {tp} counted as sent (acks=0)"),
                )
                .why("acks=0: the broker sends no answer, so the producer learns no offset (-1) and never knows whether the records were appended".to_owned())
                .refs([me, partition_ref(&tp)]),
            );
        };
        let why = match config.map(|c| c.acks) {
            Some(Acks::All) => format!(
                "acks=all: the high watermark passed them, so every in-sync replica{} has them; a clean election keeps them as long as one of those replicas survives with its data",
                partition_isr(sim, &tp).map_or_else(String::new, |isr| format!(" ({})", ids_of(&isr)))
            ),
            Some(Acks::Leader) => format!(
                "acks=1: only the leader{} is known to have them; if it fails before its followers fetch them, they are lost",
                partition_leader(sim, &tp).map_or_else(String::new, |l| format!(" (broker {l})"))
            ),
            _ => "The leader answered with their offsets".to_owned(),
        };
        return Some(
            draft(
                Severity::Info,
                Topic::Produce,
                format!("Producer {p}: {n} record(s) acknowledged at {tp} offsets {first}..{last}"),
            )
            .why(why)
            .refs([
                me,
                partition_ref(&tp),
                offset_ref(&tp, first),
                offset_ref(&tp, last),
            ]),
        );
    }
    if let Some([value, tp, error]) = capture(text, "send of value {} to {} failed: {}") {
        let tp = parse_tp(tp)?;
        let value: u64 = num(value)?;
        let outcome = send_outcome(sim, p, ValueId(value));
        let (severity, verdict) = match outcome {
            Some(SendOutcome::Unknown) => (Severity::Warning, "; outcome unknown"),
            Some(SendOutcome::Failed) => (Severity::Error, "; never written"),
            _ => (Severity::Error, ""),
        };
        return Some(
            draft(
                severity,
                Topic::Produce,
                format!(
                    "Producer {p}: the send of value {value} to {tp} failed with {error}{verdict}"
                ),
            )
            .why(send_failed_why(sim, config, &tp, error, outcome))
            .refs([me, partition_ref(&tp)]),
        );
    }
    if let Some([tp, code, attempt]) = capture(text, "retry {} after {} (attempt {})") {
        let tp = parse_tp(tp)?;
        let attempt: u32 = num(attempt)?;
        return Some(
            draft(
                Severity::Warning,
                Topic::Produce,
                format!("Producer {p}: produce to {tp} failed with {code}; retrying (attempt {attempt})"),
            )
            .why(format!(
                "{} The producer retries after retry.backoff.ms until delivery.timeout.ms ({} ms) runs out.",
                error_why(sim, config, &tp, code),
                config.map_or(0, |c| c.delivery_timeout_ms)
            ))
            .refs([me, partition_ref(&tp)]),
        );
    }
    if let Some(d) = stale_metadata(text) {
        return Some(d.refs([me]));
    }
    if let Some([e]) = capture(text, "send refused: {}") {
        return Some(
            draft(
                Severity::Error,
                Topic::Client,
                format!("Producer {p} refused a send"),
            )
            .why(match e {
                "BufferExhausted" => "buffer.memory is full of batches waiting to be sent; KafkaProducer.send would block up to max.block.ms".to_owned(),
                _ if e.starts_with("UnknownTopic") => "The topic is not in the producer's metadata yet; KafkaProducer.send would block up to max.block.ms".to_owned(),
                _ => format!("KafkaProducer.send failed before queuing the record: {e}"),
            })
            .refs([me]),
        );
    }
    None
}

/// Why a produce got this error, for the retry and failure lines.
pub(super) fn error_why(
    sim: &ClusterSim,
    config: Option<&ProducerConfig>,
    tp: &TopicPartition,
    code: &str,
) -> String {
    match code {
        "NOT_ENOUGH_REPLICAS" => not_enough_replicas_why(sim, tp),
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND" => format!(
            "The leader appended the records, but its ISR fell below min.insync.replicas={} before the high watermark covered them. The records stay in the log, so a retry without idempotence writes them twice.",
            min_insync_replicas(sim, &tp.topic)
        ),
        "NETWORK_EXCEPTION" => {
            let down = partition_leader(sim, tp)
                .filter(|l| broker_node(sim, *l).is_some_and(|n| !n.alive))
                .map_or_else(String::new, |l| format!(
                    " Broker {l}, which the controller still has leading {tp}, is down: connections to it are refused until the controller fences it after broker.session.timeout.ms ({} ms) and elects a new leader.",
                    sim.scenario().broker.broker_session_timeout_ms
                ));
            format!("The connection to the leader broke (its broker crashed, or refused the connection); the request may or may not have been appended.{down}")
        }
        "REQUEST_TIMED_OUT" => format!(
            "No answer within request.timeout.ms ({} ms): the leader may be cut off, paused, or waiting for followers that cannot fetch; the request may have been appended.",
            config.map_or(0, |c| c.request_timeout_ms)
        ),
        "NOT_LEADER_OR_FOLLOWER" => format!(
            "The broker no longer leads {tp} (or does not know yet that it does); the producer refreshes its metadata{}.",
            partition_leader(sim, tp).map_or_else(String::new, |l| format!(": the controller says broker {l} leads now"))
        ),
        "OUT_OF_ORDER_SEQUENCE_NUMBER" => "The leader's idempotent producer state did not expect this batch's sequence number: an earlier batch of this producer is missing (lost with a leader, or more requests in flight than the 5 batches the broker remembers).".to_owned(),
        "UNKNOWN_PRODUCER_ID" => "The leader has no state for this producer id (its batches were truncated or expired); the idempotent producer resets its sequence.".to_owned(),
        "INVALID_TIMESTAMP" => "The leader refused the records' CreateTime timestamps: too far from its clock (log.message.timestamp.after.max.ms / before.max.ms, KIP-937).".to_owned(),
        "UNKNOWN_TOPIC_OR_PARTITION" => "The broker does not host this partition (yet).".to_owned(),
        other => format!("The broker answered {other}."),
    }
}

/// The issue's own example: acks=all needs min.insync.replicas in-sync replicas.
pub(super) fn not_enough_replicas_why(sim: &ClusterSim, tp: &TopicPartition) -> String {
    let min = min_insync_replicas(sim, &tp.topic);
    let state = sim.controller().partition(tp);
    let rf = state.map_or(min, |s| s.replicas.len() as u32);
    let effective = min.min(rf);
    // The leader decides on its own view of the ISR; before it knows one, the controller's.
    let isr = partition_isr(sim, tp).unwrap_or_default();
    let n = isr.len() as u32;
    let leader = partition_leader(sim, tp).map_or_else(
        || "the leader".to_owned(),
        |l| format!("the leader (broker {l})"),
    );
    if n < effective {
        format!(
            "acks=all needs min.insync.replicas={min} in-sync replicas; only {n} ({}) {} in the ISR of {tp}, so {leader} refuses the write before appending it.",
            ids_of(&isr),
            if n == 1 { "is" } else { "are" }
        )
    } else {
        format!(
            "acks=all needs min.insync.replicas={min} in-sync replicas; when the leader checked, its ISR had fewer (it is {} again now), so it refused the write before appending it.",
            ids_of(&isr)
        )
    }
}

/// How the history recorded the send of `value`: its line and its history entry come from the
/// same step, so the search from the newest entry is short.
fn send_outcome(sim: &ClusterSim, p: u32, value: ValueId) -> Option<SendOutcome> {
    sim.history().iter().rev().find_map(|op| match op {
        Op::Send {
            producer,
            value: v,
            outcome,
            ..
        } if *producer == p && *v == value => Some(*outcome),
        _ => None,
    })
}

/// What a failed send means for the record: the application only sees the exception, which
/// for a TimeoutException does not say whether an earlier attempt was appended.
fn outcome_note(outcome: Option<SendOutcome>, timeout: bool) -> &'static str {
    match (outcome, timeout) {
        (Some(SendOutcome::Failed), true) => " Every attempt was refused before the leader appended anything (NOT_ENOUGH_REPLICAS, for example), so this record is not in the log. The application cannot tell that from the exception: a TimeoutException only says the producer gave up.",
        (Some(SendOutcome::Failed), false) => " No attempt was appended: the record is not in the log.",
        (Some(SendOutcome::Unknown), _) => " An attempt may have been appended before the failure (it was answered REQUEST_TIMED_OUT or NOT_ENOUGH_REPLICAS_AFTER_APPEND, or its connection broke after it was sent), so the outcome is unknown: the record may be in the log and become readable. The live checker counts it as indeterminate (Jepsen's :info), not as failed.",
        _ => " The outcome is unknown: the record may have been appended (Jepsen's :info).",
    }
}

pub(super) fn send_failed_why(
    sim: &ClusterSim,
    config: Option<&ProducerConfig>,
    tp: &TopicPartition,
    error: &str,
    outcome: Option<SendOutcome>,
) -> String {
    let why = failure_cause(sim, config, tp, error);
    let timeout = error == "TimeoutException";
    if timeout || outcome.is_some() {
        format!("{why}{}", outcome_note(outcome, timeout))
    } else {
        why
    }
}

fn failure_cause(
    sim: &ClusterSim,
    config: Option<&ProducerConfig>,
    tp: &TopicPartition,
    error: &str,
) -> String {
    match error {
        "TimeoutException" => format!(
            "delivery.timeout.ms ({} ms) passed without a successful answer.",
            config.map_or(0, |c| c.delivery_timeout_ms)
        ),
        "NotEnoughReplicasException" => not_enough_replicas_why(sim, tp),
        "NotEnoughReplicasAfterAppendException" => {
            error_why(sim, config, tp, "NOT_ENOUGH_REPLICAS_AFTER_APPEND")
        }
        "OutOfOrderSequenceException" => format!(
            "{} The producer fails the batch rather than risk writing out of order.",
            error_why(sim, config, tp, "OUT_OF_ORDER_SEQUENCE_NUMBER")
        ),
        "NetworkException" => error_why(sim, config, tp, "NETWORK_EXCEPTION"),
        "NotLeaderOrFollowerException" => error_why(sim, config, tp, "NOT_LEADER_OR_FOLLOWER"),
        "RecordTooLargeException" => {
            "The record is larger than max.request.size (or the broker's message.max.bytes)."
                .to_owned()
        }
        "INVALID_TIMESTAMP" => error_why(sim, config, tp, "INVALID_TIMESTAMP"),
        other => format!("The producer gave up on the record with {other}."),
    }
}

/// Shared by producers and consumers: a metadata answer older than what the client knows.
pub(super) fn stale_metadata(text: &str) -> Option<Draft> {
    let [leader, epoch, tp, known] = capture(
        text,
        "metadata names leader {} at epoch {} for {}, older than the known epoch {}: ignored",
    )?;
    let tp = parse_tp(tp)?;
    let (epoch, known): (i32, i32) = (num(epoch)?, num(known)?);
    let leader = if leader == "none" {
        "no leader".to_owned()
    } else {
        format!("leader {}", num::<u32>(leader)?)
    };
    Some(
        draft(
            Severity::Notice,
            Topic::Client,
            format!("Ignored stale metadata for {tp}: {leader} at leader epoch {epoch}, older than the known {known}"),
        )
        .why("A lagging broker's metadata cache answered; the client keeps the newer leader epoch it already knows (KIP-320), so it is never sent back to a deposed leader.".to_owned())
        .refs([partition_ref(&tp)]),
    )
}
