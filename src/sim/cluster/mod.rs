//! The replicated cluster scenario: a controller, brokers with replicated partitions, producer
//! and consumer clients, a seeded network and per-broker disks, and timed faults, all driven by
//! one scheduler from one seed. Every actor is a sans-IO state machine; this world routes their
//! messages through `sim::network`, fires their timers, applies scenario steps, writes one
//! trace line per notable event, checks the global invariants after every event, and records
//! the clients' history for the Jepsen-style checker.
//!
//! Process faults live here too: a crash resets every connection to and from the broker (what
//! was in flight on them is discarded, never handed to a later incarnation); a paused broker
//! (SIGSTOP) runs nothing while what is sent to it waits in order, as in its sockets' buffers;
//! a broker whose request handler waits on its disk (a flush in the append path, a slow disk)
//! sends nothing until the disk answers.

pub mod broker_node;
pub mod clients;
pub mod coordinator;
mod describe;
pub mod group_describe;
pub mod messages;
pub mod scenario;
pub mod swarm;
#[cfg(test)]
mod tests;
pub mod txn_coordinator;
pub mod view;

use crate::client::producer::Producer;
use crate::controller::{
    AlterPartitionRequest as ControllerAlterPartition, BrokerHeartbeatRequest,
    BrokerRegistrationRequest, Controller, ControllerConfig, CreateTopic, IncarnationId, IsrMember,
    MetadataRecord, MetadataUpdate,
};
use crate::ids::{
    BrokerId, LeaderEpoch, NodeId, Offset, PartitionIndex, ProducerId, TopicPartition,
};
use crate::prng::Prng;
use crate::protocol::ErrorCode;
use crate::sim::error::SimError;
use crate::sim::history::Op;
use crate::sim::network::{Arrival, Delivery, Network};
use crate::sim::scheduler::Scheduler;
use crate::sim::trace::{Trace, TraceLine};
use crate::time::{SimDuration, SimTime};
use broker_node::{BrokerNode, BrokerTimings, Outbox, CONTROLLER_NODE};
use clients::{ConsumerClient, ProducerClient};
use messages::Msg;
use scenario::{Action, ClusterScenario, CONSUMER_NODE_BASE, PRODUCER_NODE_BASE};
use std::collections::{BTreeMap, BTreeSet};

// Node ids: the controller is 0, brokers 1..=n, producers from 1000, consumers from 2000.
const TRACE_RECENT_MAX: u32 = 400;
/// The metadata log is compacted when it reaches this many records; afterwards the threshold is
/// twice what compaction left, never lower than before.
const METADATA_LOG_COMPACT_AT: usize = 4096;

/// A scheduled event. Deliveries are boxed: messages are large and the queue moves entries.
#[derive(Clone)]
enum Event {
    Deliver(Box<Delivery<Msg>>),
    Wake(NodeId),
    Step(u32),
    /// A message a broker sent while its request handler waited on its disk: it leaves now,
    /// unless that incarnation of the broker is gone.
    Outbound {
        broker: usize,
        incarnation: u64,
        to: NodeId,
        msg: Box<Msg>,
    },
}

/// A stopped (SIGSTOP) broker: what reached it waits in order, as in its sockets' buffers, and
/// what its blocked handler was about to send waits too.
#[derive(Clone, Default)]
struct Paused {
    inbox: Vec<(NodeId, Msg)>,
    outbox: Vec<(NodeId, Msg)>,
}

/// A violated global invariant: the step and what broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub step: u64,
    pub time: SimTime,
    pub invariant: &'static str,
    pub detail: String,
}

#[derive(Clone)]
pub struct ClusterSim {
    scenario: ClusterScenario,
    seed: u64,
    scheduler: Scheduler<Event>,
    network: Network,
    controller: Controller,
    controller_prng: Prng,
    /// The metadata log as brokers replay it, compacted to the newest record per key.
    metadata_log: Vec<MetadataUpdate>,
    /// Compact the metadata log when it holds this many records.
    metadata_compact_at: usize,
    brokers: Vec<BrokerNode>,
    producers: Vec<ProducerClient>,
    consumers: Vec<ConsumerClient>,
    wake_at: BTreeMap<NodeId, SimTime>,
    /// `DelayNextProduce` rules not used yet: (from, to or any, delay).
    delayed_produce: Vec<(NodeId, Option<NodeId>, SimDuration)>,
    /// `DelayNextEndTxn` rules not used yet.
    delayed_end_txn: Vec<HeldEndTxn>,
    /// Held EndTxn copies that arrive only in the middle of a later transaction of their
    /// producer id (`mid_transaction`), by (from, to, sequence): the id and the latest time
    /// they wait until.
    held_for_mid_transaction: BTreeMap<(NodeId, NodeId, u64), (String, ProducerId, SimTime)>,
    trace: Trace,
    step_lines: Vec<TraceLine>,
    steps: u64,
    history: Vec<Op>,
    /// When each history entry was recorded (same length as `history`).
    history_times: Vec<SimTime>,
    violations: Vec<Violation>,
    /// Per partition and ISR member: where INV-2 stopped (see `Inv2Mark`).
    inv2_checked: Inv2Checked,
    /// INV-2's rounds so far: a mark not renewed in the last round is dropped.
    inv2_round: u64,
    /// Partitions that had an unclean leader election.
    unclean_elections: BTreeSet<TopicPartition>,
    power_losses: BTreeSet<BrokerId>,
    /// Partitions whose only in-sync replica lost its unsynced page cache.
    sole_isr_power_losses: BTreeSet<TopicPartition>,
    /// Partitions whose every other replica was down when one lost its page cache.
    correlated_power_losses: BTreeSet<TopicPartition>,
    /// ISR members that lost their unsynced page cache and have not left the ISR since: their
    /// logs may lack records the ISR committed until they leave it and catch up to rejoin.
    lossy_isr_members: BTreeSet<(TopicPartition, BrokerId)>,
    /// Partitions that elected such a member leader (KIP-966's last replica standing).
    lossy_leader_elections: BTreeSet<TopicPartition>,
    incarnations: u64,
    /// Brokers stopped with SIGSTOP, by index.
    paused: BTreeMap<usize, Paused>,
    /// Per broker index: until when its request handler waits on its disk.
    busy_until: Vec<SimTime>,
    /// What the group coordinators did over the run (they forget on a crash; this does not).
    group_tally: GroupTally,
}

/// A `delay_next_end_txn` rule not used yet.
#[derive(Clone, Debug)]
struct HeldEndTxn {
    from: NodeId,
    delay: SimDuration,
    committed: Option<bool>,
    mid_transaction: bool,
}

/// How long past its delay a `mid_transaction` copy waits at most for a later transaction,
/// in milliseconds.
const MID_TRANSACTION_WAIT_MAX_MS: u64 = 60_000;

/// Where INV-2 stopped for one ISR member of one partition: under which leader and leader
/// epoch, up to which offset, and in which round.
#[derive(Clone, Copy, Debug)]
struct Inv2Mark {
    leader: BrokerId,
    epoch: LeaderEpoch,
    upto: Offset,
    round: u64,
}

type Inv2Checked = BTreeMap<TopicPartition, BTreeMap<BrokerId, Inv2Mark>>;

/// Counts of what the group coordinators did, for drills and summaries.
#[derive(Clone, Debug, Default)]
pub struct GroupTally {
    /// Members removed, by Kafka's reason (`LeaveGroup`, `session.timeout.ms`, ...).
    pub removals: BTreeMap<String, u32>,
    /// The highest generation any group reached.
    pub max_generation: i32,
}

impl GroupTally {
    fn record(&mut self, event: &crate::broker::group::GroupEvent) {
        use crate::broker::group::{GroupEvent, RemovalReason};
        match event {
            GroupEvent::StateChanged { generation_id, .. } => {
                self.max_generation = self.max_generation.max(*generation_id);
            }
            GroupEvent::MemberRemoved { reason, .. } => {
                let name = match reason {
                    RemovalReason::LeaveGroup => "LeaveGroup",
                    RemovalReason::SessionTimeout => "session.timeout.ms",
                    RemovalReason::RebalanceTimeout => "max.poll.interval.ms",
                    RemovalReason::SyncTimeout => "SyncGroup timeout",
                };
                *self.removals.entry(name.to_string()).or_insert(0) += 1;
            }
            _ => {}
        }
    }
}

/// The consumer groups' outcome over a run: coordinator tallies and what members saw.
#[derive(Clone, Debug, Default)]
pub struct GroupStats {
    pub removals: BTreeMap<String, u32>,
    pub max_generation: i32,
    pub commit_failures: u32,
    /// Group errors the consumers got, by Kafka's name.
    pub errors: BTreeMap<String, u32>,
}

