//! Every drill's hidden fault shows in what the learner sees, for several seeds, and the
//! score rewards the right diagnosis and explains a wrong one.

use super::*;
use crate::sim::cluster::view::{BrokerState, ClusterView};
use crate::time::SimTime;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// How long after the fault the learner watches before answering.
const WATCH_MS: u64 = 25_000;
const SEEDS: std::ops::RangeInclusive<u64> = 1..=6;

fn run_to(session: &mut Session, ms: u64) {
    session
        .run_until(SimTime::from_millis(ms), u32::MAX)
        .expect("runs");
}

fn state_of(view: &ClusterView, broker: u32) -> BrokerState {
    view.brokers
        .iter()
        .find(|b| b.id == broker)
        .map(|b| b.state)
        .expect("the broker exists")
}

fn max_epoch(view: &ClusterView) -> i32 {
    view.partitions
        .iter()
        .map(|p| p.leader_epoch)
        .max()
        .unwrap_or(0)
}

/// The symptom the learner can see for `kind`, checked on the view after the fault and the
/// view just before it; `Err` says what is missing.
fn visible_symptom(
    kind: FaultKind,
    broker: Option<u32>,
    before: &ClusterView,
    after: &ClusterView,
    session: &Session,
) -> Result<(), String> {
    let errors = session.sim().producer_errors();
    let out_of_every_isr = |b: u32| after.partitions.iter().all(|p| !p.isr.contains(&b));
    let some_isr_lacks = |b: u32| after.partitions.iter().any(|p| !p.isr.contains(&b));
    let leads_nothing = |b: u32| after.partitions.iter().all(|p| p.leader != Some(b));
    let led_before = |b: u32| before.partitions.iter().any(|p| p.leader == Some(b));
    let epochs_moved = max_epoch(after) > max_epoch(before);
    let all_up = after.brokers.iter().all(|b| b.state == BrokerState::Up);
    let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_owned()) };
    match (kind, broker) {
        (FaultKind::CrashedBroker, Some(b)) => {
            check(state_of(after, b) == BrokerState::Crashed, "Crashed card")?;
            check(out_of_every_isr(b), "out of every ISR")?;
            check(leads_nothing(b), "lost its leaderships")?;
            check(!led_before(b) || epochs_moved, "leader epoch +1")
        }
        (FaultKind::PausedBroker, Some(b)) => {
            check(state_of(after, b) == BrokerState::Paused, "Paused card")?;
            check(out_of_every_isr(b), "out of every ISR")?;
            check(leads_nothing(b), "lost its leaderships")?;
            check(!led_before(b) || epochs_moved, "leader epoch +1")
        }
        (FaultKind::SlowDisk, Some(b)) => {
            check(state_of(after, b) == BrokerState::Up, "still Up")?;
            check(
                after
                    .brokers
                    .iter()
                    .any(|x| x.id == b && x.slow_disk_factor > 1),
                "slow disk factor on its card",
            )?;
            let timeouts = errors
                .keys()
                .any(|e| e.contains("TIMED_OUT") || e.contains("Timeout"));
            check(
                some_isr_lacks(b) || timeouts,
                "an ISR shrink or produce timeouts",
            )?;
            check(!epochs_moved, "no leader change")
        }
        (FaultKind::ZombieLeader, Some(b)) => {
            check(state_of(after, b) == BrokerState::Fenced, "Fenced card")?;
            check(leads_nothing(b), "lost its leaderships")?;
            check(!led_before(b) || epochs_moved, "leader epoch +1")
        }
        (FaultKind::CutFromFollowers, Some(b)) => {
            check(all_up, "every broker still Up")?;
            check(!epochs_moved, "no leader change")?;
            check(some_isr_lacks(b), "it left the ISRs it follows")?;
            let isolated_leader = after
                .partitions
                .iter()
                .any(|p| p.leader == Some(b) && p.isr == vec![b]);
            check(
                !led_before(b) || isolated_leader,
                "its ISR shrank to itself",
            )?;
            check(
                !led_before(b) || errors.contains_key("NOT_ENOUGH_REPLICAS"),
                "NOT_ENOUGH_REPLICAS",
            )
        }
        (FaultKind::NetworkDrops, None) => {
            check(
                after.network.drop == format!("1/{DROP_ONE_IN}"),
                "drop ratio shown",
            )?;
            check(all_up, "every broker still Up")?;
            check(
                errors
                    .keys()
                    .any(|e| e.contains("TIMED_OUT") || e.contains("Timeout")),
                "producer timeouts",
            )
        }
        (kind, broker) => Err(format!("{kind:?} with broker {broker:?}")),
    }
}

