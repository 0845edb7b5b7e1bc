//! The report refuses disagreeing or incomplete measurements, sums and rates them as the table
//! says, the kernel replays every event in order, and the cases are valid and deterministic.

use crate::cases::{cases, Plan};
use crate::kernel::bare_kernel;
use crate::measure::Measurement;
use crate::report::{check_agreement, parse_lines, report, summarize};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn m(implementation: &str, rep: u32, seed: u64, hash: &str, wall_ms: f64) -> Measurement {
    Measurement {
        implementation: implementation.into(),
        rep,
        group: "swarm".into(),
        seed,
        brokers: 3,
        hash: hash.into(),
        events: 1_000,
        sim_ms: 45_000,
        acked: 10,
        wall_ms,
        bare_ms: wall_ms / 100.0,
    }
}

#[test]
fn a_hash_that_differs_between_targets_is_an_error_naming_the_seed() {
    let ms = vec![
        m("native", 0, 1, "00000000000000aa", 10.0),
        m("wasm-node", 0, 1, "00000000000000aa", 12.0),
        m("native", 0, 2, "00000000000000bb", 10.0),
        m("wasm-node", 0, 2, "00000000000000bc", 12.0),
    ];
    let error = check_agreement(&ms).unwrap_err();
    assert!(error.contains("swarm seed 2"), "{error}");
    assert!(error.contains("00000000000000bc"), "{error}");
    assert!(report(&ms).is_err(), "no table is printed on a mismatch");
}

#[test]
fn a_linkedin_run_that_acknowledged_nothing_is_an_error() {
    let linkedin = |implementation: &str, acked: u64| Measurement {
        group: "linkedin-2014".into(),
        acked,
        ..m(implementation, 0, 1, "aa", 10.0)
    };
    let error = check_agreement(&[linkedin("native", 0), linkedin("wasm-node", 0)]).unwrap_err();
    assert!(error.contains("acknowledged no record"), "{error}");
    assert!(check_agreement(&[linkedin("native", 5), linkedin("wasm-node", 5)]).is_ok());
}

#[test]
fn a_case_one_target_did_not_run_is_an_error() {
    let ms = vec![
        m("native", 0, 1, "aa", 10.0),
        m("wasm-node", 0, 1, "aa", 12.0),
        m("native", 0, 2, "bb", 10.0),
    ];
    let error = check_agreement(&ms).unwrap_err();
    assert!(
        error.contains("wasm-node has no measurement of swarm seed 2"),
        "{error}"
    );
}

#[test]
fn rows_take_the_median_of_repetitions_and_sum_over_seeds() {
    let ms = vec![
        m("native", 0, 1, "aa", 10.0),
        m("wasm-node", 0, 1, "aa", 40.0),
        m("native", 1, 1, "aa", 30.0),
        m("wasm-node", 1, 1, "aa", 20.0),
        m("native", 2, 1, "aa", 20.0),
        m("wasm-node", 2, 1, "aa", 25.0),
        m("native", 0, 2, "bb", 5.0),
        m("wasm-node", 0, 2, "bb", 5.0),
    ];
    check_agreement(&ms).expect("agree");
    let rows = summarize(&ms);
    assert_eq!(rows.len(), 2);
    let native = &rows[0];
    assert_eq!(native.implementation, "native");
    assert_eq!((native.runs, native.reps, native.events), (2, 3, 2_000));
    assert_eq!(native.wall_ms, 20.0 + 5.0);
    assert_eq!(native.events_per_s(), 2_000.0 / 0.025);
    assert_eq!(native.runs_per_hour(), 2.0 * 3_600_000.0 / 25.0);
    assert_eq!(native.sim_s_per_wall_s(), 90_000.0 / 25.0);
    assert!((native.ours_over_bare() - 0.01).abs() < 1e-12);
    let (table, lines) = report(&ms).expect("report");
    // wasm-node: medians 25 + 5 = 30 ms against native's 25 ms.
    assert!(table.contains("0.83"), "{table}");
    assert!(lines
        .iter()
        .any(|l| l.contains("\"wasm_over_native\"") && l.contains("0.8333")));
}

