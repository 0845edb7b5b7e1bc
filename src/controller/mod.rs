//! The controller: one linearizable, KRaft-like metadata service with an epoch (spec R-11, v1
//! recommendation: the Raft quorum itself comes later). It owns broker registrations and
//! heartbeat fencing, topic creation and replica placement, every partition's leader and ISR,
//! and leader elections (clean R-6, unclean R-9, preferred R-10). It never sends anything: each
//! change is appended to an outbox of `MetadataUpdate`s (the `__cluster_metadata` records, each
//! stamped with the controller epoch and its offset) that the driver drains with
//! `poll_update` and delivers to brokers, and `next_timer` says when to call `on_timer`.
//!
//! Invariants: every partition passes `PartitionState::check` after every call (INV-5 among
//! them); a partition's leader and ISR hold only unfenced brokers, except the last ISR member of
//! an offline partition, which stays recorded; metadata offsets are strictly increasing; every
//! update carries the current controller epoch.

mod broker_registry;
mod describe;
mod partition_state;
mod placement;

#[cfg(test)]
mod tests;

pub use broker_registry::{BrokerRegistration, IncarnationId, MetadataOffset};
pub use describe::{describe_table, DescribeRow};
pub use partition_state::{ChangeRequest, Election, LeaderRecoveryState, PartitionState};
pub use placement::{assign_replicas_to_brokers, PlacementStart};

use crate::ids::{validate_topic_name, BrokerId, LeaderEpoch, PartitionIndex, TopicPartition};
use crate::limits::TOPIC_PARTITIONS_MAX;
use crate::prng::Prng;
use crate::protocol::{BrokerEpoch, ControllerEpoch, ErrorCode, PartitionEpoch};
use crate::time::{SimDuration, SimTime};
use broker_registry::BrokerRegistry;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Most metadata updates waiting in the outbox. The driver drains it after every call; a full
/// outbox means it did not, which is a wiring bug.
pub const METADATA_OUTBOX_MAX: u32 = 1 << 20;

const _: () = assert!(METADATA_OUTBOX_MAX > 2 * TOPIC_PARTITIONS_MAX);

/// Kafka's topic config key for unclean elections (topic level overrides the cluster default).
pub const UNCLEAN_LEADER_ELECTION_ENABLE: &str = "unclean.leader.election.enable";
/// Kafka's topic config key for the minimum ISR size of acks=all writes.
pub const MIN_INSYNC_REPLICAS: &str = "min.insync.replicas";

