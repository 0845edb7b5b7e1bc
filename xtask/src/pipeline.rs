//! `cargo xtask test`: the whole check, in the order that fails fastest and cheapest first.
//!
//! Style before compiling, native before wasm, unit tests before the browser, and the
//! end-to-end test last because it needs everything else. The run stops at the first failing
//! step, names it on a `FAILED: <step>` line, prints the timing of every step, and ends with one
//! machine-readable line: `xtask: N passed, M failed`.

use std::time::{Duration, Instant};

use crate::cmd::{Cmd, Failure, Project};
use crate::setup;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every step, including setup, wasm, Chromium and the end-to-end test.
    Full,
    /// fmt, native clippy and native tests: the fast inner loop; needs no setup.
    Quick,
}

enum Action {
    Setup,
    Command(Cmd),
}

struct Step {
    name: &'static str,
    action: Action,
}

enum Outcome {
    Passed(Duration),
    Failed(Duration),
    Skipped,
}

const WASM: &str = "wasm32-unknown-unknown";

fn steps(project: &Project, mode: Mode) -> Vec<Step> {
    let step = |name, cmd| Step {
        name,
        action: Action::Command(cmd),
    };
    let mut steps = Vec::new();
    if mode == Mode::Full {
        steps.push(Step {
            name: "setup",
            action: Action::Setup,
        });
    }
    steps.push(step(
        "fmt",
        project.cargo(&["fmt", "--all", "--", "--check"]),
    ));
    steps.push(step(
        "clippy native",
        project.cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    ));
    if mode == Mode::Full {
        steps.push(step(
            "clippy wasm32",
            project.cargo(&[
                "clippy",
                "--target",
                WASM,
                "-p",
                "logsim",
                "-p",
                "logsim-browser",
                "-p",
                "logsim-www",
                "-p",
                "logsim-bench-idb",
                "-p",
                "logsim-bench-sim",
                "--features",
                "logsim-browser/js-api",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        ));
    }
    steps.push(step("test native", project.cargo(&["test", "--workspace"])));
    if mode == Mode::Quick {
        return steps;
    }
    // Fresh seeds on every commit: a range the project's own tests never chose, derived from
    // the commit's hash, so each landing tries 2,000 seeds nobody has run before. Report-only
    // until the open findings of issue 23 (about 1 seed in 2,000 to 6,000: a consumer
    // committing below its own acknowledged offset, a pipeline duplicate, a transaction
    // coordinator acting on its log's uncommitted tail) are fixed: every failure is printed
    // with its reproduction; drop --report-only to make it gate.
    let start = swarm_start(project);
    println!(
        "xtask: this commit's swarm seeds are {start}..{}",
        start + SWARM_SEEDS - 1
    );
    let (start, seeds) = (start.to_string(), SWARM_SEEDS.to_string());
    steps.push(step(
        "swarm seeds of this commit",
        project.cargo(&[
            "run",
            "--release",
            "-q",
            "-p",
            "logsim-cli",
            "--",
            "drill",
            "--start",
            &start,
            "--seeds",
            &seeds,
            "--report-only",
        ]),
    ));
    // No configure macro in the core's tests: wasm-bindgen-test-runner runs them under Node.
    steps.push(step(
        "test wasm32 node (logsim)",
        project.cargo(&["test", "--target", WASM, "-p", "logsim"]),
    ));
    // Determinism across targets: whole swarm runs in wasm32 (release, so 32 seeds of 45
    // simulated seconds take about half a minute under Node) against the native golden hashes.
    // The full 1,000-seed comparison is `cargo xtask bench sim --seeds 1000`.
    steps.push(step(
        "test wasm32 node (swarm hashes vs native)",
        project.cargo(&[
            "test",
            "--release",
            "--target",
            WASM,
            "-p",
            "logsim-bench-sim",
        ]),
    ));
    // run_in_browser tests: the runner drives headless Chromium through chromedriver, with the
    // quiet flags of browser/webdriver.json.
    steps.push(step(
        "test wasm32 chromium (logsim-browser)",
        project
            .cargo(&["test", "--target", WASM, "-p", "logsim-browser"])
            .env("CHROMEDRIVER", "/usr/bin/chromedriver"),
    ));
    steps.push(step("trunk build", project.trunk(&["build", "--release"])));
    // The e2e test replays an exported session with the native CLI.
    steps.push(step(
        "build cli",
        project.cargo(&["build", "-p", "logsim-cli"]),
    ));
    steps.push(step(
        "e2e",
        project
            .command("node", &["--test", "--test-concurrency=1", "tests/e2e/"])
            .env("LOGSIM_DIST", project.dist())
            .env("LOGSIM_CLI", project.root.join("target/debug/logsim")),
    ));
    steps
}

/// How many swarm seeds `cargo xtask test` runs (about 1.5 minutes on 2 cores).
const SWARM_SEEDS: u64 = 2_000;

/// The first swarm seed for this checkout: from the commit hash (`git rev-parse HEAD`), above
/// the 1..=100,000 of `cargo xtask soak`; a fixed range without git.
fn swarm_start(project: &Project) -> u64 {
    let hash = project
        .command("git", &["rev-parse", "HEAD"])
        .probe()
        .and_then(|h| u64::from_str_radix(h.get(..12)?, 16).ok());
    match hash {
        Some(h) => 1_000_000 + h % 1_000_000_000_000,
        None => {
            println!("xtask: no git commit here; the swarm step runs seeds from 1000000");
            1_000_000
        }
    }
}

pub fn run(project: &Project, mode: Mode) -> Result<(), Failure> {
    let steps = steps(project, mode);
    let total = steps.len();
    let started = Instant::now();
    let mut outcomes: Vec<(&'static str, Outcome)> = Vec::with_capacity(total);
    let mut failed = false;

    for (index, step) in steps.into_iter().enumerate() {
        if failed {
            outcomes.push((step.name, Outcome::Skipped));
            continue;
        }
        let step_started = Instant::now();
        let result = match step.action {
            Action::Setup => {
                println!("\n==> [{}/{total}] {}", index + 1, step.name);
                setup::run(project)
            }
            Action::Command(cmd) => {
                println!(
                    "\n==> [{}/{total}] {}: {}",
                    index + 1,
                    step.name,
                    cmd.display()
                );
                cmd.run(step.name)
            }
        };
        let elapsed = step_started.elapsed();
        match result {
            Ok(()) => outcomes.push((step.name, Outcome::Passed(elapsed))),
            Err(error) => {
                println!("\nFAILED: {}", step.name);
                println!("  {}", error.message);
                failed = true;
                outcomes.push((step.name, Outcome::Failed(elapsed)));
            }
        }
    }

    print_summary(&outcomes, started.elapsed());
    // The summary's last line is the verdict; nothing is printed after it.
    if failed {
        Err(Failure::reported())
    } else {
        Ok(())
    }
}

fn print_summary(outcomes: &[(&'static str, Outcome)], total: Duration) {
    println!("\nxtask test summary:");
    let (mut passed, mut failed) = (0, 0);
    for (name, outcome) in outcomes {
        match outcome {
            Outcome::Passed(elapsed) => {
                passed += 1;
                println!("  ok       {name:<40} {:>7.1}s", elapsed.as_secs_f64());
            }
            Outcome::Failed(elapsed) => {
                failed += 1;
                println!("  FAILED   {name:<40} {:>7.1}s", elapsed.as_secs_f64());
            }
            Outcome::Skipped => println!("  skipped  {name}"),
        }
    }
    println!("  total    {:<40} {:>7.1}s", "", total.as_secs_f64());
    println!("xtask: {passed} passed, {failed} failed");
}
