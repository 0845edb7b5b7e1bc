//! Guided lessons: narrated steps on a small cluster, each ending in a checkpoint (a `Goal`)
//! that the learner reaches by playing the clock or acting on the cluster, then free play from
//! the same state. A lesson is plain data (the web worker posts it to the page); `goal_met`
//! evaluates a checkpoint against a running `Session`, and `describe_goal` labels it.
//!
//! Some goals are relative to the moment their step starts ("run 5 s more", "the high
//! watermark grows by 10"): when a step becomes current, the UI calls `anchor` once and
//! evaluates the anchored goal from then on. An unanchored relative goal counts from time 0
//! and offset 0.
//!
//! Every lesson's story is checked against the engine by the tests, which play each lesson as
//! a learner would: the broker ids named in the narration are the lesson seed's placement.

use super::timeline::{Finding, Session};
use crate::client::partitioner::partition_for_key;
use crate::client::producer::{Acks, ProducerConfig};
use crate::ids::PartitionIndex;
use crate::sim::cluster::scenario::{
    Action, AutoOffsetReset, BrokerSettings, ClusterScenario, ConsumerSpec, Expectations,
    ProducerSpec, TopicSpec,
};
use crate::sim::cluster::view::{BrokerState, ClusterView, PartitionView, TxnSpanKind};
use crate::sim::network::NetworkConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Lesson scenarios run this long: time for free play after the last step.
const LESSON_DURATION_MS: u64 = 600_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub scenario: ClusterScenario,
    pub seed: u64,
    pub steps: Vec<LessonStep>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonStep {
    pub title: String,
    /// Paragraphs of plain text (no HTML).
    pub narration: Vec<String>,
    /// What the learner is asked to do: the UI offers it as a button and also accepts the
    /// learner doing it with the normal controls (the goal checks the cluster, not the button).
    pub action: Option<Action>,
    /// The checkpoint.
    pub goal: Goal,
    pub hint: String,
    /// Shown once the goal is met: what the learner just saw and why.
    pub after: Vec<String>,
}

/// The kind of an `Action`, without its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    CrashBroker,
    CrashLeader,
    RestartBroker,
    PauseBroker,
    ResumeBroker,
    SlowDisk,
    SkewClock,
    PartitionLeaderFromFollowers,
    PartitionLeaderFromCluster,
    Partition,
    PartitionOneWay,
    DropInFlight,
    Isolate,
    Heal,
    SetNetwork,
    PauseConsumers,
    ResumeConsumers,
    StopProducers,
    FreezeProducer,
    AddConsumer,
    StopConsumer,
    CrashConsumer,
    RestartConsumer,
    StallConsumer,
    FreezeConsumer,
    CommitOffsets,
    SeekConsumer,
}

impl ActionKind {
    pub fn of(action: &Action) -> ActionKind {
        match action {
            Action::CrashBroker { .. } => ActionKind::CrashBroker,
            Action::CrashLeader { .. } => ActionKind::CrashLeader,
            Action::RestartBroker { .. } | Action::RestartCrashedBrokers => {
                ActionKind::RestartBroker
            }
            Action::PauseBroker { .. } => ActionKind::PauseBroker,
            Action::ResumeBroker { .. } => ActionKind::ResumeBroker,
            Action::SlowDisk { .. } => ActionKind::SlowDisk,
            Action::SkewClock { .. } => ActionKind::SkewClock,
            Action::PartitionLeaderFromFollowers { .. } => ActionKind::PartitionLeaderFromFollowers,
            Action::PartitionLeaderFromCluster { .. } => ActionKind::PartitionLeaderFromCluster,
            Action::Partition { .. } => ActionKind::Partition,
            Action::PartitionOneWay { .. } => ActionKind::PartitionOneWay,
            Action::DropInFlight { .. }
            | Action::DropMessage { .. }
            | Action::DelayNextProduce { .. }
            | Action::DelayNextEndTxn { .. } => ActionKind::DropInFlight,
            Action::Isolate { .. } => ActionKind::Isolate,
            Action::Heal => ActionKind::Heal,
            Action::SetNetwork { .. } => ActionKind::SetNetwork,
            Action::PauseConsumers => ActionKind::PauseConsumers,
            Action::ResumeConsumers => ActionKind::ResumeConsumers,
            Action::StopProducers => ActionKind::StopProducers,
            Action::FreezeProducer { .. } => ActionKind::FreezeProducer,
            Action::AddConsumer { .. } => ActionKind::AddConsumer,
            Action::StopConsumer { .. } => ActionKind::StopConsumer,
            Action::CrashConsumer { .. } => ActionKind::CrashConsumer,
            Action::RestartConsumer { .. } => ActionKind::RestartConsumer,
            Action::StallConsumer { .. } => ActionKind::StallConsumer,
            Action::FreezeConsumer { .. } => ActionKind::FreezeConsumer,
            Action::CommitOffsets { .. } => ActionKind::CommitOffsets,
            Action::SeekConsumer { .. } => ActionKind::SeekConsumer,
        }
    }

    /// What the learner does, as a label ("crash a broker").
    pub fn label(self) -> &'static str {
        match self {
            ActionKind::CrashBroker => "Crash a broker",
            ActionKind::CrashLeader => "Crash the partition's leader",
            ActionKind::RestartBroker => "Restart a broker",
            ActionKind::PauseBroker => "Pause a broker",
            ActionKind::ResumeBroker => "Resume a broker",
            ActionKind::SlowDisk => "Slow down a disk",
            ActionKind::SkewClock => "Skew a clock",
            ActionKind::PartitionLeaderFromFollowers => "Cut the leader off from its followers",
            ActionKind::PartitionLeaderFromCluster => "Cut the leader off from the cluster",
            ActionKind::Partition => "Partition the network",
            ActionKind::PartitionOneWay => "Cut a link one way",
            ActionKind::DropInFlight => "Drop messages in flight",
            ActionKind::Isolate => "Isolate a node",
            ActionKind::Heal => "Heal the network",
            ActionKind::SetNetwork => "Change the network's faults",
            ActionKind::PauseConsumers => "Pause the consumers",
            ActionKind::ResumeConsumers => "Resume the consumers",
            ActionKind::StopProducers => "Stop the producers",
            ActionKind::FreezeProducer => "Freeze a producer (GC pause)",
            ActionKind::AddConsumer => "Add a consumer",
            ActionKind::StopConsumer => "Close a consumer",
            ActionKind::CrashConsumer => "Crash a consumer",
            ActionKind::RestartConsumer => "Restart a consumer",
            ActionKind::StallConsumer => "Stall a consumer's poll loop",
            ActionKind::FreezeConsumer => "Freeze a consumer (GC pause)",
            ActionKind::CommitOffsets => "Commit offsets",
            ActionKind::SeekConsumer => "Seek a consumer",
        }
    }
}

