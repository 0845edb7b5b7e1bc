//! The classic group driven request by request, as the spec's rules G-2, G-3, G-6 and G-9
//! describe it: every state transition, MEMBER_ID_REQUIRED, the initial delay, generations,
//! heartbeats during a rebalance, session and rebalance timeouts, static membership and
//! offset commit validation.

use super::*;
use crate::broker::messages::RequestToken;
use crate::client::assignor::{Assignor, Subscription};
use crate::ids::{Offset, PartitionIndex, TopicPartition};
use crate::protocol::ErrorCode;
use crate::time::SimTime;
use std::collections::{BTreeMap, BTreeSet};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const SESSION_MS: u64 = 45_000;
const REBALANCE_MS: u64 = 300_000;

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

fn tp(partition: u32) -> TopicPartition {
    TopicPartition {
        topic: "t".into(),
        partition: PartitionIndex(partition),
    }
}

/// A test driver: sends requests with fresh tokens and finds their answers.
struct Harness {
    group: ClassicGroup,
    next_token: u64,
    outputs: Vec<GroupOutput>,
    /// The time of the last request, for completing group metadata appends.
    now: SimTime,
    /// Group metadata records asked for are held here (the append still replicating)
    /// instead of stored at once.
    hold_stores: bool,
    held_stores: Vec<GroupStore>,
}

impl Harness {
    fn new(config: GroupConfig) -> Harness {
        Harness {
            group: ClassicGroup::new("g", config, SimTime::ZERO),
            next_token: 1,
            outputs: Vec::new(),
            now: SimTime::ZERO,
            hold_stores: false,
            held_stores: Vec::new(),
        }
    }

    /// No initial delay, so each test shows one thing at a time.
    fn quick() -> Harness {
        Harness::new(GroupConfig {
            group_initial_rebalance_delay_ms: 0,
            ..GroupConfig::default()
        })
    }

    fn token(&mut self) -> RequestToken {
        self.next_token += 1;
        RequestToken(self.next_token)
    }

    /// Collects the group's outputs; group metadata records are stored at once (the append
    /// committed) unless `hold_stores`.
    fn drain(&mut self) {
        loop {
            let outputs = self.group.take_outputs();
            if outputs.is_empty() {
                return;
            }
            for output in outputs {
                match output {
                    GroupOutput::StoreGroup(store) if self.hold_stores => {
                        self.held_stores.push(store)
                    }
                    GroupOutput::StoreGroup(store) => {
                        self.group.on_group_stored(self.now, store, ErrorCode::None)
                    }
                    other => self.outputs.push(other),
                }
            }
        }
    }

    /// Completes the held group metadata appends with `error` (NONE: committed).
    fn complete_stores(&mut self, now: SimTime, error: ErrorCode) {
        self.now = now;
        for store in std::mem::take(&mut self.held_stores) {
            self.group.on_group_stored(now, store, error);
        }
        self.drain();
    }

    fn join_request(
        &mut self,
        member_id: &str,
        instance: Option<&str>,
        assignors: &[&str],
    ) -> JoinGroupRequest {
        let metadata = Subscription {
            topics: BTreeSet::from(["t".to_string()]),
            group_instance_id: instance.map(str::to_string),
            ..Subscription::default()
        };
        JoinGroupRequest {
            token: self.token(),
            member_id: member_id.into(),
            group_instance_id: instance.map(str::to_string),
            client_id: "consumer".into(),
            session_timeout_ms: SESSION_MS,
            rebalance_timeout_ms: REBALANCE_MS,
            protocol_type: CONSUMER_PROTOCOL_TYPE.into(),
            protocols: assignors
                .iter()
                .map(|name| JoinGroupProtocol {
                    name: name.to_string(),
                    metadata: metadata.clone(),
                })
                .collect(),
        }
    }

    fn join(&mut self, now: SimTime, member_id: &str, instance: Option<&str>) -> RequestToken {
        let request = self.join_request(member_id, instance, &["range"]);
        let token = request.token;
        self.group.join_group(now, request);
        self.now = now;
        self.drain();
        token
    }

    fn join_answer(&self, token: RequestToken) -> Option<JoinGroupResponse> {
        self.outputs.iter().find_map(|o| match o {
            GroupOutput::JoinGroup { token: t, response } if *t == token => Some(response.clone()),
            _ => None,
        })
    }

    fn sync_answer(&self, token: RequestToken) -> Option<SyncGroupResponse> {
        self.outputs.iter().find_map(|o| match o {
            GroupOutput::SyncGroup { token: t, response } if *t == token => Some(response.clone()),
            _ => None,
        })
    }

    /// A new dynamic member's two JoinGroups: MEMBER_ID_REQUIRED, then the join with its id.
    fn join_new(&mut self, now: SimTime) -> (String, RequestToken) {
        let first = self.join(now, "", None);
        let answer = self.join_answer(first).unwrap();
        assert_eq!(answer.error, ErrorCode::MemberIdRequired);
        let member_id = answer.member_id;
        let token = self.join(now, &member_id, None);
        (member_id, token)
    }

    fn sync(
        &mut self,
        now: SimTime,
        member_id: &str,
        generation_id: i32,
        assignments: BTreeMap<String, BTreeSet<TopicPartition>>,
    ) -> RequestToken {
        let token = self.token();
        let instance = self
            .group
            .members()
            .get(member_id)
            .and_then(|m| m.group_instance_id.clone());
        self.group.sync_group(
            now,
            SyncGroupRequest {
                token,
                member_id: member_id.into(),
                generation_id,
                group_instance_id: instance,
                assignments,
            },
        );
        self.now = now;
        self.drain();
        token
    }

    fn heartbeat(
        &mut self,
        now: SimTime,
        member_id: &str,
        generation_id: i32,
        instance: Option<&str>,
    ) -> ErrorCode {
        let token = self.token();
        self.group.heartbeat(
            now,
            HeartbeatRequest {
                token,
                member_id: member_id.into(),
                generation_id,
                group_instance_id: instance.map(str::to_string),
            },
        );
        self.now = now;
        self.drain();
        self.outputs
            .iter()
            .find_map(|o| match o {
                GroupOutput::Heartbeat { token: t, error } if *t == token => Some(*error),
                _ => None,
            })
            .unwrap()
    }

