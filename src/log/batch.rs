//! Kafka's record batch, format v2 (magic 2), byte for byte (L-1). One layout serves the wire,
//! the segment files and the page cache, so the bytes the engine writes are Kafka-readable.
//!
//! Decoding treats every byte as hostile: lengths are checked against the bytes that remain and
//! against `limits`, counts never size an allocation beyond what the remaining bytes could hold,
//! all arithmetic on decoded numbers is checked or wrapping, and every error names the problem
//! and its byte position (counted from the start of the batch). The CRC-32C covers `attributes`
//! to the end, not `baseOffset` or `partitionLeaderEpoch`, so a leader stamps both in place.

use super::varint::{self, VarintError};
use crate::ids::{Offset, ProducerEpoch, ProducerId};
use crate::limits;
use std::fmt;

/// `baseOffset` + `batchLength`: the bytes before the part `batchLength` counts.
pub const LOG_OVERHEAD: u32 = 12;
/// The fixed header of a v2 batch; records follow it.
pub const RECORD_BATCH_OVERHEAD: u32 = 61;
/// The only magic this engine reads or writes.
pub const MAGIC_V2: i8 = 2;
/// `partitionLeaderEpoch` of a batch no leader has stamped yet.
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;
/// `baseSequence` of a non-idempotent batch.
pub const NO_SEQUENCE: i32 = -1;
/// A timestamp that is absent.
pub const NO_TIMESTAMP: i64 = -1;

const BASE_OFFSET_AT: usize = 0;
const BATCH_LENGTH_AT: usize = 8;
const PARTITION_LEADER_EPOCH_AT: usize = 12;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const LAST_OFFSET_DELTA_AT: usize = 23;
const BASE_TIMESTAMP_AT: usize = 27;
const MAX_TIMESTAMP_AT: usize = 35;
const PRODUCER_ID_AT: usize = 43;
const PRODUCER_EPOCH_AT: usize = 51;
const BASE_SEQUENCE_AT: usize = 53;
const RECORDS_COUNT_AT: usize = 57;
const RECORDS_AT: usize = 61;

/// The smallest encoded record: length, attributes, timestampDelta, offsetDelta, keyLen,
/// valueLen and headersCount, one byte each.
const RECORD_BYTES_MIN: u32 = 7;

const _: () = assert!(RECORDS_AT as u32 == RECORD_BATCH_OVERHEAD);
const _: () = assert!(limits::BATCH_BYTES_MAX >= RECORD_BATCH_OVERHEAD);

/// The codec in attribute bits 0-2. Only `None` can be decoded: the core carries no compressor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    fn bits(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// Kafka's `compression.type` name.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// Attribute bit 3: who set the timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// The batch `attributes` (int16). Bits 7 and up are unused by Kafka and read as zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchAttributes {
    pub compression: Compression,
    pub timestamp_type: TimestampType,
    pub is_transactional: bool,
    pub is_control: bool,
    pub has_delete_horizon_ms: bool,
}

impl Default for BatchAttributes {
    fn default() -> Self {
        BatchAttributes {
            compression: Compression::None,
            timestamp_type: TimestampType::CreateTime,
            is_transactional: false,
            is_control: false,
            has_delete_horizon_ms: false,
        }
    }
}

impl BatchAttributes {
    pub fn to_i16(self) -> i16 {
        let mut bits = self.compression.bits();
        if self.timestamp_type == TimestampType::LogAppendTime {
            bits |= 1 << 3;
        }
        if self.is_transactional {
            bits |= 1 << 4;
        }
        if self.is_control {
            bits |= 1 << 5;
        }
        if self.has_delete_horizon_ms {
            bits |= 1 << 6;
        }
        bits
    }

    pub fn from_i16(bits: i16) -> Result<BatchAttributes, BatchError> {
        let compression = match bits & 0x7 {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => return Err(BatchError::UnknownCompression { bits: other }),
        };
        Ok(BatchAttributes {
            compression,
            timestamp_type: if bits & (1 << 3) != 0 {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            },
            is_transactional: bits & (1 << 4) != 0,
            is_control: bits & (1 << 5) != 0,
            has_delete_horizon_ms: bits & (1 << 6) != 0,
        })
    }
}

