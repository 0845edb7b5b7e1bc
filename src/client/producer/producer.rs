//! `Producer`: Kafka's producer client as a sans-IO state machine: `KafkaProducer.send`, the
//! `RecordAccumulator`, the `Sender` loop and the idempotent part of the `TransactionManager`.
//! Time comes in as `now`, randomness from the `Prng` it was built with, metadata with each
//! call; produce requests, completions and the next wake-up leave as data.
//!
//! Invariants it keeps: a partition's batches are queued in creation order and a request holds
//! at most one batch per partition (P-3); a broker never has more than
//! `max.in.flight.requests.per.connection` unanswered requests; with idempotence, a retried
//! batch goes out only when every lower sequence of its partition has completed, and a batch
//! keeps its (producer id, epoch, sequence) across retries until an epoch bump resets them
//! (P-6, P-7); every record gets exactly one completion.

use super::batch::{increment_sequence, BatchSequence, ProducerBatch};
use super::config::{ConfigException, ProducerConfig};
use super::error::{ErrorCode, ProducerError};
use super::messages::{
    BatchId, ProducePartitionData, ProduceRequest, ProduceResponse, ProducerEvent,
    ProducerMetadata, ProducerRecord, RecordId, RequestId, SendCompletion, SendError, SendHandle,
};
use super::sticky::{PartitionLoadStats, StickyPartitioner};
use crate::client::partitioner::partition_for_key;
use crate::ids::{BrokerId, Offset, ProducerEpoch, ProducerId, TopicPartition};
use crate::log::batch::{NewRecord, RECORD_BATCH_OVERHEAD};
use crate::prng::Prng;
use crate::time::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Per partition: the batch queue and the idempotence bookkeeping (Kafka's
/// `TxnPartitionEntry`).
#[derive(Clone, Debug, Default)]
struct PartitionState {
    /// Incomplete batches in creation order, in-flight ones included.
    queue: VecDeque<BatchId>,
    /// The producer id and epoch this partition's sequences belong to; `None` = start over.
    producer_id_and_epoch: Option<(ProducerId, ProducerEpoch)>,
    next_sequence: i32,
    /// -1 before the first acknowledgement.
    last_acked_sequence: i32,
    /// The last sequence of an expired batch that may have been written: new batches wait
    /// until later acknowledgements or an epoch bump settle it.
    unresolved_sequence: Option<i32>,
}

#[derive(Clone, Debug)]
struct InFlightRequest {
    destination: BrokerId,
    sent_at: SimTime,
    batch_ids: Vec<BatchId>,
}

/// Whether a partition's next batch can be drained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Readiness {
    Ready(BrokerId),
    At(SimTime),
    Blocked,
}

/// The producer client.
#[derive(Clone, Debug)]
pub struct Producer {
    config: ProducerConfig,
    idempotent: bool,
    /// `transactional.id` is set: a batch goes out only to a partition its transaction has
    /// added (AddPartitionsToTxn answered), and a failed batch makes the transaction
    /// abortable instead of bumping the epoch (the driver's InitProducerId does that).
    transactional: bool,
    /// The partitions the open transaction has added.
    txn_partitions: BTreeSet<TopicPartition>,
    prng: Prng,
    producer_id_and_epoch: Option<(ProducerId, ProducerEpoch)>,
    next_record_id: u64,
    next_batch_id: u64,
    next_request_id: u64,
    batches: BTreeMap<BatchId, ProducerBatch>,
    partitions: BTreeMap<TopicPartition, PartitionState>,
    in_flight: BTreeMap<RequestId, InFlightRequest>,
    /// Answers that arrived before the answer to an older request on the same connection.
    /// TCP hands a broker's answers over in request order (Kafka's `NetworkClient` matches
    /// each receive to `InFlightRequests.completeNext`, the oldest request to that node), so
    /// such an answer is not readable yet: it waits behind the older one, and is gone with the
    /// connection if `request.timeout.ms` or a disconnect closes it first.
    held_responses: BTreeMap<RequestId, ProduceResponse>,
    sticky: StickyPartitioner,
    drain_start: BTreeMap<BrokerId, u32>,
    events: Vec<ProducerEvent>,
    epoch_bump_partitions: BTreeSet<TopicPartition>,
    /// `flush()`: batches up to this id are sendable without waiting for `linger.ms`.
    flush_through: Option<BatchId>,
    queued_bytes: u64,
    metadata_refresh_requested: bool,
}

