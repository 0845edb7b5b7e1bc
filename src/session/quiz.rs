//! Drill mode: a hidden fault. A drill is a healthy cluster and a question; the seed picks a
//! fault from the drill's pool and its target broker, and `drill_session` builds a session
//! whose scenario carries the fault as its own steps (so it is not among the learner's
//! actions). The learner diagnoses it from what the UI shows (broker states, ISR shrinks,
//! leader epochs, producer errors), answers, and `score` says what the fault was and which
//! visible symptoms pointed to it. During a drill the UI hides the event log's Fault lines
//! (`shown_during_drill`).
//!
//! Drills are plain data (serde) for the web worker; the fault is derived from the seed with
//! the crate's PRNG, so a drill and seed always hide the same fault.

use super::explain::{Explained, Topic};
use super::lessons::{acks1_config, cluster, consumer, producer, safe_producer_config, topic};
use super::timeline::Session;
use crate::broker::config::ReplicaConfig;
use crate::broker::group::coordinator_partition;
use crate::client::producer::ProducerConfig;
use crate::prng::Prng;
use crate::sim::cluster::coordinator::OFFSETS_TOPIC;
use crate::sim::cluster::scenario::{Action, BrokerSettings, ClusterScenario, ConsumerSpec, Step};
use crate::sim::error::SimError;
use crate::sim::network::{NetworkConfig, Ratio};
use serde::{Deserialize, Serialize};

/// The hidden fault happens this long after the start, at the earliest and at the latest.
const FAULT_AT_MS_MIN: u64 = 5_000;
const FAULT_AT_MS_MAX: u64 = 9_000;
/// Drill scenarios run this long.
const DRILL_DURATION_MS: u64 = 300_000;
/// The slow-disk fault's factor (as in the slow-disk-follower scenario).
const SLOW_DISK_FACTOR: u32 = 3_000;
/// The network-drops fault loses one message in this many.
const DROP_ONE_IN: u32 = 10;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drill {
    pub id: String,
    pub title: String,
    pub briefing: String,
    /// The healthy cluster: the fault is added by `drill_session`.
    pub scenario: ClusterScenario,
    pub question: String,
    pub choices: Vec<Choice>,
    /// What the drill teaches, shown with the score whatever the answer.
    pub explanation: String,
    /// The faults the seed picks from.
    pub faults: Vec<FaultKind>,
    /// What the answer names besides the fault: "broker" or "consumer".
    #[serde(default = "broker_target")]
    pub target: String,
    /// The hints, in the order they are given: where to look, not the answer.
    #[serde(default)]
    pub hints: Vec<String>,
}

fn broker_target() -> String {
    "broker".into()
}

/// Hints of the broker and network drills.
const BROKER_HINTS: &[&str] = &[
    "Compare the brokers' states and each partition's ISR before and after the trouble began.",
    "Open the charts: when did under-replicated partitions or the producer's throughput change?",
    "Read the producers' errors by name: NOT_ENOUGH_REPLICAS, NOT_LEADER_OR_FOLLOWER and timeouts each point somewhere else.",
];

/// Hints of the group drills.
const GROUP_HINTS: &[&str] = &[
    "Watch the group panel: which member's state changed first, and did the group's coordinator or its generation change?",
    "Did the member leave by itself (at once, after max.poll.interval.ms) or was it removed after session.timeout.ms? The event log's group lines say which.",
    "Does the member come back? A stalled or frozen process runs again and rejoins; a killed one does not.",
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiddenFault {
    pub at_ms: u64,
    pub actions: Vec<Action>,
    /// The id of the right choice.
    pub answer: String,
    /// The broker it hit, when it hit one.
    pub broker: Option<u32>,
    /// The consumer it hit, when it hit one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<u32>,
}

/// The kinds of hidden fault; each is one choice of every drill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    CrashedBroker,
    PausedBroker,
    SlowDisk,
    ZombieLeader,
    CutFromFollowers,
    NetworkDrops,
    /// Consumer groups: a member's poll loop stalls past `max.poll.interval.ms`.
    StalledConsumer,
    /// A member's whole process stops (GC pause) past `session.timeout.ms`.
    FrozenConsumer,
    /// A member's process is killed.
    CrashedConsumer,
    /// The broker that coordinates the group crashes.
    CoordinatorCrash,
}

