//! Judging a cluster run: the history checker under the policy the scenario's configuration
//! and the run's faults imply, the invariant violations the world recorded, and the drill's
//! expected outcome. Lives with the checkers, outside the engine.

use super::groups::{check_groups, GroupReport};
use super::history::{check, AnomalyKind, CheckReport, PartitionPolicy, Policy, ProducerPolicy};
use super::pipeline::{check_pipelines, PipelineReport};
use crate::broker::messages::IsolationLevel;
use crate::client::producer::Acks;
use crate::client::transactions::{transaction_coordinator_partition, TRANSACTION_STATE_TOPIC};
use crate::ids::{PartitionIndex, TopicPartition};
use crate::sim::cluster::scenario::ClusterScenario;
use crate::sim::cluster::{ClusterSim, Violation};
use crate::time::SimTime;
use std::collections::BTreeMap;

/// How long before the end of a run the producers must have stopped for the consumers' reads
/// to count as complete.
pub const FINAL_READS_MS: u64 = 5_000;

/// Whether a run of `scenario` that ends at `end` gives its consumers time to read everything:
/// every producer stops (`stop_ms`, or a `stop_producers` step) at least `FINAL_READS_MS`
/// before the end, and no consumer is left paused.
pub fn final_reads_complete(scenario: &ClusterScenario, end: SimTime) -> bool {
    use crate::sim::cluster::scenario::Action;
    let end_ms = end.as_millis().max(0) as u64;
    let deadline = end_ms.saturating_sub(FINAL_READS_MS);
    let stop_step = scenario
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::StopProducers))
        .map(|s| s.at_ms)
        .min();
    let producers_stop = scenario.producers.iter().all(|p| {
        p.stop_ms.is_some_and(|stop| stop <= deadline)
            || stop_step.is_some_and(|stop| stop <= deadline)
    });
    let last_pause = scenario
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::PauseConsumers))
        .map(|s| s.at_ms)
        .max();
    let last_resume = scenario
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::ResumeConsumers))
        .map(|s| s.at_ms)
        .max();
    let consumers_run = match (last_pause, last_resume) {
        (Some(p), Some(r)) => r >= p && r <= deadline,
        (Some(_), None) => false,
        _ => true,
    };
    producers_stop && consumers_run
}

/// Everything a drill run is judged on.
#[derive(Clone, Debug)]
pub struct DrillReport {
    pub policy: Policy,
    pub check: CheckReport,
    pub violations: Vec<Violation>,
    /// The consumer group checks: double ownership, committed offsets lost, rereads.
    pub groups: GroupReport,
    /// The exactly-once checks of the consume-transform-produce pipelines.
    pub pipelines: Vec<PipelineReport>,
    /// Unmet expectations of the scenario, in words; empty when all were met.
    pub unmet: Vec<String>,
}

impl DrillReport {
    /// A bug: an invariant broke, or an anomaly the configuration does not excuse.
    pub fn has_bug(&self) -> bool {
        !self.violations.is_empty()
            || self.check.bugs().next().is_some()
            || self.groups.bugs() > 0
            || self.pipeline_bugs() > 0
    }

    pub fn pipeline_bugs(&self) -> u32 {
        self.pipelines.iter().map(PipelineReport::bugs).sum()
    }
}

