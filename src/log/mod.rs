//! The log engine: Kafka's record batch v2 codec, and partition logs made of segments with
//! offset and time indexes, retention, compaction and crash recovery. Sans-IO: file changes
//! leave as `StorageRequest`s, files come back in as bytes.

pub mod batch;
pub mod cleaner;
pub mod config;
pub mod control;
pub mod index;
pub mod partition_log;
pub mod recovery;
pub mod retention;
pub mod segment;
pub mod varint;

pub use batch::{
    decode_batch, set_base_offset, set_partition_leader_epoch, verify_crc, BatchAttributes,
    BatchError, BatchHeader, Compression, NewRecord, ProducerFields, Record, RecordBatch,
    RecordHeader, TimestampType,
};
pub use cleaner::CleanerReport;
pub use config::{CleanupPolicy, ConfigError, LogConfig, MessageTimestampType};
pub use control::{ControlRecordType, EndTransactionMarker};
pub use partition_log::{AppendInfo, Fetched, LogError, PartitionLog, RecordView, SegmentView};
pub use recovery::{Corruption, RecoveryReport};
pub use retention::{DeletedSegment, RetentionReason};
