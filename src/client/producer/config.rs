//! `ProducerConfig`: the producer settings a scenario may set, under Kafka's own names and with
//! Kafka's defaults (spec section 8, 3.9 baseline), validated the way Kafka's `ProducerConfig`
//! and `KafkaProducer` constructor do, with their `ConfigException` messages. A config that
//! passes `validate` keeps the invariants the producer relies on: idempotence implies
//! `acks=all`, `retries > 0` and at most 5 requests in flight per connection.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `acks`: how many replicas must have the batch before the leader answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AcksRepr", into = "String")]
pub enum Acks {
    /// `acks=0`: no response; the send completes when the request leaves (offset -1).
    None,
    /// `acks=1`: the leader's append suffices.
    Leader,
    /// `acks=all` (or `-1`): every ISR member, subject to `min.insync.replicas`.
    All,
}

impl Acks {
    /// The int16 of a ProduceRequest.
    pub fn as_i16(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// Kafka accepts `acks` as a string ("all", "-1", "0", "1"); scenario files may also write
/// the number.
#[derive(Deserialize)]
#[serde(untagged)]
enum AcksRepr {
    Text(String),
    Number(i64),
}

impl TryFrom<AcksRepr> for Acks {
    type Error = String;
    fn try_from(repr: AcksRepr) -> Result<Acks, String> {
        let text = match repr {
            AcksRepr::Text(t) => t,
            AcksRepr::Number(n) => n.to_string(),
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "all" | "-1" => Ok(Acks::All),
            "1" => Ok(Acks::Leader),
            "0" => Ok(Acks::None),
            other => Err(format!(
                "Invalid value {other} for configuration acks: String must be one of: all, -1, 0, 1"
            )),
        }
    }
}

impl From<Acks> for String {
    fn from(acks: Acks) -> String {
        match acks {
            Acks::None => "0".into(),
            Acks::Leader => "1".into(),
            Acks::All => "all".into(),
        }
    }
}

/// The producer's settings. Unset fields take Kafka's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerConfig {
    #[serde(rename = "acks")]
    pub acks: Acks,
    /// `None` = not set by the user: idempotence is then on unless another setting conflicts
    /// with it, in which case Kafka (3.2+) turns it off silently instead of failing.
    #[serde(rename = "enable.idempotence")]
    pub enable_idempotence: Option<bool>,
    #[serde(rename = "batch.size")]
    pub batch_size: u32,
    #[serde(rename = "linger.ms")]
    pub linger_ms: u64,
    #[serde(rename = "retries")]
    pub retries: i32,
    #[serde(rename = "retry.backoff.ms")]
    pub retry_backoff_ms: u64,
    #[serde(rename = "retry.backoff.max.ms")]
    pub retry_backoff_max_ms: u64,
    #[serde(rename = "delivery.timeout.ms")]
    pub delivery_timeout_ms: u64,
    #[serde(rename = "request.timeout.ms")]
    pub request_timeout_ms: u64,
    #[serde(rename = "max.in.flight.requests.per.connection")]
    pub max_in_flight_requests_per_connection: u32,
    #[serde(rename = "partitioner.ignore.keys")]
    pub partitioner_ignore_keys: bool,
    /// Null-key records pick their next partition weighted by inverse queue depth (KIP-794).
    #[serde(rename = "partitioner.adaptive.partitioning.enable")]
    pub partitioner_adaptive_partitioning_enable: bool,
    #[serde(rename = "max.request.size")]
    pub max_request_size: u32,
    /// Bytes of queued batches before `send` pushes back (Kafka blocks up to `max.block.ms`).
    #[serde(rename = "buffer.memory")]
    pub buffer_memory: u64,
    /// Not Kafka's: lets an idempotent producer keep more than 5 requests in flight, which
    /// Kafka refuses, to show why it refuses (drill D8): the broker remembers only the last 5
    /// batches per producer, so the retry of a sixth-oldest batch is no longer recognised as a
    /// duplicate and gets OUT_OF_ORDER_SEQUENCE_NUMBER.
    #[serde(
        rename = "logsim.unsafe.idempotence.in.flight.above.5",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub unsafe_idempotence_in_flight_above_5: bool,
    /// `transactional.id`: makes the producer transactional (section 5). It needs idempotence.
    #[serde(rename = "transactional.id", skip_serializing_if = "Option::is_none")]
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms` (60000): how long the coordinator lets a transaction stay open
    /// before it aborts it (T-7).
    #[serde(rename = "transaction.timeout.ms")]
    pub transaction_timeout_ms: u64,
}

impl Default for ProducerConfig {
    /// Kafka 3.9's defaults (spec section 8). `linger.ms` is 0 there; 4.0 makes it 5
    /// (KIP-1030): see `kafka_4_0_defaults`.
    fn default() -> ProducerConfig {
        ProducerConfig {
            acks: Acks::All,
            enable_idempotence: None,
            batch_size: 16_384,
            linger_ms: 0,
            retries: i32::MAX,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 1_000,
            delivery_timeout_ms: 120_000,
            request_timeout_ms: 30_000,
            max_in_flight_requests_per_connection: 5,
            partitioner_ignore_keys: false,
            partitioner_adaptive_partitioning_enable: true,
            max_request_size: 1_048_576,
            buffer_memory: 33_554_432,
            unsafe_idempotence_in_flight_above_5: false,
            transactional_id: None,
            transaction_timeout_ms: 60_000,
        }
    }
}

/// Kafka's `ConfigException`: the message names the setting and the conflict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigException(pub String);

impl fmt::Display for ConfigException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigException {}

/// Kafka's idempotent producer keeps at most this many requests in flight per connection.
pub const MAX_IN_FLIGHT_FOR_IDEMPOTENCE: u32 = 5;

impl ProducerConfig {
    /// Kafka 4.0's defaults: `linger.ms` = 5 (KIP-1030).
    pub fn kafka_4_0_defaults() -> ProducerConfig {
        ProducerConfig {
            linger_ms: 5,
            ..ProducerConfig::default()
        }
    }

    /// Whether the producer is idempotent once validated.
    pub fn idempotence_enabled(&self) -> bool {
        match self.enable_idempotence {
            Some(explicit) => explicit,
            None => !self.conflicts_with_idempotence(),
        }
    }

    fn conflicts_with_idempotence(&self) -> bool {
        self.acks != Acks::All
            || self.retries == 0
            || (self.max_in_flight_requests_per_connection > MAX_IN_FLIGHT_FOR_IDEMPOTENCE
                && !self.unsafe_idempotence_in_flight_above_5)
    }

    /// Checks the config like Kafka's `ProducerConfig.postProcessAndValidateIdempotenceConfigs`
    /// and `KafkaProducer.configureDeliveryTimeout`.
    pub fn validate(&self) -> Result<(), ConfigException> {
        let bad = |m: String| Err(ConfigException(m));
        if self.batch_size == 0 {
            // Kafka allows 0 (no batching); one record per batch is what it means, and we
            // keep the sticky partitioner's thresholds meaningful by asking for at least 1.
            return bad(
                "Invalid value 0 for configuration batch.size: Value must be at least 1".into(),
            );
        }
        if self.retries < 0 {
            return bad(format!(
                "Invalid value {} for configuration retries: Value must be at least 0",
                self.retries
            ));
        }
        if self.max_in_flight_requests_per_connection == 0 {
            return bad("Invalid value 0 for configuration max.in.flight.requests.per.connection: Value must be at least 1".into());
        }
        if self.request_timeout_ms == 0 {
            return bad(
                "Invalid value 0 for configuration request.timeout.ms: Value must be at least 1"
                    .into(),
            );
        }
        if self.retry_backoff_max_ms < self.retry_backoff_ms {
            // Kafka logs a warning and uses retry.backoff.ms as the cap; we ask for a clean config.
            return bad(format!(
                "retry.backoff.max.ms ({}) must be at least retry.backoff.ms ({})",
                self.retry_backoff_max_ms, self.retry_backoff_ms
            ));
        }
        if self.enable_idempotence == Some(true) {
            if self.max_in_flight_requests_per_connection > MAX_IN_FLIGHT_FOR_IDEMPOTENCE
                && !self.unsafe_idempotence_in_flight_above_5
            {
                return bad("Must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer.".into());
            }
            if self.retries == 0 {
                return bad(
                    "Must set retries to non-zero when using the idempotent producer.".into(),
                );
            }
            if self.acks != Acks::All {
                return bad("Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence.".into());
            }
        }
        if let Some(id) = &self.transactional_id {
            if !self.idempotence_enabled() {
                return bad(
                    "Cannot set a transactional.id without also enabling idempotence.".into(),
                );
            }
            if id.is_empty() {
                return bad("Invalid value \"\" for configuration transactional.id: a transactional producer needs a non-empty id".into());
            }
            if id.len() > crate::client::transactions::TRANSACTIONAL_ID_MAX_BYTES {
                return bad(format!(
                    "Invalid value for configuration transactional.id: {} bytes, at most {} allowed",
                    id.len(),
                    crate::client::transactions::TRANSACTIONAL_ID_MAX_BYTES
                ));
            }
            if self.transaction_timeout_ms == 0 {
                return bad("Invalid value 0 for configuration transaction.timeout.ms: Value must be at least 1".into());
            }
        }
        let floor = self.linger_ms.saturating_add(self.request_timeout_ms);
        if self.delivery_timeout_ms < floor {
            return bad(format!(
                "delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms ({} < {floor})",
                self.delivery_timeout_ms
            ));
        }
        Ok(())
    }
}
