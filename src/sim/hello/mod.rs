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
use crate::log::partition_log::{LogError, PartitionLog};
use crate::prng::Prng;
use crate::sim::scheduler::Scheduler;
use crate::sim::trace::{Trace, TraceLine};
use crate::storage::{Completion, FileName, StorageRequest};
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the session checkpoint lives, next to the partition directories.
pub const SESSION_FILE: &str = "session.json";
const SESSION_FORMAT: u32 = 1;
const TRACE_RECENT_MAX: u32 = 200;
/// Most records one `records` call returns (a UI window, not a bulk export).
const RECORDS_VIEW_MAX: u32 = 10_000;

mod config;
mod run;
#[cfg(test)]
mod tests;
mod view;

pub use super::error::SimError;
pub use config::HelloConfig;
pub use run::{drive_sync, hello_trace_hash, run_until, settle_sync};
pub use view::{ClusterView, ConsumerView, PartitionView, ProducerView, RecordView, SegmentView};

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
            file: session_file()?,
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

fn session_file() -> Result<FileName, SimError> {
    FileName::new(SESSION_FILE).map_err(|e| SimError::Storage(e.to_string()))
}
