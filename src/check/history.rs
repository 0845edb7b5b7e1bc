//! A Jepsen-style history checker for the queue workload (spec section 6, J-3 and J-4).
//!
//! Clients record what they did: sends (a unique value to a partition, and whether the broker
//! acknowledged it at an offset, definitely failed, or left it unknown) and polls (the
//! (offset, value) pairs a consumer received). From those alone the checker finds the anomalies
//! Jepsen names: `inconsistent-offsets` (one offset, several values), `duplicate` (one value at
//! several offsets), `nonmonotonic-send` (a producer's later send lands at an earlier offset),
//! `lost-write` (an acknowledged value never read although a later offset of its partition was
//! read) and `unseen` (acknowledged, never read by the end). Each anomaly is then judged against
//! what the run's configuration and faults make legal in Kafka (`Policy`): `acks=1` may lose
//! acknowledged writes, an unclean election may rebind offsets, retries without idempotence may
//! duplicate; `acks=all` with `min.insync.replicas` >= 2 and only clean elections may not lose.

use crate::ids::{Offset, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub use crate::sim::history::{Op, SendOutcome, ValueId};

/// The kinds of anomaly, with Jepsen's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AnomalyKind {
    InconsistentOffsets,
    Duplicate,
    NonmonotonicSend,
    LostWrite,
    Unseen,
}

impl AnomalyKind {
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::InconsistentOffsets => "inconsistent-offsets",
            AnomalyKind::Duplicate => "duplicate",
            AnomalyKind::NonmonotonicSend => "nonmonotonic-send",
            AnomalyKind::LostWrite => "lost-write",
            AnomalyKind::Unseen => "unseen",
        }
    }
}

/// What the run's configuration and faults make legal (J-4 plus Kafka's documented losses).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// The weakest `acks` any producer used: 0, 1 or -1 (all).
    pub acks_min: i8,
    /// The smallest effective `min.insync.replicas` (min with the replication factor).
    pub min_insync_replicas: u32,
    /// Whether any unclean leader election happened.
    pub unclean_election: bool,
    /// Whether some producer retried without `enable.idempotence`.
    pub retries_without_idempotence: bool,
    /// Whether every replica of some partition lost its unsynced tail at once (R-8 #4).
    pub correlated_power_loss: bool,
    /// Per partition, an offset below which retention deleted records before a consumer read
    /// them (its OFFSET_OUT_OF_RANGE reset with `auto.offset.reset=earliest` jumped there). J-4
    /// has no word on it; Kafka documents it as loss by design (D19): an acknowledged record
    /// below it that nobody read is not a bug. Records at or above it are judged as usual.
    pub retention_deleted_unread: Vec<(TopicPartition, Offset)>,
}

impl Policy {
    /// Why this anomaly at this offset of this partition is legal, or `None` if it is a bug:
    /// retention first (it excuses only unread records below its reset point), then the
    /// configuration-wide reasons of `legal_because`.
    pub fn legal_because_at(
        &self,
        kind: AnomalyKind,
        partition: &TopicPartition,
        offset: Option<Offset>,
    ) -> Option<String> {
        let deleted_below = self
            .retention_deleted_unread
            .iter()
            .filter(|(tp, _)| tp == partition)
            .map(|(_, o)| *o)
            .max();
        let by_retention = matches!(kind, AnomalyKind::LostWrite | AnomalyKind::Unseen)
            && offset
                .zip(deleted_below)
                .is_some_and(|(o, below)| o < below);
        if by_retention {
            return Some(format!(
                "retention (retention.bytes/retention.ms) deleted it before a consumer read it; the consumer's OFFSET_OUT_OF_RANGE reset (auto.offset.reset=earliest) skipped to offset {}: loss by design (D19)",
                deleted_below.map_or(-1, |o| o.0)
            ));
        }
        self.legal_because(kind)
    }

