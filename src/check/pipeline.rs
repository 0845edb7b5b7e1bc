//! The end-to-end exactly-once check of a consume-transform-produce pipeline (T-9): every
//! input record below the group's committed offset has exactly one committed output, and no
//! committed output comes from an input the group has not committed past. Outputs name their
//! input's value, so a value the input log holds twice (a producer without idempotence
//! retried it) is owed two outputs.
//!
//! It reads the cluster's final state, not the clients' history: the input and output logs on
//! their current leaders (a record counts as committed when it is not transactional, or its
//! transaction's COMMIT marker is in the log below the high watermark) and the group's offsets
//! on its coordinator. While a transaction of the pipeline is still open on an output
//! partition or on the group's offsets partition, the two sides can legitimately disagree,
//! so the check is only conclusive once they have settled.

use super::history::Policy;
use crate::broker::messages::IsolationLevel;
use crate::ids::{Offset, PartitionIndex, TopicPartition};
use crate::log::control::ControlRecordType;
use crate::log::partition_log::PartitionLog;
use crate::sim::cluster::clients::pipeline_input;
use crate::sim::cluster::coordinator::OFFSETS_TOPIC;
use crate::sim::cluster::ClusterSim;
use crate::sim::history::ValueId;
use std::collections::{BTreeMap, BTreeSet};

/// One pipeline's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineReport {
    /// The producer index of the pipeline's output.
    pub producer: u32,
    pub group: String,
    pub input_topic: String,
    pub output_topic: String,
    /// Whether the application seeks back after an abort (off: drill D16).
    pub seek_back_on_abort: bool,
    /// False while a transaction is open on an output or offsets partition, or a partition
    /// or the group has no live leader or coordinator: the counts below are then not judged.
    pub settled: bool,
    /// Why it is not settled, in words.
    pub unsettled_because: Option<String>,
    /// Input records below the group's committed offsets.
    pub inputs_committed: u64,
    /// Committed output records.
    pub outputs_committed: u64,
    /// Inputs with more committed outputs than input records: (input, outputs).
    pub duplicated: Vec<(ValueId, u32)>,
    /// Inputs below the committed offset with no committed output: skipped.
    pub lost: Vec<(TopicPartition, Offset, ValueId)>,
    /// Committed outputs whose input is not below the committed offsets (the offsets and
    /// the outputs did not commit together).
    pub ahead: Vec<ValueId>,
    /// Why any disagreement is legal: an input, output or offsets partition may lose
    /// acknowledged records under this run's configuration and faults (T-9 assumes the logs
    /// keep what they acknowledged).
    pub loss_legal_because: Option<String>,
}

impl PipelineReport {
    fn not_judged(
        producer: u32,
        group: &str,
        input_topic: &str,
        output_topic: &str,
        seek_back_on_abort: bool,
        why: String,
    ) -> PipelineReport {
        PipelineReport {
            producer,
            group: group.to_string(),
            input_topic: input_topic.to_string(),
            output_topic: output_topic.to_string(),
            seek_back_on_abort,
            settled: false,
            unsettled_because: Some(why),
            inputs_committed: 0,
            outputs_committed: 0,
            duplicated: Vec::new(),
            lost: Vec::new(),
            ahead: Vec::new(),
            loss_legal_because: None,
        }
    }

    /// Lost inputs are the application's doing when it does not seek back (D16); duplicates
    /// and outputs ahead of the offsets are never legal.
    pub fn lost_legal_because(&self) -> Option<&str> {
        if let Some(why) = &self.loss_legal_because {
            return Some(why);
        }
        (!self.seek_back_on_abort).then_some(
            "the application does not seek back after an abort (T-9 (a)): the consumer's position is not rewound, so the aborted inputs are skipped",
        )
    }

    pub fn bugs(&self) -> u32 {
        if !self.settled || self.loss_legal_because.is_some() {
            return 0;
        }
        let lost = if self.lost_legal_because().is_some() {
            0
        } else {
            self.lost.len()
        };
        (self.duplicated.len() + self.ahead.len() + lost) as u32
    }

