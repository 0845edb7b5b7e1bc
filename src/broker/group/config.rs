//! The coordinator's group configs, with Kafka's names and defaults (rules G-2, G-3, G-6).

use serde::{Deserialize, Serialize};

/// Broker-side group settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms` (3000): how long the first rebalance of an Empty
    /// group waits for more members, extended by the same delay while members keep joining, up
    /// to the rebalance timeout.
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms` (6000): smaller `session.timeout.ms` values are refused
    /// with INVALID_SESSION_TIMEOUT.
    pub group_min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms` (1800000).
    pub group_max_session_timeout_ms: u64,
    /// `offsets.retention.minutes` (10080): offsets of an Empty group expire this long after it
    /// became empty (KIP-211); a group without group management expires each offset this long
    /// after it was stored.
    pub offsets_retention_minutes: u64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            group_initial_rebalance_delay_ms: 3_000,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            offsets_retention_minutes: 10_080,
        }
    }
}