impl FaultKind {
    pub const ALL: [FaultKind; 6] = [
        FaultKind::CrashedBroker,
        FaultKind::PausedBroker,
        FaultKind::SlowDisk,
        FaultKind::ZombieLeader,
        FaultKind::CutFromFollowers,
        FaultKind::NetworkDrops,
    ];

    /// The group faults, the choices of the group drills.
    pub const GROUP: [FaultKind; 4] = [
        FaultKind::StalledConsumer,
        FaultKind::FrozenConsumer,
        FaultKind::CrashedConsumer,
        FaultKind::CoordinatorCrash,
    ];

    /// The faults a drill with this fault offers as choices: the broker and network ones, or
    /// the group ones.
    pub fn family(self) -> &'static [FaultKind] {
        if FaultKind::GROUP.contains(&self) {
            &FaultKind::GROUP
        } else {
            &FaultKind::ALL
        }
    }

    /// The choice id.
    pub fn id(self) -> &'static str {
        match self {
            FaultKind::CrashedBroker => "crashed-broker",
            FaultKind::PausedBroker => "paused-broker",
            FaultKind::SlowDisk => "slow-disk",
            FaultKind::ZombieLeader => "zombie-leader",
            FaultKind::CutFromFollowers => "cut-from-followers",
            FaultKind::NetworkDrops => "network-drops",
            FaultKind::StalledConsumer => "stalled-consumer",
            FaultKind::FrozenConsumer => "frozen-consumer",
            FaultKind::CrashedConsumer => "crashed-consumer",
            FaultKind::CoordinatorCrash => "coordinator-crash",
        }
    }

    pub fn from_id(id: &str) -> Option<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .chain(FaultKind::GROUP)
            .find(|k| k.id() == id)
    }

    fn choice_text(self) -> &'static str {
        match self {
            FaultKind::CrashedBroker => "A broker's process crashed",
            FaultKind::PausedBroker => "A broker's process was paused (SIGSTOP): alive but silent",
            FaultKind::SlowDisk => "A broker's disk became very slow",
            FaultKind::ZombieLeader => {
                "A broker was cut off from the controller and the other brokers, while clients still reach it (a zombie leader)"
            }
            FaultKind::CutFromFollowers => {
                "A broker was cut off from the other brokers, while the controller and clients still reach it"
            }
            FaultKind::NetworkDrops => "The network drops messages at random on every link",
            FaultKind::StalledConsumer => {
                "A member's application stalled: its poll loop stopped calling poll(), its heartbeats went on"
            }
            FaultKind::FrozenConsumer => {
                "A member's whole process froze (a long GC pause): no polls and no heartbeats, then it ran again"
            }
            FaultKind::CrashedConsumer => "A member's process was killed and never came back",
            FaultKind::CoordinatorCrash => "The broker coordinating the group crashed",
        }
    }

    fn has_broker(self) -> bool {
        FaultKind::ALL.contains(&self) && self != FaultKind::NetworkDrops
    }

    /// Whether the fault hits one consumer (the learner names it).
    pub fn has_consumer(self) -> bool {
        matches!(
            self,
            FaultKind::StalledConsumer | FaultKind::FrozenConsumer | FaultKind::CrashedConsumer
        )
    }

    fn actions(self, broker: u32, brokers: u32, consumer: u32) -> Vec<Action> {
        let others: Vec<u32> = (1..=brokers).filter(|b| *b != broker).collect();
        match self {
            FaultKind::CrashedBroker => vec![Action::CrashBroker {
                broker,
                power_loss: false,
                torn_write: false,
            }],
            FaultKind::PausedBroker => vec![Action::PauseBroker { broker }],
            FaultKind::SlowDisk => vec![Action::SlowDisk {
                broker,
                factor: SLOW_DISK_FACTOR,
            }],
            FaultKind::ZombieLeader => {
                // Node 0 is the controller; clients are on no side, so they reach everyone.
                let mut rest = vec![0];
                rest.extend(&others);
                vec![Action::Partition {
                    sides: vec![vec![broker], rest],
                }]
            }
            FaultKind::CutFromFollowers => vec![Action::Partition {
                sides: vec![vec![broker], others],
            }],
            FaultKind::NetworkDrops => vec![Action::SetNetwork {
                config: NetworkConfig {
                    drop: Ratio::new(1, DROP_ONE_IN).unwrap_or(Ratio::NEVER),
                    ..NetworkConfig::default()
                },
            }],
            FaultKind::StalledConsumer => vec![Action::StallConsumer {
                consumer,
                duration_ms: GROUP_FAULT_MS,
            }],
            FaultKind::FrozenConsumer => vec![Action::FreezeConsumer {
                consumer,
                duration_ms: GROUP_FAULT_MS,
            }],
            FaultKind::CrashedConsumer => vec![Action::CrashConsumer { consumer }],
            FaultKind::CoordinatorCrash => vec![Action::CrashLeader {
                topic: OFFSETS_TOPIC.to_owned(),
                partition: coordinator_partition(GROUP_ID, GROUP_OFFSETS_PARTITIONS)
                    .map_or(0, |p| p.0),
                power_loss: false,
                torn_write: false,
            }],
        }
    }

    /// What happened and what the UI showed, for broker `b` (ignored by network drops) or
    /// consumer `c` (the group faults).
    fn symptoms(self, b: u32, c: u32) -> String {
        match self {
            FaultKind::StalledConsumer => format!(
                "Consumer {c}'s application stopped calling poll() for {} s. Its heartbeat thread kept running, so for max.poll.interval.ms ({} s) nothing showed but its lag growing (the ✓ committed offsets of its partitions stood still, since auto-commit runs inside poll). Then the consumer itself left the group (LeaveGroup): its card said \"left the group: no poll() for max.poll.interval.ms\", the group rebalanced at once and the others took its partitions. When the stall ended it rejoined, and a second rebalance gave it partitions again.",
                GROUP_FAULT_MS / 1000,
                GROUP_TIMEOUT_MS / 1000
            ),
            FaultKind::FrozenConsumer => format!(
                "Consumer {c}'s whole process stopped for {} s: no polls and no heartbeats. The coordinator removed it after session.timeout.ms ({} s) and rebalanced; the others took its partitions from the last committed offsets, reading again what it had read since its last offset commit. When it ran again its heartbeat got UNKNOWN_MEMBER_ID: it lost its partitions (onPartitionsLost) and rejoined, a second rebalance.",
                GROUP_FAULT_MS / 1000,
                GROUP_TIMEOUT_MS / 1000
            ),
            FaultKind::CrashedConsumer => format!(
                "Consumer {c}'s process was killed: no LeaveGroup, no last offset commit. Its card showed it not running. After session.timeout.ms ({} s) without a heartbeat the coordinator removed it and rebalanced; the others took its partitions from the last committed offsets (some records read again), and it never rejoined: one rebalance, one member fewer.",
                GROUP_TIMEOUT_MS / 1000
            ),
            FaultKind::CoordinatorCrash => "The broker leading the group's __consumer_offsets partition crashed. Every member lost its coordinator connection (NOT_COORDINATOR or a disconnect), asked FindCoordinator again and found the new leader of that partition, which loaded the group from the log (COORDINATOR_LOAD_IN_PROGRESS meanwhile). The group panel's coordinator changed; the generation did not: no rebalance, no partition moved, and the committed offsets survived because they are replicated like any record.".to_owned(),
            FaultKind::CrashedBroker => format!(
                "Broker {b}'s process died. Its card turned Crashed; connections to it were refused. After broker.session.timeout.ms (9 s) without a heartbeat the controller fenced it and removed it from every ISR (the ISR shrank), and each partition it led got a new leader from its ISR: the leader epoch went up by one and producers and consumers moved to the new leaders."
            ),
            FaultKind::PausedBroker => format!(
                "Broker {b} was stopped (SIGSTOP): alive, but it ran nothing, sent no heartbeats and fetched nothing. Its card shows Paused. The leaders dropped it from their ISRs after replica.lag.time.max.ms, and the controller fenced it after broker.session.timeout.ms and elected new leaders for its partitions (leader epoch +1). Unlike a crash, its connections stayed open: requests sent to it waited and timed out (REQUEST_TIMED_OUT) instead of being refused."
            ),
            FaultKind::SlowDisk => format!(
                "Broker {b}'s disk became {SLOW_DISK_FACTOR} times slower. The broker stayed Up and unfenced (its heartbeats do not touch the disk) and no leader changed. Everything it writes waits on the disk: for the partition it leads, produce requests waited and timed out (REQUEST_TIMED_OUT, then TimeoutException); as a follower its fetcher waits on every write, so it falls behind and leaves the ISRs after replica.lag.time.max.ms once it cannot keep up. Its card shows the slow disk factor, and its replica cells lag behind the others'."),
            FaultKind::ZombieLeader => format!(
                "Broker {b} was cut off from the controller and the other brokers, while clients still reached it. Its followers stopped fetching and it could not shrink its ISR without the controller, so acks=all requests to it timed out (REQUEST_TIMED_OUT). After broker.session.timeout.ms the controller fenced it (its card shows Fenced) and elected new leaders for its partitions (leader epoch +1); it kept believing it led until it heard otherwise. With acks=1 the records it acknowledged meanwhile are lost (drill D2)."
            ),
            FaultKind::CutFromFollowers => format!(
                "Broker {b} was cut off from the other brokers, but the controller still reached it: no broker was fenced and no leader changed (the leader epochs stayed put). The partitions it leads shrank their ISR to broker {b} alone after replica.lag.time.max.ms: the acks=all requests already appended timed out (REQUEST_TIMED_OUT), and new ones failed with NOT_ENOUGH_REPLICAS because min.insync.replicas=2, and it dropped out of the ISRs of the partitions it follows: an ISR shrink without a leader change."
            ),
            FaultKind::NetworkDrops => format!(
                "The network lost one message in {DROP_ONE_IN} on every link. No broker failed, was fenced or lost a leadership; instead producers saw requests time out and retried (REQUEST_TIMED_OUT), fetches were lost and retried, and the network panel showed the drop ratio. The idempotent producers wrote no duplicates despite the retries."
            ),
        }
    }
}

