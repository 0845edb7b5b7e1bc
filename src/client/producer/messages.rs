//! What crosses the producer's boundary: the records a client sends, the produce requests and
//! responses it exchanges with brokers, the metadata it partitions by, and the events it
//! reports. All are plain data with fixed-width ids, so a driver can trace them byte-identically
//! on every target.

use super::config::Acks;
use super::error::{ErrorCode, ProducerError};
use crate::ids::{BrokerId, Offset, PartitionIndex, ProducerEpoch, ProducerId, TopicPartition};
use crate::log::batch::RecordHeader;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A record handed to `send`, numbered by the producer so a history can follow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(pub u64);

/// A produce request's correlation id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

/// A producer batch's id, for traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BatchId(pub u64);

/// Kafka's `ProducerRecord`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerRecord {
    pub topic: String,
    /// An explicit partition wins over the key (P-1).
    pub partition: Option<PartitionIndex>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<RecordHeader>,
    /// `None`: the producer's clock at `send` (CreateTime).
    pub timestamp_ms: Option<i64>,
}

impl ProducerRecord {
    pub fn new(topic: &str, key: Option<&[u8]>, value: Option<&[u8]>) -> ProducerRecord {
        ProducerRecord {
            topic: topic.to_owned(),
            partition: None,
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            headers: Vec::new(),
            timestamp_ms: None,
        }
    }

    pub fn with_partition(mut self, partition: PartitionIndex) -> ProducerRecord {
        self.partition = Some(partition);
        self
    }
}

/// What `send` returns: the record's id and where it was queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendHandle {
    pub record_id: RecordId,
    pub topic_partition: TopicPartition,
}

/// A `send` the producer refuses outright: the caller's mistake or back-pressure, not a
/// delivery outcome (those arrive as `ProducerEvent::Completed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The topic is not in the metadata passed in (Kafka would block up to `max.block.ms`).
    UnknownTopic(String),
    /// An explicit partition beyond the topic's partition count.
    InvalidPartition {
        partition: PartitionIndex,
        partition_count: u32,
    },
    /// `buffer.memory` is full (Kafka would block up to `max.block.ms`).
    BufferExhausted,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::UnknownTopic(t) => write!(f, "Topic {t} not present in metadata"),
            SendError::InvalidPartition {
                partition,
                partition_count,
            } => write!(
                f,
                "Invalid partition given with record: {partition} is not in the range [0...{partition_count})"
            ),
            SendError::BufferExhausted => f.write_str("buffer.memory is exhausted"),
        }
    }
}

/// The producer's metadata cache: per topic, the leader of each partition (`None` while a
/// partition has no leader).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerMetadata {
    topics: BTreeMap<String, Vec<Option<BrokerId>>>,
}

impl ProducerMetadata {
    pub fn new() -> ProducerMetadata {
        ProducerMetadata::default()
    }

    pub fn set_topic(&mut self, topic: &str, leaders: Vec<Option<BrokerId>>) {
        assert!(!leaders.is_empty(), "a topic has at least one partition");
        self.topics.insert(topic.to_owned(), leaders);
    }

    pub fn partition_count(&self, topic: &str) -> Option<u32> {
        self.topics.get(topic).map(|l| l.len() as u32)
    }

    pub fn leader(&self, tp: &TopicPartition) -> Option<BrokerId> {
        self.topics
            .get(&tp.topic)
            .and_then(|l| l.get(tp.partition.0 as usize).copied().flatten())
    }

    /// The partitions of `topic` that have a leader, in index order.
    pub fn available_partitions(&self, topic: &str) -> Vec<PartitionIndex> {
        self.topics.get(topic).map_or_else(Vec::new, |leaders| {
            (0u32..)
                .zip(leaders)
                .filter(|(_, l)| l.is_some())
                .map(|(i, _)| PartitionIndex(i))
                .collect()
        })
    }
}

/// One partition's data in a produce request: exactly one encoded v2 batch (P-3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducePartitionData {
    pub topic_partition: TopicPartition,
    pub records: Vec<u8>,
}

/// A ProduceRequest to one broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceRequest {
    pub request_id: RequestId,
    pub destination: BrokerId,
    pub acks: Acks,
    pub timeout_ms: u64,
    /// `transactional.id`, for the leader's partition verification (KIP-890).
    pub transactional_id: Option<String>,
    pub partitions: Vec<ProducePartitionData>,
}

impl ProduceRequest {
    /// `acks=0` requests get no response.
    pub fn expects_response(&self) -> bool {
        self.acks != Acks::None
    }
}

/// One partition's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducePartitionResponse {
    pub topic_partition: TopicPartition,
    pub error: ErrorCode,
    /// The first offset of the appended (or duplicate) batch; -1 on error.
    pub base_offset: Offset,
    pub log_start_offset: Offset,
}

/// A ProduceResponse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceResponse {
    pub request_id: RequestId,
    pub partitions: Vec<ProducePartitionResponse>,
}

/// A record's outcome, as the callback sees it: what a history checker records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendCompletion {
    pub record_id: RecordId,
    pub topic_partition: TopicPartition,
    /// The record's offset (-1 under `acks=0`), or why it failed.
    pub result: Result<Offset, ProducerError>,
    /// Whether some attempt may have been appended although the send failed (Jepsen `:info`).
    pub maybe_appended: bool,
}

/// What the producer reports, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProducerEvent {
    Completed(SendCompletion),
    /// A batch failed with a retriable error and goes back to its queue until `retry_at`.
    Retrying {
        batch_id: BatchId,
        topic_partition: TopicPartition,
        error: ErrorCode,
        attempts: i32,
        retry_at: SimTime,
    },
    /// The idempotent producer bumped its epoch and restarted sequences (KIP-360, P-7).
    EpochBumped {
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
    },
}
