//! Recovery (L-8): rebuild a partition log from the `.log` files storage holds, the way a
//! Kafka broker does after an unclean shutdown. Every batch is re-validated (size, CRC, full
//! decode, offsets increasing); indexes are rebuilt from the batches rather than trusted. An
//! invalid final batch that reaches the end of the last file is a torn tail: cut and reported.
//! An invalid batch with more data after it is corruption: the log is cut there like Kafka does,
//! but the report names the file, the position and the reason, so it is never silently served.
//! The requests that make storage match the recovered log are queued like any other change.

use super::batch::{decode_batch, verify_crc, BatchError, BatchHeader};
use super::config::LogConfig;
use super::partition_log::{LogError, PartitionLog};
use super::segment::LogSegment;
use crate::ids::{Offset, TopicPartition};
use crate::storage::{FileName, StorageRequest};
use std::collections::BTreeMap;

/// Where recovery found bytes it could not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corruption {
    pub file: FileName,
    pub position: u64,
    pub reason: String,
}

/// What recovery did to make the files a valid log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    pub segments: u32,
    pub batches: u64,
    /// An incomplete or CRC-bad last batch of the last segment, cut off.
    pub torn_tail: Option<Corruption>,
    pub torn_tail_bytes: u64,
    /// An invalid batch followed by more data: the log was cut there (and everything after
    /// it dropped), which may lose acknowledged records.
    pub corruption: Option<Corruption>,
    pub discarded_bytes: u64,
    pub deleted_files: Vec<FileName>,
    /// Sealed segments whose stored `.index`/`.timeindex` were missing or wrong, rewritten.
    pub rewritten_indexes: u32,
}

enum Kind {
    Log,
    OffsetIndex,
    TimeIndex,
}

fn parse_name(file: &FileName) -> Option<(Offset, Kind)> {
    let (stem, ext) = file.base_name().split_once('.')?;
    let kind = match ext {
        "log" => Kind::Log,
        "index" => Kind::OffsetIndex,
        "timeindex" => Kind::TimeIndex,
        _ => return None,
    };
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((Offset(stem.parse().ok()?), kind))
}

struct Scanned {
    valid_len: usize,
    batches: u64,
    next_offset: Offset,
    problem: Option<(usize, String, bool)>,
}

/// Walks a segment file's batches until the first invalid one. The flag says whether the
/// invalid batch reaches the end of the file (a tail candidate).
fn scan(bytes: &[u8], base: Offset, expected: Offset, limit: Option<Offset>) -> Scanned {
    let mut at = 0usize;
    let mut next = expected.max(base);
    let mut batches = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let problem = match decode_batch(rest) {
            Err(e) => Some((e.to_string(), reaches_end(rest, &e))),
            Ok((batch, used)) => {
                let last = batch.last_offset();
                if batch.base_offset < next || batch.last_offset_delta < 0 {
                    Some((
                        format!(
                            "batch offsets {}..={last} do not follow {next}",
                            batch.base_offset
                        ),
                        false,
                    ))
                } else if last
                    .0
                    .checked_sub(base.0)
                    .is_none_or(|d| d > i64::from(i32::MAX))
                {
                    Some((
                        format!("batch offset {last} is too far from the segment base {base}"),
                        false,
                    ))
                } else if limit.is_some_and(|l| last >= l) {
                    Some((
                        format!("batch offset {last} reaches into the next segment"),
                        false,
                    ))
                } else {
                    at += used;
                    next = batch.next_offset();
                    batches += 1;
                    None
                }
            }
        };
        if let Some((reason, at_end)) = problem {
            return Scanned {
                valid_len: at,
                batches,
                next_offset: next,
                problem: Some((at, reason, at_end)),
            };
        }
    }
    Scanned {
        valid_len: at,
        batches,
        next_offset: next,
        problem: None,
    }
}

/// Whether an invalid batch runs to (or past) the end of the file: what a write cut short by
/// a crash looks like.
///
/// A length field corrupted in the middle of a file can also point past the end; so a tail is
/// only torn if no intact batch (header and CRC) starts anywhere after it. Otherwise synced
/// batches would be dropped silently as "torn".
fn reaches_end(rest: &[u8], error: &BatchError) -> bool {
    let runs_to_end = match error {
        BatchError::Truncated { .. } | BatchError::Incomplete { .. } => true,
        _ => BatchHeader::parse(rest).is_ok_and(|h| h.size_in_bytes() as usize >= rest.len()),
    };
    runs_to_end && !intact_batch_after(rest)
}

