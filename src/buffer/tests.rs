use super::*;
use crate::storage::memory::MemoryStorage;
use crate::storage::{Answer, SyncStorage};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const T0: i64 = 1_700_000_000_000;

fn topics(json: &str) -> BTreeMap<String, TopicSpec> {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    value
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), TopicSpec::from_json(k, v).unwrap()))
        .collect()
}

/// What a driver does: every file storage holds, read whole.
fn files(storage: &mut MemoryStorage) -> Vec<(FileName, Vec<u8>)> {
    storage.read_all().unwrap()
}

fn open(storage: &mut MemoryStorage, json: &str) -> (LogBuffer, Vec<RecoveryNote>) {
    LogBuffer::open(&topics(json), files(storage), T0).unwrap()
}

/// Queues the buffer's changes and a Sync: a flush.
fn flush(buffer: &mut LogBuffer, storage: &mut MemoryStorage) {
    for r in buffer.take_storage_requests().unwrap() {
        storage.apply(r).unwrap();
    }
    storage.apply(StorageRequest::Sync).unwrap();
}

/// Queues the changes without a Sync: what a crash mid-write leaves pending.
fn write_unsynced(buffer: &mut LogBuffer, storage: &mut MemoryStorage) {
    for r in buffer.take_storage_requests().unwrap() {
        storage.apply(r).unwrap();
    }
}

fn value(s: &str) -> AppendRecord {
    AppendRecord {
        value: Some(s.as_bytes().to_vec()),
        ..AppendRecord::default()
    }
}

fn keyed(k: &str, v: Option<&str>) -> AppendRecord {
    AppendRecord {
        key: Some(k.as_bytes().to_vec()),
        value: v.map(|v| v.as_bytes().to_vec()),
        ..AppendRecord::default()
    }
}

fn values(result: &ReadResult) -> Vec<String> {
    result
        .records
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap_or_default()).unwrap())
        .collect()
}

#[test]
fn appends_partition_by_murmur2_and_read_back_in_order() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, notes) = open(&mut storage, r#"{"events": {"partitions": 3}}"#);
    assert!(notes.is_empty());
    let records: Vec<AppendRecord> = (0..12)
        .map(|i| {
            let mut r = keyed(&format!("user-{}", i % 4), Some(&format!("v{i}")));
            r.headers.push(RecordHeader {
                key: "source".into(),
                value: Some(b"form".to_vec()),
            });
            r.timestamp_ms = Some(T0 + i);
            r
        })
        .collect();
    let result = buffer.append("events", records.clone(), None, T0).unwrap();
    // Each record lands where Kafka's default partitioner puts its key.
    for (r, (p, _)) in records.iter().zip(&result.records) {
        assert_eq!(*p, partition_for_key(r.key.as_ref().unwrap(), 3).0);
    }
    let total: u32 = result.partitions.iter().map(|p| p.record_count).sum();
    assert_eq!(total, 12);
    for part in &result.partitions {
        assert_eq!(part.base_offset, 0);
        assert_eq!(part.batches, 1);
        let read = buffer
            .read("events", part.partition, 0, 100, 1 << 20)
            .unwrap();
        assert_eq!(read.records.len() as u32, part.record_count);
        assert_eq!(read.next_offset, i64::from(part.record_count));
        assert_eq!(read.high_watermark, i64::from(part.record_count));
        // Order within the partition is the order given; headers and timestamps survive.
        let expected: Vec<String> = records
            .iter()
            .zip(&result.records)
            .filter(|(_, (p, _))| *p == part.partition)
            .map(|(r, _)| String::from_utf8(r.value.clone().unwrap()).unwrap())
            .collect();
        assert_eq!(values(&read), expected);
        assert_eq!(read.records[0].headers[0].key, "source");
        assert!(read.records[0].timestamp_ms >= T0);
    }
    // maxRecords and maxBytes bound a read; at least one record always comes back.
    let p = result.partitions[0].partition;
    assert_eq!(
        buffer
            .read("events", p, 0, 1, 1 << 20)
            .unwrap()
            .records
            .len(),
        1
    );
    assert_eq!(
        buffer.read("events", p, 0, 100, 1).unwrap().records.len(),
        1
    );
    // Reading at the log end is empty, past it is OFFSET_OUT_OF_RANGE.
    let end = i64::from(result.partitions[0].record_count);
    assert!(buffer
        .read("events", p, end, 10, 100)
        .unwrap()
        .records
        .is_empty());
    let err = buffer.read("events", p, end + 1, 10, 100).unwrap_err();
    assert_eq!(err.code, ErrorCode::OffsetOutOfRange);
    assert!(
        err.message.contains(&format!("[0, {end})")),
        "{}",
        err.message
    );
}

