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
use crate::client::producer::ProducerConfig;
use crate::prng::Prng;
use crate::sim::cluster::scenario::{Action, BrokerSettings, ClusterScenario, Step};
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
}

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

    /// The choice id.
    pub fn id(self) -> &'static str {
        match self {
            FaultKind::CrashedBroker => "crashed-broker",
            FaultKind::PausedBroker => "paused-broker",
            FaultKind::SlowDisk => "slow-disk",
            FaultKind::ZombieLeader => "zombie-leader",
            FaultKind::CutFromFollowers => "cut-from-followers",
            FaultKind::NetworkDrops => "network-drops",
        }
    }

    pub fn from_id(id: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.id() == id)
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
        }
    }

    fn has_broker(self) -> bool {
        self != FaultKind::NetworkDrops
    }

    fn actions(self, broker: u32, brokers: u32) -> Vec<Action> {
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
        }
    }

    /// What happened and what the UI showed, for broker `b` (ignored by network drops).
    fn symptoms(self, b: u32) -> String {
        match self {
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
    Drill {
        id: id.to_owned(),
        title: title.to_owned(),
        briefing: briefing.to_owned(),
        scenario,
        question: "What happened, and to which broker?".to_owned(),
        choices: FaultKind::ALL
            .into_iter()
            .map(|k| Choice {
                id: k.id().to_owned(),
                text: k.choice_text().to_owned(),
            })
            .collect(),
        explanation: explanation.to_owned(),
        faults,
    }
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
    HiddenFault {
        at_ms,
        actions: kind.actions(broker, brokers),
        answer: kind.id().to_owned(),
        broker: kind.has_broker().then_some(broker),
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
    pub explanation: String,
}

/// Points for the right fault and the right broker.
const POINTS_FAULT: u32 = 2;
const POINTS_BROKER: u32 = 1;

/// Scores an answer: 2 points for the fault, 1 for the broker when the fault hit one, minus
/// one per hint used (never below 0). The explanation names the fault, its symptoms, and for
/// a wrong answer what the chosen fault would have looked like instead.
pub fn score(
    drill: &Drill,
    fault: &HiddenFault,
    answer: &str,
    broker: Option<u32>,
    hints_used: u32,
) -> Score {
    let correct = answer == fault.answer;
    let broker_correct = fault.broker.map(|b| broker == Some(b));
    let max = POINTS_FAULT
        + if fault.broker.is_some() {
            POINTS_BROKER
        } else {
            0
        };
    let earned = if correct { POINTS_FAULT } else { 0 }
        + if broker_correct == Some(true) {
            POINTS_BROKER
        } else {
            0
        };
    let points = earned.saturating_sub(hints_used);
    let actual = FaultKind::from_id(&fault.answer);
    let target = fault.broker.unwrap_or(0);
    let mut parts = Vec::new();
    match actual {
        Some(kind) => {
            let verdict = if correct { "Right" } else { "Not quite" };
            let whom = fault
                .broker
                .map_or_else(String::new, |b| format!(" It hit broker {b}."));
            parts.push(format!(
                "{verdict}: at {}.{} s, {}.{whom}",
                fault.at_ms / 1000,
                fault.at_ms % 1000 / 100,
                kind.choice_text().to_lowercase()
            ));
            parts.push(kind.symptoms(target));
        }
        None => parts.push(format!("The hidden fault was {}.", fault.answer)),
    }
    if !correct {
        match FaultKind::from_id(answer) {
            Some(chosen) => parts.push(format!(
                "Your answer would have looked different: {}",
                chosen.symptoms(broker.unwrap_or(target))
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
        explanation: parts.join("\n\n"),
    }
}

#[cfg(test)]
mod tests;