/// Every drill.
pub fn drills() -> Vec<Drill> {
    use FaultKind::*;
    vec![
        drill(
            "broker-trouble",
            "One broker stops pulling its weight",
            "You are on call for a three-broker cluster: topic t has three partitions with three replicas each, min.insync.replicas=2, and an acks=all producer. A few seconds in, something happens to one broker. Play the clock, look at the brokers, the ISRs, the leader epochs and the producer's errors, and say what happened and to which broker.",
            scenario(false),
            vec![CrashedBroker, PausedBroker, SlowDisk],
            "Three faults hit one broker differently. A crash is refused connections and a Crashed card; a pause is silence (timeouts, then fencing) with the process still there; a slow disk keeps the broker Up and unfenced but drops it from the ISRs it follows. Which partitions lose a leader, and whether the broker is fenced, tell them apart.",
        ),
        drill(
            "network-trouble",
            "The network acts up",
            "Same cluster: three brokers, topic t with three partitions of three replicas, min.insync.replicas=2, an acks=all producer. This time the fault is in the network. Watch who can still talk to whom: which ISRs shrink, whether the controller fences anyone, whether leaders change, and what errors the producer sees.",
            scenario(false),
            vec![ZombieLeader, CutFromFollowers, NetworkDrops],
            "Network faults are told apart by who loses contact with whom. Cut from the controller: the broker is fenced and loses its leaderships. Cut only from the other brokers: nobody is fenced, no leader changes, but ISRs shrink and acks=all hits NOT_ENOUGH_REPLICAS. Random drops: no lasting change in the cluster, only timeouts and retries.",
        ),
        drill(
            "incident",
            "Incident: anything goes",
            "Anything can happen to this three-broker cluster (topic t, three partitions, three replicas, min.insync.replicas=2, an acks=all producer): a process fault, a disk fault or a network fault. Diagnose it from what the cluster shows.",
            scenario(false),
            FaultKind::ALL.to_vec(),
            "Ask three questions in order. Is a broker Crashed, Paused or Fenced? Did any leader epoch change? Did ISRs shrink without a leader change? Crashes, pauses and zombies change leaders; a slow disk and a cut from the followers shrink ISRs without one; random drops leave only timeouts.",
        ),
        group_drill(
            "group-member-trouble",
            "A consumer group member misbehaves",
            "You run consumer group g: three members (consumers 0, 1 and 2) read topic t's six partitions with cooperative-sticky, session.timeout.ms=10000, max.poll.interval.ms=10000, auto-commit every 2 s. A few seconds in, something happens to one member. Watch the group panel (member states, owners, generation, lag) and the event log's group lines, then say what happened and to which consumer.",
            vec![StalledConsumer, FrozenConsumer, CrashedConsumer],
            "Three member faults look alike at first (a member stops reading, its lag grows) and differ in who notices and when. A stalled poll loop keeps heartbeating, so the member itself leaves after max.poll.interval.ms and rejoins when the stall ends; a frozen process sends nothing, so the coordinator removes it after session.timeout.ms and it finds out when it wakes (UNKNOWN_MEMBER_ID); a killed process is removed after session.timeout.ms and never returns.",
        ),
        group_drill(
            "group-incident",
            "Incident: the consumer group stalls",
            "Group g (three members on topic t, six partitions, cooperative-sticky) stops making progress for a while, a few seconds in. It may be a member or the broker coordinating the group. Diagnose it from the group panel and the event log.",
            FaultKind::GROUP.to_vec(),
            "First ask whether the group rebalanced. A coordinator failure changes the group's coordinator but not its generation: the members find the new coordinator and carry on with the same partitions. A member fault always ends in a rebalance, when the member leaves (a stall) or is removed (a freeze or a crash).",
        ),
        drill(
            "acks1-incident",
            "Incident with acks=1 in the mix",
            "The cluster has two producers on topic t: producer 0 with acks=all, producer 1 with acks=1. Something happens a few seconds in. Say what it was and which broker it hit, then look at the live checker: did acks=1 lose anything?",
            scenario(true),
            vec![ZombieLeader, CutFromFollowers, CrashedBroker],
            "acks=1 acknowledges once the leader has the record. A leader that keeps taking writes its followers never fetch (a zombie cut off from the cluster, or a leader cut off from its followers that then fails) loses those acknowledged records when another replica takes over; acks=all with min.insync.replicas=2 refuses or times out instead.",
        ),
    ]
}

