//! The one integration-test binary: every test that goes through the public API, natively.
//! (It leans on proptest and the kafka-protocol cross-check, which are native-only; the wasm32
//! runs cover the core through its unit tests.)
#![cfg(not(target_arch = "wasm32"))]
mod codec;
mod drills;
mod faults;
mod firehose;
mod groups;
mod partition_log;
mod tidy;
mod transactions;

use logsim::sim::cluster::scenario::ClusterScenario;
use logsim::sim::cluster::ClusterSim;

/// A scenario file of `scenarios/`, parsed.
pub fn scenario_file(file: &str) -> ClusterScenario {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("scenario file");
    serde_json::from_str(&text).expect("valid scenario")
}

/// Runs a scenario to its end with its own seed (1 when it names none).
pub fn run_with_its_seed(scenario: ClusterScenario) -> ClusterSim {
    let seed = scenario.seed.unwrap_or(1);
    let mut sim = ClusterSim::new(scenario, seed).expect("valid scenario");
    sim.run_to_end().expect("runs");
    sim
}
