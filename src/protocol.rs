//! Protocol vocabulary shared by every node: Kafka's error codes (`ErrorCode`, with Kafka's
//! numbers, upper-snake names and retriability) and the epochs carried in control messages
//! (`ControllerEpoch`, `BrokerEpoch`, `PartitionEpoch`). Protocol errors travel as this data,
//! never as `Err` strings, so a trace shows exactly what a Kafka client would have seen.
//!
//! Invariant: each variant's `code()` and `name()` are Kafka's (`org.apache.kafka.common.protocol.
//! Errors`), and `from_code(e.code()) == Some(e)` for every variant.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A Kafka protocol error code. The variant list is the subset logsim produces; add more with
/// Kafka's own number and name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    UnknownServerError,
    None,
    OffsetOutOfRange,
    CorruptMessage,
    UnknownTopicOrPartition,
    LeaderNotAvailable,
    NotLeaderOrFollower,
    RequestTimedOut,
    BrokerNotAvailable,
    ReplicaNotAvailable,
    MessageTooLarge,
    StaleControllerEpoch,
    NetworkException,
    CoordinatorLoadInProgress,
    CoordinatorNotAvailable,
    NotCoordinator,
    InvalidTopicException,
    RecordListTooLarge,
    InvalidTimestamp,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    InvalidRequiredAcks,
    TopicAlreadyExists,
    InvalidPartitions,
    InvalidReplicationFactor,
    InvalidReplicaAssignment,
    InvalidConfig,
    NotController,
    InvalidRequest,
    OutOfOrderSequenceNumber,
    DuplicateSequenceNumber,
    InvalidProducerEpoch,
    InvalidTxnState,
    InvalidProducerIdMapping,
    ConcurrentTransactions,
    KafkaStorageError,
    UnknownProducerId,
    FencedLeaderEpoch,
    UnknownLeaderEpoch,
    StaleBrokerEpoch,
    OffsetNotAvailable,
    PreferredLeaderNotAvailable,
    EligibleLeadersNotAvailable,
    ElectionNotNeeded,
    InvalidRecord,
    ProducerFenced,
    InvalidUpdateVersion,
    DuplicateBrokerRegistration,
    BrokerIdNotRegistered,
    IneligibleReplica,
    IllegalGeneration,
    InconsistentGroupProtocol,
    UnknownMemberId,
    InvalidSessionTimeout,
    RebalanceInProgress,
    InvalidCommitOffsetSize,
    MemberIdRequired,
    FencedInstanceId,
    InvalidTransactionTimeout,
    TransactionCoordinatorFenced,
    NewLeaderElected,
    UnstableOffsetCommit,
    OffsetMetadataTooLarge,
    InvalidGroupId,
}

