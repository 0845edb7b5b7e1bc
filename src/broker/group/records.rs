//! The bytes of an offset commit in `__consumer_offsets` (rule G-6): one record per
//! partition, keyed by (group, topic, partition), in Kafka's own schemas, so a dump of the
//! simulated log reads like Kafka's `kafka-dump-log --offsets-decoder` input.
//!
//! Key, `OffsetCommitKey` version 1: int16 version, string group, string topic, int32
//! partition. Value, `OffsetCommitValue` version 3: int16 version, int64 offset, int32 leader
//! epoch (-1 when unknown), string metadata, int64 commit timestamp. Strings are an int16
//! length and UTF-8 bytes. A record with no value is a tombstone: the offset was deleted.
//!
//! A group's membership is a record too: key `GroupMetadataKey` version 2 (int16 version,
//! string group), value `GroupMetadataValue` version 3 (protocol type, generation, protocol,
//! leader, state timestamp, and per member its id, instance id, client id and host, rebalance
//! and session timeouts, and its subscription and assignment in the consumer protocol's own
//! bytes: `ConsumerProtocolSubscription` v1 and `ConsumerProtocolAssignment` v0). A new
//! coordinator reads it back and keeps the members, as Kafka's `GroupMetadataManager` does.
//!
//! Invariant: decoding treats every byte as hostile and names what is wrong.

use super::messages::OffsetAndMetadata;
use crate::broker::codec::{
    put_bytes, put_nullable_string, put_string, put_topic_partitions, Reader,
};
use crate::client::assignor::Subscription;
use crate::ids::{LeaderEpoch, Offset, PartitionIndex, TopicPartition};
use std::collections::BTreeSet;

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

/// One member in a group metadata record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberMetadata {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    /// The member's subscription for the group's protocol.
    pub subscription: Subscription,
    pub assignment: BTreeSet<TopicPartition>,
}

/// A group's membership as its coordinator stores it (`GroupMetadataValue` v3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMetadata {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub current_state_timestamp: i64,
    pub members: Vec<MemberMetadata>,
}

/// What a record of `__consumer_offsets` holds, as far as logsim reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OffsetsTopicRecord {
    /// A committed offset (`Some`) or its tombstone (`None`).
    OffsetCommit {
        key: OffsetCommitKey,
        value: Option<(OffsetAndMetadata, i64)>,
    },
    /// A group's membership (`None`: the group was deleted).
    GroupMetadata {
        group_id: String,
        value: Option<GroupMetadata>,
    },
    /// Another kind of record: not read by logsim.
    Other { key_version: i16 },
}

/// `ConsumerProtocolSubscription` v1: topics, user data (null), owned partitions.
pub fn encode_subscription(s: &Subscription) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.extend_from_slice(&1i16.to_be_bytes());
    out.extend_from_slice(&(s.topics.len() as i32).to_be_bytes());
    for t in &s.topics {
        put_string(&mut out, t)?;
    }
    out.extend_from_slice(&(-1i32).to_be_bytes());
    put_topic_partitions(&mut out, &s.owned_partitions)?;
    Ok(out)
}

/// `ConsumerProtocolAssignment` v0: assigned partitions, user data (null).
pub fn encode_assignment(tps: &BTreeSet<TopicPartition>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.extend_from_slice(&0i16.to_be_bytes());
    put_topic_partitions(&mut out, tps)?;
    out.extend_from_slice(&(-1i32).to_be_bytes());
    Ok(out)
}

/// The key bytes of a group metadata record.
pub fn encode_group_metadata_key(group_id: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.extend_from_slice(&GROUP_METADATA_KEY_VERSION.to_be_bytes());
    put_string(&mut out, group_id)?;
    Ok(out)
}

/// The value bytes of a group metadata record (`GroupMetadataValue` v3).
pub fn encode_group_metadata_value(g: &GroupMetadata) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.extend_from_slice(&3i16.to_be_bytes());
    put_string(&mut out, &g.protocol_type)?;
    out.extend_from_slice(&g.generation.to_be_bytes());
    put_nullable_string(&mut out, g.protocol.as_deref())?;
    put_nullable_string(&mut out, g.leader.as_deref())?;
    out.extend_from_slice(&g.current_state_timestamp.to_be_bytes());
    out.extend_from_slice(&(g.members.len() as i32).to_be_bytes());
    for m in &g.members {
        put_string(&mut out, &m.member_id)?;
        put_nullable_string(&mut out, m.group_instance_id.as_deref())?;
        put_string(&mut out, &m.client_id)?;
        put_string(&mut out, &m.client_host)?;
        out.extend_from_slice(&m.rebalance_timeout_ms.to_be_bytes());
        out.extend_from_slice(&m.session_timeout_ms.to_be_bytes());
        put_bytes(&mut out, &encode_subscription(&m.subscription)?)?;
        put_bytes(&mut out, &encode_assignment(&m.assignment)?)?;
    }
    Ok(out)
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

