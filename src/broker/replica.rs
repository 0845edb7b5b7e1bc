//! One broker's replica of one partition: the state machine that makes it a leader or a follower
//! from the controller's registration, on top of its `PartitionLog` and `LeaderEpochCache`.
//!
//! As leader it tracks each follower's fetch state, answers follower fetches (records up to the
//! LEO, or a diverging epoch, KIP-279), raises the high watermark over the maximal ISR (R-2, with
//! the ⟨≥3.7⟩ min-ISR hold), proposes ISR shrinks and expansions as AlterPartition data (R-3,
//! R-4), accepts produce requests per `acks` and parks acks=all ones until the HW covers them
//! and serves consumers up to the HW with KIP-320 epoch checks. As follower it builds
//! fetch requests from its LEO and latest epoch, appends what the leader sends keeping offsets
//! and epochs, follows the leader's HW one round late, and truncates where the logs
//! diverged.
//!
//! Invariants kept and asserted: INV-1 (the log asserts `log start ≤ HW ≤ LEO`; here the leader's
//! HW never decreases within its epoch), INV-3 (a consumer fetch never returns a batch reaching
//! the HW), INV-5 (a registration naming this broker leader must have it in the ISR).
//!
//! Sans-IO: every handler takes `now`; replies are return values, and what must be sent later
//! (completed acks=all produces, AlterPartition proposals) queues in a bounded outbox drained by
//! `poll_output`. `next_wakeup` says when `handle_timer` must run (ISR checks, produce timeouts).

use super::config::{FollowerTruncation, HighWatermarkMinIsr, ReplicaConfig};
use super::errors::ErrorCode;
use super::leader_epoch_cache::{
    EpochEndOffset, LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET,
};
use super::messages::{
    AbortedTransaction, Acks, AlterPartitionRequest, AlterPartitionResponse, ConsumerFetchRequest,
    FetchResponse, FollowerFetchOutcome, FollowerFetchRequest, IsolationLevel, ListOffsetsRequest,
    ListOffsetsResponse, OffsetForLeaderEpochResponse, OffsetSpec, PartitionRegistration,
    ProduceOutcome, ProduceRequest, ProduceResponse, ReplicaOutput, RequestToken, TxnMarker,
};
use super::txn::PartitionTxnState;
use crate::ids::{BrokerId, LeaderEpoch, Offset, ProducerEpoch, ProducerId};
use crate::log::batch::{decode_batch, BatchHeader, RecordBatch};
use crate::log::control::EndTransactionMarker;
use crate::log::{LogError, PartitionLog};
use crate::storage::StorageRequest;
use crate::time::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// Most acks=all produces one partition keeps parked (Kafka's purgatory is unbounded; ours is
/// not, so a runaway workload fails loudly instead of eating memory).
pub const DELAYED_PRODUCES_MAX: u32 = 10_000;

/// Most outputs waiting for `poll_output`: every parked produce completing at once, plus one
/// AlterPartition proposal (only one is ever in flight).
pub const REPLICA_OUTPUTS_MAX: u32 = DELAYED_PRODUCES_MAX + 1;

const _: () = assert!(REPLICA_OUTPUTS_MAX > DELAYED_PRODUCES_MAX);

/// Operating failures (not protocol errors, which are `ErrorCode` data in responses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaError {
    Log(LogError),
    InvalidConfig(String),
    InvalidRegistration(String),
    PurgatoryFull { limit: u32 },
}

impl fmt::Display for ReplicaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplicaError::Log(e) => write!(f, "{e}"),
            ReplicaError::InvalidConfig(m) => write!(f, "invalid replica config: {m}"),
            ReplicaError::InvalidRegistration(m) => {
                write!(f, "invalid partition registration: {m}")
            }
            ReplicaError::PurgatoryFull { limit } => {
                write!(f, "{limit} acks=all produce requests are already waiting")
            }
        }
    }
}

impl std::error::Error for ReplicaError {}

impl From<LogError> for ReplicaError {
    fn from(e: LogError) -> Self {
        ReplicaError::Log(e)
    }
}

/// What the leader knows about one follower (Kafka's `Replica` state). Times are Kafka's
/// milliseconds; `None` is Kafka's "unknown" (-1 offsets, 0 times on a brand-new leader).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerFetchState {
    /// The `fetch_offset` of the follower's latest accepted fetch.
    pub log_end_offset: Option<Offset>,
    pub log_start_offset: Option<Offset>,
    /// the latest time the follower was known to have reached the leader's LEO.
    pub last_caught_up_time_ms: Option<i64>,
    /// The leader's LEO when the previous fetch was served, and that fetch's time.
    pub last_fetch_leader_log_end_offset: Option<Offset>,
    pub last_fetch_time_ms: Option<i64>,
    /// The broker epoch of the follower's latest fetch (KIP-903).
    pub broker_epoch: Option<crate::protocol::BrokerEpoch>,
}

impl FollowerFetchState {
    /// A new leader's view of a follower: positions unknown; an ISR member counts as caught up
    /// now, so it gets a full `replica.lag.time.max.ms` before it can be dropped.
    fn reset(now_ms: i64, in_isr: bool) -> FollowerFetchState {
        FollowerFetchState {
            log_end_offset: None,
            log_start_offset: None,
            last_caught_up_time_ms: in_isr.then_some(now_ms),
            last_fetch_leader_log_end_offset: None,
            last_fetch_time_ms: None,
            broker_epoch: None,
        }
    }

    /// Kafka's `updateFetchStateOrThrow`. A fetch at or past the leader's LEO catches the
    /// follower up now; one that reaches the LEO as of the *previous* fetch catches it up as of
    /// that fetch's time, so a follower that keeps pace with a steady stream stays in sync.
    fn update(
        &mut self,
        fetch_offset: Offset,
        follower_log_start: Offset,
        now_ms: i64,
        leader_log_end_offset: Offset,
    ) {
        let caught_up_at = if fetch_offset >= leader_log_end_offset {
            Some(now_ms)
        } else if self
            .last_fetch_leader_log_end_offset
            .is_some_and(|previous| fetch_offset >= previous)
        {
            self.last_fetch_time_ms
        } else {
            None
        };
        if let Some(at) = caught_up_at {
            self.last_caught_up_time_ms = Some(
                self.last_caught_up_time_ms
                    .map_or(at, |known| known.max(at)),
            );
        }
        self.last_fetch_leader_log_end_offset = Some(leader_log_end_offset);
        self.last_fetch_time_ms = Some(now_ms);
        self.log_end_offset = Some(fetch_offset);
        self.log_start_offset = Some(follower_log_start);
    }

    /// Kafka's `isCaughtUp`: at the leader's LEO, or caught up within the lag bound.
    pub fn is_caught_up(&self, leader_log_end_offset: Offset, now_ms: i64, lag_ms: i64) -> bool {
        self.log_end_offset == Some(leader_log_end_offset)
            || self
                .last_caught_up_time_ms
                .is_some_and(|at| now_ms.saturating_sub(at) <= lag_ms)
    }
}