/// A record header: a UTF-8 key (never null) and an optional value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecordHeader {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// One record inside a batch, with its deltas as stored. Its record-level `attributes` byte is
/// unused by Kafka: written as 0, ignored on read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<Vec<u8>>,
    /// `None` is a tombstone on a compacted topic.
    pub value: Option<Vec<u8>>,
    pub headers: Vec<RecordHeader>,
}

/// A decoded v2 record batch. `encode` derives `batchLength`, `crc` and `recordsCount`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecordBatch {
    pub base_offset: Offset,
    pub partition_leader_epoch: i32,
    pub attributes: BatchAttributes,
    pub last_offset_delta: i32,
    /// The first record's timestamp, or the delete horizon when `has_delete_horizon_ms` (KIP-534).
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records: Vec<Record>,
}

/// A record to put into a new batch, with its absolute timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRecord {
    pub timestamp_ms: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<RecordHeader>,
}

impl NewRecord {
    pub fn new(timestamp_ms: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> NewRecord {
        NewRecord {
            timestamp_ms,
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, key: &str, value: Option<&[u8]>) -> NewRecord {
        self.headers.push(RecordHeader {
            key: key.to_owned(),
            value: value.map(<[u8]>::to_vec),
        });
        self
    }
}

/// The producer fields of a batch header: who wrote it and with which sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProducerFields {
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub base_sequence: i32,
    pub is_transactional: bool,
}

impl ProducerFields {
    /// A plain (non-idempotent) producer: id, epoch and sequence are all -1.
    pub const NONE: ProducerFields = ProducerFields {
        producer_id: ProducerId::NONE,
        producer_epoch: ProducerEpoch::NONE,
        base_sequence: NO_SEQUENCE,
        is_transactional: false,
    };

    pub fn idempotent(id: ProducerId, epoch: ProducerEpoch, base_sequence: i32) -> Self {
        ProducerFields {
            producer_id: id,
            producer_epoch: epoch,
            base_sequence,
            is_transactional: false,
        }
    }

    pub fn transactional(id: ProducerId, epoch: ProducerEpoch, base_sequence: i32) -> Self {
        ProducerFields {
            is_transactional: true,
            ..Self::idempotent(id, epoch, base_sequence)
        }
    }
}

impl RecordBatch {
    /// A CreateTime data batch at base offset 0, not yet stamped by a leader, built the way
    /// Kafka's `MemoryRecordsBuilder` does: `baseTimestamp` is the first record's timestamp,
    /// `maxTimestamp` the largest, offset deltas count from 0.
    pub fn new_data(records: &[NewRecord], producer: ProducerFields) -> RecordBatch {
        RecordBatch::new_data_owned(records.to_vec(), producer)
    }

    /// `new_data` taking the records by value: their bytes move into the batch uncopied.
    pub fn new_data_owned(records: Vec<NewRecord>, producer: ProducerFields) -> RecordBatch {
        let base_timestamp = records.first().map_or(NO_TIMESTAMP, |r| r.timestamp_ms);
        let max_timestamp = records
            .iter()
            .map(|r| r.timestamp_ms)
            .max()
            .unwrap_or(NO_TIMESTAMP);
        let records: Vec<Record> = records
            .into_iter()
            .zip(0i32..)
            .map(|(r, offset_delta)| Record {
                timestamp_delta: r.timestamp_ms.wrapping_sub(base_timestamp),
                offset_delta,
                key: r.key,
                value: r.value,
                headers: r.headers,
            })
            .collect();
        RecordBatch {
            base_offset: Offset::ZERO,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            attributes: BatchAttributes {
                is_transactional: producer.is_transactional,
                ..BatchAttributes::default()
            },
            last_offset_delta: records.last().map_or(0, |r| r.offset_delta),
            base_timestamp,
            max_timestamp,
            producer_id: producer.producer_id.0,
            producer_epoch: producer.producer_epoch.0,
            base_sequence: producer.base_sequence,
            records,
        }
    }

