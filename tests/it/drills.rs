//! The drill library: every scenario under scenarios/ runs to its end and must show its
//! expected outcome (anomalies the configuration makes legal, no bug where it promises none).
//! Plus: the same seed gives the same trace, safe configurations stay safe across seeds, and
//! the checker does flag a loss as a bug when the configuration forbids it.

use logsim::check::drill::{judge, policy_for};
use logsim::check::history::{check, PartitionPolicy, Policy};
use logsim::sim::cluster::scenario::{Action, ClusterScenario};
use logsim::sim::cluster::ClusterSim;
use std::path::PathBuf;

fn scenarios() -> Vec<(PathBuf, ClusterScenario)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read scenario");
            let s: ClusterScenario =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, s)
        })
        .collect()
}

/// The scenario file of the drill library with this name.
fn scenario_named(file: &str) -> ClusterScenario {
    scenarios()
        .into_iter()
        .find(|(p, _)| p.ends_with(file))
        .unwrap_or_else(|| panic!("scenarios/{file}"))
        .1
}

fn run(scenario: ClusterScenario, seed: u64) -> ClusterSim {
    let mut sim = ClusterSim::new(scenario, seed).expect("valid scenario");
    sim.run_to_end().expect("runs");
    sim
}

#[test]
fn every_drill_shows_its_expected_outcome() {
    let all = scenarios();
    assert!(all.len() >= 3, "the drill library ships with the repo");
    for (path, scenario) in all {
        let seed = scenario.seed.unwrap_or(1);
        let sim = run(scenario, seed);
        let report = judge(&sim, true);
        assert!(
            report.unmet.is_empty(),
            "{}: {:?}\nanomalies: {}",
            path.display(),
            report.unmet,
            report.check.anomalies.len()
        );
    }
}

/// Five seeds in 1..=100 other than the scenario's own, drawn from its file name (FNV-1a), so
/// each drill gets different ones and a rerun gets the same.
fn other_seeds(file_name: &str, own: u64) -> Vec<u64> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in file_name.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut seeds = Vec::new();
    while seeds.len() < 5 {
        // splitmix64's step: well spread even for names that differ in one letter.
        hash = hash.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = hash;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let seed = 1 + (z ^ (z >> 31)) % 100;
        if seed != own && !seeds.contains(&seed) {
            seeds.push(seed);
        }
    }
    seeds
}

