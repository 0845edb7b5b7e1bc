//! The coordinator's rules, each as a short story: T-1 fencing, T-2's state machine and when
//! EndTxn answers, T-3's partitions and timeout clock, T-7's timeout abort, and random request
//! sequences that never break the allowed transitions.

use super::*;
use crate::ids::{PartitionIndex, ProducerEpoch, ProducerId, TopicPartition};
use crate::prng::Prng;
use crate::protocol::ErrorCode;
use crate::time::SimTime;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const TID: &str = "orders-app";

fn tp(p: u32) -> TopicPartition {
    TopicPartition {
        topic: "out".into(),
        partition: PartitionIndex(p),
    }
}

fn at(ms: u64) -> SimTime {
    SimTime::from_millis(ms)
}

/// Writes the pending transition of `TID` and returns what follows.
fn durable(c: &mut TransactionCoordinator, reply: TxnReply) -> Completion {
    match reply {
        TxnReply::Append(append) => {
            assert_eq!(append.metadata.transactional_id, TID);
            c.append_completed(TID, Ok(()))
        }
        TxnReply::Now(answer) => panic!("expected a log append, got {answer:?}"),
    }
}

fn now(reply: TxnReply) -> Result<(ProducerId, ProducerEpoch), ErrorCode> {
    match reply {
        TxnReply::Now(answer) => answer,
        TxnReply::Append(a) => panic!("expected an answer now, got an append of {a:?}"),
    }
}

fn init(c: &mut TransactionCoordinator, ms: u64) -> (ProducerId, ProducerEpoch) {
    let reply = c.init_producer_id(at(ms), TID, 60_000);
    durable(c, reply)
        .answer
        .expect("answered")
        .expect("initialized")
}

/// Transaction version 2 (KIP-890 part 2).
fn version_2() -> TxnConfig {
    TxnConfig {
        transaction_version: 2,
        ..TxnConfig::default()
    }
}

fn state(c: &TransactionCoordinator) -> TransactionState {
    c.transactions()[TID].state
}

#[test]
fn a_new_transactional_id_gets_a_producer_id_at_epoch_0_and_each_init_bumps_the_epoch() {
    let mut c = TransactionCoordinator::new(TxnConfig::default(), 1000);
    let reply = c.init_producer_id(at(0), TID, 60_000);
    // Nothing is answered before the record is durable; a second instance meanwhile waits.
    assert_eq!(
        now(c.init_producer_id(at(0), TID, 60_000)),
        Err(ErrorCode::ConcurrentTransactions)
    );
    let first = durable(&mut c, reply).answer.expect("answered");
    assert_eq!(first, Ok((ProducerId(1000), ProducerEpoch(0))));
    assert_eq!(state(&c), TransactionState::Empty);
    assert_eq!(init(&mut c, 1), (ProducerId(1000), ProducerEpoch(1)));
    assert_eq!(init(&mut c, 2), (ProducerId(1000), ProducerEpoch(2)));
}

#[test]
fn an_exhausted_epoch_gets_a_new_producer_id() {
    let mut c = TransactionCoordinator::new(TxnConfig::default(), 7);
    assert_eq!(init(&mut c, 0), (ProducerId(7), ProducerEpoch(0)));
    // The epoch as a long-lived id would have it after 32,766 initializations.
    if let Some(m) = c.txns_for_test().get_mut(TID) {
        m.producer_epoch = ProducerEpoch(i16::MAX - 1);
    }
    assert_eq!(init(&mut c, 1), (ProducerId(8), ProducerEpoch(0)));
}

