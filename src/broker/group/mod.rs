//! The group coordinator's pieces, sans-IO (spec section 4): where a group's coordinator lives
//! (`placement`), the classic group state machine (`classic_group`, with its `state`,
//! `config` and `messages`) and its committed offsets (`offsets`). Nothing here touches the
//! network or the `__consumer_offsets` log; a driver wires them.

mod classic_group;
mod config;
mod messages;
mod offsets;
mod persist;
pub mod placement;
pub mod records;
mod state;

#[cfg(test)]
mod tests;

pub use classic_group::{ClassicGroup, Member, StoredOffset};
pub use config::GroupConfig;
pub use messages::*;
pub use placement::{
    coordinator_partition, java_string_hash_code, kafka_utils_abs,
    OFFSETS_TOPIC_NUM_PARTITIONS_DEFAULT,
};
pub use state::GroupState;
