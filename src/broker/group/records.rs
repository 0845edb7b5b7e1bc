//! The bytes of an offset commit in `__consumer_offsets` (rule G-6): one record per
//! partition, keyed by (group, topic, partition), in Kafka's own schemas, so a dump of the
//! simulated log reads like Kafka's `kafka-dump-log --offsets-decoder` input.
//!
//! Key, `OffsetCommitKey` version 1: int16 version, string group, string topic, int32
//! partition. Value, `OffsetCommitValue` version 3: int16 version, int64 offset, int32 leader
//! epoch (-1 when unknown), string metadata, int64 commit timestamp. Strings are an int16
//! length and UTF-8 bytes. A record with no value is a tombstone: the offset was deleted.
//!
//! Invariant: decoding treats every byte as hostile and names what is wrong; keys of other
//! versions (group metadata records, version 2) are recognised and skipped, not misread.

use super::messages::OffsetAndMetadata;
use crate::ids::{LeaderEpoch, Offset, PartitionIndex, TopicPartition};

/// The key version of an offset commit record.
pub const OFFSET_COMMIT_KEY_VERSION: i16 = 1;
/// The key version of a group metadata record (not written by logsim; skipped when read).
pub const GROUP_METADATA_KEY_VERSION: i16 = 2;
/// The value version logsim writes.
pub const OFFSET_COMMIT_VALUE_VERSION: i16 = 3;

/// One offset commit record's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitKey {
    pub group_id: String,
    pub topic_partition: TopicPartition,
}

/// What a record of `__consumer_offsets` holds, as far as logsim reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OffsetsTopicRecord {
    /// A committed offset (`Some`) or its tombstone (`None`).
    OffsetCommit {
        key: OffsetCommitKey,
        value: Option<(OffsetAndMetadata, i64)>,
    },
    /// Another kind of record (group metadata): not read by logsim.
    Other { key_version: i16 },
}

fn put_string(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    let len = i16::try_from(s.len()).map_err(|_| {
        format!(
            "string of {} bytes is too long for an int16 length",
            s.len()
        )
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// The key bytes of an offset commit record.
pub fn encode_offset_commit_key(key: &OffsetCommitKey) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.extend_from_slice(&OFFSET_COMMIT_KEY_VERSION.to_be_bytes());
    put_string(&mut out, &key.group_id)?;
    put_string(&mut out, &key.topic_partition.topic)?;
    let partition = i32::try_from(key.topic_partition.partition.0)
        .map_err(|_| "partition index above int32".to_string())?;
    out.extend_from_slice(&partition.to_be_bytes());
    Ok(out)
}

/// The value bytes of an offset commit record, stamped with the commit time.
pub fn encode_offset_commit_value(
    offset: &OffsetAndMetadata,
    commit_timestamp_ms: i64,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.extend_from_slice(&OFFSET_COMMIT_VALUE_VERSION.to_be_bytes());
    out.extend_from_slice(&offset.committed_offset.0.to_be_bytes());
    out.extend_from_slice(&offset.leader_epoch.map_or(-1, |e| e.0).to_be_bytes());
    put_string(&mut out, &offset.metadata)?;
    out.extend_from_slice(&commit_timestamp_ms.to_be_bytes());
    Ok(out)
}

/// A cursor over hostile bytes.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.buf.len());
        let Some(end) = end else {
            return Err(format!(
                "{}: {field} needs {n} bytes at byte {}, only {} left",
                self.what,
                self.at,
                self.buf.len().saturating_sub(self.at)
            ));
        };
        let bytes = &self.buf[self.at..end];
        self.at = end;
        Ok(bytes)
    }
    fn i16(&mut self, field: &str) -> Result<i16, String> {
        let b = self.take(2, field)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self, field: &str) -> Result<i32, String> {
        let b = self.take(4, field)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self, field: &str) -> Result<i64, String> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
    fn string(&mut self, field: &str) -> Result<String, String> {
        let len = self.i16(field)?;
        if len < 0 {
            return Err(format!("{}: {field} has negative length {len}", self.what));
        }
        let bytes = self.take(len as usize, field)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| format!("{}: {field} is not UTF-8", self.what))
    }
}