    /// Why this anomaly is legal under the configuration, or `None` if it is a bug.
    pub fn legal_because(&self, kind: AnomalyKind) -> Option<String> {
        let loss_reason = || {
            if self.acks_min >= 0 {
                Some(format!(
                    "acks={} acknowledges before replication, so a leader failure can lose acknowledged records (R-8 #1, #2)",
                    self.acks_min
                ))
            } else if self.min_insync_replicas < 2 {
                Some("acks=all with min.insync.replicas=1 lets the ISR shrink to the leader alone, whose loss loses acknowledged records (R-8 #3)".to_owned())
            } else if self.unclean_election {
                Some(
                    "an unclean leader election elected a replica outside the ISR (R-9)".to_owned(),
                )
            } else if self.correlated_power_loss {
                Some("replicas failed together and one lost its unsynced page cache; Kafka does not fsync by default (R-8 #4)".to_owned())
            } else {
                None
            }
        };
        match kind {
            AnomalyKind::LostWrite | AnomalyKind::Unseen => loss_reason(),
            AnomalyKind::InconsistentOffsets => self
                .unclean_election
                .then(|| "an unclean leader election reused offsets (R-9)".to_owned())
                .or_else(|| {
                    (self.acks_min >= 0 || self.min_insync_replicas < 2 || self.correlated_power_loss)
                        .then(|| {
                            "a truncated leader's offsets were reassigned after failover (R-8)"
                                .to_owned()
                        })
                }),
            AnomalyKind::Duplicate => self.retries_without_idempotence.then(|| {
                "a producer retried without enable.idempotence, so a retry after a lost response writes the record again".to_owned()
            }),
            AnomalyKind::NonmonotonicSend => {
                if self.retries_without_idempotence {
                    Some("retries without idempotence can reorder a producer's batches".to_owned())
                } else {
                    // Once acknowledged records can be lost, a failover hands their offsets to
                    // later sends: a later send lands below an earlier one.
                    self.legal_because(AnomalyKind::InconsistentOffsets).map(|why| {
                        format!("acknowledged records were lost and their offsets reused: {why}")
                    })
                }
            }
        }
    }
}

/// One finding, with whether the configuration makes it legal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub partition: TopicPartition,
    pub offset: Option<Offset>,
    pub value: Option<ValueId>,
    pub detail: String,
    /// Why Kafka allows this under the run's configuration; `None` means it is a bug.
    pub legal_because: Option<String>,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.kind.name(), self.partition, self.detail)?;
        match &self.legal_because {
            Some(why) => write!(f, " (legal: {why})"),
            None => write!(f, " (BUG)"),
        }
    }
}

/// The checker's verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    pub anomalies: Vec<Anomaly>,
    pub sends_acked: u64,
    pub values_read: u64,
}

impl CheckReport {
    /// The anomalies the configuration does not excuse.
    pub fn bugs(&self) -> impl Iterator<Item = &Anomaly> {
        self.anomalies.iter().filter(|a| a.legal_because.is_none())
    }

    pub fn count(&self, kind: AnomalyKind) -> u32 {
        self.anomalies.iter().filter(|a| a.kind == kind).count() as u32
    }
}

#[derive(Default)]
struct PartitionFacts {
    /// Every value bound to each offset, by acknowledgements and by reads.
    values_at: BTreeMap<Offset, BTreeSet<ValueId>>,
    /// Every offset each value was seen at.
    offsets_of: BTreeMap<ValueId, BTreeSet<Offset>>,
    /// Values some poll returned, and the highest offset any poll returned.
    read: BTreeSet<ValueId>,
    read_offset_max: Option<Offset>,
    /// Acknowledged sends: value -> offset.
    acked: BTreeMap<ValueId, Offset>,
    /// Per producer, its acknowledged sends by value, which is send order: a producer's values
    /// grow in the order it sends them (the simulated clients number them so). Completion
    /// order is not send order: an earlier batch whose response was lost completes after a
    /// later one, without landing out of order.
    sends_by_producer: BTreeMap<u32, BTreeMap<ValueId, Offset>>,
}

