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
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct DrillArgs {
    /// How many seeds to run.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    pub start: u64,
    /// Run one seed and print its whole trace (the reproduction command).
    #[arg(long, conflicts_with_all = ["seeds", "start", "json", "shard", "merge"])]
    pub seed: Option<u64>,
    /// Worker threads (seeds are independent; results are reported in seed order).
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
    /// Also write the results to FILE as JSON lines: one per failing seed as it is found, then
    /// one summary line (a file without it is an unfinished run).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Run only shard I of N (I counts from 0): the seeds s of the range with
    /// (s - start) % N == I, so N machines split one range with the same --start and --seeds.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Merge the --json files of earlier runs (shards of one range, or disjoint ranges) into
    /// one report; fails on a failing seed, a missing or unfinished shard, or an overlap.
    #[arg(long, num_args = 1.., value_name = "FILES", conflicts_with_all = ["seeds", "start", "shard", "json"])]
    pub merge: Option<Vec<PathBuf>>,
    /// Report failing seeds but exit 0 (a report-only run; the failures are still printed
    /// and written to --json).
    #[arg(long)]
    pub report_only: bool,
}

/// One shard of a seed range: `index` of `count`, `index` counting from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    const WHOLE: Shard = Shard { index: 0, count: 1 };

    fn holds(self, start: u64, seed: u64) -> bool {
        (seed - start) % self.count == self.index
    }

    /// How many seeds of `start..start + seeds` fall in this shard.
    fn size(self, seeds: u64) -> u64 {
        seeds / self.count + u64::from(seeds % self.count > self.index)
    }
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let bad = || format!("--shard takes I/N with 0 <= I < N (for example 0/4), got {text:?}");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let index: u64 = i.trim().parse().map_err(|_| bad())?;
    let count: u64 = n.trim().parse().map_err(|_| bad())?;
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// A failing seed, as one line of a `--json` file.
#[derive(Serialize, Deserialize)]
struct FailureLine {
    seed: u64,
    failure: String,
    reproduce: String,
}

/// The last line of a `--json` file: what the run covered and found.
#[derive(Clone, Serialize, Deserialize)]
struct Summary {
    /// The format of these files; `--merge` refuses another.
    format: u32,
    logsim: String,
    start: u64,
    seeds: u64,
    shard: Shard,
    seeds_run: u64,
    events: u64,
    legal_anomalies: u64,
    failures: u64,
    pipelines: u64,
    pipelines_settled: u64,
    /// Seeds per broker count.
    by_brokers: BTreeMap<u32, u64>,
    wall_seconds: f64,
}

const JSON_FORMAT: u32 = 1;

/// A line of a `--json` file.
enum JsonLine {
    Summary { summary: Summary },
    Failure(FailureLine),
}

