//! A broker's group coordinator (rules G-1, G-2, G-6): the classic groups whose
//! `__consumer_offsets` partition this broker leads. It drives `broker::group::ClassicGroup`
//! with the requests that reach the broker and turns its answers into messages.
//!
//! Leading an offsets partition is not enough to serve it: the coordinator first loads it
//! (replays its offset commit records into the groups' caches) and answers
//! COORDINATOR_LOAD_IN_PROGRESS meanwhile; a broker that does not lead the group's partition
//! answers NOT_COORDINATOR. An offset commit is validated by the group, appended to the
//! partition with acks=all, and applied to the cache and answered only when the high watermark
//! passes it (or answered with the error it got), as Kafka's `GroupMetadataManager.storeOffsets`.
//!
//! Group membership is a record too, and answers wait for it as they do for offset commits
//! (Kafka's `CoordinatorRuntime` completes a write only once the high watermark passes it):
//! when the leader's SyncGroup brings the assignment, the coordinator appends the group's
//! metadata record carrying it and the group stays CompletingRebalance, every SyncGroup
//! parked, until the append completes (`GroupMetadataManager.classicGroupSyncToLeader`).
//! Stored, the group is Stable and every member gets its assignment; failed, every waiting
//! member gets the append's error as `appendGroupMetadataErrorToResponseError` maps it
//! (NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, UNKNOWN_TOPIC_OR_PARTITION -> COORDINATOR_NOT_AVAILABLE;
//! NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR -> NOT_COORDINATOR; MESSAGE_TOO_LARGE,
//! RECORD_LIST_TOO_LARGE -> UNKNOWN_SERVER_ERROR) and the group rebalances; an append that
//! completes after the group moved on (another generation or state) changes nothing. So a
//! coordinator cut off from its followers cannot complete a rebalance nobody else will see.
//! A static member replaced in a Stable group (KIP-345) waits the same way for the record with
//! its new member id (`updateStaticMemberThenRebalanceOrCompleteJoin`), and a failed append
//! restores the old member id and answers its JoinGroup with the error. The record of a group
//! that emptied has nobody waiting for it (`completeClassicGroupJoin` only logs a failure).
//! A new coordinator rebuilds each group from its last record, so members carry on with it;
//! a record that was acknowledged and then lost (the only in-sync replica's page cache, an
//! unclean election) leaves the successor a generation behind, reusing its number, as Kafka.
//!
//! Transactional offset commits (KIP-447): a TxnOffsetCommit is validated against the
//! member's generation, appended as a transactional batch of the producer, and then held
//! *pending* per producer id: OffsetFetch does not return it (with `require_stable` it answers
//! UNSTABLE_OFFSET_COMMIT), a COMMIT marker on the offsets partition moves it into the cache,
//! an ABORT marker drops it. Replaying the partition does the same with the markers it finds.
//!
//! Invariants: a group lives here only while its partition is led and loaded; losing the
//! partition unloads its groups (parked JoinGroup and SyncGroup requests are answered
//! NOT_COORDINATOR).

use super::messages::Msg;
use crate::broker::group::records::{
    decode_offsets_topic_record, encode_group_metadata_key, encode_group_metadata_value,
    encode_offset_commit_key, encode_offset_commit_value, OffsetCommitKey, OffsetsTopicRecord,
};
use crate::broker::group::OffsetAndMetadata;
use crate::broker::group::{
    coordinator_partition, ClassicGroup, GroupConfig, GroupEvent, GroupOutput, GroupState,
    GroupStore, OffsetCommitRecord, OffsetCommitRequest,
};
use crate::broker::messages::RequestToken;
use crate::broker::replica::PartitionReplica;
use crate::ids::{NodeId, PartitionIndex, ProducerEpoch, ProducerId, TopicPartition};
use crate::log::batch::{NewRecord, ProducerFields, RecordBatch};
use crate::log::control::{ControlRecordType, EndTransactionMarker};
use crate::protocol::ErrorCode;
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// Kafka's internal topic of committed offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// How long loading an offsets partition takes before the coordinator serves it. Kafka's load
/// reads the partition from disk; logsim's partitions are small, so a fixed delay stands for
/// it (long enough for a client to meet COORDINATOR_LOAD_IN_PROGRESS after a failover).
pub const COORDINATOR_LOAD_MS: u64 = 100;

/// The coordinator's broker-side settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorSettings {
    /// `offsets.topic.num.partitions`.
    pub num_partitions: u32,
    pub group: GroupConfig,
    /// `offsets.commit.timeout.ms` (5000): how long an offset commit waits for replication.
    pub offsets_commit_timeout_ms: u64,
}

/// What waits for an append to the offsets partition to complete (the high watermark past
/// it, or an error): an offset commit's answer, or a group's held answers (Kafka's
/// `CoordinatorRuntime` completes a write's future only once it is committed). The group
/// metadata record of a group that just emptied has nothing waiting (`None`), as in Kafka.
#[derive(Clone, Debug)]
pub enum PendingGroupAppend {
    OffsetCommit(PendingOffsetCommit),
    /// A group metadata record; `store` says what the group holds until it is stored.
    StoreGroup {
        group_id: String,
        store: GroupStore,
    },
}

