//! A client's view of who leads each partition (the Java clients' `Metadata`): per partition
//! the leader and the leader epoch it last learned. It keeps one invariant: the known leader
//! epoch of a partition never goes down. A metadata answer whose epoch for a partition is older
//! than the one already known is ignored for that partition (Kafka's
//! `Metadata.updateLatestMetadata`, KIP-320), so a broker whose metadata cache lags cannot send
//! a client back to a deposed (zombie) leader. An answer with the same epoch is taken, as Kafka
//! takes it.

use crate::ids::{BrokerId, LeaderEpoch, PartitionIndex, TopicPartition};
use std::collections::BTreeMap;

/// One partition's leader as the client knows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartitionLeader {
    /// `None`: unknown or offline (Kafka's leader -1), or given up after a failed request.
    pub leader: Option<BrokerId>,
    /// `None` until an answer carried one.
    pub leader_epoch: Option<LeaderEpoch>,
}

/// A partition whose answer was older than what the client knows, and was ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaleLeaderEpoch {
    pub partition: PartitionIndex,
    pub known: LeaderEpoch,
    pub answered: LeaderEpoch,
    pub answered_leader: Option<BrokerId>,
}

/// Per topic, per partition index, the leader and its epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientMetadata {
    topics: BTreeMap<String, Vec<PartitionLeader>>,
}

impl ClientMetadata {
    pub fn new() -> ClientMetadata {
        ClientMetadata::default()
    }

    /// Merges one broker's answer for `topic`: `leaders[p]` and `leader_epochs[p]` (negative:
    /// the broker does not know the partition). Returns the partitions it ignored as stale.
    ///
    /// An answer without an epoch for a partition the client already holds an epoch for is
    /// ignored too: the simulated brokers send -1 only when their cache lacks the partition,
    /// which says nothing about its leader. An empty answer changes nothing.
    pub fn update(
        &mut self,
        topic: &str,
        leaders: &[Option<BrokerId>],
        leader_epochs: &[i32],
    ) -> Vec<StaleLeaderEpoch> {
        let mut stale = Vec::new();
        if leaders.is_empty() {
            return stale;
        }
        let known = self.topics.entry(topic.to_owned()).or_default();
        if known.len() < leaders.len() {
            known.resize(leaders.len(), PartitionLeader::default());
        }
        for (p, (leader, entry)) in leaders.iter().zip(known.iter_mut()).enumerate() {
            let answered = leader_epochs
                .get(p)
                .copied()
                .filter(|e| *e >= 0)
                .map(LeaderEpoch);
            match (entry.leader_epoch, answered) {
                (Some(known), Some(answered)) if answered < known => {
                    stale.push(StaleLeaderEpoch {
                        partition: PartitionIndex(p as u32),
                        known,
                        answered,
                        answered_leader: *leader,
                    });
                }
                (Some(_), None) => {}
                (_, answered) => {
                    *entry = PartitionLeader {
                        leader: *leader,
                        leader_epoch: answered,
                    };
                }
            }
        }
        stale
    }

    /// Forgets the leader of a partition after a request to it failed, keeping the epoch: the
    /// next answer at that epoch or newer names it again.
    pub fn invalidate_leader(&mut self, tp: &TopicPartition) {
        if let Some(entry) = self
            .topics
            .get_mut(&tp.topic)
            .and_then(|l| l.get_mut(tp.partition.0 as usize))
        {
            entry.leader = None;
        }
    }

    pub fn partition_count(&self, topic: &str) -> Option<u32> {
        self.topics.get(topic).map(|l| l.len() as u32)
    }

    pub fn partition(&self, tp: &TopicPartition) -> PartitionLeader {
        self.topics
            .get(&tp.topic)
            .and_then(|l| l.get(tp.partition.0 as usize).copied())
            .unwrap_or_default()
    }

    /// Every partition's leader, in index order (what the producer's partitioner needs).
    pub fn leaders(&self, topic: &str) -> Vec<Option<BrokerId>> {
        self.topics
            .get(topic)
            .map_or_else(Vec::new, |l| l.iter().map(|p| p.leader).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn tp(p: u32) -> TopicPartition {
        TopicPartition {
            topic: "t".into(),
            partition: PartitionIndex(p),
        }
    }

    fn b(id: u32) -> Option<BrokerId> {
        Some(BrokerId(id))
    }

    #[test]
    fn an_older_epoch_never_replaces_a_newer_one() {
        let mut m = ClientMetadata::new();
        assert!(m.update("t", &[b(1), b(2)], &[3, 7]).is_empty());
        // A lagging broker still names broker 1 at epoch 2 for t-0 and a newer leader for t-1.
        let stale = m.update("t", &[b(3), b(1)], &[2, 8]);
        assert_eq!(
            stale,
            vec![StaleLeaderEpoch {
                partition: PartitionIndex(0),
                known: LeaderEpoch(3),
                answered: LeaderEpoch(2),
                answered_leader: b(3),
            }]
        );
        assert_eq!(m.partition(&tp(0)).leader, b(1));
        assert_eq!(m.partition(&tp(0)).leader_epoch, Some(LeaderEpoch(3)));
        assert_eq!(m.partition(&tp(1)).leader, b(1));
        assert_eq!(m.partition(&tp(1)).leader_epoch, Some(LeaderEpoch(8)));
    }

    #[test]
    fn the_same_epoch_is_taken_and_an_unknown_partition_changes_nothing() {
        let mut m = ClientMetadata::new();
        m.update("t", &[b(1)], &[4]);
        m.invalidate_leader(&tp(0));
        assert_eq!(m.partition(&tp(0)).leader, None);
        assert_eq!(m.partition(&tp(0)).leader_epoch, Some(LeaderEpoch(4)));
        m.update("t", &[None], &[-1]);
        assert_eq!(m.partition(&tp(0)).leader, None);
        assert_eq!(m.partition(&tp(0)).leader_epoch, Some(LeaderEpoch(4)));
        m.update("t", &[b(1)], &[4]);
        assert_eq!(m.leaders("t"), vec![b(1)]);
        assert!(m.update("t", &[], &[]).is_empty());
        assert_eq!(m.partition_count("t"), Some(1));
    }
}
