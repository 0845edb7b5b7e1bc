//! `cargo xtask`: every piece of project automation, in Rust, so that one command sets up,
//! builds, serves, tests and benchmarks the workspace on a fresh machine.
//!
//! The alias lives in `.cargo/config.toml`. The program is std-only on purpose: it has to build
//! before anything else is installed. Every command runs from the repository root with
//! `node_modules/.bin` and `$CARGO_HOME/bin` first on `PATH`, so the pinned tools win over
//! whatever else the machine has (Debian's binaryen 108 cannot read current rustc output).

mod bench;
mod buffer_pkg;
mod cmd;
mod pipeline;
mod setup;
mod soak;

use std::process::ExitCode;

use crate::cmd::{Failure, Project};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  setup          install what is missing: wasm32 target, trunk 0.21.14, wasm-bindgen-cli
                 0.2.130, npm packages, Debian chromium + chromium-driver (fast when done)
  serve          setup, then `trunk serve --release` on http://127.0.0.1:8080/
  build          setup, then `trunk build --release` into dist/
  buffer-pkg [--out DIR]
                 the edge buffer's JS package (LogBuffer) and demo page into DIR (default
                 target/buffer; Trunk's post-build hook puts it in dist/buffer/)
  test           setup, then every check in order, stopping at the first failure
  test --quick   fmt, native clippy and native tests only (no setup, no wasm, no browser)
  bench log      setup, then the native log benchmark (`logsim bench log`) and, if present,
                 the browser benchmark tests/e2e/bench-idb.mjs
  bench buffer [--quick]
                 setup, the buffer package, then B2 and B6 through the LogBuffer JS API in
                 headless Chromium next to raw IndexedDB puts and Dexie bulkPut, same page
  bench sim [--seeds N] [--reps N] [--quick] [--no-chromium]
                 setup, then B4 simulation speed: the same cases natively, in wasm under Node
                 and in headless Chromium; every trace hash must agree before any figure
  bench ui [--quick] [--seconds N]
                 setup, `trunk build --release`, then B5 UI frame budget: the app in headless
                 Chromium for 3 / 9 brokers x 100 / 1,000 / 10,000 partitions x 1x / 10x / 100x
                 (--quick: 3 x 100 x 1x), p50/p95/max main-thread work per frame, and the
                 gzipped bundle sizes
  soak [--seeds N] [--start S] [--chunk N] [--jobs N] [--scenario-seeds N]
                 the long campaign: swarm seeds S..S+N (default 1..=100000) in chunks of
                 `logsim drill --json` under target/soak/<revision>/ (an interrupted soak
                 resumes), every scenario at seeds 1..=100, then one merged report
  help           this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("xtask: error: {}", failure.message);
            }
            if failure.show_usage {
                eprintln!("\n{USAGE}");
            }
            ExitCode::from(failure.exit_code)
        }
    }
}

fn run(args: &[String]) -> Result<(), Failure> {
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => {
            println!("{USAGE}");
            return Ok(());
        }
    };
    let project = Project::locate()?;
    match command {
        "setup" => {
            no_options(command, rest)?;
            setup::run(&project)
        }
        "serve" => {
            no_options(command, rest)?;
            serve(&project)
        }
        "build" => {
            no_options(command, rest)?;
            setup::run(&project)?;
            project
                .trunk(&["build", "--release"])
                .run("trunk build --release")
        }
        "test" => pipeline::run(&project, parse_test_options(rest)?),
        "bench" => bench::run(&project, rest),
        "soak" => soak::run(&project, rest),
        "buffer-pkg" => buffer_pkg::run(&project, rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(Failure::usage(format!(
            "unknown command `{other}`; valid commands: setup, serve, build, buffer-pkg, test, bench, soak, help"
        ))),
    }
}

fn serve(project: &Project) -> Result<(), Failure> {
    setup::run(project)?;
    println!("xtask: serving logsim on http://127.0.0.1:8080/ (Ctrl-C to stop)");
    project
        .trunk(&[
            "serve",
            "--release",
            "--address",
            "127.0.0.1",
            "--port",
            "8080",
        ])
        .run("trunk serve")
}

fn parse_test_options(options: &[String]) -> Result<pipeline::Mode, Failure> {
    match options {
        [] => Ok(pipeline::Mode::Full),
        [flag] if flag == "--quick" => Ok(pipeline::Mode::Quick),
        [other, ..] => Err(Failure::usage(format!(
            "unknown option `{other}` for `test`; valid options: --quick"
        ))),
    }
}

fn no_options(command: &str, options: &[String]) -> Result<(), Failure> {
    match options.first() {
        None => Ok(()),
        Some(other) => Err(Failure::usage(format!(
            "`{command}` takes no options, got `{other}`"
        ))),
    }
}
