//! A Jepsen-style history checker for the queue workload (spec section 6, J-3 and J-4).
//!
//! Clients record what they did: sends (a unique value to a partition, and whether the broker
//! acknowledged it at an offset, definitely failed, or left it unknown) and polls (the
//! (offset, value) pairs a consumer received). From those alone the checker finds the anomalies
//! Jepsen names: `inconsistent-offsets` (one offset, several values), `duplicate` (one value at
//! several offsets), `nonmonotonic-send` (a producer's later send lands at an earlier offset),
//! `lost-write` (an acknowledged value never read although a later offset of its partition was
//! read) and `unseen` (acknowledged, never read by the end). Each anomaly is then judged against
//! what the run's configuration and faults make legal in Kafka (`Policy`), per producer and per
//! partition: an `acks=1` producer may lose its acknowledged writes, an unclean election may
//! rebind its partition's offsets, a producer retrying without idempotence may duplicate its
//! records; `acks=all` with `min.insync.replicas` >= 2 and only clean elections may not lose.

use crate::ids::{Offset, TopicPartition};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub use crate::sim::history::{Op, SendOutcome, TxnOutcome, ValueId};

/// The kinds of anomaly, with Jepsen's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AnomalyKind {
    InconsistentOffsets,
    Duplicate,
    NonmonotonicSend,
    LostWrite,
    Unseen,
    /// Aborted read: a value of an aborted transaction was polled.
    G1a,
    /// A write cycle: committed transactions whose writes are ordered one way in one
    /// partition and the other way in another (Elle's ww edges from offset order). Always
    /// legal in Kafka (J-4, T-9 b): transactions do not isolate writes.
    G0,
    /// Circular information flow: committed transactions each of which read (wr edges) or
    /// wrote after (ww edges) the next. With ww edges in the cycle it is legal (J-4: Kafka
    /// does not isolate writes); made of wr edges alone it needs an early read, legal only
    /// at read_uncommitted.
    G1c,
    /// A transaction read its own write before it ended (J-3): impossible at read_committed,
    /// where its own open transaction holds the LSO below the write.
    PrecommittedRead,
}

impl AnomalyKind {
    /// Every kind, in report order.
    pub const ALL: [AnomalyKind; 9] = [
        AnomalyKind::InconsistentOffsets,
        AnomalyKind::Duplicate,
        AnomalyKind::NonmonotonicSend,
        AnomalyKind::LostWrite,
        AnomalyKind::Unseen,
        AnomalyKind::G1a,
        AnomalyKind::G0,
        AnomalyKind::G1c,
        AnomalyKind::PrecommittedRead,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::InconsistentOffsets => "inconsistent-offsets",
            AnomalyKind::Duplicate => "duplicate",
            AnomalyKind::NonmonotonicSend => "nonmonotonic-send",
            AnomalyKind::LostWrite => "lost-write",
            AnomalyKind::Unseen => "unseen",
            AnomalyKind::G1a => "G1a",
            AnomalyKind::G0 => "G0",
            AnomalyKind::G1c => "G1c",
            AnomalyKind::PrecommittedRead => "precommitted-read",
        }
    }
}

/// What one producer's configuration makes legal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerPolicy {
    /// The producer's index, as its sends record it.
    pub producer: u32,
    /// Its `acks`: 0, 1 or -1 (all).
    pub acks: i8,
    /// It retries without `enable.idempotence`.
    pub retries_without_idempotence: bool,
    /// Why its transaction coordinator's `__transaction_state` partition may have lost
    /// acknowledged records (the reasons of `PartitionPolicy::loss_reason`), if it may: the
    /// coordinator then forgets partitions it added or a decision it took, so a transaction
    /// the producer saw commit can leave records that a later ABORT marker ends, and one it saw
    /// abort can be committed by the next COMMIT marker.
    #[serde(default)]
    pub transaction_state_loss: Option<String>,
}

/// What one partition's configuration and the run's faults make legal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionPolicy {
    pub partition: TopicPartition,
    /// The effective `min.insync.replicas` (at most the replication factor).
    pub min_insync_replicas: u32,
    /// An unclean leader election happened on this partition.
    pub unclean_election: bool,
    /// A broker lost its unsynced page cache while it was the partition's only in-sync
    /// replica: it may have held acknowledged records no electable replica had (with
    /// `min.insync.replicas=1` it acknowledged them alone; otherwise the ISR shrank after).
    #[serde(default)]
    pub sole_isr_power_loss: bool,
    /// Every other replica was down when one lost its unsynced page cache (R-8 #4).
    #[serde(default)]
    pub correlated_power_loss: bool,
    /// A replica lost its unsynced page cache while in the ISR, stayed in it while the others
    /// were fenced, and was elected leader again before it caught up: KIP-966's "last replica
    /// standing", which Kafka without eligible leader replicas does not survive.
    #[serde(default)]
    pub lossy_leader_elected: bool,
    /// An offset below which retention deleted records before a consumer read them (its
    /// OFFSET_OUT_OF_RANGE reset with `auto.offset.reset=earliest` jumped there). J-4 has no
    /// word on it; Kafka documents it as loss by design (D19): an acknowledged record below it
    /// that nobody read is not a bug. Records at or above it are judged as usual.
    #[serde(default)]
    pub retention_deleted_unread: Option<Offset>,
}

impl PartitionPolicy {
    /// The strictest judgement: nothing excuses anything.
    pub fn strict(partition: TopicPartition) -> PartitionPolicy {
        PartitionPolicy {
            partition,
            min_insync_replicas: 2,
            unclean_election: false,
            sole_isr_power_loss: false,
            correlated_power_loss: false,
            lossy_leader_elected: false,
            retention_deleted_unread: None,
        }
    }

