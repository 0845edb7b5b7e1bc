//! A consumer's group membership (section 4), modelled on Kafka's classic
//! `ConsumerCoordinator`: FindCoordinator, JoinGroup (with MEMBER_ID_REQUIRED) and SyncGroup,
//! the leader running the assignor, heartbeats from a background thread, the poll deadline
//! `max.poll.interval.ms`, eager and cooperative rebalances with the listener's revoked,
//! assigned and lost callbacks, positions from the group's committed offsets, and offset
//! offset commits (auto-commit inside poll, G-7; `commitSync`/`commitAsync` after a poll; before a
//! rebalance; on close).
//!
//! Invariants: a member fetches only partitions it owns; an eager member owns nothing from
//! the moment it prepares to rejoin until SyncGroup hands out the new assignment; a
//! cooperative member gives up only what the new assignment moved away, and rejoins at once
//! when it gave something up; every ownership change is in the history (`Op::Assigned`,
//! `Op::Revoked`), so the checker can prove no partition had two owners.

use super::{ConsumerClient, FetchState, PartitionFetch};
use crate::broker::group::{
    HeartbeatRequest, JoinGroupProtocol, JoinGroupResponse, LeaveGroupRequest, MemberIdentity,
    OffsetAndMetadata, OffsetCommitRequest, SyncGroupRequest, SyncGroupResponse,
    CONSUMER_PROTOCOL_TYPE, NO_GENERATION,
};
use crate::broker::messages::RequestToken;
use crate::client::assignor::{Assignor, RebalanceProtocol, Subscription};
use crate::ids::{BrokerId, NodeId, Offset, PartitionIndex, TopicPartition};
use crate::protocol::ErrorCode;
use crate::sim::cluster::messages::Msg;
use crate::sim::cluster::scenario::{AutoOffsetReset, CommitAfterPoll, ConsumerSpec};
use crate::sim::history::Op;
use crate::time::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// Kafka's consumer `retry.backoff.ms`.
const RETRY_BACKOFF_MS: u64 = 100;
/// A group request other than JoinGroup with no answer for this long is given up and the
/// coordinator marked unknown (the consumers' fetches give up after the same time).
const GROUP_REQUEST_GIVE_UP_MS: u64 = 2_000;
/// JoinGroup waits at the coordinator up to the rebalance timeout; the client gives up 5 s
/// after it (Kafka's `joinGroupTimeoutMs`).
const JOIN_GROUP_EXTRA_MS: u64 = 5_000;

/// Kafka's `MemberState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemberState {
    Unjoined,
    /// JoinGroup sent (PREPARING_REBALANCE).
    Joining,
    /// SyncGroup sent (COMPLETING_REBALANCE).
    Syncing,
    Stable,
}

impl MemberState {
    pub fn name(self) -> &'static str {
        match self {
            MemberState::Unjoined => "UNJOINED",
            MemberState::Joining => "PREPARING_REBALANCE",
            MemberState::Syncing => "COMPLETING_REBALANCE",
            MemberState::Stable => "STABLE",
        }
    }
}

/// Why an offset commit was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CommitKind {
    /// Auto-commit inside poll (async).
    Auto,
    /// Before rejoining (`onJoinPrepare`, sync with the rebalance timeout).
    JoinPrepare,
    /// The application's `commitSync()`.
    Sync,
    /// The application's `commitAsync()`.
    Async,
}

impl CommitKind {
    fn blocks(self) -> bool {
        matches!(self, CommitKind::JoinPrepare | CommitKind::Sync)
    }
    fn name(self) -> &'static str {
        match self {
            CommitKind::Auto => "auto-commit",
            CommitKind::JoinPrepare => "offset commit before rejoining",
            CommitKind::Sync => "commitSync",
            CommitKind::Async => "commitAsync",
        }
    }
}

#[derive(Clone, Debug)]
struct PendingCommit {
    kind: CommitKind,
    offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
    generation: i32,
    sent_at: SimTime,
}

/// A consumer's view of its group.
#[derive(Clone, Debug)]
pub struct GroupMembership {
    pub group_id: String,
    pub group_instance_id: Option<String>,
    assignors: Vec<Assignor>,
    pub rebalance_protocol: RebalanceProtocol,
    pub coordinator: Option<BrokerId>,
    find_sent_at: Option<SimTime>,
    coordinator_retry_at: SimTime,
    pub member_id: String,
    pub generation: i32,
    /// The assignor the group chose.
    pub protocol: Option<String>,
    pub state: MemberState,
    /// The JoinGroup or SyncGroup in flight, sent then.
    request_sent_at: Option<SimTime>,
    request_token: u64,
    pub rejoin_needed: bool,
    /// Partition indexes of the topic this member owns.
    pub owned: BTreeSet<u32>,
    /// Whether the leader of the last rebalance was this member.
    pub is_leader: bool,
    next_heartbeat: SimTime,
    heartbeat_sent_at: Option<SimTime>,
    heartbeat_token: u64,
    /// When the application last called poll.
    pub last_poll: SimTime,
    /// The poll deadline passed: a dynamic member left; a static one stopped heartbeating.
    pub poll_timer_expired: bool,
    next_auto_commit: SimTime,
    next_token: u64,
    offset_commits: BTreeMap<u64, PendingCommit>,
    /// A commit the poll loop waits for (commitSync, or the one before rejoining).
    blocking_commit: Option<u64>,
    /// A commitSync to send again once the coordinator is known.
    sync_retry: Option<BTreeMap<TopicPartition, OffsetAndMetadata>>,
    /// onJoinPrepare ran for the rebalance about to start.
    join_prepared: bool,
    offset_fetch: Option<(u64, SimTime)>,
    /// A fatal error stopped the consumer (FENCED_INSTANCE_ID, INVALID_SESSION_TIMEOUT...).
    pub fatal: Option<String>,
    session_timeout_ms: u64,
    heartbeat_interval_ms: u64,
    max_poll_interval_ms: u64,
    auto_commit: bool,
    auto_commit_interval_ms: u64,
    commit_after_poll: CommitAfterPoll,
    client_id: String,
    /// Completed rebalances (SyncGroup answered with an assignment).
    pub rebalances: u32,
    /// Offset commits refused with CommitFailedException or RebalanceInProgressException.
    pub commit_failures: u32,
    /// The last rebalance this member completed: the generation, what it gained, and what it
    /// gave up since the previous one ended (an eager member revokes everything before it
    /// rejoins; a cooperative one revokes in the first of two rebalances, so both show here).
    pub last_rebalance: Option<(i32, BTreeSet<u32>, BTreeSet<u32>)>,
    /// Partitions revoked or lost since the last rebalance that needed no other.
    revoked_in_cycle: BTreeSet<u32>,
    /// Every error a group answer carried, by Kafka's name.
    pub errors: BTreeMap<&'static str, u32>,
}

