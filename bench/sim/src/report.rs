//! The report of B4: the JSON lines every target wrote (`Measurement`s), checked and summed.
//!
//! No figure is printed unless every case's trace hash and event count agree across every
//! target and repetition, and every target ran every case: a disagreement is an error that
//! names the case and seed. Then, per case group and target, the medians over repetitions are
//! summed over seeds into events per second, simulated seconds per wall second, runs (seeds) per
//! hour on one core, the bare kernel's rate and ours / bare, and WASM / native; the LinkedIn
//! 2014 workload gets simulated records per wall second against the post's figures.

use crate::cases::{
    LINKEDIN_2014_ACKS_ALL_RECORDS_PER_S, LINKEDIN_2014_ONE_PRODUCER_RECORDS_PER_S,
    LINKEDIN_2014_SETTINGS,
};
use crate::measure::Measurement;
use serde_json::json;
use std::collections::BTreeMap;

pub const NATIVE: &str = "native";
const LINKEDIN: &str = "linkedin-2014";

/// Parses the JSON lines of one target's output; `source` names it in errors. Lines that do
/// not start with `{` (progress, build output) are skipped.
pub fn parse_lines(text: &str, source: &str) -> Result<Vec<Measurement>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with('{'))
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map_err(|e| format!("{source}:{}: not a B4 measurement: {e}", n + 1))
        })
        .collect()
}

/// Every case's trace hash and event count agree across targets and repetitions, and every
/// target ran every case.
pub fn check_agreement(measurements: &[Measurement]) -> Result<(), String> {
    if measurements.is_empty() {
        return Err("no measurements".into());
    }
    let mut by_case: BTreeMap<(&str, u64), Vec<&Measurement>> = BTreeMap::new();
    for m in measurements {
        by_case.entry((&m.group, m.seed)).or_default().push(m);
    }
    let implementations = implementations(measurements);
    for ((group, seed), runs) in &by_case {
        let first = runs[0];
        if let Some(other) = runs
            .iter()
            .find(|m| m.hash != first.hash || m.events != first.events)
        {
            return Err(format!(
                "trace hashes disagree for {group} seed {seed}: {} (rep {}) gave {} after {} \
                 events, {} (rep {}) gave {} after {} events",
                first.implementation,
                first.rep,
                first.hash,
                first.events,
                other.implementation,
                other.rep,
                other.hash,
                other.events
            ));
        }
        if group == &LINKEDIN && first.acked == 0 {
            return Err(format!(
                "{group} seed {seed} acknowledged no record in {} events: the case measures \
                 nothing (is its simulated time shorter than the cluster's start?)",
                first.events
            ));
        }
        for implementation in &implementations {
            if !runs.iter().any(|m| &m.implementation == implementation) {
                return Err(format!(
                    "{implementation} has no measurement of {group} seed {seed}: \
                     every target must run every case"
                ));
            }
        }
    }
    Ok(())
}

/// The targets in the order they appear (native first when present).
fn implementations(measurements: &[Measurement]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in measurements {
        if !out.contains(&m.implementation) {
            out.push(m.implementation.clone());
        }
    }
    out.sort_by_key(|i| i != NATIVE);
    out
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.is_empty() {
        0.0
    } else if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// One case group on one target: medians over repetitions, summed over seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub group: String,
    pub implementation: String,
    pub runs: u32,
    pub reps: u32,
    pub events: u64,
    pub sim_ms: u64,
    pub acked: u64,
    pub wall_ms: f64,
    pub bare_ms: f64,
}

impl Row {
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / (self.wall_ms / 1000.0)
    }
    pub fn sim_s_per_wall_s(&self) -> f64 {
        self.sim_ms as f64 / self.wall_ms
    }
    pub fn runs_per_hour(&self) -> f64 {
        f64::from(self.runs) * 3_600_000.0 / self.wall_ms
    }
    pub fn bare_events_per_s(&self) -> f64 {
        self.events as f64 / (self.bare_ms / 1000.0)
    }
    /// Our event rate as a fraction of the bare kernel's over the same events.
    pub fn ours_over_bare(&self) -> f64 {
        self.bare_ms / self.wall_ms
    }
    pub fn acked_per_wall_s(&self) -> f64 {
        self.acked as f64 / (self.wall_ms / 1000.0)
    }
}

