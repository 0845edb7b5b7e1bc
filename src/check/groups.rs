//! Consumer group checks over a history (section 4): no partition owned by two members of a
//! group at once (G-4's invariant for the classic protocol without session expiry), a member
//! that starts a partition never starts below the group's acknowledged committed offset (G-6:
//! committed offsets survive rebalances, restarts and coordinator failover), and the records
//! read more than once within a group, which the offset commit policy explains (G-7:
//! duplicates up to what was consumed since the last commit), and Jepsen's `poll-skip` and
//! `nonmonotonic-poll` for members, legal under subscribe (J-4). (Assign-mode consumers are
//! not judged for those two: their positions move only by truncation and retention resets,
//! which the history checker already explains.)
//!
//! Ownership is read from the listener events the members recorded (`Op::Assigned`,
//! `Op::Revoked`). An overlap is legal when the earlier owner lost its partitions without
//! revoking them (`onPartitionsLost`: its session expired, it left at the poll deadline, or it
//! died): the classic protocol lets such a zombie believe it still owns them until it learns.
//! It is legal too when the earlier owner never joined the generation the later one got the
//! partition in (`Op::Joined`): the classic protocol keeps apart only the members of one
//! generation. The coordinator completes a generation without a member that did not rejoin in
//! time (GroupMetadataManager.completeClassicGroupJoin removes such a dynamic member, and keeps
//! a static one with its old metadata), and that member keeps what it had until a heartbeat,
//! an offset commit or JoinGroup tells it, which may be never before close() when it cannot
//! reach the coordinator (AbstractCoordinator's heartbeat thread only marks the coordinator
//! unknown then). One that did join that generation had revoked first (eager) or declared what
//! it owns to the assignor (cooperative), so an overlap with it is a bug.

use crate::ids::{Offset, TopicPartition};
use crate::sim::history::{Op, ValueId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Two members owning one partition at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnershipOverlap {
    pub group: String,
    pub partition: TopicPartition,
    /// The member that owned it first, and the generation it got it in.
    pub first: (u32, i32),
    /// The member that got it while the first still held it.
    pub second: (u32, i32),
    /// Why it is legal, or `None` for a bug.
    pub legal_because: Option<String>,
}

/// A member started a partition below the offset the group had committed for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedOffsetLost {
    pub group: String,
    pub partition: TopicPartition,
    pub consumer: u32,
    pub committed: Offset,
    pub started_at: Offset,
    /// Why it is legal (the run's faults could lose the group's offset commits), or `None`
    /// for a bug.
    #[serde(default)]
    pub legal_because: Option<String>,
}

/// Records one group read again on one partition (at-least-once: legal, and explained by
/// the group's offset commit policy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reprocessed {
    pub group: String,
    pub partition: TopicPartition,
    pub records: u64,
    pub lowest_offset: Offset,
}

/// What the group checks found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupReport {
    pub overlaps: Vec<OwnershipOverlap>,
    pub committed_offsets_lost: Vec<CommittedOffsetLost>,
    /// Values one group read more than once (the same or another member).
    pub reprocessed: u64,
    /// The same per group and partition.
    #[serde(default)]
    pub reprocessed_by: Vec<Reprocessed>,
    /// Completed assignments (`onPartitionsAssigned` calls).
    pub assignments: u64,
    /// Acknowledged offset commits.
    pub offset_commits: u64,
    /// A member's next poll of a partition started past offsets that hold records (Jepsen's
    /// `poll-skip`), or before where its last poll ended (`nonmonotonic-poll`). Both are
    /// legal under subscribe (J-4): a rebalance moves positions between polls.
    pub poll_skips: u64,
    pub nonmonotonic_polls: u64,
    /// A member started a partition below the committed offset because the log no longer
    /// reached it (`Op::PositionReset` before its first poll): legal for the group, since
    /// the committed offset pointed past records the partition lost.
    #[serde(default)]
    pub committed_offsets_past_log_end: u64,
}

impl GroupReport {
    /// The findings no configuration excuses.
    pub fn bugs(&self) -> u32 {
        self.overlaps
            .iter()
            .filter(|o| o.legal_because.is_none())
            .count() as u32
            + self
                .committed_offsets_lost
                .iter()
                .filter(|l| l.legal_because.is_none())
                .count() as u32
    }

