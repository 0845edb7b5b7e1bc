//! `logsim bench sim`: the native side of B4 (simulation speed). It runs the cases of
//! `logsim_bench_sim::cases` natively with `std::time::Instant` as the clock and writes one
//! measurement line per case; `--report` reads the lines of every target (native, wasm in Node,
//! wasm in Chromium), checks that every seed's trace hash agrees across them before printing
//! any figure, and prints the table. `cargo xtask bench sim` drives both steps.

use crate::bench::BenchArgs;
use logsim_bench_sim::cases::{cases, Plan};
use logsim_bench_sim::measure::{measure, Measurement};
use logsim_bench_sim::report::{parse_lines, report, NATIVE};
use std::io::Write;
use std::time::Instant;

pub fn run(args: &BenchArgs) -> Result<(), String> {
    if !args.report.is_empty() {
        return print_report(args);
    }
    let plan = Plan {
        seeds: args.seeds,
        quick: args.quick,
    };
    let origin = Instant::now();
    let clock = move || origin.elapsed().as_secs_f64() * 1000.0;
    let mut file = match &args.out {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let all: Vec<_> = cases(plan)
        .into_iter()
        .filter(|c| args.only.is_empty() || args.only.contains(&c.group))
        .collect();
    if all.is_empty() {
        return Err(format!(
            "no case to run: --only {} matches none of the plan's groups",
            args.only.join(",")
        ));
    }
    let mut measurements: Vec<Measurement> = Vec::with_capacity(all.len());
    for (i, case) in all.iter().enumerate() {
        let m = measure(case, NATIVE, args.rep, &clock)?;
        eprintln!(
            "bench sim native rep {}: [{}/{}] {} seed {}: {} events in {:.0} ms",
            args.rep,
            i + 1,
            all.len(),
            case.group,
            case.seed,
            m.events,
            m.wall_ms
        );
        let line = serde_json::to_string(&m).map_err(|e| e.to_string())?;
        match &mut file {
            Some(f) => writeln!(f, "{line}").map_err(|e| format!("cannot write: {e}"))?,
            None => println!("{line}"),
        }
        measurements.push(m);
    }
    if file.is_none() {
        let (table, _) = report(&measurements)?;
        println!("\n{table}");
    }
    Ok(())
}

fn print_report(args: &BenchArgs) -> Result<(), String> {
    let mut measurements = Vec::new();
    for path in &args.report {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
        measurements.extend(parse_lines(&text, &name)?);
    }
    let (table, lines) = report(&measurements)?;
    println!("{table}");
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
