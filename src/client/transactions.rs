//! The transactional producer's side (Kafka's `TransactionManager`), sans-IO: the states a
//! producer with `transactional.id` goes through and which calls each allows, which partitions
//! still need AddPartitionsToTxn before their first batch (T-3), and what each coordinator error
//! does to it: `CONCURRENT_TRANSACTIONS` and coordinator moves are retried,
//! `PRODUCER_FENCED`, `INVALID_PRODUCER_EPOCH` and a bad id mapping are fatal (a fenced zombie,
//! T-1, or the misleading fence of a timed-out transaction, T-7), and a failed send makes the
//! transaction abortable (the application must abort it).
//!
//! The coordinator of a `transactional.id` is the leader of partition
//! `abs(hashCode(id)) % transaction.state.log.num.partitions` of `__transaction_state`, the
//! same hashing as groups (rule G-1).

use crate::broker::group::coordinator_partition;
use crate::ids::{PartitionIndex, ProducerEpoch, ProducerId, TopicPartition};
use crate::protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The transaction state log's topic.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";
/// `transaction.state.log.num.partitions` default.
pub const TRANSACTION_STATE_LOG_NUM_PARTITIONS_DEFAULT: u32 = 50;

/// The longest `transactional.id` the protocol carries (a STRING has an INT16 length).
pub const TRANSACTIONAL_ID_MAX_BYTES: usize = i16::MAX as usize;

/// The `__transaction_state` partition whose leader coordinates `transactional_id`.
pub fn transaction_coordinator_partition(
    transactional_id: &str,
    num_partitions: u32,
) -> Result<PartitionIndex, String> {
    coordinator_partition(transactional_id, num_partitions)
}

/// Kafka's `TransactionManager.State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClientTxnState {
    Uninitialized,
    /// InitProducerId sent.
    Initializing,
    Ready,
    InTransaction,
    /// EndTxn(commit) sent or to be sent.
    CommittingTransaction,
    /// EndTxn(abort) sent or to be sent.
    AbortingTransaction,
    /// A send or an offset commit failed: only `abort_transaction` is allowed.
    AbortableError,
    /// Fenced or otherwise unusable: only `close` is left.
    FatalError,
}

impl ClientTxnState {
    pub fn name(self) -> &'static str {
        match self {
            ClientTxnState::Uninitialized => "UNINITIALIZED",
            ClientTxnState::Initializing => "INITIALIZING",
            ClientTxnState::Ready => "READY",
            ClientTxnState::InTransaction => "IN_TRANSACTION",
            ClientTxnState::CommittingTransaction => "COMMITTING_TRANSACTION",
            ClientTxnState::AbortingTransaction => "ABORTING_TRANSACTION",
            ClientTxnState::AbortableError => "ABORTABLE_ERROR",
            ClientTxnState::FatalError => "FATAL_ERROR",
        }
    }
}

/// Why a call was refused, in Kafka's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnUsageError {
    /// Kafka's `IllegalStateException` ("Invalid transition attempted from state X to Y").
    InvalidTransition {
        from: ClientTxnState,
        to: ClientTxnState,
    },
    /// The producer is fenced or failed for good (`ProducerFencedException`, ...).
    Fatal(ErrorCode),
}

impl std::fmt::Display for TxnUsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TxnUsageError::InvalidTransition { from, to } => write!(
                f,
                "IllegalStateException: invalid transition attempted from state {} to state {}",
                from.name(),
                to.name()
            ),
            TxnUsageError::Fatal(e) => write!(f, "the producer failed for good: {}", e.name()),
        }
    }
}

/// What to do after a coordinator's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnNext {
    /// Done: go on.
    Proceed,
    /// Send the same request again after `retry.backoff.ms`.
    Retry,
    /// Find the coordinator again (FindCoordinator), then retry.
    FindCoordinator,
    /// The transaction can only be aborted now.
    Abortable,
    /// The producer is done for (fenced).
    Fatal,
}