    /// The findings that are bugs, one line each (legal overlaps left out).
    pub fn bug_lines(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.starts_with("BUG"))
            .collect()
    }

    /// Every finding as one line, for reports.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for o in &self.overlaps {
            out.push(format!(
                "{} group {}: {} owned by consumer {} (generation {}) and consumer {} (generation {}) at once{}",
                if o.legal_because.is_some() { "legal" } else { "BUG" },
                o.group,
                o.partition,
                o.first.0,
                o.first.1,
                o.second.0,
                o.second.1,
                o.legal_because
                    .as_ref()
                    .map_or(String::new(), |w| format!(": {w}"))
            ));
        }
        for l in &self.committed_offsets_lost {
            out.push(format!(
                "{} group {}: consumer {} started {} at offset {}, below the committed offset {}{}",
                if l.legal_because.is_some() {
                    "legal"
                } else {
                    "BUG"
                },
                l.group,
                l.consumer,
                l.partition,
                l.started_at.0,
                l.committed.0,
                l.legal_because
                    .as_ref()
                    .map_or(String::new(), |w| format!(": {w}"))
            ));
        }
        out
    }
}

/// One member's hold on a partition.
struct Hold {
    consumer: u32,
    generation: i32,
    /// Ended with `onPartitionsLost` (or not ended yet: `None`).
    ended_lost: Option<bool>,
}

