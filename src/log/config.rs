//! Per-topic log configuration with Kafka's names and defaults (`segment.bytes`, `retention.ms`,
//! `cleanup.policy`, ...). Scenario files set these by their Kafka names; `validate` rejects
//! values Kafka would reject, with a message naming the key, before a log ever sees them.

use crate::limits;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `cleanup.policy`: what happens to old segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CleanupPolicy {
    #[serde(rename = "delete")]
    Delete,
    #[serde(rename = "compact")]
    Compact,
    /// `compact,delete`: compacted, and old segments deleted by retention too.
    #[serde(rename = "compact,delete", alias = "delete,compact")]
    CompactDelete,
}

impl CleanupPolicy {
    pub fn deletes(self) -> bool {
        matches!(self, CleanupPolicy::Delete | CleanupPolicy::CompactDelete)
    }

    pub fn compacts(self) -> bool {
        matches!(self, CleanupPolicy::Compact | CleanupPolicy::CompactDelete)
    }
}

/// `message.timestamp.type`: whether the leader overwrites timestamps with its own clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageTimestampType {
    CreateTime,
    LogAppendTime,
}

/// A topic's log configuration. Field names are Kafka's keys with `_` for `.`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    #[serde(rename = "segment.bytes")]
    pub segment_bytes: i32,
    #[serde(rename = "segment.ms")]
    pub segment_ms: i64,
    #[serde(rename = "segment.jitter.ms")]
    pub segment_jitter_ms: i64,
    #[serde(rename = "segment.index.bytes")]
    pub segment_index_bytes: i32,
    #[serde(rename = "index.interval.bytes")]
    pub index_interval_bytes: i32,
    /// -1 keeps segments forever.
    #[serde(rename = "retention.ms")]
    pub retention_ms: i64,
    /// -1 means no size limit.
    #[serde(rename = "retention.bytes")]
    pub retention_bytes: i64,
    #[serde(rename = "cleanup.policy")]
    pub cleanup_policy: CleanupPolicy,
    #[serde(rename = "delete.retention.ms")]
    pub delete_retention_ms: i64,
    #[serde(rename = "min.compaction.lag.ms")]
    pub min_compaction_lag_ms: i64,
    /// Kafka's `min.cleanable.dirty.ratio` (0.5) as an integer percent: no floats in the core.
    #[serde(rename = "min.cleanable.dirty.ratio.percent")]
    pub min_cleanable_dirty_ratio_percent: u8,
    #[serde(rename = "message.timestamp.type")]
    pub message_timestamp_type: MessageTimestampType,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1_073_741_824,
            segment_ms: 604_800_000,
            segment_jitter_ms: 0,
            segment_index_bytes: 10_485_760,
            index_interval_bytes: 4_096,
            retention_ms: 604_800_000,
            retention_bytes: -1,
            cleanup_policy: CleanupPolicy::Delete,
            delete_retention_ms: 86_400_000,
            min_compaction_lag_ms: 0,
            min_cleanable_dirty_ratio_percent: 50,
            message_timestamp_type: MessageTimestampType::CreateTime,
        }
    }
}

/// A configuration value Kafka would refuse, with the key and the accepted range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub key: &'static str,
    pub value: i64,
    pub expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} = {}: expected {}",
            self.key, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

fn check(key: &'static str, value: i64, min: i64, max: i64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError {
            key,
            value,
            expected: format!("a value in {min}..={max}"),
        })
    }
}