/// What a coordinator error means to the client (Kafka's `TxnRequestHandler` subclasses).
pub fn classify(error: ErrorCode) -> TxnNext {
    match error {
        ErrorCode::None => TxnNext::Proceed,
        ErrorCode::ConcurrentTransactions | ErrorCode::CoordinatorLoadInProgress => TxnNext::Retry,
        ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => TxnNext::FindCoordinator,
        ErrorCode::ProducerFenced
        | ErrorCode::InvalidProducerEpoch
        | ErrorCode::InvalidProducerIdMapping
        | ErrorCode::TransactionCoordinatorFenced
        | ErrorCode::InvalidTransactionTimeout
        | ErrorCode::InvalidTxnState => TxnNext::Fatal,
        _ if error.is_retriable() => TxnNext::Retry,
        _ => TxnNext::Abortable,
    }
}

/// A transactional producer's transaction bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionManager {
    pub transactional_id: String,
    pub transaction_timeout_ms: u64,
    pub state: ClientTxnState,
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    /// Partitions already added to the open transaction.
    pub partitions_in_txn: BTreeSet<TopicPartition>,
    /// AddOffsetsToTxn added the group's offsets partition to the open transaction.
    pub offsets_in_txn: bool,
    /// Partitions written to but not yet added (AddPartitionsToTxn to send first).
    pub new_partitions: BTreeSet<TopicPartition>,
    /// The fatal error, once there is one.
    pub fatal: Option<ErrorCode>,
    /// AddPartitionsToTxn answered INVALID_PRODUCER_ID_MAPPING (Kafka's `lastError` is an
    /// `InvalidPidMappingException`): the coordinator no longer maps the transactional id to
    /// this producer id, so the abort skips EndTxn and asks for a new producer id.
    pub producer_id_mapping_lost: bool,
}

impl TransactionManager {
    pub fn new(transactional_id: &str, transaction_timeout_ms: u64) -> TransactionManager {
        TransactionManager {
            transactional_id: transactional_id.to_owned(),
            transaction_timeout_ms,
            state: ClientTxnState::Uninitialized,
            producer_id: ProducerId::NONE,
            producer_epoch: ProducerEpoch::NONE,
            partitions_in_txn: BTreeSet::new(),
            offsets_in_txn: false,
            new_partitions: BTreeSet::new(),
            fatal: None,
            producer_id_mapping_lost: false,
        }
    }

    fn transition(&mut self, to: ClientTxnState) -> Result<(), TxnUsageError> {
        use ClientTxnState::*;
        if let Some(e) = self.fatal {
            return Err(TxnUsageError::Fatal(e));
        }
        let allowed = match to {
            Uninitialized => false,
            // KIP-360: an abort whose transaction had a failed send bumps the epoch with a new
            // InitProducerId (Kafka's ABORTING_TRANSACTION -> INITIALIZING).
            Initializing => matches!(self.state, Uninitialized | AbortingTransaction),
            Ready => matches!(
                self.state,
                Initializing | CommittingTransaction | AbortingTransaction
            ),
            InTransaction => matches!(self.state, Ready),
            CommittingTransaction => matches!(self.state, InTransaction),
            AbortingTransaction => matches!(self.state, InTransaction | AbortableError),
            AbortableError => matches!(
                self.state,
                InTransaction | CommittingTransaction | AbortableError
            ),
            FatalError => true,
        };
        if !allowed {
            return Err(TxnUsageError::InvalidTransition {
                from: self.state,
                to,
            });
        }
        self.state = to;
        Ok(())
    }

    /// `initTransactions()`: InitProducerId goes out.
    pub fn init_transactions(&mut self) -> Result<(), TxnUsageError> {
        self.transition(ClientTxnState::Initializing)
    }

    /// The InitProducerId answer.
    pub fn on_init_producer_id(
        &mut self,
        answer: Result<(ProducerId, ProducerEpoch), ErrorCode>,
    ) -> TxnNext {
        match answer {
            Ok((producer_id, producer_epoch)) => {
                self.producer_id = producer_id;
                self.producer_epoch = producer_epoch;
                self.producer_id_mapping_lost = false;
                let _ = self.transition(ClientTxnState::Ready);
                TxnNext::Proceed
            }
            Err(e) => self.on_error(e),
        }
    }

    /// `beginTransaction()`.
    pub fn begin_transaction(&mut self) -> Result<(), TxnUsageError> {
        self.transition(ClientTxnState::InTransaction)
    }