fn drill(
    id: &str,
    title: &str,
    briefing: &str,
    scenario: ClusterScenario,
    faults: Vec<FaultKind>,
    explanation: &str,
) -> Drill {
    // The choices, the question, what the answer names and the hints follow the pool's
    // family: broker and network faults, or group faults.
    let family = faults.first().map_or(&FaultKind::ALL[..], |k| k.family());
    let group = family == FaultKind::GROUP;
    let (target, hints) = if group {
        ("consumer", GROUP_HINTS)
    } else {
        ("broker", BROKER_HINTS)
    };
    Drill {
        id: id.to_owned(),
        title: title.to_owned(),
        briefing: briefing.to_owned(),
        scenario,
        question: format!("What happened, and to which {target}?"),
        choices: family
            .iter()
            .map(|k| Choice {
                id: k.id().to_owned(),
                text: k.choice_text().to_owned(),
            })
            .collect(),
        explanation: explanation.to_owned(),
        faults,
        target: target.to_owned(),
        hints: hints.iter().map(|h| (*h).to_owned()).collect(),
    }
}

fn group_drill(
    id: &str,
    title: &str,
    briefing: &str,
    faults: Vec<FaultKind>,
    explanation: &str,
) -> Drill {
    drill(id, title, briefing, group_scenario(), faults, explanation)
}