#[test]
fn t1_a_new_instance_fences_the_old_one_and_aborts_its_transaction() {
    let mut c = TransactionCoordinator::new(TxnConfig::default(), 1);
    let (pid, old_epoch) = init(&mut c, 0);
    let reply = c.add_partitions(at(10), TID, pid, old_epoch, &[tp(0), tp(1)]);
    assert_eq!(durable(&mut c, reply).answer, Some(Ok((pid, old_epoch))));
    assert_eq!(state(&c), TransactionState::Ongoing);
    // The new instance: the coordinator bumps the epoch, writes the abort, answers
    // CONCURRENT_TRANSACTIONS and writes ABORT markers to both partitions.
    let reply = c.init_producer_id(at(20), TID, 60_000);
    assert_eq!(state(&c), TransactionState::PrepareEpochFence);
    let done = durable(&mut c, reply);
    assert_eq!(done.answer, Some(Err(ErrorCode::ConcurrentTransactions)));
    let markers = done.markers.expect("abort markers");
    assert!(!markers.transaction_commit);
    assert_eq!(markers.partitions, vec![tp(0), tp(1)]);
    assert_eq!(markers.producer_epoch, ProducerEpoch(old_epoch.0 + 1));
    assert_eq!(state(&c), TransactionState::PrepareAbort);
    // The old instance is fenced on every call.
    assert_eq!(
        now(c.end_txn(at(21), TID, pid, old_epoch, true)),
        Err(ErrorCode::ProducerFenced)
    );
    assert_eq!(
        now(c.add_partitions(at(21), TID, pid, old_epoch, &[tp(2)])),
        Err(ErrorCode::ProducerFenced)
    );
    // The new instance retries while the markers are out, then gets epoch + 2.
    assert_eq!(
        now(c.init_producer_id(at(22), TID, 60_000)),
        Err(ErrorCode::ConcurrentTransactions)
    );
    let complete = c.markers_written(at(30), TID).expect("complete the abort");
    assert_eq!(complete.metadata.state, TransactionState::CompleteAbort);
    assert_eq!(c.append_completed(TID, Ok(())), Completion::default());
    assert_eq!(init(&mut c, 31), (pid, ProducerEpoch(old_epoch.0 + 2)));
}

#[test]
fn t2_end_txn_answers_once_prepare_is_durable_before_the_markers() {
    let mut c = TransactionCoordinator::new(TxnConfig::default(), 1);
    let (pid, epoch) = init(&mut c, 0);
    let reply = c.add_partitions(at(1), TID, pid, epoch, &[tp(0)]);
    durable(&mut c, reply);
    let reply = c.add_partitions(at(2), TID, pid, epoch, &[tp(1)]);
    durable(&mut c, reply);
    // Partitions already in the transaction: answered at once, no record.
    assert_eq!(
        now(c.add_partitions(at(3), TID, pid, epoch, &[tp(0)])),
        Ok((pid, epoch))
    );
    let reply = c.end_txn(at(4), TID, pid, epoch, true);
    assert_eq!(
        now(c.end_txn(at(4), TID, pid, epoch, true)),
        Err(ErrorCode::ConcurrentTransactions),
        "while PrepareCommit is being written"
    );
    let done = durable(&mut c, reply);
    assert_eq!(done.answer, Some(Ok((pid, epoch))), "commit returns now");
    let markers = done.markers.expect("markers go out after the answer");
    assert!(markers.transaction_commit);
    assert_eq!(markers.partitions, vec![tp(0), tp(1)]);
    assert_eq!(state(&c), TransactionState::PrepareCommit);
    // Until every marker is written: a retried commit waits, an abort is wrong, a new
    // transaction cannot start.
    assert_eq!(
        now(c.end_txn(at(5), TID, pid, epoch, true)),
        Err(ErrorCode::ConcurrentTransactions)
    );
    assert_eq!(
        now(c.end_txn(at(5), TID, pid, epoch, false)),
        Err(ErrorCode::InvalidTxnState)
    );
    assert_eq!(
        now(c.add_partitions(at(5), TID, pid, epoch, &[tp(2)])),
        Err(ErrorCode::ConcurrentTransactions)
    );
    let complete = c.markers_written(at(6), TID).expect("complete");
    assert_eq!(complete.metadata.state, TransactionState::CompleteCommit);
    c.append_completed(TID, Ok(()));
    assert_eq!(state(&c), TransactionState::CompleteCommit);
    assert_eq!(
        now(c.end_txn(at(7), TID, pid, epoch, true)),
        Ok((pid, epoch)),
        "a retried commit of a committed transaction succeeds"
    );
    assert_eq!(
        now(c.end_txn(at(7), TID, pid, epoch, false)),
        Err(ErrorCode::InvalidTxnState)
    );
    // The next transaction starts from CompleteCommit with only its own partitions.
    let reply = c.add_partitions(at(8), TID, pid, epoch, &[tp(2)]);
    durable(&mut c, reply);
    let m = &c.transactions()[TID];
    assert_eq!(m.state, TransactionState::Ongoing);
    assert_eq!(
        m.partitions.iter().cloned().collect::<Vec<_>>(),
        vec![tp(2)]
    );
    assert_eq!(m.txn_start, Some(at(8)));
}

