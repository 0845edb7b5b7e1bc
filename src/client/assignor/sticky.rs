//! Kafka's `StickyAssignor` and `CooperativeStickyAssignor` (rule G-5, KIP-54, KIP-429): the
//! assignment is as balanced as the subscriptions allow (counts within one when every member
//! subscribes to the same topics) while keeping as many partitions as possible where they were.
//!
//! The steps: keep each member's valid previous partitions (a partition claimed by several
//! members stays with the newest generation, and with nobody on a tie); give each unassigned
//! partition, those with the fewest possible owners first, to the least-loaded member that may
//! take it (ties by member id, as Kafka's sorted-by-size set does); then move partitions along
//! the shortest chains from a member to one with at least two fewer until none is left. Each
//! move lowers the sum of squared counts, so the loop ends; a direct move is a chain of one, so
//! nothing moves that balance does not need.
//!
//! The cooperative variant then holds back every partition that changes owner (KIP-429): its
//! old owner revokes it after this rebalance and rejoins, and the next rebalance assigns it.

use super::{empty_assignment, topic_partitions, Assignment, Subscription};
use crate::ids::TopicPartition;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub(super) fn assign(
    partitions_per_topic: &BTreeMap<String, u32>,
    members: &BTreeMap<String, Subscription>,
) -> Assignment {
    let mut assignment = empty_assignment(members);
    let eligible = eligible_members(partitions_per_topic, members);
    for (tp, owner) in previous_owners(members, &eligible) {
        if let Some(owned) = assignment.get_mut(owner) {
            owned.insert(tp);
        }
    }
    assign_unassigned(&mut assignment, &eligible);
    balance(&mut assignment, members);
    assignment
}

pub(super) fn assign_cooperative(
    partitions_per_topic: &BTreeMap<String, u32>,
    members: &BTreeMap<String, Subscription>,
) -> Assignment {
    let mut assignment = assign(partitions_per_topic, members);
    for (tp, new_owner) in partitions_transferring_ownership(members, &assignment) {
        if let Some(owned) = assignment.get_mut(&new_owner) {
            owned.remove(&tp);
        }
    }
    assignment
}

/// The partitions an assignment gives to a member other than one that still owns them:
/// partition -> its new owner (Kafka's `computePartitionsTransferringOwnership`). Under the
/// cooperative protocol these are left out of this rebalance.
pub fn partitions_transferring_ownership(
    members: &BTreeMap<String, Subscription>,
    assignment: &Assignment,
) -> BTreeMap<TopicPartition, String> {
    let mut added = BTreeMap::new();
    let mut revoked = BTreeSet::new();
    for (member_id, assigned) in assignment {
        let owned = members
            .get(member_id)
            .map(|s| &s.owned_partitions)
            .cloned()
            .unwrap_or_default();
        for tp in assigned.difference(&owned) {
            added.insert(tp.clone(), member_id.clone());
        }
        revoked.extend(owned.difference(assigned).cloned());
    }
    added.retain(|tp, _| revoked.contains(tp));
    added
}

/// What a member revokes when it receives `assigned` while owning `owned` (the cooperative
/// consumer's `onPartitionsRevoked` set; it then rejoins if the set is not empty).
pub fn cooperative_revocations(
    owned: &BTreeSet<TopicPartition>,
    assigned: &BTreeSet<TopicPartition>,
) -> BTreeSet<TopicPartition> {
    owned.difference(assigned).cloned().collect()
}

/// Every existing partition of a subscribed topic -> the members that may own it.
fn eligible_members<'a>(
    partitions_per_topic: &BTreeMap<String, u32>,
    members: &'a BTreeMap<String, Subscription>,
) -> BTreeMap<TopicPartition, Vec<&'a String>> {
    let mut eligible = BTreeMap::new();
    for topic in partitions_per_topic.keys() {
        let subscribers: Vec<&String> = members
            .iter()
            .filter(|(_, s)| s.topics.contains(topic))
            .map(|(id, _)| id)
            .collect();
        if subscribers.is_empty() {
            continue;
        }
        for tp in topic_partitions(partitions_per_topic, topic) {
            eligible.insert(tp, subscribers.clone());
        }
    }
    eligible
}

