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
    assert!(!markers.commit);
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
    assert!(markers.commit);
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
    assert!(c.abort_timed_out(at(10_999)).is_empty());
    let aborts = c.abort_timed_out(at(11_000));
    assert_eq!(aborts.len(), 1);
    assert_eq!(aborts[0].metadata.state, TransactionState::PrepareAbort);
    assert_eq!(
        aborts[0].metadata.producer_epoch,
        ProducerEpoch(epoch.0 + 1)
    );
    let done = c.append_completed(TID, Ok(()));
    assert_eq!(done.answer, None, "nobody asked");
    assert!(!done.markers.expect("abort markers").commit);
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