#[test]
fn end_txn_without_a_transaction_or_with_a_stranger_is_refused() {
    let mut c = TransactionCoordinator::new(TxnConfig::default(), 1);
    assert_eq!(
        now(c.end_txn(at(0), TID, ProducerId(1), ProducerEpoch(0), true)),
        Err(ErrorCode::InvalidProducerIdMapping)
    );
    let (pid, epoch) = init(&mut c, 0);
    assert_eq!(
        now(c.end_txn(at(1), TID, pid, epoch, true)),
        Err(ErrorCode::InvalidTxnState),
        "Empty: nothing to end"
    );
    assert_eq!(
        now(c.end_txn(at(1), TID, ProducerId(99), epoch, true)),
        Err(ErrorCode::InvalidProducerIdMapping)
    );
    assert_eq!(
        now(c.init_producer_id(at(1), TID, 900_001)),
        Err(ErrorCode::InvalidTransactionTimeout)
    );
    assert_eq!(
        now(c.init_producer_id(at(1), "", 60_000)),
        Err(ErrorCode::InvalidRequest)
    );
}

#[test]
fn t7_a_transaction_older_than_its_timeout_is_fenced_and_aborted() {
    let mut c = TransactionCoordinator::new(TxnConfig::default(), 1);
    let reply = c.init_producer_id(at(0), TID, 10_000);
    let (pid, epoch) = durable(&mut c, reply).answer.expect("a").expect("ok");
    assert_eq!(c.next_timeout(), None);
    let reply = c.add_partitions(at(1_000), TID, pid, epoch, &[tp(0)]);
    durable(&mut c, reply);
    // The clock started at the first partition, not at InitProducerId.
    assert_eq!(c.next_timeout(), Some(at(11_000)));
    assert!(c.abort_timed_out(at(11_000)).is_empty(), "Kafka's strict <");
    let aborts = c.abort_timed_out(at(11_001));
    assert_eq!(aborts.len(), 1);
    assert_eq!(aborts[0].metadata.state, TransactionState::PrepareAbort);
    assert_eq!(
        aborts[0].metadata.producer_epoch,
        ProducerEpoch(epoch.0 + 1)
    );
    let done = c.append_completed(TID, Ok(()));
    assert_eq!(done.answer, None, "nobody asked");
    assert!(!done.markers.expect("abort markers").transaction_commit);
    // The producer's commit now fails with the misleading PRODUCER_FENCED.
    assert_eq!(
        now(c.end_txn(at(11_500), TID, pid, epoch, true)),
        Err(ErrorCode::ProducerFenced)
    );
}

#[test]
fn a_fence_whose_abort_cannot_be_written_is_undone() {
    let mut c = TransactionCoordinator::new(TxnConfig::default(), 1);
    let (pid, epoch) = init(&mut c, 0);
    let reply = c.add_partitions(at(1), TID, pid, epoch, &[tp(0)]);
    durable(&mut c, reply);
    let before = c.transactions()[TID].clone();
    let _ = c.init_producer_id(at(2), TID, 60_000);
    let done = c.append_completed(TID, Err(ErrorCode::NotCoordinator));
    assert_eq!(done.answer, Some(Err(ErrorCode::NotCoordinator)));
    assert_eq!(c.transactions()[TID], before);
    assert!(!c.is_pending(TID));
}

