//! The built-in sticky partitioner for records without a key (KIP-794, Kafka 3.3+, rule P-2):
//! per topic, the current partition and the bytes produced to it. It keeps one invariant: the
//! producer leaves a partition at the first append that brings its produced bytes to
//! `batch.size` while all its queued batches are full, and at the latest at 2 × `batch.size`.
//! The next partition is drawn from the seeded PRNG, uniformly among partitions with a leader
//! (all partitions when none has one), like `BuiltInPartitioner.nextPartition` when adaptive
//! partitioning has no load statistics.

use super::messages::ProducerMetadata;
use crate::ids::PartitionIndex;
use crate::prng::Prng;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StickyPartitionInfo {
    partition: PartitionIndex,
    produced_bytes: u64,
}

/// Sticky state for every topic the producer has sent null-key records to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StickyPartitioner {
    topics: BTreeMap<String, StickyPartitionInfo>,
}

impl StickyPartitioner {
    /// The partition the next null-key record of `topic` goes to, choosing one if the topic
    /// has none yet (`peekCurrentPartitionInfo`). The topic must be in `metadata`.
    pub fn current(
        &mut self,
        topic: &str,
        metadata: &ProducerMetadata,
        prng: &mut Prng,
    ) -> PartitionIndex {
        if let Some(info) = self.topics.get(topic) {
            return info.partition;
        }
        let partition = next_partition(topic, metadata, prng);
        self.topics.insert(
            topic.to_owned(),
            StickyPartitionInfo {
                partition,
                produced_bytes: 0,
            },
        );
        partition
    }

    /// Counts `appended_bytes` against the current partition and switches when KIP-794 says
    /// so (`BuiltInPartitioner.updatePartitionInfo`). `all_batches_full` is whether the
    /// partition's last queued batch is full after the append. Returns the new partition if
    /// it switched.
    pub fn on_append(
        &mut self,
        topic: &str,
        appended_bytes: u32,
        all_batches_full: bool,
        batch_size: u32,
        metadata: &ProducerMetadata,
        prng: &mut Prng,
    ) -> Option<PartitionIndex> {
        let info = self.topics.get_mut(topic)?;
        info.produced_bytes = info
            .produced_bytes
            .saturating_add(u64::from(appended_bytes));
        let batch_size = u64::from(batch_size);
        let switch = (info.produced_bytes >= batch_size && all_batches_full)
            || info.produced_bytes >= batch_size.saturating_mul(2);
        if !switch {
            return None;
        }
        let partition = next_partition(topic, metadata, prng);
        *info = StickyPartitionInfo {
            partition,
            produced_bytes: 0,
        };
        Some(partition)
    }
}

fn next_partition(topic: &str, metadata: &ProducerMetadata, prng: &mut Prng) -> PartitionIndex {
    let available = metadata.available_partitions(topic);
    if available.is_empty() {
        let count = metadata.partition_count(topic).unwrap_or(1).max(1);
        return PartitionIndex(prng.below(u64::from(count)) as u32);
    }
    let pick = prng.below(available.len() as u64) as usize;
    available[pick]
}
