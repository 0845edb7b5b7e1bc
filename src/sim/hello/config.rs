//! The `hello` scenario's configuration: the knobs a scenario file may set, with defaults that
//! make a log roll and trim segments within a minute of simulated time, and their validation.

use super::SimError;
use crate::log::config::LogConfig;
use serde::{Deserialize, Serialize};

/// The scenario's knobs. Defaults make a log that rolls and trims segments within a minute of
/// simulated time, so every marker has something to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HelloConfig {
    pub topic: String,
    pub partitions: u32,
    pub log: LogConfig,
    /// The producer sends every `produce_interval_ms_min..=max` (uniform, seeded).
    pub produce_interval_ms_min: u64,
    pub produce_interval_ms_max: u64,
    /// Records per send: 1 to this many.
    pub records_per_send_max: u32,
    /// Keys are `user-0` .. `user-{key_space - 1}`.
    pub key_space: u32,
    /// One-way network latency, uniform in this range.
    pub network_latency_us_min: u64,
    pub network_latency_us_max: u64,
    /// The consumer polls every this many ms (`fetch.max.wait.ms`-like pacing).
    pub consumer_poll_interval_ms: u64,
    /// `fetch.max.bytes` per partition fetch.
    pub fetch_max_bytes: u32,
    /// The broker syncs its segments (`flush.ms`) and checkpoints the session this often.
    pub flush_interval_ms: u64,
    /// `log.retention.check.interval.ms`.
    pub retention_check_interval_ms: u64,
}

impl Default for HelloConfig {
    fn default() -> Self {
        let log = LogConfig {
            segment_bytes: 2048,
            retention_bytes: 8192,
            ..LogConfig::default()
        };
        HelloConfig {
            topic: "events".into(),
            partitions: 3,
            log,
            produce_interval_ms_min: 20,
            produce_interval_ms_max: 200,
            records_per_send_max: 3,
            key_space: 12,
            network_latency_us_min: 500,
            network_latency_us_max: 3_000,
            consumer_poll_interval_ms: 250,
            fetch_max_bytes: 4096,
            flush_interval_ms: 1000,
            retention_check_interval_ms: 5000,
        }
    }
}

impl HelloConfig {
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        crate::ids::validate_topic_name(&self.topic).map_err(SimError::Config)?;
        if self.partitions == 0 || self.partitions > crate::limits::TOPIC_PARTITIONS_MAX {
            return bad(format!(
                "partitions = {}: expected 1..={}",
                self.partitions,
                crate::limits::TOPIC_PARTITIONS_MAX
            ));
        }
        if self.produce_interval_ms_min == 0
            || self.produce_interval_ms_min > self.produce_interval_ms_max
        {
            return bad(
                "produce_interval_ms_min must be >= 1 and <= produce_interval_ms_max".into(),
            );
        }
        if self.records_per_send_max == 0 || self.records_per_send_max > 1000 {
            return bad("records_per_send_max must be in 1..=1000".into());
        }
        if self.key_space == 0 {
            return bad("key_space must be >= 1".into());
        }
        if self.network_latency_us_min > self.network_latency_us_max {
            return bad("network_latency_us_min must be <= network_latency_us_max".into());
        }
        for (name, v) in [
            ("consumer_poll_interval_ms", self.consumer_poll_interval_ms),
            ("flush_interval_ms", self.flush_interval_ms),
            (
                "retention_check_interval_ms",
                self.retention_check_interval_ms,
            ),
        ] {
            if v == 0 {
                return bad(format!("{name} must be >= 1"));
            }
        }
        if self.fetch_max_bytes < 64 {
            return bad("fetch_max_bytes must be >= 64".into());
        }
        self.log
            .validate()
            .map_err(|e| SimError::Config(e.to_string()))
    }
}