/// An AlterPartition in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PendingIsrChange {
    /// Set for an expansion: the follower already counts in the maximal ISR.
    added: Option<BrokerId>,
    proposed_isr: Vec<BrokerId>,
}

/// An acks=all produce waiting for the HW (Kafka's `DelayedProduce`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct DelayedProduce {
    token: RequestToken,
    /// `lastOffset + 1`: the HW that acknowledges the batch.
    required_offset: Offset,
    response: ProduceResponse,
    deadline: SimTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct LeaderState {
    /// The LEO when this epoch began: a follower below it cannot rejoin the ISR.
    epoch_start_offset: Offset,
    followers: BTreeMap<BrokerId, FollowerFetchState>,
    pending_isr_change: Option<PendingIsrChange>,
    delayed_produces: VecDeque<DelayedProduce>,
    /// The HW when this epoch began or last advanced: INV-1 says it never goes lower.
    high_watermark_floor: Offset,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    /// No registration yet, or this broker is not among the partition's replicas.
    Unassigned,
    Leader(LeaderState),
    /// `leader` is `None` while the partition is offline.
    Follower {
        leader: Option<BrokerId>,
    },
}

/// The replica of one partition on one broker.
#[derive(Clone, Debug)]
pub struct PartitionReplica {
    local: BrokerId,
    config: ReplicaConfig,
    log: PartitionLog,
    epoch_cache: LeaderEpochCache,
    /// The latest registration applied, with the ISR as last committed by the controller.
    registration: Option<PartitionRegistration>,
    role: Role,
    /// Brokers the controller says may not join the ISR (fenced, shutting down).
    isr_ineligible: BTreeSet<BrokerId>,
    /// When the next `isr-expiration` check is due: the broker runs it every
    /// `replica.lag.time.max.ms / 2` from its start, for all its partitions.
    next_isr_check: SimTime,
    outputs: VecDeque<ReplicaOutput>,
    /// Open transactions, the aborted-transaction index and the markers' epochs, kept from
    /// what is appended (as leader or follower) and rebuilt from the log on recovery, so a
    /// new leader knows its last stable offset at once.
    txn: PartitionTxnState,
}

impl PartitionReplica {
    /// A replica over `log` (new or recovered; its epoch cache is rebuilt from the batches).
    /// `isr_check_origin` is when the broker started its `isr-expiration` schedule.
    pub fn new(
        local: BrokerId,
        log: PartitionLog,
        config: ReplicaConfig,
        isr_check_origin: SimTime,
    ) -> Result<PartitionReplica, ReplicaError> {
        config.validate().map_err(ReplicaError::InvalidConfig)?;
        let epoch_cache = LeaderEpochCache::from_log(&log);
        let mut txn = PartitionTxnState::new();
        for (_, bytes) in log.segment_bytes() {
            observe_transactions(&mut txn, bytes, None);
        }
        txn.truncate_head(log.log_start_offset());
        Ok(PartitionReplica {
            local,
            config,
            log,
            epoch_cache,
            registration: None,
            role: Role::Unassigned,
            isr_ineligible: BTreeSet::new(),
            next_isr_check: isr_check_origin,
            outputs: VecDeque::new(),
            txn,
        })
    }

    // ---- views --------------------------------------------------------------------------

    pub fn local_broker(&self) -> BrokerId {
        self.local
    }

    pub fn config(&self) -> &ReplicaConfig {
        &self.config
    }

    pub fn log(&self) -> &PartitionLog {
        &self.log
    }

    /// The hosting broker's clock skew, which the log reads its times on (a clock-skew fault).
    pub fn set_wall_clock_skew_ms(&mut self, skew_ms: i64) {
        self.log.set_wall_clock_skew_ms(skew_ms);
    }

    pub fn epoch_cache(&self) -> &LeaderEpochCache {
        &self.epoch_cache
    }

    pub fn registration(&self) -> Option<&PartitionRegistration> {
        self.registration.as_ref()
    }

    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// The leader this replica follows, if it is a follower of an online partition.
    pub fn fetch_leader(&self) -> Option<BrokerId> {
        match self.role {
            Role::Follower { leader } => leader,
            _ => None,
        }
    }

    pub fn leader_epoch(&self) -> Option<LeaderEpoch> {
        self.registration.as_ref().map(|r| r.leader_epoch)
    }

    pub fn high_watermark(&self) -> Offset {
        self.log.high_watermark()
    }

    /// Whether `producer_id` has an open transaction in this partition (its first
    /// transactional batch arrived and no marker yet).
    pub fn transaction_open_for(&self, producer_id: ProducerId) -> bool {
        self.txn.ongoing().contains_key(&producer_id)
    }

    /// T-5: the last stable offset, min(first offset of the earliest open transaction, HW).
    pub fn last_stable_offset(&self) -> Offset {
        // Never below the log start: retention (bounded by the HW) may have deleted an open
        // transaction's first batches (Kafka clamps the first unstable offset likewise).
        self.txn
            .last_stable_offset(self.log.high_watermark())
            .max(self.log.log_start_offset())
    }

    /// The partition's transactions as this replica knows them.
    pub fn transactions(&self) -> &PartitionTxnState {
        &self.txn
    }

    pub fn log_end_offset(&self) -> Offset {
        self.log.log_end_offset()
    }

    pub fn log_start_offset(&self) -> Offset {
        self.log.log_start_offset()
    }

    /// The ISR as the controller last committed it (empty before any registration).
    pub fn isr(&self) -> &[BrokerId] {
        self.registration.as_ref().map_or(&[], |r| r.isr.as_slice())
    }

    /// The ISR the leader's HW and acks=all use: the committed ISR plus an expansion in flight.
    /// A shrink in flight does not count until the controller commits it.
    pub fn maximal_isr(&self) -> Vec<BrokerId> {
        let mut isr = self.isr().to_vec();
        if let Role::Leader(state) = &self.role {
            if let Some(added) = state.pending_isr_change.as_ref().and_then(|p| p.added) {
                if !isr.contains(&added) {
                    isr.push(added);
                }
            }
        }
        isr
    }

    /// The ISR proposed in the AlterPartition in flight, if any.
    pub fn pending_isr(&self) -> Option<&[BrokerId]> {
        match &self.role {
            Role::Leader(state) => state
                .pending_isr_change
                .as_ref()
                .map(|p| p.proposed_isr.as_slice()),
            _ => None,
        }
    }

    pub fn follower_state(&self, follower: BrokerId) -> Option<FollowerFetchState> {
        match &self.role {
            Role::Leader(state) => state.followers.get(&follower).copied(),
            _ => None,
        }
    }

    pub fn delayed_produce_count(&self) -> u32 {
        match &self.role {
            Role::Leader(state) => state.delayed_produces.len() as u32,
            _ => 0,
        }
    }

    /// `min(min.insync.replicas, RF)`: Kafka's effective minimum ISR.
    pub fn effective_min_isr(&self) -> u32 {
        let replication_factor = self
            .registration
            .as_ref()
            .map_or(1, |r| r.replicas.len() as u32);
        self.config.min_insync_replicas.min(replication_factor)
    }

