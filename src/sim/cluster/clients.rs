//! The simulated clients: producers driven by a seeded workload through the real producer
//! state machine, and consumers in assign mode reading every partition of a topic up to the
//! high watermark. Both record what they saw as a Jepsen-style history for the checker. Both
//! keep the leader epochs metadata names and ignore older answers (KIP-320); consumers fetch
//! with `current_leader_epoch` and validate their position after every leader change, so a
//! position the new leader's log no longer reaches is detected and rewound.

use super::messages::{Msg, TopicMetadata};
use super::scenario::{AutoOffsetReset, ConsumerSpec, ProducerSpec};
use crate::broker::group::OffsetAndMetadata;
use crate::broker::leader_epoch_cache::{EpochEndOffset, UNDEFINED_EPOCH};
use crate::broker::messages::{
    ConsumerFetchRequest, FetchResponse, IsolationLevel, ListOffsetsRequest, ListOffsetsResponse,
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, OffsetSpec,
};
use crate::broker::txn::{read_committed, FetchedBatch};
use crate::client::metadata::{ClientMetadata, StaleLeaderEpoch};
use crate::client::producer::Producer;
use crate::client::producer::{ProducerEvent, ProducerMetadata, ProducerRecord, RecordId};
use crate::ids::ProducerId;
use crate::ids::{BrokerId, LeaderEpoch, NodeId, Offset, PartitionIndex, TopicPartition};
use crate::log::batch::decode_batch;
use crate::prng::Prng;
use crate::protocol::ErrorCode;
use crate::sim::history::{
    Op, SendOutcome, TxnOutcome, ValueId, PIPELINE_INPUT_BITS, PIPELINE_INPUT_MASK,
    PIPELINE_OUTPUT_TAG,
};
use crate::time::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};

mod group;
mod txn;
pub use group::{GroupMembership, MemberState};
pub use txn::{SendOffsets, TxnDriver};

/// Values are `(client index + 1) << 32 | sequence`, written as decimal text in the record
/// value, so a consumer can name every value it reads; one producer's values grow in the order
/// it sends them, which is how the checker knows send order (`nonmonotonic-send`).
fn value_id(client: u32, sequence: u64) -> ValueId {
    ValueId((u64::from(client) + 1) << 32 | (sequence & 0xFFFF_FFFF))
}

#[derive(Clone)]
pub struct ProducerClient {
    pub node: NodeId,
    index: u32,
    spec: ProducerSpec,
    pub producer: Producer,
    metadata: ProducerMetadata,
    /// The leaders and epochs metadata named; stale answers stop here (KIP-320).
    known_leaders: ClientMetadata,
    rng: Prng,
    next_send: SimTime,
    sent: u64,
    pub stopped: bool,
    /// A firehose workload found `buffer.memory` full: it sends again when a response (or
    /// the producer's own timer) frees room, not at a fixed instant.
    blocked: bool,
    values: BTreeMap<RecordId, ValueId>,
    next_metadata_broker: u32,
    brokers: u32,
    metadata_requested_at: Option<SimTime>,
    /// When the last metadata request went out: refreshes are at least `retry.backoff.ms`
    /// apart (Kafka's metadata refresh backoff), so an answer that still lacks a leader, or a
    /// duplicated answer, cannot start a request-answer loop with no time between.
    metadata_last_sent: Option<SimTime>,
    /// The producer asked for fresh metadata while the backoff held.
    metadata_refresh_wanted: bool,
    pub lines: Vec<String>,
    /// How far this client's wall clock is off the true time (a clock-skew fault): its records'
    /// CreateTime timestamps read that clock.
    pub clock_skew_ms: i64,
    /// How often each error reached this producer: broker errors it retried (Kafka's error
    /// names) and the exceptions its sends failed with.
    pub errors_seen: BTreeMap<&'static str, u32>,
    /// A transactional producer's coordinator requests and transaction bookkeeping.
    pub txn: Option<TxnDriver>,
    /// Frozen (a GC pause) until then: nothing runs; messages wait in `frozen_inbox`.
    frozen_until: Option<SimTime>,
    frozen_inbox: Vec<Msg>,
    /// `start_ms`: the process starts then (a second instance of an app, say); before it
    /// does nothing, not even its transactional producer's `initTransactions()`.
    starts_at: SimTime,
    /// A consume-transform-produce pipeline's state (unused otherwise).
    pipeline: PipelineState,
}

/// What a pipeline producer tracks of its open transaction.
#[derive(Clone, Debug, Default)]
struct PipelineState {
    /// Inputs taken from the consumer, not yet sent: (partition, offset, value).
    inputs: std::collections::VecDeque<(TopicPartition, Offset, ValueId)>,
    /// The next input offset per partition with inputs in the open transaction.
    positions: BTreeMap<TopicPartition, Offset>,
    /// When the open transaction got its first output.
    since: Option<SimTime>,
    /// A new producer instance replaced a fenced one.
    restarted: bool,
}

/// A pipeline's `sequence`-th output value, for `input`: the output tag, then the sequence
/// (so one producer's values still grow in send order, and a reprocessed input's new output
/// is a value of its own), then the input's id, which `pipeline_input` gives back. An input
/// that is itself an output (pipelines in a chain or a loop) does not fit in the input bits:
/// its whole id is mixed down into them instead, so the chain's outputs stay distinct values
/// (they would repeat their first input's id with any equal sequence), and they name no
/// input: the exactly-once check does not judge such pipelines.
pub fn pipeline_output(input: ValueId, sequence: u64) -> ValueId {
    let sequence = sequence & ((PIPELINE_OUTPUT_TAG - 1) >> PIPELINE_INPUT_BITS);
    let input = if input.0 & PIPELINE_OUTPUT_TAG != 0 {
        crate::prng::mix64(input.0)
    } else {
        input.0
    };
    ValueId(PIPELINE_OUTPUT_TAG | sequence << PIPELINE_INPUT_BITS | (input & PIPELINE_INPUT_MASK))
}

/// The input a pipeline output value was made from, or `None` for any other value.
pub fn pipeline_input(output: ValueId) -> Option<ValueId> {
    (output.0 & PIPELINE_OUTPUT_TAG != 0).then_some(ValueId(output.0 & PIPELINE_INPUT_MASK))
}

impl ProducerClient {
    pub fn new(
        index: u32,
        node: NodeId,
        spec: ProducerSpec,
        producer: Producer,
        rng: Prng,
        brokers: u32,
    ) -> ProducerClient {
        let txn = producer.config().transactional_id.as_ref().map(|id| {
            TxnDriver::new(
                index,
                id,
                producer.config().transaction_timeout_ms,
                spec.transactions.clone(),
                brokers,
                producer.config().request_timeout_ms,
                producer.config().retry_backoff_ms,
            )
        });
        let next_send = SimTime::from_millis(spec.start_ms.unwrap_or(1).max(1));
        let spec_start_ms = spec.start_ms.unwrap_or(0);
        ProducerClient {
            node,
            index,
            spec,
            producer,
            metadata: ProducerMetadata::new(),
            known_leaders: ClientMetadata::new(),
            rng,
            sent: 0,
            stopped: false,
            blocked: false,
            values: BTreeMap::new(),
            next_metadata_broker: index % brokers.max(1),
            brokers,
            metadata_requested_at: None,
            metadata_last_sent: None,
            metadata_refresh_wanted: false,
            lines: Vec::new(),
            clock_skew_ms: 0,
            errors_seen: BTreeMap::new(),
            txn,
            frozen_until: None,
            frozen_inbox: Vec::new(),
            starts_at: SimTime::from_millis(spec_start_ms),
            pipeline: PipelineState::default(),
            next_send,
        }
    }

