//! The `hello` scenario: one broker, one topic with a few partitions, a producer appending keyed
//! records at a seeded rate through Kafka's murmur2 partitioner, and a consumer in assign mode
//! reading them back up to the high watermark. It is the walking skeleton every face of logsim
//! runs: the CLI natively, the app in the page, and the determinism test on both targets.
//!
//! The broker's segments go to storage as requests the driver executes; at every flush the
//! session state (scheduler, PRNG streams, clients, trace hash) is written next to them in the
//! same synced batch, so a reload restores exactly the synced state and continues the same run.

use crate::client::partitioner::partition_for_key;
use crate::ids::{LeaderEpoch, Offset, PartitionIndex, TopicPartition};
use crate::log::batch::{decode_batch, NewRecord, ProducerFields, RecordBatch};
use crate::log::config::LogConfig;
use crate::log::partition_log::{LogError, PartitionLog};
use crate::prng::Prng;
use crate::sim::scheduler::Scheduler;
use crate::sim::trace::{Trace, TraceLine};
use crate::storage::{Completion, FileName, StorageRequest};
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Where the session checkpoint lives, next to the partition directories.
pub const SESSION_FILE: &str = "session.json";
const SESSION_FORMAT: u32 = 1;
const TRACE_RECENT_MAX: u32 = 200;
/// Most records one `records` call returns (a UI window, not a bulk export).
const RECORDS_VIEW_MAX: u32 = 10_000;

/// The scenario's knobs. Defaults make a log that rolls and trims segments within a minute of
/// simulated time, so every marker has something to show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HelloConfig {
    pub topic: String,
    pub partitions: u32,
    pub log: LogConfig,
    /// The producer sends every `produce_interval_ms_min..=max` (uniform, seeded).
    pub produce_interval_ms_min: u64,
    pub produce_interval_ms_max: u64,
    /// Records per send: 1 to this many.
    pub records_per_send_max: u32,
    /// Keys are `user-0` .. `user-{key_space - 1}`.
    pub key_space: u32,
    /// One-way network latency, uniform in this range.
    pub network_latency_us_min: u64,
    pub network_latency_us_max: u64,
    /// The consumer polls every this many ms (`fetch.max.wait.ms`-like pacing).
    pub consumer_poll_interval_ms: u64,
    /// `fetch.max.bytes` per partition fetch.
    pub fetch_max_bytes: u32,
    /// The broker syncs its segments (`flush.ms`) and checkpoints the session this often.
    pub flush_interval_ms: u64,
    /// `log.retention.check.interval.ms`.
    pub retention_check_interval_ms: u64,
}

impl Default for HelloConfig {
    fn default() -> Self {
        let log = LogConfig {
            segment_bytes: 2048,
            retention_bytes: 8192,
            ..LogConfig::default()
        };
        HelloConfig {
            topic: "events".into(),
            partitions: 3,
            log,
            produce_interval_ms_min: 20,
            produce_interval_ms_max: 200,
            records_per_send_max: 3,
            key_space: 12,
            network_latency_us_min: 500,
            network_latency_us_max: 3_000,
            consumer_poll_interval_ms: 250,
            fetch_max_bytes: 4096,
            flush_interval_ms: 1000,
            retention_check_interval_ms: 5000,
        }
    }
}

impl HelloConfig {
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        crate::ids::validate_topic_name(&self.topic).map_err(SimError::Config)?;
        if self.partitions == 0 || self.partitions > crate::limits::TOPIC_PARTITIONS_MAX {
            return bad(format!(
                "partitions = {}: expected 1..={}",
                self.partitions,
                crate::limits::TOPIC_PARTITIONS_MAX
            ));
        }
        if self.produce_interval_ms_min == 0
            || self.produce_interval_ms_min > self.produce_interval_ms_max
        {
            return bad(
                "produce_interval_ms_min must be >= 1 and <= produce_interval_ms_max".into(),
            );
        }
        if self.records_per_send_max == 0 || self.records_per_send_max > 1000 {
            return bad("records_per_send_max must be in 1..=1000".into());
        }
        if self.key_space == 0 {
            return bad("key_space must be >= 1".into());
        }
        if self.network_latency_us_min > self.network_latency_us_max {
            return bad("network_latency_us_min must be <= network_latency_us_max".into());
        }
        for (name, v) in [
            ("consumer_poll_interval_ms", self.consumer_poll_interval_ms),
            ("flush_interval_ms", self.flush_interval_ms),
            (
                "retention_check_interval_ms",
                self.retention_check_interval_ms,
            ),
        ] {
            if v == 0 {
                return bad(format!("{name} must be >= 1"));
            }
        }
        if self.fetch_max_bytes < 64 {
            return bad("fetch_max_bytes must be >= 64".into());
        }
        self.log
            .validate()
            .map_err(|e| SimError::Config(e.to_string()))
    }
}

/// Why the simulation cannot go on (operating failures; protocol errors are trace lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimError {
    Config(String),
    /// `step` was called while storage requests were not yet drained or completed.
    StorageOutstanding {
        requests: u32,
    },
    Storage(String),
    Restore(String),
    Log(String),
    EventLimit,
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Config(m) => write!(f, "invalid scenario configuration: {m}"),
            SimError::StorageOutstanding { requests } => write!(
                f,
                "{requests} storage request(s) are still outstanding; complete them before the next step"
            ),
            SimError::Storage(m) => write!(f, "storage failed: {m}"),
            SimError::Restore(m) => write!(f, "cannot restore the session: {m}"),
            SimError::Log(m) => write!(f, "log error: {m}"),
            SimError::EventLimit => write!(f, "the run reached the event limit"),
        }
    }
}