    fn leave(&mut self, now: SimTime, member_id: &str, instance: Option<&str>) -> ErrorCode {
        let token = self.token();
        self.group.leave_group(
            now,
            LeaveGroupRequest {
                token,
                members: vec![MemberIdentity {
                    member_id: member_id.into(),
                    group_instance_id: instance.map(str::to_string),
                }],
            },
        );
        self.now = now;
        self.drain();
        self.outputs
            .iter()
            .find_map(|o| match o {
                GroupOutput::LeaveGroup { token: t, response } if *t == token => {
                    Some(response.members[0].1)
                }
                _ => None,
            })
            .unwrap()
    }

    fn offset_commit(
        &self,
        member_id: &str,
        generation_id: i32,
        offset: i64,
    ) -> Result<OffsetCommitRecord, ErrorCode> {
        let instance = self
            .group
            .members()
            .get(member_id)
            .and_then(|m| m.group_instance_id.clone());
        self.group.offset_commit(&OffsetCommitRequest {
            member_id: member_id.into(),
            generation_id,
            group_instance_id: instance,
            offsets: BTreeMap::from([(
                tp(0),
                OffsetAndMetadata {
                    committed_offset: Offset(offset),
                    leader_epoch: None,
                    metadata: String::new(),
                },
            )]),
        })
    }

    fn timeout(&mut self, now: SimTime) {
        self.group.handle_timeout(now);
        self.now = now;
        self.drain();
    }

    fn states(&self) -> Vec<GroupState> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                GroupOutput::Event {
                    event: GroupEvent::StateChanged { to, .. },
                    ..
                } => Some(*to),
                _ => None,
            })
            .collect()
    }

    /// Two members joined and synced: a Stable group at generation 1, partitions 0..4 split
    /// by the range assignor.
    fn stable_pair() -> (Harness, String, String) {
        let mut h = Harness::quick();
        let (a, ta) = h.join_new(ms(0));
        // `a` alone completes a join phase at once; `b` then triggers generation 2.
        assert_eq!(h.join_answer(ta).unwrap().generation_id, 1);
        let (b, tb) = h.join_new(ms(10));
        assert!(h.join_answer(tb).is_none(), "b waits for a to rejoin");
        let ta2 = h.join(ms(20), &a, None);
        let answer = h.join_answer(ta2).unwrap();
        assert_eq!(
            (answer.generation_id, answer.leader.as_str()),
            (2, a.as_str())
        );
        let members: BTreeMap<String, Subscription> = answer
            .members
            .iter()
            .map(|m| (m.member_id.clone(), m.metadata.clone()))
            .collect();
        let assignment = Assignor::Range.assign(&BTreeMap::from([("t".to_string(), 4)]), &members);
        let sb = h.sync(ms(30), &b, 2, BTreeMap::new());
        assert!(
            h.sync_answer(sb).is_none(),
            "a follower waits for the leader"
        );
        let sa = h.sync(ms(40), &a, 2, assignment.clone());
        assert_eq!(h.sync_answer(sa).unwrap().assignment, assignment[&a]);
        assert_eq!(h.sync_answer(sb).unwrap().assignment, assignment[&b]);
        assert_eq!(h.group.state(), GroupState::Stable);
        (h, a, b)
    }
}

#[test]
fn transition_table_is_kafkas() {
    use GroupState::*;
    let allowed = [
        (Empty, PreparingRebalance),
        (PreparingRebalance, CompletingRebalance),
        (PreparingRebalance, Empty),
        (CompletingRebalance, Stable),
        (CompletingRebalance, PreparingRebalance),
        (Stable, PreparingRebalance),
    ];
    for from in GroupState::ALL {
        for to in GroupState::ALL {
            let want = to == Dead || allowed.contains(&(from, to));
            assert_eq!(from.can_transition_to(to), want, "{from} -> {to}");
        }
    }
}

#[test]
fn new_member_gets_member_id_required_then_joins() {
    let mut h = Harness::quick();
    let first = h.join(ms(0), "", None);
    let answer = h.join_answer(first).unwrap();
    assert_eq!(answer.error, ErrorCode::MemberIdRequired);
    assert_eq!(
        answer.member_id, "consumer-1",
        "client.id plus the group's counter"
    );
    assert_eq!(
        h.group.state(),
        GroupState::Empty,
        "a pending member is not a member yet"
    );
    let second = h.join(ms(5), "consumer-1", None);
    let answer = h.join_answer(second).unwrap();
    assert_eq!(answer.error, ErrorCode::None);
    assert_eq!(
        (answer.generation_id, answer.leader.as_str()),
        (1, "consumer-1")
    );
    assert_eq!(answer.protocol_name.as_deref(), Some("range"));
    assert_eq!(answer.members.len(), 1, "the leader sees every member");
    assert_eq!(
        h.states(),
        vec![
            GroupState::PreparingRebalance,
            GroupState::CompletingRebalance
        ]
    );
    // The next new member gets the next number.
    let third = h.join(ms(6), "", None);
    assert_eq!(h.join_answer(third).unwrap().member_id, "consumer-2");
    // An id nobody handed out is refused.
    let bogus = h.join(ms(7), "consumer-99", None);
    assert_eq!(
        h.join_answer(bogus).unwrap().error,
        ErrorCode::UnknownMemberId
    );
}

