//! The cluster scenario file: a cluster (brokers and their configs), topics, clients with Kafka
//! configs and a workload, timed fault steps, and the outcome the drill expects. JSON, with
//! Kafka's config names; unknown fields are refused and every value is validated with a
//! message that names it, before anything runs.

use crate::broker::config::ReplicaConfig;
use crate::broker::messages::IsolationLevel;
use crate::client::producer::ProducerConfig;
use crate::sim::disk::{FlushPolicy, DISK_SLOW_FACTOR_MAX};
use crate::sim::network::NetworkConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most brokers a scenario may ask for.
pub const BROKERS_MAX: u32 = 64;
/// The most clients of each kind.
pub const CLIENTS_MAX: u32 = 64;
/// Node ids of clients: producers from 1000, consumers from 2000 (brokers are 1..=brokers).
pub const PRODUCER_NODE_BASE: u32 = 1000;
pub const CONSUMER_NODE_BASE: u32 = 2000;
/// The largest clock skew a scenario may set, either way: one year.
pub const CLOCK_SKEW_MS_MAX: i64 = 365 * 24 * 3_600_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterScenario {
    /// Must be "cluster".
    pub scenario: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: Option<u64>,
    /// Simulated time the run lasts; steps after it never happen.
    pub duration_ms: u64,
    pub brokers: u32,
    #[serde(default)]
    pub broker: BrokerSettings,
    #[serde(default)]
    pub network: NetworkConfig,
    pub topics: Vec<TopicSpec>,
    #[serde(default)]
    pub producers: Vec<ProducerSpec>,
    #[serde(default)]
    pub consumers: Vec<ConsumerSpec>,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub expect: Expectations,
}

/// Broker-wide settings (Kafka's names) and the simulated machine's behaviour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerSettings {
    #[serde(flatten)]
    pub replica: ReplicaConfig,
    #[serde(rename = "unclean.leader.election.enable")]
    pub unclean_leader_election_enable: bool,
    #[serde(rename = "broker.session.timeout.ms")]
    pub broker_session_timeout_ms: u64,
    #[serde(rename = "broker.heartbeat.interval.ms")]
    pub broker_heartbeat_interval_ms: u64,
    #[serde(rename = "replica.fetch.wait.max.ms")]
    pub replica_fetch_wait_max_ms: u64,
    /// How often the OS writes dirty pages back (Linux `dirty_writeback_centisecs`, 5 s): Kafka
    /// does not fsync by default, so this is when appended data becomes durable.
    #[serde(rename = "os.writeback.interval.ms")]
    pub os_writeback_interval_ms: u64,
    /// How often each broker runs retention over its logs (Kafka's log cleanup task).
    #[serde(rename = "log.retention.check.interval.ms")]
    pub log_retention_check_interval_ms: u64,
    /// Preferred leader election (R-10): every `leader.imbalance.check.interval.seconds` the
    /// controller moves leadership back to each partition's first assigned replica when it is
    /// an unfenced ISR member.
    #[serde(rename = "auto.leader.rebalance.enable")]
    pub auto_leader_rebalance_enable: bool,
    #[serde(rename = "leader.imbalance.check.interval.seconds")]
    pub leader_imbalance_check_interval_seconds: u64,
    /// The flush policy every log starts with (`flush.messages`, `flush.ms`; Kafka's broker-wide
    /// defaults are `log.flush.interval.messages` and `log.flush.interval.ms`). Long.MAX, never,
    /// by default: Kafka leaves durability to replication and the OS writeback. A topic may
    /// override either key in its configs.
    #[serde(flatten)]
    pub flush: FlushPolicy,
    /// `log.message.timestamp.after.max.ms`: how far a CreateTime record timestamp may be ahead
    /// of the leader's clock before the produce fails with INVALID_TIMESTAMP (KIP-937). One
    /// hour since Kafka 4.0 (KIP-1030). Topics override it as `message.timestamp.after.max.ms`.
    #[serde(rename = "log.message.timestamp.after.max.ms")]
    pub message_timestamp_after_max_ms: i64,
    /// `log.message.timestamp.before.max.ms`: how far behind; Long.MAX (never checked).
    #[serde(rename = "log.message.timestamp.before.max.ms")]
    pub message_timestamp_before_max_ms: i64,
    /// `offsets.topic.num.partitions` (50): the partitions of `__consumer_offsets`, created
    /// when the first consumer group needs a coordinator (G-1).
    #[serde(rename = "offsets.topic.num.partitions")]
    pub offsets_topic_num_partitions: u32,
    /// `offsets.topic.replication.factor` (3; fewer when the cluster has fewer brokers).
    #[serde(rename = "offsets.topic.replication.factor")]
    pub offsets_topic_replication_factor: u16,
    /// `offsets.commit.timeout.ms` (5000): how long an offset commit waits for replication.
    #[serde(rename = "offsets.commit.timeout.ms")]
    pub offsets_commit_timeout_ms: u64,
    /// `offsets.retention.minutes` (10080, 7 days).
    #[serde(rename = "offsets.retention.minutes")]
    pub offsets_retention_minutes: u64,
    /// `group.initial.rebalance.delay.ms` (3000).
    #[serde(rename = "group.initial.rebalance.delay.ms")]
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms` (6000) and `group.max.session.timeout.ms` (1800000).
    #[serde(rename = "group.min.session.timeout.ms")]
    pub group_min_session_timeout_ms: u64,
    #[serde(rename = "group.max.session.timeout.ms")]
    pub group_max_session_timeout_ms: u64,
    /// `transaction.state.log.num.partitions` (50): the partitions of `__transaction_state`,
    /// created when the first transactional producer needs a coordinator (T-1).
    #[serde(rename = "transaction.state.log.num.partitions")]
    pub transaction_state_log_num_partitions: u32,
    /// `transaction.state.log.replication.factor` (3; fewer when the cluster has fewer brokers).
    #[serde(rename = "transaction.state.log.replication.factor")]
    pub transaction_state_log_replication_factor: u16,
    /// `transaction.state.log.min.isr` (2; at most the replication factor): the topic's
    /// `min.insync.replicas`.
    #[serde(rename = "transaction.state.log.min.isr")]
    pub transaction_state_log_min_isr: u16,
    /// `transaction.max.timeout.ms` (900000): a larger `transaction.timeout.ms` is refused
    /// with INVALID_TRANSACTION_TIMEOUT.
    #[serde(rename = "transaction.max.timeout.ms")]
    pub transaction_max_timeout_ms: u64,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms` (10000): how often the
    /// coordinator looks for transactions past their timeout (T-7).
    #[serde(rename = "transaction.abort.timed.out.transaction.cleanup.interval.ms")]
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: u64,
    /// The broker's `request.timeout.ms` (30000): how long its own requests and appends wait,
    /// here the transaction coordinator's WriteTxnMarkers and `__transaction_state` appends.
    #[serde(rename = "request.timeout.ms")]
    pub request_timeout_ms: u64,
    /// `transaction.partition.verification.enable` (true since 3.6, KIP-890 part 1): a
    /// partition leader asks the transaction coordinator before it appends a producer's first
    /// transactional batch, so a late produce of an ended transaction is refused
    /// (INVALID_TXN_STATE) instead of opening a hanging transaction (T-3, T-8).
    #[serde(rename = "transaction.partition.verification.enable")]
    pub transaction_partition_verification_enable: bool,
    /// The `transaction.version` feature (0; `kafka-features.sh`, finalized at 2 on new 4.0
    /// clusters): 0 and 1 behave alike here, 2 is KIP-890 part 2 (T-10): every EndTxn bumps
    /// the producer epoch and the markers carry the new one, so a late request of the previous
    /// transaction is refused by epoch.
    #[serde(rename = "transaction.version", skip_serializing_if = "is_zero_u8")]
    pub transaction_version: u8,
}

