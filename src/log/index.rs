//! A segment's sparse indexes (L-4): the offset index maps a batch's last offset (relative to
//! the segment base, i32) to the batch's file position (i32); the time index maps the largest
//! timestamp seen so far (i64) to the offset of the batch that carried it (relative, i32).
//! Both are kept in memory and serialized big-endian exactly as Kafka's `.index` (8-byte
//! entries) and `.timeindex` (12-byte entries) files. Keys only ever grow: the offset index
//! because offsets do, the time index because an entry is added only when the maximum grows.

use crate::ids::Offset;

pub const OFFSET_INDEX_ENTRY_BYTES: u32 = 8;
pub const TIME_INDEX_ENTRY_BYTES: u32 = 12;

/// One `.index` entry, with the offset made absolute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetPosition {
    pub offset: Offset,
    pub position: u32,
}

/// One `.timeindex` entry, with the offset made absolute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp: i64,
    pub offset: Offset,
}

fn relative(base: Offset, offset: Offset) -> i32 {
    // Callers only index offsets the segment accepted, which fit (L-3 d).
    i32::try_from(offset.0 - base.0).unwrap_or(i32::MAX)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetIndex {
    base_offset: Offset,
    entries: Vec<(i32, u32)>,
    entries_max: u32,
}

impl OffsetIndex {
    pub fn new(base_offset: Offset, entries_max: u32) -> OffsetIndex {
        OffsetIndex {
            base_offset,
            entries: Vec::new(),
            entries_max,
        }
    }

    pub fn is_full(&self) -> bool {
        self.entries.len() as u64 >= u64::from(self.entries_max)
    }

    pub fn len(&self) -> u32 {
        self.entries.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds an entry for a batch ending at `last_offset` that starts at `position`.
    pub fn append(&mut self, last_offset: Offset, position: u32) {
        let rel = relative(self.base_offset, last_offset);
        assert!(
            self.entries.last().is_none_or(|&(last, _)| last < rel),
            "offset index keys must grow: {last_offset} after {:?}",
            self.entries.last()
        );
        self.entries.push((rel, position));
    }

    /// The greatest entry whose offset is at most `target`, or the segment start.
    pub fn lookup(&self, target: Offset) -> OffsetPosition {
        let rel = target.0.saturating_sub(self.base_offset.0);
        let found = self.entries.partition_point(|&(o, _)| i64::from(o) <= rel);
        match found.checked_sub(1).map(|i| self.entries[i]) {
            Some((o, position)) => OffsetPosition {
                offset: self.offset(o),
                position,
            },
            None => OffsetPosition {
                offset: self.base_offset,
                position: 0,
            },
        }
    }

    /// Drops entries for offsets at or above `offset` (their batches are gone).
    pub fn truncate_to(&mut self, offset: Offset) {
        let rel = offset.0.saturating_sub(self.base_offset.0);
        let keep = self.entries.partition_point(|&(o, _)| i64::from(o) < rel);
        self.entries.truncate(keep);
    }

    pub fn entries(&self) -> impl Iterator<Item = OffsetPosition> + '_ {
        self.entries.iter().map(|&(o, position)| OffsetPosition {
            offset: self.offset(o),
            position,
        })
    }

    fn offset(&self, rel: i32) -> Offset {
        self.base_offset.plus(i64::from(rel))
    }

    /// The `.index` file: big-endian (relativeOffset i32, position i32) pairs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * OFFSET_INDEX_ENTRY_BYTES as usize);
        for &(o, position) in &self.entries {
            out.extend_from_slice(&o.to_be_bytes());
            out.extend_from_slice(&(position as i32).to_be_bytes());
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeIndex {
    base_offset: Offset,
    entries: Vec<(i64, i32)>,
    entries_max: u32,
}

impl TimeIndex {
    pub fn new(base_offset: Offset, entries_max: u32) -> TimeIndex {
        TimeIndex {
            base_offset,
            entries: Vec::new(),
            entries_max,
        }
    }

    pub fn is_full(&self) -> bool {
        self.entries.len() as u64 >= u64::from(self.entries_max)
    }

    pub fn len(&self) -> u32 {
        self.entries.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `(timestamp, offset)` only if the timestamp is larger than the last entry's, so the
    /// index stays monotonic. A sealing segment may add one entry past `entries_max`, as
    /// Kafka's `maybeAppend(.., skipFullCheck = true)` does.
    pub fn maybe_append(&mut self, timestamp: i64, offset: Offset) {
        if timestamp < 0 || self.entries.last().is_some_and(|&(t, _)| t >= timestamp) {
            return;
        }
        let rel = relative(self.base_offset, offset);
        if self.entries.last().is_some_and(|&(_, o)| o > rel) {
            return;
        }
        self.entries.push((timestamp, rel));
    }

    /// The last entry whose timestamp is strictly below `timestamp`: every record at or before
    /// its offset has a smaller timestamp, so a search for the first record `>= timestamp`
    /// may start after it.
    pub fn lookup_below(&self, timestamp: i64) -> Option<TimestampOffset> {
        let found = self.entries.partition_point(|&(t, _)| t < timestamp);
        found.checked_sub(1).map(|i| {
            let (t, o) = self.entries[i];
            TimestampOffset {
                timestamp: t,
                offset: self.base_offset.plus(i64::from(o)),
            }
        })
    }

    pub fn truncate_to(&mut self, offset: Offset) {
        let rel = offset.0.saturating_sub(self.base_offset.0);
        let keep = self.entries.partition_point(|&(_, o)| i64::from(o) < rel);
        self.entries.truncate(keep);
    }

    pub fn entries(&self) -> impl Iterator<Item = TimestampOffset> + '_ {
        self.entries.iter().map(|&(timestamp, o)| TimestampOffset {
            timestamp,
            offset: self.base_offset.plus(i64::from(o)),
        })
    }

    /// The `.timeindex` file: big-endian (timestamp i64, relativeOffset i32) entries.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * TIME_INDEX_ENTRY_BYTES as usize);
        for &(t, o) in &self.entries {
            out.extend_from_slice(&t.to_be_bytes());
            out.extend_from_slice(&o.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn offset_lookup_finds_greatest_entry_at_or_below() {
        let mut index = OffsetIndex::new(Offset(100), 10);
        index.append(Offset(104), 300);
        index.append(Offset(110), 900);
        assert_eq!(
            index.lookup(Offset(103)),
            OffsetPosition {
                offset: Offset(100),
                position: 0
            }
        );
        assert_eq!(index.lookup(Offset(104)).position, 300);
        assert_eq!(index.lookup(Offset(109)).position, 300);
        assert_eq!(index.lookup(Offset(500)).position, 900);
        assert_eq!(
            index.to_bytes(),
            [0, 0, 0, 4, 0, 0, 1, 44, 0, 0, 0, 10, 0, 0, 3, 132]
        );
        index.truncate_to(Offset(110));
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn time_index_only_grows() {
        let mut index = TimeIndex::new(Offset(0), 10);
        index.maybe_append(10, Offset(0));
        index.maybe_append(10, Offset(1));
        index.maybe_append(5, Offset(2));
        index.maybe_append(30, Offset(3));
        assert_eq!(index.len(), 2);
        assert_eq!(index.lookup_below(10), None);
        assert_eq!(index.lookup_below(11).map(|e| e.offset), Some(Offset(0)));
        assert_eq!(index.to_bytes().len(), 24);
    }
}