    /// One `log.retention.check.interval.ms` tick (L-6): deletes the segments the log's
    /// retention configs let go (never past the high watermark) and drops the leader epochs
    /// that now start below the new log start offset. Returns the deleted segments.
    pub fn apply_retention(
        &mut self,
        now: SimTime,
    ) -> Result<Vec<crate::log::retention::DeletedSegment>, ReplicaError> {
        let deleted = self.log.apply_retention_detailed(now.as_millis())?;
        if !deleted.is_empty() {
            self.epoch_cache
                .truncate_from_start(self.log.log_start_offset());
            self.txn.truncate_head(self.log.log_start_offset());
        }
        Ok(deleted)
    }

    /// The log's storage requests, in order (the replica owns the log, so it relays them).
    pub fn take_storage_requests(&mut self) -> Vec<StorageRequest> {
        self.log.take_storage_requests()
    }

    /// The next output for the driver to carry.
    pub fn poll_output(&mut self) -> Option<ReplicaOutput> {
        self.outputs.pop_front()
    }

    /// When `handle_timer` must next run: the next ISR check while leading, or the earliest
    /// parked produce deadline.
    pub fn next_wakeup(&self) -> Option<SimTime> {
        match &self.role {
            Role::Leader(state) => {
                let deadline = state.delayed_produces.iter().map(|d| d.deadline).min();
                Some(deadline.map_or(self.next_isr_check, |d| d.min(self.next_isr_check)))
            }
            _ => None,
        }
    }

    // ---- metadata -----------------------------------------------------------------------

    /// The controller's brokers that may not join the ISR (fenced or shutting down, KRaft).
    pub fn set_isr_ineligible(&mut self, brokers: BTreeSet<BrokerId>) {
        self.isr_ineligible = brokers;
    }

    /// Applies a registration from metadata. Older ones (lower leader epoch, or the same epoch
    /// and a partition epoch not above the current) are ignored: returns whether it applied.
    /// A new leader epoch naming this broker makes it leader, recording `(epoch, LEO)` in the
    /// epoch cache without truncating; one naming another broker makes it a follower;
    /// the same epoch with a newer partition epoch updates the ISR and replicas in place.
    pub fn apply_registration(
        &mut self,
        now: SimTime,
        registration: PartitionRegistration,
    ) -> Result<bool, ReplicaError> {
        validate_registration(&registration)?;
        self.catch_up_isr_schedule(now);
        if let Some(current) = &self.registration {
            let newer = registration.leader_epoch > current.leader_epoch
                || (registration.leader_epoch == current.leader_epoch
                    && registration.partition_epoch > current.partition_epoch);
            if !newer {
                return Ok(false);
            }
        }
        let now_ms = now.as_millis();
        let previous_epoch = self.leader_epoch();
        let was_leader = self.is_leader();
        let leads = registration.leader == Some(self.local);
        let assigned = registration.replicas.contains(&self.local);
        let same_epoch = previous_epoch == Some(registration.leader_epoch);
        self.registration = Some(registration.clone());
        if !assigned || !leads {
            if was_leader {
                self.fail_delayed_produces(ErrorCode::NotLeaderOrFollower);
            }
            self.role = if assigned {
                Role::Follower {
                    leader: registration.leader,
                }
            } else {
                Role::Unassigned
            };
            let legacy = self.config.follower_truncation == FollowerTruncation::HighWatermark;
            if assigned && !same_epoch && legacy {
                // Pre-KIP-101 `makeFollowers`: cut the log to the HW before fetching.
                let high_watermark = self.log.high_watermark();
                if high_watermark < self.log.log_end_offset() {
                    self.truncate(now, high_watermark)?;
                }
            }
            return Ok(true);
        }
        let local = self.local;
        let log_end_offset = self.log.log_end_offset();
        let high_watermark = self.log.high_watermark();
        let Role::Leader(state) = &mut self.role else {
            self.role = Role::Leader(new_leader_state(
                &registration,
                local,
                log_end_offset,
                high_watermark,
                now_ms,
            ));
            self.epoch_cache
                .assign(registration.leader_epoch, log_end_offset);
            self.after_leader_change(now);
            return Ok(true);
        };
        // Already leading: a committed ISR change or reassignment, or a new epoch for us.
        state.pending_isr_change = None;
        state
            .followers
            .retain(|id, _| registration.replicas.contains(id));
        for id in registration.replicas.iter().filter(|id| **id != local) {
            state.followers.entry(*id).or_insert_with(|| {
                FollowerFetchState::reset(now_ms, registration.isr.contains(id))
            });
        }
        if !same_epoch {
            state.epoch_start_offset = log_end_offset;
            state.high_watermark_floor = high_watermark;
            self.epoch_cache
                .assign(registration.leader_epoch, log_end_offset);
        }
        self.after_leader_change(now);
        Ok(true)
    }

    /// The controller's answer to our AlterPartition. Accepted: the new ISR and partition epoch
    /// are committed (the HW may now use the smaller ISR). Rejected: the proposal is dropped and
    /// the next check may propose again. Answers for another epoch are stale and ignored.
    pub fn handle_alter_partition_response(
        &mut self,
        now: SimTime,
        response: AlterPartitionResponse,
    ) -> Result<(), ReplicaError> {
        self.catch_up_isr_schedule(now);
        let Some(registration) = self.registration.as_mut() else {
            return Ok(());
        };
        let Role::Leader(state) = &mut self.role else {
            return Ok(());
        };
        if state.pending_isr_change.is_none() {
            return Ok(());
        }
        match response {
            AlterPartitionResponse::Accepted {
                isr,
                leader_epoch,
                partition_epoch,
            } => {
                if leader_epoch != registration.leader_epoch
                    || partition_epoch < registration.partition_epoch
                {
                    return Ok(());
                }
                if !isr.contains(&self.local) {
                    return Err(ReplicaError::InvalidRegistration(format!(
                        "the controller committed ISR {isr:?} without its leader {} (INV-5)",
                        self.local
                    )));
                }
                registration.isr = isr;
                registration.partition_epoch = partition_epoch;
                state.pending_isr_change = None;
                self.after_leader_change(now);
            }
            AlterPartitionResponse::Rejected(_) => {
                state.pending_isr_change = None;
            }
        }
        Ok(())
    }

    // ---- timers -------------------------------------------------------------------------

    /// Runs what is due at `now`: the `isr-expiration` check and produce timeouts.
    pub fn handle_timer(&mut self, now: SimTime) {
        self.catch_up_isr_schedule(now);
        if now >= self.next_isr_check {
            self.maybe_shrink_isr(now);
            let interval = self.isr_check_interval();
            while self.next_isr_check <= now {
                self.next_isr_check = self.next_isr_check.saturating_add(interval);
            }
        }
        self.expire_delayed_produces(now);
    }