impl Producer {
    /// A producer with a validated config. `prng` drives the sticky partitioner and the retry
    /// backoff jitter (fork it from the run's seed).
    pub fn new(config: ProducerConfig, prng: Prng) -> Result<Producer, ConfigException> {
        config.validate()?;
        let idempotent = config.idempotence_enabled();
        let transactional = config.transactional_id.is_some();
        Ok(Producer {
            config,
            idempotent,
            transactional,
            txn_partitions: BTreeSet::new(),
            prng,
            producer_id_and_epoch: None,
            next_record_id: 0,
            next_batch_id: 0,
            next_request_id: 0,
            batches: BTreeMap::new(),
            partitions: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            held_responses: BTreeMap::new(),
            sticky: StickyPartitioner::default(),
            drain_start: BTreeMap::new(),
            events: Vec::new(),
            epoch_bump_partitions: BTreeSet::new(),
            flush_through: None,
            queued_bytes: 0,
            metadata_refresh_requested: false,
        })
    }

    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// Whether the driver should get this producer an id (InitProducerId) before it can send.
    pub fn wants_producer_id(&self) -> bool {
        self.idempotent && self.producer_id_and_epoch.is_none()
    }

    /// The InitProducerId answer.
    pub fn set_producer_id(&mut self, producer_id: ProducerId, producer_epoch: ProducerEpoch) {
        assert!(
            self.idempotent,
            "only an idempotent producer has a producer id"
        );
        self.producer_id_and_epoch = Some((producer_id, producer_epoch));
        // A new producer id or epoch (InitProducerId) starts with no partition added to any
        // transaction: a replaced instance must not inherit its predecessor's.
        self.txn_partitions.clear();
    }

    pub fn producer_id_and_epoch(&self) -> Option<(ProducerId, ProducerEpoch)> {
        self.producer_id_and_epoch
    }

    pub fn is_transactional(&self) -> bool {
        self.transactional
    }

    /// The transaction added `tp` (AddPartitionsToTxn answered): its batches may go out.
    pub fn allow_transaction_partition(&mut self, tp: &TopicPartition) {
        self.txn_partitions.insert(tp.clone());
    }

    /// The transaction ended (EndTxn answered): the next one adds its partitions again.
    pub fn end_transaction(&mut self) {
        self.txn_partitions.clear();
    }

    /// Every queued batch fails with `error` (Kafka's `abortUndrainedBatches` when a
    /// transaction aborts or the producer is fenced); batches in flight complete by their
    /// answers.
    ///
    /// Returns whether an aborted batch had been sent before (it waited to be retried with its
    /// sequence assigned): its sequence is unresolved, so the producer must bump its epoch
    /// before the next transaction (KIP-360, Kafka's `hasUnresolvedSequences`).
    pub fn abort_undrained_batches(&mut self, error: ProducerError) -> bool {
        let undrained: Vec<BatchId> = self
            .batches
            .values()
            .filter(|b| b.in_flight.is_none() && !b.expired)
            .map(|b| b.id)
            .collect();
        let mut unresolved = false;
        for id in undrained {
            if let Some(batch) = self.remove_batch(id) {
                unresolved |= batch.sequence.is_some() && batch.attempts > 0;
                self.report_failure(&batch, error);
            }
        }
        unresolved
    }

    /// `close(Duration.ZERO)`: every batch, queued or in flight, fails with `error`, and the
    /// answers to requests in flight are ignored from now on (a new instance that replaces
    /// this one inherits none of them).
    pub fn abort_all_batches(&mut self, error: ProducerError) {
        self.in_flight.clear();
        self.held_responses.clear();
        let ids: Vec<BatchId> = self.batches.keys().copied().collect();
        for id in ids {
            if let Some(batch) = self.remove_batch(id) {
                self.report_failure(&batch, error);
            }
        }
    }

    /// Whether a batch waits to be sent (not in flight).
    pub fn has_undrained_batches(&self) -> bool {
        self.batches
            .values()
            .any(|b| b.in_flight.is_none() && !b.expired)
    }

    /// Whether any batch is queued or in flight.
    pub fn has_incomplete_batches(&self) -> bool {
        !self.batches.is_empty()
    }

    /// True once after a NOT_LEADER_OR_FOLLOWER or UNKNOWN_TOPIC_OR_PARTITION answer: the
    /// driver should refresh the metadata it passes in.
    pub fn take_metadata_refresh_request(&mut self) -> bool {
        std::mem::take(&mut self.metadata_refresh_requested)
    }