impl GroupMembership {
    pub fn new(group_id: String, spec: &ConsumerSpec, index: u32) -> GroupMembership {
        let assignors: Vec<Assignor> = spec
            .partition_assignment_strategy
            .iter()
            .filter_map(|n| Assignor::from_name(n))
            .collect();
        // The consumer's protocol is the one every configured assignor supports (Kafka's
        // ConsumerCoordinator): cooperative only when all of them are cooperative.
        let rebalance_protocol = if !assignors.is_empty()
            && assignors
                .iter()
                .all(|a| a.rebalance_protocol() == RebalanceProtocol::Cooperative)
        {
            RebalanceProtocol::Cooperative
        } else {
            RebalanceProtocol::Eager
        };
        GroupMembership {
            group_id,
            group_instance_id: spec.group_instance_id.clone(),
            assignors,
            rebalance_protocol,
            coordinator: None,
            find_sent_at: None,
            coordinator_retry_at: SimTime::ZERO,
            member_id: String::new(),
            generation: NO_GENERATION,
            protocol: None,
            state: MemberState::Unjoined,
            request_sent_at: None,
            request_token: 0,
            rejoin_needed: true,
            owned: BTreeSet::new(),
            is_leader: false,
            next_heartbeat: SimTime::ZERO,
            heartbeat_sent_at: None,
            heartbeat_token: 0,
            last_poll: SimTime::ZERO,
            poll_timer_expired: false,
            next_auto_commit: SimTime::from_millis(spec.auto_commit_interval_ms),
            next_token: 0,
            offset_commits: BTreeMap::new(),
            blocking_commit: None,
            sync_retry: None,
            join_prepared: false,
            offset_fetch: None,
            fatal: None,
            session_timeout_ms: spec.session_timeout_ms,
            heartbeat_interval_ms: spec.heartbeat_interval_ms,
            max_poll_interval_ms: spec.max_poll_interval_ms,
            auto_commit: spec.enable_auto_commit,
            auto_commit_interval_ms: spec.auto_commit_interval_ms,
            commit_after_poll: spec.commit_after_poll,
            client_id: format!("consumer-{index}"),
            rebalances: 0,
            commit_failures: 0,
            last_rebalance: None,
            revoked_in_cycle: BTreeSet::new(),
            errors: BTreeMap::new(),
        }
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    fn in_group(&self) -> bool {
        !self.member_id.is_empty() && self.generation >= 0
    }

    /// When the background thread next has something to do.
    /// A dynamic member's LeaveGroup to its coordinator, when it knows one.
    fn send_leave_group(&mut self, node: NodeId, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        let token = self.token();
        out.push((
            node,
            NodeId::from(coordinator),
            Msg::LeaveGroup {
                group_id: self.group_id.clone(),
                request: LeaveGroupRequest {
                    token: RequestToken(token),
                    members: vec![MemberIdentity {
                        member_id: self.member_id.clone(),
                        group_instance_id: None,
                    }],
                },
            },
        ));
    }

    /// `partition.assignment.strategy`: the assignors' names in order of preference.
    pub fn strategy_names(&self) -> Vec<String> {
        self.assignors.iter().map(|a| a.name().to_owned()).collect()
    }

    pub fn next_deadline(&self) -> Option<SimTime> {
        if self.fatal.is_some() {
            return None;
        }
        let mut next: Vec<SimTime> = Vec::new();
        let give_up = SimDuration::from_millis(GROUP_REQUEST_GIVE_UP_MS);
        if let Some(at) = self.find_sent_at {
            next.push(at.saturating_add(give_up));
        }
        if let Some(at) = self.heartbeat_sent_at {
            next.push(at.saturating_add(give_up));
        }
        if let Some(at) = self.request_sent_at {
            next.push(at.saturating_add(self.request_give_up()));
        }
        if self.state == MemberState::Stable || self.state == MemberState::Syncing {
            if self.heartbeat_sent_at.is_none()
                && !self.poll_timer_expired
                && self.coordinator.is_some()
            {
                next.push(self.next_heartbeat);
            }
            if !self.poll_timer_expired {
                next.push(self.poll_deadline());
            }
        }
        next.into_iter().min()
    }

    fn request_give_up(&self) -> SimDuration {
        match self.state {
            MemberState::Joining => SimDuration::from_millis(
                self.max_poll_interval_ms
                    .saturating_add(JOIN_GROUP_EXTRA_MS),
            ),
            _ => SimDuration::from_millis(GROUP_REQUEST_GIVE_UP_MS),
        }
    }

    fn poll_deadline(&self) -> SimTime {
        self.last_poll
            .saturating_add(SimDuration::from_millis(self.max_poll_interval_ms))
    }
}

impl ConsumerClient {
    fn tp_of(&self, p: u32) -> TopicPartition {
        TopicPartition {
            topic: self.spec.topic.clone(),
            partition: PartitionIndex(p),
        }
    }

    fn list(&self, partitions: &BTreeSet<u32>) -> String {
        let names: Vec<String> = partitions
            .iter()
            .map(|p| format!("{}-{p}", self.spec.topic))
            .collect();
        format!("[{}]", names.join(", "))
    }

