//! Transactions through the public API (section 5): read_committed against read_uncommitted
//! readers of aborted transactions (T-6, D17), zombie fencing by a second instance with the
//! same transactional.id (T-4, D12), the coordinator's timeout abort and its misleading fenced
//! error (T-7, D13), and a transaction coordinator crash (D21).

use logsim::check::drill::judge;
use logsim::sim::cluster::ClusterSim;
use logsim::sim::history::{Op, TxnOutcome};
use std::collections::BTreeSet;

use crate::{run_with_its_seed as run, scenario_file as scenario};

/// Every transaction in the history: (producer, producer id, epoch, values, outcome, at ms).
struct Txn {
    producer: u32,
    producer_id: i64,
    producer_epoch: i16,
    values: Vec<u64>,
    outcome: TxnOutcome,
    at_ms: i64,
}

fn transactions(sim: &ClusterSim) -> Vec<Txn> {
    sim.history()
        .iter()
        .zip(sim.history_times())
        .filter_map(|(op, at)| match op {
            Op::Txn {
                producer,
                producer_id,
                producer_epoch,
                values,
                outcome,
                ..
            } => Some(Txn {
                producer: *producer,
                producer_id: producer_id.0,
                producer_epoch: producer_epoch.0,
                values: values.iter().map(|v| v.0).collect(),
                outcome: *outcome,
                at_ms: at.as_millis(),
            }),
            _ => None,
        })
        .collect()
}

/// The values a consumer read.
fn read_by(sim: &ClusterSim, consumer: u32) -> BTreeSet<u64> {
    sim.history()
        .iter()
        .filter_map(|op| match op {
            Op::Poll {
                consumer: c,
                records,
                ..
            } if *c == consumer => Some(records.iter().map(|(_, v)| v.0)),
            _ => None,
        })
        .flatten()
        .collect()
}

fn values(txns: &[Txn], pick: impl Fn(&Txn) -> bool) -> BTreeSet<u64> {
    txns.iter()
        .filter(|t| pick(t))
        .flat_map(|t| t.values.iter().copied())
        .collect()
}

#[test]
fn read_committed_drops_aborted_transactions_and_read_uncommitted_returns_them() {
    let sim = run(scenario("d17-read-uncommitted-aborts.json"));
    let txns = transactions(&sim);
    let aborted = values(&txns, |t| t.outcome == TxnOutcome::Aborted);
    let committed = values(&txns, |t| t.outcome == TxnOutcome::Committed);
    assert!(
        aborted.len() >= 10,
        "abort_percent 30 aborts some: {}",
        aborted.len()
    );
    assert!(committed.len() >= 100, "most commit: {}", committed.len());
    let (rc, ru) = (read_by(&sim, 0), read_by(&sim, 1));
    assert!(
        rc.is_disjoint(&aborted),
        "read_committed saw an aborted record"
    );
    assert!(
        committed.is_subset(&rc),
        "read_committed read every committed record"
    );
    assert!(
        !ru.is_disjoint(&aborted),
        "read_uncommitted reads aborted records"
    );
    assert!(committed.is_subset(&ru));
    // The checker agrees: G1a only at read_uncommitted, none of it a bug.
    let report = judge(&sim, true);
    assert!(!report.has_bug(), "{:?}", report.check.bugs().next());
    let g1a: Vec<_> = report
        .check
        .anomalies
        .iter()
        .filter(|a| a.kind.name() == "G1a")
        .collect();
    assert!(!g1a.is_empty());
    assert!(
        g1a.iter()
            .all(|a| a.detail.contains("consumer 1") && a.legal_because.is_some()),
        "{:?}",
        g1a[0]
    );
}