    /// The process stops for `duration` (a GC pause): no timers, no sends; what arrives is
    /// read when it wakes.
    pub fn freeze(&mut self, now: SimTime, duration: SimDuration) {
        let until = now.saturating_add(duration);
        self.frozen_until = Some(self.frozen_until.map_or(until, |u| u.max(until)));
    }

    /// Thaws a frozen process whose pause is over, reading what arrived meanwhile. Returns
    /// whether it is (still) frozen.
    fn thaw(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) -> bool {
        match self.frozen_until {
            Some(until) if now < until => true,
            Some(_) => {
                self.frozen_until = None;
                self.lines.push("wakes from the pause".to_string());
                for msg in std::mem::take(&mut self.frozen_inbox) {
                    self.handle_message(now, msg);
                }
                let _ = out;
                false
            }
            None => false,
        }
    }

    /// The producer's index in the scenario.
    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn spec(&self) -> &ProducerSpec {
        &self.spec
    }

    /// Records the workload handed to `send` so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    fn wants_to_send(&self, now: SimTime) -> bool {
        self.txn.as_ref().is_none_or(|t| !t.is_fatal()) && !self.workload_done(now)
    }

    /// Stopped, out of records, or past `stop_ms`: the workload hands out nothing more.
    fn workload_done(&self, now: SimTime) -> bool {
        self.stopped
            || self.spec.records_max.is_some_and(|max| self.sent >= max)
            || self
                .spec
                .stop_ms
                .is_some_and(|stop| now.as_millis() >= stop as i64)
    }

    pub fn next_wakeup(&self, now: SimTime) -> Option<SimTime> {
        if now < self.starts_at {
            return Some(self.starts_at);
        }
        if let Some(until) = self.frozen_until {
            return Some(until.max(now));
        }
        let mut next = self.producer.poll_timeout(now, &self.metadata);
        let undecided = self.txn.as_ref().is_some_and(|t| t.open_and_undecided());
        if let Some(since) = self.pipeline.since.filter(|_| undecided) {
            let due = since.saturating_add(SimDuration::from_millis(
                self.spec.transactions.commit_interval_ms,
            ));
            next = Some(next.map_or(due, |n| n.min(due)).max(now));
        }
        if let Some(t) = self
            .txn
            .as_ref()
            .and_then(|t| t.next_wakeup(now, &self.producer))
        {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
        // Without metadata the workload waits for it: only the metadata retry wakes us.
        let has_metadata = self.metadata.partition_count(&self.spec.topic).is_some();
        // A transaction that is ending (or a producer id still to come) holds the workload
        // back: the coordinator's answers wake it.
        let txn_holds = self.txn.as_ref().is_some_and(|t| !t.may_send());
        // A pipeline sends when its consumer hands it inputs, not on a schedule.
        let scheduled = if self.is_pipeline() {
            !self.pipeline.inputs.is_empty()
        } else {
            self.wants_to_send(self.next_send.max(now))
        };
        if has_metadata && !self.blocked && !txn_holds && scheduled {
            let at = self.next_send.max(now);
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        // The workload's end closes an open transaction: wake for it (at `stop_ms`, or now
        // for a producer stopped by an action), else it would hang until the coordinator's
        // transaction.timeout.ms abort.
        if self.txn.as_ref().is_some_and(|t| t.open_and_undecided()) {
            let end = if self.workload_done(now) {
                Some(now)
            } else {
                self.spec
                    .stop_ms
                    .map(|stop| SimTime::from_millis(stop).max(now))
            };
            if let Some(end) = end {
                next = Some(next.map_or(end, |n| n.min(end)));
            }
        }
        if let Some(at) = self.metadata_requested_at {
            let retry = at.saturating_add(SimDuration::from_millis(1000));
            next = Some(next.map_or(retry, |n| n.min(retry)));
        } else if self.missing_leader() || self.metadata_refresh_wanted {
            let wait = if self.metadata_refresh_wanted {
                self.metadata_backoff()
            } else {
                SimDuration::from_millis(500)
            };
            let retry = self
                .metadata_last_sent
                .map_or(now, |at| at.saturating_add(wait));
            next = Some(next.map_or(retry, |n| n.min(retry)));
        }
        next.map(|n| n.max(now))
    }

    fn request_metadata(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        // Ask the brokers in turn, as a client's bootstrap list does when one is unreachable.
        let broker = NodeId(self.next_metadata_broker % self.brokers + 1);
        self.next_metadata_broker = self.next_metadata_broker.wrapping_add(1);
        self.metadata_requested_at = Some(now);
        self.metadata_last_sent = Some(now);
        self.metadata_refresh_wanted = false;
        out.push((
            self.node,
            broker,
            Msg::MetadataRequest {
                topic: self.spec.topic.clone(),
            },
        ));
    }

    fn metadata_backoff(&self) -> SimDuration {
        SimDuration::from_millis(self.producer.config().retry_backoff_ms.max(1))
    }

    /// Whether some partition of the topic has no known leader: Kafka's producer keeps
    /// refreshing metadata (every `retry.backoff.ms`) until every partition it needs has one.
    fn missing_leader(&self) -> bool {
        self.metadata.partition_count(&self.spec.topic).is_none()
            || !self
                .metadata
                .available_partitions(&self.spec.topic)
                .len()
                .eq(&(self.metadata.partition_count(&self.spec.topic).unwrap_or(0) as usize))
    }

    pub fn on_timer(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        if now < self.starts_at {
            return;
        }
        if self.thaw(now, out) {
            return;
        }
        self.metadata_refresh_wanted |= self.producer.take_metadata_refresh_request();
        let since_last = |wait: SimDuration| {
            self.metadata_last_sent
                .is_none_or(|at| now >= at.saturating_add(wait))
        };
        let idle = self.metadata_requested_at.is_none();
        let timed_out = self
            .metadata_requested_at
            .is_some_and(|at| now >= at.saturating_add(SimDuration::from_millis(1000)));
        if timed_out
            || (idle && self.missing_leader() && since_last(SimDuration::from_millis(500)))
            || (idle && self.metadata_refresh_wanted && since_last(self.metadata_backoff()))
        {
            self.request_metadata(now, out);
        }
        self.blocked = false;
        if self.is_pipeline() {
            self.send_pipeline_inputs(now);
        }
        while !self.is_pipeline() && self.wants_to_send(now) && now >= self.next_send {
            if self.metadata.partition_count(&self.spec.topic).is_none() {
                break;
            }
            if let Some(txn) = &mut self.txn {
                if !txn.may_send() {
                    break;
                }
                txn.before_send();
            }
            let value = value_id(self.index, self.sent);
            match self.send_value(now, value) {
                Ok(()) => {}
                Err(()) if self.spec.is_firehose() => {
                    // KafkaProducer.send blocks here (max.block.ms) until memory frees.
                    self.blocked = true;
                    break;
                }
                Err(()) => break,
            }
            if self.spec.is_firehose() {
                continue;
            }
            let wait = self
                .rng
                .range_inclusive(self.spec.interval_ms_min, self.spec.interval_ms_max);
            self.next_send = self
                .next_send
                .saturating_add(SimDuration::from_millis(wait));
        }
        if !self.wants_to_send(now) && self.next_send <= now {
            self.next_send = SimTime(u64::MAX);
        }
        let workload_done = self.workload_done(now);
        if let Some(txn) = &mut self.txn {
            if workload_done {
                txn.on_workload_done();
            }
            txn.poll(now, self.node, &mut self.producer, out);
            if txn.take_recreated() {
                self.pipeline.restarted = true;
                if self.next_send == SimTime(u64::MAX) {
                    self.next_send = now;
                }
            }
            self.lines.append(&mut txn.lines);
            for e in txn.errors.drain(..) {
                *self.errors_seen.entry(e).or_default() += 1;
            }
        }
        for request in self.producer.poll(now, &self.metadata) {
            let to = NodeId::from(request.destination);
            let parts: Vec<String> = request
                .partitions
                .iter()
                .map(|p| p.topic_partition.to_string())
                .collect();
            self.lines.push(format!(
                "produce to broker {} [{}] acks={:?}",
                request.destination.0,
                parts.join(", "),
                request.acks
            ));
            out.push((self.node, to, Msg::Produce(request)));
        }
    }

    /// Hands `value` to `send()` (the record's key, padding and timestamp per the spec).
    fn send_value(&mut self, now: SimTime, value: ValueId) -> Result<(), ()> {
        let key = (self.spec.keys > 0)
            .then(|| format!("k{}", self.rng.below(u64::from(self.spec.keys))).into_bytes());
        let mut text = value.0.to_string();
        if let Some(width) = self.spec.value_bytes {
            // Zero-padded to the record size; the id stays parseable (leading zeros).
            let pad = (width as usize).saturating_sub(text.len());
            text.insert_str(0, &"0".repeat(pad));
        }
        let mut record =
            ProducerRecord::new(&self.spec.topic, key.as_deref(), Some(text.as_bytes()));
        if self.clock_skew_ms != 0 {
            // What the application's System.currentTimeMillis() reads on a skewed clock.
            record.timestamp_ms = Some(now.as_millis().saturating_add(self.clock_skew_ms));
        }
        match self.producer.send(now, &self.metadata, record) {
            Ok(handle) => {
                self.values.insert(handle.record_id, value);
                self.sent += 1;
                if let Some(txn) = &mut self.txn {
                    txn.on_sent(&handle.topic_partition, value, &mut self.rng);
                }
                Ok(())
            }
            Err(e) => {
                if !self.spec.is_firehose() {
                    self.lines.push(format!("send refused: {e:?}"));
                }
                Err(())
            }
        }
    }

    /// Whether this producer is the output of a consume-transform-produce pipeline.
    pub fn is_pipeline(&self) -> bool {
        self.spec.transactions.input_consumer.is_some()
    }

    /// The pipeline's transform: one output record per input, sent in the open transaction
    /// (begun on the first).
    fn send_pipeline_inputs(&mut self, now: SimTime) {
        while let Some((tp, offset, input)) = self.pipeline.inputs.front().cloned() {
            if self.metadata.partition_count(&self.spec.topic).is_none() {
                break;
            }
            let Some(txn) = &mut self.txn else { break };
            if !txn.may_send() || txn.has_untaken_outcome() {
                break;
            }
            txn.before_send();
            if self
                .send_value(now, pipeline_output(input, self.sent))
                .is_err()
            {
                break;
            }
            self.pipeline.inputs.pop_front();
            if let Some(txn) = &mut self.txn {
                txn.on_read(input);
            }
            self.pipeline.since.get_or_insert(now);
            let next = self.pipeline.positions.entry(tp).or_insert(offset);
            *next = (*next).max(offset.plus(1));
        }
    }

    /// The pipeline link, called by the world after every event of either end: takes the
    /// input consumer's polled records, and ends the open transaction with
    /// `sendOffsetsToTransaction` once it is full, old (`commit_interval_ms`) or the
    /// workload is over. Returns what the consumer must do.
    pub fn pipeline_step(&mut self, now: SimTime, consumer: &mut ConsumerClient) -> bool {
        let Some(txn) = &mut self.txn else {
            return false;
        };
        let spec = self.spec.transactions.clone();
        let mut changed = false;
        for outcome in txn.take_ended() {
            consumer.hold = false;
            self.pipeline.since = None;
            self.pipeline.positions.clear();
            changed = true;
            if outcome != TxnOutcome::Committed {
                self.pipeline.inputs.clear();
                if spec.seek_back_on_abort {
                    consumer.seek_to_committed();
                } else {
                    consumer.lines.push(
                        "the transaction aborted and the application does not seek back: it reads on from its position (D16)".to_string(),
                    );
                }
            }
        }
        if txn.is_fatal() {
            // The application closes the fenced producer; the poll loop waits for the new one.
            consumer.hold = true;
            consumer.handed.clear();
            self.pipeline.inputs.clear();
            self.pipeline.since = None;
            self.pipeline.positions.clear();
            return changed;
        }
        if std::mem::take(&mut self.pipeline.restarted) {
            consumer.hold = false;
            changed = true;
            if spec.seek_back_on_abort {
                consumer.seek_to_committed();
            }
        }
        let done = self.workload_done(now);
        if !done && !consumer.handed.is_empty() {
            // Records of partitions the consumer no longer owns are not this instance's to
            // process (their new owner starts from the committed offset).
            let handed = std::mem::take(&mut consumer.handed);
            for (tp, offset, value) in handed {
                if consumer.reads(tp.partition.0) {
                    self.pipeline.inputs.push_back((tp, offset, value));
                }
            }
            changed = true;
        }
        let Some(txn) = &mut self.txn else {
            return changed;
        };
        let full = txn.records_in_transaction() >= spec.records_per_transaction;
        let old = self.pipeline.since.is_some_and(|t| {
            now >= t.saturating_add(SimDuration::from_millis(spec.commit_interval_ms))
        });
        let sent_all = self.pipeline.inputs.is_empty() || done;
        if txn.open_and_undecided() && (full || old || done) && sent_all {
            let abort = !done
                && spec.abort_percent > 0
                && self.rng.below(100) < u64::from(spec.abort_percent);
            let offsets = consumer
                .transaction_offsets()
                .filter(|_| !self.pipeline.positions.is_empty())
                .map(|mut o| {
                    // The next offset after each input of this transaction, as the application
                    // tracks it: partitions it no longer owns included (their inputs are in the
                    // transaction), owned ones without inputs left out.
                    o.offsets = self
                        .pipeline
                        .positions
                        .iter()
                        .map(|(tp, next)| {
                            (
                                tp.clone(),
                                OffsetAndMetadata {
                                    committed_offset: *next,
                                    leader_epoch: None,
                                    metadata: String::new(),
                                },
                            )
                        })
                        .collect();
                    o
                });
            txn.end_with_offsets(offsets, !abort);
            consumer.hold = true;
            changed = true;
        }
        changed
    }

    pub fn on_message(&mut self, now: SimTime, msg: Msg, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        if self.frozen_until.is_some_and(|until| now < until) {
            self.frozen_inbox.push(msg);
            return;
        }
        self.handle_message(now, msg);
        self.on_timer(now, out);
    }

    fn handle_message(&mut self, now: SimTime, msg: Msg) {
        if let Some(txn) = &mut self.txn {
            if txn.on_message(now, &msg, &mut self.producer) {
                self.lines.append(&mut txn.lines);
                return;
            }
        }
        match msg {
            Msg::MetadataResponse { metadata } => {
                self.metadata_requested_at = None;
                if self.metadata.partition_count(&self.spec.topic).is_none() {
                    // The workload starts once the topic is known, not with a backlog.
                    self.next_send = self.next_send.max(now);
                }
                let stale = self.known_leaders.update(
                    &metadata.topic,
                    &metadata.leaders,
                    &metadata.leader_epochs,
                );
                for s in stale {
                    self.lines.push(stale_metadata_line(&metadata.topic, &s));
                }
                let leaders = self.known_leaders.leaders(&metadata.topic);
                if !leaders.is_empty() {
                    self.metadata.set_topic(&metadata.topic, leaders);
                }
            }
            Msg::ProduceResponse(response) => self.producer.handle_response(now, &response),
            _ => {}
        }
    }

    pub fn on_disconnect(&mut self, now: SimTime, broker: BrokerId) {
        self.producer.handle_disconnect(now, broker);
        if let Some(txn) = &mut self.txn {
            txn.on_disconnect(broker);
        }
    }

    /// Moves the producer's completed sends into the history.
    pub fn drain_history(&mut self, history: &mut Vec<Op>) {
        // Acknowledgements are summarised per partition: one line per response, not per record.
        let mut acked: BTreeMap<TopicPartition, (Offset, Offset, u32)> = BTreeMap::new();
        for event in self.producer.take_events() {
            match event {
                ProducerEvent::Completed(done) => {
                    let Some(value) = self.values.remove(&done.record_id) else {
                        continue;
                    };
                    let outcome = match &done.result {
                        Ok(offset) if offset.0 >= 0 => SendOutcome::Acked(*offset),
                        Ok(_) => SendOutcome::Unknown,
                        Err(_) if done.maybe_appended => SendOutcome::Unknown,
                        Err(_) => SendOutcome::Failed,
                    };
                    match &done.result {
                        Ok(offset) => {
                            let entry = acked
                                .entry(done.topic_partition.clone())
                                .or_insert((*offset, *offset, 0));
                            entry.0 = entry.0.min(*offset);
                            entry.1 = entry.1.max(*offset);
                            entry.2 += 1;
                        }
                        Err(e) => {
                            if let Some(txn) = &mut self.txn {
                                txn.on_send_failed(*e, &mut self.producer);
                                self.lines.append(&mut txn.lines);
                            }
                            *self.errors_seen.entry(e.name()).or_default() += 1;
                            self.lines.push(format!(
                                "send of value {} to {} failed: {}",
                                value.0,
                                done.topic_partition,
                                e.name()
                            ))
                        }
                    }
                    history.push(Op::Send {
                        producer: self.index,
                        partition: done.topic_partition,
                        value,
                        outcome,
                    });
                }
                ProducerEvent::Retrying {
                    topic_partition,
                    error,
                    attempts,
                    ..
                } => {
                    *self.errors_seen.entry(error.name()).or_default() += 1;
                    self.lines.push(format!(
                        "retry {topic_partition} after {} (attempt {attempts})",
                        error.name()
                    ))
                }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
        if let Some(txn) = &mut self.txn {
            history.append(&mut txn.ops);
        }
        for (tp, (first, last, count)) in acked {
            self.lines.push(format!(
                "acked {count} record(s) at {tp} offsets {}..={}",
                first.0, last.0
            ));
        }
    }
}

/// Kafka's consumer `retry.backoff.ms` (default 100).
const CONSUMER_RETRY_BACKOFF_MS: u64 = 100;
/// A consumer request with no answer for this long (a dead or cut-off broker) is given up, and
/// like Kafka's consumer after a disconnect or request timeout, it asks for metadata again.
const CONSUMER_REQUEST_GIVE_UP_MS: u64 = 2000;

/// Where a consumer reads a partition next (Kafka's `SubscriptionState.FetchPosition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchPosition {
    pub offset: Offset,
    /// The partition leader epoch of the last batch consumed (or of a reset's answer): what
    /// validation asks the new leader about. `None` when unknown; then there is nothing to
    /// validate.
    pub offset_epoch: Option<LeaderEpoch>,
    /// The leader and epoch the position was last checked against (`currentLeader`).
    pub current_leader: Option<BrokerId>,
    pub current_leader_epoch: Option<LeaderEpoch>,
}

/// Kafka's `FetchStates` for one partition, plus the application having stopped on an
/// exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchState {
    Fetching,
    /// The leader changed: OffsetsForLeaderEpoch must confirm the position before fetching.
    AwaitValidation,
    /// `auto.offset.reset` applies: ListOffsets gives the new position.
    AwaitReset,
    /// `auto.offset.reset=none` and the position is gone: the application got
    /// `LogTruncationException` or `OffsetOutOfRangeException` and stopped reading it.
    Failed,
    /// Newly assigned to a group member: the group's committed offset (OffsetFetch) gives the
    /// position (Kafka's `INITIALIZING`).
    AwaitCommittedOffset,
}

/// One assigned partition's fetch state.
#[derive(Clone, Copy, Debug)]
struct PartitionFetch {
    position: FetchPosition,
    state: FetchState,
    /// When the fetch, OffsetsForLeaderEpoch or ListOffsets in flight was sent.
    in_flight: Option<SimTime>,
    /// No request before this (`retry.backoff.ms` after an error).
    retry_at: SimTime,
    /// The position KIP-320 validation found past the new leader's log when the epoch was
    /// unknown there, until ListOffsets answers where `auto.offset.reset` puts it.
    truncated_from: Option<Offset>,
}

/// What a consumer's position validation found, for the trace and the drill's judge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogTruncation {
    pub at: SimTime,
    pub consumer: u32,
    pub partition: TopicPartition,
    /// The position that turned out to be past the new leader's log.
    pub position: Offset,
    pub position_epoch: LeaderEpoch,
    /// The new leader's answer: where the largest epoch at or below `position_epoch` ended;
    /// `None` when the epoch was undefined there.
    pub divergence: Option<EpochEndOffset>,
    pub outcome: TruncationOutcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TruncationOutcome {
    /// `auto.offset.reset` earliest or latest: seek to the divergence point.
    SeekTo(Offset),
    /// An undefined epoch: reset per `auto.offset.reset`.
    Reset,
    /// `auto.offset.reset=none`: `LogTruncationException`; the partition is no longer read.
    Raised,
}

/// A consumer in assign mode over every partition of one topic (read_uncommitted). It keeps
/// the leader epochs metadata names (stale answers ignored), fetches with
/// `current_leader_epoch`, and validates its position after every leader change with
/// OffsetsForLeaderEpoch (KIP-320, Kafka's `SubscriptionState.maybeCompleteValidation`).
#[derive(Clone)]
pub struct ConsumerClient {
    pub node: NodeId,
    index: u32,
    spec: ConsumerSpec,
    metadata: ClientMetadata,
    partitions: Vec<PartitionFetch>,
    next_poll: SimTime,
    brokers: u32,
    next_metadata_broker: u32,
    metadata_requested_at: Option<SimTime>,
    metadata_last_sent: Option<SimTime>,
    /// Per partition, the highest offset an OFFSET_OUT_OF_RANGE reset jumped forward to: the
    /// records below it that this consumer had not read were deleted before it could (D19).
    pub reset_forward_to: BTreeMap<TopicPartition, Offset>,
    /// Every truncation position validation detected.
    pub log_truncations: Vec<LogTruncation>,
    /// Paused: polls go on but fetch nothing.
    pub paused: bool,
    pub lines: Vec<String>,
    /// The group membership of a consumer with `group.id` (subscribe mode).
    group: Option<GroupMembership>,
    /// The process runs (false once crashed or closed).
    pub alive: bool,
    /// The application's poll loop is stuck in processing until then.
    stalled_until: Option<SimTime>,
    /// The whole process is stopped until then (GC pause); what arrives waits in `inbox`.
    frozen_until: Option<SimTime>,
    inbox: Vec<Msg>,
    /// Fetch answers that completed while the poll loop was stalled: the next poll returns them.
    held_fetches: Vec<Msg>,
    /// The input of a consume-transform-produce pipeline: polled records wait here for the
    /// pipeline's producer.
    pub pipeline: bool,
    pub handed: Vec<(TopicPartition, Offset, ValueId)>,
    /// The pipeline is ending a transaction: the poll loop does not fetch meanwhile.
    pub hold: bool,
}

impl ConsumerClient {
    pub fn new(index: u32, node: NodeId, spec: ConsumerSpec, brokers: u32) -> ConsumerClient {
        ConsumerClient {
            node,
            index,
            metadata: ClientMetadata::new(),
            partitions: Vec::new(),
            next_poll: SimTime::from_millis(1),
            brokers,
            next_metadata_broker: index % brokers.max(1),
            metadata_requested_at: None,
            metadata_last_sent: None,
            reset_forward_to: BTreeMap::new(),
            log_truncations: Vec::new(),
            paused: false,
            lines: Vec::new(),
            group: spec
                .group_id
                .clone()
                .map(|g| GroupMembership::new(g, &spec, index)),
            alive: true,
            stalled_until: None,
            frozen_until: None,
            inbox: Vec::new(),
            held_fetches: Vec::new(),
            pipeline: false,
            handed: Vec::new(),
            hold: false,
            spec,
        }
    }

    /// The pipeline's `sendOffsetsToTransaction` arguments: the positions of the owned
    /// partitions and `groupMetadata()`. `None` outside a group or before it has an id.
    pub fn transaction_offsets(&self) -> Option<SendOffsets> {
        let g = self.group.as_ref()?;
        Some(SendOffsets {
            group_id: g.group_id.clone(),
            generation_id: g.generation,
            member_id: g.member_id.clone(),
            group_instance_id: g.group_instance_id.clone(),
            offsets: self.positions_to_commit(),
        })
    }

    /// The application seeks every owned partition back to the group's committed offset
    /// (after an aborted transaction, T-9 (a)): positions are looked up again with
    /// OffsetFetch, and what was polled but not yet handed over is dropped.
    pub fn seek_to_committed(&mut self) {
        self.handed.clear();
        let owned: Vec<u32> = match &self.group {
            Some(g) => g.owned.iter().copied().collect(),
            None => return,
        };
        for p in &owned {
            if let Some(part) = self.partitions.get_mut(*p as usize) {
                if part.state != FetchState::Failed {
                    part.state = FetchState::AwaitCommittedOffset;
                    part.in_flight = None;
                }
            }
        }
        self.lines.push(format!(
            "seeks {} partition(s) back to the group's committed offsets",
            owned.len()
        ));
    }

    /// When it next needs to act (`None` once its process is gone).
    pub fn next_wakeup(&self) -> Option<SimTime> {
        if !self.alive {
            return None;
        }
        if let Some(until) = self.frozen_until {
            return Some(until);
        }
        let poll = match self.stalled_until {
            Some(until) => self.next_poll.max(until),
            None => self.next_poll,
        };
        Some(match &self.group {
            Some(g) => g.next_deadline().map_or(poll, |d| d.min(poll)),
            None => poll,
        })
    }

    /// The group membership, for consumers with `group.id`.
    pub fn group(&self) -> Option<&GroupMembership> {
        self.group.as_ref()
    }

    /// Whether the consumer reads partition `p` now: every partition in assign mode, the
    /// owned ones as a group member.
    pub fn reads(&self, p: u32) -> bool {
        match &self.group {
            Some(g) => g.owned.contains(&p),
            None => (p as usize) < self.partitions.len(),
        }
    }

    /// The consumer's index in the scenario.
    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn spec(&self) -> &ConsumerSpec {
        &self.spec
    }

    /// The fetch state of partition `p`, if assigned.
    pub fn fetch_state(&self, p: u32) -> Option<(FetchPosition, FetchState)> {
        self.partitions
            .get(p as usize)
            .map(|f| (f.position, f.state))
    }

    fn tp(&self, p: u32) -> TopicPartition {
        TopicPartition {
            topic: self.spec.topic.clone(),
            partition: PartitionIndex(p),
        }
    }

    fn request_metadata(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        // One request at a time, and at least `retry.backoff.ms` (100 ms) between requests even
        // once answered: an answer still lacking a leader must not start a loop with no pause.
        if self
            .metadata_requested_at
            .is_some_and(|at| now < at.saturating_add(SimDuration::from_millis(500)))
            || self
                .metadata_last_sent
                .is_some_and(|at| now < at.saturating_add(SimDuration::from_millis(100)))
        {
            return;
        }
        let broker = NodeId(self.next_metadata_broker % self.brokers + 1);
        self.next_metadata_broker = self.next_metadata_broker.wrapping_add(1);
        self.metadata_requested_at = Some(now);
        self.metadata_last_sent = Some(now);
        out.push((
            self.node,
            broker,
            Msg::MetadataRequest {
                topic: self.spec.topic.clone(),
            },
        ));
    }

    pub fn on_timer(
        &mut self,
        now: SimTime,
        history: &mut Vec<Op>,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        if !self.alive {
            return;
        }
        if let Some(until) = self.frozen_until {
            if now < until {
                return;
            }
            // The process runs again: overdue timers first, then what waited, in order.
            self.frozen_until = None;
            self.lines
                .push("resumes after the pause; reads what arrived meanwhile".to_string());
            self.group_background(now, out);
            for msg in std::mem::take(&mut self.inbox) {
                self.on_message(now, msg, history, out);
            }
        }
        self.group_background(now, out);
        if now < self.next_poll {
            return;
        }
        if let Some(until) = self.stalled_until {
            if now < until {
                return;
            }
            self.stalled_until = None;
            self.lines
                .push("the poll loop calls poll() again after the stall".to_string());
            // Fetches completed during the stall waited in the client for this poll.
            for msg in std::mem::take(&mut self.held_fetches) {
                self.on_message(now, msg, history, out);
            }
        }
        self.next_poll = now.saturating_add(SimDuration::from_millis(self.spec.poll_interval_ms));
        if self.partitions.is_empty() {
            self.request_metadata(now, out);
        }
        if !self.group_poll(now, history, out) || self.partitions.is_empty() {
            return;
        }
        if self.paused || self.hold {
            return;
        }
        for p in 0..self.partitions.len() as u32 {
            if self.reads(p) {
                self.poll_partition(now, p, out);
            }
        }
    }

    /// Stops the poll loop for `duration` (slow processing); heartbeats go on.
    pub fn stall(&mut self, now: SimTime, duration: SimDuration) {
        self.stalled_until = Some(now.saturating_add(duration));
        self.lines.push(format!(
            "the application's poll loop stalls for {} ms (the heartbeat thread keeps running)",
            duration.as_millis()
        ));
    }

    /// Stops the whole process for `duration` (GC pause).
    pub fn freeze(&mut self, now: SimTime, duration: SimDuration) {
        self.frozen_until = Some(now.saturating_add(duration));
        self.lines.push(format!(
            "the process stops for {} ms (GC pause): no polls and no heartbeats",
            duration.as_millis()
        ));
    }

    /// Whether its process is stopped right now.
    pub fn frozen(&self) -> bool {
        self.frozen_until.is_some()
    }

    /// Whether its poll loop is stalled right now.
    pub fn stalled(&self) -> bool {
        self.stalled_until.is_some()
    }

    /// The application seeks partition `p` to `offset` (the position only; committed offsets
    /// do not move).
    pub fn seek(&mut self, p: u32, offset: Offset) {
        if !self.reads(p) {
            self.lines.push(format!(
                "seek {}-{p} to {}: not assigned to this consumer (IllegalStateException)",
                self.spec.topic, offset.0
            ));
            return;
        }
        if let Some(part) = self.partitions.get_mut(p as usize) {
            part.position.offset = offset;
            part.position.offset_epoch = None;
            part.state = FetchState::Fetching;
            part.in_flight = None;
            self.lines.push(format!(
                "seek {}-{p} to offset {}",
                self.spec.topic, offset.0
            ));
        }
    }

    /// One partition's next request: a fetch, or first a validation or reset.
    fn poll_partition(&mut self, now: SimTime, p: u32, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        let tp = self.tp(p);
        let part = self.partitions[p as usize];
        if matches!(
            part.state,
            FetchState::Failed | FetchState::AwaitCommittedOffset
        ) {
            return;
        }
        match part.in_flight {
            Some(at)
                if now
                    < at.saturating_add(SimDuration::from_millis(CONSUMER_REQUEST_GIVE_UP_MS)) =>
            {
                return
            }
            Some(_) => {
                self.partitions[p as usize].in_flight = None;
                self.metadata.invalidate_leader(&tp);
                self.request_metadata(now, out);
                return;
            }
            None => {}
        }
        let current = self.metadata.partition(&tp);
        let Some(leader) = current.leader else {
            self.request_metadata(now, out);
            return;
        };
        if now < part.retry_at {
            return;
        }
        let part = &mut self.partitions[p as usize];
        // Kafka's maybeValidatePositionForCurrentLeader: a new leader or epoch means the
        // position must be validated first, when there is an epoch to validate with.
        if part.position.current_leader != Some(leader)
            || part.position.current_leader_epoch != current.leader_epoch
        {
            part.position.current_leader = Some(leader);
            part.position.current_leader_epoch = current.leader_epoch;
            if part.state != FetchState::AwaitReset {
                part.state =
                    if part.position.offset_epoch.is_some() && current.leader_epoch.is_some() {
                        FetchState::AwaitValidation
                    } else {
                        FetchState::Fetching
                    };
            }
        }
        part.in_flight = Some(now);
        let position = part.position;
        let msg = match part.state {
            FetchState::Fetching => Msg::ConsumerFetch {
                topic_partition: tp,
                request: ConsumerFetchRequest {
                    fetch_offset: position.offset,
                    current_leader_epoch: current.leader_epoch,
                    max_bytes: 1024 * 1024,
                    isolation_level: self.spec.isolation_level,
                },
            },
            FetchState::AwaitValidation => {
                let leader_epoch = position.offset_epoch.unwrap_or(UNDEFINED_EPOCH);
                self.lines.push(format!(
                    "{tp}: validate position {} (epoch {}) with leader {} (epoch {})",
                    position.offset.0,
                    leader_epoch.0,
                    leader.0,
                    current.leader_epoch.map_or(-1, |e| e.0)
                ));
                Msg::OffsetsForLeaderEpoch {
                    topic_partition: tp,
                    request: OffsetForLeaderEpochRequest {
                        current_leader_epoch: current.leader_epoch,
                        leader_epoch,
                    },
                }
            }
            FetchState::AwaitReset => Msg::ListOffsets {
                topic_partition: tp,
                request: ListOffsetsRequest {
                    current_leader_epoch: current.leader_epoch,
                    spec: match self.spec.auto_offset_reset {
                        AutoOffsetReset::Latest => OffsetSpec::Latest,
                        AutoOffsetReset::Earliest | AutoOffsetReset::None => OffsetSpec::Earliest,
                    },
                    isolation_level: self.spec.isolation_level,
                },
            },
            FetchState::Failed | FetchState::AwaitCommittedOffset => return,
        };
        out.push((self.node, NodeId::from(leader), msg));
    }

    pub fn on_message(
        &mut self,
        now: SimTime,
        msg: Msg,
        history: &mut Vec<Op>,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        if !self.alive {
            return;
        }
        if self.frozen_until.is_some() {
            self.inbox.push(msg);
            return;
        }
        if self.stalled_until.is_some() && matches!(msg, Msg::ConsumerFetchResponse { .. }) {
            self.held_fetches.push(msg);
            return;
        }
        match msg {
            Msg::MetadataResponse { metadata } => self.on_metadata(metadata),
            msg @ (Msg::FindCoordinatorResponse { .. }
            | Msg::JoinGroupResponse { .. }
            | Msg::SyncGroupResponse { .. }
            | Msg::GroupHeartbeatResponse { .. }
            | Msg::LeaveGroupResponse { .. }
            | Msg::OffsetCommitResponse { .. }
            | Msg::OffsetFetchResponse { .. }) => self.on_group_message(now, msg, history, out),
            Msg::ConsumerFetchResponse {
                topic_partition,
                request,
                response,
            } => self.on_fetch(
                now,
                topic_partition,
                request.fetch_offset,
                response,
                history,
                out,
            ),
            Msg::OffsetsForLeaderEpochResponse {
                topic_partition,
                request,
                response,
            } => self.on_offsets_for_leader_epoch(
                now,
                topic_partition,
                request,
                response,
                history,
                out,
            ),
            Msg::ListOffsetsResponse {
                topic_partition,
                response,
                ..
            } => self.on_list_offsets(now, topic_partition, response, history, out),
            _ => {}
        }
    }

    fn on_metadata(&mut self, metadata: TopicMetadata) {
        self.metadata_requested_at = None;
        if metadata.topic != self.spec.topic {
            return;
        }
        let stale =
            self.metadata
                .update(&metadata.topic, &metadata.leaders, &metadata.leader_epochs);
        for s in stale {
            self.lines.push(stale_metadata_line(&metadata.topic, &s));
        }
        let count = self.metadata.partition_count(&self.spec.topic).unwrap_or(0) as usize;
        // No group and no offset commits: the application seeks to offset 0, or with
        // auto.offset.reset=latest lets the consumer reset to the end. A group member starts a
        // partition only when it is assigned, from the group's committed offset.
        let initial = match self.spec.auto_offset_reset {
            _ if self.group.is_some() => FetchState::AwaitCommittedOffset,
            AutoOffsetReset::Latest => FetchState::AwaitReset,
            AutoOffsetReset::Earliest | AutoOffsetReset::None => FetchState::Fetching,
        };
        while self.partitions.len() < count {
            self.partitions.push(PartitionFetch {
                position: FetchPosition {
                    offset: Offset::ZERO,
                    offset_epoch: None,
                    current_leader: None,
                    current_leader_epoch: None,
                },
                state: initial,
                in_flight: None,
                retry_at: SimTime::ZERO,
                truncated_from: None,
            });
        }
    }

    fn on_fetch(
        &mut self,
        now: SimTime,
        tp: TopicPartition,
        fetch_offset: Offset,
        response: FetchResponse,
        history: &mut Vec<Op>,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        let p = tp.partition.0 as usize;
        let owned = self.reads(tp.partition.0);
        let Some(part) = self.partitions.get_mut(p) else {
            return;
        };
        part.in_flight = None;
        if !owned || part.state != FetchState::Fetching || fetch_offset != part.position.offset {
            return; // A stale answer for a position we already left, or a revoked partition.
        }
        match response.error {
            ErrorCode::None => {}
            ErrorCode::OffsetOutOfRange => {
                return self.on_out_of_range(tp, fetch_offset, &response, history)
            }
            ErrorCode::UnknownLeaderEpoch => {
                // The broker has not caught up with the epoch our metadata names: try again.
                part.retry_at =
                    now.saturating_add(SimDuration::from_millis(CONSUMER_RETRY_BACKOFF_MS));
                self.lines.push(format!(
                    "{tp}: fetch got UNKNOWN_LEADER_EPOCH (the broker is behind our metadata); retry after retry.backoff.ms"
                ));
                return;
            }
            other => {
                // FENCED_LEADER_EPOCH (our metadata is behind), NOT_LEADER_OR_FOLLOWER, ...
                self.lines
                    .push(format!("{tp}: fetch failed with {}", other.name()));
                self.metadata.invalidate_leader(&tp);
                self.request_metadata(now, out);
                return;
            }
        }
        let mut records = Vec::new();
        let mut rest = &response.records[..];
        let mut position = part.position.offset;
        let mut offset_epoch = part.position.offset_epoch;
        let mut batches = Vec::new();
        while !rest.is_empty() {
            let Ok((batch, used)) = decode_batch(rest) else {
                self.lines.push(format!("{tp}: undecodable fetch response"));
                break;
            };
            rest = &rest[used..];
            batches.push(batch);
        }
        // T-6: read_committed drops the records of the aborted transactions the response
        // names, up to each one's ABORT marker (the broker already stopped at the LSO).
        let kept: Option<BTreeSet<Offset>> =
            (self.spec.isolation_level == IsolationLevel::ReadCommitted).then(|| {
                let fetched: Vec<FetchedBatch> = batches
                    .iter()
                    .map(|b| FetchedBatch {
                        base_offset: b.base_offset,
                        last_offset: b.next_offset().plus(-1),
                        producer_id: ProducerId(b.producer_id),
                        is_transactional: b.attributes.is_transactional,
                        control: b
                            .attributes
                            .is_control
                            .then(|| b.control_marker().ok().map(|m| m.control_type))
                            .flatten(),
                    })
                    .collect();
                let aborted: Vec<(ProducerId, Offset)> = response
                    .aborted_transactions
                    .iter()
                    .map(|a| (a.producer_id, a.first_offset))
                    .collect();
                read_committed(&fetched, &aborted)
                    .into_iter()
                    .map(|b| b.base_offset)
                    .collect()
            });
        let mut skipped_aborted = 0u32;
        for batch in batches {
            if batch.next_offset() > position && batch.partition_leader_epoch >= 0 {
                offset_epoch = Some(LeaderEpoch(batch.partition_leader_epoch));
            }
            if batch.attributes.is_control {
                position = position.max(batch.next_offset());
                continue;
            }
            if kept
                .as_ref()
                .is_some_and(|k| !k.contains(&batch.base_offset))
            {
                skipped_aborted += batch.records.len() as u32;
                position = position.max(batch.next_offset());
                continue;
            }
            for record in &batch.records {
                let offset = batch.record_offset(record);
                if offset < position {
                    continue;
                }
                let value = record
                    .value
                    .as_deref()
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|s| s.parse::<u64>().ok());
                if let Some(v) = value {
                    records.push((offset, ValueId(v)));
                }
            }
            position = position.max(batch.next_offset());
        }
        if skipped_aborted > 0 {
            self.lines.push(format!(
                "{tp}: read_committed skipped {skipped_aborted} record(s) of aborted transactions"
            ));
        }
        if !records.is_empty() {
            let lso = if self.spec.isolation_level == IsolationLevel::ReadCommitted {
                format!(", LSO {}", response.last_stable_offset.0)
            } else {
                String::new()
            };
            self.lines.push(format!(
                "poll {tp} offsets {}..={} (HW {}{lso})",
                records[0].0 .0,
                records[records.len() - 1].0 .0,
                response.high_watermark.0
            ));
            if self.pipeline {
                self.handed
                    .extend(records.iter().map(|(o, v)| (tp.clone(), *o, *v)));
            }
            history.push(Op::Poll {
                consumer: self.index,
                partition: tp,
                records,
            });
        }
        let part = &mut self.partitions[p];
        let moved = part.position.offset != position;
        part.position.offset = position;
        part.position.offset_epoch = offset_epoch;
        if moved {
            self.after_records(now, out);
        }
    }

    /// OFFSET_OUT_OF_RANGE: reset per `auto.offset.reset` (the fetch answer carries the log
    /// start offset and the high watermark, standing in for ListOffsets), or stop.
    fn on_out_of_range(
        &mut self,
        tp: TopicPartition,
        fetch_offset: Offset,
        response: &FetchResponse,
        history: &mut Vec<Op>,
    ) {
        let policy = self.spec.auto_offset_reset;
        let reset = match policy {
            AutoOffsetReset::Earliest => response.log_start_offset.max(Offset::ZERO),
            AutoOffsetReset::Latest => response.high_watermark.max(Offset::ZERO),
            AutoOffsetReset::None => {
                self.lines.push(format!(
                    "{tp}: OFFSET_OUT_OF_RANGE at {}; auto.offset.reset=none: OffsetOutOfRangeException, the application stops reading {tp}",
                    fetch_offset.0
                ));
                self.partitions[tp.partition.0 as usize].state = FetchState::Failed;
                return;
            }
        };
        self.lines.push(format!(
            "{tp}: OFFSET_OUT_OF_RANGE at {}; auto.offset.reset={} resets to {}",
            fetch_offset.0,
            policy.name(),
            reset.0
        ));
        // Only an earliest reset skips records because retention deleted them (D19); latest
        // skips on purpose, which the checker does not excuse.
        if reset > fetch_offset && policy == AutoOffsetReset::Earliest {
            let entry = self.reset_forward_to.entry(tp.clone()).or_insert(reset);
            *entry = (*entry).max(reset);
        }
        let part = &mut self.partitions[tp.partition.0 as usize];
        part.position.offset = reset;
        part.position.offset_epoch = None;
        history.push(Op::PositionReset {
            consumer: self.index,
            partition: tp,
            from: fetch_offset,
            to: reset,
        });
    }

    /// Kafka's `SubscriptionState.maybeCompleteValidation`.
    fn on_offsets_for_leader_epoch(
        &mut self,
        now: SimTime,
        tp: TopicPartition,
        request: OffsetForLeaderEpochRequest,
        response: OffsetForLeaderEpochResponse,
        history: &mut Vec<Op>,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        let p = tp.partition.0 as usize;
        let Some(part) = self.partitions.get_mut(p) else {
            return;
        };
        part.in_flight = None;
        let position = part.position;
        if part.state != FetchState::AwaitValidation
            || position.offset_epoch != Some(request.leader_epoch)
            || position.current_leader_epoch != request.current_leader_epoch
        {
            return; // The position moved on since the request was sent.
        }
        if response.error != ErrorCode::None {
            // FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER...: Kafka retries
            // after retry.backoff.ms with fresh metadata.
            part.retry_at = now.saturating_add(SimDuration::from_millis(CONSUMER_RETRY_BACKOFF_MS));
            self.lines.push(format!(
                "{tp}: OffsetsForLeaderEpoch failed with {}; retry after retry.backoff.ms",
                response.error.name()
            ));
            self.request_metadata(now, out);
            return;
        }
        let end = EpochEndOffset {
            leader_epoch: response.leader_epoch,
            end_offset: response.end_offset,
        };
        let policy = self.spec.auto_offset_reset;
        let (divergence, outcome) = if end.is_undefined() {
            let outcome = if policy == AutoOffsetReset::None {
                TruncationOutcome::Raised
            } else {
                TruncationOutcome::Reset
            };
            self.lines.push(format!(
                "{tp}: log truncation detected: epoch {} of position {} is unknown to the new leader; {}",
                request.leader_epoch.0,
                position.offset.0,
                match outcome {
                    TruncationOutcome::Raised =>
                        format!("auto.offset.reset=none: LogTruncationException, the application stops reading {tp}"),
                    _ => format!("auto.offset.reset={} resets the position", policy.name()),
                }
            ));
            (None, outcome)
        } else if end.end_offset < position.offset {
            let outcome = if policy == AutoOffsetReset::None {
                TruncationOutcome::Raised
            } else {
                TruncationOutcome::SeekTo(end.end_offset)
            };
            self.lines.push(format!(
                "{tp}: log truncation detected: position {} (epoch {}) is past the end offset {} of epoch {} on the new leader; {}",
                position.offset.0,
                request.leader_epoch.0,
                end.end_offset.0,
                end.leader_epoch.0,
                match outcome {
                    TruncationOutcome::SeekTo(to) => format!("seeking to {}", to.0),
                    _ => format!("auto.offset.reset=none: LogTruncationException, the application stops reading {tp}"),
                }
            ));
            (Some(end), outcome)
        } else {
            part.state = FetchState::Fetching;
            self.lines.push(format!(
                "{tp}: position {} (epoch {}) is valid on the new leader (epoch {} ends at {})",
                position.offset.0, request.leader_epoch.0, end.leader_epoch.0, end.end_offset.0
            ));
            return;
        };
        match outcome {
            TruncationOutcome::SeekTo(to) => {
                part.position.offset = to;
                part.position.offset_epoch = Some(end.leader_epoch);
                part.state = FetchState::Fetching;
                history.push(Op::PositionReset {
                    consumer: self.index,
                    partition: tp.clone(),
                    from: position.offset,
                    to,
                });
            }
            TruncationOutcome::Reset => {
                part.state = FetchState::AwaitReset;
                part.truncated_from = Some(position.offset);
            }
            TruncationOutcome::Raised => part.state = FetchState::Failed,
        }
        self.log_truncations.push(LogTruncation {
            at: now,
            consumer: self.index,
            partition: tp,
            position: position.offset,
            position_epoch: request.leader_epoch,
            divergence,
            outcome,
        });
    }

    fn on_list_offsets(
        &mut self,
        now: SimTime,
        tp: TopicPartition,
        response: ListOffsetsResponse,
        history: &mut Vec<Op>,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        let Some(part) = self.partitions.get_mut(tp.partition.0 as usize) else {
            return;
        };
        part.in_flight = None;
        if part.state != FetchState::AwaitReset {
            return;
        }
        if response.error != ErrorCode::None {
            part.retry_at = now.saturating_add(SimDuration::from_millis(CONSUMER_RETRY_BACKOFF_MS));
            self.lines.push(format!(
                "{tp}: ListOffsets failed with {}; retry after retry.backoff.ms",
                response.error.name()
            ));
            self.request_metadata(now, out);
            return;
        }
        part.position.offset = response.offset;
        part.position.offset_epoch = response.leader_epoch;
        part.state = FetchState::Fetching;
        if let Some(from) = part.truncated_from.take() {
            history.push(Op::PositionReset {
                consumer: self.index,
                partition: tp.clone(),
                from,
                to: response.offset,
            });
        }
        self.lines.push(format!(
            "{tp}: auto.offset.reset={} resets the position to {}",
            self.spec.auto_offset_reset.name(),
            response.offset.0
        ));
    }
}

/// The trace line for a metadata answer ignored as older than what the client knows.
fn stale_metadata_line(topic: &str, stale: &StaleLeaderEpoch) -> String {
    format!(
        "metadata names leader {} at epoch {} for {topic}-{}, older than the known epoch {}: ignored",
        stale.answered_leader.map_or("none".to_owned(), |b| b.0.to_string()),
        stale.answered.0,
        stale.partition.0,
        stale.known.0
    )
}

#[cfg(test)]
mod tests;