/// The symptom of a group fault the learner can see in the group panel.
fn visible_group_symptom(
    kind: FaultKind,
    consumer: Option<u32>,
    before: &ClusterView,
    after: &ClusterView,
    session: &Session,
) -> Result<(), String> {
    let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_owned()) };
    let group = |v: &ClusterView| v.groups.iter().find(|g| g.group_id == "g").cloned();
    let (Some(g0), Some(g1)) = (group(before), group(after)) else {
        return Err("group g described".into());
    };
    let member = |c: u32| after.consumers.iter().find(|x| x.index == c).cloned();
    let removals = session.sim().group_stats().removals;
    match (kind, consumer) {
        (FaultKind::StalledConsumer, Some(c)) => {
            check(
                removals.get("LeaveGroup").is_some_and(|n| *n >= 1),
                "the member left by itself (LeaveGroup)",
            )?;
            check(g1.generation > g0.generation, "a rebalance")?;
            check(member(c).is_some_and(|m| m.alive), "the process still runs")
        }
        (FaultKind::FrozenConsumer, Some(c)) => {
            check(
                removals.get("session.timeout.ms").is_some_and(|n| *n >= 1),
                "removed after session.timeout.ms",
            )?;
            check(g1.generation > g0.generation, "a rebalance")?;
            check(member(c).is_some_and(|m| m.alive), "the process still runs")
        }
        (FaultKind::CrashedConsumer, Some(c)) => {
            check(
                member(c).is_some_and(|m| !m.alive),
                "the member is not running",
            )?;
            check(
                removals.get("session.timeout.ms").is_some_and(|n| *n >= 1),
                "removed after session.timeout.ms",
            )?;
            check(g1.members == 2, "one member fewer")
        }
        (FaultKind::CoordinatorCrash, None) => {
            check(
                g1.coordinator.is_some() && g1.coordinator != g0.coordinator,
                "a new coordinator",
            )?;
            check(g1.generation == g0.generation, "no rebalance")?;
            check(g1.members == 3, "every member still in the group")
        }
        (kind, consumer) => Err(format!("{kind:?} with consumer {consumer:?}")),
    }
}

#[test]
fn every_hidden_fault_shows_a_symptom_for_several_seeds() {
    let mut seen = std::collections::BTreeSet::new();
    for drill in drills() {
        for seed in SEEDS {
            let (mut session, fault) = drill_session(&drill, seed).expect("valid");
            let kind = FaultKind::from_id(&fault.answer).expect("a known fault");
            seen.insert(kind);
            assert!(drill.faults.contains(&kind));
            assert!(
                session.user_steps().is_empty(),
                "the fault is not the learner's action"
            );
            run_to(&mut session, fault.at_ms - 1);
            let before = session.view();
            run_to(&mut session, fault.at_ms + WATCH_MS);
            let after = session.view();
            let shown = if FaultKind::GROUP.contains(&kind) {
                visible_group_symptom(kind, fault.consumer, &before, &after, &session)
            } else {
                visible_symptom(kind, fault.broker, &before, &after, &session)
            };
            if let Err(missing) = shown {
                panic!(
                    "drill {} seed {seed}: {kind:?} on broker {:?} consumer {:?} at {} ms shows no {missing}: brokers {:?} partitions {:?} errors {:?}",
                    drill.id,
                    fault.broker,
                    fault.consumer,
                    fault.at_ms,
                    after.brokers.iter().map(|b| (b.id, b.state)).collect::<Vec<_>>(),
                    after.partitions.iter().map(|p| (p.leader, p.leader_epoch, p.isr.clone())).collect::<Vec<_>>(),
                    session.sim().producer_errors()
                );
            }
            let check = session.live_check();
            assert!(check.violations.is_empty(), "{check:?}");
            assert!(
                check.findings.iter().all(|f| f.legal_because.is_some()),
                "drill {} seed {seed}: {check:?}",
                drill.id
            );
        }
    }
    assert!(
        seen.len() >= 4,
        "at least four kinds of fault come up: {seen:?}"
    );
}

