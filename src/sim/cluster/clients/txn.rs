//! A transactional producer's driver (section 5): Kafka's `TransactionManager` requests on
//! top of `client::transactions::TransactionManager`'s state machine. It finds the
//! coordinator (FindCoordinator, key type TRANSACTION), initializes the producer id
//! (InitProducerId), adds each partition before its first batch (AddPartitionsToTxn), and ends
//! each transaction (EndTxn) once its batches are acknowledged (transaction commit) or settled (abort).
//! One coordinator request is out at a time, as Kafka sends them in priority order.
//!
//! What it records: an `Op::Txn` per ended transaction with the values it held and how it
//! ended, as the client knows it. A transaction whose EndTxn(commit) went out and got no
//! definite answer (the producer was fenced meanwhile) is `Unknown`; one that never sent a
//! transaction commit cannot have committed and is `Aborted`.

use super::super::messages::Msg;
use super::super::scenario::TransactionSpec;
use crate::broker::group::OffsetAndMetadata;
use crate::broker::messages::RequestToken;
use crate::client::producer::{Producer, ProducerError};
use crate::client::transactions::{ClientTxnState, TransactionManager, TxnNext};
use crate::ids::{BrokerId, NodeId, ProducerEpoch, ProducerId, TopicPartition};
use crate::prng::Prng;
use crate::protocol::ErrorCode;
use crate::sim::history::{Op, TxnOutcome, ValueId};
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// How long a FindCoordinator may go unanswered before it is asked of the next broker.
const FIND_COORDINATOR_GIVE_UP_MS: u64 = 1_000;

/// Kafka's producer retries CONCURRENT_TRANSACTIONS on AddPartitionsToTxn after 20 ms, not
/// `retry.backoff.ms` (KAFKA-5477).
const ADD_PARTITIONS_RETRY_BACKOFF_MS: u64 = 20;

/// sendOffsetsToTransaction's arguments: the consumer's positions and its group metadata
/// (`consumer.groupMetadata()`, KIP-447).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendOffsets {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum TxnRequest {
    InitProducerId,
    AddPartitions(Vec<TopicPartition>),
    /// To the transaction coordinator: the group's offsets partition joins.
    AddOffsets,
    /// To the group coordinator.
    TxnOffsetCommit,
    EndTxn {
        transaction_commit: bool,
    },
}

impl TxnRequest {
    fn name(&self) -> &'static str {
        match self {
            TxnRequest::InitProducerId => "InitProducerId",
            TxnRequest::AddPartitions(_) => "AddPartitionsToTxn",
            TxnRequest::AddOffsets => "AddOffsetsToTxn",
            TxnRequest::TxnOffsetCommit => "TxnOffsetCommit",
            TxnRequest::EndTxn {
                transaction_commit: true,
            } => "EndTxn(commit)",
            TxnRequest::EndTxn {
                transaction_commit: false,
            } => "EndTxn(abort)",
        }
    }
}

#[derive(Clone, Debug)]
struct InFlight {
    token: RequestToken,
    sent_at: SimTime,
    request: TxnRequest,
}

#[derive(Clone, Debug)]
pub struct TxnDriver {
    pub manager: TransactionManager,
    spec: TransactionSpec,
    producer_index: u32,
    coordinator: Option<BrokerId>,
    finding_since: Option<SimTime>,
    in_flight: Option<InFlight>,
    /// The request to send next, once the coordinator is known and `retry_at` has passed.
    pending: Option<TxnRequest>,
    retry_at: SimTime,
    next_token: u64,
    next_find_broker: u32,
    brokers: u32,
    request_timeout_ms: u64,
    retry_backoff_ms: u64,
    /// The open transaction: its values, how many records it has, and how it is to end.
    values: Vec<ValueId>,
    /// A pipeline's open transaction: the inputs whose outputs it holds.
    reads: Vec<ValueId>,
    records: u32,
    ending: Option<bool>,
    /// An EndTxn(commit) of the open transaction went out.
    commit_sent: bool,
    /// A send of the open transaction failed: it can only abort, and the epoch is bumped after.
    send_failed: bool,
    /// Transactions ended so far.
    pub committed: u32,
    pub aborted: u32,
    pub lines: Vec<String>,
    pub ops: Vec<Op>,
    /// Errors that reached the driver (coordinator errors by Kafka's name, the fatal
    /// exception), drained into the client's tally.
    pub errors: Vec<&'static str>,
    /// After a fatal error, with `recreate_after_fatal_ms`: when the application creates the
    /// new producer (set at the first poll after the error).
    recreate_at: Option<SimTime>,
    /// A new instance replaced the fenced one since the client last asked.
    recreated: bool,
    /// sendOffsetsToTransaction of the open transaction, and how far it got: the offsets
    /// partition added (AddOffsetsToTxn answered), the offsets written (TxnOffsetCommit).
    send_offsets: Option<SendOffsets>,
    offsets_added: bool,
    offsets_written: bool,
    /// The group coordinator TxnOffsetCommit goes to, once found.
    group_coordinator: Option<BrokerId>,
    /// How each transaction ended, for a pipeline waiting on it (drained by `take_ended`).
    ended: Vec<TxnOutcome>,
}