/// The previous owner each partition keeps: the claimant with the newest generation, if it
/// is alone at that generation and may still own the partition.
fn previous_owners<'a>(
    members: &'a BTreeMap<String, Subscription>,
    eligible: &BTreeMap<TopicPartition, Vec<&'a String>>,
) -> BTreeMap<TopicPartition, &'a String> {
    // partition -> (newest generation, its claimants)
    let mut claims: BTreeMap<&TopicPartition, (i32, Vec<&String>)> = BTreeMap::new();
    for (member_id, subscription) in members {
        let generation = subscription.generation.unwrap_or(-1);
        for tp in &subscription.owned_partitions {
            let may_own = eligible
                .get(tp)
                .is_some_and(|candidates| candidates.contains(&member_id));
            if !may_own {
                continue;
            }
            let entry = claims.entry(tp).or_insert((generation, Vec::new()));
            if generation > entry.0 {
                *entry = (generation, Vec::new());
            }
            if generation == entry.0 {
                entry.1.push(member_id);
            }
        }
    }
    claims
        .into_iter()
        .filter_map(|(tp, (_, claimants))| match claimants.as_slice() {
            [only] => Some((tp.clone(), *only)),
            _ => None,
        })
        .collect()
}

/// Gives each partition nobody kept to the least-loaded member that may take it, the
/// partitions with the fewest candidates first.
fn assign_unassigned(
    assignment: &mut Assignment,
    eligible: &BTreeMap<TopicPartition, Vec<&String>>,
) {
    let taken: BTreeSet<TopicPartition> = assignment.values().flatten().cloned().collect();
    let mut unassigned: Vec<(&TopicPartition, &Vec<&String>)> = eligible
        .iter()
        .filter(|(tp, _)| !taken.contains(*tp))
        .collect();
    unassigned.sort_by(|(a_tp, a), (b_tp, b)| a.len().cmp(&b.len()).then_with(|| a_tp.cmp(b_tp)));
    for (tp, candidates) in unassigned {
        let least_loaded = candidates
            .iter()
            .min_by_key(|id| (assignment.get(**id).map_or(0, BTreeSet::len), **id));
        if let Some(id) = least_loaded {
            if let Some(owned) = assignment.get_mut(*id) {
                owned.insert(tp.clone());
            }
        }
    }
}

/// Moves partitions along shortest chains from a member to one with at least two fewer, the
/// most-loaded members first, until no such chain is left.
fn balance(assignment: &mut Assignment, members: &BTreeMap<String, Subscription>) {
    while let Some(path) = find_chain(assignment, members) {
        for pair in path.windows(2) {
            let (from, to) = (&pair[0], &pair[1]);
            let topics = &members[to].topics;
            let moved = assignment[from]
                .iter()
                .rev()
                .find(|tp| topics.contains(&tp.topic))
                .cloned();
            if let Some(tp) = moved {
                if let Some(owned) = assignment.get_mut(from) {
                    owned.remove(&tp);
                }
                if let Some(owned) = assignment.get_mut(to) {
                    owned.insert(tp);
                }
            }
        }
    }
}

/// The shortest chain of members, each able to take one partition from the one before, from
/// the most-loaded member that has one to a member with at least two fewer partitions.
fn find_chain(
    assignment: &Assignment,
    members: &BTreeMap<String, Subscription>,
) -> Option<Vec<String>> {
    let count = |id: &String| assignment.get(id).map_or(0, BTreeSet::len);
    let mut by_load: Vec<&String> = assignment.keys().collect();
    by_load.sort_by(|a, b| count(b).cmp(&count(a)).then_with(|| a.cmp(b)));
    let min_load = by_load.last().map_or(0, |id| count(id));
    for source in &by_load {
        if count(source) < min_load + 2 {
            break;
        }
        // Breadth first, neighbours in (load, id) order, so the first target found is the
        // nearest and, among the nearest, the least loaded.
        let mut parent: BTreeMap<&String, &String> = BTreeMap::new();
        let mut queue = VecDeque::from([*source]);
        let mut seen = BTreeSet::from([*source]);
        while let Some(at) = queue.pop_front() {
            let held_topics: BTreeSet<&String> =
                assignment[at].iter().map(|tp| &tp.topic).collect();
            let mut next: Vec<&String> = by_load
                .iter()
                .copied()
                .filter(|id| !seen.contains(id))
                .filter(|id| held_topics.iter().any(|t| members[*id].topics.contains(*t)))
                .collect();
            next.sort_by(|a, b| count(a).cmp(&count(b)).then_with(|| a.cmp(b)));
            if let Some(target) = next.iter().find(|id| count(id) + 2 <= count(source)) {
                let mut path = vec![(*target).clone(), at.clone()];
                let mut cursor = at;
                while let Some(prev) = parent.get(cursor) {
                    path.push((*prev).clone());
                    cursor = prev;
                }
                path.reverse();
                return Some(path);
            }
            for id in next {
                seen.insert(id);
                parent.insert(id, at);
                queue.push_back(id);
            }
        }
    }
    None
}