#[test]
fn unkeyed_appends_stick_to_one_partition_per_append() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, _) = open(&mut storage, r#"{"events": {"partitions": 2}}"#);
    let a = buffer
        .append("events", vec![value("a"), value("b")], None, T0)
        .unwrap();
    let b = buffer.append("events", vec![value("c")], None, T0).unwrap();
    assert_eq!(a.partitions.len(), 1);
    assert_eq!(a.partitions[0].record_count, 2);
    assert_ne!(a.partitions[0].partition, b.partitions[0].partition);
}

#[test]
fn a_crash_keeps_what_was_flushed_and_offsets_continue_from_it() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, _) = open(&mut storage, r#"{"events": {}}"#);
    buffer
        .append("events", vec![value("a"), value("b")], None, T0)
        .unwrap();
    flush(&mut buffer, &mut storage);
    buffer
        .append("events", vec![value("lost")], None, T0)
        .unwrap();
    write_unsynced(&mut buffer, &mut storage);
    drop(buffer);
    storage.crash();

    let (mut buffer, _) = open(&mut storage, r#"{"events": {}}"#);
    assert_eq!(buffer.offsets("events", 0).unwrap(), (0, 2));
    let next = buffer.append("events", vec![value("c")], None, T0).unwrap();
    assert_eq!(next.records, vec![(0, 2)]);
    assert_eq!(
        values(&buffer.read("events", 0, 0, 10, 1 << 20).unwrap()),
        ["a", "b", "c"]
    );
}

#[test]
fn a_torn_tail_is_cut_by_its_crc_and_reported() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, _) = open(&mut storage, r#"{"events": {}}"#);
    buffer.append("events", vec![value("a")], None, T0).unwrap();
    buffer.append("events", vec![value("b")], None, T0).unwrap();
    flush(&mut buffer, &mut storage);
    // Flip a byte inside the last batch: a half-written tail.
    let file = FileName::new("events-0/00000000000000000000.log").unwrap();
    let Ok(Answer::Read(mut bytes)) = storage.apply(StorageRequest::Read { file: file.clone() })
    else {
        panic!()
    };
    let last = bytes.len() - 2;
    bytes[last] ^= 0xff;
    storage
        .apply(StorageRequest::Replace { file, bytes })
        .unwrap();
    storage.apply(StorageRequest::Sync).unwrap();

    let (mut buffer, notes) = open(&mut storage, r#"{"events": {}}"#);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].torn_tail_bytes > 0, "{notes:?}");
    assert_eq!(notes[0].log_end_offset, 1);
    assert_eq!(buffer.offsets("events", 0).unwrap(), (0, 1));
    assert_eq!(
        buffer
            .append("events", vec![value("c")], None, T0)
            .unwrap()
            .records,
        vec![(0, 1)]
    );
    flush(&mut buffer, &mut storage);
    let (buffer, notes) = open(&mut storage, r#"{"events": {}}"#);
    assert_eq!(notes[0].torn_tail_bytes, 0, "the cut was made durable");
    assert_eq!(
        values(&buffer.read("events", 0, 0, 10, 1 << 20).unwrap()),
        ["a", "c"]
    );
}

#[test]
fn a_retried_idempotent_append_after_a_crash_is_not_duplicated() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, _) = open(&mut storage, r#"{"events": {"partitions": 2}}"#);
    let (pid, epoch) = buffer.init_producer_id(Some("forms")).unwrap();
    let producer = |sequence| IdempotentProducer {
        producer_id: pid,
        producer_epoch: epoch,
        sequence: Some(sequence),
    };
    let batch = [keyed("k", Some("one")), keyed("k", Some("two"))];
    let first = buffer
        .append("events", batch.to_vec(), Some(producer(0)), T0)
        .unwrap();
    assert!(!first.partitions[0].duplicate);
    flush(&mut buffer, &mut storage);
    drop(buffer);
    storage.crash();

    // The app did not see the flush resolve, so it retries with the same id and sequence.
    let (mut buffer, _) = open(&mut storage, r#"{"events": {"partitions": 2}}"#);
    assert_eq!(
        buffer.init_producer_id(Some("forms")).unwrap(),
        (pid, epoch)
    );
    let retry = buffer
        .append("events", batch.to_vec(), Some(producer(0)), T0)
        .unwrap();
    assert!(retry.partitions[0].duplicate);
    assert_eq!(retry.records, first.records);
    let p = first.partitions[0].partition;
    assert_eq!(buffer.offsets("events", p).unwrap(), (0, 2));
    assert_eq!(
        buffer.producer_state(pid, "events", p).unwrap(),
        Some((0, 1, 1))
    );
    // Without a sequence the buffer continues after the last one; a gap is refused.
    let next = IdempotentProducer {
        sequence: None,
        ..producer(0)
    };
    let third = buffer
        .append("events", vec![keyed("k", Some("three"))], Some(next), T0)
        .unwrap();
    assert_eq!(third.partitions[0].base_sequence, Some(2));
    let err = buffer
        .append(
            "events",
            vec![keyed("k", Some("gap"))],
            Some(producer(9)),
            T0,
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::OutOfOrderSequenceNumber);
    // An unnamed producer gets a fresh id; an unknown id is refused.
    assert_eq!(buffer.init_producer_id(None).unwrap().0, pid + 1);
    let err = buffer
        .append(
            "events",
            vec![keyed("k", None)],
            Some(IdempotentProducer {
                producer_id: 99,
                ..producer(0)
            }),
            T0,
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::UnknownProducerId);
    // Records for two partitions cannot share one sequence.
    let err = buffer
        .append(
            "events",
            vec![
                AppendRecord {
                    partition: Some(0),
                    ..value("1")
                },
                AppendRecord {
                    partition: Some(1),
                    ..value("2")
                },
            ],
            Some(next),
            T0,
        )
        .unwrap_err();
    assert!(err.message.contains("one partition"), "{}", err.message);
}

#[test]
fn consumer_offsets_survive_a_reopen_and_give_the_lag() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, _) = open(&mut storage, r#"{"events": {"partitions": 2}}"#);
    for i in 0..5 {
        let mut r = value(&format!("v{i}"));
        r.partition = Some(0);
        buffer.append("events", vec![r], None, T0).unwrap();
    }
    buffer
        .commit_offset("uploader", "events", 0, 2, "after v1", T0 + 5)
        .unwrap();
    buffer
        .commit_offset("uploader", "events", 0, 3, "", T0 + 6)
        .unwrap();
    flush(&mut buffer, &mut storage);
    let (mut buffer, _) = open(&mut storage, r#"{"events": {"partitions": 2}}"#);
    let c = buffer.committed("uploader", "events", 0).unwrap().unwrap();
    assert_eq!((c.offset, c.commit_timestamp_ms), (3, T0 + 6));
    assert_eq!(buffer.committed("other", "events", 0).unwrap(), None);
    let lag = buffer.lag("uploader", Some("events")).unwrap();
    assert_eq!(lag.len(), 2);
    assert_eq!(
        (lag[0].current_offset, lag[0].log_end_offset, lag[0].lag),
        (Some(3), 5, 2)
    );
    assert_eq!((lag[1].current_offset, lag[1].lag), (None, 0));
    assert_eq!(buffer.groups(), ["uploader"]);
    // Positions are checked against the log.
    let err = buffer
        .commit_offset("uploader", "events", 0, 6, "", T0)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::OffsetOutOfRange);
    let err = buffer
        .commit_offset("", "events", 0, 1, "", T0)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidGroupId);
    let err = buffer
        .commit_offset("u", "events", 0, 1, &"x".repeat(5000), T0)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::OffsetMetadataTooLarge);
}

