//! The protocol error codes a produce path can see, with Kafka's names and numeric codes, and
//! the errors a producer reports for a record (Kafka's exception names). Errors are data: a
//! response carries an `ErrorCode`, a failed send carries a `ProducerError`.
//!

use serde::{Deserialize, Serialize};
use std::fmt;

/// The produce path's protocol errors are the shared `crate::protocol::ErrorCode`.
pub use crate::protocol::ErrorCode;

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
    /// The transaction aborted before the batch was sent (Kafka's `abortUndrainedBatches`):
    /// never written. Kafka: `TransactionAbortedException`.
    TransactionAborted,
    /// The transactional producer is fenced or failed for good before the batch was sent:
    /// never written. Kafka fails such batches with the fatal error (`ProducerFencedException`).
    Fenced,
}

impl ProducerError {
    /// The Kafka exception name a history records.
    pub fn name(self) -> &'static str {
        match self {
            ProducerError::Timeout => "TimeoutException",
            ProducerError::RecordTooLarge => "RecordTooLargeException",
            ProducerError::TransactionAborted => "TransactionAbortedException",
            ProducerError::Fenced => "ProducerFencedException",
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
                // Errors off the produce path keep Kafka's protocol name.
                other => other.name(),
            },
        }
    }

    /// Whether the write may still have happened (Jepsen's `:info`): a timeout, or a
    /// retriable error whose last attempt the broker may have appended.
    pub fn is_indeterminate(self) -> bool {
        match self {
            ProducerError::Timeout => true,
            ProducerError::RecordTooLarge
            | ProducerError::TransactionAborted
            | ProducerError::Fenced => false,
            ProducerError::Broker(code) => code.is_retriable(),
        }
    }
}

impl fmt::Display for ProducerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
