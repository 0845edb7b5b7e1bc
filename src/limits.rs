//! Every limit of the engine, stated once. Queues are bounded by these numbers, and untrusted
//! lengths (bytes from storage, scenario files) are checked against them before any allocation.

/// Largest record batch we encode or accept, header included (Kafka's `message.max.bytes`
/// default is 1048588; we allow the same order of magnitude).
pub const BATCH_BYTES_MAX: u32 = 1024 * 1024 + 12 + 61;

/// Most records one batch may claim to hold; a decoder never pre-allocates beyond this.
pub const BATCH_RECORDS_MAX: u32 = 65_536;

/// Most headers one record may claim to hold.
pub const RECORD_HEADERS_MAX: u32 = 1_024;

/// Largest segment file we write (`segment.bytes` is an int in Kafka, at most 2^31 - 1).
pub const SEGMENT_BYTES_MAX: u32 = i32::MAX as u32;

/// Smallest `segment.bytes` a topic may set (Kafka's lower bound is 14, LegacyRecord overhead;
/// we need at least one batch header).
pub const SEGMENT_BYTES_MIN: u32 = 61 + 12;

/// Most partitions of one topic in a scenario.
pub const TOPIC_PARTITIONS_MAX: u32 = 10_000;

/// Most events one simulation may run before it stops with an error (a runaway guard).
pub const SIM_EVENTS_MAX: u64 = 100_000_000;

/// Most events waiting in the scheduler at once.
pub const SIM_QUEUE_MAX: u32 = 1_000_000;

/// Largest scenario file accepted, in bytes.
pub const SCENARIO_BYTES_MAX: u32 = 1024 * 1024;

const _: () = assert!(SEGMENT_BYTES_MIN < BATCH_BYTES_MAX);
const _: () = assert!(BATCH_BYTES_MAX < SEGMENT_BYTES_MAX);

/// Smallest `segment.index.bytes` a topic may set: room for one time-index entry (12 bytes),
/// so every segment can index at least one batch before it must roll.
pub const SEGMENT_INDEX_BYTES_MIN: u32 = 12;

/// Largest stored index file accepted during recovery (Kafka's `segment.index.bytes` is an
/// int, so no index is larger).
pub const SEGMENT_INDEX_BYTES_MAX: u32 = i32::MAX as u32;

const _: () = assert!(SEGMENT_INDEX_BYTES_MIN.is_multiple_of(12) && SEGMENT_INDEX_BYTES_MIN >= 8);

/// Kafka's `offset.metadata.max.bytes` default: the longest metadata string of an offset
/// commit (the edge buffer's named consumers).
pub const OFFSET_METADATA_BYTES_MAX: u32 = 4096;

/// Longest edge-buffer consumer name, in characters.
pub const BUFFER_CONSUMER_NAME_CHARS_MAX: u32 = 255;

/// Longest edge-buffer producer name (`initProducerId(name)`), in characters.
pub const BUFFER_PRODUCER_NAME_CHARS_MAX: u32 = 255;
