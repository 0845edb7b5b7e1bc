//! The chart samples of a session: throughput, under-replicated and offline partitions, ISR
//! sizes, and high watermark versus log end offset, sampled at a fixed simulated interval. The
//! interval doubles (and every other sample goes) when the series is full, so a long session
//! keeps its whole history at a coarser grain.

use crate::sim::cluster::ClusterSim;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// The first sampling interval.
const INTERVAL_MS: u64 = 100;
/// At most this many samples.
const SAMPLES_MAX: u32 = 600;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub time_ms: u64,
    /// Acknowledged sends so far (the throughput is its slope).
    pub acked_total: u64,
    pub partitions: u32,
    pub under_replicated: u32,
    pub offline: u32,
    /// Sum over partitions of the ISR size, and of the assigned replicas.
    pub isr_total: u32,
    pub replicas_total: u32,
    /// Sums over partitions of the leaders' high watermarks and log end offsets.
    pub high_watermark_total: u64,
    pub log_end_offset_total: u64,
    /// Per consumer group: its lag summed over the partitions with a committed offset (the
    /// LAG column of `kafka-consumer-groups --describe`).
    #[serde(default)]
    pub group_lag: Vec<(String, u64)>,
}

#[derive(Clone, Debug)]
pub struct Metrics {
    interval_ms: u64,
    next_at: SimTime,
    samples: Vec<Sample>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            interval_ms: INTERVAL_MS,
            next_at: SimTime::ZERO,
            samples: Vec::new(),
        }
    }

    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Whether a sample is due at `now`.
    pub fn due(&self, now: SimTime) -> bool {
        now >= self.next_at
    }

    pub fn sample(&mut self, sim: &ClusterSim, acked_total: u64) {
        let now = sim.now();
        let time_ms = now.as_millis().max(0) as u64;
        let view = sim.view();
        let mut sample = Sample {
            time_ms,
            acked_total,
            partitions: view.partitions.len() as u32,
            under_replicated: 0,
            offline: 0,
            isr_total: 0,
            replicas_total: 0,
            high_watermark_total: 0,
            log_end_offset_total: 0,
            group_lag: view
                .groups
                .iter()
                .map(|g| {
                    let lag = g.rows.iter().filter_map(|r| r.lag).sum::<i64>();
                    (g.group_id.clone(), lag.max(0) as u64)
                })
                .collect(),
        };
        for p in &view.partitions {
            sample.under_replicated += u32::from(p.under_replicated());
            sample.offline += u32::from(p.offline());
            sample.isr_total += p.isr.len() as u32;
            sample.replicas_total += p.replicas.len() as u32;
            sample.high_watermark_total += p.high_watermark;
            sample.log_end_offset_total += p.log_end_offset;
        }
        self.samples.push(sample);
        if self.samples.len() as u32 >= SAMPLES_MAX {
            let mut i = 0;
            self.samples.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            self.interval_ms *= 2;
        }
        self.next_at = SimTime::from_millis((time_ms / self.interval_ms + 1) * self.interval_ms);
    }

    /// Drops the samples after `now` (a rewind); sampling resumes from there.
    pub fn truncate_after(&mut self, now: SimTime) {
        let time_ms = now.as_millis().max(0) as u64;
        self.samples.retain(|s| s.time_ms <= time_ms);
        self.next_at = SimTime::from_millis((time_ms / self.interval_ms + 1) * self.interval_ms);
    }
}