    fn isr_check_interval(&self) -> SimDuration {
        SimDuration::from_millis(self.config.isr_check_interval_ms().max(1))
    }

    /// While not leading, nothing calls `handle_timer` (no wake-up is asked for), so checks due
    /// meanwhile are skipped: the broker-wide schedule ran them and found nothing to do here.
    /// A check due exactly now stays due.
    fn catch_up_isr_schedule(&mut self, now: SimTime) {
        if self.is_leader() {
            return;
        }
        let interval = self.isr_check_interval();
        while self.next_isr_check < now {
            self.next_isr_check = self.next_isr_check.saturating_add(interval);
        }
    }

    // ---- produce ------------------------------------------------------------------------

    /// A produce request for this partition. acks=all is refused before appending when
    /// the ISR is below `min(min.insync.replicas, RF)`; otherwise it appends and waits for the
    /// HW to pass the batch.
    pub fn handle_produce(
        &mut self,
        now: SimTime,
        token: RequestToken,
        request: &ProduceRequest,
    ) -> Result<ProduceOutcome, ReplicaError> {
        self.append_as_leader(now, token, request, None)
    }

    /// WriteTxnMarkers for this partition (T-5): the transaction coordinator's COMMIT or ABORT
    /// marker for a producer, appended as a control batch and answered like an acks=all
    /// produce, once the HW has passed it (Kafka appends markers with `requiredAcks = -1`,
    /// `min.insync.replicas` included). A zombie coordinator's marker (an older coordinator
    /// epoch) gets TRANSACTION_COORDINATOR_FENCED and a stale producer epoch
    /// INVALID_PRODUCER_EPOCH, with nothing written.
    pub fn handle_write_txn_marker(
        &mut self,
        now: SimTime,
        token: RequestToken,
        marker: &TxnMarker,
    ) -> Result<ProduceOutcome, ReplicaError> {
        let batch = RecordBatch::new_control(
            EndTransactionMarker {
                control_type: marker.control_type,
                coordinator_epoch: marker.coordinator_epoch,
            },
            marker.producer_id,
            marker.producer_epoch,
            now.as_millis(),
        );
        let request = ProduceRequest {
            acks: Acks::All,
            timeout_ms: marker.timeout_ms,
            records: Vec::new(),
            current_leader_epoch: None,
        };
        self.append_as_leader(
            now,
            token,
            &request,
            Some((batch, marker.coordinator_epoch)),
        )
    }

    /// A produce request's append on the leader, or with `marker` a coordinator's control
    /// batch in place of the request's records. The log refuses a client's control batch
    /// (Kafka's `LogValidator` takes them only from the coordinator): INVALID_RECORD.
    fn append_as_leader(
        &mut self,
        now: SimTime,
        token: RequestToken,
        request: &ProduceRequest,
        marker: Option<(RecordBatch, i32)>,
    ) -> Result<ProduceOutcome, ReplicaError> {
        self.catch_up_isr_schedule(now);
        let refuse = |error: ErrorCode| match request.acks {
            Acks::Zero => ProduceOutcome::NoResponse { error },
            Acks::One | Acks::All => ProduceOutcome::Respond(ProduceResponse::error(error)),
        };
        let Some(epoch) = self.leader_epoch().filter(|_| self.is_leader()) else {
            return Ok(refuse(ErrorCode::NotLeaderOrFollower));
        };
        if request.current_leader_epoch.is_some_and(|e| e != epoch) {
            return Ok(refuse(ErrorCode::NotLeaderOrFollower));
        }
        if request.acks == Acks::All {
            if (self.isr().len() as u32) < self.effective_min_isr() {
                return Ok(refuse(ErrorCode::NotEnoughReplicas));
            }
            if self.delayed_produce_count() >= DELAYED_PRODUCES_MAX {
                return Err(ReplicaError::PurgatoryFull {
                    limit: DELAYED_PRODUCES_MAX,
                });
            }
        }
        // A marker is checked after the leadership and ISR checks (a follower answers
        // NOT_LEADER_OR_FOLLOWER, which the coordinator retries elsewhere, not a fencing error).
        if let Some((batch, coordinator_epoch)) = &marker {
            if let Err(error) = self.txn.check_marker(
                ProducerId(batch.producer_id),
                ProducerEpoch(batch.producer_epoch),
                *coordinator_epoch,
            ) {
                return Ok(refuse(error));
            }
        }
        let now_ms = now.as_millis();
        let marker_bytes = marker.as_ref().map(|(batch, _)| batch.encode());
        let appended = match marker {
            Some((batch, _)) => self.log.append_as_leader(batch, epoch, now_ms),
            None => self
                .log
                .append_bytes_as_leader(&request.records, epoch, now_ms),
        };
        let info = match appended {
            Ok(info) => info,
            Err(e) => match produce_error_code(&e) {
                Some(code) => return Ok(refuse(code)),
                None => return Err(e.into()),
            },
        };
        self.epoch_cache.assign(epoch, info.first_offset);
        observe_transactions(
            &mut self.txn,
            marker_bytes.as_deref().unwrap_or(&request.records),
            Some(info.first_offset),
        );
        let response = ProduceResponse {
            error: ErrorCode::None,
            base_offset: info.first_offset,
            log_append_time_ms: info.log_append_time_ms.unwrap_or(-1),
            log_start_offset: self.log.log_start_offset(),
        };
        // RF 1, or followers already at the new LEO, let the HW move on the append itself.
        self.maybe_increment_high_watermark(now);
        self.try_complete_delayed_produces();
        let outcome = match request.acks {
            Acks::Zero => ProduceOutcome::NoResponse {
                error: ErrorCode::None,
            },
            Acks::One => ProduceOutcome::Respond(response),
            Acks::All => {
                let required_offset = info.last_offset.plus(1);
                match self.check_enough_replicas_reach_offset(required_offset) {
                    Some(error) => ProduceOutcome::Respond(with_error(response, error)),
                    None => {
                        let deadline = now.saturating_add(SimDuration::from_millis(u64::from(
                            request.timeout_ms,
                        )));
                        if let Role::Leader(state) = &mut self.role {
                            state.delayed_produces.push_back(DelayedProduce {
                                token,
                                required_offset,
                                response,
                                deadline,
                            });
                        }
                        ProduceOutcome::Parked
                    }
                }
            }
        };
        self.assert_leader_invariants();
        Ok(outcome)
    }

    /// Kafka's `checkEnoughReplicasReachOffset`: `None` while the HW is below `required`;
    /// once it is not, NONE if the maximal ISR still meets the minimum, else
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND (the data stays in the log either way).
    fn check_enough_replicas_reach_offset(&self, required: Offset) -> Option<ErrorCode> {
        if self.log.high_watermark() < required {
            return None;
        }
        if self.maximal_isr().len() as u32 >= self.effective_min_isr() {
            Some(ErrorCode::None)
        } else {
            Some(ErrorCode::NotEnoughReplicasAfterAppend)
        }
    }

