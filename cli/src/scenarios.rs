//! `logsim scenarios`: runs every scenario file of a directory (the drill library) at many
//! seeds and judges each run exactly as `logsim run` does, so a drill whose point shows only
//! at its own seed is caught. Prints one line per (scenario, seed) that misses, with its unmet
//! expectations and the `logsim run` command that reproduces it, then a summary. Exit status
//! is non-zero on any miss and on any file that does not load.

use crate::{load_scenario, Loaded};
use indicatif::{ProgressBar, ProgressStyle};
use logsim::check::drill::{final_reads_complete, judge};
use logsim::sim::cluster::scenario::ClusterScenario;
use logsim::sim::cluster::ClusterSim;
use logsim::time::SimTime;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ScenariosArgs {
    /// The directory whose `*.json` files are run (subdirectories are not searched).
    #[arg(long, default_value = "scenarios")]
    pub dir: PathBuf,
    /// Run every scenario at this many seeds, from `--start` on. Without it each scenario runs
    /// once, at its own seed (the file's `seed`, else 1).
    #[arg(long)]
    pub seeds: Option<u64>,
    /// The first seed (with `--seeds`).
    #[arg(long, default_value_t = 1, requires = "seeds")]
    pub start: u64,
    /// Worker threads (runs are independent; results are reported in file and seed order).
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
}

/// The verdict of one (scenario, seed) run: what it missed, empty when it showed everything
/// its `expect` asks for and broke no invariant.
struct Outcome {
    file: usize,
    seed: u64,
    missed: Vec<String>,
    events: u64,
}

/// Runs one scenario at one seed to its end and judges it as `logsim run` does: the unmet
/// expectations, plus invariant violations (which make `logsim run` fail whatever `expect`
/// says), plus a run that stopped with an error.
fn run_one(file: usize, scenario: &ClusterScenario, seed: u64) -> Outcome {
    let duration = SimTime::from_millis(scenario.duration_ms);
    let mut sim = match ClusterSim::new(scenario.clone(), seed) {
        Ok(sim) => sim,
        Err(e) => {
            return Outcome {
                file,
                seed,
                missed: vec![format!("the run did not start: {e}")],
                events: 0,
            }
        }
    };
    if let Err(e) = sim.run_to_end() {
        return Outcome {
            file,
            seed,
            missed: vec![format!("the run stopped at step {}: {e}", sim.steps() + 1)],
            events: sim.steps(),
        };
    }
    let report = judge(&sim, final_reads_complete(sim.scenario(), duration));
    let mut missed: Vec<String> = report
        .violations
        .iter()
        .map(|v| {
            format!(
                "VIOLATION {} at step {} ({}): {}",
                v.invariant, v.step, v.time, v.detail
            )
        })
        .collect();
    missed.extend(report.unmet);
    Outcome {
        file,
        seed,
        missed,
        events: sim.steps(),
    }
}

/// The `*.json` files of `dir`, sorted by name.
fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let shown = dir.display();
    let meta = std::fs::metadata(dir).map_err(|e| format!("scenario directory {shown}: {e}"))?;
    if !meta.is_dir() {
        return Err(format!("{shown} is not a directory"));
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("cannot list {shown}: {e}"))? {
        let path = entry
            .map_err(|e| format!("cannot list {shown}: {e}"))?
            .path();
        if path.is_file() && path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(format!("{shown} holds no scenario file (*.json)"));
    }
    Ok(files)
}