#[test]
fn retention_bytes_deletes_the_oldest_segments_and_can_be_tightened() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, _) = open(&mut storage, r#"{"events": {"segment.bytes": 1024}}"#);
    for i in 0..40 {
        buffer
            .append("events", vec![value(&format!("{i:0>100}"))], None, T0)
            .unwrap();
    }
    flush(&mut buffer, &mut storage);
    let before = buffer.stats();
    assert!(before.partitions[0].segments > 3, "{before:?}");
    assert_eq!(buffer.enforce_retention(T0).unwrap().deleted_segments, 0);
    buffer
        .set_topic_config("events", "retention.bytes", Some("2048"))
        .unwrap();
    let report = buffer.enforce_retention(T0).unwrap();
    assert!(report.deleted_segments > 0);
    let after = buffer.stats();
    assert!(after.total_bytes < before.total_bytes);
    let (start, end) = buffer.offsets("events", 0).unwrap();
    assert!(start > 0 && end == 40);
    let err = buffer.read("events", 0, 0, 1, 100).unwrap_err();
    assert_eq!(err.code, ErrorCode::OffsetOutOfRange);
    assert_eq!(
        buffer.read("events", 0, start, 1, 100).unwrap().records[0].offset,
        start
    );
    // The deletion and the new config are durable after a flush and a reopen.
    flush(&mut buffer, &mut storage);
    let (buffer, _) = open(&mut storage, r#"{}"#);
    assert_eq!(buffer.offsets("events", 0).unwrap(), (start, 40));
    assert_eq!(buffer.topics()["events"].configs["retention.bytes"], "2048");
    // A bad value is refused with its key.
    let mut buffer = buffer;
    let err = buffer
        .set_topic_config("events", "retention.bytes", Some("lots"))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfig);
}

