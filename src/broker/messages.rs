//! The data a partition replica exchanges with the world: Fetch (from followers and consumers),
//! Produce, OffsetsForLeaderEpoch, ListOffsets, AlterPartition, and the controller's partition
//! registration. Field names follow Kafka's request schemas. These are plain values: the
//! replica never sends anything itself, the driver carries them (sans-IO). No `usize` or
//! floats: they reach traces.

use super::errors::ErrorCode;
use super::leader_epoch_cache::EpochEndOffset;
use crate::ids::{BrokerId, LeaderEpoch, Offset, ProducerEpoch, ProducerId, TopicPartition};
use crate::log::control::ControlRecordType;
use crate::protocol::BrokerEpoch;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The partition epoch of KRaft's `PartitionRecord` is the controller's, shared.
pub use crate::protocol::PartitionEpoch;

/// The controller's view of a partition (KRaft `PartitionRegistration`), as metadata delivers
/// it. `leader` is `None` when the partition is offline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionRegistration {
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    pub leader: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: PartitionEpoch,
}

/// A follower's fetch for this partition (Fetch v12+ partition data).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowerFetchRequest {
    pub replica_id: BrokerId,
    /// The follower's LEO.
    pub fetch_offset: Offset,
    /// The epoch of the follower's last batch; `None` for an empty log (KIP-595/Fetch v12).
    pub last_fetched_epoch: Option<LeaderEpoch>,
    /// KIP-320: the leader epoch the follower believes in.
    pub current_leader_epoch: Option<LeaderEpoch>,
    pub log_start_offset: Offset,
    /// `replica.fetch.max.bytes`.
    pub max_bytes: u32,
    /// KIP-903: the follower's broker epoch (Fetch's `ReplicaState.ReplicaEpoch`), so the
    /// leader can name the incarnation it saw in AlterPartition; `None` before registration.
    pub replica_epoch: Option<BrokerEpoch>,
}

/// A consumer's fetch for this partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerFetchRequest {
    pub fetch_offset: Offset,
    pub current_leader_epoch: Option<LeaderEpoch>,
    pub max_bytes: u32,
    /// The consumer's `isolation.level` (T-6): read_committed reads up to the last stable
    /// offset and gets the aborted transactions of what it read.
    #[serde(default)]
    pub isolation_level: IsolationLevel,
}

/// The consumer's `isolation.level` (Kafka's default: read_uncommitted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IsolationLevel {
    #[default]
    #[serde(rename = "read_uncommitted")]
    ReadUncommitted,
    #[serde(rename = "read_committed")]
    ReadCommitted,
}

/// One aborted transaction in a read_committed fetch's range (Fetch's `AbortedTransactions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortedTransaction {
    pub producer_id: ProducerId,
    pub first_offset: Offset,
}

/// Fetch response partition data, for followers and consumers alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    pub error: ErrorCode,
    /// The leader's HW *before* this fetch updated it: the follower learns an advance one
    /// round later (R-1's two-round lag). -1 with an error.
    pub high_watermark: Offset,
    pub log_start_offset: Offset,
    /// KIP-279 via Fetch v12: set when the follower's log diverged; then no records come.
    pub diverging_epoch: Option<EpochEndOffset>,
    /// With OFFSET_OUT_OF_RANGE only: the leader's LEO, standing in for the ListOffsets(latest)
    /// round trip Kafka's follower makes before it truncates.
    pub leader_log_end_offset: Option<Offset>,
    /// Whole record batches, as stored.
    pub records: Vec<u8>,
    /// The partition's last stable offset (T-5); -1 with an error and in follower fetches.
    #[serde(default = "no_offset")]
    pub last_stable_offset: Offset,
    /// read_committed only: the aborted transactions that overlap the records (T-6).
    #[serde(default)]
    pub aborted_transactions: Vec<AbortedTransaction>,
}

fn no_offset() -> Offset {
    Offset(-1)
}

impl FetchResponse {
    pub fn error(error: ErrorCode) -> FetchResponse {
        FetchResponse {
            error,
            high_watermark: Offset(-1),
            log_start_offset: Offset(-1),
            diverging_epoch: None,
            leader_log_end_offset: None,
            records: Vec::new(),
            last_stable_offset: Offset(-1),
            aborted_transactions: Vec::new(),
        }
    }
}

/// The producer's `acks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Acks {
    #[serde(rename = "0")]
    Zero,
    #[serde(rename = "1")]
    One,
    #[serde(rename = "all", alias = "-1")]
    All,
}

/// A caller's handle on a produce request, echoed when a parked (acks=all) request completes.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct RequestToken(pub u64);

/// One partition of a ProduceRequest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProduceRequest {
    pub acks: Acks,
    /// The producer's `request.timeout.ms`, sent as the produce timeout.
    pub timeout_ms: u32,
    /// Exactly one v2 record batch.
    pub records: Vec<u8>,
    /// The leader epoch the producer's metadata names. Kafka's Produce carries none (`None`
    /// behaves like Kafka); a stale or unknown epoch answers NOT_LEADER_OR_FOLLOWER, which is
    /// what a producer with stale metadata sees from a deposed leader.
    pub current_leader_epoch: Option<LeaderEpoch>,
}