#[test]
fn initial_rebalance_delay_waits_and_extends() {
    // group.initial.rebalance.delay.ms = 3000: the first join waits 3 s; a member arriving
    // meanwhile extends it by another 3 s (within the rebalance timeout).
    let mut h = Harness::new(GroupConfig::default());
    let (a, ta) = h.join_new(ms(0));
    assert_eq!(h.group.state(), GroupState::PreparingRebalance);
    assert_eq!(h.group.next_deadline(), Some(ms(3_000)));
    let (b, tb) = h.join_new(ms(2_000));
    h.timeout(ms(3_000));
    assert!(
        h.join_answer(ta).is_none(),
        "extended: b arrived during the delay"
    );
    assert_eq!(h.group.next_deadline(), Some(ms(6_000)));
    h.timeout(ms(6_000));
    let (ja, jb) = (h.join_answer(ta).unwrap(), h.join_answer(tb).unwrap());
    assert_eq!((ja.generation_id, jb.generation_id), (1, 1));
    assert_eq!(ja.leader, a);
    assert_eq!(
        (ja.members.len(), jb.members.len()),
        (2, 0),
        "only the leader sees members"
    );
    assert_eq!(jb.member_id, b);
    assert_eq!(h.group.state(), GroupState::CompletingRebalance);
}

#[test]
fn sync_hands_out_the_leaders_assignment_and_heartbeats_follow_the_state() {
    let (mut h, a, b) = Harness::stable_pair();
    assert_eq!(h.heartbeat(ms(50), &a, 2, None), ErrorCode::None);
    assert_eq!(
        h.heartbeat(ms(50), &b, 1, None),
        ErrorCode::IllegalGeneration
    );
    assert_eq!(
        h.heartbeat(ms(50), "nobody", 2, None),
        ErrorCode::UnknownMemberId
    );
    // A third member starts a rebalance: heartbeats answer REBALANCE_IN_PROGRESS, and a sync
    // for the old generation is refused.
    let (c, tc) = h.join_new(ms(60));
    assert_eq!(h.group.state(), GroupState::PreparingRebalance);
    assert_eq!(
        h.heartbeat(ms(70), &a, 2, None),
        ErrorCode::RebalanceInProgress
    );
    let late_sync = h.sync(ms(70), &b, 2, BTreeMap::new());
    assert_eq!(
        h.sync_answer(late_sync).unwrap().error,
        ErrorCode::RebalanceInProgress
    );
    let ta = h.join(ms(80), &a, None);
    let tb = h.join(ms(90), &b, None);
    for t in [ta, tb, tc] {
        assert_eq!(h.join_answer(t).unwrap().generation_id, 3);
    }
    // CompletingRebalance: heartbeats are fine (the member got its JoinGroup answer) ...
    assert_eq!(h.heartbeat(ms(95), &c, 3, None), ErrorCode::None);
    // ... and an old generation's SyncGroup is refused.
    let old = h.sync(ms(95), &b, 2, BTreeMap::new());
    assert_eq!(
        h.sync_answer(old).unwrap().error,
        ErrorCode::IllegalGeneration
    );
    let sa = h.sync(
        ms(100),
        &a,
        3,
        BTreeMap::from([(c.clone(), BTreeSet::from([tp(3)]))]),
    );
    assert!(
        h.sync_answer(sa).unwrap().assignment.is_empty(),
        "the leader left itself out"
    );
    // In Stable a late follower's SyncGroup is answered at once with its assignment.
    let sc = h.sync(ms(110), &c, 3, BTreeMap::new());
    assert_eq!(
        h.sync_answer(sc).unwrap().assignment,
        BTreeSet::from([tp(3)])
    );
}

/// Two members joined generation 1's successor (generation 2) and the follower's SyncGroup
/// is parked; group metadata appends are held. Returns the harness, leader, follower, the
/// follower's SyncGroup token and the leader's assignment.
fn completing_pair_with_held_stores() -> (
    Harness,
    String,
    String,
    RequestToken,
    BTreeMap<String, BTreeSet<TopicPartition>>,
) {
    let mut h = Harness::quick();
    h.hold_stores = true;
    let (a, _) = h.join_new(ms(0));
    let (b, _) = h.join_new(ms(10));
    let ta = h.join(ms(20), &a, None);
    assert_eq!(h.join_answer(ta).unwrap().generation_id, 2);
    let assignment = BTreeMap::from([
        (a.clone(), BTreeSet::from([tp(0), tp(1)])),
        (b.clone(), BTreeSet::from([tp(2), tp(3)])),
    ]);
    let sb = h.sync(ms(30), &b, 2, BTreeMap::new());
    (h, a, b, sb, assignment)
}

#[test]
fn sync_group_waits_for_the_group_metadata_record() {
    // GroupMetadataManager.classicGroupSyncToLeader: the leader's assignment is written with
    // the group metadata record and takes effect only once that append is committed.
    let (mut h, a, b, sb, assignment) = completing_pair_with_held_stores();
    // Generation 1's own record was asked for too (a alone); it no longer matters.
    h.held_stores.clear();
    let sa = h.sync(ms(40), &a, 2, assignment.clone());
    assert_eq!(
        h.held_stores,
        vec![GroupStore::SyncAssignment {
            generation_id: 2,
            assignment: assignment.clone(),
        }],
        "the record carries the leader's assignment"
    );
    assert!(
        h.sync_answer(sa).is_none(),
        "the leader waits for the record"
    );
    assert!(h.sync_answer(sb).is_none(), "so does the follower");
    assert_eq!(h.group.state(), GroupState::CompletingRebalance);
    assert!(h.group.members()[&a].assignment.is_empty());
    // Members may heartbeat meanwhile, as in CompletingRebalance.
    assert_eq!(h.heartbeat(ms(45), &b, 2, None), ErrorCode::None);
    h.complete_stores(ms(50), ErrorCode::None);
    assert_eq!(h.group.state(), GroupState::Stable);
    assert_eq!(h.sync_answer(sa).unwrap().assignment, assignment[&a]);
    assert_eq!(h.sync_answer(sb).unwrap().assignment, assignment[&b]);
}