#[test]
fn random_requests_only_make_the_transitions_kafka_allows() {
    for seed in 0..40 {
        let mut prng = Prng::new(seed);
        let mut c = TransactionCoordinator::new(TxnConfig::default(), 1);
        let mut ids = (ProducerId(-1), ProducerEpoch(-1));
        let mut last = None::<TransactionState>;
        for step in 0..200u64 {
            let t = at(step * 500);
            let reply = match prng.below(6) {
                0 => Some(c.init_producer_id(t, TID, 5_000)),
                1 => Some(c.add_partitions(t, TID, ids.0, ids.1, &[tp(prng.below(3) as u32)])),
                2 => Some(c.end_txn(t, TID, ids.0, ids.1, prng.below(2) == 0)),
                3 => c.markers_written(t, TID).map(TxnReply::Append),
                4 => c.abort_timed_out(t).pop().map(TxnReply::Append),
                _ => None,
            };
            if let Some(TxnReply::Append(_)) = reply {
                let ok = prng.below(10) != 0;
                let result = if ok {
                    Ok(())
                } else {
                    Err(ErrorCode::NotCoordinator)
                };
                let done = c.append_completed(TID, result);
                if let Some(Ok(new_ids)) = done.answer {
                    ids = new_ids;
                }
            }
            if let Some(m) = c.transactions().get(TID) {
                if let Some(prev) = last {
                    assert!(
                        m.state == prev || m.state.may_follow(prev),
                        "seed {seed} step {step}: {prev:?} -> {:?}",
                        m.state
                    );
                }
                assert_eq!(
                    m.state.is_open(),
                    m.txn_start.is_some(),
                    "seed {seed} step {step}: an open transaction has a start, a closed one none: {m:?}"
                );
                last = Some(m.state);
            }
        }
    }
}

// ---- A partition's side (T-5, T-6) -----------------------------------------------------------

use crate::ids::Offset;
use crate::log::control::ControlRecordType;

fn o(n: i64) -> Offset {
    Offset(n)
}

#[test]
fn t5_an_open_transaction_pins_the_lso_below_the_hw_until_its_marker() {
    let mut p = PartitionTxnState::new();
    let (a, b) = (ProducerId(1), ProducerId(2));
    // Offsets 0-1: plain data. 2-3: A's transaction. 4-5: B's. 6: B commits. 7: A aborts.
    assert_eq!(p.last_stable_offset(o(2)), o(2));
    p.on_transactional_batch(a, ProducerEpoch(0), o(2), o(3));
    p.on_transactional_batch(b, ProducerEpoch(0), o(4), o(5));
    assert_eq!(p.last_stable_offset(o(6)), o(2), "LSO < HW while A is open");
    assert_eq!(p.last_stable_offset(o(1)), o(1), "never above the HW");
    let b_done = p
        .on_marker(b, ControlRecordType::TransactionCommit, 0, o(6))
        .expect("B was open");
    assert!(!b_done.aborted);
    assert_eq!(p.last_stable_offset(o(7)), o(2), "A still pins it");
    let a_done = p
        .on_marker(a, ControlRecordType::Abort, 0, o(7))
        .expect("A was open");
    assert!(a_done.aborted);
    assert_eq!(
        p.last_stable_offset(o(8)),
        o(8),
        "LSO = HW after the last marker"
    );
    assert_eq!(
        p.aborted(),
        &[AbortedTxn {
            producer_id: a,
            first_offset: o(2),
            last_offset: o(7),
            last_stable_offset: o(8),
        }]
    );
    assert_eq!(p.aborted_transactions(o(0), o(8)), vec![(a, o(2))]);
    assert_eq!(
        p.aborted_transactions(o(8), o(9)),
        vec![],
        "after its marker"
    );
    assert_eq!(
        p.aborted_transactions(o(0), o(2)),
        vec![],
        "before its first offset"
    );
    // A marker written again after a coordinator failover changes nothing.
    assert_eq!(p.on_marker(a, ControlRecordType::Abort, 1, o(8)), None);
}