/// The group drills' group id, its members' timeouts, and how long a stall or a freeze lasts.
const GROUP_ID: &str = "g";
const GROUP_TIMEOUT_MS: u64 = 10_000;
const GROUP_FAULT_MS: u64 = 20_000;
const GROUP_OFFSETS_PARTITIONS: u32 = 3;

/// The group drills' cluster: three brokers, t with six partitions of three replicas, an
/// acks=all producer, and group g with three cooperative-sticky members.
fn group_scenario() -> ClusterScenario {
    let broker = BrokerSettings {
        offsets_topic_num_partitions: GROUP_OFFSETS_PARTITIONS,
        group_initial_rebalance_delay_ms: 1_000,
        group_min_session_timeout_ms: 1_000,
        ..BrokerSettings::default()
    };
    let member = ConsumerSpec {
        group_id: Some(GROUP_ID.to_owned()),
        partition_assignment_strategy: vec!["cooperative-sticky".to_owned()],
        session_timeout_ms: GROUP_TIMEOUT_MS,
        heartbeat_interval_ms: 1_000,
        max_poll_interval_ms: GROUP_TIMEOUT_MS,
        auto_commit_interval_ms: 2_000,
        ..consumer("t", 100)
    };
    let mut s = cluster(
        "Group drill",
        "Three brokers, topic t with six partitions of three replicas, an acks=all producer, and consumer group g with three members (cooperative-sticky, session.timeout.ms=10000, max.poll.interval.ms=10000).",
        3,
        broker,
        vec![topic("t", 6, 3, &[("min.insync.replicas", "2")])],
        vec![producer("t", 12, (40, 80), safe_producer_config())],
        vec![member.clone(), member.clone(), member],
    );
    s.duration_ms = DRILL_DURATION_MS;
    s
}

