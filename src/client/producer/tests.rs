//! Tests of the producer against the spec's P rules, driven through one door: a `World` with a
//! fake broker (a log per partition plus the real `ProducerStateTable`) whose faults are data,
//! a scripted list of sends, and a loop that only moves time to the producer's own wake-ups.

use super::*;
use crate::broker::producer_state::{ProducerBatchInfo, ProducerStateTable, SequenceCheck};
use crate::client::partitioner::partition_for_key;
use crate::ids::{BrokerId, Offset, PartitionIndex, ProducerEpoch, ProducerId, TopicPartition};
use crate::log::batch::{decode_batch, BatchHeader};
use crate::prng::Prng;
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const TOPIC: &str = "t";
const BROKER: BrokerId = BrokerId(1);
const PID: ProducerId = ProducerId(1000);

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

fn tp(partition: u32) -> TopicPartition {
    TopicPartition {
        topic: TOPIC.into(),
        partition: PartitionIndex(partition),
    }
}

fn metadata(leaders: &[Option<u32>]) -> ProducerMetadata {
    let mut m = ProducerMetadata::new();
    m.set_topic(TOPIC, leaders.iter().map(|l| l.map(BrokerId)).collect());
    m
}

fn producer(config_json: &str, seed: u64) -> Producer {
    let config: ProducerConfig = serde_json::from_str(config_json).unwrap();
    let mut p = Producer::new(config, Prng::new(seed)).unwrap();
    if p.wants_producer_id() {
        p.set_producer_id(PID, ProducerEpoch(0));
    }
    p
}

/// A null-key record with a fixed timestamp, so sizes are exact: 57 encoded bytes for a
/// 50-byte value (61-byte batch header on top).
fn rec(value: &str) -> ProducerRecord {
    let mut v = value.as_bytes().to_vec();
    v.resize(50, b'.');
    ProducerRecord {
        timestamp_ms: Some(1_000),
        ..ProducerRecord::new(TOPIC, None, Some(&v))
    }
}

fn to(partition: u32, value: &str) -> ProducerRecord {
    rec(value).with_partition(PartitionIndex(partition))
}

/// What the fake broker does with one produce request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Append normally, then answer this error instead of success.
    AppendThenAnswer(ErrorCode),
    /// Do not append; answer this error.
    Reject(ErrorCode),
    /// Append, never answer (the answer is lost).
    AppendNoAnswer,
}

#[derive(Default)]
struct FakeBroker {
    /// Per partition, the first 2 bytes of each appended record's value, in offset order.
    logs: BTreeMap<TopicPartition, Vec<String>>,
    states: BTreeMap<TopicPartition, ProducerStateTable>,
    /// Faults by the index of the request the broker receives.
    faults: BTreeMap<u64, Fault>,
    /// Applied to every request without a listed fault.
    always: Option<Fault>,
    received: u64,
}

impl FakeBroker {
    fn handle(&mut self, request: &ProduceRequest) -> Option<ProduceResponse> {
        let fault = self.faults.remove(&self.received).or(self.always);
        self.received += 1;
        let mut partitions = Vec::new();
        for data in &request.partitions {
            let (error, base_offset) = match fault {
                Some(Fault::Reject(e)) => (e, Offset(-1)),
                _ => self.append(&data.topic_partition, &data.records),
            };
            let (error, base_offset) = match fault {
                Some(Fault::AppendThenAnswer(e)) => (e, Offset(-1)),
                _ => (error, base_offset),
            };
            partitions.push(ProducePartitionResponse {
                topic_partition: data.topic_partition.clone(),
                error,
                base_offset,
                log_start_offset: Offset(0),
            });
        }
        if fault == Some(Fault::AppendNoAnswer) {
            return None;
        }
        Some(ProduceResponse {
            request_id: request.request_id,
            partitions,
        })
    }

    /// The leader's path: producer-state check, then append, then record the batch.
    fn append(&mut self, tp: &TopicPartition, bytes: &[u8]) -> (ErrorCode, Offset) {
        let (batch, _) = decode_batch(bytes).unwrap();
        let mut info = ProducerBatchInfo::from_header(&BatchHeader::parse(bytes).unwrap());
        let state = self.states.entry(tp.clone()).or_default();
        match state.check_client_batch(&info) {
            Err(e) => (e, Offset(-1)),
            Ok(SequenceCheck::Duplicate { first_offset, .. }) => (ErrorCode::None, first_offset),
            Ok(SequenceCheck::Append | SequenceCheck::NotIdempotent) => {
                let log = self.logs.entry(tp.clone()).or_default();
                let base = Offset(log.len() as i64);
                for r in &batch.records {
                    let v = r.value.as_deref().unwrap_or_default();
                    log.push(String::from_utf8_lossy(&v[..2.min(v.len())]).into_owned());
                }
                info.first_offset = base;
                info.last_offset = base.plus(i64::from(batch.last_offset_delta));
                state.on_append(&info);
                (ErrorCode::None, base)
            }
        }
    }

    fn log(&self, partition: u32) -> Vec<String> {
        self.logs.get(&tp(partition)).cloned().unwrap_or_default()
    }
}

/// A producer, a broker and a network with a fixed one-way latency for answers.
struct World {
    producer: Producer,
    broker: FakeBroker,
    metadata: ProducerMetadata,
    latency_ms: u64,
    /// (millisecond, event).
    events: Vec<(u64, ProducerEvent)>,
    requests: Vec<(u64, ProduceRequest)>,
    in_flight_max: u32,
}

impl World {
    fn new(config_json: &str, partitions: u32) -> World {
        World {
            producer: producer(config_json, 1),
            broker: FakeBroker::default(),
            metadata: metadata(&vec![Some(BROKER.0); partitions as usize]),
            latency_ms: 10,
            events: Vec::new(),
            requests: Vec::new(),
            in_flight_max: 0,
        }
    }

