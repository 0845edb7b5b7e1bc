//! What goes in and out of a classic group: the JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//! OffsetCommit and OffsetFetch requests and their answers, with Kafka's field meanings, and
//! the events a trace or a UI shows. Requests that wait (JoinGroup, SyncGroup) are answered
//! later through `GroupOutput`, matched by the caller's `RequestToken`.

use crate::broker::messages::RequestToken;
use crate::client::assignor::Subscription;
use crate::ids::{LeaderEpoch, Offset, TopicPartition};
use crate::protocol::ErrorCode;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The assignment protocol type consumers use.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The generation a member without group management sends (Kafka's `DEFAULT_GENERATION_ID`).
pub const NO_GENERATION: i32 = -1;

/// One assignment protocol a member supports, in its order of preference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupProtocol {
    /// The assignor's name (`range`, `cooperative-sticky`, ...).
    pub name: String,
    pub metadata: Subscription,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupRequest {
    pub token: RequestToken,
    /// Empty for a member joining for the first time.
    pub member_id: String,
    /// `group.instance.id` (KIP-345), for a static member.
    pub group_instance_id: Option<String>,
    /// The client's `client.id`; a new member id is derived from it.
    pub client_id: String,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// The join's rebalance timeout: the consumer sends `max.poll.interval.ms`.
    pub rebalance_timeout_ms: u64,
    /// `consumer` for consumers.
    pub protocol_type: String,
    pub protocols: Vec<JoinGroupProtocol>,
}

/// A member as the leader sees it in its JoinGroup response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// The member's metadata for the protocol the group selected.
    pub metadata: Subscription,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupResponse {
    pub error: ErrorCode,
    /// The generation the member joined (-1 on errors).
    pub generation_id: i32,
    /// The selected assignor.
    pub protocol_name: Option<String>,
    pub leader: String,
    /// KIP-814: a replaced static leader learns the members but must not reassign.
    pub skip_assignment: bool,
    /// The member's id: the one to use from now on (also set with MEMBER_ID_REQUIRED).
    pub member_id: String,
    /// Every member with its metadata, for the leader only.
    pub members: Vec<JoinGroupMember>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupRequest {
    pub token: RequestToken,
    pub member_id: String,
    pub generation_id: i32,
    pub group_instance_id: Option<String>,
    /// The leader's assignment (member id -> partitions); empty from followers.
    pub assignments: BTreeMap<String, BTreeSet<TopicPartition>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupResponse {
    pub error: ErrorCode,
    pub protocol_name: Option<String>,
    pub assignment: BTreeSet<TopicPartition>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    pub token: RequestToken,
    pub member_id: String,
    pub generation_id: i32,
    pub group_instance_id: Option<String>,
}

/// A member named in a LeaveGroup (KIP-345 lets one request name several).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberIdentity {
    /// May be empty when `group_instance_id` names a static member.
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveGroupRequest {
    pub token: RequestToken,
    pub members: Vec<MemberIdentity>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveGroupResponse {
    /// The request's error (COORDINATOR_NOT_AVAILABLE for a dead group).
    pub error: ErrorCode,
    /// Each named member's own error.
    pub members: Vec<(MemberIdentity, ErrorCode)>,
}

/// A stored offset: the committed offset is the next offset to read (rule G-6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetAndMetadata {
    pub committed_offset: Offset,
    /// The leader epoch of the last consumed record (KIP-320), if known.
    pub leader_epoch: Option<LeaderEpoch>,
    pub metadata: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetCommitRequest {
    /// Empty, with `generation_id` -1, for a consumer without group management.
    pub member_id: String,
    pub generation_id: i32,
    pub group_instance_id: Option<String>,
    pub offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
}

/// A validated offset commit: what the driver appends to the group's `__consumer_offsets`
/// partition, and hands back to `ClassicGroup::apply_offset_commit` once it is replicated
/// (or when the coordinator replays the partition after a failover).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetCommitRecord {
    pub group_id: String,
    pub offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
}

/// Why a member left the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RemovalReason {
    /// It sent LeaveGroup.
    LeaveGroup,
    /// No heartbeat for `session.timeout.ms` (G-3).
    SessionTimeout,
    /// It did not rejoin within the rebalance timeout (`max.poll.interval.ms`).
    RebalanceTimeout,
    /// It did not send SyncGroup within the rebalance timeout after the join phase.
    SyncTimeout,
}

/// What happened to the group, for the trace and the app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupEvent {
    StateChanged {
        from: super::GroupState,
        to: super::GroupState,
        generation_id: i32,
    },
    MemberJoined {
        member_id: String,
        group_instance_id: Option<String>,
    },
    MemberRemoved {
        member_id: String,
        reason: RemovalReason,
    },
    /// KIP-345: a static member came back under a new member id; the old id is fenced.
    StaticMemberReplaced {
        group_instance_id: String,
        old_member_id: String,
        new_member_id: String,
    },
    OffsetsExpired {
        partitions: BTreeSet<TopicPartition>,
    },
}

/// An answer to send or an event to record, in the order they happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupOutput {
    JoinGroup {
        token: RequestToken,
        response: JoinGroupResponse,
    },
    SyncGroup {
        token: RequestToken,
        response: SyncGroupResponse,
    },
    Heartbeat {
        token: RequestToken,
        error: ErrorCode,
    },
    LeaveGroup {
        token: RequestToken,
        response: LeaveGroupResponse,
    },
    Event {
        at: SimTime,
        event: GroupEvent,
    },
    /// The group's metadata record must be written to `__consumer_offsets` before the answers
    /// it holds go out; the driver appends it and calls `ClassicGroup::on_group_stored` once
    /// the append completes (Kafka's `CoordinatorResult` with an append future).
    StoreGroup(GroupStore),
}

/// A group metadata record the group waits for, and what it holds until then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupStore {
    /// The leader's assignment for `generation_id` (Kafka's
    /// `GroupMetadataManager.classicGroupSyncToLeader`): the group stays CompletingRebalance
    /// and every SyncGroup stays parked until the record is stored.
    SyncAssignment {
        generation_id: i32,
        /// Every member's assignment (members the leader left out get an empty one).
        assignment: BTreeMap<String, BTreeSet<TopicPartition>>,
    },
    /// KIP-345: a static member replaced in a Stable group without a rebalance (Kafka's
    /// `updateStaticMemberThenRebalanceOrCompleteJoin`): its JoinGroup stays parked until the
    /// record with its new member id is stored; on failure the old member id is restored.
    StaticMemberReplaced {
        group_instance_id: String,
        old_member_id: String,
        new_member_id: String,
        /// The old member's client id and timeouts, to restore on failure.
        old_client_id: String,
        old_session_timeout_ms: u64,
        old_rebalance_timeout_ms: u64,
    },
}