    /// Whether a send failed since the events were last taken (Kafka's transaction manager
    /// learns of it in the send's callback, before `commitTransaction` can go out).
    pub fn has_untaken_failure(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, ProducerEvent::Completed(done) if done.result.is_err()))
    }

    /// Completions and other events since the last call, in order. The driver takes them
    /// after every call; until then they are bounded by the records the producer holds.
    pub fn take_events(&mut self) -> Vec<ProducerEvent> {
        std::mem::take(&mut self.events)
    }

    /// Unanswered requests to `broker`.
    pub fn in_flight_count(&self, broker: BrokerId) -> u32 {
        self.in_flight
            .values()
            .filter(|r| r.destination == broker)
            .count() as u32
    }

    /// Incomplete batches (queued, backing off or in flight).
    pub fn batch_count(&self) -> u32 {
        self.batches.len() as u32
    }

    // ---- send ---------------------------------------------------------------------------

    /// `KafkaProducer.send`: picks the partition (P-1, P-2) and appends the record to that
    /// partition's last batch or a new one (P-3). The outcome arrives later as an event.
    pub fn send(
        &mut self,
        now: SimTime,
        metadata: &ProducerMetadata,
        record: ProducerRecord,
    ) -> Result<SendHandle, SendError> {
        let partition_count = metadata
            .partition_count(&record.topic)
            .ok_or_else(|| SendError::UnknownTopic(record.topic.clone()))?;
        let new_record = NewRecord {
            timestamp_ms: record.timestamp_ms.unwrap_or(now.as_millis()),
            key: record.key.clone(),
            value: record.value.clone(),
            headers: record.headers.clone(),
        };
        // The record alone in a batch: what Kafka's ensureValidRecordSize measures.
        let alone_size = RECORD_BATCH_OVERHEAD + ProducerBatch::first_record_size(&new_record);
        if self.queued_bytes.saturating_add(u64::from(alone_size)) > self.config.buffer_memory {
            return Err(SendError::BufferExhausted);
        }
        let (partition, sticky) = match (record.partition, &record.key) {
            (Some(p), _) if p.0 >= partition_count => {
                return Err(SendError::InvalidPartition {
                    partition: p,
                    partition_count,
                })
            }
            (Some(p), _) => (p, false),
            (None, Some(key)) if !self.config.partitioner_ignore_keys => {
                (partition_for_key(key, partition_count), false)
            }
            (None, _) => (
                self.sticky.current(&record.topic, metadata, &mut self.prng),
                true,
            ),
        };
        let topic_partition = TopicPartition {
            topic: record.topic.clone(),
            partition,
        };
        let record_id = RecordId(self.next_record_id);
        self.next_record_id += 1;
        let handle = SendHandle {
            record_id,
            topic_partition: topic_partition.clone(),
        };
        if alone_size > self.config.max_request_size {
            // Kafka's ensureValidRecordSize: refused before it is queued, a definite failure.
            self.events.push(ProducerEvent::Completed(SendCompletion {
                record_id,
                topic_partition,
                result: Err(ProducerError::RecordTooLarge),
                maybe_appended: false,
            }));
            return Ok(handle);
        }
        let appended = self.append(now, &topic_partition, record_id, new_record);
        if sticky {
            let all_batches_full = self.last_queued_batch_full(&topic_partition);
            self.sticky.on_append(
                &record.topic,
                appended,
                all_batches_full,
                self.config.batch_size,
                metadata,
                &mut self.prng,
            );
        }
        Ok(handle)
    }

    /// Appends to the partition's open batch or a new one; returns the bytes it added (a new
    /// batch counts its header, as Kafka's `RecordAppendResult.appendedBytes` does).
    fn append(
        &mut self,
        now: SimTime,
        tp: &TopicPartition,
        record_id: RecordId,
        record: NewRecord,
    ) -> u32 {
        let batch_size = self.config.batch_size;
        let state = self.partitions.entry(tp.clone()).or_default();
        if let Some(last) = state.queue.back().and_then(|id| self.batches.get_mut(id)) {
            if let Some(grew) = last.try_append(record_id, record.clone(), batch_size) {
                self.queued_bytes += u64::from(grew);
                return grew;
            }
        }
        let id = BatchId(self.next_batch_id);
        self.next_batch_id += 1;
        let mut batch = ProducerBatch::new(id, tp.clone(), now);
        batch.transactional = self.transactional;
        let grew = batch.try_append(record_id, record, batch_size);
        assert!(grew.is_some(), "an empty batch takes any record");
        let size = batch.size_in_bytes;
        self.queued_bytes += u64::from(size);
        state.queue.push_back(id);
        self.batches.insert(id, batch);
        size
    }

    /// Kafka's `allBatchesFull`: the last batch still waiting in the partition's queue is full.
    fn last_queued_batch_full(&self, tp: &TopicPartition) -> bool {
        let Some(state) = self.partitions.get(tp) else {
            return true;
        };
        state
            .queue
            .iter()
            .rev()
            .filter_map(|id| self.batches.get(id))
            .find(|b| b.in_flight.is_none())
            .is_none_or(|b| b.is_full(self.config.batch_size))
    }

    /// `KafkaProducer.flush()`: every batch queued now is sendable at once, without waiting
    /// for `linger.ms`. The caller learns it is over when those records have completed.
    pub fn flush(&mut self) {
        self.flush_through = self.batches.keys().next_back().copied();
    }

    /// Whether a `flush` still has batches to send or answers to wait for.
    pub fn flush_in_progress(&self) -> bool {
        self.flush_through.is_some_and(|last| {
            self.batches
                .keys()
                .next()
                .is_some_and(|first| *first <= last)
        })
    }

    // ---- poll ---------------------------------------------------------------------------

    /// One `Sender` pass: expires requests and batches, settles sequences, bumps the epoch if
    /// needed, then drains ready batches into at most one request per broker with room.
    pub fn poll(&mut self, now: SimTime, metadata: &ProducerMetadata) -> Vec<ProduceRequest> {
        self.expire_requests(now);
        self.expire_batches(now);
        self.resolve_sequences();
        self.maybe_bump_epoch();
        self.update_partition_load_stats(metadata);
        if !self.flush_in_progress() {
            self.flush_through = None;
        }
        let mut ready: BTreeSet<BrokerId> = BTreeSet::new();
        let tps: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
        for tp in &tps {
            if let Readiness::Ready(node) = self.readiness(now, tp, metadata) {
                ready.insert(node);
            }
        }
        let mut requests = Vec::new();
        for node in ready {
            if self.in_flight_count(node) >= self.config.max_in_flight_requests_per_connection {
                continue;
            }
            if let Some(request) = self.drain_node(now, node, &tps, metadata) {
                requests.push(request);
            }
        }
        requests
    }

    /// Kafka's `partitionReady` side job: per topic, the queued batch counts of partitions
    /// with a leader feed the adaptive sticky partitioner. Only once every partition of the
    /// topic has had a queue, so no partition is invisible to the weighting.
    fn update_partition_load_stats(&mut self, metadata: &ProducerMetadata) {
        let topics: BTreeSet<String> = self.partitions.keys().map(|tp| tp.topic.clone()).collect();
        for topic in topics {
            let with_queue: Vec<&TopicPartition> = self
                .partitions
                .keys()
                .filter(|tp| tp.topic == topic)
                .collect();
            let complete = metadata
                .partition_count(&topic)
                .is_some_and(|n| with_queue.len() as u32 >= n);
            let stats = if self.config.partitioner_adaptive_partitioning_enable && complete {
                let sizes: Vec<(crate::ids::PartitionIndex, u32)> = with_queue
                    .iter()
                    .filter(|tp| metadata.leader(tp).is_some())
                    .map(|tp| (tp.partition, self.queued_batches(tp)))
                    .collect();
                PartitionLoadStats::from_queue_sizes(&sizes, with_queue.len() as u32)
            } else {
                None
            };
            self.sticky.set_load_stats(&topic, stats);
        }
    }

    /// Batches of a partition waiting to be drained (Kafka's deque size: in-flight ones
    /// have left the deque).
    fn queued_batches(&self, tp: &TopicPartition) -> u32 {
        self.partitions.get(tp).map_or(0, |s| {
            s.queue
                .iter()
                .filter_map(|id| self.batches.get(id))
                .filter(|b| b.in_flight.is_none())
                .count() as u32
        })
    }

    /// When `poll` next has work: a ready batch, a linger or backoff expiry, a delivery or
    /// request deadline. `None` = only an answer or a new send can wake the producer.
    pub fn poll_timeout(&self, now: SimTime, metadata: &ProducerMetadata) -> Option<SimTime> {
        let mut next: Option<SimTime> = None;
        let mut at = |t: SimTime| next = Some(next.map_or(t, |n: SimTime| n.min(t)));
        for tp in self.partitions.keys() {
            match self.readiness(now, tp, metadata) {
                Readiness::Ready(node) => {
                    if self.in_flight_count(node)
                        < self.config.max_in_flight_requests_per_connection
                    {
                        at(now);
                    }
                }
                Readiness::At(t) => at(t),
                Readiness::Blocked => {}
            }
        }
        for batch in self.batches.values().filter(|b| !b.expired) {
            at(self.delivery_deadline(batch));
        }
        for request in self.in_flight.values() {
            at(request.sent_at.saturating_add(self.request_timeout()));
        }
        next.map(|t| t.max(now))
    }

    fn delivery_deadline(&self, batch: &ProducerBatch) -> SimTime {
        batch
            .created_at
            .saturating_add(SimDuration::from_millis(self.config.delivery_timeout_ms))
    }

    fn request_timeout(&self) -> SimDuration {
        SimDuration::from_millis(self.config.request_timeout_ms)
    }

    /// The partition's next drainable batch: the first one not in flight.
    fn candidate(&self, tp: &TopicPartition) -> Option<&ProducerBatch> {
        self.partitions
            .get(tp)?
            .queue
            .iter()
            .filter_map(|id| self.batches.get(id))
            .find(|b| b.in_flight.is_none())
    }

    /// `RecordAccumulator.ready` for one partition, with the idempotence drain gate folded in.
    fn readiness(
        &self,
        now: SimTime,
        tp: &TopicPartition,
        metadata: &ProducerMetadata,
    ) -> Readiness {
        let Some(leader) = metadata.leader(tp) else {
            return Readiness::Blocked;
        };
        let Some(candidate) = self.candidate(tp) else {
            return Readiness::Blocked;
        };
        if self.drain_gated(tp, candidate) {
            return Readiness::Blocked;
        }
        if let Some(retry_at) = candidate.retry_at {
            return if now >= retry_at {
                Readiness::Ready(leader)
            } else {
                Readiness::At(retry_at)
            };
        }
        let flushing = self.flush_through.is_some_and(|last| candidate.id <= last);
        if flushing || self.queued_batches(tp) > 1 || candidate.is_full(self.config.batch_size) {
            return Readiness::Ready(leader);
        }
        let linger_at = candidate
            .created_at
            .saturating_add(SimDuration::from_millis(self.config.linger_ms));
        if now >= linger_at {
            Readiness::Ready(leader)
        } else {
            Readiness::At(linger_at)
        }
    }

    /// Kafka's `shouldStopDrainBatchesForPartition`: with idempotence, a batch waits for a
    /// producer id, for a pending epoch bump, for unresolved sequences, and a retried batch
    /// waits until every lower sequence of its partition has completed.
    fn drain_gated(&self, tp: &TopicPartition, candidate: &ProducerBatch) -> bool {
        // max.in.flight=1 guarantees order: Kafka mutes a partition while it has a batch in
        // flight, even if its leader moved to another connection meanwhile.
        if self.config.max_in_flight_requests_per_connection == 1 && self.has_in_flight(tp) {
            return true;
        }
        if !self.idempotent {
            return false;
        }
        if self.transactional && !self.txn_partitions.contains(tp) {
            return true;
        }
        let Some(current) = self.producer_id_and_epoch else {
            return true;
        };
        if self.epoch_bump_partitions.contains(tp) {
            return true;
        }
        let Some(state) = self.partitions.get(tp) else {
            return false;
        };
        let mut batches = state.queue.iter().filter_map(|id| self.batches.get(id));
        match candidate.sequence {
            None => {
                let stale = state.producer_id_and_epoch != Some(current);
                state.unresolved_sequence.is_some()
                    || (stale && batches.any(|b| b.in_flight.is_some()))
            }
            Some(seq) => {
                let first = batches.filter(|b| !b.expired).find_map(|b| b.sequence);
                first.map(|s| s.base_sequence) != Some(seq.base_sequence)
            }
        }
    }

    /// `RecordAccumulator.drain` for one broker: at most one batch per partition it leads,
    /// starting from a rotating partition, within `max.request.size` (the first always fits).
    fn drain_node(
        &mut self,
        now: SimTime,
        node: BrokerId,
        tps: &[TopicPartition],
        metadata: &ProducerMetadata,
    ) -> Option<ProduceRequest> {
        let led: Vec<&TopicPartition> = tps
            .iter()
            .filter(|tp| metadata.leader(tp) == Some(node))
            .collect();
        if led.is_empty() {
            return None;
        }
        let start = self.drain_start.get(&node).copied().unwrap_or(0) as usize % led.len();
        self.drain_start
            .insert(node, ((start + 1) % led.len()) as u32);
        let request_id = RequestId(self.next_request_id);
        let mut size: u64 = 0;
        let mut drained: Vec<BatchId> = Vec::new();
        let mut partitions = Vec::new();
        for tp in led.iter().cycle().skip(start).take(led.len()) {
            let Some(candidate) = self.candidate(tp) else {
                continue;
            };
            if candidate.retry_at.is_some_and(|t| now < t) || self.drain_gated(tp, candidate) {
                continue;
            }
            let batch_size = u64::from(candidate.size_in_bytes);
            if !drained.is_empty() && size + batch_size > u64::from(self.config.max_request_size) {
                break;
            }
            size += batch_size;
            let id = candidate.id;
            self.assign_sequence(tp, id);
            let Some(batch) = self.batches.get_mut(&id) else {
                continue;
            };
            batch.closed = true;
            batch.attempts += 1;
            batch.retry_at = None;
            batch.in_flight = Some(request_id);
            partitions.push(ProducePartitionData {
                topic_partition: (*tp).clone(),
                records: batch.encode(),
            });
            drained.push(id);
        }
        if drained.is_empty() {
            return None;
        }
        self.next_request_id += 1;
        let request = ProduceRequest {
            request_id,
            destination: node,
            acks: self.config.acks,
            timeout_ms: self.config.request_timeout_ms,
            transactional_id: self.config.transactional_id.clone(),
            partitions,
        };
        if request.expects_response() {
            self.in_flight.insert(
                request_id,
                InFlightRequest {
                    destination: node,
                    sent_at: now,
                    batch_ids: drained,
                },
            );
        } else {
            // acks=0: the send completes as the request leaves, with offset -1.
            for id in drained {
                self.succeed(id, Offset(-1));
            }
        }
        Some(request)
    }

    /// Gives a batch its sequence at its first drain (`TransactionManager.sequenceNumber`),
    /// restarting the partition at 0 when its producer id or epoch is stale.
    fn assign_sequence(&mut self, tp: &TopicPartition, id: BatchId) {
        let Some(current) = self.producer_id_and_epoch.filter(|_| self.idempotent) else {
            return;
        };
        let Some(batch) = self.batches.get_mut(&id) else {
            return;
        };
        if batch.sequence.is_some() {
            return;
        }
        let state = self.partitions.entry(tp.clone()).or_default();
        if state.producer_id_and_epoch != Some(current) {
            state.producer_id_and_epoch = Some(current);
            state.next_sequence = 0;
            state.last_acked_sequence = -1;
        }
        batch.sequence = Some(BatchSequence {
            producer_id: current.0,
            producer_epoch: current.1,
            base_sequence: state.next_sequence,
        });
        state.next_sequence = increment_sequence(state.next_sequence, batch.record_count());
    }

    // ---- answers ------------------------------------------------------------------------

    /// A ProduceResponse as it reaches the client. Answers are read in request order per
    /// broker connection (`NetworkClient.handleCompletedReceives` completes
    /// `InFlightRequests.completeNext`): one that overtook the answer to an older request still
    /// in flight to the same broker (the older answer was lost, or the broker answered out of
    /// order) is held until that one is read, and dropped if the connection closes first.
    pub fn handle_response(&mut self, now: SimTime, response: &ProduceResponse) {
        let Some(destination) = self
            .in_flight
            .get(&response.request_id)
            .map(|r| r.destination)
        else {
            // Already failed by a disconnect or a request timeout: the answer is stale.
            return;
        };
        if self.oldest_in_flight(destination) != Some(response.request_id) {
            self.held_responses
                .insert(response.request_id, response.clone());
            return;
        }
        self.complete_response(now, response);
        // The answers held behind it are readable now, in request order.
        while let Some(next) = self.oldest_in_flight(destination) {
            let Some(held) = self.held_responses.remove(&next) else {
                break;
            };
            self.complete_response(now, &held);
        }
    }

    /// The oldest unanswered request to `broker` (request ids grow in send order).
    fn oldest_in_flight(&self, broker: BrokerId) -> Option<RequestId> {
        self.in_flight
            .iter()
            .find(|(_, r)| r.destination == broker)
            .map(|(id, _)| *id)
    }

    /// Completes, retries or fails each batch of an answered request.
    fn complete_response(&mut self, now: SimTime, response: &ProduceResponse) {
        let Some(request) = self.in_flight.remove(&response.request_id) else {
            return;
        };
        for id in request.batch_ids {
            let Some(tp) = self.batches.get(&id).map(|b| b.topic_partition.clone()) else {
                continue;
            };
            let answer = response.partitions.iter().find(|p| p.topic_partition == tp);
            let (error, base_offset) = answer
                .map_or((ErrorCode::NetworkException, Offset(-1)), |a| {
                    (a.error, a.base_offset)
                });
            if matches!(
                error,
                ErrorCode::NotLeaderOrFollower | ErrorCode::UnknownTopicOrPartition
            ) {
                self.metadata_refresh_requested = true;
            }
            self.complete_attempt(now, id, error, base_offset);
        }
    }

    /// The connection to `broker` broke: every unanswered request to it fails with
    /// NETWORK_EXCEPTION, and its batches are retried (P-4).
    pub fn handle_disconnect(&mut self, now: SimTime, broker: BrokerId) {
        self.fail_requests_to(now, broker, ErrorCode::NetworkException);
    }

    fn fail_requests_to(&mut self, now: SimTime, broker: BrokerId, error: ErrorCode) {
        let ids: Vec<RequestId> = self
            .in_flight
            .iter()
            .filter(|(_, r)| r.destination == broker)
            .map(|(id, _)| *id)
            .collect();
        for request_id in ids {
            // An answer held behind a lost one was never readable: it goes with the connection.
            self.held_responses.remove(&request_id);
            if let Some(request) = self.in_flight.remove(&request_id) {
                for id in request.batch_ids {
                    self.complete_attempt(now, id, error, Offset(-1));
                }
            }
        }
        self.metadata_refresh_requested = true;
    }

    /// `request.timeout.ms` without an answer: Kafka closes the connection, so every request
    /// to that broker fails with REQUEST_TIMED_OUT.
    fn expire_requests(&mut self, now: SimTime) {
        let timeout = self.request_timeout();
        let late: BTreeSet<BrokerId> = self
            .in_flight
            .values()
            .filter(|r| now >= r.sent_at.saturating_add(timeout))
            .map(|r| r.destination)
            .collect();
        for broker in late {
            self.fail_requests_to(now, broker, ErrorCode::RequestTimedOut);
        }
    }

    fn complete_attempt(
        &mut self,
        now: SimTime,
        id: BatchId,
        error: ErrorCode,
        base_offset: Offset,
    ) {
        let Some(batch) = self.batches.get_mut(&id) else {
            return;
        };
        batch.in_flight = None;
        if matches!(
            error,
            ErrorCode::NotEnoughReplicasAfterAppend
                | ErrorCode::RequestTimedOut
                | ErrorCode::NetworkException
        ) {
            // The leader may have appended it: a retry can duplicate it (P-5).
            batch.maybe_appended = true;
        }
        match error {
            // A duplicate is success: the broker already has it (P-6).
            ErrorCode::None | ErrorCode::DuplicateSequenceNumber => self.succeed(id, base_offset),
            e if self.can_retry(id, e) => self.reenqueue(now, id, e),
            e => self.fail(id, ProducerError::Broker(e)),
        }
    }

    /// `Sender.canRetry` with `TransactionManager.canRetry` for an idempotent producer: a
    /// retriable error within `retries`, or an OUT_OF_ORDER_SEQUENCE_NUMBER for a batch that
    /// is not the next in line (an earlier batch failed; this one follows it).
    fn can_retry(&self, id: BatchId, error: ErrorCode) -> bool {
        let Some(batch) = self.batches.get(&id) else {
            return false;
        };
        if batch.expired || batch.attempts > self.config.retries {
            return false;
        }
        if error.is_retriable() {
            return true;
        }
        if self.idempotent && error == ErrorCode::OutOfOrderSequenceNumber {
            return batch
                .sequence
                .is_some_and(|s| !self.is_next_sequence(&batch.topic_partition, s));
        }
        false
    }

    /// Kafka's `isNextSequence`: the batch directly follows the last acknowledged one.
    fn is_next_sequence(&self, tp: &TopicPartition, seq: BatchSequence) -> bool {
        self.partitions.get(tp).is_some_and(|s| {
            s.producer_id_and_epoch == Some((seq.producer_id, seq.producer_epoch))
                && seq.base_sequence == next_after(s.last_acked_sequence)
        })
    }

    /// Back into the queue at its place, not before the jittered exponential backoff (KIP-580).
    fn reenqueue(&mut self, now: SimTime, id: BatchId, error: ErrorCode) {
        let Some(attempts) = self.batches.get(&id).map(|b| b.attempts) else {
            return;
        };
        let backoff_ms = self.retry_backoff_ms(attempts - 1);
        let retry_at = now.saturating_add(SimDuration::from_millis(backoff_ms));
        let Some(batch) = self.batches.get_mut(&id) else {
            return;
        };
        batch.retry_at = Some(retry_at);
        self.events.push(ProducerEvent::Retrying {
            batch_id: id,
            topic_partition: batch.topic_partition.clone(),
            error,
            attempts,
            retry_at,
        });
    }

    /// Kafka's `ExponentialBackoff(retry.backoff.ms, 2, retry.backoff.max.ms, 0.2)`: the
    /// term doubles per retry up to the cap, times a factor in [0.8, 1.2), capped again.
    fn retry_backoff_ms(&mut self, retries_so_far: i32) -> u64 {
        let initial = self.config.retry_backoff_ms;
        let max = self.config.retry_backoff_max_ms;
        if initial >= max {
            return max;
        }
        let shift = retries_so_far.clamp(0, 32) as u32;
        let term = initial.saturating_mul(1u64 << shift).min(max);
        let permille = self.prng.range_inclusive(800, 1_199);
        (term.saturating_mul(permille) / 1_000).min(max)
    }

    fn remove_batch(&mut self, id: BatchId) -> Option<ProducerBatch> {
        let batch = self.batches.remove(&id)?;
        if let Some(state) = self.partitions.get_mut(&batch.topic_partition) {
            state.queue.retain(|b| *b != id);
        }
        self.queued_bytes = self
            .queued_bytes
            .saturating_sub(u64::from(batch.size_in_bytes));
        Some(batch)
    }

    fn succeed(&mut self, id: BatchId, base_offset: Offset) {
        let Some(batch) = self.remove_batch(id) else {
            return;
        };
        if let (Some(seq), Some(last)) = (batch.sequence, batch.last_sequence()) {
            if let Some(state) = self.partitions.get_mut(&batch.topic_partition) {
                if state.producer_id_and_epoch == Some((seq.producer_id, seq.producer_epoch)) {
                    state.last_acked_sequence = state.last_acked_sequence.max(last);
                }
            }
        }
        if batch.expired {
            return;
        }
        for ((record_id, _), index) in batch.records.iter().zip(0i64..) {
            let offset = if base_offset.0 < 0 {
                Offset(-1)
            } else {
                base_offset.plus(index)
            };
            self.events.push(ProducerEvent::Completed(SendCompletion {
                record_id: *record_id,
                topic_partition: batch.topic_partition.clone(),
                result: Ok(offset),
                maybe_appended: true,
            }));
        }
    }

    /// A definite failure. With idempotence its sequence is burnt, so the partition restarts
    /// under a bumped epoch (`handleFailedBatch` → `requestEpochBumpForPartition`, P-7).
    fn fail(&mut self, id: BatchId, error: ProducerError) {
        let Some(batch) = self.remove_batch(id) else {
            return;
        };
        if batch.expired {
            return;
        }
        if self.idempotent && !self.transactional && batch.sequence.is_some() {
            self.epoch_bump_partitions
                .insert(batch.topic_partition.clone());
        }
        self.report_failure(&batch, error);
    }

    fn report_failure(&mut self, batch: &ProducerBatch, error: ProducerError) {
        for (record_id, _) in &batch.records {
            self.events.push(ProducerEvent::Completed(SendCompletion {
                record_id: *record_id,
                topic_partition: batch.topic_partition.clone(),
                result: Err(error),
                maybe_appended: batch.maybe_appended,
            }));
        }
    }

    /// `delivery.timeout.ms` after a batch was created, its records fail with a
    /// TimeoutException, in flight or not (P-4). An in-flight one stays until its answer so its
    /// sequence can still be acknowledged; its sequence is unresolved until then.
    fn expire_batches(&mut self, now: SimTime) {
        let due: Vec<BatchId> = self
            .batches
            .values()
            .filter(|b| !b.expired && now >= self.delivery_deadline(b))
            .map(|b| b.id)
            .collect();
        for id in due {
            let Some(batch) = self.batches.get_mut(&id) else {
                continue;
            };
            let unresolved = batch.last_sequence();
            let tp = batch.topic_partition.clone();
            if batch.in_flight.is_some() {
                batch.expired = true;
                batch.maybe_appended = true;
                let snapshot = batch.clone();
                self.report_failure(&snapshot, ProducerError::Timeout);
            } else if let Some(batch) = self.remove_batch(id) {
                self.report_failure(&batch, ProducerError::Timeout);
            }
            if let (Some(last), true) = (unresolved, self.idempotent) {
                let state = self.partitions.entry(tp).or_default();
                state.unresolved_sequence =
                    Some(state.unresolved_sequence.map_or(last, |u| u.max(last)));
            }
        }
    }

    /// `maybeResolveSequences`: once no sequenced batch of the partition is left (in flight or
    /// waiting for a retry), an unresolved sequence is settled by the acknowledgements (written) or by an epoch bump (unknown).
    fn resolve_sequences(&mut self) {
        let tps: Vec<TopicPartition> = self
            .partitions
            .iter()
            .filter(|(_, s)| s.unresolved_sequence.is_some())
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in tps {
            if self.has_sequenced_batches(&tp) {
                continue;
            }
            let Some(state) = self.partitions.get_mut(&tp) else {
                continue;
            };
            let acked = state
                .unresolved_sequence
                .is_some_and(|u| state.last_acked_sequence >= u);
            state.unresolved_sequence = None;
            if !acked {
                self.epoch_bump_partitions.insert(tp);
            }
        }
    }

    /// Kafka's `hasInflightBatches`: a batch of the partition holds a sequence and has not
    /// completed, whether its request is out now or it waits to be retried. A bump that
    /// rewrote such a batch's sequence could write it twice: its earlier attempt may be in the
    /// log under the old epoch, where the broker cannot recognise the retry as a duplicate.
    fn has_sequenced_batches(&self, tp: &TopicPartition) -> bool {
        self.partitions.get(tp).is_some_and(|s| {
            s.queue
                .iter()
                .filter_map(|id| self.batches.get(id))
                .any(|b| b.in_flight.is_some() || b.sequence.is_some())
        })
    }

    fn has_in_flight(&self, tp: &TopicPartition) -> bool {
        self.partitions.get(tp).is_some_and(|s| {
            s.queue
                .iter()
                .filter_map(|id| self.batches.get(id))
                .any(|b| b.in_flight.is_some())
        })
    }

    /// `bumpIdempotentProducerEpoch`, once none of the partitions asking for it has a batch in
    /// flight: the epoch goes up by one and those partitions restart their sequences at 0 in
    /// queue order at the next drain. Other partitions restart lazily when they are idle.
    fn maybe_bump_epoch(&mut self) {
        if self.epoch_bump_partitions.is_empty() {
            return;
        }
        if self
            .epoch_bump_partitions
            .iter()
            .any(|tp| self.has_in_flight(tp))
        {
            return;
        }
        let Some((producer_id, epoch)) = self.producer_id_and_epoch else {
            return;
        };
        let bumped = if epoch.0 == i16::MAX {
            // Epoch exhausted: Kafka asks for a new producer id (InitProducerId).
            self.producer_id_and_epoch = None;
            None
        } else {
            let next = (producer_id, ProducerEpoch(epoch.0 + 1));
            self.producer_id_and_epoch = Some(next);
            Some(next)
        };
        let tps = std::mem::take(&mut self.epoch_bump_partitions);
        for tp in tps {
            let ids: Vec<BatchId> = self
                .partitions
                .get(&tp)
                .map(|s| s.queue.iter().copied().collect())
                .unwrap_or_default();
            for id in ids {
                if let Some(batch) = self.batches.get_mut(&id) {
                    batch.sequence = None;
                }
            }
            if let Some(state) = self.partitions.get_mut(&tp) {
                state.producer_id_and_epoch = None;
                state.unresolved_sequence = None;
            }
        }
        if let Some((producer_id, producer_epoch)) = bumped {
            self.events.push(ProducerEvent::EpochBumped {
                producer_id,
                producer_epoch,
            });
        }
    }
}

/// The sequence after the last acknowledged one (-1 = none yet).
fn next_after(last_acked: i32) -> i32 {
    if last_acked < 0 {
        0
    } else {
        increment_sequence(last_acked, 1)
    }
}