/// The controller's configuration, with Kafka's names and defaults (spec section 8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerConfig {
    /// `broker.session.timeout.ms` = 9000.
    pub broker_session_timeout: SimDuration,
    /// `broker.heartbeat.interval.ms` = 2000: brokers send heartbeats this often; the
    /// controller only uses it to report what brokers should do.
    pub broker_heartbeat_interval: SimDuration,
    /// `unclean.leader.election.enable` = false (cluster default; topics may override).
    pub unclean_leader_election_enable: bool,
    /// `unclean.leader.election.interval.ms` = 300000: how often leaderless partitions are
    /// retried for an unclean election (matters after a topic enables it dynamically).
    pub unclean_leader_election_interval: SimDuration,
    /// `auto.leader.rebalance.enable` = true.
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds` = 300. The KRaft controller moves every
    /// partition whose preferred replica is an unfenced ISR member back to it at each check;
    /// it does not apply `leader.imbalance.per.broker.percentage`.
    pub leader_imbalance_check_interval: SimDuration,
    /// `num.partitions` = 1, used when a CreateTopic leaves the count to the broker.
    pub num_partitions: u32,
    /// `default.replication.factor` = 1.
    pub default_replication_factor: u16,
    /// `min.insync.replicas` = 1 (cluster default, reported in topic configs).
    pub min_insync_replicas: u16,
    /// metadata.version < 3.6: an ISR shrink also bumps the leader epoch (KAFKA-15021). False
    /// gives 3.6+ behaviour: ISR-only changes bump the partition epoch only.
    pub leader_epoch_bump_on_isr_shrink: bool,
}

impl Default for ControllerConfig {
    fn default() -> ControllerConfig {
        ControllerConfig {
            broker_session_timeout: SimDuration::from_millis(9_000),
            broker_heartbeat_interval: SimDuration::from_millis(2_000),
            unclean_leader_election_enable: false,
            unclean_leader_election_interval: SimDuration::from_millis(300_000),
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval: SimDuration::from_millis(300_000),
            num_partitions: 1,
            default_replication_factor: 1,
            min_insync_replicas: 1,
            leader_epoch_bump_on_isr_shrink: false,
        }
    }
}

/// `CreateTopics` for one topic. `None` counts take the cluster defaults (`num.partitions`,
/// `default.replication.factor`), as Kafka does for -1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTopic {
    pub name: String,
    pub partitions: Option<u32>,
    pub replication_factor: Option<u16>,
    /// Topic config overrides by Kafka name (`min.insync.replicas`, `unclean.leader.election.enable`,
    /// `segment.bytes`...). The controller validates the keys it acts on and stores the rest.
    pub configs: BTreeMap<String, String>,
    /// A manual replica assignment (`kafka-topics.sh --replica-assignment 3:1:2,...`, the
    /// `assignments` of CreateTopics): partition p's replicas, first = preferred leader. Empty
    /// places replicas with the seeded rack-unaware rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignments: Vec<Vec<BrokerId>>,
}

/// A refused request: Kafka's error code and a message in Kafka's words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerError {
    pub code: ErrorCode,
    pub message: String,
}

impl ControllerError {
    fn new(code: ErrorCode, message: impl Into<String>) -> ControllerError {
        ControllerError {
            code,
            message: message.into(),
        }
    }
}

/// `BrokerRegistration`: a broker process announcing itself at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistrationRequest {
    pub broker: BrokerId,
    pub incarnation: IncarnationId,
}

/// `BrokerHeartbeat`, sent every `broker.heartbeat.interval.ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerHeartbeatRequest {
    pub broker: BrokerId,
    pub broker_epoch: BrokerEpoch,
    /// The highest metadata offset the broker has applied.
    pub current_metadata_offset: MetadataOffset,
}

/// What a heartbeat tells the broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerHeartbeatResponse {
    pub is_caught_up: bool,
    pub is_fenced: bool,
}

/// One proposed ISR member with the broker epoch the leader saw it fetch with (KIP-841). `None`
/// skips the epoch check (Kafka's -1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsrMember {
    pub broker: BrokerId,
    pub broker_epoch: Option<BrokerEpoch>,
}

/// `AlterPartition` for one partition, from its leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterPartitionRequest {
    pub broker: BrokerId,
    pub broker_epoch: BrokerEpoch,
    pub topic_partition: TopicPartition,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: PartitionEpoch,
    pub new_isr: Vec<IsrMember>,
    pub leader_recovery_state: LeaderRecoveryState,
}

/// Which election an operator asks for (`kafka-leader-election --election-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElectionType {
    Preferred,
    Unclean,
}

/// Why a partition changed, for traces and lessons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeReason {
    Created,
    /// The broker's session expired (or it re-registered as a new incarnation) and it was
    /// removed from the ISR and from leadership.
    BrokerFenced(BrokerId),
    /// The broker came back; leaderless partitions were retried.
    BrokerUnfenced(BrokerId),
    /// The leader's ISR proposal.
    AlterPartition(BrokerId),
    /// A periodic or operator-triggered unclean election.
    UncleanElection,
    /// A periodic or operator-triggered preferred leader election.
    PreferredElection,
}

/// One record of the metadata log, as brokers apply it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetadataRecord {
    /// A new controller epoch took over (a failover).
    ControllerChange,
    /// A broker incarnation registered; it starts fenced.
    RegisterBroker {
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
    },
    FenceBroker {
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
    },
    UnfenceBroker {
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
    },
    Topic {
        name: String,
        partitions: u32,
        configs: BTreeMap<String, String>,
    },
    TopicConfig {
        name: String,
        key: String,
        /// `None` deletes the override.
        value: Option<String>,
    },
    /// The full new state of one partition (created or changed).
    Partition {
        topic_partition: TopicPartition,
        state: PartitionState,
        reason: ChangeReason,
    },
}

/// A record with its position in the metadata log and the epoch of the controller that wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataUpdate {
    pub controller_epoch: ControllerEpoch,
    pub offset: MetadataOffset,
    pub at: SimTime,
    pub record: MetadataRecord,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Topic {
    configs: BTreeMap<String, String>,
    partitions: Vec<PartitionState>,
}

