//! Newtypes for the identifiers and positions the engine passes around, so arguments cannot be
//! swapped. All are fixed-width integers: no `usize` ever reaches a format, trace or hash.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

// The other modules' id newtypes (protocol epochs) use the same definition.
pub(crate) use id_newtype;

id_newtype!(
    /// A position in a partition's log (Kafka's int64 offset).
    Offset(i64)
);
id_newtype!(
    /// The index of a partition within its topic.
    PartitionIndex(u32)
);
id_newtype!(
    /// A broker's `node.id`.
    BrokerId(u32)
);
id_newtype!(
    /// An endpoint of the simulated network: a broker, the controller or a client. Brokers use
    /// their `node.id` (`NodeId::from(BrokerId)`); the scenario numbers the others above them.
    NodeId(u32)
);
id_newtype!(
    /// The epoch of a partition's leader (`partitionLeaderEpoch` in a batch header).
    LeaderEpoch(i32)
);
id_newtype!(
    /// An idempotent or transactional producer's id (-1 = none).
    ProducerId(i64)
);
id_newtype!(
    /// A producer's epoch (-1 = none).
    ProducerEpoch(i16)
);

impl Offset {
    pub const ZERO: Offset = Offset(0);

    /// The offset `delta` positions later.
    pub fn plus(self, delta: i64) -> Offset {
        // Saturating: offsets near i64::MAX come only from hostile bytes, which must not panic.
        Offset(self.0.saturating_add(delta))
    }
}

impl From<BrokerId> for NodeId {
    /// In KRaft a broker's `node.id` is its network identity.
    fn from(broker: BrokerId) -> NodeId {
        NodeId(broker.0)
    }
}

impl ProducerId {
    pub const NONE: ProducerId = ProducerId(-1);
}

impl ProducerEpoch {
    pub const NONE: ProducerEpoch = ProducerEpoch(-1);
}

/// A topic-partition, printed the way Kafka names its log directory (`topic-0`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: PartitionIndex,
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition.0)
    }
}

/// Kafka's legal topic names: 1 to 249 characters of ASCII alphanumerics, '.', '_' and '-',
/// and not "." or "..". Returns a message naming the problem otherwise.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("topic name is empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("topic name {name:?} is not allowed"));
    }
    if name.len() > 249 {
        return Err(format!(
            "topic name is {} characters long; the limit is 249",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "topic name {name:?} contains {c:?}; only ASCII letters, digits, '.', '_' and '-' are legal"
        ));
    }
    Ok(())
}