    /// The verdict in a few lines.
    pub fn lines(&self) -> Vec<String> {
        let head = format!(
            "pipeline {} -> {} (group {}, producer {})",
            self.input_topic, self.output_topic, self.group, self.producer
        );
        if !self.settled {
            return vec![format!(
                "{head}: not judged: {}",
                self.unsettled_because.as_deref().unwrap_or("not settled")
            )];
        }
        let mut out = vec![format!(
            "{head}: {} input(s) below the committed offsets, {} committed output(s): {}",
            self.inputs_committed,
            self.outputs_committed,
            if self.duplicated.is_empty() && self.ahead.is_empty() && self.lost.is_empty() {
                "exactly once".to_string()
            } else {
                format!(
                    "{} duplicated, {} lost, {} ahead of the offsets",
                    self.duplicated.len(),
                    self.lost.len(),
                    self.ahead.len()
                )
            }
        )];
        let verdict = self
            .loss_legal_because
            .as_ref()
            .map_or("BUG".to_string(), |w| format!("legal: {w}"));
        for (input, count) in self.duplicated.iter().take(5) {
            out.push(format!(
                "duplicated: input {} has {count} committed outputs ({verdict})",
                input.0
            ));
        }
        for (tp, offset, input) in self.lost.iter().take(5) {
            out.push(format!(
                "lost: input {} at {tp} offset {} is below the committed offset but has no committed output ({})",
                input.0,
                offset.0,
                self.lost_legal_because()
                    .map_or("BUG".to_string(), |w| format!("legal: {w}"))
            ));
        }
        for input in self.ahead.iter().take(5) {
            out.push(format!(
                "ahead: input {} has a committed output but the group's offset is not past it ({verdict})",
                input.0
            ));
        }
        out
    }
}

/// How a partition's data records stand: committed values by offset, and whether a
/// transaction is still open (data without its marker below the high watermark).
struct PartitionFates {
    committed: Vec<(Offset, ValueId)>,
    open: bool,
}

fn fates(log: &PartitionLog) -> PartitionFates {
    let (start, hw) = (log.log_start_offset(), log.high_watermark());
    let spans = log.batch_spans(start, hw);
    // Transactional batches per producer id, waiting for their marker.
    let mut waiting: BTreeMap<i64, Vec<(Offset, Offset)>> = BTreeMap::new();
    let mut aborted: BTreeSet<Offset> = BTreeSet::new();
    for span in &spans {
        match span.marker {
            Some(marker) => {
                for (first, last) in waiting.remove(&span.producer_id).unwrap_or_default() {
                    if marker == ControlRecordType::Abort {
                        let mut o = first;
                        while o <= last {
                            aborted.insert(o);
                            o = o.plus(1);
                        }
                    }
                }
            }
            None if span.is_transactional => waiting
                .entry(span.producer_id)
                .or_default()
                .push((span.base_offset, span.last_offset)),
            None => {}
        }
    }
    let open_offsets: BTreeSet<Offset> = waiting
        .values()
        .flatten()
        .flat_map(|(first, last)| (first.0..=last.0).map(Offset))
        .collect();
    let committed = log
        .read_records(start, hw, u32::MAX)
        .into_iter()
        .filter(|r| {
            !r.is_control && !aborted.contains(&r.offset) && !open_offsets.contains(&r.offset)
        })
        .filter_map(|r| {
            let text = std::str::from_utf8(r.value.as_deref()?).ok()?;
            Some((r.offset, ValueId(text.parse::<u64>().ok()?)))
        })
        .collect();
    PartitionFates {
        committed,
        open: !waiting.is_empty(),
    }
}

/// The log of `tp` on its live leader.
fn leader_log<'a>(sim: &'a ClusterSim, tp: &TopicPartition) -> Option<&'a PartitionLog> {
    sim.brokers()
        .iter()
        .filter(|b| b.alive)
        .filter_map(|b| b.replicas.get(tp))
        .find(|r| r.is_leader())
        .map(|r| r.log())
}

fn partition_count(sim: &ClusterSim, topic: &str) -> u32 {
    sim.scenario()
        .topics
        .iter()
        .find(|t| t.name == topic)
        .map_or(0, |t| t.partitions)
}

/// Why the pipeline's logs may lose acknowledged records in this run: an input producer
/// with acks below all, or a loss the policy excuses on an input, output or offsets partition.
fn loss_reason(
    sim: &ClusterSim,
    policy: &Policy,
    input_topic: &str,
    output_topic: &str,
    offsets: &TopicPartition,
) -> Option<String> {
    let scenario = sim.scenario();
    let producers = scenario
        .producers
        .iter()
        .enumerate()
        .filter(|(_, p)| p.topic == input_topic)
        .find_map(|(i, _)| policy.producer_loss_reason(i as u32));
    let partitions = [input_topic, output_topic]
        .iter()
        .flat_map(|topic| {
            (0..partition_count(sim, topic)).map(|p| TopicPartition {
                topic: topic.to_string(),
                partition: PartitionIndex(p),
            })
        })
        .chain(std::iter::once(offsets.clone()))
        .find_map(|tp| {
            policy
                .partition_loss_reason(&tp)
                .map(|w| format!("{tp}: {w}"))
        });
    producers.or(partitions)
}

