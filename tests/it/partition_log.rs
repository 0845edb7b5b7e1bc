//! The partition log through its public API, one spec rule per test (L-2..L-8): roll by size
//! and by record time, sparse index lookups against a linear scan, ListOffsets by timestamp,
//! retention by time and size and never past the high watermark, compaction with tombstone
//! horizons, fetch byte limits, and crash recovery from the files the storage requests built.

use bytes::Bytes;
use expect_test::expect;
use kafka_protocol::records::RecordBatchDecoder;
use logsim::ids::{LeaderEpoch, Offset, PartitionIndex, TopicPartition};
use logsim::log::{
    CleanupPolicy, LogConfig, LogError, MessageTimestampType, NewRecord, PartitionLog,
    ProducerFields, RecordBatch, TimestampType,
};
use logsim::storage::memory::MemoryStorage;
use logsim::storage::{FileName, RequestId, StorageRequest, SyncStorage};
use proptest::prelude::*;

const EPOCH: LeaderEpoch = LeaderEpoch(1);

fn tp() -> TopicPartition {
    TopicPartition {
        topic: "orders".into(),
        partition: PartitionIndex(0),
    }
}

fn log_with(config: LogConfig) -> PartitionLog {
    PartitionLog::new(tp(), config, 0).expect("valid log")
}

/// A one-record batch of exactly 300 bytes (61 header + 239 record) with timestamp `ts`.
fn batch_300(ts: i64) -> RecordBatch {
    let batch = RecordBatch::new_data(
        &[NewRecord::new(ts, None, Some(&[7u8; 230]))],
        ProducerFields::NONE,
    );
    assert_eq!(batch.encode().len(), 300);
    batch
}

fn keyed(ts: i64, key: &str, value: Option<&str>) -> RecordBatch {
    RecordBatch::new_data(
        &[NewRecord::new(
            ts,
            Some(key.as_bytes()),
            value.map(str::as_bytes),
        )],
        ProducerFields::NONE,
    )
}

fn bases(log: &PartitionLog) -> Vec<i64> {
    log.segment_views()
        .iter()
        .map(|s| s.base_offset.0)
        .collect()
}

/// Runs the log's storage requests against a memory backend, then syncs.
fn replay(storage: &mut MemoryStorage, log: &mut PartitionLog) {
    let mut requests: Vec<_> = log.take_storage_requests();
    requests.push(StorageRequest::Sync);
    let numbered = requests
        .into_iter()
        .enumerate()
        .map(|(i, r)| (RequestId(i as u64), r))
        .collect();
    for completion in storage.execute(numbered) {
        assert!(
            matches!(completion, logsim::storage::Completion::Done(_)),
            "{completion:?}"
        );
    }
}

fn files(storage: &MemoryStorage) -> Vec<(FileName, Vec<u8>)> {
    storage
        .durable_image()
        .iter()
        .map(|(f, b)| (f.clone(), b.clone()))
        .collect()
}

fn file_name(name: &str) -> FileName {
    FileName::new(name).expect("valid name")
}