#[test]
fn a_second_instance_fences_the_frozen_zombie_and_aborts_its_transaction() {
    let sim = run(scenario("d12-zombie-transactional-producer.json"));
    let txns = transactions(&sim);
    let zombie: Vec<&Txn> = txns.iter().filter(|t| t.producer == 0).collect();
    let successor: Vec<&Txn> = txns.iter().filter(|t| t.producer == 1).collect();
    assert!(!zombie.is_empty() && !successor.is_empty());
    // The successor took over the same producer id with a higher epoch.
    let (z, s) = (zombie[0], successor[0]);
    assert_eq!(
        z.producer_id, s.producer_id,
        "one producer id per transactional.id"
    );
    assert!(
        s.producer_epoch > z.producer_epoch,
        "InitProducerId bumped the epoch"
    );
    assert!(successor.iter().any(|t| t.outcome == TxnOutcome::Committed));
    // The zombie's last transaction, open across the freeze, did not commit, and the
    // read_committed consumer never saw it.
    let last = zombie.last().expect("the zombie's transaction is recorded");
    assert_ne!(last.outcome, TxnOutcome::Committed);
    assert!(
        last.at_ms >= 15_000,
        "it ended when the zombie woke: {}",
        last.at_ms
    );
    let rc = read_by(&sim, 0);
    assert!(last.values.iter().all(|v| !rc.contains(v)));
    assert!(values(&txns, |t| t.outcome == TxnOutcome::Committed).is_subset(&rc));
    // The zombie learned it is fenced: fatal, nothing more from it.
    let errors = sim.producers()[0].errors_seen.clone();
    assert!(
        errors
            .get("ProducerFencedException")
            .is_some_and(|n| *n >= 1),
        "{errors:?}"
    );
    assert!(zombie.iter().all(|t| t.at_ms <= last.at_ms));
}

#[test]
fn the_coordinator_aborts_a_stalled_transaction_and_the_producer_is_told_it_is_fenced() {
    let sim = run(scenario("d13-producer-stall-past-transaction-timeout.json"));
    let txns = transactions(&sim);
    let last = txns.last().expect("transactions ran");
    assert_ne!(last.outcome, TxnOutcome::Committed);
    let errors = sim.producers()[0].errors_seen.clone();
    // The stale epoch is what the producer sees first on its sends (abortable), then the
    // coordinator's answer to its abort is fatal: ProducerFencedException with no other instance.
    assert!(
        errors.contains_key("InvalidProducerEpochException"),
        "{errors:?}"
    );
    assert!(errors.contains_key("ProducerFencedException"), "{errors:?}");
    let rc = read_by(&sim, 0);
    assert!(last.values.iter().all(|v| !rc.contains(v)));
}

/// The coordinator aborts on its own, with a bumped epoch, while the producer sleeps.
#[test]
fn the_timeout_abort_happens_during_the_stall() {
    let scenario = scenario("d13-producer-stall-past-transaction-timeout.json");
    let mut sim = ClusterSim::new(scenario, 1).expect("valid scenario");
    let mut aborted_at = None;
    while aborted_at.is_none() && sim.step().expect("runs") {
        aborted_at = sim
            .last_step_trace()
            .iter()
            .find(|l| {
                l.text
                    .contains("timed out after transaction.timeout.ms=3000")
            })
            .map(|l| l.time.as_millis());
    }
    let at = aborted_at.expect("the coordinator logs the timeout abort");
    // Frozen 5 s..15 s; the transaction times out 3 s after it started and the check runs
    // every second.
    assert!((5_000..15_000).contains(&at), "aborted at {at} ms");
}

#[test]
fn transactions_survive_a_transaction_coordinator_crash() {
    let sim = run(scenario("d21-transaction-coordinator-crash.json"));
    let txns = transactions(&sim);
    let before = txns.iter().filter(|t| t.at_ms < 10_000).count();
    let after: Vec<&Txn> = txns
        .iter()
        .filter(|t| t.at_ms > 12_000 && t.outcome == TxnOutcome::Committed)
        .collect();
    assert!(
        before > 10 && after.len() > 10,
        "{before} before, {} after",
        after.len()
    );
    // The same producer id throughout: the new coordinator loaded app's state from the log.
    assert!(txns.iter().all(|t| t.producer_id == txns[0].producer_id));
    let committed = values(&txns, |t| t.outcome == TxnOutcome::Committed);
    let aborted = values(&txns, |t| t.outcome == TxnOutcome::Aborted);
    let rc = read_by(&sim, 0);
    assert!(committed.is_subset(&rc));
    assert!(rc.is_disjoint(&aborted));
    let report = judge(&sim, true);
    assert!(report.unmet.is_empty(), "{:?}", report.unmet);
}

