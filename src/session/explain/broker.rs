//! Explanations of a broker's own lines: its crash, torn writes and log recovery, metadata
//! catch-up and registration, wall-clock skew, retention, INVALID_TIMESTAMP refusals, and the
//! operating failures its replicas report.

use super::*;
use crate::log::LogConfig;

pub(super) fn broker_line(sim: &ClusterSim, b: u32, text: &str) -> Option<Draft> {
    let me = Ref::Broker(b);
    if let Some([kind]) = capture(text, "crash ({})") {
        let what = match kind {
            "Process" => format!("Broker {b} is down: process killed, page cache kept"),
            "PowerLoss" => format!("Broker {b} is down: power lost, unsynced page cache gone"),
            "PowerLossTornWrite" => {
                format!("Broker {b} is down: power lost mid-writeback, last append torn")
            }
            _ => return None,
        };
        return Some(
            draft(Severity::Warning, Topic::Fault, what)
                .why("Everything in memory is gone; only what its disk kept survives until it restarts.".to_owned())
                .refs([me]),
        );
    }
    if let Some([file, kept, total]) = capture(
        text,
        "torn write: {} keeps {} of the {} bytes of its last append",
    ) {
        let (kept, total): (u64, u64) = (num(kept)?, num(total)?);
        return Some(
            draft(
                Severity::Warning,
                Topic::Storage,
                format!("Broker {b}: the torn write left {kept} of {total} bytes of the last append in {file}"),
            )
            .why("A power loss in the middle of writing back keeps a strict prefix of the newest unsynced append; recovery at restart finds it by size or CRC-32C and cuts it.".to_owned())
            .refs(std::iter::once(me).chain(file_replica(file, b))),
        );
    }
    if let Some([topic, bad]) = capture(text, "topic {}: log configs ignored: {}") {
        return Some(
            draft(
                Severity::Warning,
                Topic::Storage,
                format!("Broker {b} ignored invalid log configs of topic {topic}"),
            )
            .why(format!(
                "Not valid for a log: {bad}; the log uses its defaults instead"
            ))
            .refs([me]),
        );
    }
    if let Some([offset]) = capture(text, "caught up on metadata at offset {}: serving requests") {
        let offset: u64 = num(offset)?;
        return Some(
            draft(Severity::Info, Topic::Controller, format!("Broker {b} caught up on metadata (offset {offset}) and serves requests"))
                .why("Until it has replayed the metadata log to the end the controller reported at its registration, a starting broker answers NOT_LEADER_OR_FOLLOWER: it does not yet know which partitions it leads. Its next heartbeat lets the controller unfence it.".to_owned())
                .refs([me]),
        );
    }
    if let Some([skew]) = capture(text, "wall clock is now the true time {} ms") {
        let skew: i64 = num(skew.trim_start_matches('+'))?;
        return Some(
            draft(Severity::Notice, Topic::Fault, format!("Broker {b}'s wall clock reads {skew:+} ms from the true time"))
                .why("Its logs read their times on it: segment creation times, LogAppendTime, retention.ms, and the produce timestamp check (log.message.timestamp.after.max.ms).".to_owned())
                .refs([me]),
        );
    }
    if let Some([code]) = capture(text, "registration refused: {}") {
        let why = match code {
            "DUPLICATE_BROKER_REGISTRATION" => format!(
                "The controller still holds the previous incarnation's registration, whose session has not expired (broker.session.timeout.ms, {} ms); the broker tries again.",
                sim.scenario().broker.broker_session_timeout_ms
            ),
            other => format!("The controller answered {other}; the broker tries again."),
        };
        return Some(
            draft(
                Severity::Notice,
                Topic::Controller,
                format!("Broker {b}'s registration was refused: {code}"),
            )
            .why(why)
            .refs([me]),
        );
    }
    if let Some([e]) = capture(text, "disk refused a request: {}") {
        return Some(
            draft(
                Severity::Error,
                Topic::Storage,
                format!("Broker {b}'s disk refused a request"),
            )
            .why(format!("The simulated disk answered: {e}"))
            .refs([me]),
        );
    }
    if let Some([tp, note]) = capture(text, "recovered {}: {}") {
        let tp = parse_tp(tp)?;
        return Some(recovery(b, &tp, note)?.refs([me, replica_ref(&tp, b)]));
    }
    if let Some([tp, e]) = capture(text, "cannot host {}: {}") {
        let tp = parse_tp(tp)?;
        return Some(
            draft(
                Severity::Error,
                Topic::Storage,
                format!("Broker {b} cannot host its replica of {tp}"),
            )
            .why(format!("Opening or recovering the log failed: {e}"))
            .refs([me, replica_ref(&tp, b)]),
        );
    }
    // The rest start with the partition they concern.
    let (tp, rest) = text.split_once(": ")?;
    let tp = parse_tp(tp)?;
    let refs = [me, replica_ref(&tp, b)];
    if let Some([base, next, bytes, reason, start]) = capture(
        rest,
        "retention deleted segment {}..{} ({} bytes, {}); log start offset {}",
    ) {
        let (base, next, bytes, start): (u64, u64, u64, u64) =
            (num(base)?, num(next)?, num(bytes)?, num(start)?);
        let rule = match reason {
            "RetentionMs" => format!(
                "its newest record is older than retention.ms={} on the broker's clock",
                topic_config(sim, &tp.topic, "retention.ms")
                    .unwrap_or_else(|| LogConfig::default().retention_ms.to_string())
            ),
            "RetentionBytes" => format!(
                "the log is larger than retention.bytes={} by at least this segment",
                topic_config(sim, &tp.topic, "retention.bytes")
                    .unwrap_or_else(|| LogConfig::default().retention_bytes.to_string())
            ),
            "LogStartOffsetBreach" => "the log start offset moved past it".to_owned(),
            _ => return None,
        };
        return Some(
            draft(
                Severity::Info,
                Topic::Storage,
                format!("Broker {b} deleted the segment of {tp} with offsets {base}..{} ({bytes} bytes); log start offset now {start}", next.saturating_sub(1)),
            )
            .why(format!("Retention deletes whole segments, never past the high watermark: {rule}. A consumer whose position is below {start} gets OFFSET_OUT_OF_RANGE."))
            .refs(refs.into_iter().chain([offset_ref(&tp, start)])),
        );
    }
    if let Some([e]) = capture(rest, "retention failed: {}") {
        return Some(
            draft(
                Severity::Error,
                Topic::Storage,
                format!("Broker {b}: retention of {tp} failed"),
            )
            .why(e.to_owned())
            .refs(refs),
        );
    }
    if let Some([first, max, clock]) = capture(
        rest,
        "INVALID_TIMESTAMP: record timestamps {}..={} against the broker clock {}",
    ) {
        let (first, max, clock): (i64, i64, i64) = (num(first)?, num(max)?, num(clock)?);
        return Some(
            draft(
                Severity::Error,
                Topic::Produce,
                format!("Broker {b} refused a produce to {tp} with INVALID_TIMESTAMP"),
            )
            .why(invalid_timestamp_why(sim, &tp.topic, first, max, clock))
            .refs(refs),
        );
    }
    operating_failure(b, &tp, rest).map(|d| d.refs(refs))
}