#[test]
fn compaction_keeps_the_last_value_per_key_and_drops_tombstones_later() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, _) = open(
        &mut storage,
        r#"{"state": {"cleanup.policy": "compact", "segment.bytes": 200, "delete.retention.ms": 0}}"#,
    );
    for i in 0..20 {
        let v = format!("{i}");
        buffer
            .append(
                "state",
                vec![keyed(&format!("k{}", i % 3), Some(&v))],
                None,
                T0,
            )
            .unwrap();
    }
    buffer
        .append("state", vec![keyed("k0", None)], None, T0)
        .unwrap();
    // Roll once more so the tail above is in sealed segments the cleaner may clean.
    buffer
        .append("state", vec![keyed("k9", Some("x"))], None, T0)
        .unwrap();
    let report = buffer.enforce_retention(T0 + 1).unwrap();
    assert!(report.compacted_partitions >= 1);
    let read = buffer.read("state", 0, 0, 100, 1 << 20).unwrap();
    let keys: Vec<String> = read
        .records
        .iter()
        .map(|r| String::from_utf8(r.key.clone().unwrap()).unwrap())
        .collect();
    assert!(keys.len() < 22, "{keys:?}");
    let k1: Vec<&BufferRecord> = read
        .records
        .iter()
        .filter(|r| r.key.as_deref() == Some(b"k1"))
        .collect();
    assert_eq!(k1.len(), 1, "one value per key survives: {keys:?}");
    assert_eq!(k1[0].value.as_deref(), Some(&b"19"[..]));
}

