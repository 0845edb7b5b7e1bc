//! The producer client (spec section 3, rules P-1 to P-7) as a sans-IO state machine: records
//! go in with `send`, produce requests come out of `poll`, answers go in with
//! `handle_response` / `handle_disconnect`, outcomes come out of `take_events`, and
//! `poll_timeout` says when to call `poll` again. Nothing here reads a clock or draws entropy.

mod batch;
mod config;
mod error;
mod messages;
#[allow(clippy::module_inception)]
mod producer;
mod sticky;

#[cfg(test)]
mod tests;

pub use batch::increment_sequence;
pub use config::{Acks, ConfigException, ProducerConfig, MAX_IN_FLIGHT_FOR_IDEMPOTENCE};
pub use error::{ErrorCode, ProducerError};
pub use messages::{
    BatchId, ProducePartitionData, ProducePartitionResponse, ProduceRequest, ProduceResponse,
    ProducerEvent, ProducerMetadata, ProducerRecord, RecordId, RequestId, SendCompletion,
    SendError, SendHandle,
};
pub use producer::Producer;