fn is_zero_u8(v: &u8) -> bool {
    *v == 0
}

impl Default for BrokerSettings {
    fn default() -> Self {
        BrokerSettings {
            replica: ReplicaConfig::default(),
            unclean_leader_election_enable: false,
            broker_session_timeout_ms: 9_000,
            broker_heartbeat_interval_ms: 2_000,
            replica_fetch_wait_max_ms: 500,
            os_writeback_interval_ms: 5_000,
            log_retention_check_interval_ms: 300_000,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_seconds: 300,
            flush: FlushPolicy::default(),
            message_timestamp_after_max_ms: 3_600_000,
            message_timestamp_before_max_ms: i64::MAX,
            offsets_topic_num_partitions: 50,
            offsets_topic_replication_factor: 3,
            offsets_commit_timeout_ms: 5_000,
            offsets_retention_minutes: 10_080,
            group_initial_rebalance_delay_ms: 3_000,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            transaction_state_log_num_partitions: 50,
            transaction_state_log_replication_factor: 3,
            transaction_state_log_min_isr: 2,
            transaction_max_timeout_ms: 900_000,
            transaction_abort_timed_out_transaction_cleanup_interval_ms: 10_000,
            request_timeout_ms: 30_000,
            transaction_partition_verification_enable: true,
            transaction_version: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u16,
    /// Topic configs by Kafka name (`min.insync.replicas`, `unclean.leader.election.enable`).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// A manual replica assignment (`kafka-topics.sh --create --replica-assignment 3:1:2`):
    /// partition p's brokers, the first its preferred leader, and the order in which the
    /// controller elects among its in-sync replicas. A drill whose faults name brokers pins
    /// the layout this way instead of depending on the seeded placement. Empty: placement
    /// by Kafka's rack-unaware rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_assignment: Vec<Vec<u32>>,
}

/// A producer client and what it sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerSpec {
    pub topic: String,
    #[serde(default)]
    pub config: ProducerConfig,
    /// One record every `interval_ms_min..=interval_ms_max` (uniform, seeded). Both 0 is a
    /// firehose: the workload sends back to back until `buffer.memory` is full, then waits for
    /// a response to free it, as `KafkaProducer.send` blocks (the producer-perf-test pattern).
    #[serde(default = "default_interval_min")]
    pub interval_ms_min: u64,
    #[serde(default = "default_interval_max")]
    pub interval_ms_max: u64,
    /// Keys `k0..k{keys-1}`; 0 sends null keys (sticky partitioning).
    #[serde(default = "default_keys")]
    pub keys: u32,
    /// Stop sending after this many records, or at `stop_ms`.
    #[serde(default)]
    pub records_max: Option<u64>,
    #[serde(default)]
    pub stop_ms: Option<u64>,
    /// Record value size in bytes: the value's decimal id left-padded with `0` to this length
    /// (so consumers still read the id). Unset: the bare decimal id, as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_bytes: Option<u32>,
    /// The workload starts at this instant (a second instance of an application, a zombie's
    /// successor); unset: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    /// With `transactional.id` in `config`: how the workload groups its records into
    /// transactions.
    #[serde(default, skip_serializing_if = "TransactionSpec::is_default")]
    pub transactions: TransactionSpec,
}

/// A transactional producer's workload: `records_per_transaction` records, then
/// `commitTransaction()`, or `abortTransaction()` for `abort_percent` of them (seeded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransactionSpec {
    pub records_per_transaction: u32,
    pub abort_percent: u32,
    /// The application's answer to a fatal error (ProducerFencedException): close the
    /// producer and, this many milliseconds later, create a new one with the same
    /// `transactional.id` (initTransactions again, a new epoch). `None`: it stays closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recreate_after_fatal_ms: Option<u64>,
    /// A consume-transform-produce pipeline (T-9): the producer sends nothing of its own; it
    /// transforms what consumer `input_consumer` (a group member with
    /// `enable.auto.commit=false`) polls, one output record per input, and ends each
    /// transaction with `sendOffsetsToTransaction` of the consumer's positions, after
    /// `records_per_transaction` inputs or `commit_interval_ms` after its first. T-9's
    /// guarantee needs the consumer at read_committed; at read_uncommitted it may transform
    /// records of open or aborted transactions (the early reads of drills G1c and
    /// precommitted-read). Its output topic may be its input topic, or another pipeline's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_consumer: Option<u32>,
    /// After an aborted transaction (or a fenced producer's replacement), the application
    /// seeks the consumer back to the group's committed offsets. Off: it reads on from its
    /// position, and the aborted inputs are never reprocessed (drill D16).
    pub seek_back_on_abort: bool,
    /// The pipeline's longest transaction, from its first record (Kafka Streams'
    /// `commit.interval.ms`, 100 under exactly-once).
    pub commit_interval_ms: u64,
}

impl Default for TransactionSpec {
    fn default() -> Self {
        TransactionSpec {
            records_per_transaction: 5,
            abort_percent: 0,
            recreate_after_fatal_ms: None,
            input_consumer: None,
            seek_back_on_abort: true,
            commit_interval_ms: 100,
        }
    }
}

impl TransactionSpec {
    fn is_default(&self) -> bool {
        *self == TransactionSpec::default()
    }
}

/// The longest decimal value id (`u64::MAX`), the least a padded value can hold.
pub const VALUE_BYTES_MIN: u32 = 20;
/// The largest padded value a scenario may ask for.
pub const VALUE_BYTES_MAX: u32 = 1_048_576;

