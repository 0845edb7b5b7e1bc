//! `logsim drill`: swarm drills over many seeds. Each seed draws its own cluster, configs and
//! fault schedule (`sim::cluster::swarm`), runs a safety phase and a healed liveness phase, and
//! is judged by the checkers: invariant violations and anomalies the configuration does not
//! excuse are bugs, and so is a healed cluster that makes no progress. Every failure is printed
//! with its seed, the step, and a one-line command that reproduces it. Exit status is non-zero
//! only when a bug was found.

use indicatif::{ProgressBar, ProgressStyle};
use logsim::check::drill::{judge_swarm, SwarmVerdict};
use logsim::sim::cluster::swarm::{swarm_scenario, SAFETY_PHASE_MS};
use logsim::sim::cluster::ClusterSim;
use logsim::time::SimTime;
use std::io::{IsTerminal, Write};

#[derive(clap::Args)]
pub struct DrillArgs {
    /// How many seeds to run.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    pub start: u64,
    /// Run one seed and print its whole trace (the reproduction command).
    #[arg(long, conflicts_with_all = ["seeds", "start"])]
    pub seed: Option<u64>,
    /// Worker threads (seeds are independent; results are reported in seed order).
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
}

struct Outcome {
    seed: u64,
    events: u64,
    brokers: u32,
    anomalies: u64,
    /// Pipelines run, and how many of them the exactly-once check could judge (settled).
    pipelines: (u32, u32),
    verdict: Result<SwarmVerdict, String>,
    hash: u64,
}

fn run_seed(seed: u64) -> Outcome {
    let scenario = swarm_scenario(seed);
    let brokers = scenario.brokers;
    let result = ClusterSim::new(scenario, seed).and_then(|mut sim| {
        sim.run_to_end()?;
        Ok(sim)
    });
    match result {
        Ok(sim) => {
            let verdict = judge_swarm(&sim, SimTime::from_millis(SAFETY_PHASE_MS));
            Outcome {
                seed,
                events: sim.steps(),
                brokers,
                anomalies: verdict.report.check.anomalies.len() as u64,
                pipelines: (
                    verdict.report.pipelines.len() as u32,
                    verdict
                        .report
                        .pipelines
                        .iter()
                        .filter(|p| p.settled)
                        .count() as u32,
                ),
                hash: sim.trace_hash(),
                verdict: Ok(verdict),
            }
        }
        Err(e) => Outcome {
            seed,
            events: 0,
            brokers,
            anomalies: 0,
            pipelines: (0, 0),
            hash: 0,
            verdict: Err(e.to_string()),
        },
    }
}

fn describe_failure(o: &Outcome) -> Option<String> {
    let repro = format!("reproduce: logsim drill --seed {}", o.seed);
    match &o.verdict {
        Err(e) => Some(format!("seed {}: the run stopped: {e}; {repro}", o.seed)),
        Ok(v) => {
            if let Some(violation) = v.report.violations.first() {
                return Some(format!(
                    "seed {}: {} violated at step {} ({}): {}; {repro}",
                    o.seed, violation.invariant, violation.step, violation.time, violation.detail
                ));
            }
            if let Some(bug) = v.report.check.bugs().next() {
                return Some(format!("seed {}: {bug}; {repro}", o.seed));
            }
            if v.report.groups.bugs() > 0 {
                let line = v
                    .report
                    .groups
                    .bug_lines()
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                return Some(format!("seed {}: group check: {line}; {repro}", o.seed));
            }
            if let Some(p) = v.report.pipelines.iter().find(|p| p.bugs() > 0) {
                return Some(format!(
                    "seed {}: exactly-once check: {}; {repro}",
                    o.seed,
                    p.lines().join("; ")
                ));
            }
            if !v.liveness_ok() {
                return Some(format!(
                    "seed {}: no progress after healing ({} acknowledged, {} read); {repro}",
                    o.seed, v.acked_after_heal, v.read_after_heal
                ));
            }
            None
        }
    }
}

