//! The simulated clients: producers driven by a seeded workload through the real producer
//! state machine, and consumers in assign mode reading every partition of a topic up to the
//! high watermark. Both record what they saw as a Jepsen-style history for the checker.

use super::messages::{Msg, TopicMetadata};
use super::scenario::{ConsumerSpec, ProducerSpec};
use crate::broker::messages::{ConsumerFetchRequest, FetchResponse};
use crate::client::producer::Producer;
use crate::client::producer::{ProducerEvent, ProducerMetadata, ProducerRecord, RecordId};
use crate::ids::{BrokerId, NodeId, Offset, PartitionIndex, TopicPartition};
use crate::log::batch::decode_batch;
use crate::prng::Prng;
use crate::protocol::ErrorCode;
use crate::sim::history::{Op, SendOutcome, ValueId};
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// Values are `(client index + 1) << 32 | sequence`, written as decimal text in the record
/// value, so a consumer can name every value it reads; one producer's values grow in the order
/// it sends them, which is how the checker knows send order (`nonmonotonic-send`).
fn value_id(client: u32, sequence: u64) -> ValueId {
    ValueId((u64::from(client) + 1) << 32 | (sequence & 0xFFFF_FFFF))
}

pub struct ProducerClient {
    pub node: NodeId,
    index: u32,
    spec: ProducerSpec,
    pub producer: Producer,
    metadata: ProducerMetadata,
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
    pub lines: Vec<String>,
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
        ProducerClient {
            node,
            index,
            spec,
            producer,
            metadata: ProducerMetadata::new(),
            rng,
            next_send: SimTime::from_millis(1),
            sent: 0,
            stopped: false,
            blocked: false,
            values: BTreeMap::new(),
            next_metadata_broker: index % brokers.max(1),
            brokers,
            metadata_requested_at: None,
            lines: Vec::new(),
        }
    }

    fn wants_to_send(&self, now: SimTime) -> bool {
        !self.stopped
            && self.spec.records_max.is_none_or(|max| self.sent < max)
            && self
                .spec
                .stop_ms
                .is_none_or(|stop| now.as_millis() < stop as i64)
    }

    pub fn next_wakeup(&self, now: SimTime) -> Option<SimTime> {
        let mut next = self.producer.poll_timeout(now, &self.metadata);
        // Without metadata the workload waits for it: only the metadata retry wakes us.
        let has_metadata = self.metadata.partition_count(&self.spec.topic).is_some();
        if has_metadata && !self.blocked && self.wants_to_send(self.next_send.max(now)) {
            let at = self.next_send.max(now);
            next = Some(next.map_or(at, |n| n.min(at)));
        }
        if let Some(at) = self.metadata_requested_at {
            let retry = at.saturating_add(SimDuration::from_millis(1000));
            next = Some(next.map_or(retry, |n| n.min(retry)));
        }
        if self.missing_leader() {
            let retry = self
                .metadata_requested_at
                .map_or(now, |at| at.saturating_add(SimDuration::from_millis(500)));
            next = Some(next.map_or(retry, |n| n.min(retry)));
        }
        next.map(|n| n.max(now))
    }

    fn request_metadata(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        // Ask the brokers in turn, as a client's bootstrap list does when one is unreachable.
        let broker = NodeId(self.next_metadata_broker % self.brokers + 1);
        self.next_metadata_broker = self.next_metadata_broker.wrapping_add(1);
        self.metadata_requested_at = Some(now);
        out.push((
            self.node,
            broker,
            Msg::MetadataRequest {
                topic: self.spec.topic.clone(),
            },
        ));
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
        let refresh_due = self
            .metadata_requested_at
            .is_none_or(|at| now >= at.saturating_add(SimDuration::from_millis(500)));
        if (self.missing_leader() && refresh_due)
            || self.producer.take_metadata_refresh_request()
            || self
                .metadata_requested_at
                .is_some_and(|at| now >= at.saturating_add(SimDuration::from_millis(1000)))
        {
            self.request_metadata(now, out);
        }
        self.blocked = false;
        while self.wants_to_send(now) && now >= self.next_send {
            if self.metadata.partition_count(&self.spec.topic).is_none() {
                break;
            }
            let sequence = self.sent;
            let value = value_id(self.index, sequence);
            let key = (self.spec.keys > 0)
                .then(|| format!("k{}", self.rng.below(u64::from(self.spec.keys))).into_bytes());
            let mut text = value.0.to_string();
            if let Some(width) = self.spec.value_bytes {
                // Zero-padded to the record size; the id stays parseable (leading zeros).
                let pad = (width as usize).saturating_sub(text.len());
                text.insert_str(0, &"0".repeat(pad));
            }
            let record =
                ProducerRecord::new(&self.spec.topic, key.as_deref(), Some(text.as_bytes()));
            match self.producer.send(now, &self.metadata, record) {
                Ok(handle) => {
                    self.values.insert(handle.record_id, value);
                    self.sent += 1;
                }
                Err(_) if self.spec.is_firehose() => {
                    // KafkaProducer.send blocks here (max.block.ms) until memory frees.
                    self.blocked = true;
                    break;
                }
                Err(e) => {
                    self.lines.push(format!("send refused: {e:?}"));
                    break;
                }
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

    pub fn on_message(&mut self, now: SimTime, msg: Msg, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        match msg {
            Msg::MetadataResponse { metadata } => {
                self.metadata_requested_at = None;
                if self.metadata.partition_count(&self.spec.topic).is_none() {
                    // The workload starts once the topic is known, not with a backlog.
                    self.next_send = self.next_send.max(now);
                }
                if !metadata.leaders.is_empty() {
                    self.metadata.set_topic(&metadata.topic, metadata.leaders);
                }
            }
            Msg::ProduceResponse(response) => self.producer.handle_response(now, &response),
            _ => {}
        }
        self.on_timer(now, out);
    }

    pub fn on_disconnect(&mut self, now: SimTime, broker: BrokerId) {
        self.producer.handle_disconnect(now, broker);
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
                        Err(e) => self.lines.push(format!(
                            "send of value {} to {} failed: {}",
                            value.0,
                            done.topic_partition,
                            e.name()
                        )),
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
                } => self.lines.push(format!(
                    "retry {topic_partition} after {} (attempt {attempts})",
                    error.name()
                )),
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
        for (tp, (first, last, count)) in acked {
            self.lines.push(format!(
                "acked {count} record(s) at {tp} offsets {}..={}",
                first.0, last.0
            ));
        }
    }
}

pub struct ConsumerClient {
    pub node: NodeId,
    index: u32,
    spec: ConsumerSpec,
    leaders: Vec<Option<BrokerId>>,
    positions: Vec<Offset>,
    in_flight: Vec<Option<SimTime>>,
    next_poll: SimTime,
    brokers: u32,
    next_metadata_broker: u32,
    metadata_requested_at: Option<SimTime>,
    /// Per partition, the highest offset an OFFSET_OUT_OF_RANGE reset jumped forward to: the
    /// records below it that this consumer had not read were deleted before it could (D19).
    pub reset_forward_to: BTreeMap<TopicPartition, Offset>,
    /// Paused: polls go on but fetch nothing.
    pub paused: bool,
    pub lines: Vec<String>,
}

impl ConsumerClient {
    pub fn new(index: u32, node: NodeId, spec: ConsumerSpec, brokers: u32) -> ConsumerClient {
        ConsumerClient {
            node,
            index,
            spec,
            leaders: Vec::new(),
            positions: Vec::new(),
            in_flight: Vec::new(),
            next_poll: SimTime::from_millis(1),
            brokers,
            next_metadata_broker: index % brokers.max(1),
            metadata_requested_at: None,
            reset_forward_to: BTreeMap::new(),
            paused: false,
            lines: Vec::new(),
        }
    }

    pub fn next_wakeup(&self) -> SimTime {
        self.next_poll
    }

    fn tp(&self, p: u32) -> TopicPartition {
        TopicPartition {
            topic: self.spec.topic.clone(),
            partition: PartitionIndex(p),
        }
    }

    fn request_metadata(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        if self
            .metadata_requested_at
            .is_some_and(|at| now < at.saturating_add(SimDuration::from_millis(500)))
        {
            return;
        }
        let broker = NodeId(self.next_metadata_broker % self.brokers + 1);
        self.next_metadata_broker = self.next_metadata_broker.wrapping_add(1);
        self.metadata_requested_at = Some(now);
        out.push((
            self.node,
            broker,
            Msg::MetadataRequest {
                topic: self.spec.topic.clone(),
            },
        ));
    }

    pub fn on_timer(&mut self, now: SimTime, out: &mut Vec<(NodeId, NodeId, Msg)>) {
        if now < self.next_poll {
            return;
        }
        self.next_poll = now.saturating_add(SimDuration::from_millis(self.spec.poll_interval_ms));
        if self.leaders.is_empty() {
            self.request_metadata(now, out);
            return;
        }
        if self.paused {
            return;
        }
        for p in 0..self.leaders.len() {
            // A fetch with no answer for 2 s (a dead or cut-off leader) is given up, and like
            // Kafka's consumer after a disconnect or request timeout, it asks for metadata
            // again instead of retrying the same broker.
            match self.in_flight[p] {
                Some(at) if now < at.saturating_add(SimDuration::from_millis(2000)) => continue,
                Some(_) => {
                    self.in_flight[p] = None;
                    self.leaders[p] = None;
                    self.request_metadata(now, out);
                    continue;
                }
                None => {}
            }
            let Some(leader) = self.leaders[p] else {
                self.request_metadata(now, out);
                continue;
            };
            self.in_flight[p] = Some(now);
            out.push((
                self.node,
                NodeId::from(leader),
                Msg::ConsumerFetch {
                    topic_partition: self.tp(p as u32),
                    request: ConsumerFetchRequest {
                        fetch_offset: self.positions[p],
                        current_leader_epoch: None,
                        max_bytes: 1024 * 1024,
                    },
                },
            ));
        }
    }

    pub fn on_message(
        &mut self,
        now: SimTime,
        msg: Msg,
        history: &mut Vec<Op>,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        match msg {
            Msg::MetadataResponse { metadata } => self.on_metadata(metadata),
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
            _ => {}
        }
    }

    fn on_metadata(&mut self, metadata: TopicMetadata) {
        self.metadata_requested_at = None;
        let n = metadata.leaders.len();
        if n == 0 {
            return;
        }
        if self.positions.len() < n {
            self.positions.resize(n, Offset::ZERO);
            self.in_flight.resize(n, None);
        }
        self.leaders = metadata.leaders;
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
        if p >= self.positions.len() {
            return;
        }
        self.in_flight[p] = None;
        if fetch_offset != self.positions[p] {
            return; // A stale answer for a position we already left.
        }
        match response.error {
            ErrorCode::None => {}
            ErrorCode::OffsetOutOfRange => {
                // auto.offset.reset=earliest.
                let reset = response.log_start_offset.max(Offset::ZERO);
                self.lines.push(format!(
                    "{tp}: OFFSET_OUT_OF_RANGE at {}; auto.offset.reset=earliest resets to {}",
                    fetch_offset.0, reset.0
                ));
                if reset > fetch_offset {
                    let entry = self.reset_forward_to.entry(tp.clone()).or_insert(reset);
                    *entry = (*entry).max(reset);
                }
                self.positions[p] = reset;
                return;
            }
            other => {
                self.lines
                    .push(format!("{tp}: fetch failed with {}", other.name()));
                self.leaders[p] = None;
                self.request_metadata(now, out);
                return;
            }
        }
        let mut records = Vec::new();
        let mut rest = &response.records[..];
        let mut position = self.positions[p];
        while !rest.is_empty() {
            let Ok((batch, used)) = decode_batch(rest) else {
                self.lines.push(format!("{tp}: undecodable fetch response"));
                break;
            };
            rest = &rest[used..];
            if batch.attributes.is_control {
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
        if !records.is_empty() {
            self.lines.push(format!(
                "poll {tp} offsets {}..={} (HW {})",
                records[0].0 .0,
                records[records.len() - 1].0 .0,
                response.high_watermark.0
            ));
            history.push(Op::Poll {
                consumer: self.index,
                partition: tp,
                records,
            });
        }
        self.positions[p] = position;
    }
}