/// The rows, groups in the order they were run, targets native first.
pub fn summarize(measurements: &[Measurement]) -> Vec<Row> {
    let mut groups: Vec<&str> = Vec::new();
    for m in measurements {
        if !groups.contains(&m.group.as_str()) {
            groups.push(&m.group);
        }
    }
    let mut rows = Vec::new();
    for group in groups {
        for implementation in implementations(measurements) {
            let mut seeds: BTreeMap<u64, Vec<&Measurement>> = BTreeMap::new();
            for m in measurements
                .iter()
                .filter(|m| m.group == group && m.implementation == implementation)
            {
                seeds.entry(m.seed).or_default().push(m);
            }
            if seeds.is_empty() {
                continue;
            }
            let mut row = Row {
                group: group.to_owned(),
                implementation: implementation.clone(),
                runs: seeds.len() as u32,
                reps: 0,
                events: 0,
                sim_ms: 0,
                acked: 0,
                wall_ms: 0.0,
                bare_ms: 0.0,
            };
            for runs in seeds.values() {
                row.reps = row.reps.max(runs.len() as u32);
                row.events += runs[0].events;
                row.sim_ms += runs[0].sim_ms;
                row.acked += runs[0].acked;
                row.wall_ms += median(runs.iter().map(|m| m.wall_ms).collect());
                row.bare_ms += median(runs.iter().map(|m| m.bare_ms).collect());
            }
            rows.push(row);
        }
    }
    rows
}

/// WASM / native for a row: our event rate on this target over the native one, same group.
fn versus_native(rows: &[Row], row: &Row) -> Option<f64> {
    let native = rows
        .iter()
        .find(|r| r.group == row.group && r.implementation == NATIVE)?;
    Some(native.wall_ms / row.wall_ms)
}

fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The human table.
pub fn render(rows: &[Row]) -> String {
    let mut out = String::new();
    let reps = rows.iter().map(|r| r.reps).max().unwrap_or(0);
    out.push_str(&format!(
        "B4 simulation speed: every figure is the median of {reps} repetition(s), summed over \
         the seeds of a row; one thread per run\n\n"
    ));
    out.push_str(&format!(
        "{:<14} {:<14} {:>5} {:>10} {:>11} {:>10} {:>11} {:>11} {:>9} {:>8}\n",
        "case",
        "target",
        "runs",
        "events",
        "events/s",
        "sim s/s",
        "runs/h/core",
        "bare ev/s",
        "ours/bare",
        "vs native"
    ));
    for row in rows {
        let versus = versus_native(rows, row)
            .filter(|_| row.implementation != NATIVE)
            .map_or("-".to_owned(), |r| format!("{r:.2}"));
        out.push_str(&format!(
            "{:<14} {:<14} {:>5} {:>10} {:>11} {:>10.2} {:>11} {:>11} {:>9.4} {:>8}\n",
            row.group,
            row.implementation,
            row.runs,
            row.events,
            thousands(row.events_per_s()),
            row.sim_s_per_wall_s(),
            thousands(row.runs_per_hour()),
            thousands(row.bare_events_per_s()),
            row.ours_over_bare(),
            versus
        ));
    }
    let totals = totals(rows);
    if totals.len() > 1 {
        out.push_str("\nall cases but linkedin-2014 (wall time summed):\n");
        for t in &totals {
            let versus = versus_native(&totals, t)
                .filter(|_| t.implementation != NATIVE)
                .map_or(String::new(), |r| {
                    format!(", WASM / native {r:.2} (goal >= 0.8)")
                });
            out.push_str(&format!(
                "  {:<14} {} events/s, ours / bare {:.4}{versus}\n",
                t.implementation,
                thousands(t.events_per_s()),
                t.ours_over_bare()
            ));
        }
    }
    let linkedin: Vec<&Row> = rows.iter().filter(|r| r.group == LINKEDIN).collect();
    if !linkedin.is_empty() {
        out.push_str(&format!(
            "\nLinkedIn 2014 workload ({LINKEDIN_2014_SETTINGS}):\n"
        ));
        for row in linkedin {
            let rate = row.acked_per_wall_s();
            out.push_str(&format!(
                "  {:<14} {} records acknowledged in {:.1} simulated s: {} simulated records per \
                 wall second ({:.2}x the post's 821,557/s one-producer figure, {:.2}x its \
                 421,823/s with 3x synchronous replication)\n",
                row.implementation,
                thousands(row.acked as f64),
                row.sim_ms as f64 / 1000.0,
                thousands(rate),
                rate / LINKEDIN_2014_ONE_PRODUCER_RECORDS_PER_S,
                rate / LINKEDIN_2014_ACKS_ALL_RECORDS_PER_S,
            ));
        }
    }
    out.push_str(
        "\nevents/s: simulated events (deliveries, timers, scenario steps) per wall second, \
         invariant checks and trace included.\nsim s/s: simulated seconds per wall second. \
         runs/h/core: seeds (whole runs) per hour on one core.\nbare ev/s: a (time, sequence) \
         binary heap replaying the same event times with a handler that only folds a checksum \
         (64 pending events); ours/bare = our event rate / the bare kernel's: the share of an \
         event's cost that is the bare loop.\nvs native: this target's event rate / native's \
         on the same cases and seeds (WASM / native, goal >= 0.8).\n",
    );
    out
}