    /// `send()` to `tp` within the transaction: the partition must be added first.
    pub fn on_send(&mut self, tp: &TopicPartition) -> Result<(), TxnUsageError> {
        if let Some(e) = self.fatal {
            return Err(TxnUsageError::Fatal(e));
        }
        if self.state != ClientTxnState::InTransaction {
            return Err(TxnUsageError::InvalidTransition {
                from: self.state,
                to: ClientTxnState::InTransaction,
            });
        }
        if !self.partitions_in_txn.contains(tp) {
            self.new_partitions.insert(tp.clone());
        }
        Ok(())
    }

    /// Whether a batch for `tp` may go out: only once the partition is in the transaction.
    pub fn may_send_to(&self, tp: &TopicPartition) -> bool {
        self.partitions_in_txn.contains(tp)
    }

    /// The AddPartitionsToTxn answer for `partitions`.
    pub fn on_add_partitions(
        &mut self,
        partitions: &[TopicPartition],
        error: ErrorCode,
    ) -> TxnNext {
        if error == ErrorCode::None {
            for tp in partitions {
                self.new_partitions.remove(tp);
                self.partitions_in_txn.insert(tp.clone());
            }
            return TxnNext::Proceed;
        }
        // Kafka's AddPartitionsToTxnHandler: an unknown producer id mapping here makes the
        // transaction abortable (`abortableErrorIfPossible`: abortable with an epoch bump
        // required, since coordinators bump epochs since KIP-360), where EndTxn treats it as
        // fatal. The coordinator lost or expired the id's transaction state.
        if error == ErrorCode::InvalidProducerIdMapping {
            self.producer_id_mapping_lost = true;
            let _ = self.transition(ClientTxnState::AbortableError);
            return TxnNext::Abortable;
        }
        self.on_error(error)
    }

    /// A transactional batch failed for good (after its retries): the transaction can only be
    /// aborted.
    pub fn on_send_failed(&mut self, error: ErrorCode) -> TxnNext {
        match classify(error) {
            TxnNext::Fatal => self.on_error(error),
            _ => {
                let _ = self.transition(ClientTxnState::AbortableError);
                TxnNext::Abortable
            }
        }
    }

    /// Whether the coordinator knows of the transaction: a partition was added (or is being
    /// added). Kafka sends no EndTxn for a transaction that never started.
    pub fn transaction_started(&self) -> bool {
        !self.partitions_in_txn.is_empty() || !self.new_partitions.is_empty() || self.offsets_in_txn
    }

    /// AddOffsetsToTxn was answered: the coordinator knows of the transaction now.
    pub fn transaction_started_by_offsets(&mut self) {
        self.offsets_in_txn = true;
    }

    /// `commitTransaction()`: `Ok(true)` when EndTxn(commit) must go out (once every batch is
    /// acknowledged), `Ok(false)` when the transaction never started and is done at once.
    pub fn commit_transaction(&mut self) -> Result<bool, TxnUsageError> {
        if self.state == ClientTxnState::AbortableError {
            // Kafka: "Cannot commit transaction since the previous send failed": abort instead.
            return Err(TxnUsageError::InvalidTransition {
                from: self.state,
                to: ClientTxnState::CommittingTransaction,
            });
        }
        self.transition(ClientTxnState::CommittingTransaction)?;
        self.end_locally_if_not_started()
    }

    /// `abortTransaction()`: as `commit_transaction`, with EndTxn(abort).
    pub fn abort_transaction(&mut self) -> Result<bool, TxnUsageError> {
        self.transition(ClientTxnState::AbortingTransaction)?;
        self.end_locally_if_not_started()
    }

    fn end_locally_if_not_started(&mut self) -> Result<bool, TxnUsageError> {
        if self.transaction_started() {
            return Ok(true);
        }
        self.transition(ClientTxnState::Ready)?;
        Ok(false)
    }

    /// `abortTransaction()` after INVALID_PRODUCER_ID_MAPPING: the coordinator would refuse an
    /// EndTxn for a producer id it does not map, so Kafka's
    /// `TransactionManager.beginCompletingTransaction` skips it and goes straight to
    /// InitProducerId (KIP-360's epoch bump), from which a coordinator without state for the
    /// id hands out a new producer id. Without this the producer aborted locally, kept its
    /// unmapped id and was refused again at the next AddPartitionsToTxn, for ever.
    pub fn abort_with_lost_producer_id(&mut self) -> Result<(), TxnUsageError> {
        self.transition(ClientTxnState::AbortingTransaction)?;
        self.reinitialize_after_abort()
    }

