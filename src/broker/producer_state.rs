//! The broker's idempotent-producer state for one partition (Kafka's `ProducerStateManager`
//! with `ProducerAppendInfo`, rule P-6): per producer id, its epoch and the metadata of its last
//! five batches. It keeps one invariant: a client batch is appended only if its epoch is current
//! or newer and its first sequence follows the producer's last one (or starts a new epoch at 0,
//! or the producer is unknown), and a retry of any of the last five batches is answered with the
//! original offsets instead of a second append.
//!
//! Followers and log recovery replay batches without checks (Kafka's `REPLICATION` origin), so
//! after a failover or a truncation the table rebuilt from the log answers retries the same way.
//! Transaction markers (control batches) are left to the transaction coordinator's work.

use crate::ids::{Offset, ProducerEpoch, ProducerId};
use crate::log::batch::{BatchHeader, NO_SEQUENCE};
use crate::protocol::ErrorCode;
use std::collections::{BTreeMap, VecDeque};

/// `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`: the duplicate-detection window.
pub const NUM_BATCHES_TO_RETAIN: u32 = 5;

/// `producer.id.expiration.ms` default: one day.
pub const PRODUCER_ID_EXPIRATION_MS_DEFAULT: i64 = 86_400_000;

/// The sequence after `sequence + increment`, wrapping from `i32::MAX` to 0 like Kafka's
/// `DefaultRecordBatch.incrementSequence`.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    debug_assert!(sequence >= 0 && increment >= 0);
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// Kafka's `inSequence`: `next` follows `last`, across the wrap.
fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

/// The producer fields and offsets of one batch, as the producer-state table needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerBatchInfo {
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub first_sequence: i32,
    pub last_sequence: i32,
    pub first_offset: Offset,
    pub last_offset: Offset,
    pub max_timestamp_ms: i64,
    pub is_control: bool,
}

impl ProducerBatchInfo {
    /// Reads the fields from a batch header; the offsets are meaningful once a leader has
    /// stamped the batch.
    pub fn from_header(header: &BatchHeader) -> ProducerBatchInfo {
        // Negative sequences other than -1 only come from hostile bytes: treat them as none.
        let last_sequence = if header.base_sequence < 0 {
            NO_SEQUENCE
        } else {
            increment_sequence(header.base_sequence, header.last_offset_delta.max(0))
        };
        ProducerBatchInfo {
            producer_id: ProducerId(header.producer_id),
            producer_epoch: ProducerEpoch(header.producer_epoch),
            first_sequence: header.base_sequence,
            last_sequence,
            first_offset: header.base_offset,
            last_offset: header.last_offset(),
            max_timestamp_ms: header.max_timestamp,
            is_control: header.attributes.is_control,
        }
    }

    fn has_producer_id(&self) -> bool {
        self.producer_id.0 >= 0
    }
}

/// What Kafka keeps of one retained batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_sequence: i32,
    pub last_sequence: i32,
    pub first_offset: Offset,
    pub last_offset: Offset,
    pub timestamp_ms: i64,
}

/// One producer id's state in one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerStateEntry {
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    /// Oldest first; at most `NUM_BATCHES_TO_RETAIN`, all of `producer_epoch`.
    batches: VecDeque<BatchMetadata>,
    /// The last batch's max timestamp: what `producer.id.expiration.ms` measures from.
    pub last_timestamp_ms: i64,
}

impl ProducerStateEntry {
    fn new(producer_id: ProducerId) -> ProducerStateEntry {
        ProducerStateEntry {
            producer_id,
            producer_epoch: ProducerEpoch::NONE,
            batches: VecDeque::new(),
            last_timestamp_ms: -1,
        }
    }

    pub fn batches(&self) -> impl Iterator<Item = &BatchMetadata> {
        self.batches.iter()
    }

    /// The last appended sequence, or -1 when none is retained.
    pub fn last_sequence(&self) -> i32 {
        self.batches.back().map_or(NO_SEQUENCE, |b| b.last_sequence)
    }

