//! The group coordinator's pieces, sans-IO (spec section 4): where a group's coordinator lives
//! (`placement`). Nothing here touches the network or the `__consumer_offsets` log; a driver
//! wires them.

pub mod placement;

pub use placement::{coordinator_partition, java_string_hash_code, kafka_utils_abs};