impl TxnDriver {
    pub fn new(
        producer_index: u32,
        transactional_id: &str,
        transaction_timeout_ms: u64,
        spec: TransactionSpec,
        brokers: u32,
        request_timeout_ms: u64,
        retry_backoff_ms: u64,
    ) -> TxnDriver {
        TxnDriver {
            manager: TransactionManager::new(transactional_id, transaction_timeout_ms),
            spec,
            producer_index,
            coordinator: None,
            finding_since: None,
            in_flight: None,
            pending: None,
            retry_at: SimTime::ZERO,
            next_token: 0,
            next_find_broker: producer_index,
            brokers: brokers.max(1),
            request_timeout_ms,
            retry_backoff_ms,
            values: Vec::new(),
            reads: Vec::new(),
            records: 0,
            ending: None,
            commit_sent: false,
            send_failed: false,
            committed: 0,
            aborted: 0,
            lines: Vec::new(),
            ops: Vec::new(),
            errors: Vec::new(),
            recreate_at: None,
            recreated: false,
            send_offsets: None,
            offsets_added: false,
            offsets_written: false,
            group_coordinator: None,
            ended: Vec::new(),
        }
    }

    /// A consume-transform-produce application's `sendOffsetsToTransaction(offsets,
    /// groupMetadata)` followed by `commitTransaction()`, or with `transaction_commit` false
    /// `abortTransaction()` (the offsets are not sent).
    pub fn end_with_offsets(&mut self, offsets: Option<SendOffsets>, transaction_commit: bool) {
        if self.manager.state != ClientTxnState::InTransaction || self.ending.is_some() {
            return;
        }
        if transaction_commit {
            if let Some(o) = &offsets {
                let list: Vec<String> = o
                    .offsets
                    .iter()
                    .map(|(tp, m)| format!("{tp}={}", m.committed_offset.0))
                    .collect();
                self.lines.push(format!(
                    "sendOffsetsToTransaction({}) for group {} (generation {})",
                    list.join(", "),
                    o.group_id,
                    o.generation_id
                ));
            }
            self.send_offsets = offsets;
        }
        self.ending = Some(transaction_commit);
    }

    /// A transaction ended and the pipeline has not taken the outcome yet: it must not begin
    /// the next one before.
    pub fn has_untaken_outcome(&self) -> bool {
        !self.ended.is_empty()
    }

    /// How the transactions ended since the last call (a pipeline resumes on them).
    pub fn take_ended(&mut self) -> Vec<TxnOutcome> {
        std::mem::take(&mut self.ended)
    }

    /// Whether the workload decides itself when a transaction ends (not a pipeline).
    fn ends_by_count(&self) -> bool {
        self.spec.input_consumer.is_none()
    }

    /// Whether a new instance replaced the fenced one since the last call: the workload
    /// resumes.
    pub fn take_recreated(&mut self) -> bool {
        std::mem::take(&mut self.recreated)
    }

    pub fn is_fatal(&self) -> bool {
        self.manager.fatal.is_some()
    }

    pub fn coordinator(&self) -> Option<BrokerId> {
        self.coordinator
    }

    /// Whether the workload may hand the producer a record now: the producer id is known and
    /// the open transaction (if any) is not ending.
    pub fn may_send(&self) -> bool {
        matches!(
            self.manager.state,
            ClientTxnState::Ready | ClientTxnState::InTransaction
        ) && self.ending.is_none()
    }

    /// Before a send: `beginTransaction()` if none is open.
    pub fn before_send(&mut self) {
        if self.manager.state == ClientTxnState::Ready && self.manager.begin_transaction().is_ok() {
            self.values.clear();
            self.reads.clear();
            self.records = 0;
            self.commit_sent = false;
            self.send_failed = false;
            self.send_offsets = None;
            self.offsets_added = false;
            self.offsets_written = false;
        }
    }