/// The view the app draws from: a leader's transactional batches are classified by the next
/// marker of their producer id (aborted data is followed by an ABORT marker, committed data by
/// a COMMIT marker, data with no marker yet is open and pins the LSO), and records' cards name
/// the control records.
#[test]
fn the_view_shows_open_aborted_and_committed_transactions_and_their_markers() {
    use logsim::ids::{BrokerId, Offset, PartitionIndex, TopicPartition};
    use logsim::sim::cluster::view::{ReplicaRole, TxnSpanKind};
    use logsim::time::SimTime;
    let mut scenario = scenario("d17-read-uncommitted-aborts.json");
    scenario.duration_ms = 60_000;
    let seed = scenario.seed.unwrap_or(1);
    let mut sim = ClusterSim::new(scenario, seed).expect("valid scenario");
    let mut kinds = BTreeSet::new();
    let mut saw_open_lso = false;
    for ms in (500..12_000).step_by(250) {
        while sim.now() < SimTime::from_millis(ms) {
            sim.step().expect("runs");
        }
        let view = sim.view();
        for p in view.partitions.iter().filter(|p| p.topic == "t") {
            let Some(leader) = p
                .replica_logs
                .iter()
                .find(|r| r.role == ReplicaRole::Leader)
            else {
                continue;
            };
            assert!(leader.last_stable_offset <= leader.high_watermark);
            for (i, span) in leader.txn_spans.iter().enumerate() {
                kinds.insert(format!("{:?}", span.kind));
                let next_marker = leader.txn_spans[i + 1..].iter().find(|m| {
                    m.producer_id == span.producer_id
                        && matches!(m.kind, TxnSpanKind::CommitMarker | TxnSpanKind::AbortMarker)
                });
                match span.kind {
                    TxnSpanKind::Aborted => {
                        assert_eq!(next_marker.map(|m| m.kind), Some(TxnSpanKind::AbortMarker))
                    }
                    TxnSpanKind::Committed => {
                        assert_eq!(next_marker.map(|m| m.kind), Some(TxnSpanKind::CommitMarker))
                    }
                    TxnSpanKind::Open => {
                        assert!(next_marker.is_none());
                        assert!(
                            leader.last_stable_offset <= span.first,
                            "an open transaction at {} pins the LSO ({})",
                            span.first,
                            leader.last_stable_offset
                        );
                        saw_open_lso |= leader.last_stable_offset < leader.high_watermark;
                    }
                    TxnSpanKind::CommitMarker | TxnSpanKind::AbortMarker => {
                        assert_eq!(span.first, span.last, "a marker is one record");
                        let cards = sim.replica_records(
                            &TopicPartition {
                                topic: "t".into(),
                                partition: PartitionIndex(p.partition),
                            },
                            BrokerId(leader.broker),
                            Offset(span.first as i64),
                            Offset(span.first as i64 + 1),
                            1,
                        );
                        let control = cards[0].control.clone().unwrap_or_default();
                        let expected = if span.kind == TxnSpanKind::CommitMarker {
                            "COMMIT (coordinator epoch"
                        } else {
                            "ABORT (coordinator epoch"
                        };
                        assert!(control.starts_with(expected), "{control}");
                    }
                }
            }
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "AbortMarker",
            "Aborted",
            "CommitMarker",
            "Committed",
            "Open"
        ]
    );
    assert!(
        saw_open_lso,
        "an open transaction held the LSO below the HW"
    );
    let transactions = sim.view().transactions;
    assert_eq!(transactions.len(), 1);
    assert_eq!(transactions[0].transactional_id, "app");
}