    pub fn last_offset(&self) -> Offset {
        Offset(
            self.base_offset
                .0
                .wrapping_add(i64::from(self.last_offset_delta)),
        )
    }

    /// The offset after this batch: the log end offset once it is appended (INV-4).
    pub fn next_offset(&self) -> Offset {
        self.last_offset().plus(1)
    }

    /// The delete horizon a cleaner stamped on this batch (KIP-534), if any.
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        self.attributes
            .has_delete_horizon_ms
            .then_some(self.base_timestamp)
    }

    /// The offset of a record of this batch.
    pub fn record_offset(&self, record: &Record) -> Offset {
        Offset(
            self.base_offset
                .0
                .wrapping_add(i64::from(record.offset_delta)),
        )
    }

    /// A record's timestamp as a consumer sees it: the batch's `maxTimestamp` under
    /// LogAppendTime, `baseTimestamp + timestampDelta` otherwise.
    pub fn record_timestamp(&self, record: &Record) -> i64 {
        match self.attributes.timestamp_type {
            TimestampType::LogAppendTime => self.max_timestamp,
            TimestampType::CreateTime => self.base_timestamp.wrapping_add(record.timestamp_delta),
        }
    }

    /// The encoded size, header included, without encoding.
    pub fn size_in_bytes(&self) -> u32 {
        let records: u64 = self
            .records
            .iter()
            .map(|r| u64::from(r.size_in_bytes()))
            .sum();
        u32::try_from(u64::from(RECORD_BATCH_OVERHEAD) + records).unwrap_or(u32::MAX)
    }

    /// The batch as Kafka writes it, with `batchLength`, `crc` and `recordsCount` computed.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_in_bytes() as usize);
        out.extend_from_slice(&self.base_offset.0.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes()); // batchLength, filled below
        out.extend_from_slice(&self.partition_leader_epoch.to_be_bytes());
        out.push(MAGIC_V2 as u8);
        out.extend_from_slice(&0u32.to_be_bytes()); // crc, filled below
        out.extend_from_slice(&self.attributes.to_i16().to_be_bytes());
        out.extend_from_slice(&self.last_offset_delta.to_be_bytes());
        out.extend_from_slice(&self.base_timestamp.to_be_bytes());
        out.extend_from_slice(&self.max_timestamp.to_be_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.producer_epoch.to_be_bytes());
        out.extend_from_slice(&self.base_sequence.to_be_bytes());
        out.extend_from_slice(&len_i32(self.records.len()).to_be_bytes());
        for record in &self.records {
            record.encode_into(&mut out);
        }
        let batch_length = len_i32(out.len() - LOG_OVERHEAD as usize);
        out[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&batch_length.to_be_bytes());
        let crc = crc32c::crc32c(&out[ATTRIBUTES_AT..]);
        out[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        out
    }
}

/// Lengths of in-memory data as the format's int32; a length beyond it is a caller bug that
/// `limits::BATCH_BYTES_MAX` keeps out of the log.
fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

/// A record's encoded size, length prefix included (Kafka's `DefaultRecord.sizeInBytes`), from
/// its parts: shared by `Record` and `NewRecord`, so a size is never computed two ways.
fn record_size(
    timestamp_delta: i64,
    offset_delta: i32,
    key: &Option<Vec<u8>>,
    value: &Option<Vec<u8>>,
    headers: &[RecordHeader],
) -> u32 {
    let body = record_body_size(timestamp_delta, offset_delta, key, value, headers);
    varint::varint_size(body as i32) + body
}

fn record_body_size(
    timestamp_delta: i64,
    offset_delta: i32,
    key: &Option<Vec<u8>>,
    value: &Option<Vec<u8>>,
    headers: &[RecordHeader],
) -> u32 {
    let bytes = |b: &Option<Vec<u8>>| match b {
        Some(b) => varint::varint_size(len_i32(b.len())) + b.len() as u32,
        None => varint::varint_size(-1),
    };
    let header_bytes: u32 = headers
        .iter()
        .map(|h| varint::varint_size(len_i32(h.key.len())) + h.key.len() as u32 + bytes(&h.value))
        .sum();
    1 + varint::varlong_size(timestamp_delta)
        + varint::varint_size(offset_delta)
        + bytes(key)
        + bytes(value)
        + varint::varint_size(len_i32(headers.len()))
        + header_bytes
}

