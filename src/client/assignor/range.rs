//! Kafka's `RangeAssignor`: topic by topic, the topic's partitions in order are cut into
//! contiguous ranges, one per subscribed member in `MemberInfo` order (static members first);
//! each member gets ⌊P/M⌋ partitions and the first P mod M members one more.

use super::{empty_assignment, member_info_order, topic_partitions, Assignment, Subscription};
use std::collections::BTreeMap;

pub(super) fn assign(
    partitions_per_topic: &BTreeMap<String, u32>,
    members: &BTreeMap<String, Subscription>,
) -> Assignment {
    let mut assignment = empty_assignment(members);
    for topic in partitions_per_topic.keys() {
        let mut subscribers: Vec<(&String, &Subscription)> = members
            .iter()
            .filter(|(_, s)| s.topics.contains(topic))
            .collect();
        if subscribers.is_empty() {
            continue;
        }
        subscribers.sort_by(|a, b| member_info_order(*a, *b));
        let partitions: Vec<_> = topic_partitions(partitions_per_topic, topic).collect();
        let per_member = partitions.len() / subscribers.len();
        let with_extra = partitions.len() % subscribers.len();
        let mut next = partitions.into_iter();
        for (i, (member_id, _)) in subscribers.into_iter().enumerate() {
            let count = per_member + usize::from(i < with_extra);
            if let Some(owned) = assignment.get_mut(member_id) {
                owned.extend(next.by_ref().take(count));
            }
        }
    }
    assignment
}