impl ProducerSpec {
    /// Whether the workload sends back to back (`interval_ms_min = interval_ms_max = 0`).
    pub fn is_firehose(&self) -> bool {
        self.interval_ms_max == 0
    }
}

fn default_interval_min() -> u64 {
    10
}
fn default_interval_max() -> u64 {
    50
}
fn default_keys() -> u32 {
    8
}

/// A consumer of one topic (`read_uncommitted` unless `isolation.level` says otherwise). Without `group.id` it is in assign mode over
/// every partition, with no offset commits: the application seeks each partition to offset 0,
/// except with `auto.offset.reset=latest`, where it starts at the end. With `group.id` it
/// subscribes: the group's coordinator and its leader's assignor decide which partitions it
/// reads, it starts each at the group's committed offset (or per `auto.offset.reset`), and it
/// commits offsets automatically or after each poll (section 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSpec {
    pub topic: String,
    #[serde(default = "default_poll_interval")]
    pub poll_interval_ms: u64,
    /// What to do when the position is out of range or was truncated away (R-12). Kafka's
    /// default is `latest`; the simulated consumers default to `earliest`, as Jepsen's do.
    #[serde(rename = "auto.offset.reset", default)]
    pub auto_offset_reset: AutoOffsetReset,
    /// `group.id`: subscribe as a member of this consumer group.
    #[serde(rename = "group.id", default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// `isolation.level` (read_uncommitted): read_committed fetches stop at the last stable
    /// offset and drop aborted transactions' records (T-5, T-6).
    #[serde(
        rename = "isolation.level",
        default,
        skip_serializing_if = "is_read_uncommitted"
    )]
    pub isolation_level: IsolationLevel,
    /// `group.instance.id`: a static member (KIP-345).
    #[serde(
        rename = "group.instance.id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub group_instance_id: Option<String>,
    /// `partition.assignment.strategy`, in order of preference (Kafka's default: range, then
    /// cooperative-sticky; the group uses the first every member supports).
    #[serde(
        rename = "partition.assignment.strategy",
        default = "default_assignment_strategy",
        skip_serializing_if = "is_default_assignment_strategy"
    )]
    pub partition_assignment_strategy: Vec<String>,
    #[serde(
        rename = "session.timeout.ms",
        default = "default_session_timeout",
        skip_serializing_if = "is_default_session_timeout"
    )]
    pub session_timeout_ms: u64,
    #[serde(
        rename = "heartbeat.interval.ms",
        default = "default_heartbeat_interval",
        skip_serializing_if = "is_default_heartbeat_interval"
    )]
    pub heartbeat_interval_ms: u64,
    #[serde(
        rename = "max.poll.interval.ms",
        default = "default_max_poll_interval",
        skip_serializing_if = "is_default_max_poll_interval"
    )]
    pub max_poll_interval_ms: u64,
    /// `enable.auto.commit` (true): commit the positions every `auto.commit.interval.ms`,
    /// from within poll (G-7), before a rebalance and on close. Only with `group.id`.
    #[serde(
        rename = "enable.auto.commit",
        default = "default_true",
        skip_serializing_if = "is_true"
    )]
    pub enable_auto_commit: bool,
    #[serde(
        rename = "auto.commit.interval.ms",
        default = "default_auto_commit_interval",
        skip_serializing_if = "is_default_auto_commit_interval"
    )]
    pub auto_commit_interval_ms: u64,
    /// What the application does after each poll that returned records: nothing (rely on
    /// auto-commit), `commitSync()` or `commitAsync()` of the positions.
    #[serde(default, skip_serializing_if = "is_default_commit")]
    pub commit_after_poll: CommitAfterPoll,
}

/// The application's offset commits after a poll.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommitAfterPoll {
    #[default]
    None,
    /// `commitSync()`: the poll loop waits for the answer and retries retriable errors.
    Sync,
    /// `commitAsync()`: no wait, no retry.
    Async,
}

fn is_read_uncommitted(level: &IsolationLevel) -> bool {
    *level == IsolationLevel::ReadUncommitted
}

fn is_default_commit(c: &CommitAfterPoll) -> bool {
    *c == CommitAfterPoll::None
}
fn default_assignment_strategy() -> Vec<String> {
    vec!["range".into(), "cooperative-sticky".into()]
}
fn is_default_assignment_strategy(v: &[String]) -> bool {
    v == default_assignment_strategy().as_slice()
}
fn default_session_timeout() -> u64 {
    45_000
}
fn is_default_session_timeout(v: &u64) -> bool {
    *v == default_session_timeout()
}
fn default_heartbeat_interval() -> u64 {
    3_000
}
fn is_default_heartbeat_interval(v: &u64) -> bool {
    *v == default_heartbeat_interval()
}
fn default_max_poll_interval() -> u64 {
    300_000
}
fn is_default_max_poll_interval(v: &u64) -> bool {
    *v == default_max_poll_interval()
}
fn default_true() -> bool {
    true
}
fn is_true(v: &bool) -> bool {
    *v
}
fn default_auto_commit_interval() -> u64 {
    5_000
}
fn is_default_auto_commit_interval(v: &u64) -> bool {
    *v == default_auto_commit_interval()
}

impl ConsumerSpec {
    /// A consumer in assign mode, with every group setting at its default.
    pub fn assign(topic: &str) -> ConsumerSpec {
        ConsumerSpec {
            topic: topic.to_string(),
            poll_interval_ms: default_poll_interval(),
            auto_offset_reset: AutoOffsetReset::default(),
            group_id: None,
            isolation_level: IsolationLevel::ReadUncommitted,
            group_instance_id: None,
            partition_assignment_strategy: default_assignment_strategy(),
            session_timeout_ms: default_session_timeout(),
            heartbeat_interval_ms: default_heartbeat_interval(),
            max_poll_interval_ms: default_max_poll_interval(),
            enable_auto_commit: true,
            auto_commit_interval_ms: default_auto_commit_interval(),
            commit_after_poll: CommitAfterPoll::None,
        }
    }

