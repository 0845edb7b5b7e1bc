//! The built-in sticky partitioner for records without a key (KIP-794, Kafka 3.3+, rule P-2):
//! per topic, the current partition and the bytes produced to it. It keeps one invariant: the
//! producer leaves a partition at the first append that brings its produced bytes to
//! `batch.size` while all its queued batches are full, and at the latest at 2 × `batch.size`.
//! The next partition is drawn from the seeded PRNG like `BuiltInPartitioner.nextPartition`:
//! uniformly among partitions with a leader (all partitions when none has one), or, with
//! `partitioner.adaptive.partitioning.enable` and unequal queues, weighted by inverse queue
//! depth from the load statistics the last `poll` computed.

use super::messages::ProducerMetadata;
use crate::ids::PartitionIndex;
use crate::prng::Prng;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StickyPartitionInfo {
    partition: PartitionIndex,
    produced_bytes: u64,
}

/// Kafka's `PartitionLoadStats`: a cumulative frequency table over partitions with a leader,
/// each weighted by (longest queue + 1 − its queue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionLoadStats {
    cumulative_frequency: Vec<u64>,
    partitions: Vec<PartitionIndex>,
}

impl PartitionLoadStats {
    /// From the queued batch counts of a topic's partitions with a leader, in partition order
    /// (`BuiltInPartitioner.updatePartitionLoadStats`). `None` (uniform choice) when fewer than
    /// two partitions have queues, or when all have a leader and equal queues.
    pub fn from_queue_sizes(
        queue_sizes: &[(PartitionIndex, u32)],
        partitions_with_queue: u32,
    ) -> Option<PartitionLoadStats> {
        if queue_sizes.is_empty() || partitions_with_queue < 2 {
            return None;
        }
        let longest = queue_sizes.iter().map(|(_, q)| *q).max().unwrap_or(0);
        let all_equal = queue_sizes.iter().all(|(_, q)| *q == longest);
        if all_equal && queue_sizes.len() as u32 == partitions_with_queue {
            return None;
        }
        let mut running = 0u64;
        let cumulative_frequency = queue_sizes
            .iter()
            .map(|(_, q)| {
                running += u64::from(longest + 1 - q);
                running
            })
            .collect();
        Some(PartitionLoadStats {
            cumulative_frequency,
            partitions: queue_sizes.iter().map(|(p, _)| *p).collect(),
        })
    }

    /// The partition for a uniform draw in `[0, total)`: the first whose running sum is
    /// strictly greater than it.
    pub fn pick(&self, draw: u64) -> PartitionIndex {
        let index = self.cumulative_frequency.partition_point(|c| *c <= draw);
        self.partitions[index.min(self.partitions.len() - 1)]
    }

    pub fn total(&self) -> u64 {
        self.cumulative_frequency.last().copied().unwrap_or(0)
    }
}

/// Sticky state for every topic the producer has sent null-key records to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StickyPartitioner {
    topics: BTreeMap<String, StickyPartitionInfo>,
    load_stats: BTreeMap<String, PartitionLoadStats>,
}

impl StickyPartitioner {
    /// Replaces a topic's load statistics (computed at each `poll`, like Kafka's `ready`).
    pub fn set_load_stats(&mut self, topic: &str, stats: Option<PartitionLoadStats>) {
        match stats {
            Some(stats) => {
                self.load_stats.insert(topic.to_owned(), stats);
            }
            None => {
                self.load_stats.remove(topic);
            }
        }
    }

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
        let partition = self.next_partition(topic, metadata, prng);
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
        let partition = self.next_partition(topic, metadata, prng);
        if let Some(info) = self.topics.get_mut(topic) {
            *info = StickyPartitionInfo {
                partition,
                produced_bytes: 0,
            };
        }
        Some(partition)
    }

    fn next_partition(
        &self,
        topic: &str,
        metadata: &ProducerMetadata,
        prng: &mut Prng,
    ) -> PartitionIndex {
        match self.load_stats.get(topic) {
            Some(stats) if stats.total() > 0 => stats.pick(prng.below(stats.total())),
            _ => uniform_partition(topic, metadata, prng),
        }
    }
}

fn uniform_partition(topic: &str, metadata: &ProducerMetadata, prng: &mut Prng) -> PartitionIndex {
    let available = metadata.available_partitions(topic);
    if available.is_empty() {
        let count = metadata.partition_count(topic).unwrap_or(1).max(1);
        return PartitionIndex(prng.below(u64::from(count)) as u32);
    }
    let pick = prng.below(available.len() as u64) as usize;
    available[pick]
}
