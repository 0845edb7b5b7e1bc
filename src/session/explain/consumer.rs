//! Explanations of a consumer's lines: polls below the high watermark, fetch errors,
//! OFFSET_OUT_OF_RANGE resets, and the position validation of KIP-320 (OffsetsForLeaderEpoch,
//! detected log truncation, ListOffsets resets).

use super::*;

pub(super) fn consumer_line(sim: &ClusterSim, c: u32, text: &str) -> Option<Draft> {
    let me = Ref::Consumer(c);
    let policy = sim
        .scenario()
        .consumers
        .get(c as usize)
        .map_or("earliest", |s| s.auto_offset_reset.name());
    if let Some([tp, first, last, hw]) = capture(text, "poll {} offsets {}..={} (HW {})") {
        let (tp, first, last, hw): (_, u64, u64, u64) =
            (parse_tp(tp)?, num(first)?, num(last)?, num(hw)?);
        return Some(
            draft(Severity::Info, Topic::Consumer, format!("Consumer {c} read {tp} offsets {first}..{last}"))
                .why(format!("Consumers read only below the high watermark ({hw}): records every in-sync replica has, so no leader change can take them back under clean elections"))
                .refs([me, partition_ref(&tp), offset_ref(&tp, first), offset_ref(&tp, last)]),
        );
    }
    if let Some(d) = super::producer::stale_metadata(text) {
        return Some(d.refs([me]));
    }
    let (tp, rest) = text.split_once(": ")?;
    let tp = parse_tp(tp)?;
    let refs = [me, partition_ref(&tp)];
    let consumer = |severity: Severity, what: String, why: String| {
        Some(
            draft(severity, Topic::Consumer, what)
                .why(why)
                .refs(refs.clone()),
        )
    };
    if let Some([code]) = capture(rest, "fetch failed with {}") {
        let why = match code {
            "FENCED_LEADER_EPOCH" => "The broker's leader epoch is newer than the consumer's metadata: the consumer refreshes its metadata before fetching again (KIP-320).".to_owned(),
            "NOT_LEADER_OR_FOLLOWER" => format!(
                "The broker no longer leads {tp}; the consumer refreshes its metadata{}",
                partition_leader(sim, &tp).map_or_else(String::new, |l| format!(" (broker {l} leads now)"))
            ),
            other => format!("The broker answered {other}; the consumer refreshes its metadata."),
        };
        return consumer(
            Severity::Notice,
            format!("Consumer {c}: fetch from {tp} failed with {code}"),
            why,
        );
    }
    if rest == "fetch got UNKNOWN_LEADER_EPOCH (the broker is behind our metadata); retry after retry.backoff.ms" {
        return consumer(
            Severity::Notice,
            format!("Consumer {c}: fetch from {tp} got UNKNOWN_LEADER_EPOCH"),
            "The consumer's metadata names a newer leader epoch than the broker has applied yet; it retries after retry.backoff.ms.".to_owned(),
        );
    }
    if rest == "undecodable fetch response" {
        return consumer(
            Severity::Error,
            format!("Consumer {c}: could not decode a fetch response from {tp}"),
            "The records did not parse as Kafka record batches (CRC or length mismatch)."
                .to_owned(),
        );
    }
    if let Some([offset, _]) = capture(
        rest,
        "OFFSET_OUT_OF_RANGE at {}; auto.offset.reset=none: OffsetOutOfRangeException, the application stops reading {}",
    ) {
        let offset: u64 = num(offset)?;
        return consumer(
            Severity::Error,
            format!("Consumer {c} stopped reading {tp}: offset {offset} is out of range"),
            "The position is outside the log (retention deleted it, or the log was truncated below it); with auto.offset.reset=none the application gets OffsetOutOfRangeException.".to_owned(),
        )
        .map(|d| d.refs([offset_ref(&tp, offset)]));
    }
    if let Some([offset, reset_policy, to]) = capture(
        rest,
        "OFFSET_OUT_OF_RANGE at {}; auto.offset.reset={} resets to {}",
    ) {
        let (offset, to): (u64, u64) = (num(offset)?, num(to)?);
        let skipped = if to > offset {
            format!(
                " It skips offsets {offset}..{}: retention deleted them before it read them.",
                to - 1
            )
        } else {
            String::new()
        };
        return consumer(
            if to > offset { Severity::Warning } else { Severity::Notice },
            format!("Consumer {c}: offset {offset} of {tp} is out of range; it resets to {to}"),
            format!("The position is outside the log; auto.offset.reset={reset_policy} moves it to the {}.{skipped}", if reset_policy == "latest" { "high watermark (the latest offset)" } else { "log start offset (the earliest)" }),
        )
        .map(|d| d.refs([offset_ref(&tp, offset), offset_ref(&tp, to)]));
    }
    if let Some([offset, epoch, leader, leader_epoch]) = capture(
        rest,
        "validate position {} (epoch {}) with leader {} (epoch {})",
    ) {
        let (offset, leader): (u64, u32) = (num(offset)?, num(leader)?);
        return consumer(
            Severity::Info,
            format!("Consumer {c} checks its position {offset} in {tp} with the new leader, broker {leader}"),
            format!("The leader changed (leader epoch {leader_epoch}); the consumer asks OffsetsForLeaderEpoch where epoch {epoch}, the epoch of the last record it read, ends, to detect a truncated log (KIP-320)."),
        )
        .map(|d| d.refs([Ref::Broker(leader), offset_ref(&tp, offset)]));
    }
    if let Some([code]) = capture(
        rest,
        "OffsetsForLeaderEpoch failed with {}; retry after retry.backoff.ms",
    ) {
        return consumer(
            Severity::Notice,
            format!("Consumer {c}: OffsetsForLeaderEpoch for {tp} failed with {code}"),
            "The broker could not answer yet (it is not the leader, or its metadata lags); the consumer refreshes its metadata and retries after retry.backoff.ms.".to_owned(),
        );
    }
    if let Some([epoch, offset, tail]) = capture(
        rest,
        "log truncation detected: epoch {} of position {} is unknown to the new leader; {}",
    ) {
        let offset: u64 = num(offset)?;
        let stops = tail.starts_with("auto.offset.reset=none");
        return consumer(
            if stops { Severity::Error } else { Severity::Warning },
            format!("Consumer {c} detected log truncation in {tp}: the new leader has no leader epoch {epoch}"),
            format!("Records it read below offset {offset} may be gone from the new leader (an unclean election or lost replicas). {}", if stops { "With auto.offset.reset=none the application gets LogTruncationException and stops reading.".to_owned() } else { format!("auto.offset.reset={policy} resets the position.") }),
        )
        .map(|d| d.refs([offset_ref(&tp, offset)]));
    }
    if let Some([offset, epoch, end, end_epoch, tail]) = capture(
        rest,
        "log truncation detected: position {} (epoch {}) is past the end offset {} of epoch {} on the new leader; {}",
    ) {
        let (offset, end): (u64, u64) = (num(offset)?, num(end)?);
        let stops = tail.starts_with("auto.offset.reset=none");
        let what = format!("Consumer {c} detected log truncation in {tp}: its position {offset} is past the new leader's end offset {end} for epoch {epoch}");
        let why = format!(
            "The new leader's log for leader epoch {end_epoch} ends at {end}, below what the consumer already read: the records it read at offsets {end}..{} are not in the new leader's log. {}",
            offset.saturating_sub(1),
            if stops { "With auto.offset.reset=none the application gets LogTruncationException and stops reading.".to_owned() } else { format!("It seeks back to {end} and reads what is there now.") }
        );
        return consumer(if stops { Severity::Error } else { Severity::Warning }, what, why)
            .map(|d| d.refs([offset_ref(&tp, end), offset_ref(&tp, offset)]));
    }
    if let Some([offset, epoch, end_epoch, end]) = capture(
        rest,
        "position {} (epoch {}) is valid on the new leader (epoch {} ends at {})",
    ) {
        let (offset, end): (u64, u64) = (num(offset)?, num(end)?);
        return consumer(
            Severity::Info,
            format!("Consumer {c}'s position {offset} in {tp} is valid on the new leader"),
            format!("The new leader's leader epoch {end_epoch} (the consumer's epoch {epoch}) ends at {end}, at or past the position: nothing the consumer read was truncated."),
        )
        .map(|d| d.refs([offset_ref(&tp, offset)]));
    }
    if let Some([code]) = capture(
        rest,
        "ListOffsets failed with {}; retry after retry.backoff.ms",
    ) {
        return consumer(
            Severity::Notice,
            format!("Consumer {c}: ListOffsets for {tp} failed with {code}"),
            "The consumer needs an offset to reset to; it refreshes its metadata and retries after retry.backoff.ms.".to_owned(),
        );
    }
    if let Some([reset_policy, offset]) =
        capture(rest, "auto.offset.reset={} resets the position to {}")
    {
        let offset: u64 = num(offset)?;
        return consumer(
            Severity::Info,
            format!("Consumer {c} resets its position in {tp} to offset {offset}"),
            format!(
                "auto.offset.reset={reset_policy}: ListOffsets gave the {} offset",
                if reset_policy == "latest" {
                    "log's end (high watermark)"
                } else {
                    "log start"
                }
            ),
        )
        .map(|d| d.refs([offset_ref(&tp, offset)]));
    }
    None
}