#[test]
fn t5_a_zombie_coordinators_marker_and_a_stale_epoch_are_refused() {
    let mut p = PartitionTxnState::new();
    let a = ProducerId(1);
    p.on_transactional_batch(a, ProducerEpoch(0), o(0), o(0));
    p.on_marker(a, ControlRecordType::TransactionCommit, 5, o(1));
    p.on_transactional_batch(a, ProducerEpoch(1), o(2), o(2));
    assert_eq!(
        p.check_marker(a, ProducerEpoch(1), 4),
        Err(ErrorCode::TransactionCoordinatorFenced)
    );
    assert_eq!(
        p.check_marker(a, ProducerEpoch(0), 5),
        Err(ErrorCode::InvalidProducerEpoch)
    );
    // The epoch check holds with no transaction open too.
    p.on_marker(a, ControlRecordType::Abort, 5, o(3));
    assert_eq!(
        p.check_marker(a, ProducerEpoch(0), 5),
        Err(ErrorCode::InvalidProducerEpoch)
    );
    assert_eq!(p.check_marker(a, ProducerEpoch(1), 5), Ok(()));
    assert_eq!(p.check_marker(a, ProducerEpoch(2), 6), Ok(()));
}

#[test]
fn truncation_drops_what_began_past_the_new_end() {
    let mut p = PartitionTxnState::new();
    let (a, b) = (ProducerId(1), ProducerId(2));
    p.on_transactional_batch(a, ProducerEpoch(0), o(0), o(1));
    p.on_marker(a, ControlRecordType::Abort, 0, o(2));
    p.on_transactional_batch(b, ProducerEpoch(0), o(3), o(6));
    p.truncate_to(o(5));
    assert_eq!(p.ongoing()[&b].last_offset, o(4));
    assert_eq!(p.aborted().len(), 1);
    p.truncate_to(o(2));
    // A's ABORT marker at 2 is gone, its data at 0-1 is not: A is open again and pins the LSO.
    assert!(p.aborted().is_empty());
    assert_eq!(p.ongoing().keys().copied().collect::<Vec<_>>(), vec![a]);
    assert_eq!(p.ongoing()[&a].first_offset, o(0));
    assert_eq!(p.last_stable_offset(o(2)), o(0));
    p.truncate_to(o(0));
    assert!(p.ongoing().is_empty());
    p.on_transactional_batch(a, ProducerEpoch(0), o(2), o(2));
    p.on_marker(a, ControlRecordType::Abort, 0, o(3));
    p.truncate_head(o(3));
    assert_eq!(p.aborted().len(), 1, "its marker is still in the log");
    p.truncate_head(o(4));
    assert!(p.aborted().is_empty());
}