    /// The last offset this producer wrote, or -1.
    pub fn last_data_offset(&self) -> Offset {
        self.batches.back().map_or(Offset(-1), |b| b.last_offset)
    }

    fn find_duplicate(&self, batch: &ProducerBatchInfo) -> Option<BatchMetadata> {
        if batch.producer_epoch != self.producer_epoch {
            return None;
        }
        self.batches
            .iter()
            .find(|b| {
                b.first_sequence == batch.first_sequence && b.last_sequence == batch.last_sequence
            })
            .copied()
    }

    fn add_batch(&mut self, batch: &ProducerBatchInfo) {
        // A new epoch starts a new window: Kafka's maybeUpdateProducerEpoch clears it.
        if batch.producer_epoch != self.producer_epoch {
            self.batches.clear();
            self.producer_epoch = batch.producer_epoch;
        }
        if batch.first_sequence != NO_SEQUENCE {
            if self.batches.len() as u32 == NUM_BATCHES_TO_RETAIN {
                self.batches.pop_front();
            }
            self.batches.push_back(BatchMetadata {
                first_sequence: batch.first_sequence,
                last_sequence: batch.last_sequence,
                first_offset: batch.first_offset,
                last_offset: batch.last_offset,
                timestamp_ms: batch.max_timestamp_ms,
            });
        }
        self.last_timestamp_ms = batch.max_timestamp_ms;
        assert!(self.batches.len() as u32 <= NUM_BATCHES_TO_RETAIN);
    }
}

/// The verdict on a client's batch before the leader appends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// No producer id: nothing to check or remember.
    NotIdempotent,
    /// Append it, then call `on_append` with the assigned offsets.
    Append,
    /// A retry of a retained batch: do not append; answer success with these offsets.
    Duplicate {
        first_offset: Offset,
        last_offset: Offset,
    },
}

/// The producer-state table of one partition replica.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStateTable {
    producers: BTreeMap<ProducerId, ProducerStateEntry>,
}

impl ProducerStateTable {
    pub fn new() -> ProducerStateTable {
        ProducerStateTable::default()
    }

    pub fn entry(&self, producer_id: ProducerId) -> Option<&ProducerStateEntry> {
        self.producers.get(&producer_id)
    }

    /// Every producer id's state, by producer id.
    pub fn entries(&self) -> impl Iterator<Item = &ProducerStateEntry> {
        self.producers.values()
    }

    pub fn producer_count(&self) -> u32 {
        self.producers.len() as u32
    }

    /// Checks a produce request's batch like `UnifiedLog.analyzeAndValidateProducerState` for
    /// the `CLIENT` origin: the duplicate window first, then the epoch, then the sequence.
    pub fn check_client_batch(
        &self,
        batch: &ProducerBatchInfo,
    ) -> Result<SequenceCheck, ErrorCode> {
        if !batch.has_producer_id() || batch.is_control {
            return Ok(SequenceCheck::NotIdempotent);
        }
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            // No state (new, expired, or deleted with the log head): any sequence is accepted
            // (P-6 rule 5; Kafka 2.4+ no longer answers UNKNOWN_PRODUCER_ID here).
            return Ok(SequenceCheck::Append);
        };
        if let Some(dup) = entry.find_duplicate(batch) {
            return Ok(SequenceCheck::Duplicate {
                first_offset: dup.first_offset,
                last_offset: dup.last_offset,
            });
        }
        if batch.producer_epoch < entry.producer_epoch {
            // Kafka 2.7+ answers a produce from a fenced epoch with INVALID_PRODUCER_EPOCH.
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        if batch.producer_epoch != entry.producer_epoch {
            // A newer epoch must restart at sequence 0, unless the old state had no epoch.
            if batch.first_sequence != 0 && entry.producer_epoch != ProducerEpoch::NONE {
                return Err(ErrorCode::OutOfOrderSequenceNumber);
            }
            return Ok(SequenceCheck::Append);
        }
        // Same epoch: the batch must follow the last one; -1 (nothing retained) wants 0.
        if in_sequence(entry.last_sequence(), batch.first_sequence) {
            Ok(SequenceCheck::Append)
        } else {
            Err(ErrorCode::OutOfOrderSequenceNumber)
        }
    }