/// Checks a whole history under a policy. `final_reads_complete` says the run ended with a
/// phase that read every partition to its end (Jepsen's final polls); without it `unseen` is
/// not judged, since a value may simply not have been read yet.
pub fn check(history: &[Op], policy: &Policy, final_reads_complete: bool) -> CheckReport {
    let mut facts: BTreeMap<TopicPartition, PartitionFacts> = BTreeMap::new();
    let mut report = CheckReport::default();
    for op in history {
        match op {
            Op::Send {
                producer,
                partition,
                value,
                outcome: SendOutcome::Acked(offset),
            } => {
                let f = facts.entry(partition.clone()).or_default();
                f.values_at.entry(*offset).or_default().insert(*value);
                f.offsets_of.entry(*value).or_default().insert(*offset);
                f.acked.insert(*value, *offset);
                f.sends_by_producer
                    .entry(*producer)
                    .or_default()
                    .insert(*value, *offset);
                report.sends_acked += 1;
            }
            Op::Send { .. } => {}
            Op::Poll {
                partition, records, ..
            } => {
                let f = facts.entry(partition.clone()).or_default();
                for (offset, value) in records {
                    f.values_at.entry(*offset).or_default().insert(*value);
                    f.offsets_of.entry(*value).or_default().insert(*offset);
                    if f.read.insert(*value) {
                        report.values_read += 1;
                    }
                    f.read_offset_max = f.read_offset_max.max(Some(*offset));
                }
            }
        }
    }
    let mut push = |kind: AnomalyKind,
                    partition: &TopicPartition,
                    offset: Option<Offset>,
                    value: Option<ValueId>,
                    detail: String| {
        report.anomalies.push(Anomaly {
            kind,
            partition: partition.clone(),
            offset,
            value,
            detail,
            legal_because: policy.legal_because_at(kind, partition, offset),
        });
    };
    for (tp, f) in &facts {
        for (offset, values) in &f.values_at {
            if values.len() > 1 {
                let list: Vec<String> = values.iter().map(|v| v.0.to_string()).collect();
                push(
                    AnomalyKind::InconsistentOffsets,
                    tp,
                    Some(*offset),
                    None,
                    format!("offset {} holds values [{}]", offset.0, list.join(", ")),
                );
            }
        }
        for (value, offsets) in &f.offsets_of {
            if offsets.len() > 1 {
                let list: Vec<String> = offsets.iter().map(|o| o.0.to_string()).collect();
                push(
                    AnomalyKind::Duplicate,
                    tp,
                    None,
                    Some(*value),
                    format!("value {} appears at offsets [{}]", value.0, list.join(", ")),
                );
            }
        }
        for (producer, sends) in &f.sends_by_producer {
            let sends: Vec<(ValueId, Offset)> = sends.iter().map(|(v, o)| (*v, *o)).collect();
            for pair in sends.windows(2) {
                let ((v1, o1), (v2, o2)) = (pair[0], pair[1]);
                if o2 < o1 {
                    push(
                        AnomalyKind::NonmonotonicSend,
                        tp,
                        Some(o2),
                        Some(v2),
                        format!(
                            "producer {producer} sent value {} after value {}, but it landed at offset {} before {}",
                            v2.0, v1.0, o2.0, o1.0
                        ),
                    );
                }
            }
        }
        for (value, offset) in &f.acked {
            if f.read.contains(value) {
                continue;
            }
            if f.read_offset_max.is_some_and(|max| max > *offset) {
                push(
                    AnomalyKind::LostWrite,
                    tp,
                    Some(*offset),
                    Some(*value),
                    format!(
                        "value {} was acknowledged at offset {}, a later offset was read, but the value never was",
                        value.0, offset.0
                    ),
                );
            } else if final_reads_complete {
                push(
                    AnomalyKind::Unseen,
                    tp,
                    Some(*offset),
                    Some(*value),
                    format!(
                        "value {} was acknowledged at offset {} and never read",
                        value.0, offset.0
                    ),
                );
            }
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

    fn tp() -> TopicPartition {
        TopicPartition {
            topic: "t".into(),
            partition: PartitionIndex(0),
        }
    }

    fn acked(producer: u32, value: u64, offset: i64) -> Op {
        Op::Send {
            producer,
            partition: tp(),
            value: ValueId(value),
            outcome: SendOutcome::Acked(Offset(offset)),
        }
    }

    fn poll(pairs: &[(i64, u64)]) -> Op {
        Op::Poll {
            consumer: 0,
            partition: tp(),
            records: pairs
                .iter()
                .map(|(o, v)| (Offset(*o), ValueId(*v)))
                .collect(),
        }
    }

    fn safe() -> Policy {
        Policy {
            acks_min: -1,
            min_insync_replicas: 2,
            ..Policy::default()
        }
    }

    fn kinds(report: &CheckReport) -> Vec<(&'static str, bool)> {
        report
            .anomalies
            .iter()
            .map(|a| (a.kind.name(), a.legal_because.is_some()))
            .collect()
    }

    #[test]
    fn a_clean_history_has_no_anomalies() {
        let h = vec![acked(1, 10, 0), acked(1, 11, 1), poll(&[(0, 10), (1, 11)])];
        let r = check(&h, &safe(), true);
        assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
        assert_eq!((r.sends_acked, r.values_read), (2, 2));
    }

    /// The R-8 #1 drill's signature: acked, a later offset read by someone, the value never.
    #[test]
    fn acknowledged_loss_is_a_bug_under_acks_all_and_legal_under_acks_1() {
        let h = vec![
            acked(1, 10, 0),
            acked(1, 11, 1),
            poll(&[(0, 10), (1, 12), (2, 13)]),
        ];
        let bug = check(&h, &safe(), true);
        assert_eq!(
            kinds(&bug),
            vec![("inconsistent-offsets", false), ("lost-write", false)]
        );
        let acks1 = Policy {
            acks_min: 1,
            min_insync_replicas: 2,
            ..Policy::default()
        };
        let legal = check(&h, &acks1, true);
        assert!(legal.bugs().next().is_none(), "{:?}", legal.anomalies);
        assert!(legal.anomalies[1]
            .legal_because
            .as_deref()
            .is_some_and(|w| w.contains("acks=1")));
    }

    #[test]
    fn unclean_election_excuses_rebound_offsets_and_loss() {
        let h = vec![acked(1, 10, 5), poll(&[(5, 99), (6, 100)])];
        let p = Policy {
            unclean_election: true,
            ..safe()
        };
        let r = check(&h, &p, true);
        assert_eq!(
            kinds(&r),
            vec![("inconsistent-offsets", true), ("lost-write", true)]
        );
        assert!(check(&h, &safe(), true).bugs().count() == 2);
    }

    /// a consumer read offsets 0..=3 from the old leader, the unclean leader's log ended
    /// at 2, and validation rewound the consumer there; it re-reads 2 and 3 with the new
    /// leader's values. Each rebound offset is one inconsistent-offsets finding, legal under
    /// the unclean election; re-reading an offset with the same value and the rewind itself are
    /// not anomalies, and the values it first read are not lost writes.
    #[test]
    fn a_rewind_after_truncation_rereads_rebound_offsets_as_inconsistent_offsets() {
        let h = vec![
            acked(1, 10, 0),
            acked(1, 11, 1),
            acked(1, 12, 2),
            acked(1, 13, 3),
            poll(&[(0, 10), (1, 11), (2, 12), (3, 13)]),
            acked(2, 14, 2),
            acked(2, 15, 3),
            poll(&[(2, 14), (3, 15)]),
            poll(&[(0, 10), (1, 11)]),
        ];
        let unclean = Policy {
            unclean_election: true,
            ..safe()
        };
        let r = check(&h, &unclean, true);
        assert_eq!(
            kinds(&r),
            vec![
                ("inconsistent-offsets", true),
                ("inconsistent-offsets", true)
            ]
        );
        assert_eq!(
            r.anomalies.iter().map(|a| a.offset).collect::<Vec<_>>(),
            vec![Some(Offset(2)), Some(Offset(3))]
        );
        assert_eq!((r.sends_acked, r.values_read), (6, 6));
        // Without the unclean election the same rebinding is a bug.
        assert_eq!(check(&h, &safe(), true).bugs().count(), 2);
    }

    #[test]
    fn duplicates_are_legal_only_for_retries_without_idempotence() {
        let h = vec![acked(1, 10, 0), poll(&[(0, 10), (1, 10)])];
        assert_eq!(kinds(&check(&h, &safe(), true)), vec![("duplicate", false)]);
        let p = Policy {
            retries_without_idempotence: true,
            ..safe()
        };
        assert_eq!(kinds(&check(&h, &p, true)), vec![("duplicate", true)]);
    }

    #[test]
    fn nonmonotonic_send_and_unseen() {
        let h = vec![acked(7, 1, 4), acked(7, 2, 3), poll(&[(3, 2)])];
        let r = check(&h, &safe(), true);
        assert_eq!(
            kinds(&r),
            vec![("nonmonotonic-send", false), ("unseen", false)]
        );
        // Without final reads, an acknowledged value not read yet is not judged.
        let r = check(&h, &safe(), false);
        assert_eq!(kinds(&r), vec![("nonmonotonic-send", false)]);
    }

    /// Send order is value order: an earlier send acknowledged after a later one (its first
    /// response was lost, the retry answered late) did not land out of order.
    #[test]
    fn nonmonotonic_send_follows_send_order_not_completion_order() {
        let h = vec![acked(7, 2, 5), acked(7, 1, 4), poll(&[(4, 1), (5, 2)])];
        assert!(check(&h, &safe(), true).anomalies.is_empty());
        let h = vec![acked(7, 1, 5), acked(7, 2, 4), poll(&[(4, 2), (5, 1)])];
        assert_eq!(
            kinds(&check(&h, &safe(), true)),
            vec![("nonmonotonic-send", false)]
        );
    }

    /// D19: a consumer reset past records retention deleted; those it never read are legal,
    /// a loss above the reset point is still a bug, and only for that partition.
    #[test]
    fn retention_excuses_only_unread_records_below_the_reset_point() {
        let h = vec![
            acked(1, 10, 0),
            acked(1, 11, 1),
            acked(1, 12, 2),
            acked(1, 13, 3),
            poll(&[(2, 12), (4, 14)]),
        ];
        assert_eq!(
            kinds(&check(&h, &safe(), true)),
            vec![
                ("lost-write", false),
                ("lost-write", false),
                ("lost-write", false)
            ]
        );
        let p = Policy {
            retention_deleted_unread: vec![(tp(), Offset(2))],
            ..safe()
        };
        let r = check(&h, &p, true);
        assert_eq!(
            kinds(&r),
            vec![
                ("lost-write", true),
                ("lost-write", true),
                ("lost-write", false)
            ]
        );
        assert!(r.anomalies[0]
            .legal_because
            .as_deref()
            .is_some_and(|w| w.contains("retention")));
        assert_eq!(r.anomalies[2].offset, Some(Offset(3)));
        let other = Policy {
            retention_deleted_unread: vec![(
                TopicPartition {
                    topic: "u".into(),
                    partition: PartitionIndex(0),
                },
                Offset(9),
            )],
            ..safe()
        };
        assert_eq!(check(&h, &other, true).bugs().count(), 3);
        // Never an excuse for a duplicate.
        let dup = vec![acked(1, 10, 0), poll(&[(0, 10), (1, 10)])];
        assert_eq!(kinds(&check(&dup, &p, true)), vec![("duplicate", false)]);
    }

    #[test]
    fn failed_and_unknown_sends_bind_nothing() {
        let h = vec![
            Op::Send {
                producer: 1,
                partition: tp(),
                value: ValueId(1),
                outcome: SendOutcome::Failed,
            },
            Op::Send {
                producer: 1,
                partition: tp(),
                value: ValueId(2),
                outcome: SendOutcome::Unknown,
            },
            poll(&[(0, 2)]),
        ];
        assert!(check(&h, &safe(), true).anomalies.is_empty());
    }

    #[test]
    fn anomalies_print_their_verdict() {
        let h = vec![acked(1, 10, 0), poll(&[(0, 10), (1, 10)])];
        let r = check(&h, &safe(), true);
        assert_eq!(
            r.anomalies[0].to_string(),
            "duplicate t-0 value 10 appears at offsets [0, 1] (BUG)"
        );
    }
}
