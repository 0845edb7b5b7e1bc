//! Broker-side state machines: what a broker keeps per partition beyond the log itself.

pub mod producer_state;
