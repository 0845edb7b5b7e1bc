//! Scenario tests of the controller through its public door: brokers register and heartbeat on
//! Kafka's 2 s interval, a harness advances time and calls `on_timer` exactly when
//! `next_timer` asks, and the tests assert the spec rules (R-3 controller side, R-6, R-9, R-10,
//! R-11) on the partition state and the metadata updates.

use super::*;
use std::collections::BTreeSet;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const HEARTBEAT_MS: u64 = 2_000;

fn ms(v: u64) -> SimTime {
    SimTime::from_millis(v)
}

fn b(id: u32) -> BrokerId {
    BrokerId(id)
}

fn tp(topic: &str, p: u32) -> TopicPartition {
    TopicPartition {
        topic: topic.into(),
        partition: PartitionIndex(p),
    }
}

/// A controller plus simulated brokers that heartbeat while alive.
struct Harness {
    c: Controller,
    now: SimTime,
    prng: Prng,
    alive: BTreeSet<BrokerId>,
    epochs: BTreeMap<BrokerId, BrokerEpoch>,
    incarnations: u64,
    next_heartbeat: SimTime,
    updates: Vec<MetadataUpdate>,
}

impl Harness {
    fn new(config: ControllerConfig, brokers: u32) -> Harness {
        let mut h = Harness {
            c: Controller::new(config, SimTime::ZERO),
            now: SimTime::ZERO,
            prng: Prng::new(7).fork("controller"),
            alive: BTreeSet::new(),
            epochs: BTreeMap::new(),
            incarnations: 0,
            next_heartbeat: SimTime::ZERO,
            updates: Vec::new(),
        };
        for id in 1..=brokers {
            h.start(b(id)).unwrap();
        }
        h.heartbeat_alive();
        h.next_heartbeat = ms(HEARTBEAT_MS);
        for id in 1..=brokers {
            assert!(!h.c.broker(b(id)).unwrap().fenced, "broker {id} unfenced");
        }
        h
    }

    /// Registers a new incarnation of `broker`; it heartbeats from the next tick on.
    fn start(&mut self, broker: BrokerId) -> Result<BrokerEpoch, ControllerError> {
        self.incarnations += 1;
        let epoch = self.c.register_broker(
            self.now,
            BrokerRegistrationRequest {
                broker,
                incarnation: IncarnationId(self.incarnations),
            },
        )?;
        self.epochs.insert(broker, epoch);
        self.alive.insert(broker);
        self.drain();
        Ok(epoch)
    }

    fn stop(&mut self, broker: BrokerId) {
        self.alive.remove(&broker);
    }

    fn heartbeat_alive(&mut self) {
        let alive: Vec<BrokerId> = self.alive.iter().copied().collect();
        for broker in alive {
            let request = BrokerHeartbeatRequest {
                broker,
                broker_epoch: self.epochs[&broker],
                current_metadata_offset: self.c.metadata_end_offset(),
            };
            self.c.heartbeat(self.now, request).unwrap();
        }
        self.drain();
    }

    fn drain(&mut self) {
        self.updates.extend(self.c.drain_updates());
    }

    /// Advances to `end`, heartbeating alive brokers every 2 s and running the controller's
    /// timer exactly when it asks.
    fn run_until(&mut self, end: SimTime) {
        loop {
            let timer = self.c.next_timer().unwrap_or(SimTime(u64::MAX));
            let next = self.next_heartbeat.min(timer);
            if next > end {
                self.now = end;
                return;
            }
            self.now = next;
            if next == self.next_heartbeat {
                self.heartbeat_alive();
                self.next_heartbeat = next.saturating_add(SimDuration::from_millis(HEARTBEAT_MS));
            }
            if self.c.next_timer().is_some_and(|t| t <= self.now) {
                self.c.on_timer(self.now);
                self.drain();
            }
        }
    }

    fn create(&mut self, name: &str, partitions: u32, rf: u16, configs: &[(&str, &str)]) {
        let request = CreateTopic {
            name: name.into(),
            partitions: Some(partitions),
            replication_factor: Some(rf),
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            assignments: Vec::new(),
        };
        self.c
            .create_topic(self.now, &mut self.prng, request)
            .unwrap();
        self.drain();
    }