    fn try_complete_delayed_produces(&mut self) {
        let Role::Leader(state) = &self.role else {
            return;
        };
        if state.delayed_produces.is_empty() {
            return;
        }
        let mut waiting = VecDeque::new();
        let parked = match &mut self.role {
            Role::Leader(state) => std::mem::take(&mut state.delayed_produces),
            _ => VecDeque::new(),
        };
        for delayed in parked {
            match self.check_enough_replicas_reach_offset(delayed.required_offset) {
                Some(error) => self.push_output(ReplicaOutput::ProduceCompleted {
                    token: delayed.token,
                    response: with_error(delayed.response, error),
                }),
                None => waiting.push_back(delayed),
            }
        }
        if let Role::Leader(state) = &mut self.role {
            state.delayed_produces = waiting;
        }
    }

    fn expire_delayed_produces(&mut self, now: SimTime) {
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let (expired, waiting): (VecDeque<_>, VecDeque<_>) =
            std::mem::take(&mut state.delayed_produces)
                .into_iter()
                .partition(|d| d.deadline <= now);
        state.delayed_produces = waiting;
        for delayed in expired {
            self.push_output(ReplicaOutput::ProduceCompleted {
                token: delayed.token,
                response: ProduceResponse::error(ErrorCode::RequestTimedOut),
            });
        }
    }

    fn fail_delayed_produces(&mut self, error: ErrorCode) {
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let parked = std::mem::take(&mut state.delayed_produces);
        for delayed in parked {
            self.push_output(ReplicaOutput::ProduceCompleted {
                token: delayed.token,
                response: ProduceResponse::error(error),
            });
        }
    }

    // ---- leader: follower fetch, HW, ISR ------------------------------------------------

    /// A follower's fetch. The response carries the HW as it was *before* this fetch
    /// moved it. A follower whose last fetched epoch ended below its fetch offset on the
    /// leader, or is unknown to it, gets a diverging epoch and no records (KIP-279).
    pub fn handle_follower_fetch(
        &mut self,
        now: SimTime,
        request: &FollowerFetchRequest,
    ) -> Result<FetchResponse, ReplicaError> {
        self.catch_up_isr_schedule(now);
        if let Some(error) = self.check_current_leader_epoch(request.current_leader_epoch) {
            return Ok(FetchResponse::error(error));
        }
        let known = match &self.role {
            Role::Leader(state) => state.followers.contains_key(&request.replica_id),
            _ => false,
        };
        if !known {
            return Ok(FetchResponse::error(ErrorCode::NotLeaderOrFollower));
        }
        let high_watermark = self.log.high_watermark();
        let log_start_offset = self.log.log_start_offset();
        let log_end_offset = self.log.log_end_offset();
        let out_of_range = FetchResponse {
            error: ErrorCode::OffsetOutOfRange,
            high_watermark,
            log_start_offset,
            diverging_epoch: None,
            leader_log_end_offset: Some(log_end_offset),
            records: Vec::new(),
            last_stable_offset: Offset(-1),
            aborted_transactions: Vec::new(),
        };
        if let Some(last_fetched_epoch) = request.last_fetched_epoch {
            let end = self
                .epoch_cache
                .end_offset_for(last_fetched_epoch, log_end_offset);
            if end.is_undefined() || request.fetch_offset < log_start_offset {
                return Ok(out_of_range);
            }
            if end.leader_epoch < last_fetched_epoch || end.end_offset < request.fetch_offset {
                return Ok(FetchResponse {
                    error: ErrorCode::None,
                    high_watermark,
                    log_start_offset,
                    diverging_epoch: Some(end),
                    leader_log_end_offset: None,
                    records: Vec::new(),
                    last_stable_offset: Offset(-1),
                    aborted_transactions: Vec::new(),
                });
            }
        }
        let fetched = match self
            .log
            .fetch(request.fetch_offset, request.max_bytes, log_end_offset)
        {
            Ok(fetched) => fetched,
            Err(LogError::OffsetOutOfRange { .. }) => return Ok(out_of_range),
            Err(e) => return Err(e.into()),
        };
        let moved = self.update_follower_fetch_state(now, request, log_end_offset);
        self.maybe_expand_isr(request.replica_id);
        if moved && self.maybe_increment_high_watermark(now) {
            self.try_complete_delayed_produces();
        }
        self.assert_leader_invariants();
        Ok(FetchResponse {
            error: ErrorCode::None,
            high_watermark,
            log_start_offset,
            diverging_epoch: None,
            leader_log_end_offset: None,
            records: fetched.bytes,
            last_stable_offset: Offset(-1),
            aborted_transactions: Vec::new(),
        })
    }

    /// Records the fetch; returns whether the follower's LEO changed.
    fn update_follower_fetch_state(
        &mut self,
        now: SimTime,
        request: &FollowerFetchRequest,
        leader_log_end_offset: Offset,
    ) -> bool {
        let Role::Leader(state) = &mut self.role else {
            return false;
        };
        let Some(follower) = state.followers.get_mut(&request.replica_id) else {
            return false;
        };
        let before = follower.log_end_offset;
        follower.broker_epoch = request.replica_epoch;
        follower.update(
            request.fetch_offset,
            request.log_start_offset,
            now.as_millis(),
            leader_log_end_offset,
        );
        before != follower.log_end_offset
    }

    /// R-2 (Kafka's `maybeIncrementLeaderHW`): the candidate is the leader's LEO lowered to the
    /// LEO of every follower in the maximal ISR, or caught up and ISR-eligible; the HW only
    /// grows. ⟨≥3.7⟩ Nothing moves while the committed ISR is below the effective minimum.
    fn maybe_increment_high_watermark(&mut self, now: SimTime) -> bool {
        let Role::Leader(state) = &self.role else {
            return false;
        };
        if self.config.high_watermark_min_isr == HighWatermarkMinIsr::Enforced
            && (self.isr().len() as u32) < self.effective_min_isr()
        {
            return false;
        }
        let log_end_offset = self.log.log_end_offset();
        let now_ms = now.as_millis();
        let lag_ms = i64::from(self.config.replica_lag_time_max_ms);
        let maximal_isr = self.maximal_isr();
        let mut candidate = log_end_offset;
        for (id, follower) in &state.followers {
            let counts = maximal_isr.contains(id)
                || (follower.is_caught_up(log_end_offset, now_ms, lag_ms)
                    && !self.isr_ineligible.contains(id));
            if !counts {
                continue;
            }
            // An unknown position (a new leader's followers before their first fetch) is
            // Kafka's offset -1: it holds the HW where it is.
            match follower.log_end_offset {
                Some(offset) if offset < candidate => candidate = offset,
                Some(_) => {}
                None => return false,
            }
        }
        let before = self.log.high_watermark();
        let after = self.log.set_high_watermark(candidate);
        assert!(
            after >= before,
            "INV-1: the leader's HW went from {before} to {after}"
        );
        if let Role::Leader(state) = &mut self.role {
            state.high_watermark_floor = after;
        }
        after > before
    }