    /// The group's heartbeat thread: the poll deadline, heartbeats, and giving up on
    /// unanswered requests.
    pub(super) fn group_background(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        let node = self.node;
        let Some(g) = self.group.as_mut() else {
            return;
        };
        if g.fatal.is_some() {
            return;
        }
        let give_up = SimDuration::from_millis(GROUP_REQUEST_GIVE_UP_MS);
        let mut lines = Vec::new();
        if g.find_sent_at
            .is_some_and(|at| now >= at.saturating_add(give_up))
        {
            g.find_sent_at = None;
        }
        if g.heartbeat_sent_at
            .is_some_and(|at| now >= at.saturating_add(give_up))
        {
            g.heartbeat_sent_at = None;
            lines.push(format!(
                "group {}: no heartbeat answer from coordinator {}; marking it unknown",
                g.group_id,
                g.coordinator.map_or(-1, |b| b.0 as i64)
            ));
            g.coordinator = None;
        }
        if g.request_sent_at
            .is_some_and(|at| now >= at.saturating_add(g.request_give_up()))
        {
            g.request_sent_at = None;
            lines.push(format!(
                "group {}: {} got no answer; marking the coordinator unknown and rejoining",
                g.group_id,
                if g.state == MemberState::Joining {
                    "JoinGroup"
                } else {
                    "SyncGroup"
                }
            ));
            g.coordinator = None;
            g.state = MemberState::Unjoined;
            g.rejoin_needed = true;
        }
        let in_session = matches!(g.state, MemberState::Stable | MemberState::Syncing);
        if in_session && !g.poll_timer_expired && now >= g.poll_deadline() {
            g.poll_timer_expired = true;
            g.heartbeat_sent_at = None;
            if g.group_instance_id.is_none() {
                lines.push(format!(
                    "group {}: consumer poll timeout has expired: poll() was not called within max.poll.interval.ms ({} ms); member {} sends LeaveGroup",
                    g.group_id, g.max_poll_interval_ms, g.member_id
                ));
                g.send_leave_group(node, out);
                // Kafka resets the generation and member id when it leaves.
                g.member_id.clear();
                g.generation = NO_GENERATION;
                g.state = MemberState::Unjoined;
                g.rejoin_needed = true;
            } else {
                lines.push(format!(
                    "group {}: consumer poll timeout has expired (max.poll.interval.ms {} ms); static member {} stops heartbeating and waits for session.timeout.ms",
                    g.group_id,
                    g.max_poll_interval_ms,
                    g.group_instance_id.as_deref().unwrap_or("")
                ));
            }
        }
        let in_session = matches!(g.state, MemberState::Stable | MemberState::Syncing);
        if in_session
            && !g.poll_timer_expired
            && g.heartbeat_sent_at.is_none()
            && now >= g.next_heartbeat
        {
            if let Some(coordinator) = g.coordinator {
                let token = g.token();
                g.heartbeat_token = token;
                g.heartbeat_sent_at = Some(now);
                g.next_heartbeat =
                    now.saturating_add(SimDuration::from_millis(g.heartbeat_interval_ms));
                out.push((
                    node,
                    NodeId::from(coordinator),
                    Msg::GroupHeartbeat {
                        group_id: g.group_id.clone(),
                        request: HeartbeatRequest {
                            token: RequestToken(token),
                            member_id: g.member_id.clone(),
                            generation_id: g.generation,
                            group_instance_id: g.group_instance_id.clone(),
                        },
                    },
                ));
            }
        }
        self.lines.extend(lines);
    }

    /// The group part of `poll()`, before fetching: find the coordinator, rejoin when needed
    /// (committing and revoking first), auto-commit, look up committed offsets. Returns
    /// whether the poll may go on to fetch (false while it waits on a synchronous commit).
    pub(super) fn group_poll(
        &mut self,
        now: SimTime,
        history: &mut Vec<Op>,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) -> bool {
        let Some(g) = self.group.as_mut() else {
            return true;
        };
        if g.fatal.is_some() {
            return false;
        }
        g.last_poll = now;
        if g.poll_timer_expired {
            g.poll_timer_expired = false;
            if g.group_instance_id.is_none() {
                if g.commit_after_poll != CommitAfterPoll::None {
                    // The application finished the records it was processing and commits
                    // them: the consumer is no longer in the group.
                    g.commit_failures += 1;
                    let line = format!(
                        "group {}: the offset commit after the stalled poll fails: CommitFailedException (the consumer left the group when max.poll.interval.ms expired; its partitions may already be with another member, who will read these records again)",
                        g.group_id
                    );
                    self.lines.push(line);
                }
                // It left the group at the poll deadline: whatever it owned is lost.
                self.lose_partitions(
                    history,
                    "it left the group when max.poll.interval.ms expired",
                );
            }
        }
        let Some(g) = self.group.as_mut() else {
            return true;
        };
        if let Some(token) = g.blocking_commit {
            let waiting = g.offset_commits.get(&token).is_some_and(|c| {
                now < c
                    .sent_at
                    .saturating_add(SimDuration::from_millis(GROUP_REQUEST_GIVE_UP_MS))
            });
            if waiting {
                return false;
            }
            g.blocking_commit = None;
            g.offset_commits.remove(&token);
        }
        if g.coordinator.is_none() {
            self.find_coordinator(now, out);
            // A commitSync waiting for a coordinator blocks the poll loop.
            return self.group.as_ref().is_none_or(|g| g.sync_retry.is_none());
        }
        if let Some(offsets) = g.sync_retry.take() {
            self.send_offset_commit(now, CommitKind::Sync, offsets, out);
            return false;
        }
        let metadata_known = self.metadata.partition_count(&self.spec.topic).is_some();
        let Some(g) = self.group.as_mut() else {
            return true;
        };
        let wants_join = g.rejoin_needed
            && matches!(g.state, MemberState::Unjoined | MemberState::Stable)
            && g.request_sent_at.is_none();
        if wants_join && metadata_known {
            if !g.join_prepared {
                // onJoinPrepare: commit what was consumed (auto-commit), then an eager member
                // revokes everything before it rejoins.
                g.join_prepared = true;
                if g.auto_commit && g.in_group() && !g.owned.is_empty() {
                    let offsets = self.positions_to_commit();
                    if !offsets.is_empty() {
                        self.send_offset_commit(now, CommitKind::JoinPrepare, offsets, out);
                        return false;
                    }
                }
            }
            let Some(g) = self.group.as_mut() else {
                return true;
            };
            if g.rebalance_protocol == RebalanceProtocol::Eager && !g.owned.is_empty() {
                let lost = !g.in_group();
                let partitions = std::mem::take(&mut g.owned);
                let generation = g.generation;
                let group = g.group_id.clone();
                self.record_revoked(
                    history,
                    group,
                    generation,
                    partitions,
                    lost,
                    "eager rebalance: revoke everything before JoinGroup",
                );
            }
            self.send_join_group(now, out);
        }
        let Some(g) = self.group.as_mut() else {
            return true;
        };
        if g.auto_commit && g.state == MemberState::Stable && now >= g.next_auto_commit {
            g.next_auto_commit =
                now.saturating_add(SimDuration::from_millis(g.auto_commit_interval_ms));
            let offsets = self.positions_to_commit();
            if !offsets.is_empty() {
                self.send_offset_commit(now, CommitKind::Auto, offsets, out);
            }
        }
        self.maybe_fetch_committed_offsets(now, out);
        true
    }

