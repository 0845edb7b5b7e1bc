//! A buffer's topics as the user declares them (`{ partitions, "retention.ms", ... }`) and as
//! the buffer remembers them in `buffer.json`, with the rules for reopening: configs follow the
//! latest declaration (Kafka's alter configs), partitions may be added but never removed.

use super::BufferError;
use crate::limits;
use crate::log::config::LogConfig;
use crate::protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The metadata file: topics, named producer ids and the next producer id.
pub const METADATA_FILE: &str = "buffer.json";

/// The format of `buffer.json` this code writes and reads.
pub const METADATA_FORMAT: u32 = 1;

/// The topic configs a buffer topic accepts: the log's own, by Kafka's names.
pub const TOPIC_CONFIGS: &[&str] = &[
    "cleanup.policy",
    "retention.ms",
    "retention.bytes",
    "segment.bytes",
    "segment.ms",
    "segment.index.bytes",
    "index.interval.bytes",
    "delete.retention.ms",
    "min.compaction.lag.ms",
    "message.timestamp.type",
];

/// One topic as declared: its partition count and config overrides (text values, the way
/// Kafka's `kafka-configs --add-config` takes them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    pub partitions: u32,
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

impl TopicSpec {
    /// Reads a JSON-like declaration: `partitions` (default 1) and config keys with number or
    /// string values. Every problem names the topic and the key.
    pub fn from_json(topic: &str, value: &serde_json::Value) -> Result<TopicSpec, BufferError> {
        let invalid = |message: String| BufferError::new(ErrorCode::InvalidConfig, message);
        let serde_json::Value::Object(map) = value else {
            return Err(invalid(format!(
                "topic {topic:?}: expected an object like {{ partitions: 3, \"retention.ms\": \
                 3600000 }}, got {value}"
            )));
        };
        let mut spec = TopicSpec {
            partitions: 1,
            configs: BTreeMap::new(),
        };
        for (key, v) in map {
            if key == "partitions" {
                spec.partitions = v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| (1..=limits::TOPIC_PARTITIONS_MAX).contains(n))
                    .ok_or_else(|| {
                        BufferError::new(
                            ErrorCode::InvalidPartitions,
                            format!(
                                "topic {topic:?}: partitions must be a whole number from 1 to {}, \
                                 got {v}",
                                limits::TOPIC_PARTITIONS_MAX
                            ),
                        )
                    })?;
                continue;
            }
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                other => {
                    return Err(invalid(format!(
                        "topic {topic:?}: {key} must be a number or a string, got {other}"
                    )))
                }
            };
            spec.configs.insert(key.clone(), text);
        }
        spec.log_config(topic)?;
        Ok(spec)
    }

    /// The log config these overrides give, validated.
    pub fn log_config(&self, topic: &str) -> Result<LogConfig, BufferError> {
        let invalid = |message: String| BufferError::new(ErrorCode::InvalidConfig, message);
        let mut config = LogConfig::default();
        for (key, value) in &self.configs {
            if !TOPIC_CONFIGS.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "topic {topic:?}: unknown config {key:?}; valid: partitions, {}",
                    TOPIC_CONFIGS.join(", ")
                )));
            }
            match config.apply_override(key, value) {
                Some(true) => {}
                _ => {
                    return Err(invalid(format!(
                        "topic {topic:?}: {key} = {value:?} does not parse"
                    )))
                }
            }
        }
        config
            .validate()
            .map_err(|e| invalid(format!("topic {topic:?}: {e}")))?;
        Ok(config)
    }
}

/// What `buffer.json` holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub format: u32,
    pub topics: BTreeMap<String, TopicSpec>,
    /// Producer ids handed out by name (`initProducerId("forms")`), stable across reopens.
    pub producers: BTreeMap<String, i64>,
    pub next_producer_id: i64,
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            format: METADATA_FORMAT,
            topics: BTreeMap::new(),
            producers: BTreeMap::new(),
            next_producer_id: 0,
        }
    }
}

impl Metadata {
    pub fn parse(bytes: &[u8]) -> Result<Metadata, BufferError> {
        let meta: Metadata = serde_json::from_slice(bytes).map_err(|e| {
            BufferError::new(
                ErrorCode::KafkaStorageError,
                format!("{METADATA_FILE} is not a buffer's metadata: {e}"),
            )
        })?;
        // A file edited or damaged outside the buffer must give an error, never a panic.
        for (name, spec) in &meta.topics {
            let bad = super::validate_user_topic(name)
                .err()
                .map(|e| e.message)
                .or_else(|| {
                    (!(1..=limits::TOPIC_PARTITIONS_MAX).contains(&spec.partitions))
                        .then(|| format!("topic {name:?} has {} partitions", spec.partitions))
                })
                .or_else(|| spec.log_config(name).err().map(|e| e.message));
            if let Some(why) = bad {
                return Err(BufferError::new(
                    ErrorCode::KafkaStorageError,
                    format!("{METADATA_FILE} is damaged: {why}"),
                ));
            }
        }
        if meta.next_producer_id < 0
            || meta
                .producers
                .values()
                .any(|&id| id < 0 || id >= meta.next_producer_id)
        {
            return Err(BufferError::new(
                ErrorCode::KafkaStorageError,
                format!("{METADATA_FILE} is damaged: a producer id outside 0..next_producer_id"),
            ));
        }
        if meta.format != METADATA_FORMAT {
            return Err(BufferError::new(
                ErrorCode::KafkaStorageError,
                format!(
                    "{METADATA_FILE} has format {}; this version reads format {METADATA_FORMAT}",
                    meta.format
                ),
            ));
        }
        Ok(meta)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of maps, strings and integers always serializes.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Merges a declaration into the stored topics: new topics are created, configs replaced,
    /// partitions only ever added. Returns whether anything changed.
    pub fn declare(&mut self, topics: &BTreeMap<String, TopicSpec>) -> Result<bool, BufferError> {
        let mut changed = false;
        for (name, spec) in topics {
            super::validate_user_topic(name)?;
            spec.log_config(name)?;
            if let Some(stored) = self.topics.get(name) {
                if spec.partitions < stored.partitions {
                    return Err(BufferError::new(
                        ErrorCode::InvalidPartitions,
                        format!(
                            "topic {name:?} has {} partitions in this buffer; {} were asked for: \
                             partitions can be added but never removed (Kafka's rule too)",
                            stored.partitions, spec.partitions
                        ),
                    ));
                }
                if stored == spec {
                    continue;
                }
            }
            self.topics.insert(name.clone(), spec.clone());
            changed = true;
        }
        Ok(changed)
    }
}