    fn state(&self, t: &TopicPartition) -> PartitionState {
        self.c.partition(t).unwrap().clone()
    }

    /// The leader's AlterPartition for `isr`, with the epochs it currently holds.
    fn alter_isr(
        &mut self,
        t: &TopicPartition,
        isr: &[BrokerId],
    ) -> Result<PartitionState, ErrorCode> {
        let s = self.state(t);
        let leader = s.leader.unwrap();
        let request = AlterPartitionRequest {
            broker: leader,
            broker_epoch: self.epochs[&leader],
            topic_partition: t.clone(),
            leader_epoch: s.leader_epoch,
            partition_epoch: s.partition_epoch,
            new_isr: isr
                .iter()
                .map(|m| IsrMember {
                    broker: *m,
                    broker_epoch: Some(self.epochs[m]),
                })
                .collect(),
            leader_recovery_state: LeaderRecoveryState::Recovered,
        };
        let result = self.c.alter_partition(self.now, &request);
        self.drain();
        result
    }
}

#[test]
fn r6_kill_the_leader_elects_the_first_alive_isr_member_never_a_lagging_follower() {
    let mut h = Harness::new(ControllerConfig::default(), 3);
    h.create("orders", 1, 3, &[]);
    let p0 = tp("orders", 0);
    let s = h.state(&p0);
    let [first, second, third] = [s.replicas[0], s.replicas[1], s.replicas[2]];
    assert_eq!(s.leader, Some(first));
    // The second replica falls behind and the leader drops it from the ISR.
    let shrunk = h.alter_isr(&p0, &[first, third]).unwrap();
    assert_eq!(shrunk.isr, vec![first, third]);
    // The leader's broker dies. Once fenced, the next leader is the third replica: the second
    // is alive and earlier in assignment order but not in the ISR.
    h.stop(first);
    h.run_until(ms(30_000));
    let after = h.state(&p0);
    assert!(
        h.c.broker(second).is_some_and(|r| !r.fenced),
        "the lagging follower is alive"
    );
    assert_eq!(after.leader, Some(third));
    assert_eq!(after.isr, vec![third]);
    assert_eq!(after.leader_epoch, LeaderEpoch(s.leader_epoch.0 + 1));
    assert_eq!(
        after.partition_epoch,
        PartitionEpoch(s.partition_epoch.0 + 2)
    );
    // The third dies too: no ISR member is alive, so the partition goes offline and the last
    // ISR member stays recorded. The alive second replica is still not chosen.
    h.stop(third);
    h.run_until(ms(60_000));
    let offline = h.state(&p0);
    assert_eq!(offline.leader, None);
    assert_eq!(offline.isr, vec![third]);
    assert_eq!(offline.leader_epoch, LeaderEpoch(after.leader_epoch.0 + 1));
    // The last ISR member restarts (its old session expired, so the new incarnation is
    // accepted): once unfenced it leads again, cleanly.
    h.start(third).unwrap();
    h.run_until(ms(90_000));
    let back = h.state(&p0);
    assert_eq!(back.leader, Some(third));
    assert_eq!(back.leader_recovery_state, LeaderRecoveryState::Recovered);
}