/// An offset commit appended to the log, waiting for the high watermark.
#[derive(Clone, Debug)]
pub struct PendingOffsetCommit {
    pub client: NodeId,
    pub client_token: RequestToken,
    pub record: OffsetCommitRecord,
    /// A TxnOffsetCommit's producer id: the offsets stay pending until its marker.
    pub transactional: Option<ProducerId>,
}

/// What the broker must append for an offset commit: the batch bytes for the group's offsets
/// partition, and what to do when the append completes.
#[derive(Clone, Debug)]
pub struct OffsetCommitAppend {
    pub topic_partition: TopicPartition,
    pub records: Vec<u8>,
    pub timeout_ms: u64,
    pub pending: Option<PendingGroupAppend>,
    /// A transactional batch's producer id and epoch: the leader checks the epoch first
    /// (a fenced producer's TxnOffsetCommit gets INVALID_PRODUCER_EPOCH).
    pub producer: Option<(ProducerId, ProducerEpoch)>,
}

/// Offsets of open transactions, per group and producer id (Kafka's
/// `pendingTransactionalOffsetCommits`).
pub type PendingTxnOffsets =
    BTreeMap<String, BTreeMap<ProducerId, BTreeMap<TopicPartition, OffsetAndMetadata>>>;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Load {
    Loading { until: SimTime },
    Loaded,
}

#[derive(Clone, Debug)]
pub struct GroupCoordinator {
    settings: CoordinatorSettings,
    /// The offsets partitions this broker leads.
    partitions: BTreeMap<u32, Load>,
    groups: BTreeMap<String, ClassicGroup>,
    /// The coordinator's own request tokens -> who asked, with the client's token.
    tokens: BTreeMap<RequestToken, (NodeId, RequestToken)>,
    next_token: u64,
    /// Answers to send, drained by the broker.
    pub outbox: Vec<(NodeId, Msg)>,
    /// Lines for the trace.
    pub lines: Vec<String>,
    /// What happened to groups, for the world's tallies (drained with the lines).
    pub events: Vec<(String, GroupEvent)>,
    /// Group metadata records to append, drained by the broker.
    pub appends: Vec<OffsetCommitAppend>,
    /// Transactional offset commits waiting for their transaction's marker.
    pending_txn_offsets: PendingTxnOffsets,
}

impl GroupCoordinator {
    pub fn new(settings: CoordinatorSettings) -> GroupCoordinator {
        GroupCoordinator {
            settings,
            partitions: BTreeMap::new(),
            groups: BTreeMap::new(),
            tokens: BTreeMap::new(),
            next_token: 0,
            outbox: Vec::new(),
            lines: Vec::new(),
            events: Vec::new(),
            appends: Vec::new(),
            pending_txn_offsets: BTreeMap::new(),
        }
    }

    /// The transactional offset commits still waiting for their marker.
    pub fn pending_txn_offsets(&self) -> &PendingTxnOffsets {
        &self.pending_txn_offsets
    }

    /// A COMMIT or ABORT marker of `producer_id` reached offsets partition `partition`: its
    /// pending offsets there enter the cache (commit) or are dropped (abort).
    pub fn on_txn_marker(
        &mut self,
        now: SimTime,
        partition: u32,
        producer_id: ProducerId,
        transaction_commit: bool,
    ) {
        let groups: Vec<String> = self
            .pending_txn_offsets
            .iter()
            .filter(|(g, by_pid)| {
                self.partition_for(g).0 == partition && by_pid.contains_key(&producer_id)
            })
            .map(|(g, _)| g.clone())
            .collect();
        for group_id in groups {
            let Some(offsets) = self
                .pending_txn_offsets
                .get_mut(&group_id)
                .and_then(|m| m.remove(&producer_id))
            else {
                continue;
            };
            if self
                .pending_txn_offsets
                .get(&group_id)
                .is_some_and(BTreeMap::is_empty)
            {
                self.pending_txn_offsets.remove(&group_id);
            }
            let list: Vec<String> = offsets
                .iter()
                .map(|(tp, o)| format!("{tp}={}", o.committed_offset.0))
                .collect();
            if transaction_commit {
                let record = OffsetCommitRecord {
                    group_id: group_id.clone(),
                    offsets,
                };
                if let Some(group) = self.groups.get_mut(&group_id) {
                    let _ = group.apply_offset_commit(now, &record);
                }
                self.lines.push(format!(
                    "group {group_id}: transactional offset commit of producer id {} stored with its COMMIT marker ({})",
                    producer_id.0,
                    list.join(", ")
                ));
            } else {
                self.lines.push(format!(
                    "group {group_id}: transactional offsets of producer id {} dropped with its ABORT marker ({})",
                    producer_id.0,
                    list.join(", ")
                ));
            }
        }
    }