#[test]
fn size_roll_every_fourth_300_byte_batch_and_files_are_kafka_readable() {
    let config = LogConfig {
        segment_bytes: 1000,
        ..LogConfig::default()
    };
    let mut log = log_with(config);
    let mut storage = MemoryStorage::new();
    let mut rolled = Vec::new();
    for i in 0..10 {
        let info = log
            .append_as_leader(batch_300(i), EPOCH, i)
            .expect("append");
        assert_eq!(info.first_offset, Offset(i), "INV-4: base offset = LEO");
        rolled.push(info.rolled);
    }
    assert_eq!(
        rolled,
        [false, false, false, true, false, false, true, false, false, true]
    );
    assert_eq!(bases(&log), [0, 3, 6, 9]);
    replay(&mut storage, &mut log);
    // Each .log file is exactly the segment's bytes, and those are whole encoded batches that
    // an independent decoder reads (the leader's epoch and offsets stamped in).
    for (base, bytes) in log.segment_bytes() {
        let file = file_name(&format!("orders-0/{:020}.log", base.0));
        assert_eq!(
            storage.durable_image().get(&file).map(Vec::as_slice),
            Some(bytes)
        );
        let mut expected = Vec::new();
        for i in 0..bytes.len() as i64 / 300 {
            let mut batch = batch_300(base.0 + i);
            batch.base_offset = base.plus(i);
            batch.partition_leader_epoch = EPOCH.0;
            expected.extend(batch.encode());
        }
        assert_eq!(bytes, &expected[..]);
        let mut buf = Bytes::copy_from_slice(bytes);
        let sets = RecordBatchDecoder::decode_all(&mut buf).expect("kafka-protocol reads .log");
        let offsets: Vec<i64> = sets
            .iter()
            .flat_map(|s| s.records.iter().map(|r| r.offset))
            .collect();
        assert_eq!(
            offsets,
            (base.0..base.0 + offsets.len() as i64).collect::<Vec<_>>()
        );
    }
    // Sealed segments got their index files (empty here: 300 < index.interval.bytes) and a
    // one-entry time index written on roll.
    let timeindex = storage
        .durable_image()
        .get(&file_name("orders-0/00000000000000000000.timeindex"));
    assert_eq!(timeindex.map(Vec::len), Some(12));
}

#[test]
fn time_roll_follows_record_timestamps_not_the_clock() {
    let config = LogConfig {
        segment_ms: 1000,
        ..LogConfig::default()
    };
    let mut log = log_with(config);
    for ts in [0, 500, 1000] {
        assert!(
            !log.append_as_leader(keyed(ts, "k", Some("v")), EPOCH, 5)
                .expect("append")
                .rolled
        );
    }
    // The broker clock stands still at 5 ms; a record 1001 ms after the first one rolls.
    assert!(
        log.append_as_leader(keyed(1001, "k", Some("v")), EPOCH, 5)
            .expect("append")
            .rolled
    );
    // A producer with a skewed clock rolls a segment at once...
    assert!(
        log.append_as_leader(keyed(1_000_000, "k", Some("v")), EPOCH, 5)
            .expect("append")
            .rolled
    );
    // ...and one stuck in the past keeps it open however much real time passes.
    assert!(
        !log.append_as_leader(keyed(0, "k", Some("v")), EPOCH, 10_000_000)
            .expect("append")
            .rolled
    );
    assert_eq!(bases(&log), [0, 3, 4]);
}