#[derive(Serialize, Deserialize)]
struct SummaryLine {
    summary: Summary,
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
    if let Some(files) = &args.merge {
        return merge(files);
    }
    if args.seeds == 0 || args.jobs == 0 || args.jobs > 64 {
        return Err("--seeds must be at least 1 and --jobs in 1..=64".into());
    }
    let end = args
        .start
        .checked_add(args.seeds)
        .ok_or("--start + --seeds overflows")?;
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let mut json = match &args.json {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("--json {}: {e}", path.display()))?,
        )),
        None => None,
    };
    println!(
        "drill: seeds {}..{}{} with {} job(s)",
        args.start,
        end,
        if shard == Shard::WHOLE {
            String::new()
        } else {
            format!(
                " (shard {}/{}: {} seeds)",
                shard.index,
                shard.count,
                shard.size(args.seeds)
            )
        },
        args.jobs
    );
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(shard.size(args.seeds))
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
    let json_lines = std::sync::Mutex::new(&mut json);
    std::thread::scope(|scope| {
        for _ in 0..args.jobs {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if seed >= end {
                    break;
                }
                if !shard.holds(args.start, seed) {
                    continue;
                }
                let outcome = run_seed(seed);
                if let Some(failure) = describe_failure(&outcome) {
                    bar.set_message(format!("failure at seed {seed}"));
                    if let Ok(mut guard) = json_lines.lock() {
                        if let Some(out) = guard.as_mut() {
                            // A failure is on disk as soon as it is found, so a run cut short
                            // still names it.
                            let line = FailureLine {
                                seed,
                                failure,
                                reproduce: format!("logsim drill --seed {seed}"),
                            };
                            if let Ok(text) = serde_json::to_string(&line) {
                                let _ = writeln!(out, "{text}").and_then(|()| out.flush());
                            }
                        }
                    }
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
    let failures: Vec<String> = results.iter().filter_map(describe_failure).collect();
    let mut by_brokers = BTreeMap::new();
    for o in &results {
        *by_brokers.entry(o.brokers).or_insert(0u64) += 1;
    }
    let summary = Summary {
        format: JSON_FORMAT,
        logsim: env!("CARGO_PKG_VERSION").to_string(),
        start: args.start,
        seeds: args.seeds,
        shard,
        seeds_run: results.len() as u64,
        events: results.iter().map(|o| o.events).sum(),
        legal_anomalies: results.iter().map(|o| o.anomalies).sum(),
        failures: failures.len() as u64,
        pipelines: results.iter().map(|o| u64::from(o.pipelines.0)).sum(),
        pipelines_settled: results.iter().map(|o| u64::from(o.pipelines.1)).sum(),
        by_brokers,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    if let (Some(out), Some(path)) = (json.as_mut(), &args.json) {
        let text = serde_json::to_string(&SummaryLine {
            summary: summary.clone(),
        })
        .map_err(|e| e.to_string())?;
        writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("--json {}: {e}", path.display()))?;
    }
    print_summary(&summary);
    for f in &failures {
        println!("FAIL {f}");
    }
    if failures.is_empty() {
        Ok(())
    } else if args.report_only {
        println!(
            "REPORT ONLY: {} seed(s) failed; exit status 0 because of --report-only",
            failures.len()
        );
        Ok(())
    } else {
        Err(format!("{} seed(s) failed", failures.len()))
    }
}

fn print_summary(summary: &Summary) {
    println!("{:<28} {}", "seeds run", summary.seeds_run);
    println!("{:<28} {}", "simulated events", summary.events);
    println!("{:<28} {}", "legal anomalies", summary.legal_anomalies);
    println!("{:<28} {}", "failures (bugs, liveness)", summary.failures);
    println!(
        "{:<28} {} run, {} settled and judged exactly-once",
        "pipelines (T-9)", summary.pipelines, summary.pipelines_settled
    );
    let sizes: Vec<String> = summary
        .by_brokers
        .iter()
        .map(|(b, n)| format!("{b}: {n}"))
        .collect();
    println!("{:<28} {}", "seeds by broker count", sizes.join(", "));
    let wall = summary.wall_seconds.max(1e-9);
    println!(
        "{:<28} {:.1} s ({:.0} seeds/min, {:.0} events/s)",
        "wall time",
        summary.wall_seconds,
        summary.seeds_run as f64 * 60.0 / wall,
        summary.events as f64 / wall
    );
}

/// One `--json` file read back: its failures and its summary.
struct RunFile {
    path: PathBuf,
    failures: Vec<FailureLine>,
    summary: Summary,
}

fn read_run_file(path: &Path) -> Result<RunFile, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut failures = Vec::new();
    let mut summary = None;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        if summary.is_some() {
            return Err(format!(
                "{} line {}: text after the summary line",
                path.display(),
                n + 1
            ));
        }
        // Not an untagged enum: its buffering cannot read the summary's integer map keys.
        let parsed = serde_json::from_str::<serde_json::Value>(&line).and_then(|v| {
            if v.get("summary").is_some() {
                serde_json::from_value::<SummaryLine>(v)
                    .map(|s| JsonLine::Summary { summary: s.summary })
            } else {
                serde_json::from_value::<FailureLine>(v).map(JsonLine::Failure)
            }
        });
        match parsed {
            Ok(JsonLine::Failure(f)) => failures.push(f),
            Ok(JsonLine::Summary { summary: s }) => summary = Some(s),
            Err(e) => {
                return Err(format!(
                    "{} line {}: not a logsim drill --json line: {e}",
                    path.display(),
                    n + 1
                ))
            }
        }
    }
    let summary = summary.ok_or_else(|| {
        format!(
            "{}: no summary line, so that run did not finish (rerun it)",
            path.display()
        )
    })?;
    if summary.format != JSON_FORMAT {
        return Err(format!(
            "{}: format {} (this logsim reads format {JSON_FORMAT})",
            path.display(),
            summary.format
        ));
    }
    Ok(RunFile {
        path: path.to_path_buf(),
        failures,
        summary,
    })
}

/// `--merge`: the files' seeds must not overlap, and the shards of a range must all be there.
fn merge(paths: &[PathBuf]) -> Result<(), String> {
    let runs = paths
        .iter()
        .map(|p| read_run_file(p))
        .collect::<Result<Vec<_>, _>>()?;
    // Per range (start, seeds, shard count): which shard indices are present.
    let mut ranges: BTreeMap<(u64, u64, u64), BTreeMap<u64, &Path>> = BTreeMap::new();
    for r in &runs {
        let s = &r.summary;
        let key = (s.start, s.seeds, s.shard.count);
        let shards = ranges.entry(key).or_default();
        if let Some(other) = shards.insert(s.shard.index, &r.path) {
            return Err(format!(
                "{} and {} both hold shard {}/{} of seeds {}..{}",
                other.display(),
                r.path.display(),
                s.shard.index,
                s.shard.count,
                s.start,
                s.start + s.seeds
            ));
        }
    }
    let mut covered: Vec<(u64, u64)> = Vec::new();
    for ((start, seeds, count), shards) in &ranges {
        let missing: Vec<String> = (0..*count)
            .filter(|i| !shards.contains_key(i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "seeds {start}..{}: shard(s) {} missing",
                start + seeds,
                missing.join(", ")
            ));
        }
        covered.push((*start, start + seeds));
    }
    covered.sort_unstable();
    for pair in covered.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(format!(
                "seeds {}..{} and {}..{} overlap",
                pair[0].0, pair[0].1, pair[1].0, pair[1].1
            ));
        }
    }
    let mut total = Summary {
        format: JSON_FORMAT,
        logsim: env!("CARGO_PKG_VERSION").to_string(),
        start: covered.first().map_or(0, |c| c.0),
        seeds: covered.iter().map(|c| c.1 - c.0).sum(),
        shard: Shard::WHOLE,
        seeds_run: 0,
        events: 0,
        legal_anomalies: 0,
        failures: 0,
        pipelines: 0,
        pipelines_settled: 0,
        by_brokers: BTreeMap::new(),
        wall_seconds: 0.0,
    };
    for r in &runs {
        let s = &r.summary;
        total.seeds_run += s.seeds_run;
        total.events += s.events;
        total.legal_anomalies += s.legal_anomalies;
        total.failures += s.failures;
        total.pipelines += s.pipelines;
        total.pipelines_settled += s.pipelines_settled;
        total.wall_seconds += s.wall_seconds;
        for (b, n) in &s.by_brokers {
            *total.by_brokers.entry(*b).or_default() += n;
        }
    }
    // Adjacent ranges read as one.
    let mut joined: Vec<(u64, u64)> = Vec::new();
    for (a, b) in covered {
        match joined.last_mut() {
            Some(last) if last.1 == a => last.1 = b,
            _ => joined.push((a, b)),
        }
    }
    let ranges: Vec<String> = joined
        .iter()
        .map(|(a, b)| format!("{a}..={}", b - 1))
        .collect();
    println!(
        "drill --merge: {} file(s), seeds {}",
        runs.len(),
        ranges.join(", ")
    );
    print_summary(&total);
    println!("(wall time is the sum over the files: machine time, not elapsed time)");
    let mut failures: Vec<&FailureLine> = runs.iter().flat_map(|r| &r.failures).collect();
    failures.sort_by_key(|f| f.seed);
    for f in &failures {
        println!("FAIL {}", f.failure);
    }
    if total.failures == 0 {
        Ok(())
    } else {
        Err(format!("{} seed(s) failed", total.failures))
    }
}