#[test]
fn r3_fencing_after_9s_without_heartbeats_and_not_before() {
    let mut h = Harness::new(ControllerConfig::default(), 3);
    h.create("t", 3, 3, &[]);
    let led_by_1: Vec<TopicPartition> = (0..3)
        .map(|p| tp("t", p))
        .filter(|t| h.state(t).leader == Some(b(1)))
        .collect();
    assert_eq!(
        led_by_1.len(),
        1,
        "three partitions over three brokers: one each"
    );
    // Broker 1's last heartbeat is at 10 s; it then goes silent.
    h.run_until(ms(10_000));
    h.stop(b(1));
    let deadline = ms(19_000);
    assert_eq!(
        h.c.next_timer(),
        Some(deadline.saturating_add(SimDuration(1)))
    );
    h.run_until(deadline);
    assert!(!h.c.broker(b(1)).unwrap().fenced, "fenced at exactly 9 s");
    assert!((0..3).all(|p| h.state(&tp("t", p)).isr.contains(&b(1))));
    h.run_until(deadline.saturating_add(SimDuration(1)));
    assert!(
        h.c.broker(b(1)).unwrap().fenced,
        "not fenced just after 9 s"
    );
    // Fenced: out of every ISR, and its partition has a new leader.
    for p in 0..3 {
        let s = h.state(&tp("t", p));
        assert!(!s.isr.contains(&b(1)), "{s:?}");
        assert!(s.leader.is_some() && s.leader != Some(b(1)));
    }
    let led = h.state(&led_by_1[0]);
    assert_eq!(led.leader_epoch, LeaderEpoch(1));
    // The other partitions only lost an ISR member: partition epoch +1, leader epoch unchanged.
    for t in (0..3).map(|p| tp("t", p)).filter(|t| *t != led_by_1[0]) {
        let s = h.state(&t);
        assert_eq!(
            (s.leader_epoch, s.partition_epoch),
            (LeaderEpoch(0), PartitionEpoch(1))
        );
    }
    // The updates tell brokers in order: the fence record, then the partition changes.
    let fence_at = h
        .updates
        .iter()
        .position(
            |u| matches!(u.record, MetadataRecord::FenceBroker { broker, .. } if broker == b(1)),
        )
        .unwrap();
    let changes = h.updates[fence_at + 1..]
        .iter()
        .filter(|u| matches!(&u.record, MetadataRecord::Partition { reason: ChangeReason::BrokerFenced(x), .. } if *x == b(1)))
        .count();
    assert_eq!(changes, 3);
}

#[test]
fn r9_unclean_election_only_with_the_flag() {
    // The spec's R-9 story with RF 2: stop follower B, the ISR becomes {A}; kill A; restart B.
    for (flag, label) in [
        (None, "default"),
        (Some("false"), "off"),
        (Some("true"), "on"),
    ] {
        let configs: Vec<(&str, &str)> = flag
            .map(|v| (UNCLEAN_LEADER_ELECTION_ENABLE, v))
            .into_iter()
            .collect();
        let mut h = Harness::new(ControllerConfig::default(), 2);
        h.create("t", 1, 2, &configs);
        let p0 = tp("t", 0);
        let s = h.state(&p0);
        let (a, bb) = (s.replicas[0], s.replicas[1]);
        h.stop(bb);
        h.run_until(ms(20_000));
        assert_eq!(h.state(&p0).isr, vec![a], "{label}");
        h.stop(a);
        h.run_until(ms(40_000));
        let offline = h.state(&p0);
        assert_eq!(
            (offline.leader, offline.isr.clone()),
            (None, vec![a]),
            "{label}"
        );
        h.start(bb).unwrap();
        h.run_until(ms(50_000));
        let after = h.state(&p0);
        if flag == Some("true") {
            assert_eq!(after.leader, Some(bb), "{label}");
            assert_eq!(after.isr, vec![bb]);
            assert_eq!(after.leader_recovery_state, LeaderRecoveryState::Recovering);
            assert_eq!(after.leader_epoch, LeaderEpoch(offline.leader_epoch.0 + 1));
            // The recovered leader reports back; the state settles to RECOVERED.
            let mut request = AlterPartitionRequest {
                broker: bb,
                broker_epoch: h.epochs[&bb],
                topic_partition: p0.clone(),
                leader_epoch: after.leader_epoch,
                partition_epoch: after.partition_epoch,
                new_isr: vec![IsrMember {
                    broker: bb,
                    broker_epoch: None,
                }],
                leader_recovery_state: LeaderRecoveryState::Recovered,
            };
            let recovered = h.c.alter_partition(h.now, &request).unwrap();
            assert_eq!(
                recovered.leader_recovery_state,
                LeaderRecoveryState::Recovered
            );
            // Going back to RECOVERING is refused.
            request.partition_epoch = recovered.partition_epoch;
            request.leader_recovery_state = LeaderRecoveryState::Recovering;
            assert_eq!(
                h.c.alter_partition(h.now, &request),
                Err(ErrorCode::InvalidRequest)
            );
        } else {
            assert_eq!(after, offline, "{label}: B is alive but never in the ISR");
            // An operator's unclean election is refused only when nobody is eligible; here B is.
            assert_eq!(
                h.c.elect_leaders(h.now, ElectionType::Unclean, std::slice::from_ref(&p0)),
                vec![(p0.clone(), ErrorCode::None)]
            );
            assert_eq!(h.state(&p0).leader, Some(bb));
        }
    }
}