/// What the scenario's configuration and the run's faults make legal (J-4), per producer and
/// per partition.
pub fn policy_for(sim: &ClusterSim) -> Policy {
    let scenario = sim.scenario();
    let producers = scenario
        .producers
        .iter()
        .enumerate()
        .map(|(i, p)| ProducerPolicy {
            producer: i as u32,
            acks: match p.config.acks {
                Acks::None => 0,
                Acks::Leader => 1,
                Acks::All => -1,
            },
            retries_without_idempotence: !p.config.idempotence_enabled() && p.config.retries > 0,
            transaction_state_loss: p
                .config
                .transactional_id
                .as_deref()
                .and_then(|id| transaction_state_loss(sim, id)),
        })
        .collect();
    let broker_min_isr = scenario.broker.replica.min_insync_replicas;
    let retention_resets = sim.retention_resets();
    let mut partitions = Vec::new();
    for topic in &scenario.topics {
        let min_isr = topic
            .config
            .get("min.insync.replicas")
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(broker_min_isr)
            .min(u32::from(topic.replication_factor));
        for p in 0..topic.partitions {
            let tp = TopicPartition {
                topic: topic.name.clone(),
                partition: PartitionIndex(p),
            };
            let mut policy = partition_faults(sim, tp, min_isr);
            policy.retention_deleted_unread = retention_resets
                .iter()
                .find(|(t, _)| *t == policy.partition)
                .map(|(_, o)| *o);
            partitions.push(policy);
        }
    }
    let transactional_producers = scenario
        .producers
        .iter()
        .enumerate()
        .filter(|(_, p)| p.config.transactional_id.is_some())
        .map(|(i, _)| i as u32)
        .collect();
    let read_committed_consumers = sim
        .consumers()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.spec().isolation_level == IsolationLevel::ReadCommitted)
        .map(|(i, _)| i as u32)
        .collect();
    Policy {
        producers,
        partitions,
        transactional_producers,
        read_committed_consumers,
    }
}

/// The groups whose acknowledged offset commits this run's faults could legally lose, and
/// why: the `__consumer_offsets` partition holding the group (`GroupCoordinator.partitionFor`)
/// suffered a fault that loses acknowledged records (`PartitionPolicy::loss_reason`). Offset
/// commits are appended with acks=all like any record and Kafka does not fsync them
/// (`flush.messages`), so they are as durable as the ISR, no more.
pub fn offsets_losable(sim: &ClusterSim) -> BTreeMap<String, String> {
    use crate::broker::group::placement::coordinator_partition;
    let broker = &sim.scenario().broker;
    let replication_factor =
        u32::from(broker.offsets_topic_replication_factor).min(sim.scenario().brokers);
    let min_isr = broker.replica.min_insync_replicas.min(replication_factor);
    let mut out = BTreeMap::new();
    for c in sim.consumers() {
        let Some(group) = c.spec().group_id.clone() else {
            continue;
        };
        let Ok(partition) = coordinator_partition(&group, broker.offsets_topic_num_partitions)
        else {
            continue;
        };
        let tp = TopicPartition {
            topic: crate::sim::cluster::coordinator::OFFSETS_TOPIC.into(),
            partition,
        };
        if let Some(why) = partition_faults(sim, tp.clone(), min_isr).loss_reason() {
            out.insert(
                group,
                format!(
                    "the group's acknowledged offset commits could be lost with {tp}'s records: {why}; Kafka acknowledges an offset commit once the ISR has it in page cache, not on disk"
                ),
            );
        }
    }
    out
}

/// What the run's faults did to one partition (retention aside).
fn partition_faults(sim: &ClusterSim, tp: TopicPartition, min_isr: u32) -> PartitionPolicy {
    PartitionPolicy {
        min_insync_replicas: min_isr,
        unclean_election: sim.unclean_elections().contains(&tp),
        sole_isr_power_loss: sim.sole_isr_power_losses().contains(&tp),
        correlated_power_loss: sim.correlated_power_losses().contains(&tp),
        lossy_leader_elected: sim.lossy_leader_elections().contains(&tp),
        retention_deleted_unread: None,
        partition: tp,
    }
}

/// Why the `__transaction_state` partition that coordinates `transactional_id`
/// (`TransactionStateManager.partitionFor`) may have lost acknowledged records, if it may.
/// Its records are written like any acks=all write of the internal topic, so the same
/// faults that lose a data partition's records lose them.
fn transaction_state_loss(sim: &ClusterSim, transactional_id: &str) -> Option<String> {
    let broker = &sim.scenario().broker;
    let partition = transaction_coordinator_partition(
        transactional_id,
        broker.transaction_state_log_num_partitions,
    )
    .ok()?;
    let replication_factor =
        u32::from(broker.transaction_state_log_replication_factor).min(sim.scenario().brokers);
    let min_isr = u32::from(broker.transaction_state_log_min_isr).min(replication_factor);
    let tp = TopicPartition {
        topic: TRANSACTION_STATE_TOPIC.to_owned(),
        partition,
    };
    let why = partition_faults(sim, tp.clone(), min_isr).loss_reason()?;
    Some(format!("{tp}: {why}"))
}

