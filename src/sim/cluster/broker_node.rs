//! One simulated broker process: its partition replicas, its metadata cache, its idempotent
//! producer state, its simulated disk, and what it is doing with the controller (registration,
//! heartbeats). It reacts to messages and timers and returns messages to send as data; the
//! world carries them. A crash throws away everything but the disk; a restart recovers the
//! partition logs from the disk's surviving bytes and registers again as a new incarnation,
//! and, like a KRaft broker, serves no request until it has replayed the metadata log up to
//! the end the controller reported when it registered.
//!
//! Its disk follows Kafka's flush policy (`flush.messages`, `flush.ms`): a flush the append
//! path asks for blocks the request handler, so what the broker sends next leaves only when
//! the `Sync` completes (`take_blocked_until`); so does every write while the disk is slow.
//! Its wall clock is the true time plus a skew (a clock-skew fault): the logs read their
//! times on it, and so does the produce timestamp check (KIP-937).

use super::coordinator::{
    CoordinatorSettings, GroupCoordinator, PendingGroupAppend, OFFSETS_TOPIC,
};
use super::messages::{Msg, TopicMetadata};
use super::txn_coordinator::{TxnCoordinatorNode, TxnCoordinatorSettings, TxnStateAppend};
use crate::broker::config::ReplicaConfig;
use crate::broker::messages::TxnMarker;
use crate::broker::messages::{
    Acks as ReplicaAcks, AlterPartitionRequest, AlterPartitionResponse, FetchResponse,
    FollowerFetchOutcome, FollowerFetchRequest, ListOffsetsResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse, PartitionEpoch as ReplicaPartitionEpoch, PartitionRegistration,
    ProduceOutcome, ProduceRequest as ReplicaProduceRequest, ReplicaOutput, RequestToken,
};
use crate::broker::producer_state::{ProducerBatchInfo, ProducerStateTable, SequenceCheck};
use crate::broker::replica::PartitionReplica;
use crate::client::producer::Acks as ClientAcks;
use crate::client::producer::{ProducePartitionResponse, ProduceRequest, ProduceResponse};
use crate::client::transactions::TRANSACTION_STATE_TOPIC;
use crate::controller::{MetadataRecord, MetadataUpdate, PartitionState};
use crate::ids::{BrokerId, LeaderEpoch, NodeId, Offset, ProducerId, TopicPartition};
use crate::log::batch::BatchHeader;
use crate::log::config::LogConfig;
use crate::log::config::MessageTimestampType;
use crate::log::control::ControlRecordType;
use crate::log::partition_log::PartitionLog;
use crate::prng::Prng;
use crate::protocol::{BrokerEpoch, ErrorCode};
use crate::sim::disk::{CrashReport, DiskConfig, DiskError, FlushPolicy, FlushState, SimDisk};
use crate::storage::{FileName, RequestId};
use crate::time::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The controller's node on the network.
pub const CONTROLLER_NODE: NodeId = NodeId(0);

/// Broker settings the world hands every broker.
#[derive(Clone, Debug)]
pub struct BrokerTimings {
    pub heartbeat_interval: SimDuration,
    pub fetch_wait_max: SimDuration,
    pub writeback_interval: SimDuration,
    /// `log.retention.check.interval.ms`: how often retention runs over every hosted log.
    pub retention_check_interval: SimDuration,
    pub replica: ReplicaConfig,
    /// The flush policy of every log unless its topic overrides `flush.messages`/`flush.ms`.
    pub flush: FlushPolicy,
    /// `log.message.timestamp.after.max.ms` and `...before.max.ms` (topics override them
    /// without the `log.` prefix).
    pub message_timestamp_after_max_ms: i64,
    pub message_timestamp_before_max_ms: i64,
    /// The group coordinator's settings (`offsets.topic.num.partitions`, group configs).
    pub coordinator: CoordinatorSettings,
    /// The transaction coordinator's settings (`transaction.state.log.num.partitions`,
    /// `transaction.max.timeout.ms`, the timed-out transaction abort interval).
    pub txn_coordinator: TxnCoordinatorSettings,
}

/// A WriteTxnMarkers request being answered: one slot per partition, filled when its marker
/// is written (acks=all) or refused.
#[derive(Clone, Debug)]
struct PendingMarkers {
    coordinator: NodeId,
    transactional_id: String,
    producer_id: crate::ids::ProducerId,
    producer_epoch: crate::ids::ProducerEpoch,
    transaction_commit: bool,
    answers: Vec<(TopicPartition, Option<ErrorCode>)>,
}

/// The block of producer ids a coordinator hands out: its own per broker and incarnation, as
/// the controller's AllocateProducerIds gives each broker blocks that never overlap.
fn producer_id_block(broker: BrokerId, incarnation: u64) -> i64 {
    i64::from(broker.0) * 1_000_000 + (incarnation as i64 % 100) * 10_000
}

/// `replica.fetch.backoff.ms`: how long a follower waits before fetching again after an error
/// or a lost connection to its leader.
const REPLICA_FETCH_BACKOFF_MS: u64 = 1000;

/// One log's standing against its flush policy, and the log end offset it last counted from.
#[derive(Clone)]
struct LogFlush {
    state: FlushState,
    counted_end_offset: Offset,
}

/// A client's produce request waiting for its partitions' answers (acks=all parks some).
#[derive(Clone)]
struct PendingProduce {
    client: NodeId,
    request_id: crate::client::producer::RequestId,
    answers: Vec<Option<ProducePartitionResponse>>,
    tokens: BTreeMap<RequestToken, u32>,
    /// Idempotent batches appended, to record in the producer state once acknowledged.
    expects_response: bool,
}

/// An acks=all retry the idempotent producer check found already appended: like Kafka, whose
/// duplicate append still goes to the produce purgatory with the original batch's offsets, it
/// is answered only once the high watermark passes the original batch (or it times out), never
/// before: an acknowledgement of an uncommitted duplicate could be lost in a failover.
#[derive(Clone)]
struct DuplicateWait {
    key: u64,
    slot: u32,
    topic_partition: TopicPartition,
    first_offset: Offset,
    required_offset: Offset,
    deadline: SimTime,
}

/// A follower fetch the leader holds until data arrives or `replica.fetch.wait.max.ms`.
#[derive(Clone)]
struct ParkedFetch {
    follower: BrokerId,
    correlation: u64,
    topic_partition: TopicPartition,
    request: FollowerFetchRequest,
    deadline: SimTime,
}

#[derive(Clone)]
pub struct BrokerNode {
    pub id: BrokerId,
    pub alive: bool,
    incarnation: u64,
    broker_epoch: Option<BrokerEpoch>,
    registering: bool,
    pub fenced: bool,
    next_heartbeat: SimTime,
    next_writeback: SimTime,
    next_retention_check: SimTime,
    timings: BrokerTimings,
    pub disk: SimDisk,
    next_disk_request: u64,
    /// The next metadata log offset this broker expects: it applies records strictly in order
    /// and the controller resends what it missed when it heartbeats (KRaft's metadata fetch).
    pub next_metadata_offset: u64,
    /// The metadata cache: every partition's state as this broker last heard it.
    partitions: BTreeMap<TopicPartition, PartitionState>,
    topic_partition_counts: BTreeMap<String, u32>,
    /// Per-topic `min.insync.replicas` overrides, from the topic's configs.
    topic_min_isr: BTreeMap<String, u32>,
    /// Every topic's config overrides by Kafka name, from the controller's metadata records:
    /// the log configs among them (`retention.bytes`, `segment.bytes`...) shape its logs.
    topic_configs: BTreeMap<String, BTreeMap<String, String>>,
    pub replicas: BTreeMap<TopicPartition, PartitionReplica>,
    producer_states: BTreeMap<TopicPartition, ProducerStateTable>,
    /// Log files found on the disk at restart, waiting for the metadata that says this broker
    /// hosts them; recovered then, with the topic's log configs (Kafka loads its logs with
    /// the configs of the metadata image).
    recovered: BTreeMap<TopicPartition, Vec<(FileName, Vec<u8>)>>,
    fetch_in_flight: BTreeMap<TopicPartition, SimTime>,
    /// The correlation id of each partition's fetch in flight; other answers are stale.
    fetch_correlation: BTreeMap<TopicPartition, u64>,
    next_correlation: u64,
    parked_fetches: Vec<ParkedFetch>,
    pending_produce: BTreeMap<u64, PendingProduce>,
    duplicate_waits: Vec<DuplicateWait>,
    next_token: u64,
    token_owner: BTreeMap<RequestToken, u64>,
    /// AlterPartition proposals awaiting the controller's answer, with when to resend them:
    /// like Kafka's AlterPartitionManager, a proposal is resent until answered, so a lost
    /// message cannot leave the replica waiting on a change that never comes.
    alter_partition_in_flight: BTreeMap<TopicPartition, (SimTime, AlterPartitionRequest)>,
    /// Recovery notes and state changes, for the trace.
    pub notes: Vec<String>,
    /// Per hosted log, where it stands against its flush policy.
    flushes: BTreeMap<TopicPartition, LogFlush>,
    /// Set when handling an event made the request handler wait for the disk: until then
    /// nothing it sends may leave (the world takes it with `take_blocked_until`).
    blocked_until: Option<SimTime>,
    /// How far this broker's wall clock is off the true time (a clock-skew fault).
    wall_clock_skew_ms: i64,
    /// Whether this incarnation has replayed the metadata log up to `metadata_catch_up_to`;
    /// until then it answers clients and followers with NOT_LEADER_OR_FOLLOWER and keeps the
    /// partition states it replays in its cache only (KRaft's initial catch-up).
    metadata_caught_up: bool,
    /// The metadata log end the controller reported at registration.
    metadata_catch_up_to: Option<u64>,
    /// Partitions whose state arrived during the catch-up, applied when it ends.
    held_partition_states: BTreeSet<TopicPartition>,
    /// Brokers the metadata says are fenced (registered and not yet unfenced, or fenced
    /// since): they may not join an ISR nor hold back a high watermark (KRaft's
    /// `isReplicaIsrEligible`).
    fenced_brokers: BTreeSet<BrokerId>,
    /// The group coordinator for the `__consumer_offsets` partitions this broker leads.
    pub coordinator: GroupCoordinator,
    /// Offset commits appended to an offsets partition, by the replica's request token.
    group_appends: BTreeMap<RequestToken, PendingGroupAppend>,
    /// The transaction coordinator for the `__transaction_state` partitions this broker leads.
    pub txn_coordinator: TxnCoordinatorNode,
    /// Transaction state records appended, by the replica's request token -> transactional id.
    txn_state_appends: BTreeMap<RequestToken, String>,
    /// WriteTxnMarkers requests being answered, by key; and the replica tokens -> (key, slot).
    pending_markers: BTreeMap<u64, PendingMarkers>,
    marker_tokens: BTreeMap<RequestToken, (u64, usize)>,
    /// Produce slots parked until the transaction coordinator verifies the partition (T-3),
    /// by the verification's token.
    verifying: BTreeMap<RequestToken, ParkedVerification>,
    /// Transactional batches of a producer that arrived while an earlier batch of the same
    /// producer to the same partition waits for verification, in arrival order. Kafka reads
    /// a connection's requests one at a time (`SocketServer` mutes the channel until the
    /// answer is sent), so such a batch reaches `ReplicaManager.appendRecords` only after the
    /// one ahead of it was verified and appended: it is checked (and verified, if still
    /// needed) then, not before.
    behind_verification: BTreeMap<(TopicPartition, ProducerId), VecDeque<ProduceSlot>>,
    /// Transactional batches partition verification refused (INVALID_TXN_STATE or
    /// INVALID_PRODUCER_EPOCH), over the broker's life: each a would-be hanging transaction.
    pub verification_refusals: u32,
}

