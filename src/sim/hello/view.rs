//! Read-only pictures of a running `hello` simulation for UIs and reports: cheap to build,
//! serializable, never a handle on engine state.

use crate::time::SimTime;
use serde::Serialize;

/// A read-only picture of the cluster for UIs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterView {
    pub now: SimTime,
    pub steps: u64,
    pub seed: u64,
    pub trace_hash: u64,
    pub topic: String,
    pub partitions: Vec<PartitionView>,
    pub producer: ProducerView,
    pub consumer: ConsumerView,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionView {
    pub partition: u32,
    pub log_start_offset: i64,
    pub high_watermark: i64,
    pub log_end_offset: i64,
    pub segments: Vec<SegmentView>,
    pub consumer_position: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SegmentView {
    pub base_offset: i64,
    pub next_offset: i64,
    pub size_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProducerView {
    pub records_sent: u64,
    pub records_acked: u64,
    pub produce_errors: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumerView {
    pub records_consumed: u64,
}

/// One record as a UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordView {
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<String>,
    pub value: Option<String>,
}