pub fn run(args: ScenariosArgs) -> Result<(), String> {
    if args.jobs == 0 || args.jobs > 64 {
        return Err("--jobs must be in 1..=64".into());
    }
    if args.seeds == Some(0) {
        return Err("--seeds must be at least 1".into());
    }
    let seeds_end = match args.seeds {
        Some(n) => Some(
            args.start
                .checked_add(n)
                .ok_or("--start + --seeds overflows")?,
        ),
        None => None,
    };
    let files = scenario_files(&args.dir)?;
    // A file that does not load is reported and fails the command, but the others still run.
    let mut load_errors = Vec::new();
    let mut loaded: Vec<(String, ClusterScenario)> = Vec::new();
    for path in &files {
        let name = path.display().to_string();
        match load_scenario(&name) {
            Ok(Loaded::Cluster(scenario)) => loaded.push((name, *scenario)),
            Ok(Loaded::Hello(..)) => load_errors.push(format!(
                "scenario file {name}: a hello scenario has no expectations to judge; `logsim scenarios` runs cluster scenarios"
            )),
            Err(e) => load_errors.push(e),
        }
    }
    let mut work: Vec<(usize, u64)> = Vec::new();
    for (i, (_, scenario)) in loaded.iter().enumerate() {
        match seeds_end {
            Some(end) => work.extend((args.start..end).map(|seed| (i, seed))),
            None => work.push((i, scenario.seed.unwrap_or(1))),
        }
    }
    match seeds_end {
        Some(end) => println!(
            "scenarios: {} file(s) in {} at seeds {}..{} with {} job(s)",
            files.len(),
            args.dir.display(),
            args.start,
            end,
            args.jobs
        ),
        None => println!(
            "scenarios: {} file(s) in {}, each at its own seed, with {} job(s)",
            files.len(),
            args.dir.display(),
            args.jobs
        ),
    }
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(work.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed} (eta {eta}) {msg}")
            .map_err(|e| e.to_string())?,
    );
    let started = std::time::Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..args.jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(file, seed)) = work.get(i) else {
                    break;
                };
                let outcome = run_one(file, &loaded[file].1, seed);
                if !outcome.missed.is_empty() {
                    bar.set_message(format!("miss: {} seed {seed}", loaded[file].0));
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
        .map_err(|_| "a scenario worker panicked")?;
    if results.len() != work.len() {
        return Err("a scenario worker panicked".into());
    }
    results.sort_by_key(|o| (o.file, o.seed));
    let wall = started.elapsed().as_secs_f64();
    let mut misses_per_file = vec![0u64; loaded.len()];
    for o in results.iter().filter(|o| !o.missed.is_empty()) {
        misses_per_file[o.file] += 1;
        println!(
            "MISS {} seed {}: {}; reproduce: logsim run --scenario {} --seed {}",
            loaded[o.file].0,
            o.seed,
            o.missed.join("; "),
            loaded[o.file].0,
            o.seed
        );
    }
    for e in &load_errors {
        println!("LOAD ERROR {e}");
    }
    let runs_per_file = args.seeds.unwrap_or(1);
    for (i, n) in misses_per_file.iter().enumerate().filter(|(_, n)| **n > 0) {
        println!(
            "{:<56} missed at {n} of {runs_per_file} seed(s)",
            loaded[i].0
        );
    }
    let misses: u64 = misses_per_file.iter().sum();
    let events: u64 = results.iter().map(|o| o.events).sum();
    println!(
        "{:<28} {} ({} failed to load)",
        "scenarios",
        files.len(),
        load_errors.len()
    );
    println!("{:<28} {}", "runs", results.len());
    println!(
        "{:<28} {misses} run(s) in {} scenario(s)",
        "misses",
        misses_per_file.iter().filter(|n| **n > 0).count()
    );
    println!("{:<28} {events}", "simulated events");
    println!(
        "{:<28} {wall:.1} s ({:.0} runs/min)",
        "wall time",
        results.len() as f64 * 60.0 / wall.max(1e-9)
    );
    match (misses, load_errors.len()) {
        (0, 0) => Ok(()),
        (m, 0) => Err(format!("{m} run(s) missed their scenario's expectations")),
        (0, l) => Err(format!("{l} scenario file(s) failed to load")),
        (m, l) => Err(format!(
            "{m} run(s) missed their scenario's expectations and {l} scenario file(s) failed to load"
        )),
    }
}
