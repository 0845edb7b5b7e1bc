//! Control records (L-2): the transaction markers a coordinator writes. A control batch holds
//! exactly one record whose key is `(version i16 = 0, type i16)` and whose value is
//! `(version i16 = 0, coordinatorEpoch i32)`. It takes an offset but no consumer ever sees it.

use super::batch::{
    BatchAttributes, ProducerFields, Record, RecordBatch, NO_PARTITION_LEADER_EPOCH, NO_SEQUENCE,
};
use crate::ids::{Offset, ProducerEpoch, ProducerId};
use std::fmt;

/// The `type` of a control record key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ControlRecordType {
    #[serde(rename = "ABORT")]
    Abort,
    /// A transaction commit marker (Kafka's `COMMIT`, type 1).
    #[serde(rename = "COMMIT")]
    TransactionCommit,
}

impl ControlRecordType {
    /// Kafka's name for the marker: `ABORT` or `COMMIT`.
    pub fn name(self) -> &'static str {
        match self {
            ControlRecordType::Abort => "ABORT",
            ControlRecordType::TransactionCommit => "COMMIT",
        }
    }

    pub fn to_i16(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::TransactionCommit => 1,
        }
    }
}

/// An end-transaction marker: the decoded control record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EndTransactionMarker {
    pub control_type: ControlRecordType,
    pub coordinator_epoch: i32,
}

/// Why a record is not a valid control record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlError {
    MissingKey,
    MissingValue,
    WrongLength {
        field: &'static str,
        length: u32,
        expected: u32,
    },
    UnsupportedVersion {
        field: &'static str,
        version: i16,
    },
    UnknownType {
        control_type: i16,
    },
    /// A control batch must hold exactly one record.
    RecordCount {
        count: u32,
    },
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::MissingKey => write!(f, "control record has a null key"),
            ControlError::MissingValue => write!(f, "control record has a null value"),
            ControlError::WrongLength {
                field,
                length,
                expected,
            } => {
                write!(
                    f,
                    "control record {field} is {length} bytes; expected {expected}"
                )
            }
            ControlError::UnsupportedVersion { field, version } => {
                write!(f, "control record {field} version {version} is not 0")
            }
            ControlError::UnknownType { control_type } => {
                write!(
                    f,
                    "control record type {control_type} is neither ABORT (0) nor COMMIT (1)"
                )
            }
            ControlError::RecordCount { count } => {
                write!(
                    f,
                    "control batch holds {count} records; exactly one is allowed"
                )
            }
        }
    }
}

impl std::error::Error for ControlError {}

impl EndTransactionMarker {
    /// The control record key: version 0, then the type.
    pub fn key_bytes(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(4);
        key.extend_from_slice(&0i16.to_be_bytes());
        key.extend_from_slice(&self.control_type.to_i16().to_be_bytes());
        key
    }

    /// The control record value: version 0, then the coordinator epoch.
    pub fn value_bytes(&self) -> Vec<u8> {
        let mut value = Vec::with_capacity(6);
        value.extend_from_slice(&0i16.to_be_bytes());
        value.extend_from_slice(&self.coordinator_epoch.to_be_bytes());
        value
    }

    /// Reads a marker from a control record.
    pub fn decode(record: &Record) -> Result<EndTransactionMarker, ControlError> {
        Self::decode_parts(record.key.as_deref(), record.value.as_deref())
    }

    /// Reads a marker from a control record's key and value.
    pub fn decode_parts(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<EndTransactionMarker, ControlError> {
        let key = key.ok_or(ControlError::MissingKey)?;
        let value = value.ok_or(ControlError::MissingValue)?;
        let key: [u8; 4] = key.try_into().map_err(|_| ControlError::WrongLength {
            field: "key",
            length: key.len() as u32,
            expected: 4,
        })?;
        let value: [u8; 6] = value.try_into().map_err(|_| ControlError::WrongLength {
            field: "value",
            length: value.len() as u32,
            expected: 6,
        })?;
        let key_version = i16::from_be_bytes([key[0], key[1]]);
        if key_version != 0 {
            return Err(ControlError::UnsupportedVersion {
                field: "key",
                version: key_version,
            });
        }
        let control_type = match i16::from_be_bytes([key[2], key[3]]) {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::TransactionCommit,
            other => {
                return Err(ControlError::UnknownType {
                    control_type: other,
                })
            }
        };
        let value_version = i16::from_be_bytes([value[0], value[1]]);
        if value_version != 0 {
            return Err(ControlError::UnsupportedVersion {
                field: "value",
                version: value_version,
            });
        }
        let coordinator_epoch = i32::from_be_bytes([value[2], value[3], value[4], value[5]]);
        Ok(EndTransactionMarker {
            control_type,
            coordinator_epoch,
        })
    }
}

impl RecordBatch {
    /// A transactional control batch holding one end-transaction marker, at base offset 0 and
    /// not yet stamped by a leader (Kafka's `MemoryRecords.withEndTransactionMarker`).
    pub fn new_control(
        marker: EndTransactionMarker,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        timestamp_ms: i64,
    ) -> RecordBatch {
        let producer = ProducerFields::transactional(producer_id, producer_epoch, NO_SEQUENCE);
        RecordBatch {
            base_offset: Offset::ZERO,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            attributes: BatchAttributes {
                is_transactional: true,
                is_control: true,
                ..BatchAttributes::default()
            },
            last_offset_delta: 0,
            base_timestamp: timestamp_ms,
            max_timestamp: timestamp_ms,
            producer_id: producer.producer_id.0,
            producer_epoch: producer.producer_epoch.0,
            base_sequence: producer.base_sequence,
            records: vec![Record {
                timestamp_delta: 0,
                offset_delta: 0,
                key: Some(marker.key_bytes()),
                value: Some(marker.value_bytes()),
                headers: Vec::new(),
            }],
        }
    }

    /// The marker of a control batch, checking it holds exactly one control record.
    pub fn control_marker(&self) -> Result<EndTransactionMarker, ControlError> {
        match self.records.as_slice() {
            [record] => EndTransactionMarker::decode(record),
            records => Err(ControlError::RecordCount {
                count: records.len() as u32,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::decode_batch;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn marker_round_trips_through_a_batch() {
        let marker = EndTransactionMarker {
            control_type: ControlRecordType::TransactionCommit,
            coordinator_epoch: 5,
        };
        let batch = RecordBatch::new_control(marker, ProducerId(3), ProducerEpoch(2), 77);
        assert_eq!(marker.key_bytes(), [0, 0, 0, 1]);
        assert_eq!(marker.value_bytes(), [0, 0, 0, 0, 0, 5]);
        let (decoded, _) = decode_batch(&batch.encode()).expect("valid");
        assert!(decoded.attributes.is_control && decoded.attributes.is_transactional);
        assert_eq!(decoded.control_marker(), Ok(marker));
    }

    #[test]
    fn malformed_markers_are_named() {
        let mut record = Record {
            timestamp_delta: 0,
            offset_delta: 0,
            key: Some(vec![0, 0, 0, 7]),
            value: Some(vec![0, 0, 0, 0, 0, 1]),
            headers: Vec::new(),
        };
        assert_eq!(
            EndTransactionMarker::decode(&record),
            Err(ControlError::UnknownType { control_type: 7 })
        );
        record.key = Some(vec![0]);
        assert!(EndTransactionMarker::decode(&record).is_err());
    }
}