    /// After a poll returned records: the application's commitSync or commitAsync.
    pub(super) fn after_records(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        let Some(g) = self.group.as_ref() else {
            return;
        };
        let kind = match g.commit_after_poll {
            CommitAfterPoll::None => return,
            CommitAfterPoll::Sync => CommitKind::Sync,
            CommitAfterPoll::Async => CommitKind::Async,
        };
        if g.blocking_commit.is_some() {
            return;
        }
        let offsets = self.positions_to_commit();
        if offsets.is_empty() {
            return;
        }
        if g.coordinator.is_none() {
            if kind == CommitKind::Sync {
                if let Some(g) = self.group.as_mut() {
                    g.sync_retry = Some(offsets);
                }
            }
            return;
        }
        self.send_offset_commit(now, kind, offsets, out);
    }

    /// The application's `commitSync()` (an action from the scenario or the app).
    pub fn commit_sync(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        let offsets = self.positions_to_commit();
        let Some(g) = self.group.as_mut() else {
            self.lines
                .push("commitSync: no group.id, nothing to commit to".to_string());
            return;
        };
        if offsets.is_empty() {
            self.lines.push(format!(
                "group {}: commitSync: no positions to commit",
                g.group_id
            ));
            return;
        }
        if g.coordinator.is_none() {
            g.sync_retry = Some(offsets);
            return;
        }
        self.send_offset_commit(now, CommitKind::Sync, offsets, out);
    }

    /// The positions of the owned partitions that have one: what a commit without arguments
    /// sends (the committed offset is the next offset to read, G-6).
    pub(super) fn positions_to_commit(&self) -> BTreeMap<TopicPartition, OffsetAndMetadata> {
        let Some(g) = self.group.as_ref() else {
            return BTreeMap::new();
        };
        g.owned
            .iter()
            .filter_map(|p| {
                let part = self.partitions.get(*p as usize)?;
                matches!(
                    part.state,
                    FetchState::Fetching | FetchState::AwaitValidation
                )
                .then(|| {
                    (
                        self.tp_of(*p),
                        OffsetAndMetadata {
                            committed_offset: part.position.offset,
                            leader_epoch: part.position.offset_epoch,
                            metadata: String::new(),
                        },
                    )
                })
            })
            .collect()
    }

    fn send_offset_commit(
        &mut self,
        now: SimTime,
        kind: CommitKind,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        let node = self.node;
        let Some(g) = self.group.as_mut() else {
            return;
        };
        let Some(coordinator) = g.coordinator else {
            if kind == CommitKind::Sync {
                g.sync_retry = Some(offsets);
            }
            return;
        };
        let token = g.token();
        let list: Vec<String> = offsets
            .iter()
            .map(|(tp, o)| format!("{tp}={}", o.committed_offset.0))
            .collect();
        let line = format!(
            "group {}: {} of {} (generation {})",
            g.group_id,
            kind.name(),
            list.join(", "),
            g.generation
        );
        let request = OffsetCommitRequest {
            member_id: g.member_id.clone(),
            generation_id: g.generation,
            group_instance_id: g.group_instance_id.clone(),
            offsets: offsets.clone(),
        };
        g.offset_commits.insert(
            token,
            PendingCommit {
                kind,
                offsets,
                generation: g.generation,
                sent_at: now,
            },
        );
        if kind.blocks() {
            g.blocking_commit = Some(token);
        }
        out.push((
            node,
            NodeId::from(coordinator),
            Msg::OffsetCommit {
                group_id: g.group_id.clone(),
                token: RequestToken(token),
                request,
            },
        ));
        self.lines.push(line);
    }

    fn find_coordinator(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        let brokers = self.brokers.max(1);
        let Some(g) = self.group.as_mut() else {
            return;
        };
        if g.find_sent_at.is_some() || now < g.coordinator_retry_at {
            return;
        }
        let broker = NodeId(self.next_metadata_broker % brokers + 1);
        self.next_metadata_broker = self.next_metadata_broker.wrapping_add(1);
        g.find_sent_at = Some(now);
        out.push((
            self.node,
            broker,
            Msg::FindCoordinator {
                group_id: g.group_id.clone(),
            },
        ));
    }

    fn subscription(&self) -> Subscription {
        let g = self.group.as_ref();
        Subscription {
            topics: [self.spec.topic.clone()].into_iter().collect(),
            owned_partitions: g
                .map(|g| g.owned.iter().map(|p| self.tp_of(*p)).collect())
                .unwrap_or_default(),
            generation: g.and_then(|g| (g.generation >= 0).then_some(g.generation)),
            group_instance_id: g.and_then(|g| g.group_instance_id.clone()),
        }
    }

    fn send_join_group(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        let subscription = self.subscription();
        let owned_list = self.list(
            &self
                .group
                .as_ref()
                .map(|g| g.owned.clone())
                .unwrap_or_default(),
        );
        let node = self.node;
        let Some(g) = self.group.as_mut() else {
            return;
        };
        let Some(coordinator) = g.coordinator else {
            return;
        };
        let token = g.token();
        g.request_token = token;
        g.request_sent_at = Some(now);
        g.state = MemberState::Joining;
        let protocols = g
            .assignors
            .iter()
            .map(|a| JoinGroupProtocol {
                name: a.name().to_string(),
                metadata: subscription.clone(),
            })
            .collect();
        let line = format!(
            "group {}: JoinGroup to coordinator {} as {} (owns {})",
            g.group_id,
            coordinator.0,
            if g.member_id.is_empty() {
                "a new member".to_string()
            } else {
                format!("member {}", g.member_id)
            },
            owned_list
        );
        out.push((
            node,
            NodeId::from(coordinator),
            Msg::JoinGroup {
                group_id: g.group_id.clone(),
                request: crate::broker::group::JoinGroupRequest {
                    token: RequestToken(token),
                    member_id: g.member_id.clone(),
                    group_instance_id: g.group_instance_id.clone(),
                    client_id: g.client_id.clone(),
                    session_timeout_ms: g.session_timeout_ms,
                    rebalance_timeout_ms: g.max_poll_interval_ms,
                    protocol_type: CONSUMER_PROTOCOL_TYPE.to_string(),
                    protocols,
                },
            },
        ));
        self.lines.push(line);
    }

