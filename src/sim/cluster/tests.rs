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