    /// Runs `sends` (at their millisecond) until nothing is left to do or `until_ms`.
    fn run(&mut self, sends: &[(u64, ProducerRecord)], until_ms: u64) {
        let mut now = SimTime::ZERO;
        let mut next_send = 0;
        let mut answers: Vec<(SimTime, ProduceResponse)> = Vec::new();
        let mut idle_polls = 0;
        loop {
            let mut progressed = false;
            while next_send < sends.len() && ms(sends[next_send].0) <= now {
                let record = sends[next_send].1.clone();
                self.producer.send(now, &self.metadata, record).unwrap();
                next_send += 1;
                progressed = true;
            }
            answers.sort_by_key(|(t, r)| (*t, r.request_id));
            while answers.first().is_some_and(|(t, _)| *t <= now) {
                let (_, answer) = answers.remove(0);
                self.producer.handle_response(now, &answer);
                progressed = true;
            }
            for request in self.producer.poll(now, &self.metadata) {
                progressed = true;
                if let Some(answer) = self.broker.handle(&request) {
                    if request.expects_response() {
                        answers.push((
                            now.saturating_add(SimDuration::from_millis(self.latency_ms)),
                            answer,
                        ));
                    }
                }
                self.requests.push((now.as_millis() as u64, request));
            }
            self.in_flight_max = self
                .in_flight_max
                .max(self.producer.in_flight_count(BROKER));
            let events = self.producer.take_events();
            progressed |= !events.is_empty();
            let at = now.as_millis() as u64;
            self.events.extend(events.into_iter().map(|e| (at, e)));
            let wake = [
                sends.get(next_send).map(|(t, _)| ms(*t)),
                answers.iter().map(|(t, _)| *t).min(),
                self.producer.poll_timeout(now, &self.metadata),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(wake) = wake.filter(|t| *t <= ms(until_ms)) else {
                return;
            };
            // poll_timeout must not ask for a wake-up now when a poll has nothing to do.
            idle_polls = if wake <= now && !progressed {
                idle_polls + 1
            } else {
                0
            };
            assert!(idle_polls < 3, "busy loop at {now}");
            now = wake.max(now);
        }
    }

    /// Completions by record id: (millisecond, result).
    fn completions(&self) -> BTreeMap<u64, (u64, Result<Offset, ProducerError>, bool)> {
        let mut out = BTreeMap::new();
        for (at, e) in &self.events {
            if let ProducerEvent::Completed(c) = e {
                let previous = out.insert(c.record_id.0, (*at, c.result, c.maybe_appended));
                assert!(
                    previous.is_none(),
                    "record {} completed twice",
                    c.record_id.0
                );
            }
        }
        out
    }

    fn retries(&self) -> Vec<(u64, ErrorCode, i32, u64)> {
        self.events
            .iter()
            .filter_map(|(at, e)| match e {
                ProducerEvent::Retrying {
                    error,
                    attempts,
                    retry_at,
                    ..
                } => Some((*at, *error, *attempts, retry_at.as_millis() as u64)),
                _ => None,
            })
            .collect()
    }
}

fn records_in(request: &ProduceRequest) -> Vec<i32> {
    request
        .partitions
        .iter()
        .map(|p| decode_batch(&p.records).unwrap().0.records.len() as i32)
        .collect()
}

// ---- config -----------------------------------------------------------------------------

#[test]
fn config_uses_kafka_names_defaults_and_validation() {
    let defaults: ProducerConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(defaults, ProducerConfig::default());
    expect_test::expect![[r#"{"acks":"all","enable.idempotence":null,"batch.size":16384,"linger.ms":0,"retries":2147483647,"retry.backoff.ms":100,"retry.backoff.max.ms":1000,"delivery.timeout.ms":120000,"request.timeout.ms":30000,"max.in.flight.requests.per.connection":5,"partitioner.ignore.keys":false,"partitioner.adaptive.partitioning.enable":true,"max.request.size":1048576,"buffer.memory":33554432,"transaction.timeout.ms":60000}"#]]
    .assert_eq(&serde_json::to_string(&defaults).unwrap());
    assert_eq!(ProducerConfig::kafka_4_0_defaults().linger_ms, 5);
    assert!(serde_json::from_str::<ProducerConfig>(r#"{"lingr.ms":5}"#).is_err());

    // (config, Ok(idempotent) or Err(message)).
    let cases: &[(&str, Result<bool, &str>)] = &[
        ("{}", Ok(true)),
        (r#"{"acks":"-1"}"#, Ok(true)),
        (r#"{"acks":"1"}"#, Ok(false)),
        (r#"{"acks":1}"#, Ok(false)),
        (r#"{"acks":"0"}"#, Ok(false)),
        (r#"{"enable.idempotence":false}"#, Ok(false)),
        (r#"{"max.in.flight.requests.per.connection":6}"#, Ok(false)),
        (r#"{"retries":0}"#, Ok(false)),
        (
            r#"{"acks":"1","enable.idempotence":true}"#,
            Err("Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence."),
        ),
        (
            r#"{"max.in.flight.requests.per.connection":6,"enable.idempotence":true}"#,
            Err("Must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer."),
        ),
        (
            r#"{"max.in.flight.requests.per.connection":6,"enable.idempotence":true,"logsim.unsafe.idempotence.in.flight.above.5":true}"#,
            Ok(true),
        ),
        (
            r#"{"max.in.flight.requests.per.connection":6,"logsim.unsafe.idempotence.in.flight.above.5":true}"#,
            Ok(true),
        ),
        (
            r#"{"retries":0,"enable.idempotence":true}"#,
            Err("Must set retries to non-zero when using the idempotent producer."),
        ),
        (
            r#"{"delivery.timeout.ms":30000,"linger.ms":5}"#,
            Err("delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms (30000 < 30005)"),
        ),
    ];
    for (json, want) in cases {
        let config: ProducerConfig = serde_json::from_str(json).unwrap();
        let got = config
            .validate()
            .map(|()| config.idempotence_enabled())
            .map_err(|e| e.0);
        assert_eq!(got, want.map_err(str::to_owned), "{json}");
    }
    assert!(serde_json::from_str::<ProducerConfig>(r#"{"acks":"2"}"#).is_err());
}

// ---- partitioning -----------------------------------------------------------------------

#[test]
fn p1_key_vectors_and_explicit_partition_through_send() {
    // P-1: "21" → 0 / 0 / 0 / 40 for 3 / 6 / 12 / 50 partitions; an explicit partition wins.
    for (count, want) in [(3u32, 0u32), (6, 0), (12, 0), (50, 40)] {
        let m = metadata(&vec![Some(1); count as usize]);
        let mut p = producer("{}", 1);
        let keyed = ProducerRecord::new(TOPIC, Some(b"21"), Some(b"v"));
        let h = p.send(SimTime::ZERO, &m, keyed.clone()).unwrap();
        assert_eq!(
            h.topic_partition.partition,
            PartitionIndex(want),
            "n={count}"
        );
        let explicit = keyed.with_partition(PartitionIndex(count - 1));
        let h = p.send(SimTime::ZERO, &m, explicit).unwrap();
        assert_eq!(h.topic_partition.partition, PartitionIndex(count - 1));
    }
    // The modulus is over all partitions, available or not.
    let m = metadata(&[
        None, None, None, None, None, None, None, None, None, None, None, None,
    ]);
    let mut p = producer("{}", 1);
    let h = p
        .send(
            SimTime::ZERO,
            &m,
            ProducerRecord::new(TOPIC, Some(b"foobar"), None),
        )
        .unwrap();
    assert_eq!(
        h.topic_partition.partition,
        partition_for_key(b"foobar", 12)
    );
    // partitioner.ignore.keys: keys no longer pick the partition; they stick like null keys.
    let m = metadata(&vec![Some(1); 50]);
    let mut p = producer(r#"{"partitioner.ignore.keys":true}"#, 1);
    let parts: Vec<PartitionIndex> = ["21", "a", "b", "c"]
        .iter()
        .map(|k| {
            let r = ProducerRecord::new(TOPIC, Some(k.as_bytes()), Some(b"v"));
            p.send(SimTime::ZERO, &m, r)
                .unwrap()
                .topic_partition
                .partition
        })
        .collect();
    assert!(parts.iter().all(|x| *x == parts[0]), "{parts:?}");
    // Bad input is refused, not queued.
    assert!(matches!(
        p.send(
            SimTime::ZERO,
            &m,
            rec("x").with_partition(PartitionIndex(50))
        ),
        Err(SendError::InvalidPartition { .. })
    ));
    assert!(matches!(
        p.send(SimTime::ZERO, &m, ProducerRecord::new("other", None, None)),
        Err(SendError::UnknownTopic(_))
    ));
}

/// The model's append of one `rec` to `partition`'s open batch (size, records): a record is 57
/// bytes (58 once its offset delta needs a 2-byte varint, from 64), plus the 61-byte header
/// when it opens a batch. Returns (appended bytes, whether the batch is now full).
fn model_append(
    open: &mut BTreeMap<u32, (u32, u32)>,
    partition: u32,
    batch_size: u32,
) -> (u32, bool) {
    let (size, count) = open.entry(partition).or_insert((0, 0));
    let record = if *count < 64 { 57 } else { 58 };
    let appended = if *count > 0 && *size + record <= batch_size {
        *size += record;
        *count += 1;
        record
    } else {
        *size = 61 + 57;
        *count = 1;
        61 + 57
    };
    (appended, *size >= batch_size)
}

/// P-2 through the producer, against an independent model of KIP-794 (`model_append`). The
/// partition may change only where the model switches, and it must switch there (the new pick
/// may be the same partition).
#[test]
fn p2_sticky_switches_exactly_at_kip_794_thresholds() {
    // (batch.size, leaders, seed)
    let cases: &[(u32, &[Option<u32>], u64)] = &[
        (175, &[Some(1), Some(1), Some(1), Some(1)], 1),
        (200, &[Some(1), Some(1), Some(1), Some(1)], 2),
        (1_000, &[Some(1), None, Some(2), None, Some(1)], 3),
        (16_384, &[Some(1); 8], 4),
    ];
    for (batch_size, leaders, seed) in cases {
        let m = metadata(leaders);
        let config = format!(
            r#"{{"batch.size":{batch_size},"linger.ms":100000,"delivery.timeout.ms":200000}}"#
        );
        let mut p = producer(&config, *seed);
        let mut open: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
        let mut produced = 0u32;
        let mut current: Option<u32> = None;
        let mut switches = 0;
        let mut changes = 0;
        for i in 0..600 {
            let part = p
                .send(SimTime::ZERO, &m, rec(&format!("{i:02}")))
                .unwrap()
                .topic_partition
                .partition
                .0;
            assert!(
                leaders[part as usize].is_some(),
                "picked a partition without a leader"
            );
            match current {
                Some(c) if c != part => {
                    panic!("batch.size {batch_size}: record {i} left partition {c} before a switch point ({produced} produced)")
                }
                None => {}
                Some(_) => {}
            }
            let (appended, full) = model_append(&mut open, part, *batch_size);
            produced += appended;
            if (produced >= *batch_size && full) || produced >= 2 * batch_size {
                produced = 0;
                switches += 1;
                let next = p
                    .send(SimTime::ZERO, &m, rec("probe"))
                    .unwrap()
                    .topic_partition
                    .partition
                    .0;
                // The probe record itself counts towards the new partition.
                changes += u32::from(next != part);
                current = Some(next);
                let (appended, full) = model_append(&mut open, next, *batch_size);
                produced += appended;
                assert!(
                    !((produced >= *batch_size && full) || produced >= 2 * batch_size),
                    "a probe alone never reaches a threshold in these cases"
                );
            } else {
                current = Some(part);
            }
        }
        assert!(
            switches > 0 && changes > 0,
            "batch.size {batch_size}: {switches} switches, {changes} changes"
        );
    }
}

#[test]
fn p2_sticky_choice_is_the_seeds() {
    let m = metadata(&[Some(1); 8]);
    let run = |seed: u64| -> Vec<u32> {
        let mut p = producer(
            r#"{"batch.size":175,"linger.ms":100000,"delivery.timeout.ms":200000}"#,
            seed,
        );
        (0..40)
            .map(|i| {
                p.send(SimTime::ZERO, &m, rec(&format!("{i:02}")))
                    .unwrap()
                    .topic_partition
                    .partition
                    .0
            })
            .collect()
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}

#[test]
fn p2_adaptive_load_stats_weight_by_inverse_queue_depth() {
    use super::sticky::PartitionLoadStats;
    let p = PartitionIndex;
    // Queues 0 3 1 → weights 4 1 3 → running sums 4 5 8: draws 0-3 pick partition 0, 4 picks
    // 1, 5-7 pick 2.
    let stats =
        PartitionLoadStats::from_queue_sizes(&[(p(0), 0), (p(1), 3), (p(2), 1)], 3).unwrap();
    assert_eq!(stats.total(), 8);
    let picks: Vec<u32> = (0..8).map(|d| stats.pick(d).0).collect();
    assert_eq!(picks, vec![0, 0, 0, 0, 1, 2, 2, 2]);
    // Equal queues on all partitions: uniform (no stats). One partition alone: no stats.
    assert_eq!(
        PartitionLoadStats::from_queue_sizes(&[(p(0), 2), (p(1), 2)], 2),
        None
    );
    assert_eq!(PartitionLoadStats::from_queue_sizes(&[(p(0), 2)], 1), None);
    // Equal queues but a partition without a leader left out: weighted over the others.
    let stats = PartitionLoadStats::from_queue_sizes(&[(p(0), 1), (p(2), 1)], 3).unwrap();
    assert_eq!(
        (stats.total(), stats.pick(0), stats.pick(1)),
        (2, p(0), p(2))
    );
}

#[test]
fn p2_adaptive_partitioning_avoids_a_slow_broker() {
    // Partitions 0-1 lead on broker 1 (answers at once), 2-3 on broker 2 (never answers,
    // one request in flight, so its queues grow). Adaptive partitioning sends fewer null-key
    // records to 2-3; without it the choice stays uniform.
    let m = {
        let mut m = ProducerMetadata::new();
        m.set_topic(
            TOPIC,
            vec![
                Some(BrokerId(1)),
                Some(BrokerId(1)),
                Some(BrokerId(2)),
                Some(BrokerId(2)),
            ],
        );
        m
    };
    let count = |adaptive: bool| -> [u32; 4] {
        let config = format!(
            r#"{{"acks":"1","batch.size":175,"max.in.flight.requests.per.connection":1,"partitioner.adaptive.partitioning.enable":{adaptive}}}"#
        );
        let mut p = producer(&config, 5);
        let mut counts = [0u32; 4];
        for i in 0..2_000u64 {
            let now = ms(i);
            let h = p.send(now, &m, rec("x")).unwrap();
            counts[h.topic_partition.partition.0 as usize] += 1;
            for request in p.poll(now, &m) {
                if request.destination == BrokerId(1) {
                    let partitions = request
                        .partitions
                        .iter()
                        .map(|d| ProducePartitionResponse {
                            topic_partition: d.topic_partition.clone(),
                            error: ErrorCode::None,
                            base_offset: Offset(0),
                            log_start_offset: Offset(0),
                        })
                        .collect();
                    p.handle_response(
                        now,
                        &ProduceResponse {
                            request_id: request.request_id,
                            partitions,
                        },
                    );
                }
            }
        }
        counts
    };
    let uniform = count(false);
    let adaptive = count(true);
    let slow = |c: [u32; 4]| c[2] + c[3];
    // Uniform is 40 % slow, not 50 %: a stint on a slow partition fills its queued batch and
    // switches after 2 records, a fast one drains each record and switches at 2 × batch.size,
    // after 3. Seed 5 gives [574, 663, 381, 382] and [990, 873, 69, 68].
    assert!(slow(uniform) > 700, "{uniform:?}");
    assert!(slow(adaptive) < 300, "{adaptive:?} vs uniform {uniform:?}");
}

// ---- batching ---------------------------------------------------------------------------

#[test]
fn p3_linger_collects_sends_into_one_batch() {
    // P-3: with linger.ms=10, three sends within 10 ms form one batch of 3; a send at 11 ms
    // starts a new one, sent at 21 ms.
    let mut w = World::new(r#"{"linger.ms":10}"#, 1);
    let sends = [
        (0, to(0, "a")),
        (3, to(0, "b")),
        (7, to(0, "c")),
        (11, to(0, "d")),
    ];
    w.run(&sends, 1_000);
    let sent: Vec<(u64, Vec<i32>)> = w
        .requests
        .iter()
        .map(|(at, r)| (*at, records_in(r)))
        .collect();
    assert_eq!(sent, vec![(10, vec![3]), (21, vec![1])]);
    assert_eq!(w.broker.log(0), vec!["a.", "b.", "c.", "d."]);
    let offsets: Vec<_> = w.completions().values().map(|(_, r, _)| *r).collect();
    assert_eq!(offsets, (0..4).map(|o| Ok(Offset(o))).collect::<Vec<_>>());
}

#[test]
fn flush_sends_lingering_batches_at_once() {
    let mut p = producer(r#"{"linger.ms":1000}"#, 1);
    let m = metadata(&[Some(1), Some(1)]);
    p.send(SimTime::ZERO, &m, to(0, "a")).unwrap();
    p.send(SimTime::ZERO, &m, to(1, "b")).unwrap();
    assert!(p.poll(ms(1), &m).is_empty());
    p.flush();
    assert!(p.flush_in_progress());
    // Appends to a batch that has not left yet still ride with it, as in Kafka.
    p.send(ms(1), &m, to(0, "c")).unwrap();
    let sent = p.poll(ms(1), &m);
    assert_eq!(
        sent.iter().map(records_in).collect::<Vec<_>>(),
        vec![vec![2, 1]]
    );
    let partitions = sent[0]
        .partitions
        .iter()
        .map(|d| ProducePartitionResponse {
            topic_partition: d.topic_partition.clone(),
            error: ErrorCode::None,
            base_offset: Offset(0),
            log_start_offset: Offset(0),
        })
        .collect();
    p.handle_response(
        ms(2),
        &ProduceResponse {
            request_id: sent[0].request_id,
            partitions,
        },
    );
    assert!(!p.flush_in_progress());
    // A record sent after the flush is over lingers again.
    p.send(ms(2), &m, to(0, "d")).unwrap();
    assert!(p.poll(ms(2), &m).is_empty());
    assert_eq!(p.poll_timeout(ms(2), &m), Some(ms(1_002)));
}

#[test]
fn max_in_flight_1_mutes_a_partition_across_a_leader_move() {
    // With one request in flight to broker 1, the leader moves to broker 2: the next batch of
    // the partition still waits for the first answer, so order holds.
    let mut p = producer(
        r#"{"acks":"1","batch.size":100,"max.in.flight.requests.per.connection":1}"#,
        1,
    );
    p.send(SimTime::ZERO, &metadata(&[Some(1)]), to(0, "a"))
        .unwrap();
    p.send(SimTime::ZERO, &metadata(&[Some(1)]), to(0, "b"))
        .unwrap();
    assert_eq!(p.poll(SimTime::ZERO, &metadata(&[Some(1)])).len(), 1);
    let moved = metadata(&[Some(2)]);
    assert!(p.poll(ms(1), &moved).is_empty());
    let mut q = producer(
        r#"{"acks":"1","batch.size":100,"max.in.flight.requests.per.connection":2}"#,
        1,
    );
    q.send(SimTime::ZERO, &metadata(&[Some(1)]), to(0, "a"))
        .unwrap();
    q.send(SimTime::ZERO, &metadata(&[Some(1)]), to(0, "b"))
        .unwrap();
    assert_eq!(q.poll(SimTime::ZERO, &metadata(&[Some(1)])).len(), 1);
    assert_eq!(
        q.poll(ms(1), &moved).len(),
        1,
        "without the mute, b goes to the new leader"
    );
}

#[test]
fn p3_a_full_batch_goes_without_waiting_for_linger() {
    // batch.size 175 holds two 57-byte records (61 + 2 × 57); the third opens a new batch,
    // which makes the first sendable at once. The second waits out linger.ms.
    let mut w = World::new(r#"{"linger.ms":1000,"batch.size":175}"#, 1);
    let sends = [(0, to(0, "a")), (0, to(0, "b")), (0, to(0, "c"))];
    w.run(&sends, 5_000);
    let sent: Vec<(u64, Vec<i32>)> = w
        .requests
        .iter()
        .map(|(at, r)| (*at, records_in(r)))
        .collect();
    assert_eq!(sent, vec![(0, vec![2]), (1_000, vec![1])]);
}

#[test]
fn p3_one_batch_per_partition_per_request_within_max_request_size() {
    // Three partitions on one broker, each with a full batch: one request carries all three;
    // with max.request.size fitting two, the third waits for the next request.
    for (max_request_size, want) in [
        (1_048_576u32, vec![vec![2, 2, 2]]),
        (400, vec![vec![2, 2], vec![2]]),
    ] {
        let config = format!(
            r#"{{"linger.ms":1000,"batch.size":175,"max.request.size":{max_request_size}}}"#
        );
        let mut w = World::new(&config, 3);
        let sends: Vec<(u64, ProducerRecord)> = (0..3)
            .flat_map(|p| [(0, to(p, "x")), (0, to(p, "y"))])
            .collect();
        w.run(&sends, 0);
        let sent: Vec<Vec<i32>> = w.requests.iter().map(|(_, r)| records_in(r)).collect();
        assert_eq!(sent, want, "max.request.size {max_request_size}");
    }
}

// ---- in flight --------------------------------------------------------------------------

#[test]
fn max_in_flight_requests_per_connection_is_respected() {
    // batch.size 100: every record is a batch of its own, all sendable at once.
    for (config, want) in [
        (
            r#"{"acks":"1","max.in.flight.requests.per.connection":1}"#,
            1,
        ),
        (
            r#"{"acks":"1","max.in.flight.requests.per.connection":2}"#,
            2,
        ),
        (
            r#"{"acks":"1","max.in.flight.requests.per.connection":8}"#,
            8,
        ),
        (r#"{"max.in.flight.requests.per.connection":5}"#, 5),
        (r#"{"max.in.flight.requests.per.connection":3}"#, 3),
    ] {
        let mut w = World::new(
            &format!("{}{}", &config[..config.len() - 1], r#","batch.size":100}"#),
            1,
        );
        w.latency_ms = 50;
        let sends: Vec<(u64, ProducerRecord)> =
            (0..12).map(|i| (0, to(0, &format!("{i:02}")))).collect();
        w.run(&sends, 10_000);
        assert_eq!(w.in_flight_max, want, "{config}");
        let results: Vec<_> = w.completions().values().map(|(_, r, _)| *r).collect();
        assert_eq!(
            results,
            (0..12).map(|o| Ok(Offset(o))).collect::<Vec<_>>(),
            "{config}"
        );
    }
}

#[test]
fn polling_more_often_never_exceeds_max_in_flight() {
    for max in [1u32, 3, 5] {
        let config =
            format!(r#"{{"batch.size":100,"max.in.flight.requests.per.connection":{max}}}"#);
        let mut p = producer(&config, 1);
        let m = metadata(&[Some(1)]);
        for i in 0..10 {
            p.send(SimTime::ZERO, &m, to(0, &format!("{i:02}")))
                .unwrap();
        }
        let sent: usize = (0..20).map(|_| p.poll(SimTime::ZERO, &m).len()).sum();
        assert_eq!((sent as u32, p.in_flight_count(BROKER)), (max, max));
        assert_eq!(
            p.poll_timeout(SimTime::ZERO, &m),
            Some(ms(30_000)),
            "only the request timeout is left"
        );
    }
}

#[test]
fn p6_a_retried_batch_waits_until_every_lower_sequence_completes() {
    // Kafka's shouldStopDrainBatchesForPartition: "a" (seq 0) and "b" (seq 1) fail together;
    // once both backoffs are over, only "a" goes; "b" follows when "a" has completed.
    let mut p = producer(r#"{"batch.size":100}"#, 1);
    let m = metadata(&[Some(1)]);
    p.send(SimTime::ZERO, &m, to(0, "a")).unwrap();
    p.send(SimTime::ZERO, &m, to(0, "b")).unwrap();
    let first: Vec<ProduceRequest> = (0..2).flat_map(|_| p.poll(SimTime::ZERO, &m)).collect();
    assert_eq!(first.len(), 2);
    let answer = |request: &ProduceRequest, error: ErrorCode, base: i64| ProduceResponse {
        request_id: request.request_id,
        partitions: vec![ProducePartitionResponse {
            topic_partition: tp(0),
            error,
            base_offset: Offset(base),
            log_start_offset: Offset(0),
        }],
    };
    p.handle_response(ms(1), &answer(&first[0], ErrorCode::NotEnoughReplicas, -1));
    p.handle_response(
        ms(1),
        &answer(&first[1], ErrorCode::OutOfOrderSequenceNumber, -1),
    );
    let later = ms(1_000);
    let retried: Vec<ProduceRequest> = (0..3).flat_map(|_| p.poll(later, &m)).collect();
    assert_eq!(retried.len(), 1);
    assert_eq!(
        retried[0].partitions, first[0].partitions,
        "a with sequence 0 again"
    );
    assert_eq!(
        p.poll_timeout(later, &m),
        Some(later.saturating_add(SimDuration::from_millis(30_000)))
    );
    p.handle_response(later, &answer(&retried[0], ErrorCode::None, 0));
    let next = p.poll(later, &m);
    assert_eq!(next.len(), 1);
    assert_eq!(
        next[0].partitions, first[1].partitions,
        "then b with sequence 1"
    );
}

// ---- retries and the delivery deadline ----------------------------------------------------

#[test]
fn p4_no_leader_fails_at_the_delivery_timeout() {
    // P-4: leader unavailable for 130 s → the callback fails at 120 s with a TimeoutException,
    // and nothing was ever sent, so it was certainly not appended.
    let mut w = World::new("{}", 1);
    w.metadata = metadata(&[None]);
    w.run(&[(0, to(0, "a"))], 130_000);
    assert!(w.requests.is_empty());
    let done = w.completions();
    assert_eq!(done[&0], (120_000, Err(ProducerError::Timeout), false));
    assert_eq!(done[&0].1.unwrap_err().name(), "TimeoutException");
}

#[test]
fn p4_retriable_errors_back_off_exponentially_until_the_deadline() {
    for error in [
        ErrorCode::NotLeaderOrFollower,
        ErrorCode::NotEnoughReplicas,
        ErrorCode::RequestTimedOut,
    ] {
        let mut w = World::new("{}", 1);
        w.broker.always = Some(Fault::Reject(error));
        w.run(&[(0, to(0, "a"))], 130_000);
        let retries = w.retries();
        // KIP-580: 100 ms doubling to the 1000 ms cap, each ±20 % jitter, capped again.
        for (i, (at, e, attempts, retry_at)) in retries.iter().enumerate() {
            assert_eq!((*e, *attempts), (error, i as i32 + 1));
            let term = (100u64 << i.min(10)).min(1_000);
            let backoff = retry_at - at;
            assert!(
                backoff >= term * 8 / 10 && backoff <= (term * 12 / 10).min(1_000),
                "retry {i}: {backoff} ms"
            );
        }
        assert!(
            retries.len() > 100,
            "{error}: {} retries in 120 s",
            retries.len()
        );
        let capped: Vec<u64> = retries[10..].iter().map(|r| r.3 - r.0).collect();
        assert!(
            capped.iter().any(|b| *b < 1_000) && capped.iter().any(|b| *b >= 990),
            "jitter below the cap: {capped:?}"
        );
        let done = w.completions();
        assert_eq!(done[&0].0, 120_000, "{error}");
        assert_eq!(done[&0].1, Err(ProducerError::Timeout));
        assert_eq!(w.producer.batch_count(), 0);
    }
}

#[test]
fn p4_an_appended_but_unanswered_batch_times_out_yet_shows_up_in_the_log() {
    // P-4: the broker appends but every answer is lost; request.timeout.ms (30 s) triggers
    // retries, delivery.timeout.ms (120 s) fails the send, and the record is in the log
    // (without idempotence, once per attempt: P-5 duplicates).
    for (config, copies) in [(r#"{"enable.idempotence":false}"#, 4), ("{}", 1)] {
        let mut w = World::new(config, 1);
        w.broker.always = Some(Fault::AppendNoAnswer);
        w.run(&[(0, to(0, "a"))], 200_000);
        assert_eq!(
            w.completions()[&0],
            (120_000, Err(ProducerError::Timeout), true),
            "{config}"
        );
        assert_eq!(w.broker.log(0), vec!["a."; copies], "{config}");
        let timed_out = w
            .retries()
            .iter()
            .filter(|r| r.1 == ErrorCode::RequestTimedOut)
            .count();
        assert_eq!(timed_out, 3, "{config}: retries after 30, 60 and 90 s");
    }
}

#[test]
fn a_failure_after_an_appended_attempt_is_reported_as_maybe_appended() {
    // retries=1, no idempotence: the first attempt is appended but answered
    // NOT_ENOUGH_REPLICAS_AFTER_APPEND, the retry is refused with NOT_ENOUGH_REPLICAS. The send
    // fails, yet the record is in the log: a history must treat it as indeterminate.
    for (first, maybe_appended, log) in [
        (
            Fault::AppendThenAnswer(ErrorCode::NotEnoughReplicasAfterAppend),
            true,
            vec!["a."],
        ),
        (Fault::Reject(ErrorCode::NotEnoughReplicas), false, vec![]),
    ] {
        let mut w = World::new(r#"{"retries":1,"enable.idempotence":false}"#, 1);
        w.broker.faults.insert(0, first);
        w.broker.always = Some(Fault::Reject(ErrorCode::NotEnoughReplicas));
        w.run(&[(0, to(0, "a"))], 10_000);
        let (_, result, maybe) = w.completions()[&0];
        assert_eq!(
            result,
            Err(ProducerError::Broker(ErrorCode::NotEnoughReplicas))
        );
        assert_eq!(maybe, maybe_appended, "{first:?}");
        assert_eq!(w.broker.log(0), log);
    }
}

#[test]
fn retries_zero_fails_on_the_first_retriable_error() {
    let mut w = World::new(r#"{"retries":0}"#, 1);
    w.broker.always = Some(Fault::Reject(ErrorCode::NotEnoughReplicas));
    w.run(&[(0, to(0, "a"))], 1_000);
    let done = w.completions();
    assert_eq!(
        done[&0].1,
        Err(ProducerError::Broker(ErrorCode::NotEnoughReplicas))
    );
    assert_eq!(done[&0].1.unwrap_err().name(), "NotEnoughReplicasException");
}

#[test]
fn a_disconnect_fails_in_flight_requests_and_they_are_retried() {
    let mut p = producer("{}", 1);
    let m = metadata(&[Some(1)]);
    p.send(SimTime::ZERO, &m, to(0, "a")).unwrap();
    let first = p.poll(SimTime::ZERO, &m);
    assert_eq!(first.len(), 1);
    p.handle_disconnect(ms(5), BROKER);
    assert_eq!(p.in_flight_count(BROKER), 0);
    assert!(p.take_metadata_refresh_request());
    let events = p.take_events();
    assert!(matches!(
        events[..],
        [ProducerEvent::Retrying {
            error: ErrorCode::NetworkException,
            ..
        }]
    ));
    let retry_at = p.poll_timeout(ms(5), &m).unwrap();
    assert!(p.poll(ms(5), &m).is_empty(), "backing off");
    let again = p.poll(retry_at, &m);
    // The retry carries the same records with the same sequence (P-6).
    assert_eq!(again[0].partitions, first[0].partitions);
    // The stale answer to the first request is ignored.
    p.handle_response(
        retry_at,
        &ProduceResponse {
            request_id: first[0].request_id,
            partitions: vec![],
        },
    );
    assert_eq!(p.in_flight_count(BROKER), 1);
}

// ---- acks=0 -------------------------------------------------------------------------------

#[test]
fn acks_0_completes_as_the_request_leaves_with_offset_minus_1() {
    let mut w = World::new(r#"{"acks":"0"}"#, 1);
    // Even a broker that refuses everything cannot fail an acks=0 send: it never answers.
    w.broker.always = Some(Fault::Reject(ErrorCode::NotEnoughReplicas));
    w.run(&[(0, to(0, "a")), (5, to(0, "b"))], 1_000);
    assert_eq!(w.requests.len(), 2);
    assert!(w
        .requests
        .iter()
        .all(|(_, r)| !r.expects_response() && r.acks == Acks::None));
    assert_eq!(w.in_flight_max, 0);
    let done = w.completions();
    assert_eq!(done[&0], (0, Ok(Offset(-1)), true));
    assert_eq!(done[&1], (5, Ok(Offset(-1)), true));
    assert!(w.retries().is_empty());
}

// ---- duplicates and ordering: idempotence against the broker's producer state ----------------

#[test]
fn p5_p6_not_enough_replicas_after_append_duplicates_only_without_idempotence() {
    // The first attempt is appended, then answered NOT_ENOUGH_REPLICAS_AFTER_APPEND; the
    // retry appends again without idempotence, and is answered as a duplicate with the
    // original offset with it.
    for (config, log, offset) in [
        (r#"{"enable.idempotence":false}"#, vec!["a.", "a."], 1),
        ("{}", vec!["a."], 0),
    ] {
        let mut w = World::new(config, 1);
        w.broker.faults.insert(
            0,
            Fault::AppendThenAnswer(ErrorCode::NotEnoughReplicasAfterAppend),
        );
        w.run(&[(0, to(0, "a"))], 10_000);
        assert_eq!(w.broker.log(0), log, "{config}");
        assert_eq!(w.completions()[&0].1, Ok(Offset(offset)), "{config}");
        assert_eq!(w.retries().len(), 1);
    }
}

#[test]
fn p5_p6_a_failed_first_batch_reorders_only_without_idempotence() {
    // After a first record "z", two batches in flight; the first is refused with
    // NOT_ENOUGH_REPLICAS. Without idempotence the second lands first and the retry after it
    // (Jepsen :nonmonotonic-send). With it, the broker refuses the second as
    // OUT_OF_ORDER_SEQUENCE_NUMBER (a gap), the producer retries both in sequence order, and
    // the log keeps send order. ("z" gives the broker state for the producer id: a broker
    // without state accepts any sequence, P-6 rule 5.)
    for (config, log) in [
        (
            r#"{"enable.idempotence":false,"batch.size":100}"#,
            vec!["z.", "b.", "a.", "c."],
        ),
        (r#"{"batch.size":100}"#, vec!["z.", "a.", "b.", "c."]),
    ] {
        let mut w = World::new(config, 1);
        w.broker
            .faults
            .insert(1, Fault::Reject(ErrorCode::NotEnoughReplicas));
        let sends = [
            (0, to(0, "z")),
            (100, to(0, "a")),
            (100, to(0, "b")),
            (500, to(0, "c")),
        ];
        w.run(&sends, 10_000);
        assert_eq!(w.broker.log(0), log, "{config}");
        let done = w.completions();
        assert!(
            done.values().all(|(_, r, _)| r.is_ok()),
            "{config}: {done:?}"
        );
    }
}

#[test]
fn p7_a_real_sequence_gap_fails_the_batch_and_bumps_the_epoch() {
    // The broker holds state for this producer id at epoch 0 up to sequence 9 (say from
    // before a client restart that reused the id). The client's sequence 0 is next in line
    // for it, so OUT_OF_ORDER_SEQUENCE_NUMBER is a real gap: the batch fails, the epoch goes
    // to 1 with sequences from 0, and the next send succeeds.
    let mut w = World::new("{}", 1);
    let mut prior = ProducerStateTable::new();
    prior.on_append(&ProducerBatchInfo {
        producer_id: PID,
        producer_epoch: ProducerEpoch(0),
        first_sequence: 0,
        last_sequence: 9,
        first_offset: Offset(0),
        last_offset: Offset(9),
        max_timestamp_ms: 0,
        is_control: false,
    });
    w.broker.states.insert(tp(0), prior);
    w.run(&[(0, to(0, "a")), (500, to(0, "b"))], 10_000);
    let done = w.completions();
    assert_eq!(
        done[&0].1,
        Err(ProducerError::Broker(ErrorCode::OutOfOrderSequenceNumber))
    );
    assert_eq!(
        done[&0].1.unwrap_err().name(),
        "OutOfOrderSequenceException"
    );
    assert_eq!(done[&1].1, Ok(Offset(0)));
    assert!(w.events.iter().any(|(_, e)| *e
        == ProducerEvent::EpochBumped {
            producer_id: PID,
            producer_epoch: ProducerEpoch(1),
        }));
    let last = w.requests.last().unwrap();
    let header = BatchHeader::parse(&last.1.partitions[0].records).unwrap();
    assert_eq!((header.producer_epoch, header.base_sequence), (1, 0));
}

#[test]
fn client_sequences_wrap_like_the_brokers() {
    use crate::broker::producer_state::increment_sequence as broker_increment;
    for (sequence, increment) in [
        (0, 1),
        (5, 10),
        (i32::MAX, 1),
        (i32::MAX - 2, 5),
        (i32::MAX - 5, 5),
    ] {
        assert_eq!(
            increment_sequence(sequence, increment),
            broker_increment(sequence, increment)
        );
    }
    assert_eq!(increment_sequence(i32::MAX, 1), 0);
}

#[test]
fn p6_a_fenced_epoch_fails_with_invalid_producer_epoch() {
    let mut w = World::new("{}", 1);
    let mut newer = ProducerStateTable::new();
    newer.on_append(&ProducerBatchInfo {
        producer_id: PID,
        producer_epoch: ProducerEpoch(3),
        first_sequence: 0,
        last_sequence: 0,
        first_offset: Offset(0),
        last_offset: Offset(0),
        max_timestamp_ms: 0,
        is_control: false,
    });
    w.broker.states.insert(tp(0), newer);
    w.run(&[(0, to(0, "a"))], 10_000);
    let done = w.completions();
    assert_eq!(
        done[&0].1,
        Err(ProducerError::Broker(ErrorCode::InvalidProducerEpoch))
    );
    assert_eq!(
        done[&0].1.unwrap_err().name(),
        "InvalidProducerEpochException"
    );
    assert!(w.broker.log(0).is_empty());
}

#[test]
fn p6_a_request_timeout_retry_is_answered_as_a_duplicate() {
    // The answer to the first attempt is lost; after request.timeout.ms the retry carries the
    // same sequence, and the broker answers with the original offset instead of appending.
    let mut w = World::new("{}", 1);
    w.broker.faults.insert(0, Fault::AppendNoAnswer);
    w.run(&[(0, to(0, "a")), (40_000, to(0, "b"))], 100_000);
    assert_eq!(w.broker.log(0), vec!["a.", "b."]);
    let done = w.completions();
    assert_eq!(done[&0].1, Ok(Offset(0)));
    assert_eq!(done[&1].1, Ok(Offset(1)));
}

#[test]
fn p7_an_expired_unacknowledged_sequence_is_settled_by_an_epoch_bump() {
    // Every answer is lost until 130 s: the first send expires at 40 s (delivery.timeout.ms)
    // with its sequence unresolved. New sends wait; once nothing is in flight and the
    // sequence was never acknowledged, the epoch is bumped and they start again at 0.
    let config = r#"{"delivery.timeout.ms":40000}"#;
    let mut w = World::new(config, 1);
    for i in 0..2 {
        w.broker.faults.insert(i, Fault::AppendNoAnswer);
    }
    w.run(&[(0, to(0, "a")), (45_000, to(0, "b"))], 200_000);
    let done = w.completions();
    assert_eq!(done[&0], (40_000, Err(ProducerError::Timeout), true));
    assert_eq!(done[&1].1, Ok(Offset(1)));
    assert!(w.events.iter().any(|(_, e)| matches!(
        e,
        ProducerEvent::EpochBumped {
            producer_epoch: ProducerEpoch(1),
            ..
        }
    )));
    assert_eq!(w.broker.log(0), vec!["a.", "b."]);
}

#[test]
fn a_record_larger_than_max_request_size_fails_at_send() {
    let mut w = World::new(r#"{"max.request.size":100}"#, 1);
    w.run(&[(0, to(0, "a"))], 1_000);
    assert!(w.requests.is_empty());
    let done = w.completions();
    assert_eq!(done[&0], (0, Err(ProducerError::RecordTooLarge), false));
    assert_eq!(done[&0].1.unwrap_err().name(), "RecordTooLargeException");
}

#[test]
fn p7_no_epoch_bump_while_a_sequenced_batch_waits_for_its_retry() {
    // Every answer is lost, every attempt appends. "a" expires in flight at 40 s with its
    // sequence unresolved; "b" (sequence 1, already in the log) keeps retrying with gaps
    // between attempts. Kafka settles the unresolved sequence only once no sequenced batch is
    // left (`hasInflightBatches`); bumping in a gap would rewrite b's sequence under the new
    // epoch, and the broker would append b a second time.
    let config = r#"{"delivery.timeout.ms":40000,"request.timeout.ms":5000}"#;
    let mut w = World::new(config, 1);
    w.broker.always = Some(Fault::AppendNoAnswer);
    w.run(&[(0, to(0, "a")), (20_000, to(0, "b"))], 200_000);
    assert_eq!(w.broker.log(0), vec!["a.", "b."]);
    let done = w.completions();
    assert_eq!(done[&0].1, Err(ProducerError::Timeout));
    assert_eq!(done[&1].1, Err(ProducerError::Timeout));
}