/// Runs the group checks over a history. `offsets_losable` names the groups whose
/// acknowledged offset commits the run's faults could legally lose, with the reason: Kafka
/// acknowledges an offset commit once the `__consumer_offsets` partition's ISR has it in page
/// cache (acks=all, no fsync), so a power loss of its only in-sync replica, a correlated
/// power loss or an unclean election can take it away (G-6 holds only without those).
pub fn check_groups(history: &[Op], offsets_losable: &BTreeMap<String, String>) -> GroupReport {
    let mut report = GroupReport::default();
    let mut group_of: BTreeMap<u32, String> = BTreeMap::new();
    // (group, partition) -> holds in the order they began.
    let mut holds: BTreeMap<(String, TopicPartition), Vec<Hold>> = BTreeMap::new();
    // (group, generation) -> the members (consumers) whose JoinGroup made them part of it.
    let mut joined: BTreeMap<(String, i32), BTreeSet<u32>> = BTreeMap::new();
    // (group, partition) -> the last acknowledged committed offset.
    let mut committed: BTreeMap<(String, TopicPartition), Offset> = BTreeMap::new();
    // (consumer, partition) -> the committed offset when it was assigned, until its first poll.
    let mut awaiting_first_poll: BTreeMap<(u32, TopicPartition), Offset> = BTreeMap::new();
    let mut seen: BTreeMap<String, BTreeSet<ValueId>> = BTreeMap::new();
    // Offsets known to hold a record (acknowledged or read), per partition.
    let mut known: BTreeMap<TopicPartition, BTreeSet<Offset>> = BTreeMap::new();
    for op in history {
        match op {
            Op::Send {
                partition,
                outcome: crate::sim::history::SendOutcome::Acked(o),
                ..
            } => {
                known.entry(partition.clone()).or_default().insert(*o);
            }
            Op::Poll {
                partition, records, ..
            } => {
                known
                    .entry(partition.clone())
                    .or_default()
                    .extend(records.iter().map(|(o, _)| *o));
            }
            _ => {}
        }
    }
    // Per (group, partition): records read again, and the lowest offset among them.
    let mut reprocessed_by: BTreeMap<(String, TopicPartition), (u64, Offset)> = BTreeMap::new();
    // Per overlap: the index of the first owner's hold in its partition's list.
    let mut first_hold: Vec<usize> = Vec::new();
    // Per (member, partition): where its last poll ended.
    let mut last_read: BTreeMap<(u32, TopicPartition), Offset> = BTreeMap::new();
    for op in history {
        match op {
            Op::Assigned {
                consumer,
                group,
                generation,
                partitions,
            } => {
                report.assignments += 1;
                group_of.insert(*consumer, group.clone());
                for tp in partitions {
                    let key = (group.clone(), tp.clone());
                    let list = holds.entry(key.clone()).or_default();
                    for (i, h) in list.iter().enumerate() {
                        if h.ended_lost.is_some() || h.consumer == *consumer {
                            continue;
                        }
                        // The hold itself, not the first of that consumer and generation: a
                        // restarted static member holds again in the same generation.
                        first_hold.push(i);
                        report.overlaps.push(OwnershipOverlap {
                            group: group.clone(),
                            partition: tp.clone(),
                            first: (h.consumer, h.generation),
                            second: (*consumer, *generation),
                            legal_because: None,
                        });
                    }
                    list.push(Hold {
                        consumer: *consumer,
                        generation: *generation,
                        ended_lost: None,
                    });
                    if let Some(c) = committed.get(&key) {
                        awaiting_first_poll.insert((*consumer, tp.clone()), *c);
                    }
                }
            }
            Op::Joined {
                consumer,
                group,
                generation,
            } => {
                joined
                    .entry((group.clone(), *generation))
                    .or_default()
                    .insert(*consumer);
            }
            Op::Revoked {
                consumer,
                group,
                partitions,
                lost,
                ..
            } => {
                for tp in partitions {
                    let key = (group.clone(), tp.clone());
                    if let Some(list) = holds.get_mut(&key) {
                        for h in list
                            .iter_mut()
                            .filter(|h| h.consumer == *consumer && h.ended_lost.is_none())
                        {
                            h.ended_lost = Some(*lost);
                        }
                    }
                    awaiting_first_poll.remove(&(*consumer, tp.clone()));
                }
            }
            Op::OffsetCommitted { group, offsets, .. } => {
                report.offset_commits += 1;
                // The committed offset is the last acknowledged commit, which may be lower
                // than an earlier one (a consumer that rewound after a log truncation, R-12,
                // commits where it is): G-6 promises that one, not the highest ever.
                for (tp, o) in offsets {
                    committed.insert((group.clone(), tp.clone()), *o);
                }
            }
            Op::Poll {
                consumer,
                partition,
                records,
            } => {
                let Some(group) = group_of.get(consumer) else {
                    continue;
                };
                if let (Some(c), Some((first, _))) = (
                    awaiting_first_poll.remove(&(*consumer, partition.clone())),
                    records.first(),
                ) {
                    if *first < c {
                        report.committed_offsets_lost.push(CommittedOffsetLost {
                            group: group.clone(),
                            partition: partition.clone(),
                            consumer: *consumer,
                            committed: c,
                            started_at: *first,
                            legal_because: offsets_losable.get(group).cloned(),
                        });
                    }
                }
                if let (Some(prev), Some((first, _))) = (
                    last_read.get(&(*consumer, partition.clone())),
                    records.first(),
                ) {
                    if *first <= *prev {
                        report.nonmonotonic_polls += 1;
                    } else if known
                        .get(partition)
                        .is_some_and(|k| k.range(Offset(prev.0 + 1)..*first).next().is_some())
                    {
                        report.poll_skips += 1;
                    }
                }
                if let Some((last, _)) = records.last() {
                    last_read.insert((*consumer, partition.clone()), *last);
                }
                let values = seen.entry(group.clone()).or_default();
                for (offset, v) in records {
                    if !values.insert(*v) {
                        report.reprocessed += 1;
                        let entry = reprocessed_by
                            .entry((group.clone(), partition.clone()))
                            .or_insert((0, *offset));
                        entry.0 += 1;
                        entry.1 = entry.1.min(*offset);
                    }
                }
            }
            Op::PositionReset {
                consumer,
                partition,
                from,
                to,
            } => {
                // KIP-320: the member fetched from the committed offset and found the log
                // ended below it (validation against the new leader's epoch end offset, or
                // OFFSET_OUT_OF_RANGE and auto.offset.reset). Kafka's consumer moves to where
                // the log is (SubscriptionState.maybeCompleteValidation,
                // FetchCollector.handleInitializeErrors), so its first records are judged
                // against that point; the lost records are the history checker's business.
                if let Some(c) = awaiting_first_poll.get_mut(&(*consumer, partition.clone())) {
                    if *from >= *c && *to < *c {
                        *c = *to;
                        report.committed_offsets_past_log_end += 1;
                    }
                }
            }
            Op::Send { .. } | Op::Txn { .. } => {}
        }
    }
    report.reprocessed_by = reprocessed_by
        .into_iter()
        .map(
            |((group, partition), (records, lowest_offset))| Reprocessed {
                group,
                partition,
                records,
                lowest_offset,
            },
        )
        .collect();
    // An overlap is legal when the first owner's hold ended in onPartitionsLost: it had been
    // removed from the group (or died) before it found out.
    for (o, hold) in report.overlaps.iter_mut().zip(first_hold) {
        let lost = holds
            .get(&(o.group.clone(), o.partition.clone()))
            .and_then(|list| list.get(hold))
            .and_then(|h| h.ended_lost);
        if lost == Some(true) {
            o.legal_because = Some(format!(
                "consumer {} had been removed from the group (session timeout, poll timeout or death) and learned it later (onPartitionsLost): the classic protocol allows a zombie owner until then",
                o.first.0
            ));
        } else if o.first.1 < o.second.1
            && !joined
                .get(&(o.group.clone(), o.second.1))
                .is_some_and(|m| m.contains(&o.first.0))
        {
            // Whenever it joins later (a JoinGroup answered after the new owner's SyncGroup
            // would still be of that generation), the history shows it, so the whole history
            // decides.
            o.legal_because = Some(format!(
                "consumer {} never joined generation {}: the coordinator completed it without that member (a dynamic member removed for its session timeout, rebalance timeout or LeaveGroup; a static member kept with its old assignment), which had not learned it yet; the classic protocol keeps apart only the members of one generation (GroupMetadataManager.completeClassicGroupJoin)",
                o.first.0, o.second.1
            ));
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PartitionIndex;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn tp(p: u32) -> TopicPartition {
        TopicPartition {
            topic: "t".into(),
            partition: PartitionIndex(p),
        }
    }
    fn assigned(consumer: u32, generation: i32, ps: &[u32]) -> Op {
        Op::Assigned {
            consumer,
            group: "g".into(),
            generation,
            partitions: ps.iter().map(|p| tp(*p)).collect(),
        }
    }
    fn joined(consumer: u32, generation: i32) -> Op {
        Op::Joined {
            consumer,
            group: "g".into(),
            generation,
        }
    }
    fn revoked(consumer: u32, generation: i32, ps: &[u32], lost: bool) -> Op {
        Op::Revoked {
            consumer,
            group: "g".into(),
            generation,
            partitions: ps.iter().map(|p| tp(*p)).collect(),
            lost,
        }
    }
    fn poll(consumer: u32, p: u32, offsets: &[(i64, u64)]) -> Op {
        Op::Poll {
            consumer,
            partition: tp(p),
            records: offsets
                .iter()
                .map(|(o, v)| (Offset(*o), ValueId(*v)))
                .collect(),
        }
    }

    #[test]
    fn a_handover_after_revoking_is_clean() {
        let h = [
            assigned(0, 1, &[0, 1]),
            revoked(0, 1, &[1], false),
            assigned(1, 2, &[1]),
        ];
        let r = check_groups(&h, &BTreeMap::new());
        assert!(r.overlaps.is_empty());
        assert_eq!(r.bugs(), 0);
        assert_eq!(r.assignments, 2);
    }

    #[test]
    fn two_owners_at_once_is_a_bug_unless_the_first_was_a_zombie() {
        // Consumer 0 joined generation 2 still owning t-0, and the assignor gave t-0 to
        // consumer 1 in it.
        let h = [
            joined(0, 1),
            assigned(0, 1, &[0]),
            joined(0, 2),
            joined(1, 2),
            assigned(1, 2, &[0]),
        ];
        let r = check_groups(&h, &BTreeMap::new());
        assert_eq!(r.overlaps.len(), 1);
        assert_eq!(r.bugs(), 1);
        assert!(r.lines()[0].starts_with("BUG"), "{:?}", r.lines());
        // Its JoinGroup answered after consumer 1's SyncGroup still puts it in generation 2.
        let h = [
            assigned(0, 1, &[0]),
            joined(1, 2),
            assigned(1, 2, &[0]),
            joined(0, 2),
        ];
        assert_eq!(check_groups(&h, &BTreeMap::new()).bugs(), 1);
        let h = [
            assigned(0, 1, &[0]),
            joined(0, 2),
            assigned(1, 2, &[0]),
            revoked(0, 1, &[0], true),
        ];
        let r = check_groups(&h, &BTreeMap::new());
        assert_eq!(r.overlaps.len(), 1);
        assert_eq!(r.bugs(), 0);
        assert!(r.lines()[0].contains("onPartitionsLost"));
    }

    #[test]
    fn an_owner_that_never_joined_the_new_generation_is_a_legal_zombie_even_if_it_revokes() {
        // Seeds 130 and 3581: consumer 0 cannot reach the coordinator (or, static, stalls in
        // its poll loop), the coordinator completes generation 2 without it and the leader
        // gives t-0 to consumer 1; consumer 0 still has its generation when it closes
        // (onPartitionsRevoked) or rejoins (eager: onPartitionsRevoked before JoinGroup).
        let h = [
            joined(0, 1),
            joined(1, 1),
            assigned(0, 1, &[0]),
            assigned(1, 1, &[1]),
            joined(1, 2),
            assigned(1, 2, &[0]),
            revoked(0, 1, &[0], false),
        ];
        let r = check_groups(&h, &BTreeMap::new());
        assert_eq!(r.overlaps.len(), 1);
        assert_eq!(r.bugs(), 0, "{:?}", r.lines());
        assert!(
            r.lines()[0].starts_with("legal") && r.lines()[0].contains("never joined generation 2"),
            "{:?}",
            r.lines()
        );
        // Two owners in one generation are a bug whoever joined what.
        let h = [assigned(0, 2, &[0]), assigned(1, 2, &[0])];
        assert_eq!(check_groups(&h, &BTreeMap::new()).bugs(), 1);
    }

    #[test]
    fn a_restarted_static_member_fenced_by_a_second_process_is_judged_by_its_own_hold() {
        // Consumer 0 closes, restarts and gets its generation-1 assignment back (static
        // membership); a second process with its instance id takes it over, and consumer 0
        // learns at its next heartbeat (FENCED_INSTANCE_ID, onPartitionsLost).
        let h = [
            assigned(0, 1, &[0]),
            revoked(0, 1, &[0], false),
            assigned(0, 1, &[0]),
            assigned(2, 1, &[0]),
            revoked(0, 1, &[0], true),
        ];
        let r = check_groups(&h, &BTreeMap::new());
        assert_eq!(r.overlaps.len(), 1);
        assert_eq!(r.bugs(), 0, "{:?}", r.lines());
    }

    #[test]
    fn starting_below_the_committed_offset_is_a_bug_and_rereads_are_counted() {
        let offset_commit = Op::OffsetCommitted {
            consumer: 0,
            group: "g".into(),
            generation: 1,
            offsets: vec![(tp(0), Offset(5))],
        };
        let h = [
            assigned(0, 1, &[0]),
            poll(0, 0, &[(3, 30), (4, 40), (5, 50)]),
            offset_commit.clone(),
            revoked(0, 1, &[0], false),
            assigned(1, 2, &[0]),
            poll(1, 0, &[(5, 50), (6, 60)]),
        ];
        let r = check_groups(&h, &BTreeMap::new());
        assert_eq!(r.bugs(), 0);
        assert_eq!(r.reprocessed, 1);
        assert_eq!(r.reprocessed_by.len(), 1);
        assert_eq!(r.reprocessed_by[0].records, 1);
        assert_eq!((r.poll_skips, r.nonmonotonic_polls), (0, 0));
        let h = [
            assigned(0, 1, &[0]),
            offset_commit,
            revoked(0, 1, &[0], false),
            assigned(1, 2, &[0]),
            poll(1, 0, &[(2, 20)]),
        ];
        let r = check_groups(&h, &BTreeMap::new());
        assert_eq!(r.committed_offsets_lost.len(), 1);
        assert_eq!(r.bugs(), 1);
    }

    fn offset_commit(o: i64) -> Op {
        Op::OffsetCommitted {
            consumer: 0,
            group: "g".into(),
            generation: 1,
            offsets: vec![(tp(0), Offset(o))],
        }
    }

    /// Swarm seed 219: t-1 (one replica) lost its unsynced tail in a power loss, so the
    /// group's committed offset 95 pointed past the log's new end, 81. The next owner fetched
    /// from 95, KIP-320 validation found the log truncated below it and moved it to 81: not a
    /// lost offset commit (the lost records are the history checker's verdict).
    #[test]
    fn a_start_below_the_committed_offset_after_the_log_lost_its_tail_is_legal() {
        let reset = |from: i64, to: i64| Op::PositionReset {
            consumer: 1,
            partition: tp(0),
            from: Offset(from),
            to: Offset(to),
        };
        let h = [
            assigned(0, 1, &[0]),
            offset_commit(95),
            revoked(0, 1, &[0], false),
            assigned(1, 2, &[0]),
            reset(95, 81),
            poll(1, 0, &[(81, 1), (82, 2)]),
        ];
        let r = check_groups(&h, &BTreeMap::new());
        assert_eq!(r.bugs(), 0, "{:?}", r.lines());
        assert_eq!(r.committed_offsets_past_log_end, 1);
        // A reset does not excuse reading below where it moved the position...
        let h = [
            assigned(0, 1, &[0]),
            offset_commit(95),
            revoked(0, 1, &[0], false),
            assigned(1, 2, &[0]),
            reset(95, 81),
            poll(1, 0, &[(70, 1)]),
        ];
        assert_eq!(check_groups(&h, &BTreeMap::new()).bugs(), 1);
        // ...nor one from a position that was already below the committed offset.
        let h = [
            assigned(0, 1, &[0]),
            offset_commit(95),
            revoked(0, 1, &[0], false),
            assigned(1, 2, &[0]),
            reset(50, 40),
            poll(1, 0, &[(40, 1)]),
        ];
        assert_eq!(check_groups(&h, &BTreeMap::new()).bugs(), 1);
    }

    /// Swarm seed 294: one broker, `__consumer_offsets` with one replica, and a power loss:
    /// the acknowledged offset commits in its page cache were lost, so the group restarted t-1
    /// from auto.offset.reset. Legal exactly when the run's faults could lose the group's
    /// offsets partition's tail, and said so.
    #[test]
    fn a_lost_offset_commit_is_legal_only_when_the_offsets_partition_could_lose_it() {
        let h = [
            assigned(0, 1, &[0]),
            offset_commit(554),
            revoked(0, 1, &[0], true),
            assigned(1, 2, &[0]),
            poll(1, 0, &[(0, 1)]),
        ];
        assert_eq!(check_groups(&h, &BTreeMap::new()).bugs(), 1);
        let losable = BTreeMap::from([("g".to_string(), "power loss".to_string())]);
        let r = check_groups(&h, &losable);
        assert_eq!(r.bugs(), 0);
        assert_eq!(r.committed_offsets_lost.len(), 1);
        assert!(r.lines()[0].starts_with("legal"), "{:?}", r.lines());
        assert!(r.bug_lines().is_empty());
    }

    #[test]
    fn skips_and_rewinds_across_a_rebalance_are_counted_as_legal_under_subscribe() {
        let h = [
            assigned(0, 1, &[0]),
            poll(0, 0, &[(0, 1), (1, 2)]),
            revoked(0, 1, &[0], false),
            assigned(1, 2, &[0]),
            poll(1, 0, &[(2, 3), (3, 4), (4, 5)]),
            revoked(1, 2, &[0], false),
            assigned(0, 3, &[0]),
            // Consumer 0 resumes at 2 (rewind: nonmonotonic) after reading up to 1...
            poll(0, 0, &[(1, 2), (2, 3)]),
            // ...then jumps past offset 3 and 4, which hold records (poll-skip).
            poll(0, 0, &[(5, 6)]),
        ];
        let r = check_groups(&h, &BTreeMap::new());
        assert_eq!(r.nonmonotonic_polls, 1);
        assert_eq!(r.poll_skips, 1);
        assert_eq!(r.bugs(), 0);
    }
}