/// The controller state machine. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Controller {
    config: ControllerConfig,
    controller_epoch: ControllerEpoch,
    next_offset: MetadataOffset,
    brokers: BrokerRegistry,
    topics: BTreeMap<String, Topic>,
    outbox: VecDeque<MetadataUpdate>,
    next_unclean_check: SimTime,
    next_imbalance_check: SimTime,
}

impl Controller {
    /// A controller that became active at `now` with epoch 1 and an empty metadata log.
    pub fn new(config: ControllerConfig, now: SimTime) -> Controller {
        Controller {
            next_unclean_check: now.saturating_add(config.unclean_leader_election_interval),
            next_imbalance_check: now.saturating_add(config.leader_imbalance_check_interval),
            config,
            controller_epoch: ControllerEpoch(1),
            next_offset: MetadataOffset(0),
            brokers: BrokerRegistry::default(),
            topics: BTreeMap::new(),
            outbox: VecDeque::new(),
        }
    }

    // ---- Queries -------------------------------------------------------------------------

    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    pub fn controller_epoch(&self) -> ControllerEpoch {
        self.controller_epoch
    }

    /// The offset the next metadata record will get (the log end offset of `__cluster_metadata`).
    pub fn metadata_end_offset(&self) -> MetadataOffset {
        self.next_offset
    }

    pub fn broker(&self, broker: BrokerId) -> Option<&BrokerRegistration> {
        self.brokers.get(broker)
    }

    pub fn brokers(&self) -> impl Iterator<Item = &BrokerRegistration> {
        self.brokers.iter()
    }

    pub fn partition(&self, tp: &TopicPartition) -> Option<&PartitionState> {
        self.topics
            .get(&tp.topic)
            .and_then(|t| t.partitions.get(tp.partition.0 as usize))
    }

    /// Every partition's state, in `describe()` order (topic, then index), without copying.
    pub fn partition_states(&self) -> impl Iterator<Item = (&str, u32, &PartitionState)> {
        self.topics.iter().flat_map(|(name, topic)| {
            topic
                .partitions
                .iter()
                .enumerate()
                .map(move |(i, p)| (name.as_str(), i as u32, p))
        })
    }

    pub fn topic_configs(&self, topic: &str) -> Option<&BTreeMap<String, String>> {
        self.topics.get(topic).map(|t| &t.configs)
    }

    /// The effective `unclean.leader.election.enable` for a topic: its override, else the
    /// cluster default.
    pub fn unclean_leader_election_enabled(&self, topic: &str) -> bool {
        self.topics
            .get(topic)
            .and_then(|t| t.configs.get(UNCLEAN_LEADER_ELECTION_ENABLE))
            .map_or(self.config.unclean_leader_election_enable, |v| v == "true")
    }

    /// Every partition in `kafka-topics --describe` terms, by topic name then partition.
    pub fn describe(&self) -> Vec<DescribeRow> {
        let mut rows = Vec::new();
        for (name, topic) in &self.topics {
            for (i, p) in topic.partitions.iter().enumerate() {
                rows.push(DescribeRow {
                    topic: name.clone(),
                    partition: PartitionIndex(i as u32),
                    leader: p.leader,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    leader_epoch: p.leader_epoch,
                    partition_epoch: p.partition_epoch,
                });
            }
        }
        rows
    }

    // ---- Outputs -------------------------------------------------------------------------

    /// The next metadata update to deliver to brokers, oldest first.
    pub fn poll_update(&mut self) -> Option<MetadataUpdate> {
        self.outbox.pop_front()
    }

    /// Every pending metadata update, oldest first.
    pub fn drain_updates(&mut self) -> Vec<MetadataUpdate> {
        self.outbox.drain(..).collect()
    }

    /// When `on_timer` must next run: the first session expiry, or a periodic election check.
    pub fn next_timer(&self) -> Option<SimTime> {
        let mut next = self
            .brokers
            .next_session_expiry(self.config.broker_session_timeout);
        let mut consider = |t: SimTime| next = Some(next.map_or(t, |n| n.min(t)));
        consider(self.next_unclean_check);
        if self.config.auto_leader_rebalance_enable {
            consider(self.next_imbalance_check);
        }
        next
    }