impl NewRecord {
    /// The encoded size of this record as the first (or only) one of a batch: zero deltas.
    pub fn size_in_bytes_alone(&self) -> u32 {
        record_size(0, 0, &self.key, &self.value, &self.headers)
    }
}

impl Record {
    fn body_size(&self) -> u32 {
        record_body_size(
            self.timestamp_delta,
            self.offset_delta,
            &self.key,
            &self.value,
            &self.headers,
        )
    }

    /// The encoded size, length prefix included.
    pub fn size_in_bytes(&self) -> u32 {
        record_size(
            self.timestamp_delta,
            self.offset_delta,
            &self.key,
            &self.value,
            &self.headers,
        )
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        let put_bytes = |out: &mut Vec<u8>, b: &Option<Vec<u8>>| match b {
            Some(b) => {
                varint::put_varint(out, len_i32(b.len()));
                out.extend_from_slice(b);
            }
            None => varint::put_varint(out, -1),
        };
        varint::put_varint(out, self.body_size() as i32);
        out.push(0); // record attributes: unused
        varint::put_varlong(out, self.timestamp_delta);
        varint::put_varint(out, self.offset_delta);
        put_bytes(out, &self.key);
        put_bytes(out, &self.value);
        varint::put_varint(out, len_i32(self.headers.len()));
        for header in &self.headers {
            varint::put_varint(out, len_i32(header.key.len()));
            out.extend_from_slice(header.key.as_bytes());
            put_bytes(out, &header.value);
        }
    }
}

