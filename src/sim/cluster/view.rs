//! The read-only picture of a running cluster that UIs draw: brokers and their process and disk
//! state, every partition with its leader, ISR and each replica's offsets (log start offset,
//! high watermark, log end offset, segment boundaries, how far the disk is synced), the
//! producers with their configs and requests in flight, the consumers' positions and the cuts in
//! the network. Built on demand from `ClusterSim`; plain data (serde), so the web worker can post
//! it to the page. No `usize`: it crosses to wasm32 and JavaScript.

use super::clients::FetchState;
pub use super::group_describe::{GroupDescription, GroupMemberRow, GroupPartitionRow};
use super::ClusterSim;
use crate::broker::messages::IsolationLevel;
use crate::client::producer::Acks;
use crate::ids::{BrokerId, Offset, TopicPartition};
use crate::log::batch::BatchHeader;
use crate::log::partition_log::{BatchSpan, RecordView};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    pub seed: u64,
    pub step: u64,
    pub time_ms: u64,
    pub duration_ms: u64,
    /// The trace hash so far, as 16 hex digits.
    pub trace_hash: String,
    pub brokers: Vec<BrokerView>,
    pub topics: Vec<TopicView>,
    pub partitions: Vec<PartitionView>,
    pub producers: Vec<ProducerView>,
    pub consumers: Vec<ConsumerView>,
    /// The consumer groups as their coordinators describe them (`kafka-consumer-groups
    /// --describe`), with each member's partitions.
    pub groups: Vec<GroupDescription>,
    pub network: NetworkView,
    /// Messages on the wire, the soonest due first (at most `IN_FLIGHT_SHOWN`), and how many
    /// there are in all.
    pub in_flight: Vec<MessageView>,
    pub in_flight_total: u32,
    /// Every transactional id as its coordinator describes it (`kafka-transactions describe`).
    pub transactions: Vec<TransactionView>,
    /// Transactions open in a partition that no coordinator knows of (`kafka-transactions
    /// find-hanging`, T-8).
    pub hanging_transactions: Vec<HangingView>,
}

/// A hanging transaction: open on a partition leader, ended (or unknown) at every coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HangingView {
    pub topic_partition: String,
    pub leader: u32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// Where it starts: the partition's last stable offset cannot pass it.
    pub first_offset: i64,
}

/// One transactional id at its coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionView {
    pub transactional_id: String,
    /// The broker leading its `__transaction_state` partition.
    pub coordinator: u32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// Kafka's state name: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit,
    /// CompleteAbort, PrepareEpochFence or Dead.
    pub state: String,
    pub timeout_ms: u64,
    /// How long the open transaction has run; `None` when none is open.
    pub duration_ms: Option<u64>,
    /// The partitions of the open (or last) transaction.
    pub partitions: Vec<String>,
}

/// A transactional producer as it sees itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerTxnView {
    pub transactional_id: String,
    /// Kafka's client-side state name (`READY`, `IN_TRANSACTION`, `FATAL_ERROR`, ...).
    pub state: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub coordinator: Option<u32>,
    pub committed: u32,
    pub aborted: u32,
    /// The fatal error by Kafka's name (`PRODUCER_FENCED` ...), once fenced.
    pub fatal: Option<String>,
}

/// Messages on the wire a view lists at most.
pub const IN_FLIGHT_SHOWN: usize = 40;

/// One message on the wire: `Action::DropMessage` names it by `from`, `to` and `sequence`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub from: u32,
    pub to: u32,
    pub sequence: u64,
    /// Kafka's name for the request or response (`Produce`, `Fetch (follower)`, ...).
    pub kind: String,
    /// When it arrives, in simulated microseconds.
    pub due_us: u64,
    /// The second copy of a duplicated message.
    pub duplicate: bool,
}