/// T-9: the pipeline's outputs and offsets commit together. Through aborts (a fifth of its
/// transactions) and a crash of the transaction coordinator's broker, every input below the
/// committed offset has exactly one committed output, and inputs were read again after aborts
/// (the seek back at work).
#[test]
fn a_pipeline_is_exactly_once_through_aborts_and_a_coordinator_crash_t9() {
    for file in [
        "pipeline-exactly-once.json",
        "pipeline-coordinator-crash.json",
    ] {
        for seed in 1..=6 {
            let mut sim = ClusterSim::new(scenario(file), seed).expect("valid");
            sim.run_to_end().expect("runs");
            let report = judge(&sim, true);
            assert!(
                report.unmet.is_empty(),
                "{file} seed {seed}: {:?}",
                report.unmet
            );
            let [p] = report.pipelines.as_slice() else {
                panic!("{file}: one pipeline, got {:?}", report.pipelines);
            };
            assert!(p.settled, "{file} seed {seed}: {:?}", p.unsettled_because);
            assert!(
                p.duplicated.is_empty() && p.lost.is_empty() && p.ahead.is_empty(),
                "{file} seed {seed}: {:?}",
                p.lines()
            );
            assert_eq!(
                p.inputs_committed, p.outputs_committed,
                "{file} seed {seed}"
            );
            assert!(
                p.outputs_committed >= 150,
                "{file} seed {seed}: {:?}",
                p.lines()
            );
            let aborted = transactions(&sim)
                .iter()
                .filter(|t| t.outcome == TxnOutcome::Aborted)
                .count();
            assert!(aborted >= 1, "{file} seed {seed}: {aborted} aborts");
            assert!(report.groups.reprocessed > 0, "{file} seed {seed}");
        }
    }
}

/// D16: without the seek back, the aborted inputs are skipped for good: the exactly-once check
/// names them, as legal for that application (the offsets and outputs still never disagree the
/// other way: no duplicates, nothing ahead).
#[test]
fn d16_abort_without_seek_skips_inputs() {
    let sim = run(scenario("d16-abort-without-seek.json"));
    let report = judge(&sim, true);
    assert!(report.unmet.is_empty(), "{:?}", report.unmet);
    let [p] = report.pipelines.as_slice() else {
        panic!("{:?}", report.pipelines)
    };
    assert!(p.settled);
    assert!(p.lost.len() >= 10, "{:?}", p.lines());
    assert!(
        p.duplicated.is_empty() && p.ahead.is_empty(),
        "{:?}",
        p.lines()
    );
    assert!(p.lost_legal_because().is_some());
    assert_eq!(report.pipeline_bugs(), 0);
    assert!(p.lines()[0].contains("lost"), "{:?}", p.lines());
    // The same run with the seek back loses nothing.
    let mut fixed = scenario("d16-abort-without-seek.json");
    fixed.producers[1].transactions.seek_back_on_abort = true;
    let sim = run(fixed);
    let report = judge(&sim, true);
    assert!(
        report.pipelines[0].lost.is_empty(),
        "{:?}",
        report.pipelines[0].lines()
    );
    // And a checker that judged D16's run as if the application did seek back calls the
    // skipped inputs bugs.
    let sim = run(scenario("d16-abort-without-seek.json"));
    let mut strict = judge(&sim, true).pipelines[0].clone();
    strict.seek_back_on_abort = true;
    assert!(strict.bugs() >= 10);
}