    /// Why this partition may lose acknowledged acks=all records, whoever wrote them.
    pub fn loss_reason(&self) -> Option<String> {
        if self.unclean_election {
            Some("an unclean leader election elected a replica outside the ISR (R-9)".to_owned())
        } else if self.sole_isr_power_loss && self.min_insync_replicas < 2 {
            Some("acks=all with min.insync.replicas=1 let the ISR shrink to one broker, which then lost its unsynced page cache (R-8 #3)".to_owned())
        } else if self.sole_isr_power_loss {
            Some("the partition's only in-sync replica lost its unsynced page cache; Kafka does not fsync by default and the out-of-sync replicas cannot be elected cleanly (R-8 #4)".to_owned())
        } else if self.correlated_power_loss {
            Some("replicas failed together and one lost its unsynced page cache; Kafka does not fsync by default (R-8 #4)".to_owned())
        } else if self.lossy_leader_elected {
            Some("a replica lost its unsynced page cache while in the ISR, the controller fenced the other members first so the ISR shrank to it, and it was elected again with its shortened log: KIP-966's last replica standing, which eligible.leader.replicas.enable=false does not prevent (R-8 #4)".to_owned())
        } else {
            None
        }
    }
}

/// What the run's configuration and faults make legal (J-4 plus Kafka's documented losses),
/// per producer and per partition: one acks=1 producer excuses only its own losses, one
/// unclean election only its partition's. A producer or partition not listed is judged
/// strictly (acks=all, min.insync.replicas >= 2, no faults that excuse loss).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub producers: Vec<ProducerPolicy>,
    pub partitions: Vec<PartitionPolicy>,
    /// Producers with a `transactional.id`: their acknowledged values count as written only
    /// once their transaction committed (an aborted or undecided one's may stay unread).
    #[serde(default)]
    pub transactional_producers: Vec<u32>,
    /// Consumers with `isolation.level=read_committed`: an aborted value they poll is a bug
    /// (G1a); at read_uncommitted it is what the level promises (T-6).
    #[serde(default)]
    pub read_committed_consumers: Vec<u32>,
}

impl Policy {
    fn producer(&self, producer: u32) -> Option<&ProducerPolicy> {
        self.producers.iter().find(|p| p.producer == producer)
    }

    /// The partition's entry, or the strict one.
    pub fn partition(&self, partition: &TopicPartition) -> PartitionPolicy {
        self.partitions
            .iter()
            .find(|p| &p.partition == partition)
            .cloned()
            .unwrap_or_else(|| PartitionPolicy::strict(partition.clone()))
    }

    /// Why `partition` may lose acknowledged records whoever wrote them (an unclean election,
    /// a power loss the configuration does not survive), if it may.
    pub fn partition_loss_reason(&self, partition: &TopicPartition) -> Option<String> {
        self.partition(partition).loss_reason()
    }

    /// Why `producer`'s own acknowledged records may be lost (acks below all), if they may.
    pub fn producer_loss_reason(&self, producer: u32) -> Option<String> {
        self.acks_reason(producer)
    }

    fn acks_reason(&self, producer: u32) -> Option<String> {
        self.producer(producer).filter(|p| p.acks >= 0).map(|p| {
            format!(
                "producer {producer} used acks={}, which acknowledges before replication, so a leader failure can lose acknowledged records (R-8 #1, #2)",
                p.acks
            )
        })
    }

    /// Why losing `producer`'s acknowledged record at `offset` of `partition` is legal.
    pub fn loss_legal_because(
        &self,
        producer: u32,
        partition: &TopicPartition,
        offset: Offset,
    ) -> Option<String> {
        let p = self.partition(partition);
        if let Some(below) = p.retention_deleted_unread.filter(|below| offset < *below) {
            return Some(format!(
                "retention (retention.bytes/retention.ms) deleted it before a consumer read it; the consumer's OFFSET_OUT_OF_RANGE reset (auto.offset.reset=earliest) skipped to offset {}: loss by design (D19)",
                below.0
            ));
        }
        self.acks_reason(producer)
            .or_else(|| p.loss_reason())
            .or_else(|| self.transaction_state_reason(producer))
    }

    /// Why `producer`'s transactions may not have ended as it was told, if they may: its
    /// coordinator's state partition lost records.
    fn transaction_state_reason(&self, producer: u32) -> Option<String> {
        let why = self.producer(producer)?.transaction_state_loss.as_ref()?;
        Some(format!(
            "producer {producer}'s transaction coordinator lost transaction state records ({why}), so it ended a transaction without partitions it had added (their records hang until a later marker of the producer ends them) or forgot how one ended"
        ))
    }

    /// Why a read_committed consumer reading a record of an aborted transaction is legal: the
    /// partition lost records, its ABORT marker possibly among them (WriteTxnMarkers appends a
    /// marker like any record), and then the producer's next COMMIT marker also committed the
    /// aborted records still open in the log (`ProducerStateManager` keeps one ongoing
    /// transaction per producer id, from its first offset); or the coordinator forgot the abort.
    pub fn aborted_read_legal_because(
        &self,
        producer: Option<u32>,
        partition: &TopicPartition,
    ) -> Option<String> {
        self.partition(partition)
            .loss_reason()
            .map(|why| format!("the partition may have lost the transaction's ABORT marker, so the producer's next COMMIT marker committed its records: {why}"))
            .or_else(|| producer.and_then(|p| self.transaction_state_reason(p)))
    }

    /// Why one offset holding several values is legal: some acknowledged holder of it could
    /// legally be lost (its offset then went to a later record).
    pub fn rebinding_legal_because(
        &self,
        partition: &TopicPartition,
        acked_by: &BTreeSet<u32>,
    ) -> Option<String> {
        let p = self.partition(partition);
        if p.unclean_election {
            return Some("an unclean leader election reused offsets (R-9)".to_owned());
        }
        acked_by
            .iter()
            .find_map(|producer| self.acks_reason(*producer))
            .or_else(|| p.loss_reason())
            .map(|why| {
                format!("a truncated leader's offsets were reassigned after failover: {why}")
            })
    }