/// A producer's first transactional batch to a partition, waiting for the coordinator's
/// answer (KIP-890 part 1).
#[derive(Clone, Debug)]
struct ParkedVerification {
    /// The produce request (`pending_produce` key) and the slot of this partition.
    key: u64,
    slot: usize,
    topic_partition: TopicPartition,
    producer_id: ProducerId,
    records: Vec<u8>,
    acks: ReplicaAcks,
    timeout_ms: u64,
    coordinator: NodeId,
    deadline: SimTime,
}

/// One partition's batch of a produce request, not yet checked or appended.
#[derive(Clone, Debug)]
struct ProduceSlot {
    key: u64,
    slot: usize,
    topic_partition: TopicPartition,
    transactional_id: String,
    records: Vec<u8>,
    acks: ReplicaAcks,
    timeout_ms: u64,
}

/// Messages to send: (from, to, message).
pub type Outbox = Vec<(NodeId, NodeId, Msg)>;

impl BrokerNode {
    /// The producer state of a hosted partition (`describe-producers`).
    pub fn producer_state(&self, tp: &TopicPartition) -> Option<&ProducerStateTable> {
        self.producer_states.get(tp)
    }

    pub fn new(
        id: BrokerId,
        timings: BrokerTimings,
        disk_prng: Prng,
    ) -> Result<BrokerNode, crate::sim::disk::DiskError> {
        Ok(BrokerNode {
            id,
            alive: false,
            incarnation: 0,
            broker_epoch: None,
            registering: false,
            fenced: true,
            next_heartbeat: SimTime::ZERO,
            next_writeback: SimTime::ZERO,
            next_retention_check: SimTime::ZERO,
            group_appends: BTreeMap::new(),
            disk: SimDisk::new(DiskConfig::default(), disk_prng)?,
            next_disk_request: 0,
            next_metadata_offset: 0,
            partitions: BTreeMap::new(),
            topic_partition_counts: BTreeMap::new(),
            topic_min_isr: BTreeMap::new(),
            topic_configs: BTreeMap::new(),
            replicas: BTreeMap::new(),
            producer_states: BTreeMap::new(),
            recovered: BTreeMap::new(),
            fetch_in_flight: BTreeMap::new(),
            fetch_correlation: BTreeMap::new(),
            next_correlation: 0,
            parked_fetches: Vec::new(),
            pending_produce: BTreeMap::new(),
            duplicate_waits: Vec::new(),
            next_token: 0,
            token_owner: BTreeMap::new(),
            alter_partition_in_flight: BTreeMap::new(),
            notes: Vec::new(),
            flushes: BTreeMap::new(),
            blocked_until: None,
            wall_clock_skew_ms: 0,
            metadata_caught_up: false,
            metadata_catch_up_to: None,
            held_partition_states: BTreeSet::new(),
            fenced_brokers: BTreeSet::new(),
            coordinator: GroupCoordinator::new(timings.coordinator.clone()),
            txn_coordinator: TxnCoordinatorNode::new(
                timings.txn_coordinator.clone(),
                producer_id_block(id, 0),
            ),
            txn_state_appends: BTreeMap::new(),
            pending_markers: BTreeMap::new(),
            marker_tokens: BTreeMap::new(),
            verifying: BTreeMap::new(),
            behind_verification: BTreeMap::new(),
            verification_refusals: 0,
            timings,
        })
    }

    /// Which run of the process this is (1 after the first start; a restart adds one).
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// Whether it has caught up on metadata and serves requests.
    pub fn serving(&self) -> bool {
        self.alive && self.metadata_caught_up
    }

    /// When the request handler stops waiting on the disk, if handling the last event made it
    /// wait: messages it sent meanwhile leave then. Taking it clears it.
    pub fn take_blocked_until(&mut self) -> Option<SimTime> {
        self.blocked_until.take()
    }

    pub fn wall_clock_skew_ms(&self) -> i64 {
        self.wall_clock_skew_ms
    }

    /// The broker's wall clock now, in milliseconds.
    fn wall_ms(&self, now: SimTime) -> i64 {
        now.as_millis().saturating_add(self.wall_clock_skew_ms)
    }

    /// A clock-skew fault: the wall clock reads the true time plus `skew_ms` from now on. Its
    /// logs read their times on it; timers keep measuring durations.
    pub fn set_wall_clock_skew(&mut self, skew_ms: i64) {
        self.wall_clock_skew_ms = skew_ms;
        for replica in self.replicas.values_mut() {
            replica.set_wall_clock_skew_ms(skew_ms);
        }
        self.notes
            .push(format!("wall clock is now the true time {skew_ms:+} ms"));
    }

    /// The slow-disk fault (1 heals it).
    pub fn set_slow_disk(&mut self, factor: u32) -> Result<(), DiskError> {
        self.disk.set_slow(factor)
    }

    fn node(&self) -> NodeId {
        NodeId::from(self.id)
    }

    /// Starts (or restarts) the process: gathers the disk's logs and registers.
    pub fn start(&mut self, now: SimTime, out: &mut Outbox) {
        self.alive = true;
        self.incarnation += 1;
        self.txn_coordinator
            .reset(producer_id_block(self.id, self.incarnation));
        self.broker_epoch = None;
        self.fenced = true;
        self.metadata_caught_up = false;
        self.metadata_catch_up_to = None;
        self.held_partition_states.clear();
        self.recover_logs();
        self.register(now, out);
        self.next_writeback = now.saturating_add(self.timings.writeback_interval);
        self.next_retention_check = now.saturating_add(self.timings.retention_check_interval);
    }

    fn register(&mut self, now: SimTime, out: &mut Outbox) {
        self.registering = true;
        out.push((
            self.node(),
            CONTROLLER_NODE,
            Msg::Register {
                broker: self.id,
                incarnation: self.incarnation,
            },
        ));
        // Retry at the heartbeat cadence until the controller answers (a restart within the
        // old session gets DUPLICATE_BROKER_REGISTRATION until that session expires).
        self.next_heartbeat = now.saturating_add(self.timings.heartbeat_interval);
    }

    /// Kills the process: everything in memory is gone; the disk keeps what it keeps. A power
    /// loss also loses the unsynced page cache, and `torn_write` tears the newest unsynced
    /// append (the caller makes sure a torn write comes with a power loss).
    pub fn crash(&mut self, power_loss: bool, torn_write: bool) -> CrashReport {
        self.alive = false;
        let report = match (power_loss, torn_write) {
            (_, true) => self.disk.crash_with_torn_write(),
            (true, false) => self.disk.crash(),
            (false, false) => self.disk.crash_process(),
        };
        self.notes.push(format!("crash ({:?})", report.kind));
        if let Some(torn) = &report.torn_write {
            self.notes.push(format!(
                "torn write: {} keeps {} of the {} bytes of its last append",
                torn.file, torn.kept_bytes, torn.append_bytes
            ));
        }
        self.broker_epoch = None;
        self.registering = false;
        self.fenced = true;
        self.next_metadata_offset = 0;
        self.partitions.clear();
        self.topic_partition_counts.clear();
        self.topic_min_isr.clear();
        self.topic_configs.clear();
        self.fenced_brokers.clear();
        self.replicas.clear();
        self.producer_states.clear();
        self.recovered.clear();
        self.fetch_in_flight.clear();
        self.parked_fetches.clear();
        self.pending_produce.clear();
        self.duplicate_waits.clear();
        self.token_owner.clear();
        self.alter_partition_in_flight.clear();
        self.flushes.clear();
        self.blocked_until = None;
        self.metadata_caught_up = false;
        self.metadata_catch_up_to = None;
        self.held_partition_states.clear();
        self.coordinator.reset();
        self.group_appends.clear();
        self.txn_coordinator
            .reset(producer_id_block(self.id, self.incarnation + 1));
        self.txn_state_appends.clear();
        self.pending_markers.clear();
        self.marker_tokens.clear();
        self.verifying.clear();
        self.behind_verification.clear();
        report
    }