impl std::error::Error for SimError {}

/// A produced record in flight: key and value as the producer made them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ProducedRecord {
    key: String,
    value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Event {
    /// The producer's next send is due.
    ProducerSend,
    /// A ProduceRequest reaches the broker.
    ProduceArrives {
        partition: u32,
        records: Vec<ProducedRecord>,
        timestamp_ms: i64,
    },
    /// The ProduceResponse reaches the producer.
    ProduceResponse {
        partition: u32,
        base_offset: i64,
        count: u32,
        error: Option<String>,
    },
    /// The consumer's next poll is due: it sends one fetch per assigned partition.
    ConsumerPoll,
    /// A FetchRequest reaches the broker.
    FetchArrives {
        partition: u32,
        fetch_offset: i64,
    },
    /// The FetchResponse reaches the consumer: whole batches, or an error.
    FetchResponse {
        partition: u32,
        fetch_offset: i64,
        high_watermark: i64,
        log_start_offset: i64,
        records: Vec<u8>,
        error: Option<String>,
    },
    BrokerFlush,
    RetentionCheck,
}

/// Everything but the partition logs: what a session checkpoint holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SessionState {
    format: u32,
    seed: u64,
    config: HelloConfig,
    steps: u64,
    scheduler: Scheduler<Event>,
    rng_producer: Prng,
    rng_network: Prng,
    trace: Trace,
    records_sent: u64,
    records_acked: u64,
    records_consumed: u64,
    produce_errors: u64,
    /// Per partition: the consumer's position (next offset to read) and whether a fetch is
    /// in flight.
    positions: Vec<i64>,
    fetch_in_flight: Vec<bool>,
    /// Per partition as of the checkpoint: the log end offset the segments must reach, the high
    /// watermark and log start offset.
    log_end_offsets: Vec<i64>,
    high_watermarks: Vec<i64>,
    log_start_offsets: Vec<i64>,
    next_value: u64,
    /// Segment bytes handed to storage since the last flush (for the flush trace line).
    bytes_since_flush: u64,
}

/// The running scenario.
pub struct HelloSim {
    state: SessionState,
    /// The lines the last step recorded (all of them, however many; not part of a session).
    step_lines: Vec<TraceLine>,
    logs: Vec<PartitionLog>,
    outbox: Vec<StorageRequest>,
    outstanding: u32,
    failed: Option<SimError>,
}

