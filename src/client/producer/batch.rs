//! `ProducerBatch`: records queued for one partition, sent and retried as one v2 batch. It
//! keeps Kafka's sizing rule (`MemoryRecordsBuilder.hasRoomFor`): a batch accepts a record while
//! its encoded size stays within `batch.size`, and its first record always, so a record larger
//! than `batch.size` travels alone.

use super::messages::{BatchId, RecordId, RequestId};
use crate::ids::{ProducerEpoch, ProducerId, TopicPartition};
use crate::log::batch::{NewRecord, ProducerFields, Record, RecordBatch, RECORD_BATCH_OVERHEAD};
use crate::time::SimTime;

/// The producer fields a batch was stamped with when it was first drained.
/// The sequence after `sequence + increment`, wrapping from `i32::MAX` to 0 like Kafka's
/// `DefaultRecordBatch.incrementSequence` (the broker does the same: P-6).
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSequence {
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub base_sequence: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerBatch {
    pub id: BatchId,
    pub topic_partition: TopicPartition,
    pub records: Vec<(RecordId, NewRecord)>,
    /// Encoded size, header included: what `batch.size` and `max.request.size` measure.
    pub size_in_bytes: u32,
    pub created_at: SimTime,
    /// Sends so far.
    pub attempts: i32,
    /// Set after a retriable failure: not drained before this time.
    pub retry_at: Option<SimTime>,
    /// No more appends once drained: a retry resends the same records.
    pub closed: bool,
    pub in_flight: Option<RequestId>,
    /// Set at first drain by an idempotent producer; reset by an epoch bump.
    pub sequence: Option<BatchSequence>,
    /// Failed by `delivery.timeout.ms` while in flight: its response only settles sequences.
    pub expired: bool,
    /// Some attempt ended without a definite "not appended" answer.
    pub maybe_appended: bool,
    /// Written by a transactional producer: the batch header's transactional bit.
    pub transactional: bool,
}

impl ProducerBatch {
    pub fn new(id: BatchId, topic_partition: TopicPartition, now: SimTime) -> ProducerBatch {
        ProducerBatch {
            id,
            topic_partition,
            records: Vec::new(),
            size_in_bytes: RECORD_BATCH_OVERHEAD,
            created_at: now,
            attempts: 0,
            retry_at: None,
            closed: false,
            in_flight: None,
            sequence: None,
            expired: false,
            maybe_appended: false,
            transactional: false,
        }
    }

    /// The sequence of the batch's last record.
    pub fn last_sequence(&self) -> Option<i32> {
        self.sequence
            .map(|s| increment_sequence(s.base_sequence, self.record_count() - 1))
    }

    pub fn record_count(&self) -> i32 {
        self.records.len() as i32
    }

    /// The encoded size of `record` as the first of a batch.
    pub fn first_record_size(record: &NewRecord) -> u32 {
        Record {
            timestamp_delta: 0,
            offset_delta: 0,
            key: record.key.clone(),
            value: record.value.clone(),
            headers: record.headers.clone(),
        }
        .size_in_bytes()
    }

    /// The encoded size `record` would add to this batch, with its real deltas.
    pub fn record_size(&self, record: &NewRecord) -> u32 {
        let base_timestamp = self
            .records
            .first()
            .map_or(record.timestamp_ms, |(_, r)| r.timestamp_ms);
        Record {
            timestamp_delta: record.timestamp_ms.wrapping_sub(base_timestamp),
            offset_delta: self.record_count(),
            key: record.key.clone(),
            value: record.value.clone(),
            headers: record.headers.clone(),
        }
        .size_in_bytes()
    }

    /// Appends if the record fits (`hasRoomFor`); returns the bytes the batch grew by.
    pub fn try_append(&mut self, id: RecordId, record: NewRecord, batch_size: u32) -> Option<u32> {
        if self.closed {
            return None;
        }
        let size = self.record_size(&record);
        let fits = self.records.is_empty() || self.size_in_bytes.saturating_add(size) <= batch_size;
        if !fits {
            return None;
        }
        self.size_in_bytes = self.size_in_bytes.saturating_add(size);
        self.records.push((id, record));
        Some(size)
    }

    /// `ProducerBatch.isFull` for an open batch: it reached `batch.size`.
    pub fn is_full(&self, batch_size: u32) -> bool {
        self.closed || (!self.records.is_empty() && self.size_in_bytes >= batch_size)
    }

    /// The wire bytes of this attempt.
    pub fn encode(&self) -> Vec<u8> {
        let producer = self.sequence.map_or(ProducerFields::NONE, |s| {
            if self.transactional {
                ProducerFields::transactional(s.producer_id, s.producer_epoch, s.base_sequence)
            } else {
                ProducerFields::idempotent(s.producer_id, s.producer_epoch, s.base_sequence)
            }
        });
        let records: Vec<NewRecord> = self.records.iter().map(|(_, r)| r.clone()).collect();
        RecordBatch::new_data(&records, producer).encode()
    }
}