    /// Records a batch the leader appended (after `check_client_batch` said `Append`), or one a
    /// follower or recovery replays: no checks, like Kafka's `REPLICATION` origin.
    ///
    /// A transaction marker (a control batch) carries the coordinator's producer epoch: a newer
    /// one (a fencing abort) becomes the producer's epoch here, so the fenced instance's later
    /// batches get INVALID_PRODUCER_EPOCH (Kafka's `appendEndTxnMarker` calls
    /// `maybeUpdateProducerEpoch`). A marker never enters the duplicate window.
    pub fn on_append(&mut self, batch: &ProducerBatchInfo) {
        if !batch.has_producer_id() {
            return;
        }
        if batch.is_control {
            if let Some(entry) = self.producers.get_mut(&batch.producer_id) {
                if batch.producer_epoch > entry.producer_epoch {
                    entry.batches.clear();
                    entry.producer_epoch = batch.producer_epoch;
                }
                return;
            }
            let mut entry = ProducerStateEntry::new(batch.producer_id);
            entry.producer_epoch = batch.producer_epoch;
            entry.last_timestamp_ms = batch.max_timestamp_ms;
            self.producers.insert(batch.producer_id, entry);
            return;
        }
        self.producers
            .entry(batch.producer_id)
            .or_insert_with(|| ProducerStateEntry::new(batch.producer_id))
            .add_batch(batch);
    }