/// Why bytes are not a valid v2 batch. Positions count bytes from the start of the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// The buffer ends before a field: `needed` bytes at `position`, `available` in total.
    Truncated {
        field: &'static str,
        position: u32,
        needed: u32,
        available: u32,
    },
    /// `batchLength` is smaller than the header it must cover.
    BatchLengthTooSmall {
        batch_length: i32,
    },
    /// `batchLength` exceeds `limits::BATCH_BYTES_MAX`.
    BatchLengthTooLarge {
        batch_length: i32,
        limit: u32,
    },
    /// `batchLength` promises more bytes than the buffer holds (a torn write, often).
    Incomplete {
        size: u32,
        available: u32,
    },
    UnsupportedMagic {
        magic: i8,
    },
    CrcMismatch {
        stored: u32,
        computed: u32,
    },
    /// A compressed batch: the core has no codec for it.
    UnsupportedCompression {
        codec: Compression,
    },
    UnknownCompression {
        bits: i16,
    },
    Varint {
        field: &'static str,
        position: u32,
        problem: VarintError,
    },
    NegativeLength {
        field: &'static str,
        position: u32,
        length: i32,
    },
    /// A length runs past the end of its record or batch.
    LengthPastEnd {
        field: &'static str,
        position: u32,
        length: i32,
        remaining: u32,
    },
    InvalidRecordCount {
        count: i32,
        limit: u32,
    },
    InvalidHeaderCount {
        position: u32,
        count: i32,
        limit: u32,
    },
    /// `recordsCount` says more records than the batch holds.
    MissingRecords {
        declared: i32,
        found: u32,
        position: u32,
    },
    /// A record's length prefix disagrees with the fields inside it.
    RecordLengthMismatch {
        position: u32,
        declared: i32,
        used: u32,
    },
    /// Bytes left inside `batchLength` after the last record.
    TrailingBytes {
        position: u32,
        count: u32,
    },
    HeaderKeyNotUtf8 {
        position: u32,
    },
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Truncated {
                field,
                position,
                needed,
                available,
            } => write!(
                f,
                "buffer too short for {field}: need {needed} bytes at byte {position}, \
                 but the buffer holds {available}"
            ),
            BatchError::BatchLengthTooSmall { batch_length } => write!(
                f,
                "batchLength {batch_length} at byte {BATCH_LENGTH_AT} is smaller than the \
                 {} header bytes it must cover",
                RECORD_BATCH_OVERHEAD - LOG_OVERHEAD
            ),
            BatchError::BatchLengthTooLarge {
                batch_length,
                limit,
            } => write!(
                f,
                "batchLength {batch_length} at byte {BATCH_LENGTH_AT} makes a batch larger \
                 than the {limit}-byte limit"
            ),
            BatchError::Incomplete { size, available } => write!(
                f,
                "batch of {size} bytes (batchLength at byte {BATCH_LENGTH_AT}) but only \
                 {available} bytes are present"
            ),
            BatchError::UnsupportedMagic { magic } => {
                write!(
                    f,
                    "magic {magic} at byte {MAGIC_AT}: only record batch v2 is supported"
                )
            }
            BatchError::CrcMismatch { stored, computed } => write!(
                f,
                "CRC-32C mismatch: byte {CRC_AT} stores {stored:#010x}, bytes {ATTRIBUTES_AT}.. \
                 hash to {computed:#010x} (corrupt batch)"
            ),
            BatchError::UnsupportedCompression { codec } => write!(
                f,
                "batch compressed with {} (attributes at byte {ATTRIBUTES_AT}); only \
                 uncompressed batches are supported",
                codec.name()
            ),
            BatchError::UnknownCompression { bits } => write!(
                f,
                "unknown compression codec {bits} in attributes at byte {ATTRIBUTES_AT}"
            ),
            BatchError::Varint {
                field,
                position,
                problem,
            } => {
                let what = match problem {
                    VarintError::Truncated => "is cut off by the end of the batch",
                    VarintError::Overflow => "is too long or overflows its type",
                };
                write!(f, "varint {field} at byte {position} {what}")
            }
            BatchError::NegativeLength {
                field,
                position,
                length,
            } => {
                write!(f, "{field} {length} at byte {position} is negative")
            }
            BatchError::LengthPastEnd {
                field,
                position,
                length,
                remaining,
            } => write!(
                f,
                "{field} {length} at byte {position} runs past the end: only {remaining} \
                 bytes remain"
            ),
            BatchError::InvalidRecordCount { count, limit } => write!(
                f,
                "recordsCount {count} at byte {RECORDS_COUNT_AT} is outside 0..={limit}"
            ),
            BatchError::InvalidHeaderCount {
                position,
                count,
                limit,
            } => {
                write!(
                    f,
                    "headersCount {count} at byte {position} is outside 0..={limit}"
                )
            }
            BatchError::MissingRecords {
                declared,
                found,
                position,
            } => write!(
                f,
                "recordsCount says {declared} records but the batch ends at byte {position} \
                 after {found}"
            ),
            BatchError::RecordLengthMismatch {
                position,
                declared,
                used,
            } => write!(
                f,
                "record at byte {position} declares length {declared} but its fields take {used}"
            ),
            BatchError::TrailingBytes { position, count } => write!(
                f,
                "{count} trailing bytes at byte {position} after the last record of the batch"
            ),
            BatchError::HeaderKeyNotUtf8 { position } => {
                write!(f, "record header key at byte {position} is not UTF-8")
            }
        }
    }
}

impl std::error::Error for BatchError {}

/// The 61-byte header of a batch, read without touching its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchHeader {
    pub base_offset: Offset,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: BatchAttributes,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

fn be<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&buf[at..at + N]);
    out
}

fn pos(p: usize) -> u32 {
    u32::try_from(p).unwrap_or(u32::MAX)
}

