//! `cargo xtask bench <name>`: benchmarks, native first, then the browser equivalent if present.
//!
//! The programs themselves live elsewhere (the CLI's `bench` subcommand, Node scripts under
//! tests/e2e/); this module only knows which ones make up a named benchmark and runs them in
//! order.

use crate::cmd::{Failure, Project};
use crate::setup;
use std::path::{Path, PathBuf};

const BENCHES: &str = "log, buffer, sim, ui";
const WASM: &str = "wasm32-unknown-unknown";

pub fn run(project: &Project, args: &[String]) -> Result<(), Failure> {
    let (name, rest) = match args.split_first() {
        Some((name, rest)) => (name.as_str(), rest),
        None => {
            return Err(Failure::usage(format!(
                "`bench` needs a benchmark name; valid benchmarks: {BENCHES}"
            )))
        }
    };
    match name {
        "log" => {
            if let Some(extra) = rest.first() {
                return Err(Failure::usage(format!(
                    "`bench log` takes no options, got `{extra}`"
                )));
            }
            log(project)
        }
        "buffer" => buffer(project, rest),
        "sim" => sim(project, &SimOptions::parse(rest)?),
        "ui" => ui(project, UiOptions::parse(rest)?),
        other => Err(Failure::usage(format!(
            "unknown benchmark `{other}`; valid benchmarks: {BENCHES}"
        ))),
    }
}

/// B1: append and read throughput of the log, natively (file backend) and in the browser
/// (IndexedDB), so the two numbers can be read side by side.
fn log(project: &Project) -> Result<(), Failure> {
    setup::run(project)?;
    project
        .cargo(&["run", "--release", "-p", "logsim-cli", "--", "bench", "log"])
        .run("bench log (native)")?;
    let browser_bench = project.root.join("tests/e2e/bench-idb.mjs");
    if browser_bench.exists() {
        project
            .command("node", &["tests/e2e/bench-idb.mjs"])
            .env("LOGSIM_DIST", project.dist())
            .run("bench log (browser, IndexedDB)")
    } else {
        println!(
            "xtask: skipping the browser log benchmark: tests/e2e/bench-idb.mjs does not exist yet"
        );
        Ok(())
    }
}

/// B2 and B6 through the edge buffer's JS API: `LogBuffer.append`/`flush` in a worker of
/// headless Chromium, next to raw IndexedDB puts of the same chunk bytes and Dexie bulkPut of
/// one object per record, in the same page (tests/e2e/bench-idb.mjs with the `buffer` impl).
fn buffer(project: &Project, args: &[String]) -> Result<(), Failure> {
    let quick = match args {
        [] => false,
        [flag] if flag == "--quick" => true,
        [other, ..] => {
            return Err(Failure::usage(format!(
                "unknown option `{other}` for `bench buffer`; valid options: --quick"
            )))
        }
    };
    setup::run(project)?;
    let out = target_dir(project).join("buffer");
    crate::buffer_pkg::build(project, &out)?;
    let mut cmd = project
        .command("node", &["tests/e2e/bench-idb.mjs"])
        .env("BENCH_IDB_IMPLS", "buffer,raw,dexie")
        .env("BENCH_IDB_FLUSH", "262144")
        .env("BENCH_IDB_BUFFER_PKG", out.join("pkg"));
    if quick {
        cmd = cmd.env("BENCH_IDB_QUICK", "1");
    }
    cmd.run("bench buffer (browser, LogBuffer API)")
}

/// The options of `bench sim`.
#[derive(Debug, PartialEq, Eq)]
pub struct SimOptions {
    /// Swarm seeds 1..=seeds.
    pub seeds: u32,
    pub quick: bool,
    /// Repetitions, each running native, wasm in Node and wasm in Chromium in turn.
    pub reps: u32,
    pub chromium: bool,
}

