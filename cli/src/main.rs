//! `logsim`, the native driver: runs scenarios headless with a seed, prints the seed first, a
//! compact trace (one line per event) and the trace hash; keeps segments in a Kafka-layout
//! directory with `--data-dir`. Bad flags or files exit non-zero with a message naming the
//! problem.

mod bench;
mod bench_sim;
mod drill;
mod file_storage;
mod scenarios;

use clap::{Parser, Subcommand};
use file_storage::FileStorage;
use logsim::sim::cluster::scenario::ClusterScenario;
use logsim::sim::cluster::ClusterSim;
use logsim::sim::hello::{settle_sync, HelloConfig, HelloSim};
use logsim::storage::memory::MemoryStorage;
use logsim::storage::SyncStorage;
use logsim::time::SimTime;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "logsim", version, about = "A deterministic Kafka-like log simulator", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario with a seed and print its trace and trace hash.
    Run(RunArgs),
    /// Check an exported history (from `logsim run --export-history FILE`) with the Jepsen-style
    /// checker under the policy recorded with it; exits non-zero when it finds a bug.
    Check(CheckArgs),
    /// Swarm drills over many seeds: random clusters, configs and faults, judged by the
    /// checkers; prints a one-line reproduction for every failure.
    Drill(drill::DrillArgs),
    /// Run every scenario file of a directory (the drill library) at many seeds and judge each
    /// run as `logsim run` does; prints every (scenario, seed) that misses its expectations with
    /// a reproduction, and exits non-zero on any miss.
    Scenarios(scenarios::ScenariosArgs),
    /// Benchmarks (programs, not tests): `logsim bench log` runs B1, `logsim bench sim` B4.
    Bench(bench::BenchArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// A built-in scenario name (`hello`) or the path of a scenario file (JSON).
    #[arg(long, default_value = "hello")]
    scenario: String,
    /// The seed that drives every random choice of the run.
    #[arg(long)]
    seed: Option<u64>,
    /// Stop once simulated time reaches this many milliseconds since the run began (an end
    /// point, not a length: rerun on a --data-dir with a larger value to continue). Default:
    /// 10000 for hello, the scenario's own duration for a cluster scenario.
    #[arg(long)]
    duration_ms: Option<u64>,
    /// Stop after this many events, whichever comes first.
    #[arg(long)]
    steps: Option<u64>,
    /// Keep the broker's segments in this directory, in Kafka's layout. If it already holds a
    /// session, the run continues it.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print only the seed, the summary and the trace hash.
    #[arg(long)]
    quiet: bool,
    /// Write the clients' history and the run's policy to this file (JSON) for `logsim check`.
    #[arg(long)]
    export_history: Option<PathBuf>,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// A history file written by `logsim run --export-history`.
    file: PathBuf,
}

/// What `--export-history` writes and `logsim check` reads.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportedHistory {
    scenario: String,
    seed: u64,
    policy: logsim::check::history::Policy,
    final_reads_complete: bool,
    history: Vec<logsim::sim::history::Op>,
}

fn check_history(args: CheckArgs) -> Result<(), String> {
    let name = args.file.display().to_string();
    let meta = std::fs::metadata(&args.file).map_err(|e| format!("cannot read {name}: {e}"))?;
    if meta.len() > 512 * 1024 * 1024 {
        return Err(format!(
            "{name} is {} bytes; the limit is 512 MiB",
            meta.len()
        ));
    }
    let text =
        std::fs::read_to_string(&args.file).map_err(|e| format!("cannot read {name}: {e}"))?;
    let exported: ExportedHistory =
        serde_json::from_str(&text).map_err(|e| format!("{name}: not a logsim history: {e}"))?;
    let report = logsim::check::history::check(
        &exported.history,
        &exported.policy,
        exported.final_reads_complete,
    );
    println!(
        "{name}: scenario {}, seed {}: {} operations, {} acknowledged sends, {} values read",
        exported.scenario,
        exported.seed,
        exported.history.len(),
        report.sends_acked,
        report.values_read
    );
    for anomaly in &report.anomalies {
        println!("anomaly: {anomaly}");
    }
    let bugs = report.bugs().count();
    println!(
        "checker: {} anomalies, {bugs} bug(s)",
        report.anomalies.len()
    );
    if bugs > 0 {
        return Err(format!(
            "{bugs} anomaly(ies) the configuration does not allow"
        ));
    }
    Ok(())
}