/// Reads one record of `__consumer_offsets`.
pub fn decode_offsets_topic_record(
    key: &[u8],
    value: Option<&[u8]>,
) -> Result<OffsetsTopicRecord, String> {
    let mut k = Reader {
        buf: key,
        at: 0,
        what: "offsets topic key",
    };
    let version = k.i16("version")?;
    if version != 0 && version != OFFSET_COMMIT_KEY_VERSION {
        return Ok(OffsetsTopicRecord::Other {
            key_version: version,
        });
    }
    let group_id = k.string("group")?;
    let topic = k.string("topic")?;
    let partition = k.i32("partition")?;
    let partition = u32::try_from(partition)
        .map_err(|_| format!("offsets topic key: partition {partition} is negative"))?;
    let key = OffsetCommitKey {
        group_id,
        topic_partition: TopicPartition {
            topic,
            partition: PartitionIndex(partition),
        },
    };
    let Some(value) = value else {
        return Ok(OffsetsTopicRecord::OffsetCommit { key, value: None });
    };
    let mut v = Reader {
        buf: value,
        at: 0,
        what: "offset commit value",
    };
    let version = v.i16("version")?;
    if !(0..=OFFSET_COMMIT_VALUE_VERSION).contains(&version) {
        return Err(format!("offset commit value: unknown version {version}"));
    }
    let offset = v.i64("offset")?;
    let leader_epoch = if version >= 3 {
        v.i32("leader epoch")?
    } else {
        -1
    };
    let metadata = v.string("metadata")?;
    let timestamp = v.i64("commit timestamp")?;
    Ok(OffsetsTopicRecord::OffsetCommit {
        key,
        value: Some((
            OffsetAndMetadata {
                committed_offset: Offset(offset),
                leader_epoch: (leader_epoch >= 0).then_some(LeaderEpoch(leader_epoch)),
                metadata,
            },
            timestamp,
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn key() -> OffsetCommitKey {
        OffsetCommitKey {
            group_id: "my-group".into(),
            topic_partition: TopicPartition {
                topic: "orders".into(),
                partition: PartitionIndex(3),
            },
        }
    }

    #[test]
    fn key_and_value_have_kafkas_layout_and_round_trip() {
        let k = encode_offset_commit_key(&key()).unwrap();
        // version 1, "my-group", "orders", partition 3.
        let mut expected = vec![0, 1, 0, 8];
        expected.extend_from_slice(b"my-group");
        expected.extend_from_slice(&[0, 6]);
        expected.extend_from_slice(b"orders");
        expected.extend_from_slice(&[0, 0, 0, 3]);
        assert_eq!(k, expected);
        let offset = OffsetAndMetadata {
            committed_offset: Offset(42),
            leader_epoch: Some(LeaderEpoch(2)),
            metadata: String::new(),
        };
        let v = encode_offset_commit_value(&offset, 1_000).unwrap();
        assert_eq!(v.len(), 2 + 8 + 4 + 2 + 8);
        assert_eq!(&v[..2], &[0, 3]);
        assert_eq!(
            decode_offsets_topic_record(&k, Some(&v)).unwrap(),
            OffsetsTopicRecord::OffsetCommit {
                key: key(),
                value: Some((offset, 1_000))
            }
        );
        assert_eq!(
            decode_offsets_topic_record(&k, None).unwrap(),
            OffsetsTopicRecord::OffsetCommit {
                key: key(),
                value: None
            }
        );
    }

    #[test]
    fn hostile_bytes_get_errors_that_name_the_field() {
        let k = encode_offset_commit_key(&key()).unwrap();
        let err = decode_offsets_topic_record(&k[..7], None).unwrap_err();
        assert!(err.contains("group") && err.contains("needs"), "{err}");
        let err = decode_offsets_topic_record(&k, Some(&[0, 9])).unwrap_err();
        assert!(err.contains("unknown version 9"), "{err}");
        let err = decode_offsets_topic_record(&k, Some(&[0, 3, 1])).unwrap_err();
        assert!(err.contains("offset"), "{err}");
        assert_eq!(
            decode_offsets_topic_record(&[0, 2, 0, 1, b'g'], None).unwrap(),
            OffsetsTopicRecord::Other { key_version: 2 }
        );
        assert!(decode_offsets_topic_record(&[], None).is_err());
    }
}