impl SimOptions {
    pub fn parse(args: &[String]) -> Result<SimOptions, Failure> {
        let mut seeds = None;
        let mut reps = None;
        let mut quick = false;
        let mut chromium = true;
        let mut rest = args.iter();
        let number = |flag: &str, value: Option<&String>, min: u32| {
            value
                .and_then(|v| v.parse::<u32>().ok())
                .filter(|n| *n >= min && *n <= 100_000)
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "`bench sim {flag}` needs a whole number from {min} to 100000"
                    ))
                })
        };
        while let Some(flag) = rest.next() {
            match flag.as_str() {
                "--seeds" => seeds = Some(number("--seeds", rest.next(), 0)?),
                "--reps" => reps = Some(number("--reps", rest.next(), 1)?),
                "--quick" => quick = true,
                "--no-chromium" => chromium = false,
                other => {
                    return Err(Failure::usage(format!(
                        "unknown option `{other}` for `bench sim`; valid options: --seeds N, \
                         --reps N, --quick, --no-chromium"
                    )))
                }
            }
        }
        Ok(SimOptions {
            seeds: seeds.unwrap_or(if quick { 2 } else { 20 }),
            quick,
            reps: reps.unwrap_or(if quick { 1 } else { 3 }),
            chromium,
        })
    }
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the root) or `target/`.
pub fn target_dir(project: &Project) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                project.root.join(dir)
            }
        })
        .unwrap_or_else(|| project.root.join("target"))
}

fn path_arg(path: &Path) -> Result<&str, Failure> {
    path.to_str()
        .ok_or_else(|| Failure::new(format!("{} is not UTF-8", path.display())))
}

/// B4: simulation speed. Builds the native CLI and the wasm32 package, runs the same cases
/// natively, in Node and in headless Chromium, repetition by repetition (native, Node, Chromium,
/// native, ...), then `logsim bench sim --report`, which refuses to print any figure unless
/// every seed's trace hash agrees across all targets.
fn sim(project: &Project, options: &SimOptions) -> Result<(), Failure> {
    setup::run(project)?;
    project
        .cargo(&["build", "--release", "-p", "logsim-cli"])
        .run("bench sim: building the native CLI")?;
    project
        .cargo(&[
            "build",
            "--release",
            "--target",
            WASM,
            "-p",
            "logsim-bench-sim",
        ])
        .run("bench sim: building logsim-bench-sim for wasm32")?;
    let target = target_dir(project);
    let wasm = target.join(WASM).join("release/logsim_bench_sim.wasm");
    let out = target.join("bench-sim");
    for (flavour, dir) in [("nodejs", "node"), ("web", "web")] {
        project
            .command(
                "wasm-bindgen",
                &[
                    "--target",
                    flavour,
                    "--out-dir",
                    path_arg(&out.join(dir))?,
                    path_arg(&wasm)?,
                ],
            )
            .run(&format!("bench sim: wasm-bindgen --target {flavour}"))?;
    }
    let results = out.join("results");
    if results.exists() {
        std::fs::remove_dir_all(&results)
            .map_err(|e| Failure::new(format!("cannot clear {}: {e}", results.display())))?;
    }
    std::fs::create_dir_all(&results)
        .map_err(|e| Failure::new(format!("cannot create {}: {e}", results.display())))?;
    let logsim = target.join("release/logsim");
    let seeds = options.seeds.to_string();
    let mut files = vec![
        results.join("native.jsonl"),
        results.join("wasm-node.jsonl"),
    ];
    if options.chromium {
        files.push(results.join("wasm-chromium.jsonl"));
    }
    for rep in 0..options.reps {
        let rep_text = rep.to_string();
        let mut native = vec![
            "bench",
            "sim",
            "--seeds",
            &seeds,
            "--rep",
            &rep_text,
            "--out",
            path_arg(&files[0])?,
        ];
        if options.quick {
            native.push("--quick");
        }
        project
            .command(path_arg(&logsim)?, &native)
            .run("bench sim (native)")?;
        for (file, target) in files[1..].iter().zip(["node", "chromium"]) {
            let mut wasm = vec![
                "tests/e2e/bench-sim.mjs",
                "--target",
                target,
                "--seeds",
                &seeds,
                "--rep",
                &rep_text,
                "--out",
                path_arg(file)?,
            ];
            if options.quick {
                wasm.push("--quick");
            }
            project
                .command("node", &wasm)
                .run(&format!("bench sim (wasm in {target})"))?;
        }
    }
    if !options.chromium {
        println!("xtask: bench sim ran without headless Chromium (--no-chromium)");
    }
    let mut report = vec!["bench", "sim", "--report"];
    for file in &files {
        report.push(path_arg(file)?);
    }
    project
        .command(path_arg(&logsim)?, &report)
        .run("bench sim: the report (trace hashes across targets, then the table)")
}

