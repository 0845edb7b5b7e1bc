//! The transaction coordinator's pieces, sans-IO (spec section 5): the states of a
//! `transactional.id` (`state`), the coordinator's rules for InitProducerId, AddPartitionsToTxn,
//! EndTxn, markers and `transaction.timeout.ms` (`coordinator`), and a partition's side: open
//! transactions, the LSO, the aborted-transaction index and read_committed (`partition`). Nothing here touches the
//! network or the `__transaction_state` log: every transition is handed to the driver as a log
//! append, applied only once the driver reports it durable, as Kafka's coordinator applies a
//! pending transition only after its write to the log succeeds.

mod coordinator;
mod partition;
pub mod records;
mod state;

#[cfg(test)]
mod tests;

pub use coordinator::{
    Completion, TransactionCoordinator, TransactionMetadata, TxnConfig, TxnLogAppend, TxnReply,
    WriteMarkers,
};
pub use partition::{
    read_committed, AbortedTxn, CompletedTxn, FetchedBatch, OngoingTxn, PartitionTxnState,
};
pub use state::TransactionState;
