//! The transaction coordinator's states for one `transactional.id` (Kafka's
//! `TransactionState`) and the transitions it allows (rule T-2).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TransactionState {
    /// A producer id and epoch, no transaction.
    Empty,
    /// Partitions (or a group's offsets) joined a transaction.
    Ongoing,
    /// EndTxn(commit) is durable; markers are being written.
    PrepareCommit,
    /// EndTxn(abort), a fence or a timeout is durable; markers are being written.
    PrepareAbort,
    /// Every participant has its COMMIT marker.
    CompleteCommit,
    /// Every participant has its ABORT marker.
    CompleteAbort,
    /// An ongoing transaction is being fenced (a new instance, or `transaction.timeout.ms`):
    /// the epoch goes up before the abort.
    PrepareEpochFence,
    /// Expired after `transactional.id.expiration.ms`.
    Dead,
}

impl TransactionState {
    /// Kafka's name, as `kafka-transactions --describe` prints it.
    pub fn name(self) -> &'static str {
        match self {
            TransactionState::Empty => "Empty",
            TransactionState::Ongoing => "Ongoing",
            TransactionState::PrepareCommit => "PrepareCommit",
            TransactionState::PrepareAbort => "PrepareAbort",
            TransactionState::CompleteCommit => "CompleteCommit",
            TransactionState::CompleteAbort => "CompleteAbort",
            TransactionState::PrepareEpochFence => "PrepareEpochFence",
            TransactionState::Dead => "Dead",
        }
    }

    /// The states this one may be entered from (Kafka's `validPreviousStates`).
    pub fn valid_previous(self) -> &'static [TransactionState] {
        use TransactionState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            // Empty and Complete*: transaction version 2 writes an abort of no transaction.
            PrepareAbort => &[
                Ongoing,
                PrepareEpochFence,
                Empty,
                CompleteCommit,
                CompleteAbort,
            ],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            PrepareEpochFence => &[Ongoing],
            Dead => &[Empty, CompleteAbort, CompleteCommit],
        }
    }

    /// Whether a transition from `from` to `self` is allowed.
    pub fn may_follow(self, from: TransactionState) -> bool {
        self.valid_previous().contains(&from)
    }

    /// A transaction is open: its partitions' LSO is pinned until its markers land.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TransactionState::Ongoing
                | TransactionState::PrepareCommit
                | TransactionState::PrepareAbort
                | TransactionState::PrepareEpochFence
        )
    }
}
