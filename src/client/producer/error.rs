//! The protocol error codes a produce path can see, with Kafka's names and numeric codes, and
//! the errors a producer reports for a record (Kafka's exception names). Errors are data: a
//! response carries an `ErrorCode`, a failed send carries a `ProducerError`.
//!
//! `ErrorCode` is local until the shared `crate::protocol::ErrorCode` lands; its variant names
//! are Kafka's `Errors` names in CamelCase, so the merge is a change of import.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Kafka's `Errors` for the produce path (codes from `org.apache.kafka.common.protocol.Errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    None,
    CorruptMessage,
    UnknownTopicOrPartition,
    MessageTooLarge,
    NotLeaderOrFollower,
    RequestTimedOut,
    NetworkException,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    OutOfOrderSequenceNumber,
    DuplicateSequenceNumber,
    InvalidProducerEpoch,
    UnknownProducerId,
}

impl ErrorCode {
    /// The int16 on the wire.
    pub fn code(self) -> i16 {
        match self {
            ErrorCode::None => 0,
            ErrorCode::CorruptMessage => 2,
            ErrorCode::UnknownTopicOrPartition => 3,
            ErrorCode::NotLeaderOrFollower => 6,
            ErrorCode::RequestTimedOut => 7,
            ErrorCode::MessageTooLarge => 10,
            ErrorCode::NetworkException => 13,
            ErrorCode::NotEnoughReplicas => 19,
            ErrorCode::NotEnoughReplicasAfterAppend => 20,
            ErrorCode::OutOfOrderSequenceNumber => 45,
            ErrorCode::DuplicateSequenceNumber => 46,
            ErrorCode::InvalidProducerEpoch => 47,
            ErrorCode::UnknownProducerId => 59,
        }
    }

    /// Kafka's name, as its logs and docs print it.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::None => "NONE",
            ErrorCode::CorruptMessage => "CORRUPT_MESSAGE",
            ErrorCode::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            ErrorCode::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ErrorCode::RequestTimedOut => "REQUEST_TIMED_OUT",
            ErrorCode::MessageTooLarge => "MESSAGE_TOO_LARGE",
            ErrorCode::NetworkException => "NETWORK_EXCEPTION",
            ErrorCode::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ErrorCode::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ErrorCode::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ErrorCode::DuplicateSequenceNumber => "DUPLICATE_SEQUENCE_NUMBER",
            ErrorCode::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            ErrorCode::UnknownProducerId => "UNKNOWN_PRODUCER_ID",
        }
    }

    /// Whether Kafka's exception for this code is a `RetriableException` (rule P-4).
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            ErrorCode::CorruptMessage
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::NotLeaderOrFollower
                | ErrorCode::RequestTimedOut
                | ErrorCode::NetworkException
                | ErrorCode::NotEnoughReplicas
                | ErrorCode::NotEnoughReplicasAfterAppend
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a record's send failed, as the producer's callback would see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProducerError {
    /// `delivery.timeout.ms` passed before an answer (rule P-4). Indeterminate: the batch may
    /// have been appended. Kafka: `TimeoutException`.
    Timeout,
    /// The record is larger than `max.request.size`: refused before it is queued. Kafka:
    /// `RecordTooLargeException`.
    RecordTooLarge,
    /// A non-retriable broker error, or a retriable one after `retries` attempts.
    Broker(ErrorCode),
}

impl ProducerError {
    /// The Kafka exception name a history records.
    pub fn name(self) -> &'static str {
        match self {
            ProducerError::Timeout => "TimeoutException",
            ProducerError::RecordTooLarge => "RecordTooLargeException",
            ProducerError::Broker(code) => match code {
                ErrorCode::None => "None",
                ErrorCode::CorruptMessage => "CorruptRecordException",
                ErrorCode::UnknownTopicOrPartition => "UnknownTopicOrPartitionException",
                ErrorCode::MessageTooLarge => "RecordTooLargeException",
                ErrorCode::NotLeaderOrFollower => "NotLeaderOrFollowerException",
                ErrorCode::RequestTimedOut => "TimeoutException",
                ErrorCode::NetworkException => "NetworkException",
                ErrorCode::NotEnoughReplicas => "NotEnoughReplicasException",
                ErrorCode::NotEnoughReplicasAfterAppend => "NotEnoughReplicasAfterAppendException",
                ErrorCode::OutOfOrderSequenceNumber => "OutOfOrderSequenceException",
                ErrorCode::DuplicateSequenceNumber => "DuplicateSequenceException",
                ErrorCode::InvalidProducerEpoch => "InvalidProducerEpochException",
                ErrorCode::UnknownProducerId => "UnknownProducerIdException",
            },
        }
    }

    /// Whether the write may still have happened (Jepsen's `:info`): a timeout, or a
    /// retriable error whose last attempt the broker may have appended.
    pub fn is_indeterminate(self) -> bool {
        match self {
            ProducerError::Timeout => true,
            ProducerError::RecordTooLarge => false,
            ProducerError::Broker(code) => code.is_retriable(),
        }
    }
}

impl fmt::Display for ProducerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