/// A drill's point must show at every seed, not only its own: where it depends on timing or
/// placement the scenario forces it. Each scenario runs at five other seeds and is judged as
/// `logsim run` judges it (expectations, plus invariant violations). `logsim scenarios
/// --seeds 100` checks seeds 1..=100.
#[test]
fn every_drill_shows_its_expected_outcome_at_other_seeds() {
    use logsim::check::drill::final_reads_complete;
    use logsim::time::SimTime;
    let mut runs = Vec::new();
    for (path, scenario) in scenarios() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for seed in other_seeds(&name, scenario.seed.unwrap_or(1)) {
            runs.push((name.clone(), scenario.clone(), seed));
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let misses = std::sync::Mutex::new(Vec::new());
    // Two workers: the runs are independent, and the suite must stay quick on two cores.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((name, scenario, seed)) = runs.get(i) else {
                    break;
                };
                let end = SimTime::from_millis(scenario.duration_ms);
                let sim = run(scenario.clone(), *seed);
                let report = judge(&sim, final_reads_complete(sim.scenario(), end));
                let mut missed: Vec<String> = report
                    .violations
                    .iter()
                    .map(|v| format!("VIOLATION {}: {}", v.invariant, v.detail))
                    .collect();
                missed.extend(report.unmet);
                if !missed.is_empty() {
                    misses.lock().expect("no worker panicked").push(format!(
                        "{name} seed {seed}: {}; reproduce: logsim run --scenario scenarios/{name} --seed {seed}",
                        missed.join("; ")
                    ));
                }
            });
        }
    });
    let mut misses = misses.into_inner().expect("no worker panicked");
    misses.sort();
    assert!(
        misses.is_empty(),
        "{} run(s) missed their drill's expected outcome:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    // A short drill with network faults, so the seed decides many draws.
    let scenario = scenario_named("d7-retries-without-idempotence.json");
    let a = run(scenario.clone(), 11).trace_hash();
    let b = run(scenario.clone(), 11).trace_hash();
    let c = run(scenario, 12).trace_hash();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn acks_all_with_min_isr_2_survives_several_seeds() {
    let scenario = scenario_named("d1-acks-all-safe.json");
    for seed in 1..=2 {
        let sim = run(scenario.clone(), seed);
        let report = judge(&sim, true);
        assert!(
            !report.has_bug(),
            "seed {seed}: {:?} {:?}",
            report.violations,
            report.check.bugs().next()
        );
        assert!(
            report.check.sends_acked > 500,
            "seed {seed}: the workload made progress"
        );
    }
}

/// The checker can fail: the D1 history (acks=1 loses acknowledged records) judged as if the
/// producer had used acks=all with min.insync.replicas=2 and clean elections is full of bugs.
#[test]
fn the_same_loss_is_a_bug_under_a_configuration_that_forbids_it() {
    let scenario = scenario_named("d1-acks1-leader-crash.json");
    let sim = run(scenario, 7);
    let legal = policy_for(&sim);
    assert_eq!(legal.producers[0].acks, 1);
    // Listing nothing judges every producer and partition strictly.
    let strict = Policy::default();
    let report = check(sim.history(), &strict, true);
    assert!(report.bugs().count() > 0);
    assert!(report.bugs().any(|a| a.kind.name() == "lost-write"));
}

/// D19's skipped records are legal only because the run's consumer reset past records
/// retention deleted: the same history without that knowledge is full of lost writes.
#[test]
fn retention_skips_are_legal_only_below_the_reset_point() {
    let scenario = scenario_named("d19-retention-before-consumption.json");
    let seed = scenario.seed.unwrap_or(1);
    let sim = run(scenario, seed);
    let legal = policy_for(&sim);
    assert!(legal
        .partitions
        .iter()
        .any(|p| p.retention_deleted_unread.is_some()));
    let blind = Policy {
        partitions: legal
            .partitions
            .iter()
            .map(|p| PartitionPolicy {
                retention_deleted_unread: None,
                ..p.clone()
            })
            .collect(),
        ..legal
    };
    let report = check(sim.history(), &blind, true);
    assert!(report.bugs().any(|a| a.kind.name() == "lost-write"));
}

/// The clock-skew drill: a broker clock 8 days ahead deletes by retention.ms records only
/// seconds old, so the consumer's reset skips records it never read; with a true clock the
/// same run deletes nothing.
#[test]
fn a_skewed_broker_clock_loses_unread_records_to_retention() {
    let scenario = scenario_named("clock-skew-retention.json");
    let seed = scenario.seed.unwrap_or(1);
    let skewed = run(scenario.clone(), seed);
    assert!(!skewed.retention_resets().is_empty());
    let mut true_clock = scenario;
    true_clock
        .steps
        .retain(|s| !matches!(s.action, Action::SkewClock { .. }));
    let healthy = run(true_clock, seed);
    assert!(healthy.retention_resets().is_empty());
    let report = judge(&healthy, true);
    assert_eq!(report.check.anomalies.len(), 0);
}

/// The pause drill ends with the stopped broker back in the ISR under the leader elected while
/// it was stopped.
#[test]
fn the_paused_leader_rejoins_under_a_new_leader() {
    let scenario = scenario_named("pause-leader.json");
    let paused = scenario
        .steps
        .iter()
        .find_map(|s| match s.action {
            Action::PauseBroker { broker } => Some(broker),
            _ => None,
        })
        .expect("a pause step");
    let seed = scenario.seed.unwrap_or(1);
    let sim = run(scenario, seed);
    let row = sim.controller().describe().remove(0);
    assert_ne!(row.leader.map(|l| l.0), Some(paused));
    assert!(row.leader_epoch.0 >= 1, "an election happened");
    assert!(row.isr.iter().any(|b| b.0 == paused), "{:?}", row.isr);
}

/// R-12 end to end. In D4 the consumer reads records only the old leader A had; then B is
/// elected uncleanly and reuses their offsets. After the leader change the consumer validates
/// its position with OffsetsForLeaderEpoch, finds it past the end of its epoch on B, and rewinds
/// exactly to the divergence point (where B's own epoch begins), reading B's records from
/// there. Without validation it would fetch from its old position and reset to the log start.
#[test]
fn d4_consumer_detects_the_truncation_and_rewinds_to_the_divergence_point() {
    use logsim::sim::cluster::clients::TruncationOutcome;
    use logsim::sim::history::Op;
    let scenario = scenario_named("d4-unclean-election.json");
    let seed = scenario.seed.unwrap_or(1);
    let sim = run(scenario, seed);
    assert!(!sim.unclean_elections().is_empty());
    let truncations = sim.log_truncations();
    assert_eq!(truncations.len(), 1, "{truncations:?}");
    let t = &truncations[0];
    // The divergence point, from the new leader's own log: where its first epoch newer than
    // the consumer's began.
    let leader = sim
        .controller()
        .partition(&t.partition)
        .and_then(|s| s.leader)
        .expect("a leader at the end");
    let replica = sim.brokers()[leader.0 as usize - 1]
        .replicas
        .get(&t.partition)
        .expect("the leader hosts it");
    let divergence_point = replica
        .epoch_cache()
        .entries()
        .iter()
        .find(|e| e.epoch > t.position_epoch)
        .map(|e| e.start_offset)
        .expect("the unclean leader's epoch");
    assert!(
        t.position > divergence_point,
        "the consumer had read past the divergence point: {t:?}"
    );
    assert_eq!(t.outcome, TruncationOutcome::SeekTo(divergence_point));
    // Its next poll starts exactly there, and re-reads those offsets with B's values.
    let next_poll = sim
        .history()
        .iter()
        .zip(sim.history_times())
        .find_map(|(op, at)| match op {
            Op::Poll {
                partition, records, ..
            } if *at >= t.at && *partition == t.partition => Some(records.clone()),
            _ => None,
        })
        .expect("the consumer reads again");
    assert_eq!(next_poll[0].0, divergence_point);
    let report = judge(&sim, true);
    assert!(report.check.anomalies.iter().any(|a| {
        a.kind.name() == "inconsistent-offsets"
            && a.offset == Some(divergence_point)
            && a.legal_because.is_some()
    }));
    assert!(!report.has_bug(), "{:?}", report.check.bugs().next());
}

/// The same drill with `auto.offset.reset=none`: the truncation raises LogTruncationException
/// and the consumer reads nothing of the partition afterwards.
#[test]
fn d4_with_auto_offset_reset_none_raises_log_truncation_exception() {
    use logsim::sim::cluster::clients::TruncationOutcome;
    use logsim::sim::cluster::scenario::AutoOffsetReset;
    use logsim::sim::history::Op;
    let mut scenario = scenario_named("d4-unclean-election.json");
    scenario.consumers[0].auto_offset_reset = AutoOffsetReset::None;
    let seed = scenario.seed.unwrap_or(1);
    let sim = run(scenario, seed);
    let truncations = sim.log_truncations();
    assert_eq!(truncations.len(), 1, "{truncations:?}");
    assert_eq!(truncations[0].outcome, TruncationOutcome::Raised);
    let polls_after = sim
        .history()
        .iter()
        .zip(sim.history_times())
        .filter(|(op, at)| matches!(op, Op::Poll { .. }) && **at >= truncations[0].at)
        .count();
    assert_eq!(polls_after, 0);
}

/// Swarm seeds that once failed, kept as regressions. 359: a replica restarted with an empty
/// log kept a stale leader epoch in its cache, fetched with it forever and never rejoined the
/// ISR, so with min.insync.replicas=3 an acknowledged record stayed invisible. 86: an
/// idempotent producer bumped its epoch while a batch already in the log waited for a retry,
/// rewrote that batch's sequence and wrote it twice. 152: a lost AlterPartition was never
/// resent, the ISR never grew back to min.insync.replicas and an acknowledged record stayed
/// above the high watermark. 926: a producer whose partition had no leader asked for metadata
/// again the moment each answer came, and every duplicated answer started one more such loop,
/// until the run drowned in events; refreshes now wait `retry.backoff.ms`.
#[test]
fn swarm_regression_seeds_pass() {
    const REGRESSION_SEEDS: &[u64] = &[86, 152, 359, 926];
    for &seed in REGRESSION_SEEDS {
        assert_swarm_seed_passes(seed);
    }
}

/// Swarm seeds whose history once showed one offset holding two values, acknowledged acks=all
/// records lost, because a replica that lost its unsynced page cache (a power loss, torn or
/// not) while in the ISR stayed in it while the controller fenced the other members, and was
/// elected again with its shortened log: KIP-966's "last replica standing", which Kafka without
/// eligible leader replicas (`eligible.leader.replicas.enable=false`) does not survive. The
/// checker did not know the fault, since at the power loss the replica was not yet the only
/// ISR member (3344: t-1 offset 571, 3639: t-0 130, 5065: t-1 168, 5385: t-1 269 after a torn
/// write). Now each run names the partition, and the loss is legal there.
#[test]
fn last_replica_standing_seeds_pass() {
    for seed in [3344, 3639, 5065, 5385] {
        let sim = assert_swarm_seed_passes(seed);
        assert!(
            !sim.lossy_leader_elections().is_empty(),
            "seed {seed}: the lossy replica was elected"
        );
    }
}

/// Seed 4902: a broker paused (SIGSTOP) just after acknowledging an acks=all record to RF 1
/// t-0, then killed (no power loss), came back without offset 236, which a later record took.
/// The simulated disk dropped the page-cache write still queued at the kill; in Kafka that
/// write (`FileChannel.write` in `LogSegment.append`) returned before
/// `Partition.appendRecordsToLeader` did, and a process crash keeps the page cache. A process
/// crash now lets the kernel finish what the process handed it.
#[test]
fn a_process_crash_keeps_acknowledged_page_cache_writes() {
    assert_swarm_seed_passes(4902);
}

/// Seed 4953: a power loss emptied the only broker's logs, `__transaction_state` with them, so
/// the transaction coordinator answered every AddPartitionsToTxn with
/// INVALID_PRODUCER_ID_MAPPING. The producer aborted locally and retried with the same producer
/// id for ever: nothing was acknowledged or read after healing. Kafka's
/// `TransactionManager.beginCompletingTransaction` skips EndTxn after that error and sends
/// InitProducerId, which gets a new producer id; so does the simulated producer now.
#[test]
fn a_producer_whose_id_mapping_was_lost_gets_a_new_producer_id() {
    assert_swarm_seed_passes(4953);
}

/// Seeds whose transaction outcomes changed after a power loss: 2597, the only broker lost the
/// ABORT marker of a transaction on t-0 and the producer's next COMMIT marker committed the
/// aborted records still open in the log, so a read_committed consumer read one (G1a); 3289,
/// `__transaction_state-0` lost the record adding out-1 to a transaction (the last replica
/// standing again), so EndTxn(commit) wrote no marker there and a later ABORT marker ended a
/// value the producer saw commit (lost-write). Legal where the partition, or the producer's
/// coordinator partition, can lose records; the history checks find no bug. (3289 also shows
/// a double ownership in a consumer group, judged by the group checks, not here.)
#[test]
fn transaction_outcomes_a_power_loss_changed_are_legal() {
    use logsim::check::drill::judge;
    for seed in [2597, 3289] {
        use logsim::sim::cluster::swarm::swarm_scenario;
        let sim = run(swarm_scenario(seed), seed);
        let report = judge(&sim, true);
        assert!(
            report.violations.is_empty(),
            "seed {seed}: {:?}",
            report.violations
        );
        assert!(
            report.check.bugs().next().is_none(),
            "seed {seed}: {:?}",
            report.check.bugs().next()
        );
        let excused = |kind: &str| {
            report
                .check
                .anomalies
                .iter()
                .any(|a| a.kind.name() == kind && a.legal_because.is_some())
        };
        // Since SyncGroup waits for the group's record and Produce answers come in request
        // order, seed 2597's run no longer reaches the lost ABORT marker; the rule that excuses
        // it is covered by the history checker's unit tests, and the seed stays a regression.
        if seed == 3289 {
            assert!(
                excused("lost-write"),
                "seed {seed}: lost-write found and excused"
            );
        }
    }
}

/// Swarm seeds the group checker once failed with "owned by consumer A (generation g) and
/// consumer B (generation g+1) at once", where A never joined generation g+1: the coordinator
/// completed it without A (GroupMetadataManager.completeClassicGroupJoin) and A had not learned
/// it, which the classic protocol allows. 130: A's onJoinPrepare offset commit could not reach
/// a coordinator whose offsets partition had lost its follower, the coordinator removed A at
/// the rebalance timeout, and A, with no coordinator to hear from (AbstractCoordinator's
/// heartbeat thread only marks it unknown), still had its generation at close()
/// (onPartitionsRevoked). 257: A was removed at session.timeout.ms during a GC pause and closed
/// before it resumed. 1362: A's onJoinPrepare commit kept failing until the rebalance timeout
/// removed it, and it revoked before JoinGroup only after. 3581: A is a static member stalled in
/// its poll loop; completeClassicGroupJoin keeps a static member that did not rejoin, with its
/// old metadata, and the leader moved its partition. 167: A left at the poll deadline and
/// closed without polling again; close() called onPartitionsRevoked, where Kafka's
/// ConsumerCoordinator.onLeavePrepare calls onPartitionsLost for a member whose generation was
/// reset.
#[test]
fn group_owners_out_of_the_new_generation_are_legal_zombies() {
    for seed in [130, 167, 257, 1362, 3581] {
        assert_swarm_seed_passes(seed);
    }
    use logsim::sim::cluster::swarm::swarm_scenario;
    use logsim::sim::history::Op;
    let sim = run(swarm_scenario(167), 167);
    let lost_at_close = sim.history().iter().any(|op| {
        matches!(
            op,
            Op::Revoked {
                consumer: 1,
                generation: -1,
                lost: true,
                ..
            }
        )
    });
    assert!(
        lost_at_close,
        "consumer 1 closes after leaving at the poll deadline: onPartitionsLost"
    );
}

/// The group coordinator answers SyncGroup only once the group metadata record with the
/// leader's assignment is committed (GroupMetadataManager.classicGroupSyncToLeader), and
/// answers every member with the append's mapped error otherwise: a zombie coordinator (cut
/// off, or not yet aware it lost the offsets partition) can no longer complete a rebalance
/// nobody else sees, hand out partitions and serve stale offsets. 2176 2384 2574 3482 5282:
/// two owners at once after failover; 2295: a member joined through the zombie and started
/// below the committed offset; 5967: the same. 5593 5704: the record of a stored generation is
/// lost with the only in-sync replica's page cache (power loss, min.insync.replicas=1), so the
/// next coordinator reloads the generation before and reuses the number; legal, as in Kafka.
#[test]
fn sync_group_is_answered_only_once_the_group_metadata_record_is_stored() {
    for seed in [2176, 2295, 2384, 2574, 3482, 5282, 5593, 5704, 5967] {
        assert_swarm_seed_passes(seed);
    }
}

/// Runs swarm seed `seed` and fails, naming it, on a bug or a liveness failure; returns the
/// finished run.
fn assert_swarm_seed_passes(seed: u64) -> ClusterSim {
    use logsim::check::drill::judge_swarm;
    use logsim::sim::cluster::swarm::{swarm_scenario, SAFETY_PHASE_MS};
    let sim = run(swarm_scenario(seed), seed);
    let verdict = judge_swarm(&sim, logsim::time::SimTime::from_millis(SAFETY_PHASE_MS));
    assert!(
        !verdict.failed(),
        "seed {seed}: {:?} {:?} liveness {}",
        verdict.report.violations.first(),
        verdict.report.check.bugs().next(),
        verdict.liveness_ok()
    );
    sim
}

/// Swarm seeds with a transactional producer (a third of them; half of those read at
/// read_committed) under the usual faults: no bug, and progress once healed. The regressions
/// among them: 32, a WriteTxnMarkers to a crashed leader waited out request.timeout.ms
/// (connection refused now fails it at once, and swarm brokers use request.timeout.ms=5000);
/// 708, EndTxn(commit) went out on the tick a send failed, committing a transaction with a
/// failed record, and the producer then hung; 2777, a fenced producer's batches still in
/// flight failed the transaction of the instance that replaced it, which then spun at one
/// instant until the event limit.
#[test]
fn transactional_swarm_seeds_pass() {
    use logsim::sim::cluster::swarm::swarm_scenario;
    let transactional = |seed: &u64| {
        swarm_scenario(*seed)
            .producers
            .iter()
            .any(|p| p.config.transactional_id.is_some())
    };
    let mut seeds: Vec<u64> = (1..200).filter(transactional).take(12).collect();
    seeds.extend([32, 708, 2777]);
    let mut read_committed = 0;
    for seed in seeds {
        assert!(transactional(&seed), "seed {seed} is transactional");
        let scenario = swarm_scenario(seed);
        read_committed += scenario
            .consumers
            .iter()
            .filter(|c| {
                c.isolation_level == logsim::broker::messages::IsolationLevel::ReadCommitted
            })
            .count();
        assert_swarm_seed_passes(seed);
    }
    assert!(read_committed > 0, "some seeds read at read_committed");
}

/// The example in docs/scenarios.md is a valid scenario and shows what it says it shows.
#[test]
fn the_documented_example_scenario_runs_as_documented() {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/scenarios.md"),
    )
    .expect("docs/scenarios.md");
    let start = doc.find("```json\n").expect("an example") + "```json\n".len();
    let end = start + doc[start..].find("```").expect("closed");
    let scenario: ClusterScenario = serde_json::from_str(&doc[start..end]).expect("parses");
    let seed = scenario.seed.unwrap_or(1);
    let report = judge(&run(scenario, seed), true);
    assert!(report.unmet.is_empty(), "{:?}", report.unmet);
}