    /// Checks the consumer's settings, naming what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.poll_interval_ms == 0 {
            return Err("poll_interval_ms must be >= 1".into());
        }
        let Some(group) = &self.group_id else {
            if self.group_instance_id.is_some() || self.commit_after_poll != CommitAfterPoll::None {
                return Err("group.instance.id and commit_after_poll need a group.id".into());
            }
            return Ok(());
        };
        if group.is_empty() || group.len() > 249 {
            return Err(format!("group.id {group:?}: expected 1 to 249 characters"));
        }
        if self
            .group_instance_id
            .as_ref()
            .is_some_and(|i| i.is_empty() || i.len() > 249)
        {
            return Err("group.instance.id: expected 1 to 249 characters".into());
        }
        if self.partition_assignment_strategy.is_empty() {
            return Err("partition.assignment.strategy needs at least one assignor".into());
        }
        for name in &self.partition_assignment_strategy {
            if crate::client::assignor::Assignor::from_name(name).is_none() {
                return Err(format!(
                    "partition.assignment.strategy {name:?}: expected range, roundrobin, sticky or cooperative-sticky"
                ));
            }
        }
        if self.heartbeat_interval_ms == 0 || self.heartbeat_interval_ms >= self.session_timeout_ms
        {
            return Err("heartbeat.interval.ms must be >= 1 and below session.timeout.ms".into());
        }
        if self.max_poll_interval_ms == 0 || self.auto_commit_interval_ms == 0 {
            return Err("max.poll.interval.ms and auto.commit.interval.ms must be >= 1".into());
        }
        const DAY_MS: u64 = 24 * 3_600_000;
        if self.session_timeout_ms > DAY_MS
            || self.max_poll_interval_ms > DAY_MS
            || self.auto_commit_interval_ms > DAY_MS
        {
            return Err(
                "session.timeout.ms, max.poll.interval.ms and auto.commit.interval.ms must be at most a day"
                    .into(),
            );
        }
        Ok(())
    }

    /// Whether it belongs to a consumer group.
    pub fn is_group_member(&self) -> bool {
        self.group_id.is_some()
    }
}

fn default_poll_interval() -> u64 {
    100
}

/// Kafka's `auto.offset.reset`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoOffsetReset {
    #[default]
    Earliest,
    Latest,
    /// No reset: the application gets `OffsetOutOfRangeException` or
    /// `LogTruncationException` and stops reading the partition.
    None,
}

impl AutoOffsetReset {
    /// The config value, as Kafka spells it.
    pub fn name(self) -> &'static str {
        match self {
            AutoOffsetReset::Earliest => "earliest",
            AutoOffsetReset::Latest => "latest",
            AutoOffsetReset::None => "none",
        }
    }
}

/// One timed action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at_ms: u64,
    pub action: Action,
}

/// Faults and operations, by node: brokers are numbered 1..=brokers, the controller is node 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Kill a broker's process; `power_loss` also loses its unsynced page cache, and
    /// `torn_write` (a power loss in the middle of writing back) also keeps a torn prefix of the
    /// newest unsynced append, which recovery must cut by its CRC.
    CrashBroker {
        broker: u32,
        #[serde(default)]
        power_loss: bool,
        #[serde(default)]
        torn_write: bool,
    },
    /// Crash whichever broker leads this partition now.
    CrashLeader {
        topic: String,
        partition: u32,
        #[serde(default)]
        power_loss: bool,
        #[serde(default)]
        torn_write: bool,
    },
    RestartBroker {
        broker: u32,
    },
    /// Restart every broker that is down now (Jepsen's kill nemesis `:start`): the way to
    /// bring back a broker a `crash_leader` chose, whichever it was at this seed.
    RestartCrashedBrokers,
    /// Stop a broker's process without killing it (SIGSTOP, Jepsen's pause nemesis): it
    /// processes nothing, its timers do not fire and it sends no heartbeats, while messages to
    /// it wait in its connections' buffers. The controller fences it after
    /// `broker.session.timeout.ms`.
    PauseBroker {
        broker: u32,
    },
    /// Continue a paused broker (SIGCONT): its overdue timers fire, then it reads what waited.
    ResumeBroker {
        broker: u32,
    },
    /// Every later request to the broker's disk takes `factor` times as long (1 heals it);
    /// while it is slow the broker's answers wait for its disk writes.
    SlowDisk {
        broker: u32,
        factor: u32,
    },
    /// Set a node's wall clock to the true time plus `offset_ms` (signed): a broker (its
    /// `retention.ms` checks, LogAppendTime and produce timestamp checks) or a producer (its
    /// CreateTime record timestamps, which also drive `segment.ms` rolls). Skew, not drift:
    /// timers keep measuring durations.
    SkewClock {
        node: u32,
        offset_ms: i64,
    },
    /// Cut whichever broker leads this partition now off from the other brokers (both ways);
    /// the controller and clients still reach it: a leader that keeps acknowledging writes its
    /// followers never fetch.
    PartitionLeaderFromFollowers {
        topic: String,
        partition: u32,
    },
    /// Cut whichever broker leads this partition now off from the controller and the other
    /// brokers (both ways), while clients still reach it: the zombie leader of D2, which keeps
    /// taking writes after the controller has fenced it and elected another leader.
    PartitionLeaderFromCluster {
        topic: String,
        partition: u32,
    },
    /// Cut the network between groups of nodes, both ways.
    Partition {
        sides: Vec<Vec<u32>>,
    },
    /// Messages from `from` to `to` are lost; the other way still works.
    PartitionOneWay {
        from: u32,
        to: u32,
    },
    /// Lose every message in flight right now from `from` to `to` (the link stays up; later
    /// messages arrive): the per-message drop of RaftScope, for requests and answers already
    /// on the wire.
    DropInFlight {
        from: u32,
        to: u32,
    },
    /// Hold the next Produce request from client node `from` (to broker `to`, or to any
    /// broker when unset: whichever leads what it writes) in the network for `delay_ms` (a
    /// router sitting on one packet): it arrives late, after what was sent later, once the
    /// producer has given up on it. Drill D14's late produce (T-8).
    DelayNextProduce {
        from: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<u32>,
        delay_ms: u64,
    },
    /// Hold the next EndTxn request from client node `from` in the network for `delay_ms`:
    /// the producer times out (`request.timeout.ms`), retries, and goes on to its next
    /// transaction before the held request arrives. Below transaction version 2 it has the
    /// same producer id and epoch as the next transaction's and ends that one (J-7 #3,
    /// drill D15); with version 2 its old epoch is fenced.
    DelayNextEndTxn {
        from: u32,
        delay_ms: u64,
        /// Hold only an EndTxn whose `Committed` field is this (true: the next commit, false:
        /// the next abort); unset holds the next EndTxn whatever it ends with.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        committed: Option<bool>,
        /// After `delay_ms`, the held copy waits on (in 1 ms steps, at most 60 s more) until
        /// the producer is in the middle of a later transaction: its coordinator has the id
        /// Ongoing and a partition holds records of that transaction. Drill D15 needs the
        /// copy to land there, not between two transactions, at every seed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        mid_transaction: bool,
    },
    /// Lose one message on the wire from `from` to `to`: the one numbered `sequence` on that
    /// connection (the cluster view lists what is in flight with these numbers). A message
    /// that already arrived is not lost (the step says so in the trace).
    DropMessage {
        from: u32,
        to: u32,
        sequence: u64,
    },
    /// Cut a node off from every other node.
    Isolate {
        node: u32,
    },
    Heal,
    /// Change the network's drop/duplicate/delay settings.
    SetNetwork {
        config: NetworkConfig,
    },
    /// Every consumer stops fetching (Kafka's `consumer.pause()` on all its partitions): a
    /// consumer that falls behind, as a slow or stuck application would.
    PauseConsumers,
    /// Every consumer fetches again from where it stopped (`consumer.resume()`).
    ResumeConsumers,
    /// Stop every producer from sending new records (in-flight ones finish).
    StopProducers,
    /// The whole producer process stops for `duration_ms` (a long GC pause, SIGSTOP): it
    /// sends nothing and reads nothing; what arrives waits in its socket buffers. A
    /// transactional producer frozen past `transaction.timeout.ms` finds its transaction
    /// aborted (D13); one whose `transactional.id` another instance took meanwhile is a
    /// zombie, fenced when it wakes (D12).
    FreezeProducer {
        producer: u32,
        duration_ms: u64,
    },
    /// Start a new consumer (its index is the next one; its node id 2000 + index).
    AddConsumer {
        consumer: ConsumerSpec,
    },
    /// Close a consumer cleanly (`consumer.close()`): an auto-committing member commits its
    /// positions, a dynamic member sends LeaveGroup, and the process ends.
    StopConsumer {
        consumer: u32,
    },
    /// Kill a consumer's process: no commit, no LeaveGroup; the coordinator notices after
    /// `session.timeout.ms`.
    CrashConsumer {
        consumer: u32,
    },
    /// Start a stopped or crashed consumer again, as a new process with the same config (a
    /// static member rejoins with its `group.instance.id`), or with a new
    /// `partition.assignment.strategy` (a step of a rolling switch of assignor or protocol).
    RestartConsumer {
        consumer: u32,
        #[serde(
            rename = "partition.assignment.strategy",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        strategy: Option<Vec<String>>,
    },
    /// The application's poll loop stalls for `duration_ms` (slow record processing): the
    /// heartbeat thread keeps running, so the member stays in the group until
    /// `max.poll.interval.ms` passes without a poll, when it leaves (G-3).
    StallConsumer {
        consumer: u32,
        duration_ms: u64,
    },
    /// The whole consumer process stops for `duration_ms` (a long GC pause, SIGSTOP): no
    /// heartbeats either, so past `session.timeout.ms` the coordinator removes it.
    FreezeConsumer {
        consumer: u32,
        duration_ms: u64,
    },
    /// The application calls `commitSync()` on its current positions.
    CommitOffsets {
        consumer: u32,
    },
    /// The application calls `seek(partition, offset)`: the position moves; committed
    /// offsets do not.
    SeekConsumer {
        consumer: u32,
        partition: u32,
        offset: i64,
    },
}