/// A checkpoint: a condition on the running session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Goal {
    /// The learner ran the clock this far.
    Play {
        until_ms: u64,
    },
    /// Relative: the learner ran the clock this much longer than when the step started.
    PlayFor {
        ms: u64,
    },
    /// The learner took an action of this kind (on this timeline).
    ActionTaken(ActionKind),
    /// A broker other than the preferred leader (the first assigned replica, which leads when
    /// the cluster starts) leads the partition.
    LeaderChanged {
        topic: String,
        partition: u32,
    },
    LeaderEpochAtLeast {
        topic: String,
        partition: u32,
        epoch: i32,
    },
    /// The partition has no leader.
    PartitionOffline {
        topic: String,
        partition: u32,
    },
    /// The partition has a leader.
    PartitionOnline {
        topic: String,
        partition: u32,
    },
    /// The controller elected a leader outside the ISR for this partition.
    UncleanElection {
        topic: String,
        partition: u32,
    },
    BrokerState {
        broker: u32,
        state: BrokerState,
    },
    IsrSizeAtMost {
        topic: String,
        partition: u32,
        size: u32,
    },
    IsrSizeAtLeast {
        topic: String,
        partition: u32,
        size: u32,
    },
    HighWatermarkAtLeast {
        topic: String,
        partition: u32,
        offset: u64,
    },
    /// Relative: the high watermark grew this much since the step started.
    HighWatermarkGrows {
        topic: String,
        partition: u32,
        by: u64,
    },
    LogEndOffsetAtLeast {
        topic: String,
        partition: u32,
        offset: u64,
    },
    /// The leader's log end offset is at least `by` ahead of its high watermark: records
    /// appended (and, with acks=1, acknowledged) that no follower has fetched.
    LogEndOffsetAhead {
        topic: String,
        partition: u32,
        by: u64,
    },
    /// The record just below the high watermark was written in this leader epoch or a later
    /// one: producers found the new leader and its writes are replicated.
    HighWatermarkInEpoch {
        topic: String,
        partition: u32,
        epoch: i32,
    },
    /// Every consumer of the topic has its position on this partition at least here.
    ConsumerOffsetAtLeast {
        topic: String,
        partition: u32,
        offset: u64,
    },
    /// Some consumer of the topic is at least `lag` records below the high watermark.
    ConsumerLagAtLeast {
        topic: String,
        partition: u32,
        lag: u64,
    },
    /// Every consumer of the topic has read up to the high watermark (which is above 0).
    ConsumerCaughtUp {
        topic: String,
        partition: u32,
    },
    /// A consumer's position validation found the log truncated under it (R-12, KIP-320).
    LogTruncationDetected,
    /// This error reached a producer (Kafka's name: `NOT_ENOUGH_REPLICAS`).
    ProducerError {
        name: String,
    },
    /// The live checker found this anomaly (in `topic`, when given); `legal`: the
    /// configuration excuses it.
    Finding {
        kind: String,
        legal: bool,
        topic: Option<String>,
    },
    /// The clock reached `until_ms` and the checker found no such anomaly.
    NoFinding {
        kind: String,
        topic: Option<String>,
        until_ms: u64,
    },
    /// Relative: `NoFinding` for `ms` more of simulated time.
    NoFindingFor {
        kind: String,
        topic: Option<String>,
        ms: u64,
    },
    /// No cut links and no random drops or duplicates.
    NetworkHealthy,
    /// Consumer groups: the group is Stable with at least this many members, and every
    /// partition of its topic has an owner.
    GroupStable {
        group: String,
        members: u32,
    },
    GroupGenerationAtLeast {
        group: String,
        generation: i32,
    },
    GroupGenerationAtMost {
        group: String,
        generation: i32,
    },
    /// Consumer `consumer` runs and owns at least `count` partitions.
    MemberOwnsAtLeast {
        consumer: u32,
        count: u32,
    },
    /// Consumer `consumer` runs, is in its group, and owns no partition.
    MemberIdle {
        consumer: u32,
    },
    /// The group's committed offset for the partition is at least `offset`.
    CommittedOffsetAtLeast {
        group: String,
        topic: String,
        partition: u32,
        offset: u64,
    },
    /// The group's lag (`kafka-consumer-groups --describe`, summed) is at least `lag`.
    GroupLagAtLeast {
        group: String,
        lag: u64,
    },
    /// Members of a group read at least `values` records that the group had read before.
    ReprocessedAtLeast {
        values: u64,
    },
    /// A group answer carried this error to a consumer (`FENCED_INSTANCE_ID`).
    ConsumerGroupError {
        name: String,
    },
    /// The transactional id's coordinator has it in this state (Kafka's name: `Ongoing`,
    /// `CompleteCommit` ...).
    TransactionState {
        transactional_id: String,
        state: String,
    },
    /// The transactional id's producer epoch at its coordinator reached `epoch` (an
    /// InitProducerId or a timeout abort bumped it).
    TransactionEpochAtLeast {
        transactional_id: String,
        epoch: i16,
    },
    /// The leader's log of the partition holds a COMMIT marker (or, with `abort`, an ABORT
    /// marker) among its newest offsets.
    TransactionMarker {
        topic: String,
        partition: u32,
        abort: bool,
    },
    /// The partition's last stable offset is at least `by` below its high watermark: an open
    /// transaction holds read_committed consumers back.
    LastStableOffsetBehind {
        topic: String,
        partition: u32,
        by: u64,
    },
    /// The transactional producer `producer` failed with a fatal error (fenced).
    ProducerFenced {
        producer: u32,
    },
    All(Vec<Goal>),
    Any(Vec<Goal>),
}

/// The goal to evaluate for a step that starts now: relative goals become absolute ones.
pub fn anchor(goal: &Goal, session: &Session) -> Goal {
    let view = session.view();
    anchor_in(goal, &view)
}

fn anchor_in(goal: &Goal, view: &ClusterView) -> Goal {
    match goal {
        Goal::PlayFor { ms } => Goal::Play {
            until_ms: view.time_ms.saturating_add(*ms),
        },
        Goal::HighWatermarkGrows {
            topic,
            partition,
            by,
        } => Goal::HighWatermarkAtLeast {
            topic: topic.clone(),
            partition: *partition,
            offset: partition_of(view, topic, *partition)
                .map_or(0, |p| p.high_watermark)
                .saturating_add(*by),
        },
        Goal::NoFindingFor { kind, topic, ms } => Goal::NoFinding {
            kind: kind.clone(),
            topic: topic.clone(),
            until_ms: view.time_ms.saturating_add(*ms),
        },
        Goal::All(goals) => Goal::All(goals.iter().map(|g| anchor_in(g, view)).collect()),
        Goal::Any(goals) => Goal::Any(goals.iter().map(|g| anchor_in(g, view)).collect()),
        other => other.clone(),
    }
}

/// Whether the session has reached the checkpoint. Reads the view, the timeline, the
/// producers' errors, and the live checker only when the goal needs findings (it costs
/// O(history)).
pub fn goal_met(goal: &Goal, session: &Session) -> bool {
    let mut facts = Facts {
        session,
        view: session.view(),
        findings: None,
    };
    facts.met(goal)
}

struct Facts<'a> {
    session: &'a Session,
    view: ClusterView,
    findings: Option<Vec<Finding>>,
}

fn partition_of<'v>(
    view: &'v ClusterView,
    topic: &str,
    partition: u32,
) -> Option<&'v PartitionView> {
    view.partitions
        .iter()
        .find(|p| p.topic == topic && p.partition == partition)
}

