//! The bytes of a transaction's state in `__transaction_state`, in Kafka's own schemas, so a new
//! coordinator can rebuild every `transactional.id` from the log after a failover (T-2: the
//! state log is replicated like any partition).
//!
//! Key, `TransactionLogKey` version 0: int16 version, string transactional id. Value,
//! `TransactionLogValue` version 0 (the highest non-flexible one, which Kafka writes until
//! transaction version 2): int16 version, int64 producer id, int16 producer epoch, int32
//! transaction timeout, int8 status, a nullable array of (string topic, [int32 partition]),
//! int64 last update time, int64 start time (-1 when no transaction is open). A record with no
//! value is a tombstone: the id expired.

use super::coordinator::TransactionMetadata;
use super::state::TransactionState;
use crate::broker::codec::{put_string, put_topic_partitions, Reader};
use crate::ids::{ProducerEpoch, ProducerId};
use crate::time::SimTime;
use std::collections::BTreeSet;

pub const TRANSACTION_LOG_KEY_VERSION: i16 = 0;
pub const TRANSACTION_LOG_VALUE_VERSION: i16 = 0;

/// Kafka's status byte of each state (`TransactionState.id`).
fn status_byte(state: TransactionState) -> i8 {
    match state {
        TransactionState::Empty => 0,
        TransactionState::Ongoing => 1,
        TransactionState::PrepareCommit => 2,
        TransactionState::PrepareAbort => 3,
        TransactionState::CompleteCommit => 4,
        TransactionState::CompleteAbort => 5,
        TransactionState::Dead => 6,
        TransactionState::PrepareEpochFence => 7,
    }
}

fn state_of(byte: i8) -> Option<TransactionState> {
    [
        TransactionState::Empty,
        TransactionState::Ongoing,
        TransactionState::PrepareCommit,
        TransactionState::PrepareAbort,
        TransactionState::CompleteCommit,
        TransactionState::CompleteAbort,
        TransactionState::Dead,
        TransactionState::PrepareEpochFence,
    ]
    .into_iter()
    .find(|s| status_byte(*s) == byte)
}

pub fn encode_key(transactional_id: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.extend_from_slice(&TRANSACTION_LOG_KEY_VERSION.to_be_bytes());
    put_string(&mut out, transactional_id)?;
    Ok(out)
}

/// The value bytes; times are simulated milliseconds.
pub fn encode_value(m: &TransactionMetadata) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.extend_from_slice(&TRANSACTION_LOG_VALUE_VERSION.to_be_bytes());
    out.extend_from_slice(&m.producer_id.0.to_be_bytes());
    out.extend_from_slice(&m.producer_epoch.0.to_be_bytes());
    let timeout = i32::try_from(m.timeout_ms)
        .map_err(|_| format!("transaction timeout {} ms is above int32", m.timeout_ms))?;
    out.extend_from_slice(&timeout.to_be_bytes());
    out.push(status_byte(m.state) as u8);
    // Kafka writes no partition list for an Empty transaction.
    if m.state == TransactionState::Empty {
        out.extend_from_slice(&(-1i32).to_be_bytes());
    } else {
        put_topic_partitions(&mut out, &m.partitions)?;
    }
    out.extend_from_slice(&m.last_update.as_millis().to_be_bytes());
    let start = m.txn_start.map_or(-1, |t| t.as_millis());
    out.extend_from_slice(&start.to_be_bytes());
    Ok(out)
}

/// Reads one record of `__transaction_state`: the transactional id and its metadata, or `None`
/// for a tombstone.
pub fn decode(
    key: &[u8],
    value: Option<&[u8]>,
) -> Result<(String, Option<TransactionMetadata>), String> {
    let mut k = Reader::new(key, "TransactionLogKey");
    let version = k.i16("version")?;
    if version != TRANSACTION_LOG_KEY_VERSION {
        return Err(format!("TransactionLogKey: version {version} is not 0"));
    }
    let transactional_id = k.string("transactional id")?;
    if k.at != key.len() {
        return Err(format!(
            "TransactionLogKey: {} bytes after the transactional id",
            key.len() - k.at
        ));
    }
    let Some(value) = value else {
        return Ok((transactional_id, None));
    };
    let mut v = Reader::new(value, "TransactionLogValue");
    let version = v.i16("version")?;
    if version != TRANSACTION_LOG_VALUE_VERSION {
        return Err(format!(
            "TransactionLogValue: version {version} is not 0 (flexible versions are not read)"
        ));
    }
    let producer_id = ProducerId(v.i64("producer id")?);
    let producer_epoch = ProducerEpoch(v.i16("producer epoch")?);
    let timeout = v.i32("transaction timeout")?;
    let timeout_ms =
        u64::try_from(timeout).map_err(|_| format!("TransactionLogValue: timeout {timeout} ms"))?;
    let status = v.take(1, "status")?[0] as i8;
    let state =
        state_of(status).ok_or_else(|| format!("TransactionLogValue: unknown status {status}"))?;
    let save = v.at;
    let partitions = if v.i32("partitions")? == -1 {
        BTreeSet::new()
    } else {
        v.at = save;
        v.topic_partitions("partitions")?
    };
    let last_update = v.i64("last update time")?;
    let start = v.i64("start time")?;
    if v.at != value.len() {
        return Err(format!(
            "TransactionLogValue: {} bytes after the start time",
            value.len() - v.at
        ));
    }
    Ok((
        transactional_id.clone(),
        Some(TransactionMetadata {
            transactional_id,
            producer_id,
            producer_epoch,
            timeout_ms,
            state,
            partitions,
            txn_start: (start >= 0).then(|| SimTime::from_millis(start as u64)),
            last_update: SimTime::from_millis(last_update.max(0) as u64),
        }),
    ))
}