#[test]
fn l5_offset_for_timestamp_table() {
    let mut log = log_with(LogConfig {
        segment_bytes: 1000,
        ..LogConfig::default()
    });
    for ts in [10, 30, 20, 40] {
        log.append_as_leader(batch_300(ts), EPOCH, 0)
            .expect("append");
    }
    log.set_high_watermark(Offset(4));
    let hw = log.high_watermark();
    let answers: Vec<String> = [15, 25, 35, 50, -2, -1, -3]
        .iter()
        .map(|&t| {
            format!(
                "{t} -> {:?}",
                log.offset_for_timestamp(t, hw).map(|(o, ts)| (o.0, ts))
            )
        })
        .collect();
    expect![[r#"
        15 -> Some((1, 30))
        25 -> Some((1, 30))
        35 -> Some((3, 40))
        50 -> None
        -2 -> Some((0, -1))
        -1 -> Some((4, -1))
        -3 -> Some((3, 40))"#]]
    .assert_eq(&answers.join("\n"));
    assert_eq!(
        log.offset_for_timestamp(35, Offset(3)),
        None,
        "found offset 3 >= HW 3"
    );
}

#[test]
fn l6_time_retention_deletes_old_segments_and_moves_log_start() {
    let config = LogConfig {
        segment_bytes: 1000,
        retention_ms: 150,
        ..LogConfig::default()
    };
    let mut log = log_with(config);
    for ts in [0, 0, 0, 100, 100, 100, 200, 200, 200] {
        log.append_as_leader(batch_300(ts), EPOCH, ts)
            .expect("append");
    }
    log.set_high_watermark(log.log_end_offset());
    assert_eq!(bases(&log), [0, 3, 6]);
    // 240 - 100 = 140 <= 150 keeps the second segment. (The spec's example says now = 260,
    // but 260 - 100 = 160 > 150 would delete the second segment too under the same rule.)
    assert_eq!(log.apply_retention(240).expect("retention"), 1);
    assert_eq!(log.log_start_offset(), Offset(3));
    assert!(matches!(
        log.fetch(Offset(1), 1 << 20, log.high_watermark()),
        Err(LogError::OffsetOutOfRange {
            requested: Offset(1),
            log_start: Offset(3),
            ..
        })
    ));
    let deleted = log.apply_retention_detailed(260).expect("retention");
    assert_eq!(
        deleted.iter().map(|d| d.base_offset.0).collect::<Vec<_>>(),
        [3]
    );
    assert_eq!(log.log_start_offset(), Offset(6));
    // A future timestamp keeps its segment alive.
    assert_eq!(log.apply_retention(350).expect("retention"), 0);
    let deleted = log.apply_retention_detailed(351).expect("retention");
    assert_eq!(deleted.len(), 1, "the active segment goes after a roll");
    assert_eq!(bases(&log), [9]);
    assert_eq!(
        (log.log_start_offset(), log.log_end_offset()),
        (Offset(9), Offset(9))
    );
}

#[test]
fn size_retention_and_the_high_watermark_bound() {
    let config = LogConfig {
        segment_bytes: 1000,
        retention_bytes: 1000,
        ..LogConfig::default()
    };
    let mut log = log_with(config);
    for ts in 0..10 {
        log.append_as_leader(batch_300(ts), EPOCH, ts)
            .expect("append");
    }
    // Nothing is below the HW yet: nothing goes, whatever the size.
    assert_eq!(log.apply_retention(10).expect("retention"), 0);
    log.set_high_watermark(Offset(4));
    // 3000 bytes, 2000 too many: segment [0,3) may go (its end 3 <= HW 4), [3,6) may not.
    let deleted = log.apply_retention_detailed(10).expect("retention");
    assert_eq!(
        deleted
            .iter()
            .map(|d| (d.base_offset.0, d.size_bytes))
            .collect::<Vec<_>>(),
        [(0, 900)]
    );
    log.set_high_watermark(Offset(10));
    // 2100 bytes: 1100 too many, so [3,6) goes (900) but [6,9) would overshoot.
    assert_eq!(log.apply_retention(10).expect("retention"), 1);
    assert_eq!(bases(&log), [6, 9]);
    assert_eq!(log.log_start_offset(), Offset(6));
}

#[test]
fn high_watermark_is_clamped_and_monotonic() {
    let mut log = log_with(LogConfig::default());
    for ts in 0..3 {
        log.append_as_leader(keyed(ts, "k", Some("v")), EPOCH, ts)
            .expect("append");
    }
    assert_eq!(log.set_high_watermark(Offset(99)), Offset(3));
    assert_eq!(
        log.set_high_watermark(Offset(1)),
        Offset(3),
        "the leader's HW never goes back"
    );
    assert_eq!(
        log.update_high_watermark(Offset(1)),
        Offset(1),
        "a follower's may"
    );
    log.truncate_to(Offset(1), 0).expect("truncate");
    assert_eq!(
        (log.log_end_offset(), log.high_watermark()),
        (Offset(1), Offset(1))
    );
}

#[test]
fn l7_compaction_keeps_latest_per_key_then_drops_tombstones_after_the_horizon() {
    let config = LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        ..LogConfig::default()
    };
    let mut log = log_with(config);
    for (key, value) in [
        ("k1", Some("a")),
        ("k2", Some("b")),
        ("k1", Some("c")),
        ("k2", None),
    ] {
        log.append_as_leader(keyed(1, key, value), EPOCH, 1)
            .expect("append");
    }
    log.force_roll(2).expect("roll");
    log.set_high_watermark(log.log_end_offset());
    let view = |log: &PartitionLog| -> Vec<(i64, String, Option<String>)> {
        log.read_records(Offset(0), Offset(100), 100)
            .into_iter()
            .map(|r| {
                let text = |b: Vec<u8>| String::from_utf8(b).expect("utf8");
                (
                    r.offset.0,
                    r.key.map(text).unwrap_or_default(),
                    r.value.map(text),
                )
            })
            .collect()
    };
    let t = 1_000_000;
    let report = log
        .compact(t)
        .expect("clean")
        .expect("dirty log is cleaned");
    assert_eq!((report.records_removed, report.delete_horizons_set), (2, 1));
    assert_eq!(
        view(&log),
        [(2, "k1".into(), Some("c".into())), (3, "k2".into(), None)]
    );
    let fetched = log
        .fetch(Offset(3), 1 << 20, log.high_watermark())
        .expect("fetch");
    let (tombstone, _) = logsim::log::decode_batch(&fetched.bytes).expect("batch");
    assert_eq!(tombstone.delete_horizon_ms(), Some(t + 86_400_000));
    assert_eq!(
        tombstone.record_timestamp(&tombstone.records[0]),
        1,
        "timestamps survive"
    );
    // Nothing new is dirty and the horizon is ahead: no pass.
    assert_eq!(log.compact(t + 86_399_999).expect("clean"), None);
    let report = log
        .compact(t + 86_400_000)
        .expect("clean")
        .expect("horizon passed");
    assert_eq!(report.tombstones_removed, 1);
    assert_eq!(view(&log), [(2, "k1".into(), Some("c".into()))]);
    assert_eq!(log.log_end_offset(), Offset(4), "offsets never change");
    // The emptied last batch keeps offset 3 covered, so a consumer at 3 is not out of range.
    assert!(log.fetch(Offset(3), 1 << 20, log.high_watermark()).is_ok());
}

#[test]
fn compaction_never_touches_the_active_segment_or_beyond_the_high_watermark() {
    let config = LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        ..LogConfig::default()
    };
    let mut log = log_with(config);
    for value in ["a", "b"] {
        log.append_as_leader(keyed(1, "k", Some(value)), EPOCH, 1)
            .expect("append");
    }
    log.set_high_watermark(Offset(1));
    assert_eq!(
        log.compact(10).expect("clean"),
        None,
        "all in the active segment"
    );
    log.force_roll(2).expect("roll");
    assert_eq!(
        log.compact(10).expect("clean"),
        None,
        "the HW is below the segment end"
    );
    log.set_high_watermark(log.log_end_offset());
    assert!(log.compact(10).expect("clean").is_some());
    assert_eq!(log.read_records(Offset(0), Offset(9), 9).len(), 1);
}