/// A read-only picture of the cluster for UIs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterView {
    pub now: SimTime,
    pub steps: u64,
    pub seed: u64,
    pub trace_hash: u64,
    pub topic: String,
    pub partitions: Vec<PartitionView>,
    pub producer: ProducerView,
    pub consumer: ConsumerView,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionView {
    pub partition: u32,
    pub log_start_offset: i64,
    pub high_watermark: i64,
    pub log_end_offset: i64,
    pub segments: Vec<SegmentView>,
    pub consumer_position: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SegmentView {
    pub base_offset: i64,
    pub next_offset: i64,
    pub size_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProducerView {
    pub records_sent: u64,
    pub records_acked: u64,
    pub produce_errors: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumerView {
    pub records_consumed: u64,
}

/// One record as a UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordView {
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<String>,
    pub value: Option<String>,
}

/// What `restore` found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    pub steps: u64,
    /// Human-readable notes: torn tails cut, bytes beyond the checkpoint dropped.
    pub notes: Vec<String>,
}

fn latency(rng: &mut Prng, config: &HelloConfig) -> SimDuration {
    SimDuration::from_micros(
        rng.range_inclusive(config.network_latency_us_min, config.network_latency_us_max),
    )
}

impl HelloSim {
    pub fn new(config: HelloConfig, seed: u64) -> Result<HelloSim, SimError> {
        config.validate()?;
        let root = Prng::new(seed);
        let n = config.partitions as usize;
        let logs = (0..config.partitions)
            .map(|p| PartitionLog::new(topic_partition(&config.topic, p), config.log.clone(), 0))
            .collect::<Result<Vec<_>, LogError>>()
            .map_err(|e| SimError::Log(e.to_string()))?;
        let mut scheduler = Scheduler::new();
        let schedule_err = |_| SimError::Config("scheduler queue full at start".into());
        scheduler
            .schedule(SimTime::from_millis(1), Event::ProducerSend)
            .map_err(schedule_err)?;
        scheduler
            .schedule(
                SimTime::from_millis(config.consumer_poll_interval_ms),
                Event::ConsumerPoll,
            )
            .map_err(schedule_err)?;
        scheduler
            .schedule(
                SimTime::from_millis(config.flush_interval_ms),
                Event::BrokerFlush,
            )
            .map_err(schedule_err)?;
        scheduler
            .schedule(
                SimTime::from_millis(config.retention_check_interval_ms),
                Event::RetentionCheck,
            )
            .map_err(schedule_err)?;
        let state = SessionState {
            format: SESSION_FORMAT,
            seed,
            rng_producer: root.fork("producer"),
            rng_network: root.fork("network"),
            config,
            steps: 0,
            scheduler,
            trace: Trace::new(TRACE_RECENT_MAX),
            records_sent: 0,
            records_acked: 0,
            records_consumed: 0,
            produce_errors: 0,
            positions: vec![0; n],
            fetch_in_flight: vec![false; n],
            log_end_offsets: vec![0; n],
            high_watermarks: vec![0; n],
            log_start_offsets: vec![0; n],
            next_value: 0,
            bytes_since_flush: 0,
        };
        Ok(HelloSim {
            state,
            step_lines: Vec::new(),
            logs,
            outbox: Vec::new(),
            outstanding: 0,
            failed: None,
        })
    }

    pub fn seed(&self) -> u64 {
        self.state.seed
    }

    pub fn config(&self) -> &HelloConfig {
        &self.state.config
    }

    pub fn now(&self) -> SimTime {
        self.state.scheduler.now()
    }

    pub fn steps(&self) -> u64 {
        self.state.steps
    }

    /// How many trace lines the run has recorded in all.
    pub fn trace_lines_total(&self) -> u64 {
        self.state.trace.lines_total()
    }

    pub fn trace_hash(&self) -> u64 {
        self.state.trace.hash()
    }

    /// The most recent trace lines (up to 200), oldest first.
    pub fn recent_trace(&self) -> impl DoubleEndedIterator<Item = &TraceLine> {
        self.state.trace.recent()
    }

    /// Every trace line the last `step` recorded, in order.
    pub fn last_step_trace(&self) -> &[TraceLine] {
        &self.step_lines
    }

    /// The error that stopped the run, if any.
    pub fn failure(&self) -> Option<&SimError> {
        self.failed.as_ref()
    }

    /// Runs the next event. Returns `Ok(false)` when nothing is scheduled. Refuses while storage
    /// requests are outstanding: simulated time never passes an incomplete request.
    pub fn step(&mut self) -> Result<bool, SimError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let outstanding = self.outstanding + self.outbox.len() as u32;
        if outstanding > 0 {
            return Err(SimError::StorageOutstanding {
                requests: outstanding,
            });
        }
        if self.state.steps >= crate::limits::SIM_EVENTS_MAX {
            return Err(SimError::EventLimit);
        }
        let Some((now, event)) = self.state.scheduler.pop() else {
            return Ok(false);
        };
        self.state.steps += 1;
        self.step_lines.clear();
        if let Err(e) = self.handle(now, event) {
            self.failed = Some(e.clone());
            return Err(e);
        }
        self.collect_log_requests();
        Ok(true)
    }

    /// When the next event is due, if any.
    pub fn next_due(&self) -> Option<SimTime> {
        self.state.scheduler.peek_due()
    }

    /// Drains the storage requests produced since the last call. Each must be executed in order
    /// and its completion handed to `storage_completed`.
    pub fn take_storage_requests(&mut self) -> Vec<StorageRequest> {
        let requests = std::mem::take(&mut self.outbox);
        self.outstanding += requests.len() as u32;
        requests
    }

    /// Accepts completions for requests taken earlier. A failed request stops the run with an
    /// error naming it.
    pub fn storage_completed(&mut self, completions: &[Completion]) -> Result<(), SimError> {
        for c in completions {
            self.outstanding = self.outstanding.saturating_sub(1);
            if let Completion::Failed(id, e) = c {
                let err = SimError::Storage(format!("request {}: {e}", id.0));
                self.failed = Some(err.clone());
                return Err(err);
            }
        }
        Ok(())
    }

    /// Syncs everything and writes a session checkpoint now (e.g. when the user pauses or the
    /// page is hidden), without recording a trace event: the trace does not depend on when a
    /// driver checkpoints.
    pub fn checkpoint(&mut self) -> Result<(), SimError> {
        self.push_checkpoint()
    }

    fn handle(&mut self, now: SimTime, event: Event) -> Result<(), SimError> {
        match event {
            Event::ProducerSend => self.on_producer_send(now),
            Event::ProduceArrives {
                partition,
                records,
                timestamp_ms,
            } => self.on_produce_arrives(now, partition, records, timestamp_ms),
            Event::ProduceResponse {
                partition,
                base_offset,
                count,
                error,
            } => {
                self.on_produce_response(now, partition, base_offset, count, error);
                Ok(())
            }
            Event::ConsumerPoll => self.on_consumer_poll(now),
            Event::FetchArrives {
                partition,
                fetch_offset,
            } => self.on_fetch_arrives(now, partition, fetch_offset),
            Event::FetchResponse {
                partition,
                fetch_offset,
                high_watermark,
                log_start_offset,
                records,
                error,
            } => self.on_fetch_response(
                now,
                partition,
                fetch_offset,
                high_watermark,
                log_start_offset,
                &records,
                error,
            ),
            Event::BrokerFlush => self.on_broker_flush(now),
            Event::RetentionCheck => self.on_retention_check(now),
        }
    }

    fn schedule(&mut self, due: SimTime, event: Event) -> Result<(), SimError> {
        self.state
            .scheduler
            .schedule(due, event)
            .map(|_| ())
            .map_err(|_| SimError::Config("the event queue is full".into()))
    }

    fn trace(&mut self, now: SimTime, actor: &str, text: String) {
        let line = TraceLine {
            step: self.state.steps,
            time: now,
            actor: actor.to_owned(),
            text,
        };
        self.step_lines.push(line.clone());
        self.state.trace.record(line);
    }

    fn on_producer_send(&mut self, now: SimTime) -> Result<(), SimError> {
        let config = self.state.config.clone();
        let count = self
            .state
            .rng_producer
            .range_inclusive(1, u64::from(config.records_per_send_max));
        // Group the records by partition in key order of arrival: one batch per partition, as
        // the producer's RecordAccumulator does.
        let mut by_partition: BTreeMap<u32, Vec<ProducedRecord>> = BTreeMap::new();
        for _ in 0..count {
            let key = format!(
                "user-{}",
                self.state.rng_producer.below(u64::from(config.key_space))
            );
            let partition = partition_for_key(key.as_bytes(), config.partitions).0;
            self.state.next_value += 1;
            let value = format!("event-{}", self.state.next_value);
            by_partition
                .entry(partition)
                .or_default()
                .push(ProducedRecord { key, value });
        }
        for (partition, records) in by_partition {
            let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
            let text = format!(
                "send {} record(s) to {}-{} keys [{}] acks=1",
                records.len(),
                config.topic,
                partition,
                keys.join(", ")
            );
            self.trace(now, "producer", text);
            self.state.records_sent += records.len() as u64;
            let due = now.saturating_add(latency(&mut self.state.rng_network, &config));
            self.schedule(
                due,
                Event::ProduceArrives {
                    partition,
                    records,
                    timestamp_ms: now.as_millis(),
                },
            )?;
        }
        let wait = self.state.rng_producer.range_inclusive(
            config.produce_interval_ms_min,
            config.produce_interval_ms_max,
        );
        self.schedule(
            now.saturating_add(SimDuration::from_millis(wait)),
            Event::ProducerSend,
        )
    }

    fn on_produce_arrives(
        &mut self,
        now: SimTime,
        partition: u32,
        records: Vec<ProducedRecord>,
        timestamp_ms: i64,
    ) -> Result<(), SimError> {
        let new_records: Vec<NewRecord> = records
            .iter()
            .map(|r| {
                NewRecord::new(
                    timestamp_ms,
                    Some(r.key.as_bytes()),
                    Some(r.value.as_bytes()),
                )
            })
            .collect();
        let batch = RecordBatch::new_data(&new_records, ProducerFields::NONE);
        let topic = self.state.config.topic.clone();
        let log = &mut self.logs[partition as usize];
        let response = match log.append_as_leader(batch, LeaderEpoch(0), now.as_millis()) {
            Ok(info) => {
                // One replica, so the ISR is {leader} and the high watermark follows the log end
                // offset at once (RF=1, min.insync.replicas=1).
                let leo = log.log_end_offset();
                log.set_high_watermark(leo);
                let rolled = info.rolled;
                let text = format!(
                    "append {}-{} offsets {}..={} HW {} LEO {}{}",
                    topic,
                    partition,
                    info.first_offset.0,
                    info.last_offset.0,
                    log.high_watermark().0,
                    leo.0,
                    if rolled {
                        format!(" (rolled new segment at {})", info.first_offset.0)
                    } else {
                        String::new()
                    }
                );
                self.trace(now, "broker-0", text);
                Event::ProduceResponse {
                    partition,
                    base_offset: info.first_offset.0,
                    count: records.len() as u32,
                    error: None,
                }
            }
            Err(e) => {
                let text = format!("reject produce to {topic}-{partition}: {e}");
                self.trace(now, "broker-0", text);
                Event::ProduceResponse {
                    partition,
                    base_offset: -1,
                    count: records.len() as u32,
                    error: Some(e.to_string()),
                }
            }
        };
        let due = now.saturating_add(latency(&mut self.state.rng_network, &self.state.config));
        self.schedule(due, response)
    }

    fn on_produce_response(
        &mut self,
        now: SimTime,
        partition: u32,
        base_offset: i64,
        count: u32,
        error: Option<String>,
    ) {
        let topic = self.state.config.topic.clone();
        let text = match error {
            None => {
                self.state.records_acked += u64::from(count);
                format!("ack {topic}-{partition} base offset {base_offset} ({count} record(s))")
            }
            Some(e) => {
                self.state.produce_errors += 1;
                format!("produce to {topic}-{partition} failed: {e}")
            }
        };
        self.trace(now, "producer", text);
    }

    fn on_consumer_poll(&mut self, now: SimTime) -> Result<(), SimError> {
        let config = self.state.config.clone();
        for partition in 0..config.partitions {
            let p = partition as usize;
            if self.state.fetch_in_flight[p] {
                continue;
            }
            self.state.fetch_in_flight[p] = true;
            let due = now.saturating_add(latency(&mut self.state.rng_network, &config));
            self.schedule(
                due,
                Event::FetchArrives {
                    partition,
                    fetch_offset: self.state.positions[p],
                },
            )?;
        }
        self.schedule(
            now.saturating_add(SimDuration::from_millis(config.consumer_poll_interval_ms)),
            Event::ConsumerPoll,
        )
    }

    fn on_fetch_arrives(
        &mut self,
        now: SimTime,
        partition: u32,
        fetch_offset: i64,
    ) -> Result<(), SimError> {
        let max_bytes = self.state.config.fetch_max_bytes;
        let log = &self.logs[partition as usize];
        let high_watermark = log.high_watermark();
        let (records, error) = match log.fetch(Offset(fetch_offset), max_bytes, high_watermark) {
            Ok(fetched) => (fetched.bytes, None),
            Err(LogError::OffsetOutOfRange { .. }) => {
                (Vec::new(), Some("OFFSET_OUT_OF_RANGE".to_owned()))
            }
            Err(e) => return Err(SimError::Log(e.to_string())),
        };
        let response = Event::FetchResponse {
            partition,
            fetch_offset,
            high_watermark: high_watermark.0,
            log_start_offset: log.log_start_offset().0,
            records,
            error,
        };
        let due = now.saturating_add(latency(&mut self.state.rng_network, &self.state.config));
        self.schedule(due, response)
    }

    #[allow(clippy::too_many_arguments)]
    fn on_fetch_response(
        &mut self,
        now: SimTime,
        partition: u32,
        fetch_offset: i64,
        high_watermark: i64,
        log_start_offset: i64,
        mut bytes: &[u8],
        error: Option<String>,
    ) -> Result<(), SimError> {
        let p = partition as usize;
        self.state.fetch_in_flight[p] = false;
        let topic = self.state.config.topic.clone();
        if let Some(code) = error {
            // auto.offset.reset=earliest: a position the log no longer has restarts at the log
            // start offset.
            self.state.positions[p] = log_start_offset;
            let text = format!(
                "fetch {topic}-{partition} at {fetch_offset}: {code}; auto.offset.reset=earliest resets position to {log_start_offset}"
            );
            self.trace(now, "consumer", text);
            return Ok(());
        }
        let mut delivered: Vec<i64> = Vec::new();
        let mut position = self.state.positions[p];
        while !bytes.is_empty() {
            let (batch, used) = decode_batch(bytes).map_err(|e| {
                SimError::Log(format!(
                    "consumer got a bad batch from {topic}-{partition}: {e}"
                ))
            })?;
            bytes = &bytes[used..];
            // Fetches return whole batches: skip records below the position (L-2).
            for record in &batch.records {
                let offset = batch.record_offset(record).0;
                if offset >= position {
                    delivered.push(offset);
                }
            }
            position = position.max(batch.next_offset().0);
        }
        self.state.positions[p] = position;
        if delivered.is_empty() {
            return Ok(());
        }
        self.state.records_consumed += delivered.len() as u64;
        let text = format!(
            "poll {topic}-{partition} got offsets {}..={} (HW {high_watermark}); position {position}",
            delivered[0],
            delivered[delivered.len() - 1],
        );
        self.trace(now, "consumer", text);
        Ok(())
    }

    fn on_broker_flush(&mut self, now: SimTime) -> Result<(), SimError> {
        self.collect_log_requests();
        let unsynced = self.state.bytes_since_flush;
        let text = format!("flush: sync segments ({unsynced} byte(s) since last flush)");
        self.trace(now, "broker-0", text);
        // Only the simulated flush resets the counter: a driver's checkpoint must not change
        // what the next flush line says.
        self.state.bytes_since_flush = 0;
        // Schedule the next flush before the checkpoint: the checkpoint must hold every
        // pending event, or a restored run would never flush again.
        self.schedule(
            now.saturating_add(SimDuration::from_millis(
                self.state.config.flush_interval_ms,
            )),
            Event::BrokerFlush,
        )?;
        self.push_checkpoint()
    }

    fn on_retention_check(&mut self, now: SimTime) -> Result<(), SimError> {
        let topic = self.state.config.topic.clone();
        for p in 0..self.logs.len() {
            let before = self.logs[p].log_start_offset();
            let deleted = self.logs[p]
                .apply_retention(now.as_millis())
                .map_err(|e| SimError::Log(e.to_string()))?;
            if deleted > 0 {
                let after = self.logs[p].log_start_offset();
                let text = format!(
                    "retention deleted {deleted} segment(s) of {topic}-{p} (retention.bytes={}); log start offset {} -> {}",
                    self.state.config.log.retention_bytes, before.0, after.0
                );
                self.trace(now, "broker-0", text);
            }
        }
        self.schedule(
            now.saturating_add(SimDuration::from_millis(
                self.state.config.retention_check_interval_ms,
            )),
            Event::RetentionCheck,
        )
    }

    fn collect_log_requests(&mut self) {
        for log in &mut self.logs {
            for request in log.take_storage_requests() {
                if let StorageRequest::Append { bytes, .. } = &request {
                    self.state.bytes_since_flush += bytes.len() as u64;
                }
                self.outbox.push(request);
            }
        }
    }

    fn push_checkpoint(&mut self) -> Result<(), SimError> {
        self.collect_log_requests();
        for (p, log) in self.logs.iter().enumerate() {
            self.state.log_end_offsets[p] = log.log_end_offset().0;
            self.state.high_watermarks[p] = log.high_watermark().0;
            self.state.log_start_offsets[p] = log.log_start_offset().0;
        }
        let bytes = serde_json::to_vec(&self.state)
            .map_err(|e| SimError::Storage(format!("cannot encode the session: {e}")))?;
        self.outbox.push(StorageRequest::Replace {
            file: session_file(),
            bytes,
        });
        self.outbox.push(StorageRequest::Sync);
        Ok(())
    }

    /// Rebuilds a session from everything under the storage root (the checkpoint and the
    /// partition directories), as a reload does. Segment bytes beyond the checkpoint (written
    /// after it, then synced by nobody or by a later flush that lost its checkpoint) are cut, so
    /// the logs and the session agree; fewer bytes than the checkpoint expects is an error.
    pub fn restore(files: Vec<(FileName, Vec<u8>)>) -> Result<(HelloSim, RestoreReport), SimError> {
        let mut by_dir: BTreeMap<String, Vec<(FileName, Vec<u8>)>> = BTreeMap::new();
        let mut session: Option<Vec<u8>> = None;
        for (name, bytes) in files {
            if name.as_str() == SESSION_FILE {
                session = Some(bytes);
            } else {
                by_dir
                    .entry(name.dir().to_owned())
                    .or_default()
                    .push((name, bytes));
            }
        }
        let session =
            session.ok_or_else(|| SimError::Restore(format!("no {SESSION_FILE} found")))?;
        let state: SessionState = serde_json::from_slice(&session).map_err(|e| {
            SimError::Restore(format!("{SESSION_FILE} is not a valid session: {e}"))
        })?;
        if state.format != SESSION_FORMAT {
            return Err(SimError::Restore(format!(
                "{SESSION_FILE} has format {}, this build reads format {SESSION_FORMAT}",
                state.format
            )));
        }
        state.config.validate()?;
        validate_session(&state)?;
        let n = state.config.partitions as usize;
        for (what, len) in [
            ("positions", state.positions.len()),
            ("fetch_in_flight", state.fetch_in_flight.len()),
            ("log_end_offsets", state.log_end_offsets.len()),
            ("high_watermarks", state.high_watermarks.len()),
            ("log_start_offsets", state.log_start_offsets.len()),
        ] {
            if len != n {
                return Err(SimError::Restore(format!(
                    "{SESSION_FILE}: {what} has {len} entries for {n} partitions"
                )));
            }
        }
        let mut report = RestoreReport {
            steps: state.steps,
            notes: Vec::new(),
        };
        let mut logs = Vec::with_capacity(n);
        let mut outbox = Vec::new();
        let now_ms = state.scheduler.now().as_millis();
        for p in 0..n {
            let tp = topic_partition(&state.config.topic, p as u32);
            let dir_files = by_dir.remove(&tp.to_string()).unwrap_or_default();
            let (mut log, recovery) =
                PartitionLog::recover(tp.clone(), state.config.log.clone(), dir_files, now_ms)
                    .map_err(|e| SimError::Restore(format!("{tp}: {e}")))?;
            report
                .notes
                .extend(recovery.notes().into_iter().map(|n| format!("{tp}: {n}")));
            let expected_leo = Offset(state.log_end_offsets[p]);
            let found_leo = log.log_end_offset();
            if found_leo < expected_leo {
                return Err(SimError::Restore(format!(
                    "{tp}: the segments end at offset {}, but the session expects {}; synced data is missing",
                    found_leo.0, expected_leo.0
                )));
            }
            if found_leo > expected_leo {
                log.truncate_to(expected_leo, now_ms)
                    .map_err(|e| SimError::Restore(format!("{tp}: {e}")))?;
                report.notes.push(format!(
                    "{tp}: cut offsets {}..{} written after the last checkpoint",
                    expected_leo.0, found_leo.0
                ));
            }
            log.restore_offsets(
                Offset(state.log_start_offsets[p]),
                Offset(state.high_watermarks[p]),
            )
            .map_err(|e| SimError::Restore(format!("{tp}: {e}")))?;
            outbox.extend(log.take_storage_requests());
            logs.push(log);
        }
        if let Some(extra) = by_dir.keys().next() {
            report.notes.push(format!(
                "ignored files under {extra}/, which this scenario does not use"
            ));
        }
        let sim = HelloSim {
            state,
            step_lines: Vec::new(),
            logs,
            outbox,
            outstanding: 0,
            failed: None,
        };
        Ok((sim, report))
    }

    /// A cheap read-only picture for UIs.
    pub fn view(&self) -> ClusterView {
        ClusterView {
            now: self.now(),
            steps: self.state.steps,
            seed: self.state.seed,
            trace_hash: self.trace_hash(),
            topic: self.state.config.topic.clone(),
            partitions: self
                .logs
                .iter()
                .enumerate()
                .map(|(p, log)| PartitionView {
                    partition: p as u32,
                    log_start_offset: log.log_start_offset().0,
                    high_watermark: log.high_watermark().0,
                    log_end_offset: log.log_end_offset().0,
                    segments: log
                        .segment_views()
                        .into_iter()
                        .map(|s| SegmentView {
                            base_offset: s.base_offset.0,
                            next_offset: s.next_offset.0,
                            size_bytes: s.size_bytes,
                        })
                        .collect(),
                    consumer_position: self.state.positions[p],
                })
                .collect(),
            producer: ProducerView {
                records_sent: self.state.records_sent,
                records_acked: self.state.records_acked,
                produce_errors: self.state.produce_errors,
            },
            consumer: ConsumerView {
                records_consumed: self.state.records_consumed,
            },
        }
    }

    /// The records of `partition` with offsets in `[from, to)`, for hover text and tables.
    pub fn records(&self, partition: u32, from: i64, to: i64) -> Vec<RecordView> {
        let Some(log) = self.logs.get(partition as usize) else {
            return Vec::new();
        };
        log.read_records(Offset(from), Offset(to), RECORDS_VIEW_MAX)
            .into_iter()
            .map(|r| RecordView {
                offset: r.offset.0,
                timestamp_ms: r.timestamp,
                key: r.key.map(|k| String::from_utf8_lossy(&k).into_owned()),
                value: r.value.map(|v| String::from_utf8_lossy(&v).into_owned()),
            })
            .collect()
    }

    /// The partition logs, read-only (tests and checkers).
    pub fn partition_logs(&self) -> &[PartitionLog] {
        &self.logs
    }
}

