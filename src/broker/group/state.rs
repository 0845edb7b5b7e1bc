//! The classic group's states and the transitions Kafka allows between them (rule G-2,
//! `ClassicGroupState`): Empty -> PreparingRebalance; PreparingRebalance -> CompletingRebalance
//! or Empty; CompletingRebalance -> Stable or PreparingRebalance; Stable -> PreparingRebalance;
//! any state -> Dead.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A classic consumer group's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GroupState {
    /// No members; offsets may still be stored (and expire).
    Empty,
    /// A rebalance started: the coordinator waits for members to (re)join.
    PreparingRebalance,
    /// The join phase ended: the coordinator waits for the leader's SyncGroup.
    CompletingRebalance,
    /// Every member has its assignment for the current generation.
    Stable,
    /// The group is gone from this coordinator (unloaded, or deleted once empty).
    Dead,
}

impl GroupState {
    /// Kafka's name for the state, as `kafka-consumer-groups --describe --state` prints it.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// Whether Kafka allows moving from `self` to `to`.
    pub fn can_transition_to(self, to: GroupState) -> bool {
        use GroupState::*;
        matches!(
            (self, to),
            (Empty, PreparingRebalance)
                | (PreparingRebalance, CompletingRebalance)
                | (PreparingRebalance, Empty)
                | (CompletingRebalance, Stable)
                | (CompletingRebalance, PreparingRebalance)
                | (Stable, PreparingRebalance)
                | (_, Dead)
        )
    }

    /// Every state, for exhaustive tests.
    pub const ALL: [GroupState; 5] = [
        GroupState::Empty,
        GroupState::PreparingRebalance,
        GroupState::CompletingRebalance,
        GroupState::Stable,
        GroupState::Dead,
    ];
}

impl fmt::Display for GroupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
