//! The JS face of B4 (wasm32 only): the Node and Chromium drivers ask how many cases a plan
//! has, run them one by one (one call per whole run, so the JS boundary costs nothing), and
//! collect the JSON lines. The clock is `performance.now()`, in Node and in the browser.

use crate::cases::{cases, Case, Plan, Workload};
use crate::measure::measure;
use logsim::sim::cluster::scenario::ClusterScenario;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

fn plan(seeds: u32, quick: bool) -> Plan {
    Plan { seeds, quick }
}

/// How many cases the plan runs.
#[wasm_bindgen]
pub fn case_count(seeds: u32, quick: bool) -> u32 {
    cases(plan(seeds, quick)).len() as u32
}

/// Runs case `index` of the plan and returns its measurement as one JSON line.
#[wasm_bindgen]
pub fn run_case(
    index: u32,
    seeds: u32,
    quick: bool,
    implementation: &str,
    rep: u32,
) -> Result<String, JsError> {
    let all = cases(plan(seeds, quick));
    let case = all.get(index as usize).ok_or_else(|| {
        JsError::new(&format!(
            "case {index} does not exist; the plan has {}",
            all.len()
        ))
    })?;
    run(case, implementation, rep)
}

/// One swarm seed, run as `logsim drill` runs it: its measurement as one JSON line.
#[wasm_bindgen]
pub fn run_swarm_seed(seed: u64) -> Result<String, JsError> {
    let case = Case {
        group: "swarm".into(),
        seed,
        workload: Workload::Swarm,
    };
    run(&case, "wasm", 0)
}

/// Any cluster scenario (the JSON of a scenario file) with a seed: its trace hash, events and
/// simulated time, as one JSON line.
#[wasm_bindgen]
pub fn run_scenario_json(json: &str, seed: u64) -> Result<String, JsError> {
    let scenario: ClusterScenario = serde_json::from_str(json)
        .map_err(|e| JsError::new(&format!("not a cluster scenario: {e}")))?;
    scenario
        .validate()
        .map_err(|e| JsError::new(&format!("invalid scenario: {e}")))?;
    let mut sim = logsim::sim::cluster::ClusterSim::new(scenario, seed)
        .map_err(|e| JsError::new(&e.to_string()))?;
    let started = performance_now();
    sim.run_to_end().map_err(|e| JsError::new(&e.to_string()))?;
    let wall_ms = performance_now() - started;
    Ok(serde_json::json!({
        "hash": format!("{:016x}", sim.trace_hash()),
        "events": sim.steps(),
        "sim_ns": sim.now().0,
        "wall_ms": wall_ms,
    })
    .to_string())
}

fn run(case: &Case, implementation: &str, rep: u32) -> Result<String, JsError> {
    let measurement =
        measure(case, implementation, rep, &performance_now).map_err(|e| JsError::new(&e))?;
    serde_json::to_string(&measurement).map_err(|e| JsError::new(&e.to_string()))
}