impl BatchHeader {
    /// Reads the header at the start of `buf`, checking magic and `batchLength` bounds but
    /// not that the whole batch is present (see `size_in_bytes`) nor its CRC.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, BatchError> {
        if buf.len() < RECORDS_AT {
            return Err(BatchError::Truncated {
                field: "the batch header",
                position: 0,
                needed: RECORD_BATCH_OVERHEAD,
                available: pos(buf.len()),
            });
        }
        let magic = buf[MAGIC_AT] as i8;
        let batch_length = i32::from_be_bytes(be(buf, BATCH_LENGTH_AT));
        if magic != MAGIC_V2 {
            return Err(BatchError::UnsupportedMagic { magic });
        }
        if batch_length < (RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) as i32 {
            return Err(BatchError::BatchLengthTooSmall { batch_length });
        }
        if batch_length as u32 > limits::BATCH_BYTES_MAX - LOG_OVERHEAD {
            return Err(BatchError::BatchLengthTooLarge {
                batch_length,
                limit: limits::BATCH_BYTES_MAX,
            });
        }
        let attributes = BatchAttributes::from_i16(i16::from_be_bytes(be(buf, ATTRIBUTES_AT)))?;
        Ok(BatchHeader {
            base_offset: Offset(i64::from_be_bytes(be(buf, BASE_OFFSET_AT))),
            batch_length,
            partition_leader_epoch: i32::from_be_bytes(be(buf, PARTITION_LEADER_EPOCH_AT)),
            magic,
            crc: u32::from_be_bytes(be(buf, CRC_AT)),
            attributes,
            last_offset_delta: i32::from_be_bytes(be(buf, LAST_OFFSET_DELTA_AT)),
            base_timestamp: i64::from_be_bytes(be(buf, BASE_TIMESTAMP_AT)),
            max_timestamp: i64::from_be_bytes(be(buf, MAX_TIMESTAMP_AT)),
            producer_id: i64::from_be_bytes(be(buf, PRODUCER_ID_AT)),
            producer_epoch: i16::from_be_bytes(be(buf, PRODUCER_EPOCH_AT)),
            base_sequence: i32::from_be_bytes(be(buf, BASE_SEQUENCE_AT)),
            records_count: i32::from_be_bytes(be(buf, RECORDS_COUNT_AT)),
        })
    }

    /// The whole batch's size: `batchLength + 12`.
    pub fn size_in_bytes(&self) -> u32 {
        self.batch_length as u32 + LOG_OVERHEAD
    }

    /// `baseOffset + lastOffsetDelta`, saturating on hostile values.
    pub fn last_offset(&self) -> Offset {
        Offset(
            self.base_offset
                .0
                .saturating_add(i64::from(self.last_offset_delta)),
        )
    }

    pub fn next_offset(&self) -> Offset {
        Offset(self.last_offset().0.saturating_add(1))
    }
}