/// The operating failures a replica reports (`ReplicaError`, not protocol errors), each with
/// what the broker was doing and what it answered, as the engine's line says. Any other text
/// after a partition is someone else's line (groups, transactions): `None` passes it on, so a
/// line is never called an error the engine did not report.
fn operating_failure(b: u32, tp: &TopicPartition, rest: &str) -> Option<Draft> {
    let failed =
        |what: String, why: String| Some(draft(Severity::Error, Topic::Storage, what).why(why));
    for (template, request) in [
        (
            "produce answered UNKNOWN_SERVER_ERROR: {}",
            "a produce request",
        ),
        (
            "follower fetch answered UNKNOWN_SERVER_ERROR: {}",
            "a follower's fetch",
        ),
        (
            "transaction state record answered UNKNOWN_SERVER_ERROR: {}",
            "a transaction coordinator's state record",
        ),
        (
            "transaction marker answered UNKNOWN_SERVER_ERROR: {}",
            "a transaction marker",
        ),
        (
            "offset commit record answered UNKNOWN_SERVER_ERROR: {}",
            "a group coordinator's offset commit record",
        ),
    ] {
        if let Some([e]) = capture(rest, template) {
            return failed(
                format!("Broker {b} failed to serve {request} on {tp}: UNKNOWN_SERVER_ERROR"),
                format!("Its replica reported an operating failure: {e}. Kafka answers an unexpected exception with UNKNOWN_SERVER_ERROR; the client may retry."),
            );
        }
    }
    if let Some([e]) = capture(rest, "cannot take up its role from the metadata: {}") {
        return failed(
            format!("Broker {b} could not become leader or follower of {tp}"),
            format!("Applying the partition's new state from the metadata log failed: {e}. The broker goes on with the replica's previous state."),
        );
    }
    if let Some([e]) = capture(rest, "fetched records not applied: {}") {
        return failed(
            format!("Broker {b} could not append what it fetched for {tp}"),
            format!(
                "Its follower replica refused the leader's fetch response: {e}. It fetches again."
            ),
        );
    }
    None
}