impl ClusterSim {
    pub fn new(scenario: ClusterScenario, seed: u64) -> Result<ClusterSim, SimError> {
        scenario.validate().map_err(SimError::Config)?;
        let root = Prng::new(seed);
        let network = Network::new(scenario.network.clone(), root.fork("network"))
            .map_err(|e| SimError::Config(e.to_string()))?;
        let controller_config = ControllerConfig {
            broker_session_timeout: SimDuration::from_millis(
                scenario.broker.broker_session_timeout_ms,
            ),
            broker_heartbeat_interval: SimDuration::from_millis(
                scenario.broker.broker_heartbeat_interval_ms,
            ),
            unclean_leader_election_enable: scenario.broker.unclean_leader_election_enable,
            auto_leader_rebalance_enable: scenario.broker.auto_leader_rebalance_enable,
            leader_imbalance_check_interval: SimDuration::from_millis(
                scenario.broker.leader_imbalance_check_interval_seconds * 1_000,
            ),
            min_insync_replicas: u16::try_from(scenario.broker.replica.min_insync_replicas)
                .unwrap_or(u16::MAX),
            ..ControllerConfig::default()
        };
        let controller = Controller::new(controller_config, SimTime::ZERO);
        let timings = BrokerTimings {
            heartbeat_interval: SimDuration::from_millis(
                scenario.broker.broker_heartbeat_interval_ms,
            ),
            fetch_wait_max: SimDuration::from_millis(scenario.broker.replica_fetch_wait_max_ms),
            writeback_interval: SimDuration::from_millis(scenario.broker.os_writeback_interval_ms),
            retention_check_interval: SimDuration::from_millis(
                scenario.broker.log_retention_check_interval_ms,
            ),
            replica: scenario.broker.replica.clone(),
            flush: scenario.broker.flush,
            message_timestamp_after_max_ms: scenario.broker.message_timestamp_after_max_ms,
            message_timestamp_before_max_ms: scenario.broker.message_timestamp_before_max_ms,
            coordinator: coordinator::CoordinatorSettings {
                num_partitions: scenario.broker.offsets_topic_num_partitions,
                group: crate::broker::group::GroupConfig {
                    group_initial_rebalance_delay_ms: scenario
                        .broker
                        .group_initial_rebalance_delay_ms,
                    group_min_session_timeout_ms: scenario.broker.group_min_session_timeout_ms,
                    group_max_session_timeout_ms: scenario.broker.group_max_session_timeout_ms,
                    offsets_retention_minutes: scenario.broker.offsets_retention_minutes,
                },
                offsets_commit_timeout_ms: scenario.broker.offsets_commit_timeout_ms,
            },
            txn_coordinator: txn_coordinator::TxnCoordinatorSettings {
                num_partitions: scenario.broker.transaction_state_log_num_partitions,
                config: crate::broker::txn::TxnConfig {
                    transaction_max_timeout_ms: scenario.broker.transaction_max_timeout_ms,
                    transaction_version: scenario.broker.transaction_version,
                },
                abort_check_interval_ms: scenario
                    .broker
                    .transaction_abort_timed_out_transaction_cleanup_interval_ms,
                request_timeout_ms: scenario.broker.request_timeout_ms,
                offsets_num_partitions: scenario.broker.offsets_topic_num_partitions,
                partition_verification: scenario.broker.transaction_partition_verification_enable,
            },
        };
        let brokers = (1..=scenario.brokers)
            .map(|b| {
                BrokerNode::new(
                    BrokerId(b),
                    timings.clone(),
                    root.fork(&format!("disk-{b}")),
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SimError::Config(format!("{e:?}")))?;
        let mut producers = Vec::new();
        for (i, spec) in scenario.producers.iter().enumerate() {
            let i = i as u32;
            let mut producer =
                Producer::new(spec.config.clone(), root.fork(&format!("producer-{i}")))
                    .map_err(|e| SimError::Config(format!("producer {i}: {e}")))?;
            if producer.wants_producer_id() && !producer.is_transactional() {
                // InitProducerId is not simulated yet: each idempotent producer gets a unique
                // id at epoch 0, as the controller's producer-id blocks would hand out.
                producer.set_producer_id(
                    crate::ids::ProducerId(1000 + i64::from(i)),
                    crate::ids::ProducerEpoch(0),
                );
            }
            producers.push(ProducerClient::new(
                i,
                NodeId(PRODUCER_NODE_BASE + i),
                spec.clone(),
                producer,
                root.fork(&format!("workload-{i}")),
                scenario.brokers,
            ));
        }
        let consumers = scenario
            .consumers
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                ConsumerClient::new(
                    i as u32,
                    NodeId(CONSUMER_NODE_BASE + i as u32),
                    spec.clone(),
                    scenario.brokers,
                )
            })
            .collect();
        let mut sim = ClusterSim {
            seed,
            scheduler: Scheduler::new(),
            network,
            controller,
            controller_prng: root.fork("controller"),
            metadata_log: Vec::new(),
            metadata_compact_at: METADATA_LOG_COMPACT_AT,
            brokers,
            producers,
            consumers,
            wake_at: BTreeMap::new(),
            delayed_produce: Vec::new(),
            delayed_end_txn: Vec::new(),
            held_for_mid_transaction: BTreeMap::new(),
            trace: Trace::new(TRACE_RECENT_MAX),
            step_lines: Vec::new(),
            steps: 0,
            history: Vec::new(),
            history_times: Vec::new(),
            violations: Vec::new(),
            inv2_checked: BTreeMap::new(),
            inv2_round: 0,
            unclean_elections: BTreeSet::new(),
            power_losses: BTreeSet::new(),
            sole_isr_power_losses: BTreeSet::new(),
            correlated_power_losses: BTreeSet::new(),
            lossy_isr_members: BTreeSet::new(),
            lossy_leader_elections: BTreeSet::new(),
            incarnations: 0,
            paused: BTreeMap::new(),
            busy_until: vec![SimTime::ZERO; scenario.brokers as usize],
            group_tally: GroupTally::default(),
            scenario,
        };
        sim.boot()?;
        Ok(sim)
    }

    fn boot(&mut self) -> Result<(), SimError> {
        let mut out = Outbox::new();
        let now = SimTime::ZERO;
        for b in 0..self.brokers.len() {
            self.brokers[b].start(now, &mut out);
        }
        self.send_all(now, out)?;
        // Topics are created once the brokers had time to register and be unfenced.
        // Steps run first among the events of their millisecond, so a step added later with
        // `add_step` runs exactly where it would have run had the file held it from the start.
        for (i, step) in self.scenario.steps.iter().enumerate() {
            let at = SimTime::from_millis(step.at_ms);
            self.scheduler
                .schedule_first(at, Event::Step(i as u32))
                .map_err(|_| SimError::Config("event queue full".into()))?;
        }
        self.scheduler
            .schedule(SimTime::from_millis(500), Event::Step(u32::MAX))
            .map_err(|_| SimError::Config("event queue full".into()))?;
        for node in self.client_nodes() {
            self.wake(node, SimTime::from_millis(600))?;
        }
        self.wake(CONTROLLER_NODE, SimTime::from_millis(1))?;
        for b in 1..=self.scenario.brokers {
            self.wake(NodeId(b), SimTime::from_millis(1))?;
        }
        Ok(())
    }