/// Reads one record of `__consumer_offsets`.
pub fn decode_offsets_topic_record(
    key: &[u8],
    value: Option<&[u8]>,
) -> Result<OffsetsTopicRecord, String> {
    let mut k = Reader::new(key, "offsets topic key");
    let version = k.i16("version")?;
    if version == GROUP_METADATA_KEY_VERSION {
        let group_id = k.string("group")?;
        let value = match value {
            Some(v) => Some(decode_group_metadata_value(v)?),
            None => None,
        };
        return Ok(OffsetsTopicRecord::GroupMetadata { group_id, value });
    }
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
    let mut v = Reader::new(value, "offset commit value");
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

fn decode_subscription(bytes: &[u8]) -> Result<Subscription, String> {
    let mut r = Reader::new(bytes, "consumer subscription");
    let version = r.i16("version")?;
    let mut topics = BTreeSet::new();
    for _ in 0..r.count("topics")? {
        topics.insert(r.string("topic")?);
    }
    let _user_data = r.bytes("user data")?;
    let owned_partitions = if version >= 1 {
        r.topic_partitions("owned partitions")?
    } else {
        BTreeSet::new()
    };
    Ok(Subscription {
        topics,
        owned_partitions,
        generation: None,
        group_instance_id: None,
    })
}

fn decode_assignment(bytes: &[u8]) -> Result<BTreeSet<TopicPartition>, String> {
    let mut r = Reader::new(bytes, "consumer assignment");
    let _version = r.i16("version")?;
    r.topic_partitions("assigned partitions")
}

fn decode_group_metadata_value(bytes: &[u8]) -> Result<GroupMetadata, String> {
    let mut r = Reader::new(bytes, "group metadata value");
    let version = r.i16("version")?;
    if version != 3 {
        return Err(format!(
            "group metadata value: version {version}, logsim reads 3"
        ));
    }
    let protocol_type = r.string("protocol type")?;
    let generation = r.i32("generation")?;
    let protocol = r.nullable_string("protocol")?;
    let leader = r.nullable_string("leader")?;
    let current_state_timestamp = r.i64("current state timestamp")?;
    let mut members = Vec::new();
    for _ in 0..r.count("members")? {
        let member_id = r.string("member id")?;
        let group_instance_id = r.nullable_string("group instance id")?;
        let client_id = r.string("client id")?;
        let client_host = r.string("client host")?;
        let rebalance_timeout_ms = r.i32("rebalance timeout")?;
        let session_timeout_ms = r.i32("session timeout")?;
        let mut subscription = decode_subscription(r.bytes("subscription")?)?;
        subscription.group_instance_id = group_instance_id.clone();
        let assignment = decode_assignment(r.bytes("assignment")?)?;
        members.push(MemberMetadata {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            subscription,
            assignment,
        });
    }
    Ok(GroupMetadata {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
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
            OffsetsTopicRecord::GroupMetadata {
                group_id: "g".into(),
                value: None
            }
        );
        assert_eq!(
            decode_offsets_topic_record(&[0, 7], None).unwrap(),
            OffsetsTopicRecord::Other { key_version: 7 }
        );
        let key = encode_group_metadata_key("g").unwrap();
        let err = decode_offsets_topic_record(&key, Some(&[0, 3, 0, 8, b'c'])).unwrap_err();
        assert!(err.contains("protocol type"), "{err}");
        let err = decode_offsets_topic_record(
            &key,
            Some(&[
                0, 3, 0, 0, 0, 0, 0, 1, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0, 0, 0,
            ]),
        )
        .unwrap_err();
        assert!(err.contains("members count"), "{err}");
        assert!(decode_offsets_topic_record(&[], None).is_err());
    }

    #[test]
    fn group_metadata_round_trips_with_the_consumer_protocol_inside() {
        let tp = |p| TopicPartition {
            topic: "t".into(),
            partition: PartitionIndex(p),
        };
        let g = GroupMetadata {
            protocol_type: "consumer".into(),
            generation: 4,
            protocol: Some("cooperative-sticky".into()),
            leader: Some("consumer-0-1".into()),
            current_state_timestamp: 1_234,
            members: vec![MemberMetadata {
                member_id: "consumer-0-1".into(),
                group_instance_id: Some("app-0".into()),
                client_id: "consumer-0".into(),
                client_host: "/node-2000".into(),
                rebalance_timeout_ms: 10_000,
                session_timeout_ms: 45_000,
                subscription: Subscription {
                    topics: ["t".to_string()].into_iter().collect(),
                    owned_partitions: [tp(1)].into_iter().collect(),
                    generation: None,
                    group_instance_id: Some("app-0".into()),
                },
                assignment: [tp(0), tp(1)].into_iter().collect(),
            }],
        };
        let key = encode_group_metadata_key("g").unwrap();
        let value = encode_group_metadata_value(&g).unwrap();
        assert_eq!(&key[..2], &[0, 2]);
        assert_eq!(
            decode_offsets_topic_record(&key, Some(&value)).unwrap(),
            OffsetsTopicRecord::GroupMetadata {
                group_id: "g".into(),
                value: Some(g)
            }
        );
        for cut in 0..value.len() {
            assert!(decode_offsets_topic_record(&key, Some(&value[..cut])).is_err());
        }
    }
}