/// A scenario file: which scenario, an optional seed, and its configuration.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    scenario: String,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    config: HelloConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Drill(args) => drill::run(args),
        Command::Scenarios(args) => scenarios::run(args),
        Command::Check(args) => check_history(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

enum Loaded {
    Hello(HelloConfig, Option<u64>),
    Cluster(Box<ClusterScenario>),
}

fn load_scenario(name: &str) -> Result<Loaded, String> {
    if name == "hello" {
        return Ok(Loaded::Hello(HelloConfig::default(), None));
    }
    let path = Path::new(name);
    if !path.exists() {
        return Err(format!(
            "unknown scenario {name:?}: expected a built-in name (hello) or the path of a scenario file"
        ));
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    if meta.len() > u64::from(logsim::limits::SCENARIO_BYTES_MAX) {
        return Err(format!(
            "scenario file {name} is {} bytes; the limit is {}",
            meta.len(),
            logsim::limits::SCENARIO_BYTES_MAX
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("scenario file {name}: {e}"))?;
    match value.get("scenario").and_then(|v| v.as_str()) {
        Some("cluster") => {
            let scenario: ClusterScenario =
                serde_json::from_value(value).map_err(|e| format!("scenario file {name}: {e}"))?;
            scenario
                .validate()
                .map_err(|e| format!("scenario file {name}: {e}"))?;
            Ok(Loaded::Cluster(Box::new(scenario)))
        }
        _ => {
            let file: ScenarioFile =
                serde_json::from_value(value).map_err(|e| format!("scenario file {name}: {e}"))?;
            if file.scenario != "hello" {
                return Err(format!(
                    "scenario file {name}: unknown scenario {:?}; this build knows: hello, cluster",
                    file.scenario
                ));
            }
            file.config
                .validate()
                .map_err(|e| format!("scenario file {name}: {e}"))?;
            Ok(Loaded::Hello(file.config, file.seed))
        }
    }
}

/// Runs a cluster scenario: seed, one line per traced event, the describe table, the checker's
/// verdict and the trace hash. Fails (non-zero exit) on a bug or an unmet expectation.
fn run_cluster(scenario: ClusterScenario, args: &RunArgs) -> Result<(), String> {
    if args.data_dir.is_some() {
        return Err("--data-dir is only supported by the hello scenario for now".into());
    }
    let seed = args.seed.or(scenario.seed).unwrap_or(42);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let w = |out: &mut std::io::BufWriter<std::io::StdoutLock>, s: String| {
        writeln!(out, "{s}").map_err(|e| e.to_string())
    };
    w(&mut out, format!("seed {seed}"))?;
    if !scenario.name.is_empty() {
        w(&mut out, format!("scenario {}", scenario.name))?;
    }
    let duration = SimTime::from_millis(args.duration_ms.unwrap_or(scenario.duration_ms));
    let mut sim = ClusterSim::new(scenario, seed).map_err(|e| e.to_string())?;
    let mut ran = 0u64;
    while sim.next_due().is_some_and(|t| t <= duration) {
        if args.steps.is_some_and(|max| ran >= max) {
            break;
        }
        sim.step()
            .map_err(|e| format!("step {}: {e}", sim.steps() + 1))?;
        ran += 1;
        if !args.quiet {
            for line in sim.last_step_trace() {
                w(&mut out, line.to_string())?;
            }
        }
    }
    w(
        &mut out,
        format!("ran {ran} event(s); simulated time {}", sim.now()),
    )?;
    w(&mut out, sim.summary_tables())?;
    // `unseen` is judged only when the producers stopped early enough for the consumers to
    // read everything before the end (Jepsen's final reads); a run cut off mid-stream would
    // report the last acknowledged records as never read.
    let final_reads = logsim::check::drill::final_reads_complete(sim.scenario(), duration);
    let report = logsim::check::drill::judge(&sim, final_reads);
    w(
        &mut out,
        format!(
            "history: {} acknowledged sends, {} values read",
            report.check.sends_acked, report.check.values_read
        ),
    )?;
    let errors = sim.producer_errors();
    if !errors.is_empty() {
        let list: Vec<String> = errors.iter().map(|(n, c)| format!("{n} x{c}")).collect();
        w(&mut out, format!("producer errors: {}", list.join(", ")))?;
    }
    // Per kind: how many, whether the configuration makes them legal, and a few examples.
    let mut shown: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
    for anomaly in &report.check.anomalies {
        let n = shown.entry(anomaly.kind.name()).or_insert(0);
        *n += 1;
        if *n <= 3 {
            w(&mut out, format!("anomaly: {anomaly}"))?;
        }
    }
    for (kind, n) in &shown {
        if *n > 3 {
            w(&mut out, format!("anomaly: ... {} more {kind}", n - 3))?;
        }
    }
    w(
        &mut out,
        format!(
            "checker: {} anomalies, {} of them bugs under this configuration",
            report.check.anomalies.len(),
            report.check.bugs().count()
        ),
    )?;
    if report.groups.assignments > 0 {
        let stats = sim.group_stats();
        let errors: Vec<String> = stats
            .errors
            .iter()
            .map(|(n, c)| format!("{n} x{c}"))
            .collect();
        w(
            &mut out,
            format!(
                "groups: {} assignment(s), highest generation {}, {} offset commit(s) acknowledged, {} failed (CommitFailedException), {} record(s) read again within a group, {} poll-skip and {} nonmonotonic-poll (legal under subscribe, J-4){}",
                report.groups.assignments,
                stats.max_generation,
                report.groups.offset_commits,
                stats.commit_failures,
                report.groups.reprocessed,
                report.groups.poll_skips,
                report.groups.nonmonotonic_polls,
                if errors.is_empty() {
                    String::new()
                } else {
                    format!("; consumer errors: {}", errors.join(", "))
                }
            ),
        )?;
        for line in report.groups.lines() {
            w(&mut out, format!("group check: {line}"))?;
        }
    }
    for pipeline in &report.pipelines {
        for line in pipeline.lines() {
            w(&mut out, format!("exactly-once check: {line}"))?;
        }
    }
    for v in &report.violations {
        w(
            &mut out,
            format!(
                "VIOLATION {} at step {} ({}): {}",
                v.invariant, v.step, v.time, v.detail
            ),
        )?;
    }
    for u in &report.unmet {
        w(&mut out, format!("expectation not met: {u}"))?;
    }
    w(&mut out, format!("trace hash {:016x}", sim.trace_hash()))?;
    out.flush().map_err(|e| e.to_string())?;
    if let Some(path) = &args.export_history {
        let exported = ExportedHistory {
            scenario: args.scenario.clone(),
            seed,
            policy: report.policy.clone(),
            final_reads_complete: true,
            history: sim.history().to_vec(),
        };
        let json = serde_json::to_vec(&exported).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if !report.violations.is_empty() {
        return Err(format!(
            "invariant violated; reproduce with: logsim run --scenario {} --seed {seed}",
            args.scenario
        ));
    }
    if !report.unmet.is_empty() {
        return Err(format!(
            "{} expectation(s) of the scenario not met",
            report.unmet.len()
        ));
    }
    Ok(())
}

enum Backend {
    Memory(MemoryStorage),
    Files(FileStorage),
}

impl Backend {
    fn storage(&mut self) -> &mut dyn SyncStorage {
        match self {
            Backend::Memory(m) => m,
            Backend::Files(f) => f,
        }
    }
}

fn run(args: RunArgs) -> Result<(), String> {
    let (config, file_seed) = match load_scenario(&args.scenario)? {
        Loaded::Hello(config, seed) => (config, seed),
        Loaded::Cluster(scenario) => return run_cluster(*scenario, &args),
    };
    let mut backend = match &args.data_dir {
        Some(dir) => Backend::Files(FileStorage::open(dir).map_err(|e| e.to_string())?),
        None => Backend::Memory(MemoryStorage::new()),
    };
    let existing = match &mut backend {
        Backend::Files(f) => f.read_all().map_err(|e| e.to_string())?,
        Backend::Memory(_) => Vec::new(),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut sim = if existing.is_empty() {
        let seed = args.seed.or(file_seed).unwrap_or(42);
        writeln!(out, "seed {seed}").map_err(|e| e.to_string())?;
        HelloSim::new(config, seed).map_err(|e| e.to_string())?
    } else {
        let (sim, report) = HelloSim::restore(existing).map_err(|e| {
            format!(
                "{}: {e} (use an empty --data-dir for a new run)",
                args.data_dir.as_deref().unwrap_or(Path::new("")).display()
            )
        })?;
        // A session continues only the scenario it was started with: a different seed or
        // configuration on the command line is refused, not silently ignored.
        if args.scenario != "hello" && &config != sim.config() {
            return Err(format!(
                "{} holds a session of a different configuration than {}; use an empty --data-dir for a new run",
                args.data_dir.as_deref().unwrap_or(Path::new("")).display(),
                args.scenario
            ));
        }
        if let Some(seed) = args.seed.or(file_seed) {
            if seed != sim.seed() {
                return Err(format!(
                    "{} holds a session with seed {}, not {seed}; use an empty --data-dir for a new run",
                    args.data_dir.as_deref().unwrap_or(Path::new("")).display(),
                    sim.seed()
                ));
            }
        }
        writeln!(out, "seed {}", sim.seed()).map_err(|e| e.to_string())?;
        writeln!(out, "resumed at step {} ({})", report.steps, sim.now())
            .map_err(|e| e.to_string())?;
        for note in &report.notes {
            writeln!(out, "recovery: {note}").map_err(|e| e.to_string())?;
        }
        sim
    };
    let until = SimTime::from_millis(args.duration_ms.unwrap_or(10_000));
    let mut request_id = 0u64;
    let mut ran = 0u64;
    loop {
        settle_sync(&mut sim, backend.storage(), &mut request_id).map_err(|e| e.to_string())?;
        if args.steps.is_some_and(|max| ran >= max) {
            break;
        }
        match sim.next_due() {
            Some(due) if due <= until => {}
            _ => break,
        }
        sim.step()
            .map_err(|e| format!("step {}: {e}", sim.steps() + 1))?;
        ran += 1;
        if !args.quiet {
            for line in sim.last_step_trace() {
                writeln!(out, "{line}").map_err(|e| e.to_string())?;
            }
        }
    }
    // A final checkpoint so a later run with the same --data-dir continues from here.
    sim.checkpoint().map_err(|e| e.to_string())?;
    settle_sync(&mut sim, backend.storage(), &mut request_id).map_err(|e| e.to_string())?;
    let view = sim.view();
    writeln!(out, "ran {ran} event(s); simulated time {}", sim.now()).map_err(|e| e.to_string())?;
    for p in &view.partitions {
        writeln!(
            out,
            "{}-{}: log start offset {}, high watermark {}, log end offset {}, {} segment(s), consumer position {}",
            view.topic,
            p.partition,
            p.log_start_offset,
            p.high_watermark,
            p.log_end_offset,
            p.segments.len(),
            p.consumer_position
        )
        .map_err(|e| e.to_string())?;
    }
    writeln!(out, "trace hash {:016x}", sim.trace_hash()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())
}
