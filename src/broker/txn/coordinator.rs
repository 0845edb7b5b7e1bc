//! The transaction coordinator for the `transactional.id`s hashed to the `__transaction_state`
//! partitions one broker leads, as pure state (rules T-1, T-2, T-3, T-7):
//! - `init_producer_id`: a new producer id, or the same one with its epoch bumped, which fences
//!   earlier instances; an ongoing transaction is fenced and aborted first and the caller told
//!   `CONCURRENT_TRANSACTIONS` (its retry bumps the epoch again);
//! - `add_partitions`: Empty or Complete* -> Ongoing; the `transaction.timeout.ms` clock starts
//!   at the first partition;
//! - `end_txn`: Ongoing -> PrepareCommit or PrepareAbort; the answer goes out once that record is
//!   durable and *before* the markers are written (T-2), then `markers_written` moves it to
//!   Complete*;
//! - `abort_timed_out`: ongoing transactions older than their timeout are fenced (epoch + 1)
//!   and aborted, so the producer's next call fails with the misleading `PRODUCER_FENCED` (T-7).
//!
//! Every transition is a `TxnLogAppend` (the content of Kafka's `TransactionLogValue`) that the
//! driver writes to `__transaction_state`; it takes effect only in `append_completed`, as
//! Kafka's `pendingState`. While one is pending, requests for that id get
//! `CONCURRENT_TRANSACTIONS`. One exception, as in Kafka: a fence (PrepareEpochFence, the epoch
//! + 1) is made in memory at once and only its abort is written; a failed write undoes it.

use super::state::TransactionState;
use crate::ids::{ProducerEpoch, ProducerId, TopicPartition};
use crate::protocol::ErrorCode;
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The coordinator's broker configs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`: a larger `transaction.timeout.ms` is refused.
    pub transaction_max_timeout_ms: u64,
    /// The `transaction.version` feature: 2 (KIP-890 part 2) bumps the epoch at every EndTxn.
    #[serde(default)]
    pub transaction_version: u8,
}

impl TxnConfig {
    /// KIP-890 part 2: EndTxn bumps the epoch (`TransactionVersion.supportsEpochBump`).
    pub fn bumps_epoch_at_end(&self) -> bool {
        self.transaction_version >= 2
    }
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            transaction_max_timeout_ms: 900_000,
            transaction_version: 0,
        }
    }
}

/// What the coordinator knows of one `transactional.id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionMetadata {
    pub transactional_id: String,
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    /// `transaction.timeout.ms` of the producer that last initialized it.
    pub timeout_ms: u64,
    pub state: TransactionState,
    /// The partitions in the open (or last) transaction.
    pub partitions: BTreeSet<TopicPartition>,
    /// When the open transaction added its first partition.
    pub txn_start: Option<SimTime>,
    pub last_update: SimTime,
}

/// One transition for `__transaction_state`: the whole metadata after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnLogAppend {
    pub metadata: TransactionMetadata,
}

/// The COMMIT or ABORT markers to write to every partition of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteMarkers {
    pub transactional_id: String,
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub transaction_commit: bool,
    pub partitions: Vec<TopicPartition>,
}

/// A request's outcome: an answer now, or a transition to make durable first (the answer
/// then comes with `append_completed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnReply {
    Now(Result<(ProducerId, ProducerEpoch), ErrorCode>),
    Append(TxnLogAppend),
}

/// What a durable (or failed) transition leads to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    /// The answer to the request that asked for the transition; `None` when the coordinator
    /// itself did (a timeout, markers done).
    pub answer: Option<Result<(ProducerId, ProducerEpoch), ErrorCode>>,
    /// Markers to write now: a Prepare* record became durable.
    pub markers: Option<WriteMarkers>,
}

