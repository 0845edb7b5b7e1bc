//! One measured run: the case's scenario built, simulated to its end and timed with the
//! caller's clock, then the bare kernel timed over the same event times. The result is one
//! `Measurement`, written as one JSON line, the same shape from every target.

use crate::cases::Case;
use crate::kernel::bare_kernel;
use logsim::sim::cluster::ClusterSim;
use logsim::time::SimTime;
use serde::{Deserialize, Serialize};

/// What one target measured for one case in one repetition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    /// `native`, `wasm-node` or `wasm-chromium`.
    #[serde(rename = "impl")]
    pub implementation: String,
    pub rep: u32,
    pub group: String,
    pub seed: u64,
    pub brokers: u32,
    /// The trace hash as 16 hex digits (a JS number cannot hold a u64).
    pub hash: String,
    pub events: u64,
    /// Simulated time the run covered.
    pub sim_ms: u64,
    /// Records the producers had acknowledged by the end.
    pub acked: u64,
    /// Wall time of the simulation (building the cluster and every event).
    pub wall_ms: f64,
    /// Wall time of the bare kernel over the same event times.
    pub bare_ms: f64,
}

/// Runs `case` to its end and measures it with `clock` (milliseconds, monotonic).
pub fn measure(
    case: &Case,
    implementation: &str,
    rep: u32,
    clock: &dyn Fn() -> f64,
) -> Result<Measurement, String> {
    let scenario = case.scenario();
    let brokers = scenario.brokers;
    let end = SimTime::from_millis(scenario.duration_ms);
    let mut times: Vec<u64> = Vec::new();
    let started = clock();
    let mut sim = ClusterSim::new(scenario, case.seed)
        .map_err(|e| format!("{} seed {}: {e}", case.group, case.seed))?;
    while sim.next_due().is_some_and(|t| t <= end) {
        sim.step()
            .map_err(|e| format!("{} seed {}: {e}", case.group, case.seed))?;
        times.push(sim.now().0);
    }
    let wall_ms = clock() - started;
    let started = clock();
    // black_box: the checksum is "used", so the kernel cannot be optimised away.
    std::hint::black_box(bare_kernel(std::hint::black_box(&times)));
    let bare_ms = clock() - started;
    let acked = sim.history().iter().filter(|op| op.is_acked_send()).count() as u64;
    Ok(Measurement {
        implementation: implementation.to_owned(),
        rep,
        group: case.group.clone(),
        seed: case.seed,
        brokers,
        hash: format!("{:016x}", sim.trace_hash()),
        events: sim.steps(),
        sim_ms: end.as_millis().max(0) as u64,
        acked,
        wall_ms,
        bare_ms,
    })
}
