//! Why a simulation cannot go on: operating failures (bad configuration, storage, restore).
//! Protocol errors are not here; they are trace lines and data in responses.

use std::fmt;

/// Why the simulation cannot go on (operating failures; protocol errors are trace lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimError {
    Config(String),
    /// `step` was called while storage requests were not yet drained or completed.
    StorageOutstanding {
        requests: u32,
    },
    Storage(String),
    Restore(String),
    Log(String),
    EventLimit,
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Config(m) => write!(f, "invalid scenario configuration: {m}"),
            SimError::StorageOutstanding { requests } => write!(
                f,
                "{requests} storage request(s) are still outstanding; complete them before the next step"
            ),
            SimError::Storage(m) => write!(f, "storage failed: {m}"),
            SimError::Restore(m) => write!(f, "cannot restore the session: {m}"),
            SimError::Log(m) => write!(f, "log error: {m}"),
            SimError::EventLimit => write!(f, "the run reached the event limit"),
        }
    }
}

impl std::error::Error for SimError {}