/// Checks what a session file says before any of it is used: the scheduler's order, and that
/// every queued event names a partition the topic has.
fn validate_session(state: &SessionState) -> Result<(), SimError> {
    let bad = |m: String| Err(SimError::Restore(format!("{SESSION_FILE}: {m}")));
    if let Err(e) = state.scheduler.validate() {
        return bad(e);
    }
    let partitions = state.config.partitions;
    for event in state.scheduler.events() {
        let partition = match event {
            Event::ProduceArrives { partition, .. }
            | Event::ProduceResponse { partition, .. }
            | Event::FetchArrives { partition, .. }
            | Event::FetchResponse { partition, .. } => Some(*partition),
            Event::ProducerSend
            | Event::ConsumerPoll
            | Event::BrokerFlush
            | Event::RetentionCheck => None,
        };
        if let Some(p) = partition.filter(|p| *p >= partitions) {
            return bad(format!(
                "a queued event names partition {p}, but the topic has {partitions}"
            ));
        }
    }
    if state.steps > crate::limits::SIM_EVENTS_MAX {
        return bad(format!("steps = {} exceeds the event limit", state.steps));
    }
    Ok(())
}

fn topic_partition(topic: &str, partition: u32) -> TopicPartition {
    TopicPartition {
        topic: topic.to_owned(),
        partition: PartitionIndex(partition),
    }
}

