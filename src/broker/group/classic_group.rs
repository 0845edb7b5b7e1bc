//! One classic consumer group on its coordinator (rules G-2, G-3, G-9), sans-IO: requests go
//! in with `join_group`, `sync_group`, `heartbeat`, `leave_group` (each with the time now),
//! answers and events come out of `take_outputs` (JoinGroup and SyncGroup answers may come
//! much later), `next_deadline` says when to call `handle_timeout`. Offsets are in
//! `offsets.rs`.
//!
//! Invariants: the state only moves along `GroupState::can_transition_to`; the generation
//! grows by one at each completed join phase; every parked JoinGroup or SyncGroup is answered
//! exactly once (with an assignment, an error, or NOT_COORDINATOR when the group is unloaded);
//! one live member per `group.instance.id`. Member ids are `<client.id>-<n>` with a counter of
//! the group, so runs are reproducible.

use super::config::GroupConfig;
use super::messages::*;
use super::state::GroupState;
use crate::broker::messages::RequestToken;
use crate::client::assignor::Subscription;
use crate::ids::TopicPartition;
use crate::protocol::ErrorCode;
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A member as the coordinator knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    pub protocols: Vec<JoinGroupProtocol>,
    /// Its assignment in the current generation (after the leader's SyncGroup).
    pub assignment: BTreeSet<TopicPartition>,
    /// A JoinGroup waiting for the join phase to end.
    pub parked_join: Option<RequestToken>,
    /// A SyncGroup waiting for the leader's.
    pub parked_sync: Option<RequestToken>,
    /// When the member is removed unless it heartbeats (`session.timeout.ms`).
    pub session_deadline: SimTime,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Option<&Subscription> {
        self.protocols
            .iter()
            .find(|p| p.name == protocol)
            .map(|p| &p.metadata)
    }
}

/// The first rebalance of an Empty group waits `group.initial.rebalance.delay.ms`, and again
/// while members keep arriving, at most the rebalance timeout in all (`InitialDelayedJoin`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct InitialDelay {
    remaining_ms: u64,
}

/// A classic group on its coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicGroup {
    pub(super) group_id: String,
    pub(super) config: GroupConfig,
    pub(super) state: GroupState,
    /// When the group entered its current state (offset expiry of an Empty group counts from it).
    pub(super) state_since: SimTime,
    pub(super) generation_id: i32,
    /// `consumer` once a member joined; `None` for a group only used to store offsets.
    pub(super) protocol_type: Option<String>,
    pub(super) protocol_name: Option<String>,
    pub(super) leader: Option<String>,
    pub(super) members: BTreeMap<String, Member>,
    /// group.instance.id -> its live member id.
    pub(super) static_members: BTreeMap<String, String>,
    /// Ids handed out with MEMBER_ID_REQUIRED, not yet used, with their expiry.
    pub(super) pending_members: BTreeMap<String, SimTime>,
    /// Members that have not sent SyncGroup since the join phase ended.
    pub(super) pending_sync: BTreeSet<String>,
    pub(super) join_deadline: Option<SimTime>,
    initial_delay: Option<InitialDelay>,
    pub(super) new_member_added: bool,
    pub(super) sync_deadline: Option<SimTime>,
    pub(super) next_member_number: u64,
    pub(super) offsets: BTreeMap<TopicPartition, StoredOffset>,
    pub(super) outputs: Vec<GroupOutput>,
}

/// An offset in the group's cache, with when it was stored (for expiry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredOffset {
    pub offset: OffsetAndMetadata,
    pub stored_at: SimTime,
}

impl ClassicGroup {
    /// A new, Empty group at generation 0.
    pub fn new(group_id: &str, config: GroupConfig, now: SimTime) -> ClassicGroup {
        ClassicGroup {
            group_id: group_id.to_string(),
            config,
            state: GroupState::Empty,
            state_since: now,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            pending_sync: BTreeSet::new(),
            join_deadline: None,
            initial_delay: None,
            new_member_added: false,
            sync_deadline: None,
            next_member_number: 1,
            offsets: BTreeMap::new(),
            outputs: Vec::new(),
        }
    }