/// The options of `bench ui`.
#[derive(Debug, PartialEq, Eq)]
pub struct UiOptions {
    /// Only 3 brokers x 100 partitions x 1x: a smoke run.
    pub quick: bool,
    /// Wall seconds measured per case.
    pub seconds: Option<u32>,
}

impl UiOptions {
    pub fn parse(args: &[String]) -> Result<UiOptions, Failure> {
        let mut options = UiOptions {
            quick: false,
            seconds: None,
        };
        let mut rest = args.iter();
        while let Some(flag) = rest.next() {
            match flag.as_str() {
                "--quick" => options.quick = true,
                "--seconds" => {
                    let seconds = rest
                        .next()
                        .and_then(|v| v.parse::<u32>().ok())
                        .filter(|n| (1..=3_600).contains(n))
                        .ok_or_else(|| {
                            Failure::usage(
                                "`bench ui --seconds` needs a whole number from 1 to 3600",
                            )
                        })?;
                    options.seconds = Some(seconds);
                }
                other => {
                    return Err(Failure::usage(format!(
                        "unknown option `{other}` for `bench ui`; valid options: --quick, \
                         --seconds N"
                    )))
                }
            }
        }
        Ok(options)
    }
}

/// B5: the UI frame budget. Builds the app (`trunk build --release` into dist/), then
/// tests/e2e/bench-ui.mjs opens it in headless Chromium for each cluster size and speed and
/// reports the main-thread work per frame, plus the gzipped bundle sizes.
fn ui(project: &Project, options: UiOptions) -> Result<(), Failure> {
    setup::run(project)?;
    project
        .trunk(&["build", "--release"])
        .run("bench ui: trunk build --release")?;
    let seconds = options.seconds.map(|s| s.to_string());
    let mut args = vec!["tests/e2e/bench-ui.mjs"];
    if options.quick {
        args.push("--quick");
    }
    if let Some(seconds) = &seconds {
        args.extend(["--seconds", seconds]);
    }
    project
        .command("node", &args)
        .env("LOGSIM_DIST", project.dist())
        .run("bench ui (B5, headless Chromium)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<SimOptions, Failure> {
        SimOptions::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn sim_options_have_defaults_and_refuse_nonsense() {
        let full = parse(&[]).expect("defaults");
        assert_eq!(
            (full.seeds, full.reps, full.quick, full.chromium),
            (20, 3, false, true)
        );
        let quick = parse(&["--quick"]).expect("quick");
        assert_eq!((quick.seeds, quick.reps), (2, 1));
        let many = parse(&["--seeds", "1000", "--reps", "1", "--no-chromium"]).expect("many");
        assert_eq!((many.seeds, many.reps, many.chromium), (1000, 1, false));
        for bad in [
            &["--seeds"][..],
            &["--seeds", "x"],
            &["--reps", "0"],
            &["--fast"],
        ] {
            let failure = parse(bad).expect_err("refused");
            assert_eq!(failure.exit_code, 2, "{bad:?}: {}", failure.message);
        }
    }

    fn parse_ui(args: &[&str]) -> Result<UiOptions, Failure> {
        UiOptions::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn ui_options_parse_and_refuse_nonsense() {
        assert_eq!(
            parse_ui(&[]).expect("defaults"),
            UiOptions {
                quick: false,
                seconds: None
            }
        );
        assert_eq!(
            parse_ui(&["--quick", "--seconds", "3"]).expect("quick"),
            UiOptions {
                quick: true,
                seconds: Some(3)
            }
        );
        for bad in [
            &["--seconds"][..],
            &["--seconds", "0"],
            &["--seconds", "x"],
            &["--fast"],
        ] {
            let failure = parse_ui(bad).expect_err("refused");
            assert_eq!(failure.exit_code, 2, "{bad:?}: {}", failure.message);
        }
    }
}
