//! Kafka's client-side partition assignors (rule G-5): `range`, `roundrobin`, `sticky` and
//! `cooperative-sticky`, as pure functions from the group's subscriptions and the topics'
//! partition counts to one assignment per member. The group leader runs one of them between
//! JoinGroup and SyncGroup; the coordinator only hands the result out.
//!
//! Invariants: every partition of a subscribed, existing topic goes to at most one member, and
//! to exactly one unless the cooperative protocol holds it back for a revocation first
//! (KIP-429); a member only gets partitions of topics it subscribes to; the result depends only
//! on the inputs (sorted collections, no hashing, no entropy).

mod range;
mod round_robin;
mod sticky;

#[cfg(test)]
mod tests;

use crate::ids::TopicPartition;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

pub use sticky::{cooperative_revocations, partitions_transferring_ownership};

/// What one member tells the leader in its JoinGroup metadata (Kafka's `ConsumerProtocol`
/// `Subscription`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The topics the member subscribes to.
    pub topics: BTreeSet<String>,
    /// The partitions the member owned in the generation it reports: the cooperative
    /// protocol's `ownedPartitions`, and for the eager `sticky` assignor its previous
    /// assignment (which Kafka sends in the assignor's user data).
    pub owned_partitions: BTreeSet<TopicPartition>,
    /// The generation `owned_partitions` belong to (`None` = Kafka's `DEFAULT_GENERATION`, -1).
    /// When two members claim a partition, the newer generation wins.
    pub generation: Option<i32>,
    /// The member's `group.instance.id` (KIP-345): range and round-robin order static members
    /// first, so a static member keeps its partitions across restarts.
    pub group_instance_id: Option<String>,
}

/// The partitions each member gets, keyed by member id. Every member of the input appears,
/// possibly with nothing.
pub type Assignment = BTreeMap<String, BTreeSet<TopicPartition>>;

/// How partitions move in a rebalance (KIP-429).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RebalanceProtocol {
    /// Every member revokes everything before it rejoins (stop the world).
    Eager,
    /// Members keep what they own; a partition that moves is revoked in one rebalance and
    /// assigned in the next.
    Cooperative,
}

/// One of Kafka's built-in assignors (`partition.assignment.strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Assignor {
    Range,
    RoundRobin,
    Sticky,
    CooperativeSticky,
}

impl Assignor {
    /// The protocol name members put in JoinGroup (Kafka's `ConsumerPartitionAssignor.name()`).
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::Sticky => "sticky",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// The assignor with this protocol name, if it is a built-in one.
    pub fn from_name(name: &str) -> Option<Assignor> {
        [
            Assignor::Range,
            Assignor::RoundRobin,
            Assignor::Sticky,
            Assignor::CooperativeSticky,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }

    /// The rebalance protocol the assignor is used with. Only `cooperative-sticky` supports
    /// the cooperative protocol (it also supports eager, which logsim does not need).
    pub fn rebalance_protocol(self) -> RebalanceProtocol {
        match self {
            Assignor::CooperativeSticky => RebalanceProtocol::Cooperative,
            _ => RebalanceProtocol::Eager,
        }
    }

    /// Assigns the partitions of `partitions_per_topic` (topic -> partition count) to
    /// `members` (member id -> subscription). Topics a member subscribes to that do not exist
    /// are ignored, as Kafka's assignors ignore topics missing from the metadata.
    pub fn assign(
        self,
        partitions_per_topic: &BTreeMap<String, u32>,
        members: &BTreeMap<String, Subscription>,
    ) -> Assignment {
        match self {
            Assignor::Range => range::assign(partitions_per_topic, members),
            Assignor::RoundRobin => round_robin::assign(partitions_per_topic, members),
            Assignor::Sticky => sticky::assign(partitions_per_topic, members),
            Assignor::CooperativeSticky => {
                sticky::assign_cooperative(partitions_per_topic, members)
            }
        }
    }
}

/// Kafka's `AbstractPartitionAssignor.MemberInfo` order: static members first, by
/// `group.instance.id`, then dynamic members by member id.
pub(crate) fn member_info_order(
    (a_id, a): (&String, &Subscription),
    (b_id, b): (&String, &Subscription),
) -> Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => x.cmp(y).then_with(|| a_id.cmp(b_id)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a_id.cmp(b_id),
    }
}

/// Member ids in `member_info_order`.
pub(crate) fn sorted_member_ids(members: &BTreeMap<String, Subscription>) -> Vec<&String> {
    let mut sorted: Vec<(&String, &Subscription)> = members.iter().collect();
    sorted.sort_by(|a, b| member_info_order(*a, *b));
    sorted.into_iter().map(|(id, _)| id).collect()
}

/// An assignment with every member present and nothing assigned yet.
pub(crate) fn empty_assignment(members: &BTreeMap<String, Subscription>) -> Assignment {
    members
        .keys()
        .map(|id| (id.clone(), BTreeSet::new()))
        .collect()
}

/// Every partition of `topic`, in partition order (empty when the topic does not exist).
pub(crate) fn topic_partitions(
    partitions_per_topic: &BTreeMap<String, u32>,
    topic: &str,
) -> impl Iterator<Item = TopicPartition> + use<> {
    let count = partitions_per_topic.get(topic).copied().unwrap_or(0);
    let topic = topic.to_string();
    (0..count).map(move |p| TopicPartition {
        topic: topic.clone(),
        partition: crate::ids::PartitionIndex(p),
    })
}