/// What the drill must show. Missing fields are not checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expectations {
    /// Anomalies the configuration does not excuse.
    pub bugs: Option<u32>,
    /// Anomalies the configuration does not excuse: at least this many (a drill that shows
    /// a protocol flaw Kafka itself has, such as D15 below transaction version 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bugs_at_least: Option<u32>,
    /// Per Jepsen anomaly name (`lost-write`, `duplicate`, ...): at least this many.
    pub anomalies_at_least: BTreeMap<String, u32>,
    /// Per anomaly name: at most this many.
    pub anomalies_at_most: BTreeMap<String, u32>,
    /// At least this many acknowledged records.
    pub acked_at_least: Option<u64>,
    /// Per error that reached a producer, by Kafka's name (`OUT_OF_ORDER_SEQUENCE_NUMBER`,
    /// `NOT_ENOUGH_REPLICAS`, or an exception a send failed with, `TimeoutException`): at
    /// least this many times.
    pub producer_errors_at_least: BTreeMap<String, u32>,
    /// At least this many times a consumer's position validation found the log truncated
    /// under it (R-12): it rewound, reset, or raised `LogTruncationException`.
    pub log_truncations_at_least: Option<u32>,
    /// Consumer groups: at least this many offset commits failed with CommitFailedException
    /// or RebalanceInProgressException.
    pub commit_failures_at_least: Option<u32>,
    /// Records a group read more than once (duplicates its commit policy explains).
    pub reprocessed_at_least: Option<u64>,
    pub reprocessed_at_most: Option<u64>,
    /// Some group reached this generation (rebalances happened).
    pub generation_at_least: Option<i32>,
    /// Per group error a consumer got, by Kafka's name (`NOT_COORDINATOR`,
    /// `COORDINATOR_LOAD_IN_PROGRESS`, `UNKNOWN_MEMBER_ID`...): at least this many times.
    pub consumer_errors_at_least: BTreeMap<String, u32>,
    /// Per reason a coordinator removed members (`session.timeout.ms`, `LeaveGroup`...): at
    /// least this many.
    pub members_removed_at_least: BTreeMap<String, u32>,
    /// Consume-transform-produce pipelines: the exactly-once check must be conclusive (the
    /// run ends with every transaction settled), and at least this many inputs were skipped
    /// (D16) / at most this many.
    pub pipeline_settled: Option<bool>,
    pub pipeline_lost_at_least: Option<u32>,
    pub pipeline_lost_at_most: Option<u32>,
    /// At least this many inputs have their committed output.
    pub pipeline_outputs_at_least: Option<u64>,
    /// Transactions left hanging at the end (T-8, `kafka-transactions find-hanging`): at
    /// least / at most this many.
    pub hanging_transactions_at_least: Option<u32>,
    pub hanging_transactions_at_most: Option<u32>,
    /// Late transactional batches partition verification refused (T-3): at least this many.
    pub verification_refusals_at_least: Option<u32>,
}

