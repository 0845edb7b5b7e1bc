//! Replication settings of a partition replica, under Kafka's config names and defaults
//! (`replica.lag.time.max.ms`, `min.insync.replicas`, `replica.fetch.max.bytes`), plus the
//! version switches for the leader's high-watermark rule (KAFKA-15583, Kafka 3.7) and for
//! follower truncation (KIP-101, Kafka 0.11).

use serde::{Deserialize, Serialize};

/// Whether the leader holds its HW while the ISR is smaller than the effective
/// `min.insync.replicas`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HighWatermarkMinIsr {
    /// ⟨≥3.7, KAFKA-15583⟩ The HW does not advance while `|ISR| < min(min.insync.replicas, RF)`.
    #[serde(rename = ">=3.7")]
    Enforced,
    /// ⟨<3.7⟩ The HW advances even with ISR = {leader}.
    #[serde(rename = "<3.7")]
    Ignored,
}

/// How a follower finds where its log departs from a new leader's (R-7, KIP-101).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FollowerTruncation {
    /// ⟨≥0.11, KIP-101/279⟩ By leader epoch: the follower keeps its log and truncates only
    /// where the leader's epoch history says the logs diverge.
    #[serde(rename = ">=0.11")]
    LeaderEpoch,
    /// ⟨<0.11⟩ To the high watermark: a follower cuts its log to its own HW when it starts
    /// following a new leader, then fetches from there. Its HW lags the leader's by one fetch
    /// round, so it can cut acknowledged records, and lose them for good if it is elected
    /// before it fetches them again (KIP-101's scenario 1), or keep records that diverge from
    /// the leader's (scenario 2). For drill D5 only.
    #[serde(rename = "<0.11")]
    HighWatermark,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicaConfig {
    /// A follower that has not caught up for longer than this leaves the ISR; the leader checks
    /// every half of it.
    #[serde(rename = "replica.lag.time.max.ms")]
    pub replica_lag_time_max_ms: u32,
    #[serde(rename = "min.insync.replicas")]
    pub min_insync_replicas: u32,
    #[serde(rename = "replica.fetch.max.bytes")]
    pub replica_fetch_max_bytes: u32,
    pub high_watermark_min_isr: HighWatermarkMinIsr,
    pub follower_truncation: FollowerTruncation,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            replica_lag_time_max_ms: 30_000,
            min_insync_replicas: 1,
            replica_fetch_max_bytes: 1_048_576,
            high_watermark_min_isr: HighWatermarkMinIsr::Enforced,
            follower_truncation: FollowerTruncation::LeaderEpoch,
        }
    }
}

impl ReplicaConfig {
    /// Rejects values Kafka rejects, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_insync_replicas < 1 {
            return Err("min.insync.replicas must be at least 1".into());
        }
        if self.replica_lag_time_max_ms < 2 {
            return Err("replica.lag.time.max.ms must be at least 2 (checked every half)".into());
        }
        if self.replica_fetch_max_bytes < 1 {
            return Err("replica.fetch.max.bytes must be at least 1".into());
        }
        Ok(())
    }

    /// The `isr-expiration` period: `replica.lag.time.max.ms / 2`.
    pub fn isr_check_interval_ms(&self) -> u64 {
        u64::from(self.replica_lag_time_max_ms / 2)
    }
}
