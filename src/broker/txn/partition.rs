//! One partition's view of transactions (rules T-5, T-6), sans-IO: which producers have an
//! open transaction in it and from which offset, the last stable offset (LSO) that this pins,
//! the aborted-transaction index (Kafka's `.txnindex`) a read_committed fetch returns, the
//! coordinator-epoch check that refuses a zombie coordinator's markers, and the filter a
//! read_committed consumer applies to what it fetched.

use crate::ids::{Offset, ProducerEpoch, ProducerId};
use crate::log::batch::RecordBatch;
use crate::log::control::ControlRecordType;
use crate::protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A producer's open transaction in this partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OngoingTxn {
    pub producer_epoch: ProducerEpoch,
    pub first_offset: Offset,
    pub last_offset: Offset,
}

/// An entry of the aborted-transaction index (Kafka's `AbortedTxn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortedTxn {
    pub producer_id: ProducerId,
    pub first_offset: Offset,
    /// The offset of its ABORT marker.
    pub last_offset: Offset,
    /// The LSO once this transaction was done.
    pub last_stable_offset: Offset,
}

/// A transaction a marker closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompletedTxn {
    pub producer_id: ProducerId,
    pub first_offset: Offset,
    pub last_offset: Offset,
    pub aborted: bool,
}

/// A transaction a marker closed, kept while its marker is in the log: a truncation that cuts
/// the marker off reopens it (its data is still there and undecided).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ClosedTxn {
    producer_id: ProducerId,
    txn: OngoingTxn,
    marker_offset: Offset,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionTxnState {
    ongoing: BTreeMap<ProducerId, OngoingTxn>,
    closed: Vec<ClosedTxn>,
    /// Per producer id, the newest epoch of its batches and markers.
    producer_epochs: BTreeMap<ProducerId, ProducerEpoch>,
    /// Per producer id, the newest coordinator epoch of a marker (T-5's zombie check).
    coordinator_epochs: BTreeMap<ProducerId, i32>,
    aborted: Vec<AbortedTxn>,
}

impl PartitionTxnState {
    pub fn new() -> PartitionTxnState {
        PartitionTxnState::default()
    }

    pub fn ongoing(&self) -> &BTreeMap<ProducerId, OngoingTxn> {
        &self.ongoing
    }

    /// Whether any transactional batch or marker reached this replica.
    pub fn has_transactions(&self) -> bool {
        !self.producer_epochs.is_empty()
    }

    /// The aborted-transaction index, oldest first.
    pub fn aborted(&self) -> &[AbortedTxn] {
        &self.aborted
    }

    /// A transactional data batch was appended at `first_offset..=last_offset`: it opens the
    /// producer's transaction here or extends it.
    pub fn on_transactional_batch(
        &mut self,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        first_offset: Offset,
        last_offset: Offset,
    ) {
        let epoch = self
            .producer_epochs
            .entry(producer_id)
            .or_insert(producer_epoch);
        *epoch = (*epoch).max(producer_epoch);
        self.ongoing
            .entry(producer_id)
            .and_modify(|t| {
                t.last_offset = last_offset;
                t.producer_epoch = producer_epoch;
            })
            .or_insert(OngoingTxn {
                producer_epoch,
                first_offset,
                last_offset,
            });
    }