fn kind_named(name: &str) -> Option<AnomalyKind> {
    AnomalyKind::ALL.into_iter().find(|k| k.name() == name)
}

/// Judges a finished run. `final_reads_complete` is true when the scenario stopped its
/// producers early enough for consumers to read everything (then `unseen` is judged).
pub fn judge(sim: &ClusterSim, final_reads_complete: bool) -> DrillReport {
    let policy = policy_for(sim);
    let report = check(sim.history(), &policy, final_reads_complete);
    let expect = &sim.scenario().expect;
    let mut unmet = Vec::new();
    let groups = check_groups(sim.history(), &offsets_losable(sim));
    let pipelines = check_pipelines(sim, &policy);
    let pipeline_bugs: u32 = pipelines.iter().map(PipelineReport::bugs).sum();
    let bugs = report.bugs().count() as u32
        + sim.violations().len() as u32
        + groups.bugs()
        + pipeline_bugs;
    if let Some(want) = expect.bugs {
        if bugs != want {
            unmet.push(format!("expected {want} bug(s), found {bugs}"));
        }
    }
    if let Some(at_least) = expect.bugs_at_least {
        if bugs < at_least {
            unmet.push(format!("expected at least {at_least} bug(s), found {bugs}"));
        }
    }
    for (name, at_least) in &expect.anomalies_at_least {
        match kind_named(name) {
            Some(kind) if report.count(kind) >= *at_least => {}
            Some(kind) => unmet.push(format!(
                "expected at least {at_least} {name}, found {}",
                report.count(kind)
            )),
            None => unmet.push(format!("unknown anomaly name {name:?}")),
        }
    }
    for (name, at_most) in &expect.anomalies_at_most {
        match kind_named(name) {
            Some(kind) if report.count(kind) <= *at_most => {}
            Some(kind) => unmet.push(format!(
                "expected at most {at_most} {name}, found {}",
                report.count(kind)
            )),
            None => unmet.push(format!("unknown anomaly name {name:?}")),
        }
    }
    if let Some(at_least) = expect.acked_at_least {
        if report.sends_acked < at_least {
            unmet.push(format!(
                "expected at least {at_least} acknowledged records, found {}",
                report.sends_acked
            ));
        }
    }
    let errors = sim.producer_errors();
    for (name, at_least) in &expect.producer_errors_at_least {
        let seen = errors.get(name.as_str()).copied().unwrap_or(0);
        if seen < *at_least {
            unmet.push(format!(
                "expected {name} at least {at_least} time(s) at the producers, seen {seen}"
            ));
        }
    }
    if let Some(at_least) = expect.log_truncations_at_least {
        let found = sim.log_truncations().len() as u32;
        if found < at_least {
            unmet.push(format!(
                "expected at least {at_least} consumer log truncation(s) detected, found {found}"
            ));
        }
    }
    let group_stats = sim.group_stats();
    if let Some(at_least) = expect.commit_failures_at_least {
        if group_stats.commit_failures < at_least {
            unmet.push(format!(
                "expected at least {at_least} failed offset commit(s) (CommitFailedException), found {}",
                group_stats.commit_failures
            ));
        }
    }
    if let Some(at_least) = expect.reprocessed_at_least {
        if groups.reprocessed < at_least {
            unmet.push(format!(
                "expected at least {at_least} record(s) read twice within a group, found {}",
                groups.reprocessed
            ));
        }
    }
    if let Some(at_most) = expect.reprocessed_at_most {
        if groups.reprocessed > at_most {
            unmet.push(format!(
                "expected at most {at_most} record(s) read twice within a group, found {}",
                groups.reprocessed
            ));
        }
    }
    if let Some(at_least) = expect.generation_at_least {
        if group_stats.max_generation < at_least {
            unmet.push(format!(
                "expected a group to reach generation {at_least}, the highest was {}",
                group_stats.max_generation
            ));
        }
    }
    for (name, at_least) in &expect.consumer_errors_at_least {
        let seen = group_stats.errors.get(name.as_str()).copied().unwrap_or(0);
        if seen < *at_least {
            unmet.push(format!(
                "expected {name} at least {at_least} time(s) at the consumers, seen {seen}"
            ));
        }
    }
    for (name, at_least) in &expect.members_removed_at_least {
        let seen = group_stats
            .removals
            .get(name.as_str())
            .copied()
            .unwrap_or(0);
        if seen < *at_least {
            unmet.push(format!(
                "expected at least {at_least} member(s) removed for {name}, seen {seen}"
            ));
        }
    }
    if expect.pipeline_settled == Some(true) {
        for p in pipelines.iter().filter(|p| !p.settled) {
            unmet.push(format!(
                "expected the pipeline's exactly-once check to be conclusive: {}",
                p.unsettled_because.as_deref().unwrap_or("not settled")
            ));
        }
    }
    let lost: u32 = pipelines.iter().map(|p| p.lost.len() as u32).sum();
    if let Some(at_least) = expect.pipeline_lost_at_least {
        if lost < at_least {
            unmet.push(format!(
                "expected at least {at_least} pipeline input(s) skipped, found {lost}"
            ));
        }
    }
    if let Some(at_most) = expect.pipeline_lost_at_most {
        if lost > at_most {
            unmet.push(format!(
                "expected at most {at_most} pipeline input(s) skipped, found {lost}"
            ));
        }
    }
    if let Some(at_least) = expect.pipeline_outputs_at_least {
        let outputs: u64 = pipelines.iter().map(|p| p.outputs_committed).sum();
        if outputs < at_least {
            unmet.push(format!(
                "expected at least {at_least} committed pipeline output(s), found {outputs}"
            ));
        }
    }
    let hanging = sim.hanging_transactions().len() as u32;
    if let Some(at_least) = expect.hanging_transactions_at_least {
        if hanging < at_least {
            unmet.push(format!(
                "expected at least {at_least} hanging transaction(s), found {hanging}"
            ));
        }
    }
    if let Some(at_most) = expect.hanging_transactions_at_most {
        if hanging > at_most {
            unmet.push(format!(
                "expected at most {at_most} hanging transaction(s), found {hanging}"
            ));
        }
    }
    if let Some(at_least) = expect.verification_refusals_at_least {
        let refused = sim.verification_refusals();
        if refused < at_least {
            unmet.push(format!(
                "expected partition verification to refuse at least {at_least} batch(es), it refused {refused}"
            ));
        }
    }
    DrillReport {
        policy,
        check: report,
        violations: sim.violations().to_vec(),
        groups,
        pipelines,
        unmet,
    }
}