    /// Why a value at several offsets of `partition` is legal: its producer retried without
    /// idempotence, or the partition lost records in a way that also loses the leader's
    /// producer state, so an idempotent retry of a committed but unanswered batch is accepted
    /// as new (a leader without state for a producer takes any sequence).
    pub fn duplicate_legal_because(
        &self,
        producer: Option<u32>,
        partition: &TopicPartition,
    ) -> Option<String> {
        producer
            .and_then(|p| self.producer(p))
            .filter(|p| p.retries_without_idempotence)
            .map(|p| format!(
                "producer {} retried without enable.idempotence, so a retry after a lost response writes the record again",
                p.producer
            ))
            .or_else(|| {
                self.partition(partition).loss_reason().map(|why| {
                    format!("the leader lost the producer's state with its records, so a retry was taken as new: {why}")
                })
            })
    }

    /// Why a producer's later send landing below an earlier one is legal.
    pub fn reorder_legal_because(
        &self,
        producer: u32,
        partition: &TopicPartition,
    ) -> Option<String> {
        if self
            .producer(producer)
            .is_some_and(|p| p.retries_without_idempotence)
        {
            return Some(format!(
                "producer {producer} retried without enable.idempotence, which can reorder its batches"
            ));
        }
        // Once its acknowledged records can be lost, a failover hands their offsets to later
        // sends: a later send lands below an earlier one.
        self.acks_reason(producer)
            .or_else(|| self.partition(partition).loss_reason())
            .map(|why| format!("acknowledged records were lost and their offsets reused: {why}"))
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
    /// Sends that failed before any attempt could have been appended (for example every
    /// attempt refused with NOT_ENOUGH_REPLICAS): never in the log.
    #[serde(default)]
    pub sends_failed: u64,
    /// Sends with an unknown outcome (Jepsen's `:info`): a TimeoutException or a failure after
    /// an attempt the leader may have appended (REQUEST_TIMED_OUT, a lost connection), or
    /// still in flight. Each may or may not be in the log.
    #[serde(default)]
    pub sends_indeterminate: u64,
    /// Of those, the ones some poll returned: written after all, though the producer was never
    /// told so.
    #[serde(default)]
    pub sends_indeterminate_read: u64,
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
    // Values are unique per send; a completed send names its value's producer (a value read
    // whose send never completed has none here and is judged strictly).
    let mut producer_of: BTreeMap<ValueId, u32> = BTreeMap::new();
    // How each transactional value's transaction ended, and who read which aborted value.
    let mut txn_outcome: BTreeMap<ValueId, TxnOutcome> = BTreeMap::new();
    for op in history {
        if let Op::Txn {
            values, outcome, ..
        } = op
        {
            for v in values {
                txn_outcome.insert(*v, *outcome);
            }
        }
    }
    let mut aborted_reads: Vec<(u32, TopicPartition, Offset, ValueId)> = Vec::new();
    let mut indeterminate: Vec<(TopicPartition, ValueId)> = Vec::new();
    for op in history {
        if let Op::Send {
            producer, value, ..
        } = op
        {
            producer_of.insert(*value, *producer);
        }
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
            Op::Send {
                outcome: SendOutcome::Failed,
                ..
            } => report.sends_failed += 1,
            Op::Send {
                partition,
                value,
                outcome: SendOutcome::Unknown,
                ..
            } => {
                report.sends_indeterminate += 1;
                indeterminate.push((partition.clone(), *value));
            }
            Op::Poll {
                consumer,
                partition,
                records,
            } => {
                let f = facts.entry(partition.clone()).or_default();
                for (offset, value) in records {
                    if txn_outcome.get(value) == Some(&TxnOutcome::Aborted) {
                        aborted_reads.push((*consumer, partition.clone(), *offset, *value));
                    }
                    f.values_at.entry(*offset).or_default().insert(*value);
                    f.offsets_of.entry(*value).or_default().insert(*offset);
                    if f.read.insert(*value) {
                        report.values_read += 1;
                    }
                    f.read_offset_max = f.read_offset_max.max(Some(*offset));
                }
            }
            Op::Assigned { .. }
            | Op::Joined { .. }
            | Op::Revoked { .. }
            | Op::OffsetCommitted { .. }
            | Op::PositionReset { .. }
            | Op::Txn { .. } => {}
        }
    }
    // A poll may come before or after the send's completion: judged once all are in.
    report.sends_indeterminate_read = indeterminate
        .iter()
        .filter(|(tp, value)| facts.get(tp).is_some_and(|f| f.read.contains(value)))
        .count() as u64;
    let mut push = |kind: AnomalyKind,
                    partition: &TopicPartition,
                    offset: Option<Offset>,
                    value: Option<ValueId>,
                    detail: String,
                    legal_because: Option<String>| {
        report.anomalies.push(Anomaly {
            kind,
            partition: partition.clone(),
            offset,
            value,
            detail,
            legal_because,
        });
    };
    for (consumer, tp, offset, value) in &aborted_reads {
        let legal = (!policy.read_committed_consumers.contains(consumer))
            .then(|| {
                format!("consumer {consumer} reads at isolation.level=read_uncommitted, which returns aborted transactions' records (T-6)")
            })
            .or_else(|| policy.aborted_read_legal_because(producer_of.get(value).copied(), tp));
        push(
            AnomalyKind::G1a,
            tp,
            Some(*offset),
            Some(*value),
            format!(
                "consumer {consumer} read value {} at offset {}, from a transaction that aborted",
                value.0, offset.0
            ),
            legal,
        );
    }
    // A transactional producer's value is owed to readers only once its transaction
    // committed: an aborted one's never is, an undecided one's may or may not be.
    let owed = |value: &ValueId| {
        let transactional = producer_of
            .get(value)
            .is_some_and(|p| policy.transactional_producers.contains(p));
        !transactional || txn_outcome.get(value) == Some(&TxnOutcome::Committed)
    };
    for (tp, f) in &facts {
        for (offset, values) in &f.values_at {
            if values.len() > 1 {
                let list: Vec<String> = values.iter().map(|v| v.0.to_string()).collect();
                let acked_by: BTreeSet<u32> = values
                    .iter()
                    .filter(|v| f.acked.contains_key(v))
                    .filter_map(|v| producer_of.get(v).copied())
                    .collect();
                push(
                    AnomalyKind::InconsistentOffsets,
                    tp,
                    Some(*offset),
                    None,
                    format!("offset {} holds values [{}]", offset.0, list.join(", ")),
                    policy.rebinding_legal_because(tp, &acked_by),
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
                    policy.duplicate_legal_because(producer_of.get(value).copied(), tp),
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
                        policy.reorder_legal_because(*producer, tp),
                    );
                }
            }
        }
        for (value, offset) in &f.acked {
            if f.read.contains(value) || !owed(value) {
                continue;
            }
            let legal = || {
                let producer = producer_of.get(value).copied().unwrap_or(u32::MAX);
                policy.loss_legal_because(producer, tp, *offset)
            };
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
                    legal(),
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
                    legal(),
                );
            }
        }
    }
    let graph = TxnGraph::new(history, &facts);
    for cycle in graph.write_cycles() {
        push(
            AnomalyKind::G0,
            &cycle.partition,
            None,
            None,
            cycle.detail,
            Some("Kafka does not isolate the writes of concurrent transactions: write cycles (G0) are normal; only each transaction's all-or-nothing visibility is promised (T-9 b, J-4)".to_owned()),
        );
    }
    let read_uncommitted =
        |consumer: Option<u32>| consumer.filter(|c| !policy.read_committed_consumers.contains(c));
    for cycle in graph.read_cycles() {
        let legal = if cycle.reads_only {
            cycle
                .readers
                .iter()
                .find_map(|c| read_uncommitted(*c))
                .map(|c| format!("consumer {c} reads at isolation.level=read_uncommitted, so a transaction may read another's records before that one commits; such early reads make the cycle (legal at read_uncommitted, J-4)"))
        } else {
            Some("the cycle passes through write order (ww edges from offsets), which Kafka does not isolate: with inferred write-write edges G1c is allowed (J-4)".to_owned())
        };
        push(
            AnomalyKind::G1c,
            &cycle.partition,
            None,
            None,
            cycle.detail,
            legal,
        );
    }
    for read in graph.own_reads(history) {
        let legal = read_uncommitted(read.consumer).map(|c| {
            format!("consumer {c} reads at isolation.level=read_uncommitted, which returns records of open transactions, its own producer's included (T-6)")
        });
        let place = facts
            .iter()
            .find_map(|(tp, f)| Some((tp, *f.offsets_of.get(&read.value)?.first()?)));
        let (tp, offset) = match place {
            Some((tp, offset)) => (tp.clone(), Some(offset)),
            None => (graph_fallback_partition(&facts), None),
        };
        push(
            AnomalyKind::PrecommittedRead,
            &tp,
            offset,
            Some(read.value),
            format!(
                "the transaction of {:?} (producer {}) read value {}, its own write, before it ended",
                read.transactional_id, read.producer, read.value.0
            ),
            legal,
        );
    }
    report
}