    /// R-3 (Kafka's `maybeShrinkIsr`): every ISR follower that is neither at the LEO nor caught
    /// up within `replica.lag.time.max.ms` is proposed for removal, unless a change is in flight.
    fn maybe_shrink_isr(&mut self, now: SimTime) {
        let Role::Leader(state) = &self.role else {
            return;
        };
        if state.pending_isr_change.is_some() {
            return;
        }
        let log_end_offset = self.log.log_end_offset();
        let now_ms = now.as_millis();
        let lag_ms = i64::from(self.config.replica_lag_time_max_ms);
        let isr = self.isr().to_vec();
        let out_of_sync: Vec<BrokerId> = isr
            .iter()
            .copied()
            .filter(|id| *id != self.local)
            .filter(|id| {
                state
                    .followers
                    .get(id)
                    .is_none_or(|f| !f.is_caught_up(log_end_offset, now_ms, lag_ms))
            })
            .collect();
        if out_of_sync.is_empty() {
            return;
        }
        let proposed: Vec<BrokerId> = isr
            .into_iter()
            .filter(|id| !out_of_sync.contains(id))
            .collect();
        self.propose_isr(None, proposed);
    }

    /// R-4 (Kafka's `maybeExpandIsr`): a follower outside the ISR whose LEO reached both the HW
    /// and this epoch's start offset is proposed for the ISR, unless a change is in flight.
    fn maybe_expand_isr(&mut self, follower: BrokerId) {
        let Role::Leader(state) = &self.role else {
            return;
        };
        if state.pending_isr_change.is_some()
            || self.isr().contains(&follower)
            || self.isr_ineligible.contains(&follower)
        {
            return;
        }
        let Some(offset) = state
            .followers
            .get(&follower)
            .and_then(|f| f.log_end_offset)
        else {
            return;
        };
        if offset < self.log.high_watermark() || offset < state.epoch_start_offset {
            return;
        }
        let mut proposed = self.isr().to_vec();
        proposed.push(follower);
        self.propose_isr(Some(follower), proposed);
    }