/// What happens once a pending transition is durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    /// Answer InitProducerId with the new id and epoch.
    AnswerInit,
    /// Answer AddPartitionsToTxn.
    AnswerAdd,
    /// Answer EndTxn, then write the markers.
    AnswerEnd,
    /// An InitProducerId fenced an ongoing transaction: answer CONCURRENT_TRANSACTIONS (the
    /// client retries) and write the ABORT markers.
    FencedByInit,
    /// `transaction.timeout.ms` aborted it: write the ABORT markers.
    TimedOut,
    /// The markers are written: nothing to answer.
    Completed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Pending {
    target: TransactionMetadata,
    then: Then,
    /// The metadata before a fence, restored if the fence's abort cannot be written.
    before_fence: Option<TransactionMetadata>,
}

/// Kafka's `isProducerEpochExhausted`: the epoch cannot be bumped further.
fn epoch_exhausted(epoch: ProducerEpoch) -> bool {
    epoch.0 >= i16::MAX - 1
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionCoordinator {
    config: TxnConfig,
    txns: BTreeMap<String, TransactionMetadata>,
    pending: BTreeMap<String, Pending>,
    /// The next producer id this coordinator hands out (the driver gives each coordinator its
    /// own block, as Kafka's controller does with AllocateProducerIds).
    next_producer_id: i64,
}

impl TransactionCoordinator {
    pub fn new(config: TxnConfig, first_producer_id: i64) -> TransactionCoordinator {
        TransactionCoordinator {
            config,
            txns: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_producer_id: first_producer_id,
        }
    }

    pub fn transactions(&self) -> &BTreeMap<String, TransactionMetadata> {
        &self.txns
    }

    /// Whether a transition of this id is being written.
    pub fn is_pending(&self, transactional_id: &str) -> bool {
        self.pending.contains_key(transactional_id)
    }

    /// The metadata, to set up a state the log would replay (tests).
    #[cfg(test)]
    pub(super) fn txns_for_test(&mut self) -> &mut BTreeMap<String, TransactionMetadata> {
        &mut self.txns
    }

    /// A transactional id's state as the log holds it, replayed when this coordinator loads a
    /// `__transaction_state` partition (the last record of an id wins; `None` is a tombstone).
    pub fn load(&mut self, transactional_id: &str, metadata: Option<TransactionMetadata>) {
        self.pending.remove(transactional_id);
        match metadata {
            Some(m) => {
                self.txns.insert(transactional_id.to_owned(), m);
            }
            None => {
                self.txns.remove(transactional_id);
            }
        }
    }

    /// Forgets the ids `gone` says this coordinator no longer owns (their partition moved):
    /// returns the ids that had a transition pending, whose requests get NOT_COORDINATOR.
    pub fn unload(&mut self, gone: impl Fn(&str) -> bool) -> Vec<String> {
        self.txns.retain(|id, _| !gone(id));
        let dropped: Vec<String> = self.pending.keys().filter(|id| gone(id)).cloned().collect();
        for id in &dropped {
            self.pending.remove(id);
        }
        dropped
    }

    /// The identity after an epoch bump: the next epoch, or a new producer id at epoch 0 once
    /// the epoch is exhausted (Kafka's `isProducerEpochExhausted`).
    fn bumped(
        &mut self,
        producer_id: ProducerId,
        epoch: ProducerEpoch,
    ) -> (ProducerId, ProducerEpoch) {
        if epoch_exhausted(epoch) {
            (self.allocate_producer_id(), ProducerEpoch(0))
        } else {
            (producer_id, ProducerEpoch(epoch.0 + 1))
        }
    }

    fn allocate_producer_id(&mut self) -> ProducerId {
        let id = ProducerId(self.next_producer_id);
        self.next_producer_id += 1;
        id
    }

    /// Starts a transition: it is written to the log and takes effect in `append_completed`.
    fn begin(&mut self, target: TransactionMetadata, then: Then) -> TxnReply {
        let id = target.transactional_id.clone();
        // Kafka's `prepareTransitionTo` refuses a transition its state table does not allow;
        // so does this, in every build (the request gets INVALID_TXN_STATE, nothing changes).
        if self
            .txns
            .get(&id)
            .is_some_and(|m| !target.state.may_follow(m.state))
        {
            return TxnReply::Now(Err(ErrorCode::InvalidTxnState));
        }
        self.pending.insert(
            id,
            Pending {
                target: target.clone(),
                then,
                before_fence: None,
            },
        );
        TxnReply::Append(TxnLogAppend { metadata: target })
    }

    /// The checks every request of a known producer passes first: the id is known, the
    /// producer id matches, the epoch is current (else `PRODUCER_FENCED`), nothing is pending.
    fn current(
        &self,
        transactional_id: &str,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
    ) -> Result<&TransactionMetadata, ErrorCode> {
        let m = self
            .txns
            .get(transactional_id)
            .filter(|m| m.producer_id == producer_id)
            .ok_or(ErrorCode::InvalidProducerIdMapping)?;
        if m.producer_epoch != producer_epoch {
            return Err(ErrorCode::ProducerFenced);
        }
        if self.is_pending(transactional_id) {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        Ok(m)
    }

    /// InitProducerId for a transactional producer (T-1).
    pub fn init_producer_id(
        &mut self,
        now: SimTime,
        transactional_id: &str,
        timeout_ms: u64,
    ) -> TxnReply {
        if transactional_id.is_empty() {
            return TxnReply::Now(Err(ErrorCode::InvalidRequest));
        }
        if timeout_ms == 0 || timeout_ms > self.config.transaction_max_timeout_ms {
            return TxnReply::Now(Err(ErrorCode::InvalidTransactionTimeout));
        }
        if self.is_pending(transactional_id) {
            return TxnReply::Now(Err(ErrorCode::ConcurrentTransactions));
        }
        let Some(m) = self.txns.get(transactional_id).cloned() else {
            let producer_id = self.allocate_producer_id();
            let target = TransactionMetadata {
                transactional_id: transactional_id.to_owned(),
                producer_id,
                producer_epoch: ProducerEpoch(0),
                timeout_ms,
                state: TransactionState::Empty,
                partitions: BTreeSet::new(),
                txn_start: None,
                last_update: now,
            };
            return self.begin(target, Then::AnswerInit);
        };
        match m.state {
            TransactionState::PrepareCommit
            | TransactionState::PrepareAbort
            | TransactionState::PrepareEpochFence
            | TransactionState::Dead => TxnReply::Now(Err(ErrorCode::ConcurrentTransactions)),
            TransactionState::Empty
            | TransactionState::CompleteCommit
            | TransactionState::CompleteAbort => {
                let (producer_id, producer_epoch) = self.bumped(m.producer_id, m.producer_epoch);
                let target = TransactionMetadata {
                    producer_id,
                    producer_epoch,
                    timeout_ms,
                    state: TransactionState::Empty,
                    partitions: BTreeSet::new(),
                    txn_start: None,
                    last_update: now,
                    ..m
                };
                self.begin(target, Then::AnswerInit)
            }
            TransactionState::Ongoing => self.fence_and_abort(now, m, Then::FencedByInit),
        }
    }

    /// Fences an ongoing transaction (its epoch goes up: PrepareEpochFence) and writes its
    /// abort with the new epoch.
    fn fence_and_abort(&mut self, now: SimTime, m: TransactionMetadata, then: Then) -> TxnReply {
        let before = m.clone();
        let fenced = TransactionMetadata {
            producer_epoch: ProducerEpoch(m.producer_epoch.0.saturating_add(1)),
            state: TransactionState::PrepareEpochFence,
            last_update: now,
            ..m
        };
        self.txns
            .insert(fenced.transactional_id.clone(), fenced.clone());
        // With transaction version 2 the abort takes the next epoch too (Kafka's
        // `prepareAbortOrCommit` bumps after the fence), so its markers fence the old one.
        let (producer_id, producer_epoch) = if self.config.bumps_epoch_at_end() {
            self.bumped(fenced.producer_id, fenced.producer_epoch)
        } else {
            (fenced.producer_id, fenced.producer_epoch)
        };
        let target = TransactionMetadata {
            state: TransactionState::PrepareAbort,
            producer_id,
            producer_epoch,
            ..fenced
        };
        let reply = self.begin(target, then);
        if let Some(p) = self.pending.get_mut(&before.transactional_id) {
            p.before_fence = Some(before);
        }
        reply
    }

    /// AddPartitionsToTxn (T-3): the partitions join the open transaction, which starts (and
    /// starts its timeout clock) at the first.
    pub fn add_partitions(
        &mut self,
        now: SimTime,
        transactional_id: &str,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        partitions: &[TopicPartition],
    ) -> TxnReply {
        let m = match self.current(transactional_id, producer_id, producer_epoch) {
            Ok(m) => m.clone(),
            Err(e) => return TxnReply::Now(Err(e)),
        };
        match m.state {
            TransactionState::PrepareCommit
            | TransactionState::PrepareAbort
            | TransactionState::PrepareEpochFence => {
                TxnReply::Now(Err(ErrorCode::ConcurrentTransactions))
            }
            TransactionState::Dead => TxnReply::Now(Err(ErrorCode::InvalidTxnState)),
            TransactionState::Ongoing if partitions.iter().all(|p| m.partitions.contains(p)) => {
                TxnReply::Now(Ok((m.producer_id, m.producer_epoch)))
            }
            state => {
                let starts = state != TransactionState::Ongoing;
                let mut target = TransactionMetadata {
                    state: TransactionState::Ongoing,
                    txn_start: if starts { Some(now) } else { m.txn_start },
                    last_update: now,
                    ..m
                };
                if starts {
                    target.partitions.clear();
                }
                target.partitions.extend(partitions.iter().cloned());
                self.begin(target, Then::AnswerAdd)
            }
        }
    }

    /// A partition leader's verification (T-3, KIP-890 part 1): OK only when `partition` is in
    /// the producer's ongoing transaction at its current epoch.
    pub fn verify_partition(
        &self,
        transactional_id: &str,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        partition: &TopicPartition,
    ) -> Result<(), ErrorCode> {
        // The metadata as it stands, even while a transition is being written: a partition
        // added is in the transaction (Kafka's verification reads `topicPartitions`).
        let Some(m) = self.transactions().get(transactional_id) else {
            return Err(ErrorCode::InvalidTxnState);
        };
        if m.producer_id != producer_id {
            return Err(ErrorCode::InvalidProducerIdMapping);
        }
        if producer_epoch < m.producer_epoch {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        if m.producer_epoch == producer_epoch
            && m.state == TransactionState::Ongoing
            && m.partitions.contains(partition)
        {
            Ok(())
        } else {
            Err(ErrorCode::InvalidTxnState)
        }
    }

    /// EndTxn (T-2): Ongoing -> PrepareCommit or PrepareAbort. A retry of a finished
    /// transaction with the same outcome succeeds; the other outcome is INVALID_TXN_STATE.
    pub fn end_txn(
        &mut self,
        now: SimTime,
        transactional_id: &str,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        transaction_commit: bool,
    ) -> TxnReply {
        if self.config.bumps_epoch_at_end() {
            return self.end_txn_v2(
                now,
                transactional_id,
                producer_id,
                producer_epoch,
                transaction_commit,
            );
        }
        let m = match self.current(transactional_id, producer_id, producer_epoch) {
            Ok(m) => m.clone(),
            Err(e) => return TxnReply::Now(Err(e)),
        };
        let ok = Ok((m.producer_id, m.producer_epoch));
        match (m.state, transaction_commit) {
            (TransactionState::Ongoing, _) => {
                let target = TransactionMetadata {
                    state: if transaction_commit {
                        TransactionState::PrepareCommit
                    } else {
                        TransactionState::PrepareAbort
                    },
                    last_update: now,
                    ..m
                };
                self.begin(target, Then::AnswerEnd)
            }
            (TransactionState::CompleteCommit, true) | (TransactionState::CompleteAbort, false) => {
                TxnReply::Now(ok)
            }
            (TransactionState::PrepareCommit, true) | (TransactionState::PrepareAbort, false) => {
                TxnReply::Now(Err(ErrorCode::ConcurrentTransactions))
            }
            (TransactionState::PrepareEpochFence, _) => {
                TxnReply::Now(Err(ErrorCode::ConcurrentTransactions))
            }
            _ => TxnReply::Now(Err(ErrorCode::InvalidTxnState)),
        }
    }

    /// EndTxn with transaction version 2 (T-10, KIP-890 part 2): Prepare* takes the next
    /// epoch (a new producer id at epoch 0 once the epoch is exhausted), and its markers carry
    /// it. A retry is recognised by its epoch, one below the stored one; a request at the
    /// stored epoch of a finished transaction is the next transaction's (an abort of nothing
    /// is written and bumps too, a commit of nothing is INVALID_TXN_STATE), and any other
    /// epoch is fenced. So a late EndTxn of the previous transaction cannot end the next
    /// one, as it can below version 2 (J-7 #3, drill D15). Kafka's
    /// `TransactionCoordinator.endTransaction`.
    fn end_txn_v2(
        &mut self,
        now: SimTime,
        transactional_id: &str,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        transaction_commit: bool,
    ) -> TxnReply {
        use TransactionState as S;
        let Some(m) = self
            .txns
            .get(transactional_id)
            .filter(|m| m.producer_id == producer_id)
            .cloned()
        else {
            return TxnReply::Now(Err(ErrorCode::InvalidProducerIdMapping));
        };
        let retry = m.producer_epoch.0 == producer_epoch.0.saturating_add(1);
        let same = m.producer_epoch == producer_epoch;
        let valid = match m.state {
            S::Ongoing | S::Empty | S::Dead | S::PrepareEpochFence => same,
            S::PrepareCommit | S::PrepareAbort => retry,
            S::CompleteCommit | S::CompleteAbort => retry || same,
        };
        if !valid {
            return TxnReply::Now(Err(ErrorCode::ProducerFenced));
        }
        if self.is_pending(transactional_id) {
            return TxnReply::Now(Err(ErrorCode::ConcurrentTransactions));
        }
        let ok = Ok((m.producer_id, m.producer_epoch));
        let prepare = |this: &mut Self,
                       m: TransactionMetadata,
                       transaction_commit: bool,
                       partitions: bool| {
            let (producer_id, producer_epoch) = this.bumped(m.producer_id, m.producer_epoch);
            let mut target = TransactionMetadata {
                producer_id,
                producer_epoch,
                state: if transaction_commit {
                    S::PrepareCommit
                } else {
                    S::PrepareAbort
                },
                last_update: now,
                ..m
            };
            if !partitions {
                target.partitions.clear();
            }
            this.begin(target, Then::AnswerEnd)
        };
        match (m.state, transaction_commit) {
            (S::Ongoing, transaction_commit) => prepare(self, m, transaction_commit, true),
            (S::CompleteCommit, true) | (S::CompleteAbort, false) if retry => TxnReply::Now(ok),
            (S::CompleteCommit, false) | (S::CompleteAbort, false) | (S::Empty, false)
                if !retry =>
            {
                prepare(self, m, false, false)
            }
            (S::PrepareCommit, true) | (S::PrepareAbort, false) => {
                TxnReply::Now(Err(ErrorCode::ConcurrentTransactions))
            }
            _ => TxnReply::Now(Err(ErrorCode::InvalidTxnState)),
        }
    }

    /// Every participant has its marker: PrepareCommit -> CompleteCommit, PrepareAbort ->
    /// CompleteAbort. `None` when the id is not waiting for markers.
    pub fn markers_written(
        &mut self,
        now: SimTime,
        transactional_id: &str,
    ) -> Option<TxnLogAppend> {
        if self.is_pending(transactional_id) {
            return None;
        }
        let m = self.txns.get(transactional_id)?.clone();
        let state = match m.state {
            TransactionState::PrepareCommit => TransactionState::CompleteCommit,
            TransactionState::PrepareAbort => TransactionState::CompleteAbort,
            _ => return None,
        };
        let target = TransactionMetadata {
            state,
            txn_start: None,
            last_update: now,
            ..m
        };
        match self.begin(target, Then::Completed) {
            TxnReply::Append(a) => Some(a),
            TxnReply::Now(_) => None,
        }
    }

    /// T-7: fences and aborts every ongoing transaction older than its `transaction.timeout.ms`
    /// (with nothing pending); returns the aborts to write.
    pub fn abort_timed_out(&mut self, now: SimTime) -> Vec<TxnLogAppend> {
        let expired: Vec<TransactionMetadata> = self
            .txns
            .values()
            .filter(|m| m.state == TransactionState::Ongoing)
            .filter(|m| !self.pending.contains_key(&m.transactional_id))
            // Kafka's `txnStartTimestamp + txnTimeoutMs < now`.
            .filter(|m| {
                m.txn_start
                    .is_some_and(|t| t.saturating_add(SimDuration::from_millis(m.timeout_ms)) < now)
            })
            .cloned()
            .collect();
        expired
            .into_iter()
            .filter_map(|m| match self.fence_and_abort(now, m, Then::TimedOut) {
                TxnReply::Append(a) => Some(a),
                TxnReply::Now(_) => None,
            })
            .collect()
    }

    /// The last instant an ongoing transaction (with nothing pending) is still in time: it is
    /// aborted by `abort_timed_out` at any later one.
    pub fn next_timeout(&self) -> Option<SimTime> {
        self.txns
            .values()
            .filter(|m| m.state == TransactionState::Ongoing)
            .filter(|m| !self.pending.contains_key(&m.transactional_id))
            .filter_map(|m| {
                m.txn_start
                    .map(|t| t.saturating_add(SimDuration::from_millis(m.timeout_ms)))
            })
            .min()
    }

    /// The driver wrote (or failed to write) the pending transition of this id. On success it
    /// takes effect; on failure nothing changes (a fence is undone) and the request that asked
    /// for it is answered with `error`.
    pub fn append_completed(
        &mut self,
        transactional_id: &str,
        result: Result<(), ErrorCode>,
    ) -> Completion {
        let Some(pending) = self.pending.remove(transactional_id) else {
            return Completion::default();
        };
        let asked_by_request = matches!(
            pending.then,
            Then::AnswerInit | Then::AnswerAdd | Then::AnswerEnd | Then::FencedByInit
        );
        if let Err(error) = result {
            if let Some(before) = pending.before_fence {
                self.txns.insert(before.transactional_id.clone(), before);
            }
            return Completion {
                answer: asked_by_request.then_some(Err(error)),
                markers: None,
            };
        }
        let m = pending.target;
        let ids = (m.producer_id, m.producer_epoch);
        let markers = matches!(
            m.state,
            TransactionState::PrepareCommit | TransactionState::PrepareAbort
        )
        .then(|| WriteMarkers {
            transactional_id: m.transactional_id.clone(),
            producer_id: m.producer_id,
            producer_epoch: m.producer_epoch,
            transaction_commit: m.state == TransactionState::PrepareCommit,
            partitions: m.partitions.iter().cloned().collect(),
        });
        self.txns.insert(m.transactional_id.clone(), m);
        let answer = match pending.then {
            Then::AnswerInit | Then::AnswerAdd | Then::AnswerEnd => Some(Ok(ids)),
            Then::FencedByInit => Some(Err(ErrorCode::ConcurrentTransactions)),
            Then::TimedOut | Then::Completed => None,
        };
        Completion { answer, markers }
    }
}