#[test]
fn a_failed_group_metadata_append_answers_every_sync_with_the_error_and_rebalances() {
    // resetAndPropagateAssignmentWithError, then maybePrepareRebalanceOrCompleteJoin: every
    // waiting member gets the (already mapped) error, nobody gets the assignment.
    let (mut h, a, b, sb, assignment) = completing_pair_with_held_stores();
    h.held_stores.clear();
    let sa = h.sync(ms(40), &a, 2, assignment);
    h.complete_stores(ms(50), ErrorCode::CoordinatorNotAvailable);
    for token in [sa, sb] {
        let answer = h.sync_answer(token).unwrap();
        assert_eq!(answer.error, ErrorCode::CoordinatorNotAvailable);
        assert!(answer.assignment.is_empty());
    }
    assert_eq!(h.group.state(), GroupState::PreparingRebalance);
    assert!(h.group.members().values().all(|m| m.assignment.is_empty()));
    // The members rejoin into a new generation.
    let ta = h.join(ms(60), &a, None);
    let tb = h.join(ms(70), &b, None);
    for t in [ta, tb] {
        assert_eq!(h.join_answer(t).unwrap().generation_id, 3);
    }
}

#[test]
fn a_group_metadata_append_completing_after_the_group_moved_on_is_ignored() {
    // The append callback acts only on a group still CompletingRebalance in its generation.
    let (mut h, a, _b, sb, assignment) = completing_pair_with_held_stores();
    h.held_stores.clear();
    let sa = h.sync(ms(40), &a, 2, assignment);
    let (_c, _) = h.join_new(ms(45));
    assert_eq!(h.group.state(), GroupState::PreparingRebalance);
    for token in [sa, sb] {
        assert_eq!(
            h.sync_answer(token).unwrap().error,
            ErrorCode::RebalanceInProgress
        );
    }
    h.complete_stores(ms(50), ErrorCode::None);
    assert_eq!(h.group.state(), GroupState::PreparingRebalance);
    assert!(h.group.members().values().all(|m| m.assignment.is_empty()));
}

#[test]
fn a_replaced_static_member_waits_for_its_record_and_is_reverted_when_it_fails() {
    // updateStaticMemberThenRebalanceOrCompleteJoin: the JoinGroup of a restarted static
    // member is answered once the record with its new member id is stored; on failure the
    // old member id is back and the JoinGroup gets the error with no member id.
    let mut h = Harness::quick();
    let t1 = h.join(ms(0), "", Some("i-1"));
    let old_id = h.join_answer(t1).unwrap().member_id;
    let s1 = h.sync(
        ms(10),
        &old_id,
        1,
        BTreeMap::from([(old_id.clone(), BTreeSet::from([tp(0)]))]),
    );
    assert_eq!(h.sync_answer(s1).unwrap().error, ErrorCode::None);
    h.hold_stores = true;
    let t2 = h.join(ms(1_000), "", Some("i-1"));
    assert!(
        h.join_answer(t2).is_none(),
        "held until the record is stored"
    );
    assert_eq!(h.held_stores.len(), 1);
    h.complete_stores(ms(1_010), ErrorCode::NotCoordinator);
    let failed = h.join_answer(t2).unwrap();
    assert_eq!(failed.error, ErrorCode::NotCoordinator);
    assert_eq!(failed.member_id, "");
    assert!(h.group.members().contains_key(&old_id), "reverted");
    assert_eq!(
        h.heartbeat(ms(1_020), &old_id, 1, Some("i-1")),
        ErrorCode::None
    );
    // The retry succeeds once its record is stored.
    let t3 = h.join(ms(1_030), "", Some("i-1"));
    assert!(h.join_answer(t3).is_none());
    h.complete_stores(ms(1_040), ErrorCode::None);
    let again = h.join_answer(t3).unwrap();
    assert_eq!((again.error, again.generation_id), (ErrorCode::None, 1));
    assert_ne!(again.member_id, old_id);
    assert_eq!(h.group.state(), GroupState::Stable);
}

#[test]
fn session_timeout_removes_a_silent_member_and_rebalances() {
    // G-3: a member paused past session.timeout.ms is removed and the group rebalances.
    let (mut h, a, b) = Harness::stable_pair();
    h.heartbeat(ms(40_000), &a, 2, None);
    // b's session deadline is 45 s after its SyncGroup's answer at 40 ms (Kafka's
    // propagateAssignment reschedules the heartbeat of every member it answers).
    assert_eq!(h.group.next_deadline(), Some(ms(45_040)));
    h.timeout(ms(45_039));
    assert_eq!(h.group.members().len(), 2);
    h.timeout(ms(45_040));
    assert!(!h.group.members().contains_key(&b));
    assert!(h.outputs.iter().any(|o| matches!(o, GroupOutput::Event { event: GroupEvent::MemberRemoved { member_id, reason: RemovalReason::SessionTimeout }, .. } if *member_id == b)));
    assert_eq!(h.group.state(), GroupState::PreparingRebalance);
    let ta = h.join(ms(45_100), &a, None);
    assert_eq!(h.join_answer(ta).unwrap().generation_id, 3);
    // The expired member's next call fails: it must rejoin as a new member.
    assert_eq!(
        h.heartbeat(ms(46_000), &b, 2, None),
        ErrorCode::UnknownMemberId
    );
    assert_eq!(h.offset_commit(&b, 2, 10), Err(ErrorCode::UnknownMemberId));
}

#[test]
fn rebalance_timeout_removes_a_member_that_does_not_rejoin() {
    // max.poll.interval.ms is the join's rebalance timeout: b keeps heartbeating (its
    // background thread) but never rejoins, so the join phase ends without it.
    let (mut h, a, b) = Harness::stable_pair();
    let ta = h.join(ms(1_000), &a, None); // the leader asks for a rebalance
    assert_eq!(h.group.state(), GroupState::PreparingRebalance);
    assert_eq!(
        h.group.next_deadline(),
        Some(ms(40 + SESSION_MS)),
        "b's session (from its SyncGroup's answer)"
    );
    for t in (30_000..REBALANCE_MS).step_by(30_000) {
        assert_eq!(
            h.heartbeat(ms(t), &b, 2, None),
            ErrorCode::RebalanceInProgress
        );
    }
    h.timeout(ms(1_000 + REBALANCE_MS - 1));
    assert!(h.join_answer(ta).is_none());
    h.timeout(ms(1_000 + REBALANCE_MS));
    let answer = h.join_answer(ta).unwrap();
    assert_eq!((answer.generation_id, answer.members.len()), (3, 1));
    assert!(!h.group.members().contains_key(&b));
}

