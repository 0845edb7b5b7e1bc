//! Tests of `PartitionReplica`, stepping fetch rounds by hand between a leader and its followers
//! and a stand-in controller that commits AlterPartition proposals when the test says so. Each
//! test names the spec rule it checks (R-1..R-5, R-7, R-12, INV-1..INV-5).

use super::*;
use crate::broker::config::{FollowerTruncation, HighWatermarkMinIsr, ReplicaConfig};
use crate::broker::messages::PartitionEpoch;
use crate::broker::txn::{read_committed, FetchedBatch};
use crate::ids::{PartitionIndex, TopicPartition};
use crate::ids::{ProducerEpoch, ProducerId};
use crate::log::control::ControlRecordType;
use crate::log::{LogConfig, NewRecord, ProducerFields, RecordBatch};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn tp() -> TopicPartition {
    TopicPartition {
        topic: "t".into(),
        partition: PartitionIndex(0),
    }
}

fn b(id: u32) -> BrokerId {
    BrokerId(id)
}

fn at(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

fn batch(value: &str) -> RecordBatch {
    RecordBatch::new_data(
        &[NewRecord::new(0, None, Some(value.as_bytes()))],
        ProducerFields::NONE,
    )
}

/// A log whose record `i` (one batch each) was written in epoch `epochs[i]`, valued
/// `{tag}{i}e{epoch}` (what one leader of that epoch would have written at `i`), with its HW
/// at `high_watermark`.
fn log_with(tag: &str, epochs: &[i32], high_watermark: i64) -> PartitionLog {
    let mut log = PartitionLog::new(tp(), LogConfig::default(), 0).unwrap();
    for (i, &epoch) in epochs.iter().enumerate() {
        log.append_as_leader(batch(&format!("{tag}{i}e{epoch}")), LeaderEpoch(epoch), 0)
            .unwrap();
    }
    log.set_high_watermark(Offset(high_watermark));
    log
}

/// `(offset, value, epoch)` of every record: what INV-2 compares.
fn records(replica: &PartitionReplica) -> Vec<(i64, String, i32)> {
    replica
        .log()
        .read_records(
            replica.log_start_offset(),
            replica.log_end_offset(),
            100_000,
        )
        .into_iter()
        .map(|r| {
            (
                r.offset.0,
                String::from_utf8(r.value.unwrap_or_default()).unwrap(),
                r.partition_leader_epoch,
            )
        })
        .collect()
}

fn registration(replicas: &[u32], isr: &[u32], leader: u32, epoch: i32) -> PartitionRegistration {
    PartitionRegistration {
        replicas: replicas.iter().copied().map(b).collect(),
        isr: isr.iter().copied().map(b).collect(),
        leader: Some(b(leader)),
        leader_epoch: LeaderEpoch(epoch),
        partition_epoch: PartitionEpoch(0),
    }
}

/// A few replicas of one partition, a controller that commits what the test says, and
/// followers that fetch when the test says.
struct Cluster {
    replicas: BTreeMap<u32, PartitionReplica>,
    registration: PartitionRegistration,
    stalled: BTreeSet<u32>,
    next_token: u64,
    /// Outputs the leader emitted, with when they were polled.
    outputs: Vec<(SimTime, ReplicaOutput)>,
}

impl Cluster {
    fn new(rf: u32, config: ReplicaConfig) -> Cluster {
        let all: Vec<u32> = (1..=rf).collect();
        Cluster::with(&all, &all, |_| config.clone())
    }

    fn with(replicas: &[u32], isr: &[u32], config: impl Fn(u32) -> ReplicaConfig) -> Cluster {
        let logs = replicas
            .iter()
            .map(|&id| (id, log_with("", &[], 0)))
            .collect();
        Cluster::from_logs(logs, registration(replicas, isr, 1, 0), config)
    }

    fn from_logs(
        logs: Vec<(u32, PartitionLog)>,
        registration: PartitionRegistration,
        config: impl Fn(u32) -> ReplicaConfig,
    ) -> Cluster {
        let replicas = logs
            .into_iter()
            .map(|(id, log)| {
                let replica = PartitionReplica::new(b(id), log, config(id), SimTime::ZERO).unwrap();
                (id, replica)
            })
            .collect();
        let mut cluster = Cluster {
            replicas,
            registration,
            stalled: BTreeSet::new(),
            next_token: 0,
            outputs: Vec::new(),
        };
        cluster.apply_all(SimTime::ZERO);
        cluster
    }

    fn leader_id(&self) -> u32 {
        self.registration.leader.unwrap().0
    }

    fn r(&self, id: u32) -> &PartitionReplica {
        &self.replicas[&id]
    }

    fn leader(&self) -> &PartitionReplica {
        self.r(self.leader_id())
    }

    fn leader_mut(&mut self) -> &mut PartitionReplica {
        let id = self.leader_id();
        self.replicas.get_mut(&id).unwrap()
    }

    fn apply_all(&mut self, now: SimTime) {
        for replica in self.replicas.values_mut() {
            replica
                .apply_registration(now, self.registration.clone())
                .unwrap();
        }
        self.collect(now);
    }

    fn collect(&mut self, now: SimTime) {
        let id = self.leader_id();
        for replica in self.replicas.values_mut() {
            while let Some(output) = replica.poll_output() {
                assert!(
                    replica.local_broker() == b(id)
                        || matches!(output, ReplicaOutput::ProduceCompleted { .. }),
                    "only a leader proposes ISR changes"
                );
                self.outputs.push((now, output));
            }
        }
    }

    fn produce(&mut self, now: SimTime, acks: Acks, value: &str) -> (RequestToken, ProduceOutcome) {
        self.next_token += 1;
        let token = RequestToken(self.next_token);
        let request = ProduceRequest {
            acks,
            timeout_ms: 30_000,
            records: batch(value).encode(),
            current_leader_epoch: None,
        };
        let outcome = self
            .leader_mut()
            .handle_produce(now, token, &request)
            .unwrap();
        self.collect(now);
        (token, outcome)
    }

    fn fetch(&mut self, now: SimTime, id: u32) -> FollowerFetchOutcome {
        let follower = &self.replicas[&id];
        let request = follower.next_fetch_request().unwrap();
        let leader = follower.fetch_leader().unwrap().0;
        let response = self
            .replicas
            .get_mut(&leader)
            .unwrap()
            .handle_follower_fetch(now, &request)
            .unwrap();
        let outcome = self
            .replicas
            .get_mut(&id)
            .unwrap()
            .handle_fetch_response(now, &request, response)
            .unwrap();
        self.collect(now);
        outcome
    }

    /// One fetch by every follower that is not stalled, in id order.
    fn round(&mut self, now: SimTime) {
        let ids: Vec<u32> = self
            .replicas
            .keys()
            .copied()
            .filter(|id| *id != self.leader_id() && !self.stalled.contains(id))
            .collect();
        for id in ids {
            self.fetch(now, id);
        }
    }

    /// Runs the leader's timers due up to `until`, as a driver would.
    fn timers_until(&mut self, until: SimTime) {
        while let Some(wake) = self.leader().next_wakeup().filter(|w| *w <= until) {
            self.leader_mut().handle_timer(wake);
            self.collect(wake);
        }
    }

    /// The controller commits `isr` (partition epoch + 1): the leader hears it in the
    /// AlterPartition response, the others through metadata.
    fn commit_isr(&mut self, now: SimTime, isr: &[u32]) {
        self.registration.isr = isr.iter().copied().map(b).collect();
        self.registration.partition_epoch.0 += 1;
        let response = AlterPartitionResponse::Accepted {
            isr: self.registration.isr.clone(),
            leader_epoch: self.registration.leader_epoch,
            partition_epoch: self.registration.partition_epoch,
        };
        self.leader_mut()
            .handle_alter_partition_response(now, response)
            .unwrap();
        self.apply_all(now);
    }

    /// A clean election: `leader` leads with a new epoch.
    fn elect(&mut self, now: SimTime, leader: u32, isr: &[u32]) {
        self.registration.leader = Some(b(leader));
        self.registration.isr = isr.iter().copied().map(b).collect();
        self.registration.leader_epoch.0 += 1;
        self.registration.partition_epoch.0 += 1;
        self.apply_all(now);
    }

    fn alter_partitions(&self) -> Vec<(SimTime, Vec<u32>)> {
        self.outputs
            .iter()
            .filter_map(|(t, o)| match o {
                ReplicaOutput::AlterPartition(a) => {
                    Some((*t, a.new_isr.iter().map(|id| id.0).collect()))
                }
                _ => None,
            })
            .collect()
    }

    fn completion(&self, token: RequestToken) -> Option<(SimTime, ErrorCode)> {
        self.outputs.iter().find_map(|(t, o)| match o {
            ReplicaOutput::ProduceCompleted {
                token: done,
                response,
            } if *done == token => Some((*t, response.error)),
            _ => None,
        })
    }

    /// INV-2: every replica in the ISR holds the leader's records below the leader's HW.
    fn assert_committed_prefix_agrees(&self) {
        let hw = self.leader().high_watermark().0;
        let prefix = |r: &PartitionReplica| -> Vec<(i64, String, i32)> {
            records(r).into_iter().filter(|(o, _, _)| *o < hw).collect()
        };
        let expected = prefix(self.leader());
        for id in self.leader().isr() {
            assert_eq!(prefix(self.r(id.0)), expected, "INV-2 on replica {id}");
        }
    }
}

fn isr_ids(replica: &PartitionReplica) -> Vec<u32> {
    replica.isr().iter().map(|id| id.0).collect()
}

// ---- R-1 / R-2 ---------------------------------------------------------------------------

#[test]
fn r1_follower_learns_the_high_watermark_one_round_after_the_leader() {
    enum Step {
        Produce,
        Round,
    }
    use Step::*;
    // (step, leader LEO, leader HW, follower LEO, follower HW) after the step.
    let steps = [
        (Produce, 1, 0, 0, 0),
        (Round, 1, 0, 1, 0), // the follower has m0, the leader does not know yet
        (Round, 1, 1, 1, 0), // the fetch at offset 1 moves the leader's HW...
        (Round, 1, 1, 1, 1), // ...which the follower learns on the next fetch
        (Produce, 2, 1, 1, 1),
        (Produce, 3, 1, 1, 1),
        (Round, 3, 1, 3, 1),
        (Round, 3, 3, 3, 1),
        (Round, 3, 3, 3, 3),
        (Round, 3, 3, 3, 3),
    ];
    let mut c = Cluster::new(2, ReplicaConfig::default());
    for (i, (step, l_leo, l_hw, f_leo, f_hw)) in steps.into_iter().enumerate() {
        let now = at(i as u64 * 100);
        match step {
            Produce => {
                c.produce(now, Acks::One, "m");
            }
            Round => c.round(now),
        }
        let got = (
            c.r(1).log_end_offset().0,
            c.r(1).high_watermark().0,
            c.r(2).log_end_offset().0,
            c.r(2).high_watermark().0,
        );
        assert_eq!(got, (l_leo, l_hw, f_leo, f_hw), "after step {i}");
        c.assert_committed_prefix_agrees();
    }
    assert_eq!(
        records(c.r(2)),
        records(c.r(1)),
        "R-1: offsets and epochs kept"
    );
}

#[test]
fn r2_stalled_follower_holds_the_high_watermark_until_the_shrink_is_committed() {
    let mut c = Cluster::new(3, ReplicaConfig::default());
    c.produce(at(0), Acks::One, "m0");
    c.round(at(0));
    c.round(at(0));
    assert_eq!(c.leader().high_watermark(), Offset(1));
    c.stalled.insert(3);
    c.produce(at(1_000), Acks::One, "m1");
    c.produce(at(1_000), Acks::One, "m2");
    for t in [1_000, 2_000, 10_000] {
        c.round(at(t));
        c.timers_until(at(t));
        assert_eq!(
            c.leader().high_watermark(),
            Offset(1),
            "min(LEO1=3, LEO2=3, LEO3=1) at {t} ms"
        );
    }
    c.timers_until(at(45_000));
    assert_eq!(c.alter_partitions(), vec![(at(45_000), vec![1, 2])]);
    c.produce(at(45_000), Acks::One, "m3");
    c.round(at(45_000));
    c.round(at(45_000));
    assert_eq!(c.r(2).log_end_offset(), Offset(4));
    assert_eq!(
        c.leader().high_watermark(),
        Offset(1),
        "a shrink in flight does not count: the HW uses the old, larger ISR"
    );
    assert_eq!(c.leader().maximal_isr(), vec![b(1), b(2), b(3)]);
    c.commit_isr(at(45_500), &[1, 2]);
    assert_eq!(isr_ids(c.leader()), vec![1, 2]);
    assert_eq!(
        c.leader().high_watermark(),
        Offset(4),
        "jumps to min(LEO1, LEO2)"
    );
    c.assert_committed_prefix_agrees();
}

#[test]
fn r2_min_isr_rule_by_version() {
    // RF 3, min.insync.replicas 2; both followers stall and leave the ISR; the leader takes
    // acks=1 writes alone.
    for (rule, expected_hw) in [
        (HighWatermarkMinIsr::Enforced, 1),
        (HighWatermarkMinIsr::Ignored, 3),
    ] {
        let config = ReplicaConfig {
            min_insync_replicas: 2,
            high_watermark_min_isr: rule,
            ..ReplicaConfig::default()
        };
        let mut c = Cluster::new(3, config);
        c.produce(at(0), Acks::One, "m0");
        c.round(at(0));
        c.round(at(0));
        assert_eq!(c.leader().high_watermark(), Offset(1));
        c.stalled.extend([2, 3]);
        c.produce(at(1_000), Acks::One, "m1");
        c.timers_until(at(45_000));
        assert_eq!(c.alter_partitions(), vec![(at(45_000), vec![1])]);
        c.commit_isr(at(45_000), &[1]);
        c.produce(at(46_000), Acks::One, "m2");
        assert_eq!(
            c.leader().high_watermark(),
            Offset(expected_hw),
            "{rule:?}: |ISR| = 1 < min(2, 3)"
        );
        let (_, refused) = c.produce(at(47_000), Acks::All, "m3");
        assert_eq!(
            refused,
            ProduceOutcome::Respond(ProduceResponse::error(ErrorCode::NotEnoughReplicas)),
            "{rule:?}: acks=all is refused before the append either way"
        );
        assert_eq!(c.leader().log_end_offset(), Offset(3));
    }
}

// ---- R-3 -----------------------------------------------------------------------------------

#[test]
fn r3_shrink_at_the_first_check_after_the_lag_not_at_it() {
    // Checks run at 0, 15, 30, 45, 60 s (replica.lag.time.max.ms / 2 from broker start). The
    // follower catches up at `fetch` and then stops; a produce at `produce` leaves it behind.
    // It is out of sync once now - lastCaughtUp > 30 s, strictly.
    let cases: &[(u64, u64, u64, &str)] = &[
        (
            0,
            1_000,
            45_000,
            "paused for 31 s and more: at 30 s it is exactly 30 s, not over",
        ),
        (5_000, 6_000, 45_000, "40 s behind at the 45 s check"),
        (14_000, 14_500, 45_000, "31 s behind at the 45 s check"),
        (
            15_000,
            16_000,
            60_000,
            "exactly 30 s behind at 45 s: still in sync",
        ),
        (20_000, 21_000, 60_000, "40 s behind at 60 s"),
    ];
    for &(fetch, produce, expected, why) in cases {
        let mut c = Cluster::new(2, ReplicaConfig::default());
        c.timers_until(at(fetch.saturating_sub(1)));
        c.fetch(at(fetch), 2);
        assert_eq!(
            c.leader()
                .follower_state(b(2))
                .unwrap()
                .last_caught_up_time_ms,
            Some(fetch as i64)
        );
        c.timers_until(at(produce - 1));
        c.produce(at(produce), Acks::One, "m");
        c.timers_until(at(120_000));
        assert_eq!(
            c.alter_partitions(),
            vec![(at(expected), vec![1])],
            "{why}: only one proposal while it is in flight"
        );
    }
}

#[test]
fn r3_a_follower_keeping_pace_stays_but_a_lagging_one_is_dropped() {
    // Every second: both followers fetch, then the leader takes two batches. Follower 2 gets
    // everything each time (it reaches the LEO as of its previous fetch); follower 3 takes one
    // batch per fetch (replica.fetch.max.bytes = 1) and falls further behind.
    let mut c = Cluster::with(&[1, 2, 3], &[1, 2, 3], |id| ReplicaConfig {
        replica_fetch_max_bytes: if id == 3 { 1 } else { 1_048_576 },
        ..ReplicaConfig::default()
    });
    for second in 1..=60u64 {
        let now = at(second * 1_000);
        c.timers_until(now);
        c.round(now);
        c.produce(now, Acks::One, "a");
        c.produce(now, Acks::One, "b");
    }
    let two = c.leader().follower_state(b(2)).unwrap();
    assert!(
        two.log_end_offset < Some(c.leader().log_end_offset()),
        "never at the LEO"
    );
    assert_eq!(
        two.last_caught_up_time_ms,
        Some(59_000),
        "caught up as of its previous fetch"
    );
    let proposals = c.alter_partitions();
    assert_eq!(proposals.len(), 1, "{proposals:?}");
    assert_eq!(proposals[0].1, vec![1, 2]);
    let three = c.leader().follower_state(b(3)).unwrap();
    assert!(proposals[0].0.as_millis() - three.last_caught_up_time_ms.unwrap_or(0) > 30_000);
}

// ---- R-4 -----------------------------------------------------------------------------------

#[test]
fn r4_rejoins_only_after_catching_up_to_the_high_watermark() {
    let mut c = Cluster::with(&[1, 2], &[1, 2], |id| ReplicaConfig {
        replica_fetch_max_bytes: if id == 2 { 1 } else { 1_048_576 },
        ..ReplicaConfig::default()
    });
    c.fetch(at(0), 2);
    c.stalled.insert(2);
    for i in 0..5 {
        c.produce(at(1_000), Acks::One, &format!("m{i}"));
    }
    c.timers_until(at(45_000));
    c.commit_isr(at(45_000), &[1]);
    assert_eq!(
        c.leader().high_watermark(),
        Offset(5),
        "ISR = {{1}}, min ISR 1"
    );
    // The follower resumes, one batch per fetch.
    for fetch_offset in 0..=5 {
        assert_eq!(c.r(2).log_end_offset(), Offset(fetch_offset));
        c.fetch(at(50_000 + fetch_offset as u64), 2);
        let expanded = c.alter_partitions().len() == 2;
        assert_eq!(
            expanded,
            fetch_offset >= 5,
            "fetch at offset {fetch_offset}: rejoin only when LEO >= HW 5"
        );
    }
    assert_eq!(c.alter_partitions()[1].1, vec![1, 2]);
    assert_eq!(
        c.leader().maximal_isr(),
        vec![b(1), b(2)],
        "counts while in flight"
    );
    assert_eq!(isr_ids(c.leader()), vec![1], "not committed yet");
    c.commit_isr(at(51_000), &[1, 2]);
    assert_eq!(isr_ids(c.r(2)), vec![1, 2]);
    c.assert_committed_prefix_agrees();
}

/// KIP-903: an ISR proposal names the broker epoch each follower fetched with, so the
/// controller can refuse a member that has restarted since (INELIGIBLE_REPLICA). A fetch
/// without an epoch (an unregistered broker) leaves it unknown, as Kafka's -1 does.
#[test]
fn r4_isr_proposals_carry_the_broker_epoch_each_follower_fetched_with() {
    let proposal_after = |epochs: [Option<i64>; 2]| {
        let mut c = Cluster::with(&[1, 2], &[1], |_| ReplicaConfig::default());
        c.produce(at(0), Acks::One, "m0");
        for (t, epoch) in (1..).zip(epochs) {
            let mut request = c.r(2).next_fetch_request().unwrap();
            request.replica_epoch = epoch.map(crate::protocol::BrokerEpoch);
            let response = c
                .leader_mut()
                .handle_follower_fetch(at(t), &request)
                .unwrap();
            c.replicas
                .get_mut(&2)
                .unwrap()
                .handle_fetch_response(at(t), &request, response)
                .unwrap();
            c.collect(at(t));
        }
        c.outputs
            .iter()
            .find_map(|(_, o)| match o {
                ReplicaOutput::AlterPartition(a) => Some(a.clone()),
                _ => None,
            })
            .expect("the caught-up follower is proposed")
    };
    let proposal = proposal_after([Some(41), Some(41)]);
    assert_eq!(proposal.new_isr, vec![b(1), b(2)]);
    assert_eq!(
        proposal.new_isr_epochs,
        BTreeMap::from([(b(2), crate::protocol::BrokerEpoch(41))])
    );
    assert!(proposal_after([Some(41), None]).new_isr_epochs.is_empty());
}

#[test]
fn r4_rejoin_also_needs_the_leader_epoch_start_offset() {
    // Replica 2 becomes leader of epoch 1 with LEO 10; ISR member 4 has not fetched yet, so
    // the HW stays at 5. Replica 3 (out of the ISR) has 7 records: past the HW but not past
    // the epoch start (10), so it may not rejoin until it reaches 10.
    let logs = vec![
        (2, log_with("a", &[0; 10], 5)),
        (3, log_with("a", &[0; 7], 5)),
        (4, log_with("a", &[0; 5], 5)),
    ];
    let mut c = Cluster::from_logs(logs, registration(&[2, 3, 4], &[2, 4], 2, 1), |_| {
        ReplicaConfig {
            replica_fetch_max_bytes: 1,
            ..ReplicaConfig::default()
        }
    });
    for (fetch_offset, expanded) in [(7, false), (8, false), (9, false), (10, true)] {
        assert_eq!(c.r(3).log_end_offset(), Offset(fetch_offset));
        c.fetch(at(1_000), 3);
        assert_eq!(c.leader().high_watermark(), Offset(5));
        assert_eq!(
            !c.alter_partitions().is_empty(),
            expanded,
            "fetch at {fetch_offset}: HW 5, epoch start 10"
        );
    }
    assert_eq!(c.alter_partitions()[0].1, vec![2, 4, 3]);
}

// ---- R-5 -----------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reply {
    NoResponse,
    Answer(ErrorCode),
    Pending,
}