    /// The connection to `peer` was reset (it crashed, or we did not, but it did): what was in
    /// flight on it is gone. A parked fetch from it is dropped, a fetch from it as leader is
    /// retried after `replica.fetch.backoff.ms`, and answers still owed to it go nowhere.
    pub fn on_disconnect(&mut self, now: SimTime, peer: NodeId) {
        if !self.alive {
            return;
        }
        self.parked_fetches
            .retain(|p| NodeId::from(p.follower) != peer);
        let from_peer: Vec<TopicPartition> = self
            .replicas
            .iter()
            .filter(|(tp, r)| {
                self.fetch_in_flight.contains_key(*tp)
                    && r.fetch_leader().is_some_and(|l| NodeId::from(l) == peer)
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in from_peer {
            self.fetch_correlation.remove(&tp);
            self.fetch_in_flight.insert(
                tp,
                now.saturating_add(SimDuration::from_millis(REPLICA_FETCH_BACKOFF_MS)),
            );
        }
        for pending in self.pending_produce.values_mut() {
            if pending.client == peer {
                pending.expects_response = false;
            }
        }
        // Verifications asked of it fail at the next timer (retriably, for the producer).
        for v in self.verifying.values_mut() {
            if v.coordinator == peer {
                v.deadline = v.deadline.min(now);
            }
        }
        self.txn_coordinator.on_disconnect(now, peer);
    }

    /// Gathers the log files the disk kept, per partition directory; each log is recovered
    /// when the metadata says this broker hosts it, with its topic's configs.
    fn recover_logs(&mut self) {
        let mut by_dir: BTreeMap<String, Vec<(FileName, Vec<u8>)>> = BTreeMap::new();
        for (file, bytes) in self.disk.live_files() {
            by_dir
                .entry(file.dir().to_owned())
                .or_default()
                .push((file, bytes));
        }
        for (dir, files) in by_dir {
            let Some((topic, partition)) = dir.rsplit_once('-') else {
                continue;
            };
            let Ok(partition) = partition.parse::<u32>() else {
                continue;
            };
            let tp = TopicPartition {
                topic: topic.to_owned(),
                partition: crate::ids::PartitionIndex(partition),
            };
            self.recovered.insert(tp, files);
        }
    }

    /// The log configs of a topic: Kafka's defaults with the topic's overrides. A value that
    /// does not parse or validate is noted and the default kept (the controller validated the
    /// topic's configs when it was created, so this is a guard, not a path).
    fn log_config_for(&mut self, topic: &str) -> LogConfig {
        let mut config = LogConfig::default();
        let Some(overrides) = self.topic_configs.get(topic) else {
            return config;
        };
        let mut bad = Vec::new();
        for (key, value) in overrides {
            // Keys that are not log configs (min.insync.replicas, ...) are not ours to check.
            let ok = config.apply_override(key, value).unwrap_or(true);
            if !ok {
                bad.push(format!("{key}={value}"));
            }
        }
        if let Err(e) = config.validate() {
            bad.push(e.to_string());
            config = LogConfig::default();
        }
        if !bad.is_empty() {
            self.notes.push(format!(
                "topic {topic}: log configs ignored: {}",
                bad.join(", ")
            ));
        }
        config
    }

    /// One retention check over every hosted log (Kafka's `kafka-log-retention` task).
    fn run_retention(&mut self, now: SimTime) {
        let mut notes = Vec::new();
        for (tp, replica) in self.replicas.iter_mut() {
            match replica.apply_retention(now) {
                Ok(deleted) => {
                    for d in deleted {
                        notes.push(format!(
                            "{tp}: retention deleted segment {}..{} ({} bytes, {:?}); log start offset {}",
                            d.base_offset.0,
                            d.next_offset.0,
                            d.size_bytes,
                            d.reason,
                            replica.log_start_offset().0
                        ));
                    }
                }
                Err(e) => notes.push(format!("{tp}: retention failed: {e}")),
            }
        }
        self.notes.extend(notes);
        self.flush_storage(now);
    }

    /// The partition's state as this broker's metadata cache has it.
    pub fn cached_partition(&self, tp: &TopicPartition) -> Option<&PartitionState> {
        self.partitions.get(tp)
    }

    /// When this broker next needs to act on its own.
    pub fn next_wakeup(&self) -> Option<SimTime> {
        if !self.alive {
            return None;
        }
        let mut next = self
            .next_heartbeat
            .min(self.next_writeback)
            .min(self.next_retention_check);
        let mut policy = self.flush_policies();
        for (tp, flush) in &self.flushes {
            if let Some(t) = flush.state.flush_due_at(&policy(&tp.topic)) {
                next = next.min(t);
            }
        }
        for replica in self.replicas.values() {
            if let Some(t) = replica.next_wakeup() {
                next = next.min(t);
            }
        }
        for parked in &self.parked_fetches {
            next = next.min(parked.deadline);
        }
        for due in self.fetch_in_flight.values() {
            next = next.min(*due);
        }
        for wait in &self.duplicate_waits {
            next = next.min(wait.deadline);
        }
        for v in self.verifying.values() {
            next = next.min(v.deadline);
        }
        for (resend_at, _) in self.alter_partition_in_flight.values() {
            next = next.min(*resend_at);
        }
        if let Some(t) = self.disk.next_due() {
            next = next.min(t);
        }
        if let Some(t) = self.coordinator.next_deadline() {
            next = next.min(t);
        }
        if let Some(t) = self.txn_coordinator.next_deadline() {
            next = next.min(t);
        }
        Some(next)
    }

    /// Timers: heartbeats, OS writeback, replica checks, parked fetch deadlines, fetch retries.
    pub fn on_timer(&mut self, now: SimTime, out: &mut Outbox) {
        if !self.alive {
            return;
        }
        let expired: Vec<RequestToken> = self
            .verifying
            .iter()
            .filter(|(_, v)| v.deadline <= now)
            .map(|(t, _)| *t)
            .collect();
        for token in expired {
            self.finish_verification(now, token, ErrorCode::RequestTimedOut, out);
        }
        if now >= self.next_heartbeat {
            match self.broker_epoch {
                Some(epoch) => {
                    out.push((
                        self.node(),
                        CONTROLLER_NODE,
                        Msg::Heartbeat {
                            broker: self.id,
                            broker_epoch: epoch,
                            metadata_offset: self.next_metadata_offset,
                        },
                    ));
                    self.next_heartbeat = now.saturating_add(self.timings.heartbeat_interval);
                }
                None => self.register(now, out),
            }
        }
        if now >= self.next_writeback {
            self.submit_disk(now, crate::storage::StorageRequest::Sync);
            self.next_writeback = now.saturating_add(self.timings.writeback_interval);
        }
        // Kafka's log flusher: a log whose flush.ms has passed since its last flush is synced
        // in the background (nothing waits for it).
        let flush_ms_due = {
            let mut policy = self.flush_policies();
            self.flushes
                .iter()
                .any(|(tp, f)| f.state.should_flush(&policy(&tp.topic), now))
        };
        if flush_ms_due {
            self.flush_disk(now, false);
        }
        if now >= self.next_retention_check {
            self.run_retention(now);
            self.next_retention_check = now.saturating_add(self.timings.retention_check_interval);
        }
        let _ = self.disk.poll(now);
        for replica in self.replicas.values_mut() {
            replica.handle_timer(now);
        }
        let (due, keep): (Vec<ParkedFetch>, Vec<ParkedFetch>) =
            std::mem::take(&mut self.parked_fetches)
                .into_iter()
                .partition(|p| now >= p.deadline);
        self.parked_fetches = keep;
        for parked in due {
            self.answer_follower_fetch(
                now,
                parked.follower,
                parked.correlation,
                parked.topic_partition,
                parked.request,
                true,
                out,
            );
        }
        self.resend_alter_partitions(now, out);
        self.start_fetches(now, out);
        self.coordinator.on_timer(now, &self.replicas);
        {
            let partitions = &self.partitions;
            let leader_of = |tp: &TopicPartition| partitions.get(tp).and_then(|s| s.leader);
            self.txn_coordinator
                .on_timer(now, &self.replicas, &leader_of);
        }
        self.drain_replica_outputs(now, out);
    }

    /// Resends each unanswered AlterPartition whose replica still waits for it, with the
    /// current broker epoch; forgets those the replica gave up (a new leader epoch cleared it).
    fn resend_alter_partitions(&mut self, now: SimTime, out: &mut Outbox) {
        let due: Vec<TopicPartition> = self
            .alter_partition_in_flight
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in due {
            let still_pending = self
                .replicas
                .get(&tp)
                .and_then(|r| r.pending_isr().map(|isr| isr.to_vec()));
            let Some((_, request)) = self.alter_partition_in_flight.remove(&tp) else {
                continue;
            };
            if still_pending.as_deref() == Some(request.new_isr.as_slice()) {
                self.send_alter_partition(now, request, out);
            }
        }
    }

    fn send_alter_partition(
        &mut self,
        now: SimTime,
        request: AlterPartitionRequest,
        out: &mut Outbox,
    ) {
        if let Some(epoch) = self.broker_epoch {
            out.push((
                self.node(),
                CONTROLLER_NODE,
                Msg::AlterPartition {
                    broker_epoch: epoch,
                    request: request.clone(),
                },
            ));
        }
        let resend_at = now.saturating_add(self.timings.heartbeat_interval);
        self.alter_partition_in_flight
            .insert(request.topic_partition.clone(), (resend_at, request));
    }

    /// Queues a disk request and returns when it completes.
    fn submit_disk(
        &mut self,
        now: SimTime,
        request: crate::storage::StorageRequest,
    ) -> Option<SimTime> {
        self.next_disk_request += 1;
        match self
            .disk
            .submit(now, RequestId(self.next_disk_request), request)
        {
            Ok(due) => Some(due),
            Err(e) => {
                self.notes.push(format!("disk refused a request: {e:?}"));
                None
            }
        }
    }

    /// The request handler waits for the disk until `due`.
    fn block_until(&mut self, due: SimTime) {
        self.blocked_until = Some(self.blocked_until.map_or(due, |t| t.max(due)));
    }

    /// A log's flush policy: the broker's, with the topic's `flush.messages`/`flush.ms`.
    /// `flush_policy` for a walk over partitions in order: worked out once per run of one
    /// topic's partitions (per partition it was a config parse for each of a thousand logs).
    fn flush_policies(&self) -> impl FnMut(&str) -> FlushPolicy + '_ {
        let mut last: Option<(String, FlushPolicy)> = None;
        move |topic: &str| match &last {
            Some((t, p)) if t == topic => *p,
            _ => {
                let p = self.flush_policy(topic);
                last = Some((topic.to_owned(), p));
                p
            }
        }
    }

    fn flush_policy(&self, topic: &str) -> FlushPolicy {
        let mut policy = self.timings.flush;
        if let Some(configs) = self.topic_configs.get(topic) {
            let parse = |key: &str| configs.get(key).and_then(|v| v.parse::<i64>().ok());
            if let Some(v) = parse("flush.messages").filter(|v| *v >= 1) {
                policy.flush_messages = v;
            }
            if let Some(v) = parse("flush.ms").filter(|v| *v >= 0) {
                policy.flush_ms = v;
            }
        }
        policy
    }

    /// Syncs the disk, which flushes every log on it. `in_request_path`: the append path asked
    /// for it (`flush.messages`), so the request handler waits until it completes.
    fn flush_disk(&mut self, now: SimTime, in_request_path: bool) {
        let due = self.submit_disk(now, crate::storage::StorageRequest::Sync);
        for flush in self.flushes.values_mut() {
            flush.state.flushed(now);
        }
        if let (true, Some(due)) = (in_request_path, due) {
            self.block_until(due);
        }
    }

    /// Sends the logs' pending storage requests to the disk, counts what was appended against
    /// each log's flush policy, and flushes when `flush.messages` asks to.
    fn flush_storage(&mut self, now: SimTime) {
        let mut requests = Vec::new();
        // Only the logs whose end moved since they were counted (or never counted): the others
        // would change nothing below, and walking the flush states beside the replicas (both
        // sorted by partition) spares a lookup and a clone per replica after every event.
        let mut appended: Vec<(TopicPartition, Offset)> = Vec::new();
        let mut counted = self.flushes.iter().peekable();
        for (tp, replica) in self.replicas.iter_mut() {
            requests.extend(replica.take_storage_requests());
            while counted.next_if(|(f, _)| *f < tp).is_some() {}
            let log_end_offset = replica.log_end_offset();
            let unchanged = counted
                .next_if(|(f, _)| *f == tp)
                .is_some_and(|(_, flush)| flush.counted_end_offset == log_end_offset);
            if !unchanged {
                appended.push((tp.clone(), log_end_offset));
            }
        }
        let wrote = !requests.is_empty();
        let mut last_due = None;
        for r in requests {
            last_due = self.submit_disk(now, r).or(last_due);
        }
        // A slow disk blocks the handler on every write (a page-cache write that stalls).
        if let (true, Some(due)) = (wrote && self.disk.slow_factor() > 1, last_due) {
            self.block_until(due);
        }
        let mut flush_now = false;
        for (tp, log_end_offset) in appended {
            let policy = self.flush_policy(&tp.topic);
            let flush = self.flushes.entry(tp).or_insert(LogFlush {
                state: FlushState::new(now),
                counted_end_offset: log_end_offset,
            });
            let count = log_end_offset.0 - flush.counted_end_offset.0;
            if count > 0 {
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                flush_now |= flush.state.appended(&policy, count);
            }
            flush.counted_end_offset = log_end_offset;
        }
        if flush_now {
            self.flush_disk(now, true);
        }
    }

    /// Handles one message addressed to this broker.
    pub fn on_message(&mut self, now: SimTime, from: NodeId, msg: Msg, out: &mut Outbox) {
        if !self.alive {
            return;
        }
        match msg {
            Msg::RegisterResponse {
                result,
                metadata_end_offset,
            } => {
                self.registering = false;
                match result {
                    Ok(epoch) => {
                        self.broker_epoch = Some(epoch);
                        self.next_heartbeat = now;
                        if !self.metadata_caught_up {
                            self.metadata_catch_up_to = Some(metadata_end_offset);
                            self.maybe_finish_catch_up(now);
                        }
                    }
                    Err(code) => self
                        .notes
                        .push(format!("registration refused: {}", code.name())),
                }
            }
            Msg::HeartbeatResponse { error, is_fenced } => {
                if error == ErrorCode::None {
                    self.fenced = is_fenced;
                } else {
                    // A stale broker epoch: this incarnation is fenced; register again.
                    self.broker_epoch = None;
                    self.fenced = true;
                }
            }
            Msg::Metadata {
                update,
                from_offset,
            } => self.apply_metadata(now, *update, from_offset),
            Msg::AlterPartitionResponse {
                topic_partition,
                response,
            } => {
                if let Some(replica) = self.replicas.get_mut(&topic_partition) {
                    if let Err(e) = replica.handle_alter_partition_response(now, response) {
                        self.notes.push(format!("{topic_partition}: {e}"));
                    }
                    if replica.pending_isr().is_none() {
                        self.alter_partition_in_flight.remove(&topic_partition);
                    }
                }
            }
            // Until it has caught up on metadata a starting broker turns requests away: it does
            // not yet know which partitions it leads.
            Msg::FollowerFetch {
                topic_partition,
                request,
                correlation,
            } if !self.metadata_caught_up => out.push((
                self.node(),
                from,
                Msg::FollowerFetchResponse {
                    topic_partition,
                    request,
                    response: FetchResponse::error(ErrorCode::NotLeaderOrFollower),
                    correlation,
                },
            )),
            Msg::MetadataRequest { topic } if !self.metadata_caught_up => {
                let metadata = TopicMetadata {
                    topic,
                    leaders: Vec::new(),
                    leader_epochs: Vec::new(),
                };
                out.push((self.node(), from, Msg::MetadataResponse { metadata }));
            }
            Msg::Produce(request) if !self.metadata_caught_up => {
                let response = ProduceResponse {
                    request_id: request.request_id,
                    partitions: request
                        .partitions
                        .iter()
                        .map(|p| ProducePartitionResponse {
                            topic_partition: p.topic_partition.clone(),
                            error: ErrorCode::NotLeaderOrFollower,
                            base_offset: Offset(-1),
                            log_start_offset: Offset(-1),
                        })
                        .collect(),
                };
                if request.expects_response() {
                    out.push((self.node(), from, Msg::ProduceResponse(response)));
                }
            }
            Msg::ConsumerFetch {
                topic_partition,
                request,
            } if !self.metadata_caught_up => out.push((
                self.node(),
                from,
                Msg::ConsumerFetchResponse {
                    topic_partition,
                    request,
                    response: FetchResponse::error(ErrorCode::NotLeaderOrFollower),
                },
            )),
            Msg::FollowerFetch {
                topic_partition,
                request,
                correlation,
            } => {
                let follower = BrokerId(from.0);
                self.answer_follower_fetch(
                    now,
                    follower,
                    correlation,
                    topic_partition,
                    request,
                    false,
                    out,
                );
            }
            // Only the answer to the fetch in flight counts; a duplicate or late one is stale.
            Msg::FollowerFetchResponse {
                topic_partition,
                request,
                response,
                correlation,
            } if self.fetch_correlation.get(&topic_partition) == Some(&correlation) => {
                self.on_follower_fetch_response(now, topic_partition, request, response);
            }
            Msg::MetadataRequest { topic } => {
                let metadata = self.topic_metadata(&topic);
                out.push((self.node(), from, Msg::MetadataResponse { metadata }));
            }
            Msg::Produce(request) => self.on_produce(now, from, request, out),
            Msg::ConsumerFetch {
                topic_partition,
                request,
            } => {
                let response = match self.replicas.get_mut(&topic_partition) {
                    Some(replica) => replica
                        .handle_consumer_fetch(now, &request)
                        .unwrap_or_else(|_| FetchResponse::error(ErrorCode::UnknownServerError)),
                    None => FetchResponse::error(ErrorCode::NotLeaderOrFollower),
                };
                out.push((
                    self.node(),
                    from,
                    Msg::ConsumerFetchResponse {
                        topic_partition,
                        request,
                        response,
                    },
                ));
            }
            Msg::OffsetsForLeaderEpoch {
                topic_partition,
                request,
            } => {
                let response = self.offsets_for_leader_epoch(&topic_partition, request);
                out.push((
                    self.node(),
                    from,
                    Msg::OffsetsForLeaderEpochResponse {
                        topic_partition,
                        request,
                        response,
                    },
                ));
            }
            Msg::FindCoordinator { group_id } => {
                let (error, coordinator) = self.find_coordinator(&group_id);
                out.push((
                    self.node(),
                    from,
                    Msg::FindCoordinatorResponse {
                        group_id,
                        error,
                        coordinator,
                    },
                ));
            }
            Msg::FindTransactionCoordinator { transactional_id } => {
                let (error, coordinator) = self.find_transaction_coordinator(&transactional_id);
                out.push((
                    self.node(),
                    from,
                    Msg::FindTransactionCoordinatorResponse {
                        transactional_id,
                        error,
                        coordinator,
                    },
                ));
            }
            msg @ (Msg::InitProducerId { .. }
            | Msg::AddPartitionsToTxn { .. }
            | Msg::AddOffsetsToTxn { .. }
            | Msg::EndTxn { .. }) => {
                // A broker still replaying metadata leads nothing yet: NOT_COORDINATOR.
                self.txn_coordinator.on_request(now, from, msg);
            }
            Msg::WriteTxnMarkers {
                transactional_id,
                producer_id,
                producer_epoch,
                coordinator_epoch,
                transaction_commit,
                partitions,
            } => {
                let pending = PendingMarkers {
                    coordinator: from,
                    transactional_id,
                    producer_id,
                    producer_epoch,
                    transaction_commit,
                    answers: partitions.into_iter().map(|tp| (tp, None)).collect(),
                };
                self.write_txn_markers(now, pending, coordinator_epoch, out);
            }
            Msg::VerifyTxnPartition {
                token,
                transactional_id,
                producer_id,
                producer_epoch,
                partition,
            } => self.txn_coordinator.on_verify(
                from,
                token,
                &transactional_id,
                producer_id,
                producer_epoch,
                &partition,
            ),
            Msg::VerifyTxnPartitionResponse { token, error } => {
                self.finish_verification(now, token, error, out);
            }
            Msg::WriteTxnMarkersResponse {
                transactional_id,
                producer_id,
                producer_epoch,
                errors,
                ..
            } => {
                self.txn_coordinator.on_markers_response(
                    now,
                    &transactional_id,
                    producer_id,
                    producer_epoch,
                    errors,
                );
            }
            msg @ (Msg::JoinGroup { .. }
            | Msg::SyncGroup { .. }
            | Msg::GroupHeartbeat { .. }
            | Msg::LeaveGroup { .. }
            | Msg::OffsetCommit { .. }
            | Msg::TxnOffsetCommit { .. }
            | Msg::OffsetFetch { .. }) => {
                if let Some(append) = self.coordinator.on_request(now, from, msg) {
                    self.append_offset_commit(now, append, out);
                }
            }
            Msg::ListOffsets {
                topic_partition,
                request,
            } => {
                let response = match self.replicas.get(&topic_partition) {
                    Some(replica) => replica.handle_list_offsets(&request),
                    None => ListOffsetsResponse::error(self.not_hosted_error(&topic_partition)),
                };
                out.push((
                    self.node(),
                    from,
                    Msg::ListOffsetsResponse {
                        topic_partition,
                        request,
                        response,
                    },
                ));
            }
            _ => {}
        }
        self.start_fetches(now, out);
        self.drain_replica_outputs(now, out);
    }

    /// A consumer's OffsetsForLeaderEpoch (R-12): the leader answers from its leader-epoch
    /// cache, with KIP-320's epoch fencing; a broker without the partition answers like Kafka's
    /// `ReplicaManager.getPartitionOrError`.
    pub fn offsets_for_leader_epoch(
        &self,
        tp: &TopicPartition,
        request: OffsetForLeaderEpochRequest,
    ) -> OffsetForLeaderEpochResponse {
        match self.replicas.get(tp) {
            Some(replica) => replica.handle_offsets_for_leader_epoch(
                request.current_leader_epoch,
                request.leader_epoch,
            ),
            None => OffsetForLeaderEpochResponse::error(self.not_hosted_error(tp)),
        }
    }

    /// NOT_LEADER_OR_FOLLOWER for a partition the metadata cache knows but this broker does not
    /// host, UNKNOWN_TOPIC_OR_PARTITION for one it has never heard of.
    fn not_hosted_error(&self, tp: &TopicPartition) -> ErrorCode {
        if self.partitions.contains_key(tp) {
            ErrorCode::NotLeaderOrFollower
        } else {
            ErrorCode::UnknownTopicOrPartition
        }
    }

    fn topic_metadata(&self, topic: &str) -> TopicMetadata {
        let count = self.topic_partition_counts.get(topic).copied().unwrap_or(0);
        let mut leaders = Vec::new();
        let mut leader_epochs = Vec::new();
        for p in 0..count {
            let tp = TopicPartition {
                topic: topic.to_owned(),
                partition: crate::ids::PartitionIndex(p),
            };
            let state = self.partitions.get(&tp);
            leaders.push(state.and_then(|s| s.leader));
            leader_epochs.push(state.map_or(-1, |s| s.leader_epoch.0));
        }
        TopicMetadata {
            topic: topic.to_owned(),
            leaders,
            leader_epochs,
        }
    }

    /// Ends the initial metadata catch-up once the replay reached the end the controller
    /// reported at registration: the partition states held meanwhile take effect, in one go,
    /// and the broker starts serving requests.
    fn maybe_finish_catch_up(&mut self, now: SimTime) {
        let Some(target) = self.metadata_catch_up_to else {
            return;
        };
        if self.metadata_caught_up || self.next_metadata_offset < target {
            return;
        }
        self.metadata_caught_up = true;
        self.notes.push(format!(
            "caught up on metadata at offset {}: serving requests",
            self.next_metadata_offset
        ));
        for tp in std::mem::take(&mut self.held_partition_states) {
            if let Some(state) = self.partitions.get(&tp).cloned() {
                self.apply_partition_state(now, tp, state);
            }
        }
    }

    fn apply_metadata(&mut self, now: SimTime, update: MetadataUpdate, from_offset: u64) {
        let Ok(offset) = u64::try_from(update.offset.0) else {
            return;
        };
        if !(from_offset <= self.next_metadata_offset && self.next_metadata_offset <= offset) {
            return; // A gap or a repeat: the controller resends from our offset on heartbeat.
        }
        self.next_metadata_offset = offset + 1;
        self.apply_metadata_record(now, update);
        self.maybe_finish_catch_up(now);
    }

    fn apply_metadata_record(&mut self, now: SimTime, update: MetadataUpdate) {
        match update.record {
            MetadataRecord::Topic {
                name,
                partitions,
                configs,
            } => {
                if let Some(min_isr) = configs
                    .get("min.insync.replicas")
                    .and_then(|v| v.parse::<u32>().ok())
                {
                    self.topic_min_isr.insert(name.clone(), min_isr);
                }
                self.topic_configs.insert(name.clone(), configs);
                self.topic_partition_counts.insert(name, partitions);
            }
            MetadataRecord::TopicConfig {
                ref name,
                ref key,
                ref value,
            } if key != "min.insync.replicas" => {
                // Logs already open keep their configs until this broker restarts (Kafka
                // reconfigures them live; no drill changes log configs mid-run yet).
                let configs = self.topic_configs.entry(name.clone()).or_default();
                match value {
                    Some(v) => configs.insert(key.clone(), v.clone()),
                    None => configs.remove(key),
                };
            }
            MetadataRecord::TopicConfig { name, key, value } if key == "min.insync.replicas" => {
                match value.and_then(|v| v.parse::<u32>().ok()) {
                    Some(min_isr) => self.topic_min_isr.insert(name, min_isr),
                    None => self.topic_min_isr.remove(&name),
                };
            }
            MetadataRecord::Partition {
                topic_partition,
                state,
                ..
            } if !self.metadata_caught_up => {
                // Catching up: cache only; the replica acts on the final state.
                self.topic_partition_counts
                    .entry(topic_partition.topic.clone())
                    .and_modify(|c| *c = (*c).max(topic_partition.partition.0 + 1))
                    .or_insert(topic_partition.partition.0 + 1);
                self.partitions.insert(topic_partition.clone(), state);
                self.held_partition_states.insert(topic_partition);
            }
            MetadataRecord::Partition {
                topic_partition,
                state,
                ..
            } => self.apply_partition_state(now, topic_partition, state),
            MetadataRecord::RegisterBroker { broker, .. }
            | MetadataRecord::FenceBroker { broker, .. } => {
                self.fenced_brokers.insert(broker);
                self.share_fenced_brokers();
            }
            MetadataRecord::UnfenceBroker { broker, .. } => {
                self.fenced_brokers.remove(&broker);
                self.share_fenced_brokers();
            }
            _ => {}
        }
    }

    /// Tells every hosted replica which brokers are fenced.
    fn share_fenced_brokers(&mut self) {
        for replica in self.replicas.values_mut() {
            replica.set_isr_ineligible(self.fenced_brokers.clone());
        }
    }

    fn apply_partition_state(&mut self, now: SimTime, tp: TopicPartition, state: PartitionState) {
        self.topic_partition_counts
            .entry(tp.topic.clone())
            .and_modify(|c| *c = (*c).max(tp.partition.0 + 1))
            .or_insert(tp.partition.0 + 1);
        self.partitions.insert(tp.clone(), state.clone());
        if !state.replicas.contains(&self.id) {
            self.replicas.remove(&tp);
            self.flushes.remove(&tp);
            if tp.topic == OFFSETS_TOPIC {
                self.coordinator.on_leadership(now, tp.partition.0, false);
            }
            if tp.topic == TRANSACTION_STATE_TOPIC {
                self.txn_coordinator.on_leadership(
                    now,
                    tp.partition.0,
                    false,
                    state.leader_epoch.0,
                );
            }
            return;
        }
        if !self.replicas.contains_key(&tp) {
            let log_config = self.log_config_for(&tp.topic);
            let wall_ms = self.wall_ms(now);
            let log = match self.recovered.remove(&tp) {
                Some(files) => {
                    match PartitionLog::recover(tp.clone(), log_config, files, wall_ms) {
                        Ok((log, report)) => {
                            for note in report.notes() {
                                self.notes.push(format!("recovered {tp}: {note}"));
                            }
                            Ok(log)
                        }
                        Err(e) => Err(format!("cannot recover: {e}")),
                    }
                }
                None => {
                    PartitionLog::new(tp.clone(), log_config, wall_ms).map_err(|e| e.to_string())
                }
            };
            let log = log.map(|mut log| {
                log.set_wall_clock_skew_ms(self.wall_clock_skew_ms);
                log
            });
            let mut config = self.timings.replica.clone();
            if let Some(min_isr) = self.topic_min_isr.get(&tp.topic) {
                config.min_insync_replicas = *min_isr;
            }
            let replica = log.and_then(|log| {
                PartitionReplica::new(self.id, log, config, now).map_err(|e| e.to_string())
            });
            match replica {
                Ok(mut r) => {
                    r.set_isr_ineligible(self.fenced_brokers.clone());
                    self.replicas.insert(tp.clone(), r);
                }
                Err(e) => {
                    self.notes.push(format!("cannot host {tp}: {e}"));
                    return;
                }
            }
        }
        let registration = PartitionRegistration {
            replicas: state.replicas.clone(),
            isr: state.isr.clone(),
            leader: state.leader,
            leader_epoch: LeaderEpoch(state.leader_epoch.0),
            partition_epoch: ReplicaPartitionEpoch(state.partition_epoch.0),
        };
        let Some(replica) = self.replicas.get_mut(&tp) else {
            return;
        };
        let was_leader = replica.is_leader();
        match replica.apply_registration(now, registration) {
            Ok(_) => {
                if replica.is_leader() && !was_leader {
                    // A new leader rebuilds the idempotent producer state from its log.
                    let mut table = ProducerStateTable::new();
                    let headers = replica.log().batch_headers();
                    table.rebuild_from_log(headers.iter());
                    self.producer_states.insert(tp.clone(), table);
                }
                if !replica.is_leader() {
                    self.producer_states.remove(&tp);
                }
                if tp.topic == OFFSETS_TOPIC {
                    let leads = replica.is_leader();
                    self.coordinator.on_leadership(now, tp.partition.0, leads);
                }
                if tp.topic == TRANSACTION_STATE_TOPIC {
                    let leads = replica.is_leader();
                    self.txn_coordinator.on_leadership(
                        now,
                        tp.partition.0,
                        leads,
                        state.leader_epoch.0,
                    );
                }
            }
            Err(e) => self.notes.push(format!(
                "{tp}: cannot take up its role from the metadata: {e}"
            )),
        }
        self.fetch_in_flight.remove(&tp);
        self.flush_storage(now);
    }

    fn start_fetches(&mut self, now: SimTime, out: &mut Outbox) {
        // One ordered walk over the replicas beside the fetches in flight (both maps are keyed
        // and sorted by partition), so a broker with a thousand replicas does no lookup, clone
        // or allocation for the ones with a fetch out or nothing to fetch: this ran after
        // every event and was most of a large cluster's time.
        let mut starts: Vec<(TopicPartition, BrokerId, _)> = Vec::new();
        let mut leaders_in_flight: Vec<TopicPartition> = Vec::new();
        let mut in_flight = self.fetch_in_flight.iter().peekable();
        for (tp, replica) in &self.replicas {
            while in_flight.next_if(|(f, _)| *f < tp).is_some() {}
            let due = in_flight.next_if(|(f, _)| *f == tp).map(|(_, due)| *due);
            if due.is_some_and(|due| due > now) {
                continue;
            }
            if replica.is_leader() {
                if due.is_some() {
                    leaders_in_flight.push(tp.clone());
                }
                continue;
            }
            if let (Some(leader), Some(request)) =
                (replica.fetch_leader(), replica.next_fetch_request())
            {
                starts.push((tp.clone(), leader, request));
            }
        }
        for tp in leaders_in_flight {
            self.fetch_in_flight.remove(&tp);
        }
        for (tp, leader, mut request) in starts {
            request.replica_epoch = self.broker_epoch;
            // If no answer comes (a dead or cut-off leader), try again after the fetch wait
            // plus a request timeout's worth of slack.
            let retry =
                now.saturating_add(SimDuration(self.timings.fetch_wait_max.0.saturating_mul(4)));
            self.fetch_in_flight.insert(tp.clone(), retry);
            self.next_correlation += 1;
            self.fetch_correlation
                .insert(tp.clone(), self.next_correlation);
            out.push((
                self.node(),
                NodeId::from(leader),
                Msg::FollowerFetch {
                    topic_partition: tp,
                    request,
                    correlation: self.next_correlation,
                },
            ));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn answer_follower_fetch(
        &mut self,
        now: SimTime,
        follower: BrokerId,
        correlation: u64,
        tp: TopicPartition,
        request: FollowerFetchRequest,
        deadline_passed: bool,
        out: &mut Outbox,
    ) {
        let response = match self.replicas.get_mut(&tp) {
            Some(replica) => match replica.handle_follower_fetch(now, &request) {
                Ok(r) => r,
                Err(e) => {
                    self.notes.push(format!(
                        "{tp}: follower fetch answered UNKNOWN_SERVER_ERROR: {e}"
                    ));
                    FetchResponse::error(ErrorCode::UnknownServerError)
                }
            },
            None => FetchResponse::error(ErrorCode::NotLeaderOrFollower),
        };
        // Like Kafka's DelayedFetch: with nothing new to send, hold the fetch until data
        // arrives or replica.fetch.wait.max.ms passes.
        let empty = response.error == ErrorCode::None
            && response.records.is_empty()
            && response.diverging_epoch.is_none();
        if empty && !deadline_passed {
            self.parked_fetches.push(ParkedFetch {
                follower,
                correlation,
                topic_partition: tp,
                request,
                deadline: now.saturating_add(self.timings.fetch_wait_max),
            });
            return;
        }
        out.push((
            self.node(),
            NodeId::from(follower),
            Msg::FollowerFetchResponse {
                topic_partition: tp,
                request,
                response,
                correlation,
            },
        ));
        self.drain_replica_outputs(now, out);
    }

    fn wake_parked_fetches(&mut self, now: SimTime, tp: &TopicPartition, out: &mut Outbox) {
        let (ready, keep): (Vec<ParkedFetch>, Vec<ParkedFetch>) =
            std::mem::take(&mut self.parked_fetches)
                .into_iter()
                .partition(|p| &p.topic_partition == tp);
        self.parked_fetches = keep;
        for parked in ready {
            self.answer_follower_fetch(
                now,
                parked.follower,
                parked.correlation,
                parked.topic_partition,
                parked.request,
                true,
                out,
            );
        }
    }

    fn on_follower_fetch_response(
        &mut self,
        now: SimTime,
        tp: TopicPartition,
        request: FollowerFetchRequest,
        response: FetchResponse,
    ) {
        self.fetch_in_flight.remove(&tp);
        let Some(replica) = self.replicas.get_mut(&tp) else {
            return;
        };
        match replica.handle_fetch_response(now, &request, response) {
            Ok(FollowerFetchOutcome::Backoff(_)) => {
                // Back off like replica.fetch.backoff.ms before asking again.
                self.fetch_in_flight.insert(
                    tp,
                    now.saturating_add(SimDuration::from_millis(REPLICA_FETCH_BACKOFF_MS)),
                );
            }
            Ok(_) => {}
            Err(e) => self
                .notes
                .push(format!("{tp}: fetched records not applied: {e}")),
        }
        self.flush_storage(now);
    }

    fn on_produce(
        &mut self,
        now: SimTime,
        client: NodeId,
        request: ProduceRequest,
        out: &mut Outbox,
    ) {
        let key = self.next_token;
        self.next_token += 1;
        let mut pending = PendingProduce {
            client,
            request_id: request.request_id,
            answers: vec![None; request.partitions.len()],
            tokens: BTreeMap::new(),
            expects_response: request.expects_response(),
        };
        let acks = match request.acks {
            ClientAcks::None => ReplicaAcks::Zero,
            ClientAcks::Leader => ReplicaAcks::One,
            ClientAcks::All => ReplicaAcks::All,
        };
        let mut appended: Vec<TopicPartition> = Vec::new();
        for (i, data) in request.partitions.iter().enumerate() {
            let tp = data.topic_partition.clone();
            let answer = |error: ErrorCode, base: Offset| ProducePartitionResponse {
                topic_partition: tp.clone(),
                error,
                base_offset: base,
                log_start_offset: Offset(-1),
            };
            let header = BatchHeader::parse(&data.records);
            let leads = self.replicas.get(&tp).is_some_and(|r| r.is_leader());
            if let Ok(header) = &header {
                if leads && self.timestamp_out_of_bounds(&tp.topic, header, now) {
                    self.notes.push(format!(
                        "{tp}: INVALID_TIMESTAMP: record timestamps {}..={} against the broker clock {}",
                        header.base_timestamp, header.max_timestamp, self.wall_ms(now)
                    ));
                    pending.answers[i] = Some(answer(ErrorCode::InvalidTimestamp, Offset(-1)));
                    continue;
                }
            }
            let Some(replica) = self.replicas.get_mut(&tp) else {
                pending.answers[i] = Some(answer(ErrorCode::NotLeaderOrFollower, Offset(-1)));
                continue;
            };
            let info = header.as_ref().ok().map(ProducerBatchInfo::from_header);
            // T-3 (KIP-890 part 1): a producer's first transactional batch to this partition
            // waits for the coordinator to confirm the partition is in its transaction
            // (`ReplicaManager.appendRecords` hands it to `AddPartitionsToTxnManager` first).
            // The duplicate and sequence checks (`UnifiedLog.analyzeAndValidateProducerState`)
            // run only once it is appended, after the verification returns.
            if let (Some(info), Some(id)) = (&info, request.transactional_id.as_deref()) {
                let transactional = replica.is_leader()
                    && header.as_ref().is_ok_and(|h| h.attributes.is_transactional);
                let verify = self.timings.txn_coordinator.partition_verification
                    && transactional
                    && !replica.transaction_open_for(info.producer_id);
                let queue_key = (tp.clone(), info.producer_id);
                let produce_slot = ProduceSlot {
                    key,
                    slot: i,
                    topic_partition: tp.clone(),
                    transactional_id: id.to_string(),
                    records: data.records.clone(),
                    acks,
                    timeout_ms: request.timeout_ms,
                };
                if transactional && self.verification_pending(&tp, info.producer_id) {
                    // An earlier batch of this producer is still being verified: this one
                    // is appended (or verified) after it, in order.
                    self.behind_verification
                        .entry(queue_key)
                        .or_default()
                        .push_back(produce_slot);
                    continue;
                }
                if verify {
                    let info = *info;
                    self.start_verification(now, &info, produce_slot, &mut pending, out);
                    continue;
                }
            }
            if self.answer_from_producer_state(
                now,
                &mut pending,
                key,
                i,
                &tp,
                info.as_ref(),
                acks,
                request.timeout_ms,
            ) {
                continue;
            }
            if self.append_client_batch(
                now,
                &mut pending,
                key,
                i,
                &tp,
                &data.records,
                info,
                acks,
                request.timeout_ms,
            ) {
                appended.push(tp.clone());
            }
        }
        self.pending_produce.insert(key, pending);
        self.flush_storage(now);
        for tp in appended {
            self.wake_parked_fetches(now, &tp, out);
        }
        self.finish_produce(key, out);
    }

    /// The idempotent producer checks of `UnifiedLog.analyzeAndValidateProducerState`
    /// (`ProducerAppendInfo.checkSequence`) on the leader, just before the append: a retried
    /// batch inside the five-batch window is answered with its original offsets (once they
    /// are committed, under acks=all) and not appended again (P-6); a sequence or epoch error
    /// is answered. Returns whether the slot was answered (or parked as a duplicate), so the
    /// batch must not be appended.
    #[allow(clippy::too_many_arguments)]
    fn answer_from_producer_state(
        &mut self,
        now: SimTime,
        pending: &mut PendingProduce,
        key: u64,
        slot: usize,
        tp: &TopicPartition,
        info: Option<&ProducerBatchInfo>,
        acks: ReplicaAcks,
        timeout_ms: u64,
    ) -> bool {
        let Some(replica) = self.replicas.get(tp).filter(|r| r.is_leader()) else {
            return false;
        };
        // Only the min.insync.replicas check of an acks=all produce comes first, as in
        // Kafka's Partition.appendRecordsToLeader, which refuses with NOT_ENOUGH_REPLICAS
        // before UnifiedLog.appendAsLeader validates sequences: while the ISR is too small, a
        // batch after an expired one gets NOT_ENOUGH_REPLICAS, not OUT_OF_ORDER_SEQUENCE_NUMBER,
        // and a duplicate is not acknowledged. The replica's append gives that answer.
        if acks == ReplicaAcks::All && (replica.isr().len() as u32) < replica.effective_min_isr() {
            return false;
        }
        let (Some(info), Some(table)) = (info, self.producer_states.get(tp)) else {
            return false;
        };
        let answer = |error: ErrorCode, base: Offset| ProducePartitionResponse {
            topic_partition: tp.clone(),
            error,
            base_offset: base,
            log_start_offset: Offset(-1),
        };
        match table.check_client_batch(info) {
            Ok(SequenceCheck::Duplicate {
                first_offset,
                last_offset,
            }) => {
                let required_offset = last_offset.plus(1);
                if acks == ReplicaAcks::All && replica.high_watermark() < required_offset {
                    self.duplicate_waits.push(DuplicateWait {
                        key,
                        slot: slot as u32,
                        topic_partition: tp.clone(),
                        first_offset,
                        required_offset,
                        deadline: now.saturating_add(SimDuration::from_millis(timeout_ms)),
                    });
                } else {
                    pending.answers[slot] = Some(answer(ErrorCode::None, first_offset));
                }
                true
            }
            Ok(_) => false,
            Err(code) => {
                pending.answers[slot] = Some(answer(code, Offset(-1)));
                true
            }
        }
    }

    /// Whether a batch of `producer_id` to `tp` is being verified or waits behind one.
    fn verification_pending(&self, tp: &TopicPartition, producer_id: ProducerId) -> bool {
        self.verifying
            .values()
            .any(|v| v.producer_id == producer_id && &v.topic_partition == tp)
            || self
                .behind_verification
                .get(&(tp.clone(), producer_id))
                .is_some_and(|q| !q.is_empty())
    }

    /// Appends a client's batch to its replica (the idempotence checks passed): answers the
    /// slot at once, or parks it for the high watermark (acks=all). Returns whether the batch
    /// went into the log.
    #[allow(clippy::too_many_arguments)]
    fn append_client_batch(
        &mut self,
        now: SimTime,
        pending: &mut PendingProduce,
        key: u64,
        slot: usize,
        tp: &TopicPartition,
        records: &[u8],
        info: Option<ProducerBatchInfo>,
        acks: ReplicaAcks,
        timeout_ms: u64,
    ) -> bool {
        let answer = |error: ErrorCode, base: Offset| ProducePartitionResponse {
            topic_partition: tp.clone(),
            error,
            base_offset: base,
            log_start_offset: Offset(-1),
        };
        let Some(replica) = self.replicas.get_mut(tp) else {
            pending.answers[slot] = Some(answer(ErrorCode::NotLeaderOrFollower, Offset(-1)));
            return false;
        };
        self.next_token += 1;
        let token = RequestToken(self.next_token);
        let replica_request = ReplicaProduceRequest {
            acks,
            timeout_ms: u32::try_from(timeout_ms).unwrap_or(u32::MAX),
            records: records.to_vec(),
            current_leader_epoch: None,
        };
        match replica.handle_produce(now, token, &replica_request) {
            Ok(ProduceOutcome::Respond(r)) => {
                let ok = r.error == ErrorCode::None;
                if ok {
                    if let (Some(info), Some(table)) = (info, self.producer_states.get_mut(tp)) {
                        table.on_append(&with_offsets(info, r.base_offset));
                    }
                }
                pending.answers[slot] = Some(answer(r.error, r.base_offset));
                ok
            }
            Ok(ProduceOutcome::NoResponse { .. }) => {
                pending.answers[slot] = Some(answer(ErrorCode::None, Offset(-1)));
                true
            }
            Ok(ProduceOutcome::Parked) => {
                // Appended; the answer waits for the high watermark (acks=all).
                if let (Some(info), Some(table)) = (info, self.producer_states.get_mut(tp)) {
                    let count = info.last_offset.0 - info.first_offset.0 + 1;
                    table.on_append(&with_offsets(info, replica.log_end_offset().plus(-count)));
                }
                pending.tokens.insert(token, slot as u32);
                self.token_owner.insert(token, key);
                true
            }
            Err(e) => {
                self.notes
                    .push(format!("{tp}: produce answered UNKNOWN_SERVER_ERROR: {e}"));
                pending.answers[slot] = Some(answer(ErrorCode::UnknownServerError, Offset(-1)));
                false
            }
        }
    }

    /// Parks a producer's first transactional batch to `tp` and asks the transactional id's
    /// coordinator to verify it (AddPartitionsToTxn with `verifyOnly`, KIP-890 part 1).
    fn start_verification(
        &mut self,
        now: SimTime,
        info: &ProducerBatchInfo,
        produce_slot: ProduceSlot,
        pending: &mut PendingProduce,
        out: &mut Outbox,
    ) {
        let ProduceSlot {
            key,
            slot,
            topic_partition: tp,
            transactional_id,
            records,
            acks,
            timeout_ms,
        } = produce_slot;
        let (error, coordinator) = self.find_transaction_coordinator(&transactional_id);
        let Some(coordinator) = coordinator.filter(|_| error == ErrorCode::None) else {
            // No coordinator known: Kafka answers a retriable error the producer retries.
            pending.answers[slot] = Some(ProducePartitionResponse {
                topic_partition: tp,
                error: ErrorCode::NotEnoughReplicas,
                base_offset: Offset(-1),
                log_start_offset: Offset(-1),
            });
            return;
        };
        self.next_token += 1;
        let token = RequestToken(self.next_token);
        let coordinator = NodeId::from(coordinator);
        self.notes.push(format!(
            "{tp}: first transactional batch of producer id {} epoch {}: asking the transaction coordinator (broker {}) to verify {transactional_id}'s transaction includes it",
            info.producer_id.0, info.producer_epoch.0, coordinator.0
        ));
        if coordinator == self.node() {
            // This broker coordinates it: ask itself (no network hop).
            self.txn_coordinator.on_verify(
                coordinator,
                token,
                &transactional_id,
                info.producer_id,
                info.producer_epoch,
                &tp,
            );
        } else {
            out.push((
                self.node(),
                coordinator,
                Msg::VerifyTxnPartition {
                    token,
                    transactional_id,
                    producer_id: info.producer_id,
                    producer_epoch: info.producer_epoch,
                    partition: tp.clone(),
                },
            ));
        }
        self.verifying.insert(
            token,
            ParkedVerification {
                key,
                slot,
                topic_partition: tp,
                producer_id: info.producer_id,
                records,
                acks,
                timeout_ms,
                coordinator,
                deadline: now.saturating_add(SimDuration::from_millis(
                    self.timings.txn_coordinator.request_timeout_ms,
                )),
            },
        );
    }

    /// The coordinator answered a verification (or it timed out): append the parked batch, or
    /// refuse it. INVALID_TXN_STATE and INVALID_PRODUCER_EPOCH reach the producer; a
    /// coordinator that could not answer becomes NOT_ENOUGH_REPLICAS, which it retries. Then
    /// the producer's batches that arrived behind it go on, in order.
    fn finish_verification(
        &mut self,
        now: SimTime,
        token: RequestToken,
        error: ErrorCode,
        out: &mut Outbox,
    ) {
        let Some(parked) = self.verifying.remove(&token) else {
            return;
        };
        let tp = parked.topic_partition.clone();
        let producer_id = parked.producer_id;
        if let Some(mut pending) = self.pending_produce.remove(&parked.key) {
            let refusal = match error {
                ErrorCode::None => None,
                ErrorCode::InvalidTxnState
                | ErrorCode::InvalidProducerEpoch
                | ErrorCode::ProducerFenced
                | ErrorCode::InvalidProducerIdMapping => Some(match error {
                    ErrorCode::ProducerFenced => ErrorCode::InvalidProducerEpoch,
                    e => e,
                }),
                _ => Some(ErrorCode::NotEnoughReplicas),
            };
            let mut appended = false;
            match refusal {
                Some(code) => {
                    if code != ErrorCode::NotEnoughReplicas {
                        self.verification_refusals += 1;
                    }
                    self.notes.push(format!(
                        "{tp}: verification failed ({}): the batch is refused with {}",
                        error.name(),
                        code.name()
                    ));
                    pending.answers[parked.slot] = Some(ProducePartitionResponse {
                        topic_partition: tp.clone(),
                        error: code,
                        base_offset: Offset(-1),
                        log_start_offset: Offset(-1),
                    });
                }
                None => {
                    appended = self.check_and_append(
                        now,
                        &mut pending,
                        parked.key,
                        parked.slot,
                        &tp,
                        &parked.records,
                        parked.acks,
                        parked.timeout_ms,
                    );
                }
            }
            self.pending_produce.insert(parked.key, pending);
            if appended {
                self.flush_storage(now);
                self.wake_parked_fetches(now, &tp, out);
            }
            self.finish_produce(parked.key, out);
        }
        self.release_behind_verification(now, &tp, producer_id, out);
    }

    /// The batches that waited behind a verification of `producer_id` on `tp`, in arrival
    /// order: each is checked and appended now, until one needs a verification of its own
    /// (the one ahead was refused, so the transaction still does not include the partition);
    /// the rest wait behind that one.
    fn release_behind_verification(
        &mut self,
        now: SimTime,
        tp: &TopicPartition,
        producer_id: ProducerId,
        out: &mut Outbox,
    ) {
        let queue_key = (tp.clone(), producer_id);
        while let Some(next) = self
            .behind_verification
            .get_mut(&queue_key)
            .and_then(VecDeque::pop_front)
        {
            let Some(mut pending) = self.pending_produce.remove(&next.key) else {
                continue;
            };
            let key = next.key;
            let info = BatchHeader::parse(&next.records)
                .ok()
                .map(|h| ProducerBatchInfo::from_header(&h));
            let needs_verification = self.timings.txn_coordinator.partition_verification
                && self
                    .replicas
                    .get(tp)
                    .is_some_and(|r| r.is_leader() && !r.transaction_open_for(producer_id));
            let mut appended = false;
            let mut verifying = false;
            match info {
                Some(info) if needs_verification => {
                    self.start_verification(now, &info, next, &mut pending, out);
                    verifying = self.verification_pending(tp, producer_id);
                }
                _ => {
                    appended = self.check_and_append(
                        now,
                        &mut pending,
                        key,
                        next.slot,
                        tp,
                        &next.records,
                        next.acks,
                        next.timeout_ms,
                    );
                }
            }
            self.pending_produce.insert(key, pending);
            if appended {
                self.flush_storage(now);
                self.wake_parked_fetches(now, tp, out);
            }
            self.finish_produce(key, out);
            if verifying {
                return;
            }
        }
        self.behind_verification.remove(&queue_key);
    }

    /// `UnifiedLog.append` for a client batch: the producer state checks, then the append.
    /// Returns whether the batch went into the log.
    #[allow(clippy::too_many_arguments)]
    fn check_and_append(
        &mut self,
        now: SimTime,
        pending: &mut PendingProduce,
        key: u64,
        slot: usize,
        tp: &TopicPartition,
        records: &[u8],
        acks: ReplicaAcks,
        timeout_ms: u64,
    ) -> bool {
        let info = BatchHeader::parse(records)
            .ok()
            .map(|h| ProducerBatchInfo::from_header(&h));
        if self.answer_from_producer_state(
            now,
            pending,
            key,
            slot,
            tp,
            info.as_ref(),
            acks,
            timeout_ms,
        ) {
            return false;
        }
        self.append_client_batch(now, pending, key, slot, tp, records, info, acks, timeout_ms)
    }

    /// KIP-937: a CreateTime batch whose record timestamps lie more than
    /// `message.timestamp.after.max.ms` ahead of the leader's wall clock, or more than
    /// `message.timestamp.before.max.ms` behind it, is refused with INVALID_TIMESTAMP. The
    /// batch's first and largest timestamps stand for its records.
    fn timestamp_out_of_bounds(&mut self, topic: &str, header: &BatchHeader, now: SimTime) -> bool {
        if self.log_config_for(topic).message_timestamp_type != MessageTimestampType::CreateTime {
            return false;
        }
        let configs = self.topic_configs.get(topic);
        let limit = |key: &str, default: i64| {
            configs
                .and_then(|c| c.get(key))
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|v| *v >= 0)
                .unwrap_or(default)
        };
        let after = limit(
            "message.timestamp.after.max.ms",
            self.timings.message_timestamp_after_max_ms,
        );
        let before = limit(
            "message.timestamp.before.max.ms",
            self.timings.message_timestamp_before_max_ms,
        );
        let wall = self.wall_ms(now);
        header.max_timestamp.saturating_sub(wall) > after
            || wall.saturating_sub(header.base_timestamp) > before
    }

    fn finish_produce(&mut self, key: u64, out: &mut Outbox) {
        let done = self
            .pending_produce
            .get(&key)
            .is_some_and(|p| p.answers.iter().all(Option::is_some));
        if !done {
            return;
        }
        let Some(pending) = self.pending_produce.remove(&key) else {
            return;
        };
        if !pending.expects_response {
            return;
        }
        let response = ProduceResponse {
            request_id: pending.request_id,
            partitions: pending.answers.into_iter().flatten().collect(),
        };
        out.push((self.node(), pending.client, Msg::ProduceResponse(response)));
    }

    /// Answers the parked duplicates whose original batch is now committed, whose leader
    /// stepped down, or whose request timed out (Kafka's `DelayedProduce` outcomes).
    fn complete_duplicate_waits(&mut self, now: SimTime, out: &mut Outbox) {
        if self.duplicate_waits.is_empty() {
            return;
        }
        let mut keep = Vec::new();
        let mut done = Vec::new();
        for wait in std::mem::take(&mut self.duplicate_waits) {
            let outcome = match self.replicas.get(&wait.topic_partition) {
                Some(r) if !r.is_leader() => Some((ErrorCode::NotLeaderOrFollower, Offset(-1))),
                None => Some((ErrorCode::NotLeaderOrFollower, Offset(-1))),
                Some(r) if r.high_watermark() >= wait.required_offset => {
                    if r.maximal_isr().len() as u32 >= r.effective_min_isr() {
                        Some((ErrorCode::None, wait.first_offset))
                    } else {
                        Some((ErrorCode::NotEnoughReplicasAfterAppend, Offset(-1)))
                    }
                }
                Some(_) if now >= wait.deadline => Some((ErrorCode::RequestTimedOut, Offset(-1))),
                Some(_) => None,
            };
            match outcome {
                Some(answer) => done.push((wait, answer)),
                None => keep.push(wait),
            }
        }
        self.duplicate_waits = keep;
        for (wait, (error, base_offset)) in done {
            if let Some(pending) = self.pending_produce.get_mut(&wait.key) {
                if let Some(slot) = pending.answers.get_mut(wait.slot as usize) {
                    *slot = Some(ProducePartitionResponse {
                        topic_partition: wait.topic_partition.clone(),
                        error,
                        base_offset,
                        log_start_offset: Offset(-1),
                    });
                }
            }
            self.finish_produce(wait.key, out);
        }
    }

    /// FindCoordinator (G-1): the leader of the group's offsets partition, from this
    /// broker's metadata cache; COORDINATOR_NOT_AVAILABLE while it has none (the topic does
    /// not exist yet, the partition is offline, or this broker is still catching up).
    fn find_coordinator(&self, group_id: &str) -> (ErrorCode, Option<BrokerId>) {
        if !self.metadata_caught_up {
            return (ErrorCode::CoordinatorNotAvailable, None);
        }
        let tp = TopicPartition {
            topic: OFFSETS_TOPIC.to_string(),
            partition: self.coordinator.partition_for(group_id),
        };
        match self.partitions.get(&tp).and_then(|s| s.leader) {
            Some(leader) => (ErrorCode::None, Some(leader)),
            None => (ErrorCode::CoordinatorNotAvailable, None),
        }
    }

    /// FindCoordinator with key type TRANSACTION (T-1): the leader of the id's
    /// `__transaction_state` partition, from the metadata cache.
    fn find_transaction_coordinator(
        &self,
        transactional_id: &str,
    ) -> (ErrorCode, Option<BrokerId>) {
        if !self.metadata_caught_up || transactional_id.is_empty() {
            let error = if transactional_id.is_empty() {
                ErrorCode::InvalidRequest
            } else {
                ErrorCode::CoordinatorNotAvailable
            };
            return (error, None);
        }
        let tp = TopicPartition {
            topic: TRANSACTION_STATE_TOPIC.to_string(),
            partition: self.txn_coordinator.partition_for(transactional_id),
        };
        match self.partitions.get(&tp).and_then(|s| s.leader) {
            Some(leader) => (ErrorCode::None, Some(leader)),
            None => (ErrorCode::CoordinatorNotAvailable, None),
        }
    }

    /// Appends a transaction state record with acks=all; the coordinator goes on when the
    /// append completes.
    fn append_txn_state(&mut self, now: SimTime, append: TxnStateAppend, out: &mut Outbox) {
        let tp = append.topic_partition.clone();
        self.next_token += 1;
        let token = RequestToken(self.next_token);
        let request = ReplicaProduceRequest {
            acks: ReplicaAcks::All,
            timeout_ms: u32::try_from(append.timeout_ms).unwrap_or(u32::MAX),
            records: append.records,
            current_leader_epoch: None,
        };
        let outcome = match self.replicas.get_mut(&tp) {
            Some(replica) => replica.handle_produce(now, token, &request),
            None => Ok(ProduceOutcome::Respond(
                crate::broker::messages::ProduceResponse::error(ErrorCode::NotLeaderOrFollower),
            )),
        };
        let error = match outcome {
            Ok(ProduceOutcome::Parked) => {
                self.txn_state_appends
                    .insert(token, append.transactional_id);
                self.flush_storage(now);
                self.wake_parked_fetches(now, &tp, out);
                return;
            }
            Ok(ProduceOutcome::Respond(r)) => {
                self.flush_storage(now);
                if r.error == ErrorCode::None {
                    self.wake_parked_fetches(now, &tp, out);
                }
                r.error
            }
            Ok(ProduceOutcome::NoResponse { error }) => error,
            Err(e) => {
                self.notes.push(format!(
                    "{tp}: transaction state record answered UNKNOWN_SERVER_ERROR: {e}"
                ));
                ErrorCode::UnknownServerError
            }
        };
        self.txn_coordinator
            .on_appended(now, &append.transactional_id, error);
    }

    /// WriteTxnMarkers on a partition leader: a COMMIT or ABORT control batch per partition,
    /// appended like an acks=all produce (Kafka's `ReplicaManager.appendRecords` with the
    /// coordinator origin); answered when every partition has its outcome.
    fn write_txn_markers(
        &mut self,
        now: SimTime,
        mut pending: PendingMarkers,
        coordinator_epoch: i32,
        out: &mut Outbox,
    ) {
        let key = self.next_token;
        self.next_token += 1;
        let control_type = if pending.transaction_commit {
            ControlRecordType::TransactionCommit
        } else {
            ControlRecordType::Abort
        };
        let marker = TxnMarker {
            producer_id: pending.producer_id,
            producer_epoch: pending.producer_epoch,
            coordinator_epoch,
            control_type,
            timeout_ms: u32::try_from(self.timings.txn_coordinator.request_timeout_ms)
                .unwrap_or(u32::MAX),
        };
        let mut appended = Vec::new();
        for slot in 0..pending.answers.len() {
            let tp = pending.answers[slot].0.clone();
            let Some(replica) = self.replicas.get_mut(&tp) else {
                pending.answers[slot].1 = Some(self.not_hosted_error(&tp));
                continue;
            };
            self.next_token += 1;
            let token = RequestToken(self.next_token);
            let first_offset = replica.log_end_offset();
            let outcome = replica.handle_write_txn_marker(now, token, &marker);
            let written = match outcome {
                Ok(ProduceOutcome::Respond(r)) => {
                    pending.answers[slot].1 = Some(r.error);
                    if r.error == ErrorCode::None && tp.topic == OFFSETS_TOPIC {
                        self.coordinator.on_txn_marker(
                            now,
                            tp.partition.0,
                            pending.producer_id,
                            pending.transaction_commit,
                        );
                    }
                    r.error == ErrorCode::None
                }
                Ok(ProduceOutcome::Parked) => {
                    self.marker_tokens.insert(token, (key, slot));
                    true
                }
                Ok(ProduceOutcome::NoResponse { error }) => {
                    pending.answers[slot].1 = Some(error);
                    false
                }
                Err(e) => {
                    self.notes.push(format!(
                        "{tp}: transaction marker answered UNKNOWN_SERVER_ERROR: {e}"
                    ));
                    pending.answers[slot].1 = Some(ErrorCode::UnknownServerError);
                    false
                }
            };
            if written {
                if let Some(table) = self.producer_states.get_mut(&tp) {
                    table.on_append(&ProducerBatchInfo {
                        producer_id: marker.producer_id,
                        producer_epoch: marker.producer_epoch,
                        first_sequence: -1,
                        last_sequence: -1,
                        first_offset,
                        last_offset: first_offset,
                        max_timestamp_ms: now.as_millis(),
                        is_control: true,
                    });
                }
                self.notes.push(format!(
                    "{tp}: {} marker for producer id {} epoch {} at offset {} ({})",
                    if pending.transaction_commit {
                        "COMMIT"
                    } else {
                        "ABORT"
                    },
                    marker.producer_id.0,
                    marker.producer_epoch.0,
                    first_offset.0,
                    pending.transactional_id
                ));
                appended.push(tp);
            }
        }
        self.pending_markers.insert(key, pending);
        self.flush_storage(now);
        for tp in appended {
            self.wake_parked_fetches(now, &tp, out);
        }
        self.finish_markers(key, out);
    }

    /// Answers a WriteTxnMarkers request once every partition has its outcome.
    fn finish_markers(&mut self, key: u64, out: &mut Outbox) {
        let Some(pending) = self.pending_markers.get(&key) else {
            return;
        };
        if pending.answers.iter().any(|(_, e)| e.is_none()) {
            return;
        }
        let Some(pending) = self.pending_markers.remove(&key) else {
            return;
        };
        let errors = pending
            .answers
            .into_iter()
            .map(|(tp, e)| (tp, e.unwrap_or(ErrorCode::UnknownServerError)))
            .collect();
        out.push((
            self.node(),
            pending.coordinator,
            Msg::WriteTxnMarkersResponse {
                transactional_id: pending.transactional_id,
                producer_id: pending.producer_id,
                producer_epoch: pending.producer_epoch,
                transaction_commit: pending.transaction_commit,
                errors,
            },
        ));
    }

    /// Appends an offset commit to its offsets partition with acks=all; the coordinator
    /// answers when the append completes.
    fn append_offset_commit(
        &mut self,
        now: SimTime,
        append: super::coordinator::OffsetCommitAppend,
        out: &mut Outbox,
    ) {
        let tp = append.topic_partition.clone();
        // A TxnOffsetCommit is the producer's write (Kafka's coordinator origin): its epoch is
        // checked like a produce's, its sequence is not.
        if let Some((producer_id, producer_epoch)) = append.producer {
            let fenced = self
                .producer_states
                .get(&tp)
                .and_then(|t| t.entry(producer_id))
                .is_some_and(|e| producer_epoch < e.producer_epoch);
            if fenced {
                if let Some(pending) = append.pending {
                    self.coordinator.on_group_append_completed(
                        now,
                        pending,
                        ErrorCode::InvalidProducerEpoch,
                    );
                }
                return;
            }
        }
        self.next_token += 1;
        let token = RequestToken(self.next_token);
        let request = ReplicaProduceRequest {
            acks: ReplicaAcks::All,
            timeout_ms: u32::try_from(append.timeout_ms).unwrap_or(u32::MAX),
            records: append.records,
            current_leader_epoch: None,
        };
        let outcome = match self.replicas.get_mut(&tp) {
            Some(replica) => replica.handle_produce(now, token, &request),
            None => Ok(ProduceOutcome::Respond(
                crate::broker::messages::ProduceResponse::error(ErrorCode::NotLeaderOrFollower),
            )),
        };
        let error = match outcome {
            Ok(ProduceOutcome::Parked) => {
                if let Some(pending) = append.pending {
                    self.group_appends.insert(token, pending);
                }
                self.flush_storage(now);
                self.wake_parked_fetches(now, &tp, out);
                return;
            }
            Ok(ProduceOutcome::Respond(r)) => {
                self.flush_storage(now);
                if r.error == ErrorCode::None {
                    self.wake_parked_fetches(now, &tp, out);
                }
                r.error
            }
            Ok(ProduceOutcome::NoResponse { error }) => error,
            Err(e) => {
                self.notes.push(format!(
                    "{tp}: offset commit record answered UNKNOWN_SERVER_ERROR: {e}"
                ));
                ErrorCode::UnknownServerError
            }
        };
        match append.pending {
            Some(pending) => self
                .coordinator
                .on_group_append_completed(now, pending, error),
            None if error != ErrorCode::None => self
                .notes
                .push(format!("{tp}: group metadata not stored: {}", error.name())),
            None => {}
        }
    }

    /// Appends the group records the coordinator queued, sends what it answered and traces
    /// what it did.
    fn drain_coordinator(&mut self, now: SimTime, out: &mut Outbox) {
        // A group metadata append that fails at once makes the group rebalance, which can
        // queue another record (the group empties), so drain until nothing is queued.
        while !self.coordinator.appends.is_empty() {
            for append in std::mem::take(&mut self.coordinator.appends) {
                self.append_offset_commit(now, append, out);
            }
        }
        let node = self.node();
        for (to, msg) in self.coordinator.outbox.drain(..) {
            out.push((node, to, msg));
        }
        self.notes.append(&mut self.coordinator.lines);
        {
            let partitions = &self.partitions;
            let leader_of = |tp: &TopicPartition| partitions.get(tp).and_then(|s| s.leader);
            self.txn_coordinator.send_markers(now, &leader_of);
        }
        // An append that fails at once can queue another (a transaction with nothing left to
        // mark completes), so drain until nothing is queued.
        while !self.txn_coordinator.appends.is_empty() {
            for append in std::mem::take(&mut self.txn_coordinator.appends) {
                self.append_txn_state(now, append, out);
            }
        }
        for (to, msg) in self.txn_coordinator.outbox.drain(..) {
            out.push((node, to, msg));
        }
        self.notes.append(&mut self.txn_coordinator.lines);
    }

    fn drain_replica_outputs(&mut self, now: SimTime, out: &mut Outbox) {
        self.complete_duplicate_waits(now, out);
        let mut outputs = Vec::new();
        for (tp, replica) in self.replicas.iter_mut() {
            while let Some(output) = replica.poll_output() {
                outputs.push((tp.clone(), output));
            }
        }
        for (tp, output) in outputs {
            match output {
                ReplicaOutput::ProduceCompleted { token, response }
                    if self.group_appends.contains_key(&token) =>
                {
                    if let Some(pending) = self.group_appends.remove(&token) {
                        self.coordinator
                            .on_group_append_completed(now, pending, response.error);
                    }
                }
                ReplicaOutput::ProduceCompleted { token, response }
                    if self.txn_state_appends.contains_key(&token) =>
                {
                    if let Some(id) = self.txn_state_appends.remove(&token) {
                        self.txn_coordinator.on_appended(now, &id, response.error);
                    }
                }
                ReplicaOutput::ProduceCompleted { token, response }
                    if self.marker_tokens.contains_key(&token) =>
                {
                    if let Some((key, slot)) = self.marker_tokens.remove(&token) {
                        if let Some(p) = self.pending_markers.get_mut(&key) {
                            if let Some(answer) = p.answers.get_mut(slot) {
                                answer.1 = Some(response.error);
                            }
                            // The marker is durable on the offsets partition: the group
                            // coordinator completes the transaction's offsets (Kafka's
                            // `onTransactionCompleted` in the marker's append callback).
                            if response.error == ErrorCode::None && tp.topic == OFFSETS_TOPIC {
                                self.coordinator.on_txn_marker(
                                    now,
                                    tp.partition.0,
                                    p.producer_id,
                                    p.transaction_commit,
                                );
                            }
                        }
                        self.finish_markers(key, out);
                    }
                }
                ReplicaOutput::ProduceCompleted { token, response } => {
                    let Some(key) = self.token_owner.remove(&token) else {
                        continue;
                    };
                    if let Some(pending) = self.pending_produce.get_mut(&key) {
                        if let Some(slot) = pending.tokens.remove(&token) {
                            if let Some(answer) = pending.answers.get_mut(slot as usize) {
                                *answer = Some(ProducePartitionResponse {
                                    topic_partition: tp.clone(),
                                    error: response.error,
                                    base_offset: response.base_offset,
                                    log_start_offset: response.log_start_offset,
                                });
                            }
                        }
                    }
                    self.finish_produce(key, out);
                }
                ReplicaOutput::AlterPartition(request) => {
                    self.send_alter_partition(now, request, out);
                }
            }
        }
        self.drain_coordinator(now, out);
    }

    /// A controller answer to an AlterPartition this broker sent.
    pub fn alter_partition_answer(
        tp: TopicPartition,
        result: Result<PartitionState, ErrorCode>,
    ) -> Msg {
        let response = match result {
            Ok(state) => AlterPartitionResponse::Accepted {
                isr: state.isr,
                leader_epoch: LeaderEpoch(state.leader_epoch.0),
                partition_epoch: ReplicaPartitionEpoch(state.partition_epoch.0),
            },
            Err(code) => AlterPartitionResponse::Rejected(code),
        };
        Msg::AlterPartitionResponse {
            topic_partition: tp,
            response,
        }
    }
}

/// The batch info with the offsets the leader assigned (the producer's bytes carry base 0).
fn with_offsets(info: ProducerBatchInfo, first_offset: Offset) -> ProducerBatchInfo {
    let count = info.last_offset.0 - info.first_offset.0;
    ProducerBatchInfo {
        first_offset,
        last_offset: first_offset.plus(count),
        ..info
    }
}
