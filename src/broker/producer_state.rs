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

use crate::client::producer::ErrorCode; // becomes crate::protocol::ErrorCode at the merge
use crate::ids::{Offset, ProducerEpoch, ProducerId};
use crate::log::batch::{BatchHeader, NO_SEQUENCE};
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
        let last_sequence = if header.base_sequence == NO_SEQUENCE {
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
    pub fn on_append(&mut self, batch: &ProducerBatchInfo) {
        if !batch.has_producer_id() || batch.is_control {
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
