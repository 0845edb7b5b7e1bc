//! KIP-320 in the cluster world, message by message: the clients keep the leader epochs
//! metadata names and ignore older ones, the consumer fetches with `current_leader_epoch` and
//! handles FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH, validates its position after a leader
//! change (R-12) and rewinds, resets or raises `LogTruncationException`; and a broker answers
//! OffsetsForLeaderEpoch and ListOffsets from its replica.

use super::{ConsumerClient, FetchState, ProducerClient, TruncationOutcome};
use crate::broker::config::ReplicaConfig;
use crate::broker::messages::{
    Acks, ConsumerFetchRequest, FetchResponse, IsolationLevel, ListOffsetsRequest,
    ListOffsetsResponse, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, OffsetSpec,
    ProduceRequest as ReplicaProduceRequest, RequestToken,
};
use crate::client::producer::Producer;
use crate::controller::{
    ChangeReason, LeaderRecoveryState, MetadataOffset, MetadataRecord, MetadataUpdate,
    PartitionState,
};
use crate::ids::{BrokerId, LeaderEpoch, NodeId, Offset, PartitionIndex, TopicPartition};
use crate::log::{NewRecord, ProducerFields, RecordBatch};
use crate::prng::Prng;
use crate::protocol::{BrokerEpoch, ControllerEpoch, ErrorCode, PartitionEpoch};
use crate::sim::cluster::broker_node::{BrokerNode, BrokerTimings, Outbox, CONTROLLER_NODE};
use crate::sim::cluster::messages::{Msg, TopicMetadata};
use crate::sim::cluster::scenario::{AutoOffsetReset, ConsumerSpec, ProducerSpec};
use crate::sim::history::{Op, ValueId};
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn at(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

fn tp() -> TopicPartition {
    TopicPartition {
        topic: "t".into(),
        partition: PartitionIndex(0),
    }
}

fn metadata(leader: u32, epoch: i32) -> Msg {
    Msg::MetadataResponse {
        metadata: TopicMetadata {
            topic: "t".into(),
            leaders: vec![Some(BrokerId(leader))],
            leader_epochs: vec![epoch],
        },
    }
}

/// A consumer of "t" (one partition) polling every 5 ms, with its first metadata applied.
fn consumer(policy: AutoOffsetReset, leader: u32, epoch: i32) -> ConsumerClient {
    let spec = ConsumerSpec {
        poll_interval_ms: 5,
        auto_offset_reset: policy,
        ..ConsumerSpec::assign("t")
    };
    let mut c = ConsumerClient::new(0, NodeId(2000), spec, 3);
    deliver(&mut c, 1, metadata(leader, epoch));
    c
}

fn deliver(c: &mut ConsumerClient, ms: u64, msg: Msg) -> (Outbox, Vec<Op>) {
    let mut out = Outbox::new();
    let mut history = Vec::new();
    c.on_message(at(ms), msg, &mut history, &mut out);
    (out, history)
}

fn poll(c: &mut ConsumerClient, ms: u64) -> Outbox {
    let mut out = Outbox::new();
    let mut history = Vec::new();
    c.on_timer(at(ms), &mut history, &mut out);
    out
}

/// The only message of an outbox, with its destination.
fn only(out: &Outbox) -> (u32, &Msg) {
    assert_eq!(out.len(), 1, "{out:?}");
    (out[0].1 .0, &out[0].2)
}

/// The fetch in `out`: (broker, fetch offset, current leader epoch).
fn fetch_of(out: &Outbox) -> (u32, i64, Option<i32>) {
    match only(out) {
        (to, Msg::ConsumerFetch { request, .. }) => (
            to,
            request.fetch_offset.0,
            request.current_leader_epoch.map(|e| e.0),
        ),
        other => panic!("expected a fetch, got {other:?}"),
    }
}

/// Offsets `base..base+values.len()` written by a leader of `epoch`, one batch.
fn records(base: i64, epoch: i32, values: &[u64]) -> Vec<u8> {
    let texts: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    let new: Vec<NewRecord> = texts
        .iter()
        .map(|t| NewRecord::new(0, None, Some(t.as_bytes())))
        .collect();
    let mut batch = RecordBatch::new_data(&new, ProducerFields::NONE);
    batch.base_offset = Offset(base);
    batch.partition_leader_epoch = epoch;
    batch.encode()
}

fn fetch_answer(fetch_offset: i64, error: ErrorCode, bytes: Vec<u8>, hw: i64) -> Msg {
    Msg::ConsumerFetchResponse {
        topic_partition: tp(),
        request: ConsumerFetchRequest {
            fetch_offset: Offset(fetch_offset),
            current_leader_epoch: None,
            max_bytes: 1024 * 1024,
            isolation_level: IsolationLevel::ReadUncommitted,
        },
        response: FetchResponse {
            error,
            high_watermark: Offset(hw),
            log_start_offset: Offset(0),
            diverging_epoch: None,
            leader_log_end_offset: None,
            records: bytes,
            last_stable_offset: Offset(hw),
            aborted_transactions: Vec::new(),
        },
    }
}

fn epoch_answer(current: i32, asked: i32, error: ErrorCode, epoch: i32, end: i64) -> Msg {
    Msg::OffsetsForLeaderEpochResponse {
        topic_partition: tp(),
        request: OffsetForLeaderEpochRequest {
            current_leader_epoch: Some(LeaderEpoch(current)),
            leader_epoch: LeaderEpoch(asked),
        },
        response: OffsetForLeaderEpochResponse {
            error,
            leader_epoch: LeaderEpoch(epoch),
            end_offset: Offset(end),
        },
    }
}

fn list_offsets_answer(epoch: i32, spec: OffsetSpec, offset: i64) -> Msg {
    Msg::ListOffsetsResponse {
        topic_partition: tp(),
        request: ListOffsetsRequest {
            current_leader_epoch: Some(LeaderEpoch(epoch)),
            spec,
            isolation_level: IsolationLevel::ReadUncommitted,
        },
        response: ListOffsetsResponse {
            error: ErrorCode::None,
            offset: Offset(offset),
            leader_epoch: Some(LeaderEpoch(epoch)),
        },
    }
}

/// A consumer that read offsets 0..=4 in epoch 1 from leader 1, then learned that broker 2
/// leads at epoch 2: its next poll validates instead of fetching.
fn consumer_after_leader_change(policy: AutoOffsetReset) -> ConsumerClient {
    let mut c = consumer(policy, 1, 1);
    if policy == AutoOffsetReset::Latest {
        // It starts at the end, an empty log's offset 0.
        assert!(matches!(only(&poll(&mut c, 1)).1, Msg::ListOffsets { .. }));
        deliver(&mut c, 1, list_offsets_answer(1, OffsetSpec::Latest, 0));
        assert_eq!(fetch_of(&poll(&mut c, 10)), (1, 0, Some(1)));
    } else {
        assert_eq!(fetch_of(&poll(&mut c, 1)), (1, 0, Some(1)));
    }
    let (_, history) = deliver(
        &mut c,
        2,
        fetch_answer(0, ErrorCode::None, records(0, 1, &[10, 11, 12, 13, 14]), 5),
    );
    assert_eq!(history.len(), 1);
    let (position, state) = c.fetch_state(0).expect("assigned");
    assert_eq!(
        (position.offset, position.offset_epoch, state),
        (Offset(5), Some(LeaderEpoch(1)), FetchState::Fetching)
    );
    deliver(&mut c, 3, metadata(2, 2));
    match only(&poll(&mut c, 60)) {
        (2, Msg::OffsetsForLeaderEpoch { request, .. }) => assert_eq!(
            *request,
            OffsetForLeaderEpochRequest {
                current_leader_epoch: Some(LeaderEpoch(2)),
                leader_epoch: LeaderEpoch(1),
            }
        ),
        other => panic!("expected OffsetsForLeaderEpoch to broker 2, got {other:?}"),
    }
    c
}

#[test]
fn a_consumer_ignores_metadata_older_than_the_epoch_it_knows() {
    let mut c = consumer(AutoOffsetReset::Earliest, 2, 5);
    // A broker whose cache lags names the deposed leader 1 at epoch 4.
    deliver(&mut c, 2, metadata(1, 4));
    assert!(c
        .lines
        .iter()
        .any(|l| l.contains("older than the known epoch 5")));
    assert_eq!(fetch_of(&poll(&mut c, 10)), (2, 0, Some(5)));
    // The same epoch or a newer one is taken.
    deliver(&mut c, 11, fetch_answer(0, ErrorCode::None, Vec::new(), 0));
    deliver(&mut c, 12, metadata(3, 6));
    assert_eq!(fetch_of(&poll(&mut c, 70)), (3, 0, Some(6)));
}

#[test]
fn a_producer_ignores_metadata_older_than_the_epoch_it_knows() {
    let spec: ProducerSpec =
        serde_json::from_str(r#"{"topic": "t", "keys": 0, "config": {"acks": "1"}}"#)
            .expect("spec");
    let producer = Producer::new(spec.config.clone(), Prng::new(1)).expect("producer");
    let mut p = ProducerClient::new(0, NodeId(1000), spec, producer, Prng::new(2), 3);
    let mut out = Outbox::new();
    p.on_message(at(1), metadata(2, 5), &mut out);
    out.clear();
    p.on_message(at(2), metadata(1, 4), &mut out);
    assert!(p
        .lines
        .iter()
        .any(|l| l.contains("older than the known epoch 5")));
    let mut produced_to = Vec::new();
    for ms in 3..200 {
        out.clear();
        p.on_timer(at(ms), &mut out);
        for (_, to, msg) in &out {
            if matches!(msg, Msg::Produce(_)) {
                produced_to.push(to.0);
            }
        }
    }
    assert!(!produced_to.is_empty(), "the workload sent something");
    assert!(produced_to.iter().all(|b| *b == 2), "{produced_to:?}");
}

#[test]
fn fenced_leader_epoch_refreshes_metadata_before_fetching_again() {
    let mut c = consumer(AutoOffsetReset::Earliest, 1, 3);
    assert_eq!(fetch_of(&poll(&mut c, 1)), (1, 0, Some(3)));
    let (out, _) = deliver(
        &mut c,
        2,
        fetch_answer(0, ErrorCode::FencedLeaderEpoch, Vec::new(), -1),
    );
    assert!(matches!(only(&out).1, Msg::MetadataRequest { .. }));
    // No leader until metadata answers: the next polls fetch nothing.
    let quiet = poll(&mut c, 60);
    assert!(quiet
        .iter()
        .all(|(_, _, m)| !matches!(m, Msg::ConsumerFetch { .. })));
    deliver(&mut c, 70, metadata(2, 4));
    assert_eq!(fetch_of(&poll(&mut c, 120)), (2, 0, Some(4)));
}

#[test]
fn not_leader_or_follower_refreshes_metadata() {
    let mut c = consumer(AutoOffsetReset::Earliest, 1, 3);
    poll(&mut c, 1);
    let (out, _) = deliver(
        &mut c,
        2,
        fetch_answer(0, ErrorCode::NotLeaderOrFollower, Vec::new(), -1),
    );
    assert!(matches!(only(&out).1, Msg::MetadataRequest { .. }));
}

#[test]
fn unknown_leader_epoch_retries_the_same_leader_after_the_backoff() {
    let mut c = consumer(AutoOffsetReset::Earliest, 1, 3);
    poll(&mut c, 1);
    let (out, _) = deliver(
        &mut c,
        20,
        fetch_answer(0, ErrorCode::UnknownLeaderEpoch, Vec::new(), -1),
    );
    assert!(out.is_empty(), "our metadata is newer: no refresh: {out:?}");
    // retry.backoff.ms (100) after the error: a poll at 60 waits, one at 120 fetches.
    assert!(poll(&mut c, 60).is_empty());
    assert_eq!(fetch_of(&poll(&mut c, 120)), (1, 0, Some(3)));
}

#[test]
fn validation_seeks_to_the_end_offset_of_the_consumed_epoch() {
    for policy in [AutoOffsetReset::Earliest, AutoOffsetReset::Latest] {
        validation_seeks_to_the_end_offset(policy);
    }
}

fn validation_seeks_to_the_end_offset(policy: AutoOffsetReset) {
    let mut c = consumer_after_leader_change(policy);
    // The new leader's epoch 1 ended at 3: offsets 3 and 4 were truncated away.
    deliver(&mut c, 70, epoch_answer(2, 1, ErrorCode::None, 1, 3));
    assert!(c.lines.iter().any(|l| l
        == "t-0: log truncation detected: position 5 (epoch 1) is past the end offset 3 of epoch 1 on the new leader; seeking to 3"));
    let truncations = c.log_truncations.clone();
    assert_eq!(truncations.len(), 1);
    assert_eq!(truncations[0].position, Offset(5));
    assert_eq!(truncations[0].outcome, TruncationOutcome::SeekTo(Offset(3)));
    assert_eq!(fetch_of(&poll(&mut c, 120)), (2, 3, Some(2)));
    // What it reads from there is recorded as usual, including the rebound offsets.
    let (_, history) = deliver(
        &mut c,
        121,
        fetch_answer(3, ErrorCode::None, records(3, 2, &[99]), 4),
    );
    assert_eq!(
        history,
        vec![Op::Poll {
            consumer: 0,
            partition: tp(),
            records: vec![(Offset(3), ValueId(99))],
        }]
    );
}

#[test]
fn a_valid_position_is_kept() {
    let mut c = consumer_after_leader_change(AutoOffsetReset::Earliest);
    deliver(&mut c, 70, epoch_answer(2, 1, ErrorCode::None, 1, 5));
    assert!(c.log_truncations.is_empty());
    assert_eq!(fetch_of(&poll(&mut c, 120)), (2, 5, Some(2)));
}

#[test]
fn auto_offset_reset_none_raises_log_truncation_exception() {
    let mut c = consumer_after_leader_change(AutoOffsetReset::None);
    deliver(&mut c, 70, epoch_answer(2, 1, ErrorCode::None, 1, 3));
    assert!(c.lines.iter().any(|l| l.contains("LogTruncationException")));
    assert_eq!(c.log_truncations.len(), 1);
    assert_eq!(c.log_truncations[0].outcome, TruncationOutcome::Raised);
    assert_eq!(c.fetch_state(0).map(|(_, s)| s), Some(FetchState::Failed));
    assert!(
        poll(&mut c, 120).is_empty(),
        "the partition is no longer read"
    );
}

#[test]
fn an_undefined_epoch_resets_per_auto_offset_reset() {
    let mut c = consumer_after_leader_change(AutoOffsetReset::Latest);
    deliver(&mut c, 70, epoch_answer(2, 1, ErrorCode::None, -1, -1));
    assert_eq!(c.log_truncations[0].outcome, TruncationOutcome::Reset);
    match only(&poll(&mut c, 120)) {
        (2, Msg::ListOffsets { request, .. }) => assert_eq!(
            *request,
            ListOffsetsRequest {
                current_leader_epoch: Some(LeaderEpoch(2)),
                spec: OffsetSpec::Latest,
                isolation_level: IsolationLevel::ReadUncommitted,
            }
        ),
        other => panic!("expected ListOffsets, got {other:?}"),
    }
    deliver(&mut c, 121, list_offsets_answer(2, OffsetSpec::Latest, 7));
    assert_eq!(fetch_of(&poll(&mut c, 180)), (2, 7, Some(2)));
}

#[test]
fn a_validation_error_retries_after_the_backoff_with_fresh_metadata() {
    let mut c = consumer_after_leader_change(AutoOffsetReset::Earliest);
    let (out, _) = deliver(
        &mut c,
        70,
        epoch_answer(2, 1, ErrorCode::FencedLeaderEpoch, -1, -1),
    );
    assert!(matches!(only(&out).1, Msg::MetadataRequest { .. }));
    assert!(c.log_truncations.is_empty());
    assert!(poll(&mut c, 120).is_empty(), "backing off");
    assert!(matches!(
        only(&poll(&mut c, 180)).1,
        Msg::OffsetsForLeaderEpoch { .. }
    ));
}

// ---- the broker side ------------------------------------------------------------------------

fn partition_record(offset: i64, leader_epoch: i32) -> Msg {
    Msg::Metadata {
        from_offset: offset as u64,
        update: Box::new(MetadataUpdate {
            controller_epoch: ControllerEpoch(1),
            offset: MetadataOffset(offset),
            at: at(0),
            record: MetadataRecord::Partition {
                topic_partition: tp(),
                state: PartitionState {
                    replicas: vec![BrokerId(1)],
                    isr: vec![BrokerId(1)],
                    leader: Some(BrokerId(1)),
                    leader_epoch: LeaderEpoch(leader_epoch),
                    partition_epoch: PartitionEpoch(leader_epoch),
                    leader_recovery_state: LeaderRecoveryState::Recovered,
                },
                reason: ChangeReason::Created,
            },
        }),
    }
}

fn produce(broker: &mut BrokerNode, value: &str) {
    let request = ReplicaProduceRequest {
        acks: Acks::One,
        timeout_ms: 30_000,
        records: RecordBatch::new_data(
            &[NewRecord::new(0, None, Some(value.as_bytes()))],
            ProducerFields::NONE,
        )
        .encode(),
        current_leader_epoch: None,
    };
    let replica = broker.replicas.get_mut(&tp()).expect("hosted");
    replica
        .handle_produce(at(1), RequestToken(1), &request)
        .expect("appended");
}

/// Broker 1 alone leads t-0: offsets 0..3 written in epoch 0, 3..5 in epoch 2.
fn leader_with_two_epochs() -> BrokerNode {
    let timings = BrokerTimings {
        heartbeat_interval: SimDuration::from_millis(2000),
        fetch_wait_max: SimDuration::from_millis(500),
        writeback_interval: SimDuration::from_millis(5000),
        retention_check_interval: SimDuration::from_millis(300_000),
        replica: ReplicaConfig::default(),
        flush: crate::sim::disk::FlushPolicy::default(),
        message_timestamp_after_max_ms: 3_600_000,
        message_timestamp_before_max_ms: i64::MAX,
        coordinator: crate::sim::cluster::coordinator::CoordinatorSettings {
            num_partitions: 50,
            group: crate::broker::group::GroupConfig::default(),
            offsets_commit_timeout_ms: 5_000,
        },
        txn_coordinator: Default::default(),
    };
    let mut broker = BrokerNode::new(BrokerId(1), timings, Prng::new(1)).expect("broker");
    let mut out = Outbox::new();
    broker.start(at(0), &mut out);
    let from = CONTROLLER_NODE;
    broker.on_message(
        at(0),
        from,
        Msg::RegisterResponse {
            result: Ok(BrokerEpoch(1)),
            // Registered before any metadata: caught up at once.
            metadata_end_offset: 0,
        },
        &mut out,
    );
    broker.on_message(
        at(0),
        from,
        Msg::Metadata {
            from_offset: 0,
            update: Box::new(MetadataUpdate {
                controller_epoch: ControllerEpoch(1),
                offset: MetadataOffset(0),
                at: at(0),
                record: MetadataRecord::Topic {
                    name: "t".into(),
                    partitions: 1,
                    configs: BTreeMap::new(),
                },
            }),
        },
        &mut out,
    );
    broker.on_message(at(0), from, partition_record(1, 0), &mut out);
    for v in ["a", "b", "c"] {
        produce(&mut broker, v);
    }
    broker.on_message(at(1), from, partition_record(2, 2), &mut out);
    for v in ["d", "e"] {
        produce(&mut broker, v);
    }
    broker
}

fn ask(broker: &mut BrokerNode, topic: &str, current: Option<i32>, asked: i32) -> (i16, i32, i64) {
    let mut out = Outbox::new();
    broker.on_message(
        at(2),
        NodeId(2000),
        Msg::OffsetsForLeaderEpoch {
            topic_partition: TopicPartition {
                topic: topic.into(),
                partition: PartitionIndex(0),
            },
            request: OffsetForLeaderEpochRequest {
                current_leader_epoch: current.map(LeaderEpoch),
                leader_epoch: LeaderEpoch(asked),
            },
        },
        &mut out,
    );
    let answer = out.iter().find_map(|(_, to, m)| match m {
        Msg::OffsetsForLeaderEpochResponse { response, .. } if to.0 == 2000 => Some(*response),
        _ => None,
    });
    let r = answer.expect("the broker answers the consumer");
    (r.error.code(), r.leader_epoch.0, r.end_offset.0)
}

#[test]
fn a_broker_answers_offsets_for_leader_epoch_from_its_epoch_cache() {
    let mut broker = leader_with_two_epochs();
    let none = ErrorCode::None.code();
    // Epoch 0 ended where epoch 2 began; epoch 1 never wrote, so its floor (0) answers;
    // the current epoch ends at the log end.
    assert_eq!(ask(&mut broker, "t", Some(2), 0), (none, 0, 3));
    assert_eq!(ask(&mut broker, "t", Some(2), 1), (none, 0, 3));
    assert_eq!(ask(&mut broker, "t", Some(2), 2), (none, 2, 5));
    assert_eq!(ask(&mut broker, "t", None, 2), (none, 2, 5));
    // KIP-320 fencing, as for fetches.
    let fenced = ErrorCode::FencedLeaderEpoch.code();
    let unknown = ErrorCode::UnknownLeaderEpoch.code();
    assert_eq!(ask(&mut broker, "t", Some(1), 0), (fenced, -1, -1));
    assert_eq!(ask(&mut broker, "t", Some(3), 0), (unknown, -1, -1));
    // A partition the broker never heard of.
    let unknown_partition = ErrorCode::UnknownTopicOrPartition.code();
    assert_eq!(
        ask(&mut broker, "u", Some(2), 0),
        (unknown_partition, -1, -1)
    );
}

#[test]
fn a_broker_answers_list_offsets_with_the_log_start_or_the_high_watermark() {
    let mut broker = leader_with_two_epochs();
    let mut list = |spec, current: Option<i32>| {
        let mut out = Outbox::new();
        broker.on_message(
            at(2),
            NodeId(2000),
            Msg::ListOffsets {
                topic_partition: tp(),
                request: ListOffsetsRequest {
                    current_leader_epoch: current.map(LeaderEpoch),
                    spec,
                    isolation_level: IsolationLevel::ReadUncommitted,
                },
            },
            &mut out,
        );
        out.iter()
            .find_map(|(_, _, m)| match m {
                Msg::ListOffsetsResponse { response, .. } => Some(*response),
                _ => None,
            })
            .expect("answered")
    };
    let earliest = list(OffsetSpec::Earliest, Some(2));
    assert_eq!(
        (earliest.error, earliest.offset, earliest.leader_epoch),
        (ErrorCode::None, Offset(0), Some(LeaderEpoch(0)))
    );
    let latest = list(OffsetSpec::Latest, Some(2));
    assert_eq!(
        (latest.error, latest.offset, latest.leader_epoch),
        (ErrorCode::None, Offset(5), Some(LeaderEpoch(2)))
    );
    assert_eq!(
        list(OffsetSpec::Latest, Some(1)).error,
        ErrorCode::FencedLeaderEpoch
    );
}

/// Broker 1, alone, with `__consumer_offsets` of one partition led by `leader` at `epoch`.
fn coordinator_broker() -> BrokerNode {
    let timings = BrokerTimings {
        heartbeat_interval: SimDuration::from_millis(2000),
        fetch_wait_max: SimDuration::from_millis(500),
        writeback_interval: SimDuration::from_millis(5000),
        retention_check_interval: SimDuration::from_millis(300_000),
        replica: ReplicaConfig::default(),
        flush: crate::sim::disk::FlushPolicy::default(),
        message_timestamp_after_max_ms: 3_600_000,
        message_timestamp_before_max_ms: i64::MAX,
        coordinator: crate::sim::cluster::coordinator::CoordinatorSettings {
            num_partitions: 1,
            group: crate::broker::group::GroupConfig::default(),
            offsets_commit_timeout_ms: 5_000,
        },
        txn_coordinator: Default::default(),
    };
    let mut broker = BrokerNode::new(BrokerId(1), timings, Prng::new(1)).expect("broker");
    let mut out = Outbox::new();
    broker.start(at(0), &mut out);
    broker.on_message(
        at(0),
        CONTROLLER_NODE,
        Msg::RegisterResponse {
            result: Ok(BrokerEpoch(1)),
            metadata_end_offset: 0,
        },
        &mut out,
    );
    broker.on_message(
        at(0),
        CONTROLLER_NODE,
        Msg::Metadata {
            from_offset: 0,
            update: Box::new(MetadataUpdate {
                controller_epoch: ControllerEpoch(1),
                offset: MetadataOffset(0),
                at: at(0),
                record: MetadataRecord::Topic {
                    name: "__consumer_offsets".into(),
                    partitions: 1,
                    configs: BTreeMap::new(),
                },
            }),
        },
        &mut out,
    );
    broker.on_message(
        at(0),
        CONTROLLER_NODE,
        offsets_partition_record(1, 0, 1),
        &mut out,
    );
    broker
}

fn offsets_partition_record(offset: i64, leader_epoch: i32, leader: u32) -> Msg {
    Msg::Metadata {
        from_offset: offset as u64,
        update: Box::new(MetadataUpdate {
            controller_epoch: ControllerEpoch(1),
            offset: MetadataOffset(offset),
            at: at(0),
            record: MetadataRecord::Partition {
                topic_partition: TopicPartition {
                    topic: "__consumer_offsets".into(),
                    partition: PartitionIndex(0),
                },
                state: PartitionState {
                    replicas: vec![BrokerId(1), BrokerId(2)],
                    isr: vec![BrokerId(leader)],
                    leader: Some(BrokerId(leader)),
                    leader_epoch: LeaderEpoch(leader_epoch),
                    partition_epoch: PartitionEpoch(leader_epoch),
                    leader_recovery_state: LeaderRecoveryState::Recovered,
                },
                reason: ChangeReason::Created,
            },
        }),
    }
}

/// Sends `msg` from the client node 2000 and returns what the broker answered it.
fn request(broker: &mut BrokerNode, ms: u64, msg: Msg) -> Vec<Msg> {
    // Due timers first (a load that finished), then the request, then the timers it set.
    let mut out = Outbox::new();
    broker.on_timer(at(ms), &mut out);
    broker.on_message(at(ms), NodeId(2000), msg, &mut out);
    broker.on_timer(at(ms), &mut out);
    out.into_iter()
        .filter(|(_, to, _)| to.0 == 2000)
        .map(|(_, _, m)| m)
        .collect()
}

fn join(member_id: &str) -> Msg {
    Msg::JoinGroup {
        group_id: "g".into(),
        request: crate::broker::group::JoinGroupRequest {
            token: crate::broker::messages::RequestToken(7),
            member_id: member_id.into(),
            group_instance_id: None,
            client_id: "consumer-0".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 10_000,
            protocol_type: "consumer".into(),
            protocols: vec![crate::broker::group::JoinGroupProtocol {
                name: "range".into(),
                metadata: Default::default(),
            }],
        },
    }
}

fn fetch_offsets() -> Msg {
    Msg::OffsetFetch {
        group_id: "g".into(),
        token: crate::broker::messages::RequestToken(9),
        partitions: vec![tp()],
        require_stable: false,
    }
}

#[test]
fn the_coordinator_loads_before_serving_stores_offsets_in_its_log_and_hands_over() {
    let mut broker = coordinator_broker();
    // Any broker answers FindCoordinator from its metadata: partition 0 of 1, led by broker 1.
    let answer = request(
        &mut broker,
        1,
        Msg::FindCoordinator {
            group_id: "g".into(),
        },
    );
    assert!(
        matches!(
            answer.as_slice(),
            [Msg::FindCoordinatorResponse {
                error: ErrorCode::None,
                coordinator: Some(BrokerId(1)),
                ..
            }]
        ),
        "{answer:?}"
    );
    // Loading: COORDINATOR_LOAD_IN_PROGRESS, echoing the client's token.
    let answer = request(&mut broker, 1, join(""));
    assert!(
        matches!(
            answer.as_slice(),
            [Msg::JoinGroupResponse { token: crate::broker::messages::RequestToken(7), response, .. }]
                if response.error == ErrorCode::CoordinatorLoadInProgress
        ),
        "{answer:?}"
    );
    // Loaded after COORDINATOR_LOAD_MS: a new member gets its id first (KIP-394).
    let answer = request(&mut broker, 200, join(""));
    let member = match answer.as_slice() {
        [Msg::JoinGroupResponse { response, .. }] => {
            assert_eq!(response.error, ErrorCode::MemberIdRequired);
            response.member_id.clone()
        }
        other => panic!("{other:?}"),
    };
    assert!(member.starts_with("consumer-0-"), "{member}");
    // A commit without group management (generation -1) while the group is Empty: stored in
    // the log (acks=all; the ISR is just this broker), then answered.
    let mut offsets = BTreeMap::new();
    offsets.insert(
        tp(),
        crate::broker::group::OffsetAndMetadata {
            committed_offset: Offset(42),
            leader_epoch: None,
            metadata: String::new(),
        },
    );
    let answer = request(
        &mut broker,
        300,
        Msg::OffsetCommit {
            group_id: "g".into(),
            token: crate::broker::messages::RequestToken(8),
            request: crate::broker::group::OffsetCommitRequest {
                member_id: String::new(),
                generation_id: -1,
                group_instance_id: None,
                offsets,
            },
        },
    );
    assert!(
        matches!(
            answer.as_slice(),
            [Msg::OffsetCommitResponse {
                error: ErrorCode::None,
                ..
            }]
        ),
        "{answer:?}"
    );
    let offsets_tp = TopicPartition {
        topic: "__consumer_offsets".into(),
        partition: PartitionIndex(0),
    };
    let log = broker.replicas[&offsets_tp].log();
    let records = log.read_records(Offset(0), log.log_end_offset(), 10);
    assert_eq!(records.len(), 1);
    let decoded = crate::broker::group::records::decode_offsets_topic_record(
        records[0].key.as_deref().expect("key"),
        records[0].value.as_deref(),
    )
    .expect("Kafka's offset commit schema");
    assert!(
        format!("{decoded:?}").contains("committed_offset: Offset(42)"),
        "{decoded:?}"
    );
    let answer = request(&mut broker, 301, fetch_offsets());
    match answer.as_slice() {
        [Msg::OffsetFetchResponse {
            error: ErrorCode::None,
            offsets,
            ..
        }] => {
            assert_eq!(
                offsets[&tp()].as_ref().map(|o| o.committed_offset),
                Some(Offset(42))
            );
        }
        other => panic!("{other:?}"),
    }
    // Broker 2 takes the partition over: this broker answers NOT_COORDINATOR.
    let mut out = Outbox::new();
    broker.on_message(
        at(400),
        CONTROLLER_NODE,
        offsets_partition_record(2, 1, 2),
        &mut out,
    );
    let answer = request(&mut broker, 401, fetch_offsets());
    assert!(
        matches!(
            answer.as_slice(),
            [Msg::OffsetFetchResponse {
                error: ErrorCode::NotCoordinator,
                ..
            }]
        ),
        "{answer:?}"
    );
    // It comes back as leader: loads again, and reads the committed offset from its log.
    broker.on_message(
        at(500),
        CONTROLLER_NODE,
        offsets_partition_record(3, 2, 1),
        &mut out,
    );
    let answer = request(&mut broker, 501, fetch_offsets());
    assert!(
        matches!(
            answer.as_slice(),
            [Msg::OffsetFetchResponse {
                error: ErrorCode::CoordinatorLoadInProgress,
                ..
            }]
        ),
        "{answer:?}"
    );
    let answer = request(&mut broker, 700, fetch_offsets());
    match answer.as_slice() {
        [Msg::OffsetFetchResponse {
            error: ErrorCode::None,
            offsets,
            ..
        }] => {
            assert_eq!(
                offsets[&tp()].as_ref().map(|o| o.committed_offset),
                Some(Offset(42))
            );
        }
        other => panic!("{other:?}"),
    }
}

fn txn_offset_commit(offset: i64, epoch: i16, generation_id: i32, member: &str) -> Msg {
    let mut offsets = BTreeMap::new();
    offsets.insert(
        tp(),
        crate::broker::group::OffsetAndMetadata {
            committed_offset: Offset(offset),
            leader_epoch: None,
            metadata: String::new(),
        },
    );
    Msg::TxnOffsetCommit {
        token: crate::broker::messages::RequestToken(11),
        transactional_id: "pipe".into(),
        group_id: "g".into(),
        producer_id: crate::ids::ProducerId(5),
        producer_epoch: crate::ids::ProducerEpoch(epoch),
        generation_id,
        member_id: member.into(),
        group_instance_id: None,
        offsets,
    }
}

fn stable_fetch() -> Msg {
    Msg::OffsetFetch {
        group_id: "g".into(),
        token: crate::broker::messages::RequestToken(12),
        partitions: vec![tp()],
        require_stable: true,
    }
}

/// What OffsetFetch answers for `tp()`: the error, and the committed offset if any.
fn fetched(answer: &[Msg]) -> (ErrorCode, Option<i64>) {
    match answer {
        [Msg::OffsetFetchResponse { error, offsets, .. }] => (
            *error,
            offsets
                .get(&tp())
                .and_then(|o| o.as_ref())
                .map(|o| o.committed_offset.0),
        ),
        other => panic!("{other:?}"),
    }
}

fn marker(broker: &mut BrokerNode, ms: u64, epoch: i16, transaction_commit: bool) {
    let mut out = Outbox::new();
    broker.on_message(
        at(ms),
        NodeId(3000),
        Msg::WriteTxnMarkers {
            transactional_id: "pipe".into(),
            producer_id: crate::ids::ProducerId(5),
            producer_epoch: crate::ids::ProducerEpoch(epoch),
            coordinator_epoch: 0,
            transaction_commit,
            partitions: vec![TopicPartition {
                topic: "__consumer_offsets".into(),
                partition: PartitionIndex(0),
            }],
        },
        &mut out,
    );
    assert!(
        out.iter().any(|(_, to, m)| to.0 == 3000
            && matches!(m, Msg::WriteTxnMarkersResponse { errors, .. }
                if errors.iter().all(|(_, e)| *e == ErrorCode::None))),
        "{out:?}"
    );
}

#[test]
fn transactional_offsets_stay_pending_until_the_commit_marker_and_vanish_on_abort_t4() {
    let mut broker = coordinator_broker();
    let _ = request(&mut broker, 200, join(""));
    // A producer without group metadata (generation -1): the group accepts it in any state.
    let ok = |answer: &[Msg]| {
        matches!(
            answer,
            [Msg::TxnOffsetCommitResponse {
                error: ErrorCode::None,
                ..
            }]
        )
    };
    let answer = request(&mut broker, 300, txn_offset_commit(10, 0, -1, ""));
    assert!(ok(&answer), "{answer:?}");
    // Pending: a read_committed consumer (require_stable) is told to wait, a plain OffsetFetch
    // sees nothing committed yet.
    assert_eq!(
        fetched(&request(&mut broker, 301, stable_fetch())),
        (ErrorCode::UnstableOffsetCommit, None)
    );
    assert_eq!(
        fetched(&request(&mut broker, 302, fetch_offsets())),
        (ErrorCode::None, None)
    );
    // The COMMIT marker makes them the group's committed offsets.
    marker(&mut broker, 310, 0, true);
    assert_eq!(
        fetched(&request(&mut broker, 311, stable_fetch())),
        (ErrorCode::None, Some(10))
    );
    // A second transaction's offsets are dropped by its ABORT marker.
    let answer = request(&mut broker, 320, txn_offset_commit(20, 0, -1, ""));
    assert!(ok(&answer), "{answer:?}");
    marker(&mut broker, 330, 0, false);
    assert_eq!(
        fetched(&request(&mut broker, 331, stable_fetch())),
        (ErrorCode::None, Some(10))
    );
    // A third is pending when the coordinator moves away and back: the reload replays the
    // log, keeps 10, and holds 30 pending again until its marker.
    let answer = request(&mut broker, 340, txn_offset_commit(30, 0, -1, ""));
    assert!(ok(&answer), "{answer:?}");
    let mut out = Outbox::new();
    broker.on_message(
        at(400),
        CONTROLLER_NODE,
        offsets_partition_record(2, 1, 2),
        &mut out,
    );
    broker.on_message(
        at(500),
        CONTROLLER_NODE,
        offsets_partition_record(3, 2, 1),
        &mut out,
    );
    assert_eq!(
        fetched(&request(&mut broker, 700, stable_fetch())),
        (ErrorCode::UnstableOffsetCommit, None)
    );
    assert_eq!(
        fetched(&request(&mut broker, 701, fetch_offsets())),
        (ErrorCode::None, Some(10))
    );
    marker(&mut broker, 710, 0, true);
    assert_eq!(
        fetched(&request(&mut broker, 711, stable_fetch())),
        (ErrorCode::None, Some(30))
    );
    // A fenced epoch (the marker above carried epoch 0; bump it with a fencing abort at 1)
    // gets INVALID_PRODUCER_EPOCH, and a member the group does not know UNKNOWN_MEMBER_ID.
    marker(&mut broker, 720, 1, false);
    let answer = request(&mut broker, 730, txn_offset_commit(40, 0, -1, ""));
    assert!(
        matches!(
            answer.as_slice(),
            [Msg::TxnOffsetCommitResponse {
                error: ErrorCode::InvalidProducerEpoch,
                ..
            }]
        ),
        "{answer:?}"
    );
    let answer = request(&mut broker, 740, txn_offset_commit(40, 1, 3, "nobody"));
    assert!(
        matches!(
            answer.as_slice(),
            [Msg::TxnOffsetCommitResponse {
                error: ErrorCode::UnknownMemberId,
                ..
            }]
        ),
        "{answer:?}"
    );
    assert_eq!(
        fetched(&request(&mut broker, 741, stable_fetch())),
        (ErrorCode::None, Some(30))
    );
}