fn run_one_with_trace(seed: u64) -> Result<(), String> {
    let scenario = swarm_scenario(seed);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let w = |out: &mut std::io::BufWriter<std::io::StdoutLock>, s: String| {
        writeln!(out, "{s}").map_err(|e| e.to_string())
    };
    w(&mut out, format!("seed {seed}"))?;
    w(
        &mut out,
        format!(
            "swarm scenario: {}",
            serde_json::to_string(&scenario).map_err(|e| e.to_string())?
        ),
    )?;
    let mut sim = ClusterSim::new(scenario, seed).map_err(|e| e.to_string())?;
    let end = SimTime::from_millis(sim.scenario().duration_ms);
    while sim.next_due().is_some_and(|t| t <= end) {
        sim.step()
            .map_err(|e| format!("step {}: {e}", sim.steps() + 1))?;
        for line in sim.last_step_trace() {
            w(&mut out, line.to_string())?;
        }
    }
    w(&mut out, sim.summary_tables())?;
    let verdict = judge_swarm(&sim, SimTime::from_millis(SAFETY_PHASE_MS));
    for a in verdict.report.check.anomalies.iter().take(20) {
        w(&mut out, format!("anomaly: {a}"))?;
    }
    for line in verdict.report.groups.lines().iter().take(20) {
        w(&mut out, format!("group check: {line}"))?;
    }
    for p in &verdict.report.pipelines {
        for line in p.lines() {
            w(&mut out, format!("exactly-once check: {line}"))?;
        }
    }
    let outcome = Outcome {
        seed,
        events: sim.steps(),
        brokers: sim.scenario().brokers,
        anomalies: verdict.report.check.anomalies.len() as u64,
        pipelines: (
            verdict.report.pipelines.len() as u32,
            verdict
                .report
                .pipelines
                .iter()
                .filter(|p| p.settled)
                .count() as u32,
        ),
        hash: sim.trace_hash(),
        verdict: Ok(verdict),
    };
    let failure = describe_failure(&outcome);
    w(&mut out, format!("trace hash {:016x}", outcome.hash))?;
    out.flush().map_err(|e| e.to_string())?;
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

pub fn run(args: DrillArgs) -> Result<(), String> {
    if let Some(seed) = args.seed {
        return run_one_with_trace(seed);
    }
    if args.seeds == 0 || args.jobs == 0 || args.jobs > 64 {
        return Err("--seeds must be at least 1 and --jobs in 1..=64".into());
    }
    let end = args
        .start
        .checked_add(args.seeds)
        .ok_or("--start + --seeds overflows")?;
    println!(
        "drill: seeds {}..{} with {} job(s)",
        args.start, end, args.jobs
    );
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(args.seeds)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds  {elapsed} (eta {eta}) {msg}")
            .map_err(|e| e.to_string())?,
    );
    let started = std::time::Instant::now();
    let next = std::sync::atomic::AtomicU64::new(args.start);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..args.jobs {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if seed >= end {
                    break;
                }
                let outcome = run_seed(seed);
                if describe_failure(&outcome).is_some() {
                    bar.set_message(format!("failure at seed {seed}"));
                }
                bar.inc(1);
                if let Ok(mut r) = results.lock() {
                    r.push(outcome);
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut results = results
        .into_inner()
        .map_err(|_| "a drill worker panicked")?;
    results.sort_by_key(|o| o.seed);
    let wall = started.elapsed().as_secs_f64();
    let failures: Vec<String> = results.iter().filter_map(describe_failure).collect();
    let events: u64 = results.iter().map(|o| o.events).sum();
    let anomalies: u64 = results.iter().map(|o| o.anomalies).sum();
    let mut by_size = std::collections::BTreeMap::new();
    for o in &results {
        *by_size.entry(o.brokers).or_insert(0u64) += 1;
    }
    println!("{:<28} {}", "seeds run", results.len());
    println!("{:<28} {}", "simulated events", events);
    println!("{:<28} {}", "legal anomalies", anomalies);
    println!("{:<28} {}", "failures (bugs, liveness)", failures.len());
    let (pipelines, settled) = results
        .iter()
        .fold((0, 0), |(n, s), o| (n + o.pipelines.0, s + o.pipelines.1));
    println!(
        "{:<28} {pipelines} run, {settled} settled and judged exactly-once",
        "pipelines (T-9)"
    );
    let sizes: Vec<String> = by_size.iter().map(|(b, n)| format!("{b}: {n}")).collect();
    println!("{:<28} {}", "seeds by broker count", sizes.join(", "));
    println!(
        "{:<28} {:.1} s ({:.0} seeds/min, {:.0} events/s)",
        "wall time",
        wall,
        results.len() as f64 * 60.0 / wall.max(1e-9),
        events as f64 / wall.max(1e-9)
    );
    for f in &failures {
        println!("FAIL {f}");
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} seed(s) failed", failures.len()))
    }
}