    /// KIP-360: the abort is answered, but a send of the transaction failed and burnt its
    /// sequence, so the producer gets a bumped epoch (InitProducerId) before the next one.
    pub fn reinitialize_after_abort(&mut self) -> Result<(), TxnUsageError> {
        self.transition(ClientTxnState::Initializing)?;
        self.partitions_in_txn.clear();
        self.offsets_in_txn = false;
        self.new_partitions.clear();
        Ok(())
    }

    /// The EndTxn answer.
    pub fn on_end_txn(&mut self, error: ErrorCode) -> TxnNext {
        if error == ErrorCode::None {
            self.partitions_in_txn.clear();
            self.offsets_in_txn = false;
            self.new_partitions.clear();
            let _ = self.transition(ClientTxnState::Ready);
            return TxnNext::Proceed;
        }
        self.on_error(error)
    }

    fn on_error(&mut self, error: ErrorCode) -> TxnNext {
        let next = classify(error);
        match next {
            TxnNext::Fatal => {
                self.fatal = Some(error);
                self.state = ClientTxnState::FatalError;
            }
            TxnNext::Abortable => {
                let _ = self.transition(ClientTxnState::AbortableError);
            }
            TxnNext::Proceed | TxnNext::Retry | TxnNext::FindCoordinator => {}
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn tp(p: u32) -> TopicPartition {
        TopicPartition {
            topic: "out".into(),
            partition: PartitionIndex(p),
        }
    }

    fn ready() -> TransactionManager {
        let mut m = TransactionManager::new("app", 60_000);
        m.init_transactions().expect("init");
        assert_eq!(
            m.on_init_producer_id(Err(ErrorCode::ConcurrentTransactions)),
            TxnNext::Retry
        );
        assert_eq!(m.state, ClientTxnState::Initializing);
        m.on_init_producer_id(Ok((ProducerId(7), ProducerEpoch(3))));
        assert_eq!(m.state, ClientTxnState::Ready);
        m
    }

    #[test]
    fn a_transaction_adds_each_partition_before_its_first_batch_and_commits() {
        let mut m = ready();
        assert!(m.on_send(&tp(0)).is_err(), "send before beginTransaction");
        m.begin_transaction().expect("begin");
        m.on_send(&tp(0)).expect("send");
        m.on_send(&tp(1)).expect("send");
        assert!(!m.may_send_to(&tp(0)), "not before AddPartitionsToTxn");
        assert_eq!(m.new_partitions.len(), 2);
        assert_eq!(
            m.on_add_partitions(&[tp(0), tp(1)], ErrorCode::None),
            TxnNext::Proceed
        );
        assert!(m.may_send_to(&tp(0)) && m.may_send_to(&tp(1)));
        m.on_send(&tp(0)).expect("already added");
        assert!(m.new_partitions.is_empty());
        assert_eq!(m.commit_transaction(), Ok(true), "EndTxn goes out");
        assert_eq!(
            m.on_end_txn(ErrorCode::ConcurrentTransactions),
            TxnNext::Retry
        );
        assert_eq!(
            m.on_end_txn(ErrorCode::NotCoordinator),
            TxnNext::FindCoordinator
        );
        assert_eq!(m.on_end_txn(ErrorCode::None), TxnNext::Proceed);
        assert_eq!(m.state, ClientTxnState::Ready);
        assert!(m.partitions_in_txn.is_empty());
    }

    #[test]
    fn a_fenced_producer_fails_for_good_t1_t7() {
        for error in [ErrorCode::ProducerFenced, ErrorCode::InvalidProducerEpoch] {
            let mut m = ready();
            m.begin_transaction().expect("begin");
            m.on_send(&tp(0)).expect("send");
            m.on_add_partitions(&[tp(0)], ErrorCode::None);
            assert_eq!(m.commit_transaction(), Ok(true));
            assert_eq!(m.on_end_txn(error), TxnNext::Fatal);
            assert_eq!(m.state, ClientTxnState::FatalError);
            let e = m.begin_transaction().expect_err("fenced");
            assert_eq!(e, TxnUsageError::Fatal(error));
            assert!(e.to_string().contains(error.name()));
        }
    }

    #[test]
    fn a_failed_send_leaves_only_abort() {
        let mut m = ready();
        m.begin_transaction().expect("begin");
        m.on_send(&tp(0)).expect("send");
        assert_eq!(
            m.on_send_failed(ErrorCode::NotEnoughReplicas),
            TxnNext::Abortable
        );
        assert_eq!(m.state, ClientTxnState::AbortableError);
        let e = m
            .commit_transaction()
            .expect_err("no commit after a failed send");
        assert!(e.to_string().contains("ABORTABLE_ERROR"), "{e}");
        assert_eq!(m.abort_transaction(), Ok(true));
        m.on_end_txn(ErrorCode::None);
        assert_eq!(m.state, ClientTxnState::Ready);
        // A fatal error on a send fences the producer instead.
        m.begin_transaction().expect("begin");
        assert_eq!(
            m.on_send_failed(ErrorCode::InvalidProducerEpoch),
            TxnNext::Fatal
        );
        assert_eq!(m.state, ClientTxnState::FatalError);
    }

    #[test]
    fn a_transaction_that_never_started_ends_without_end_txn() {
        let mut m = ready();
        m.begin_transaction().expect("begin");
        assert_eq!(
            m.commit_transaction(),
            Ok(false),
            "nothing to tell the coordinator"
        );
        assert_eq!(m.state, ClientTxnState::Ready);
        m.begin_transaction().expect("begin");
        assert_eq!(m.abort_transaction(), Ok(false));
        assert_eq!(m.state, ClientTxnState::Ready);
        // An unknown producer id mapping on AddPartitionsToTxn: abortable, not fatal.
        m.begin_transaction().expect("begin");
        m.on_send(&tp(0)).expect("send");
        assert_eq!(
            m.on_add_partitions(&[tp(0)], ErrorCode::InvalidProducerIdMapping),
            TxnNext::Abortable
        );
        assert_eq!(m.state, ClientTxnState::AbortableError);
        assert!(m.producer_id_mapping_lost);
    }

    #[test]
    fn an_abort_after_a_lost_producer_id_mapping_asks_for_a_new_producer_id() {
        // Seed 4953: a power loss emptied the only broker's __transaction_state, so the
        // coordinator answered every AddPartitionsToTxn with INVALID_PRODUCER_ID_MAPPING. Kafka
        // skips EndTxn then and sends InitProducerId (beginCompletingTransaction); the producer
        // that aborted locally kept its unmapped id and never wrote again.
        let mut m = ready();
        m.begin_transaction().expect("begin");
        m.on_send(&tp(0)).expect("send");
        m.on_add_partitions(&[tp(0)], ErrorCode::InvalidProducerIdMapping);
        m.abort_with_lost_producer_id().expect("abort");
        assert_eq!(m.state, ClientTxnState::Initializing, "InitProducerId next");
        assert!(m.new_partitions.is_empty() && m.partitions_in_txn.is_empty());
        m.on_init_producer_id(Ok((ProducerId(8), ProducerEpoch(0))));
        assert_eq!(m.state, ClientTxnState::Ready);
        assert!(!m.producer_id_mapping_lost);
        assert_eq!(m.producer_id, ProducerId(8));
    }

    #[test]
    fn calls_out_of_order_are_refused_with_kafkas_illegal_state() {
        let mut m = TransactionManager::new("app", 60_000);
        let e = m.begin_transaction().expect_err("before initTransactions");
        assert_eq!(
            e.to_string(),
            "IllegalStateException: invalid transition attempted from state UNINITIALIZED to state IN_TRANSACTION"
        );
        let mut m = ready();
        assert!(m.commit_transaction().is_err(), "no transaction to commit");
        assert!(m.init_transactions().is_err(), "initialized once");
    }

    #[test]
    fn a_transactional_id_has_its_coordinator_partition() {
        let p =
            transaction_coordinator_partition("app", TRANSACTION_STATE_LOG_NUM_PARTITIONS_DEFAULT)
                .expect("a partition");
        assert!(p.0 < 50);
        // The same hashing as groups: "app".hashCode() = 96801, 96801 % 50 = 1.
        assert_eq!(p, PartitionIndex(1));
        assert!(transaction_coordinator_partition("app", 0).is_err());
    }
}