    /// Forgets everything (the process crashed).
    pub fn reset(&mut self) {
        *self = GroupCoordinator::new(self.settings.clone());
    }

    pub fn settings(&self) -> &CoordinatorSettings {
        &self.settings
    }

    /// The groups this broker coordinates now.
    pub fn groups(&self) -> &BTreeMap<String, ClassicGroup> {
        &self.groups
    }

    /// The offsets partition of a group (G-1).
    pub fn partition_for(&self, group_id: &str) -> PartitionIndex {
        coordinator_partition(group_id, self.settings.num_partitions).unwrap_or(PartitionIndex(0))
    }

    fn status(&self, group_id: &str) -> Result<(), ErrorCode> {
        match self.partitions.get(&self.partition_for(group_id).0) {
            None => Err(ErrorCode::NotCoordinator),
            Some(Load::Loading { .. }) => Err(ErrorCode::CoordinatorLoadInProgress),
            Some(Load::Loaded) => Ok(()),
        }
    }

    /// The broker's replica of offsets partition `partition` became leader or stopped being
    /// it (or went away).
    pub fn on_leadership(&mut self, now: SimTime, partition: u32, leads: bool) {
        let had = self.partitions.contains_key(&partition);
        if leads && !had {
            let until = now.saturating_add(SimDuration::from_millis(COORDINATOR_LOAD_MS));
            self.partitions.insert(partition, Load::Loading { until });
            self.lines.push(format!(
                "group coordinator: loading {OFFSETS_TOPIC}-{partition} (COORDINATOR_LOAD_IN_PROGRESS until it is read)"
            ));
        } else if !leads && had {
            self.partitions.remove(&partition);
            let gone: Vec<String> = self
                .groups
                .keys()
                .filter(|g| self.partition_for(g).0 == partition)
                .cloned()
                .collect();
            self.pending_txn_offsets.retain(|g, _| {
                coordinator_partition(g, self.settings.num_partitions)
                    .map_or(true, |p| p.0 != partition)
            });
            for g in gone {
                if let Some(mut group) = self.groups.remove(&g) {
                    group.unload(now);
                    let outputs = group.take_outputs();
                    self.route(now, &g, outputs);
                }
            }
            self.lines.push(format!(
                "group coordinator: unloaded {OFFSETS_TOPIC}-{partition} (no longer its leader; NOT_COORDINATOR from now on)"
            ));
        }
    }

    /// When the coordinator next has work.
    pub fn next_deadline(&self) -> Option<SimTime> {
        let loads = self.partitions.values().filter_map(|l| match l {
            Load::Loading { until } => Some(*until),
            Load::Loaded => None,
        });
        loads
            .chain(self.groups.values().filter_map(ClassicGroup::next_deadline))
            .min()
    }