    fn maybe_fetch_committed_offsets(
        &mut self,
        now: SimTime,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        let node = self.node;
        let waiting: Vec<TopicPartition> = match self.group.as_ref() {
            Some(g) => g
                .owned
                .iter()
                .filter(|p| {
                    self.partitions
                        .get(**p as usize)
                        .is_some_and(|f| f.state == FetchState::AwaitCommittedOffset)
                })
                .map(|p| self.tp_of(*p))
                .collect(),
            None => return,
        };
        let Some(g) = self.group.as_mut() else {
            return;
        };
        if waiting.is_empty() {
            return;
        }
        if g.offset_fetch.is_some_and(|(_, at)| {
            now < at.saturating_add(SimDuration::from_millis(GROUP_REQUEST_GIVE_UP_MS))
        }) {
            return;
        }
        let Some(coordinator) = g.coordinator else {
            return;
        };
        let token = g.token();
        g.offset_fetch = Some((token, now));
        out.push((
            node,
            NodeId::from(coordinator),
            Msg::OffsetFetch {
                group_id: g.group_id.clone(),
                token: RequestToken(token),
                partitions: waiting,
                // Kafka's consumer sets it at read_committed (KIP-447).
                require_stable: self.spec.isolation_level
                    == crate::broker::messages::IsolationLevel::ReadCommitted,
            },
        ));
    }

    fn record_revoked(
        &mut self,
        history: &mut Vec<Op>,
        group: String,
        generation: i32,
        partitions: BTreeSet<u32>,
        lost: bool,
        why: &str,
    ) {
        let callback = if lost {
            "onPartitionsLost"
        } else {
            "onPartitionsRevoked"
        };
        self.lines.push(format!(
            "group {group}: {callback}({}): {why}",
            self.list(&partitions)
        ));
        if let Some(g) = self.group.as_mut() {
            g.revoked_in_cycle.extend(partitions.iter().copied());
        }
        history.push(Op::Revoked {
            consumer: self.index,
            group,
            generation,
            partitions: partitions.iter().map(|p| self.tp_of(*p)).collect(),
            lost,
        });
    }

    /// The member found it is no longer in the group: what it owned is lost, and it rejoins
    /// as a new member.
    fn lose_partitions(&mut self, history: &mut Vec<Op>, why: &str) {
        let Some(g) = self.group.as_mut() else {
            return;
        };
        let partitions = std::mem::take(&mut g.owned);
        let generation = g.generation;
        let group = g.group_id.clone();
        g.rejoin_needed = true;
        g.join_prepared = false;
        if !partitions.is_empty() {
            self.record_revoked(history, group, generation, partitions, true, why);
        }
    }

    fn reset_member(&mut self, history: &mut Vec<Op>, forget_member_id: bool, why: &str) {
        self.lose_partitions(history, why);
        if let Some(g) = self.group.as_mut() {
            g.generation = NO_GENERATION;
            if forget_member_id {
                g.member_id.clear();
            }
            g.state = MemberState::Unjoined;
            g.request_sent_at = None;
        }
    }

    fn coordinator_lost(&mut self, now: SimTime, error: ErrorCode) {
        if let Some(g) = self.group.as_mut() {
            if g.coordinator.is_some() {
                self.lines.push(format!(
                    "group {}: {}: marking coordinator {} unknown; FindCoordinator again",
                    g.group_id,
                    error.name(),
                    g.coordinator.map_or(-1, |b| b.0 as i64)
                ));
            }
            g.coordinator = None;
            g.coordinator_retry_at = now.saturating_add(SimDuration::from_millis(RETRY_BACKOFF_MS));
        }
    }

    /// Its connection to `broker` was reset (the broker died).
    pub fn on_disconnect(&mut self, now: SimTime, broker: BrokerId) {
        let Some(g) = self.group.as_mut() else {
            return;
        };
        if g.coordinator != Some(broker) {
            return;
        }
        *g.errors
            .entry(ErrorCode::NetworkException.name())
            .or_insert(0) += 1;
        g.heartbeat_sent_at = None;
        g.offset_fetch = None;
        if g.request_sent_at.take().is_some() {
            g.state = MemberState::Unjoined;
            g.rejoin_needed = true;
        }
        let pending: Vec<(u64, PendingCommit)> =
            std::mem::take(&mut g.offset_commits).into_iter().collect();
        for (token, pending_commit) in pending {
            if pending_commit.kind == CommitKind::Sync {
                g.sync_retry = Some(pending_commit.offsets);
            }
            if g.blocking_commit == Some(token) {
                g.blocking_commit = None;
            }
        }
        self.coordinator_lost(now, ErrorCode::NetworkException);
    }