/// Checks the CRC-32C of the batch at the start of `buf` (which must hold all of it).
pub fn verify_crc(buf: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = BatchHeader::parse(buf)?;
    let size = header.size_in_bytes();
    if buf.len() < size as usize {
        return Err(BatchError::Incomplete {
            size,
            available: pos(buf.len()),
        });
    }
    let computed = crc32c::crc32c(&buf[ATTRIBUTES_AT..size as usize]);
    if computed != header.crc {
        return Err(BatchError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    Ok(header)
}

/// Overwrites `baseOffset` in place; it is outside the CRC, as Kafka's leader relies on.
pub fn set_base_offset(buf: &mut [u8], offset: Offset) -> Result<(), BatchError> {
    put_field(buf, BASE_OFFSET_AT, "baseOffset", &offset.0.to_be_bytes())
}

/// Overwrites `partitionLeaderEpoch` in place; it is outside the CRC (KIP-101).
pub fn set_partition_leader_epoch(buf: &mut [u8], epoch: i32) -> Result<(), BatchError> {
    put_field(
        buf,
        PARTITION_LEADER_EPOCH_AT,
        "partitionLeaderEpoch",
        &epoch.to_be_bytes(),
    )
}

fn put_field(
    buf: &mut [u8],
    at: usize,
    field: &'static str,
    bytes: &[u8],
) -> Result<(), BatchError> {
    let Some(slot) = buf.get_mut(at..at + bytes.len()) else {
        return Err(BatchError::Truncated {
            field,
            position: pos(at),
            needed: pos(bytes.len()),
            available: pos(buf.len()),
        });
    };
    slot.copy_from_slice(bytes);
    Ok(())
}

/// Decodes and fully validates the batch at the start of `buf`: the batch and the number of
/// bytes it occupies (bytes after it are left alone: they are the next batch).
pub fn decode_batch(buf: &[u8]) -> Result<(RecordBatch, usize), BatchError> {
    let header = verify_crc(buf)?;
    if header.attributes.compression != Compression::None {
        return Err(BatchError::UnsupportedCompression {
            codec: header.attributes.compression,
        });
    }
    if header.records_count < 0 || header.records_count as u32 > limits::BATCH_RECORDS_MAX {
        return Err(BatchError::InvalidRecordCount {
            count: header.records_count,
            limit: limits::BATCH_RECORDS_MAX,
        });
    }
    let size = header.size_in_bytes() as usize;
    let mut reader = Reader {
        buf: &buf[..size],
        at: RECORDS_AT,
    };
    let declared = header.records_count;
    // Never trust the count beyond what the remaining bytes could possibly hold.
    let room = (size - RECORDS_AT) / RECORD_BYTES_MIN as usize;
    let mut records = Vec::with_capacity((declared as usize).min(room));
    for found in 0..declared as u32 {
        if reader.at == size {
            return Err(BatchError::MissingRecords {
                declared,
                found,
                position: pos(size),
            });
        }
        records.push(reader.record()?);
    }
    if reader.at != size {
        return Err(BatchError::TrailingBytes {
            position: pos(reader.at),
            count: pos(size - reader.at),
        });
    }
    let batch = RecordBatch {
        base_offset: header.base_offset,
        partition_leader_epoch: header.partition_leader_epoch,
        attributes: header.attributes,
        last_offset_delta: header.last_offset_delta,
        base_timestamp: header.base_timestamp,
        max_timestamp: header.max_timestamp,
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        base_sequence: header.base_sequence,
        records,
    };
    Ok((batch, size))
}

/// A bounds-checked cursor over one batch; `buf` ends where the batch (or record) ends.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.at
    }

    fn varint(&mut self, field: &'static str) -> Result<i32, BatchError> {
        let (value, len) =
            varint::get_varint(&self.buf[self.at..]).map_err(|problem| BatchError::Varint {
                field,
                position: pos(self.at),
                problem,
            })?;
        self.at += len as usize;
        Ok(value)
    }

    fn varlong(&mut self, field: &'static str) -> Result<i64, BatchError> {
        let (value, len) =
            varint::get_varlong(&self.buf[self.at..]).map_err(|problem| BatchError::Varint {
                field,
                position: pos(self.at),
                problem,
            })?;
        self.at += len as usize;
        Ok(value)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, BatchError> {
        let byte = *self.buf.get(self.at).ok_or(BatchError::Truncated {
            field,
            position: pos(self.at),
            needed: 1,
            available: pos(self.buf.len()),
        })?;
        self.at += 1;
        Ok(byte)
    }

    /// Reads a length-prefixed byte string; -1 is null when `nullable`.
    fn bytes(&mut self, field: &'static str, nullable: bool) -> Result<Option<&[u8]>, BatchError> {
        let position = pos(self.at);
        let length = self.varint(field)?;
        if length == -1 && nullable {
            return Ok(None);
        }
        if length < 0 {
            return Err(BatchError::NegativeLength {
                field,
                position,
                length,
            });
        }
        if length as usize > self.remaining() {
            return Err(BatchError::LengthPastEnd {
                field,
                position,
                length,
                remaining: pos(self.remaining()),
            });
        }
        let start = self.at;
        self.at += length as usize;
        Ok(Some(&self.buf[start..self.at]))
    }

    fn record(&mut self) -> Result<Record, BatchError> {
        let position = pos(self.at);
        let declared = self.varint("record length")?;
        if declared < 0 {
            return Err(BatchError::NegativeLength {
                field: "record length",
                position,
                length: declared,
            });
        }
        if declared as usize > self.remaining() {
            return Err(BatchError::LengthPastEnd {
                field: "record length",
                position,
                length: declared,
                remaining: pos(self.remaining()),
            });
        }
        let body_start = self.at;
        // Fields of the record may not read past its declared length.
        let mut body = Reader {
            buf: &self.buf[..body_start + declared as usize],
            at: body_start,
        };
        let record = body.record_body()?;
        if body.at != body.buf.len() {
            return Err(BatchError::RecordLengthMismatch {
                position,
                declared,
                used: pos(body.at - body_start),
            });
        }
        self.at = body.at;
        Ok(record)
    }

    fn record_body(&mut self) -> Result<Record, BatchError> {
        let _attributes = self.byte("record attributes")?;
        let timestamp_delta = self.varlong("timestampDelta")?;
        let offset_delta = self.varint("offsetDelta")?;
        let key = self.bytes("keyLength", true)?.map(<[u8]>::to_vec);
        let value = self.bytes("valueLength", true)?.map(<[u8]>::to_vec);
        let count_at = pos(self.at);
        let count = self.varint("headersCount")?;
        if count < 0 || count as u32 > limits::RECORD_HEADERS_MAX {
            return Err(BatchError::InvalidHeaderCount {
                position: count_at,
                count,
                limit: limits::RECORD_HEADERS_MAX,
            });
        }
        // A header takes at least two bytes (key length and value length).
        let mut headers = Vec::with_capacity((count as usize).min(self.remaining() / 2));
        for _ in 0..count {
            let key_at = pos(self.at);
            let key = self.bytes("header keyLength", false)?.unwrap_or_default();
            let key = std::str::from_utf8(key)
                .map_err(|_| BatchError::HeaderKeyNotUtf8 { position: key_at })?
                .to_owned();
            let value = self.bytes("header valueLength", true)?.map(<[u8]>::to_vec);
            headers.push(RecordHeader { key, value });
        }
        Ok(Record {
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn sample() -> RecordBatch {
        RecordBatch::new_data(
            &[
                NewRecord::new(1_000, Some(b"k1"), Some(b"v1")).with_header("h", Some(b"x")),
                NewRecord::new(990, None, Some(b"")),
                NewRecord::new(1_010, Some(b"k2"), None),
            ],
            ProducerFields::idempotent(ProducerId(7), ProducerEpoch(1), 42),
        )
    }

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn round_trip_and_derived_fields() {
        let batch = sample();
        assert_eq!(batch.base_timestamp, 1_000);
        assert_eq!(batch.max_timestamp, 1_010);
        assert_eq!(batch.last_offset_delta, 2);
        let bytes = batch.encode();
        assert_eq!(bytes.len() as u32, batch.size_in_bytes());
        let (decoded, used) = decode_batch(&bytes).expect("valid batch");
        assert_eq!(used, bytes.len());
        assert_eq!(decoded, batch);
        let header = BatchHeader::parse(&bytes).expect("header");
        assert_eq!(header.records_count, 3);
        assert_eq!(header.last_offset(), Offset(2));
        assert_eq!(header.size_in_bytes() as usize, bytes.len());
    }

    #[test]
    fn stamping_leaves_crc_valid() {
        let mut bytes = sample().encode();
        set_base_offset(&mut bytes, Offset(1234)).expect("room");
        set_partition_leader_epoch(&mut bytes, 9).expect("room");
        let (decoded, _) = decode_batch(&bytes).expect("still valid");
        assert_eq!(decoded.base_offset, Offset(1234));
        assert_eq!(decoded.partition_leader_epoch, 9);
    }

    #[test]
    fn every_flipped_byte_after_crc_is_detected() {
        let bytes = sample().encode();
        for i in ATTRIBUTES_AT..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(
                decode_batch(&bad).is_err(),
                "flip at byte {i} went unnoticed"
            );
        }
    }

    #[test]
    fn compressed_batch_names_its_codec() {
        let mut batch = sample();
        batch.attributes.compression = Compression::Zstd;
        let err = decode_batch(&batch.encode()).expect_err("compressed");
        assert!(err.to_string().contains("zstd"), "{err}");
    }
}
