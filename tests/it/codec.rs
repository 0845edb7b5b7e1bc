//! The record batch v2 codec through the public API (L-1, L-2): a golden snapshot of the exact
//! bytes, CRC behaviour, round trips of random batches, a two-way cross-check against the
//! independent `kafka-protocol` implementation, and a decoder that never panics on hostile bytes.

use bytes::{Bytes, BytesMut};
use expect_test::expect;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression as KpCompression, Record as KpRecord, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType as KpTimestampType,
};
use logsim::ids::{Offset, ProducerEpoch, ProducerId};
use logsim::log::{
    decode_batch, set_base_offset, set_partition_leader_epoch, verify_crc, BatchAttributes,
    BatchHeader, ControlRecordType, EndTransactionMarker, NewRecord, ProducerFields, Record,
    RecordBatch, RecordHeader, TimestampType,
};
use proptest::prelude::*;

fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|line| {
            line.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn golden_batch() -> RecordBatch {
    let mut batch = RecordBatch::new_data(
        &[
            NewRecord::new(1_700_000_000_000, Some(b"k1"), Some(b"hello"))
                .with_header("trace", Some(b"1")),
            NewRecord::new(1_700_000_000_005, None, Some(b"")),
            NewRecord::new(1_699_999_999_990, Some(b"k1"), None),
        ],
        ProducerFields::idempotent(ProducerId(1000), ProducerEpoch(3), 17),
    );
    batch.base_offset = Offset(42);
    batch.partition_leader_epoch = 5;
    batch
}

#[test]
fn golden_bytes_round_trip() {
    let batch = golden_batch();
    let bytes = batch.encode();
    expect![[r#"
        00 00 00 00 00 00 00 2a 00 00 00 57 00 00 00 05
        02 dd c3 b2 64 00 00 00 00 00 02 00 00 01 8b cf
        e5 68 00 00 00 01 8b cf e5 68 05 00 00 00 00 00
        00 03 e8 00 03 00 00 00 11 00 00 00 03 2a 00 00
        00 04 6b 31 0a 68 65 6c 6c 6f 02 0a 74 72 61 63
        65 02 31 0c 00 0a 02 01 00 00 10 00 13 04 04 6b
        31 01 00"#]]
    .assert_eq(&hex(&bytes));
    let (decoded, used) = decode_batch(&bytes).expect("golden batch decodes");
    assert_eq!(used, bytes.len());
    assert_eq!(decoded, batch);
    assert_eq!(decoded.encode(), bytes, "re-encoding is byte-identical");
    let header = BatchHeader::parse(&bytes).expect("header");
    assert_eq!(header.size_in_bytes() as usize, bytes.len());
    assert_eq!(header.last_offset(), Offset(44));
    assert_eq!(header.records_count, 3);
    let timestamps: Vec<i64> = decoded
        .records
        .iter()
        .map(|r| decoded.record_timestamp(r))
        .collect();
    assert_eq!(
        timestamps,
        [1_700_000_000_000, 1_700_000_000_005, 1_699_999_999_990]
    );
}

#[test]
fn crc32c_check_value() {
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
}

#[test]
fn flipping_any_byte_after_the_crc_fails_and_the_epoch_is_outside_it() {
    let bytes = golden_batch().encode();
    for i in 21..bytes.len() {
        for bit in 0..8 {
            let mut bad = bytes.clone();
            bad[i] ^= 1 << bit;
            assert!(
                verify_crc(&bad).is_err(),
                "flip of bit {bit} at byte {i} passed the CRC"
            );
        }
    }
    let mut stamped = bytes.clone();
    set_partition_leader_epoch(&mut stamped, 77).expect("room");
    set_base_offset(&mut stamped, Offset(9_000)).expect("room");
    assert_eq!(
        stamped[17..21],
        bytes[17..21],
        "the stored CRC is unchanged"
    );
    let (decoded, _) = decode_batch(&stamped).expect("CRC still valid");
    assert_eq!(
        (decoded.partition_leader_epoch, decoded.base_offset),
        (77, Offset(9_000))
    );
}

/// Re-signs a batch after tampering so the decoder's structural checks, not the CRC, are hit.
fn resign(bytes: &mut [u8]) {
    if bytes.len() >= 21 {
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    }
}

#[test]
fn lies_are_named_with_their_position() {
    let good = golden_batch().encode();
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    cases.push(("short buffer", good[..40].to_vec()));
    cases.push(("torn batch", good[..good.len() - 3].to_vec()));
    let mut b = good.clone();
    b[16] = 1;
    cases.push(("magic 1", b));
    let mut b = good.clone();
    b[8..12].copy_from_slice(&10i32.to_be_bytes());
    cases.push(("batchLength too small", b));
    let mut b = good.clone();
    b[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
    cases.push(("batchLength too large", b));
    let mut b = good.clone();
    b[57..61].copy_from_slice(&4i32.to_be_bytes());
    resign(&mut b);
    cases.push(("records count too high", b));
    let mut b = good.clone();
    b[57..61].copy_from_slice(&2i32.to_be_bytes());
    resign(&mut b);
    cases.push(("records count too low", b));
    let mut b = good.clone();
    b[57..61].copy_from_slice(&(-1i32).to_be_bytes());
    resign(&mut b);
    cases.push(("negative records count", b));
    let mut b = good.clone();
    b[61] = 0x2c; // first record claims 22 bytes, one more than its fields take
    resign(&mut b);
    cases.push(("record length lies", b));
    let mut b = good.clone();
    b[65] = 0x03; // key length -2
    resign(&mut b);
    cases.push(("negative key length", b));
    let mut b = good.clone();
    b[65] = 0x7e; // key length 63
    resign(&mut b);
    cases.push(("key past the record", b));
    let mut b = good.clone();
    b[61..66].copy_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff]);
    resign(&mut b);
    cases.push(("varint too long", b));
    let mut b = good.clone();
    b.extend_from_slice(&[0, 0]);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    resign(&mut b);
    cases.push(("trailing bytes", b));
    let mut b = good.clone();
    b[22] |= 2; // snappy
    resign(&mut b);
    cases.push(("compressed", b));
    let report: Vec<String> = cases
        .iter()
        .map(|(name, bytes)| match decode_batch(bytes) {
            Ok(_) => format!("{name}: accepted!"),
            Err(e) => format!("{name}: {e}"),
        })
        .collect();
    expect![[r#"
        short buffer: buffer too short for the batch header: need 61 bytes at byte 0, but the buffer holds 40
        torn batch: batch of 99 bytes (batchLength at byte 8) but only 96 bytes are present
        magic 1: magic 1 at byte 16: only record batch v2 is supported
        batchLength too small: batchLength 10 at byte 8 is smaller than the 49 header bytes it must cover
        batchLength too large: batchLength 2147483647 at byte 8 makes a batch larger than the 1048649-byte limit
        records count too high: recordsCount says 4 records but the batch ends at byte 99 after 3
        records count too low: 9 trailing bytes at byte 90 after the last record of the batch
        negative records count: recordsCount -1 at byte 57 is outside 0..=65536
        record length lies: record at byte 61 declares length 22 but its fields take 21
        negative key length: keyLength -2 at byte 65 is negative
        key past the record: keyLength 63 at byte 65 runs past the end: only 17 bytes remain
        varint too long: varint record length at byte 61 is too long or overflows its type
        trailing bytes: 2 trailing bytes at byte 99 after the last record of the batch
        compressed: batch compressed with snappy (attributes at byte 21); only uncompressed batches are supported"#]]
    .assert_eq(&report.join("\n"));
}

#[test]
fn control_batch_is_one_marker() {
    let marker = EndTransactionMarker {
        control_type: ControlRecordType::Abort,
        coordinator_epoch: 2,
    };
    let batch = RecordBatch::new_control(marker, ProducerId(9), ProducerEpoch(1), 500);
    let (decoded, _) = decode_batch(&batch.encode()).expect("valid");
    assert!(decoded.attributes.is_control && decoded.attributes.is_transactional);
    assert_eq!(decoded.records.len(), 1);
    assert_eq!(decoded.control_marker(), Ok(marker));
}

// ---- strategies -------------------------------------------------------------------------

fn bytes_opt(max: usize) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::weighted(0.8, prop::collection::vec(any::<u8>(), 0..max))
}

/// A record's timestamp (delta), key, value and headers.
type RecordParts = (i64, Option<Vec<u8>>, Option<Vec<u8>>, Vec<RecordHeader>);

/// Records with unique header keys (kafka-protocol keeps headers in a map).
fn record() -> impl Strategy<Value = RecordParts> {
    (
        -1_000_000i64..1_000_000,
        bytes_opt(20),
        bytes_opt(40),
        prop::collection::btree_map("[a-z]{1,6}", bytes_opt(8), 0..3),
    )
        .prop_map(|(ts, key, value, headers)| {
            let headers = headers
                .into_iter()
                .map(|(key, value)| RecordHeader { key, value })
                .collect();
            (ts, key, value, headers)
        })
}

fn batch() -> impl Strategy<Value = RecordBatch> {
    (
        (0i64..1 << 40, -1i32..100, 0i64..1 << 42),
        (
            prop_oneof![Just(-1i64), 0i64..1 << 40],
            -1i16..5,
            -1i32..i32::MAX,
        ),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        prop::collection::vec((record(), 1i32..3), 0..8),
    )
        .prop_map(
            |((base, epoch, base_ts), (pid, pepoch, seq), flags, records)| {
                let (log_append, transactional, control, horizon) = flags;
                let mut offset_delta = 0i32;
                let records: Vec<Record> = records
                    .into_iter()
                    .map(|((ts, key, value, headers), gap)| {
                        let r = Record {
                            timestamp_delta: ts,
                            offset_delta,
                            key,
                            value,
                            headers,
                        };
                        offset_delta += gap;
                        r
                    })
                    .collect();
                let last_offset_delta = records.last().map_or(0, |r| r.offset_delta);
                let max_ts = records
                    .iter()
                    .map(|r| base_ts + r.timestamp_delta)
                    .max()
                    .unwrap_or(-1);
                RecordBatch {
                    base_offset: Offset(base),
                    partition_leader_epoch: epoch,
                    attributes: BatchAttributes {
                        timestamp_type: if log_append {
                            TimestampType::LogAppendTime
                        } else {
                            TimestampType::CreateTime
                        },
                        is_transactional: transactional,
                        is_control: control,
                        has_delete_horizon_ms: horizon,
                        ..BatchAttributes::default()
                    },
                    last_offset_delta,
                    base_timestamp: base_ts,
                    max_timestamp: max_ts,
                    producer_id: pid,
                    producer_epoch: pepoch,
                    base_sequence: seq,
                    records,
                }
            },
        )
}

fn kp_decode(bytes: Vec<u8>) -> Vec<KpRecord> {
    let mut buf = Bytes::from(bytes);
    let sets = RecordBatchDecoder::decode_all(&mut buf).expect("kafka-protocol decodes our batch");
    sets.into_iter().flat_map(|s| s.records).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn encode_decode_is_identity(batch in batch()) {
        let bytes = batch.encode();
        prop_assert_eq!(bytes.len() as u32, batch.size_in_bytes());
        let (decoded, used) = decode_batch(&bytes).expect("our own batch decodes");
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(decoded, batch);
    }

    /// kafka-protocol reads every batch we write, record for record.
    #[test]
    fn kafka_protocol_decodes_our_batches(batch in batch()) {
        let records = kp_decode(batch.encode());
        prop_assert_eq!(records.len(), batch.records.len());
        for (ours, theirs) in batch.records.iter().zip(&records) {
            prop_assert_eq!(theirs.offset, batch.record_offset(ours).0);
            prop_assert_eq!(theirs.timestamp, batch.base_timestamp + ours.timestamp_delta);
            prop_assert_eq!(theirs.key.as_deref(), ours.key.as_deref());
            prop_assert_eq!(theirs.value.as_deref(), ours.value.as_deref());
            prop_assert_eq!(theirs.producer_id, batch.producer_id);
            prop_assert_eq!(theirs.producer_epoch, batch.producer_epoch);
            prop_assert_eq!(theirs.partition_leader_epoch, batch.partition_leader_epoch);
            prop_assert_eq!(theirs.sequence, batch.base_sequence.wrapping_add(ours.offset_delta));
            prop_assert_eq!(theirs.transactional, batch.attributes.is_transactional);
            prop_assert_eq!(theirs.control, batch.attributes.is_control);
            prop_assert_eq!(theirs.delete_horizon, batch.attributes.has_delete_horizon_ms);
            prop_assert_eq!(
                theirs.timestamp_type == KpTimestampType::LogAppend,
                batch.attributes.timestamp_type == TimestampType::LogAppendTime
            );
            let headers: Vec<(String, Option<Vec<u8>>)> = theirs
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_ref().map(|v| v.to_vec())))
                .collect();
            let ours_h: Vec<(String, Option<Vec<u8>>)> =
                ours.headers.iter().map(|h| (h.key.clone(), h.value.clone())).collect();
            prop_assert_eq!(headers, ours_h);
        }
    }

    /// We read every batch kafka-protocol writes (uncompressed, v2), record for record.
    #[test]
    fn we_decode_kafka_protocol_batches(
        base in 0i64..1 << 40,
        seq in 0i32..1 << 20,
        pid in prop_oneof![Just(-1i64), 0i64..1 << 40],
        flags in (any::<bool>(), any::<bool>(), any::<bool>()),
        records in prop::collection::vec(record(), 1..8),
    ) {
        let (transactional, control, horizon) = flags;
        let theirs: Vec<KpRecord> = records
            .iter()
            .enumerate()
            .map(|(i, (ts, key, value, headers))| {
                let mut record = KpRecord {
                    transactional,
                    control,
                    delete_horizon: horizon,
                    partition_leader_epoch: 3,
                    producer_id: pid,
                    producer_epoch: 1,
                    timestamp_type: KpTimestampType::Creation,
                    offset: base + i as i64,
                    sequence: seq + i as i32,
                    timestamp: 1_000_000_000 + ts,
                    key: key.clone().map(Bytes::from),
                    value: value.clone().map(Bytes::from),
                    headers: Default::default(),
                };
                for h in headers {
                    record
                        .headers
                        .insert(StrBytes::from_string(h.key.clone()), h.value.clone().map(Bytes::from));
                }
                record
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions { version: 2, compression: KpCompression::None };
        RecordBatchEncoder::encode(&mut buf, &theirs, &options).expect("kafka-protocol encodes");
        let bytes = buf.to_vec();
        let (batch, used) = decode_batch(&bytes).expect("we decode kafka-protocol's batch");
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(batch.records.len(), theirs.len());
        prop_assert_eq!(batch.base_sequence, seq);
        prop_assert_eq!(batch.producer_id, pid);
        prop_assert_eq!(batch.last_offset(), Offset(base + theirs.len() as i64 - 1));
        prop_assert_eq!(batch.max_timestamp, theirs.iter().map(|r| r.timestamp).max().unwrap_or(-1));
        prop_assert_eq!(batch.attributes.is_transactional, transactional);
        prop_assert_eq!(batch.attributes.is_control, control);
        for (ours, (theirs, (_, _, _, headers))) in batch.records.iter().zip(theirs.iter().zip(&records)) {
            prop_assert_eq!(batch.record_offset(ours).0, theirs.offset);
            prop_assert_eq!(batch.record_timestamp(ours), theirs.timestamp);
            prop_assert_eq!(ours.key.as_deref(), theirs.key.as_deref());
            prop_assert_eq!(ours.value.as_deref(), theirs.value.as_deref());
            prop_assert_eq!(&ours.headers, headers);
        }
        // And our bytes for the same batch are kafka-protocol-readable again.
        prop_assert_eq!(kp_decode(batch.encode()).len(), theirs.len());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_batch(&bytes);
        let _ = BatchHeader::parse(&bytes);
    }

    /// Mutations inside a valid batch, re-signed so they get past the CRC, never panic; and
    /// unsigned mutations after the CRC field are always caught.
    #[test]
    fn mutated_batches_never_panic(
        batch in batch(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let good = batch.encode();
        let mut bad = good.clone();
        for (at, byte) in &edits {
            let i = at.index(bad.len());
            bad[i] = *byte;
        }
        let unsigned = decode_batch(&bad);
        if bad[21..] != good[21..] {
            prop_assert!(unsigned.is_err());
            prop_assert!(verify_crc(&bad).is_err());
        }
        resign(&mut bad);
        let _ = decode_batch(&bad);
        let cut = cut.index(bad.len() + 1);
        let _ = decode_batch(&bad[..cut]);
    }
}