#[test]
fn r9_enabling_unclean_dynamically_elects_at_the_next_interval_check() {
    let mut h = Harness::new(ControllerConfig::default(), 2);
    h.create("t", 1, 2, &[]);
    let p0 = tp("t", 0);
    let s = h.state(&p0);
    let (a, bb) = (s.replicas[0], s.replicas[1]);
    h.stop(bb);
    h.run_until(ms(20_000));
    h.stop(a);
    h.run_until(ms(40_000));
    h.start(bb).unwrap();
    h.run_until(ms(50_000));
    assert_eq!(h.state(&p0).leader, None);
    h.c.alter_topic_config(
        h.now,
        "t",
        UNCLEAN_LEADER_ELECTION_ENABLE,
        Some("true".into()),
    )
    .unwrap();
    // unclean.leader.election.interval.ms = 300000: the first periodic check is at 300 s.
    h.run_until(ms(299_999));
    assert_eq!(h.state(&p0).leader, None);
    h.run_until(ms(300_000));
    assert_eq!(h.state(&p0).leader, Some(bb));
    assert_eq!(
        h.c.alter_topic_config(
            h.now,
            "t",
            UNCLEAN_LEADER_ELECTION_ENABLE,
            Some("yes".into())
        )
        .map_err(|e| e.code),
        Err(ErrorCode::InvalidConfig)
    );
}

#[test]
fn r11_stale_alter_partition_requests_are_rejected() {
    let mut h = Harness::new(ControllerConfig::default(), 3);
    h.create("t", 1, 3, &[]);
    let p0 = tp("t", 0);
    let s = h.state(&p0);
    let leader = s.leader.unwrap();
    let followers = [s.replicas[1], s.replicas[2]];
    let base = AlterPartitionRequest {
        broker: leader,
        broker_epoch: h.epochs[&leader],
        topic_partition: p0.clone(),
        leader_epoch: s.leader_epoch,
        partition_epoch: s.partition_epoch,
        new_isr: vec![IsrMember {
            broker: leader,
            broker_epoch: Some(h.epochs[&leader]),
        }],
        leader_recovery_state: LeaderRecoveryState::Recovered,
    };
    let with = |f: &dyn Fn(&mut AlterPartitionRequest)| {
        let mut r = base.clone();
        f(&mut r);
        r
    };
    let member = |broker: BrokerId, epoch: i64| IsrMember {
        broker,
        broker_epoch: Some(BrokerEpoch(epoch)),
    };
    let leader_broker_epoch = h.epochs[&leader].0;
    // (request, expected error). The state never changes on a rejection.
    let rejected: Vec<(AlterPartitionRequest, ErrorCode)> = vec![
        (
            with(&|r| r.broker_epoch = BrokerEpoch(r.broker_epoch.0 - 1)),
            ErrorCode::StaleBrokerEpoch,
        ),
        (
            with(&|r| r.topic_partition = tp("t", 9)),
            ErrorCode::UnknownTopicOrPartition,
        ),
        (
            with(&|r| r.leader_epoch = LeaderEpoch(1)),
            ErrorCode::NotController,
        ),
        (
            with(&|r| r.partition_epoch = PartitionEpoch(1)),
            ErrorCode::NotController,
        ),
        (
            with(&|r| r.leader_epoch = LeaderEpoch(-1)),
            ErrorCode::FencedLeaderEpoch,
        ),
        (
            with(&|r| r.partition_epoch = PartitionEpoch(-1)),
            ErrorCode::InvalidUpdateVersion,
        ),
        (
            with(&|r| r.new_isr = vec![member(followers[0], 0)]),
            ErrorCode::InvalidRequest,
        ),
        (
            with(&|r| r.new_isr.push(member(b(42), 0))),
            ErrorCode::InvalidRequest,
        ),
        (
            with(&|r| r.new_isr.push(r.new_isr[0])),
            ErrorCode::InvalidRequest,
        ),
        (
            with(&|r| r.new_isr.push(member(followers[0], 999))),
            ErrorCode::IneligibleReplica,
        ),
        (
            with(&|r| r.new_isr = vec![member(leader, leader_broker_epoch)]),
            ErrorCode::None,
        ),
    ];
    for (request, want) in rejected {
        let result = h.c.alter_partition(h.now, &request);
        if want == ErrorCode::None {
            // The good one: an ISR shrink bumps the partition epoch only (3.6+).
            let next = result.unwrap();
            assert_eq!(next.isr, vec![leader]);
            assert_eq!(
                (next.leader_epoch, next.partition_epoch),
                (s.leader_epoch, PartitionEpoch(1))
            );
        } else {
            assert_eq!(result, Err(want), "{request:?}");
            assert_eq!(h.state(&p0), s);
        }
    }
    // Replaying the accepted request is now stale: INVALID_UPDATE_VERSION.
    let replay = with(&|r| r.new_isr = vec![member(leader, leader_broker_epoch)]);
    assert_eq!(
        h.c.alter_partition(h.now, &replay),
        Err(ErrorCode::InvalidUpdateVersion)
    );
    // A follower that is not the leader may not propose.
    let mut from_follower = replay.clone();
    from_follower.partition_epoch = PartitionEpoch(1);
    from_follower.broker = followers[0];
    from_follower.broker_epoch = h.epochs[&followers[0]];
    assert_eq!(
        h.c.alter_partition(h.now, &from_follower),
        Err(ErrorCode::InvalidRequest)
    );
}