#[test]
fn sync_timeout_removes_members_that_never_sync() {
    let (mut h, a, b) = Harness::stable_pair();
    let ta = h.join(ms(100), &a, None);
    let tb = h.join(ms(100), &b, None);
    assert_eq!(h.join_answer(ta).unwrap().generation_id, 3);
    assert!(h.join_answer(tb).is_some());
    // Nobody sends SyncGroup within the rebalance timeout: both are removed, group Empty.
    h.timeout(ms(100 + REBALANCE_MS));
    assert_eq!(h.group.state(), GroupState::Empty);
    assert!(h.group.members().is_empty());
}

#[test]
fn leave_group_rebalances_and_the_last_leaver_empties_the_group() {
    let (mut h, a, b) = Harness::stable_pair();
    assert_eq!(h.leave(ms(100), &b, None), ErrorCode::None);
    assert_eq!(h.group.state(), GroupState::PreparingRebalance);
    assert_eq!(h.leave(ms(100), &b, None), ErrorCode::UnknownMemberId);
    let ta = h.join(ms(200), &a, None);
    assert_eq!(h.join_answer(ta).unwrap().generation_id, 3);
    assert_eq!(h.leave(ms(300), &a, None), ErrorCode::None);
    assert_eq!(h.group.state(), GroupState::Empty);
    assert_eq!(h.group.generation_id(), 4);
}

#[test]
fn static_member_bounce_keeps_the_generation_and_fences_the_old_id() {
    // G-9: a static consumer restarted within session.timeout.ms gets a new member id and its
    // old assignment, with no rebalance; the old id is FENCED_INSTANCE_ID.
    let mut h = Harness::quick();
    let t1 = h.join(ms(0), "", Some("i-1"));
    let first = h.join_answer(t1).unwrap();
    assert_eq!(
        first.error,
        ErrorCode::None,
        "static members skip MEMBER_ID_REQUIRED"
    );
    let old_id = first.member_id.clone();
    let s1 = h.sync(
        ms(10),
        &old_id,
        1,
        BTreeMap::from([(old_id.clone(), BTreeSet::from([tp(0), tp(1)]))]),
    );
    assert_eq!(h.sync_answer(s1).unwrap().assignment.len(), 2);
    // Restart 10 s later: a JoinGroup with the instance id and no member id.
    let t2 = h.join(ms(10_000), "", Some("i-1"));
    let again = h.join_answer(t2).unwrap();
    assert_eq!(again.error, ErrorCode::None);
    assert_ne!(again.member_id, old_id);
    assert_eq!(again.generation_id, 1, "no generation bump");
    assert!(
        again.skip_assignment,
        "the replaced leader must not reassign (KIP-814)"
    );
    assert_eq!(h.group.state(), GroupState::Stable);
    let s2 = h.sync(ms(10_010), &again.member_id, 1, BTreeMap::new());
    assert_eq!(
        h.sync_answer(s2).unwrap().assignment,
        BTreeSet::from([tp(0), tp(1)])
    );
    assert_eq!(
        h.heartbeat(ms(10_020), &old_id, 1, Some("i-1")),
        ErrorCode::FencedInstanceId
    );
    assert_eq!(
        h.heartbeat(ms(10_020), &again.member_id, 1, Some("i-1")),
        ErrorCode::None
    );
    assert_eq!(h.offset_commit(&again.member_id, 1, 5).map(|_| ()), Ok(()));
    let fenced = h.group.offset_commit(&OffsetCommitRequest {
        member_id: old_id.clone(),
        generation_id: 1,
        group_instance_id: Some("i-1".into()),
        offsets: BTreeMap::new(),
    });
    assert_eq!(fenced, Err(ErrorCode::FencedInstanceId));
    assert_eq!(
        h.leave(ms(10_030), &old_id, Some("i-1")),
        ErrorCode::FencedInstanceId
    );
}

#[test]
fn static_member_gone_past_its_session_timeout_is_removed() {
    let mut h = Harness::quick();
    let t1 = h.join(ms(0), "", Some("i-1"));
    let id = h.join_answer(t1).unwrap().member_id;
    h.sync(ms(10), &id, 1, BTreeMap::new());
    h.timeout(ms(10 + SESSION_MS));
    assert!(h.group.members().is_empty());
    assert_eq!(h.group.state(), GroupState::Empty);
    // Coming back later is a new join, with a rebalance.
    let t2 = h.join(ms(60_000), "", Some("i-1"));
    assert_eq!(h.join_answer(t2).unwrap().generation_id, 3);
}

