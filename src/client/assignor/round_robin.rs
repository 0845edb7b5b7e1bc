//! Kafka's `RoundRobinAssignor`: all partitions of all subscribed topics, sorted by topic then
//! partition, dealt one at a time to the members in `MemberInfo` order, skipping a member that
//! does not subscribe to the partition's topic.

use super::{empty_assignment, sorted_member_ids, topic_partitions, Assignment, Subscription};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn assign(
    partitions_per_topic: &BTreeMap<String, u32>,
    members: &BTreeMap<String, Subscription>,
) -> Assignment {
    let mut assignment = empty_assignment(members);
    let order = sorted_member_ids(members);
    let subscribed: BTreeSet<&String> = members.values().flat_map(|s| &s.topics).collect();
    // The circular iterator's position: the member after the last one that got a partition.
    let mut cursor = 0;
    for topic in subscribed {
        for tp in topic_partitions(partitions_per_topic, topic) {
            // Some member subscribes to `topic`, so one full turn finds it.
            let found = (0..order.len())
                .map(|step| (cursor + step) % order.len())
                .find(|&i| members[order[i]].topics.contains(topic));
            if let Some(i) = found {
                if let Some(owned) = assignment.get_mut(order[i]) {
                    owned.insert(tp);
                }
                cursor = (i + 1) % order.len();
            }
        }
    }
    assignment
}