/// D14, T-8: with partition verification off, a Produce held past its transaction's ABORT
/// marker opens a transaction no coordinator knows of: it hangs, the LSO stays at its start
/// while the HW moves on, the read_committed reader stops there and the read_uncommitted one
/// reads past it. With verification on (T-3, the 3.6+ default) the same late batch is refused
/// and nothing hangs.
#[test]
fn d14_a_late_produce_hangs_without_verification_and_is_refused_with_it() {
    let sim = run(scenario("d14-hanging-transaction.json"));
    let report = judge(&sim, true);
    assert!(report.unmet.is_empty(), "{:?}", report.unmet);
    let hanging = sim.hanging_transactions();
    let [h] = hanging.as_slice() else {
        panic!("{hanging:?}")
    };
    assert_eq!(h.topic_partition.to_string(), "t-0");
    let leader = &sim.brokers()[h.leader as usize - 1];
    let replica = &leader.replicas[&h.topic_partition];
    assert_eq!(
        replica.last_stable_offset().0,
        h.first_offset,
        "the LSO is stuck at it"
    );
    assert!(
        replica.high_watermark().0 > h.first_offset + 50,
        "the HW moved on"
    );
    let offsets_read = |consumer: u32| {
        sim.history()
            .iter()
            .filter_map(|op| match op {
                Op::Poll {
                    consumer: c,
                    records,
                    ..
                } if *c == consumer => records.last().map(|(o, _)| o.0),
                _ => None,
            })
            .max()
            .unwrap_or(-1)
    };
    assert!(
        offsets_read(0) < h.first_offset,
        "read_committed stops before it"
    );
    assert!(
        offsets_read(1) > h.first_offset + 50,
        "read_uncommitted reads on"
    );
    assert!(sim
        .summary_tables()
        .contains("kafka-transactions find-hanging"));
    assert_eq!(sim.verification_refusals(), 0);

    let sim = run(scenario("d14-verification-on.json"));
    let report = judge(&sim, true);
    assert!(report.unmet.is_empty(), "{:?}", report.unmet);
    assert!(sim.hanging_transactions().is_empty());
    assert!(sim.verification_refusals() >= 1);
    let replica = sim
        .brokers()
        .iter()
        .filter(|b| b.alive)
        .filter_map(|b| {
            b.replicas
                .values()
                .find(|r| r.is_leader() && r.log().topic_partition().topic == "t")
        })
        .next()
        .expect("t-0 has a leader");
    assert_eq!(replica.last_stable_offset(), replica.high_watermark());
}

/// J-3, J-4: pipelines reading at read_uncommitted read open transactions' records: a
/// transaction of a reads what an open one of b wrote and the other way round (G1c of
/// write-read edges alone) and c's transaction reads its own write (a precommitted read),
/// both legal at that level and bugs if the same history had come from read_committed
/// readers; the same pipelines at read_committed read neither.
#[test]
fn early_reads_make_g1c_and_precommitted_reads_only_at_read_uncommitted() {
    use logsim::check::drill::policy_for;
    use logsim::check::history::{check, AnomalyKind};
    let ru = run(scenario("early-read-uncommitted.json"));
    let report = judge(&ru, false);
    assert!(report.unmet.is_empty(), "{:?}", report.unmet);
    let reads_only: Vec<_> = report
        .check
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::G1c && a.detail.contains("write-read edges only"))
        .collect();
    assert!(!reads_only.is_empty(), "{:?}", report.check.anomalies);
    assert!(reads_only.iter().all(|a| a.legal_because.is_some()));
    let own = report.check.count(AnomalyKind::PrecommittedRead);
    assert!(own > 0);
    // The same history judged as if every consumer read at read_committed.
    let mut strict = policy_for(&ru);
    strict.read_committed_consumers = (0..ru.scenario().consumers.len() as u32).collect();
    let judged = check(ru.history(), &strict, false);
    let bugs: BTreeSet<&str> = judged.bugs().map(|a| a.kind.name()).collect();
    assert_eq!(bugs, BTreeSet::from(["G1c", "precommitted-read"]));
    assert_eq!(
        judged
            .bugs()
            .filter(|a| a.kind == AnomalyKind::PrecommittedRead)
            .count() as u32,
        own
    );

    let rc = run(scenario("early-read-committed.json"));
    let report = judge(&rc, false);
    assert!(report.unmet.is_empty(), "{:?}", report.unmet);
    assert!(!report.has_bug(), "{:?}", report.check.anomalies);
    assert_eq!(report.check.count(AnomalyKind::PrecommittedRead), 0);
    assert!(report
        .check
        .anomalies
        .iter()
        .all(|a| !a.detail.contains("write-read edges only")));
    // The pipelines did circulate records through their transactions.
    let reads: usize = rc
        .history()
        .iter()
        .map(|op| match op {
            Op::Txn {
                reads,
                outcome: TxnOutcome::Committed,
                ..
            } => reads.len(),
            _ => 0,
        })
        .sum();
    assert!(reads >= 40, "{reads}");
}

