//! `cargo xtask bench <name>`: benchmarks, native first, then the browser equivalent if present.
//!
//! The programs themselves live elsewhere (the CLI's `bench` subcommand, Node scripts under
//! tests/e2e/); this module only knows which ones make up a named benchmark.

use crate::cmd::{Failure, Project};
use crate::setup;

const BENCHES: &str = "log";

pub fn run(project: &Project, args: &[String]) -> Result<(), Failure> {
    let (name, rest) = match args.split_first() {
        Some((name, rest)) => (name.as_str(), rest),
        None => {
            return Err(Failure::usage(format!(
                "`bench` needs a benchmark name; valid benchmarks: {BENCHES}"
            )))
        }
    };
    if let Some(extra) = rest.first() {
        return Err(Failure::usage(format!(
            "`bench {name}` takes no options, got `{extra}`"
        )));
    }
    match name {
        "log" => log(project),
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