    // ---- Inputs --------------------------------------------------------------------------

    /// A broker incarnation registers. It gets a new broker epoch (the offset of its
    /// registration record) and starts fenced. A different incarnation is refused with
    /// `DUPLICATE_BROKER_REGISTRATION` while the old one's session is still valid; once
    /// accepted, the old incarnation is fenced out of every ISR and leadership (⟨3.7+⟩
    /// unclean-shutdown handling), because the new process may have lost its unsynced tail.
    pub fn register_broker(
        &mut self,
        now: SimTime,
        request: BrokerRegistrationRequest,
    ) -> Result<BrokerEpoch, ControllerError> {
        let timeout = self.config.broker_session_timeout;
        if let Some(existing) = self.brokers.get(request.broker) {
            if self.brokers.has_valid_session(request.broker, now, timeout)
                && existing.incarnation != request.incarnation
            {
                return Err(ControllerError::new(
                    ErrorCode::DuplicateBrokerRegistration,
                    "Another broker is registered with that broker id.",
                ));
            }
            if !existing.fenced {
                self.fence(now, request.broker);
            }
        }
        let broker_epoch = BrokerEpoch(self.next_offset.0);
        let registration_offset = self.next_offset;
        self.brokers.insert(BrokerRegistration {
            broker: request.broker,
            incarnation: request.incarnation,
            broker_epoch,
            fenced: true,
            last_contact: now,
            registration_offset,
        });
        self.emit(
            now,
            MetadataRecord::RegisterBroker {
                broker: request.broker,
                broker_epoch,
            },
        );
        Ok(broker_epoch)
    }

    /// A broker heartbeat. It renews the session; a fenced broker that has applied metadata up
    /// to its own registration record is unfenced, and leaderless partitions are retried.
    pub fn heartbeat(
        &mut self,
        now: SimTime,
        request: BrokerHeartbeatRequest,
    ) -> Result<BrokerHeartbeatResponse, ErrorCode> {
        let registration = self
            .brokers
            .get_mut(request.broker)
            .filter(|r| r.broker_epoch == request.broker_epoch)
            .ok_or(ErrorCode::StaleBrokerEpoch)?;
        registration.last_contact = now;
        let is_caught_up = request.current_metadata_offset >= registration.registration_offset;
        if registration.fenced && is_caught_up {
            registration.fenced = false;
            self.emit(
                now,
                MetadataRecord::UnfenceBroker {
                    broker: request.broker,
                    broker_epoch: request.broker_epoch,
                },
            );
            self.elect_leaderless(now, ChangeReason::BrokerUnfenced(request.broker));
        }
        Ok(BrokerHeartbeatResponse {
            is_caught_up,
            is_fenced: !self.brokers.is_unfenced(request.broker),
        })
    }

    /// Creates a topic, placing replicas on the unfenced brokers with Kafka's rack-unaware rule
    /// and the seeded `prng`. Every replica starts in the ISR; the first one leads.
    pub fn create_topic(
        &mut self,
        now: SimTime,
        prng: &mut Prng,
        request: CreateTopic,
    ) -> Result<(), ControllerError> {
        let (partitions, replication_factor) = self.validate_create_topic(&request)?;
        let states: Vec<PartitionState> = if request.assignments.is_empty() {
            let usable = self.brokers.unfenced();
            let start = PlacementStart::random(prng, usable.len() as u32);
            let layout = assign_replicas_to_brokers(
                &usable,
                partitions,
                u32::from(replication_factor),
                start,
            );
            assert_eq!(
                layout.len(),
                partitions as usize,
                "placement after validation"
            );
            layout.into_iter().map(PartitionState::new).collect()
        } else {
            self.manual_partition_states(&request.assignments)?
        };
        self.emit(
            now,
            MetadataRecord::Topic {
                name: request.name.clone(),
                partitions,
                configs: request.configs.clone(),
            },
        );
        for (i, state) in states.iter().enumerate() {
            self.emit(
                now,
                MetadataRecord::Partition {
                    topic_partition: TopicPartition {
                        topic: request.name.clone(),
                        partition: PartitionIndex(i as u32),
                    },
                    state: state.clone(),
                    reason: ChangeReason::Created,
                },
            );
        }
        self.topics.insert(
            request.name,
            Topic {
                configs: request.configs,
                partitions: states,
            },
        );
        Ok(())
    }