/// D15, J-7 #3, T-10: an EndTxn(commit) held past the producer's timeout arrives during a
/// later transaction. Below transaction version 2 it ends that transaction early: records the
/// producer then aborts are committed, so the read_committed consumer reads values of an
/// aborted transaction (G1a, a bug Kafka's protocol allows). With version 2 each EndTxn
/// bumps the epoch and the stale copy is fenced: nothing ends early.
#[test]
fn d15_a_late_end_txn_ends_the_next_transaction_only_below_transaction_version_2() {
    use logsim::check::history::AnomalyKind;
    let sim = run(scenario("d15-late-end-txn.json"));
    let report = judge(&sim, false);
    assert!(report.unmet.is_empty(), "{:?}", report.unmet);
    let torn: Vec<_> = report
        .check
        .bugs()
        .filter(|a| a.kind == AnomalyKind::G1a && a.detail.starts_with("consumer 0 "))
        .collect();
    assert!(!torn.is_empty(), "{:?}", report.check.anomalies);
    // The torn transaction: some of its values committed, the producer counts it aborted.
    let txns = transactions(&sim);
    let value = torn[0].value.expect("a value").0;
    let t = txns
        .iter()
        .find(|t| t.values.contains(&value))
        .expect("its transaction");
    assert_eq!(t.outcome, TxnOutcome::Aborted);
    assert!(txns
        .iter()
        .all(|t| t.producer_epoch == txns[0].producer_epoch));

    let sim = run(scenario("d15-late-end-txn-tv2.json"));
    let report = judge(&sim, false);
    assert!(report.unmet.is_empty(), "{:?}", report.unmet);
    assert!(!report.has_bug(), "{:?}", report.check.anomalies);
    let txns = transactions(&sim);
    assert!(txns.len() >= 20, "{}", txns.len());
    // Each transaction the coordinator ended ran at an epoch of its own (the ones the
    // application abandoned while a commit was in flight never reached it).
    let committed: Vec<i16> = txns
        .iter()
        .filter(|t| t.outcome == TxnOutcome::Committed)
        .map(|t| t.producer_epoch)
        .collect();
    assert!(
        committed.windows(2).all(|w| w[1] > w[0]),
        "every transaction commit at a new epoch: {committed:?}"
    );
    assert!(txns
        .windows(2)
        .all(|w| w[1].producer_epoch >= w[0].producer_epoch));
    assert!(txns.iter().any(|t| t.outcome == TxnOutcome::Committed));
}

/// T-8, T-10: the D14 late produce with verification off hangs a transaction below version 2;
/// with version 2 the ABORT marker carries the bumped epoch, so the leader refuses the late
/// batch's older epoch and nothing hangs.
#[test]
fn d14_transaction_version_2_fences_the_late_produce_by_epoch() {
    let mut s = scenario("d14-hanging-transaction.json");
    s.broker.transaction_version = 2;
    let sim = run(s);
    assert!(sim.hanging_transactions().is_empty());
    assert_eq!(sim.verification_refusals(), 0, "verification is off");
    let report = judge(&sim, true);
    assert!(!report.has_bug(), "{:?}", report.check.anomalies);
}
