//! What crosses the simulated network between the controller, brokers and clients. Plain
//! data, carried by `sim::network` with per-connection FIFO; the world routes each delivery to
//! its node.

use crate::broker::group::{
    HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse,
    OffsetAndMetadata, OffsetCommitRequest, SyncGroupRequest, SyncGroupResponse,
};
use crate::broker::messages::RequestToken;
use crate::broker::messages::{
    AlterPartitionRequest, AlterPartitionResponse, ConsumerFetchRequest, FetchResponse,
    FollowerFetchRequest, ListOffsetsRequest, ListOffsetsResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
};
use crate::client::producer::{ProduceRequest, ProduceResponse};
use crate::controller::MetadataUpdate;
use crate::ids::{BrokerId, ProducerEpoch, ProducerId, TopicPartition};
use crate::protocol::{BrokerEpoch, ErrorCode};
use std::collections::BTreeMap;

/// A leader (or none) per partition of a topic, as a broker's metadata cache answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMetadata {
    pub topic: String,
    pub leaders: Vec<Option<BrokerId>>,
    pub leader_epochs: Vec<i32>,
}

#[derive(Clone, Debug)]
pub enum Msg {
    // Broker -> controller.
    Register {
        broker: BrokerId,
        incarnation: u64,
    },
    Heartbeat {
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
        metadata_offset: u64,
    },
    AlterPartition {
        broker_epoch: BrokerEpoch,
        request: AlterPartitionRequest,
    },
    // Controller -> broker.
    /// `metadata_end_offset`: the metadata log's end right after the broker's registration
    /// record; the broker serves nothing until it has replayed that far.
    RegisterResponse {
        result: Result<BrokerEpoch, ErrorCode>,
        metadata_end_offset: u64,
    },
    HeartbeatResponse {
        error: ErrorCode,
        is_fenced: bool,
    },
    AlterPartitionResponse {
        topic_partition: TopicPartition,
        response: AlterPartitionResponse,
    },
    /// One metadata record. `from_offset`: the broker may apply it if its next offset lies in
    /// `from_offset..=update.offset`: the records in between were compacted away (a live
    /// record has `from_offset` = its own offset).
    Metadata {
        update: Box<MetadataUpdate>,
        from_offset: u64,
    },
    // Broker <-> broker.
    /// `correlation` plays Kafka's correlation id: a follower accepts only the answer to the
    /// fetch it has in flight, so a duplicated message cannot fork its fetch loop.
    FollowerFetch {
        topic_partition: TopicPartition,
        request: FollowerFetchRequest,
        correlation: u64,
    },
    FollowerFetchResponse {
        topic_partition: TopicPartition,
        request: FollowerFetchRequest,
        response: FetchResponse,
        correlation: u64,
    },
    // Clients <-> brokers.
    MetadataRequest {
        topic: String,
    },
    MetadataResponse {
        metadata: TopicMetadata,
    },
    Produce(ProduceRequest),
    ProduceResponse(ProduceResponse),
    ConsumerFetch {
        topic_partition: TopicPartition,
        request: ConsumerFetchRequest,
    },
    ConsumerFetchResponse {
        topic_partition: TopicPartition,
        request: ConsumerFetchRequest,
        response: FetchResponse,
    },
    /// A consumer validating its position after a leader change (KIP-320, R-12).
    OffsetsForLeaderEpoch {
        topic_partition: TopicPartition,
        request: OffsetForLeaderEpochRequest,
    },
    OffsetsForLeaderEpochResponse {
        topic_partition: TopicPartition,
        request: OffsetForLeaderEpochRequest,
        response: OffsetForLeaderEpochResponse,
    },
    /// A consumer resetting its position per `auto.offset.reset`.
    ListOffsets {
        topic_partition: TopicPartition,
        request: ListOffsetsRequest,
    },
    ListOffsetsResponse {
        topic_partition: TopicPartition,
        request: ListOffsetsRequest,
        response: ListOffsetsResponse,
    },
    // Consumer groups (section 4). Any broker answers FindCoordinator from its metadata cache;
    // the others go to the coordinator, which answers NOT_COORDINATOR when it is not (or no
    // longer) the leader of the group's `__consumer_offsets` partition. A request's `token` is
    // the client's correlation id, echoed in the answer.
    FindCoordinator {
        group_id: String,
    },
    FindCoordinatorResponse {
        group_id: String,
        error: ErrorCode,
        coordinator: Option<BrokerId>,
    },
    JoinGroup {
        group_id: String,
        request: JoinGroupRequest,
    },
    JoinGroupResponse {
        group_id: String,
        token: RequestToken,
        response: JoinGroupResponse,
    },
    SyncGroup {
        group_id: String,
        request: SyncGroupRequest,
    },
    SyncGroupResponse {
        group_id: String,
        token: RequestToken,
        response: SyncGroupResponse,
    },
    /// A group member's Heartbeat (Kafka's Heartbeat API, not the broker's).
    GroupHeartbeat {
        group_id: String,
        request: HeartbeatRequest,
    },
    GroupHeartbeatResponse {
        group_id: String,
        token: RequestToken,
        error: ErrorCode,
    },
    LeaveGroup {
        group_id: String,
        request: LeaveGroupRequest,
    },
    LeaveGroupResponse {
        group_id: String,
        token: RequestToken,
        response: LeaveGroupResponse,
    },
    OffsetCommit {
        group_id: String,
        token: RequestToken,
        request: OffsetCommitRequest,
    },
    /// One error for the whole request (Kafka answers per partition, with the same error for
    /// every partition of a request the group refused).
    OffsetCommitResponse {
        group_id: String,
        token: RequestToken,
        error: ErrorCode,
    },
    /// `require_stable` (KIP-447, sent by read_committed consumers): a partition with a
    /// transactional offset commit still pending answers UNSTABLE_OFFSET_COMMIT.
    OffsetFetch {
        group_id: String,
        token: RequestToken,
        partitions: Vec<TopicPartition>,
        require_stable: bool,
    },
    OffsetFetchResponse {
        group_id: String,
        token: RequestToken,
        error: ErrorCode,
        offsets: BTreeMap<TopicPartition, Option<OffsetAndMetadata>>,
    },
    // Transactions (section 5). FindCoordinator with key type TRANSACTION: any broker answers
    // from its metadata cache with the leader of the id's `__transaction_state` partition; the
    // rest go to that coordinator, which answers NOT_COORDINATOR when it does not lead the
    // partition and COORDINATOR_LOAD_IN_PROGRESS while it reads it.
    FindTransactionCoordinator {
        transactional_id: String,
    },
    FindTransactionCoordinatorResponse {
        transactional_id: String,
        error: ErrorCode,
        coordinator: Option<BrokerId>,
    },
    InitProducerId {
        token: RequestToken,
        transactional_id: String,
        transaction_timeout_ms: u64,
    },
    InitProducerIdResponse {
        token: RequestToken,
        error: ErrorCode,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
    },
    AddPartitionsToTxn {
        token: RequestToken,
        transactional_id: String,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        partitions: Vec<TopicPartition>,
    },
    /// One error for every partition of the request (Kafka answers per partition, with the
    /// same error for all of them unless some fail authorization).
    AddPartitionsToTxnResponse {
        token: RequestToken,
        error: ErrorCode,
        partitions: Vec<TopicPartition>,
    },
    EndTxn {
        token: RequestToken,
        transactional_id: String,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        transaction_commit: bool,
    },
    /// With transaction version 2 (EndTxn v5) the answer carries the producer id and the
    /// epoch the next transaction uses (bumped by this EndTxn); -1 with an error.
    EndTxnResponse {
        token: RequestToken,
        error: ErrorCode,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
    },
    /// sendOffsetsToTransaction, first half (KIP-98): the transaction coordinator adds the
    /// group's `__consumer_offsets` partition to the transaction.
    AddOffsetsToTxn {
        token: RequestToken,
        transactional_id: String,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        group_id: String,
    },
    AddOffsetsToTxnResponse {
        token: RequestToken,
        error: ErrorCode,
    },
    /// sendOffsetsToTransaction, second half (KIP-447): to the group coordinator, with the
    /// consumer's generation and member id so a member that is no longer current is fenced.
    /// The offsets stay pending until the transaction's marker reaches the offsets partition.
    TxnOffsetCommit {
        token: RequestToken,
        transactional_id: String,
        group_id: String,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        generation_id: i32,
        member_id: String,
        group_instance_id: Option<String>,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
    },
    /// One error for the whole request, as OffsetCommitResponse here.
    TxnOffsetCommitResponse {
        token: RequestToken,
        group_id: String,
        error: ErrorCode,
    },
    /// Partition leader -> transaction coordinator (KIP-890 part 1, Kafka's AddPartitionsToTxn
    /// v4 with `verifyOnly`): is this partition in `producer_id`'s ongoing transaction? Asked
    /// before the leader appends a producer's first transactional batch to it.
    VerifyTxnPartition {
        token: RequestToken,
        transactional_id: String,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        partition: TopicPartition,
    },
    VerifyTxnPartitionResponse {
        token: RequestToken,
        error: ErrorCode,
    },
    /// Coordinator -> partition leader: write a COMMIT or ABORT marker to each partition.
    WriteTxnMarkers {
        transactional_id: String,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        coordinator_epoch: i32,
        transaction_commit: bool,
        partitions: Vec<TopicPartition>,
    },
    WriteTxnMarkersResponse {
        transactional_id: String,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        transaction_commit: bool,
        errors: Vec<(TopicPartition, ErrorCode)>,
    },
}