fn session_file() -> FileName {
    // A constant, valid by construction.
    FileName::new(SESSION_FILE).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `sim` for `steps` events against a synchronous backend, executing its storage requests
/// after every step. Returns how many events ran (fewer when the queue empties).
pub fn drive_sync(
    sim: &mut HelloSim,
    storage: &mut dyn crate::storage::SyncStorage,
    next_request_id: &mut u64,
    steps: u64,
) -> Result<u64, SimError> {
    let mut ran = 0;
    while ran < steps {
        settle_sync(sim, storage, next_request_id)?;
        if !sim.step()? {
            break;
        }
        ran += 1;
    }
    settle_sync(sim, storage, next_request_id)?;
    Ok(ran)
}

/// Executes every outstanding storage request of `sim` on a synchronous backend.
pub fn settle_sync(
    sim: &mut HelloSim,
    storage: &mut dyn crate::storage::SyncStorage,
    next_request_id: &mut u64,
) -> Result<(), SimError> {
    let requests = sim.take_storage_requests();
    if requests.is_empty() {
        return Ok(());
    }
    let numbered = requests
        .into_iter()
        .map(|r| {
            *next_request_id += 1;
            (crate::storage::RequestId(*next_request_id), r)
        })
        .collect();
    let completions = storage.execute(numbered);
    sim.storage_completed(&completions)
}

/// Runs `hello` with its default configuration from `seed` until simulated time passes
/// `duration_ms`, on the memory backend, and returns the trace hash. This is the run the
/// cross-target determinism check compares.
pub fn hello_trace_hash(seed: u64, duration_ms: u64) -> Result<u64, SimError> {
    let mut sim = HelloSim::new(HelloConfig::default(), seed)?;
    let mut storage = crate::storage::memory::MemoryStorage::new();
    let mut request_id = 0;
    run_until(
        &mut sim,
        &mut storage,
        &mut request_id,
        SimTime::from_millis(duration_ms),
    )?;
    Ok(sim.trace_hash())
}

/// Runs events due at or before `until` against a synchronous backend. Returns how many ran.
pub fn run_until(
    sim: &mut HelloSim,
    storage: &mut dyn crate::storage::SyncStorage,
    next_request_id: &mut u64,
    until: SimTime,
) -> Result<u64, SimError> {
    let mut ran = 0;
    loop {
        settle_sync(sim, storage, next_request_id)?;
        match sim.next_due() {
            Some(due) if due <= until => {}
            _ => return Ok(ran),
        }
        sim.step()?;
        ran += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Hashes of `hello` for seeds 1..=100 over 5 simulated seconds, computed natively. The
    /// native test checks them (and rewrites the file with LOGSIM_BLESS=1); the same test
    /// compiled to wasm32 and run in Node must find the very same hashes.
    const GOLDEN: &str = include_str!("../../tests/golden/hello-hashes.txt");
    const GOLDEN_SECONDS: u64 = 5;

    fn computed() -> String {
        let mut out = String::new();
        for seed in 1..=100u64 {
            let hash = hello_trace_hash(seed, GOLDEN_SECONDS * 1000)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            out.push_str(&format!("{seed} {hash:016x}\n"));
        }
        out
    }

    #[test]
    fn hello_hashes_match_the_natively_computed_golden_file() {
        let got = computed();
        #[cfg(not(target_arch = "wasm32"))]
        if std::env::var_os("LOGSIM_BLESS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/hello-hashes.txt");
            std::fs::write(path, &got).unwrap_or_else(|e| panic!("{path}: {e}"));
            return;
        }
        for (want, have) in GOLDEN.lines().zip(got.lines()) {
            assert_eq!(want, have, "trace hash differs from the native golden file");
        }
        assert_eq!(
            GOLDEN.lines().count(),
            100,
            "golden file must list seeds 1..=100"
        );
    }

    #[test]
    fn a_restored_session_continues_the_same_run() {
        let mut straight = HelloSim::new(HelloConfig::default(), 9).unwrap();
        let mut s1 = crate::storage::memory::MemoryStorage::new();
        let mut id = 0;
        run_until(&mut straight, &mut s1, &mut id, SimTime::from_millis(8_000)).unwrap();

        let mut first = HelloSim::new(HelloConfig::default(), 9).unwrap();
        let mut s2 = crate::storage::memory::MemoryStorage::new();
        run_until(&mut first, &mut s2, &mut id, SimTime::from_millis(3_500)).unwrap();
        // A crash: whatever was not synced by the last flush is lost with the process.
        s2.crash();
        drop(first);
        let files: Vec<(FileName, Vec<u8>)> = s2
            .durable_image()
            .iter()
            .map(|(f, b)| (f.clone(), b.clone()))
            .collect();
        let (mut resumed, report) = HelloSim::restore(files).unwrap();
        assert_eq!(report.steps, resumed.steps());
        assert_eq!(
            resumed.now(),
            SimTime::from_millis(3_000),
            "the last flush was at 3 s"
        );
        run_until(&mut resumed, &mut s2, &mut id, SimTime::from_millis(8_000)).unwrap();
        assert_eq!(resumed.trace_hash(), straight.trace_hash());
        assert_eq!(resumed.view(), straight.view());
    }

    /// Regression: a driver checkpoint (the app checkpoints on every pause and single step, the
    /// CLI on exit) once reset the "bytes since last flush" counter, so the next flush line and
    /// the trace hash depended on when the driver checkpointed.
    #[test]
    fn driver_checkpoints_never_change_the_trace() {
        let mut straight = HelloSim::new(HelloConfig::default(), 5).unwrap();
        let mut s1 = crate::storage::memory::MemoryStorage::new();
        let mut id = 0;
        run_until(&mut straight, &mut s1, &mut id, SimTime::from_millis(6_000)).unwrap();

        let mut stepped = HelloSim::new(HelloConfig::default(), 5).unwrap();
        let mut s2 = crate::storage::memory::MemoryStorage::new();
        while stepped
            .next_due()
            .is_some_and(|due| due <= SimTime::from_millis(6_000))
        {
            stepped.step().unwrap();
            stepped.checkpoint().unwrap();
            settle_sync(&mut stepped, &mut s2, &mut id).unwrap();
        }
        assert_eq!(stepped.trace_hash(), straight.trace_hash());

        // Restoring from a checkpoint taken between two flushes continues the same run.
        let mut first = HelloSim::new(HelloConfig::default(), 5).unwrap();
        let mut s3 = crate::storage::memory::MemoryStorage::new();
        run_until(&mut first, &mut s3, &mut id, SimTime::from_millis(3_500)).unwrap();
        first.checkpoint().unwrap();
        settle_sync(&mut first, &mut s3, &mut id).unwrap();
        let files: Vec<(FileName, Vec<u8>)> = s3
            .durable_image()
            .iter()
            .map(|(f, b)| (f.clone(), b.clone()))
            .collect();
        let (mut resumed, _) = HelloSim::restore(files).unwrap();
        run_until(&mut resumed, &mut s3, &mut id, SimTime::from_millis(6_000)).unwrap();
        assert_eq!(resumed.trace_hash(), straight.trace_hash());
    }

    #[test]
    fn tampered_sessions_are_refused_not_run() {
        let mut sim = HelloSim::new(HelloConfig::default(), 3).unwrap();
        let mut storage = crate::storage::memory::MemoryStorage::new();
        let mut id = 0;
        run_until(&mut sim, &mut storage, &mut id, SimTime::from_millis(1_500)).unwrap();
        let session = String::from_utf8(
            storage.durable_image()[&FileName::new(SESSION_FILE).unwrap()].clone(),
        )
        .unwrap();
        let restore_with = |text: String| {
            HelloSim::restore(vec![(
                FileName::new(SESSION_FILE).unwrap(),
                text.into_bytes(),
            )])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
        };
        // A queued event for a partition the topic does not have.
        let mut value: serde_json::Value = serde_json::from_str(&session).unwrap();
        let queue = value["scheduler"]["queue"].as_array_mut().unwrap();
        queue.push(serde_json::json!([
            {"due": 9_000_000_000u64, "sequence": 0},
            {"FetchArrives": {"partition": 99, "fetch_offset": 0}}
        ]));
        let err = restore_with(value.to_string());
        assert!(err.contains("partition 99"), "{err}");
        // A PRNG state of zeros would make the run spin forever.
        let mut value: serde_json::Value = serde_json::from_str(&session).unwrap();
        value["rng_producer"]["s"] = serde_json::json!([0, 0, 0, 0]);
        let err = restore_with(value.to_string());
        assert!(err.contains("all zeros"), "{err}");
        // An event due before the clock.
        let mut value: serde_json::Value = serde_json::from_str(&session).unwrap();
        value["scheduler"]["queue"][0][0]["due"] = serde_json::json!(0);
        let err = restore_with(value.to_string());
        assert!(err.contains("but the clock is at"), "{err}");
    }

    #[test]
    fn step_refuses_while_storage_is_outstanding() {
        let mut sim = HelloSim::new(HelloConfig::default(), 1).unwrap();
        // The first append creates segment files: requests wait in the outbox.
        let mut steps = 0;
        while sim.step().is_ok() {
            steps += 1;
            assert!(
                steps < 100,
                "a storage request should appear within a few steps"
            );
        }
        assert!(matches!(
            sim.step(),
            Err(SimError::StorageOutstanding { .. })
        ));
        let requests = sim.take_storage_requests();
        assert!(matches!(
            sim.step(),
            Err(SimError::StorageOutstanding { .. })
        ));
        let completions: Vec<Completion> = (0..requests.len() as u64)
            .map(|i| Completion::Done(crate::storage::RequestId(i)))
            .collect();
        sim.storage_completed(&completions).unwrap();
        assert!(sim.step().is_ok());
    }

    #[test]
    fn a_storage_failure_stops_the_run_with_a_clear_error() {
        let mut sim = HelloSim::new(HelloConfig::default(), 1).unwrap();
        while sim.step().is_ok() {}
        let requests = sim.take_storage_requests();
        let mut completions: Vec<Completion> = (0..requests.len() as u64)
            .map(|i| Completion::Done(crate::storage::RequestId(i)))
            .collect();
        completions[0] = Completion::Failed(
            crate::storage::RequestId(0),
            crate::storage::StorageError::QuotaExceeded("no room".into()),
        );
        let err = sim.storage_completed(&completions).unwrap_err();
        assert!(
            err.to_string().contains("storage quota exceeded: no room"),
            "{err}"
        );
        assert_eq!(sim.step().unwrap_err(), err);
    }

    #[test]
    fn restore_rejects_bad_sessions_with_reasons() {
        let f = |s: &str| FileName::new(s).unwrap();
        let no_session = HelloSim::restore(vec![]).err().unwrap();
        assert!(
            no_session.to_string().contains("no session.json"),
            "{no_session}"
        );
        let garbage = HelloSim::restore(vec![(f(SESSION_FILE), b"{not json".to_vec())])
            .err()
            .unwrap();
        assert!(
            garbage.to_string().contains("not a valid session"),
            "{garbage}"
        );
    }
}