    /// A pipeline's output of `input` went into the open transaction.
    pub fn on_read(&mut self, input: ValueId) {
        self.reads.push(input);
    }

    /// Records in the open transaction so far.
    pub fn records_in_transaction(&self) -> u32 {
        self.records
    }

    /// After `send()` put `value` in a batch for `tp`; `rng` decides, at the last record of
    /// the transaction, whether it commits or aborts.
    pub fn on_sent(&mut self, tp: &TopicPartition, value: ValueId, rng: &mut Prng) {
        if self.manager.on_send(tp).is_err() {
            return;
        }
        self.values.push(value);
        self.records += 1;
        if self.ends_by_count() && self.records >= self.spec.records_per_transaction {
            let abort =
                self.spec.abort_percent > 0 && rng.below(100) < u64::from(self.spec.abort_percent);
            self.ending = Some(!abort);
        }
    }

    /// A transaction is open and nothing has decided yet how it ends.
    pub fn open_and_undecided(&self) -> bool {
        self.manager.state == ClientTxnState::InTransaction && self.ending.is_none()
    }

    /// The workload stopped: an open transaction ends (committed unless it must abort).
    pub fn on_workload_done(&mut self) {
        // A pipeline's last transaction ends with its offsets, decided by the pipeline.
        if !self.ends_by_count() {
            return;
        }
        if self.manager.state == ClientTxnState::InTransaction && self.ending.is_none() {
            self.ending = Some(true);
        }
    }

    /// A send of the open transaction failed for good: it can only be aborted (or the
    /// producer is fenced).
    pub fn on_send_failed(&mut self, error: ProducerError, producer: &mut Producer) {
        // A fenced producer's late failures, or a closed instance's batches reported after a
        // new one replaced it (no transaction of its own is open), change nothing.
        if self.is_fatal()
            || !matches!(
                self.manager.state,
                ClientTxnState::InTransaction
                    | ClientTxnState::CommittingTransaction
                    | ClientTxnState::AbortingTransaction
                    | ClientTxnState::AbortableError
            )
        {
            return;
        }
        let code = match error {
            ProducerError::Broker(code) => code,
            ProducerError::Fenced => ErrorCode::ProducerFenced,
            ProducerError::TransactionAborted => return,
            ProducerError::Timeout => ErrorCode::RequestTimedOut,
            ProducerError::RecordTooLarge => ErrorCode::MessageTooLarge,
        };
        self.send_failed = true;
        // Kafka (KIP-588): a produce refused with INVALID_PRODUCER_EPOCH or PRODUCER_FENCED
        // means another instance took the transactional id: ProducerFencedException.
        if matches!(
            code,
            ErrorCode::InvalidProducerEpoch | ErrorCode::ProducerFenced
        ) {
            self.fatal(ErrorCode::ProducerFenced, producer);
            return;
        }
        if self.manager.on_send_failed(code) == TxnNext::Fatal {
            self.fatal(code, producer);
            return;
        }
        if self.ending.is_none() || self.ending == Some(true) {
            self.lines.push(format!(
                "transaction must abort: a send failed with {}",
                error.name()
            ));
            self.ending = Some(false);
        }
    }

    fn fatal(&mut self, error: ErrorCode, producer: &mut Producer) {
        self.manager.fatal = Some(error);
        self.manager.state = ClientTxnState::FatalError;
        let _ = producer.abort_undrained_batches(ProducerError::Fenced);
        let exception = match error {
            ErrorCode::ProducerFenced | ErrorCode::InvalidProducerEpoch => {
                "ProducerFencedException".to_string()
            }
            other => format!("KafkaException({})", other.name()),
        };
        self.errors.push(match error {
            ErrorCode::ProducerFenced | ErrorCode::InvalidProducerEpoch => {
                "ProducerFencedException"
            }
            other => other.name(),
        });
        self.lines.push(format!(
            "fatal: {exception} ({}): another producer with transactional.id {:?} has a newer epoch, or the coordinator aborted this one; the producer must be closed",
            error.name(),
            self.manager.transactional_id
        ));
        if !self.values.is_empty() {
            let outcome = if self.commit_sent {
                TxnOutcome::Unknown
            } else {
                TxnOutcome::Aborted
            };
            self.record(outcome);
        }
        self.pending = None;
        self.in_flight = None;
        self.ending = None;
    }