#[test]
fn keyless_records_are_rejected_on_a_compacted_topic() {
    let config = LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        ..LogConfig::default()
    };
    let mut log = log_with(config);
    let batch = RecordBatch::new_data(&[NewRecord::new(1, None, Some(b"v"))], ProducerFields::NONE);
    let err = log.append_as_leader(batch, EPOCH, 1).expect_err("keyless");
    assert_eq!(
        err.to_string(),
        "invalid record: record 0 has no key; compacted topic orders requires keys"
    );
    assert_eq!(log.log_end_offset(), Offset(0));
}

#[test]
fn fetch_returns_whole_batches_within_limits() {
    let config = LogConfig {
        segment_bytes: 1000,
        ..LogConfig::default()
    };
    let mut log = log_with(config);
    for ts in 0..5 {
        log.append_as_leader(batch_300(ts), EPOCH, ts)
            .expect("append");
    }
    let multi = RecordBatch::new_data(
        &[
            NewRecord::new(9, None, Some(b"x")),
            NewRecord::new(9, None, Some(b"y")),
        ],
        ProducerFields::NONE,
    );
    log.append_as_leader(multi, EPOCH, 9).expect("append"); // offsets 5..=6
    log.set_high_watermark(Offset(7));
    let hw = log.high_watermark();
    let sizes = |offset: i64, max: u32, upper: Offset| {
        log.fetch(Offset(offset), max, upper)
            .map(|f| (f.bytes.len(), f.batches_count))
    };
    assert_eq!(
        sizes(0, 10, hw),
        Ok((300, 1)),
        "KIP-74: the first batch even if larger"
    );
    assert_eq!(sizes(0, 650, hw), Ok((600, 2)));
    assert_eq!(sizes(0, 1 << 20, hw), Ok((900, 3)), "one segment per fetch");
    assert_eq!(
        sizes(6, 1 << 20, hw).map(|s| s.1),
        Ok(1),
        "a batch starting before the offset"
    );
    assert_eq!(
        sizes(6, 1 << 20, Offset(6)),
        Ok((0, 0)),
        "a batch straddling the bound waits"
    );
    assert_eq!(sizes(7, 1 << 20, hw), Ok((0, 0)), "at the LEO: empty");
    assert!(matches!(
        log.fetch(Offset(8), 100, hw),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    let fetched = log.fetch(Offset(6), 1 << 20, hw).expect("fetch");
    let (batch, _) = logsim::log::decode_batch(&fetched.bytes).expect("whole batch");
    assert_eq!(batch.base_offset, Offset(5));
}

#[test]
fn leader_validation_log_append_time_and_follower_appends() {
    let config = LogConfig {
        message_timestamp_type: MessageTimestampType::LogAppendTime,
        ..LogConfig::default()
    };
    let mut leader = log_with(config);
    let info = leader
        .append_as_leader(keyed(5, "k", Some("v")), EPOCH, 777)
        .expect("append");
    assert_eq!(
        (info.log_append_time_ms, info.max_timestamp),
        (Some(777), 777)
    );
    let two = [keyed(1, "a", None).encode(), keyed(1, "b", None).encode()].concat();
    assert!(matches!(
        leader.append_bytes_as_leader(&two, EPOCH, 1),
        Err(LogError::InvalidRecord(_))
    ));
    let mut bad = keyed(1, "a", None);
    bad.last_offset_delta = 3;
    assert!(leader.append_as_leader(bad, EPOCH, 1).is_err());
    leader
        .append_bytes_as_leader(&keyed(2, "k", Some("w")).encode(), LeaderEpoch(2), 800)
        .expect("append");
    let fetched = leader
        .fetch(Offset(0), 1 << 20, leader.log_end_offset())
        .expect("fetch");

    let mut follower = log_with(LogConfig::default());
    let info = follower
        .append_as_follower(&fetched.bytes, 900)
        .expect("follower append");
    assert_eq!(
        (info.first_offset, info.last_offset, info.batches_count),
        (Offset(0), Offset(1), 2)
    );
    let epochs: Vec<i32> = follower
        .read_records(Offset(0), Offset(2), 9)
        .iter()
        .map(|r| r.partition_leader_epoch)
        .collect();
    assert_eq!(epochs, [1, 2], "a follower keeps the leader's epochs");
    assert_eq!(
        follower.segment_bytes()[0].1,
        &fetched.bytes[..],
        "and its bytes"
    );
    assert!(matches!(
        follower.append_as_follower(&fetched.bytes, 900),
        Err(LogError::UnexpectedAppendOffset { .. })
    ));
    let (batch, _) = logsim::log::decode_batch(&fetched.bytes).expect("batch");
    assert_eq!(
        batch.attributes.timestamp_type,
        TimestampType::LogAppendTime
    );
}

/// A log of 3 segments (3, 3 and 2 batches of 300 bytes) and its synced files.
fn stored_log() -> (PartitionLog, MemoryStorage) {
    let config = LogConfig {
        segment_bytes: 1000,
        index_interval_bytes: 0,
        ..LogConfig::default()
    };
    let mut log = log_with(config);
    let mut storage = MemoryStorage::new();
    for ts in 0..8 {
        log.append_as_leader(batch_300(ts), EPOCH, ts)
            .expect("append");
    }
    replay(&mut storage, &mut log);
    (log, storage)
}

#[test]
fn recovery_of_clean_files_rebuilds_the_same_log() {
    let (log, storage) = stored_log();
    let (recovered, report) =
        PartitionLog::recover(tp(), log.config().clone(), files(&storage), 99).expect("recover");
    assert_eq!(report.notes(), Vec::<String>::new());
    assert_eq!(recovered.segment_views(), log.segment_views());
    assert_eq!(recovered.log_end_offset(), Offset(8));
    assert_eq!(recovered.log_start_offset(), Offset(0));
}

#[test]
fn recovery_cuts_a_torn_tail() {
    let (log, storage) = stored_log();
    let last = file_name("orders-0/00000000000000000006.log");
    let torn = torn_files(&storage, &last);
    let (mut recovered, report) =
        PartitionLog::recover(tp(), log.config().clone(), torn.clone(), 99).expect("recover");
    let tail = report
        .torn_tail
        .as_ref()
        .map(|t| (t.file.as_str(), t.position));
    assert_eq!(tail, Some((last.as_str(), 300)));
    assert_eq!(
        (report.corruption.clone(), report.torn_tail_bytes),
        (None, 295)
    );
    assert_eq!(recovered.log_end_offset(), Offset(7));
    let requests = recovered.take_storage_requests();
    assert!(requests.contains(&StorageRequest::Truncate {
        file: last,
        len: 300
    }));
    // The torn files plus recovery's requests recover cleanly to the same log.
    let mut replayed = MemoryStorage::new();
    let all: Vec<StorageRequest> = torn
        .into_iter()
        .map(|(file, bytes)| StorageRequest::Replace { file, bytes })
        .chain(requests)
        .chain([StorageRequest::Sync])
        .collect();
    replayed.execute(
        all.into_iter()
            .enumerate()
            .map(|(i, r)| (RequestId(i as u64), r))
            .collect(),
    );
    let (again, report) =
        PartitionLog::recover(tp(), log.config().clone(), files(&replayed), 99).expect("recover");
    assert_eq!(report.notes(), Vec::<String>::new());
    assert_eq!(again.segment_views(), recovered.segment_views());
}

/// The synced files with the last 5 bytes of `last` lost, as a crash mid-write leaves them.
fn torn_files(storage: &MemoryStorage, last: &FileName) -> Vec<(FileName, Vec<u8>)> {
    files(storage)
        .into_iter()
        .map(|(f, mut b)| {
            if f == *last {
                b.truncate(b.len() - 5);
            }
            (f, b)
        })
        .collect()
}

#[test]
fn recovery_reports_corruption_in_the_middle_and_never_serves_past_it() {
    let (log, storage) = stored_log();
    let first = file_name("orders-0/00000000000000000000.log");
    let mut files = files(&storage);
    for (file, bytes) in &mut files {
        if *file == first {
            bytes[300 + 100] ^= 0xff; // inside the second batch's records
        }
    }
    let (mut recovered, report) =
        PartitionLog::recover(tp(), log.config().clone(), files, 99).expect("recover");
    expect![[r#"
        CORRUPTION at byte 300 of orders-0/00000000000000000000.log: CRC-32C mismatch: byte 17 stores 0xc9574a79, bytes 21.. hash to 0x9fe61fb5 (corrupt batch); cut there, 2100 bytes discarded
        deleted orders-0/00000000000000000003.log, orders-0/00000000000000000003.index, orders-0/00000000000000000003.timeindex, orders-0/00000000000000000006.log, orders-0/00000000000000000006.index, orders-0/00000000000000000006.timeindex, orders-0/00000000000000000000.index, orders-0/00000000000000000000.timeindex"#]]
    .assert_eq(&report.notes().join("\n"));
    assert!(report.found_corruption());
    assert_eq!(recovered.log_end_offset(), Offset(1));
    assert!(recovered
        .take_storage_requests()
        .contains(&StorageRequest::Truncate {
            file: first,
            len: 300
        }));
}

#[test]
fn recovery_of_nothing_is_an_empty_log_and_offsets_can_be_restored() {
    let (mut log, report) =
        PartitionLog::recover(tp(), LogConfig::default(), Vec::new(), 0).expect("recover");
    assert_eq!(report.segments, 1);
    assert_eq!(log.log_end_offset(), Offset(0));
    let (mut stored, _) = stored_log();
    let _ = stored.take_storage_requests();
    let (_, storage) = stored_log();
    let (mut recovered, _) =
        PartitionLog::recover(tp(), stored.config().clone(), files(&storage), 0).expect("recover");
    recovered
        .restore_offsets(Offset(2), Offset(5))
        .expect("restore");
    assert_eq!(
        (recovered.log_start_offset(), recovered.high_watermark()),
        (Offset(2), Offset(5))
    );
    assert!(log.restore_offsets(Offset(5), Offset(5)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// L-4: for random logs, the index lookup plus forward scan finds the same batch as a
    /// linear scan, and a fetch at any offset starts with the batch holding it.
    #[test]
    fn index_lookup_matches_linear_scan(
        interval in 0i32..2000,
        segment_bytes in 600i32..5000,
        batches in prop::collection::vec((1usize..5, 0usize..200, 0i64..1000), 1..40),
    ) {
        let config = LogConfig { index_interval_bytes: interval, segment_bytes, ..LogConfig::default() };
        let mut log = log_with(config);
        for (records, value_len, ts) in &batches {
            let records: Vec<NewRecord> =
                (0..*records).map(|i| NewRecord::new(ts + i as i64, Some(b"k"), Some(&vec![1; *value_len]))).collect();
            let batch = RecordBatch::new_data(&records, ProducerFields::NONE);
            if batch.size_in_bytes() <= segment_bytes as u32 {
                log.append_as_leader(batch, EPOCH, 0).expect("append");
            }
        }
        log.set_high_watermark(log.log_end_offset());
        for o in 0..log.log_end_offset().0 {
            prop_assert!(log.index_lookup_matches_scan(Offset(o)));
            let fetched = log.fetch(Offset(o), 1, log.high_watermark()).expect("fetch");
            let (batch, _) = logsim::log::decode_batch(&fetched.bytes).expect("batch");
            prop_assert!(batch.base_offset.0 <= o && o <= batch.last_offset().0);
        }
        // ListOffsets agrees with a linear search for the first record at or after t.
        let all = log.read_records(Offset(0), log.log_end_offset(), u32::MAX);
        for t in [0i64, 1, 250, 500, 999, 1003] {
            let linear = all.iter().find(|r| r.timestamp >= t).map(|r| (r.offset, r.timestamp));
            prop_assert_eq!(log.offset_for_timestamp(t, log.high_watermark()), linear);
        }
    }
}

/// The broker's in-place path (stamp base offset and epoch in the producer's bytes, like
/// Kafka's `assignOffsetsNonCompressed`) must write exactly what the re-encoding path writes.
#[test]
fn in_place_append_of_produced_bytes_equals_re_encoding() {
    let mut by_batch = log_with(LogConfig::default());
    let mut by_bytes = log_with(LogConfig::default());
    for i in 0..20 {
        let batch = keyed(1_000 + i, &format!("k{}", i % 3), Some("v"));
        let bytes = batch.encode();
        let a = by_batch.append_as_leader(batch, LeaderEpoch(3), 5).unwrap();
        let b = by_bytes
            .append_bytes_as_leader(&bytes, LeaderEpoch(3), 5)
            .unwrap();
        assert_eq!(a, b);
    }
    assert_eq!(by_batch.segment_bytes(), by_bytes.segment_bytes());
    // A header whose maxTimestamp lies is rewritten, not trusted.
    let mut lying = keyed(7_000, "k", Some("v"));
    lying.max_timestamp = 1;
    let info = by_bytes
        .append_bytes_as_leader(&lying.encode(), LeaderEpoch(3), 5)
        .unwrap();
    assert_eq!(info.max_timestamp, 7_000);
}

/// Regression (review): a batchLength corrupted in the middle of the last segment so that it
/// points past the end looked exactly like a torn tail, and the synced batches after it were
/// dropped silently. An intact batch after the bad one means corruption, not a torn write.
#[test]
fn a_lying_length_in_the_middle_of_the_last_segment_is_corruption_not_a_torn_tail() {
    let mut log = log_with(LogConfig::default());
    for i in 0..3 {
        log.append_as_leader(keyed(10 + i, "k", Some("v")), LeaderEpoch(0), 0)
            .unwrap();
    }
    let mut bytes = log.segment_bytes()[0].1.to_vec();
    let first_len = keyed(10, "k", Some("v")).encode().len();
    // batchLength of the second batch (bytes 8..12 of it) now claims a megabyte.
    bytes[first_len + 8..first_len + 12].copy_from_slice(&(1_000_000i32).to_be_bytes());
    let files = vec![(file_name("orders-0/00000000000000000000.log"), bytes)];
    let (recovered, report) = PartitionLog::recover(tp(), LogConfig::default(), files, 0).unwrap();
    assert!(report.found_corruption(), "{:?}", report.notes());
    assert!(report.torn_tail.is_none());
    assert_eq!(recovered.log_end_offset(), Offset(1));
}

/// Control batches are written by transaction coordinators, never accepted from a producer's
/// produce request (Kafka's LogValidator refuses them from clients).
#[test]
fn a_producer_cannot_append_a_control_batch() {
    use logsim::log::{ControlRecordType, EndTransactionMarker};
    let mut log = log_with(LogConfig::default());
    let marker = EndTransactionMarker {
        control_type: ControlRecordType::Abort,
        coordinator_epoch: 0,
    };
    let batch = RecordBatch::new_control(
        marker,
        logsim::ids::ProducerId(7),
        logsim::ids::ProducerEpoch(0),
        5,
    );
    let err = log
        .append_bytes_as_leader(&batch.encode(), LeaderEpoch(0), 0)
        .unwrap_err();
    assert!(err.to_string().contains("control"), "{err}");
    assert_eq!(log.log_end_offset(), Offset(0));
}

/// A skewed broker clock (a clock-skew fault): the log reads its times on the broker's wall
/// clock, the true time plus the skew, so LogAppendTime stamps the skewed time and
/// `retention.ms` deletes as that clock says, however old the records really are. `segment.ms`
/// rolls go by record timestamps (L-3), so there a producer's clock counts, not the broker's.
#[test]
fn a_skewed_wall_clock_drives_log_append_time_and_retention() {
    let day_ms = 24 * 3_600_000;
    let config = LogConfig {
        message_timestamp_type: MessageTimestampType::LogAppendTime,
        ..LogConfig::default()
    };
    let mut stamped = log_with(config);
    stamped.set_wall_clock_skew_ms(-500);
    let info = stamped
        .append_as_leader(keyed(5, "k", Some("v")), EPOCH, 2_000)
        .expect("append");
    assert_eq!(info.log_append_time_ms, Some(1_500));

    // CreateTime records at 1 s and 2 s true time; retention.ms of 7 days.
    let mut log = log_with(LogConfig::default());
    let mut true_clock = log_with(LogConfig::default());
    for ts in [1_000, 2_000] {
        log.append_as_leader(batch_300(ts), EPOCH, ts)
            .expect("append");
        true_clock
            .append_as_leader(batch_300(ts), EPOCH, ts)
            .expect("append");
    }
    log.update_high_watermark(log.log_end_offset());
    true_clock.update_high_watermark(true_clock.log_end_offset());
    assert_eq!(true_clock.apply_retention(4_000).expect("retention"), 0);
    log.set_wall_clock_skew_ms(8 * day_ms);
    assert_eq!(log.apply_retention(4_000).expect("retention"), 1);
    assert_eq!(
        log.log_start_offset(),
        Offset(2),
        "records seconds old look 8 days old: the active segment rolls and goes"
    );
    // A producer clock 8 days ahead rolls the segment by record time, whatever the broker's.
    let info = true_clock
        .append_as_leader(batch_300(3_000 + 8 * day_ms), EPOCH, 3_000)
        .expect("append");
    assert!(info.rolled);
}