    /// `AlterPartition` from a partition leader, validated in the order of Kafka's
    /// `ReplicationControlManager` (`STALE_BROKER_EPOCH`, `UNKNOWN_TOPIC_OR_PARTITION`,
    /// `NOT_CONTROLLER` for epochs from the future, `FENCED_LEADER_EPOCH`, `INVALID_REQUEST`
    /// from a non-leader, `INVALID_UPDATE_VERSION`, `INVALID_REQUEST` for a malformed ISR,
    /// `INELIGIBLE_REPLICA` for fenced, unknown or stale-epoch members). On success the ISR is
    /// installed (partition epoch +1) and the resulting state is returned.
    pub fn alter_partition(
        &mut self,
        now: SimTime,
        request: &AlterPartitionRequest,
    ) -> Result<PartitionState, ErrorCode> {
        if self.brokers.get(request.broker).map(|r| r.broker_epoch) != Some(request.broker_epoch) {
            return Err(ErrorCode::StaleBrokerEpoch);
        }
        let tp = &request.topic_partition;
        let current = self
            .partition(tp)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?
            .clone();
        self.validate_alter_partition(&current, request)?;
        let target: Vec<BrokerId> = request.new_isr.iter().map(|m| m.broker).collect();
        let change = ChangeRequest {
            target_isr: Some(&target),
            election: self.election_for(&tp.topic),
            target_recovery_state: Some(request.leader_recovery_state),
            leader_epoch_bump_on_isr_shrink: self.config.leader_epoch_bump_on_isr_shrink,
        };
        let brokers = &self.brokers;
        let next = current.change(change, |b| brokers.is_unfenced(b));
        match next {
            Some(next) => {
                // Validation made every member eligible and kept the leader in the ISR, so the
                // leader cannot move here.
                assert_eq!(
                    next.leader,
                    Some(request.broker),
                    "AlterPartition moved the leader"
                );
                self.install(
                    now,
                    tp,
                    next.clone(),
                    ChangeReason::AlterPartition(request.broker),
                );
                Ok(next)
            }
            None => Ok(current),
        }
    }

    /// Sets (`Some`) or deletes (`None`) one topic config override (`kafka-configs --alter`).
    pub fn alter_topic_config(
        &mut self,
        now: SimTime,
        topic: &str,
        key: &str,
        value: Option<String>,
    ) -> Result<(), ControllerError> {
        if !self.topics.contains_key(topic) {
            return Err(ControllerError::new(
                ErrorCode::UnknownTopicOrPartition,
                format!("Topic {topic} does not exist."),
            ));
        }
        if let Some(v) = &value {
            validate_config(key, v)?;
        }
        if let Some(t) = self.topics.get_mut(topic) {
            match &value {
                Some(v) => t.configs.insert(key.to_string(), v.clone()),
                None => t.configs.remove(key),
            };
        }
        self.emit(
            now,
            MetadataRecord::TopicConfig {
                name: topic.to_string(),
                key: key.to_string(),
                value,
            },
        );
        Ok(())
    }

    /// `ElectLeaders` (`kafka-leader-election`): per partition, `NONE` when a new leader was
    /// elected, else Kafka's reason (`ELECTION_NOT_NEEDED`, `PREFERRED_LEADER_NOT_AVAILABLE`,
    /// `ELIGIBLE_LEADERS_NOT_AVAILABLE`, `UNKNOWN_TOPIC_OR_PARTITION`).
    pub fn elect_leaders(
        &mut self,
        now: SimTime,
        election_type: ElectionType,
        partitions: &[TopicPartition],
    ) -> Vec<(TopicPartition, ErrorCode)> {
        partitions
            .iter()
            .map(|tp| (tp.clone(), self.elect_one(now, election_type, tp)))
            .collect()
    }