#[test]
fn offset_for_timestamp_finds_the_first_record_at_or_after() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, _) = open(&mut storage, r#"{"events": {}}"#);
    for i in 0..10 {
        let mut r = value("x");
        r.timestamp_ms = Some(T0 + i * 1000);
        buffer.append("events", vec![r], None, T0).unwrap();
    }
    assert_eq!(
        buffer.offset_for_timestamp("events", 0, T0 + 2500).unwrap(),
        Some((3, T0 + 3000))
    );
    assert_eq!(
        buffer
            .offset_for_timestamp("events", 0, T0 + 99_000)
            .unwrap(),
        None
    );
    assert_eq!(
        buffer
            .offset_for_timestamp("events", 0, -2)
            .unwrap()
            .unwrap()
            .0,
        0
    );
    assert_eq!(
        buffer
            .offset_for_timestamp("events", 0, -1)
            .unwrap()
            .unwrap()
            .0,
        10
    );
    let err = buffer.offset_for_timestamp("events", 0, -9).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidTimestamp);
}

#[test]
fn large_appends_split_into_batches_and_oversize_records_are_refused_whole() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, _) = open(&mut storage, r#"{"events": {}}"#);
    let big = "x".repeat(600 * 1024);
    let result = buffer
        .append(
            "events",
            vec![value(&big), value(&big), value(&big)],
            None,
            T0,
        )
        .unwrap();
    assert_eq!(result.partitions[0].batches, 3);
    assert_eq!(result.records, vec![(0, 0), (0, 1), (0, 2)]);
    let huge = "x".repeat(2 << 20);
    let err = buffer
        .append("events", vec![value("fine"), value(&huge)], None, T0)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::MessageTooLarge);
    assert!(err.message.contains("record 1"), "{}", err.message);
    assert_eq!(
        buffer.offsets("events", 0).unwrap(),
        (0, 3),
        "nothing of it was appended"
    );
}

