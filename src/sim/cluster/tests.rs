//! Cross-target determinism of the cluster simulation: swarm seeds run for 15 simulated
//! seconds must give the trace hashes the native run computed and checked into
//! tests/golden/swarm-hashes.txt (rewrite natively with LOGSIM_BLESS=1). The same test runs in
//! wasm32 under Node inside `cargo xtask test`.

use super::swarm::swarm_scenario;
use super::ClusterSim;
use crate::time::SimTime;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const GOLDEN: &str = include_str!("../../../tests/golden/swarm-hashes.txt");
const SEEDS: u64 = 8;
const RUN_MS: u64 = 15_000;

fn computed() -> String {
    let mut out = String::new();
    for seed in 1..=SEEDS {
        let mut sim = ClusterSim::new(swarm_scenario(seed), seed)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        while sim
            .next_due()
            .is_some_and(|t| t <= SimTime::from_millis(RUN_MS))
        {
            sim.step().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        }
        out.push_str(&format!(
            "{seed} {:016x} {}\n",
            sim.trace_hash(),
            sim.steps()
        ));
    }
    out
}

#[test]
fn swarm_hashes_match_the_natively_computed_golden_file() {
    let got = computed();
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var_os("LOGSIM_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/swarm-hashes.txt");
        std::fs::write(path, &got).unwrap_or_else(|e| panic!("{path}: {e}"));
        return;
    }
    assert_eq!(
        GOLDEN.lines().count() as u64,
        SEEDS,
        "golden file lists every seed"
    );
    for (want, have) in GOLDEN.lines().zip(got.lines()) {
        assert_eq!(
            want, have,
            "cluster trace differs from the native golden file"
        );
    }
}

/// The metadata log compacts to the newest record per key, and brokers that replay it (after a
/// restart, or catching up on a heartbeat) still end with the controller's view of every
/// partition. A tiny threshold forces many compactions in a faulty swarm run.
#[test]
fn a_compacted_metadata_log_still_gives_every_broker_the_controllers_view() {
    use crate::ids::TopicPartition;
    for seed in [2, 6] {
        let mut sim = ClusterSim::new(swarm_scenario(seed), seed).expect("valid");
        sim.metadata_compact_at = 8;
        sim.run_to_end().expect("runs");
        let partitions = sim.controller().describe();
        assert!(
            sim.metadata_log.len() < 8 + 2 * (partitions.len() + 8),
            "seed {seed}: {} records kept",
            sim.metadata_log.len()
        );
        assert!(sim
            .metadata_log
            .windows(2)
            .all(|w| w[0].offset < w[1].offset));
        for broker in sim.brokers().iter().filter(|b| b.alive) {
            for row in &partitions {
                let tp = TopicPartition {
                    topic: row.topic.clone(),
                    partition: row.partition,
                };
                let cached = broker.cached_partition(&tp).expect("cached");
                assert_eq!(
                    (cached.leader, &cached.isr, cached.leader_epoch.0),
                    (row.leader, &row.isr, row.leader_epoch.0),
                    "seed {seed}: broker {} on {tp}",
                    broker.id.0
                );
            }
        }
        let report = crate::check::drill::judge_swarm(&sim, SimTime::from_millis(20_000));
        assert!(!report.failed(), "seed {seed}: {:?}", report.report.unmet);
    }
}

/// The app's fault buttons add steps to a running simulation, and its exported scenario file
/// must replay to the same trace: a step added live runs exactly where the same step written in
/// the file from the start runs. A clone taken mid-run (the app's rewind checkpoints) continues
/// exactly as the original.
#[test]
fn a_step_added_mid_run_replays_like_the_same_step_in_the_file() {
    use super::scenario::{Action, Step};
    for seed in [3, 7] {
        let scenario = swarm_scenario(seed);
        let mut live = ClusterSim::new(scenario.clone(), seed).expect("valid");
        while live.now() < SimTime::from_millis(4_000) {
            live.step().expect("steps");
        }
        let checkpoint = live.clone();
        let at_ms = live.now().as_millis() as u64 + 1;
        let steps = [
            Step {
                at_ms,
                action: Action::CrashBroker {
                    broker: 1,
                    power_loss: false,
                    torn_write: false,
                },
            },
            Step {
                at_ms: at_ms + 2_000,
                action: Action::RestartBroker { broker: 1 },
            },
        ];
        for step in &steps {
            live.add_step(step.clone()).expect("a step in the future");
        }
        let stale = Step {
            at_ms: 1_000,
            action: Action::Heal,
        };
        assert!(
            live.add_step(stale).is_err(),
            "a step in the past is refused"
        );
        live.run_to_end().expect("runs");

        let mut from_file = scenario.clone();
        from_file.steps.extend(steps.iter().cloned());
        let mut replay = ClusterSim::new(from_file, seed).expect("valid");
        replay.run_to_end().expect("runs");
        assert_eq!(live.trace_hash(), replay.trace_hash(), "seed {seed}");
        assert_eq!(live.steps(), replay.steps(), "seed {seed}");

        let mut resumed = checkpoint.clone();
        let mut original = checkpoint;
        resumed.run_to_end().expect("runs");
        original.run_to_end().expect("runs");
        assert_eq!(resumed.trace_hash(), original.trace_hash(), "seed {seed}");
    }
}