    /// Runs whatever is due at `now`: fences brokers whose session expired (strictly more than
    /// `broker.session.timeout.ms` since their last heartbeat), and the periodic unclean and
    /// preferred elections.
    pub fn on_timer(&mut self, now: SimTime) {
        for broker in self
            .brokers
            .expired_sessions(now, self.config.broker_session_timeout)
        {
            self.fence(now, broker);
        }
        if now >= self.next_unclean_check {
            self.next_unclean_check =
                now.saturating_add(self.config.unclean_leader_election_interval);
            self.elect_leaderless(now, ChangeReason::UncleanElection);
        }
        if self.config.auto_leader_rebalance_enable && now >= self.next_imbalance_check {
            self.next_imbalance_check =
                now.saturating_add(self.config.leader_imbalance_check_interval);
            self.balance_leaders(now);
        }
    }

    /// A new active controller takes over with the next epoch (the metadata log is replicated,
    /// so the state carries over). Like Kafka's newly active controller, it gives every unfenced
    /// broker a fresh session rather than fencing on stale contact times it never observed.
    pub fn fail_over(&mut self, now: SimTime) {
        self.controller_epoch = self.controller_epoch.next();
        let unfenced = self.brokers.unfenced();
        for broker in unfenced {
            if let Some(r) = self.brokers.get_mut(broker) {
                r.last_contact = now;
            }
        }
        self.emit(now, MetadataRecord::ControllerChange);
    }

    // ---- Internals -----------------------------------------------------------------------

    fn emit(&mut self, now: SimTime, record: MetadataRecord) {
        assert!(
            (self.outbox.len() as u64) < u64::from(METADATA_OUTBOX_MAX),
            "controller outbox full: the driver must drain updates after each call"
        );
        let offset = self.next_offset;
        self.next_offset = MetadataOffset(offset.0.saturating_add(1));
        self.outbox.push_back(MetadataUpdate {
            controller_epoch: self.controller_epoch,
            offset,
            at: now,
            record,
        });
    }

    fn election_for(&self, topic: &str) -> Election {
        if self.unclean_leader_election_enabled(topic) {
            Election::Unclean
        } else {
            Election::Clean
        }
    }

    /// Stores a changed partition and emits its record.
    fn install(
        &mut self,
        now: SimTime,
        tp: &TopicPartition,
        state: PartitionState,
        reason: ChangeReason,
    ) {
        state.check();
        if let Some(slot) = self
            .topics
            .get_mut(&tp.topic)
            .and_then(|t| t.partitions.get_mut(tp.partition.0 as usize))
        {
            *slot = state.clone();
        }
        self.emit(
            now,
            MetadataRecord::Partition {
                topic_partition: tp.clone(),
                state,
                reason,
            },
        );
    }

    /// Applies `make(partition)` to every partition (in topic, partition order) and installs
    /// the changes it returns.
    fn change_all(
        &mut self,
        now: SimTime,
        reason: ChangeReason,
        make: impl Fn(&Controller, &str, &PartitionState) -> Option<PartitionState>,
    ) {
        let mut changes = Vec::new();
        for (name, topic) in &self.topics {
            for (i, p) in topic.partitions.iter().enumerate() {
                if let Some(next) = make(self, name, p) {
                    let tp = TopicPartition {
                        topic: name.clone(),
                        partition: PartitionIndex(i as u32),
                    };
                    changes.push((tp, next));
                }
            }
        }
        for (tp, next) in changes {
            self.install(now, &tp, next, reason.clone());
        }
    }

    /// Fences a broker: it leaves every ISR it is in (unless it is the last member) and every
    /// partition it led gets a new leader, or none (R-3 controller side, R-6, R-9).
    fn fence(&mut self, now: SimTime, broker: BrokerId) {
        let Some(registration) = self.brokers.get_mut(broker) else {
            return;
        };
        if registration.fenced {
            return;
        }
        registration.fenced = true;
        let broker_epoch = registration.broker_epoch;
        self.emit(
            now,
            MetadataRecord::FenceBroker {
                broker,
                broker_epoch,
            },
        );
        self.change_all(now, ChangeReason::BrokerFenced(broker), |c, topic, p| {
            if !p.isr.contains(&broker) && p.leader != Some(broker) {
                return None;
            }
            let target: Vec<BrokerId> = p.isr.iter().copied().filter(|b| *b != broker).collect();
            c.change_partition(topic, p, Some(&target), None)
        });
    }

    /// Retries every leaderless partition (after an unfence, and periodically for unclean).
    fn elect_leaderless(&mut self, now: SimTime, reason: ChangeReason) {
        self.change_all(now, reason, |c, topic, p| {
            if !p.is_offline() {
                return None;
            }
            c.change_partition(topic, p, None, None)
        });
    }

