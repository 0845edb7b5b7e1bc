//! The log engine: Kafka's record batch v2 codec, and partition logs made of segments with
//! offset and time indexes, retention and compaction.

pub mod batch;
pub mod control;
pub mod varint;
