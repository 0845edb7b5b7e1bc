//! `cargo xtask soak`: the long campaign a developer runs before calling the engine trusted.
//! Swarm seeds in chunks of `logsim drill --json`, one results file per chunk under
//! `target/soak/<revision>/`, so an interrupted soak resumes where it stopped (a chunk counts
//! once its file has the summary line) and results never mix revisions; then every scenario
//! of `scenarios/` at seeds 1..=100; then one merged report. It reports failures and keeps
//! going; the exit status says whether any seed failed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::bench::target_dir;
use crate::cmd::{Failure, Project};

struct Options {
    start: u64,
    seeds: u64,
    chunk: u64,
    jobs: u32,
    scenario_seeds: u64,
}

fn parse(options: &[String]) -> Result<Options, Failure> {
    let mut o = Options {
        start: 1,
        seeds: 100_000,
        chunk: 1_000,
        jobs: 2,
        scenario_seeds: 100,
    };
    let mut rest = options.iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| Failure::usage(format!("`soak {flag}` needs a value")))?;
        let number = |what: &str| {
            value.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Failure::usage(format!(
                    "`soak {what}` takes a positive integer, got `{value}`"
                ))
            })
        };
        match flag.as_str() {
            "--start" => o.start = number("--start")?,
            "--seeds" => o.seeds = number("--seeds")?,
            "--chunk" => o.chunk = number("--chunk")?,
            "--jobs" => o.jobs = u32::try_from(number("--jobs")?).unwrap_or(u32::MAX),
            "--scenario-seeds" => o.scenario_seeds = number("--scenario-seeds")?,
            other => {
                return Err(Failure::usage(format!(
                    "unknown option `{other}` for `soak`; valid options: --seeds N, --start S, --chunk N, --jobs N, --scenario-seeds N"
                )))
            }
        }
    }
    if o.start.checked_add(o.seeds).is_none() {
        return Err(Failure::usage("`soak`: --start + --seeds overflows"));
    }
    Ok(o)
}

/// The revision results belong to: `git describe --always --dirty`, or "unversioned".
pub fn revision(project: &Project) -> String {
    project
        .command("git", &["describe", "--always", "--dirty", "--abbrev=12"])
        .probe()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "unversioned".to_string())
}

/// Whether a `--json` file is a finished run of exactly these seeds.
fn finished(path: &Path, start: u64, seeds: u64) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    text.lines().last().is_some_and(|last| {
        last.starts_with("{\"summary\":")
            && last.contains(&format!("\"start\":{start},\"seeds\":{seeds},"))
    })
}

fn bar(done: u64, total: u64) -> String {
    let width = 30;
    let filled = (done * width / total.max(1)) as usize;
    format!(
        "[{}{}]",
        "#".repeat(filled),
        ".".repeat(width as usize - filled)
    )
}

pub fn run(project: &Project, options: &[String]) -> Result<(), Failure> {
    let o = parse(options)?;
    project
        .cargo(&["build", "--release", "-p", "logsim-cli"])
        .run("build the release CLI")?;
    let logsim = target_dir(project).join("release/logsim");
    let logsim = logsim
        .to_str()
        .ok_or_else(|| Failure::new("the target directory's path is not UTF-8"))?
        .to_string();
    let dir = target_dir(project).join("soak").join(revision(project));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::new(format!("create {}: {e}", dir.display())))?;
    println!(
        "xtask soak: swarm seeds {}..={} in chunks of {}, results in {}",
        o.start,
        o.start + o.seeds - 1,
        o.chunk,
        dir.display()
    );
    let end = o.start + o.seeds;
    let mut files: Vec<PathBuf> = Vec::new();
    let started = Instant::now();
    let (mut done, mut ran_now) = (0u64, 0u64);
    let mut chunk_start = o.start;
    while chunk_start < end {
        let seeds = o.chunk.min(end - chunk_start);
        let file = dir.join(format!("swarm-{chunk_start}-{seeds}.json"));
        if finished(&file, chunk_start, seeds) {
            done += seeds;
        } else {
            let partial = file.with_extension("partial");
            let (s, n, j) = (
                chunk_start.to_string(),
                seeds.to_string(),
                o.jobs.to_string(),
            );
            let path = partial
                .to_str()
                .ok_or_else(|| Failure::new("the soak directory's path is not UTF-8"))?;
            // A chunk with failing seeds exits non-zero; its file is still complete, and the
            // merged report at the end names every failure.
            let _ = project
                .command(
                    &logsim,
                    &[
                        "drill", "--start", &s, "--seeds", &n, "--jobs", &j, "--json", path,
                    ],
                )
                .probe();
            if !finished(&partial, chunk_start, seeds) {
                return Err(Failure::new(format!(
                    "logsim drill --start {s} --seeds {n} did not finish; rerun `cargo xtask soak` to resume"
                )));
            }
            std::fs::rename(&partial, &file)
                .map_err(|e| Failure::new(format!("rename {}: {e}", partial.display())))?;
            done += seeds;
            ran_now += seeds;
        }
        files.push(file);
        let elapsed = started.elapsed().as_secs_f64();
        let eta = if ran_now > 0 {
            format!(
                ", eta {:.0} min",
                (o.seeds - done) as f64 * elapsed / ran_now as f64 / 60.0
            )
        } else {
            String::new()
        };
        println!(
            "soak {} {done}/{} seeds, {:.0} min{eta}",
            bar(done, o.seeds),
            o.seeds,
            elapsed / 60.0
        );
        chunk_start += seeds;
    }
    let scenarios = project
        .command(
            &logsim,
            &[
                "scenarios",
                "--seeds",
                &o.scenario_seeds.to_string(),
                "--jobs",
                &o.jobs.to_string(),
            ],
        )
        .run("every scenario at seeds 1..=N");
    let mut merge: Vec<&str> = vec!["drill", "--merge"];
    for f in &files {
        merge.push(
            f.to_str()
                .ok_or_else(|| Failure::new("the soak directory's path is not UTF-8"))?,
        );
    }
    let swarm = project
        .command(&logsim, &merge)
        .run("the merged swarm report");
    swarm.and(scenarios)
}