#[test]
fn t6_read_committed_drops_aborted_data_and_every_marker_read_uncommitted_keeps_data() {
    let (a, b, plain) = (ProducerId(1), ProducerId(2), ProducerId(-1));
    let data = |first: i64, last: i64, pid: ProducerId, txn: bool| FetchedBatch {
        base_offset: o(first),
        last_offset: o(last),
        producer_id: pid,
        is_transactional: txn,
        control: None,
    };
    let marker = |at: i64, pid: ProducerId, control: ControlRecordType| FetchedBatch {
        base_offset: o(at),
        last_offset: o(at),
        producer_id: pid,
        is_transactional: true,
        control: Some(control),
    };
    // A (aborted) and B (committed) interleave; A aborts again later in a second transaction.
    let batches = [
        data(0, 0, plain, false),
        data(1, 2, a, true),
        data(3, 3, b, true),
        data(4, 4, a, true),
        marker(5, a, ControlRecordType::Abort),
        marker(6, b, ControlRecordType::TransactionCommit),
        data(7, 7, a, true),
        marker(8, a, ControlRecordType::TransactionCommit),
        data(9, 9, a, true),
        marker(10, a, ControlRecordType::Abort),
    ];
    let aborted = [(a, o(1)), (a, o(9))];
    let rc: Vec<i64> = read_committed(&batches, &aborted)
        .iter()
        .map(|b| b.base_offset.0)
        .collect();
    assert_eq!(
        rc,
        vec![0, 3, 7],
        "A's aborted batches and every marker are gone"
    );
    // read_uncommitted: every data batch, aborted ones included (a legal G1a), no marker.
    let ru: Vec<i64> = batches
        .iter()
        .filter(|b| b.control.is_none())
        .map(|b| b.base_offset.0)
        .collect();
    assert_eq!(ru, vec![0, 1, 3, 4, 7, 9]);
    // The index a partition keeps answers the fetch that produced this list.
    let mut p = PartitionTxnState::new();
    for b in &batches {
        match b.control {
            None if b.is_transactional => p.on_transactional_batch(
                b.producer_id,
                ProducerEpoch(0),
                b.base_offset,
                b.last_offset,
            ),
            Some(c) => {
                p.on_marker(b.producer_id, c, 0, b.base_offset);
            }
            None => {}
        }
    }
    assert_eq!(p.aborted_transactions(o(0), o(11)), aborted.to_vec());
}

// ---- The state log's records --------------------------------------------------------------

#[test]
fn transaction_state_records_round_trip_in_kafkas_v0_schema() {
    let mut c = TransactionCoordinator::new(TxnConfig::default(), 42);
    let (pid, epoch) = init(&mut c, 5);
    let empty = c.transactions()[TID].clone();
    let reply = c.add_partitions(at(1_234), TID, pid, epoch, &[tp(3), tp(1)]);
    durable(&mut c, reply);
    let ongoing = c.transactions()[TID].clone();
    for m in [&empty, &ongoing] {
        let key = records::encode_key(TID).expect("key");
        let value = records::encode_value(m).expect("value");
        assert_eq!(&key[..2], &[0, 0], "key version 0");
        assert_eq!(&value[..2], &[0, 0], "value version 0");
        let (id, back) = records::decode(&key, Some(&value)).expect("decodes");
        assert_eq!(id, TID);
        assert_eq!(back.as_ref(), Some(m));
    }
    // Kafka's layout: producer id, epoch, timeout, status byte 1 (Ongoing), one topic with
    // two partitions, last update, start.
    let value = records::encode_value(&ongoing).expect("value");
    assert_eq!(&value[2..10], &42i64.to_be_bytes());
    assert_eq!(value[16], 1);
    assert_eq!(&value[value.len() - 8..], &1_234i64.to_be_bytes());
    // A tombstone: the id expired.
    let key = records::encode_key(TID).expect("key");
    assert_eq!(records::decode(&key, None), Ok((TID.to_owned(), None)));
}

#[test]
fn hostile_transaction_state_bytes_get_errors_that_say_what_is_wrong() {
    let key = records::encode_key(TID).expect("key");
    let mut c = TransactionCoordinator::new(TxnConfig::default(), 1);
    init(&mut c, 0);
    let value = records::encode_value(&c.transactions()[TID]).expect("value");
    let cases: Vec<(Vec<u8>, Vec<u8>, &str)> = vec![
        (vec![0, 1, 0, 0], value.clone(), "version 1"),
        (key[..3].to_vec(), value.clone(), "needs"),
        (
            key.clone(),
            value[..value.len() - 1].to_vec(),
            "start time needs 8 bytes",
        ),
        (key.clone(), [&value[..], &[0]].concat(), "1 bytes after"),
        (
            key.clone(),
            [&[0u8, 1][..], &value[2..]].concat(),
            "flexible versions",
        ),
        (
            key.clone(),
            {
                let mut v = value.clone();
                v[16] = 9;
                v
            },
            "unknown status 9",
        ),
    ];
    for (k, v, expected) in cases {
        let error = records::decode(&k, Some(&v)).expect_err(expected);
        assert!(error.contains(expected), "{error} (expected {expected:?})");
    }
}