    /// Moves leadership back to preferred replicas that are unfenced ISR members.
    fn balance_leaders(&mut self, now: SimTime) {
        self.change_all(now, ChangeReason::PreferredElection, |c, topic, p| {
            if p.leader == p.preferred_leader() {
                return None;
            }
            c.change_partition(topic, p, None, Some(Election::Preferred))
        });
    }

    /// One partition change with the topic's election rule (or `election` when given), leaders
    /// restricted to unfenced brokers.
    fn change_partition(
        &self,
        topic: &str,
        p: &PartitionState,
        target_isr: Option<&[BrokerId]>,
        election: Option<Election>,
    ) -> Option<PartitionState> {
        let request = ChangeRequest {
            target_isr,
            election: election.unwrap_or_else(|| self.election_for(topic)),
            target_recovery_state: None,
            leader_epoch_bump_on_isr_shrink: self.config.leader_epoch_bump_on_isr_shrink,
        };
        p.change(request, |b| self.brokers.is_unfenced(b))
    }

    fn elect_one(
        &mut self,
        now: SimTime,
        election_type: ElectionType,
        tp: &TopicPartition,
    ) -> ErrorCode {
        let Some(p) = self.partition(tp) else {
            return ErrorCode::UnknownTopicOrPartition;
        };
        let (election, not_needed, reason) = match election_type {
            ElectionType::Preferred => (
                Election::Preferred,
                p.leader == p.preferred_leader(),
                ChangeReason::PreferredElection,
            ),
            ElectionType::Unclean => (
                Election::Unclean,
                p.leader.is_some(),
                ChangeReason::UncleanElection,
            ),
        };
        if not_needed {
            return ErrorCode::ElectionNotNeeded;
        }
        let next = self.change_partition(&tp.topic, p, None, Some(election));
        match next {
            Some(next) if next.leader.is_some() && next.leader != p.leader => {
                let moved_to_preferred = next.leader == p.preferred_leader();
                if election_type == ElectionType::Preferred && !moved_to_preferred {
                    return ErrorCode::PreferredLeaderNotAvailable;
                }
                self.install(now, tp, next, reason);
                ErrorCode::None
            }
            _ => match election_type {
                ElectionType::Preferred => ErrorCode::PreferredLeaderNotAvailable,
                ElectionType::Unclean => ErrorCode::EligibleLeadersNotAvailable,
            },
        }
    }

    /// The partitions of a manual assignment, validated as Kafka's
    /// `ReplicationControlManager.createTopic` and `validateManualPartitionAssignment` do: no
    /// empty list, only registered brokers, none twice, every partition with as many replicas
    /// as the first. The ISR is the replicas that are active (registered and unfenced), in
    /// assignment order, and its first member leads; a partition with none is refused.
    fn manual_partition_states(
        &self,
        assignments: &[Vec<BrokerId>],
    ) -> Result<Vec<PartitionState>, ControllerError> {
        let invalid = |m: String| ControllerError::new(ErrorCode::InvalidReplicaAssignment, m);
        let mut replication_factor = None;
        let mut states = Vec::with_capacity(assignments.len());
        for (partition, replicas) in assignments.iter().enumerate() {
            if replicas.is_empty() {
                return Err(invalid(
                    "The manual partition assignment includes an empty replica list.".into(),
                ));
            }
            let mut sorted = replicas.clone();
            sorted.sort_unstable();
            for (i, broker) in sorted.iter().enumerate() {
                if self.brokers.get(*broker).is_none() {
                    return Err(invalid(format!(
                        "The manual partition assignment includes broker {broker}, but no such broker is registered."
                    )));
                }
                if i > 0 && sorted[i - 1] == *broker {
                    return Err(invalid(format!(
                        "The manual partition assignment includes the broker {broker} more than once."
                    )));
                }
            }
            if let Some(expected) = replication_factor {
                if replicas.len() != expected {
                    return Err(invalid(format!(
                        "The manual partition assignment includes a partition with {} replica(s), but this is not consistent with previous partitions, which have {expected} replica(s).",
                        replicas.len()
                    )));
                }
            }
            replication_factor = Some(replicas.len());
            let isr: Vec<BrokerId> = replicas
                .iter()
                .copied()
                .filter(|b| self.brokers.is_unfenced(*b))
                .collect();
            if isr.is_empty() {
                return Err(invalid(format!(
                    "All brokers specified in the manual partition assignment for partition {partition} are fenced or in controlled shutdown."
                )));
            }
            let mut state = PartitionState::new(replicas.clone());
            state.leader = isr.first().copied();
            state.isr = isr;
            state.check();
            states.push(state);
        }
        Ok(states)
    }