#[test]
fn r11_a_leader_cut_off_from_the_controller_is_fenced_and_its_proposals_refused() {
    let mut h = Harness::new(ControllerConfig::default(), 3);
    h.create("t", 1, 3, &[]);
    let p0 = tp("t", 0);
    let s = h.state(&p0);
    let old = s.leader.unwrap();
    // Partition the old leader from the controller: its heartbeats stop, the process lives on.
    h.stop(old);
    h.run_until(ms(12_000));
    let after = h.state(&p0);
    assert_ne!(after.leader, Some(old));
    // Its ISR proposal, with the epochs it still holds, is fenced.
    let request = AlterPartitionRequest {
        broker: old,
        broker_epoch: h.epochs[&old],
        topic_partition: p0.clone(),
        leader_epoch: s.leader_epoch,
        partition_epoch: s.partition_epoch,
        new_isr: vec![IsrMember {
            broker: old,
            broker_epoch: None,
        }],
        leader_recovery_state: LeaderRecoveryState::Recovered,
    };
    assert_eq!(
        h.c.alter_partition(h.now, &request),
        Err(ErrorCode::FencedLeaderEpoch)
    );
    // The new leader may not add the fenced broker back to its ISR.
    let mut isr = after.isr.clone();
    isr.push(old);
    assert_eq!(h.alter_isr(&p0, &isr), Err(ErrorCode::IneligibleReplica));
}

#[test]
fn kip841_a_new_incarnation_fences_the_old_one() {
    let mut h = Harness::new(ControllerConfig::default(), 3);
    h.create("t", 1, 3, &[]);
    let p0 = tp("t", 0);
    let s = h.state(&p0);
    let follower = s.replicas[1];
    let old_epoch = h.epochs[&follower];
    // A restart within the old session is refused: the old incarnation may still be alive.
    h.run_until(ms(4_000));
    let refused = h.start(follower).unwrap_err();
    assert_eq!(refused.code, ErrorCode::DuplicateBrokerRegistration);
    // The same incarnation re-registering (a retry) is accepted, with a newer epoch, and is
    // fenced out of the ISR until it heartbeats again.
    // Harness brokers 1..=3 registered with incarnations 1..=3.
    let retry = h.c.register_broker(
        h.now,
        BrokerRegistrationRequest {
            broker: follower,
            incarnation: IncarnationId(u64::from(follower.0)),
        },
    );
    let new_epoch = retry.unwrap();
    assert!(new_epoch > old_epoch);
    assert!(!h.state(&p0).isr.contains(&follower));
    // The old epoch is a zombie's: its heartbeat and ISR membership are refused.
    let zombie = BrokerHeartbeatRequest {
        broker: follower,
        broker_epoch: old_epoch,
        current_metadata_offset: h.c.metadata_end_offset(),
    };
    assert_eq!(
        h.c.heartbeat(h.now, zombie),
        Err(ErrorCode::StaleBrokerEpoch)
    );
    // A heartbeat that has not applied the registration record does not unfence.
    let behind = BrokerHeartbeatRequest {
        broker: follower,
        broker_epoch: new_epoch,
        current_metadata_offset: MetadataOffset(new_epoch.0 - 1),
    };
    let r = h.c.heartbeat(h.now, behind).unwrap();
    assert_eq!((r.is_caught_up, r.is_fenced), (false, true));
    h.epochs.insert(follower, new_epoch);
    h.run_until(ms(6_000));
    assert!(!h.c.broker(follower).unwrap().fenced);
    // Back in the ISR only through the leader, and only with the new epoch.
    let mut isr = h.state(&p0).isr.clone();
    isr.push(follower);
    h.epochs.insert(follower, old_epoch);
    assert_eq!(h.alter_isr(&p0, &isr), Err(ErrorCode::IneligibleReplica));
    h.epochs.insert(follower, new_epoch);
    assert_eq!(h.alter_isr(&p0, &isr).unwrap().isr, isr);
}