    fn record(&mut self, outcome: TxnOutcome) {
        self.ended.push(outcome);
        self.send_offsets = None;
        self.offsets_added = false;
        self.offsets_written = false;
        self.ops.push(Op::Txn {
            producer: self.producer_index,
            transactional_id: self.manager.transactional_id.clone(),
            producer_id: self.manager.producer_id,
            producer_epoch: self.manager.producer_epoch,
            values: std::mem::take(&mut self.values),
            outcome,
            reads: std::mem::take(&mut self.reads),
            input_consumer: self.spec.input_consumer,
        });
        self.records = 0;
    }

    /// When the driver next has something to do on its own.
    pub fn next_wakeup(&self, now: SimTime, producer: &Producer) -> Option<SimTime> {
        if self.is_fatal() {
            return self
                .spec
                .recreate_after_fatal_ms
                .map(|_| self.recreate_at.unwrap_or(now).max(now));
        }
        let mut next: Option<SimTime> = None;
        let mut at = |t: SimTime| next = Some(next.map_or(t, |n: SimTime| n.min(t)));
        if let Some(f) = &self.in_flight {
            at(f.sent_at
                .saturating_add(SimDuration::from_millis(self.request_timeout_ms)));
        }
        if let Some(since) = self.finding_since {
            at(since.saturating_add(SimDuration::from_millis(FIND_COORDINATOR_GIVE_UP_MS)));
        }
        // Waiting for the transaction's batches is the producer's business: their answers
        // wake the client.
        let wants = self.pending.is_some()
            || self.manager.state == ClientTxnState::Uninitialized
            || (!self.manager.new_partitions.is_empty() && self.ending != Some(false))
            || (self.ending.is_some() && !producer.has_incomplete_batches())
            || (self.ending == Some(false) && producer.has_undrained_batches());
        if wants && self.in_flight.is_none() && self.finding_since.is_none() {
            at(self.retry_at.max(now));
        }
        next
    }

    /// Sends what is due: the pending coordinator request, AddPartitionsToTxn for new
    /// partitions, or EndTxn once the transaction's batches are settled.
    pub fn poll(
        &mut self,
        now: SimTime,
        node: NodeId,
        producer: &mut Producer,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        if self.is_fatal() {
            let Some(delay) = self.spec.recreate_after_fatal_ms else {
                return;
            };
            let at = *self
                .recreate_at
                .get_or_insert(now.saturating_add(SimDuration::from_millis(delay)));
            if now < at {
                return;
            }
            // The application closed the fenced producer and creates a new one with the
            // same transactional.id: initTransactions() bumps the epoch again.
            producer.abort_all_batches(ProducerError::Fenced);
            let fresh = TxnDriver::new(
                self.producer_index,
                &self.manager.transactional_id,
                self.manager.transaction_timeout_ms,
                self.spec.clone(),
                self.brokers,
                self.request_timeout_ms,
                self.retry_backoff_ms,
            );
            // What outlives an instance: the tallies, what the client has not drained yet, and
            // the request numbering (a late answer to the old instance never matches a new
            // request) and the coordinator search order.
            *self = TxnDriver {
                next_token: self.next_token,
                next_find_broker: self.next_find_broker,
                committed: self.committed,
                aborted: self.aborted,
                lines: std::mem::take(&mut self.lines),
                ops: std::mem::take(&mut self.ops),
                errors: std::mem::take(&mut self.errors),
                recreated: true,
                ..fresh
            };
            self.lines.push(format!(
                "new producer instance for transactional.id {:?} (the fenced one was closed): initTransactions()",
                self.manager.transactional_id
            ));
        }
        if let Some(f) = &self.in_flight {
            if now
                >= f.sent_at
                    .saturating_add(SimDuration::from_millis(self.request_timeout_ms))
            {
                self.lines.push(format!(
                    "{} to broker {} timed out; finding the coordinator again",
                    f.request.name(),
                    self.coordinator.map_or(0, |b| b.0)
                ));
                self.pending = Some(f.request.clone());
                if f.request == TxnRequest::TxnOffsetCommit {
                    self.group_coordinator = None;
                } else {
                    self.coordinator = None;
                }
                self.in_flight = None;
            }
        }
        if self.finding_since.is_some_and(|t| {
            now >= t.saturating_add(SimDuration::from_millis(FIND_COORDINATOR_GIVE_UP_MS))
        }) {
            self.finding_since = None;
        }
        if self.in_flight.is_some() || self.finding_since.is_some() || now < self.retry_at {
            return;
        }
        if self.pending.is_none() {
            self.pending = self.next_request(producer);
        }
        let Some(request) = self.pending.clone() else {
            return;
        };
        if request == TxnRequest::TxnOffsetCommit {
            self.send_txn_offset_commit(now, node, out);
            return;
        }
        let Some(coordinator) = self.coordinator else {
            let broker = NodeId(self.next_find_broker % self.brokers + 1);
            self.next_find_broker = self.next_find_broker.wrapping_add(1);
            self.finding_since = Some(now);
            out.push((
                node,
                broker,
                Msg::FindTransactionCoordinator {
                    transactional_id: self.manager.transactional_id.clone(),
                },
            ));
            return;
        };
        self.next_token += 1;
        let token = RequestToken(self.next_token);
        let transactional_id = self.manager.transactional_id.clone();
        let (producer_id, producer_epoch) = (self.manager.producer_id, self.manager.producer_epoch);
        let msg = match &request {
            TxnRequest::InitProducerId => Msg::InitProducerId {
                token,
                transactional_id,
                transaction_timeout_ms: self.manager.transaction_timeout_ms,
            },
            TxnRequest::AddPartitions(partitions) => Msg::AddPartitionsToTxn {
                token,
                transactional_id,
                producer_id,
                producer_epoch,
                partitions: partitions.clone(),
            },
            TxnRequest::AddOffsets => Msg::AddOffsetsToTxn {
                token,
                transactional_id,
                producer_id,
                producer_epoch,
                group_id: self
                    .send_offsets
                    .as_ref()
                    .map(|o| o.group_id.clone())
                    .unwrap_or_default(),
            },
            // Sent by `send_txn_offset_commit`, to the group coordinator.
            TxnRequest::TxnOffsetCommit => return,
            TxnRequest::EndTxn { transaction_commit } => {
                if *transaction_commit {
                    self.commit_sent = true;
                }
                Msg::EndTxn {
                    token,
                    transactional_id,
                    producer_id,
                    producer_epoch,
                    transaction_commit: *transaction_commit,
                }
            }
        };
        self.lines.push(format!(
            "{} to coordinator broker {}",
            request.name(),
            coordinator.0
        ));
        self.pending = None;
        self.in_flight = Some(InFlight {
            token,
            sent_at: now,
            request,
        });
        out.push((node, NodeId::from(coordinator), msg));
    }