/// Whether a complete batch with a valid CRC starts at some position after the first byte.
fn intact_batch_after(rest: &[u8]) -> bool {
    (1..rest.len()).any(|at| {
        let tail = &rest[at..];
        BatchHeader::parse(tail)
            .is_ok_and(|h| (h.size_in_bytes() as usize) <= tail.len() && verify_crc(tail).is_ok())
    })
}

impl PartitionLog {
    /// Rebuilds the log of `topic_partition` from its files (`.log`, `.index`, `.timeindex`;
    /// others, and files of other directories, are ignored). The log start offset is the first
    /// segment's base and the high watermark equals it; `restore_offsets` applies checkpoints.
    pub fn recover(
        topic_partition: TopicPartition,
        config: LogConfig,
        files: Vec<(FileName, Vec<u8>)>,
        now_ms: i64,
    ) -> Result<(PartitionLog, RecoveryReport), LogError> {
        let dir = topic_partition.to_string();
        let mut logs: BTreeMap<Offset, (FileName, Vec<u8>)> = BTreeMap::new();
        let mut indexes: BTreeMap<(Offset, u8), (FileName, Vec<u8>)> = BTreeMap::new();
        for (file, bytes) in files {
            if file.dir() != dir {
                continue;
            }
            match parse_name(&file) {
                Some((base, Kind::Log)) => drop(logs.insert(base, (file, bytes))),
                Some((base, Kind::OffsetIndex)) => drop(indexes.insert((base, 0), (file, bytes))),
                Some((base, Kind::TimeIndex)) => drop(indexes.insert((base, 1), (file, bytes))),
                None => {}
            }
        }
        let first_base = logs.keys().next().copied().unwrap_or(Offset::ZERO);
        let mut log = PartitionLog::empty(topic_partition, config, first_base, now_ms)?;
        let mut report = RecoveryReport::default();
        log.segments.clear();
        let bases: Vec<Offset> = logs.keys().copied().collect();
        let mut expected = first_base;
        let mut cut = false;
        for (i, base) in bases.iter().enumerate() {
            let Some((file, bytes)) = logs.remove(base) else {
                continue;
            };
            if cut {
                report.discarded_bytes += bytes.len() as u64;
                log.delete_recovered_files(*base, &mut report)?;
                indexes.retain(|(b, _), _| b != base);
                continue;
            }
            let limit = bases.get(i + 1).copied();
            let scanned = if *base < expected {
                Scanned {
                    valid_len: 0,
                    batches: 0,
                    next_offset: expected,
                    problem: Some((
                        0,
                        format!("segment base {base} overlaps offsets up to {expected}"),
                        false,
                    )),
                }
            } else {
                scan(&bytes, *base, expected, limit)
            };
            if let Some((position, reason, at_end)) = scanned.problem {
                let is_last = i + 1 == bases.len();
                let lost = (bytes.len() - position) as u64;
                let found = Corruption {
                    file: file.clone(),
                    position: position as u64,
                    reason,
                };
                if is_last && at_end {
                    report.torn_tail = Some(found);
                    report.torn_tail_bytes = lost;
                } else {
                    report.corruption = Some(found);
                    report.discarded_bytes += lost;
                }
                log.storage_requests.push(StorageRequest::Truncate {
                    file,
                    len: position as u64,
                });
                cut = true;
                if *base < expected {
                    // Nothing of this segment is usable.
                    log.delete_recovered_files(*base, &mut report)?;
                    indexes.retain(|(b, _), _| b != base);
                    continue;
                }
            }
            report.batches += scanned.batches;
            expected = scanned.next_offset;
            let segment = LogSegment::rebuild(
                *base,
                &bytes[..scanned.valid_len],
                &log.config,
                now_ms,
                now_ms,
            );
            log.segments.push(segment);
        }
        if log.segments.is_empty() {
            log.segments
                .push(LogSegment::new(expected, &log.config, now_ms));
            log.create_segment_file(expected)?;
        }
        log.finish_recovery(indexes, &mut report)?;
        Ok((log, report))
    }