#[test]
fn r10_leadership_returns_to_the_preferred_replica_at_the_imbalance_check() {
    let mut h = Harness::new(ControllerConfig::default(), 3);
    h.create("t", 1, 3, &[]);
    let p0 = tp("t", 0);
    let preferred = h.state(&p0).replicas[0];
    h.stop(preferred);
    h.run_until(ms(20_000));
    assert_ne!(h.state(&p0).leader, Some(preferred));
    h.run_until(ms(30_000));
    h.start(preferred).unwrap();
    h.run_until(ms(40_000));
    // Not in the ISR yet: an operator's preferred election is refused.
    assert_eq!(
        h.c.elect_leaders(h.now, ElectionType::Preferred, std::slice::from_ref(&p0)),
        vec![(p0.clone(), ErrorCode::PreferredLeaderNotAvailable)]
    );
    // The leader adds it back once it has caught up.
    let mut isr = h.state(&p0).isr.clone();
    isr.push(preferred);
    h.alter_isr(&p0, &isr).unwrap();
    h.run_until(ms(299_999));
    assert_ne!(h.state(&p0).leader, Some(preferred));
    h.run_until(ms(300_000));
    assert_eq!(h.state(&p0).leader, Some(preferred));
    assert_eq!(
        h.c.elect_leaders(h.now, ElectionType::Preferred, &[p0.clone(), tp("t", 5)]),
        vec![
            (p0, ErrorCode::ElectionNotNeeded),
            (tp("t", 5), ErrorCode::UnknownTopicOrPartition)
        ]
    );
}

#[test]
fn create_topic_validation() {
    let mut h = Harness::new(ControllerConfig::default(), 3);
    h.stop(b(3));
    h.run_until(ms(20_000));
    h.create("exists", 1, 1, &[]);
    type Case = (
        &'static str,
        Option<u32>,
        Option<u16>,
        &'static [(&'static str, &'static str)],
        ErrorCode,
    );
    let cases: &[Case] = &[
        // Broker 3 is fenced: only two brokers are usable.
        (
            "a",
            Some(1),
            Some(3),
            &[],
            ErrorCode::InvalidReplicationFactor,
        ),
        (
            "a",
            Some(1),
            Some(0),
            &[],
            ErrorCode::InvalidReplicationFactor,
        ),
        ("a", Some(0), Some(1), &[], ErrorCode::InvalidPartitions),
        (
            "a",
            Some(TOPIC_PARTITIONS_MAX + 1),
            Some(1),
            &[],
            ErrorCode::InvalidPartitions,
        ),
        (
            "exists",
            Some(1),
            Some(1),
            &[],
            ErrorCode::TopicAlreadyExists,
        ),
        (
            "bad/name",
            Some(1),
            Some(1),
            &[],
            ErrorCode::InvalidTopicException,
        ),
        (
            "a",
            Some(1),
            Some(1),
            &[(MIN_INSYNC_REPLICAS, "0")],
            ErrorCode::InvalidConfig,
        ),
        (
            "a",
            Some(1),
            Some(1),
            &[(UNCLEAN_LEADER_ELECTION_ENABLE, "1")],
            ErrorCode::InvalidConfig,
        ),
    ];
    for &(name, partitions, rf, configs, want) in cases {
        let request = CreateTopic {
            name: name.into(),
            partitions,
            replication_factor: rf,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            assignments: Vec::new(),
        };
        let err = h.c.create_topic(h.now, &mut h.prng, request).unwrap_err();
        assert_eq!(
            err.code, want,
            "{name} {partitions:?} {rf:?}: {}",
            err.message
        );
    }
    // Defaults (num.partitions = 1, default.replication.factor = 1), and placement avoids the
    // fenced broker.
    let defaults = CreateTopic {
        name: "d".into(),
        partitions: None,
        replication_factor: None,
        configs: BTreeMap::new(),
        assignments: Vec::new(),
    };
    h.c.create_topic(h.now, &mut h.prng, defaults).unwrap();
    assert_eq!(h.state(&tp("d", 0)).replicas.len(), 1);
    h.create("wide", 20, 2, &[]);
    assert!((0..20).all(|p| !h.state(&tp("wide", p)).replicas.contains(&b(3))));
}