    /// Finishes due loads (reading each partition from the replica's log) and runs the groups'
    /// timers.
    pub fn on_timer(
        &mut self,
        now: SimTime,
        replicas: &BTreeMap<TopicPartition, PartitionReplica>,
    ) {
        let due: Vec<u32> = self
            .partitions
            .iter()
            .filter(|(_, l)| matches!(l, Load::Loading { until } if *until <= now))
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            let tp = TopicPartition {
                topic: OFFSETS_TOPIC.to_string(),
                partition: PartitionIndex(p),
            };
            let Some(replica) = replicas.get(&tp).filter(|r| r.is_leader()) else {
                self.partitions.remove(&p);
                continue;
            };
            let log = replica.log();
            let records = log.read_records(log.log_start_offset(), log.log_end_offset(), u32::MAX);
            let mut applied = 0u32;
            for record in &records {
                if record.is_control {
                    if let Ok(marker) = EndTransactionMarker::decode_parts(
                        record.key.as_deref(),
                        record.value.as_deref(),
                    ) {
                        self.on_txn_marker(
                            now,
                            p,
                            ProducerId(record.producer_id),
                            marker.control_type == ControlRecordType::TransactionCommit,
                        );
                    }
                    continue;
                }
                let Some(key) = &record.key else { continue };
                match decode_offsets_topic_record(key, record.value.as_deref()) {
                    Ok(OffsetsTopicRecord::OffsetCommit { key, value })
                        if record.is_transactional =>
                    {
                        if let Some((offset, _)) = value {
                            self.pending_txn_offsets
                                .entry(key.group_id.clone())
                                .or_default()
                                .entry(ProducerId(record.producer_id))
                                .or_default()
                                .insert(key.topic_partition, offset);
                        }
                        self.groups.entry(key.group_id.clone()).or_insert_with(|| {
                            ClassicGroup::new(&key.group_id, self.settings.group.clone(), now)
                        });
                    }
                    Ok(OffsetsTopicRecord::OffsetCommit { key, value }) => {
                        let group = self.groups.entry(key.group_id.clone()).or_insert_with(|| {
                            ClassicGroup::new(&key.group_id, self.settings.group.clone(), now)
                        });
                        match value {
                            Some((offset, _)) => {
                                let mut offsets = BTreeMap::new();
                                offsets.insert(key.topic_partition, offset);
                                let record = OffsetCommitRecord {
                                    group_id: key.group_id,
                                    offsets,
                                };
                                if group.apply_offset_commit(now, &record).is_ok() {
                                    applied += 1;
                                }
                            }
                            None => group.remove_offset(&key.topic_partition),
                        }
                    }
                    Ok(OffsetsTopicRecord::GroupMetadata { group_id, value }) => {
                        let config = self.settings.group.clone();
                        let rebuilt = match &value {
                            Some(md) => ClassicGroup::from_metadata(&group_id, config, md, now),
                            None => ClassicGroup::new(&group_id, config, now),
                        };
                        let mut rebuilt = rebuilt;
                        if let Some(old) = self.groups.remove(&group_id) {
                            rebuilt.take_offsets_from(old);
                        }
                        self.groups.insert(group_id, rebuilt);
                    }
                    Ok(OffsetsTopicRecord::Other { .. }) => {}
                    Err(e) => self.lines.push(format!(
                        "group coordinator: {tp} offset {}: {e}",
                        record.offset.0
                    )),
                }
            }
            self.partitions.insert(p, Load::Loaded);
            self.lines.push(format!(
                "group coordinator: loaded {tp}: {applied} offset commit record(s) read up to offset {}",
                log.log_end_offset().0
            ));
            let restored: Vec<String> = self
                .groups
                .iter()
                .filter(|(id, g)| self.partition_for(id).0 == p && !g.members().is_empty())
                .map(|(id, g)| {
                    format!(
                        "{id} (generation {}, {} member(s))",
                        g.generation_id(),
                        g.members().len()
                    )
                })
                .collect();
            if !restored.is_empty() {
                self.lines.push(format!(
                    "group coordinator: {tp}: members restored from the log: {}",
                    restored.join(", ")
                ));
            }
        }
        let ids: Vec<String> = self.groups.keys().cloned().collect();
        for g in ids {
            let Some(group) = self.groups.get_mut(&g) else {
                continue;
            };
            if group.next_deadline().is_some_and(|d| d <= now) {
                group.handle_timeout(now);
                let outputs = group.take_outputs();
                self.route(now, &g, outputs);
            }
            if self
                .groups
                .get(&g)
                .is_some_and(|gr| gr.state() == GroupState::Dead)
            {
                self.groups.remove(&g);
            }
        }
    }

    fn token_for(&mut self, client: NodeId, client_token: RequestToken) -> RequestToken {
        self.next_token += 1;
        let token = RequestToken(self.next_token);
        self.tokens.insert(token, (client, client_token));
        token
    }

    fn group(&mut self, now: SimTime, group_id: &str) -> &mut ClassicGroup {
        let config = self.settings.group.clone();
        self.groups
            .entry(group_id.to_string())
            .or_insert_with(|| ClassicGroup::new(group_id, config, now))
    }

    /// Queues the group's metadata record (Kafka's `newGroupMetadataRecord`), when the group's
    /// partition is loaded here. With `store` the group holds answers until the append
    /// completes (`on_group_append_completed`); a record that cannot be queued fails it at
    /// once.
    fn store_group(&mut self, now: SimTime, group_id: &str, store: Option<GroupStore>) {
        if let Err(error) = self.status(group_id) {
            if let Some(store) = store {
                self.group_stored(now, group_id, store, error);
            }
            return;
        }
        let assignment = match &store {
            Some(GroupStore::SyncAssignment { assignment, .. }) => Some(assignment),
            _ => None,
        };
        let Some(metadata) = self
            .groups
            .get(group_id)
            .and_then(|g| g.metadata_with_assignment(now, assignment))
        else {
            if let Some(store) = store {
                self.group_stored(now, group_id, store, ErrorCode::UnknownServerError);
            }
            return;
        };
        let (Ok(key), Ok(value)) = (
            encode_group_metadata_key(group_id),
            encode_group_metadata_value(&metadata),
        ) else {
            self.lines.push(format!(
                "group {group_id}: its metadata does not fit Kafka's record schema; not stored"
            ));
            if let Some(store) = store {
                // A record too large for the log: MESSAGE_TOO_LARGE, as the append would fail.
                self.group_stored(
                    now,
                    group_id,
                    store,
                    append_group_metadata_error_to_response_error(ErrorCode::MessageTooLarge),
                );
            }
            return;
        };
        let record = NewRecord::new(now.as_millis(), Some(&key), Some(&value));
        let batch = RecordBatch::new_data(&[record], ProducerFields::NONE);
        self.appends.push(OffsetCommitAppend {
            topic_partition: TopicPartition {
                topic: OFFSETS_TOPIC.to_string(),
                partition: self.partition_for(group_id),
            },
            records: batch.encode(),
            timeout_ms: self.settings.offsets_commit_timeout_ms,
            pending: store.map(|store| PendingGroupAppend::StoreGroup {
                group_id: group_id.to_string(),
                store,
            }),
            producer: None,
        });
    }

    /// An append to an offsets partition completed with `append_error` (NONE: the high
    /// watermark passed it): whatever waited for it is answered.
    pub fn on_group_append_completed(
        &mut self,
        now: SimTime,
        pending: PendingGroupAppend,
        append_error: ErrorCode,
    ) {
        match pending {
            PendingGroupAppend::OffsetCommit(pending) => {
                self.on_offset_commit_appended(now, pending, append_error)
            }
            PendingGroupAppend::StoreGroup { group_id, store } => {
                let error = append_group_metadata_error_to_response_error(append_error);
                if error != ErrorCode::None {
                    self.lines.push(format!(
                        "group {group_id}: group metadata record failed to replicate ({})",
                        append_error.name()
                    ));
                }
                self.group_stored(now, &group_id, store, error);
            }
        }
    }

    /// Hands a group metadata append's outcome (`error` already mapped) to the group and
    /// sends what it answers. A group unloaded meanwhile already answered NOT_COORDINATOR.
    fn group_stored(&mut self, now: SimTime, group_id: &str, store: GroupStore, error: ErrorCode) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        let line = match (&store, error) {
            (GroupStore::SyncAssignment { generation_id, .. }, ErrorCode::None)
                if group.state() == GroupState::CompletingRebalance
                    && group.generation_id() == *generation_id =>
            {
                format!(
                    "group {group_id}: metadata record of generation {generation_id} stored; SyncGroup answered with the assignment"
                )
            }
            (GroupStore::SyncAssignment { generation_id, .. }, _)
                if group.state() == GroupState::CompletingRebalance
                    && group.generation_id() == *generation_id =>
            {
                format!(
                    "group {group_id}: metadata record of generation {generation_id} not stored; SyncGroup answered {}, rebalancing",
                    error.name()
                )
            }
            (GroupStore::SyncAssignment { generation_id, .. }, _) => format!(
                "group {group_id}: metadata record of generation {generation_id} completed ({}) after the group moved on ({}, generation {}); ignored",
                error.name(),
                group.state().name(),
                group.generation_id()
            ),
            (GroupStore::StaticMemberReplaced { new_member_id, .. }, ErrorCode::None) => {
                format!(
                    "group {group_id}: metadata record with static member {new_member_id} stored; JoinGroup answered"
                )
            }
            (
                GroupStore::StaticMemberReplaced {
                    new_member_id,
                    old_member_id,
                    ..
                },
                _,
            ) => format!(
                "group {group_id}: metadata record with static member {new_member_id} not stored; reverted to {old_member_id}, JoinGroup answered {}",
                error.name()
            ),
        };
        group.on_group_stored(now, store, error);
        let outputs = group.take_outputs();
        self.lines.push(line);
        self.route(now, group_id, outputs);
    }

    /// Turns a group's outputs into messages and trace lines.
    fn route(&mut self, now: SimTime, group_id: &str, outputs: Vec<GroupOutput>) {
        for output in outputs {
            let (token, msg) = match output {
                GroupOutput::JoinGroup { token, response } => (
                    token,
                    Msg::JoinGroupResponse {
                        group_id: group_id.to_string(),
                        token,
                        response,
                    },
                ),
                GroupOutput::SyncGroup { token, response } => (
                    token,
                    Msg::SyncGroupResponse {
                        group_id: group_id.to_string(),
                        token,
                        response,
                    },
                ),
                GroupOutput::Heartbeat { token, error } => (
                    token,
                    Msg::GroupHeartbeatResponse {
                        group_id: group_id.to_string(),
                        token,
                        error,
                    },
                ),
                GroupOutput::LeaveGroup { token, response } => (
                    token,
                    Msg::LeaveGroupResponse {
                        group_id: group_id.to_string(),
                        token,
                        response,
                    },
                ),
                GroupOutput::StoreGroup(store) => {
                    self.store_group(now, group_id, Some(store));
                    continue;
                }
                GroupOutput::Event { event, .. } => {
                    self.lines.push(event_line(group_id, &event));
                    // A group that emptied is stored with nobody waiting: its members are
                    // gone (Kafka's completeClassicGroupJoin only logs a failed write).
                    let store = matches!(
                        &event,
                        GroupEvent::StateChanged {
                            to: GroupState::Empty,
                            ..
                        }
                    );
                    if store {
                        self.store_group(now, group_id, None);
                    }
                    self.events.push((group_id.to_string(), event));
                    continue;
                }
            };
            let Some((client, client_token)) = self.tokens.remove(&token) else {
                continue;
            };
            self.outbox.push((client, with_token(msg, client_token)));
        }
    }

    /// FindCoordinator is answered by the broker (from its metadata cache); everything else
    /// about groups comes here. Returns an offset commit to append, if any.
    pub fn on_request(
        &mut self,
        now: SimTime,
        from: NodeId,
        msg: Msg,
    ) -> Option<OffsetCommitAppend> {
        match msg {
            Msg::JoinGroup {
                group_id,
                mut request,
            } => {
                if let Err(error) = self.status(&group_id) {
                    let response = crate::broker::group::JoinGroupResponse {
                        error,
                        generation_id: -1,
                        protocol_name: None,
                        leader: String::new(),
                        skip_assignment: false,
                        member_id: request.member_id.clone(),
                        members: Vec::new(),
                    };
                    self.outbox.push((
                        from,
                        Msg::JoinGroupResponse {
                            group_id,
                            token: request.token,
                            response,
                        },
                    ));
                    return None;
                }
                request.token = self.token_for(from, request.token);
                let group = self.group(now, &group_id);
                group.join_group(now, request);
                let outputs = group.take_outputs();
                self.route(now, &group_id, outputs);
            }
            Msg::SyncGroup {
                group_id,
                mut request,
            } => {
                if let Err(error) = self.status(&group_id) {
                    let response = crate::broker::group::SyncGroupResponse {
                        error,
                        protocol_name: None,
                        assignment: Default::default(),
                    };
                    self.outbox.push((
                        from,
                        Msg::SyncGroupResponse {
                            group_id,
                            token: request.token,
                            response,
                        },
                    ));
                    return None;
                }
                request.token = self.token_for(from, request.token);
                let group = self.group(now, &group_id);
                group.sync_group(now, request);
                let outputs = group.take_outputs();
                self.route(now, &group_id, outputs);
            }
            Msg::GroupHeartbeat {
                group_id,
                mut request,
            } => {
                if let Err(error) = self.status(&group_id) {
                    self.outbox.push((
                        from,
                        Msg::GroupHeartbeatResponse {
                            group_id,
                            token: request.token,
                            error,
                        },
                    ));
                    return None;
                }
                request.token = self.token_for(from, request.token);
                let group = self.group(now, &group_id);
                group.heartbeat(now, request);
                let outputs = group.take_outputs();
                self.route(now, &group_id, outputs);
            }
            Msg::LeaveGroup {
                group_id,
                mut request,
            } => {
                if let Err(error) = self.status(&group_id) {
                    let response = crate::broker::group::LeaveGroupResponse {
                        error,
                        members: Vec::new(),
                    };
                    self.outbox.push((
                        from,
                        Msg::LeaveGroupResponse {
                            group_id,
                            token: request.token,
                            response,
                        },
                    ));
                    return None;
                }
                request.token = self.token_for(from, request.token);
                let group = self.group(now, &group_id);
                group.leave_group(now, request);
                let outputs = group.take_outputs();
                self.route(now, &group_id, outputs);
            }
            Msg::OffsetCommit {
                group_id,
                token,
                request,
            } => return self.commit_offsets(now, from, group_id, token, request, None),
            Msg::TxnOffsetCommit {
                token,
                transactional_id,
                group_id,
                producer_id,
                producer_epoch,
                generation_id,
                member_id,
                group_instance_id,
                offsets,
            } => {
                let request = OffsetCommitRequest {
                    member_id,
                    generation_id,
                    group_instance_id,
                    offsets,
                };
                return self.commit_offsets(
                    now,
                    from,
                    group_id,
                    token,
                    request,
                    Some((transactional_id, producer_id, producer_epoch)),
                );
            }
            Msg::OffsetFetch {
                group_id,
                token,
                partitions,
                require_stable,
            } => {
                let unstable = require_stable
                    && self
                        .pending_txn_offsets
                        .get(&group_id)
                        .is_some_and(|by_pid| {
                            by_pid
                                .values()
                                .any(|o| partitions.iter().any(|tp| o.contains_key(tp)))
                        });
                let (error, offsets) = match self.status(&group_id) {
                    Err(error) => (error, BTreeMap::new()),
                    Ok(()) if unstable => {
                        self.lines.push(format!(
                            "group {group_id}: OffsetFetch(require_stable) answered UNSTABLE_OFFSET_COMMIT: a transaction's offsets are still pending"
                        ));
                        (ErrorCode::UnstableOffsetCommit, BTreeMap::new())
                    }
                    Ok(()) => {
                        let offsets = match self.groups.get(&group_id) {
                            Some(group) => group.offset_fetch(Some(&partitions)),
                            None => partitions.iter().map(|tp| (tp.clone(), None)).collect(),
                        };
                        (ErrorCode::None, offsets)
                    }
                };
                self.outbox.push((
                    from,
                    Msg::OffsetFetchResponse {
                        group_id,
                        token,
                        error,
                        offsets,
                    },
                ));
            }
            _ => {}
        }
        None
    }

    /// OffsetCommit, or with `txn` (the transactional id, producer id and epoch) KIP-447's
    /// TxnOffsetCommit: validated against the group's generation and member, then appended
    /// to the group's offsets partition, a transactional batch of the producer for the latter
    /// (pending until its transaction's marker).
    fn commit_offsets(
        &mut self,
        now: SimTime,
        from: NodeId,
        group_id: String,
        token: RequestToken,
        request: OffsetCommitRequest,
        txn: Option<(String, ProducerId, ProducerEpoch)>,
    ) -> Option<OffsetCommitAppend> {
        let transactional = txn.is_some();
        let refuse = |this: &mut Self, error: ErrorCode| {
            let group_id = group_id.clone();
            let msg = if transactional {
                Msg::TxnOffsetCommitResponse {
                    group_id,
                    token,
                    error,
                }
            } else {
                Msg::OffsetCommitResponse {
                    group_id,
                    token,
                    error,
                }
            };
            this.outbox.push((from, msg));
        };
        if let Err(error) = self.status(&group_id) {
            refuse(self, error);
            return None;
        }
        let group = self.group(now, &group_id);
        let validated = if transactional {
            group.txn_offset_commit(&request)
        } else {
            group.offset_commit(&request)
        };
        let record = match validated {
            Ok(record) => record,
            Err(error) => {
                let (member, generation) = (&request.member_id, request.generation_id);
                self.lines.push(match &txn {
                    Some((id, _, _)) => format!(
                        "group {group_id}: TxnOffsetCommit from {id:?} (member {member:?}, generation {generation}) refused with {}",
                        error.name()
                    ),
                    None => format!(
                        "group {group_id}: offset commit from member {member:?} (generation {generation}) refused with {}",
                        error.name()
                    ),
                });
                refuse(self, error);
                return None;
            }
        };
        if record.offsets.is_empty() {
            refuse(self, ErrorCode::None);
            return None;
        }
        let producer = txn
            .as_ref()
            .map_or((ProducerId::NONE, ProducerEpoch::NONE), |(_, id, epoch)| {
                (*id, *epoch)
            });
        let Some(records) = self.encode_offsets(now, &group_id, &record, producer) else {
            refuse(self, ErrorCode::InvalidCommitOffsetSize);
            return None;
        };
        Some(OffsetCommitAppend {
            topic_partition: TopicPartition {
                topic: OFFSETS_TOPIC.to_string(),
                partition: self.partition_for(&group_id),
            },
            records,
            timeout_ms: self.settings.offsets_commit_timeout_ms,
            pending: Some(PendingGroupAppend::OffsetCommit(PendingOffsetCommit {
                client: from,
                client_token: token,
                record,
                transactional: transactional.then_some(producer.0),
            })),
            producer: transactional.then_some(producer),
        })
    }

    /// The offset commit records of `record` as one batch: plain, or with a producer's id
    /// and epoch as a transactional batch. `None` when a record cannot be encoded.
    fn encode_offsets(
        &self,
        now: SimTime,
        group_id: &str,
        record: &OffsetCommitRecord,
        producer: (ProducerId, ProducerEpoch),
    ) -> Option<Vec<u8>> {
        let timestamp_ms = now.as_millis();
        let mut new_records = Vec::new();
        for (tp, offset) in &record.offsets {
            let key = OffsetCommitKey {
                group_id: group_id.to_string(),
                topic_partition: tp.clone(),
            };
            let k = encode_offset_commit_key(&key).ok()?;
            let v = encode_offset_commit_value(offset, timestamp_ms).ok()?;
            new_records.push(NewRecord::new(timestamp_ms, Some(&k), Some(&v)));
        }
        if new_records.is_empty() {
            return None;
        }
        let fields = if producer.0 == ProducerId::NONE {
            ProducerFields::NONE
        } else {
            ProducerFields::transactional(producer.0, producer.1, crate::log::batch::NO_SEQUENCE)
        };
        Some(RecordBatch::new_data(&new_records, fields).encode())
    }

    /// An offset commit's append completed: on success the offsets enter the cache; errors
    /// map as Kafka's `GroupMetadataManager` maps them.
    pub fn on_offset_commit_appended(
        &mut self,
        now: SimTime,
        pending: PendingOffsetCommit,
        append_error: ErrorCode,
    ) {
        let group_id = pending.record.group_id.clone();
        let error = match append_error {
            ErrorCode::None if pending.transactional.is_some() => {
                match (self.groups.contains_key(&group_id), pending.transactional) {
                    (true, Some(producer_id)) => {
                        let list: Vec<String> = pending
                            .record
                            .offsets
                            .iter()
                            .map(|(tp, o)| format!("{tp}={}", o.committed_offset.0))
                            .collect();
                        self.lines.push(format!(
                            "group {group_id}: transactional offset commit of producer id {} appended, pending until the transaction's marker ({})",
                            producer_id.0,
                            list.join(", ")
                        ));
                        self.pending_txn_offsets
                            .entry(group_id.clone())
                            .or_default()
                            .entry(producer_id)
                            .or_default()
                            .extend(pending.record.offsets.clone());
                        ErrorCode::None
                    }
                    _ => ErrorCode::NotCoordinator,
                }
            }
            ErrorCode::None => {
                match self.groups.get_mut(&group_id) {
                    Some(group) => {
                        let _ = group.apply_offset_commit(now, &pending.record);
                        let list: Vec<String> = pending
                            .record
                            .offsets
                            .iter()
                            .map(|(tp, o)| format!("{tp}={}", o.committed_offset.0))
                            .collect();
                        self.lines.push(format!(
                            "group {group_id}: offset commit stored ({})",
                            list.join(", ")
                        ));
                        ErrorCode::None
                    }
                    // Unloaded while the append waited.
                    None => ErrorCode::NotCoordinator,
                }
            }
            ErrorCode::NotLeaderOrFollower | ErrorCode::KafkaStorageError => {
                ErrorCode::NotCoordinator
            }
            ErrorCode::MessageTooLarge | ErrorCode::RecordListTooLarge => {
                ErrorCode::InvalidCommitOffsetSize
            }
            // A fenced producer's TxnOffsetCommit: the client turns it into ProducerFenced.
            ErrorCode::InvalidProducerEpoch if pending.transactional.is_some() => {
                ErrorCode::InvalidProducerEpoch
            }
            _ => ErrorCode::CoordinatorNotAvailable,
        };
        if error != ErrorCode::None {
            self.lines.push(format!(
                "group {group_id}: offset commit failed to replicate ({}): answered {}",
                append_error.name(),
                error.name()
            ));
        }
        let msg = if pending.transactional.is_some() {
            Msg::TxnOffsetCommitResponse {
                group_id,
                token: pending.client_token,
                error,
            }
        } else {
            Msg::OffsetCommitResponse {
                group_id,
                token: pending.client_token,
                error,
            }
        };
        self.outbox.push((pending.client, msg));
    }
}