/// What a broker process is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BrokerState {
    /// Registered, unfenced and serving.
    Up,
    /// Running but not serving yet: registering or replaying the metadata log.
    Starting,
    /// Running, but the controller fenced it (missed heartbeats).
    Fenced,
    /// Stopped with SIGSTOP.
    Paused,
    /// The process is dead; only its disk remains.
    Crashed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerView {
    pub id: u32,
    pub state: BrokerState,
    /// How many times the process started.
    pub incarnation: u64,
    /// Partitions this broker leads (by the controller's view) and replicas it is assigned.
    pub leaders: u32,
    pub replicas: u32,
    /// Bytes written to its disk but not yet synced: what a power loss would take.
    pub unsynced_bytes: u64,
    /// The slow-disk factor (1 is healthy).
    pub slow_disk_factor: u32,
    pub clock_skew_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicView {
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u16,
    /// `min.insync.replicas` in effect for the topic.
    pub min_insync_replicas: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionView {
    pub topic: String,
    pub partition: u32,
    pub leader: Option<u32>,
    pub leader_epoch: i32,
    /// Assigned replicas, the preferred leader first.
    pub replicas: Vec<u32>,
    pub isr: Vec<u32>,
    /// The leader's high watermark and log end offset (0 without a leader). While the leader
    /// is down but not yet fenced (`leader_unreachable`), nobody knows them: these are the last
    /// known values, the highest its live replicas hold, a lower bound of the leader's.
    pub high_watermark: u64,
    pub log_end_offset: u64,
    /// The controller still names a leader whose broker is down: until it fences the broker
    /// (broker.session.timeout.ms) the partition takes no writes and serves no reads, and its
    /// ISR is the controller's stale one.
    #[serde(default)]
    pub leader_unreachable: bool,
    /// Each assigned replica as its broker holds it.
    pub replica_logs: Vec<ReplicaView>,
}

impl PartitionView {
    /// Fewer in-sync replicas than assigned ones.
    pub fn under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }

    /// No leader: nobody can produce to or consume from it.
    pub fn offline(&self) -> bool {
        self.leader.is_none()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicaRole {
    Leader,
    Follower,
    /// The broker is down or does not host the log yet.
    Offline,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaView {
    pub broker: u32,
    pub role: ReplicaRole,
    pub in_isr: bool,
    pub log_start_offset: u64,
    pub high_watermark: u64,
    pub log_end_offset: u64,
    /// Base offsets of its segments, oldest first.
    pub segment_base_offsets: Vec<u64>,
    /// Records below this offset are on the disk for good; above it they are in the page cache
    /// only (a power loss takes them).
    pub synced_offset: u64,
    /// The last stable offset (T-5): the HW, or the first offset of the oldest transaction
    /// still open here, whichever is lower. What read_committed consumers read up to.
    pub last_stable_offset: u64,
    /// Transactional batches and markers among the newest `TXN_SPANS_TAIL` offsets, oldest
    /// first (empty for a log that never held a transaction).
    pub txn_spans: Vec<TxnSpan>,
}

/// The newest offsets of a replica whose transactional batches a view lists.
pub const TXN_SPANS_TAIL: u64 = 96;

/// What a transactional batch or a marker is in its log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnSpanKind {
    /// Data of a transaction with no marker yet: read_committed readers wait for it.
    Open,
    /// Data of a transaction a COMMIT marker closed.
    Committed,
    /// Data of a transaction an ABORT marker closed: read_committed readers skip it.
    Aborted,
    /// A COMMIT control batch.
    CommitMarker,
    /// An ABORT control batch.
    AbortMarker,
}

/// A run of offsets of one transactional batch or marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnSpan {
    pub first: u64,
    pub last: u64,
    pub producer_id: i64,
    pub kind: TxnSpanKind,
}

/// The transactional batches and markers among `spans` (a log's batches, oldest first, up to
/// its end): a data batch is as the next marker of its producer id after it says, open when
/// none follows.
pub fn txn_spans(spans: &[BatchSpan]) -> Vec<TxnSpan> {
    use crate::log::control::ControlRecordType;
    let mut out = Vec::new();
    for (i, b) in spans.iter().enumerate() {
        if !b.is_transactional {
            continue;
        }
        let kind = if b.is_control {
            match b.marker {
                Some(ControlRecordType::Abort) => TxnSpanKind::AbortMarker,
                Some(ControlRecordType::TransactionCommit) => TxnSpanKind::CommitMarker,
                None => continue,
            }
        } else {
            match spans[i + 1..]
                .iter()
                .find(|m| m.is_control && m.producer_id == b.producer_id)
                .and_then(|m| m.marker)
            {
                Some(ControlRecordType::Abort) => TxnSpanKind::Aborted,
                Some(ControlRecordType::TransactionCommit) => TxnSpanKind::Committed,
                None => TxnSpanKind::Open,
            }
        };
        out.push(TxnSpan {
            first: offset_u64(b.base_offset),
            last: offset_u64(b.last_offset),
            producer_id: b.producer_id,
            kind,
        });
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerView {
    pub index: u32,
    pub node: u32,
    pub topic: String,
    /// `acks` as Kafka spells it: "0", "1" or "all".
    pub acks: String,
    pub enable_idempotence: bool,
    pub linger_ms: u64,
    pub max_in_flight_requests_per_connection: u32,
    /// Produce requests in flight, per broker (broker id, count), brokers with none omitted.
    pub in_flight: Vec<(u32, u32)>,
    /// Records handed to `send` so far.
    pub sent: u64,
    pub stopped: bool,
    /// Errors seen so far, by Kafka's name, with counts.
    pub errors: Vec<(String, u32)>,
    pub clock_skew_ms: i64,
    /// Set for a producer with `transactional.id`.
    pub transaction: Option<ProducerTxnView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerView {
    pub index: u32,
    pub node: u32,
    pub topic: String,
    pub paused: bool,
    /// Per assigned partition: its index, the next offset to read, and the fetch state.
    pub positions: Vec<ConsumerPosition>,
    /// The process runs (not stopped or crashed).
    pub alive: bool,
    /// Its poll loop is stalled (slow processing; the heartbeat thread runs on).
    pub stalled: bool,
    /// The whole process is frozen (a GC pause): no heartbeats either.
    pub frozen: bool,
    /// Its group membership, for a consumer with `group.id`.
    pub member: Option<MemberView>,
    /// `isolation.level`: "read_uncommitted" (Kafka's default) or "read_committed".
    pub isolation_level: String,
}

/// A group member as its consumer sees itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub group_id: String,
    /// Empty until the coordinator gives one.
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// Kafka's `MemberState` name: UNJOINED, PREPARING_REBALANCE (waiting in JoinGroup),
    /// COMPLETING_REBALANCE (waiting for SyncGroup's assignment) or STABLE.
    pub state: String,
    pub generation: i32,
    /// `partition.assignment.strategy` as configured, and the one the group chose.
    pub strategy: Vec<String>,
    pub protocol: Option<String>,
    /// "eager" or "cooperative".
    pub rebalance_protocol: String,
    pub coordinator: Option<u32>,
    pub is_leader: bool,
    /// Partitions it owns now.
    pub owned: Vec<u32>,
    /// Its last completed rebalance: the generation, what it gained and what it gave up.
    pub last_rebalance: Option<RebalanceView>,
    pub rebalances: u32,
    pub commit_failures: u32,
    /// The poll deadline (`max.poll.interval.ms`) passed without a poll.
    pub poll_timer_expired: bool,
    /// A fatal error that stopped it (FENCED_INSTANCE_ID ...).
    pub fatal: Option<String>,
    pub session_timeout_ms: u64,
    pub heartbeat_interval_ms: u64,
    pub max_poll_interval_ms: u64,
    pub enable_auto_commit: bool,
    pub auto_commit_interval_ms: u64,
    /// Errors the group's answers carried, by Kafka's name, with counts.
    pub errors: Vec<(String, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebalanceView {
    pub generation: i32,
    pub assigned: Vec<u32>,
    pub revoked: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerPosition {
    pub partition: u32,
    pub offset: u64,
    /// "fetching", "validating", "resetting" or "failed".
    pub state: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkView {
    /// Directed links that carry nothing, as (from node, to node).
    pub cut_links: Vec<(u32, u32)>,
    /// Nodes cut off from every other node.
    pub isolated: Vec<u32>,
    /// Random message faults in effect, as "1/100"-style ratios (empty when off).
    pub drop: String,
    pub duplicate: String,
}

/// A record as a hover card shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCard {
    pub offset: u64,
    pub timestamp: i64,
    pub key: Option<String>,
    pub value: Option<String>,
    pub partition_leader_epoch: i32,
    pub producer_id: i64,
    /// In a transactional batch.
    pub transactional: bool,
    /// A control record: "COMMIT" or "ABORT" (Kafka's marker names).
    pub control: Option<String>,
}

/// Bytes as text for a hover card: UTF-8 when it is, else hex; long values are cut.
fn bytes_text(bytes: &[u8]) -> String {
    const SHOWN_MAX: usize = 64;
    let shown = &bytes[..bytes.len().min(SHOWN_MAX)];
    let mut text = match std::str::from_utf8(shown) {
        Ok(s) => s.to_owned(),
        Err(_) => shown.iter().map(|b| format!("{b:02x}")).collect(),
    };
    if bytes.len() > SHOWN_MAX {
        text.push('…');
    }
    text
}

impl From<RecordView> for RecordCard {
    fn from(r: RecordView) -> RecordCard {
        RecordCard {
            offset: r.offset.0.max(0) as u64,
            timestamp: r.timestamp,
            key: r.key.as_deref().map(bytes_text),
            value: r.value.as_deref().map(bytes_text),
            partition_leader_epoch: r.partition_leader_epoch,
            producer_id: r.producer_id,
            transactional: r.is_transactional,
            control: r.is_control.then(|| {
                use crate::log::control::EndTransactionMarker;
                match EndTransactionMarker::decode_parts(r.key.as_deref(), r.value.as_deref()) {
                    Ok(m) => format!(
                        "{} (coordinator epoch {})",
                        m.control_type.name(),
                        m.coordinator_epoch
                    ),
                    Err(e) => format!("unreadable control record: {e}"),
                }
            }),
        }
    }
}

fn offset_u64(offset: Offset) -> u64 {
    offset.0.max(0) as u64
}

impl ClusterSim {
    /// The picture of the cluster now.
    pub fn view(&self) -> ClusterView {
        let rows = self.controller.describe();
        let mut leaders = vec![0u32; self.brokers.len()];
        let mut hosted = vec![0u32; self.brokers.len()];
        // Internal topics (`__consumer_offsets`) after the user's, as tools list them: what a
        // user came to see comes first.
        let mut rows = rows;
        rows.sort_by_key(|row| row.topic.starts_with("__"));
        let partitions = rows
            .iter()
            .map(|row| {
                let tp = TopicPartition {
                    topic: row.topic.clone(),
                    partition: row.partition,
                };
                if let Some(l) = row.leader {
                    if let Some(n) = leaders.get_mut(l.0 as usize - 1) {
                        *n += 1;
                    }
                }
                for r in &row.replicas {
                    if let Some(n) = hosted.get_mut(r.0 as usize - 1) {
                        *n += 1;
                    }
                }
                let replica_logs: Vec<ReplicaView> = row
                    .replicas
                    .iter()
                    .map(|b| self.replica_view(&tp, *b, row.isr.contains(b)))
                    .collect();
                let leader_log = row
                    .leader
                    .and_then(|l| replica_logs.iter().find(|r| r.broker == l.0))
                    .filter(|r| r.role == ReplicaRole::Leader);
                let leader_unreachable = row.leader.is_some_and(|l| {
                    self.brokers
                        .get((l.0 as usize).wrapping_sub(1))
                        .is_some_and(|b| !b.alive)
                });
                // A down leader's offsets died with it: show the most its live replicas saw.
                let known = |at: fn(&ReplicaView) -> u64| {
                    replica_logs
                        .iter()
                        .filter(|r| r.role != ReplicaRole::Offline)
                        .map(at)
                        .max()
                        .unwrap_or(0)
                };
                let (high_watermark, log_end_offset) = match leader_log {
                    Some(r) => (r.high_watermark, r.log_end_offset),
                    None if leader_unreachable => {
                        (known(|r| r.high_watermark), known(|r| r.log_end_offset))
                    }
                    None => (0, 0),
                };
                PartitionView {
                    topic: row.topic.clone(),
                    partition: row.partition.0,
                    leader: row.leader.map(|b| b.0),
                    leader_epoch: row.leader_epoch.0,
                    replicas: row.replicas.iter().map(|b| b.0).collect(),
                    isr: row.isr.iter().map(|b| b.0).collect(),
                    high_watermark,
                    log_end_offset,
                    leader_unreachable,
                    replica_logs,
                }
            })
            .collect();
        let deliveries: Vec<_> = self
            .scheduler
            .events()
            .filter_map(|e| match e {
                super::Event::Deliver(d) => Some(d),
                _ => None,
            })
            .collect();
        let in_flight_total = deliveries.len() as u32;
        let in_flight = deliveries
            .iter()
            .take(IN_FLIGHT_SHOWN)
            .map(|d| MessageView {
                from: d.from.0,
                to: d.to.0,
                sequence: d.sequence,
                kind: d.payload.kind().to_owned(),
                due_us: d.at.0 / 1_000,
                duplicate: d.duplicate,
            })
            .collect();
        ClusterView {
            seed: self.seed,
            step: self.steps,
            time_ms: self.now().as_millis().max(0) as u64,
            duration_ms: self.scenario.duration_ms,
            trace_hash: format!("{:016x}", self.trace_hash()),
            brokers: self.broker_views(&leaders, &hosted),
            topics: self.topic_views(),
            partitions,
            producers: self.producer_views(),
            consumers: self.consumer_views(),
            groups: self.describe_groups(),
            network: self.network_view(),
            in_flight,
            in_flight_total,
            transactions: self.transaction_views(),
            hanging_transactions: self
                .hanging_transactions()
                .into_iter()
                .map(|h| HangingView {
                    topic_partition: h.topic_partition.to_string(),
                    leader: h.leader,
                    producer_id: h.producer_id,
                    producer_epoch: h.producer_epoch,
                    first_offset: h.first_offset,
                })
                .collect(),
        }
    }

    /// Up to `max_records` records of one replica's log with offsets in `[from, to)`.
    pub fn replica_records(
        &self,
        tp: &TopicPartition,
        broker: BrokerId,
        from: Offset,
        to: Offset,
        max_records: u32,
    ) -> Vec<RecordCard> {
        self.brokers
            .get((broker.0 as usize).wrapping_sub(1))
            .filter(|b| b.alive)
            .and_then(|b| b.replicas.get(tp))
            .map(|r| r.log().read_records(from, to, max_records))
            .unwrap_or_default()
            .into_iter()
            .map(RecordCard::from)
            .collect()
    }

    /// Whether broker `id` is stopped with SIGSTOP.
    pub fn is_paused(&self, id: BrokerId) -> bool {
        self.paused.contains_key(&((id.0 as usize).wrapping_sub(1)))
    }

    fn broker_views(&self, leaders: &[u32], hosted: &[u32]) -> Vec<BrokerView> {
        self.brokers
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let state = if !b.alive {
                    BrokerState::Crashed
                } else if self.paused.contains_key(&i) {
                    BrokerState::Paused
                } else if !b.serving() {
                    BrokerState::Starting
                } else if self.controller.broker(b.id).is_none_or(|r| r.fenced) {
                    BrokerState::Fenced
                } else {
                    BrokerState::Up
                };
                let storage = b.disk.storage();
                let durable: u64 = storage
                    .durable_image()
                    .values()
                    .map(|f| f.len() as u64)
                    .sum();
                BrokerView {
                    id: b.id.0,
                    state,
                    incarnation: b.incarnation(),
                    leaders: leaders.get(i).copied().unwrap_or(0),
                    replicas: hosted.get(i).copied().unwrap_or(0),
                    unsynced_bytes: storage.live_bytes().saturating_sub(durable),
                    slow_disk_factor: b.disk.slow_factor(),
                    clock_skew_ms: b.wall_clock_skew_ms(),
                }
            })
            .collect()
    }

    fn replica_view(&self, tp: &TopicPartition, broker: BrokerId, in_isr: bool) -> ReplicaView {
        let node = self
            .brokers
            .get((broker.0 as usize).wrapping_sub(1))
            .filter(|b| b.alive);
        let Some(replica) = node.and_then(|n| n.replicas.get(tp)) else {
            return ReplicaView {
                broker: broker.0,
                role: ReplicaRole::Offline,
                in_isr,
                log_start_offset: 0,
                high_watermark: 0,
                log_end_offset: 0,
                segment_base_offsets: Vec::new(),
                synced_offset: 0,
                last_stable_offset: 0,
                txn_spans: Vec::new(),
            };
        };
        let log = replica.log();
        let role = if replica.is_leader() {
            ReplicaRole::Leader
        } else {
            ReplicaRole::Follower
        };
        let durable = node.map(|n| n.disk.storage().durable_image());
        ReplicaView {
            broker: broker.0,
            role,
            in_isr,
            log_start_offset: offset_u64(replica.log_start_offset()),
            high_watermark: offset_u64(replica.high_watermark()),
            log_end_offset: offset_u64(replica.log_end_offset()),
            segment_base_offsets: log
                .segment_views()
                .iter()
                .map(|s| offset_u64(s.base_offset))
                .collect(),
            synced_offset: durable.map_or(0, |image| {
                synced_offset(log, image)
                    .map_or_else(|| offset_u64(replica.log_end_offset()), offset_u64)
            }),
            last_stable_offset: offset_u64(replica.last_stable_offset()),
            txn_spans: if replica.transactions().has_transactions() {
                let end = replica.log_end_offset();
                let from = Offset(end.0.saturating_sub(TXN_SPANS_TAIL as i64))
                    .max(replica.log_start_offset());
                txn_spans(&log.batch_spans(from, end))
            } else {
                Vec::new()
            },
        }
    }

    fn topic_views(&self) -> Vec<TopicView> {
        self.scenario
            .topics
            .iter()
            .map(|t| TopicView {
                name: t.name.clone(),
                partitions: t.partitions,
                replication_factor: t.replication_factor,
                min_insync_replicas: t
                    .config
                    .get("min.insync.replicas")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(self.scenario.broker.replica.min_insync_replicas),
            })
            .collect()
    }

    fn producer_views(&self) -> Vec<ProducerView> {
        self.producers
            .iter()
            .map(|p| {
                let config = p.producer.config();
                ProducerView {
                    index: p.index(),
                    node: p.node.0,
                    topic: p.spec().topic.clone(),
                    acks: match config.acks {
                        Acks::None => "0",
                        Acks::Leader => "1",
                        Acks::All => "all",
                    }
                    .to_owned(),
                    enable_idempotence: p.producer.is_idempotent(),
                    linger_ms: config.linger_ms,
                    max_in_flight_requests_per_connection: config
                        .max_in_flight_requests_per_connection,
                    in_flight: self
                        .brokers
                        .iter()
                        .map(|b| (b.id.0, p.producer.in_flight_count(b.id)))
                        .filter(|(_, n)| *n > 0)
                        .collect(),
                    sent: p.sent(),
                    stopped: p.stopped,
                    errors: p
                        .errors_seen
                        .iter()
                        .map(|(name, n)| ((*name).to_owned(), *n))
                        .collect(),
                    clock_skew_ms: p.clock_skew_ms,
                    transaction: p.txn.as_ref().map(|t| {
                        let (id, epoch) = t.producer_id_and_epoch();
                        ProducerTxnView {
                            transactional_id: t.manager.transactional_id.clone(),
                            state: t.manager.state.name().to_owned(),
                            producer_id: id.0,
                            producer_epoch: epoch.0,
                            coordinator: t.coordinator().map(|b| b.0),
                            committed: t.committed,
                            aborted: t.aborted,
                            fatal: t.manager.fatal.map(|e| e.name().to_owned()),
                        }
                    }),
                }
            })
            .collect()
    }

    fn consumer_views(&self) -> Vec<ConsumerView> {
        self.consumers
            .iter()
            .map(|c| {
                let partitions = self
                    .scenario
                    .topics
                    .iter()
                    .find(|t| t.name == c.spec().topic)
                    .map_or(0, |t| t.partitions);
                ConsumerView {
                    index: c.index(),
                    node: c.node.0,
                    topic: c.spec().topic.clone(),
                    paused: c.paused,
                    // A group member's positions on the partitions it owns now: what it kept
                    // of a partition it gave up is no position any more.
                    positions: (0..partitions)
                        .filter(|p| c.group().is_none() || c.reads(*p))
                        .filter_map(|p| {
                            c.fetch_state(p).map(|(position, state)| ConsumerPosition {
                                partition: p,
                                offset: offset_u64(position.offset),
                                state: match state {
                                    FetchState::Fetching => "fetching",
                                    FetchState::AwaitValidation => "validating",
                                    FetchState::AwaitReset => "resetting",
                                    FetchState::Failed => "failed",
                                    FetchState::AwaitCommittedOffset => "initializing",
                                }
                                .to_owned(),
                            })
                        })
                        .collect(),
                    alive: c.alive,
                    stalled: c.stalled(),
                    frozen: c.frozen(),
                    member: c.group().map(|g| member_view(g, c.spec())),
                    isolation_level: match c.spec().isolation_level {
                        IsolationLevel::ReadCommitted => "read_committed",
                        IsolationLevel::ReadUncommitted => "read_uncommitted",
                    }
                    .to_owned(),
                }
            })
            .collect()
    }

    fn network_view(&self) -> NetworkView {
        let ratio = |r: crate::sim::network::Ratio| {
            if r.is_never() {
                String::new()
            } else {
                format!("{}/{}", r.numerator(), r.denominator())
            }
        };
        let config = self.network.config();
        NetworkView {
            cut_links: self
                .network
                .blocked_links()
                .map(|(a, b)| (a.0, b.0))
                .collect(),
            isolated: self.network.isolated_nodes().map(|n| n.0).collect(),
            drop: ratio(config.drop),
            duplicate: ratio(config.duplicate),
        }
    }
}

/// The first offset whose batch is not wholly on the disk for good, or `None` when every
/// segment file is as long durably as it is live. Segments before the first short one are
/// synced; within it, whole batches that fit in the durable length are.
fn synced_offset(
    log: &crate::log::partition_log::PartitionLog,
    durable: &std::collections::BTreeMap<crate::storage::FileName, Vec<u8>>,
) -> Option<Offset> {
    for (base, bytes) in log.segment_bytes() {
        let durable_len = log
            .segment_file_name(base, "log")
            .ok()
            .and_then(|name| durable.get(&name))
            .map_or(0, |f| f.len());
        if durable_len >= bytes.len() {
            continue;
        }
        let mut at = 0usize;
        let mut next = base;
        // Whole batches that fit in the durable length are synced.
        while let Ok(header) = BatchHeader::parse(&bytes[at..]) {
            let end = at + header.size_in_bytes() as usize;
            if end > durable_len || end > bytes.len() {
                break;
            }
            next = header.next_offset();
            at = end;
        }
        return Some(next);
    }
    None
}

fn member_view(
    g: &super::clients::GroupMembership,
    spec: &super::scenario::ConsumerSpec,
) -> MemberView {
    use crate::client::assignor::RebalanceProtocol;
    MemberView {
        group_id: g.group_id.clone(),
        member_id: g.member_id.clone(),
        group_instance_id: g.group_instance_id.clone(),
        state: g.state.name().to_owned(),
        generation: g.generation,
        strategy: g.strategy_names(),
        protocol: g.protocol.clone(),
        rebalance_protocol: match g.rebalance_protocol {
            RebalanceProtocol::Eager => "eager",
            RebalanceProtocol::Cooperative => "cooperative",
        }
        .to_owned(),
        coordinator: g.coordinator.map(|b| b.0),
        is_leader: g.is_leader,
        owned: g.owned.iter().copied().collect(),
        last_rebalance: g
            .last_rebalance
            .as_ref()
            .map(|(generation, assigned, revoked)| RebalanceView {
                generation: *generation,
                assigned: assigned.iter().copied().collect(),
                revoked: revoked.iter().copied().collect(),
            }),
        rebalances: g.rebalances,
        commit_failures: g.commit_failures,
        poll_timer_expired: g.poll_timer_expired,
        fatal: g.fatal.clone(),
        session_timeout_ms: spec.session_timeout_ms,
        heartbeat_interval_ms: spec.heartbeat_interval_ms,
        max_poll_interval_ms: spec.max_poll_interval_ms,
        enable_auto_commit: spec.enable_auto_commit,
        auto_commit_interval_ms: spec.auto_commit_interval_ms,
        errors: g
            .errors
            .iter()
            .map(|(name, n)| ((*name).to_owned(), *n))
            .collect(),
    }
}