    fn validate_create_topic(&self, request: &CreateTopic) -> Result<(u32, u16), ControllerError> {
        validate_topic_name(&request.name)
            .map_err(|m| ControllerError::new(ErrorCode::InvalidTopicException, m))?;
        if self.topics.contains_key(&request.name) {
            return Err(ControllerError::new(
                ErrorCode::TopicAlreadyExists,
                format!("Topic '{}' already exists.", request.name),
            ));
        }
        let partitions = request.partitions.unwrap_or(self.config.num_partitions);
        if partitions == 0 || partitions > TOPIC_PARTITIONS_MAX {
            return Err(ControllerError::new(
                ErrorCode::InvalidPartitions,
                format!("Number of partitions was set to an invalid value: {partitions} (1 to {TOPIC_PARTITIONS_MAX})."),
            ));
        }
        let rf = request
            .replication_factor
            .unwrap_or(self.config.default_replication_factor);
        if rf == 0 {
            return Err(ControllerError::new(
                ErrorCode::InvalidReplicationFactor,
                "Replication factor must be larger than 0.",
            ));
        }
        let usable = self.brokers.unfenced().len();
        if usize::from(rf) > usable {
            return Err(ControllerError::new(
                ErrorCode::InvalidReplicationFactor,
                format!("Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {usable} broker(s) are registered."),
            ));
        }
        for (key, value) in &request.configs {
            validate_config(key, value)?;
        }
        Ok((partitions, rf))
    }

    fn validate_alter_partition(
        &self,
        current: &PartitionState,
        request: &AlterPartitionRequest,
    ) -> Result<(), ErrorCode> {
        // Epochs from the future mean this controller is behind: the leader should find the
        // newer one.
        if request.leader_epoch > current.leader_epoch
            || request.partition_epoch > current.partition_epoch
        {
            return Err(ErrorCode::NotController);
        }
        if request.leader_epoch < current.leader_epoch {
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if current.leader != Some(request.broker) {
            return Err(ErrorCode::InvalidRequest);
        }
        if request.partition_epoch < current.partition_epoch {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        let proposed: Vec<BrokerId> = request.new_isr.iter().map(|m| m.broker).collect();
        let malformed = proposed.is_empty()
            || proposed
                .iter()
                .enumerate()
                .any(|(i, b)| !current.replicas.contains(b) || proposed[..i].contains(b));
        if malformed || !proposed.contains(&request.broker) {
            return Err(ErrorCode::InvalidRequest);
        }
        if request.leader_recovery_state == LeaderRecoveryState::Recovering && proposed.len() > 1 {
            return Err(ErrorCode::InvalidRequest);
        }
        if current.leader_recovery_state == LeaderRecoveryState::Recovered
            && request.leader_recovery_state == LeaderRecoveryState::Recovering
        {
            return Err(ErrorCode::InvalidRequest);
        }
        let ineligible = request
            .new_isr
            .iter()
            .any(|m| match self.brokers.get(m.broker) {
                None => true,
                Some(r) => r.fenced || m.broker_epoch.is_some_and(|e| e != r.broker_epoch),
            });
        if ineligible {
            return Err(ErrorCode::IneligibleReplica);
        }
        Ok(())
    }
}

/// Checks the values of the topic configs the controller acts on; other keys are stored as given
/// (the log layer validates its own).
fn validate_config(key: &str, value: &str) -> Result<(), ControllerError> {
    let ok = match key {
        UNCLEAN_LEADER_ELECTION_ENABLE => value == "true" || value == "false",
        MIN_INSYNC_REPLICAS => value.parse::<u16>().is_ok_and(|n| n >= 1),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(ControllerError::new(
            ErrorCode::InvalidConfig,
            format!("Invalid value {value} for configuration {key}"),
        ))
    }
}