/// A dependency cycle among committed transactions, described.
struct Cycle {
    partition: TopicPartition,
    detail: String,
    /// G1c: made of write-read edges alone, and the input consumers of its readers.
    reads_only: bool,
    readers: Vec<Option<u32>>,
}

/// A transaction that read its own write.
struct OwnRead {
    producer: u32,
    transactional_id: String,
    consumer: Option<u32>,
    value: ValueId,
}

fn graph_fallback_partition(facts: &BTreeMap<TopicPartition, PartitionFacts>) -> TopicPartition {
    facts
        .keys()
        .next()
        .cloned()
        .unwrap_or_else(|| TopicPartition {
            topic: String::new(),
            partition: crate::ids::PartitionIndex(0),
        })
}

/// Elle's dependency graph over the committed transactions: a ww edge runs from each to the
/// next other transaction written after it in a partition (offset order), a wr edge from the
/// writer of a value to each transaction that read it.
struct TxnGraph {
    producers: Vec<u32>,
    readers: Vec<Option<u32>>,
    ww: BTreeMap<usize, BTreeSet<usize>>,
    wr: BTreeMap<usize, BTreeSet<usize>>,
    /// The partition an edge was first found in.
    edge_partition: BTreeMap<(usize, usize), TopicPartition>,
    fallback: TopicPartition,
}

