//! The broker side of replication, sans-IO: per-partition replica state machines (leader and
//! follower), the leader-epoch cache, replication configs and the protocol data they exchange.
//! The invariants they keep are INV-1..INV-5 of the spec (section 2); a driver wires them to a
//! network, a controller and storage.

pub(crate) mod codec;
pub mod config;
pub mod errors;
pub mod group;
pub mod leader_epoch_cache;
pub mod messages;
pub mod producer_state;
pub mod replica;
pub mod txn;

pub use config::{FollowerTruncation, HighWatermarkMinIsr, ReplicaConfig};
pub use errors::ErrorCode;
pub use leader_epoch_cache::{EpochEndOffset, EpochEntry, LeaderEpochCache};
pub use messages::{
    Acks, AlterPartitionRequest, AlterPartitionResponse, ConsumerFetchRequest, FetchResponse,
    FollowerFetchOutcome, FollowerFetchRequest, OffsetForLeaderEpochResponse, PartitionEpoch,
    PartitionRegistration, ProduceOutcome, ProduceRequest, ProduceResponse, ReplicaOutput,
    RequestToken,
};
pub use replica::{FollowerFetchState, PartitionReplica, ReplicaError};