    pub fn group_id(&self) -> &str {
        &self.group_id
    }
    pub fn state(&self) -> GroupState {
        self.state
    }
    pub fn generation_id(&self) -> i32 {
        self.generation_id
    }
    pub fn protocol_name(&self) -> Option<&str> {
        self.protocol_name.as_deref()
    }
    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }
    pub fn members(&self) -> &BTreeMap<String, Member> {
        &self.members
    }

    /// Answers and events since the last call, in order.
    pub fn take_outputs(&mut self) -> Vec<GroupOutput> {
        std::mem::take(&mut self.outputs)
    }

    /// The earliest time `handle_timeout` has work: a session, join, sync, pending-member or
    /// offset-expiry deadline.
    pub fn next_deadline(&self) -> Option<SimTime> {
        if self.state == GroupState::Dead {
            return None;
        }
        let sessions = self
            .members
            .values()
            .filter(|m| m.parked_join.is_none() && m.parked_sync.is_none())
            .map(|m| m.session_deadline);
        sessions
            .chain(self.pending_members.values().copied())
            .chain(self.join_deadline)
            .chain(self.sync_deadline)
            .chain(self.offsets_expiry_deadline())
            .min()
    }

    // ---- JoinGroup -------------------------------------------------------------------------

    pub fn join_group(&mut self, now: SimTime, request: JoinGroupRequest) {
        if let Err(error) = self.validate_join(&request) {
            return self.respond_join_error(request.token, &request.member_id, error);
        }
        if request.member_id.is_empty() {
            self.join_unknown_member(now, request);
        } else {
            self.join_known_member(now, request);
        }
    }

    fn validate_join(&self, request: &JoinGroupRequest) -> Result<(), ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        let timeout = request.session_timeout_ms;
        if timeout < self.config.group_min_session_timeout_ms
            || timeout > self.config.group_max_session_timeout_ms
        {
            return Err(ErrorCode::InvalidSessionTimeout);
        }
        if request.protocol_type.is_empty() || request.protocols.is_empty() {
            return Err(ErrorCode::InconsistentGroupProtocol);
        }
        if !self.supports_protocols(request) {
            return Err(ErrorCode::InconsistentGroupProtocol);
        }
        Ok(())
    }

    /// A joining member must share at least one protocol with every other member, and the
    /// protocol type must match (`ClassicGroup.supportsProtocols`).
    fn supports_protocols(&self, request: &JoinGroupRequest) -> bool {
        let others: Vec<&Member> = self
            .members
            .values()
            .filter(|m| m.member_id != request.member_id)
            .collect();
        if others.is_empty() {
            return true;
        }
        if self.protocol_type.as_deref() != Some(request.protocol_type.as_str()) {
            return false;
        }
        request
            .protocols
            .iter()
            .any(|p| others.iter().all(|m| m.metadata_for(&p.name).is_some()))
    }

    /// `<client.id>-<n>`: unique in the group because the counter has no '-' and only grows.
    fn new_member_id(&mut self, client_id: &str) -> String {
        loop {
            let id = format!("{client_id}-{}", self.next_member_number);
            self.next_member_number = self.next_member_number.saturating_add(1);
            if !self.members.contains_key(&id) && !self.pending_members.contains_key(&id) {
                return id;
            }
        }
    }

    fn join_unknown_member(&mut self, now: SimTime, request: JoinGroupRequest) {
        let member_id = self.new_member_id(&request.client_id);
        match &request.group_instance_id {
            Some(instance) => match self.static_members.get(instance).cloned() {
                Some(old) => self.replace_static_member(now, &old, member_id, request),
                // A static member needs no MEMBER_ID_REQUIRED round trip: its instance id
                // already identifies it.
                None => self.add_member_and_rebalance(now, member_id, request),
            },
            None => {
                // KIP-394: the member must come back with this id, within its session timeout.
                let expiry =
                    now.saturating_add(SimDuration::from_millis(request.session_timeout_ms));
                self.pending_members.insert(member_id.clone(), expiry);
                self.respond_join_error(request.token, &member_id, ErrorCode::MemberIdRequired);
            }
        }
    }

    fn join_known_member(&mut self, now: SimTime, request: JoinGroupRequest) {
        let member_id = request.member_id.clone();
        if request.group_instance_id.is_none() && self.pending_members.remove(&member_id).is_some()
        {
            return self.add_member_and_rebalance(now, member_id, request);
        }
        if let Err(error) = self.validate_member(&member_id, request.group_instance_id.as_deref()) {
            return self.respond_join_error(request.token, &member_id, error);
        }
        let same_metadata = self
            .members
            .get(&member_id)
            .is_some_and(|m| m.protocols == request.protocols);
        let is_leader = self.leader.as_deref() == Some(member_id.as_str());
        match self.state {
            GroupState::PreparingRebalance => self.update_member_and_rebalance(now, request),
            GroupState::CompletingRebalance if same_metadata => {
                // The member lost its JoinGroup answer: send the current generation again.
                self.respond_join_current(request.token, &member_id, is_leader, false);
            }
            GroupState::Stable if same_metadata && !is_leader => {
                self.respond_join_current(request.token, &member_id, false, false);
            }
            // A changed subscription, or the leader asking for a rebalance.
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_member_and_rebalance(now, request)
            }
            GroupState::Empty | GroupState::Dead => {
                self.respond_join_error(request.token, &member_id, ErrorCode::UnknownMemberId)
            }
        }
    }

    /// Kafka's `validateMember`: a static member must present the live member id of its
    /// instance (else FENCED_INSTANCE_ID), a dynamic one a known member id.
    pub(super) fn validate_member(
        &self,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> Result<(), ErrorCode> {
        match group_instance_id {
            Some(instance) => match self.static_members.get(instance) {
                None => Err(ErrorCode::UnknownMemberId),
                Some(live) if live != member_id => Err(ErrorCode::FencedInstanceId),
                Some(_) => Ok(()),
            },
            None if self.members.contains_key(member_id) => Ok(()),
            None => Err(ErrorCode::UnknownMemberId),
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        now: SimTime,
        member_id: String,
        request: JoinGroupRequest,
    ) {
        if self.members.is_empty() {
            self.protocol_type = Some(request.protocol_type.clone());
        }
        if let Some(instance) = &request.group_instance_id {
            self.static_members
                .insert(instance.clone(), member_id.clone());
        }
        let member = Member {
            member_id: member_id.clone(),
            group_instance_id: request.group_instance_id.clone(),
            client_id: request.client_id,
            session_timeout_ms: request.session_timeout_ms,
            rebalance_timeout_ms: request.rebalance_timeout_ms,
            protocols: request.protocols,
            assignment: BTreeSet::new(),
            parked_join: Some(request.token),
            parked_sync: None,
            session_deadline: now
                .saturating_add(SimDuration::from_millis(request.session_timeout_ms)),
        };
        self.members.insert(member_id.clone(), member);
        if self.leader.is_none() {
            self.leader = Some(member_id.clone());
        }
        self.new_member_added = true;
        self.event(
            now,
            GroupEvent::MemberJoined {
                member_id,
                group_instance_id: request.group_instance_id,
            },
        );
        self.maybe_prepare_rebalance(now);
        self.try_complete_join(now);
    }

    fn update_member_and_rebalance(&mut self, now: SimTime, request: JoinGroupRequest) {
        if let Some(member) = self.members.get_mut(&request.member_id) {
            member.protocols = request.protocols;
            member.session_timeout_ms = request.session_timeout_ms;
            member.rebalance_timeout_ms = request.rebalance_timeout_ms;
            member.client_id = request.client_id;
            if let Some(old) = member.parked_join.replace(request.token) {
                // A JoinGroup retried while the first still waits: the first is superseded.
                let member_id = member.member_id.clone();
                self.respond_join_error(old, &member_id, ErrorCode::RebalanceInProgress);
            }
        }
        self.maybe_prepare_rebalance(now);
        self.try_complete_join(now);
    }

    /// KIP-345: a static member rejoined without its member id (a restart). The new id takes
    /// the old one's place; the old id is fenced. In a Stable group with the same subscription
    /// the member gets the current generation back, with no rebalance.
    fn replace_static_member(
        &mut self,
        now: SimTime,
        old_member_id: &str,
        new_member_id: String,
        request: JoinGroupRequest,
    ) {
        let Some(mut member) = self.members.remove(old_member_id) else {
            return self.add_member_and_rebalance(now, new_member_id, request);
        };
        if let Some(token) = member.parked_join.take() {
            self.respond_join_error(token, old_member_id, ErrorCode::FencedInstanceId);
        }
        if let Some(token) = member.parked_sync.take() {
            self.respond_sync_error(token, ErrorCode::FencedInstanceId);
        }
        let instance = request.group_instance_id.clone().unwrap_or_default();
        let same_metadata = member.protocols == request.protocols;
        let old = (
            member.client_id.clone(),
            member.session_timeout_ms,
            member.rebalance_timeout_ms,
        );
        member.member_id = new_member_id.clone();
        member.client_id = request.client_id.clone();
        member.session_timeout_ms = request.session_timeout_ms;
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        member.session_deadline =
            now.saturating_add(SimDuration::from_millis(request.session_timeout_ms));
        self.members.insert(new_member_id.clone(), member);
        self.static_members
            .insert(instance.clone(), new_member_id.clone());
        if self.leader.as_deref() == Some(old_member_id) {
            self.leader = Some(new_member_id.clone());
        }
        if self.pending_sync.remove(old_member_id) {
            self.pending_sync.insert(new_member_id.clone());
        }
        self.event(
            now,
            GroupEvent::StaticMemberReplaced {
                group_instance_id: instance.clone(),
                old_member_id: old_member_id.to_string(),
                new_member_id: new_member_id.clone(),
            },
        );
        let request = JoinGroupRequest {
            member_id: new_member_id.clone(),
            ..request
        };
        match self.state {
            // Kafka's `updateStaticMemberThenRebalanceOrCompleteJoin`: the JoinGroup waits
            // (as the member's awaiting join) until the record with the new member id is
            // stored, then gets the current generation: `static_member_stored`.
            GroupState::Stable if same_metadata => {
                if let Some(member) = self.members.get_mut(&new_member_id) {
                    member.parked_join = Some(request.token);
                }
                self.outputs
                    .push(GroupOutput::StoreGroup(GroupStore::StaticMemberReplaced {
                        group_instance_id: instance,
                        old_member_id: old_member_id.to_string(),
                        new_member_id,
                        old_client_id: old.0,
                        old_session_timeout_ms: old.1,
                        old_rebalance_timeout_ms: old.2,
                    }));
            }
            // In CompletingRebalance the leader may already be assigning to the old id, so
            // Kafka rebalances again (as it does for a changed subscription).
            _ => self.update_member_and_rebalance(now, request),
        }
    }

    /// The append callback of `updateStaticMemberThenRebalanceOrCompleteJoin`: stored, the
    /// member's parked JoinGroup gets the current generation (the leader skips the
    /// assignment); failed, the old member id is restored and the JoinGroup is answered with
    /// the error and no member id.
    fn static_member_stored(
        &mut self,
        now: SimTime,
        group_instance_id: &str,
        old_member_id: &str,
        new_member_id: &str,
        old: (String, u64, u64),
        error: ErrorCode,
    ) {
        if error == ErrorCode::None {
            let token = self
                .members
                .get_mut(new_member_id)
                .and_then(|m| m.parked_join.take());
            if let Some(token) = token {
                let is_leader = self.leader.as_deref() == Some(new_member_id);
                self.respond_join_current(token, new_member_id, is_leader, is_leader);
            }
            return;
        }
        let token = if self
            .static_members
            .get(group_instance_id)
            .map(String::as_str)
            == Some(new_member_id)
        {
            self.members.remove(new_member_id).and_then(|mut member| {
                let token = member.parked_join.take();
                member.member_id = old_member_id.to_string();
                (
                    member.client_id,
                    member.session_timeout_ms,
                    member.rebalance_timeout_ms,
                ) = old;
                member.session_deadline =
                    now.saturating_add(SimDuration::from_millis(member.session_timeout_ms));
                self.members.insert(old_member_id.to_string(), member);
                self.static_members
                    .insert(group_instance_id.to_string(), old_member_id.to_string());
                if self.leader.as_deref() == Some(new_member_id) {
                    self.leader = Some(old_member_id.to_string());
                }
                if self.pending_sync.remove(new_member_id) {
                    self.pending_sync.insert(old_member_id.to_string());
                }
                token
            })
        } else {
            None
        };
        if let Some(token) = token {
            self.outputs.push(GroupOutput::JoinGroup {
                token,
                response: JoinGroupResponse {
                    error,
                    generation_id: self.generation_id,
                    protocol_name: self.protocol_name.clone(),
                    leader: self.leader.clone().unwrap_or_default(),
                    skip_assignment: false,
                    member_id: String::new(),
                    members: Vec::new(),
                },
            });
        }
    }

    fn respond_join_error(&mut self, token: RequestToken, member_id: &str, error: ErrorCode) {
        self.outputs.push(GroupOutput::JoinGroup {
            token,
            response: JoinGroupResponse {
                error,
                generation_id: NO_GENERATION,
                protocol_name: None,
                leader: String::new(),
                skip_assignment: false,
                member_id: member_id.to_string(),
                members: Vec::new(),
            },
        });
    }

    /// The current generation's JoinGroup answer; the leader also gets every member.
    fn respond_join_current(
        &mut self,
        token: RequestToken,
        member_id: &str,
        is_leader: bool,
        skip_assignment: bool,
    ) {
        let members = if is_leader {
            self.member_list()
        } else {
            Vec::new()
        };
        self.outputs.push(GroupOutput::JoinGroup {
            token,
            response: JoinGroupResponse {
                error: ErrorCode::None,
                generation_id: self.generation_id,
                protocol_name: self.protocol_name.clone(),
                leader: self.leader.clone().unwrap_or_default(),
                skip_assignment,
                member_id: member_id.to_string(),
                members,
            },
        });
    }

    fn member_list(&self) -> Vec<JoinGroupMember> {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        self.members
            .values()
            .map(|m| JoinGroupMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                metadata: m.metadata_for(&protocol).cloned().unwrap_or_default(),
            })
            .collect()
    }

    // ---- Rebalance -------------------------------------------------------------------------

    fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    fn maybe_prepare_rebalance(&mut self, now: SimTime) {
        if self.state.can_transition_to(GroupState::PreparingRebalance) {
            self.prepare_rebalance(now);
        }
    }

    fn prepare_rebalance(&mut self, now: SimTime) {
        if self.state == GroupState::CompletingRebalance {
            // Members waiting for the leader's assignment must rejoin instead.
            for member in self.members.values_mut() {
                member.assignment.clear();
            }
            // A parked SyncGroup showed the member alive: its session counts from its answer.
            let waiting: Vec<RequestToken> = self
                .members
                .values_mut()
                .filter_map(|m| {
                    let token = m.parked_sync.take()?;
                    m.session_deadline =
                        now.saturating_add(SimDuration::from_millis(m.session_timeout_ms));
                    Some(token)
                })
                .collect();
            for token in waiting {
                self.respond_sync_error(token, ErrorCode::RebalanceInProgress);
            }
        }
        self.pending_sync.clear();
        self.sync_deadline = None;
        let timeout = self.rebalance_timeout_ms();
        let delay = self.config.group_initial_rebalance_delay_ms.min(timeout);
        if self.state == GroupState::Empty && delay > 0 {
            self.initial_delay = Some(InitialDelay {
                remaining_ms: timeout - delay,
            });
            self.new_member_added = false;
            self.join_deadline = Some(now.saturating_add(SimDuration::from_millis(delay)));
        } else {
            self.join_deadline = Some(now.saturating_add(SimDuration::from_millis(timeout)));
        }
        self.transition(now, GroupState::PreparingRebalance);
    }

    /// Ends the join phase once every known member has rejoined and no new member still has
    /// to come back with its id (outside the initial delay, which only its timer ends).
    fn try_complete_join(&mut self, now: SimTime) {
        let all_joined = self.members.values().all(|m| m.parked_join.is_some())
            && self.pending_members.is_empty();
        if self.state == GroupState::PreparingRebalance
            && self.initial_delay.is_none()
            && all_joined
        {
            self.complete_join(now);
        }
    }

    fn complete_join(&mut self, now: SimTime) {
        self.join_deadline = None;
        self.initial_delay = None;
        // Dynamic members that did not rejoin in time are removed; static ones stay, since
        // they may come back within their session timeout (KIP-345).
        let late: Vec<String> = self
            .members
            .values()
            .filter(|m| m.parked_join.is_none() && m.group_instance_id.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for member_id in late {
            self.remove_member_only(now, &member_id, RemovalReason::RebalanceTimeout);
        }
        if self.members.is_empty() {
            self.generation_id = self.generation_id.saturating_add(1);
            self.protocol_name = None;
            self.leader = None;
            self.transition(now, GroupState::Empty);
            return;
        }
        let leader_joined = self
            .leader
            .as_ref()
            .and_then(|l| self.members.get(l))
            .is_some_and(|m| m.parked_join.is_some());
        if !leader_joined {
            self.leader = self
                .members
                .values()
                .find(|m| m.parked_join.is_some())
                .map(|m| m.member_id.clone());
        }
        if self.leader.is_none() {
            // Only static members that have not rejoined: wait another rebalance timeout
            // (their session timeouts will remove them).
            self.join_deadline =
                Some(now.saturating_add(SimDuration::from_millis(self.rebalance_timeout_ms())));
            return;
        }
        self.generation_id = self.generation_id.saturating_add(1);
        self.protocol_name = self.select_protocol();
        self.new_member_added = false;
        self.transition(now, GroupState::CompletingRebalance);
        let leader = self.leader.clone().unwrap_or_default();
        let joined: Vec<(String, RequestToken)> = self
            .members
            .values_mut()
            .filter_map(|m| m.parked_join.take().map(|t| (m.member_id.clone(), t)))
            .collect();
        for (member_id, token) in joined {
            self.respond_join_current(token, &member_id, member_id == leader, false);
        }
        for member in self.members.values_mut() {
            member.session_deadline =
                now.saturating_add(SimDuration::from_millis(member.session_timeout_ms));
        }
        self.pending_sync = self.members.keys().cloned().collect();
        self.sync_deadline =
            Some(now.saturating_add(SimDuration::from_millis(self.rebalance_timeout_ms())));
    }

    /// Kafka's `selectProtocol`: among the protocols every member supports, each member votes
    /// for the first in its own preference order; the most votes win (a tie goes to the
    /// smallest name, so the choice never depends on map order).
    fn select_protocol(&self) -> Option<String> {
        let candidates: BTreeSet<&String> = self
            .members
            .values()
            .flat_map(|m| m.protocols.iter().map(|p| &p.name))
            .filter(|name| {
                self.members
                    .values()
                    .all(|m| m.metadata_for(name).is_some())
            })
            .collect();
        let mut votes: BTreeMap<&String, u32> = BTreeMap::new();
        for member in self.members.values() {
            if let Some(p) = member
                .protocols
                .iter()
                .find(|p| candidates.contains(&p.name))
            {
                *votes.entry(&p.name).or_default() += 1;
            }
        }
        let most = votes.values().copied().max()?;
        votes
            .into_iter()
            .find(|(_, n)| *n == most)
            .map(|(name, _)| name.clone())
    }

    pub(super) fn transition(&mut self, now: SimTime, to: GroupState) {
        // Every caller checks the table first; a refused move is a coordinator bug.
        assert!(
            self.state.can_transition_to(to),
            "group {}: illegal transition {} -> {}",
            self.group_id,
            self.state,
            to
        );
        let from = self.state;
        self.state = to;
        self.state_since = now;
        self.event(
            now,
            GroupEvent::StateChanged {
                from,
                to,
                generation_id: self.generation_id,
            },
        );
    }

    pub(super) fn event(&mut self, at: SimTime, event: GroupEvent) {
        self.outputs.push(GroupOutput::Event { at, event });
    }

    // ---- SyncGroup -------------------------------------------------------------------------

    pub fn sync_group(&mut self, now: SimTime, request: SyncGroupRequest) {
        if let Err(error) = self.validate_generation_request(
            &request.member_id,
            request.group_instance_id.as_deref(),
            request.generation_id,
        ) {
            return self.respond_sync_error(request.token, error);
        }
        match self.state {
            GroupState::Empty | GroupState::Dead => {
                self.respond_sync_error(request.token, ErrorCode::UnknownMemberId)
            }
            GroupState::PreparingRebalance => {
                self.respond_sync_error(request.token, ErrorCode::RebalanceInProgress)
            }
            GroupState::Stable => {
                self.refresh_session(now, &request.member_id);
                let assignment = self
                    .members
                    .get(&request.member_id)
                    .map(|m| m.assignment.clone())
                    .unwrap_or_default();
                self.respond_sync(request.token, assignment);
            }
            GroupState::CompletingRebalance => self.sync_completing(now, request),
        }
    }

    fn sync_completing(&mut self, now: SimTime, request: SyncGroupRequest) {
        self.pending_sync.remove(&request.member_id);
        if let Some(member) = self.members.get_mut(&request.member_id) {
            if let Some(old) = member.parked_sync.replace(request.token) {
                self.respond_sync_error(old, ErrorCode::RebalanceInProgress);
            }
        }
        self.refresh_session(now, &request.member_id);
        if self.leader.as_deref() != Some(request.member_id.as_str()) {
            return;
        }
        // The leader's assignment: members it left out get nothing; ids it names that are
        // not members are ignored. As Kafka's `GroupMetadataManager.classicGroupSyncToLeader`,
        // it takes effect (Stable, every parked SyncGroup answered) only once the group's
        // metadata record carrying it is stored: `on_group_stored`.
        let assignment: BTreeMap<String, BTreeSet<TopicPartition>> = self
            .members
            .keys()
            .map(|member_id| {
                let a = request
                    .assignments
                    .get(member_id)
                    .cloned()
                    .unwrap_or_default();
                (member_id.clone(), a)
            })
            .collect();
        self.outputs
            .push(GroupOutput::StoreGroup(GroupStore::SyncAssignment {
                generation_id: self.generation_id,
                assignment,
            }));
    }

    /// The group metadata record asked for with `GroupOutput::StoreGroup` was appended and
    /// committed (`error` NONE), or failed with `error`, already mapped as Kafka's
    /// `appendGroupMetadataErrorToResponseError` maps it.
    pub fn on_group_stored(&mut self, now: SimTime, store: GroupStore, error: ErrorCode) {
        match store {
            GroupStore::SyncAssignment {
                generation_id,
                assignment,
            } => self.sync_assignment_stored(now, generation_id, assignment, error),
            GroupStore::StaticMemberReplaced {
                group_instance_id,
                old_member_id,
                new_member_id,
                old_client_id,
                old_session_timeout_ms,
                old_rebalance_timeout_ms,
            } => self.static_member_stored(
                now,
                &group_instance_id,
                &old_member_id,
                &new_member_id,
                (
                    old_client_id,
                    old_session_timeout_ms,
                    old_rebalance_timeout_ms,
                ),
                error,
            ),
        }
    }

    /// The append callback of `classicGroupSyncToLeader`: a member may have joined (or the
    /// sync timer fired) while the record was written, so only a group still
    /// CompletingRebalance in the same generation moves on.
    fn sync_assignment_stored(
        &mut self,
        now: SimTime,
        generation_id: i32,
        assignment: BTreeMap<String, BTreeSet<TopicPartition>>,
        error: ErrorCode,
    ) {
        if self.state != GroupState::CompletingRebalance || self.generation_id != generation_id {
            return;
        }
        if error != ErrorCode::None {
            // resetAndPropagateAssignmentWithError, then maybePrepareRebalanceOrCompleteJoin.
            self.propagate_assignment(now, None, error);
            self.prepare_rebalance(now);
            self.try_complete_join(now);
            return;
        }
        // setAndPropagateAssignment, then Stable.
        self.propagate_assignment(now, Some(&assignment), ErrorCode::None);
        self.sync_deadline = None;
        self.pending_sync.clear();
        self.transition(now, GroupState::Stable);
    }

    /// Kafka's `propagateAssignment`: every member gets `assignment`'s share (nothing when it
    /// is `None`), and each parked SyncGroup is answered with it or with `error`; a member's
    /// session counts from its answer.
    fn propagate_assignment(
        &mut self,
        now: SimTime,
        assignment: Option<&BTreeMap<String, BTreeSet<TopicPartition>>>,
        error: ErrorCode,
    ) {
        let mut waiting = Vec::new();
        for (member_id, member) in self.members.iter_mut() {
            member.assignment = assignment
                .and_then(|a| a.get(member_id))
                .cloned()
                .unwrap_or_default();
            if let Some(token) = member.parked_sync.take() {
                member.session_deadline =
                    now.saturating_add(SimDuration::from_millis(member.session_timeout_ms));
                waiting.push((token, member.assignment.clone()));
            }
        }
        for (token, a) in waiting {
            if error == ErrorCode::None {
                self.respond_sync(token, a);
            } else {
                self.respond_sync_error(token, error);
            }
        }
    }

    fn respond_sync(&mut self, token: RequestToken, assignment: BTreeSet<TopicPartition>) {
        self.outputs.push(GroupOutput::SyncGroup {
            token,
            response: SyncGroupResponse {
                error: ErrorCode::None,
                protocol_name: self.protocol_name.clone(),
                assignment,
            },
        });
    }

    fn respond_sync_error(&mut self, token: RequestToken, error: ErrorCode) {
        self.outputs.push(GroupOutput::SyncGroup {
            token,
            response: SyncGroupResponse {
                error,
                protocol_name: None,
                assignment: BTreeSet::new(),
            },
        });
    }

    /// The checks SyncGroup and Heartbeat share: the group is alive, the member is the live
    /// one, and it speaks for the current generation.
    fn validate_generation_request(
        &self,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
    ) -> Result<(), ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        self.validate_member(member_id, group_instance_id)?;
        if generation_id != self.generation_id {
            return Err(ErrorCode::IllegalGeneration);
        }
        Ok(())
    }

    fn refresh_session(&mut self, now: SimTime, member_id: &str) {
        if let Some(member) = self.members.get_mut(member_id) {
            member.session_deadline =
                now.saturating_add(SimDuration::from_millis(member.session_timeout_ms));
        }
    }

    // ---- Heartbeat and LeaveGroup ----------------------------------------------------------

    pub fn heartbeat(&mut self, now: SimTime, request: HeartbeatRequest) {
        let error = match self.validate_generation_request(
            &request.member_id,
            request.group_instance_id.as_deref(),
            request.generation_id,
        ) {
            Err(error) => error,
            Ok(()) => match self.state {
                GroupState::Empty | GroupState::Dead => ErrorCode::UnknownMemberId,
                GroupState::PreparingRebalance => {
                    self.refresh_session(now, &request.member_id);
                    ErrorCode::RebalanceInProgress
                }
                // After its JoinGroup answer a member may heartbeat while the leader assigns.
                GroupState::CompletingRebalance | GroupState::Stable => {
                    self.refresh_session(now, &request.member_id);
                    ErrorCode::None
                }
            },
        };
        self.outputs.push(GroupOutput::Heartbeat {
            token: request.token,
            error,
        });
    }

    pub fn leave_group(&mut self, now: SimTime, request: LeaveGroupRequest) {
        if self.state == GroupState::Dead {
            let members = request
                .members
                .into_iter()
                .map(|m| (m, ErrorCode::CoordinatorNotAvailable))
                .collect();
            self.outputs.push(GroupOutput::LeaveGroup {
                token: request.token,
                response: LeaveGroupResponse {
                    error: ErrorCode::CoordinatorNotAvailable,
                    members,
                },
            });
            return;
        }
        let mut results = Vec::new();
        for identity in request.members {
            let error = self.leave_one(now, &identity);
            results.push((identity, error));
        }
        self.outputs.push(GroupOutput::LeaveGroup {
            token: request.token,
            response: LeaveGroupResponse {
                error: ErrorCode::None,
                members: results,
            },
        });
    }

    fn leave_one(&mut self, now: SimTime, identity: &MemberIdentity) -> ErrorCode {
        let member_id = match &identity.group_instance_id {
            Some(instance) => match self.static_members.get(instance) {
                None => return ErrorCode::UnknownMemberId,
                Some(live) if !identity.member_id.is_empty() && *live != identity.member_id => {
                    return ErrorCode::FencedInstanceId
                }
                Some(live) => live.clone(),
            },
            None => {
                if self.pending_members.remove(&identity.member_id).is_some() {
                    self.try_complete_join(now);
                    return ErrorCode::None;
                }
                if !self.members.contains_key(&identity.member_id) {
                    return ErrorCode::UnknownMemberId;
                }
                identity.member_id.clone()
            }
        };
        self.remove_member_and_rebalance(now, &member_id, RemovalReason::LeaveGroup);
        ErrorCode::None
    }

    /// Removes a member and answers what it had parked; the group then rebalances (or ends a
    /// join phase that was waiting only for it).
    fn remove_member_and_rebalance(
        &mut self,
        now: SimTime,
        member_id: &str,
        reason: RemovalReason,
    ) {
        self.remove_member_only(now, member_id, reason);
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(now),
            GroupState::PreparingRebalance | GroupState::Empty | GroupState::Dead => {}
        }
        // With nobody left to wait for, the join phase ends at once (the last member leaving
        // takes the group to Empty).
        self.try_complete_join(now);
    }

    fn remove_member_only(&mut self, now: SimTime, member_id: &str, reason: RemovalReason) {
        let Some(member) = self.members.remove(member_id) else {
            return;
        };
        if let Some(token) = member.parked_join {
            self.respond_join_error(token, member_id, ErrorCode::UnknownMemberId);
        }
        if let Some(token) = member.parked_sync {
            self.respond_sync_error(token, ErrorCode::UnknownMemberId);
        }
        if let Some(instance) = &member.group_instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.pending_sync.remove(member_id);
        if self.leader.as_deref() == Some(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        self.event(
            now,
            GroupEvent::MemberRemoved {
                member_id: member_id.to_string(),
                reason,
            },
        );
    }

    // ---- Timers ----------------------------------------------------------------------------

    /// Runs every deadline at or before `now`: pending member ids expire, members without a
    /// heartbeat for `session.timeout.ms` are removed, the join phase ends (or the initial
    /// delay extends), members that never sent SyncGroup are removed, offsets expire.
    pub fn handle_timeout(&mut self, now: SimTime) {
        if self.state == GroupState::Dead {
            return;
        }
        self.pending_members.retain(|_, expiry| *expiry > now);
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                m.parked_join.is_none() && m.parked_sync.is_none() && m.session_deadline <= now
            })
            .map(|m| m.member_id.clone())
            .collect();
        for member_id in expired {
            self.remove_member_and_rebalance(now, &member_id, RemovalReason::SessionTimeout);
        }
        if self.join_deadline.is_some_and(|d| d <= now) {
            self.join_deadline_reached(now);
        }
        self.try_complete_join(now);
        if self.sync_deadline.is_some_and(|d| d <= now) {
            self.sync_deadline = None;
            let late: Vec<String> = self.pending_sync.iter().cloned().collect();
            for member_id in &late {
                self.remove_member_only(now, member_id, RemovalReason::SyncTimeout);
            }
            if self.state == GroupState::CompletingRebalance {
                self.prepare_rebalance(now);
                self.try_complete_join(now);
            }
        }
        self.expire_offsets(now);
    }

    fn join_deadline_reached(&mut self, now: SimTime) {
        self.join_deadline = None;
        if let Some(delay) = self.initial_delay.clone() {
            // InitialDelayedJoin: while new members keep arriving, wait another delay, within
            // what is left of the rebalance timeout.
            if self.new_member_added && delay.remaining_ms > 0 {
                let next = self
                    .config
                    .group_initial_rebalance_delay_ms
                    .min(delay.remaining_ms);
                self.initial_delay = Some(InitialDelay {
                    remaining_ms: delay.remaining_ms - next,
                });
                self.new_member_added = false;
                self.join_deadline = Some(now.saturating_add(SimDuration::from_millis(next)));
                return;
            }
            self.initial_delay = None;
        }
        if self.state == GroupState::PreparingRebalance {
            self.complete_join(now);
        }
    }

    /// The coordinator lost the group's `__consumer_offsets` partition (or deletes the group):
    /// every parked request is answered NOT_COORDINATOR and the group is Dead here. The new
    /// coordinator rebuilds it from the partition.
    pub fn unload(&mut self, now: SimTime) {
        let parked: Vec<(String, Option<RequestToken>, Option<RequestToken>)> = self
            .members
            .values_mut()
            .map(|m| {
                (
                    m.member_id.clone(),
                    m.parked_join.take(),
                    m.parked_sync.take(),
                )
            })
            .collect();
        for (member_id, join, sync) in parked {
            if let Some(token) = join {
                self.respond_join_error(token, &member_id, ErrorCode::NotCoordinator);
            }
            if let Some(token) = sync {
                self.respond_sync_error(token, ErrorCode::NotCoordinator);
            }
        }
        self.join_deadline = None;
        self.sync_deadline = None;
        self.initial_delay = None;
        if self.state != GroupState::Dead {
            self.transition(now, GroupState::Dead);
        }
    }
}