#[test]
fn bad_input_gets_errors_that_name_the_problem() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, _) = open(&mut storage, r#"{"events": {"partitions": 2}}"#);
    let err = buffer
        .append("nope", vec![value("a")], None, T0)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::UnknownTopicOrPartition);
    assert!(err.message.contains("events"), "{}", err.message);
    let mut r = value("a");
    r.partition = Some(7);
    let err = buffer.append("events", vec![r], None, T0).unwrap_err();
    assert_eq!(err.code, ErrorCode::UnknownTopicOrPartition);
    let err = buffer.append("events", vec![], None, T0).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRequest);
    let mut r = value("a");
    r.timestamp_ms = Some(-5);
    assert_eq!(
        buffer.append("events", vec![r], None, T0).unwrap_err().code,
        ErrorCode::InvalidTimestamp
    );
    assert_eq!(
        buffer.read("events", 0, -1, 1, 1).unwrap_err().code,
        ErrorCode::OffsetOutOfRange
    );
    flush(&mut buffer, &mut storage);
    // Declarations: no removing partitions, no internal names, no unknown configs.
    let err = LogBuffer::open(
        &topics(r#"{"events": {"partitions": 1}}"#),
        files(&mut storage),
        T0,
    )
    .err()
    .unwrap();
    assert_eq!(err.code, ErrorCode::InvalidPartitions);
    let err = LogBuffer::open(&topics(r#"{"__x": {}}"#), files(&mut storage), T0)
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::InvalidTopicException);
    let bad = serde_json::json!({"retention.mss": 5});
    let err = TopicSpec::from_json("events", &bad).unwrap_err();
    assert!(err.message.contains("retention.mss"), "{}", err.message);
    let bad = serde_json::json!({"partitions": 0});
    assert_eq!(
        TopicSpec::from_json("events", &bad).unwrap_err().code,
        ErrorCode::InvalidPartitions
    );
    // Adding partitions keeps the old ones' data.
    let (buffer, _) = open(&mut storage, r#"{"events": {"partitions": 4}}"#);
    assert_eq!(buffer.topics()["events"].partitions, 4);
    assert_eq!(buffer.stats().partitions.len(), 4);
    // A metadata file that is not ours is an error, not a panic.
    let mut storage = MemoryStorage::new();
    storage
        .apply(StorageRequest::Replace {
            file: FileName::new(METADATA_FILE).unwrap(),
            bytes: b"{oops".to_vec(),
        })
        .unwrap();
    let err = LogBuffer::open(&BTreeMap::new(), files(&mut storage), T0)
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::KafkaStorageError);
}

#[test]
fn the_record_size_estimate_is_the_encoded_size() {
    let shapes = [
        NewRecord::new(T0, None, None),
        NewRecord::new(T0, Some(b"k"), Some(&[7u8; 300])),
        NewRecord::new(T0, Some(&[1u8; 200]), Some(&[2u8; 70_000])).with_header("h", None),
        NewRecord::new(T0, None, Some(b"v"))
            .with_header("content-type", Some(b"application/json"))
            .with_header("x", Some(&[0u8; 130])),
    ];
    for r in shapes {
        let batch = RecordBatch::new_data(std::slice::from_ref(&r), ProducerFields::NONE);
        assert_eq!(61 + r.size_in_bytes_alone(), batch.encode().len() as u32);
    }
}

#[test]
fn refusals_found_while_planning_write_nothing() {
    let mut storage = MemoryStorage::new();
    let (mut buffer, _) = open(
        &mut storage,
        r#"{"state": {"partitions": 2, "cleanup.policy": "compact"}, "small": {"segment.bytes": 1024}}"#,
    );
    // A keyed record for one partition and a keyless one for the other: refused whole.
    let records = vec![
        AppendRecord {
            partition: Some(0),
            ..keyed("k", Some("v"))
        },
        AppendRecord {
            partition: Some(1),
            ..value("no key")
        },
    ];
    let err = buffer.append("state", records, None, T0).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRecord);
    assert!(
        err.message.contains("record 1 has no key"),
        "{}",
        err.message
    );
    assert_eq!(buffer.offsets("state", 0).unwrap(), (0, 0));
    // The batch limit is the segment's size when that is smaller than max.message.bytes:
    // records that fit one by one are split, one that cannot fit is refused up front.
    let result = buffer
        .append(
            "small",
            vec![value(&"x".repeat(600)), value(&"y".repeat(600))],
            None,
            T0,
        )
        .unwrap();
    assert_eq!(result.partitions[0].batches, 2);
    let err = buffer
        .append(
            "small",
            vec![value("ok"), value(&"z".repeat(2000))],
            None,
            T0,
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::MessageTooLarge);
    assert!(
        err.message.contains("limit is 1024 bytes"),
        "{}",
        err.message
    );
    assert_eq!(buffer.offsets("small", 0).unwrap(), (0, 2));
    // Config changes are all or none.
    let changes = [
        ("retention.ms".to_owned(), Some("1000".to_owned())),
        ("segment.bytes".to_owned(), Some("nope".to_owned())),
    ];
    assert!(buffer.set_topic_configs("small", &changes).is_err());
    assert!(!buffer.topics()["small"]
        .configs
        .contains_key("retention.ms"));
}

#[test]
fn a_damaged_metadata_file_is_an_error_not_a_panic() {
    for (bytes, why) in [
        (
            r#"{"format":1,"topics":{"t":{"partitions":0}},"producers":{},"next_producer_id":0}"#,
            "0 partitions",
        ),
        (
            r#"{"format":1,"topics":{"t":{"partitions":1,"configs":{"segment.bytes":"-4"}}},"producers":{},"next_producer_id":0}"#,
            "segment.bytes",
        ),
        (
            r#"{"format":1,"topics":{},"producers":{"a":7},"next_producer_id":2}"#,
            "producer id",
        ),
        (
            r#"{"format":9,"topics":{},"producers":{},"next_producer_id":0}"#,
            "format 9",
        ),
    ] {
        let mut storage = MemoryStorage::new();
        storage
            .apply(StorageRequest::Replace {
                file: FileName::new(METADATA_FILE).unwrap(),
                bytes: bytes.as_bytes().to_vec(),
            })
            .unwrap();
        let err = LogBuffer::open(&BTreeMap::new(), files(&mut storage), T0)
            .err()
            .unwrap();
        assert_eq!(err.code, ErrorCode::KafkaStorageError);
        assert!(err.message.contains(why), "{why}: {}", err.message);
    }
}