/// How a failed group metadata append is answered (Kafka's
/// `GroupMetadataManager.appendGroupMetadataErrorToResponseError`; logsim has no
/// INVALID_FETCH_SIZE).
pub fn append_group_metadata_error_to_response_error(append_error: ErrorCode) -> ErrorCode {
    match append_error {
        ErrorCode::UnknownTopicOrPartition
        | ErrorCode::NotEnoughReplicas
        | ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::NotLeaderOrFollower | ErrorCode::KafkaStorageError => ErrorCode::NotCoordinator,
        ErrorCode::MessageTooLarge | ErrorCode::RecordListTooLarge => ErrorCode::UnknownServerError,
        other => other,
    }
}

/// Puts the client's token back in an answer.
fn with_token(msg: Msg, client_token: RequestToken) -> Msg {
    match msg {
        Msg::JoinGroupResponse {
            group_id, response, ..
        } => Msg::JoinGroupResponse {
            group_id,
            token: client_token,
            response,
        },
        Msg::SyncGroupResponse {
            group_id, response, ..
        } => Msg::SyncGroupResponse {
            group_id,
            token: client_token,
            response,
        },
        Msg::GroupHeartbeatResponse {
            group_id, error, ..
        } => Msg::GroupHeartbeatResponse {
            group_id,
            token: client_token,
            error,
        },
        Msg::LeaveGroupResponse {
            group_id, response, ..
        } => Msg::LeaveGroupResponse {
            group_id,
            token: client_token,
            response,
        },
        other => other,
    }
}