#[test]
fn offset_commits_are_checked_against_generation_and_member() {
    let (mut h, a, b) = Harness::stable_pair();
    let record = h.offset_commit(&a, 2, 42).unwrap();
    assert_eq!(record.group_id, "g");
    let mut other = ClassicGroup::new("other", GroupConfig::default(), SimTime::ZERO);
    assert!(other.apply_offset_commit(ms(1), &record).is_err());
    assert!(other.offset_fetch(None).is_empty());
    assert_eq!(
        h.offset_commit(&a, 1, 42),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(
        h.offset_commit("stranger", 2, 42),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(
        h.offset_commit("", -1, 42),
        Err(ErrorCode::UnknownMemberId),
        "no group management while members exist"
    );
    // Nothing is visible until the driver applies the replicated record.
    assert_eq!(h.group.offset_fetch(Some(&[tp(0)]))[&tp(0)], None);
    h.group.apply_offset_commit(ms(50), &record).unwrap();
    let fetched = h.group.offset_fetch(None);
    assert_eq!(
        fetched[&tp(0)].as_ref().unwrap().committed_offset,
        Offset(42)
    );
    // Eager: a member sends an offset commit in onJoinPrepare, while the group prepares the rebalance.
    h.join(ms(60), &a, None);
    assert_eq!(h.group.state(), GroupState::PreparingRebalance);
    assert!(h.offset_commit(&b, 2, 43).is_ok());
    h.join(ms(70), &b, None);
    assert_eq!(h.group.state(), GroupState::CompletingRebalance);
    assert_eq!(
        h.offset_commit(&b, 3, 43),
        Err(ErrorCode::RebalanceInProgress)
    );
    assert_eq!(
        h.offset_commit(&b, 2, 43),
        Err(ErrorCode::IllegalGeneration),
        "the old generation cannot store offsets"
    );
}

#[test]
fn offsets_of_an_empty_group_expire_after_retention() {
    let mut h = Harness::quick();
    // A consumer without group management sends an offset commit with generation -1 to the Empty group.
    let record = h.offset_commit("", -1, 7).unwrap();
    h.group.apply_offset_commit(ms(1_000), &record).unwrap();
    let retention_ms = 10_080 * 60_000;
    assert_eq!(h.group.next_deadline(), Some(ms(1_000 + retention_ms)));
    h.timeout(ms(retention_ms));
    assert_eq!(h.group.offset_fetch(None).len(), 1);
    h.timeout(ms(1_000 + retention_ms));
    assert!(h.group.offset_fetch(None).is_empty());
    assert_eq!(
        h.group.state(),
        GroupState::Dead,
        "an empty group with no offsets is deleted"
    );
}

#[test]
fn group_offsets_expire_counting_from_when_it_became_empty() {
    let (mut h, a, b) = Harness::stable_pair();
    let record = h.offset_commit(&a, 2, 9).unwrap();
    h.group.apply_offset_commit(ms(50), &record).unwrap();
    assert_eq!(
        h.group.offsets_expiry_deadline(),
        None,
        "members keep their offsets"
    );
    h.leave(ms(1_000), &a, None);
    h.leave(ms(2_000), &b, None);
    assert_eq!(h.group.state(), GroupState::Empty);
    let retention_ms = 10_080 * 60_000;
    assert_eq!(
        h.group.offsets_expiry_deadline(),
        Some(ms(2_000 + retention_ms))
    );
}

#[test]
fn bad_joins_are_refused_with_kafkas_errors() {
    let mut h = Harness::quick();
    let mut request = h.join_request("", None, &["range"]);
    request.session_timeout_ms = 5_000;
    let token = request.token;
    h.group.join_group(ms(0), request);
    h.drain();
    assert_eq!(
        h.join_answer(token).unwrap().error,
        ErrorCode::InvalidSessionTimeout
    );
    let (_a, _) = h.join_new(ms(0));
    // A member supporting no protocol the group's members support.
    let request = h.join_request("", None, &["roundrobin"]);
    let token = request.token;
    h.group.join_group(ms(1), request);
    h.drain();
    assert_eq!(
        h.join_answer(token).unwrap().error,
        ErrorCode::InconsistentGroupProtocol
    );
}

#[test]
fn the_protocol_is_the_first_every_member_supports() {
    // G-4: the default [range, cooperative-sticky] gives range; once one member offers only
    // cooperative-sticky, that is the only common protocol.
    let mut h = Harness::quick();
    let r = h.join_request("", None, &["range", "cooperative-sticky"]);
    h.group.join_group(ms(0), r);
    h.drain();
    let id = h
        .outputs
        .iter()
        .find_map(|o| match o {
            GroupOutput::JoinGroup { response, .. } => Some(response.member_id.clone()),
            _ => None,
        })
        .unwrap();
    let r = h.join_request(&id, None, &["range", "cooperative-sticky"]);
    h.group.join_group(ms(1), r);
    assert_eq!(h.group.protocol_name(), Some("range"));
    let r = h.join_request("", Some("i-2"), &["cooperative-sticky"]);
    h.group.join_group(ms(2), r);
    let r = h.join_request(&id, None, &["range", "cooperative-sticky"]);
    h.group.join_group(ms(3), r);
    h.drain();
    assert_eq!(h.group.generation_id(), 2);
    assert_eq!(h.group.protocol_name(), Some("cooperative-sticky"));
}

#[test]
fn unloading_answers_parked_requests_not_coordinator() {
    let (mut h, a, _b) = Harness::stable_pair();
    let ta = h.join(ms(100), &a, None);
    assert!(h.join_answer(ta).is_none());
    h.group.unload(ms(200));
    h.drain();
    assert_eq!(h.join_answer(ta).unwrap().error, ErrorCode::NotCoordinator);
    assert_eq!(h.group.state(), GroupState::Dead);
    assert_eq!(h.group.next_deadline(), None, "a dead group has no timers");
    let again = h.join(ms(300), "", None);
    assert_eq!(
        h.join_answer(again).unwrap().error,
        ErrorCode::CoordinatorNotAvailable
    );
    assert_eq!(
        h.heartbeat(ms(300), &a, 2, None),
        ErrorCode::CoordinatorNotAvailable
    );
    assert_eq!(
        h.offset_commit(&a, 2, 1),
        Err(ErrorCode::CoordinatorNotAvailable)
    );
}

#[test]
fn every_parked_request_is_answered_exactly_once() {
    // A busy sequence: joins, a leave mid-rebalance, a retried JoinGroup, a timeout.
    let (mut h, a, b) = Harness::stable_pair();
    let (c, _) = h.join_new(ms(100));
    h.join(ms(110), &a, None);
    h.join(ms(115), &a, None); // a retry supersedes the first
    h.leave(ms(120), &c, None);
    h.join(ms(130), &b, None);
    h.timeout(ms(1_000_000));
    let mut tokens = BTreeSet::new();
    for o in &h.outputs {
        let token = match o {
            GroupOutput::JoinGroup { token, .. } | GroupOutput::SyncGroup { token, .. } => *token,
            GroupOutput::Heartbeat { token, .. } | GroupOutput::LeaveGroup { token, .. } => *token,
            GroupOutput::Event { .. } | GroupOutput::StoreGroup(_) => continue,
        };
        assert!(tokens.insert(token), "{token:?} answered twice");
    }
    assert_eq!(
        tokens.len() as u64,
        h.next_token - 1,
        "every request answered"
    );
}

/// A minimal consumer for the rebalance test: what it owns, and whether it must rejoin.
struct TestConsumer {
    member_id: String,
    owned: BTreeSet<TopicPartition>,
    generation: i32,
    revoked_total: usize,
}

/// Runs one rebalance round: every consumer rejoins with its owned partitions, the leader
/// assigns with `assignor`, everyone syncs, and each applies its assignment the way the
/// consumer does (eager: revoke everything first; cooperative: revoke only what it lost).
/// Checks after every single step that no partition is owned by two consumers.
fn rebalance_round(
    h: &mut Harness,
    consumers: &mut [TestConsumer],
    assignor: Assignor,
    now: SimTime,
) -> i32 {
    let parts = BTreeMap::from([("t".to_string(), 6)]);
    let mut tokens = Vec::new();
    for c in consumers.iter_mut() {
        if assignor.rebalance_protocol() == crate::client::assignor::RebalanceProtocol::Eager {
            // onJoinPrepare: revoke everything before rejoining.
            c.revoked_total += c.owned.len();
            c.owned.clear();
        }
        let mut request = h.join_request(&c.member_id, None, &[assignor.name()]);
        request.protocols[0].metadata.owned_partitions = c.owned.clone();
        request.protocols[0].metadata.generation = Some(c.generation);
        tokens.push(request.token);
        h.group.join_group(now, request);
        h.drain();
    }
    let answers: Vec<JoinGroupResponse> =
        tokens.iter().map(|t| h.join_answer(*t).unwrap()).collect();
    let leader = answers.iter().find(|a| !a.members.is_empty()).unwrap();
    let generation = leader.generation_id;
    let members: BTreeMap<String, Subscription> = leader
        .members
        .iter()
        .map(|m| (m.member_id.clone(), m.metadata.clone()))
        .collect();
    let assignment = assignor.assign(&parts, &members);
    let leader_id = leader.leader.clone();
    let mut syncs = Vec::new();
    for c in consumers.iter() {
        let plan = if c.member_id == leader_id {
            assignment.clone()
        } else {
            BTreeMap::new()
        };
        syncs.push(h.sync(now, &c.member_id, generation, plan));
    }
    // The newest members apply first: a partition handed over before its old owner revoked
    // it would then show two owners at once.
    for (i, token) in syncs.into_iter().enumerate().rev() {
        let assigned = h.sync_answer(token).unwrap().assignment;
        let c = &mut consumers[i];
        let revoked = crate::client::assignor::cooperative_revocations(&c.owned, &assigned);
        c.revoked_total += revoked.len();
        c.owned = assigned;
        c.generation = generation;
        // G-4's invariant (classic, no session expiry): never two owners at one instant.
        let mut seen = BTreeSet::new();
        for other in consumers.iter() {
            for tp in &other.owned {
                assert!(
                    seen.insert(tp.clone()),
                    "{tp} owned twice after {i} applied"
                );
            }
        }
    }
    generation
}

/// A new member's id, from its MEMBER_ID_REQUIRED answer.
fn new_member_id(h: &mut Harness, assignor: Assignor, now: SimTime) -> String {
    let request = h.join_request("", None, &[assignor.name()]);
    let token = request.token;
    h.group.join_group(now, request);
    h.drain();
    let answer = h.join_answer(token).unwrap();
    assert_eq!(answer.error, ErrorCode::MemberIdRequired);
    answer.member_id
}

/// Three consumers own t's 6 partitions; a fourth joins. Returns the consumers after the
/// group settles and the number of rebalances it took.
fn fourth_member_joins(assignor: Assignor) -> (Vec<TestConsumer>, u32) {
    let mut h = Harness::quick();
    let mut consumers = Vec::new();
    for _ in 0..3 {
        let member_id = new_member_id(&mut h, assignor, ms(0));
        consumers.push(TestConsumer {
            member_id,
            owned: BTreeSet::new(),
            generation: -1,
            revoked_total: 0,
        });
    }
    rebalance_round(&mut h, &mut consumers, assignor, ms(10));
    for c in &mut consumers {
        c.revoked_total = 0;
    }
    let member_id = new_member_id(&mut h, assignor, ms(100));
    consumers.push(TestConsumer {
        member_id,
        owned: BTreeSet::new(),
        generation: -1,
        revoked_total: 0,
    });
    let mut rounds = 0;
    loop {
        rounds += 1;
        let before: Vec<usize> = consumers.iter().map(|c| c.revoked_total).collect();
        rebalance_round(
            &mut h,
            &mut consumers,
            assignor,
            ms(100 + u64::from(rounds)),
        );
        let revoked_now = consumers
            .iter()
            .zip(&before)
            .any(|(c, b)| c.revoked_total > *b);
        // A cooperative member that revoked something rejoins; eager settles in one round.
        if assignor.rebalance_protocol() == crate::client::assignor::RebalanceProtocol::Eager
            || !revoked_now
        {
            break;
        }
        assert!(rounds < 5, "the group never settles");
    }
    (consumers, rounds)
}

#[test]
fn eager_revokes_everything_cooperative_only_what_moves() {
    // G-4's test: eager, every member revokes all it owned; cooperative, only the moved
    // partitions are revoked, across two rebalances, and the newcomer ends up with them.
    let (eager, rounds) = fourth_member_joins(Assignor::Sticky);
    assert_eq!(rounds, 1);
    let eager_revoked: usize = eager.iter().map(|c| c.revoked_total).sum();
    assert_eq!(eager_revoked, 6, "all six partitions revoked");
    let (cooperative, rounds) = fourth_member_joins(Assignor::CooperativeSticky);
    assert_eq!(
        rounds, 2,
        "one rebalance to revoke, a follow-up one to assign"
    );
    let cooperative_revoked: usize = cooperative.iter().map(|c| c.revoked_total).sum();
    assert_eq!(
        cooperative_revoked, 1,
        "6 partitions over 4 members: one moves"
    );
    assert_eq!(cooperative[3].owned.len(), 1);
    let sizes: Vec<usize> = cooperative.iter().map(|c| c.owned.len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 6);
    assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    //! Random request sequences against the group: whatever arrives, the state only moves
    //! along Kafka's table (checked inside), generations never go back, each request is
    //! answered exactly once, one member per instance id, and a Stable group's assignments
    //! are disjoint.
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        /// A client joins with no member id (static with `Some(instance)`).
        JoinNew(Option<u8>),
        /// The n-th id the test has seen rejoins (with a stale id, if it was removed).
        Rejoin(u8),
        Sync(u8),
        Heartbeat(u8),
        Leave(u8),
        /// Time passes (ms) and timers run.
        Wait(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            proptest::option::of(0u8..3).prop_map(Op::JoinNew),
            any::<u8>().prop_map(Op::Rejoin),
            any::<u8>().prop_map(Op::Sync),
            any::<u8>().prop_map(Op::Heartbeat),
            any::<u8>().prop_map(Op::Leave),
            prop_oneof![0u32..5_000, 40_000u32..400_000].prop_map(Op::Wait),
        ]
    }

    fn check_invariants(group: &ClassicGroup, last_generation: &mut i32) {
        assert!(
            group.generation_id() >= *last_generation,
            "generation went back"
        );
        *last_generation = group.generation_id();
        let mut instances = BTreeSet::new();
        for member in group.members().values() {
            if let Some(instance) = &member.group_instance_id {
                assert!(
                    instances.insert(instance.clone()),
                    "two live members for {instance}"
                );
                assert_eq!(group.static_members.get(instance), Some(&member.member_id));
            }
            match group.state() {
                GroupState::Stable => {
                    assert!(member.parked_join.is_none() && member.parked_sync.is_none())
                }
                GroupState::PreparingRebalance => assert!(member.parked_sync.is_none()),
                GroupState::CompletingRebalance => assert!(member.parked_join.is_none()),
                GroupState::Empty | GroupState::Dead => {}
            }
        }
        assert_eq!(group.static_members.len(), instances.len());
        if group.state() == GroupState::Empty {
            assert!(group.members().is_empty());
        }
        if group.state() == GroupState::Stable {
            let mut seen = BTreeSet::new();
            for member in group.members().values() {
                for tp in &member.assignment {
                    assert!(seen.insert(tp.clone()), "{tp} assigned twice");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_request_sequence_keeps_the_group_consistent(ops in proptest::collection::vec(op(), 1..60)) {
            let mut h = Harness::new(GroupConfig::default());
            let mut now = SimTime::ZERO;
            let mut ids: Vec<(String, Option<String>)> = Vec::new();
            let mut last_generation = 0;
            for op in ops {
                match op {
                    Op::JoinNew(instance) => {
                        let instance = instance.map(|i| format!("i-{i}"));
                        let token = h.join(now, "", instance.as_deref());
                        if let Some(answer) = h.join_answer(token) {
                            ids.push((answer.member_id, instance));
                        } else if let Some(instance) = instance {
                            let id = h.group.static_members[&instance].clone();
                            ids.push((id, Some(instance)));
                        }
                    }
                    Op::Rejoin(n) if !ids.is_empty() => {
                        let (id, instance) = ids[n as usize % ids.len()].clone();
                        h.join(now, &id, instance.as_deref());
                    }
                    Op::Sync(n) if !ids.is_empty() => {
                        let (id, _) = ids[n as usize % ids.len()].clone();
                        // The leader assigns the members it knows with range.
                        let plan = if h.group.leader() == Some(id.as_str()) {
                            let members: BTreeMap<String, Subscription> = h
                                .group
                                .members()
                                .keys()
                                .map(|m| (m.clone(), Subscription { topics: BTreeSet::from(["t".to_string()]), ..Subscription::default() }))
                                .collect();
                            Assignor::Range.assign(&BTreeMap::from([("t".to_string(), 5)]), &members)
                        } else {
                            BTreeMap::new()
                        };
                        let generation = h.group.generation_id();
                        h.sync(now, &id, generation, plan);
                    }
                    Op::Heartbeat(n) if !ids.is_empty() => {
                        let (id, instance) = ids[n as usize % ids.len()].clone();
                        let generation = h.group.generation_id();
                        h.heartbeat(now, &id, generation, instance.as_deref());
                    }
                    Op::Leave(n) if !ids.is_empty() => {
                        let (id, instance) = ids[n as usize % ids.len()].clone();
                        h.leave(now, &id, instance.as_deref());
                    }
                    Op::Wait(ms) => {
                        now = now.saturating_add(crate::time::SimDuration::from_millis(u64::from(ms)));
                        h.timeout(now);
                        prop_assert!(h.group.next_deadline().is_none_or(|d| d > now), "handle_timeout left work due");
                    }
                    _ => {}
                }
                check_invariants(&h.group, &mut last_generation);
                if let Some(deadline) = h.group.next_deadline() {
                    // A timer may be due now (a rebalance with nobody left has a 0 ms
                    // timeout, as in Kafka), never in the past.
                    prop_assert!(deadline >= now, "an overdue timer: {:?} at {:?}", deadline, now);
                }
            }
            // Unloading answers whatever is still parked: every request answered exactly once.
            h.group.unload(now);
            h.drain();
            let mut answered = BTreeSet::new();
            for o in &h.outputs {
                let token = match o {
                    GroupOutput::JoinGroup { token, .. } | GroupOutput::SyncGroup { token, .. } => *token,
                    GroupOutput::Heartbeat { token, .. } | GroupOutput::LeaveGroup { token, .. } => *token,
                    GroupOutput::Event { .. } | GroupOutput::StoreGroup(_) => continue,
                };
                prop_assert!(answered.insert(token), "{:?} answered twice", token);
            }
            prop_assert_eq!(answered.len() as u64, h.next_token - 1);
        }
    }
}