    pub(super) fn on_group_message(
        &mut self,
        now: SimTime,
        msg: Msg,
        history: &mut Vec<Op>,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        if self.group.as_ref().is_none_or(|g| g.fatal.is_some()) {
            return;
        }
        let error = match &msg {
            Msg::FindCoordinatorResponse { error, .. }
            | Msg::GroupHeartbeatResponse { error, .. }
            | Msg::OffsetCommitResponse { error, .. }
            | Msg::OffsetFetchResponse { error, .. } => *error,
            Msg::JoinGroupResponse { response, .. } => response.error,
            Msg::SyncGroupResponse { response, .. } => response.error,
            Msg::LeaveGroupResponse { response, .. } => response.error,
            _ => ErrorCode::None,
        };
        if error != ErrorCode::None {
            if let Some(g) = self.group.as_mut() {
                *g.errors.entry(error.name()).or_insert(0) += 1;
            }
        }
        match msg {
            Msg::FindCoordinatorResponse {
                error, coordinator, ..
            } => {
                let Some(g) = self.group.as_mut() else { return };
                g.find_sent_at = None;
                match (error, coordinator) {
                    (ErrorCode::None, Some(b)) => {
                        if g.coordinator != Some(b) {
                            self.lines.push(format!(
                                "group {}: coordinator is broker {}",
                                g.group_id, b.0
                            ));
                        }
                        g.coordinator = Some(b);
                    }
                    _ => {
                        g.coordinator_retry_at =
                            now.saturating_add(SimDuration::from_millis(RETRY_BACKOFF_MS));
                        self.lines.push(format!(
                            "group {}: FindCoordinator: {}; retry after retry.backoff.ms",
                            g.group_id,
                            error.name()
                        ));
                    }
                }
            }
            Msg::JoinGroupResponse {
                token, response, ..
            } => self.on_join_group_response(now, token, response, history, out),
            Msg::SyncGroupResponse {
                token, response, ..
            } => self.on_sync_group_response(now, token, response, history),
            Msg::GroupHeartbeatResponse { token, error, .. } => {
                let Some(g) = self.group.as_mut() else { return };
                if token.0 != g.heartbeat_token || g.heartbeat_sent_at.is_none() {
                    return;
                }
                g.heartbeat_sent_at = None;
                match error {
                    ErrorCode::None => {}
                    ErrorCode::RebalanceInProgress => {
                        if !g.rejoin_needed {
                            self.lines.push(format!(
                                "group {}: heartbeat: REBALANCE_IN_PROGRESS; rejoin at the next poll",
                                g.group_id
                            ));
                        }
                        g.rejoin_needed = true;
                        g.join_prepared = false;
                    }
                    ErrorCode::IllegalGeneration => {
                        self.reset_member(history, false, "heartbeat: ILLEGAL_GENERATION, the group moved on without it")
                    }
                    ErrorCode::UnknownMemberId => {
                        self.reset_member(history, true, "heartbeat: UNKNOWN_MEMBER_ID, the coordinator removed it")
                    }
                    ErrorCode::FencedInstanceId => self.fatal(
                        history,
                        "heartbeat: FENCED_INSTANCE_ID: another process took this group.instance.id",
                    ),
                    ErrorCode::NotCoordinator
                    | ErrorCode::CoordinatorNotAvailable
                    | ErrorCode::CoordinatorLoadInProgress => self.coordinator_lost(now, error),
                    other => self.lines.push(format!(
                        "group {}: heartbeat failed with {}",
                        g.group_id,
                        other.name()
                    )),
                }
            }
            Msg::LeaveGroupResponse { response, .. } => {
                if let Some(g) = self.group.as_ref() {
                    if response.error != ErrorCode::None {
                        self.lines.push(format!(
                            "group {}: LeaveGroup answered {}",
                            g.group_id,
                            response.error.name()
                        ));
                    }
                }
            }
            Msg::OffsetCommitResponse { token, error, .. } => {
                self.on_offset_commit_response(now, token, error, history)
            }
            Msg::OffsetFetchResponse {
                token,
                error,
                offsets,
                ..
            } => {
                let Some(g) = self.group.as_mut() else { return };
                if g.offset_fetch.map(|(t, _)| t) != Some(token.0) {
                    return;
                }
                g.offset_fetch = None;
                if error != ErrorCode::None {
                    let group = g.group_id.clone();
                    self.lines.push(format!(
                        "group {group}: OffsetFetch failed with {}",
                        error.name()
                    ));
                    if matches!(
                        error,
                        ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable
                    ) {
                        self.coordinator_lost(now, error);
                    }
                    return;
                }
                let group = g.group_id.clone();
                for (tp, committed) in offsets {
                    if tp.topic != self.spec.topic || !self.reads(tp.partition.0) {
                        continue;
                    }
                    let policy = self.spec.auto_offset_reset;
                    let Some(part) = self.partitions.get_mut(tp.partition.0 as usize) else {
                        continue;
                    };
                    if part.state != FetchState::AwaitCommittedOffset {
                        continue;
                    }
                    let line = match committed {
                        Some(o) => {
                            part.position.offset = o.committed_offset;
                            part.position.offset_epoch = o.leader_epoch;
                            part.position.current_leader = None;
                            part.position.current_leader_epoch = None;
                            part.state = FetchState::Fetching;
                            format!(
                                "group {group}: {tp} starts at the committed offset {}",
                                o.committed_offset.0
                            )
                        }
                        None => match policy {
                            AutoOffsetReset::None => {
                                part.state = FetchState::Failed;
                                format!("group {group}: {tp} has no committed offset; auto.offset.reset=none: NoOffsetForPartitionException")
                            }
                            _ => {
                                part.state = FetchState::AwaitReset;
                                format!(
                                    "group {group}: {tp} has no committed offset; auto.offset.reset={} decides",
                                    policy.name()
                                )
                            }
                        },
                    };
                    self.lines.push(line);
                }
            }
            _ => {}
        }
    }

    fn fatal(&mut self, history: &mut Vec<Op>, why: &str) {
        self.lose_partitions(history, why);
        if let Some(g) = self.group.as_mut() {
            g.fatal = Some(why.to_string());
            g.state = MemberState::Unjoined;
            self.lines.push(format!(
                "group {}: {why}; the consumer stops (fatal)",
                g.group_id
            ));
        }
    }

