//! The leader-epoch cache of one replica (Kafka's `LeaderEpochFileCache`, KIP-101): the list of
//! `(epoch, start offset)` pairs, one per leader epoch that wrote batches into this log, strictly
//! increasing in both fields. It answers "where did epoch E end?" (`end_offset_for`), which is
//! how a follower finds the point where its log diverged from the leader's (R-7, KIP-279) and how
//! a consumer detects truncation. It keeps the invariant that every entry's start offset is
//! inside `[log start, LEO]`: the owner truncates it whenever the log is truncated.

use crate::ids::{LeaderEpoch, Offset};
use crate::log::batch::BatchHeader;
use crate::log::PartitionLog;
use serde::{Deserialize, Serialize};

/// Kafka's `UNDEFINED_EPOCH`.
pub const UNDEFINED_EPOCH: LeaderEpoch = LeaderEpoch(-1);
/// Kafka's `UNDEFINED_EPOCH_OFFSET`.
pub const UNDEFINED_EPOCH_OFFSET: Offset = Offset(-1);

/// One cache entry: `epoch` wrote its first batch at `start_offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EpochEntry {
    pub epoch: LeaderEpoch,
    pub start_offset: Offset,
}

/// The answer of `end_offset_for`, OffsetsForLeaderEpoch and a fetch's `DivergingEpoch`:
/// the largest epoch at or below the one asked about, and the offset where it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EpochEndOffset {
    pub leader_epoch: LeaderEpoch,
    pub end_offset: Offset,
}

impl EpochEndOffset {
    pub const UNDEFINED: EpochEndOffset = EpochEndOffset {
        leader_epoch: UNDEFINED_EPOCH,
        end_offset: UNDEFINED_EPOCH_OFFSET,
    };

    pub fn is_undefined(&self) -> bool {
        self.leader_epoch == UNDEFINED_EPOCH || self.end_offset == UNDEFINED_EPOCH_OFFSET
    }
}