#[test]
fn every_update_carries_the_controller_epoch_and_a_fresh_offset() {
    let mut h = Harness::new(ControllerConfig::default(), 3);
    h.create("t", 2, 2, &[]);
    h.c.fail_over(h.now);
    h.drain();
    h.stop(b(2));
    h.run_until(ms(30_000));
    let offsets: Vec<i64> = h.updates.iter().map(|u| u.offset.0).collect();
    assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "{offsets:?}");
    let change = h
        .updates
        .iter()
        .position(|u| u.record == MetadataRecord::ControllerChange)
        .unwrap();
    assert!(h.updates[..change]
        .iter()
        .all(|u| u.controller_epoch == ControllerEpoch(1)));
    assert!(h.updates[change..]
        .iter()
        .all(|u| u.controller_epoch == ControllerEpoch(2)));
    // A broker that has seen epoch 2 refuses anything a deposed epoch-1 controller still sends.
    let stale = h.updates[0].controller_epoch;
    assert_eq!(
        crate::protocol::check_controller_epoch(ControllerEpoch(2), stale),
        Err(ErrorCode::StaleControllerEpoch)
    );
}

#[test]
fn describe_summary_for_a_seeded_run() {
    // Three brokers, RF 3, four partitions; broker 2 dies. The table is what kafka-topics
    // --describe would print (plus epochs), pinned for this seed.
    let mut h = Harness::new(ControllerConfig::default(), 3);
    h.create("orders", 4, 3, &[]);
    h.stop(b(2));
    h.run_until(ms(15_000));
    expect_test::expect![[r#"
        Topic: orders	Partition: 0	Leader: 3	Replicas: 3,1,2	Isr: 3,1	LeaderEpoch: 0	PartitionEpoch: 1
        Topic: orders	Partition: 1	Leader: 1	Replicas: 1,2,3	Isr: 1,3	LeaderEpoch: 0	PartitionEpoch: 1
        Topic: orders	Partition: 2	Leader: 3	Replicas: 2,3,1	Isr: 3,1	LeaderEpoch: 1	PartitionEpoch: 1
        Topic: orders	Partition: 3	Leader: 3	Replicas: 3,2,1	Isr: 3,1	LeaderEpoch: 0	PartitionEpoch: 1
    "#]]
    .assert_eq(&describe_table(&h.c.describe()));
}

#[test]
fn a_new_controller_gives_every_unfenced_broker_a_fresh_session() {
    // Broker 3 goes silent at 0 s. A failover at 8 s must not fence it at 9 s on a contact
    // time the new controller never observed: its session now runs from 8 s.
    let mut h = Harness::new(ControllerConfig::default(), 3);
    h.stop(b(3));
    h.run_until(ms(8_000));
    h.c.fail_over(h.now);
    h.drain();
    assert_eq!(h.c.controller_epoch(), ControllerEpoch(2));
    h.run_until(ms(17_000));
    assert!(!h.c.broker(b(3)).unwrap().fenced);
    h.run_until(ms(17_000).saturating_add(SimDuration(1)));
    assert!(h.c.broker(b(3)).unwrap().fenced);
}