impl ClusterScenario {
    /// Checks every value, naming what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.scenario != "cluster" {
            return Err(format!(
                "scenario is {:?}; expected \"cluster\"",
                self.scenario
            ));
        }
        if self.brokers == 0 || self.brokers > BROKERS_MAX {
            return Err(format!(
                "brokers = {}: expected 1..={BROKERS_MAX}",
                self.brokers
            ));
        }
        if self.duration_ms == 0 || self.duration_ms > 24 * 3_600_000 {
            return Err(format!(
                "duration_ms = {}: expected 1..=86400000",
                self.duration_ms
            ));
        }
        self.broker.replica.validate()?;
        if self.broker.broker_heartbeat_interval_ms == 0
            || self.broker.broker_heartbeat_interval_ms >= self.broker.broker_session_timeout_ms
        {
            return Err(
                "broker.heartbeat.interval.ms must be >= 1 and below broker.session.timeout.ms"
                    .into(),
            );
        }
        if self.broker.replica_fetch_wait_max_ms == 0
            || self.broker.os_writeback_interval_ms == 0
            || self.broker.log_retention_check_interval_ms == 0
            || self.broker.leader_imbalance_check_interval_seconds == 0
            || self.broker.leader_imbalance_check_interval_seconds > 365 * 24 * 3_600
        {
            return Err(
                "replica.fetch.wait.max.ms, os.writeback.interval.ms, log.retention.check.interval.ms and leader.imbalance.check.interval.seconds must be >= 1 (the last at most a year)"
                    .into(),
            );
        }
        self.broker
            .flush
            .validate()
            .map_err(|e| format!("broker: {e}"))?;
        if self.broker.message_timestamp_after_max_ms < 0
            || self.broker.message_timestamp_before_max_ms < 0
        {
            return Err(
                "log.message.timestamp.after.max.ms and log.message.timestamp.before.max.ms must be >= 0"
                    .into(),
            );
        }
        self.network.validate().map_err(|e| e.to_string())?;
        if self.topics.is_empty() {
            return Err("a cluster scenario needs at least one topic".into());
        }
        for t in &self.topics {
            crate::ids::validate_topic_name(&t.name)?;
            if t.partitions == 0 || t.partitions > crate::limits::TOPIC_PARTITIONS_MAX {
                return Err(format!(
                    "topic {}: partitions = {} out of range",
                    t.name, t.partitions
                ));
            }
            if t.replication_factor == 0 || u32::from(t.replication_factor) > self.brokers {
                return Err(format!(
                    "topic {}: replication_factor = {} with {} broker(s): INVALID_REPLICATION_FACTOR",
                    t.name, t.replication_factor, self.brokers
                ));
            }
            if !t.replica_assignment.is_empty() {
                // The controller checks the same again against the registered brokers, with
                // Kafka's messages; the file states its counts too, so they must agree.
                if t.replica_assignment.len() != t.partitions as usize {
                    return Err(format!(
                        "topic {}: replica_assignment lists {} partition(s), partitions = {}",
                        t.name,
                        t.replica_assignment.len(),
                        t.partitions
                    ));
                }
                for (p, replicas) in t.replica_assignment.iter().enumerate() {
                    if replicas.len() != usize::from(t.replication_factor) {
                        return Err(format!(
                            "topic {}: replica_assignment of partition {p} has {} broker(s), replication_factor = {}",
                            t.name,
                            replicas.len(),
                            t.replication_factor
                        ));
                    }
                    for (i, b) in replicas.iter().enumerate() {
                        if *b == 0 || *b > self.brokers {
                            return Err(format!(
                                "topic {}: replica_assignment of partition {p} names broker {b}; brokers are 1..={}",
                                t.name, self.brokers
                            ));
                        }
                        if replicas[..i].contains(b) {
                            return Err(format!(
                                "topic {}: replica_assignment of partition {p} names broker {b} twice",
                                t.name
                            ));
                        }
                    }
                }
            }
        }
        let topic_known = |name: &str| self.topics.iter().any(|t| t.name == name);
        if self.producers.len() as u32 > CLIENTS_MAX || self.consumers.len() as u32 > CLIENTS_MAX {
            return Err(format!(
                "at most {CLIENTS_MAX} producers and {CLIENTS_MAX} consumers"
            ));
        }
        for (i, p) in self.producers.iter().enumerate() {
            if !topic_known(&p.topic) {
                return Err(format!("producer {i}: unknown topic {:?}", p.topic));
            }
            p.config
                .validate()
                .map_err(|e| format!("producer {i}: {e}"))?;
            let firehose = p.interval_ms_min == 0 && p.interval_ms_max == 0;
            let paced = p.interval_ms_min >= 1 && p.interval_ms_min <= p.interval_ms_max;
            if !(firehose || paced) {
                return Err(format!(
                    "producer {i}: need 1 <= interval_ms_min <= interval_ms_max, or both 0 (firehose)"
                ));
            }
            let t = &p.transactions;
            if t.records_per_transaction == 0
                || t.records_per_transaction > 100_000
                || t.abort_percent > 100
            {
                return Err(format!(
                    "producer {i}: transactions need 1 <= records_per_transaction <= 100000 and abort_percent <= 100"
                ));
            }
            if p.config.transactional_id.is_none() && !t.is_default() {
                return Err(format!(
                    "producer {i}: transactions are set but config has no transactional.id"
                ));
            }
            if t.commit_interval_ms == 0 || t.commit_interval_ms > 3_600_000 {
                return Err(format!(
                    "producer {i}: transactions.commit_interval_ms = {}: expected 1..=3600000",
                    t.commit_interval_ms
                ));
            }
            if let Some(c) = t.input_consumer {
                let Some(consumer) = self.consumers.get(c as usize) else {
                    return Err(format!(
                        "producer {i}: transactions.input_consumer = {c}: there are {} consumer(s)",
                        self.consumers.len()
                    ));
                };
                if consumer.group_id.is_none()
                    || consumer.enable_auto_commit
                    || consumer.commit_after_poll != CommitAfterPoll::None
                {
                    return Err(format!(
                        "producer {i}: the pipeline's input consumer {c} must have a group.id, enable.auto.commit=false and no commit_after_poll: its offsets go through the transaction"
                    ));
                }
                let linked = self
                    .producers
                    .iter()
                    .filter(|q| q.transactions.input_consumer == Some(c))
                    .count();
                if linked > 1 {
                    return Err(format!(
                        "producer {i}: consumer {c} feeds {linked} pipelines; one consumer feeds one producer"
                    ));
                }
            }
            if let Some(n) = p.value_bytes {
                if !(VALUE_BYTES_MIN..=VALUE_BYTES_MAX).contains(&n) {
                    return Err(format!(
                        "producer {i}: value_bytes = {n}: expected {VALUE_BYTES_MIN}..={VALUE_BYTES_MAX}"
                    ));
                }
            }
        }
        for (i, c) in self.consumers.iter().enumerate() {
            if !topic_known(&c.topic) {
                return Err(format!("consumer {i}: unknown topic {:?}", c.topic));
            }
            c.validate().map_err(|e| format!("consumer {i}: {e}"))?;
        }
        if self.broker.offsets_topic_num_partitions == 0
            || self.broker.offsets_topic_num_partitions > crate::limits::TOPIC_PARTITIONS_MAX
            || self.broker.offsets_topic_replication_factor == 0
        {
            return Err(format!(
                "offsets.topic.num.partitions must be 1..={} and offsets.topic.replication.factor >= 1",
                crate::limits::TOPIC_PARTITIONS_MAX
            ));
        }
        if self.broker.transaction_state_log_num_partitions == 0
            || self.broker.transaction_state_log_num_partitions
                > crate::limits::TOPIC_PARTITIONS_MAX
            || self.broker.transaction_state_log_replication_factor == 0
            || self.broker.transaction_state_log_min_isr == 0
        {
            return Err(format!(
                "transaction.state.log.num.partitions must be 1..={}, and transaction.state.log.replication.factor and transaction.state.log.min.isr >= 1",
                crate::limits::TOPIC_PARTITIONS_MAX
            ));
        }
        if self.broker.transaction_version > 2 {
            return Err(format!(
                "transaction.version = {}: expected 0, 1 or 2",
                self.broker.transaction_version
            ));
        }
        if self.broker.transaction_max_timeout_ms == 0
            || self
                .broker
                .transaction_abort_timed_out_transaction_cleanup_interval_ms
                == 0
        {
            return Err(
                "transaction.max.timeout.ms and transaction.abort.timed.out.transaction.cleanup.interval.ms must be >= 1"
                    .into(),
            );
        }
        if !(1..=3_600_000).contains(&self.broker.request_timeout_ms) {
            return Err(format!(
                "request.timeout.ms {}: expected 1..=3600000",
                self.broker.request_timeout_ms
            ));
        }
        if self.broker.offsets_commit_timeout_ms == 0
            || self.broker.group_min_session_timeout_ms > self.broker.group_max_session_timeout_ms
        {
            return Err(
                "offsets.commit.timeout.ms must be >= 1 and group.min.session.timeout.ms at most group.max.session.timeout.ms"
                    .into(),
            );
        }
        let added = self
            .steps
            .iter()
            .filter(|s| matches!(s.action, Action::AddConsumer { .. }))
            .count() as u32;
        if self.consumers.len() as u32 + added > CLIENTS_MAX {
            return Err(format!(
                "at most {CLIENTS_MAX} consumers, added ones included"
            ));
        }
        let broker_ok = |b: u32| (1..=self.brokers).contains(&b);
        // The controller (0), brokers (1..=brokers) and the clients: network faults reach
        // every node, since every message travels through the one network.
        let producers = self.producers.len() as u32;
        let consumers = self.consumers.len() as u32 + added;
        let node_ok = |n: u32| {
            n <= self.brokers
                || (PRODUCER_NODE_BASE..PRODUCER_NODE_BASE + producers).contains(&n)
                || (CONSUMER_NODE_BASE..CONSUMER_NODE_BASE + consumers).contains(&n)
        };
        for (i, step) in self.steps.iter().enumerate() {
            let bad = |m: String| Err(format!("step {i} (at {} ms): {m}", step.at_ms));
            match &step.action {
                Action::CrashBroker {
                    broker,
                    power_loss,
                    torn_write,
                } => {
                    if !broker_ok(*broker) {
                        return bad(format!(
                            "no broker {broker}; brokers are 1..={}",
                            self.brokers
                        ));
                    }
                    if *torn_write && !*power_loss {
                        return bad(torn_write_needs_power_loss());
                    }
                }
                Action::RestartBroker { broker }
                | Action::PauseBroker { broker }
                | Action::ResumeBroker { broker } => {
                    if !broker_ok(*broker) {
                        return bad(format!(
                            "no broker {broker}; brokers are 1..={}",
                            self.brokers
                        ));
                    }
                }
                Action::SlowDisk { broker, factor } => {
                    if !broker_ok(*broker) {
                        return bad(format!(
                            "no broker {broker}; brokers are 1..={}",
                            self.brokers
                        ));
                    }
                    if *factor == 0 || *factor > DISK_SLOW_FACTOR_MAX {
                        return bad(format!(
                            "slow_disk factor {factor}: expected 1 (healthy) to {DISK_SLOW_FACTOR_MAX}"
                        ));
                    }
                }
                Action::SkewClock { node, offset_ms } => {
                    let producer = (PRODUCER_NODE_BASE
                        ..PRODUCER_NODE_BASE + self.producers.len() as u32)
                        .contains(node);
                    if !broker_ok(*node) && !producer {
                        return bad(format!(
                            "skew_clock node {node}: expected a broker (1..={}) or a producer \
                             ({PRODUCER_NODE_BASE}..{}); no other node reads a wall clock here",
                            self.brokers,
                            PRODUCER_NODE_BASE + self.producers.len() as u32
                        ));
                    }
                    if offset_ms.unsigned_abs() > CLOCK_SKEW_MS_MAX.unsigned_abs() {
                        return bad(format!(
                            "skew_clock offset_ms {offset_ms}: at most {CLOCK_SKEW_MS_MAX} either way"
                        ));
                    }
                    // Simulated wall clocks start at the Unix epoch with the run.
                    if *offset_ms < 0 && offset_ms.unsigned_abs() > step.at_ms {
                        return bad(format!(
                            "skew_clock offset_ms {offset_ms} at {} ms would set the clock before \
                             the Unix epoch, where simulated clocks start",
                            step.at_ms
                        ));
                    }
                }
                Action::CrashLeader {
                    topic,
                    partition,
                    power_loss,
                    torn_write,
                } => {
                    let internal = (topic == "__consumer_offsets"
                        && *partition < self.broker.offsets_topic_num_partitions)
                        || (topic == "__transaction_state"
                            && *partition < self.broker.transaction_state_log_num_partitions);
                    match self.topics.iter().find(|t| &t.name == topic) {
                        Some(t) if *partition < t.partitions => {}
                        _ if internal => {}
                        _ => return bad(format!("no partition {topic}-{partition}")),
                    }
                    if *torn_write && !*power_loss {
                        return bad(torn_write_needs_power_loss());
                    }
                }
                Action::PartitionLeaderFromFollowers { topic, partition }
                | Action::PartitionLeaderFromCluster { topic, partition } => {
                    match self.topics.iter().find(|t| &t.name == topic) {
                        Some(t) if *partition < t.partitions => {}
                        _ => return bad(format!("no partition {topic}-{partition}")),
                    }
                }
                Action::Partition { sides } => {
                    if let Some(n) = sides.iter().flatten().find(|n| !node_ok(**n)) {
                        return bad(format!(
                            "no node {n}; nodes are 0 (controller) and 1..={}",
                            self.brokers
                        ));
                    }
                }
                Action::DelayNextProduce { from, to, delay_ms } => {
                    if *delay_ms > 3_600_000 {
                        return bad(format!("delay_ms = {delay_ms}: expected at most 3600000"));
                    }
                    if !node_ok(*from) || to.is_some_and(|t| !node_ok(t)) {
                        return bad(format!("no node {from} or {to:?}"));
                    }
                }
                Action::DelayNextEndTxn { from, delay_ms, .. } => {
                    if *delay_ms > 3_600_000 {
                        return bad(format!("delay_ms = {delay_ms}: expected at most 3600000"));
                    }
                    if !node_ok(*from) {
                        return bad(format!("no node {from}"));
                    }
                }
                Action::PartitionOneWay { from, to }
                | Action::DropInFlight { from, to }
                | Action::DropMessage { from, to, .. } => {
                    if !node_ok(*from) || !node_ok(*to) {
                        return bad(format!("no node {from} or {to}"));
                    }
                }
                Action::Isolate { node } => {
                    if !node_ok(*node) {
                        return bad(format!("no node {node}"));
                    }
                }
                Action::SetNetwork { config } => {
                    config.validate().map_err(|e| format!("step {i}: {e}"))?;
                }
                Action::FreezeProducer {
                    producer,
                    duration_ms,
                } => {
                    if *producer >= producers {
                        return bad(format!("no producer {producer}; there are {producers}"));
                    }
                    if *duration_ms == 0 || *duration_ms > 24 * 3_600_000 {
                        return bad(format!("duration_ms {duration_ms}: expected 1..=86400000"));
                    }
                }
                Action::Heal
                | Action::RestartCrashedBrokers
                | Action::StopProducers
                | Action::PauseConsumers
                | Action::ResumeConsumers => {}
                Action::AddConsumer { consumer } => {
                    if !topic_known(&consumer.topic) {
                        return bad(format!("add_consumer: unknown topic {:?}", consumer.topic));
                    }
                    consumer
                        .validate()
                        .map_err(|e| format!("step {i}: add_consumer: {e}"))?;
                }
                Action::StopConsumer { consumer }
                | Action::CrashConsumer { consumer }
                | Action::RestartConsumer { consumer, .. }
                | Action::CommitOffsets { consumer }
                | Action::StallConsumer { consumer, .. }
                | Action::FreezeConsumer { consumer, .. }
                | Action::SeekConsumer { consumer, .. } => {
                    if *consumer >= consumers {
                        return bad(format!(
                            "no consumer {consumer}; there are {consumers} (added ones included)"
                        ));
                    }
                    if let Action::StallConsumer { duration_ms, .. }
                    | Action::FreezeConsumer { duration_ms, .. } = &step.action
                    {
                        if *duration_ms == 0 || *duration_ms > 24 * 3_600_000 {
                            return bad(format!(
                                "duration_ms {duration_ms}: expected 1..=86400000"
                            ));
                        }
                    }
                    if let Action::RestartConsumer {
                        strategy: Some(strategy),
                        ..
                    } = &step.action
                    {
                        if strategy.is_empty() {
                            return bad(
                                "partition.assignment.strategy needs at least one assignor".into(),
                            );
                        }
                        for name in strategy {
                            if crate::client::assignor::Assignor::from_name(name).is_none() {
                                return bad(format!(
                                    "partition.assignment.strategy {name:?}: expected range, roundrobin, sticky or cooperative-sticky"
                                ));
                            }
                        }
                    }
                    if let Action::SeekConsumer { offset, .. } = &step.action {
                        if *offset < 0 {
                            return bad(format!("seek offset {offset}: must be >= 0"));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn torn_write_needs_power_loss() -> String {
    "torn_write needs power_loss: a process crash keeps the page cache, so nothing tears".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn with_step(at_ms: u64, action: &str) -> Result<(), String> {
        let json = format!(
            r#"{{ "scenario": "cluster", "duration_ms": 10000, "brokers": 3,
                 "topics": [ {{ "name": "t", "partitions": 1, "replication_factor": 3 }} ],
                 "producers": [ {{ "topic": "t" }} ],
                 "steps": [ {{ "at_ms": {at_ms}, "action": {action} }} ] }}"#
        );
        let scenario: ClusterScenario = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        scenario.validate()
    }

    #[test]
    fn fault_steps_are_validated_with_messages_that_name_the_problem() {
        let ok = [
            r#"{ "pause_broker": { "broker": 2 } }"#,
            r#"{ "resume_broker": { "broker": 2 } }"#,
            r#"{ "slow_disk": { "broker": 3, "factor": 10000 } }"#,
            r#"{ "crash_broker": { "broker": 1, "power_loss": true, "torn_write": true } }"#,
            r#"{ "skew_clock": { "node": 1000, "offset_ms": 7200000 } }"#,
            r#"{ "skew_clock": { "node": 2, "offset_ms": -5000 } }"#,
        ];
        for action in ok {
            assert_eq!(with_step(5_000, action), Ok(()), "{action}");
        }
        let refused = [
            (r#"{ "pause_broker": { "broker": 4 } }"#, "no broker 4"),
            (
                r#"{ "slow_disk": { "broker": 1, "factor": 0 } }"#,
                "factor 0",
            ),
            (
                r#"{ "crash_leader": { "topic": "t", "partition": 0, "torn_write": true } }"#,
                "torn_write needs power_loss",
            ),
            (
                r#"{ "skew_clock": { "node": 2000, "offset_ms": 1 } }"#,
                "expected a broker",
            ),
            (
                r#"{ "skew_clock": { "node": 1, "offset_ms": -6000 } }"#,
                "before the Unix epoch",
            ),
        ];
        for (action, why) in refused {
            let err = with_step(5_000, action).expect_err(action);
            assert!(err.contains(why) && err.starts_with("step 0"), "{err}");
        }
    }

    #[test]
    fn the_flush_policy_and_timestamp_bounds_read_kafka_names() {
        let json = r#"{ "scenario": "cluster", "duration_ms": 1000, "brokers": 1,
            "broker": { "flush.messages": 1, "flush.ms": 100,
                        "log.message.timestamp.after.max.ms": 60000 },
            "topics": [ { "name": "t", "partitions": 1, "replication_factor": 1 } ] }"#;
        let scenario: ClusterScenario = serde_json::from_str(json).expect("parses");
        assert_eq!(scenario.validate(), Ok(()));
        assert_eq!(scenario.broker.flush.flush_messages, 1);
        assert_eq!(scenario.broker.flush.flush_ms, 100);
        assert_eq!(scenario.broker.message_timestamp_after_max_ms, 60_000);
        assert_eq!(scenario.broker.message_timestamp_before_max_ms, i64::MAX);
        let bad = json.replace(r#""flush.messages": 1"#, r#""flush.messages": 0"#);
        let scenario: ClusterScenario = serde_json::from_str(&bad).expect("parses");
        assert!(scenario
            .validate()
            .is_err_and(|e| e.contains("flush.messages")));
    }
}