pub(super) fn recovery(b: u32, tp: &TopicPartition, note: &str) -> Option<Draft> {
    if let Some([bytes, at, file, reason]) =
        capture(note, "cut a torn tail of {} bytes at byte {} of {}: {}")
    {
        let (bytes, at): (u64, u64) = (num(bytes)?, num(at)?);
        return Some(
            draft(Severity::Warning, Topic::Storage, format!("Broker {b} recovered {tp}: cut a torn tail of {bytes} bytes at byte {at} of {file}"))
                .why(format!("The last batch was incomplete ({reason}): an unsynced write torn by the power loss. Log recovery truncates there, like Kafka's LogSegment.recover.")),
        );
    }
    if let Some([at, file, reason, discarded]) = capture(
        note,
        "CORRUPTION at byte {} of {}: {}; cut there, {} bytes discarded",
    ) {
        return Some(
            draft(Severity::Error, Topic::Storage, format!("Broker {b} found corruption in {tp} at byte {at} of {file}"))
                .why(format!("{reason}. Recovery cut the log there and discarded {discarded} bytes; the replica fetches them again from the leader if it can.")),
        );
    }
    if let Some([files]) = capture(note, "deleted {}") {
        return Some(
            draft(Severity::Notice, Topic::Storage, format!("Broker {b} recovered {tp}: deleted {files}"))
                .why("Index files without a segment are left over from an interrupted write or deletion.".to_owned()),
        );
    }
    if let Some([n]) = capture(note, "rebuilt the indexes of {} sealed segment(s)") {
        let n: u32 = num(n)?;
        return Some(
            draft(Severity::Info, Topic::Storage, format!("Broker {b} recovered {tp}: rebuilt the indexes of {n} segment(s)"))
                .why("The offset and time indexes on disk did not match their segments (unsynced when the broker went down), so recovery rebuilt them from the records.".to_owned()),
        );
    }
    None
}

pub(super) fn invalid_timestamp_why(
    sim: &ClusterSim,
    topic: &str,
    first: i64,
    max: i64,
    clock: i64,
) -> String {
    let after = topic_config(sim, topic, "message.timestamp.after.max.ms")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(sim.scenario().broker.message_timestamp_after_max_ms);
    let before = topic_config(sim, topic, "message.timestamp.before.max.ms")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(sim.scenario().broker.message_timestamp_before_max_ms);
    let ahead = max.saturating_sub(clock);
    let behind = clock.saturating_sub(first);
    let rule = if ahead > after {
        format!("the newest record's CreateTime is {ahead} ms ahead of the broker's clock, more than log.message.timestamp.after.max.ms={after}")
    } else if behind > before {
        format!("the oldest record's CreateTime is {behind} ms behind the broker's clock, more than log.message.timestamp.before.max.ms={before}")
    } else {
        "a record's CreateTime is outside the window the broker accepts".to_owned()
    };
    format!("The leader checks each batch's timestamps against its own wall clock: {rule} (KIP-937). The error is not retriable: the send fails.")
}