impl Facts<'_> {
    fn partition(&self, topic: &str, partition: u32) -> Option<&PartitionView> {
        partition_of(&self.view, topic, partition)
    }

    /// Positions of every consumer of `topic` on `partition` (none: no consumer reads it).
    fn positions(&self, topic: &str, partition: u32) -> Vec<u64> {
        self.view
            .consumers
            .iter()
            .filter(|c| c.topic == topic)
            .flat_map(|c| c.positions.iter().filter(|p| p.partition == partition))
            .map(|p| p.offset)
            .collect()
    }

    fn findings(&mut self) -> &[Finding] {
        let session = self.session;
        self.findings
            .get_or_insert_with(|| session.live_check().findings)
    }

    fn has_finding(&mut self, kind: &str, topic: Option<&str>, legal: Option<bool>) -> bool {
        self.findings().iter().any(|f| {
            f.kind == kind
                && topic.is_none_or(|t| f.topic == t)
                && legal.is_none_or(|l| f.legal_because.is_some() == l)
        })
    }

    fn met(&mut self, goal: &Goal) -> bool {
        let now = self.view.time_ms;
        match goal {
            Goal::Play { until_ms } => now >= *until_ms,
            Goal::PlayFor { ms } => now >= *ms,
            Goal::ActionTaken(kind) => self
                .session
                .user_steps()
                .iter()
                .any(|s| ActionKind::of(&s.action) == *kind),
            Goal::LeaderChanged { topic, partition } => {
                self.partition(topic, *partition).is_some_and(|p| {
                    p.leader
                        .is_some_and(|l| p.replicas.first().is_some_and(|first| *first != l))
                })
            }
            Goal::LeaderEpochAtLeast {
                topic,
                partition,
                epoch,
            } => self
                .partition(topic, *partition)
                .is_some_and(|p| p.leader_epoch >= *epoch),
            Goal::PartitionOffline { topic, partition } => self
                .partition(topic, *partition)
                .is_some_and(|p| p.leader.is_none()),
            Goal::PartitionOnline { topic, partition } => self
                .partition(topic, *partition)
                .is_some_and(|p| p.leader.is_some()),
            Goal::UncleanElection { topic, partition } => self
                .session
                .sim()
                .unclean_elections()
                .iter()
                .any(|tp| tp.topic == *topic && tp.partition == PartitionIndex(*partition)),
            Goal::BrokerState { broker, state } => self
                .view
                .brokers
                .iter()
                .any(|b| b.id == *broker && b.state == *state),
            Goal::IsrSizeAtMost {
                topic,
                partition,
                size,
            } => self
                .partition(topic, *partition)
                .is_some_and(|p| p.isr.len() as u32 <= *size),
            Goal::IsrSizeAtLeast {
                topic,
                partition,
                size,
            } => self
                .partition(topic, *partition)
                .is_some_and(|p| p.isr.len() as u32 >= *size),
            Goal::HighWatermarkAtLeast {
                topic,
                partition,
                offset,
            } => self
                .partition(topic, *partition)
                .is_some_and(|p| p.leader.is_some() && p.high_watermark >= *offset),
            Goal::HighWatermarkGrows {
                topic,
                partition,
                by,
            } => self
                .partition(topic, *partition)
                .is_some_and(|p| p.leader.is_some() && p.high_watermark >= *by),
            Goal::LogEndOffsetAtLeast {
                topic,
                partition,
                offset,
            } => self
                .partition(topic, *partition)
                .is_some_and(|p| p.leader.is_some() && p.log_end_offset >= *offset),
            Goal::LogEndOffsetAhead {
                topic,
                partition,
                by,
            } => self.partition(topic, *partition).is_some_and(|p| {
                p.leader.is_some() && p.log_end_offset >= p.high_watermark.saturating_add(*by)
            }),
            Goal::HighWatermarkInEpoch {
                topic,
                partition,
                epoch,
            } => self.high_watermark_in_epoch(topic, *partition, *epoch),
            Goal::ConsumerOffsetAtLeast {
                topic,
                partition,
                offset,
            } => {
                let positions = self.positions(topic, *partition);
                !positions.is_empty() && positions.iter().all(|p| p >= offset)
            }
            Goal::ConsumerLagAtLeast {
                topic,
                partition,
                lag,
            } => {
                let hw = self
                    .partition(topic, *partition)
                    .map_or(0, |p| p.high_watermark);
                self.positions(topic, *partition)
                    .iter()
                    .any(|p| hw >= p.saturating_add(*lag))
            }
            Goal::ConsumerCaughtUp { topic, partition } => {
                let Some(hw) = self
                    .partition(topic, *partition)
                    .filter(|p| p.leader.is_some())
                    .map(|p| p.high_watermark)
                else {
                    return false;
                };
                let positions = self.positions(topic, *partition);
                hw > 0 && !positions.is_empty() && positions.iter().all(|p| *p >= hw)
            }
            Goal::LogTruncationDetected => !self.session.sim().log_truncations().is_empty(),
            Goal::ProducerError { name } => self
                .session
                .sim()
                .producer_errors()
                .get(name.as_str())
                .is_some_and(|n| *n > 0),
            Goal::Finding { kind, legal, topic } => {
                self.has_finding(kind, topic.as_deref(), Some(*legal))
            }
            Goal::NoFinding {
                kind,
                topic,
                until_ms,
            } => now >= *until_ms && !self.has_finding(kind, topic.as_deref(), None),
            Goal::NoFindingFor { kind, topic, ms } => {
                now >= *ms && !self.has_finding(kind, topic.as_deref(), None)
            }
            Goal::NetworkHealthy => {
                let n = &self.view.network;
                n.cut_links.is_empty()
                    && n.isolated.is_empty()
                    && n.drop.is_empty()
                    && n.duplicate.is_empty()
            }
            Goal::GroupStable { group, members } => self.group(group).is_some_and(|g| {
                g.state == "Stable"
                    && g.members >= *members
                    && !g.rows.is_empty()
                    && g.rows.iter().all(|r| r.consumer_id.is_some())
            }),
            Goal::GroupGenerationAtLeast { group, generation } => self
                .group(group)
                .is_some_and(|g| g.generation >= *generation),
            Goal::GroupGenerationAtMost { group, generation } => self
                .group(group)
                .is_some_and(|g| g.generation >= 0 && g.generation <= *generation),
            Goal::MemberOwnsAtLeast { consumer, count } => self
                .member(*consumer)
                .is_some_and(|m| m.owned.len() as u32 >= *count),
            Goal::MemberIdle { consumer } => self
                .member(*consumer)
                .is_some_and(|m| m.state == "STABLE" && m.owned.is_empty()),
            Goal::CommittedOffsetAtLeast {
                group,
                topic,
                partition,
                offset,
            } => self.group(group).is_some_and(|g| {
                g.rows.iter().any(|r| {
                    r.topic == *topic
                        && r.partition == *partition
                        && r.current_offset.is_some_and(|o| o >= *offset as i64)
                })
            }),
            Goal::GroupLagAtLeast { group, lag } => self
                .group(group)
                .is_some_and(|g| g.rows.iter().filter_map(|r| r.lag).sum::<i64>() >= *lag as i64),
            Goal::ReprocessedAtLeast { values } => {
                crate::check::groups::check_groups(
                    self.session.sim().history(),
                    &std::collections::BTreeMap::new(),
                )
                .reprocessed
                    >= *values
            }
            Goal::ConsumerGroupError { name } => self.view.consumers.iter().any(|c| {
                c.member
                    .as_ref()
                    .is_some_and(|m| m.errors.iter().any(|(n, k)| n == name && *k > 0))
            }),
            Goal::TransactionState {
                transactional_id,
                state,
            } => self
                .view
                .transactions
                .iter()
                .any(|t| t.transactional_id == *transactional_id && t.state == *state),
            Goal::TransactionEpochAtLeast {
                transactional_id,
                epoch,
            } => self
                .view
                .transactions
                .iter()
                .any(|t| t.transactional_id == *transactional_id && t.producer_epoch >= *epoch),
            Goal::TransactionMarker {
                topic,
                partition,
                abort,
            } => {
                let wanted = if *abort {
                    TxnSpanKind::AbortMarker
                } else {
                    TxnSpanKind::CommitMarker
                };
                self.leader_replica(topic, *partition)
                    .is_some_and(|r| r.txn_spans.iter().any(|s| s.kind == wanted))
            }
            Goal::LastStableOffsetBehind {
                topic,
                partition,
                by,
            } => self
                .leader_replica(topic, *partition)
                .is_some_and(|r| r.high_watermark >= r.last_stable_offset + *by),
            Goal::ProducerFenced { producer } => self.view.producers.iter().any(|p| {
                p.index == *producer && p.transaction.as_ref().is_some_and(|t| t.fatal.is_some())
            }),
            Goal::All(goals) => goals.iter().all(|g| self.met(g)),
            Goal::Any(goals) => goals.iter().any(|g| self.met(g)),
        }
    }

    /// The leader's replica of a partition, while it has one.
    fn leader_replica(
        &self,
        topic: &str,
        partition: u32,
    ) -> Option<&crate::sim::cluster::view::ReplicaView> {
        let p = self.partition(topic, partition)?;
        let leader = p.leader?;
        p.replica_logs.iter().find(|r| {
            r.broker == leader && r.role == crate::sim::cluster::view::ReplicaRole::Leader
        })
    }

    fn group(&self, id: &str) -> Option<&crate::sim::cluster::view::GroupDescription> {
        self.view
            .groups
            .iter()
            .find(|g| g.group_id == id && g.coordinator.is_some())
    }

    /// A running consumer's membership.
    fn member(&self, consumer: u32) -> Option<&crate::sim::cluster::view::MemberView> {
        self.view
            .consumers
            .iter()
            .find(|c| c.index == consumer && c.alive)
            .and_then(|c| c.member.as_ref())
    }

    fn high_watermark_in_epoch(&self, topic: &str, partition: u32, epoch: i32) -> bool {
        let Some((leader, hw)) = self
            .partition(topic, partition)
            .and_then(|p| p.leader.map(|l| (l, p.high_watermark)))
        else {
            return false;
        };
        hw > 0
            && self
                .session
                .records(topic, partition, leader, hw - 1, hw)
                .iter()
                .any(|r| r.partition_leader_epoch >= epoch)
    }
}

/// The checkpoint as a label ("Crash the leader of t-0" style), plain text.
pub fn describe_goal(goal: &Goal) -> String {
    let seconds = |ms: u64| {
        // Tenths are enough to read; an anchored goal (now + 10 s) is rarely a whole second.
        if ms.is_multiple_of(1000) {
            format!("{} s", ms / 1000)
        } else {
            format!("{}.{} s", ms / 1000, (ms % 1000).div_ceil(100).min(9))
        }
    };
    let in_topic = |topic: &Option<String>| {
        topic
            .as_ref()
            .map_or_else(String::new, |t| format!(" in topic {t}"))
    };
    match goal {
        Goal::Play { until_ms } => format!("Run the clock to {}", seconds(*until_ms)),
        Goal::PlayFor { ms } => format!("Run the clock for {} more", seconds(*ms)),
        Goal::ActionTaken(kind) => kind.label().to_owned(),
        Goal::LeaderChanged { topic, partition } => {
            format!("A new leader takes over {topic}-{partition}")
        }
        Goal::LeaderEpochAtLeast {
            topic,
            partition,
            epoch,
        } => format!("The leader epoch of {topic}-{partition} reaches {epoch}"),
        Goal::PartitionOffline { topic, partition } => {
            format!("{topic}-{partition} goes offline (no leader)")
        }
        Goal::PartitionOnline { topic, partition } => {
            format!("{topic}-{partition} has a leader again")
        }
        Goal::UncleanElection { topic, partition } => {
            format!("The controller elects an out-of-sync replica to lead {topic}-{partition}")
        }
        Goal::BrokerState { broker, state } => {
            let state = match state {
                BrokerState::Up => "is up",
                BrokerState::Starting => "is starting",
                BrokerState::Fenced => "is fenced",
                BrokerState::Paused => "is paused",
                BrokerState::Crashed => "has crashed",
            };
            format!("Broker {broker} {state}")
        }
        Goal::IsrSizeAtMost {
            topic,
            partition,
            size,
        } => format!("The ISR of {topic}-{partition} shrinks to {size} replica(s) or fewer"),
        Goal::IsrSizeAtLeast {
            topic,
            partition,
            size,
        } => format!("The ISR of {topic}-{partition} grows back to {size} replica(s)"),
        Goal::HighWatermarkAtLeast {
            topic,
            partition,
            offset,
        } => format!("The high watermark of {topic}-{partition} reaches {offset}"),
        Goal::HighWatermarkGrows {
            topic,
            partition,
            by,
        } => format!("The high watermark of {topic}-{partition} grows by {by}"),
        Goal::LogEndOffsetAtLeast {
            topic,
            partition,
            offset,
        } => format!("The log end offset of {topic}-{partition} reaches {offset}"),
        Goal::LogEndOffsetAhead {
            topic,
            partition,
            by,
        } => {
            format!("The leader of {topic}-{partition} holds {by} records above the high watermark")
        }
        Goal::HighWatermarkInEpoch {
            topic,
            partition,
            epoch,
        } => {
            format!("Records written in leader epoch {epoch} of {topic}-{partition} are replicated")
        }
        Goal::ConsumerOffsetAtLeast {
            topic,
            partition,
            offset,
        } => format!("The consumer of {topic}-{partition} reaches offset {offset}"),
        Goal::ConsumerLagAtLeast {
            topic,
            partition,
            lag,
        } => format!("The consumer of {topic}-{partition} falls {lag} records behind"),
        Goal::ConsumerCaughtUp { topic, partition } => {
            format!("The consumer of {topic}-{partition} catches up with the high watermark")
        }
        Goal::LogTruncationDetected => {
            "A consumer detects that the log was truncated under it".to_owned()
        }
        Goal::ProducerError { name } => format!("A producer gets {name}"),
        Goal::Finding { kind, legal, topic } => format!(
            "The checker flags {kind}{} ({})",
            in_topic(topic),
            if *legal {
                "legal for this configuration"
            } else {
                "a bug"
            }
        ),
        Goal::NoFinding {
            kind,
            topic,
            until_ms,
        } => format!("No {kind}{} up to {}", in_topic(topic), seconds(*until_ms)),
        Goal::NoFindingFor { kind, topic, ms } => {
            format!("No {kind}{} for {} more", in_topic(topic), seconds(*ms))
        }
        Goal::NetworkHealthy => "The network is healthy again".to_owned(),
        Goal::GroupStable { group, members } => {
            format!("Group {group} is Stable with {members} member(s) and every partition owned")
        }
        Goal::GroupGenerationAtLeast { group, generation } => {
            format!("Group {group} reaches generation {generation}")
        }
        Goal::GroupGenerationAtMost { group, generation } => {
            format!("Group {group} stays at generation {generation} or below")
        }
        Goal::MemberOwnsAtLeast { consumer, count } => {
            format!("Consumer {consumer} owns {count} partition(s) or more")
        }
        Goal::MemberIdle { consumer } => {
            format!("Consumer {consumer} is in the group but owns no partition")
        }
        Goal::CommittedOffsetAtLeast {
            group,
            topic,
            partition,
            offset,
        } => format!("Group {group} has committed offset {offset} or more on {topic}-{partition}"),
        Goal::GroupLagAtLeast { group, lag } => format!("Group {group} lags {lag} records or more"),
        Goal::ReprocessedAtLeast { values } => {
            format!("A group reads {values} record(s) a second time")
        }
        Goal::ConsumerGroupError { name } => format!("A consumer gets {name}"),
        Goal::TransactionState {
            transactional_id,
            state,
        } => format!("The coordinator has transactional.id {transactional_id} in state {state}"),
        Goal::TransactionEpochAtLeast {
            transactional_id,
            epoch,
        } => format!("The producer epoch of transactional.id {transactional_id} reaches {epoch}"),
        Goal::TransactionMarker {
            topic,
            partition,
            abort,
        } => format!(
            "{} marker lands in {topic}-{partition}",
            if *abort { "An ABORT" } else { "A COMMIT" }
        ),
        Goal::LastStableOffsetBehind {
            topic,
            partition,
            by,
        } => format!("The LSO of {topic}-{partition} is {by} or more below the high watermark"),
        Goal::ProducerFenced { producer } => format!("Producer {producer} is fenced"),
        Goal::All(goals) => join_labels(goals, ", and "),
        Goal::Any(goals) => join_labels(goals, ", or "),
    }
}