    /// Checks a marker before it is appended: a coordinator epoch older than one this producer
    /// already had a marker from is a zombie coordinator's (`TRANSACTION_COORDINATOR_FENCED`), and
    /// an epoch older than the newest this producer wrote with is stale (`INVALID_PRODUCER_EPOCH`).
    pub fn check_marker(
        &self,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        coordinator_epoch: i32,
    ) -> Result<(), ErrorCode> {
        // Kafka checks the producer epoch first, then the coordinator epoch.
        if self
            .producer_epochs
            .get(&producer_id)
            .is_some_and(|newest| producer_epoch < *newest)
        {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        if self
            .coordinator_epochs
            .get(&producer_id)
            .is_some_and(|seen| coordinator_epoch < *seen)
        {
            return Err(ErrorCode::TransactionCoordinatorFenced);
        }
        Ok(())
    }

    /// A marker was appended at `offset`: the producer's transaction here is over. An ABORT
    /// goes into the aborted-transaction index with the LSO once it is gone (Kafka's
    /// `lastStableOffset(completedTxn)`: the first offset of the next open transaction, else
    /// just past the marker). `None` when the producer had no open transaction here (a marker
    /// written again after a coordinator failover).
    pub fn on_marker(
        &mut self,
        producer_id: ProducerId,
        control: ControlRecordType,
        coordinator_epoch: i32,
        offset: Offset,
    ) -> Option<CompletedTxn> {
        let seen = self
            .coordinator_epochs
            .entry(producer_id)
            .or_insert(coordinator_epoch);
        *seen = (*seen).max(coordinator_epoch);
        let txn = self.ongoing.remove(&producer_id)?;
        self.closed.push(ClosedTxn {
            producer_id,
            txn,
            marker_offset: offset,
        });
        let aborted = control == ControlRecordType::Abort;
        if aborted {
            let last_stable_offset = self.first_unstable_offset().unwrap_or(Offset(offset.0 + 1));
            self.aborted.push(AbortedTxn {
                producer_id,
                first_offset: txn.first_offset,
                last_offset: offset,
                last_stable_offset,
            });
        }
        Some(CompletedTxn {
            producer_id,
            first_offset: txn.first_offset,
            last_offset: offset,
            aborted,
        })
    }

    /// The first offset of the earliest open transaction.
    pub fn first_unstable_offset(&self) -> Option<Offset> {
        self.ongoing.values().map(|t| t.first_offset).min()
    }

    /// T-5: LSO = min(first offset of the earliest open transaction, HW), where a transaction
    /// whose marker the HW has not passed yet still counts as open (Kafka's
    /// `unreplicatedTxns`, released by `onHighWatermarkUpdated`): a read_committed consumer
    /// never reads a transaction whose marker a failover could still lose.
    pub fn last_stable_offset(&self, high_watermark: Offset) -> Offset {
        let unreplicated = self
            .closed
            .iter()
            .filter(|c| c.marker_offset >= high_watermark)
            .map(|c| c.txn.first_offset);
        self.ongoing
            .values()
            .map(|t| t.first_offset)
            .chain(unreplicated)
            .min()
            .map_or(high_watermark, |first| first.min(high_watermark))
    }

    /// A marker at `producer_epoch` was appended: the producer's newest epoch is at least that
    /// (Kafka's `maybeUpdateProducerEpoch` on `appendEndTxnMarker`), so after a fencing ABORT
    /// a zombie's batches and markers at the old epoch are stale.
    pub fn note_producer_epoch(&mut self, producer_id: ProducerId, producer_epoch: ProducerEpoch) {
        let epoch = self
            .producer_epochs
            .entry(producer_id)
            .or_insert(producer_epoch);
        *epoch = (*epoch).max(producer_epoch);
    }

    /// The newest epoch this partition has seen from `producer_id` (data or marker).
    pub fn producer_epoch(&self, producer_id: ProducerId) -> Option<ProducerEpoch> {
        self.producer_epochs.get(&producer_id).copied()
    }

    /// What a read_committed fetch from `fetch_offset` up to `upper_bound` returns beside the
    /// data (T-6): every aborted transaction that overlaps the range, as (producer id, first
    /// offset), oldest first (Kafka's `collectAbortedTxns`).
    pub fn aborted_transactions(
        &self,
        fetch_offset: Offset,
        upper_bound: Offset,
    ) -> Vec<(ProducerId, Offset)> {
        self.aborted
            .iter()
            .filter(|a| a.last_offset >= fetch_offset && a.first_offset < upper_bound)
            .map(|a| (a.producer_id, a.first_offset))
            .collect()
    }

    /// The state a partition's log implies, read from its batches in offset order (what a
    /// broker rebuilds after a restart, a truncation or a new leadership, as Kafka's producer
    /// state is rebuilt from the log): transactional data opens or extends its producer's
    /// transaction, each marker closes one. A malformed marker is skipped and named in the
    /// returned list, since the log itself is the authority.
    pub fn rebuild<'a>(
        batches: impl IntoIterator<Item = &'a RecordBatch>,
    ) -> (PartitionTxnState, Vec<String>) {
        let mut state = PartitionTxnState::new();
        let mut skipped = Vec::new();
        for b in batches {
            if !b.attributes.is_transactional {
                continue;
            }
            let producer_id = ProducerId(b.producer_id);
            if b.attributes.is_control {
                state.note_producer_epoch(producer_id, ProducerEpoch(b.producer_epoch));
                match b.control_marker() {
                    Ok(marker) => {
                        state.on_marker(
                            producer_id,
                            marker.control_type,
                            marker.coordinator_epoch,
                            b.base_offset,
                        );
                    }
                    Err(e) => skipped.push(format!("marker at offset {}: {e}", b.base_offset.0)),
                }
            } else {
                state.on_transactional_batch(
                    producer_id,
                    ProducerEpoch(b.producer_epoch),
                    b.base_offset,
                    Offset(b.base_offset.0 + i64::from(b.last_offset_delta)),
                );
            }
        }
        (state, skipped)
    }