/// A group event as a trace line.
pub fn event_line(group_id: &str, event: &GroupEvent) -> String {
    match event {
        GroupEvent::StateChanged {
            from,
            to,
            generation_id,
        } => format!(
            "group {group_id}: {} -> {} (generation {generation_id})",
            from.name(),
            to.name()
        ),
        GroupEvent::MemberJoined {
            member_id,
            group_instance_id,
        } => match group_instance_id {
            Some(instance) => format!(
                "group {group_id}: member {member_id} joined (group.instance.id {instance})"
            ),
            None => format!("group {group_id}: member {member_id} joined"),
        },
        GroupEvent::MemberRemoved { member_id, reason } => format!(
            "group {group_id}: member {member_id} removed ({})",
            match reason {
                crate::broker::group::RemovalReason::LeaveGroup => "it sent LeaveGroup",
                crate::broker::group::RemovalReason::SessionTimeout =>
                    "no heartbeat within session.timeout.ms",
                crate::broker::group::RemovalReason::RebalanceTimeout =>
                    "it did not rejoin within the rebalance timeout (max.poll.interval.ms)",
                crate::broker::group::RemovalReason::SyncTimeout =>
                    "it did not send SyncGroup within the rebalance timeout",
            }
        ),
        GroupEvent::StaticMemberReplaced {
            group_instance_id,
            old_member_id,
            new_member_id,
        } => format!(
            "group {group_id}: static member {group_instance_id} rejoined as {new_member_id}; {old_member_id} is fenced (FENCED_INSTANCE_ID), no rebalance"
        ),
        GroupEvent::OffsetsExpired { partitions } => {
            let list: Vec<String> = partitions.iter().map(|tp| tp.to_string()).collect();
            format!(
                "group {group_id}: offsets expired after offsets.retention.minutes ({})",
                list.join(", ")
            )
        }
    }
}