    /// TxnOffsetCommit to the group's coordinator, found first (FindCoordinator, key type
    /// GROUP) as Kafka's producer does.
    fn send_txn_offset_commit(
        &mut self,
        now: SimTime,
        node: NodeId,
        out: &mut Vec<(NodeId, NodeId, Msg)>,
    ) {
        let Some(offsets) = self.send_offsets.clone() else {
            self.pending = None;
            return;
        };
        let Some(coordinator) = self.group_coordinator else {
            let broker = NodeId(self.next_find_broker % self.brokers + 1);
            self.next_find_broker = self.next_find_broker.wrapping_add(1);
            self.finding_since = Some(now);
            out.push((
                node,
                broker,
                Msg::FindCoordinator {
                    group_id: offsets.group_id,
                },
            ));
            return;
        };
        self.next_token += 1;
        let token = RequestToken(self.next_token);
        self.lines.push(format!(
            "TxnOffsetCommit to group coordinator broker {} (group {}, generation {})",
            coordinator.0, offsets.group_id, offsets.generation_id
        ));
        self.pending = None;
        self.in_flight = Some(InFlight {
            token,
            sent_at: now,
            request: TxnRequest::TxnOffsetCommit,
        });
        out.push((
            node,
            NodeId::from(coordinator),
            Msg::TxnOffsetCommit {
                token,
                transactional_id: self.manager.transactional_id.clone(),
                group_id: offsets.group_id,
                producer_id: self.manager.producer_id,
                producer_epoch: self.manager.producer_epoch,
                generation_id: offsets.generation_id,
                member_id: offsets.member_id,
                group_instance_id: offsets.group_instance_id,
                offsets: offsets.offsets,
            },
        ));
    }