    /// Rebuilds the whole table from the batches in the log, oldest first: after recovery,
    /// after a truncation (KIP-101 `truncate_to`), or when a follower becomes leader.
    pub fn rebuild_from_log<'a>(&mut self, batches: impl IntoIterator<Item = &'a BatchHeader>) {
        self.producers.clear();
        for header in batches {
            self.on_append(&ProducerBatchInfo::from_header(header));
        }
    }

    /// Forgets producers whose last write lies below the new log start offset (retention or
    /// DeleteRecords), like `ProducerStateManager.onLogStartOffsetIncremented`.
    pub fn truncate_head(&mut self, log_start_offset: Offset) {
        self.producers
            .retain(|_, e| e.last_data_offset() >= log_start_offset);
    }

    /// Forgets producers idle for longer than `producer.id.expiration.ms`.
    pub fn remove_expired_producers(&mut self, now_ms: i64, producer_id_expiration_ms: i64) {
        self.producers
            .retain(|_, e| now_ms.saturating_sub(e.last_timestamp_ms) < producer_id_expiration_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::{NewRecord, ProducerFields, RecordBatch};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const PID: ProducerId = ProducerId(7);

    /// A batch of `count` records from `PID` at `epoch`, starting at `first_sequence`, written
    /// at `first_offset`.
    fn batch(epoch: i16, first_sequence: i32, count: i32, first_offset: i64) -> ProducerBatchInfo {
        ProducerBatchInfo {
            producer_id: PID,
            producer_epoch: ProducerEpoch(epoch),
            first_sequence,
            last_sequence: increment_sequence(first_sequence, count - 1),
            first_offset: Offset(first_offset),
            last_offset: Offset(first_offset + i64::from(count) - 1),
            max_timestamp_ms: 1_000,
            is_control: false,
        }
    }

    fn table(cached: &[(i16, i32, i32)]) -> ProducerStateTable {
        let mut t = ProducerStateTable::new();
        let mut offset = 0;
        for (epoch, first, count) in cached {
            t.on_append(&batch(*epoch, *first, *count, offset));
            offset += i64::from(*count);
        }
        t
    }

    /// (story, cached batches as (epoch, first sequence, count), incoming batch, verdict).
    type Case = (
        &'static str,
        Vec<(i16, i32, i32)>,
        ProducerBatchInfo,
        Result<SequenceCheck, ErrorCode>,
    );

    fn dup(first: i64, last: i64) -> Result<SequenceCheck, ErrorCode> {
        Ok(SequenceCheck::Duplicate {
            first_offset: Offset(first),
            last_offset: Offset(last),
        })
    }

    #[test]
    fn sequence_wraps_like_kafka() {
        assert_eq!(increment_sequence(0, 5), 5);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 2, 5), 2);
        assert!(in_sequence(i32::MAX, 0));
        assert!(!in_sequence(i32::MAX, 1));
    }

    /// P-6's table: (cached batches as (epoch, first sequence, count), incoming batch) →
    /// verdict. Cached batches are written back to back from offset 0.
    #[test]
    fn p6_checks_table() {
        let seq = |n: i32| (0..n).map(|i| (0i16, i * 2, 2)).collect::<Vec<_>>();
        let at_wrap = [(0i16, i32::MAX - 1, 2)];
        let cases: Vec<Case> = vec![
            (
                "unknown producer: any sequence (rule 5)",
                vec![],
                batch(0, 17, 1, 0),
                Ok(SequenceCheck::Append),
            ),
            (
                "next in sequence",
                seq(1),
                batch(0, 2, 2, 0),
                Ok(SequenceCheck::Append),
            ),
            (
                "retry of the last batch",
                seq(1),
                batch(0, 0, 2, 99),
                dup(0, 1),
            ),
            (
                "retry of an older retained batch answers its own offsets",
                seq(3),
                batch(0, 2, 2, 99),
                dup(2, 3),
            ),
            (
                "gap",
                seq(1),
                batch(0, 4, 2, 0),
                Err(ErrorCode::OutOfOrderSequenceNumber),
            ),
            (
                "same first, other last: not a duplicate",
                seq(2),
                batch(0, 2, 3, 0),
                Err(ErrorCode::OutOfOrderSequenceNumber),
            ),
            (
                "behind the last",
                seq(2),
                batch(0, 1, 1, 0),
                Err(ErrorCode::OutOfOrderSequenceNumber),
            ),
            (
                "oldest of five retained",
                seq(6),
                batch(0, 2, 2, 99),
                dup(2, 3),
            ),
            (
                "older than the five retained",
                seq(6),
                batch(0, 0, 2, 99),
                Err(ErrorCode::OutOfOrderSequenceNumber),
            ),
            (
                "older epoch is fenced",
                vec![(1, 0, 2)],
                batch(0, 2, 1, 0),
                Err(ErrorCode::InvalidProducerEpoch),
            ),
            (
                "older epoch fenced even for a retained sequence",
                vec![(1, 0, 2)],
                batch(0, 0, 2, 0),
                Err(ErrorCode::InvalidProducerEpoch),
            ),
            (
                "new epoch from 0",
                seq(2),
                batch(1, 0, 1, 0),
                Ok(SequenceCheck::Append),
            ),
            (
                "new epoch not from 0",
                seq(2),
                batch(1, 4, 1, 0),
                Err(ErrorCode::OutOfOrderSequenceNumber),
            ),
            (
                "wrap from i32::MAX to 0",
                at_wrap.to_vec(),
                batch(0, 0, 1, 0),
                Ok(SequenceCheck::Append),
            ),
            (
                "retry across the wrap",
                at_wrap.to_vec(),
                batch(0, i32::MAX - 1, 2, 9),
                dup(0, 1),
            ),
        ];
        for (story, cached, incoming, want) in cases {
            assert_eq!(
                table(&cached).check_client_batch(&incoming),
                want,
                "{story}"
            );
        }
        let plain = ProducerBatchInfo {
            producer_id: ProducerId::NONE,
            producer_epoch: ProducerEpoch::NONE,
            first_sequence: NO_SEQUENCE,
            last_sequence: NO_SEQUENCE,
            ..batch(0, 0, 1, 0)
        };
        assert_eq!(
            table(&seq(1)).check_client_batch(&plain),
            Ok(SequenceCheck::NotIdempotent)
        );
    }

    #[test]
    fn the_window_keeps_five_batches_and_a_new_epoch_clears_it() {
        let t = table(&(0..7).map(|i| (0i16, i, 1)).collect::<Vec<_>>());
        let entry = t.entry(PID).unwrap();
        let firsts: Vec<i32> = entry.batches().map(|b| b.first_sequence).collect();
        assert_eq!(firsts, vec![2, 3, 4, 5, 6]);
        assert_eq!(entry.last_sequence(), 6);
        let mut t = t;
        t.on_append(&batch(1, 0, 1, 7));
        let entry = t.entry(PID).unwrap();
        assert_eq!(entry.producer_epoch, ProducerEpoch(1));
        assert_eq!(entry.batches().count(), 1);
    }

    /// Batches as the log holds them: encoded v2 bytes stamped with offsets, read back.
    fn log_headers(batches: &[(i16, i32, i32)]) -> Vec<BatchHeader> {
        let mut offset = 0i64;
        batches
            .iter()
            .map(|(epoch, first, count)| {
                let records: Vec<NewRecord> = (0..*count)
                    .map(|i| NewRecord::new(1_000, None, Some(&i.to_be_bytes())))
                    .collect();
                let mut b = RecordBatch::new_data(
                    &records,
                    ProducerFields::idempotent(PID, ProducerEpoch(*epoch), *first),
                );
                b.base_offset = Offset(offset);
                offset += i64::from(*count);
                BatchHeader::parse(&b.encode()).unwrap()
            })
            .collect()
    }

    #[test]
    fn rebuilt_from_the_log_it_answers_retries_the_same_way() {
        // A leader failover with five batches in flight: the new leader rebuilds from its log
        // and must still recognise every retry (P-6 test).
        let written = [(0i16, 0, 2), (0, 2, 2), (0, 4, 2), (0, 6, 2), (0, 8, 2)];
        let headers = log_headers(&written);
        let mut live = ProducerStateTable::new();
        for h in &headers {
            live.on_append(&ProducerBatchInfo::from_header(h));
        }
        let mut rebuilt = ProducerStateTable::new();
        rebuilt.rebuild_from_log(&headers);
        assert_eq!(rebuilt, live);
        for (i, (_, first, count)) in written.iter().enumerate() {
            let retry = batch(0, *first, *count, 1_000);
            let first_offset = 2 * i as i64;
            assert_eq!(
                rebuilt.check_client_batch(&retry),
                dup(first_offset, first_offset + 1)
            );
        }
        // After truncation to offset 6 (KIP-101), the truncated batches are new again and
        // the next one in line is accepted, not answered as a duplicate.
        let mut truncated = ProducerStateTable::new();
        truncated.rebuild_from_log(headers.iter().filter(|h| h.last_offset() < Offset(6)));
        assert_eq!(
            truncated.check_client_batch(&batch(0, 6, 2, 6)),
            Ok(SequenceCheck::Append)
        );
        assert_eq!(
            truncated.check_client_batch(&batch(0, 8, 2, 6)),
            Err(ErrorCode::OutOfOrderSequenceNumber)
        );
    }

    #[test]
    fn head_truncation_and_expiration_forget_producers() {
        let mut t = table(&[(0, 0, 2)]);
        t.truncate_head(Offset(1));
        assert!(
            t.entry(PID).is_some(),
            "its last offset 1 is still in the log"
        );
        t.truncate_head(Offset(2));
        assert!(t.entry(PID).is_none());
        // Forgotten: any sequence is accepted again (rule 5).
        assert_eq!(
            t.check_client_batch(&batch(0, 40, 1, 2)),
            Ok(SequenceCheck::Append)
        );
        let mut t = table(&[(0, 0, 2)]);
        t.remove_expired_producers(
            1_000 + PRODUCER_ID_EXPIRATION_MS_DEFAULT - 1,
            PRODUCER_ID_EXPIRATION_MS_DEFAULT,
        );
        assert_eq!(t.producer_count(), 1);
        t.remove_expired_producers(
            1_000 + PRODUCER_ID_EXPIRATION_MS_DEFAULT,
            PRODUCER_ID_EXPIRATION_MS_DEFAULT,
        );
        assert_eq!(t.producer_count(), 0);
    }
}