/// The drills' cluster: three brokers, t with three partitions of three replicas,
/// min.insync.replicas=2, replica.lag.time.max.ms=4000 so ISR changes show within seconds.
fn scenario(with_acks1: bool) -> ClusterScenario {
    let broker = BrokerSettings {
        replica: ReplicaConfig {
            replica_lag_time_max_ms: 4_000,
            ..ReplicaConfig::default()
        },
        ..BrokerSettings::default()
    };
    let acks_all = ProducerConfig {
        request_timeout_ms: 3_000,
        delivery_timeout_ms: 10_000,
        ..safe_producer_config()
    };
    let mut producers = vec![producer("t", 6, (20, 40), acks_all)];
    if with_acks1 {
        producers.push(producer("t", 6, (20, 40), acks1_config()));
    }
    let mut s = cluster(
        "Drill",
        "Three brokers, topic t with three partitions of three replicas, min.insync.replicas=2, replica.lag.time.max.ms=4000.",
        3,
        broker,
        vec![topic("t", 3, 3, &[("min.insync.replicas", "2")])],
        producers,
        vec![consumer("t", 100)],
    );
    s.duration_ms = DRILL_DURATION_MS;
    s
}

/// The fault this drill hides for `seed`: its kind from the drill's pool, its broker and time.
pub fn hidden_fault(drill: &Drill, seed: u64) -> HiddenFault {
    let mut prng = Prng::new(seed).fork(&format!("drill:{}", drill.id));
    let pool = if drill.faults.is_empty() {
        FaultKind::ALL.to_vec()
    } else {
        drill.faults.clone()
    };
    let kind = pool[prng.below(pool.len() as u64) as usize];
    let brokers = drill.scenario.brokers.max(1);
    let broker = prng.range_inclusive(1, u64::from(brokers)) as u32;
    let at_ms = prng.range_inclusive(FAULT_AT_MS_MIN, FAULT_AT_MS_MAX);
    // Drawn last, and only for consumer faults: the broker drills' faults stay the seeds'.
    let consumers = drill.scenario.consumers.len().max(1) as u64;
    let consumer = kind.has_consumer().then(|| prng.below(consumers) as u32);
    HiddenFault {
        at_ms,
        actions: kind.actions(broker, brokers, consumer.unwrap_or(0)),
        answer: kind.id().to_owned(),
        broker: kind.has_broker().then_some(broker),
        consumer,
    }
}

/// A session on the drill's cluster with the hidden fault among the scenario's own steps.
pub fn drill_session(drill: &Drill, seed: u64) -> Result<(Session, HiddenFault), SimError> {
    let fault = hidden_fault(drill, seed);
    let mut scenario = drill.scenario.clone();
    scenario
        .steps
        .extend(fault.actions.iter().cloned().map(|action| Step {
            at_ms: fault.at_ms,
            action,
        }));
    let session = Session::new(scenario, seed)?;
    Ok((session, fault))
}