    fn client_nodes(&self) -> Vec<NodeId> {
        self.producers
            .iter()
            .map(|p| p.node)
            .chain(self.consumers.iter().map(|c| c.node))
            .collect()
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// When the next event is due, if any.
    pub fn next_due(&self) -> Option<SimTime> {
        self.scheduler.peek_due()
    }

    pub fn now(&self) -> SimTime {
        self.scheduler.now()
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    pub fn trace_hash(&self) -> u64 {
        self.trace.hash()
    }

    pub fn last_step_trace(&self) -> &[TraceLine] {
        &self.step_lines
    }

    pub fn history(&self) -> &[Op] {
        &self.history
    }

    /// When each history entry was recorded.
    pub fn history_times(&self) -> &[SimTime] {
        &self.history_times
    }

    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    pub fn scenario(&self) -> &ClusterScenario {
        &self.scenario
    }

    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    pub fn brokers(&self) -> &[BrokerNode] {
        &self.brokers
    }

    /// The network's counters (sent, delivered, discarded by a connection reset, ...).
    pub fn network_stats(&self) -> crate::sim::network::NetworkStats {
        self.network.stats()
    }

    /// Partitions that had an unclean leader election.
    pub fn unclean_elections(&self) -> &BTreeSet<TopicPartition> {
        &self.unclean_elections
    }

    /// Partitions whose only in-sync replica lost its unsynced page cache.
    pub fn sole_isr_power_losses(&self) -> &BTreeSet<TopicPartition> {
        &self.sole_isr_power_losses
    }

    /// Partitions whose replicas failed together while one lost its page cache (R-8 #4).
    pub fn correlated_power_losses(&self) -> &BTreeSet<TopicPartition> {
        &self.correlated_power_losses
    }

    /// Partitions that elected a leader from the ISR which had lost its unsynced page cache
    /// while in the ISR and had not left it since (KIP-966's "last replica standing").
    pub fn lossy_leader_elections(&self) -> &BTreeSet<TopicPartition> {
        &self.lossy_leader_elections
    }

    /// How often each error reached the producers (Kafka's error and exception names).
    pub fn producer_errors(&self) -> BTreeMap<&'static str, u32> {
        let mut all: BTreeMap<&'static str, u32> = BTreeMap::new();
        for p in &self.producers {
            for (name, n) in &p.errors_seen {
                *all.entry(name).or_default() += n;
            }
        }
        all
    }

    /// Per partition, the highest offset a consumer's OFFSET_OUT_OF_RANGE reset jumped forward
    /// to: retention deleted the records below it before that consumer read them (D19).
    pub fn retention_resets(&self) -> Vec<(TopicPartition, crate::ids::Offset)> {
        let mut by_partition: BTreeMap<TopicPartition, crate::ids::Offset> = BTreeMap::new();
        for c in &self.consumers {
            for (tp, offset) in &c.reset_forward_to {
                let entry = by_partition.entry(tp.clone()).or_insert(*offset);
                *entry = (*entry).max(*offset);
            }
        }
        by_partition.into_iter().collect()
    }

    /// Every log truncation a consumer's position validation detected, in order.
    /// The consumer groups' outcome so far.
    pub fn group_stats(&self) -> GroupStats {
        let mut stats = GroupStats {
            removals: self.group_tally.removals.clone(),
            max_generation: self.group_tally.max_generation,
            ..GroupStats::default()
        };
        for c in &self.consumers {
            if let Some(g) = c.group() {
                stats.commit_failures += g.commit_failures;
                for (name, n) in &g.errors {
                    *stats.errors.entry(name.to_string()).or_insert(0) += n;
                }
            }
        }
        stats
    }

    /// The consumers, in scenario order (added ones last).
    pub fn producers(&self) -> &[ProducerClient] {
        &self.producers
    }

    pub fn consumers(&self) -> &[ConsumerClient] {
        &self.consumers
    }

    pub fn log_truncations(&self) -> Vec<clients::LogTruncation> {
        let mut all: Vec<clients::LogTruncation> = self
            .consumers
            .iter()
            .flat_map(|c| c.log_truncations.iter().cloned())
            .collect();
        all.sort_by_key(|t| (t.at, t.consumer));
        all
    }

    /// Adds a step to the running scenario, as an operator acting on the cluster now would.
    /// It must be due after the current instant: the run then continues exactly as a fresh run
    /// of the scenario with this step in its file would (steps run first in their millisecond),
    /// which is what lets the app export what a user did as a scenario file.
    pub fn add_step(&mut self, step: scenario::Step) -> Result<(), SimError> {
        let at = SimTime::from_millis(step.at_ms);
        if at <= self.scheduler.now() {
            return Err(SimError::Config(format!(
                "a step at {} ms is not after the current time {}",
                step.at_ms,
                self.scheduler.now()
            )));
        }
        let mut scenario = self.scenario.clone();
        scenario.steps.push(step);
        scenario.validate().map_err(SimError::Config)?;
        let index = u32::try_from(scenario.steps.len() - 1)
            .map_err(|_| SimError::Config("too many steps".into()))?;
        self.scheduler
            .schedule_first(at, Event::Step(index))
            .map_err(|_| SimError::Config("event queue full".into()))?;
        self.scenario = scenario;
        Ok(())
    }

    /// Runs until simulated time passes the scenario's duration (or the queue empties).
    pub fn run_to_end(&mut self) -> Result<(), SimError> {
        let end = SimTime::from_millis(self.scenario.duration_ms);
        while self.scheduler.peek_due().is_some_and(|t| t <= end) {
            self.step()?;
        }
        Ok(())
    }

    /// Runs the next event.
    pub fn step(&mut self) -> Result<bool, SimError> {
        if self.steps >= crate::limits::SIM_EVENTS_MAX {
            return Err(SimError::EventLimit);
        }
        let Some((now, event)) = self.scheduler.pop() else {
            return Ok(false);
        };
        self.steps += 1;
        self.step_lines.clear();
        // What this event can change: one node's state, or anything (a scenario step).
        let touched = match &event {
            Event::Deliver(d) => Some(d.to),
            Event::Wake(node) => Some(*node),
            Event::Outbound { broker, .. } => Some(NodeId(*broker as u32 + 1)),
            Event::Step(_) => None,
        };
        match event {
            Event::Deliver(delivery) => self.on_delivery(now, *delivery)?,
            Event::Wake(node) => self.on_wake(now, node)?,
            Event::Step(i) => self.on_step(now, i)?,
            Event::Outbound {
                broker,
                incarnation,
                to,
                msg,
            } => self.on_outbound(now, broker, incarnation, to, *msg)?,
        }
        let client_event = touched.is_none_or(|n| n.0 >= PRODUCER_NODE_BASE);
        if client_event {
            self.link_pipelines(now)?;
        }
        self.collect_client_lines(now);
        self.history_times.resize(self.history.len(), now);
        self.check_invariants(now, touched);
        Ok(true)
    }

    /// Consume-transform-produce pipelines (T-9): after a client's event, each pipeline's
    /// producer takes what its input consumer polled and ends transactions with the
    /// consumer's offsets; either end is woken when the other changed it.
    fn link_pipelines(&mut self, now: SimTime) -> Result<(), SimError> {
        for p in 0..self.producers.len() {
            let Some(c) = self.producers[p].spec().transactions.input_consumer else {
                continue;
            };
            let Some(consumer) = self.consumers.get_mut(c as usize) else {
                continue;
            };
            consumer.pipeline = true;
            if self.producers[p].pipeline_step(now, consumer) {
                let (pn, cn) = (self.producers[p].node, consumer.node);
                self.wake(pn, now)?;
                self.reschedule(now, cn)?;
            }
        }
        Ok(())
    }

    fn trace(&mut self, now: SimTime, actor: String, text: String) {
        let line = TraceLine {
            step: self.steps,
            time: now,
            actor,
            text,
        };
        self.step_lines.push(line.clone());
        self.trace.record(line);
    }

    fn wake(&mut self, node: NodeId, at: SimTime) -> Result<(), SimError> {
        if self
            .wake_at
            .get(&node)
            .is_some_and(|t| *t <= at && *t >= self.scheduler.now())
        {
            return Ok(());
        }
        self.wake_at.insert(node, at);
        self.scheduler
            .schedule(at, Event::Wake(node))
            .map(|_| ())
            .map_err(|_| SimError::Config("event queue full".into()))
    }

    fn send_all(&mut self, now: SimTime, out: Outbox) -> Result<(), SimError> {
        for (from, to, msg) in out {
            let mut mid_transaction: Option<(String, ProducerId)> = None;
            let held = matches!(msg, Msg::Produce(_))
                .then(|| {
                    self.delayed_produce
                        .iter()
                        .position(|(f, t, _)| *f == from && t.is_none_or(|t| t == to))
                })
                .flatten()
                .map(|i| self.delayed_produce.remove(i).2)
                .or_else(|| {
                    let Msg::EndTxn {
                        transaction_commit,
                        transactional_id,
                        producer_id,
                        ..
                    } = &msg
                    else {
                        return None;
                    };
                    let i = self.delayed_end_txn.iter().position(|h| {
                        h.from == from && h.committed.is_none_or(|c| c == *transaction_commit)
                    })?;
                    let rule = self.delayed_end_txn.remove(i);
                    if rule.mid_transaction {
                        mid_transaction = Some((transactional_id.clone(), *producer_id));
                    }
                    Some(rule.delay)
                });
            let kind = msg.kind();
            let outcome = self.network.send(now, from, to, msg);
            for mut delivery in outcome.deliveries {
                if let (Some(delay), Some((id, pid))) = (held, &mid_transaction) {
                    let until = now
                        .saturating_add(delay)
                        .saturating_add(SimDuration::from_millis(MID_TRANSACTION_WAIT_MAX_MS));
                    self.held_for_mid_transaction
                        .insert((from, to, delivery.sequence), (id.clone(), *pid, until));
                }
                if let Some(delay) = held {
                    // Held past the messages sent after it: it arrives out of order.
                    delivery.at = delivery.at.saturating_add(delay);
                    self.trace(
                        now,
                        "network".into(),
                        format!(
                            "holds {kind} #{} from node {} to node {} for {} ms",
                            delivery.sequence,
                            from.0,
                            to.0,
                            delay.as_millis()
                        ),
                    );
                }
                self.scheduler
                    .schedule(delivery.at, Event::Deliver(Box::new(delivery)))
                    .map_err(|_| SimError::Config("event queue full".into()))?;
            }
        }
        Ok(())
    }

    /// Sends what broker `b` produced. While its request handler waits on its disk, messages
    /// to anyone but the controller (whose heartbeats run on their own thread) leave when the
    /// disk answers, in order.
    fn send_from_broker(&mut self, now: SimTime, b: usize, out: Outbox) -> Result<(), SimError> {
        if let Some(until) = self.brokers[b].take_blocked_until() {
            self.busy_until[b] = self.busy_until[b].max(until);
        }
        let until = self.busy_until[b];
        if until <= now {
            return self.send_all(now, out);
        }
        let (now_out, later): (Outbox, Outbox) = out
            .into_iter()
            .partition(|(_, to, _)| *to == CONTROLLER_NODE);
        self.send_all(now, now_out)?;
        let incarnation = self.brokers[b].incarnation();
        for (_, to, msg) in later {
            self.scheduler
                .schedule(
                    until,
                    Event::Outbound {
                        broker: b,
                        incarnation,
                        to,
                        msg: Box::new(msg),
                    },
                )
                .map_err(|_| SimError::Config("event queue full".into()))?;
        }
        Ok(())
    }

    fn on_outbound(
        &mut self,
        now: SimTime,
        b: usize,
        incarnation: u64,
        to: NodeId,
        msg: Msg,
    ) -> Result<(), SimError> {
        let broker = &self.brokers[b];
        if !broker.alive || broker.incarnation() != incarnation {
            return Ok(());
        }
        if let Some(paused) = self.paused.get_mut(&b) {
            paused.outbox.push((to, msg));
            return Ok(());
        }
        let from = NodeId::from(broker.id);
        self.send_all(now, vec![(from, to, msg)])
    }

    /// Whether `producer_id` is in the middle of a transaction of `transactional_id`: a live
    /// coordinator has it Ongoing, and some partition leader holds records of it (the
    /// transaction is open there).
    fn in_mid_transaction(&self, transactional_id: &str, producer_id: ProducerId) -> bool {
        let ongoing = self.brokers.iter().filter(|b| b.alive).any(|b| {
            b.txn_coordinator
                .transactions()
                .get(transactional_id)
                .is_some_and(|m| {
                    m.producer_id == producer_id
                        && m.state == crate::broker::txn::TransactionState::Ongoing
                })
        });
        ongoing
            && self.brokers.iter().filter(|b| b.alive).any(|b| {
                b.replicas.iter().any(|(tp, rep)| {
                    self.controller
                        .partition(tp)
                        .is_some_and(|s| s.leader == Some(b.id))
                        && rep.transactions().ongoing().contains_key(&producer_id)
                })
            })
    }

    fn on_delivery(&mut self, now: SimTime, delivery: Delivery<Msg>) -> Result<(), SimError> {
        let key = (delivery.from, delivery.to, delivery.sequence);
        if let Some((id, pid, until)) = self.held_for_mid_transaction.get(&key).cloned() {
            if now < until && !self.in_mid_transaction(&id, pid) {
                // Not yet in a later transaction: the router keeps sitting on the copy.
                let mut later = delivery;
                later.at = now.saturating_add(SimDuration::from_millis(1));
                self.scheduler
                    .schedule(later.at, Event::Deliver(Box::new(later)))
                    .map_err(|_| SimError::Config("event queue full".into()))?;
                return Ok(());
            }
            self.held_for_mid_transaction.remove(&key);
            let where_ = if now < until {
                "in the middle of a later transaction"
            } else {
                "after waiting the longest for a later transaction"
            };
            self.trace(
                now,
                "network".into(),
                format!(
                    "releases EndTxn #{} from node {} to node {} {where_}",
                    key.2, key.0 .0, key.1 .0
                ),
            );
        }
        if self.network.arrive(now, &delivery) != Arrival::Deliver {
            return Ok(());
        }
        let Delivery {
            from, to, payload, ..
        } = delivery;
        if let Some(paused) = self.broker_index(to).and_then(|b| self.paused.get_mut(&b)) {
            // A stopped process reads nothing; the kernel buffers what arrives, in order.
            paused.inbox.push((from, payload));
            return Ok(());
        }
        let mut out = Outbox::new();
        if let Some(b) = self.broker_index(to).filter(|b| !self.brokers[*b].alive) {
            // Nothing listens on a dead broker's port: the client's connection is refused at
            // once, which it sees as a disconnect (NetworkException), not a silent loss.
            if let Some(p) = self.producers.iter_mut().find(|p| p.node == from) {
                p.on_disconnect(now, BrokerId(b as u32 + 1));
            }
            if let Some(c) = self.consumers.iter_mut().find(|c| c.node == from) {
                c.on_disconnect(now, BrokerId(b as u32 + 1));
            }
            // A broker's own requests to it (a transaction coordinator's WriteTxnMarkers) are
            // refused the same way: it retries after a backoff, with the leader it knows then,
            // instead of waiting out request.timeout.ms.
            if let Some(sender) = self.broker_index(from).filter(|s| self.brokers[*s].alive) {
                if matches!(
                    payload,
                    Msg::WriteTxnMarkers { .. } | Msg::VerifyTxnPartition { .. }
                ) {
                    self.brokers[sender].on_disconnect(now, to);
                }
            }
            return self.reschedule(now, from);
        }
        if to == CONTROLLER_NODE {
            self.on_controller_message(now, from, payload, &mut out);
        } else if let Some(b) = self.broker_index(to) {
            self.brokers[b].on_message(now, from, payload, &mut out);
            self.note_broker(now, b);
            self.send_from_broker(now, b, out)?;
            return self.reschedule(now, to);
        } else if let Some(p) = self.producers.iter().position(|p| p.node == to) {
            self.producers[p].on_message(now, payload, &mut out);
        } else if let Some(c) = self.consumers.iter().position(|c| c.node == to) {
            self.consumers[c].on_message(now, payload, &mut self.history, &mut out);
        }
        self.send_all(now, out)?;
        self.reschedule(now, to)
    }

    fn broker_index(&self, node: NodeId) -> Option<usize> {
        (node.0 >= 1 && node.0 <= self.scenario.brokers).then(|| node.0 as usize - 1)
    }

    fn reschedule(&mut self, now: SimTime, node: NodeId) -> Result<(), SimError> {
        if self
            .broker_index(node)
            .is_some_and(|b| self.paused.contains_key(&b))
        {
            return Ok(()); // Its timers wait for the resume.
        }
        let next = if node == CONTROLLER_NODE {
            self.controller.next_timer()
        } else if let Some(b) = self.broker_index(node) {
            self.brokers[b].next_wakeup()
        } else if let Some(p) = self.producers.iter().find(|p| p.node == node) {
            p.next_wakeup(now)
        } else {
            self.consumers
                .iter()
                .find(|c| c.node == node)
                .and_then(|c| c.next_wakeup())
        };
        match next {
            Some(at) => self.wake(node, at.max(now)),
            None => Ok(()),
        }
    }

    fn on_wake(&mut self, now: SimTime, node: NodeId) -> Result<(), SimError> {
        if self.wake_at.get(&node) == Some(&now) {
            self.wake_at.remove(&node);
        }
        let mut out = Outbox::new();
        if node == CONTROLLER_NODE {
            self.controller.on_timer(now);
            self.publish_metadata(now, &mut out);
        } else if let Some(b) = self.broker_index(node) {
            if self.paused.contains_key(&b) {
                return Ok(()); // A stopped process's timers fire when it resumes.
            }
            self.brokers[b].on_timer(now, &mut out);
            self.note_broker(now, b);
            self.send_from_broker(now, b, out)?;
            return self.reschedule(now, node);
        } else if let Some(p) = self.producers.iter().position(|p| p.node == node) {
            self.producers[p].on_timer(now, &mut out);
        } else if let Some(c) = self.consumers.iter().position(|c| c.node == node) {
            self.consumers[c].on_timer(now, &mut self.history, &mut out);
        }
        self.send_all(now, out)?;
        self.reschedule(now, node)
    }

    fn note_broker(&mut self, now: SimTime, b: usize) {
        for (_, event) in std::mem::take(&mut self.brokers[b].coordinator.events) {
            self.group_tally.record(&event);
        }
        let notes = std::mem::take(&mut self.brokers[b].notes);
        let actor = format!("broker-{}", b + 1);
        for note in notes {
            self.trace(now, actor.clone(), note);
        }
    }

    fn collect_client_lines(&mut self, now: SimTime) {
        for p in 0..self.producers.len() {
            self.producers[p].drain_history(&mut self.history);
            let lines = std::mem::take(&mut self.producers[p].lines);
            for line in lines {
                self.trace(now, format!("producer-{p}"), line);
            }
        }
        for c in 0..self.consumers.len() {
            let lines = std::mem::take(&mut self.consumers[c].lines);
            for line in lines {
                self.trace(now, format!("consumer-{c}"), line);
            }
        }
    }

    fn on_controller_message(&mut self, now: SimTime, from: NodeId, msg: Msg, out: &mut Outbox) {
        match msg {
            Msg::Register {
                broker,
                incarnation,
            } => {
                let result = self
                    .controller
                    .register_broker(
                        now,
                        BrokerRegistrationRequest {
                            broker,
                            incarnation: IncarnationId(incarnation),
                        },
                    )
                    .map_err(|e| e.code);
                if result.is_ok() {
                    // A registered broker replays the metadata log from its start.
                    if let Some(b) = self.broker_index(from) {
                        self.brokers[b].next_metadata_offset = 0;
                    }
                    self.replay_metadata(from, 0, out);
                    // Its own registration record goes out before the answer, so its first
                    // heartbeat can already report being caught up.
                    self.publish_metadata(now, out);
                }
                out.push((
                    CONTROLLER_NODE,
                    from,
                    Msg::RegisterResponse {
                        result,
                        metadata_end_offset: self.metadata_end(),
                    },
                ));
            }
            Msg::Heartbeat {
                broker,
                broker_epoch,
                metadata_offset,
            } => {
                let request = BrokerHeartbeatRequest {
                    broker,
                    broker_epoch,
                    current_metadata_offset: crate::controller::MetadataOffset(
                        i64::try_from(metadata_offset).unwrap_or(i64::MAX) - 1,
                    ),
                };
                let msg = match self.controller.heartbeat(now, request) {
                    Ok(r) => Msg::HeartbeatResponse {
                        error: ErrorCode::None,
                        is_fenced: r.is_fenced,
                    },
                    Err(code) => Msg::HeartbeatResponse {
                        error: code,
                        is_fenced: true,
                    },
                };
                // KRaft brokers fetch the metadata log from where they are.
                self.replay_metadata(from, metadata_offset, out);
                out.push((CONTROLLER_NODE, from, msg));
            }
            Msg::AlterPartition {
                broker_epoch,
                request,
            } => {
                let tp = request.topic_partition.clone();
                let controller_request = ControllerAlterPartition {
                    broker: request.leader,
                    broker_epoch,
                    topic_partition: tp.clone(),
                    leader_epoch: request.leader_epoch,
                    partition_epoch: request.partition_epoch,
                    new_isr: request
                        .new_isr
                        .iter()
                        .map(|b| IsrMember {
                            broker: *b,
                            broker_epoch: request.new_isr_epochs.get(b).copied(),
                        })
                        .collect(),
                    // The simulated leader has nothing to recover beyond its log, so it reports
                    // itself recovered with its first ISR proposal (KIP-704).
                    leader_recovery_state: crate::controller::LeaderRecoveryState::Recovered,
                };
                let result = self.controller.alter_partition(now, &controller_request);
                if let Err(code) = &result {
                    let isr: Vec<String> =
                        request.new_isr.iter().map(|b| b.0.to_string()).collect();
                    self.trace(
                        now,
                        "controller".into(),
                        format!(
                            "{tp}: AlterPartition from broker {} for ISR [{}] refused: {}",
                            request.leader.0,
                            isr.join(","),
                            code.name()
                        ),
                    );
                }
                out.push((
                    CONTROLLER_NODE,
                    from,
                    BrokerNode::alter_partition_answer(tp, result),
                ));
            }
            _ => {}
        }
        self.publish_metadata(now, out);
    }

    /// Sends new metadata records to every broker and traces the ones people care about.
    fn publish_metadata(&mut self, now: SimTime, out: &mut Outbox) {
        for update in self.controller.drain_updates() {
            self.trace_metadata(now, &update);
            self.metadata_log.push(update.clone());
            let offset = u64::try_from(update.offset.0).unwrap_or(0);
            for b in 1..=self.scenario.brokers {
                out.push((
                    CONTROLLER_NODE,
                    NodeId(b),
                    Msg::Metadata {
                        update: Box::new(update.clone()),
                        from_offset: offset,
                    },
                ));
            }
        }
        self.maybe_compact_metadata_log();
    }

    /// The offset the next metadata record will take.
    fn metadata_end(&self) -> u64 {
        self.metadata_log
            .last()
            .map_or(0, |u| u64::try_from(u.offset.0).unwrap_or(0) + 1)
    }

    /// Sends a broker whose next metadata offset is `from` every retained record at or after
    /// it, chained: each says which offset it follows, so the broker can tell a record that
    /// compaction superseded (skip ahead) from one the network lost (wait for the resend).
    fn replay_metadata(&self, to: NodeId, from: u64, out: &mut Outbox) {
        let mut from_offset = from;
        for update in &self.metadata_log {
            let offset = u64::try_from(update.offset.0).unwrap_or(0);
            if offset < from {
                continue;
            }
            out.push((
                CONTROLLER_NODE,
                to,
                Msg::Metadata {
                    update: Box::new(update.clone()),
                    from_offset,
                },
            ));
            from_offset = offset + 1;
        }
    }

    /// KRaft's snapshot, in place: once the log has grown past the threshold, keep only the
    /// newest record per key (a partition's state, a broker's registration, a topic, a topic
    /// config), at its original offset. Brokers only ever need the newest of each, so a broker
    /// replaying from any offset still ends with the controller's view; the log stays bounded
    /// by the cluster's size instead of growing with every ISR change of a long run.
    fn maybe_compact_metadata_log(&mut self) {
        if self.metadata_log.len() < self.metadata_compact_at {
            return;
        }
        let key = |record: &MetadataRecord| -> String {
            match record {
                MetadataRecord::ControllerChange => "controller".into(),
                MetadataRecord::RegisterBroker { broker, .. }
                | MetadataRecord::FenceBroker { broker, .. }
                | MetadataRecord::UnfenceBroker { broker, .. } => format!("broker/{}", broker.0),
                MetadataRecord::Topic { name, .. } => format!("topic/{name}"),
                MetadataRecord::TopicConfig { name, key, .. } => format!("config/{name}/{key}"),
                MetadataRecord::Partition {
                    topic_partition, ..
                } => format!("partition/{topic_partition}"),
            }
        };
        let mut newest: BTreeMap<String, usize> = BTreeMap::new();
        for (i, update) in self.metadata_log.iter().enumerate() {
            newest.insert(key(&update.record), i);
        }
        let keep: BTreeSet<usize> = newest.into_values().collect();
        let mut i = 0;
        self.metadata_log.retain(|_| {
            let kept = keep.contains(&i);
            i += 1;
            kept
        });
        self.metadata_compact_at = (self.metadata_log.len() * 2).max(self.metadata_compact_at);
    }

    fn trace_metadata(&mut self, now: SimTime, update: &MetadataUpdate) {
        let text = match &update.record {
            MetadataRecord::FenceBroker { broker, .. } => Some(format!(
                "fence broker {}: no heartbeat for broker.session.timeout.ms",
                broker.0
            )),
            MetadataRecord::UnfenceBroker { broker, .. } => {
                Some(format!("unfence broker {}", broker.0))
            }
            MetadataRecord::Partition {
                topic_partition,
                state,
                reason,
            } => {
                // An election outside the ISR marks the new leader as recovering (KIP-704).
                if state.leader_recovery_state == crate::controller::LeaderRecoveryState::Recovering
                    || matches!(reason, crate::controller::ChangeReason::UncleanElection)
                {
                    self.unclean_elections.insert(topic_partition.clone());
                }
                self.note_lossy_leader(topic_partition, &state.isr, state.leader);
                let isr: Vec<String> = state.isr.iter().map(|b| b.0.to_string()).collect();
                Some(format!(
                    "{topic_partition}: leader {} epoch {} ISR [{}] ({reason:?})",
                    state.leader.map_or("none".to_owned(), |l| l.0.to_string()),
                    state.leader_epoch.0,
                    isr.join(",")
                ))
            }
            _ => None,
        };
        if let Some(text) = text {
            self.trace(now, "controller".into(), text);
        }
    }

    fn on_step(&mut self, now: SimTime, index: u32) -> Result<(), SimError> {
        let mut out = Outbox::new();
        if index == u32::MAX {
            self.create_topics(now, &mut out);
        } else if let Some(step) = self.scenario.steps.get(index as usize).cloned() {
            self.apply_action(now, step.action, &mut out)?;
        }
        self.send_all(now, out)?;
        for b in 1..=self.scenario.brokers {
            self.reschedule(now, NodeId(b))?;
        }
        for node in self.client_nodes() {
            self.reschedule(now, node)?;
        }
        self.reschedule(now, CONTROLLER_NODE)
    }

    /// Whether the scenario has a consumer group, from the start or added by a step.
    fn uses_groups(&self) -> bool {
        self.scenario.consumers.iter().any(|c| c.is_group_member())
            || self.scenario.steps.iter().any(|s| {
                matches!(&s.action, Action::AddConsumer { consumer } if consumer.is_group_member())
            })
    }

    /// Creates `__consumer_offsets` (compacted, `offsets.topic.num.partitions`, replication
    /// `offsets.topic.replication.factor` capped by the brokers), as Kafka creates it when a
    /// group first needs a coordinator.
    fn create_offsets_topic(&mut self, now: SimTime) {
        let name = coordinator::OFFSETS_TOPIC.to_string();
        if self.controller.topic_configs(&name).is_some() {
            return;
        }
        let partitions = self.scenario.broker.offsets_topic_num_partitions;
        let replication_factor = self
            .scenario
            .broker
            .offsets_topic_replication_factor
            .min(u16::try_from(self.scenario.brokers).unwrap_or(u16::MAX));
        let mut configs = BTreeMap::new();
        configs.insert("cleanup.policy".to_string(), "compact".to_string());
        let request = CreateTopic {
            name: name.clone(),
            partitions: Some(partitions),
            replication_factor: Some(replication_factor),
            configs,
            assignments: Vec::new(),
        };
        let text = match self
            .controller
            .create_topic(now, &mut self.controller_prng, request)
        {
            Ok(()) => format!(
                "create topic {name} with {partitions} partition(s), replication factor {replication_factor}"
            ),
            Err(e) => format!("create topic {name} failed: {} {}", e.code.name(), e.message),
        };
        self.trace(now, "controller".into(), text);
    }

    /// Whether the scenario has a transactional producer.
    fn uses_transactions(&self) -> bool {
        self.scenario
            .producers
            .iter()
            .any(|p| p.config.transactional_id.is_some())
    }

    /// Creates `__transaction_state` (compacted, `transaction.state.log.num.partitions`,
    /// replication `transaction.state.log.replication.factor` capped by the brokers,
    /// `min.insync.replicas` = `transaction.state.log.min.isr`), as Kafka creates it when a
    /// transactional producer first needs a coordinator.
    fn create_transaction_state_topic(&mut self, now: SimTime) {
        let name = crate::client::transactions::TRANSACTION_STATE_TOPIC.to_string();
        if self.controller.topic_configs(&name).is_some() {
            return;
        }
        let broker = &self.scenario.broker;
        let partitions = broker.transaction_state_log_num_partitions;
        let replication_factor = broker
            .transaction_state_log_replication_factor
            .min(u16::try_from(self.scenario.brokers).unwrap_or(u16::MAX));
        let min_isr = broker.transaction_state_log_min_isr.min(replication_factor);
        let mut configs = BTreeMap::new();
        configs.insert("cleanup.policy".to_string(), "compact".to_string());
        configs.insert("min.insync.replicas".to_string(), min_isr.to_string());
        let request = CreateTopic {
            name: name.clone(),
            partitions: Some(partitions),
            replication_factor: Some(replication_factor),
            configs,
            assignments: Vec::new(),
        };
        let text = match self
            .controller
            .create_topic(now, &mut self.controller_prng, request)
        {
            Ok(()) => format!(
                "create topic {name} with {partitions} partition(s), replication factor {replication_factor}, min.insync.replicas {min_isr}"
            ),
            Err(e) => format!("create topic {name} failed: {} {}", e.code.name(), e.message),
        };
        self.trace(now, "controller".into(), text);
    }

    fn create_topics(&mut self, now: SimTime, out: &mut Outbox) {
        if self.uses_groups() {
            self.create_offsets_topic(now);
        }
        if self.uses_transactions() {
            self.create_transaction_state_topic(now);
        }
        for topic in self.scenario.topics.clone() {
            let request = CreateTopic {
                name: topic.name.clone(),
                partitions: Some(topic.partitions),
                replication_factor: Some(topic.replication_factor),
                configs: topic.config.clone(),
                assignments: topic
                    .replica_assignment
                    .iter()
                    .map(|replicas| replicas.iter().map(|b| BrokerId(*b)).collect())
                    .collect(),
            };
            let text = match self
                .controller
                .create_topic(now, &mut self.controller_prng, request)
            {
                Ok(()) => format!(
                    "create topic {} with {} partition(s), replication factor {}",
                    topic.name, topic.partitions, topic.replication_factor
                ),
                Err(e) => format!(
                    "create topic {} failed: {} {}",
                    topic.name,
                    e.code.name(),
                    e.message
                ),
            };
            self.trace(now, "controller".into(), text);
        }
        self.publish_metadata(now, out);
    }

    /// Starts the broker at `index` again if it is down (a restart of a live broker does
    /// nothing): it recovers its logs and registers as a new incarnation.
    fn restart_broker(&mut self, now: SimTime, index: usize, out: &mut Outbox) {
        if self.brokers[index].alive {
            return;
        }
        let broker = self.brokers[index].id;
        self.incarnations += 1;
        self.trace(now, "nemesis".into(), format!("restart broker {broker}"));
        self.busy_until[index] = now;
        self.brokers[index].start(now, out);
        self.note_broker(now, index);
        self.power_losses.remove(&broker);
    }

    fn apply_action(
        &mut self,
        now: SimTime,
        action: Action,
        out: &mut Outbox,
    ) -> Result<(), SimError> {
        match action {
            Action::CrashBroker {
                broker,
                power_loss,
                torn_write,
            } => self.crash_broker(now, broker, power_loss, torn_write),
            Action::CrashLeader {
                topic,
                partition,
                power_loss,
                torn_write,
            } => {
                let tp = TopicPartition {
                    topic,
                    partition: crate::ids::PartitionIndex(partition),
                };
                match self.controller.partition(&tp).and_then(|s| s.leader) {
                    Some(leader) => self.crash_broker(now, leader.0, power_loss, torn_write),
                    None => self.trace(
                        now,
                        "nemesis".into(),
                        format!("{tp} has no leader to crash"),
                    ),
                }
            }
            Action::PartitionLeaderFromFollowers { topic, partition } => {
                self.cut_off_leader(now, topic, partition, false)?
            }
            Action::PartitionLeaderFromCluster { topic, partition } => {
                self.cut_off_leader(now, topic, partition, true)?
            }
            Action::RestartBroker { broker } => {
                if let Some(b) = self.broker_index(NodeId(broker)) {
                    self.restart_broker(now, b, out);
                }
            }
            Action::RestartCrashedBrokers => {
                let down: Vec<usize> = (0..self.brokers.len())
                    .filter(|b| !self.brokers[*b].alive)
                    .collect();
                if down.is_empty() {
                    self.trace(now, "nemesis".into(), "no broker is down to restart".into());
                }
                for b in down {
                    self.restart_broker(now, b, out);
                }
            }
            Action::Partition { sides } => {
                let sides: Vec<Vec<NodeId>> = sides
                    .iter()
                    .map(|s| s.iter().map(|n| NodeId(*n)).collect())
                    .collect();
                self.network
                    .partition(&sides)
                    .map_err(|e| SimError::Config(e.to_string()))?;
                self.trace(
                    now,
                    "nemesis".into(),
                    format!("partition the network into {sides:?}"),
                );
            }
            Action::PartitionOneWay { from, to } => {
                self.network.partition_one_way(NodeId(from), NodeId(to));
                self.trace(
                    now,
                    "nemesis".into(),
                    format!("drop messages from node {from} to node {to}"),
                );
            }
            Action::DropInFlight { from, to } => {
                let lost = self.network.drop_in_flight(NodeId(from), NodeId(to));
                self.trace(
                    now,
                    "nemesis".into(),
                    format!("drop the {lost} message(s) in flight from node {from} to node {to}"),
                );
            }
            Action::DelayNextProduce { from, to, delay_ms } => {
                self.delayed_produce.push((
                    NodeId(from),
                    to.map(NodeId),
                    SimDuration::from_millis(delay_ms),
                ));
                let to = to.map_or("any broker".to_owned(), |t| format!("broker {t}"));
                self.trace(
                    now,
                    "nemesis".into(),
                    format!("hold the next Produce from node {from} to {to} for {delay_ms} ms"),
                );
            }
            Action::DelayNextEndTxn {
                from,
                delay_ms,
                committed,
                mid_transaction,
            } => {
                self.delayed_end_txn.push(HeldEndTxn {
                    from: NodeId(from),
                    delay: SimDuration::from_millis(delay_ms),
                    committed,
                    mid_transaction,
                });
                let which = match committed {
                    Some(true) => "EndTxn(commit)",
                    Some(false) => "EndTxn(abort)",
                    None => "EndTxn",
                };
                let until = if mid_transaction {
                    ", then until a later transaction is under way"
                } else {
                    ""
                };
                self.trace(
                    now,
                    "nemesis".into(),
                    format!("hold the next {which} from node {from} for {delay_ms} ms{until}"),
                );
            }
            Action::DropMessage { from, to, sequence } => {
                let (from_node, to_node) = (NodeId(from), NodeId(to));
                let kind = self.scheduler.events().find_map(|e| match e {
                    Event::Deliver(d)
                        if d.from == from_node && d.to == to_node && d.sequence == sequence =>
                    {
                        Some(d.payload.kind())
                    }
                    _ => None,
                });
                let line = match kind {
                    Some(kind) if self.network.drop_message(from_node, to_node, sequence) => {
                        format!("drop message #{sequence} ({kind}) in flight from node {from} to node {to}")
                    }
                    _ => format!(
                        "drop message #{sequence} from node {from} to node {to}: not in flight, nothing lost"
                    ),
                };
                self.trace(now, "nemesis".into(), line);
            }
            Action::Isolate { node } => {
                self.network.isolate(NodeId(node));
                self.trace(now, "nemesis".into(), format!("isolate node {node}"));
            }
            Action::Heal => {
                self.network.heal();
                self.trace(now, "nemesis".into(), "heal the network".into());
            }
            Action::SetNetwork { config } => {
                self.network
                    .set_config(config)
                    .map_err(|e| SimError::Config(e.to_string()))?;
                self.trace(now, "nemesis".into(), "change network faults".into());
            }
            Action::PauseConsumers | Action::ResumeConsumers => {
                let pause = action == Action::PauseConsumers;
                for c in &mut self.consumers {
                    c.paused = pause;
                }
                let verb = if pause { "pause" } else { "resume" };
                self.trace(now, "nemesis".into(), format!("{verb} consumers"));
            }
            Action::PauseBroker { broker } => self.pause_broker(now, broker),
            Action::ResumeBroker { broker } => self.resume_broker(now, broker)?,
            Action::SlowDisk { broker, factor } => {
                if let Some(b) = self.broker_index(NodeId(broker)) {
                    self.brokers[b]
                        .set_slow_disk(factor)
                        .map_err(|e| SimError::Config(e.to_string()))?;
                    let text = if factor == 1 {
                        format!("broker {broker}'s disk is healthy again")
                    } else {
                        format!("broker {broker}'s disk is {factor} times slower")
                    };
                    self.trace(now, "nemesis".into(), text);
                }
            }
            Action::SkewClock { node, offset_ms } => {
                self.trace(
                    now,
                    "nemesis".into(),
                    format!("skew node {node}'s wall clock by {offset_ms:+} ms"),
                );
                if let Some(b) = self.broker_index(NodeId(node)) {
                    self.brokers[b].set_wall_clock_skew(offset_ms);
                    self.note_broker(now, b);
                } else if let Some(p) = self.producers.iter_mut().find(|p| p.node == NodeId(node)) {
                    p.clock_skew_ms = offset_ms;
                }
            }
            Action::StopProducers => {
                for p in &mut self.producers {
                    p.stopped = true;
                }
                self.trace(now, "nemesis".into(), "stop producers".into());
            }
            Action::FreezeProducer {
                producer,
                duration_ms,
            } => {
                self.trace(
                    now,
                    "nemesis".into(),
                    format!("freeze producer {producer} for {duration_ms} ms (GC pause)"),
                );
                if let Some(p) = self.producers.get_mut(producer as usize) {
                    p.freeze(now, SimDuration::from_millis(duration_ms));
                    let node = p.node;
                    self.wake(
                        node,
                        now.saturating_add(SimDuration::from_millis(duration_ms)),
                    )?;
                }
            }
            Action::AddConsumer { consumer } => {
                let index = self.consumers.len() as u32;
                let node = NodeId(CONSUMER_NODE_BASE + index);
                let group = consumer.group_id.clone();
                self.consumers.push(ConsumerClient::new(
                    index,
                    node,
                    consumer,
                    self.scenario.brokers,
                ));
                self.trace(
                    now,
                    "nemesis".into(),
                    match &group {
                        Some(g) => format!("add consumer {index} (node {}) to group {g}", node.0),
                        None => format!("add consumer {index} (node {})", node.0),
                    },
                );
                if group.is_some()
                    && self
                        .controller
                        .topic_configs(coordinator::OFFSETS_TOPIC)
                        .is_none()
                {
                    self.create_offsets_topic(now);
                    self.publish_metadata(now, out);
                }
                self.wake(node, now)?;
            }
            Action::StopConsumer { consumer } => {
                self.trace(now, "nemesis".into(), format!("close consumer {consumer}"));
                if let Some(c) = self.consumers.get_mut(consumer as usize) {
                    if c.alive {
                        c.close(now, &mut self.history, out);
                    }
                }
            }
            Action::CrashConsumer { consumer } => {
                self.trace(now, "nemesis".into(), format!("crash consumer {consumer}"));
                if let Some(c) = self.consumers.get_mut(consumer as usize) {
                    if c.alive {
                        c.crash(&mut self.history);
                    }
                }
            }
            Action::RestartConsumer { consumer, strategy } => {
                let line = match &strategy {
                    None => format!("restart consumer {consumer}"),
                    Some(s) => format!(
                        "restart consumer {consumer} with partition.assignment.strategy={}",
                        s.join(",")
                    ),
                };
                self.trace(now, "nemesis".into(), line);
                if let Some(c) = self.consumers.get_mut(consumer as usize) {
                    if !c.alive {
                        let mut spec = c.spec().clone();
                        if let Some(s) = strategy {
                            spec.partition_assignment_strategy = s;
                        }
                        let mut fresh =
                            ConsumerClient::new(consumer, c.node, spec, self.scenario.brokers);
                        fresh.carry_tallies_from(c);
                        *c = fresh;
                        let node = c.node;
                        self.wake(node, now)?;
                    }
                }
            }
            Action::StallConsumer {
                consumer,
                duration_ms,
            } => {
                self.trace(
                    now,
                    "nemesis".into(),
                    format!("stall consumer {consumer}'s poll loop for {duration_ms} ms"),
                );
                if let Some(c) = self.consumers.get_mut(consumer as usize) {
                    c.stall(now, SimDuration::from_millis(duration_ms));
                }
            }
            Action::FreezeConsumer {
                consumer,
                duration_ms,
            } => {
                self.trace(
                    now,
                    "nemesis".into(),
                    format!("freeze consumer {consumer} for {duration_ms} ms (GC pause)"),
                );
                if let Some(c) = self.consumers.get_mut(consumer as usize) {
                    c.freeze(now, SimDuration::from_millis(duration_ms));
                }
            }
            Action::CommitOffsets { consumer } => {
                self.trace(
                    now,
                    "nemesis".into(),
                    format!("consumer {consumer} calls commitSync()"),
                );
                if let Some(c) = self.consumers.get_mut(consumer as usize) {
                    if c.alive {
                        c.commit_sync(now, out);
                    }
                }
            }
            Action::SeekConsumer {
                consumer,
                partition,
                offset,
            } => {
                self.trace(
                    now,
                    "nemesis".into(),
                    format!("consumer {consumer} seeks partition {partition} to offset {offset}"),
                );
                if let Some(c) = self.consumers.get_mut(consumer as usize) {
                    if c.alive {
                        c.seek(partition, crate::ids::Offset(offset));
                    }
                }
            }
        }
        Ok(())
    }

    /// Cuts the partition's current leader off from the other brokers, and with
    /// `from_controller` from the controller too; clients still reach it.
    fn cut_off_leader(
        &mut self,
        now: SimTime,
        topic: String,
        partition: u32,
        from_controller: bool,
    ) -> Result<(), SimError> {
        let tp = TopicPartition {
            topic,
            partition: crate::ids::PartitionIndex(partition),
        };
        match self.controller.partition(&tp).and_then(|s| s.leader) {
            Some(leader) => {
                let mut others: Vec<NodeId> = (1..=self.scenario.brokers)
                    .filter(|b| *b != leader.0)
                    .map(NodeId)
                    .collect();
                if from_controller {
                    others.push(CONTROLLER_NODE);
                }
                self.network
                    .partition(&[vec![NodeId::from(leader)], others])
                    .map_err(|e| SimError::Config(e.to_string()))?;
                self.trace(
                    now,
                    "nemesis".into(),
                    format!(
                        "cut leader {} of {tp} off from the other brokers{}",
                        leader.0,
                        if from_controller {
                            " and the controller"
                        } else {
                            ""
                        }
                    ),
                );
            }
            None => self.trace(
                now,
                "nemesis".into(),
                format!("{tp} has no leader to cut off"),
            ),
        }
        Ok(())
    }

    /// SIGSTOP: the broker runs nothing until resumed; what reaches it waits.
    fn pause_broker(&mut self, now: SimTime, broker: u32) {
        let Some(b) = self.broker_index(NodeId(broker)) else {
            return;
        };
        if !self.brokers[b].alive || self.paused.contains_key(&b) {
            return;
        }
        self.paused.insert(b, Paused::default());
        self.trace(
            now,
            "nemesis".into(),
            format!("pause broker {broker} (SIGSTOP): no timers, no heartbeats, input waits"),
        );
    }

    /// SIGCONT: what its handler was blocked on sending leaves, its overdue timers fire (a
    /// heartbeat, fetches), then it reads what waited in arrival order: requests queued while
    /// it led meet its stale view until the metadata queued behind them demotes it.
    fn resume_broker(&mut self, now: SimTime, broker: u32) -> Result<(), SimError> {
        let Some(b) = self.broker_index(NodeId(broker)) else {
            return Ok(());
        };
        let Some(paused) = self.paused.remove(&b) else {
            return Ok(());
        };
        self.trace(
            now,
            "nemesis".into(),
            format!(
                "resume broker {broker} (SIGCONT): {} message(s) waited",
                paused.inbox.len() as u32
            ),
        );
        let node = NodeId(broker);
        let held: Outbox = paused
            .outbox
            .into_iter()
            .map(|(to, msg)| (node, to, msg))
            .collect();
        self.send_all(now, held)?;
        let mut out = Outbox::new();
        self.brokers[b].on_timer(now, &mut out);
        self.note_broker(now, b);
        self.send_from_broker(now, b, out)?;
        for (from, msg) in paused.inbox {
            let mut out = Outbox::new();
            self.brokers[b].on_message(now, from, msg, &mut out);
            self.note_broker(now, b);
            self.send_from_broker(now, b, out)?;
        }
        self.reschedule(now, node)
    }

    fn crash_broker(&mut self, now: SimTime, broker: u32, power_loss: bool, torn_write: bool) {
        let Some(b) = self.broker_index(NodeId(broker)) else {
            return;
        };
        if !self.brokers[b].alive {
            return;
        }
        let power_loss = power_loss || torn_write;
        self.trace(
            now,
            "nemesis".into(),
            format!(
                "crash broker {broker}{}",
                match (power_loss, torn_write) {
                    (_, true) => " with power loss tearing its last unsynced append",
                    (true, false) => " with power loss (unsynced page cache lost)",
                    (false, false) => "",
                }
            ),
        );
        // A stopped process can be killed too; what waited for it dies with it.
        self.paused.remove(&b);
        self.brokers[b].crash(power_loss, torn_write);
        self.note_broker(now, b);
        if power_loss {
            self.power_losses.insert(BrokerId(broker));
            self.note_power_loss(BrokerId(broker));
        }
        self.reset_connections(now, NodeId(broker));
    }

    /// A dead process's sockets close: every connection to and from it resets. What was in
    /// flight on them is discarded (never handed to a later incarnation), and the other ends
    /// see a disconnect: producers fail their requests in flight, brokers drop fetches parked
    /// for it and retry their fetches from it after a backoff, the controller has nothing to
    /// undo (fencing goes by heartbeats).
    fn reset_connections(&mut self, now: SimTime, node: NodeId) {
        let peers: Vec<NodeId> = std::iter::once(CONTROLLER_NODE)
            .chain((1..=self.scenario.brokers).map(NodeId))
            .chain(self.client_nodes())
            .filter(|peer| *peer != node)
            .collect();
        let mut disconnects = 0u32;
        let crashed_broker = self.broker_index(node).map(|b| BrokerId(b as u32 + 1));
        for peer in peers {
            self.network.disconnect(now, peer, node);
            disconnects += 1;
            if let Some(b) = self.broker_index(peer) {
                self.brokers[b].on_disconnect(now, node);
            } else if let (Some(p), Some(broker)) = (
                self.producers.iter_mut().find(|p| p.node == peer),
                crashed_broker,
            ) {
                p.on_disconnect(now, broker);
            }
        }
        self.trace(
            now,
            "network".into(),
            format!("{disconnects} connection(s) of node {} reset", node.0),
        );
    }

    /// Records which partitions this power loss can legally lose acknowledged records of: those
    /// whose only in-sync replica it was, and those whose every other replica is down (dead or
    /// paused) at the same moment (a correlated failure, R-8 #4), so no live replica holds what this one lost
    /// from its page cache. Kafka does not fsync; it relies on replicas not failing together.
    fn note_power_loss(&mut self, broker: BrokerId) {
        for row in self.controller.describe() {
            if !row.replicas.contains(&broker) {
                continue;
            }
            let tp = TopicPartition {
                topic: row.topic.clone(),
                partition: row.partition,
            };
            if row.isr == [broker] {
                self.sole_isr_power_losses.insert(tp.clone());
            }
            if row.isr.contains(&broker) {
                self.lossy_isr_members.insert((tp.clone(), broker));
            }
            // A stopped (paused) replica is down too: it serves nothing, and once the
            // controller fences it the replica that just lost its page cache may be the only
            // one left in the ISR.
            let others_down = row.replicas.iter().filter(|r| **r != broker).all(|r| {
                let index = r.0 as usize - 1;
                self.paused.contains_key(&index) || self.brokers.get(index).is_none_or(|b| !b.alive)
            });
            if others_down {
                self.correlated_power_losses.insert(tp);
            }
        }
    }

    /// Follows the ISR members that lost their page cache through the controller's partition
    /// records: one that leaves the ISR is forgotten (rejoining needs a log caught up to the
    /// leader's high watermark, `Partition.isFollowerInSync`); one elected leader while still
    /// in it marks the partition. That is KIP-966's "last replica standing": the controller
    /// fences the other ISR members while the one that lost power is still down, so the ISR
    /// shrinks to it, and `PartitionChangeBuilder` re-elects it when it is unfenced (the ISR
    /// never empties without eligible leader replicas, `eligible.leader.replicas.enable`
    /// false); its log lacks what it lost, and the replicas that hold it truncate to it.
    fn note_lossy_leader(
        &mut self,
        tp: &TopicPartition,
        isr: &[BrokerId],
        leader: Option<BrokerId>,
    ) {
        self.lossy_isr_members
            .retain(|(t, b)| t != tp || isr.contains(b));
        if let Some(leader) = leader {
            if self.lossy_isr_members.contains(&(tp.clone(), leader)) {
                self.lossy_leader_elections.insert(tp.clone());
            }
        }
    }

    /// INV-1 on every live replica, INV-4 via the log's own assertions, INV-5 on the
    /// controller's view; INV-2 (committed-prefix agreement) on live ISR members.
    ///
    /// An event changes only the node it was for (`touched`; `None` for a scenario step, which
    /// may change anything): INV-1 looks at that broker's replicas and INV-5 at the controller
    /// only after the controller's own events, with a full pass every 4,096 events. Walking
    /// every replica and the controller's whole `describe()` after every event was what
    /// clusters of 1,000 partitions and more spent most of their time on.
    fn check_invariants(&mut self, now: SimTime, touched: Option<NodeId>) {
        let full = touched.is_none() || self.steps.is_multiple_of(4_096);
        let mut found = Vec::new();
        for broker in self
            .brokers
            .iter()
            .filter(|b| b.alive)
            .filter(|b| full || touched == Some(NodeId(b.id.0)))
        {
            for (tp, replica) in &broker.replicas {
                let (start, hw, leo) = (
                    replica.log_start_offset(),
                    replica.high_watermark(),
                    replica.log_end_offset(),
                );
                if !(start <= hw && hw <= leo) {
                    found.push((
                        "INV-1",
                        format!(
                            "broker {} {tp}: log start {} <= HW {} <= LEO {} does not hold",
                            broker.id.0, start.0, hw.0, leo.0
                        ),
                    ));
                }
            }
        }
        let controller_rows = if full || touched == Some(CONTROLLER_NODE) {
            self.controller.describe()
        } else {
            Vec::new()
        };
        for row in controller_rows {
            if let Some(leader) = row.leader {
                if !row.isr.contains(&leader) {
                    found.push((
                        "INV-5",
                        format!(
                            "{}-{}: leader {} is not in the ISR",
                            row.topic, row.partition.0, leader.0
                        ),
                    ));
                }
            }
        }
        // Every 64 events, or less often on a large cluster: a round looks at every partition,
        // so a round per 64 events cost a cluster of 3,000 replicas a sixth of its time. One
        // round per 512 replicas' worth of 64 events keeps the check's share flat; a
        // disagreement persists until a truncation, so it is still found, a few hundred events
        // later at most. Clusters under 512 replicas (every drill and test) are unchanged.
        let replicas: usize = self.brokers.iter().map(|b| b.replicas.len()).sum();
        let every = 64 * (1 + replicas as u64 / 512);
        if self.steps.is_multiple_of(every) {
            // Incremental, with a full pass every 64 rounds in case a member rewrote records
            // below what was already checked.
            let mut checked = std::mem::take(&mut self.inv2_checked);
            if self.inv2_round.is_multiple_of(64) {
                checked.clear();
            }
            self.inv2_round += 1;
            found.extend(self.prefix_disagreements(&mut checked, self.inv2_round));
            self.inv2_checked = checked;
        }
        for (invariant, detail) in found {
            if !self.violations.iter().any(|v| v.detail == detail) {
                self.violations.push(Violation {
                    step: self.steps,
                    time: now,
                    invariant,
                    detail,
                });
            }
        }
    }

    /// INV-2: every live ISR member holds the leader's records below the leader's HW, unless an
    /// unclean election happened. Checks every record.
    pub fn committed_prefix_disagreements(&self) -> Vec<(&'static str, String)> {
        self.prefix_disagreements(&mut BTreeMap::new(), 1)
    }

    /// INV-2 from where the last check of each (partition, ISR member) under the same leader
    /// and leader epoch stopped; `checked` is updated in place for the next round, and the
    /// marks this round did not renew (a member out of the ISR, a partition without a leader)
    /// are dropped, so such a member is checked from the log start again. Reading the whole
    /// committed log every time made long runs quadratic; copying every partition's state and
    /// rebuilding the marks every 64 events was most of a large cluster's time after that.
    fn prefix_disagreements(
        &self,
        checked: &mut Inv2Checked,
        round: u64,
    ) -> Vec<(&'static str, String)> {
        let mut found = Vec::new();
        // Before KIP-101 (0.11) Kafka did not keep this promise: a follower that truncates to
        // its own high watermark can keep records that diverge from the new leader's below the
        // HW and rejoin the ISR (KIP-101's scenario 2, drill D5's "loss or divergence"). That
        // is the legacy protocol's behaviour, not the engine's mistake; the history checker
        // still judges what consumers read.
        if self.scenario.broker.replica.follower_truncation
            == crate::broker::config::FollowerTruncation::HighWatermark
        {
            checked.clear();
            return found;
        }
        let mut tp = TopicPartition {
            topic: String::new(),
            partition: PartitionIndex(0),
        };
        for (topic, index, state) in self.controller.partition_states() {
            if tp.topic != topic {
                tp.topic = topic.to_owned();
            }
            tp.partition = PartitionIndex(index);
            if self.unclean_elections.contains(&tp) {
                continue;
            }
            let Some(leader) = state.leader else { continue };
            let Some(leader_node) = self.brokers.get(leader.0 as usize - 1).filter(|b| b.alive)
            else {
                continue;
            };
            let Some(leader_replica) = leader_node.replicas.get(&tp) else {
                continue;
            };
            if !leader_replica.is_leader() {
                continue;
            }
            let hw = leader_replica.high_watermark();
            let log_start = leader_replica.log_start_offset();
            for member in &state.isr {
                if *member == leader {
                    continue;
                }
                let Some(node) = self.brokers.get(member.0 as usize - 1).filter(|b| b.alive) else {
                    continue;
                };
                let Some(replica) = node.replicas.get(&tp) else {
                    continue;
                };
                if !checked.contains_key(&tp) {
                    checked.insert(tp.clone(), BTreeMap::new());
                }
                let Some(marks) = checked.get_mut(&tp) else {
                    continue;
                };
                let since = marks
                    .get(member)
                    .filter(|m| {
                        m.round + 1 == round && m.leader == leader && m.epoch == state.leader_epoch
                    })
                    .map_or(log_start, |m| m.upto);
                let upto = hw.min(replica.log_end_offset());
                let start = since.max(log_start).max(replica.log_start_offset());
                // A member whose log end fell below the mark truncated: check its refetch again.
                marks.insert(
                    *member,
                    Inv2Mark {
                        leader,
                        epoch: state.leader_epoch,
                        upto,
                        round,
                    },
                );
                if start >= upto {
                    continue;
                }
                let mine = leader_replica.log().read_records(start, upto, u32::MAX);
                let theirs = replica.log().read_records(start, upto, u32::MAX);
                let differs = mine.len() != theirs.len()
                    || mine
                        .iter()
                        .zip(&theirs)
                        .any(|(a, b)| a.offset != b.offset || a.value != b.value);
                if differs {
                    found.push((
                        "INV-2",
                        format!(
                            "{}: ISR member {} differs from leader {} below HW {}",
                            tp, member.0, leader.0, hw.0
                        ),
                    ));
                }
            }
        }
        checked.retain(|_, marks| {
            marks.retain(|_, m| m.round == round);
            !marks.is_empty()
        });
        found
    }
}