/// (variant, Kafka code, Kafka name, retriable). One table so the three views cannot drift.
/// Retriable = the client exception extends `RetriableException` (directly or through
/// `InvalidMetadataException`).
const TABLE: &[(ErrorCode, i16, &str, bool)] = {
    use ErrorCode::*;
    &[
        (UnknownServerError, -1, "UNKNOWN_SERVER_ERROR", false),
        (None, 0, "NONE", false),
        (OffsetOutOfRange, 1, "OFFSET_OUT_OF_RANGE", false),
        (CorruptMessage, 2, "CORRUPT_MESSAGE", true),
        (
            UnknownTopicOrPartition,
            3,
            "UNKNOWN_TOPIC_OR_PARTITION",
            true,
        ),
        (LeaderNotAvailable, 5, "LEADER_NOT_AVAILABLE", true),
        (NotLeaderOrFollower, 6, "NOT_LEADER_OR_FOLLOWER", true),
        (RequestTimedOut, 7, "REQUEST_TIMED_OUT", true),
        (BrokerNotAvailable, 8, "BROKER_NOT_AVAILABLE", false),
        (ReplicaNotAvailable, 9, "REPLICA_NOT_AVAILABLE", true),
        (MessageTooLarge, 10, "MESSAGE_TOO_LARGE", false),
        (StaleControllerEpoch, 11, "STALE_CONTROLLER_EPOCH", false),
        (
            OffsetMetadataTooLarge,
            12,
            "OFFSET_METADATA_TOO_LARGE",
            false,
        ),
        (InvalidGroupId, 24, "INVALID_GROUP_ID", false),
        (NetworkException, 13, "NETWORK_EXCEPTION", true),
        (
            CoordinatorLoadInProgress,
            14,
            "COORDINATOR_LOAD_IN_PROGRESS",
            true,
        ),
        (
            CoordinatorNotAvailable,
            15,
            "COORDINATOR_NOT_AVAILABLE",
            true,
        ),
        (NotCoordinator, 16, "NOT_COORDINATOR", true),
        (IllegalGeneration, 22, "ILLEGAL_GENERATION", false),
        (
            InconsistentGroupProtocol,
            23,
            "INCONSISTENT_GROUP_PROTOCOL",
            false,
        ),
        (UnknownMemberId, 25, "UNKNOWN_MEMBER_ID", false),
        (InvalidSessionTimeout, 26, "INVALID_SESSION_TIMEOUT", false),
        (RebalanceInProgress, 27, "REBALANCE_IN_PROGRESS", false),
        (
            InvalidCommitOffsetSize,
            28,
            "INVALID_COMMIT_OFFSET_SIZE",
            false,
        ),
        (InvalidTopicException, 17, "INVALID_TOPIC_EXCEPTION", false),
        (RecordListTooLarge, 18, "RECORD_LIST_TOO_LARGE", false),
        (InvalidTimestamp, 32, "INVALID_TIMESTAMP", false),
        (NotEnoughReplicas, 19, "NOT_ENOUGH_REPLICAS", true),
        (
            NotEnoughReplicasAfterAppend,
            20,
            "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            true,
        ),
        (InvalidRequiredAcks, 21, "INVALID_REQUIRED_ACKS", false),
        (TopicAlreadyExists, 36, "TOPIC_ALREADY_EXISTS", false),
        (InvalidPartitions, 37, "INVALID_PARTITIONS", false),
        (
            InvalidReplicationFactor,
            38,
            "INVALID_REPLICATION_FACTOR",
            false,
        ),
        (
            InvalidReplicaAssignment,
            39,
            "INVALID_REPLICA_ASSIGNMENT",
            false,
        ),
        (InvalidConfig, 40, "INVALID_CONFIG", false),
        (NotController, 41, "NOT_CONTROLLER", true),
        (InvalidRequest, 42, "INVALID_REQUEST", false),
        (
            OutOfOrderSequenceNumber,
            45,
            "OUT_OF_ORDER_SEQUENCE_NUMBER",
            false,
        ),
        (
            DuplicateSequenceNumber,
            46,
            "DUPLICATE_SEQUENCE_NUMBER",
            false,
        ),
        (InvalidProducerEpoch, 47, "INVALID_PRODUCER_EPOCH", false),
        (InvalidTxnState, 48, "INVALID_TXN_STATE", false),
        (
            InvalidProducerIdMapping,
            49,
            "INVALID_PRODUCER_ID_MAPPING",
            false,
        ),
        (
            InvalidTransactionTimeout,
            50,
            "INVALID_TRANSACTION_TIMEOUT",
            false,
        ),
        (ConcurrentTransactions, 51, "CONCURRENT_TRANSACTIONS", true),
        (
            TransactionCoordinatorFenced,
            52,
            "TRANSACTION_COORDINATOR_FENCED",
            false,
        ),
        (KafkaStorageError, 56, "KAFKA_STORAGE_ERROR", true),
        (UnknownProducerId, 59, "UNKNOWN_PRODUCER_ID", false),
        (FencedLeaderEpoch, 74, "FENCED_LEADER_EPOCH", true),
        (UnknownLeaderEpoch, 75, "UNKNOWN_LEADER_EPOCH", true),
        (StaleBrokerEpoch, 77, "STALE_BROKER_EPOCH", false),
        (OffsetNotAvailable, 78, "OFFSET_NOT_AVAILABLE", true),
        (MemberIdRequired, 79, "MEMBER_ID_REQUIRED", false),
        (FencedInstanceId, 82, "FENCED_INSTANCE_ID", false),
        (
            PreferredLeaderNotAvailable,
            80,
            "PREFERRED_LEADER_NOT_AVAILABLE",
            true,
        ),
        (
            EligibleLeadersNotAvailable,
            83,
            "ELIGIBLE_LEADERS_NOT_AVAILABLE",
            true,
        ),
        (ElectionNotNeeded, 84, "ELECTION_NOT_NEEDED", true),
        (InvalidRecord, 87, "INVALID_RECORD", false),
        (UnstableOffsetCommit, 88, "UNSTABLE_OFFSET_COMMIT", true),
        (ProducerFenced, 90, "PRODUCER_FENCED", false),
        (InvalidUpdateVersion, 95, "INVALID_UPDATE_VERSION", false),
        (
            DuplicateBrokerRegistration,
            101,
            "DUPLICATE_BROKER_REGISTRATION",
            false,
        ),
        (
            BrokerIdNotRegistered,
            102,
            "BROKER_ID_NOT_REGISTERED",
            false,
        ),
        (IneligibleReplica, 107, "INELIGIBLE_REPLICA", false),
        (NewLeaderElected, 108, "NEW_LEADER_ELECTED", false),
    ]
};