/// Whether the event log shows this line during a drill: lines about the fault itself would
/// give the answer away.
pub fn shown_during_drill(event: &Explained) -> bool {
    event.topic != Topic::Fault
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub points: u32,
    pub max: u32,
    pub correct: bool,
    /// Whether the broker named was the one hit; `None` when the fault hit no broker.
    pub broker_correct: Option<bool>,
    /// Whether the consumer named was the one hit; `None` when the fault hit no consumer.
    pub consumer_correct: Option<bool>,
    pub explanation: String,
}

/// Points for the right fault and the right broker (or consumer).
const POINTS_FAULT: u32 = 2;
const POINTS_BROKER: u32 = 1;

/// What the learner names besides the fault: a broker, a consumer, or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Named {
    pub broker: Option<u32>,
    pub consumer: Option<u32>,
}

/// Scores an answer: 2 points for the fault, 1 for the broker (or the consumer) when the
/// fault hit one, minus one per hint used (never below 0). The explanation names the fault,
/// its symptoms, and for a wrong answer what the chosen fault would have looked like instead.
pub fn score(
    drill: &Drill,
    fault: &HiddenFault,
    answer: &str,
    named: Named,
    hints_used: u32,
) -> Score {
    let broker = named.broker;
    let correct = answer == fault.answer;
    let broker_correct = fault.broker.map(|b| broker == Some(b));
    let consumer_correct = fault.consumer.map(|c| named.consumer == Some(c));
    let max = POINTS_FAULT
        + if fault.broker.is_some() {
            POINTS_BROKER
        } else {
            0
        }
        + if fault.consumer.is_some() {
            POINTS_BROKER
        } else {
            0
        };
    let earned = if correct { POINTS_FAULT } else { 0 }
        + if broker_correct == Some(true) {
            POINTS_BROKER
        } else {
            0
        }
        + if consumer_correct == Some(true) {
            POINTS_BROKER
        } else {
            0
        };
    let points = earned.saturating_sub(hints_used);
    let actual = FaultKind::from_id(&fault.answer);
    let target = fault.broker.unwrap_or(0);
    let hit = fault.consumer.unwrap_or(0);
    let mut parts = Vec::new();
    match actual {
        Some(kind) => {
            let verdict = if correct { "Right" } else { "Not quite" };
            let whom = match (fault.broker, fault.consumer) {
                (Some(b), _) => format!(" It hit broker {b}."),
                (None, Some(c)) => format!(" It hit consumer {c}."),
                (None, None) => String::new(),
            };
            parts.push(format!(
                "{verdict}: at {}.{} s, {}.{whom}",
                fault.at_ms / 1000,
                fault.at_ms % 1000 / 100,
                kind.choice_text().to_lowercase()
            ));
            parts.push(kind.symptoms(target, hit));
        }
        None => parts.push(format!("The hidden fault was {}.", fault.answer)),
    }
    if !correct {
        match FaultKind::from_id(answer) {
            Some(chosen) => parts.push(format!(
                "Your answer would have looked different: {}",
                chosen.symptoms(broker.unwrap_or(target), named.consumer.unwrap_or(hit))
            )),
            None => parts.push(format!("\"{answer}\" is not one of the choices.")),
        }
    }
    if broker_correct == Some(false) {
        parts.push(match broker {
            Some(b) => format!("You named broker {b}; the fault hit broker {target}."),
            None => format!("You named no broker; the fault hit broker {target}."),
        });
    }
    if consumer_correct == Some(false) {
        parts.push(match named.consumer {
            Some(c) => format!("You named consumer {c}; the fault hit consumer {hit}."),
            None => format!("You named no consumer; the fault hit consumer {hit}."),
        });
    }
    if hints_used > 0 {
        parts.push(format!(
            "{hints_used} hint(s) used: {hints_used} point(s) off."
        ));
    }
    parts.push(drill.explanation.clone());
    Score {
        points,
        max,
        correct,
        broker_correct,
        consumer_correct,
        explanation: parts.join("\n\n"),
    }
}

#[cfg(test)]
mod tests;
