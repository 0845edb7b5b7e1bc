//! The protocol error codes replication answers with are the shared `crate::protocol::ErrorCode`
//! (Kafka's names and numbers); this module keeps the broker's import path stable.

pub use crate::protocol::ErrorCode;