/// A swarm seed's verdict: the drill report plus whether the healed cluster made progress.
#[derive(Clone, Debug)]
pub struct SwarmVerdict {
    pub report: DrillReport,
    /// Acknowledged sends and values read after the liveness phase began.
    pub acked_after_heal: u64,
    pub read_after_heal: u64,
}

impl SwarmVerdict {
    /// The healed cluster must acknowledge new records and a consumer must read some.
    pub fn liveness_ok(&self) -> bool {
        self.acked_after_heal > 0 && self.read_after_heal > 0
    }

    pub fn failed(&self) -> bool {
        self.report.has_bug() || !self.liveness_ok()
    }
}

/// Judges a finished swarm run whose liveness phase began at `heal_at`.
pub fn judge_swarm(sim: &ClusterSim, heal_at: crate::time::SimTime) -> SwarmVerdict {
    use crate::sim::history::{Op, SendOutcome};
    let report = judge(sim, true);
    let (mut acked, mut read) = (0, 0);
    for (op, at) in sim.history().iter().zip(sim.history_times()) {
        if *at < heal_at {
            continue;
        }
        match op {
            Op::Send {
                outcome: SendOutcome::Acked(_),
                ..
            } => acked += 1,
            Op::Poll { records, .. } => read += records.len() as u64,
            _ => {}
        }
    }
    SwarmVerdict {
        report,
        acked_after_heal: acked,
        read_after_heal: read,
    }
}
