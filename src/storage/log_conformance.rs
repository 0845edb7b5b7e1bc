//! Log-level probes of the conformance suite: bytes a backend gives back after a crash must let
//! the partition log recover exactly. A torn last batch (synced half-way) is cut by its CRC;
//! a corrupted batch in the middle of a segment is reported, never silently served.

use super::conformance::{Action, Expect, Probe};
use super::{Completion, FileName, StorageRequest};
use crate::ids::{Offset, PartitionIndex, TopicPartition};
use crate::log::batch::{set_base_offset, NewRecord, ProducerFields, RecordBatch};
use crate::log::config::LogConfig;
use crate::log::partition_log::PartitionLog;

const TORN: &str = "torn-0/00000000000000000000.log";
const CORRUPT: &str = "corrupt-0/00000000000000000000.log";
const GARBLED: &str = "garbled-0/00000000000000000000.log";

/// Three encoded batches of two records each, at offsets 0, 2 and 4.
fn batches() -> Vec<Vec<u8>> {
    (0..3i64)
        .map(|b| {
            let records: Vec<NewRecord> = (0..2i64)
                .map(|r| {
                    let key = format!("key-{}", b * 2 + r);
                    let value = format!("value-{}", b * 2 + r);
                    NewRecord::new(
                        1_000 + b * 10 + r,
                        Some(key.as_bytes()),
                        Some(value.as_bytes()),
                    )
                })
                .collect();
            let mut bytes = RecordBatch::new_data(&records, ProducerFields::NONE).encode();
            // The base offset is outside the CRC, so stamping it keeps the batch valid.
            if set_base_offset(&mut bytes, Offset(b * 2)).is_err() {
                return Vec::new();
            }
            bytes
        })
        .collect()
}

fn torn_image() -> Vec<u8> {
    let b = batches();
    let mut out = [b[0].as_slice(), b[1].as_slice()].concat();
    out.extend_from_slice(&b[2][..b[2].len() / 2]);
    out
}

/// The last batch has its full length on disk but its records are zeros: a write whose length
/// reached the disk before its data did. Only the CRC can tell.
fn garbled_image() -> Vec<u8> {
    let b = batches();
    let mut last = b[2].clone();
    for byte in last.iter_mut().skip(61) {
        *byte = 0;
    }
    [b[0].as_slice(), b[1].as_slice(), last.as_slice()].concat()
}

fn corrupt_image() -> Vec<u8> {
    let b = batches();
    let mut middle = b[1].clone();
    let last = middle.len() - 1;
    middle[last] ^= 0x5a; // A flipped bit in the last value byte: the CRC no longer matches.
    [b[0].as_slice(), middle.as_slice(), b[2].as_slice()].concat()
}

fn recover_read(
    completions: &[Completion],
    dir: &str,
    file: &str,
) -> Result<(PartitionLog, crate::log::recovery::RecoveryReport), String> {
    let bytes = match completions.last() {
        Some(Completion::Read(_, bytes)) => bytes.clone(),
        other => return Err(format!("expected a read, got {other:?}")),
    };
    let name = FileName::new(file).map_err(|e| e.to_string())?;
    let tp = TopicPartition {
        topic: dir.to_owned(),
        partition: PartitionIndex(0),
    };
    PartitionLog::recover(tp, LogConfig::default(), vec![(name, bytes)], 0)
        .map_err(|e| format!("recovery failed: {e}"))
}

fn check_torn(completions: &[Completion]) -> Result<(), String> {
    let (log, report) = recover_read(completions, "torn", TORN)?;
    if log.log_end_offset() != Offset(4) {
        return Err(format!(
            "after cutting the torn batch the log should end at offset 4, not {}",
            log.log_end_offset()
        ));
    }
    if report.torn_tail.is_none() || report.corruption.is_some() {
        return Err(format!(
            "expected a torn tail and no corruption, got {report:?}"
        ));
    }
    Ok(())
}

fn check_garbled(completions: &[Completion]) -> Result<(), String> {
    let (log, report) = recover_read(completions, "garbled", GARBLED)?;
    let reason = report.torn_tail.as_ref().map(|t| t.reason.to_lowercase());
    if !reason.as_deref().is_some_and(|r| r.contains("crc")) || report.corruption.is_some() {
        return Err(format!(
            "expected a torn tail found by its CRC, got {report:?}"
        ));
    }
    if log.log_end_offset() != Offset(4) {
        return Err(format!(
            "the log should end at offset 4, not {}",
            log.log_end_offset()
        ));
    }
    Ok(())
}

fn check_corrupt(completions: &[Completion]) -> Result<(), String> {
    let (log, report) = recover_read(completions, "corrupt", CORRUPT)?;
    let Some(corruption) = &report.corruption else {
        return Err(format!(
            "corruption in the middle was not reported: {report:?}"
        ));
    };
    let first_len = batches()[0].len() as u64;
    if corruption.position != first_len {
        return Err(format!(
            "corruption reported at byte {}, expected {first_len}",
            corruption.position
        ));
    }
    if log.log_end_offset() != Offset(2) {
        return Err(format!(
            "records from the corrupt batch on must not be served; log ends at {}",
            log.log_end_offset()
        ));
    }
    Ok(())
}

fn file(name: &str) -> FileName {
    FileName::new(name).unwrap_or_else(|e| panic!("conformance suite file name: {e}"))
}

pub fn probes() -> Vec<Probe> {
    vec![
        Probe::new(
            "a torn last batch is cut by its CRC",
            Action::Execute(vec![
                StorageRequest::Append {
                    file: file(TORN),
                    bytes: torn_image(),
                },
                StorageRequest::Sync,
            ]),
            Expect::AllDone,
        ),
        Probe::new(
            "a torn last batch is cut by its CRC",
            Action::CrashAndReopen,
            Expect::AllDone,
        ),
        Probe::new(
            "a torn last batch is cut by its CRC",
            Action::Execute(vec![StorageRequest::Read { file: file(TORN) }]),
            Expect::Custom(check_torn),
        ),
        Probe::new(
            "a full-length torn batch is cut by its CRC",
            Action::Execute(vec![
                StorageRequest::Append {
                    file: file(GARBLED),
                    bytes: garbled_image(),
                },
                StorageRequest::Sync,
            ]),
            Expect::AllDone,
        ),
        Probe::new(
            "a full-length torn batch is cut by its CRC",
            Action::CrashAndReopen,
            Expect::AllDone,
        ),
        Probe::new(
            "a full-length torn batch is cut by its CRC",
            Action::Execute(vec![StorageRequest::Read {
                file: file(GARBLED),
            }]),
            Expect::Custom(check_garbled),
        ),
        Probe::new(
            "corruption in the middle is reported",
            Action::Execute(vec![
                StorageRequest::Append {
                    file: file(CORRUPT),
                    bytes: corrupt_image(),
                },
                StorageRequest::Sync,
            ]),
            Expect::AllDone,
        ),
        Probe::new(
            "corruption in the middle is reported",
            Action::CrashAndReopen,
            Expect::AllDone,
        ),
        Probe::new(
            "corruption in the middle is reported",
            Action::Execute(vec![StorageRequest::Read {
                file: file(CORRUPT),
            }]),
            Expect::Custom(check_corrupt),
        ),
    ]
}