    fn delete_recovered_files(
        &mut self,
        base: Offset,
        report: &mut RecoveryReport,
    ) -> Result<(), LogError> {
        for ext in ["log", "index", "timeindex"] {
            report
                .deleted_files
                .push(self.segment_file_name(base, ext)?);
        }
        self.delete_segment_files(base)
    }

    /// Seals all but the last segment, reconciles stored indexes with rebuilt ones, and sets
    /// the offsets.
    fn finish_recovery(
        &mut self,
        mut stored: BTreeMap<(Offset, u8), (FileName, Vec<u8>)>,
        report: &mut RecoveryReport,
    ) -> Result<(), LogError> {
        let last = self.segments.len() - 1;
        for i in 0..self.segments.len() {
            let base = self.segments[i].base_offset();
            let offset_index = stored.remove(&(base, 0));
            let time_index = stored.remove(&(base, 1));
            if i == last {
                // The active segment's indexes live in memory only; stale files go.
                for (file, _) in offset_index.into_iter().chain(time_index) {
                    report.deleted_files.push(file.clone());
                    self.storage_requests.push(StorageRequest::Delete { file });
                }
                continue;
            }
            self.segments[i].seal();
            let want_offset = self.segments[i].offset_index().to_bytes();
            let want_time = self.segments[i].time_index().to_bytes();
            let matches = offset_index.is_some_and(|(_, b)| b == want_offset)
                && time_index.is_some_and(|(_, b)| b == want_time);
            if !matches {
                self.write_indexes(i)?;
                report.rewritten_indexes += 1;
            }
        }
        // Index files without a segment.
        for (_, (file, _)) in stored {
            report.deleted_files.push(file.clone());
            self.storage_requests.push(StorageRequest::Delete { file });
        }
        self.log_end_offset = self.segments[last]
            .next_offset()
            .max(self.segments[last].base_offset());
        let first_base = self.segments[0].base_offset();
        self.log_start_offset = first_base;
        self.high_watermark = self.log_start_offset;
        self.first_dirty_offset = self.log_start_offset;
        self.next_delete_horizon_ms = None;
        report.segments = self.segments.len() as u32;
        self.assert_offsets();
        Ok(())
    }
}

impl RecoveryReport {
    /// One sentence per thing recovery had to do, for traces and restore reports.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(t) = &self.torn_tail {
            notes.push(format!(
                "cut a torn tail of {} bytes at byte {} of {}: {}",
                self.torn_tail_bytes, t.position, t.file, t.reason
            ));
        }
        if let Some(c) = &self.corruption {
            notes.push(format!(
                "CORRUPTION at byte {} of {}: {}; cut there, {} bytes discarded",
                c.position, c.file, c.reason, self.discarded_bytes
            ));
        }
        if !self.deleted_files.is_empty() {
            let names: Vec<&str> = self.deleted_files.iter().map(FileName::as_str).collect();
            notes.push(format!("deleted {}", names.join(", ")));
        }
        if self.rewritten_indexes > 0 {
            notes.push(format!(
                "rebuilt the indexes of {} sealed segment(s)",
                self.rewritten_indexes
            ));
        }
        notes
    }

    /// Whether the files were a valid log as they were (a torn tail alone counts as clean:
    /// it is what an unsynced write leaves).
    pub fn found_corruption(&self) -> bool {
        self.corruption.is_some()
    }
}

impl PartitionLog {
    /// Applies checkpointed offsets after recovery: the log start offset (clamped to the
    /// segments present) and the high watermark (clamped to `[log start, LEO]`).
    pub fn restore_offsets(
        &mut self,
        log_start_offset: Offset,
        high_watermark: Offset,
    ) -> Result<(), LogError> {
        let first_base = self.segments[0].base_offset();
        if log_start_offset > self.log_end_offset {
            return Err(LogError::OffsetOutOfRange {
                requested: log_start_offset,
                log_start: first_base,
                log_end: self.log_end_offset,
            });
        }
        self.log_start_offset = log_start_offset.max(first_base);
        self.first_dirty_offset = self.first_dirty_offset.max(self.log_start_offset);
        self.high_watermark = high_watermark.clamp(self.log_start_offset, self.log_end_offset);
        self.assert_offsets();
        Ok(())
    }
}