#[test]
fn parse_errors_name_the_source_and_line() {
    let line = serde_json::to_string(&m("native", 0, 1, "aa", 1.0)).expect("json");
    let text = format!("building...\n{line}\n{{\"impl\": 3}}\n");
    let error = parse_lines(&text, "node.jsonl").unwrap_err();
    assert!(error.starts_with("node.jsonl:3:"), "{error}");
    assert_eq!(parse_lines(&line, "x").expect("parses").len(), 1);
}

#[test]
fn the_bare_kernel_replays_every_event_in_order() {
    let times: Vec<u64> = (0..1_000u64).map(|i| i / 3 * 1_000).collect();
    let mut want = 0u64;
    for (i, t) in times.iter().enumerate() {
        want = want.rotate_left(5) ^ t.wrapping_add(i as u64);
    }
    assert_eq!(bare_kernel(&times), want);
    assert_eq!(bare_kernel(&[]), 0);
}

#[test]
fn the_cases_are_valid_and_the_same_on_every_call() {
    for quick in [false, true] {
        let plan = Plan { seeds: 3, quick };
        let all = cases(plan);
        assert_eq!(all, cases(plan));
        for case in &all {
            case.scenario()
                .validate()
                .unwrap_or_else(|e| panic!("{} seed {}: {e}", case.group, case.seed));
        }
    }
    let full = cases(Plan {
        seeds: 2,
        quick: false,
    });
    for group in [
        "b3-p10",
        "b5-p100",
        "b9-p1000",
        "groups-m16",
        "linkedin-2014",
    ] {
        assert!(full.iter().any(|c| c.group == group), "{group}");
    }
    assert_eq!(full.iter().filter(|c| c.group == "swarm").count(), 2);
}

/// Swarm seeds the cross-target golden file holds: whole runs (45 simulated seconds each, as
/// `logsim drill` and the bench run them). About 0.7 M events: ~25 s in release wasm under Node.
const GOLDEN_SEEDS: u64 = 32;
const GOLDEN: &str = include_str!("../../../tests/golden/swarm-hashes-full.txt");

/// The seeds this build checks: all of them in release builds (natively with `--release`, and
/// the wasm32 run of `cargo xtask test`), the first two in debug builds, where a whole swarm
/// run takes seconds; they still catch a stale golden file in `cargo test --workspace`.
fn golden_seeds() -> u64 {
    if cfg!(debug_assertions) {
        2
    } else {
        GOLDEN_SEEDS
    }
}

fn swarm_line(seed: u64) -> String {
    use logsim::sim::cluster::swarm::swarm_scenario;
    use logsim::sim::cluster::ClusterSim;
    let mut sim =
        ClusterSim::new(swarm_scenario(seed), seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    sim.run_to_end()
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    format!("{seed} {:016x} {}", sim.trace_hash(), sim.steps())
}

/// Determinism across targets: whole swarm runs give, in wasm32 (Node, inside `cargo xtask
/// test`), the trace hashes the native build computed and checked into
/// tests/golden/swarm-hashes-full.txt. Rewrite it natively after an intended trace change with
/// `LOGSIM_BLESS=1 cargo test --release -p logsim-bench-sim golden`. The full 1,000-seed
/// comparison is `cargo xtask bench sim --seeds 1000`.
#[test]
fn whole_swarm_runs_match_the_native_golden_hashes() {
    #[cfg(not(target_arch = "wasm32"))]
    if std::env::var_os("LOGSIM_BLESS").is_some() {
        // Every seed, whatever the profile (--release makes it quick).
        let text: String = (1..=GOLDEN_SEEDS)
            .map(|seed| swarm_line(seed) + "\n")
            .collect();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/golden/swarm-hashes-full.txt"
        );
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{path}: {e}"));
        return;
    }
    let golden: Vec<&str> = GOLDEN.lines().collect();
    assert_eq!(
        golden.len() as u64,
        GOLDEN_SEEDS,
        "the golden file lists every seed"
    );
    for seed in 1..=golden_seeds() {
        assert_eq!(
            swarm_line(seed),
            golden[seed as usize - 1],
            "swarm seed {seed}: the trace differs from the native golden file \
             (after an intended change: LOGSIM_BLESS=1 cargo test --release -p logsim-bench-sim golden)"
        );
    }
}