#[test]
fn the_hidden_fault_is_the_seeds() {
    for drill in drills() {
        for seed in SEEDS {
            assert_eq!(hidden_fault(&drill, seed), hidden_fault(&drill, seed));
        }
        let kinds: std::collections::BTreeSet<String> = (0..40)
            .map(|seed| hidden_fault(&drill, seed).answer)
            .collect();
        assert_eq!(
            kinds.len(),
            drill.faults.len(),
            "{}: every fault of the pool comes up",
            drill.id
        );
    }
}

#[test]
fn the_right_answer_scores_full_points_and_a_wrong_one_is_explained() {
    for drill in drills() {
        for seed in SEEDS {
            let fault = hidden_fault(&drill, seed);
            let named = Named {
                broker: fault.broker,
                consumer: fault.consumer,
            };
            let right = score(&drill, &fault, &fault.answer, named, 0);
            assert!(right.correct);
            assert_eq!(right.points, right.max);
            let targets = u32::from(fault.broker.is_some()) + u32::from(fault.consumer.is_some());
            assert_eq!(right.max, 2 + targets);
            assert_eq!(right.broker_correct, fault.broker.map(|_| true));
            assert_eq!(right.consumer_correct, fault.consumer.map(|_| true));
            assert!(right.explanation.starts_with("Right"));
            let with_hint = score(&drill, &fault, &fault.answer, named, 1);
            assert_eq!(with_hint.points, right.max - 1);
            let wrong_id = drill
                .choices
                .iter()
                .map(|c| c.id.clone())
                .find(|id| *id != fault.answer)
                .expect("another choice");
            let wrong_named = Named {
                broker: fault.broker.map(|b| b % 3 + 1),
                consumer: fault.consumer.map(|c| (c + 1) % 3),
            };
            let wrong = score(&drill, &fault, &wrong_id, wrong_named, 0);
            assert!(!wrong.correct);
            assert_eq!(wrong.points, 0);
            let actual = FaultKind::from_id(&fault.answer).expect("known");
            assert!(wrong
                .explanation
                .contains(actual.choice_text().to_lowercase().as_str()));
            assert!(wrong
                .explanation
                .contains("Your answer would have looked different"));
            if let Some(b) = fault.broker {
                assert!(wrong
                    .explanation
                    .contains(&format!("the fault hit broker {b}")));
            }
            if let Some(c) = fault.consumer {
                assert!(wrong
                    .explanation
                    .contains(&format!("the fault hit consumer {c}")));
            }
            let nonsense = score(&drill, &fault, "<script>", Named::default(), 9);
            assert_eq!(nonsense.points, 0);
            assert!(!nonsense.correct);
        }
    }
}

#[test]
fn drills_round_trip_through_json() {
    let all = drills();
    assert!(all.len() >= 4);
    for d in &all {
        assert_eq!(d.scenario.validate(), Ok(()));
        assert!(d.scenario.steps.is_empty(), "the fault is added per seed");
        let family = d.faults[0].family();
        assert_eq!(d.choices.len(), family.len());
        assert!(d.faults.iter().all(|k| family.contains(k)));
        assert!(!d.hints.is_empty());
        assert_eq!(d.target == "consumer", family == FaultKind::GROUP);
    }
    let text = serde_json::to_string(&all).expect("serializes");
    let back: Vec<Drill> = serde_json::from_str(&text).expect("parses");
    assert_eq!(back, all);
    let fault = hidden_fault(&all[0], 3);
    let text = serde_json::to_string(&fault).expect("serializes");
    assert_eq!(
        serde_json::from_str::<HiddenFault>(&text).expect("parses"),
        fault
    );
}

#[test]
fn fault_lines_are_hidden_during_a_drill() {
    let mut line = Explained {
        step: 1,
        time_ms: 1,
        severity: super::super::explain::Severity::Info,
        topic: Topic::Fault,
        what: "broker 2 crashed".into(),
        why: None,
        refs: Vec::new(),
        raw: String::new(),
    };
    assert!(!shown_during_drill(&line));
    line.topic = Topic::Isr;
    assert!(shown_during_drill(&line));
}
