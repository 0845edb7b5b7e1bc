//! A broker's transaction coordinator (section 5: T-1, T-2, T-7): the `transactional.id`s
//! hashed to the `__transaction_state` partitions this broker leads. It drives the pure
//! `broker::txn::TransactionCoordinator` with the requests that reach the broker, writes each
//! transition to the partition with acks=all, and sends the COMMIT or ABORT markers to the
//! leaders of the transaction's partitions once the Prepare* record is durable.
//!
//! As Kafka's `TransactionStateManager`: leading a partition is not enough to serve it; the
//! coordinator first loads it (replays its records, the last one of an id wins) and answers
//! COORDINATOR_LOAD_IN_PROGRESS meanwhile, and a broker that does not lead an id's partition
//! answers NOT_COORDINATOR. A transaction found in PrepareCommit or PrepareAbort at load has its
//! markers sent again (the old coordinator may have died between the two records), stamped
//! with the new coordinator epoch (the partition's leader epoch), so a zombie coordinator's
//! late markers are refused with TRANSACTION_COORDINATOR_FENCED.
//!
//! Invariants: an id lives here only while its partition is led and loaded; a request waits
//! here only while its transition is pending in the core; a marker job exists only for an id
//! in Prepare* and goes when every partition has its marker (then the Complete* record is
//! written) or the partition is unloaded.

use super::messages::Msg;
use crate::broker::messages::RequestToken;
use crate::broker::replica::PartitionReplica;
use crate::broker::txn::records::{decode, encode_key, encode_value};
use crate::broker::txn::{
    Completion, TransactionCoordinator, TransactionMetadata, TxnConfig, TxnLogAppend, TxnReply,
    WriteMarkers,
};
use crate::client::transactions::{transaction_coordinator_partition, TRANSACTION_STATE_TOPIC};
use crate::ids::{BrokerId, NodeId, PartitionIndex, ProducerEpoch, ProducerId, TopicPartition};
use crate::log::batch::{NewRecord, ProducerFields, RecordBatch};
use crate::protocol::ErrorCode;
use crate::time::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// How long loading a `__transaction_state` partition takes (as the group coordinator's load).
pub const TXN_LOAD_MS: u64 = 100;

/// How long the coordinator waits before sending a marker again after an error or a missing
/// leader (Kafka's marker channel retries on its next poll, after `retry.backoff.ms`).
pub const MARKER_RETRY_BACKOFF_MS: u64 = 100;