#[test]
fn a_partitions_transaction_state_is_rebuilt_from_its_log() {
    use crate::log::batch::{BatchAttributes, Record, RecordBatch};
    use crate::log::control::EndTransactionMarker;
    let data = |base: i64, records: i32, pid: i64, transactional: bool| RecordBatch {
        base_offset: o(base),
        partition_leader_epoch: 0,
        attributes: BatchAttributes {
            is_transactional: transactional,
            ..BatchAttributes::default()
        },
        last_offset_delta: records - 1,
        base_timestamp: 0,
        max_timestamp: 0,
        producer_id: pid,
        producer_epoch: 0,
        base_sequence: 0,
        records: Vec::new(),
    };
    let marker = |at: i64, pid: i64, control_type: ControlRecordType, epoch: i32| {
        let mut b = RecordBatch::new_control(
            EndTransactionMarker {
                control_type,
                coordinator_epoch: epoch,
            },
            ProducerId(pid),
            ProducerEpoch(0),
            0,
        );
        b.base_offset = o(at);
        b
    };
    let mut broken = marker(9, 3, ControlRecordType::Abort, 0);
    broken.records.push(Record {
        timestamp_delta: 0,
        offset_delta: 1,
        key: None,
        value: None,
        headers: Vec::new(),
    });
    let log = [
        data(0, 2, -1, false),
        data(2, 2, 1, true),
        data(4, 1, 2, true),
        marker(5, 1, ControlRecordType::Abort, 3),
        data(6, 3, 3, true),
        marker(9, 2, ControlRecordType::TransactionCommit, 3),
        broken,
    ];
    let (state, skipped) = PartitionTxnState::rebuild(&log);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0].contains("exactly one") || skipped[0].contains("record"),
        "{skipped:?}"
    );
    assert_eq!(state.aborted().len(), 1);
    assert_eq!(state.aborted()[0].first_offset, o(2));
    assert_eq!(state.aborted()[0].last_offset, o(5));
    // Producer 3's transaction (offsets 6-8) is still open: it pins the LSO.
    assert_eq!(
        state.ongoing().keys().copied().collect::<Vec<_>>(),
        vec![ProducerId(3)]
    );
    assert_eq!(state.ongoing()[&ProducerId(3)].last_offset, o(8));
    assert_eq!(state.last_stable_offset(o(10)), o(6));
    assert_eq!(
        state.check_marker(ProducerId(1), ProducerEpoch(0), 2),
        Err(ErrorCode::TransactionCoordinatorFenced)
    );
}