/// `(epoch, start offset)` entries, ascending in both.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    pub fn new() -> LeaderEpochCache {
        LeaderEpochCache::default()
    }

    /// Rebuilds the cache from the epochs stamped in a log's batches, as Kafka does when it
    /// recovers segments (each batch's `partitionLeaderEpoch` is assigned in order).
    pub fn from_log(log: &PartitionLog) -> LeaderEpochCache {
        let mut cache = LeaderEpochCache::new();
        for (_, bytes) in log.segment_bytes() {
            let mut at = 0usize;
            // Segment bytes were validated on the way in; a header that does not parse ends the
            // walk of that segment rather than failing, since recovery already vouched for them.
            while let Ok(header) = BatchHeader::parse(&bytes[at..]) {
                if header.partition_leader_epoch >= 0 {
                    cache.assign(
                        LeaderEpoch(header.partition_leader_epoch),
                        header.base_offset,
                    );
                }
                at += header.size_in_bytes() as usize;
                if at >= bytes.len() {
                    break;
                }
            }
        }
        cache.truncate_from_start(log.log_start_offset());
        cache
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The newest epoch, the `lastFetchedEpoch` a follower sends.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts at `start_offset` (Kafka's `assign`). A no-op when the newest
    /// entry is already this epoch at or before this offset. Otherwise entries that would break
    /// monotonicity (epoch ≥ `epoch` or start ≥ `start_offset`) go first: a new leader's entry
    /// wins over anything the log no longer agrees with. Returns whether the cache changed.
    pub fn assign(&mut self, epoch: LeaderEpoch, start_offset: Offset) -> bool {
        if epoch.0 < 0 || start_offset.0 < 0 {
            return false;
        }
        let needed = self
            .entries
            .last()
            .is_none_or(|last| last.epoch != epoch || start_offset < last.start_offset);
        if !needed {
            return false;
        }
        while self
            .entries
            .last()
            .is_some_and(|e| e.epoch >= epoch || e.start_offset >= start_offset)
        {
            self.entries.pop();
        }
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        self.assert_monotonic();
        true
    }

    /// Kafka's `endOffsetFor(requestedEpoch, logEndOffset)`:
    /// * undefined epoch ⇒ undefined;
    /// * the latest epoch ⇒ `(epoch, LEO)`: it is still being written;
    /// * otherwise the largest epoch ≤ requested, ending where the next higher epoch starts;
    /// * an epoch older than every entry ⇒ `(requested, first entry's start)`: that data is gone
    ///   and the follower must replicate from there;
    /// * an epoch newer than every entry (cannot happen on a leader) ⇒ undefined.
    pub fn end_offset_for(&self, requested: LeaderEpoch, log_end_offset: Offset) -> EpochEndOffset {
        if requested == UNDEFINED_EPOCH {
            return EpochEndOffset::UNDEFINED;
        }
        if self.latest_epoch() == Some(requested) {
            return EpochEndOffset {
                leader_epoch: requested,
                end_offset: log_end_offset,
            };
        }
        let Some(higher) = self.entries.iter().find(|e| e.epoch > requested) else {
            return EpochEndOffset::UNDEFINED;
        };
        match self.entries.iter().rev().find(|e| e.epoch <= requested) {
            None => EpochEndOffset {
                leader_epoch: requested,
                end_offset: higher.start_offset,
            },
            Some(floor) => EpochEndOffset {
                leader_epoch: floor.epoch,
                end_offset: higher.start_offset,
            },
        }
    }

    /// After the log was truncated to `end_offset`: entries starting at or above it go
    /// (Kafka's `truncateFromEnd`).
    pub fn truncate_from_end(&mut self, end_offset: Offset) {
        if end_offset.0 < 0 {
            return;
        }
        while self
            .entries
            .last()
            .is_some_and(|e| e.start_offset >= end_offset)
        {
            self.entries.pop();
        }
    }

    /// After the log start moved to `start_offset`: entries wholly before it go, and the epoch
    /// that covers it now starts there (Kafka's `truncateFromStart`).
    pub fn truncate_from_start(&mut self, start_offset: Offset) {
        let removed = self
            .entries
            .iter()
            .take_while(|e| e.start_offset <= start_offset)
            .count();
        if removed == 0 {
            return;
        }
        let covering = self.entries[removed - 1].epoch;
        self.entries.drain(..removed);
        self.entries.insert(
            0,
            EpochEntry {
                epoch: covering,
                start_offset,
            },
        );
        self.assert_monotonic();
    }

    /// Drops everything (Kafka's `clearAndFlush`, after `truncateFullyAndStartAt`).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    fn assert_monotonic(&self) {
        assert!(
            self.entries
                .windows(2)
                .all(|w| w[0].epoch < w[1].epoch && w[0].start_offset < w[1].start_offset),
            "leader-epoch cache lost monotonicity: {:?}",
            self.entries
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn cache(entries: &[(i32, i64)]) -> LeaderEpochCache {
        let mut c = LeaderEpochCache::new();
        for &(e, o) in entries {
            assert!(c.assign(LeaderEpoch(e), Offset(o)));
        }
        c
    }

    fn eo(e: i32, o: i64) -> EpochEndOffset {
        EpochEndOffset {
            leader_epoch: LeaderEpoch(e),
            end_offset: Offset(o),
        }
    }

    #[test]
    fn end_offset_for_follows_leader_epoch_file_cache() {
        // Entries: epoch 1 from 0, epoch 3 from 5, epoch 6 from 9; LEO 12.
        let c = cache(&[(1, 0), (3, 5), (6, 9)]);
        let leo = Offset(12);
        let cases: &[(i32, EpochEndOffset, &str)] = &[
            (-1, EpochEndOffset::UNDEFINED, "undefined epoch"),
            (6, eo(6, 12), "latest epoch ends at the LEO"),
            (3, eo(3, 9), "an epoch ends where the next starts"),
            (1, eo(1, 5), "the first epoch"),
            (
                4,
                eo(3, 9),
                "unknown epoch between: the floor epoch answers",
            ),
            (5, eo(3, 9), "another gap epoch"),
            (
                0,
                eo(0, 0),
                "older than every entry: requested epoch, first start",
            ),
            (7, EpochEndOffset::UNDEFINED, "newer than every entry"),
        ];
        for &(requested, expected, why) in cases {
            assert_eq!(
                c.end_offset_for(LeaderEpoch(requested), leo),
                expected,
                "{why}"
            );
        }
        assert_eq!(
            LeaderEpochCache::new().end_offset_for(LeaderEpoch(0), leo),
            EpochEndOffset::UNDEFINED,
            "an empty cache knows no epoch"
        );
    }

    #[test]
    fn assign_keeps_entries_monotonic() {
        let mut c = cache(&[(1, 0), (3, 5)]);
        assert!(
            !c.assign(LeaderEpoch(3), Offset(7)),
            "same epoch, later offset"
        );
        assert!(
            c.assign(LeaderEpoch(3), Offset(4)),
            "same epoch, earlier offset"
        );
        assert_eq!(c.entries()[1].start_offset, Offset(4));
        // A newer epoch starting before existing entries replaces them (a new leader's LEO).
        assert!(c.assign(LeaderEpoch(5), Offset(2)));
        assert_eq!(
            c.entries(),
            &[
                EpochEntry {
                    epoch: LeaderEpoch(1),
                    start_offset: Offset(0)
                },
                EpochEntry {
                    epoch: LeaderEpoch(5),
                    start_offset: Offset(2)
                }
            ]
        );
        assert!(!c.assign(LeaderEpoch(-1), Offset(3)), "unstamped batches");
    }

    #[test]
    fn truncation_from_either_end() {
        let mut c = cache(&[(1, 0), (3, 5), (6, 9)]);
        c.truncate_from_end(Offset(9));
        assert_eq!(c.latest_epoch(), Some(LeaderEpoch(3)));
        c.truncate_from_end(Offset(6));
        assert_eq!(
            c.latest_epoch(),
            Some(LeaderEpoch(3)),
            "epoch 3 still has [5, 6)"
        );
        c.truncate_from_start(Offset(5));
        assert_eq!(
            c.entries(),
            &[EpochEntry {
                epoch: LeaderEpoch(3),
                start_offset: Offset(5)
            }]
        );
        let mut d = cache(&[(1, 0), (3, 5)]);
        d.truncate_from_start(Offset(2));
        assert_eq!(
            d.entries()[0],
            EpochEntry {
                epoch: LeaderEpoch(1),
                start_offset: Offset(2)
            },
            "the covering epoch now starts at the new log start"
        );
        d.truncate_from_end(Offset(0));
        assert!(d.is_empty());
    }
}