impl Msg {
    /// The request or response's name, as Kafka's protocol names it where it has one.
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Register { .. } => "BrokerRegistration",
            Msg::Heartbeat { .. } => "BrokerHeartbeat",
            Msg::AlterPartition { .. } => "AlterPartition",
            Msg::RegisterResponse { .. } => "BrokerRegistrationResponse",
            Msg::HeartbeatResponse { .. } => "BrokerHeartbeatResponse",
            Msg::AlterPartitionResponse { .. } => "AlterPartitionResponse",
            Msg::Metadata { .. } => "MetadataUpdate",
            Msg::FollowerFetch { .. } => "Fetch (follower)",
            Msg::FollowerFetchResponse { .. } => "FetchResponse (follower)",
            Msg::MetadataRequest { .. } => "Metadata",
            Msg::MetadataResponse { .. } => "MetadataResponse",
            Msg::Produce(_) => "Produce",
            Msg::ProduceResponse(_) => "ProduceResponse",
            Msg::ConsumerFetch { .. } => "Fetch (consumer)",
            Msg::ConsumerFetchResponse { .. } => "FetchResponse (consumer)",
            Msg::OffsetsForLeaderEpoch { .. } => "OffsetsForLeaderEpoch",
            Msg::OffsetsForLeaderEpochResponse { .. } => "OffsetsForLeaderEpochResponse",
            Msg::ListOffsets { .. } => "ListOffsets",
            Msg::ListOffsetsResponse { .. } => "ListOffsetsResponse",
            Msg::FindCoordinator { .. } => "FindCoordinator",
            Msg::FindCoordinatorResponse { .. } => "FindCoordinatorResponse",
            Msg::JoinGroup { .. } => "JoinGroup",
            Msg::JoinGroupResponse { .. } => "JoinGroupResponse",
            Msg::SyncGroup { .. } => "SyncGroup",
            Msg::SyncGroupResponse { .. } => "SyncGroupResponse",
            Msg::GroupHeartbeat { .. } => "Heartbeat",
            Msg::GroupHeartbeatResponse { .. } => "HeartbeatResponse",
            Msg::LeaveGroup { .. } => "LeaveGroup",
            Msg::LeaveGroupResponse { .. } => "LeaveGroupResponse",
            Msg::OffsetCommit { .. } => "OffsetCommit",
            Msg::OffsetCommitResponse { .. } => "OffsetCommitResponse",
            Msg::OffsetFetch { .. } => "OffsetFetch",
            Msg::OffsetFetchResponse { .. } => "OffsetFetchResponse",
            Msg::FindTransactionCoordinator { .. } => "FindCoordinator (transaction)",
            Msg::FindTransactionCoordinatorResponse { .. } => {
                "FindCoordinatorResponse (transaction)"
            }
            Msg::InitProducerId { .. } => "InitProducerId",
            Msg::InitProducerIdResponse { .. } => "InitProducerIdResponse",
            Msg::AddPartitionsToTxn { .. } => "AddPartitionsToTxn",
            Msg::AddPartitionsToTxnResponse { .. } => "AddPartitionsToTxnResponse",
            Msg::EndTxn { .. } => "EndTxn",
            Msg::EndTxnResponse { .. } => "EndTxnResponse",
            Msg::AddOffsetsToTxn { .. } => "AddOffsetsToTxn",
            Msg::AddOffsetsToTxnResponse { .. } => "AddOffsetsToTxnResponse",
            Msg::TxnOffsetCommit { .. } => "TxnOffsetCommit",
            Msg::TxnOffsetCommitResponse { .. } => "TxnOffsetCommitResponse",
            Msg::VerifyTxnPartition { .. } => "AddPartitionsToTxn (verifyOnly)",
            Msg::VerifyTxnPartitionResponse { .. } => "AddPartitionsToTxnResponse (verifyOnly)",
            Msg::WriteTxnMarkers { .. } => "WriteTxnMarkers",
            Msg::WriteTxnMarkersResponse { .. } => "WriteTxnMarkersResponse",
        }
    }
}