    fn on_join_group_response(
        &mut self,
        now: SimTime,
        token: RequestToken,
        response: JoinGroupResponse,
        history: &mut Vec<Op>,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        let count = self.metadata.partition_count(&self.spec.topic).unwrap_or(0);
        let node = self.node;
        let topic = self.spec.topic.clone();
        let Some(g) = self.group.as_mut() else { return };
        if g.state != MemberState::Joining || token.0 != g.request_token {
            return;
        }
        g.request_sent_at = None;
        match response.error {
            ErrorCode::None => {}
            ErrorCode::MemberIdRequired => {
                g.member_id = response.member_id.clone();
                self.lines.push(format!(
                    "group {}: MEMBER_ID_REQUIRED: rejoin as {}",
                    g.group_id, response.member_id
                ));
                g.state = MemberState::Unjoined;
                self.send_join_group(now, out);
                return;
            }
            ErrorCode::UnknownMemberId => {
                g.state = MemberState::Unjoined;
                self.reset_member(history, true, "JoinGroup: UNKNOWN_MEMBER_ID");
                return;
            }
            ErrorCode::FencedInstanceId
            | ErrorCode::InvalidSessionTimeout
            | ErrorCode::InconsistentGroupProtocol => {
                let why = format!("JoinGroup: {}", response.error.name());
                self.fatal(history, &why);
                return;
            }
            error @ (ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress) => {
                g.state = MemberState::Unjoined;
                if error == ErrorCode::CoordinatorLoadInProgress {
                    self.lines.push(format!(
                        "group {}: JoinGroup: COORDINATOR_LOAD_IN_PROGRESS; retry after retry.backoff.ms",
                        g.group_id
                    ));
                    g.coordinator_retry_at =
                        now.saturating_add(SimDuration::from_millis(RETRY_BACKOFF_MS));
                } else {
                    self.coordinator_lost(now, error);
                }
                return;
            }
            other => {
                g.state = MemberState::Unjoined;
                self.lines.push(format!(
                    "group {}: JoinGroup failed with {}; rejoin",
                    g.group_id,
                    other.name()
                ));
                return;
            }
        }
        g.member_id = response.member_id.clone();
        g.generation = response.generation_id;
        g.protocol = response.protocol_name.clone();
        history.push(Op::Joined {
            consumer: self.index,
            group: g.group_id.clone(),
            generation: g.generation,
        });
        g.is_leader = response.leader == g.member_id;
        g.state = MemberState::Syncing;
        g.next_heartbeat = now.saturating_add(SimDuration::from_millis(g.heartbeat_interval_ms));
        let mut assignments = BTreeMap::new();
        if g.is_leader && !response.skip_assignment {
            let assignor = response
                .protocol_name
                .as_deref()
                .and_then(Assignor::from_name)
                .unwrap_or(Assignor::Range);
            let members: BTreeMap<String, Subscription> = response
                .members
                .iter()
                .map(|m| (m.member_id.clone(), m.metadata.clone()))
                .collect();
            let mut counts = BTreeMap::new();
            counts.insert(topic.clone(), count);
            assignments = assignor.assign(&counts, &members);
            let summary: Vec<String> = assignments
                .iter()
                .map(|(m, tps)| {
                    let ps: Vec<String> = tps.iter().map(|tp| tp.partition.0.to_string()).collect();
                    format!("{m}=[{}]", ps.join(","))
                })
                .collect();
            self.lines.push(format!(
                "group {}: leader of generation {} runs the {} assignor over {} member(s): {}",
                g.group_id,
                g.generation,
                assignor.name(),
                members.len(),
                summary.join(" ")
            ));
        } else {
            self.lines.push(format!(
                "group {}: joined generation {} as {} (leader {})",
                g.group_id, g.generation, g.member_id, response.leader
            ));
        }
        let token = g.token();
        g.request_token = token;
        g.request_sent_at = Some(now);
        let Some(coordinator) = g.coordinator else {
            return;
        };
        out.push((
            node,
            NodeId::from(coordinator),
            Msg::SyncGroup {
                group_id: g.group_id.clone(),
                request: SyncGroupRequest {
                    token: RequestToken(token),
                    member_id: g.member_id.clone(),
                    generation_id: g.generation,
                    group_instance_id: g.group_instance_id.clone(),
                    assignments,
                },
            },
        ));
    }

    fn on_sync_group_response(
        &mut self,
        now: SimTime,
        token: RequestToken,
        response: SyncGroupResponse,
        history: &mut Vec<Op>,
    ) {
        let Some(g) = self.group.as_mut() else { return };
        if g.state != MemberState::Syncing || token.0 != g.request_token {
            return;
        }
        g.request_sent_at = None;
        match response.error {
            ErrorCode::None => {}
            ErrorCode::RebalanceInProgress => {
                g.state = MemberState::Unjoined;
                g.rejoin_needed = true;
                self.lines.push(format!(
                    "group {}: SyncGroup: REBALANCE_IN_PROGRESS; rejoin",
                    g.group_id
                ));
                return;
            }
            ErrorCode::IllegalGeneration => {
                return self.reset_member(history, false, "SyncGroup: ILLEGAL_GENERATION")
            }
            ErrorCode::UnknownMemberId => {
                return self.reset_member(history, true, "SyncGroup: UNKNOWN_MEMBER_ID")
            }
            ErrorCode::FencedInstanceId => {
                return self.fatal(history, "SyncGroup: FENCED_INSTANCE_ID")
            }
            error => {
                g.state = MemberState::Unjoined;
                g.rejoin_needed = true;
                self.coordinator_lost(now, error);
                return;
            }
        }
        let assigned: BTreeSet<u32> = response
            .assignment
            .iter()
            .filter(|tp| tp.topic == self.spec.topic)
            .map(|tp| tp.partition.0)
            .collect();
        let revoked: BTreeSet<u32> = g.owned.difference(&assigned).copied().collect();
        let added: BTreeSet<u32> = assigned.difference(&g.owned).copied().collect();
        let generation = g.generation;
        let group = g.group_id.clone();
        g.state = MemberState::Stable;
        g.rejoin_needed = false;
        g.join_prepared = false;
        g.rebalances += 1;
        let cooperative = g.rebalance_protocol == RebalanceProtocol::Cooperative;
        if !revoked.is_empty() {
            // Cooperative: give up just what moved, then rejoin so it can be handed on.
            for p in &revoked {
                g.owned.remove(p);
            }
            if cooperative {
                g.rejoin_needed = true;
            }
            self.record_revoked(
                history,
                group.clone(),
                generation,
                revoked,
                false,
                "the new assignment moved them; rejoin so they can be assigned",
            );
        }
        let Some(g) = self.group.as_mut() else { return };
        g.owned.extend(added.iter().copied());
        let cycle_revoked = if g.rejoin_needed {
            g.revoked_in_cycle.clone()
        } else {
            std::mem::take(&mut g.revoked_in_cycle)
        };
        g.last_rebalance = Some((generation, added.clone(), cycle_revoked));
        let needed = added.iter().max().map_or(0, |p| *p as usize + 1);
        while self.partitions.len() < needed {
            self.partitions.push(PartitionFetch {
                position: super::FetchPosition {
                    offset: Offset::ZERO,
                    offset_epoch: None,
                    current_leader: None,
                    current_leader_epoch: None,
                },
                state: FetchState::AwaitCommittedOffset,
                in_flight: None,
                retry_at: SimTime::ZERO,
                truncated_from: None,
            });
        }
        for p in &added {
            if let Some(part) = self.partitions.get_mut(*p as usize) {
                part.state = FetchState::AwaitCommittedOffset;
                part.in_flight = None;
                part.truncated_from = None;
            }
        }
        let owned = self
            .group
            .as_ref()
            .map(|g| g.owned.clone())
            .unwrap_or_default();
        self.lines.push(format!(
            "group {group}: onPartitionsAssigned({}) in generation {generation}; owns {}",
            self.list(&added),
            self.list(&owned)
        ));
        history.push(Op::Assigned {
            consumer: self.index,
            group,
            generation,
            partitions: added.iter().map(|p| self.tp_of(*p)).collect(),
        });
    }