    /// The log was truncated to `end` (offsets from `end` on are gone): transactions and index
    /// entries that began there go, an open transaction keeps only what is left of it, and a
    /// transaction whose marker was cut off is open again (its data is still in the log and
    /// undecided, as Kafka's state rebuilt from the log would say).
    pub fn truncate_to(&mut self, end: Offset) {
        self.ongoing.retain(|_, t| t.first_offset < end);
        let mut reopened = Vec::new();
        self.closed.retain(|c| {
            if c.marker_offset < end {
                return true;
            }
            if c.txn.first_offset < end {
                reopened.push(*c);
            }
            false
        });
        for c in reopened {
            self.ongoing.insert(c.producer_id, c.txn);
        }
        for t in self.ongoing.values_mut() {
            t.last_offset = t.last_offset.min(Offset(end.0 - 1));
        }
        self.aborted.retain(|a| a.last_offset < end);
    }

    /// The log's start moved to `log_start`: index entries wholly below it go.
    pub fn truncate_head(&mut self, log_start: Offset) {
        self.aborted.retain(|a| a.last_offset >= log_start);
        self.closed.retain(|c| c.marker_offset >= log_start);
    }
}

/// One fetched batch as a read_committed consumer sorts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchedBatch {
    pub base_offset: Offset,
    pub last_offset: Offset,
    pub producer_id: ProducerId,
    pub is_transactional: bool,
    /// `Some` for a control batch (a marker).
    pub control: Option<ControlRecordType>,
}

/// T-6, the consumer's side of read_committed: keeps the data batches that are not part of an
/// aborted transaction, in order, and never a control batch. `aborted` is the fetch response's
/// list of (producer id, first offset). A producer's batches are dropped from its aborted
/// transaction's first offset up to that transaction's ABORT marker (Kafka's `Fetcher`
/// `abortedProducerIds`).
pub fn read_committed(
    batches: &[FetchedBatch],
    aborted: &[(ProducerId, Offset)],
) -> Vec<FetchedBatch> {
    let mut pending: Vec<(ProducerId, Offset)> = aborted.to_vec();
    pending.sort_by_key(|(pid, first)| (*first, *pid));
    let mut pending = pending.into_iter().peekable();
    let mut aborting: BTreeSet<ProducerId> = BTreeSet::new();
    let mut kept = Vec::new();
    for b in batches {
        while let Some((pid, _)) = pending.next_if(|(_, first)| *first <= b.last_offset) {
            aborting.insert(pid);
        }
        match b.control {
            Some(ControlRecordType::Abort) => {
                aborting.remove(&b.producer_id);
            }
            Some(_) => {}
            None if b.is_transactional && aborting.contains(&b.producer_id) => {}
            None => kept.push(*b),
        }
    }
    kept
}