impl TxnGraph {
    fn new(history: &[Op], facts: &BTreeMap<TopicPartition, PartitionFacts>) -> TxnGraph {
        let mut txn_of: BTreeMap<ValueId, usize> = BTreeMap::new();
        let mut producers = Vec::new();
        let mut readers = Vec::new();
        let mut reads: Vec<&[ValueId]> = Vec::new();
        for op in history {
            if let Op::Txn {
                producer,
                values,
                outcome: TxnOutcome::Committed,
                reads: r,
                input_consumer,
                ..
            } = op
            {
                for v in values {
                    txn_of.insert(*v, producers.len());
                }
                producers.push(*producer);
                readers.push(*input_consumer);
                reads.push(r);
            }
        }
        let mut graph = TxnGraph {
            producers,
            readers,
            ww: BTreeMap::new(),
            wr: BTreeMap::new(),
            edge_partition: BTreeMap::new(),
            fallback: graph_fallback_partition(facts),
        };
        if graph.producers.len() < 2 {
            return graph;
        }
        let mut value_partition: BTreeMap<ValueId, &TopicPartition> = BTreeMap::new();
        for (tp, f) in facts {
            let mut writes: Vec<(Offset, usize)> = f
                .offsets_of
                .iter()
                .filter_map(|(v, offsets)| {
                    value_partition.entry(*v).or_insert(tp);
                    Some((*offsets.first()?, *txn_of.get(v)?))
                })
                .collect();
            writes.sort();
            for pair in writes.windows(2) {
                let (a, b) = (pair[0].1, pair[1].1);
                if a != b && graph.ww.entry(a).or_default().insert(b) {
                    graph
                        .edge_partition
                        .entry((a, b))
                        .or_insert_with(|| tp.clone());
                }
            }
        }
        for (reader, values) in reads.iter().enumerate() {
            for v in values.iter() {
                let Some(&writer) = txn_of.get(v) else {
                    continue;
                };
                if writer != reader && graph.wr.entry(writer).or_default().insert(reader) {
                    if let Some(tp) = value_partition.get(v) {
                        graph
                            .edge_partition
                            .entry((writer, reader))
                            .or_insert_with(|| (*tp).clone());
                    }
                }
            }
        }
        graph
    }

    fn cycles(&self, edges: &BTreeMap<usize, BTreeSet<usize>>) -> Vec<Vec<usize>> {
        strongly_connected(self.producers.len(), edges)
            .into_iter()
            .filter(|c| c.len() > 1)
            .collect()
    }

    /// The partitions the edges of `edges` inside `members` were found in, and the first.
    fn describe(
        &self,
        members: &[usize],
        edges: &[&BTreeMap<usize, BTreeSet<usize>>],
    ) -> (TopicPartition, String, String) {
        let inside: BTreeSet<usize> = members.iter().copied().collect();
        let mut partitions: BTreeSet<String> = BTreeSet::new();
        let mut first: Option<TopicPartition> = None;
        for graph in edges {
            for (a, bs) in graph.iter() {
                for b in bs {
                    if inside.contains(a) && inside.contains(b) {
                        if let Some(tp) = self.edge_partition.get(&(*a, *b)) {
                            partitions.insert(tp.to_string());
                            first.get_or_insert_with(|| tp.clone());
                        }
                    }
                }
            }
        }
        let who: BTreeSet<u32> = members.iter().map(|t| self.producers[*t]).collect();
        let who: Vec<String> = who.iter().map(|p| p.to_string()).collect();
        (
            first.unwrap_or_else(|| self.fallback.clone()),
            who.join(", "),
            partitions.into_iter().collect::<Vec<_>>().join(", "),
        )
    }

    /// G0: cycles of ww edges alone.
    fn write_cycles(&self) -> Vec<Cycle> {
        self.cycles(&self.ww)
            .into_iter()
            .map(|members| {
                let (partition, who, partitions) = self.describe(&members, &[&self.ww]);
                Cycle {
                    partition,
                    detail: format!(
                        "{} committed transactions of producer(s) {who} wrote in a cycle: their order differs between partitions {partitions}",
                        members.len()
                    ),
                    reads_only: false,
                    readers: Vec::new(),
                }
            })
            .collect()
    }

    /// G1c: cycles through at least one wr edge. A cycle of wr edges alone is reported as
    /// such; otherwise one strongly connected component of ww and wr edges that holds a wr
    /// edge is one finding.
    fn read_cycles(&self) -> Vec<Cycle> {
        let mut out = Vec::new();
        let mut covered: BTreeSet<usize> = BTreeSet::new();
        for members in self.cycles(&self.wr) {
            let (partition, who, partitions) = self.describe(&members, &[&self.wr]);
            covered.extend(members.iter().copied());
            out.push(Cycle {
                partition,
                detail: format!(
                    "{} committed transactions of producer(s) {who} each read a record another of them wrote, in a cycle (write-read edges only, through {partitions})",
                    members.len()
                ),
                reads_only: true,
                readers: members.iter().map(|t| self.readers[*t]).collect(),
            });
        }
        let mut both = self.ww.clone();
        for (a, bs) in &self.wr {
            both.entry(*a).or_default().extend(bs.iter().copied());
        }
        for members in self.cycles(&both) {
            let inside: BTreeSet<usize> = members.iter().copied().collect();
            let has_read = self
                .wr
                .iter()
                .any(|(a, bs)| inside.contains(a) && bs.iter().any(|b| inside.contains(b)));
            if !has_read || members.iter().all(|m| covered.contains(m)) {
                continue;
            }
            let (partition, who, partitions) = self.describe(&members, &[&self.ww, &self.wr]);
            out.push(Cycle {
                partition,
                detail: format!(
                    "{} committed transactions of producer(s) {who} form a cycle of reads and write order (through {partitions})",
                    members.len()
                ),
                reads_only: false,
                readers: members.iter().map(|t| self.readers[*t]).collect(),
            });
        }
        out
    }

    /// Transactions (however they ended) that read a value they wrote themselves.
    fn own_reads(&self, history: &[Op]) -> Vec<OwnRead> {
        let mut out = Vec::new();
        for op in history {
            if let Op::Txn {
                producer,
                transactional_id,
                values,
                reads,
                input_consumer,
                ..
            } = op
            {
                if reads.is_empty() {
                    continue;
                }
                let own: BTreeSet<&ValueId> = values.iter().collect();
                for v in reads.iter().filter(|v| own.contains(v)) {
                    out.push(OwnRead {
                        producer: *producer,
                        transactional_id: transactional_id.clone(),
                        consumer: *input_consumer,
                        value: *v,
                    });
                }
            }
        }
        out
    }
}