impl LogConfig {
    /// Sets one topic config given by its Kafka name and text value, as a topic's configs
    /// arrive from the controller. `None`: not a log config (e.g. `min.insync.replicas`);
    /// `Some(false)`: the value does not parse. Call `validate` after the last override.
    pub fn apply_override(&mut self, key: &str, value: &str) -> Option<bool> {
        fn parse_into<T: std::str::FromStr>(value: &str, field: &mut T) -> bool {
            value.parse().map(|v| *field = v).is_ok()
        }
        Some(match key {
            "segment.bytes" => parse_into(value, &mut self.segment_bytes),
            "segment.ms" => parse_into(value, &mut self.segment_ms),
            "segment.jitter.ms" => parse_into(value, &mut self.segment_jitter_ms),
            "segment.index.bytes" => parse_into(value, &mut self.segment_index_bytes),
            "index.interval.bytes" => parse_into(value, &mut self.index_interval_bytes),
            "retention.ms" => parse_into(value, &mut self.retention_ms),
            "retention.bytes" => parse_into(value, &mut self.retention_bytes),
            "delete.retention.ms" => parse_into(value, &mut self.delete_retention_ms),
            "min.compaction.lag.ms" => parse_into(value, &mut self.min_compaction_lag_ms),
            "cleanup.policy" => match value.replace(' ', "").as_str() {
                "delete" => {
                    self.cleanup_policy = CleanupPolicy::Delete;
                    true
                }
                "compact" => {
                    self.cleanup_policy = CleanupPolicy::Compact;
                    true
                }
                "compact,delete" | "delete,compact" => {
                    self.cleanup_policy = CleanupPolicy::CompactDelete;
                    true
                }
                _ => false,
            },
            _ => return None,
        })
    }

    /// Checks every value against the range Kafka's `LogConfig` accepts (and ours, from
    /// `limits`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            "segment.bytes",
            i64::from(self.segment_bytes),
            i64::from(limits::SEGMENT_BYTES_MIN),
            i64::from(limits::SEGMENT_BYTES_MAX),
        )?;
        check("segment.ms", self.segment_ms, 1, i64::MAX)?;
        check("segment.jitter.ms", self.segment_jitter_ms, 0, i64::MAX)?;
        check(
            "segment.index.bytes",
            i64::from(self.segment_index_bytes),
            i64::from(limits::SEGMENT_INDEX_BYTES_MIN),
            i64::from(i32::MAX),
        )?;
        check(
            "index.interval.bytes",
            i64::from(self.index_interval_bytes),
            0,
            i64::from(i32::MAX),
        )?;
        check("retention.ms", self.retention_ms, -1, i64::MAX)?;
        check("retention.bytes", self.retention_bytes, -1, i64::MAX)?;
        check("delete.retention.ms", self.delete_retention_ms, 0, i64::MAX)?;
        check(
            "min.compaction.lag.ms",
            self.min_compaction_lag_ms,
            0,
            i64::MAX,
        )?;
        check(
            "min.cleanable.dirty.ratio.percent",
            i64::from(self.min_cleanable_dirty_ratio_percent),
            0,
            100,
        )?;
        Ok(())
    }

    /// Entries an offset index may hold before the segment must roll (L-3 c).
    pub fn offset_index_entries_max(&self) -> u32 {
        (self.segment_index_bytes.max(0) as u32) / super::index::OFFSET_INDEX_ENTRY_BYTES
    }

    /// Entries a time index may hold before the segment must roll (L-3 c).
    pub fn time_index_entries_max(&self) -> u32 {
        (self.segment_index_bytes.max(0) as u32) / super::index::TIME_INDEX_ENTRY_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn topic_overrides_by_kafka_name() {
        let mut c = LogConfig::default();
        assert_eq!(c.apply_override("retention.bytes", "16384"), Some(true));
        assert_eq!(
            c.apply_override("cleanup.policy", "delete, compact"),
            Some(true)
        );
        assert_eq!(c.apply_override("segment.bytes", "lots"), Some(false));
        assert_eq!(c.apply_override("min.insync.replicas", "2"), None);
        assert_eq!(c.retention_bytes, 16_384);
        assert_eq!(c.cleanup_policy, CleanupPolicy::CompactDelete);
        assert_eq!(c.segment_bytes, LogConfig::default().segment_bytes);
    }

    #[test]
    fn defaults_are_kafkas_and_valid() {
        let config = LogConfig::default();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.offset_index_entries_max(), 1_310_720);
    }

    #[test]
    fn bad_values_name_their_key() {
        let config = LogConfig {
            segment_bytes: 10,
            ..LogConfig::default()
        };
        let err = config.validate().expect_err("too small");
        assert!(
            err.to_string().starts_with("invalid segment.bytes = 10"),
            "{err}"
        );
        let config = LogConfig {
            retention_ms: -5,
            ..LogConfig::default()
        };
        assert_eq!(config.validate().map_err(|e| e.key), Err("retention.ms"));
    }
}