/// Judges every pipeline of the run.
pub fn check_pipelines(sim: &ClusterSim, policy: &Policy) -> Vec<PipelineReport> {
    let scenario = sim.scenario();
    let mut reports = Vec::new();
    for (i, p) in scenario.producers.iter().enumerate() {
        let Some(c) = p.transactions.input_consumer else {
            continue;
        };
        let Some(consumer) = scenario.consumers.get(c as usize) else {
            continue;
        };
        let group = consumer.group_id.clone().unwrap_or_default();
        let fed_by_pipeline = scenario
            .producers
            .iter()
            .any(|q| q.transactions.input_consumer.is_some() && q.topic == consumer.topic);
        if fed_by_pipeline {
            reports.push(PipelineReport::not_judged(
                i as u32,
                &group,
                &consumer.topic,
                &p.topic,
                p.transactions.seek_back_on_abort,
                format!(
                    "its input topic {} is a pipeline's output: an output names only the first input of its chain, so inputs and outputs cannot be matched",
                    consumer.topic
                ),
            ));
            continue;
        }
        let mut report = check_one(
            sim,
            policy,
            i as u32,
            &group,
            &consumer.topic,
            &p.topic,
            p.transactions.seek_back_on_abort,
        );
        if consumer.isolation_level == IsolationLevel::ReadUncommitted {
            report.loss_legal_because.get_or_insert_with(|| {
                format!("the input consumer {c} reads at isolation.level=read_uncommitted: it transforms records of open and aborted transactions, and T-9 promises exactly once only at read_committed")
            });
        }
        reports.push(report);
    }
    reports
}

fn check_one(
    sim: &ClusterSim,
    policy: &Policy,
    producer: u32,
    group: &str,
    input_topic: &str,
    output_topic: &str,
    seek_back_on_abort: bool,
) -> PipelineReport {
    let mut report = PipelineReport::not_judged(
        producer,
        group,
        input_topic,
        output_topic,
        seek_back_on_abort,
        String::new(),
    );
    report.unsettled_because = None;
    let unsettled = |mut r: PipelineReport, why: String| {
        r.unsettled_because = Some(why);
        r
    };
    // The group's committed offsets, on the broker that coordinates it now.
    let Some(coordinator) = sim
        .brokers()
        .iter()
        .filter(|b| b.alive)
        .find(|b| b.coordinator.groups().contains_key(group))
    else {
        return unsettled(
            report,
            format!("no live coordinator has group {group} loaded"),
        );
    };
    let offsets_tp = TopicPartition {
        topic: OFFSETS_TOPIC.to_string(),
        partition: coordinator.coordinator.partition_for(group),
    };
    report.loss_legal_because = loss_reason(sim, policy, input_topic, output_topic, &offsets_tp);
    if coordinator
        .coordinator
        .pending_txn_offsets()
        .contains_key(group)
    {
        return unsettled(
            report,
            format!("a transaction's offsets for group {group} are still pending"),
        );
    }
    if leader_log(sim, &offsets_tp).is_some_and(|log| fates(log).open) {
        return unsettled(report, format!("a transaction is open on {offsets_tp}"));
    }
    let committed = coordinator
        .coordinator
        .groups()
        .get(group)
        .map(|g| g.offset_fetch(None))
        .unwrap_or_default();
    // The inputs below the committed offsets.
    let mut inputs: BTreeMap<ValueId, Vec<(TopicPartition, Offset)>> = BTreeMap::new();
    for p in 0..partition_count(sim, input_topic) {
        let tp = TopicPartition {
            topic: input_topic.to_string(),
            partition: PartitionIndex(p),
        };
        let Some(next) = committed.get(&tp).and_then(|o| o.as_ref()) else {
            continue;
        };
        let Some(log) = leader_log(sim, &tp) else {
            return unsettled(report, format!("{tp} has no live leader"));
        };
        for (offset, value) in fates(log).committed {
            if offset < next.committed_offset {
                inputs.entry(value).or_default().push((tp.clone(), offset));
            }
        }
    }
    // The committed outputs, by input.
    let mut outputs: BTreeMap<ValueId, u32> = BTreeMap::new();
    for p in 0..partition_count(sim, output_topic) {
        let tp = TopicPartition {
            topic: output_topic.to_string(),
            partition: PartitionIndex(p),
        };
        let Some(log) = leader_log(sim, &tp) else {
            return unsettled(report, format!("{tp} has no live leader"));
        };
        let f = fates(log);
        if f.open {
            return unsettled(report, format!("a transaction is open on {tp}"));
        }
        for (_, value) in f.committed {
            if let Some(input) = pipeline_input(value) {
                *outputs.entry(input).or_default() += 1;
                report.outputs_committed += 1;
            }
        }
    }
    report.settled = true;
    report.inputs_committed = inputs.values().map(|v| v.len() as u64).sum();
    for (input, records) in &inputs {
        let produced = outputs.get(input).copied().unwrap_or(0) as usize;
        // The records beyond the outputs they got are the lost ones (the last first).
        for (tp, offset) in records.iter().skip(produced) {
            report.lost.push((tp.clone(), *offset, *input));
        }
    }
    for (input, count) in &outputs {
        match inputs.get(input) {
            None => report.ahead.push(*input),
            Some(records) if *count as usize > records.len() => {
                report.duplicated.push((*input, *count));
            }
            Some(_) => {}
        }
    }
    report
}