/// The strongly connected components of a graph of `n` nodes (Kosaraju, iterative: the
/// graphs are long histories, too deep for recursion).
fn strongly_connected(n: usize, edges: &BTreeMap<usize, BTreeSet<usize>>) -> Vec<Vec<usize>> {
    let mut reverse: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (a, bs) in edges {
        for b in bs {
            reverse.entry(*b).or_default().push(*a);
        }
    }
    // First pass: nodes by finishing time.
    let mut seen = vec![false; n];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for start in 0..n {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack: Vec<(usize, Vec<usize>)> = vec![(
            start,
            edges
                .get(&start)
                .map_or_else(Vec::new, |s| s.iter().copied().collect()),
        )];
        while let Some((node, next)) = stack.last_mut() {
            match next.pop() {
                Some(m) if !seen[m] => {
                    seen[m] = true;
                    let out = edges
                        .get(&m)
                        .map_or_else(Vec::new, |s| s.iter().copied().collect());
                    stack.push((m, out));
                }
                Some(_) => {}
                None => {
                    order.push(*node);
                    stack.pop();
                }
            }
        }
    }
    // Second pass, on the reversed graph in reverse finishing order.
    let mut component = vec![usize::MAX; n];
    let mut out: Vec<Vec<usize>> = Vec::new();
    for &start in order.iter().rev() {
        if component[start] != usize::MAX {
            continue;
        }
        let id = out.len();
        let mut members = Vec::new();
        let mut stack = vec![start];
        component[start] = id;
        while let Some(node) = stack.pop() {
            members.push(node);
            for &m in reverse.get(&node).into_iter().flatten() {
                if component[m] == usize::MAX {
                    component[m] = id;
                    stack.push(m);
                }
            }
        }
        members.sort_unstable();
        out.push(members);
    }
    out
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
        acked_at(producer, 0, value, offset)
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

    /// Nothing listed: every producer and partition is judged strictly.
    fn safe() -> Policy {
        Policy::default()
    }

    fn producer(producer: u32, acks: i8, retries_without_idempotence: bool) -> ProducerPolicy {
        ProducerPolicy {
            producer,
            acks,
            retries_without_idempotence,
            transaction_state_loss: None,
        }
    }

    fn with_partition(p: PartitionPolicy) -> Policy {
        Policy {
            partitions: vec![p],
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

    fn txn(producer: u32, values: &[u64], outcome: TxnOutcome) -> Op {
        Op::Txn {
            producer,
            transactional_id: "app".into(),
            producer_id: crate::ids::ProducerId(7),
            producer_epoch: crate::ids::ProducerEpoch(0),
            values: values.iter().map(|v| ValueId(*v)).collect(),
            outcome,
            reads: Vec::new(),
            input_consumer: None,
        }
    }

    /// A pipeline's transaction: it wrote `values` and read `reads` through `consumer`.
    fn reading_txn(
        producer: u32,
        values: &[u64],
        reads: &[u64],
        consumer: u32,
        outcome: TxnOutcome,
    ) -> Op {
        let Op::Txn {
            producer,
            transactional_id,
            producer_id,
            producer_epoch,
            values,
            outcome,
            ..
        } = txn(producer, values, outcome)
        else {
            unreachable!("txn builds an Op::Txn")
        };
        Op::Txn {
            producer,
            transactional_id,
            producer_id,
            producer_epoch,
            values,
            outcome,
            reads: reads.iter().map(|v| ValueId(*v)).collect(),
            input_consumer: Some(consumer),
        }
    }

    fn acked_at(producer: u32, partition: u32, value: u64, offset: i64) -> Op {
        Op::Send {
            producer,
            partition: TopicPartition {
                topic: "t".into(),
                partition: PartitionIndex(partition),
            },
            value: ValueId(value),
            outcome: SendOutcome::Acked(Offset(offset)),
        }
    }

    /// J-4, T-9 (b), D18: two producers' committed transactions written in one order in t-0
    /// and the other in t-1 form a G0 write cycle, which Kafka allows; the same writes in one
    /// order everywhere, or an aborted transaction, form none.
    #[test]
    fn a_write_cycle_between_concurrent_transactions_is_g0_and_legal() {
        let cycle = vec![
            acked(0, 1, 0),
            acked_at(0, 1, 2, 1),
            acked(1, 3, 1),
            acked_at(1, 1, 4, 0),
            txn(0, &[1, 2], TxnOutcome::Committed),
            txn(1, &[3, 4], TxnOutcome::Committed),
        ];
        let report = check(&cycle, &safe(), false);
        let g0: Vec<_> = report
            .anomalies
            .iter()
            .filter(|a| a.kind == AnomalyKind::G0)
            .collect();
        assert_eq!(g0.len(), 1, "{:?}", report.anomalies);
        assert!(g0[0].legal_because.is_some());
        assert!(g0[0].detail.contains("t-0, t-1"), "{}", g0[0].detail);
        assert_eq!(report.bugs().count(), 0);

        let ordered = vec![
            acked(0, 1, 0),
            acked_at(0, 1, 2, 0),
            acked(1, 3, 1),
            acked_at(1, 1, 4, 1),
            txn(0, &[1, 2], TxnOutcome::Committed),
            txn(1, &[3, 4], TxnOutcome::Committed),
        ];
        assert_eq!(check(&ordered, &safe(), false).count(AnomalyKind::G0), 0);
        let mut aborted = cycle.clone();
        aborted[5] = txn(1, &[3, 4], TxnOutcome::Aborted);
        assert_eq!(check(&aborted, &safe(), false).count(AnomalyKind::G0), 0);
    }

    /// J-4: two committed transactions that each read the other's write form a G1c of
    /// write-read edges alone, possible only with an early read: a bug when both readers are
    /// at read_committed, legal when one reads uncommitted. Reads in one direction form none.
    #[test]
    fn a_cycle_of_reads_is_g1c_a_bug_at_read_committed_only() {
        let h = vec![
            acked_at(0, 0, 1, 0),
            acked_at(1, 1, 2, 0),
            reading_txn(0, &[1], &[2], 5, TxnOutcome::Committed),
            reading_txn(1, &[2], &[1], 6, TxnOutcome::Committed),
        ];
        let rc = Policy {
            read_committed_consumers: vec![5, 6],
            ..Policy::default()
        };
        let report = check(&h, &rc, false);
        assert_eq!(kinds(&report), vec![("G1c", false)]);
        assert!(report.anomalies[0].detail.contains("write-read edges only"));
        let one_ru = Policy {
            read_committed_consumers: vec![5],
            ..Policy::default()
        };
        let report = check(&h, &one_ru, false);
        assert_eq!(kinds(&report), vec![("G1c", true)]);
        assert!(report.anomalies[0]
            .legal_because
            .as_deref()
            .is_some_and(|w| w.contains("consumer 6 reads at isolation.level=read_uncommitted")));
        let mut one_way = h.clone();
        one_way[3] = reading_txn(1, &[2], &[], 6, TxnOutcome::Committed);
        assert!(check(&one_way, &rc, false).anomalies.is_empty());
        let mut aborted = h.clone();
        aborted[3] = reading_txn(1, &[2], &[1], 6, TxnOutcome::Aborted);
        assert_eq!(check(&aborted, &rc, false).count(AnomalyKind::G1c), 0);
    }

    /// J-4: a cycle that needs write order (a ww edge from offsets) is G1c with inferred
    /// write-write edges, which Kafka allows.
    #[test]
    fn a_cycle_through_write_order_is_legal_g1c() {
        // Transaction 0 wrote offset 0 and transaction 1 offset 1 of t-0 (ww 0 -> 1);
        // transaction 0 read transaction 1's value (wr 1 -> 0).
        let h = vec![
            acked(0, 1, 0),
            acked(1, 2, 1),
            reading_txn(0, &[1], &[2], 5, TxnOutcome::Committed),
            reading_txn(1, &[2], &[], 6, TxnOutcome::Committed),
        ];
        let rc = Policy {
            read_committed_consumers: vec![5, 6],
            ..Policy::default()
        };
        let report = check(&h, &rc, false);
        assert_eq!(kinds(&report), vec![("G1c", true)]);
        assert!(report.anomalies[0].detail.contains("write order"));
    }

    /// J-3: a transaction that reads its own write read it before it ended: a bug at
    /// read_committed, what read_uncommitted returns.
    #[test]
    fn reading_ones_own_write_is_a_precommitted_read() {
        let h = vec![
            acked(0, 1, 0),
            acked(0, 2, 1),
            reading_txn(0, &[1, 2], &[1], 5, TxnOutcome::Committed),
        ];
        let rc = Policy {
            read_committed_consumers: vec![5],
            ..Policy::default()
        };
        let report = check(&h, &rc, false);
        assert_eq!(kinds(&report), vec![("precommitted-read", false)]);
        assert_eq!(report.anomalies[0].offset, Some(Offset(0)));
        let report = check(&h, &Policy::default(), false);
        assert_eq!(kinds(&report), vec![("precommitted-read", true)]);
        let other = vec![
            acked(0, 1, 0),
            acked(0, 2, 1),
            reading_txn(0, &[2], &[1], 5, TxnOutcome::Committed),
        ];
        assert!(check(&other, &rc, false).anomalies.is_empty());
    }

    /// T-6 and J-4: reading an aborted transaction's value is a bug at read_committed and
    /// what read_uncommitted promises; an aborted value nobody read is not a loss.
    #[test]
    fn an_aborted_read_is_a_bug_only_at_read_committed() {
        let h = vec![
            acked(1, 10, 0),
            acked(1, 11, 1),
            txn(1, &[10], TxnOutcome::Aborted),
            txn(1, &[11], TxnOutcome::Committed),
            poll(&[(0, 10), (1, 11)]),
        ];
        let mut policy = Policy {
            transactional_producers: vec![1],
            ..Policy::default()
        };
        let ru = check(&h, &policy, true);
        assert_eq!(kinds(&ru), vec![("G1a", true)]);
        policy.read_committed_consumers = vec![0];
        let rc = check(&h, &policy, true);
        assert_eq!(kinds(&rc), vec![("G1a", false)]);
        let unread = vec![
            acked(1, 10, 0),
            acked(1, 11, 2),
            txn(1, &[10], TxnOutcome::Aborted),
            txn(1, &[11], TxnOutcome::Committed),
            poll(&[(2, 11)]),
        ];
        let r = check(&unread, &policy, true);
        assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
    }

    /// Seed 2597: the only broker lost its page cache, the ABORT marker of a transaction with
    /// it, and the producer's next COMMIT marker committed the aborted records still open in
    /// the log: a read_committed consumer read one. Legal only where the partition (or the
    /// producer's transaction state) can lose records.
    #[test]
    fn an_aborted_read_is_legal_where_the_abort_marker_can_be_lost() {
        let h = vec![
            acked(1, 10, 0),
            txn(1, &[10], TxnOutcome::Aborted),
            poll(&[(0, 10)]),
        ];
        let strict = Policy {
            transactional_producers: vec![1],
            read_committed_consumers: vec![0],
            ..Policy::default()
        };
        assert_eq!(kinds(&check(&h, &strict, true)), vec![("G1a", false)]);
        let lossy = Policy {
            partitions: vec![PartitionPolicy {
                sole_isr_power_loss: true,
                min_insync_replicas: 1,
                ..PartitionPolicy::strict(tp())
            }],
            ..strict.clone()
        };
        let r = check(&h, &lossy, true);
        assert_eq!(kinds(&r), vec![("G1a", true)]);
        assert!(r.anomalies[0]
            .legal_because
            .as_deref()
            .is_some_and(|w| w.contains("ABORT marker")));
        let coordinator_lost = Policy {
            producers: vec![ProducerPolicy {
                transaction_state_loss: Some("__transaction_state-0: power loss".into()),
                ..producer(1, -1, false)
            }],
            ..strict
        };
        assert_eq!(
            kinds(&check(&h, &coordinator_lost, true)),
            vec![("G1a", true)]
        );
    }

    /// Seed 3289: the coordinator's `__transaction_state` partition lost the record that added
    /// a partition to the open transaction, so its EndTxn(commit) wrote no marker there and a
    /// later ABORT marker ended those records: a value the producer saw commit was never read.
    #[test]
    fn a_committed_value_lost_is_legal_when_the_coordinator_lost_state() {
        let h = vec![
            acked(1, 10, 0),
            acked(2, 20, 1),
            txn(1, &[10], TxnOutcome::Committed),
            poll(&[(1, 20)]),
        ];
        let strict = Policy {
            transactional_producers: vec![1],
            producers: vec![producer(1, -1, false)],
            ..Policy::default()
        };
        assert_eq!(
            kinds(&check(&h, &strict, true)),
            vec![("lost-write", false)]
        );
        let lost = Policy {
            producers: vec![ProducerPolicy {
                transaction_state_loss: Some("__transaction_state-0: power loss".into()),
                ..producer(1, -1, false)
            }],
            ..strict
        };
        let r = check(&h, &lost, true);
        assert_eq!(kinds(&r), vec![("lost-write", true)]);
        assert!(r.anomalies[0]
            .legal_because
            .as_deref()
            .is_some_and(|w| w.contains("transaction coordinator lost")));
    }

    /// Seeds 3344, 3639, 5065, 5385: the last replica standing (KIP-966) excuses loss.
    #[test]
    fn a_lossy_leader_election_excuses_acknowledged_loss() {
        let p = PartitionPolicy {
            lossy_leader_elected: true,
            ..PartitionPolicy::strict(tp())
        };
        assert!(p.loss_reason().is_some_and(|w| w.contains("KIP-966")));
        assert!(PartitionPolicy::strict(tp()).loss_reason().is_none());
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
            producers: vec![producer(1, 1, false)],
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
        let p = with_partition(PartitionPolicy {
            unclean_election: true,
            ..PartitionPolicy::strict(tp())
        });
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
        let unclean = with_partition(PartitionPolicy {
            unclean_election: true,
            ..PartitionPolicy::strict(tp())
        });
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
            producers: vec![producer(1, -1, true)],
            ..Policy::default()
        };
        assert_eq!(kinds(&check(&h, &p, true)), vec![("duplicate", true)]);
        // Another producer's retries excuse nothing of producer 1's.
        let other = Policy {
            producers: vec![producer(2, -1, true)],
            ..Policy::default()
        };
        assert_eq!(kinds(&check(&h, &other, true)), vec![("duplicate", false)]);
        // An unclean election loses the leader's producer state too: an idempotent retry of
        // a committed, unanswered batch is taken as new.
        let unclean = with_partition(PartitionPolicy {
            unclean_election: true,
            ..PartitionPolicy::strict(tp())
        });
        assert_eq!(kinds(&check(&h, &unclean, true)), vec![("duplicate", true)]);
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
        let p = with_partition(PartitionPolicy {
            retention_deleted_unread: Some(Offset(2)),
            ..PartitionPolicy::strict(tp())
        });
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
        let other = with_partition(PartitionPolicy {
            retention_deleted_unread: Some(Offset(9)),
            ..PartitionPolicy::strict(TopicPartition {
                topic: "u".into(),
                partition: PartitionIndex(0),
            })
        });
        assert_eq!(check(&h, &other, true).bugs().count(), 3);
        // Never an excuse for a duplicate.
        let dup = vec![acked(1, 10, 0), poll(&[(0, 10), (1, 10)])];
        assert_eq!(kinds(&check(&dup, &p, true)), vec![("duplicate", false)]);
    }

    /// One acks=1 producer excuses its own losses, not an acks=all producer's on the same
    /// partition; min.insync.replicas=1 excuses loss only after the sole ISR member lost power.
    #[test]
    fn excuses_belong_to_their_producer_and_partition() {
        let h = vec![
            acked(1, 10, 0),
            acked(2, 20, 1),
            poll(&[(0, 30), (1, 31), (2, 32)]),
        ];
        let mixed = Policy {
            producers: vec![producer(1, 1, false), producer(2, -1, false)],
            ..Policy::default()
        };
        let r = check(&h, &mixed, true);
        let lost: Vec<(Option<ValueId>, bool)> = r
            .anomalies
            .iter()
            .filter(|a| a.kind == AnomalyKind::LostWrite)
            .map(|a| (a.value, a.legal_because.is_some()))
            .collect();
        assert_eq!(
            lost,
            vec![(Some(ValueId(10)), true), (Some(ValueId(20)), false)]
        );
        let min_isr_1 = PartitionPolicy {
            min_insync_replicas: 1,
            ..PartitionPolicy::strict(tp())
        };
        let no_power_loss = Policy {
            producers: vec![producer(2, -1, false)],
            partitions: vec![min_isr_1.clone()],
            ..Policy::default()
        };
        // min.insync.replicas=1 alone excuses nothing.
        assert!(check(&h, &no_power_loss, true).bugs().count() >= 2);
        let power_loss = Policy {
            producers: vec![producer(1, -1, false), producer(2, -1, false)],
            partitions: vec![PartitionPolicy {
                sole_isr_power_loss: true,
                ..min_isr_1
            }],
            ..Policy::default()
        };
        let r = check(&h, &power_loss, true);
        assert!(r.bugs().next().is_none(), "{:?}", r.anomalies);
        assert!(r.anomalies[0]
            .legal_because
            .as_deref()
            .is_some_and(|w| w.contains("min.insync.replicas=1")));
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
