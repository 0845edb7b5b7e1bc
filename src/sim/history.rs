//! What clients record as they run: a Jepsen-style history of sends (a unique value to a
//! partition and how it ended) and polls (the offsets and values a consumer received). The
//! engine writes it; the checkers in `crate::check` judge it.

use crate::ids::{Offset, ProducerEpoch, ProducerId, TopicPartition};
use serde::{Deserialize, Serialize};

/// A unique value a producer sent; the checker only needs identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ValueId(pub u64);

/// The bit a consume-transform-produce pipeline's output values carry (client values stay
/// far below it); the low `PIPELINE_INPUT_BITS` bits of an output are its input's id (a
/// client value: at most 127 clients, 32 bits of sequence).
pub const PIPELINE_OUTPUT_TAG: u64 = 1 << 62;
pub const PIPELINE_INPUT_BITS: u32 = 39;
pub const PIPELINE_INPUT_MASK: u64 = (1 << PIPELINE_INPUT_BITS) - 1;

/// How a send ended, as the client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendOutcome {
    /// The broker acknowledged it at this offset.
    Acked(Offset),
    /// A definite failure (for example NOT_ENOUGH_REPLICAS before append): never written.
    Failed,
    /// Timed out or in flight at the end: it may or may not be in the log.
    Unknown,
}

/// How a transaction ended, as its producer knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnOutcome {
    /// EndTxn(commit) was answered: every value is visible to read_committed readers.
    Committed,
    /// EndTxn(abort) was answered, or no commit was ever sent (the producer was fenced or
    /// failed first): no read_committed reader may see its values.
    Aborted,
    /// A commit went out and no definite answer came back: either way is legal.
    Unknown,
}

impl TxnOutcome {
    pub fn name(self) -> &'static str {
        match self {
            TxnOutcome::Committed => "committed",
            TxnOutcome::Aborted => "aborted",
            TxnOutcome::Unknown => "unknown",
        }
    }
}

/// One entry of a history, in the order the clients completed them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Send {
        producer: u32,
        partition: TopicPartition,
        value: ValueId,
        outcome: SendOutcome,
    },
    Poll {
        consumer: u32,
        partition: TopicPartition,
        records: Vec<(Offset, ValueId)>,
    },
    /// A group member's `onPartitionsAssigned` after a completed rebalance: the partitions it
    /// gained in `generation` (possibly none).
    Assigned {
        consumer: u32,
        group: String,
        generation: i32,
        partitions: Vec<TopicPartition>,
    },
    /// A group member's JoinGroup succeeded: it is one of the members of `generation` (the
    /// leader's assignor sees what it owns). The group checker needs it: the classic protocol
    /// keeps apart only the members that joined the same generation, so an older owner that
    /// never joined the new owner's generation was out of it (removed, or a static member the
    /// coordinator kept without it rejoining) however late it learned.
    Joined {
        consumer: u32,
        group: String,
        generation: i32,
    },
    /// A group member gave partitions up: `onPartitionsRevoked`, or with `lost`
    /// `onPartitionsLost` (it was no longer a member when it found out, or its process died).
    Revoked {
        consumer: u32,
        group: String,
        generation: i32,
        partitions: Vec<TopicPartition>,
        lost: bool,
    },
    /// A transactional producer's transaction ended: the values it sent in it (each also has
    /// its own `Send`) and how it ended.
    Txn {
        producer: u32,
        transactional_id: String,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        values: Vec<ValueId>,
        outcome: TxnOutcome,
        /// A consume-transform-produce transaction's reads: the input records whose outputs
        /// it holds (Elle's wr edges run from their writers to it), and the consumer that
        /// polled them (its isolation level decides which reads are legal).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reads: Vec<ValueId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input_consumer: Option<u32>,
    },
    /// The coordinator acknowledged an offset commit: the next offset to read per partition.
    OffsetCommitted {
        consumer: u32,
        group: String,
        generation: i32,
        offsets: Vec<(TopicPartition, Offset)>,
    },
    /// A consumer's position was past the end of the partition's log, so it moved: KIP-320
    /// validation found the log truncated below it (seek to the divergence point), or a fetch
    /// answered OFFSET_OUT_OF_RANGE and `auto.offset.reset` chose `to`. The records between
    /// are gone from the log; whether losing them was legal is the history checker's verdict.
    PositionReset {
        consumer: u32,
        partition: TopicPartition,
        from: Offset,
        to: Offset,
    },
}

impl Op {
    /// Whether this is a send the broker acknowledged.
    pub fn is_acked_send(&self) -> bool {
        matches!(
            self,
            Op::Send {
                outcome: SendOutcome::Acked(_),
                ..
            }
        )
    }
}