/// One partition's entry of a WriteTxnMarkers request: the transaction coordinator tells the
/// partition's leader to end `producer_id`'s transaction there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnMarker {
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub coordinator_epoch: i32,
    /// COMMIT or ABORT.
    pub control_type: ControlRecordType,
    /// How long the leader waits for the ISR, as a produce's `timeout_ms`.
    pub timeout_ms: u32,
}

/// One partition of a ProduceResponse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProduceResponse {
    pub error: ErrorCode,
    /// -1 with an error.
    pub base_offset: Offset,
    /// -1 unless the topic uses LogAppendTime.
    pub log_append_time_ms: i64,
    pub log_start_offset: Offset,
}

impl ProduceResponse {
    pub fn error(error: ErrorCode) -> ProduceResponse {
        ProduceResponse {
            error,
            base_offset: Offset(-1),
            log_append_time_ms: -1,
            log_start_offset: Offset(-1),
        }
    }
}

/// What `handle_produce` did with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProduceOutcome {
    /// Answer now.
    Respond(ProduceResponse),
    /// acks=0: no response is sent. With an error Kafka closes the connection instead, so the
    /// producer refreshes its metadata.
    NoResponse { error: ErrorCode },
    /// acks=all: appended and parked; a `ReplicaOutput::ProduceCompleted` will carry the answer.
    Parked,
}

/// OffsetsForLeaderEpoch partition data from a consumer: where did `leader_epoch` end on
/// the leader named by `current_leader_epoch`?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetForLeaderEpochRequest {
    /// KIP-320: the leader epoch the consumer's metadata names (fenced like a fetch's).
    pub current_leader_epoch: Option<LeaderEpoch>,
    /// The epoch of the last record the consumer consumed.
    pub leader_epoch: LeaderEpoch,
}

/// OffsetsForLeaderEpoch partition answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetForLeaderEpochResponse {
    pub error: ErrorCode,
    pub leader_epoch: LeaderEpoch,
    pub end_offset: Offset,
}

impl OffsetForLeaderEpochResponse {
    pub fn error(error: ErrorCode) -> OffsetForLeaderEpochResponse {
        OffsetForLeaderEpochResponse {
            error,
            leader_epoch: super::leader_epoch_cache::UNDEFINED_EPOCH,
            end_offset: super::leader_epoch_cache::UNDEFINED_EPOCH_OFFSET,
        }
    }
}

/// Which offset a ListOffsets asks for (Kafka's `OffsetSpec`; the timestamps -2 and -1 on the
/// wire). Lookups by record timestamp are not needed by the simulated clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OffsetSpec {
    /// The log start offset (`auto.offset.reset=earliest`).
    Earliest,
    /// The end a read_uncommitted consumer can read to: the high watermark
    /// (`auto.offset.reset=latest`).
    Latest,
}

/// ListOffsets partition data from a consumer resetting its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOffsetsRequest {
    pub current_leader_epoch: Option<LeaderEpoch>,
    pub spec: OffsetSpec,
    /// The consumer's `isolation.level`: LATEST is the LSO for read_committed (T-6), so a
    /// consumer reset to the end does not skip an open transaction's data.
    #[serde(default)]
    pub isolation_level: IsolationLevel,
}

/// ListOffsets partition answer: the offset, and the epoch of the leader that wrote it when
/// known (the consumer's position takes it as its epoch, to validate after the next leader
/// change).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOffsetsResponse {
    pub error: ErrorCode,
    /// -1 with an error.
    pub offset: Offset,
    pub leader_epoch: Option<LeaderEpoch>,
}

impl ListOffsetsResponse {
    pub fn error(error: ErrorCode) -> ListOffsetsResponse {
        ListOffsetsResponse {
            error,
            offset: Offset(-1),
            leader_epoch: None,
        }
    }
}

/// The leader's ISR proposal to the controller (AlterPartition).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterPartitionRequest {
    pub topic_partition: TopicPartition,
    pub leader: BrokerId,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: PartitionEpoch,
    pub new_isr: Vec<BrokerId>,
    /// KIP-903 (`NewIsrWithEpochs`): the broker epoch each follower in `new_isr` fetched
    /// with, so the controller refuses a member that has since restarted (INELIGIBLE_REPLICA).
    pub new_isr_epochs: BTreeMap<BrokerId, BrokerEpoch>,
}

/// The controller's answer to an AlterPartition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlterPartitionResponse {
    /// Applied: the partition now looks like this.
    Accepted {
        isr: Vec<BrokerId>,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
    },
    /// INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH, ...: the proposal is dropped.
    Rejected(ErrorCode),
}

/// What the replica asks the driver to do, drained with `PartitionReplica::poll_output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaOutput {
    /// A parked acks=all produce is answered.
    ProduceCompleted {
        token: RequestToken,
        response: ProduceResponse,
    },
    /// Send this proposal to the controller.
    AlterPartition(AlterPartitionRequest),
}

/// What a follower did with a fetch response, for traces and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowerFetchOutcome {
    /// Batches appended (possibly none) and the HW and log start taken over.
    Appended {
        batches_count: u32,
        log_end_offset: Offset,
        high_watermark: Offset,
    },
    /// Truncated after a diverging epoch or out-of-range answer. `complete` is false when the
    /// follower walked back to an epoch the leader did not name and must ask again (KIP-279).
    Truncated { to: Offset, complete: bool },
    /// An error answer with nothing to do but wait for metadata or retry.
    Backoff(ErrorCode),
    /// A response to a request that no longer matches the replica's state: dropped.
    Ignored,
}