/// The coordinator's broker-side settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnCoordinatorSettings {
    /// `transaction.state.log.num.partitions` (50).
    pub num_partitions: u32,
    /// `transaction.max.timeout.ms` (900000).
    pub config: TxnConfig,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms` (10000).
    pub abort_check_interval_ms: u64,
    /// `request.timeout.ms` (30000) for the coordinator's log appends and marker requests.
    pub request_timeout_ms: u64,
    /// `offsets.topic.num.partitions` (50): where AddOffsetsToTxn finds a group's partition.
    pub offsets_num_partitions: u32,
    /// `transaction.partition.verification.enable` (true, 3.6+): partition leaders verify a
    /// producer's first transactional batch with the coordinator (T-3).
    pub partition_verification: bool,
}

impl Default for TxnCoordinatorSettings {
    fn default() -> Self {
        TxnCoordinatorSettings {
            num_partitions:
                crate::client::transactions::TRANSACTION_STATE_LOG_NUM_PARTITIONS_DEFAULT,
            config: TxnConfig::default(),
            abort_check_interval_ms: 10_000,
            request_timeout_ms: 30_000,
            offsets_num_partitions: 50,
            partition_verification: true,
        }
    }
}

/// A transition for the broker to append to `__transaction_state` with acks=all; the broker
/// calls `on_appended` with the outcome.
#[derive(Clone, Debug)]
pub struct TxnStateAppend {
    pub topic_partition: TopicPartition,
    pub records: Vec<u8>,
    pub timeout_ms: u64,
    pub transactional_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Load {
    Loading { until: SimTime },
    Loaded,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct LedPartition {
    load: Load,
    /// The partition's leader epoch when this broker took it: the markers' coordinator epoch.
    coordinator_epoch: i32,
}

/// Which request waits for a pending transition.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Asked {
    InitProducerId,
    AddPartitions(Vec<TopicPartition>),
    /// AddOffsetsToTxn: the group's offsets partition joins the transaction.
    AddOffsets(TopicPartition),
    EndTxn,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Waiter {
    client: NodeId,
    token: RequestToken,
    asked: Asked,
}

/// The markers of one transaction being written.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MarkerJob {
    markers: WriteMarkers,
    coordinator_epoch: i32,
    /// Partitions without a written marker yet.
    todo: BTreeSet<TopicPartition>,
    /// Sent and unanswered: to whom, and when to give up waiting.
    in_flight: BTreeMap<TopicPartition, (BrokerId, SimTime)>,
    /// Not to be sent before this instant (after an error).
    not_before: BTreeMap<TopicPartition, SimTime>,
}

#[derive(Clone, Debug)]
pub struct TxnCoordinatorNode {
    settings: TxnCoordinatorSettings,
    partitions: BTreeMap<u32, LedPartition>,
    core: TransactionCoordinator,
    first_producer_id: i64,
    waiters: BTreeMap<String, Waiter>,
    markers: BTreeMap<String, MarkerJob>,
    /// Ids whose Complete* (markers written) record failed to append: retried at the instant.
    complete_retry: BTreeMap<String, SimTime>,
    next_abort_check: Option<SimTime>,
    /// Messages to send, drained by the broker.
    pub outbox: Vec<(NodeId, Msg)>,
    /// Lines for the trace.
    pub lines: Vec<String>,
    /// Transitions to append, drained by the broker.
    pub appends: Vec<TxnStateAppend>,
}

impl TxnCoordinatorNode {
    /// A coordinator handing out producer ids from `first_producer_id` on (each broker and
    /// incarnation gets its own block, standing for the controller's AllocateProducerIds).
    pub fn new(settings: TxnCoordinatorSettings, first_producer_id: i64) -> TxnCoordinatorNode {
        TxnCoordinatorNode {
            core: TransactionCoordinator::new(settings.config, first_producer_id),
            settings,
            partitions: BTreeMap::new(),
            first_producer_id,
            waiters: BTreeMap::new(),
            markers: BTreeMap::new(),
            complete_retry: BTreeMap::new(),
            next_abort_check: None,
            outbox: Vec::new(),
            lines: Vec::new(),
            appends: Vec::new(),
        }
    }

    /// Forgets everything (the process crashed); the restarted process gets `first_producer_id`.
    pub fn reset(&mut self, first_producer_id: i64) {
        *self = TxnCoordinatorNode::new(self.settings.clone(), first_producer_id);
    }

    pub fn settings(&self) -> &TxnCoordinatorSettings {
        &self.settings
    }

    pub fn first_producer_id(&self) -> i64 {
        self.first_producer_id
    }

    /// The transactions this broker coordinates now (loaded partitions only).
    pub fn transactions(&self) -> &BTreeMap<String, TransactionMetadata> {
        self.core.transactions()
    }

    /// The `__transaction_state` partition of an id.
    pub fn partition_for(&self, transactional_id: &str) -> PartitionIndex {
        transaction_coordinator_partition(transactional_id, self.settings.num_partitions)
            .unwrap_or(PartitionIndex(0))
    }

    fn state_partition(&self, transactional_id: &str) -> TopicPartition {
        TopicPartition {
            topic: TRANSACTION_STATE_TOPIC.to_string(),
            partition: self.partition_for(transactional_id),
        }
    }

    fn status(&self, transactional_id: &str) -> Result<i32, ErrorCode> {
        match self.partitions.get(&self.partition_for(transactional_id).0) {
            None => Err(ErrorCode::NotCoordinator),
            Some(LedPartition {
                load: Load::Loading { .. },
                ..
            }) => Err(ErrorCode::CoordinatorLoadInProgress),
            Some(LedPartition {
                coordinator_epoch, ..
            }) => Ok(*coordinator_epoch),
        }
    }

    /// The broker's replica of `__transaction_state-partition` became leader at
    /// `leader_epoch`, or stopped being it (or went away).
    pub fn on_leadership(&mut self, now: SimTime, partition: u32, leads: bool, leader_epoch: i32) {
        let had = self.partitions.get(&partition).map(|p| p.coordinator_epoch);
        if had.is_some() && (!leads || had != Some(leader_epoch)) {
            self.unload(partition);
        }
        if leads && had != Some(leader_epoch) {
            let until = now.saturating_add(SimDuration::from_millis(TXN_LOAD_MS));
            self.partitions.insert(
                partition,
                LedPartition {
                    load: Load::Loading { until },
                    coordinator_epoch: leader_epoch,
                },
            );
            self.lines.push(format!(
                "transaction coordinator: loading {TRANSACTION_STATE_TOPIC}-{partition} at coordinator epoch {leader_epoch} (COORDINATOR_LOAD_IN_PROGRESS until it is read)"
            ));
        }
    }

    fn unload(&mut self, partition: u32) {
        self.partitions.remove(&partition);
        let num = self.settings.num_partitions;
        let in_partition = move |id: &str| {
            transaction_coordinator_partition(id, num).is_ok_and(|p| p.0 == partition)
        };
        let dropped = self.core.unload(in_partition);
        for id in dropped {
            self.answer(&id, Err(ErrorCode::NotCoordinator));
        }
        let waiting: Vec<String> = self
            .waiters
            .keys()
            .filter(|id| in_partition(id))
            .cloned()
            .collect();
        for id in waiting {
            self.answer(&id, Err(ErrorCode::NotCoordinator));
        }
        self.markers.retain(|id, _| !in_partition(id));
        self.complete_retry.retain(|id, _| !in_partition(id));
        if !self.partitions.values().any(|p| p.load == Load::Loaded) {
            self.next_abort_check = None;
        }
        self.lines.push(format!(
            "transaction coordinator: unloaded {TRANSACTION_STATE_TOPIC}-{partition} (no longer its leader; NOT_COORDINATOR from now on)"
        ));
    }

    /// When the coordinator next has work.
    pub fn next_deadline(&self) -> Option<SimTime> {
        let loads = self.partitions.values().filter_map(|l| match l.load {
            Load::Loading { until } => Some(until),
            Load::Loaded => None,
        });
        let markers = self.markers.values().flat_map(|job| {
            let resend = job
                .todo
                .iter()
                .filter(|tp| !job.in_flight.contains_key(*tp))
                .map(|tp| job.not_before.get(tp).copied().unwrap_or(SimTime::ZERO));
            job.in_flight.values().map(|(_, at)| *at).chain(resend)
        });
        loads
            .chain(markers)
            .chain(self.complete_retry.values().copied())
            .chain(self.next_abort_check)
            .min()
    }

    /// Finishes due loads, resends markers, retries Complete* records, aborts timed-out
    /// transactions. `leader_of` is the broker's metadata cache.
    pub fn on_timer(
        &mut self,
        now: SimTime,
        replicas: &BTreeMap<TopicPartition, PartitionReplica>,
        leader_of: &dyn Fn(&TopicPartition) -> Option<BrokerId>,
    ) {
        let due: Vec<u32> = self
            .partitions
            .iter()
            .filter(|(_, l)| matches!(l.load, Load::Loading { until } if until <= now))
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            self.finish_load(now, p, replicas);
        }
        for job in self.markers.values_mut() {
            job.in_flight.retain(|tp, (_, at)| {
                if *at <= now {
                    job.not_before.insert(tp.clone(), now);
                    false
                } else {
                    true
                }
            });
        }
        let retry: Vec<String> = self
            .complete_retry
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in retry {
            self.complete_retry.remove(&id);
            self.markers_done(now, &id);
        }
        if self.next_abort_check.is_some_and(|t| t <= now) {
            for append in self.core.abort_timed_out(now) {
                let m = &append.metadata;
                self.lines.push(format!(
                    "transaction coordinator: {} timed out after transaction.timeout.ms={} (producer id {} fenced to epoch {}); aborting",
                    m.transactional_id, m.timeout_ms, m.producer_id.0, m.producer_epoch.0
                ));
                self.queue_append(now, append);
            }
            self.next_abort_check = Some(now.saturating_add(SimDuration::from_millis(
                self.settings.abort_check_interval_ms,
            )));
        }
        self.send_markers(now, leader_of);
    }

    fn finish_load(
        &mut self,
        now: SimTime,
        p: u32,
        replicas: &BTreeMap<TopicPartition, PartitionReplica>,
    ) {
        let tp = TopicPartition {
            topic: TRANSACTION_STATE_TOPIC.to_string(),
            partition: PartitionIndex(p),
        };
        let Some(replica) = replicas.get(&tp).filter(|r| r.is_leader()) else {
            self.partitions.remove(&p);
            return;
        };
        let log = replica.log();
        let records = log.read_records(log.log_start_offset(), log.log_end_offset(), u32::MAX);
        let mut loaded: BTreeMap<String, Option<TransactionMetadata>> = BTreeMap::new();
        for record in records.iter().filter(|r| !r.is_control) {
            let Some(key) = &record.key else { continue };
            match decode(key, record.value.as_deref()) {
                Ok((id, metadata)) => {
                    loaded.insert(id, metadata);
                }
                Err(e) => self.lines.push(format!(
                    "transaction coordinator: {tp} offset {}: {e}",
                    record.offset.0
                )),
            }
        }
        let coordinator_epoch = self.partitions.get(&p).map_or(0, |l| l.coordinator_epoch);
        let count = loaded.len();
        let mut resume = Vec::new();
        for (id, metadata) in loaded {
            if let Some(m) = &metadata {
                if matches!(
                    m.state,
                    crate::broker::txn::TransactionState::PrepareCommit
                        | crate::broker::txn::TransactionState::PrepareAbort
                ) {
                    resume.push(WriteMarkers {
                        transactional_id: m.transactional_id.clone(),
                        producer_id: m.producer_id,
                        producer_epoch: m.producer_epoch,
                        transaction_commit: m.state
                            == crate::broker::txn::TransactionState::PrepareCommit,
                        partitions: m.partitions.iter().cloned().collect(),
                    });
                }
            }
            self.core.load(&id, metadata);
        }
        self.partitions.insert(
            p,
            LedPartition {
                load: Load::Loaded,
                coordinator_epoch,
            },
        );
        if self.next_abort_check.is_none() {
            self.next_abort_check = Some(now.saturating_add(SimDuration::from_millis(
                self.settings.abort_check_interval_ms,
            )));
        }
        self.lines.push(format!(
            "transaction coordinator: loaded {tp}: {count} transactional id(s) read up to offset {}",
            log.log_end_offset().0
        ));
        for markers in resume {
            self.lines.push(format!(
                "transaction coordinator: {} was in {} at load: writing its {} markers again",
                markers.transactional_id,
                if markers.transaction_commit {
                    "PrepareCommit"
                } else {
                    "PrepareAbort"
                },
                if markers.transaction_commit {
                    "COMMIT"
                } else {
                    "ABORT"
                },
            ));
            self.start_markers(markers, coordinator_epoch);
        }
    }

    /// A partition leader asks whether a partition is in a producer's ongoing transaction.
    pub fn on_verify(
        &mut self,
        leader: NodeId,
        token: RequestToken,
        transactional_id: &str,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        partition: &TopicPartition,
    ) {
        let error = match self.status(transactional_id) {
            Err(e) => e,
            Ok(_) => match self.core.verify_partition(
                transactional_id,
                producer_id,
                producer_epoch,
                partition,
            ) {
                Ok(()) => ErrorCode::None,
                Err(e) => {
                    self.lines.push(format!(
                        "transaction coordinator: {transactional_id}: {partition} is not in an ongoing transaction of producer id {} epoch {}: verification answers {}",
                        producer_id.0,
                        producer_epoch.0,
                        e.name()
                    ));
                    e
                }
            },
        };
        self.outbox
            .push((leader, Msg::VerifyTxnPartitionResponse { token, error }));
    }

    /// A transactional request from `client`. Anything else is ignored.
    pub fn on_request(&mut self, now: SimTime, client: NodeId, msg: Msg) {
        let (token, transactional_id, asked, reply) = match msg {
            Msg::InitProducerId {
                token,
                transactional_id,
                transaction_timeout_ms,
            } => {
                if let Err(e) = self.status(&transactional_id) {
                    self.send(client, token, &Asked::InitProducerId, Err(e));
                    return;
                }
                let reply =
                    self.core
                        .init_producer_id(now, &transactional_id, transaction_timeout_ms);
                (token, transactional_id, Asked::InitProducerId, reply)
            }
            Msg::AddPartitionsToTxn {
                token,
                transactional_id,
                producer_id,
                producer_epoch,
                partitions,
            } => {
                let asked = Asked::AddPartitions(partitions.clone());
                if let Err(e) = self.status(&transactional_id) {
                    self.send(client, token, &asked, Err(e));
                    return;
                }
                let reply = self.core.add_partitions(
                    now,
                    &transactional_id,
                    producer_id,
                    producer_epoch,
                    &partitions,
                );
                (token, transactional_id, asked, reply)
            }
            Msg::AddOffsetsToTxn {
                token,
                transactional_id,
                producer_id,
                producer_epoch,
                group_id,
            } => {
                let partition = crate::broker::group::coordinator_partition(
                    &group_id,
                    self.settings.offsets_num_partitions,
                )
                .unwrap_or(PartitionIndex(0));
                let tp = TopicPartition {
                    topic: super::coordinator::OFFSETS_TOPIC.to_string(),
                    partition,
                };
                let asked = Asked::AddOffsets(tp.clone());
                if let Err(e) = self.status(&transactional_id) {
                    self.send(client, token, &asked, Err(e));
                    return;
                }
                let reply = self.core.add_partitions(
                    now,
                    &transactional_id,
                    producer_id,
                    producer_epoch,
                    std::slice::from_ref(&tp),
                );
                (token, transactional_id, asked, reply)
            }
            Msg::EndTxn {
                token,
                transactional_id,
                producer_id,
                producer_epoch,
                transaction_commit,
            } => {
                if let Err(e) = self.status(&transactional_id) {
                    self.send(client, token, &Asked::EndTxn, Err(e));
                    return;
                }
                let reply = self.core.end_txn(
                    now,
                    &transactional_id,
                    producer_id,
                    producer_epoch,
                    transaction_commit,
                );
                (token, transactional_id, Asked::EndTxn, reply)
            }
            _ => return,
        };
        match reply {
            TxnReply::Now(result) => {
                if let Err(e) = result {
                    self.lines.push(format!(
                        "transaction coordinator: {transactional_id}: {} refused: {}",
                        asked.name(),
                        e.name()
                    ));
                }
                self.send(client, token, &asked, result);
            }
            TxnReply::Append(append) => {
                self.waiters.insert(
                    transactional_id,
                    Waiter {
                        client,
                        token,
                        asked,
                    },
                );
                self.queue_append(now, append);
            }
        }
    }

    /// Encodes a transition for the broker to append; a record that cannot be encoded fails
    /// the transition at once.
    fn queue_append(&mut self, now: SimTime, append: TxnLogAppend) {
        let m = &append.metadata;
        let id = m.transactional_id.clone();
        let encoded = encode_key(&id).and_then(|key| encode_value(m).map(|value| (key, value)));
        let (key, value) = match encoded {
            Ok(kv) => kv,
            Err(e) => {
                self.lines.push(format!(
                    "transaction coordinator: {id}: cannot encode its record: {e}"
                ));
                let completion = self
                    .core
                    .append_completed(&id, Err(ErrorCode::UnknownServerError));
                self.complete(now, &id, completion);
                return;
            }
        };
        let record = NewRecord::new(now.as_millis(), Some(&key), Some(&value));
        let records = RecordBatch::new_data(&[record], ProducerFields::NONE).encode();
        self.lines.push(format!(
            "transaction coordinator: {id} -> {} (producer id {} epoch {}, {} partition(s)): writing to {}",
            m.state.name(),
            m.producer_id.0,
            m.producer_epoch.0,
            m.partitions.len(),
            self.state_partition(&id)
        ));
        self.appends.push(TxnStateAppend {
            topic_partition: self.state_partition(&id),
            records,
            timeout_ms: self.settings.request_timeout_ms,
            transactional_id: id,
        });
    }

    /// The broker's append of `transactional_id`'s transition completed with `error` (NONE
    /// when durable). Kafka's `TransactionStateManager.appendTransactionToLog` maps the
    /// partition errors to coordinator errors the client knows how to handle.
    pub fn on_appended(&mut self, now: SimTime, transactional_id: &str, error: ErrorCode) {
        let result = match error {
            ErrorCode::None => Ok(()),
            ErrorCode::UnknownTopicOrPartition
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::NotEnoughReplicasAfterAppend
            | ErrorCode::RequestTimedOut => Err(ErrorCode::CoordinatorNotAvailable),
            ErrorCode::NotLeaderOrFollower | ErrorCode::KafkaStorageError => {
                Err(ErrorCode::NotCoordinator)
            }
            _ => Err(ErrorCode::UnknownServerError),
        };
        if let Err(e) = result {
            self.lines.push(format!(
                "transaction coordinator: {transactional_id}: state record not written ({}): {}",
                error.name(),
                e.name()
            ));
        }
        let completing = !self.waiters.contains_key(transactional_id)
            && self.markers.contains_key(transactional_id);
        let completion = self.core.append_completed(transactional_id, result);
        if completing {
            match result {
                Ok(()) => {
                    self.markers.remove(transactional_id);
                    if let Some(m) = self.core.transactions().get(transactional_id) {
                        self.lines.push(format!(
                            "transaction coordinator: {transactional_id} -> {}",
                            m.state.name()
                        ));
                    }
                }
                Err(_) => {
                    self.complete_retry.insert(
                        transactional_id.to_owned(),
                        now.saturating_add(SimDuration::from_millis(MARKER_RETRY_BACKOFF_MS)),
                    );
                }
            }
        }
        self.complete(now, transactional_id, completion);
    }

    fn complete(&mut self, _now: SimTime, transactional_id: &str, completion: Completion) {
        if let Some(answer) = completion.answer {
            self.answer(transactional_id, answer);
        }
        if let Some(markers) = completion.markers {
            // Unloaded meanwhile: the next coordinator resends them.
            if let Ok(epoch) = self.status(transactional_id) {
                self.start_markers(markers, epoch)
            }
        }
    }

    fn answer(
        &mut self,
        transactional_id: &str,
        result: Result<(ProducerId, ProducerEpoch), ErrorCode>,
    ) {
        if let Some(waiter) = self.waiters.remove(transactional_id) {
            self.send(waiter.client, waiter.token, &waiter.asked, result);
        }
    }

    fn send(
        &mut self,
        client: NodeId,
        token: RequestToken,
        asked: &Asked,
        result: Result<(ProducerId, ProducerEpoch), ErrorCode>,
    ) {
        let error = result.err().unwrap_or(ErrorCode::None);
        let msg = match asked {
            Asked::InitProducerId => {
                let (producer_id, producer_epoch) =
                    result.unwrap_or((ProducerId(-1), ProducerEpoch(-1)));
                Msg::InitProducerIdResponse {
                    token,
                    error,
                    producer_id,
                    producer_epoch,
                }
            }
            Asked::AddPartitions(partitions) => Msg::AddPartitionsToTxnResponse {
                token,
                error,
                partitions: partitions.clone(),
            },
            Asked::AddOffsets(_) => Msg::AddOffsetsToTxnResponse { token, error },
            Asked::EndTxn => {
                let (producer_id, producer_epoch) =
                    result.unwrap_or((ProducerId(-1), ProducerEpoch(-1)));
                Msg::EndTxnResponse {
                    token,
                    error,
                    producer_id,
                    producer_epoch,
                }
            }
        };
        self.outbox.push((client, msg));
    }

    fn start_markers(&mut self, markers: WriteMarkers, coordinator_epoch: i32) {
        let todo: BTreeSet<TopicPartition> = markers.partitions.iter().cloned().collect();
        let id = markers.transactional_id.clone();
        self.markers.insert(
            id.clone(),
            MarkerJob {
                markers,
                coordinator_epoch,
                todo,
                in_flight: BTreeMap::new(),
                not_before: BTreeMap::new(),
            },
        );
        // A transaction with no partitions has no markers to wait for; `send_markers` (run
        // by the broker's drain) completes it.
    }

    /// Sends WriteTxnMarkers for every partition that needs one and is not in flight, one
    /// request per leader; completes the jobs with nothing left.
    pub fn send_markers(
        &mut self,
        now: SimTime,
        leader_of: &dyn Fn(&TopicPartition) -> Option<BrokerId>,
    ) {
        let done: Vec<String> = self
            .markers
            .iter()
            .filter(|(id, job)| job.todo.is_empty() && !self.complete_retry.contains_key(*id))
            .filter(|(id, _)| !self.core.is_pending(id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in done {
            self.markers_done(now, &id);
        }
        let timeout = self.settings.request_timeout_ms;
        for job in self.markers.values_mut() {
            let mut by_leader: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
            for tp in &job.todo {
                if job.in_flight.contains_key(tp) {
                    continue;
                }
                if job.not_before.get(tp).is_some_and(|t| *t > now) {
                    continue;
                }
                match leader_of(tp) {
                    Some(leader) => by_leader.entry(leader).or_default().push(tp.clone()),
                    None => {
                        job.not_before.insert(
                            tp.clone(),
                            now.saturating_add(SimDuration::from_millis(MARKER_RETRY_BACKOFF_MS)),
                        );
                    }
                }
            }
            for (leader, partitions) in by_leader {
                let deadline = now.saturating_add(SimDuration::from_millis(timeout));
                for tp in &partitions {
                    job.in_flight.insert(tp.clone(), (leader, deadline));
                    job.not_before.remove(tp);
                }
                self.outbox.push((
                    NodeId::from(leader),
                    Msg::WriteTxnMarkers {
                        transactional_id: job.markers.transactional_id.clone(),
                        producer_id: job.markers.producer_id,
                        producer_epoch: job.markers.producer_epoch,
                        coordinator_epoch: job.coordinator_epoch,
                        transaction_commit: job.markers.transaction_commit,
                        partitions,
                    },
                ));
            }
        }
    }

    /// Every marker is written: PrepareCommit -> CompleteCommit (or the abort's).
    fn markers_done(&mut self, now: SimTime, transactional_id: &str) {
        match self.core.markers_written(now, transactional_id) {
            Some(append) => self.queue_append(now, append),
            None => {
                self.markers.remove(transactional_id);
            }
        }
    }

    /// A partition leader's answer to WriteTxnMarkers. Kafka's
    /// `TransactionMarkerRequestCompletionHandler`: a stale epoch or a newer coordinator means
    /// this coordinator must stop sending; other errors are retried.
    pub fn on_markers_response(
        &mut self,
        now: SimTime,
        transactional_id: &str,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        errors: Vec<(TopicPartition, ErrorCode)>,
    ) {
        let Some(job) = self.markers.get_mut(transactional_id) else {
            return;
        };
        if job.markers.producer_id != producer_id || job.markers.producer_epoch != producer_epoch {
            return;
        }
        let mut abandon = None;
        for (tp, error) in errors {
            job.in_flight.remove(&tp);
            match error {
                ErrorCode::None => {
                    job.todo.remove(&tp);
                }
                ErrorCode::InvalidProducerEpoch | ErrorCode::TransactionCoordinatorFenced => {
                    abandon = Some((tp, error));
                }
                other => {
                    self.lines.push(format!(
                        "transaction coordinator: {transactional_id}: marker for {tp} refused ({}); retrying",
                        other.name()
                    ));
                    job.not_before.insert(
                        tp,
                        now.saturating_add(SimDuration::from_millis(MARKER_RETRY_BACKOFF_MS)),
                    );
                }
            }
        }
        if let Some((tp, error)) = abandon {
            self.lines.push(format!(
                "transaction coordinator: {transactional_id}: marker for {tp} refused ({}): this coordinator is stale; it stops writing markers",
                error.name()
            ));
            self.markers.remove(transactional_id);
        }
    }

    /// The connection to `peer` was reset: markers in flight to it are sent again.
    pub fn on_disconnect(&mut self, now: SimTime, peer: NodeId) {
        for job in self.markers.values_mut() {
            job.in_flight.retain(|tp, (leader, _)| {
                if NodeId::from(*leader) == peer {
                    job.not_before.insert(
                        tp.clone(),
                        now.saturating_add(SimDuration::from_millis(MARKER_RETRY_BACKOFF_MS)),
                    );
                    false
                } else {
                    true
                }
            });
        }
    }
}

impl Asked {
    fn name(&self) -> &'static str {
        match self {
            Asked::InitProducerId => "InitProducerId",
            Asked::AddPartitions(_) => "AddPartitionsToTxn",
            Asked::AddOffsets(_) => "AddOffsetsToTxn",
            Asked::EndTxn => "EndTxn",
        }
    }
}