#[derive(Clone, Copy, Debug)]
enum Act {
    Rounds(u32),
    /// The controller fences the brokers left out and commits this ISR (R-3's controller-side
    /// removal): fenced brokers are not ISR-eligible, so they stop holding the HW at once.
    FenceAndCommit(&'static [u32]),
    TimersUntil(u64),
}

/// acks, committed ISR, followers fetching, HW rule, acts, reply, appended?, HW covers it?
type AcksRow = (
    Acks,
    &'static [u32],
    &'static [u32],
    HighWatermarkMinIsr,
    &'static [Act],
    Reply,
    bool,
    bool,
);

#[test]
fn r5_acks_by_isr_size() {
    use Act::*;
    use ErrorCode as E;
    use HighWatermarkMinIsr::{Enforced, Ignored};
    // RF 3, min.insync.replicas 2. Columns: acks, committed ISR, followers fetching, HW rule,
    // what happens after the produce, then (reply, appended?, HW covers it?).
    #[rustfmt::skip]
    let cases: &[AcksRow] = &[
        (Acks::Zero, &[1, 2, 3], &[2, 3], Enforced, &[Rounds(2)], Reply::NoResponse, true, true),
        (Acks::One, &[1], &[], Enforced, &[], Reply::Answer(E::None), true, false),
        (Acks::One, &[1, 2], &[2], Enforced, &[Rounds(2)], Reply::Answer(E::None), true, true),
        (Acks::All, &[1], &[2, 3], Enforced, &[Rounds(2)], Reply::Answer(E::NotEnoughReplicas), false, false),
        (Acks::All, &[1, 2], &[2], Enforced, &[Rounds(1)], Reply::Pending, true, false),
        (Acks::All, &[1, 2], &[2], Enforced, &[Rounds(2)], Reply::Answer(E::None), true, true),
        (Acks::All, &[1, 2, 3], &[2], Enforced, &[Rounds(2)], Reply::Pending, true, false),
        (Acks::All, &[1, 2, 3], &[2], Enforced, &[Rounds(2), TimersUntil(30_000)], Reply::Answer(E::RequestTimedOut), true, false),
        (Acks::All, &[1, 2], &[], Ignored, &[FenceAndCommit(&[1])], Reply::Answer(E::NotEnoughReplicasAfterAppend), true, true),
        (Acks::All, &[1, 2], &[], Enforced, &[FenceAndCommit(&[1])], Reply::Pending, true, false),
        (Acks::All, &[1, 2], &[], Enforced, &[FenceAndCommit(&[1]), TimersUntil(30_000)], Reply::Answer(E::RequestTimedOut), true, false),
    ];
    for (i, &(acks, isr, fetching, rule, acts, reply, appended, covered)) in
        cases.iter().enumerate()
    {
        let config = ReplicaConfig {
            min_insync_replicas: 2,
            high_watermark_min_isr: rule,
            ..ReplicaConfig::default()
        };
        let mut c = Cluster::with(&[1, 2, 3], isr, |_| config.clone());
        c.stalled = [2, 3]
            .into_iter()
            .filter(|id| !fetching.contains(id))
            .collect();
        let (token, outcome) = c.produce(at(0), acks, "m");
        for act in acts {
            match *act {
                Rounds(n) => (0..n).for_each(|_| c.round(at(1))),
                FenceAndCommit(isr) => {
                    let fenced = [1, 2, 3].into_iter().filter(|id| !isr.contains(id));
                    c.leader_mut().set_isr_ineligible(fenced.map(b).collect());
                    c.commit_isr(at(2), isr);
                }
                TimersUntil(ms) => c.timers_until(at(ms)),
            }
        }
        let got = match outcome {
            ProduceOutcome::NoResponse { error } => {
                assert_eq!(error, E::None);
                Reply::NoResponse
            }
            ProduceOutcome::Respond(r) => Reply::Answer(r.error),
            ProduceOutcome::Parked => c
                .completion(token)
                .map_or(Reply::Pending, |(_, e)| Reply::Answer(e)),
        };
        assert_eq!(got, reply, "case {i}");
        assert_eq!(
            c.leader().log_end_offset() == Offset(1),
            appended,
            "case {i}: appended"
        );
        assert_eq!(
            c.leader().high_watermark() == Offset(1),
            covered,
            "case {i}: HW covers it"
        );
        if let Some((t, E::RequestTimedOut)) = c.completion(token) {
            assert_eq!(t, at(30_000), "case {i}: request.timeout.ms");
        }
    }
}

#[test]
fn r5_parked_produce_fails_when_leadership_moves() {
    let mut c = Cluster::new(2, ReplicaConfig::default());
    c.stalled.insert(2);
    let (token, outcome) = c.produce(at(0), Acks::All, "m");
    assert_eq!(outcome, ProduceOutcome::Parked);
    c.elect(at(10), 2, &[2]);
    assert_eq!(
        c.completion(token),
        Some((at(10), ErrorCode::NotLeaderOrFollower))
    );
    assert_eq!(c.r(1).delayed_produce_count(), 0);
    let request = ProduceRequest {
        acks: Acks::One,
        timeout_ms: 30_000,
        records: batch("n").encode(),
        current_leader_epoch: None,
    };
    let refused = c
        .replicas
        .get_mut(&1)
        .unwrap()
        .handle_produce(at(11), RequestToken(9), &request);
    assert_eq!(
        refused,
        Ok(ProduceOutcome::Respond(ProduceResponse::error(
            ErrorCode::NotLeaderOrFollower
        )))
    );
}

// ---- KIP-320 / R-12 ------------------------------------------------------------------------

#[test]
fn kip320_current_leader_epoch_validation() {
    let logs = vec![
        (1, log_with("a", &[3, 5], 2)),
        (2, log_with("a", &[3, 5], 2)),
    ];
    let mut c = Cluster::from_logs(logs, registration(&[1, 2], &[1, 2], 1, 5), |_| {
        ReplicaConfig::default()
    });
    let cases: &[(u32, Option<i32>, ErrorCode)] = &[
        (1, None, ErrorCode::None),
        (1, Some(5), ErrorCode::None),
        (1, Some(4), ErrorCode::FencedLeaderEpoch),
        (1, Some(6), ErrorCode::UnknownLeaderEpoch),
        (2, None, ErrorCode::NotLeaderOrFollower),
        (2, Some(5), ErrorCode::NotLeaderOrFollower),
        (2, Some(4), ErrorCode::FencedLeaderEpoch),
        (2, Some(6), ErrorCode::UnknownLeaderEpoch),
    ];
    for &(id, epoch, expected) in cases {
        let current = epoch.map(LeaderEpoch);
        let replica = c.replicas.get_mut(&id).unwrap();
        let fetch = replica
            .handle_consumer_fetch(
                at(0),
                &ConsumerFetchRequest {
                    fetch_offset: Offset(0),
                    current_leader_epoch: current,
                    max_bytes: 1_000_000,
                    isolation_level: IsolationLevel::ReadUncommitted,
                },
            )
            .unwrap();
        assert_eq!(fetch.error, expected, "fetch on {id} with {epoch:?}");
        let answer = replica.handle_offsets_for_leader_epoch(current, LeaderEpoch(3));
        assert_eq!(
            answer.error, expected,
            "OffsetsForLeaderEpoch on {id} with {epoch:?}"
        );
        let produce = ProduceRequest {
            acks: Acks::One,
            timeout_ms: 30_000,
            records: batch("p").encode(),
            current_leader_epoch: current,
        };
        let produced = replica
            .handle_produce(at(0), RequestToken(1), &produce)
            .unwrap();
        let ProduceOutcome::Respond(response) = produced else {
            panic!("acks=1 answers");
        };
        let produce_expected = if expected == ErrorCode::None {
            ErrorCode::None
        } else {
            ErrorCode::NotLeaderOrFollower
        };
        assert_eq!(
            response.error, produce_expected,
            "produce on {id} with {epoch:?}"
        );
    }
}

#[test]
fn r12_offsets_for_leader_epoch_reveals_truncation() {
    // After an unclean election the new leader (epoch 2) holds epoch 0 only up to offset 2;
    // a consumer that read offsets 0..=3 in epoch 0 from the old leader asks where epoch 0
    // ended, sees 2 < its position 4, and knows the log was truncated under it.
    let logs = vec![(2, log_with("b", &[0, 0, 2], 0))];
    let c = Cluster::from_logs(logs, registration(&[1, 2], &[2], 2, 2), |_| {
        ReplicaConfig::default()
    });
    let cases: &[(i32, i32, i64)] = &[(0, 0, 2), (1, 0, 2), (2, 2, 3), (-1, -1, -1), (3, -1, -1)];
    for &(asked, epoch, end) in cases {
        let answer = c
            .leader()
            .handle_offsets_for_leader_epoch(Some(LeaderEpoch(2)), LeaderEpoch(asked));
        assert_eq!(
            (answer.error, answer.leader_epoch.0, answer.end_offset.0),
            (ErrorCode::None, epoch, end),
            "epoch {asked}"
        );
    }
}

#[test]
fn inv3_consumers_never_read_at_or_past_the_high_watermark() {
    let mut c = Cluster::new(2, ReplicaConfig::default());
    for i in 0..4 {
        c.produce(at(0), Acks::One, &format!("m{i}"));
    }
    // The follower takes two fetches to move the HW; in between, consumers see nothing new.
    for (round, visible) in [(0, 0), (1, 0), (2, 4)] {
        if round > 0 {
            c.round(at(round));
        }
        let fetched = c
            .leader_mut()
            .handle_consumer_fetch(
                at(round),
                &ConsumerFetchRequest {
                    fetch_offset: Offset(0),
                    current_leader_epoch: None,
                    max_bytes: 1_000_000,
                    isolation_level: IsolationLevel::ReadUncommitted,
                },
            )
            .unwrap();
        assert_eq!(fetched.high_watermark, Offset(visible));
        assert_eq!(
            batch_headers(&fetched.records).len() as i64,
            visible,
            "round {round}"
        );
    }
}

// ---- KIP-101 and KIP-279 --------------------------------------------------------------

#[test]
fn kip101_scenario_1_follower_keeps_acked_tail_after_restart() {
    // A (1) leads epoch 0; B (2) follows. Both end with m0 and m1; A's HW is 2 (m1 acked),
    // B's is still 1.
    let mut c = Cluster::new(2, ReplicaConfig::default());
    c.produce(at(0), Acks::One, "m0");
    c.round(at(0));
    c.round(at(0));
    c.produce(at(1), Acks::One, "m1");
    c.round(at(1));
    c.round(at(1));
    assert_eq!(
        (c.r(1).high_watermark(), c.r(2).high_watermark()),
        (Offset(2), Offset(1))
    );
    assert_eq!(c.r(2).log_end_offset(), Offset(2));
    // B restarts: a new replica over the same log (HW checkpoint 1), epochs rebuilt from it.
    let log = c.r(2).log().clone();
    let restarted = PartitionReplica::new(b(2), log, ReplicaConfig::default(), at(2)).unwrap();
    c.replicas.insert(2, restarted);
    c.apply_all(at(2));
    let outcome = c.fetch(at(2), 2);
    assert!(
        matches!(
            outcome,
            FollowerFetchOutcome::Appended {
                log_end_offset: Offset(2),
                ..
            }
        ),
        "with epochs B keeps m1 (old-style HW truncation would drop it): {outcome:?}"
    );
    // A dies; B leads epoch 1 and still has m1.
    c.replicas.remove(&1);
    c.registration.replicas.retain(|id| *id != b(1));
    c.elect(at(3), 2, &[2]);
    let tail = records(c.r(2));
    assert_eq!(tail[1], (1, "m1".to_owned(), 0));
}

#[test]
fn kip101_scenario_2_diverged_logs_converge() {
    // A (1) holds m0, m2; B (2) holds m0 only. Both lost power; B returned first, leads epoch
    // 1 and writes m3 at offset 1, where A holds m2.
    let logs = vec![(1, log_with("a", &[0, 0], 1)), (2, log_with("a", &[0], 1))];
    let mut c = Cluster::from_logs(logs, registration(&[1, 2], &[2], 2, 1), |_| {
        ReplicaConfig::default()
    });
    c.stalled.insert(1);
    c.produce(at(0), Acks::One, "m3");
    assert_eq!(records(c.r(2))[1], (1, "m3".to_owned(), 1));
    c.stalled.clear();
    assert_eq!(
        c.fetch(at(1), 1),
        FollowerFetchOutcome::Truncated {
            to: Offset(1),
            complete: true
        },
        "A truncates offset 1 (m2)"
    );
    assert!(matches!(
        c.fetch(at(2), 1),
        FollowerFetchOutcome::Appended {
            batches_count: 1,
            ..
        }
    ));
    assert_eq!(
        records(c.r(1)),
        records(c.r(2)),
        "A fetched m3: the logs agree"
    );
    assert_eq!(c.r(1).epoch_cache(), c.r(2).epoch_cache());
}

fn legacy() -> ReplicaConfig {
    ReplicaConfig {
        follower_truncation: FollowerTruncation::HighWatermark,
        ..ReplicaConfig::default()
    }
}

/// D5, switch on: the same steps as scenario 1 lose the acknowledged m1, because the
/// restarted follower cuts its log to its HW (1) and is elected before it fetches m1 again.
#[test]
fn kip101_scenario_1_loses_an_acked_record_with_legacy_hw_truncation() {
    let mut c = Cluster::new(2, legacy());
    c.produce(at(0), Acks::One, "m0");
    c.round(at(0));
    c.round(at(0));
    c.produce(at(1), Acks::One, "m1");
    c.round(at(1));
    c.round(at(1));
    assert_eq!(c.r(1).high_watermark(), Offset(2), "m1 is acknowledged");
    let log = c.r(2).log().clone();
    let restarted = PartitionReplica::new(b(2), log, legacy(), at(2)).unwrap();
    c.replicas.insert(2, restarted);
    c.apply_all(at(2));
    assert_eq!(c.r(2).log_end_offset(), Offset(1), "B cut m1 at its HW");
    // A dies before B fetches again; B leads epoch 1 without m1.
    c.replicas.remove(&1);
    c.registration.replicas.retain(|id| *id != b(1));
    c.elect(at(3), 2, &[2]);
    assert_eq!(records(c.r(2)), vec![(0, "m0".to_owned(), 0)]);
}

/// KIP-101's scenario 2 with A's HW checkpoint at 2: both lost power, B returned first and
/// wrote m3 at offset 1 where A holds m2. By HW, A keeps m2 and fetches from offset 2, which
/// B's log also ends at: the logs diverge for good. By epoch, A truncates m2 and converges.
#[test]
fn kip101_scenario_2_diverges_with_legacy_hw_truncation_only() {
    for (config, diverges) in [(legacy(), true), (ReplicaConfig::default(), false)] {
        let logs = vec![(1, log_with("a", &[0, 0], 2)), (2, log_with("a", &[0], 1))];
        let mut c = Cluster::from_logs(logs, registration(&[1, 2], &[2], 2, 1), |_| config.clone());
        c.stalled.insert(1);
        c.produce(at(0), Acks::One, "m3");
        c.stalled.clear();
        for t in 1..4 {
            c.fetch(at(t), 1);
        }
        assert_eq!(
            records(c.r(1)) != records(c.r(2)),
            diverges,
            "{:?}: A {:?} B {:?}",
            config.follower_truncation,
            records(c.r(1)),
            records(c.r(2))
        );
        assert_eq!(c.r(1).log_end_offset(), c.r(2).log_end_offset());
    }
}

#[test]
fn kip279_divergence_table_converges() {
    // Leader 1 and follower 2 with logs given as one epoch per offset; the leader leads the
    // epoch of its last batch. Expected follower outcomes per fetch until it has caught up.
    enum Expect {
        Truncated(i64, bool),
        Appended,
    }
    use Expect::*;
    type Case = (
        &'static [i32],
        &'static [i32],
        &'static [Expect],
        &'static str,
    );
    let cases: &[Case] = &[
        (&[0, 0, 1], &[0], &[Appended], "prefix: nothing to truncate"),
        (&[0, 1], &[], &[Appended], "empty follower"),
        (
            &[0, 1],
            &[0, 0],
            &[Truncated(1, true), Appended],
            "KIP-101 scenario 2",
        ),
        (
            &[0, 0, 2],
            &[0, 0, 0, 0],
            &[Truncated(2, true), Appended],
            "unreplicated tail, same epoch",
        ),
        (
            &[0, 0, 1, 1, 1, 3, 3],
            &[0, 0, 2, 2],
            &[Truncated(2, false), Appended],
            "KIP-279: the leader answers epoch 1, unknown to the follower: walk back to epoch 0",
        ),
        (
            &[1, 1, 3],
            &[0, 0, 2],
            &[Truncated(2, false), Truncated(0, true), Appended],
            "walk back twice, down to an empty log",
        ),
    ];
    for (leader_epochs, follower_epochs, expected, why) in cases {
        let leader_epoch = *leader_epochs.last().unwrap();
        let logs = vec![
            (1, log_with("x", leader_epochs, 0)),
            (2, log_with("x", follower_epochs, 0)),
        ];
        let mut c = Cluster::from_logs(logs, registration(&[1, 2], &[1], 1, leader_epoch), |_| {
            ReplicaConfig::default()
        });
        for (i, expect) in expected.iter().enumerate() {
            let outcome = c.fetch(at(i as u64), 2);
            match (expect, &outcome) {
                (
                    Truncated(to, complete),
                    FollowerFetchOutcome::Truncated {
                        to: got,
                        complete: c,
                    },
                ) if *got == Offset(*to) && c == complete => {}
                (Appended, FollowerFetchOutcome::Appended { .. }) => {}
                _ => panic!("{why}: fetch {i} gave {outcome:?}"),
            }
        }
        assert_eq!(
            records(c.r(2)),
            records(c.r(1)),
            "{why}: logs converge (R-7, INV-2)"
        );
        assert_eq!(
            c.r(2).epoch_cache(),
            c.r(1).epoch_cache(),
            "{why}: epochs agree"
        );
        // Two more rounds: the follower rejoins, the HW covers everything, both agree.
        c.round(at(100));
        c.commit_isr(at(100), &[1, 2]);
        c.round(at(101));
        c.round(at(102));
        assert_eq!(c.r(1).high_watermark(), c.r(1).log_end_offset(), "{why}");
        assert_eq!(c.r(2).high_watermark(), c.r(1).high_watermark(), "{why}");
        c.assert_committed_prefix_agrees();
    }
}

#[test]
fn responses_to_outdated_requests_are_dropped() {
    let mut c = Cluster::new(3, ReplicaConfig::default());
    c.produce(at(0), Acks::One, "m0");
    let request = c.r(2).next_fetch_request().unwrap();
    let response = c
        .leader_mut()
        .handle_follower_fetch(at(0), &request)
        .unwrap();
    // Leadership moves to 3 before the response arrives at 2.
    c.elect(at(1), 3, &[1, 2, 3]);
    let outcome = c
        .replicas
        .get_mut(&2)
        .unwrap()
        .handle_fetch_response(at(1), &request, response)
        .unwrap();
    assert_eq!(outcome, FollowerFetchOutcome::Ignored);
    assert_eq!(c.r(2).log_end_offset(), Offset(0));
    // The old leader now refuses follower fetches with the old epoch.
    let stale = c
        .replicas
        .get_mut(&1)
        .unwrap()
        .handle_follower_fetch(at(2), &request)
        .unwrap();
    assert_eq!(stale.error, ErrorCode::FencedLeaderEpoch);
}

#[test]
fn registrations_are_validated_and_stale_ones_ignored() {
    let mut c = Cluster::new(2, ReplicaConfig::default());
    let stale = registration(&[1, 2], &[1, 2], 2, 0);
    assert_eq!(
        c.replicas
            .get_mut(&1)
            .unwrap()
            .apply_registration(at(1), stale),
        Ok(false),
        "same leader epoch and partition epoch: not newer"
    );
    assert!(c.r(1).is_leader());
    let bad = registration(&[1, 2], &[2], 1, 1);
    assert!(matches!(
        c.replicas
            .get_mut(&1)
            .unwrap()
            .apply_registration(at(1), bad),
        Err(ReplicaError::InvalidRegistration(_))
    ));
}

#[test]
fn r1_follower_takes_the_leaders_log_start_and_caps_its_hw_at_its_leo() {
    // The leader's log start moved to 2 (retention or DeleteRecords); its HW is 4.
    let mut leader_log = log_with("x", &[0; 4], 4);
    leader_log.restore_offsets(Offset(2), Offset(4)).unwrap();
    let in_sync = log_with("x", &[0; 4], 4);
    let logs = vec![(1, leader_log), (2, in_sync), (3, log_with("x", &[], 0))];
    let mut c = Cluster::from_logs(logs, registration(&[1, 2, 3], &[1, 2], 1, 0), |_| {
        ReplicaConfig {
            replica_fetch_max_bytes: 1,
            ..ReplicaConfig::default()
        }
    });
    // Replica 2 holds everything: it takes log start max(0, 2) = 2, and the epoch cache
    // follows the log start.
    c.fetch(at(0), 2);
    assert_eq!(c.r(2).log_start_offset(), Offset(2));
    assert_eq!(c.r(2).epoch_cache().entries()[0].start_offset, Offset(2));
    // Replica 3 is empty at 0, below the leader's log start: OFFSET_OUT_OF_RANGE, and it
    // starts over at 2. Then one batch per fetch; its HW is min(leader HW 4, own LEO).
    assert_eq!(
        c.fetch(at(1), 3),
        FollowerFetchOutcome::Truncated {
            to: Offset(2),
            complete: true
        }
    );
    let expected = [(3, 3), (4, 4)];
    for (i, (leo, hw)) in expected.into_iter().enumerate() {
        c.fetch(at(2 + i as u64), 3);
        assert_eq!(
            (c.r(3).log_end_offset().0, c.r(3).high_watermark().0),
            (leo, hw),
            "fetch {i}"
        );
    }
    assert_eq!(
        records(c.r(3)),
        records(c.r(1)),
        "the same records from the log start on"
    );
}

// ---- T-5, T-6: markers, the last stable offset, read_committed -----------------------------

fn txn_produce(c: &mut Cluster, now: SimTime, pid: i64, value: &str) -> ProduceOutcome {
    c.next_token += 1;
    let token = RequestToken(c.next_token);
    let batch = RecordBatch::new_data(
        &[NewRecord::new(0, None, Some(value.as_bytes()))],
        ProducerFields::transactional(ProducerId(pid), ProducerEpoch(0), 0),
    );
    let request = ProduceRequest {
        acks: Acks::All,
        timeout_ms: 30_000,
        records: batch.encode(),
        current_leader_epoch: None,
    };
    let outcome = c.leader_mut().handle_produce(now, token, &request).unwrap();
    c.collect(now);
    outcome
}

const COMMIT: ControlRecordType = ControlRecordType::TransactionCommit;
const ABORT: ControlRecordType = ControlRecordType::Abort;

fn marker(
    c: &mut Cluster,
    now: SimTime,
    pid: i64,
    epoch: i16,
    coordinator_epoch: i32,
    control_type: ControlRecordType,
) -> (RequestToken, ProduceOutcome) {
    c.next_token += 1;
    let token = RequestToken(c.next_token);
    let marker = TxnMarker {
        producer_id: ProducerId(pid),
        producer_epoch: ProducerEpoch(epoch),
        coordinator_epoch,
        control_type,
        timeout_ms: 30_000,
    };
    let outcome = c
        .leader_mut()
        .handle_write_txn_marker(now, token, &marker)
        .unwrap();
    c.collect(now);
    (token, outcome)
}

fn consumer_fetch(c: &mut Cluster, now: SimTime, isolation_level: IsolationLevel) -> FetchResponse {
    c.leader_mut()
        .handle_consumer_fetch(
            now,
            &ConsumerFetchRequest {
                fetch_offset: Offset(0),
                current_leader_epoch: None,
                max_bytes: 1_000_000,
                isolation_level,
            },
        )
        .unwrap()
}

/// Offsets of the data batches a fetch returned, and of its control batches.
fn fetched_offsets(response: &FetchResponse) -> (Vec<i64>, Vec<i64>) {
    let headers = batch_headers(&response.records);
    let data = headers
        .iter()
        .filter(|h| !h.attributes.is_control)
        .map(|h| h.base_offset.0)
        .collect();
    let control = headers
        .iter()
        .filter(|h| h.attributes.is_control)
        .map(|h| h.base_offset.0)
        .collect();
    (data, control)
}

#[test]
fn t5_an_open_transaction_pins_the_last_stable_offset_until_its_marker_is_replicated() {
    let mut c = Cluster::new(2, ReplicaConfig::default());
    c.produce(at(0), Acks::All, "plain0");
    txn_produce(&mut c, at(0), 7, "t0");
    txn_produce(&mut c, at(0), 7, "t1");
    c.produce(at(0), Acks::All, "plain3");
    c.round(at(1));
    c.round(at(2));
    assert_eq!(c.leader().high_watermark(), Offset(4));
    // LSO = the open transaction's first offset, not the HW.
    assert_eq!(c.leader().last_stable_offset(), Offset(1));
    let uncommitted = consumer_fetch(&mut c, at(2), IsolationLevel::ReadUncommitted);
    assert_eq!(
        fetched_offsets(&uncommitted).0,
        vec![0, 1, 2, 3],
        "read_uncommitted sees the open transaction"
    );
    assert_eq!(uncommitted.last_stable_offset, Offset(1));
    let committed = consumer_fetch(&mut c, at(2), IsolationLevel::ReadCommitted);
    assert_eq!(
        fetched_offsets(&committed).0,
        vec![0],
        "read_committed stops at the LSO"
    );
    // The COMMIT marker is answered once the ISR has it, like an acks=all produce.
    let (token, outcome) = marker(&mut c, at(3), 7, 0, 0, COMMIT);
    assert!(matches!(outcome, ProduceOutcome::Parked), "{outcome:?}");
    assert_eq!(
        c.leader().last_stable_offset(),
        Offset(1),
        "the transaction counts as open until the HW passes its marker"
    );
    let committed = consumer_fetch(&mut c, at(3), IsolationLevel::ReadCommitted);
    assert_eq!(fetched_offsets(&committed).0, vec![0]);
    c.round(at(4));
    c.round(at(5));
    assert_eq!(c.completion(token).map(|(_, e)| e), Some(ErrorCode::None));
    assert_eq!(c.leader().high_watermark(), Offset(5));
    assert_eq!(c.leader().last_stable_offset(), Offset(5));
    let committed = consumer_fetch(&mut c, at(5), IsolationLevel::ReadCommitted);
    assert_eq!(fetched_offsets(&committed), (vec![0, 1, 2, 3], vec![4]));
    assert!(committed.aborted_transactions.is_empty());
}

#[test]
fn t6_read_committed_gets_the_aborted_transactions_of_what_it_read() {
    let mut c = Cluster::new(2, ReplicaConfig::default());
    txn_produce(&mut c, at(0), 7, "a0");
    txn_produce(&mut c, at(0), 8, "b1");
    marker(&mut c, at(0), 7, 0, 0, ABORT);
    marker(&mut c, at(0), 8, 0, 0, COMMIT);
    c.round(at(1));
    c.round(at(2));
    assert_eq!(c.leader().last_stable_offset(), Offset(4));
    let committed = consumer_fetch(&mut c, at(2), IsolationLevel::ReadCommitted);
    assert_eq!(
        committed.aborted_transactions,
        vec![AbortedTransaction {
            producer_id: ProducerId(7),
            first_offset: Offset(0)
        }]
    );
    // The consumer's filter: producer 7's batch goes, producer 8's stays, no marker is a record.
    let batches: Vec<FetchedBatch> = batch_headers(&committed.records)
        .iter()
        .map(|h| FetchedBatch {
            base_offset: h.base_offset,
            last_offset: h.last_offset(),
            producer_id: ProducerId(h.producer_id),
            is_transactional: h.attributes.is_transactional,
            control: h
                .attributes
                .is_control
                .then_some(if h.base_offset == Offset(2) {
                    ControlRecordType::Abort
                } else {
                    ControlRecordType::TransactionCommit
                }),
        })
        .collect();
    let aborted: Vec<(ProducerId, Offset)> = committed
        .aborted_transactions
        .iter()
        .map(|a| (a.producer_id, a.first_offset))
        .collect();
    let kept: Vec<i64> = read_committed(&batches, &aborted)
        .iter()
        .map(|b| b.base_offset.0)
        .collect();
    assert_eq!(kept, vec![1]);
    // read_uncommitted gets no aborted list.
    assert!(
        consumer_fetch(&mut c, at(2), IsolationLevel::ReadUncommitted)
            .aborted_transactions
            .is_empty()
    );
}

#[test]
fn t5_a_new_leader_knows_the_open_transactions_from_what_it_replicated() {
    let mut c = Cluster::new(2, ReplicaConfig::default());
    txn_produce(&mut c, at(0), 7, "t0");
    c.produce(at(0), Acks::All, "plain1");
    c.round(at(1));
    c.round(at(2));
    // Broker 2 takes over: its LSO is still pinned by producer 7's open transaction.
    c.elect(at(3), 2, &[1, 2]);
    assert_eq!(c.leader_id(), 2);
    assert_eq!(c.leader().last_stable_offset(), Offset(0));
    assert_eq!(c.leader().transactions().ongoing().len(), 1);
    // Its marker closes it there.
    marker(&mut c, at(4), 7, 0, 0, COMMIT);
    c.round(at(5));
    c.round(at(6));
    assert_eq!(c.leader().last_stable_offset(), Offset(3));
    // A recovered replica rebuilds the same from its log: with producer 9's transaction open
    // and producer 10's aborted, its state matches the leader's.
    txn_produce(&mut c, at(7), 9, "open");
    txn_produce(&mut c, at(7), 10, "aborted");
    marker(&mut c, at(7), 10, 0, 0, ABORT);
    c.round(at(8));
    c.round(at(9));
    let log = c.r(1).log().clone();
    let rebuilt =
        PartitionReplica::new(b(1), log, ReplicaConfig::default(), SimTime::ZERO).unwrap();
    assert_eq!(rebuilt.transactions(), c.leader().transactions());
    assert_eq!(
        rebuilt
            .transactions()
            .ongoing()
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![ProducerId(9)]
    );
    assert_eq!(rebuilt.transactions().aborted().len(), 1);
}

#[test]
fn t5_markers_from_a_zombie_coordinator_or_a_stale_epoch_write_nothing_and_clients_cannot_write_markers(
) {
    let mut c = Cluster::new(1, ReplicaConfig::default());
    txn_produce(&mut c, at(0), 7, "t0");
    marker(&mut c, at(0), 7, 0, 5, ABORT);
    let end = c.leader().log_end_offset();
    let (_, outcome) = marker(&mut c, at(1), 7, 0, 4, COMMIT);
    assert!(
        matches!(outcome, ProduceOutcome::Respond(ref r) if r.error == ErrorCode::TransactionCoordinatorFenced)
    );
    txn_produce(&mut c, at(1), 8, "u");
    let (_, outcome) = {
        // Producer 8 wrote at epoch 0; a marker at a lower epoch is stale.
        let mut m = marker_request(8, -1, 5);
        m.producer_epoch = ProducerEpoch(-1);
        c.next_token += 1;
        let token = RequestToken(c.next_token);
        (
            token,
            c.leader_mut()
                .handle_write_txn_marker(at(1), token, &m)
                .unwrap(),
        )
    };
    assert!(
        matches!(outcome, ProduceOutcome::Respond(ref r) if r.error == ErrorCode::InvalidProducerEpoch)
    );
    assert_eq!(
        c.leader().log_end_offset(),
        Offset(end.0 + 1),
        "only producer 8's data was written"
    );
    // A client's control batch is refused.
    let control = RecordBatch::new_control(
        EndTransactionMarker {
            control_type: ControlRecordType::TransactionCommit,
            coordinator_epoch: 9,
        },
        ProducerId(8),
        ProducerEpoch(0),
        0,
    );
    let request = ProduceRequest {
        acks: Acks::One,
        timeout_ms: 30_000,
        records: control.encode(),
        current_leader_epoch: None,
    };
    let outcome = c
        .leader_mut()
        .handle_produce(at(2), RequestToken(99), &request)
        .unwrap();
    assert!(
        matches!(outcome, ProduceOutcome::Respond(ref r) if r.error == ErrorCode::InvalidRecord)
    );
}

fn marker_request(pid: i64, epoch: i16, coordinator_epoch: i32) -> TxnMarker {
    TxnMarker {
        producer_id: ProducerId(pid),
        producer_epoch: ProducerEpoch(epoch),
        coordinator_epoch,
        control_type: ControlRecordType::TransactionCommit,
        timeout_ms: 30_000,
    }
}

#[test]
fn t5_a_truncation_that_cuts_a_marker_off_reopens_its_transaction() {
    let mut c = Cluster::new(2, ReplicaConfig::default());
    txn_produce(&mut c, at(0), 7, "t0");
    c.round(at(1));
    c.round(at(2));
    // The leader writes the marker but crashes before the follower fetches it.
    marker(&mut c, at(3), 7, 0, 0, COMMIT);
    assert_eq!(c.leader().transactions().ongoing().len(), 0);
    c.elect(at(4), 2, &[2]);
    // The old leader comes back as a follower and truncates to the new leader's end: its
    // marker is gone and the transaction is open again.
    c.registration.isr = vec![b(1), b(2)];
    c.fetch(at(5), 1);
    assert_eq!(c.r(1).log_end_offset(), Offset(1));
    assert_eq!(c.r(1).transactions().ongoing().len(), 1);
}

#[test]
fn t5_a_fencing_abort_makes_the_old_epoch_stale_and_a_follower_refuses_markers_as_not_leader() {
    let mut c = Cluster::new(2, ReplicaConfig::default());
    txn_produce(&mut c, at(0), 7, "t0");
    // The coordinator fenced producer 7 (epoch 0 -> 1) and aborts its transaction at epoch 1.
    marker(&mut c, at(0), 7, 1, 0, ABORT);
    assert_eq!(
        c.leader().transactions().producer_epoch(ProducerId(7)),
        Some(ProducerEpoch(1))
    );
    // A marker at the old epoch is stale, whatever its coordinator epoch.
    let (_, outcome) = marker(&mut c, at(1), 7, 0, 3, COMMIT);
    assert!(
        matches!(outcome, ProduceOutcome::Respond(ref r) if r.error == ErrorCode::InvalidProducerEpoch),
        "{outcome:?}"
    );
    // A follower answers NOT_LEADER_OR_FOLLOWER (the coordinator looks the leader up again),
    // not a fencing error.
    let follower = c.replicas.get_mut(&2).unwrap();
    let outcome = follower
        .handle_write_txn_marker(at(1), RequestToken(77), &marker_request(7, 0, 0))
        .unwrap();
    assert!(
        matches!(outcome, ProduceOutcome::Respond(ref r) if r.error == ErrorCode::NotLeaderOrFollower),
        "{outcome:?}"
    );
}

#[test]
fn t6_list_offsets_latest_is_the_lso_for_read_committed_and_the_hw_otherwise() {
    let mut c = Cluster::new(1, ReplicaConfig::default());
    c.produce(at(0), Acks::All, "plain0");
    txn_produce(&mut c, at(0), 7, "t1");
    c.produce(at(0), Acks::All, "plain2");
    let latest = |c: &Cluster, isolation_level| {
        c.leader()
            .handle_list_offsets(&ListOffsetsRequest {
                current_leader_epoch: None,
                spec: OffsetSpec::Latest,
                isolation_level,
            })
            .offset
    };
    assert_eq!(latest(&c, IsolationLevel::ReadUncommitted), Offset(3));
    assert_eq!(latest(&c, IsolationLevel::ReadCommitted), Offset(1));
    marker(&mut c, at(1), 7, 0, 0, COMMIT);
    assert_eq!(latest(&c, IsolationLevel::ReadCommitted), Offset(4));
}