/// R-10: after the crashed broker is back in the ISR, the periodic preferred leader election
/// hands every partition back to its first assigned replica; without it, t-0 stays moved.
#[test]
fn preferred_leader_election_returns_leadership() {
    let scenario = scenario_named("preferred-leader-returns.json");
    let preferred_everywhere = |sim: &ClusterSim| {
        sim.controller()
            .describe()
            .iter()
            .all(|row| row.leader == row.replicas.first().copied())
    };
    let seed = scenario.seed.unwrap_or(1);
    assert!(preferred_everywhere(&run(scenario.clone(), seed)));
    let mut off = scenario;
    off.broker.auto_leader_rebalance_enable = false;
    assert!(!preferred_everywhere(&run(off, seed)));
}

/// Swarm seeds with a consume-transform-produce pipeline (a sixth of them) under the usual
/// faults: the run settles, the exactly-once check judges it, and every input below the
/// committed offsets has exactly one committed output (or the run's faults excuse a loss).
#[test]
fn pipeline_swarm_seeds_are_exactly_once() {
    use logsim::check::drill::judge_swarm;
    use logsim::sim::cluster::swarm::{swarm_scenario, SAFETY_PHASE_MS};
    let seeds: Vec<u64> = (1..300)
        .filter(|s| {
            swarm_scenario(*s)
                .producers
                .iter()
                .any(|p| p.transactions.input_consumer.is_some())
        })
        .take(8)
        .collect();
    assert_eq!(seeds.len(), 8);
    let mut judged = 0;
    for seed in seeds {
        let sim = run(swarm_scenario(seed), seed);
        let verdict = judge_swarm(&sim, logsim::time::SimTime::from_millis(SAFETY_PHASE_MS));
        let [p] = verdict.report.pipelines.as_slice() else {
            panic!("seed {seed}: {:?}", verdict.report.pipelines)
        };
        assert!(p.settled, "seed {seed}: {:?}", p.unsettled_because);
        assert_eq!(p.bugs(), 0, "seed {seed}: {:?}", p.lines());
        assert!(p.outputs_committed > 100, "seed {seed}: {:?}", p.lines());
        assert!(verdict.report.violations.is_empty(), "seed {seed}");
        assert!(verdict.report.check.bugs().next().is_none(), "seed {seed}");
        judged += u32::from(p.loss_legal_because.is_none());
    }
    assert!(judged >= 4, "most seeds are judged strictly ({judged})");
}