/// Per target, every group but the LinkedIn workload summed.
fn totals(rows: &[Row]) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    for row in rows.iter().filter(|r| r.group != LINKEDIN) {
        match out
            .iter_mut()
            .find(|t| t.implementation == row.implementation)
        {
            Some(t) => {
                t.runs += row.runs;
                t.events += row.events;
                t.sim_ms += row.sim_ms;
                t.acked += row.acked;
                t.wall_ms += row.wall_ms;
                t.bare_ms += row.bare_ms;
            }
            None => out.push(Row {
                group: "all".into(),
                ..row.clone()
            }),
        }
    }
    out
}

/// The result lines `{bench, impl, params, metric, value}` of shared/spec/benchmarks.md.
pub fn json_lines(rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |row: &Row, metric: &str, value: f64| {
        out.push(
            json!({
                "bench": "B4",
                "impl": row.implementation,
                "params": {"case": row.group, "runs": row.runs, "reps": row.reps},
                "metric": metric,
                "value": value,
            })
            .to_string(),
        );
    };
    for row in rows {
        push(row, "events_per_s", row.events_per_s());
        push(row, "sim_s_per_wall_s", row.sim_s_per_wall_s());
        push(row, "runs_per_hour_per_core", row.runs_per_hour());
        push(row, "bare_events_per_s", row.bare_events_per_s());
        push(row, "ours_over_bare", row.ours_over_bare());
        if let Some(r) = versus_native(rows, row).filter(|_| row.implementation != NATIVE) {
            push(row, "wasm_over_native", r);
        }
        if row.group == LINKEDIN {
            push(row, "simulated_records_per_wall_s", row.acked_per_wall_s());
        }
    }
    for t in totals(rows) {
        if let Some(r) = versus_native(&totals(rows), &t).filter(|_| t.implementation != NATIVE) {
            push(&t, "wasm_over_native", r);
        }
    }
    out
}

/// Checks agreement, then returns the table and the result lines.
pub fn report(measurements: &[Measurement]) -> Result<(String, Vec<String>), String> {
    check_agreement(measurements)?;
    let rows = summarize(measurements);
    Ok((render(&rows), json_lines(&rows)))
}