impl ErrorCode {
    fn row(self) -> (ErrorCode, i16, &'static str, bool) {
        // Every variant has a row (checked by a test), so the fallback is unreachable in practice;
        // it names the problem instead of panicking.
        TABLE.iter().copied().find(|row| row.0 == self).unwrap_or((
            self,
            -1,
            "UNKNOWN_SERVER_ERROR",
            false,
        ))
    }

    /// Kafka's numeric error code (the int16 on the wire).
    pub fn code(self) -> i16 {
        self.row().1
    }

    /// Kafka's upper-snake name, as `Errors.name()` prints it (`NOT_ENOUGH_REPLICAS`).
    pub fn name(self) -> &'static str {
        self.row().2
    }

    /// Whether a Kafka client treats the error as retriable.
    pub fn is_retriable(self) -> bool {
        self.row().3
    }

    /// True for `NONE`.
    pub fn is_none(self) -> bool {
        self == ErrorCode::None
    }

    /// The variant for a Kafka code, if logsim knows it.
    pub fn from_code(code: i16) -> Option<ErrorCode> {
        TABLE.iter().find(|row| row.1 == code).map(|row| row.0)
    }

    /// Every variant, in code order (for tables and exhaustive tests).
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        TABLE.iter().map(|row| row.0)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An epoch: an id newtype (`crate::ids`) that also knows its successor.
macro_rules! epoch_newtype {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        crate::ids::id_newtype!($(#[$doc])* $name($inner));

        impl $name {
            /// The next epoch. Saturating: an epoch at the type's maximum stays there rather than
            /// wrapping to an older value, which would un-fence a zombie.
            pub fn next(self) -> $name {
                $name(self.0.saturating_add(1))
            }
        }
    };
}

epoch_newtype!(
    /// The active controller's epoch. Every metadata update carries it; a broker rejects an
    /// update from an older epoch with `STALE_CONTROLLER_EPOCH`.
    ControllerEpoch(i32)
);
epoch_newtype!(
    /// One broker incarnation's epoch, assigned by the controller at registration (the offset
    /// of its registration record). An older epoch belongs to a zombie incarnation (KIP-841).
    BrokerEpoch(i64)
);
epoch_newtype!(
    /// A partition's epoch: +1 on every change to its leader or ISR. AlterPartition proposals
    /// carry it, and a mismatch is `INVALID_UPDATE_VERSION`.
    PartitionEpoch(i32)
);

/// A broker's check on a control message from the controller: one from an older controller
/// epoch than the newest it has seen is refused with `STALE_CONTROLLER_EPOCH`. A newer epoch is
/// accepted (the broker then adopts it).
pub fn check_controller_epoch(
    newest_seen: ControllerEpoch,
    received: ControllerEpoch,
) -> Result<(), ErrorCode> {
    if received < newest_seen {
        Err(ErrorCode::StaleControllerEpoch)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn kafka_numbers_names_and_retriability() {
        // Spot checks against Kafka's Errors enum, one row per error other engines rely on.
        let cases: &[(ErrorCode, i16, &str, bool)] = &[
            (ErrorCode::None, 0, "NONE", false),
            (ErrorCode::OffsetOutOfRange, 1, "OFFSET_OUT_OF_RANGE", false),
            (
                ErrorCode::OffsetMetadataTooLarge,
                12,
                "OFFSET_METADATA_TOO_LARGE",
                false,
            ),
            (ErrorCode::InvalidGroupId, 24, "INVALID_GROUP_ID", false),
            (
                ErrorCode::NotLeaderOrFollower,
                6,
                "NOT_LEADER_OR_FOLLOWER",
                true,
            ),
            (ErrorCode::RequestTimedOut, 7, "REQUEST_TIMED_OUT", true),
            (
                ErrorCode::StaleControllerEpoch,
                11,
                "STALE_CONTROLLER_EPOCH",
                false,
            ),
            (
                ErrorCode::NotEnoughReplicas,
                19,
                "NOT_ENOUGH_REPLICAS",
                true,
            ),
            (
                ErrorCode::NotEnoughReplicasAfterAppend,
                20,
                "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
                true,
            ),
            (
                ErrorCode::InvalidReplicationFactor,
                38,
                "INVALID_REPLICATION_FACTOR",
                false,
            ),
            (
                ErrorCode::OutOfOrderSequenceNumber,
                45,
                "OUT_OF_ORDER_SEQUENCE_NUMBER",
                false,
            ),
            (
                ErrorCode::FencedLeaderEpoch,
                74,
                "FENCED_LEADER_EPOCH",
                true,
            ),
            (
                ErrorCode::UnknownLeaderEpoch,
                75,
                "UNKNOWN_LEADER_EPOCH",
                true,
            ),
            (ErrorCode::StaleBrokerEpoch, 77, "STALE_BROKER_EPOCH", false),
            (
                ErrorCode::InvalidUpdateVersion,
                95,
                "INVALID_UPDATE_VERSION",
                false,
            ),
        ];
        for &(e, code, name, retriable) in cases {
            assert_eq!(
                (e.code(), e.name(), e.is_retriable()),
                (code, name, retriable),
                "{e:?}"
            );
        }
    }

    #[test]
    fn table_is_complete_and_round_trips() {
        let mut codes: Vec<i16> = ErrorCode::all().map(ErrorCode::code).collect();
        for e in ErrorCode::all() {
            assert_eq!(ErrorCode::from_code(e.code()), Some(e));
            assert!(e.name().chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        }
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n, "duplicate Kafka code in the table");
        // The table lists every variant: the last variant is present and the count matches.
        assert_eq!(n, ErrorCode::InvalidGroupId as usize + 1);
        assert_eq!(ErrorCode::from_code(4), None);
    }

    #[test]
    fn stale_controller_epoch_is_refused_and_newer_accepted() {
        let seen = ControllerEpoch(3);
        assert_eq!(
            check_controller_epoch(seen, ControllerEpoch(2)),
            Err(ErrorCode::StaleControllerEpoch)
        );
        assert_eq!(check_controller_epoch(seen, ControllerEpoch(3)), Ok(()));
        assert_eq!(check_controller_epoch(seen, ControllerEpoch(4)), Ok(()));
        assert_eq!(ControllerEpoch(i32::MAX).next(), ControllerEpoch(i32::MAX));
    }
}