    /// What the state machine asks for next, if anything.
    fn next_request(&mut self, producer: &mut Producer) -> Option<TxnRequest> {
        match self.manager.state {
            ClientTxnState::Uninitialized => {
                self.manager.init_transactions().ok()?;
                Some(TxnRequest::InitProducerId)
            }
            ClientTxnState::Initializing => Some(TxnRequest::InitProducerId),
            ClientTxnState::InTransaction | ClientTxnState::AbortableError => {
                if !self.manager.new_partitions.is_empty() && self.ending != Some(false) {
                    return Some(TxnRequest::AddPartitions(
                        self.manager.new_partitions.iter().cloned().collect(),
                    ));
                }
                let transaction_commit = self.ending?;
                // A failure the client has not handed over yet still makes the transaction
                // abortable: it must not be committed on the same tick.
                if transaction_commit && producer.has_untaken_failure() {
                    return None;
                }
                let transaction_commit =
                    transaction_commit && self.manager.state != ClientTxnState::AbortableError;
                if transaction_commit && self.send_offsets.is_some() {
                    if !self.offsets_added {
                        return Some(TxnRequest::AddOffsets);
                    }
                    if !self.offsets_written {
                        return Some(TxnRequest::TxnOffsetCommit);
                    }
                }
                if !transaction_commit {
                    // Kafka's abortTransaction: batches not yet sent fail at once; those in
                    // flight are awaited.
                    if producer.abort_undrained_batches(ProducerError::TransactionAborted) {
                        self.send_failed = true;
                    }
                    // Partitions never added are not the coordinator's to abort.
                    self.manager.new_partitions.clear();
                } else {
                    producer.flush();
                }
                if producer.has_incomplete_batches() {
                    return None;
                }
                if !transaction_commit && self.manager.producer_id_mapping_lost {
                    return self.abort_with_lost_producer_id(producer);
                }
                let started = if transaction_commit {
                    self.manager.commit_transaction()
                } else {
                    self.manager.abort_transaction()
                };
                match started {
                    Ok(true) => Some(TxnRequest::EndTxn { transaction_commit }),
                    Ok(false) => {
                        // Nothing was added: the coordinator never knew of it.
                        self.ending = None;
                        self.record(if transaction_commit {
                            TxnOutcome::Committed
                        } else {
                            TxnOutcome::Aborted
                        });
                        None
                    }
                    Err(e) => {
                        self.lines.push(format!("cannot end the transaction: {e}"));
                        None
                    }
                }
            }
            ClientTxnState::CommittingTransaction => Some(TxnRequest::EndTxn {
                transaction_commit: true,
            }),
            ClientTxnState::AbortingTransaction => Some(TxnRequest::EndTxn {
                transaction_commit: false,
            }),
            ClientTxnState::Ready | ClientTxnState::FatalError => None,
        }
    }

    /// The abort after INVALID_PRODUCER_ID_MAPPING: no EndTxn (the coordinator does not map
    /// the id to this producer any more), InitProducerId at once for a new producer id, as
    /// Kafka's `TransactionManager.beginCompletingTransaction` does.
    fn abort_with_lost_producer_id(&mut self, producer: &mut Producer) -> Option<TxnRequest> {
        if let Err(e) = self.manager.abort_with_lost_producer_id() {
            self.lines.push(format!("cannot end the transaction: {e}"));
            return None;
        }
        self.ending = None;
        self.send_failed = false;
        producer.end_transaction();
        self.lines.push(
            "the coordinator does not know the producer id (INVALID_PRODUCER_ID_MAPPING): aborting without EndTxn, InitProducerId for a new one (KIP-360)"
                .into(),
        );
        self.aborted += 1;
        self.lines.push(format!(
            "transaction aborted ({} record(s))",
            self.values.len()
        ));
        self.record(TxnOutcome::Aborted);
        Some(TxnRequest::InitProducerId)
    }