    fn propose_isr(&mut self, added: Option<BrokerId>, proposed_isr: Vec<BrokerId>) {
        let Some(registration) = &self.registration else {
            return;
        };
        let new_isr_epochs = match &self.role {
            Role::Leader(state) => proposed_isr
                .iter()
                .filter_map(|id| {
                    let epoch = state.followers.get(id)?.broker_epoch?;
                    Some((*id, epoch))
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        let request = AlterPartitionRequest {
            topic_partition: self.log.topic_partition().clone(),
            leader: self.local,
            leader_epoch: registration.leader_epoch,
            partition_epoch: registration.partition_epoch,
            new_isr: proposed_isr.clone(),
            new_isr_epochs,
        };
        if let Role::Leader(state) = &mut self.role {
            state.pending_isr_change = Some(PendingIsrChange {
                added,
                proposed_isr,
            });
        }
        self.push_output(ReplicaOutput::AlterPartition(request));
    }

    /// After becoming leader or an ISR change: the HW may move and parked produces may finish.
    fn after_leader_change(&mut self, now: SimTime) {
        self.maybe_increment_high_watermark(now);
        self.try_complete_delayed_produces();
        self.assert_leader_invariants();
    }

    // ---- consumers ----------------------------------------------------------------------

    /// KIP-320: an older `current_leader_epoch` is FENCED_LEADER_EPOCH, a newer one
    /// UNKNOWN_LEADER_EPOCH; then only the leader serves.
    fn check_current_leader_epoch(&self, current: Option<LeaderEpoch>) -> Option<ErrorCode> {
        let Some(registration) = &self.registration else {
            return Some(ErrorCode::NotLeaderOrFollower);
        };
        if let Some(epoch) = current {
            if epoch < registration.leader_epoch {
                return Some(ErrorCode::FencedLeaderEpoch);
            }
            if epoch > registration.leader_epoch {
                return Some(ErrorCode::UnknownLeaderEpoch);
            }
        }
        if !self.is_leader() {
            return Some(ErrorCode::NotLeaderOrFollower);
        }
        None
    }

    /// A consumer's fetch (read_uncommitted): whole batches below the HW only (INV-3).
    pub fn handle_consumer_fetch(
        &mut self,
        now: SimTime,
        request: &ConsumerFetchRequest,
    ) -> Result<FetchResponse, ReplicaError> {
        self.catch_up_isr_schedule(now);
        if let Some(error) = self.check_current_leader_epoch(request.current_leader_epoch) {
            return Ok(FetchResponse::error(error));
        }
        let high_watermark = self.log.high_watermark();
        let last_stable_offset = self.last_stable_offset();
        let log_start_offset = self.log.log_start_offset();
        // T-6: read_committed reads up to the LSO, read_uncommitted up to the HW.
        let upper_bound = match request.isolation_level {
            IsolationLevel::ReadUncommitted => high_watermark,
            IsolationLevel::ReadCommitted => last_stable_offset,
        };
        let fetched = match self
            .log
            .fetch(request.fetch_offset, request.max_bytes, upper_bound)
        {
            Ok(fetched) => fetched,
            Err(LogError::OffsetOutOfRange { .. }) => {
                return Ok(FetchResponse {
                    error: ErrorCode::OffsetOutOfRange,
                    high_watermark,
                    log_start_offset,
                    diverging_epoch: None,
                    leader_log_end_offset: None,
                    records: Vec::new(),
                    last_stable_offset,
                    aborted_transactions: Vec::new(),
                })
            }
            Err(e) => return Err(e.into()),
        };
        let headers = batch_headers(&fetched.bytes);
        for header in &headers {
            assert!(
                header.last_offset() < upper_bound,
                "INV-3: a consumer fetch returned offset {} at or above its bound {upper_bound} \
                 (HW {high_watermark}, LSO {last_stable_offset})",
                header.last_offset()
            );
        }
        let aborted_transactions = match (request.isolation_level, headers.last()) {
            (IsolationLevel::ReadCommitted, Some(last)) => self
                .txn
                .aborted_transactions(request.fetch_offset, last.last_offset().plus(1))
                .into_iter()
                .map(|(producer_id, first_offset)| AbortedTransaction {
                    producer_id,
                    first_offset,
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(FetchResponse {
            error: ErrorCode::None,
            high_watermark,
            log_start_offset,
            diverging_epoch: None,
            leader_log_end_offset: None,
            records: fetched.bytes,
            last_stable_offset,
            aborted_transactions,
        })
    }

    /// OffsetsForLeaderEpoch on the leader: the largest epoch ≤ `leader_epoch` and
    /// where it ended, per `LeaderEpochCache::end_offset_for`.
    pub fn handle_offsets_for_leader_epoch(
        &self,
        current_leader_epoch: Option<LeaderEpoch>,
        leader_epoch: LeaderEpoch,
    ) -> OffsetForLeaderEpochResponse {
        if let Some(error) = self.check_current_leader_epoch(current_leader_epoch) {
            return OffsetForLeaderEpochResponse {
                error,
                leader_epoch: UNDEFINED_EPOCH,
                end_offset: UNDEFINED_EPOCH_OFFSET,
            };
        }
        let end = self
            .epoch_cache
            .end_offset_for(leader_epoch, self.log.log_end_offset());
        OffsetForLeaderEpochResponse {
            error: ErrorCode::None,
            leader_epoch: end.leader_epoch,
            end_offset: end.end_offset,
        }
    }

    /// ListOffsets on the leader for a consumer resetting its position: the log start offset
    /// (earliest) or the high watermark (latest, for read_uncommitted), with the epoch that
    /// covers it (Kafka's `fetchOffsetForTimestamp` with -2 / -1).
    pub fn handle_list_offsets(&self, request: &ListOffsetsRequest) -> ListOffsetsResponse {
        if let Some(error) = self.check_current_leader_epoch(request.current_leader_epoch) {
            return ListOffsetsResponse::error(error);
        }
        let (offset, leader_epoch) = match request.spec {
            OffsetSpec::Earliest => {
                let start = self.log.log_start_offset();
                let covering = self
                    .epoch_cache
                    .entries()
                    .iter()
                    .rev()
                    .find(|e| e.start_offset <= start)
                    .map(|e| e.epoch);
                (start, covering)
            }
            OffsetSpec::Latest => match request.isolation_level {
                IsolationLevel::ReadUncommitted => (self.log.high_watermark(), self.leader_epoch()),
                IsolationLevel::ReadCommitted => (self.last_stable_offset(), self.leader_epoch()),
            },
        };
        ListOffsetsResponse {
            error: ErrorCode::None,
            offset,
            leader_epoch,
        }
    }

    // ---- follower -----------------------------------------------------------------------

    /// The fetch a follower sends now: from its LEO, with its latest epoch, to
    /// `fetch_leader()`. `None` unless following an online partition.
    pub fn next_fetch_request(&self) -> Option<FollowerFetchRequest> {
        let registration = self.registration.as_ref()?;
        self.fetch_leader()?;
        Some(FollowerFetchRequest {
            replica_id: self.local,
            fetch_offset: self.log.log_end_offset(),
            // Before KIP-101 a fetch carried no epoch, so the leader never answered with a
            // diverging epoch; only OFFSET_OUT_OF_RANGE cut a follower that was ahead.
            last_fetched_epoch: match self.config.follower_truncation {
                FollowerTruncation::LeaderEpoch => self.epoch_cache.latest_epoch(),
                FollowerTruncation::HighWatermark => None,
            },
            current_leader_epoch: Some(registration.leader_epoch),
            log_start_offset: self.log.log_start_offset(),
            max_bytes: self.config.replica_fetch_max_bytes,
            // The broker stamps its own epoch on the way out: a replica does not know it.
            replica_epoch: None,
        })
    }

    /// The leader's answer to `request`. Records are appended as-is; the HW becomes
    /// `min(leader HW, own LEO)` and the log start `max(own, leader's)`. A diverging
    /// epoch truncates. A response to a request that no longer matches (another epoch,
    /// another fetch offset) is dropped, as Kafka's fetcher does.
    pub fn handle_fetch_response(
        &mut self,
        now: SimTime,
        request: &FollowerFetchRequest,
        response: FetchResponse,
    ) -> Result<FollowerFetchOutcome, ReplicaError> {
        self.catch_up_isr_schedule(now);
        let current = self.next_fetch_request();
        let matches = current.as_ref().is_some_and(|c| {
            c.current_leader_epoch == request.current_leader_epoch
                && c.fetch_offset == request.fetch_offset
        });
        if !matches {
            return Ok(FollowerFetchOutcome::Ignored);
        }
        match response.error {
            ErrorCode::None => match response.diverging_epoch {
                Some(diverging) => self.truncate_on_divergence(now, diverging),
                None => self.append_from_leader(now, &response),
            },
            ErrorCode::OffsetOutOfRange => self.handle_out_of_range(now, request, &response),
            error => Ok(FollowerFetchOutcome::Backoff(error)),
        }
    }

    fn append_from_leader(
        &mut self,
        now: SimTime,
        response: &FetchResponse,
    ) -> Result<FollowerFetchOutcome, ReplicaError> {
        let now_ms = now.as_millis();
        let mut batches_count = 0;
        if !response.records.is_empty() {
            let info = self.log.append_as_follower(&response.records, now_ms)?;
            batches_count = info.batches_count;
            observe_transactions(&mut self.txn, &response.records, None);
            for header in batch_headers(&response.records) {
                if header.partition_leader_epoch >= 0 {
                    self.epoch_cache.assign(
                        LeaderEpoch(header.partition_leader_epoch),
                        header.base_offset,
                    );
                }
            }
        }
        let log_end_offset = self.log.log_end_offset();
        let high_watermark = self
            .log
            .update_high_watermark(response.high_watermark.min(log_end_offset));
        // Kafka's follower raises its log start only to offsets its HW covers.
        let leader_start = response.log_start_offset;
        if leader_start > self.log.log_start_offset() && leader_start <= high_watermark {
            self.log.restore_offsets(leader_start, high_watermark)?;
            self.epoch_cache.truncate_from_start(leader_start);
            self.txn.truncate_head(leader_start);
        }
        Ok(FollowerFetchOutcome::Appended {
            batches_count,
            log_end_offset,
            high_watermark: self.log.high_watermark(),
        })
    }

    /// Kafka's `getOffsetTruncationState`. The leader named epoch E' ending at `end`:
    /// * if this log knows E' too, truncate to `min(end, own end of E')` and be done;
    /// * if not, truncate to the end of this log's largest epoch below E' and ask again: the
    ///   next fetch carries that older epoch, walking back one epoch per round (KIP-279);
    /// * with no epochs at all, truncate to `end`.
    fn truncate_on_divergence(
        &mut self,
        now: SimTime,
        diverging: EpochEndOffset,
    ) -> Result<FollowerFetchOutcome, ReplicaError> {
        if diverging.is_undefined() {
            return Ok(FollowerFetchOutcome::Backoff(ErrorCode::UnknownServerError));
        }
        let log_end_offset = self.log.log_end_offset();
        let own = self
            .epoch_cache
            .end_offset_for(diverging.leader_epoch, log_end_offset);
        let (target, complete) = if own.is_undefined() {
            (diverging.end_offset, true)
        } else if own.leader_epoch == diverging.leader_epoch {
            (own.end_offset.min(diverging.end_offset), true)
        } else {
            (own.end_offset, false)
        };
        let to = self.truncate(now, target.min(log_end_offset))?;
        Ok(FollowerFetchOutcome::Truncated { to, complete })
    }

    /// OFFSET_OUT_OF_RANGE: below the leader's log start, start over there; past the
    /// leader's end, truncate to it (Kafka's `fetchOffsetAndTruncate`).
    fn handle_out_of_range(
        &mut self,
        now: SimTime,
        request: &FollowerFetchRequest,
        response: &FetchResponse,
    ) -> Result<FollowerFetchOutcome, ReplicaError> {
        if response.log_start_offset > request.fetch_offset {
            self.log
                .truncate_fully_and_start_at(response.log_start_offset, now.as_millis())?;
            self.epoch_cache.clear();
            self.txn = PartitionTxnState::new();
            return Ok(FollowerFetchOutcome::Truncated {
                to: response.log_start_offset,
                complete: true,
            });
        }
        match response.leader_log_end_offset {
            Some(leader_end) if leader_end < self.log.log_end_offset() => {
                let to = self.truncate(now, leader_end)?;
                Ok(FollowerFetchOutcome::Truncated { to, complete: true })
            }
            _ => Ok(FollowerFetchOutcome::Backoff(ErrorCode::OffsetOutOfRange)),
        }
    }

    /// Truncates log and epoch cache together; returns the LEO after.
    fn truncate(&mut self, now: SimTime, target: Offset) -> Result<Offset, ReplicaError> {
        let now_ms = now.as_millis();
        let first_base = self
            .log
            .segment_views()
            .first()
            .map_or(self.log.log_start_offset(), |s| s.base_offset);
        if target < self.log.log_start_offset() || target <= first_base {
            if target < self.log.log_end_offset() {
                self.log.truncate_fully_and_start_at(target, now_ms)?;
                self.epoch_cache.clear();
                self.txn = PartitionTxnState::new();
            } else {
                // Nothing to cut from the log, but epochs that start at or after the target
                // must go. Regression (swarm seed 359): a replica that restarted with an empty
                // log replayed a leadership at epoch 1 (cache entry (1, 0)); without this it
                // kept naming epoch 1 in every fetch, got the same diverging epoch back, and
                // never caught up, so the ISR and the high watermark stayed short forever.
                self.epoch_cache.truncate_from_end(target);
            }
        } else {
            self.log.truncate_to(target, now_ms)?;
            self.epoch_cache
                .truncate_from_end(self.log.log_end_offset());
            self.txn.truncate_to(self.log.log_end_offset());
        }
        Ok(self.log.log_end_offset())
    }

    // ---- plumbing -----------------------------------------------------------------------

    fn push_output(&mut self, output: ReplicaOutput) {
        assert!(
            (self.outputs.len() as u32) < REPLICA_OUTPUTS_MAX,
            "replica outbox overflow: the driver stopped draining poll_output"
        );
        self.outputs.push_back(output);
    }

    /// INV-1 (monotonic HW within the epoch) and INV-5 (the leader is in its ISR).
    fn assert_leader_invariants(&self) {
        let Role::Leader(state) = &self.role else {
            return;
        };
        assert!(
            self.log.high_watermark() >= state.high_watermark_floor,
            "INV-1: leader HW {} fell below {}",
            self.log.high_watermark(),
            state.high_watermark_floor
        );
        assert!(
            self.isr().contains(&self.local),
            "INV-5: leader {} is missing from its ISR {:?}",
            self.local,
            self.isr()
        );
    }
}

fn new_leader_state(
    registration: &PartitionRegistration,
    local: BrokerId,
    log_end_offset: Offset,
    high_watermark: Offset,
    now_ms: i64,
) -> LeaderState {
    let followers = registration
        .replicas
        .iter()
        .filter(|id| **id != local)
        .map(|id| {
            (
                *id,
                FollowerFetchState::reset(now_ms, registration.isr.contains(id)),
            )
        })
        .collect();
    LeaderState {
        epoch_start_offset: log_end_offset,
        followers,
        pending_isr_change: None,
        delayed_produces: VecDeque::new(),
        high_watermark_floor: high_watermark,
    }
}

/// INV-5 and shape checks on what the controller sent.
fn validate_registration(registration: &PartitionRegistration) -> Result<(), ReplicaError> {
    if let Some(leader) = registration.leader {
        if !registration.isr.contains(&leader) {
            return Err(ReplicaError::InvalidRegistration(format!(
                "leader {leader} is not in the ISR {:?} (INV-5)",
                registration.isr
            )));
        }
    }
    if let Some(stranger) = registration
        .isr
        .iter()
        .find(|id| !registration.replicas.contains(id))
    {
        return Err(ReplicaError::InvalidRegistration(format!(
            "ISR member {stranger} is not a replica of {:?}",
            registration.replicas
        )));
    }
    Ok(())
}

/// Produce failures that are answers, not operating failures.
fn produce_error_code(e: &LogError) -> Option<ErrorCode> {
    match e {
        LogError::CorruptBatch(_) => Some(ErrorCode::CorruptMessage),
        LogError::InvalidRecord(_) => Some(ErrorCode::InvalidRecord),
        LogError::RecordBatchTooLarge { .. } => Some(ErrorCode::MessageTooLarge),
        LogError::Storage(_) => Some(ErrorCode::KafkaStorageError),
        _ => None,
    }
}

fn with_error(response: ProduceResponse, error: ErrorCode) -> ProduceResponse {
    if error == ErrorCode::None {
        response
    } else {
        ProduceResponse { error, ..response }
    }
}

/// The headers of concatenated batches (bytes the log produced or validated).
fn batch_headers(bytes: &[u8]) -> Vec<BatchHeader> {
    let mut headers = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let Ok(header) = BatchHeader::parse(&bytes[at..]) else {
            break;
        };
        at += header.size_in_bytes() as usize;
        headers.push(header);
    }
    headers
}

/// Feeds `txn` the transactional batches of `bytes` (whole batches): data opens or extends
/// its producer's transaction, a marker closes it. The batches carry their offsets, except a
/// leader's append, whose bytes still have the producer's base offset 0: `first_offset` then
/// says where the (single) batch landed. A batch that does not decode ends the walk (the log
/// accepted these bytes, so it does not happen).
fn observe_transactions(txn: &mut PartitionTxnState, bytes: &[u8], first_offset: Option<Offset>) {
    let mut at = 0usize;
    while at < bytes.len() {
        let Ok(header) = BatchHeader::parse(&bytes[at..]) else {
            return;
        };
        let size = header.size_in_bytes() as usize;
        if size == 0 || at + size > bytes.len() {
            return;
        }
        if header.attributes.is_transactional {
            let base = first_offset.unwrap_or(header.base_offset);
            let last = Offset(base.0 + i64::from(header.last_offset_delta));
            let producer_id = ProducerId(header.producer_id);
            if header.attributes.is_control {
                txn.note_producer_epoch(producer_id, ProducerEpoch(header.producer_epoch));
                if let Ok(marker) = decode_batch(&bytes[at..at + size])
                    .map_err(|e| e.to_string())
                    .and_then(|(batch, _)| batch.control_marker().map_err(|e| e.to_string()))
                {
                    txn.on_marker(
                        producer_id,
                        marker.control_type,
                        marker.coordinator_epoch,
                        base,
                    );
                }
            } else {
                txn.on_transactional_batch(
                    producer_id,
                    ProducerEpoch(header.producer_epoch),
                    base,
                    last,
                );
            }
        }
        at += size;
    }
}

#[cfg(test)]
mod tests;