/// T-10 (KIP-890 part 2), J-7 #3: with transaction version 2 every EndTxn takes the next
/// epoch and its markers carry it; a retry names the epoch before the bump; the same request
/// arriving late, during the next transaction, is fenced. Below version 2 that late request
/// has the next transaction's epoch and ends it.
#[test]
fn t10_transaction_version_2_bumps_the_epoch_at_every_end_and_fences_a_late_end_txn() {
    let mut c = TransactionCoordinator::new(version_2(), 1);
    let (pid, e0) = init(&mut c, 0);
    let reply = c.add_partitions(at(1), TID, pid, e0, &[tp(0)]);
    durable(&mut c, reply);
    let reply = c.end_txn(at(2), TID, pid, e0, true);
    let done = durable(&mut c, reply);
    let e1 = ProducerEpoch(e0.0 + 1);
    assert_eq!(
        done.answer,
        Some(Ok((pid, e1))),
        "the answer carries the new epoch"
    );
    assert_eq!(done.markers.expect("markers").producer_epoch, e1);
    assert_eq!(
        now(c.end_txn(at(3), TID, pid, e0, true)),
        Err(ErrorCode::ConcurrentTransactions),
        "a retry while the markers are written"
    );
    assert_eq!(
        now(c.end_txn(at(3), TID, pid, e0, false)),
        Err(ErrorCode::InvalidTxnState)
    );
    c.markers_written(at(4), TID).expect("complete");
    c.append_completed(TID, Ok(()));
    assert_eq!(
        now(c.end_txn(at(5), TID, pid, e0, true)),
        Ok((pid, e1)),
        "a retry of the finished commit succeeds with the new epoch"
    );
    // The next transaction, at the new epoch; the first one's EndTxn arrives late.
    let reply = c.add_partitions(at(6), TID, pid, e1, &[tp(1)]);
    durable(&mut c, reply);
    assert_eq!(
        now(c.end_txn(at(7), TID, pid, e0, true)),
        Err(ErrorCode::ProducerFenced)
    );
    assert_eq!(
        state(&c),
        TransactionState::Ongoing,
        "the late request ended nothing"
    );
    assert_eq!(
        now(c.add_partitions(at(7), TID, pid, e0, &[tp(2)])),
        Err(ErrorCode::ProducerFenced)
    );
    // An abort with nothing open is written too, and bumps.
    let reply = c.end_txn(at(8), TID, pid, e1, false);
    durable(&mut c, reply);
    c.markers_written(at(9), TID).expect("complete");
    c.append_completed(TID, Ok(()));
    let reply = c.end_txn(at(10), TID, pid, ProducerEpoch(e1.0 + 1), false);
    let done = durable(&mut c, reply);
    assert_eq!(done.answer, Some(Ok((pid, ProducerEpoch(e1.0 + 2)))));
    assert!(done
        .markers
        .expect("no markers to write")
        .partitions
        .is_empty());
    c.markers_written(at(11), TID).expect("complete");
    c.append_completed(TID, Ok(()));
    assert_eq!(
        now(c.end_txn(at(11), TID, pid, ProducerEpoch(e1.0 + 2), true)),
        Err(ErrorCode::InvalidTxnState),
        "a commit of nothing"
    );

    // Below version 2: the late EndTxn has the next transaction's epoch and commits it.
    let mut c = TransactionCoordinator::new(TxnConfig::default(), 1);
    let (pid, e) = init(&mut c, 0);
    let reply = c.add_partitions(at(1), TID, pid, e, &[tp(0)]);
    durable(&mut c, reply);
    let reply = c.end_txn(at(2), TID, pid, e, true);
    assert_eq!(durable(&mut c, reply).answer, Some(Ok((pid, e))));
    c.markers_written(at(3), TID).expect("complete");
    c.append_completed(TID, Ok(()));
    let reply = c.add_partitions(at(4), TID, pid, e, &[tp(1)]);
    durable(&mut c, reply);
    let reply = c.end_txn(at(5), TID, pid, e, true);
    let done = durable(&mut c, reply);
    assert_eq!(done.markers.expect("markers").partitions, vec![tp(1)]);
    assert_eq!(state(&c), TransactionState::PrepareCommit);
}

/// T-10 with a fence: a timeout abort bumps once for the fence and once for the abort, so
/// the producer's next call is fenced as below version 2.
#[test]
fn t10_a_timeout_abort_under_version_2_takes_two_epochs() {
    let mut c = TransactionCoordinator::new(version_2(), 1);
    let (pid, e0) = init(&mut c, 0);
    let reply = c.add_partitions(at(1), TID, pid, e0, &[tp(0)]);
    durable(&mut c, reply);
    let aborts = c.abort_timed_out(at(70_000));
    let [abort] = aborts.as_slice() else {
        panic!("one abort: {aborts:?}")
    };
    assert_eq!(abort.metadata.producer_epoch, ProducerEpoch(e0.0 + 2));
    let done = c.append_completed(TID, Ok(()));
    assert_eq!(
        done.markers.expect("markers").producer_epoch,
        ProducerEpoch(e0.0 + 2)
    );
    assert_eq!(
        now(c.end_txn(at(70_001), TID, pid, e0, true)),
        Err(ErrorCode::ProducerFenced)
    );
}