/// Labels of several goals as one sentence: later ones start in lower case.
fn join_labels(goals: &[Goal], separator: &str) -> String {
    let mut out = String::new();
    for (i, goal) in goals.iter().enumerate() {
        let label = describe_goal(goal);
        if i == 0 {
            out.push_str(&label);
            continue;
        }
        out.push_str(separator);
        let mut chars = label.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_lowercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

// ---- Scenario building blocks --------------------------------------------------------------

pub(crate) fn cluster(
    name: &str,
    description: &str,
    brokers: u32,
    broker: BrokerSettings,
    topics: Vec<TopicSpec>,
    producers: Vec<ProducerSpec>,
    consumers: Vec<ConsumerSpec>,
) -> ClusterScenario {
    ClusterScenario {
        scenario: "cluster".to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        seed: None,
        duration_ms: LESSON_DURATION_MS,
        brokers,
        broker,
        network: NetworkConfig::default(),
        topics,
        producers,
        consumers,
        steps: Vec::new(),
        expect: Expectations::default(),
    }
}

pub(crate) fn topic(
    name: &str,
    partitions: u32,
    replication_factor: u16,
    config: &[(&str, &str)],
) -> TopicSpec {
    TopicSpec {
        name: name.to_owned(),
        partitions,
        replication_factor,
        config: config
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        replica_assignment: Vec::new(),
    }
}

/// A producer of one record every `interval_ms` (min, max), with `keys` keys (0: null keys).
pub(crate) fn producer(
    topic: &str,
    keys: u32,
    interval_ms: (u64, u64),
    config: ProducerConfig,
) -> ProducerSpec {
    ProducerSpec {
        topic: topic.to_owned(),
        config,
        interval_ms_min: interval_ms.0,
        interval_ms_max: interval_ms.1,
        keys,
        records_max: None,
        stop_ms: None,
        value_bytes: None,
        start_ms: None,
        transactions: Default::default(),
    }
}

pub(crate) fn consumer(topic: &str, poll_interval_ms: u64) -> ConsumerSpec {
    ConsumerSpec {
        poll_interval_ms,
        auto_offset_reset: AutoOffsetReset::Earliest,
        ..ConsumerSpec::assign(topic)
    }
}

/// acks=all with idempotence: Kafka's default producer.
pub(crate) fn safe_producer_config() -> ProducerConfig {
    ProducerConfig {
        acks: Acks::All,
        enable_idempotence: Some(true),
        ..ProducerConfig::default()
    }
}

/// acks=1 without idempotence (which needs acks=all).
pub(crate) fn acks1_config() -> ProducerConfig {
    ProducerConfig {
        acks: Acks::Leader,
        enable_idempotence: Some(false),
        ..ProducerConfig::default()
    }
}

fn text(paragraphs: &[&str]) -> Vec<String> {
    paragraphs.iter().map(|p| (*p).to_owned()).collect()
}

fn step(
    title: &str,
    narration: Vec<String>,
    action: Option<Action>,
    goal: Goal,
    hint: &str,
    after: Vec<String>,
) -> LessonStep {
    LessonStep {
        title: title.to_owned(),
        narration,
        action,
        goal,
        hint: hint.to_owned(),
        after,
    }
}

fn free_play(what_to_try: &[&str]) -> LessonStep {
    let mut narration = text(&[
        "That is the lesson. You are now in free play from this exact state: the cluster keeps running, every control is yours, and you can scrub the timeline back to any moment of the lesson and try something else (acting in the past forks a new timeline).",
    ]);
    narration.extend(what_to_try.iter().map(|p| (*p).to_owned()));
    step(
        "Free play",
        narration,
        None,
        Goal::PlayFor { ms: 10_000 },
        "Press play, or use any control: nothing you do here can break the lesson.",
        text(&[
            "Keep going as long as you like; the scenario runs for 10 minutes of simulated time.",
        ]),
    )
}

fn hw(topic: &str, partition: u32, offset: u64) -> Goal {
    Goal::HighWatermarkAtLeast {
        topic: topic.to_owned(),
        partition,
        offset,
    }
}

fn isr_at_most(topic: &str, partition: u32, size: u32) -> Goal {
    Goal::IsrSizeAtMost {
        topic: topic.to_owned(),
        partition,
        size,
    }
}

fn isr_at_least(topic: &str, partition: u32, size: u32) -> Goal {
    Goal::IsrSizeAtLeast {
        topic: topic.to_owned(),
        partition,
        size,
    }
}

fn leader_changed(topic: &str, partition: u32) -> Goal {
    Goal::LeaderChanged {
        topic: topic.to_owned(),
        partition,
    }
}

fn finding(kind: &str, legal: bool, topic: Option<&str>) -> Goal {
    Goal::Finding {
        kind: kind.to_owned(),
        legal,
        topic: topic.map(str::to_owned),
    }
}

/// Every guided lesson, in teaching order.
pub fn lessons() -> Vec<Lesson> {
    vec![
        log_and_offsets(),
        partitions_and_keys(),
        replication_and_isr(),
        acks_and_min_isr(),
        leader_failover(),
        acks1_data_loss(),
        unclean_election(),
        idempotent_producer(),
    ]
    .into_iter()
    .chain(groups::lessons())
    .chain(transactions::lessons())
    .collect()
}

// ---- The scenarios ---------------------------------------------------------------------------

fn scenario_log() -> ClusterScenario {
    cluster(
        "Lesson: the log and offsets",
        "One broker, one partition, one producer appending a record about every half second and one consumer reading them.",
        1,
        BrokerSettings::default(),
        vec![topic("events", 1, 1, &[])],
        vec![producer("events", 1, (400, 600), safe_producer_config())],
        vec![consumer("events", 200)],
    )
}

fn scenario_keys() -> ClusterScenario {
    let null_keys = ProducerConfig {
        batch_size: 512,
        ..safe_producer_config()
    };
    let mut sticky = producer("orders", 0, (300, 500), null_keys);
    sticky.value_bytes = Some(200);
    cluster(
        "Lesson: partitions and keys",
        "Three brokers and a topic of three partitions, one replica each. One producer sends records with keys k0, k1 and k2; another sends records without a key.",
        3,
        BrokerSettings::default(),
        vec![topic("orders", 3, 1, &[])],
        vec![producer("orders", 3, (300, 500), safe_producer_config()), sticky],
        vec![consumer("orders", 200)],
    )
}

fn scenario_isr() -> ClusterScenario {
    let broker = BrokerSettings {
        replica: crate::broker::config::ReplicaConfig {
            replica_lag_time_max_ms: 5_000,
            ..Default::default()
        },
        ..BrokerSettings::default()
    };
    cluster(
        "Lesson: replication and the ISR",
        "Three brokers, one partition with three replicas, replica.lag.time.max.ms = 5000 (Kafka's default is 30000), acks=all with min.insync.replicas=2.",
        3,
        broker,
        vec![topic("t", 1, 3, &[("min.insync.replicas", "2")])],
        vec![producer("t", 1, (300, 500), safe_producer_config())],
        vec![consumer("t", 200)],
    )
}

fn scenario_acks() -> ClusterScenario {
    cluster(
        "Lesson: acks and min.insync.replicas",
        "Three brokers, one partition with three replicas and min.insync.replicas=2. Producer 0 uses acks=all (request.timeout.ms=3000, delivery.timeout.ms=10000 so its errors show quickly), producer 1 acks=1.",
        3,
        BrokerSettings::default(),
        vec![topic("t", 1, 3, &[("min.insync.replicas", "2")])],
        vec![
            producer(
                "t",
                1,
                (400, 600),
                ProducerConfig {
                    request_timeout_ms: 3_000,
                    delivery_timeout_ms: 10_000,
                    ..safe_producer_config()
                },
            ),
            producer("t", 1, (400, 600), acks1_config()),
        ],
        vec![consumer("t", 200)],
    )
}

fn scenario_failover() -> ClusterScenario {
    cluster(
        "Lesson: leader failover",
        "Three brokers, one partition with three replicas, acks=all with min.insync.replicas=2.",
        3,
        BrokerSettings::default(),
        vec![topic("t", 1, 3, &[("min.insync.replicas", "2")])],
        vec![producer("t", 1, (300, 500), safe_producer_config())],
        vec![consumer("t", 200)],
    )
}

fn scenario_acks1_loss() -> ClusterScenario {
    cluster(
        "Lesson: acks=1 data loss",
        "Three brokers, one partition with three replicas and min.insync.replicas=2, and a producer with acks=1 (drill D1).",
        3,
        BrokerSettings::default(),
        vec![topic("t", 1, 3, &[("min.insync.replicas", "2")])],
        vec![producer("t", 1, (200, 300), acks1_config())],
        vec![consumer("t", 100)],
    )
}

fn scenario_unclean() -> ClusterScenario {
    let config = ProducerConfig {
        delivery_timeout_ms: 600_000,
        ..acks1_config()
    };
    cluster(
        "Lesson: unclean leader election",
        "Two brokers, one partition with two replicas, unclean.leader.election.enable=true, an acks=1 producer (drill D4).",
        2,
        BrokerSettings::default(),
        vec![topic(
            "t",
            1,
            2,
            &[("unclean.leader.election.enable", "true")],
        )],
        vec![producer("t", 1, (200, 300), config)],
        vec![consumer("t", 100)],
    )
}

fn scenario_idempotence() -> ClusterScenario {
    let retrying = ProducerConfig {
        retries: i32::MAX,
        max_in_flight_requests_per_connection: 5,
        request_timeout_ms: 1_000,
        delivery_timeout_ms: 20_000,
        retry_backoff_ms: 50,
        ..safe_producer_config()
    };
    let plain = ProducerConfig {
        enable_idempotence: Some(false),
        ..retrying.clone()
    };
    cluster(
        "Lesson: the idempotent producer",
        "One broker and two topics. Producer 0 writes to plain with enable.idempotence=false, producer 1 to safe with enable.idempotence=true; both acks=all, retries on, five requests in flight and request.timeout.ms=1000 (drills D7 and D8).",
        1,
        BrokerSettings::default(),
        vec![topic("plain", 1, 1, &[]), topic("safe", 1, 1, &[])],
        vec![
            producer("plain", 1, (100, 200), plain),
            producer("safe", 1, (100, 200), retrying),
        ],
        vec![consumer("plain", 100), consumer("safe", 100)],
    )
}

// ---- The lessons -----------------------------------------------------------------------------

/// The seed of every lesson: the broker ids in the narration are its replica placement.
const LESSON_SEED: u64 = 1;
/// With `LESSON_SEED`, the replicas of a three-broker, one-partition lesson topic, leader first.
const LEADER: u32 = 3;
const FIRST_FOLLOWER: u32 = 2;
const SECOND_FOLLOWER: u32 = 1;
/// With `LESSON_SEED`, the broker hosting each partition of the keys lesson's topic.
const KEYS_PLACEMENT: [u32; 3] = [3, 1, 2];

fn lesson(
    id: &str,
    title: &str,
    summary: &str,
    scenario: ClusterScenario,
    steps: Vec<LessonStep>,
) -> Lesson {
    Lesson {
        id: id.to_owned(),
        title: title.to_owned(),
        summary: summary.to_owned(),
        scenario,
        seed: LESSON_SEED,
        steps,
    }
}

fn log_and_offsets() -> Lesson {
    let t = "events";
    lesson(
        "log-and-offsets",
        "The log and offsets",
        "A partition is an append-only log: every record gets the next offset, the high watermark says how far consumers may read, and each consumer keeps its own position.",
        scenario_log(),
        vec![
            step(
                "Press play",
                text(&[
                    "This cluster has one broker (broker 1) and one topic, events, with a single partition: events-0. A producer appends a record about every half second, and a consumer reads them.",
                    "Press play and watch the row of cells for events-0. Each cell is one record, and the number on it is its offset.",
                ]),
                None,
                Goal::LogEndOffsetAtLeast { topic: t.into(), partition: 0, offset: 3 },
                "Press play (space bar) and let the clock run for a couple of seconds.",
                text(&[
                    "The first record got offset 0, the next one 1, then 2. A partition is an append-only log: records are never inserted in the middle, and an offset is never handed out twice.",
                    "The log end offset (LEO) is the offset the next record will get: one past the last record.",
                ]),
            ),
            step(
                "The high watermark",
                text(&[
                    "Look at the marks on the log of events-0: the high watermark (HW) and the log end offset. Consumers may only read records below the high watermark.",
                    "The HW moves when every in-sync replica has the record. This partition has a single replica, so the HW follows the LEO right after each append. In the next lessons, with three replicas, you will see the two apart.",
                ]),
                None,
                hw(t, 0, 10),
                "Keep the clock running until the high watermark reaches 10.",
                text(&[
                    "Ten records sit below the high watermark: they are visible to consumers. Hover over a cell to see its record: its key, its value and the leader epoch it was written in.",
                ]),
            ),
            step(
                "The consumer's position",
                text(&[
                    "Now look at the consumer. Its position on events-0 is the offset of the next record it will read. It polls every 200 ms and reads whatever is below the high watermark.",
                    "Kafka does not delete a record when it is read: the consumer only moves its own position. Another consumer could read the same log from offset 0 again.",
                ]),
                None,
                Goal::ConsumerOffsetAtLeast { topic: t.into(), partition: 0, offset: 15 },
                "Let the clock run until the consumer's position reaches 15.",
                text(&[
                    "The consumer follows the high watermark closely: records arrive about every 500 ms and the consumer polls every 200 ms.",
                ]),
            ),
            step(
                "Pause the consumer",
                text(&[
                    "What if the consumer stops reading (a slow or stuck application)? Pause the consumers and keep the clock running.",
                ]),
                Some(Action::PauseConsumers),
                Goal::All(vec![
                    Goal::ActionTaken(ActionKind::PauseConsumers),
                    Goal::ConsumerLagAtLeast { topic: t.into(), partition: 0, lag: 5 },
                ]),
                "Press \"Pause the consumers\", then play until it is 5 records behind.",
                text(&[
                    "The producer did not notice: the log keeps growing. The distance between the high watermark and the consumer's position is its lag, what monitoring dashboards call consumer lag.",
                ]),
            ),
            step(
                "Resume the consumer",
                text(&[
                    "Resume the consumers. The consumer continues from its own position: the records waited for it in the log.",
                ]),
                Some(Action::ResumeConsumers),
                Goal::All(vec![
                    Goal::ActionTaken(ActionKind::ResumeConsumers),
                    Goal::ConsumerCaughtUp { topic: t.into(), partition: 0 },
                ]),
                "Press \"Resume the consumers\" and play until its position reaches the high watermark.",
                text(&[
                    "The consumer read the backlog in a few polls and caught up: its lag is 0 again. Nothing was lost while it was paused, because the log keeps records until retention deletes them (by time or size), not until they are read.",
                ]),
            ),
            free_play(&[
                "Try crashing broker 1 and restarting it: the log survives in its page cache and on its disk, and the producer and consumer continue where they were.",
            ]),
        ],
    )
}

fn partitions_and_keys() -> Lesson {
    let t = "orders";
    let of = |key: &str| partition_for_key(key.as_bytes(), 3).0;
    let (p0, p1, p2) = (of("k0"), of("k1"), of("k2"));
    let victim = p0;
    let victim_broker = KEYS_PLACEMENT[victim as usize];
    let mapping = format!(
        "Kafka's default partitioner hashes the key with murmur2 and takes it modulo the number of partitions: k0 goes to {t}-{p0}, k1 to {t}-{p1} and k2 to {t}-{p2}, always. Hover over the cells of each partition and check the keys."
    );
    let placement = format!(
        "Each partition has one replica here: {t}-0 lives on broker {}, {t}-1 on broker {}, {t}-2 on broker {}.",
        KEYS_PLACEMENT[0], KEYS_PLACEMENT[1], KEYS_PLACEMENT[2]
    );
    lesson(
        "partitions-and-keys",
        "Partitions and keys",
        "A topic is split into partitions; records with the same key always go to the same partition, records without a key are spread by the sticky partitioner.",
        scenario_keys(),
        vec![
            step(
                "Three partitions",
                vec![
                    format!("The topic {t} has three partitions, {t}-0, {t}-1 and {t}-2: three independent logs, each with its own offsets starting at 0."),
                    placement,
                    "Producer 0 sends records with keys k0, k1 and k2; producer 1 sends records with no key. Press play.".to_owned(),
                ],
                None,
                Goal::All((0..3).map(|p| hw(t, p, 2)).collect()),
                "Press play until every partition holds a couple of records.",
                text(&[
                    "Every partition received records, and each counts its offsets on its own: offset 5 of one partition has nothing to do with offset 5 of another. Order is kept within a partition, not across the topic.",
                ]),
            ),
            step(
                "Same key, same partition",
                vec![
                    mapping,
                    "This is what keeps the records of one customer or one order in order: they all land in one partition, and one partition is read in order.".to_owned(),
                ],
                None,
                Goal::PlayFor { ms: 10_000 },
                "Run the clock for 10 seconds, then hover over a few cells.",
                text(&[
                    "Every record with a given key landed in the same partition. The mapping only changes if the number of partitions changes, which is why adding partitions to a keyed topic breaks per-key order for a while.",
                ]),
            ),
            step(
                "No key: the sticky partitioner",
                text(&[
                    "Records without a key have no partition to hash to. Since Kafka 3.3 (KIP-794) the producer sticks to one partition until it has sent batch.size to twice batch.size bytes there (batch.size is 512 bytes in this lesson, 16384 by default), then picks another one at random among the partitions that have a leader, preferring those with short queues.",
                    "Hover over the cells with no key: they come in runs of a few records per partition, not round-robin one by one. Sticking to one partition fills batches, which is cheaper than sending many tiny ones.",
                ]),
                None,
                Goal::PlayFor { ms: 10_000 },
                "Run the clock for another 10 seconds and look at the null-key records.",
                text(&[
                    "The null-key records spread over all three partitions, a run at a time.",
                ]),
            ),
            step(
                "A partition goes offline",
                vec![
                    format!("Crash broker {victim_broker}: it hosts the only replica of {t}-{victim}, where the key k0 goes."),
                    "Watch the partition lose its leader, and watch the producers.".to_owned(),
                ],
                Some(Action::CrashBroker { broker: victim_broker, power_loss: false, torn_write: false }),
                Goal::PartitionOffline { topic: t.into(), partition: victim },
                &format!("Press \"Crash broker {victim_broker}\" and run the clock: the controller notices after broker.session.timeout.ms (9 s)."),
                vec![
                    format!("{t}-{victim} has no leader: it is offline, because its only replica is down."),
                    "Records keyed k0 cannot go anywhere else: the key decides the partition, whether it is available or not. They wait in producer 0's buffer until the partition comes back or delivery.timeout.ms (2 minutes) runs out.".to_owned(),
                    "Null-key records simply go to the partitions that still have a leader: the sticky partitioner only picks among available partitions.".to_owned(),
                ],
            ),
            step(
                "Bring it back",
                vec![format!("Restart broker {victim_broker}.")],
                Some(Action::RestartBroker { broker: victim_broker }),
                Goal::All(vec![
                    Goal::PartitionOnline { topic: t.into(), partition: victim },
                    Goal::HighWatermarkGrows { topic: t.into(), partition: victim, by: 3 },
                ]),
                &format!("Press \"Restart broker {victim_broker}\" and run the clock until {t}-{victim} takes records again."),
                text(&[
                    "The broker recovered its log from disk, registered with the controller and leads its partition again. The buffered k0 records went out, and k0's records are still all in one partition, in order.",
                ]),
            ),
            free_play(&[
                "Try pausing the consumer, or crashing another broker: which keys stop, and where do the null-key records go?",
            ]),
        ],
    )
}

fn replication_and_isr() -> Lesson {
    let t = "t";
    lesson(
        "replication-and-isr",
        "Replication and the ISR",
        "Followers fetch from the leader; the high watermark advances once every in-sync replica has a record; a follower that stops keeping up leaves the ISR and rejoins when it catches up.",
        scenario_isr(),
        vec![
            step(
                "Followers fetch",
                vec![
                    format!("Partition t-0 has three replicas: broker {LEADER} is the leader, brokers {FIRST_FOLLOWER} and {SECOND_FOLLOWER} are followers. Producers write only to the leader; each follower keeps asking the leader for records after its own log end offset (a fetch) and appends them with the same offsets."),
                    "Press play and look at the replica cells of t-0: the leader's log end offset is ahead of the high watermark until the followers fetch.".to_owned(),
                ],
                None,
                hw(t, 0, 5),
                "Press play and let a few records replicate.",
                text(&[
                    "The high watermark is the smallest log end offset among the in-sync replicas (the ISR): a record is below it only once every ISR member has it. Only then does an acks=all producer get its acknowledgement, and only then may consumers read it.",
                    "Followers learn the new high watermark on their next fetch, so their HW marks trail the leader's a little.",
                ]),
            ),
            step(
                "Pause a follower",
                vec![
                    format!("Pause broker {FIRST_FOLLOWER} (like SIGSTOP): the process stops, it sends no fetches and no heartbeats, but it is not dead."),
                    "Watch the high watermark of t-0.".to_owned(),
                ],
                Some(Action::PauseBroker { broker: FIRST_FOLLOWER }),
                Goal::All(vec![
                    Goal::BrokerState { broker: FIRST_FOLLOWER, state: BrokerState::Paused },
                    Goal::LogEndOffsetAhead { topic: t.into(), partition: 0, by: 3 },
                ]),
                &format!("Press \"Pause broker {FIRST_FOLLOWER}\" and run the clock for a few seconds."),
                vec![
                    format!("The leader keeps appending, but the high watermark is stuck: broker {FIRST_FOLLOWER} is still in the ISR and has not fetched the new records. The acks=all producer waits for its acknowledgements."),
                ],
            ),
            step(
                "The ISR shrinks",
                text(&[
                    "The leader checks its followers every replica.lag.time.max.ms / 2. A follower that has not caught up to the leader's log end offset for longer than replica.lag.time.max.ms (5000 ms in this cluster, 30000 by default) is removed from the ISR.",
                ]),
                None,
                isr_at_most(t, 0, 2),
                "Keep the clock running: about 5 to 8 seconds after the pause.",
                vec![
                    format!("The leader asked the controller to shrink the ISR to the two replicas that keep up (AlterPartition), and the high watermark jumped to what brokers {LEADER} and {SECOND_FOLLOWER} both have. Writes continue: two in-sync replicas still meet min.insync.replicas=2."),
                    "The ISR shrank without a new leader: the leader epoch did not change.".to_owned(),
                ],
            ),
            step(
                "Resume the follower",
                vec![
                    format!("Resume broker {FIRST_FOLLOWER}. It is far behind: it must fetch everything it missed before it counts as in sync again."),
                ],
                Some(Action::ResumeBroker { broker: FIRST_FOLLOWER }),
                Goal::All(vec![
                    Goal::ActionTaken(ActionKind::ResumeBroker),
                    isr_at_least(t, 0, 3),
                ]),
                &format!("Press \"Resume broker {FIRST_FOLLOWER}\" and run the clock until it is back in the ISR."),
                text(&[
                    "The follower fetched the records it missed and, once its log end offset reached the leader's high watermark, the leader added it back to the ISR. If it stayed paused longer than broker.session.timeout.ms (9 s) the controller also fenced it, and it had to heartbeat its way back first.",
                ]),
            ),
            free_play(&[
                "Try pausing both followers: with min.insync.replicas=2, what happens to the acks=all producer once the ISR is down to the leader?",
            ]),
        ],
    )
}

fn acks_and_min_isr() -> Lesson {
    let t = "t";
    lesson(
        "acks-and-min-insync-replicas",
        "acks and min.insync.replicas",
        "acks=all waits for the ISR and refuses to write when fewer than min.insync.replicas are in sync (NOT_ENOUGH_REPLICAS); acks=1 keeps writing on the leader alone.",
        scenario_acks(),
        vec![
            step(
                "Two producers",
                vec![
                    format!("Partition t-0 has three replicas (leader broker {LEADER}) and min.insync.replicas=2. Producer 0 uses acks=all: the leader answers once every ISR member has the record. Producer 1 uses acks=1: the leader answers as soon as it appended the record itself."),
                    "Look at the producer cards: their acks setting, their requests in flight, their errors. Press play.".to_owned(),
                ],
                None,
                hw(t, 0, 6),
                "Press play.",
                text(&["With a healthy ISR of three, both producers write and the high watermark follows."]),
            ),
            step(
                "Lose one follower",
                vec![
                    format!("Crash broker {SECOND_FOLLOWER}, a follower. After broker.session.timeout.ms (9 s) the controller fences it and removes it from the ISR."),
                ],
                Some(Action::CrashBroker { broker: SECOND_FOLLOWER, power_loss: false, torn_write: false }),
                isr_at_most(t, 0, 2),
                &format!("Press \"Crash broker {SECOND_FOLLOWER}\" and run the clock for about 10 seconds."),
                text(&[
                    "The ISR is down to two replicas. acks=all needs min.insync.replicas=2 in-sync replicas, and it has them: both producers keep writing.",
                ]),
            ),
            step(
                "Still safe",
                text(&["Keep the clock running and watch both producers' records become committed: the high watermark keeps moving."]),
                None,
                Goal::HighWatermarkGrows { topic: t.into(), partition: 0, by: 6 },
                "Run the clock until the high watermark grows by 6.",
                text(&["Every acknowledged acks=all record is on two brokers: one more crash could not lose it."]),
            ),
            step(
                "Lose a second follower",
                vec![
                    format!("Now crash broker {FIRST_FOLLOWER}. Two of three brokers are down."),
                ],
                Some(Action::CrashBroker { broker: FIRST_FOLLOWER, power_loss: false, torn_write: false }),
                Goal::All(vec![
                    isr_at_most(t, 0, 1),
                    Goal::ProducerError { name: "NOT_ENOUGH_REPLICAS".into() },
                ]),
                &format!("Press \"Crash broker {FIRST_FOLLOWER}\" and run the clock until producer 0 shows an error."),
                text(&[
                    "First, the acks=all requests that were already appended when the follower died timed out (REQUEST_TIMED_OUT): the leader was waiting for a replica that would never fetch them. Then the controller fenced the broker and the ISR shrank to the leader alone.",
                    "acks=all needs 2 in-sync replicas; only 1 is in the ISR, so the leader now refuses every acks=all produce with NOT_ENOUGH_REPLICAS before appending anything. Producer 0 retries until delivery.timeout.ms (10 s in this lesson, 2 minutes by default), then fails the send with TimeoutException. The exception does not say whether the record was written. A send whose every attempt was refused with NOT_ENOUGH_REPLICAS is not in the log; a send the leader had appended before the follower died (answered REQUEST_TIMED_OUT) is in the leader's log, and becomes readable once the ISR is back. The event log tells them apart (\"never written\" or \"outcome unknown\"), and the live checker counts the second kind as indeterminate, not as failed.",
                ]),
            ),
            step(
                "acks=1 keeps writing",
                text(&[
                    "Look at producer 1 and at the leader's replica cell: acks=1 does not check min.insync.replicas, so the leader keeps appending and acknowledging its records.",
                    "But look at the high watermark: since Kafka 3.7 it does not advance while the ISR is smaller than min.insync.replicas, so consumers do not see these records yet. They exist on one broker only.",
                ]),
                None,
                Goal::LogEndOffsetAhead { topic: t.into(), partition: 0, by: 5 },
                "Run the clock until the leader holds 5 records above the high watermark.",
                text(&[
                    "Producer 1 was told its records are written, yet they live on one disk only. If this broker died now, they would be gone: that is the price of acks=1.",
                ]),
            ),
            step(
                "Bring a follower back",
                vec![format!("Restart broker {FIRST_FOLLOWER}.")],
                Some(Action::RestartBroker { broker: FIRST_FOLLOWER }),
                Goal::All(vec![
                    isr_at_least(t, 0, 2),
                    Goal::HighWatermarkGrows { topic: t.into(), partition: 0, by: 5 },
                ]),
                &format!("Press \"Restart broker {FIRST_FOLLOWER}\" and run the clock until it rejoins the ISR."),
                text(&[
                    "The follower caught up, rejoined the ISR, and the high watermark jumped over the acks=1 records. Producer 0's new sends are acknowledged again. Every acknowledgement producer 0 received was for a record on at least two brokers.",
                ]),
            ),
            free_play(&[
                "Try crashing the leader now: which records survive, and which producer was told the truth?",
            ]),
        ],
    )
}

fn leader_failover() -> Lesson {
    let t = "t";
    lesson(
        "leader-failover",
        "Leader failover",
        "When a leader dies, the controller fences it after broker.session.timeout.ms and elects a new leader from the ISR; the leader epoch grows and clients follow.",
        scenario_failover(),
        vec![
            step(
                "A healthy partition",
                vec![
                    format!("Partition t-0: leader broker {LEADER}, followers {FIRST_FOLLOWER} and {SECOND_FOLLOWER}, all in the ISR. Look at its leader epoch: 0. Every time the partition gets a new leader, the epoch goes up by one, and every record carries the epoch it was written in."),
                    "Press play.".to_owned(),
                ],
                None,
                hw(t, 0, 5),
                "Press play.",
                text(&["The producer (acks=all, min.insync.replicas=2) and the consumer both talk to the leader."]),
            ),
            step(
                "Crash the leader",
                vec![format!("Crash the leader of t-0 (broker {LEADER}).")],
                Some(Action::CrashLeader { topic: t.into(), partition: 0, power_loss: false, torn_write: false }),
                Goal::BrokerState { broker: LEADER, state: BrokerState::Crashed },
                "Press \"Crash the leader of t-0\".",
                text(&[
                    "The broker is gone, but nothing happens to the partition yet: the controller only knows the broker by its heartbeats (every broker.heartbeat.interval.ms = 2 s). The producer's requests fail and it retries; the consumer gets no answer.",
                ]),
            ),
            step(
                "The controller elects a new leader",
                text(&[
                    "When the broker has missed its heartbeats for broker.session.timeout.ms (9 s), the controller fences it, removes it from every ISR and elects a new leader for each partition it led: the first replica in assignment order that is alive and in the ISR.",
                ]),
                None,
                Goal::All(vec![
                    leader_changed(t, 0),
                    Goal::LeaderEpochAtLeast { topic: t.into(), partition: 0, epoch: 1 },
                ]),
                "Run the clock: the election comes about 9 seconds after the last heartbeat.",
                vec![
                    format!("Broker {FIRST_FOLLOWER} leads t-0 now, in leader epoch 1. It was in the ISR, so it has every acknowledged record: a clean election loses nothing."),
                    "The new leader does not truncate anything; it records where epoch 1 starts, so any replica can later find where its log diverges.".to_owned(),
                ],
            ),
            step(
                "Clients follow",
                text(&[
                    "The producer and the consumer refresh their metadata, find the new leader and continue. Hover over the newest cells: their leader epoch is 1.",
                ]),
                None,
                Goal::All(vec![
                    Goal::HighWatermarkInEpoch { topic: t.into(), partition: 0, epoch: 1 },
                    Goal::ConsumerCaughtUp { topic: t.into(), partition: 0 },
                ]),
                "Run the clock until records of epoch 1 are below the high watermark and the consumer has read them.",
                text(&[
                    "The producer retried what was in flight to the new leader; thanks to idempotence (its producer id and sequence numbers) nothing was written twice. The consumer continued from its position: no gap, no duplicate.",
                ]),
            ),
            step(
                "The old leader returns",
                vec![format!("Restart broker {LEADER}.")],
                Some(Action::RestartBroker { broker: LEADER }),
                isr_at_least(t, 0, 3),
                &format!("Press \"Restart broker {LEADER}\" and run the clock until it is back in the ISR."),
                vec![
                    format!("Broker {LEADER} came back as a follower: it asked the new leader where epoch 0 ended, truncated anything after that (nothing here), fetched what it missed and rejoined the ISR."),
                    format!("It is still the preferred leader (the first assigned replica): every leader.imbalance.check.interval.seconds (300 s) the controller moves leadership back to it. Stay in free play long enough and you will see the leader epoch go up to 2."),
                ],
            ),
            free_play(&[
                "Try crashing the new leader too, or two brokers at once: with min.insync.replicas=2 the producer stops with NOT_ENOUGH_REPLICAS rather than risk acknowledged data.",
            ]),
        ],
    )
}

fn acks1_data_loss() -> Lesson {
    let t = "t";
    lesson(
        "acks1-data-loss",
        "acks=1 data loss",
        "With acks=1 the leader acknowledges before its followers have the record; if it dies before they fetch, the new leader never had those records and reuses their offsets (drill D1).",
        scenario_acks1_loss(),
        vec![
            step(
                "acks=1",
                vec![
                    format!("This producer uses acks=1: broker {LEADER}, the leader of t-0, answers as soon as the record is in its own log. Followers {FIRST_FOLLOWER} and {SECOND_FOLLOWER} fetch it a moment later."),
                    "Press play.".to_owned(),
                ],
                None,
                hw(t, 0, 5),
                "Press play.",
                text(&["On a healthy cluster the gap between acknowledging and replicating lasts milliseconds. To see what happens in that gap, we will stretch it."]),
            ),
            step(
                "Cut the leader off from its followers",
                text(&[
                    "Cut the leader of t-0 off from its followers. The producer, the consumer and the controller still reach it, so it stays leader and keeps acknowledging writes.",
                ]),
                Some(Action::PartitionLeaderFromFollowers { topic: t.into(), partition: 0 }),
                Goal::LogEndOffsetAhead { topic: t.into(), partition: 0, by: 5 },
                "Press \"Cut the leader off from its followers\" and run the clock a few seconds.",
                text(&[
                    "Look at the replica cells: the leader's log end offset runs ahead, while its high watermark and the followers' logs stand still. The producer got an acknowledgement for every one of those records; the consumer cannot read them (they are above the high watermark).",
                ]),
            ),
            step(
                "The leader dies",
                vec![format!("Now crash the leader (broker {LEADER}), before the followers ever fetch those records.")],
                Some(Action::CrashLeader { topic: t.into(), partition: 0, power_loss: false, torn_write: false }),
                Goal::All(vec![
                    Goal::BrokerState { broker: LEADER, state: BrokerState::Crashed },
                    leader_changed(t, 0),
                ]),
                "Press \"Crash the leader of t-0\" and run the clock until a new leader is elected (about 9 s).",
                vec![
                    format!("The controller elected broker {FIRST_FOLLOWER} from the ISR. Its log ends where the cut began: the acknowledged records only ever existed on broker {LEADER}."),
                    "New records now get those same offsets in leader epoch 1.".to_owned(),
                ],
            ),
            step(
                "Heal the network",
                text(&[
                    "Heal the network and let the consumer read the new leader's records. Watch the checker's findings.",
                ]),
                Some(Action::Heal),
                Goal::All(vec![
                    Goal::NetworkHealthy,
                    finding("lost-write", true, Some(t)),
                ]),
                "Press \"Heal the network\" and run the clock until the checker flags a lost write.",
                text(&[
                    "The checker found lost writes: records the producer was told were written, which no consumer will ever read, while later records were read. It also flags inconsistent offsets: the offsets the producer was given now hold other records.",
                    "It marks them legal: acks=1 acknowledges before replication, so Kafka promises nothing more. With acks=all and min.insync.replicas=2 the same crash loses nothing, because the leader would not have acknowledged records its followers did not have.",
                ]),
            ),
            step(
                "The old leader returns",
                vec![format!("Restart broker {LEADER}.")],
                Some(Action::RestartBroker { broker: LEADER }),
                isr_at_least(t, 0, 3),
                &format!("Press \"Restart broker {LEADER}\" and run the clock until it is back in the ISR."),
                vec![
                    format!("Broker {LEADER} found that its log diverged from the new leader's at the start of epoch 1 and truncated its tail: the acknowledged records are now gone from every replica. Then it fetched the new records at those offsets and rejoined the ISR."),
                ],
            ),
            free_play(&[
                "Rewind to before the cut and crash the leader without cutting it off first: followers fetch within milliseconds, so acks=1 loses nothing or only the last record or two. The window is small, but it is there.",
            ]),
        ],
    )
}

fn unclean_election() -> Lesson {
    let t = "t";
    let (a, b) = (2u32, 1u32);
    lesson(
        "unclean-leader-election",
        "Unclean leader election",
        "With unclean.leader.election.enable=true a replica outside the ISR may become leader when no ISR member is alive: the partition comes back sooner, but committed records are lost and offsets reused (drill D4).",
        scenario_unclean(),
        vec![
            step(
                "Two replicas",
                vec![
                    format!("Partition t-0 has two replicas: broker {a} leads, broker {b} follows. The topic sets unclean.leader.election.enable=true (Kafka's default is false). The producer uses acks=1 and min.insync.replicas is 1."),
                    "Press play.".to_owned(),
                ],
                None,
                hw(t, 0, 5),
                "Press play.",
                text(&["Both replicas are in the ISR and hold the same records."]),
            ),
            step(
                "The follower dies",
                vec![format!("Crash broker {b}, the follower.")],
                Some(Action::CrashBroker { broker: b, power_loss: false, torn_write: false }),
                isr_at_most(t, 0, 1),
                &format!("Press \"Crash broker {b}\" and run the clock until the ISR shrinks (about 9 s)."),
                vec![format!("The controller fenced broker {b} and shrank the ISR to broker {a} alone. With min.insync.replicas=1 the high watermark keeps advancing on one replica.")],
            ),
            step(
                "Records only one broker has",
                text(&["Keep the clock running: the leader writes records its follower has never seen, and the consumer reads them."]),
                None,
                Goal::All(vec![
                    Goal::HighWatermarkGrows { topic: t.into(), partition: 0, by: 10 },
                    Goal::ConsumerCaughtUp { topic: t.into(), partition: 0 },
                ]),
                "Run the clock until the high watermark grows by 10 and the consumer has read them.",
                text(&["These records are committed (below the high watermark) and already consumed, yet they exist on one broker only."]),
            ),
            step(
                "The leader dies too",
                vec![format!("Crash broker {a}, the last in-sync replica.")],
                Some(Action::CrashBroker { broker: a, power_loss: false, torn_write: false }),
                Goal::PartitionOffline { topic: t.into(), partition: 0 },
                &format!("Press \"Crash broker {a}\" and run the clock until t-0 goes offline."),
                vec![format!("No replica is alive: t-0 is offline. The ISR still names broker {a}: the controller keeps the last in-sync replica recorded, waiting for it.")],
            ),
            step(
                "The out-of-sync replica returns",
                vec![
                    format!("Restart broker {b}. It is not in the ISR: it missed everything broker {a} wrote alone. A clean election would wait for broker {a}; with unclean.leader.election.enable=true the controller takes broker {b} instead."),
                ],
                Some(Action::RestartBroker { broker: b }),
                Goal::All(vec![
                    Goal::UncleanElection { topic: t.into(), partition: 0 },
                    Goal::PartitionOnline { topic: t.into(), partition: 0 },
                    Goal::LogTruncationDetected,
                ]),
                &format!("Press \"Restart broker {b}\" and run the clock until it leads t-0."),
                vec![
                    format!("Broker {b} leads t-0: the partition is available again, sooner than waiting for broker {a}. But its log ends where it crashed: every record broker {a} wrote alone is gone, and new records are taking their offsets."),
                    "The consumer had already read past that point. After the leader change it validated its position with the leader epoch (KIP-320), found the log truncated under it and moved back to where the new leader's log ends.".to_owned(),
                ],
            ),
            step(
                "The old leader returns",
                vec![format!("Restart broker {a}.")],
                Some(Action::RestartBroker { broker: a }),
                Goal::All(vec![
                    isr_at_least(t, 0, 2),
                    finding("inconsistent-offsets", true, Some(t)),
                ]),
                &format!("Press \"Restart broker {a}\" and run the clock until both replicas are in the ISR."),
                vec![
                    format!("Broker {a} truncated the records only it had and now follows broker {b}. The checker flags inconsistent offsets: the consumer read one record at an offset that now holds another. Legal only because unclean leader election was enabled."),
                    "That is the tradeoff: unclean.leader.election.enable=true buys availability (the partition came back without its last in-sync replica) with committed, even consumed, data. Kafka's default, false, keeps the partition offline instead.".to_owned(),
                ],
            ),
            free_play(&[
                "Rewind to before the second crash and restart the follower first: no unclean election is needed when an in-sync replica is alive.",
            ]),
        ],
    )
}

fn idempotent_producer() -> Lesson {
    let drops = NetworkConfig {
        drop: crate::sim::network::Ratio::new(1, 20).unwrap_or(crate::sim::network::Ratio::NEVER),
        ..NetworkConfig::default()
    };
    lesson(
        "idempotent-producer",
        "The idempotent producer",
        "Retries after a lost response write a record twice unless the producer is idempotent: its producer id and sequence numbers let the broker recognise a retry (drills D7 and D8).",
        scenario_idempotence(),
        vec![
            step(
                "Two producers",
                text(&[
                    "Two producers, two topics. Producer 0 writes to plain with enable.idempotence=false; producer 1 writes to safe with enable.idempotence=true. Both use acks=all, retry failed requests, keep up to five requests in flight, and give up waiting for an answer after request.timeout.ms=1000.",
                    "Press play.",
                ]),
                None,
                Goal::All(vec![hw("plain", 0, 5), hw("safe", 0, 5)]),
                "Press play.",
                text(&["On a healthy network every request gets its answer, and each record is written once."]),
            ),
            step(
                "Drop messages",
                text(&[
                    "Make the network drop one message in 20. Sometimes the lost message will be a produce response: the broker appended the records, but the producer never hears it and, after request.timeout.ms, sends the same batch again.",
                ]),
                Some(Action::SetNetwork { config: drops }),
                Goal::All(vec![
                    Goal::ActionTaken(ActionKind::SetNetwork),
                    finding("duplicate", true, Some("plain")),
                ]),
                "Use this step's button to drop one message in 20, then run the clock until the checker flags a duplicate.",
                text(&[
                    "The checker found a duplicate in plain: the same record at two offsets. The broker had no way to tell the retry from a new record, so it appended it again. With five requests in flight a retried batch can also land after batches sent later (nonmonotonic-send). Both are legal without idempotence.",
                ]),
            ),
            step(
                "The idempotent producer",
                text(&[
                    "Now look at safe. Producer 1 got the same lost responses and retried the same way, but every batch carries its producer id, producer epoch and sequence number. The leader remembers the last five batches of each producer: a retry of a batch it already has is answered with the original offsets instead of being appended again.",
                ]),
                None,
                Goal::NoFindingFor { kind: "duplicate".into(), topic: Some("safe".into()), ms: 20_000 },
                "Run the clock for 20 seconds and check the findings for safe.",
                text(&[
                    "No duplicate in safe. This is why enable.idempotence=true is Kafka's default since 3.0: the same retries, no duplicates, and the order kept even with five requests in flight.",
                ]),
            ),
            step(
                "Heal the network",
                text(&["Set the network back to healthy."]),
                Some(Action::SetNetwork { config: NetworkConfig::default() }),
                Goal::NetworkHealthy,
                "Use this step's button to set the network back to healthy.",
                text(&["Both producers go on without retries. The duplicates already in plain stay there: the log is append-only, and every consumer of plain will read them twice."]),
            ),
            free_play(&[
                "Try crashing the broker while messages are being dropped: the idempotent producer keeps its sequence across the restart, because the broker rebuilds each producer's state from its log.",
            ]),
        ],
    )
}

mod groups;
mod transactions;

#[cfg(test)]
mod tests;