    fn on_offset_commit_response(
        &mut self,
        now: SimTime,
        token: RequestToken,
        error: ErrorCode,
        history: &mut Vec<Op>,
    ) {
        let Some(g) = self.group.as_mut() else { return };
        let Some(pending_commit) = g.offset_commits.remove(&token.0) else {
            return;
        };
        if g.blocking_commit == Some(token.0) {
            g.blocking_commit = None;
        }
        let group = g.group_id.clone();
        match error {
            ErrorCode::None => {
                let offsets: Vec<(TopicPartition, Offset)> = pending_commit
                    .offsets
                    .iter()
                    .map(|(tp, o)| (tp.clone(), o.committed_offset))
                    .collect();
                history.push(Op::OffsetCommitted {
                    consumer: self.index,
                    group,
                    generation: pending_commit.generation,
                    offsets,
                });
            }
            ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId => {
                g.commit_failures += 1;
                self.lines.push(format!(
                    "group {group}: {} failed with {}: CommitFailedException (the group rebalanced and may have handed the partitions to another member)",
                    pending_commit.kind.name(),
                    error.name()
                ));
                self.reset_member(
                    history,
                    error == ErrorCode::UnknownMemberId,
                    "the offset commit found it out of the group",
                );
            }
            ErrorCode::RebalanceInProgress => {
                g.commit_failures += 1;
                g.rejoin_needed = true;
                self.lines.push(format!(
                    "group {group}: {} failed with REBALANCE_IN_PROGRESS: RebalanceInProgressException; rejoin",
                    pending_commit.kind.name()
                ));
            }
            ErrorCode::FencedInstanceId => {
                self.fatal(history, "offset commit: FENCED_INSTANCE_ID");
            }
            error @ (ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::RequestTimedOut) => {
                let retry = pending_commit.kind == CommitKind::Sync;
                self.lines.push(format!(
                    "group {group}: {} failed with {}{}",
                    pending_commit.kind.name(),
                    error.name(),
                    if retry {
                        "; commitSync retries"
                    } else {
                        "; not retried"
                    }
                ));
                if retry {
                    if let Some(g) = self.group.as_mut() {
                        g.sync_retry = Some(pending_commit.offsets);
                    }
                }
                if error != ErrorCode::CoordinatorLoadInProgress {
                    self.coordinator_lost(now, error);
                }
            }
            other => {
                self.lines.push(format!(
                    "group {group}: {} failed with {}",
                    pending_commit.kind.name(),
                    other.name()
                ));
            }
        }
    }

    /// `consumer.close()`: an auto-committing member commits its positions, the listener gives
    /// its partitions up, a dynamic member leaves the group, and the process ends.
    pub fn close(
        &mut self,
        now: SimTime,
        history: &mut Vec<Op>,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        if let Some(g) = self.group.as_ref() {
            let in_group = g.in_group();
            if g.auto_commit && in_group && g.coordinator.is_some() {
                let offsets = self.positions_to_commit();
                if !offsets.is_empty() {
                    self.send_offset_commit(now, CommitKind::Sync, offsets, out);
                }
            }
            let node = self.node;
            let Some(g) = self.group.as_mut() else { return };
            let partitions = std::mem::take(&mut g.owned);
            let generation = g.generation;
            let group = g.group_id.clone();
            if in_group && g.group_instance_id.is_none() {
                g.send_leave_group(node, out);
            }
            // ConsumerCoordinator.onLeavePrepare: a member whose generation or member id was
            // reset (it left at the poll deadline, or an answer told it it was out), or that is
            // mid-rebalance (AbstractCoordinator.rebalanceInProgress: PREPARING_REBALANCE or
            // COMPLETING_REBALANCE), no longer knows it owns them: onPartitionsLost, not
            // onPartitionsRevoked.
            let lost = !in_group || matches!(g.state, MemberState::Joining | MemberState::Syncing);
            if !partitions.is_empty() {
                let why = if lost {
                    "close() out of the group or mid-rebalance"
                } else {
                    "close()"
                };
                self.record_revoked(history, group, generation, partitions, lost, why);
            }
        }
        self.alive = false;
        self.lines.push("closed".to_string());
    }

    /// A restarted process keeps the old one's tallies (errors, failed offset commits,
    /// rebalances), so a run's totals count every incarnation.
    pub fn carry_tallies_from(&mut self, old: &ConsumerClient) {
        if let (Some(new), Some(old)) = (self.group.as_mut(), old.group.as_ref()) {
            new.errors = old.errors.clone();
            new.commit_failures = old.commit_failures;
            new.rebalances = old.rebalances;
            // Request tokens go on from the old process's: an answer to it still on the wire
            // (a bounce restarts at once) never matches a request of the new one.
            new.next_token = new.next_token.max(old.next_token);
        }
    }

    /// The process is killed: nothing is sent; what it owned is gone with it.
    pub fn crash(&mut self, history: &mut Vec<Op>) {
        if self.group.is_some() {
            self.lose_partitions(history, "the process was killed");
        }
        self.alive = false;
        self.lines.push("crash (process killed)".to_string());
    }
}