    /// A coordinator's answer (or a FindCoordinator answer). Returns whether it was for us.
    pub fn on_message(&mut self, now: SimTime, msg: &Msg, producer: &mut Producer) -> bool {
        match msg {
            Msg::FindTransactionCoordinatorResponse {
                error, coordinator, ..
            } => {
                self.finding_since = None;
                match (error, coordinator) {
                    (ErrorCode::None, Some(b)) => {
                        self.coordinator = Some(*b);
                        self.lines.push(format!(
                            "transaction coordinator for {:?} is broker {}",
                            self.manager.transactional_id, b.0
                        ));
                    }
                    (e, _) => {
                        self.lines
                            .push(format!("FindCoordinator (transaction): {}", e.name()));
                        self.back_off(now, self.retry_backoff_ms);
                    }
                }
                true
            }
            Msg::FindCoordinatorResponse {
                error, coordinator, ..
            } => {
                self.finding_since = None;
                match (error, coordinator) {
                    (ErrorCode::None, Some(b)) => {
                        self.group_coordinator = Some(*b);
                        self.lines.push(format!(
                            "group coordinator for the offsets is broker {}",
                            b.0
                        ));
                    }
                    (e, _) => {
                        self.lines
                            .push(format!("FindCoordinator (group): {}", e.name()));
                        self.back_off(now, self.retry_backoff_ms);
                    }
                }
                true
            }
            Msg::AddOffsetsToTxnResponse { token, error } => {
                if !self.take_in_flight(*token) {
                    return true;
                }
                match crate::client::transactions::classify(*error) {
                    TxnNext::Proceed => {
                        self.offsets_added = true;
                        self.manager.transaction_started_by_offsets();
                    }
                    TxnNext::Abortable => {
                        self.lines.push(format!(
                            "AddOffsetsToTxn: {}: the transaction must abort",
                            error.name()
                        ));
                        self.ending = Some(false);
                    }
                    next => self.after_error(now, TxnRequest::AddOffsets, *error, next, producer),
                }
                true
            }
            Msg::TxnOffsetCommitResponse { token, error, .. } => {
                if !self.take_in_flight(*token) {
                    return true;
                }
                match error {
                    ErrorCode::None => {
                        self.offsets_written = true;
                        self.lines.push(
                            "TxnOffsetCommit: offsets written, pending until the transaction's marker".into(),
                        );
                    }
                    ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                        self.errors.push(error.name());
                        self.group_coordinator = None;
                        self.pending = Some(TxnRequest::TxnOffsetCommit);
                        self.back_off(now, self.retry_backoff_ms);
                    }
                    ErrorCode::InvalidProducerEpoch | ErrorCode::ProducerFenced => {
                        self.fatal(ErrorCode::ProducerFenced, producer);
                    }
                    e if e.is_retriable() || *e == ErrorCode::CoordinatorLoadInProgress => {
                        self.errors.push(error.name());
                        self.pending = Some(TxnRequest::TxnOffsetCommit);
                        self.back_off(now, self.retry_backoff_ms);
                    }
                    // ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID: the consumer is
                    // no longer the partitions' owner (CommitFailedException): abort.
                    e => {
                        self.errors.push(e.name());
                        self.lines.push(format!(
                            "TxnOffsetCommit: {}: CommitFailedException, the transaction must abort",
                            e.name()
                        ));
                        self.ending = Some(false);
                    }
                }
                true
            }
            Msg::InitProducerIdResponse {
                token,
                error,
                producer_id,
                producer_epoch,
            } => {
                if !self.take_in_flight(*token) {
                    return true;
                }
                let answer = if *error == ErrorCode::None {
                    Ok((*producer_id, *producer_epoch))
                } else {
                    Err(*error)
                };
                match self.manager.on_init_producer_id(answer) {
                    TxnNext::Proceed => {
                        self.lines.push(format!(
                            "InitProducerId: producer id {} epoch {}",
                            producer_id.0, producer_epoch.0
                        ));
                        producer.set_producer_id(*producer_id, *producer_epoch);
                    }
                    next => {
                        self.after_error(now, TxnRequest::InitProducerId, *error, next, producer)
                    }
                }
                true
            }
            Msg::AddPartitionsToTxnResponse {
                token,
                error,
                partitions,
            } => {
                if !self.take_in_flight(*token) {
                    return true;
                }
                match self.manager.on_add_partitions(partitions, *error) {
                    TxnNext::Proceed => {
                        for tp in partitions {
                            producer.allow_transaction_partition(tp);
                        }
                    }
                    TxnNext::Abortable => {
                        self.lines.push(format!(
                            "AddPartitionsToTxn: {}: the transaction must abort",
                            error.name()
                        ));
                        self.ending = Some(false);
                    }
                    next => {
                        let retry = TxnRequest::AddPartitions(partitions.clone());
                        self.after_error(now, retry, *error, next, producer);
                        if *error == ErrorCode::ConcurrentTransactions {
                            self.back_off(now, ADD_PARTITIONS_RETRY_BACKOFF_MS);
                        }
                    }
                }
                true
            }
            Msg::EndTxnResponse {
                token,
                error,
                producer_id,
                producer_epoch,
            } => {
                let Some(transaction_commit) =
                    self.in_flight.as_ref().and_then(|f| match f.request {
                        TxnRequest::EndTxn { transaction_commit } if f.token == *token => {
                            Some(transaction_commit)
                        }
                        _ => None,
                    })
                else {
                    return true;
                };
                self.in_flight = None;
                if *error != ErrorCode::None {
                    let next = crate::client::transactions::classify(*error);
                    let next = if next == TxnNext::Fatal {
                        self.manager.on_end_txn(*error)
                    } else {
                        next
                    };
                    self.after_error(
                        now,
                        TxnRequest::EndTxn { transaction_commit },
                        *error,
                        next,
                        producer,
                    );
                    return true;
                }
                let reinit = !transaction_commit && self.send_failed;
                self.ending = None;
                producer.end_transaction();
                if transaction_commit {
                    self.committed += 1;
                    self.lines.push(format!(
                        "transaction committed ({} record(s))",
                        self.values.len()
                    ));
                    self.record(TxnOutcome::Committed);
                } else {
                    self.aborted += 1;
                    self.lines.push(format!(
                        "transaction aborted ({} record(s))",
                        self.values.len()
                    ));
                    self.record(TxnOutcome::Aborted);
                }
                let bumped = (*producer_id, *producer_epoch);
                if bumped.0 .0 >= 0
                    && bumped != (self.manager.producer_id, self.manager.producer_epoch)
                {
                    // Transaction version 2 (KIP-890 part 2): the next transaction runs at
                    // the epoch this EndTxn bumped to, its sequences from 0.
                    self.lines.push(format!(
                        "EndTxn bumped the epoch (transaction version 2): producer id {} epoch {} -> producer id {} epoch {}",
                        self.manager.producer_id.0,
                        self.manager.producer_epoch.0,
                        bumped.0 .0,
                        bumped.1 .0
                    ));
                    self.manager.producer_id = bumped.0;
                    self.manager.producer_epoch = bumped.1;
                    producer.set_producer_id(bumped.0, bumped.1);
                }
                if reinit && self.manager.reinitialize_after_abort().is_ok() {
                    self.lines.push(
                        "a send of the aborted transaction failed: bumping the epoch (InitProducerId, KIP-360)"
                            .into(),
                    );
                    self.pending = Some(TxnRequest::InitProducerId);
                } else {
                    let _ = self.manager.on_end_txn(ErrorCode::None);
                }
                self.send_failed = false;
                true
            }
            _ => false,
        }
    }

    fn take_in_flight(&mut self, token: RequestToken) -> bool {
        if self.in_flight.as_ref().is_some_and(|f| f.token == token) {
            self.in_flight = None;
            true
        } else {
            false
        }
    }

    fn back_off(&mut self, now: SimTime, ms: u64) {
        self.retry_at = now.saturating_add(SimDuration::from_millis(ms));
    }

    fn after_error(
        &mut self,
        now: SimTime,
        request: TxnRequest,
        error: ErrorCode,
        next: TxnNext,
        producer: &mut Producer,
    ) {
        if next != TxnNext::Fatal {
            self.errors.push(error.name());
        }
        match next {
            TxnNext::Fatal => {
                let error = if error == ErrorCode::InvalidProducerEpoch {
                    ErrorCode::ProducerFenced
                } else {
                    error
                };
                self.fatal(error, producer);
            }
            TxnNext::FindCoordinator => {
                self.lines.push(format!(
                    "{}: {}: finding the coordinator again",
                    request.name(),
                    error.name()
                ));
                self.coordinator = None;
                self.pending = Some(request);
                self.back_off(now, self.retry_backoff_ms);
            }
            TxnNext::Retry | TxnNext::Proceed | TxnNext::Abortable => {
                self.lines
                    .push(format!("{}: {}: retrying", request.name(), error.name()));
                self.pending = Some(request);
                self.back_off(now, self.retry_backoff_ms);
            }
        }
    }

    /// The connection to `broker` was reset: a request in flight to it is sent again after
    /// finding the coordinator.
    pub fn on_disconnect(&mut self, broker: BrokerId) {
        if self.group_coordinator == Some(broker) {
            if self
                .in_flight
                .as_ref()
                .is_some_and(|f| f.request == TxnRequest::TxnOffsetCommit)
            {
                self.in_flight = None;
                self.pending = Some(TxnRequest::TxnOffsetCommit);
            }
            self.group_coordinator = None;
        }
        if self.coordinator == Some(broker) {
            if let Some(f) = self.in_flight.take() {
                self.pending = Some(f.request);
            }
            self.coordinator = None;
        }
    }

    /// The producer id and epoch in use, for summaries.
    pub fn producer_id_and_epoch(&self) -> (ProducerId, ProducerEpoch) {
        (self.manager.producer_id, self.manager.producer_epoch)
    }
}
