//! Every lesson played as a learner would: act when the step asks, then run the clock in
//! slices until the checkpoint is met. A lesson whose story is no longer true in the engine
//! fails here, naming the lesson and the step.

use super::*;
use crate::time::SimTime;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// The clock runs in slices this long between checks, as the UI's play loop would.
const SLICE_MS: u64 = 250;
/// A checkpoint must be reached within this much simulated time after its step starts.
const STEP_LIMIT_MS: u64 = 90_000;

/// Where a played step stood: its time when reached.
struct Played {
    reached_ms: Vec<u64>,
    session: Session,
}

fn play(lesson: &Lesson) -> Result<Played, String> {
    let mut session = Session::new(lesson.scenario.clone(), lesson.seed)
        .map_err(|e| format!("{}: {e}", lesson.id))?;
    let mut reached_ms = Vec::new();
    for (i, step) in lesson.steps.iter().enumerate() {
        let at = format!("lesson {} step {} ({})", lesson.id, i, step.title);
        let goal = anchor(&step.goal, &session);
        if let Some(action) = &step.action {
            if goal_met(&goal, &session) {
                return Err(format!("{at}: the goal is met before the learner acts"));
            }
            session
                .act(action.clone())
                .map_err(|e| format!("{at}: {e}"))?;
        }
        let start = session.view().time_ms;
        let mut now = start;
        while !goal_met(&goal, &session) {
            if now >= start + STEP_LIMIT_MS || session.finished() {
                let view = session.view();
                return Err(format!(
                    "{at}: goal {:?} not met by {} ms; partitions {:?}; producers {:?}",
                    goal,
                    now,
                    view.partitions
                        .iter()
                        .map(|p| (
                            p.leader,
                            p.leader_epoch,
                            p.isr.clone(),
                            p.high_watermark,
                            p.log_end_offset
                        ))
                        .collect::<Vec<_>>(),
                    view.producers
                        .iter()
                        .map(|p| p.errors.clone())
                        .collect::<Vec<_>>()
                ));
            }
            now += SLICE_MS;
            session
                .run_until(SimTime::from_millis(now), u32::MAX)
                .map_err(|e| format!("{at}: {e}"))?;
        }
        reached_ms.push(session.view().time_ms);
    }
    Ok(Played {
        reached_ms,
        session,
    })
}

fn lesson_by_id(id: &str) -> Lesson {
    lessons()
        .into_iter()
        .find(|l| l.id == id)
        .expect("the lesson exists")
}

#[test]
fn there_are_sixteen_lessons_in_teaching_order_with_four_to_eight_steps() {
    let ids: Vec<String> = lessons().into_iter().map(|l| l.id).collect();
    assert_eq!(
        ids,
        [
            "log-and-offsets",
            "partitions-and-keys",
            "replication-and-isr",
            "acks-and-min-insync-replicas",
            "leader-failover",
            "acks1-data-loss",
            "unclean-leader-election",
            "idempotent-producer",
            "groups-and-partitions",
            "eager-versus-cooperative",
            "offset-commits-and-duplicates",
            "static-membership",
            "idempotence-versus-transactions",
            "transaction-lifecycle-and-markers",
            "read-committed-and-the-lso",
            "zombie-fencing",
        ]
    );
    for lesson in lessons() {
        assert!((4..=8).contains(&lesson.steps.len()), "{}", lesson.id);
        assert_eq!(lesson.scenario.validate(), Ok(()), "{}", lesson.id);
        assert!(
            lesson.scenario.steps.is_empty(),
            "{}: the learner causes the faults",
            lesson.id
        );
        let last = lesson.steps.last().expect("steps");
        assert!(
            last.narration.join(" ").contains("free play"),
            "{}",
            lesson.id
        );
        for step in &lesson.steps {
            assert!(!step.narration.is_empty() && !step.after.is_empty() && !step.hint.is_empty());
            let all = step
                .narration
                .iter()
                .chain(&step.after)
                .chain([&step.hint, &step.title]);
            for text in all {
                assert!(
                    !text.contains('<') && !text.contains('>'),
                    "{}: no HTML: {text}",
                    lesson.id
                );
            }
            assert!(!describe_goal(&step.goal).is_empty());
        }
    }
}

fn assert_plays(id: &str) -> Played {
    match play(&lesson_by_id(id)) {
        Ok(played) => played,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn lesson_log_and_offsets_plays() {
    let played = assert_plays("log-and-offsets");
    assert!(played.session.live_check().findings.is_empty());
}

#[test]
fn lesson_partitions_and_keys_plays_and_each_key_stays_in_one_partition() {
    let played = assert_plays("partitions-and-keys");
    let view = played.session.view();
    let mut partitions_of_key: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut null_key_partitions = Vec::new();
    for p in &view.partitions {
        let leader = p.leader.expect("every partition is back online");
        let mut from = 0;
        while from < p.high_watermark {
            let cards =
                played
                    .session
                    .records("orders", p.partition, leader, from, p.high_watermark);
            let Some(last) = cards.last() else { break };
            from = last.offset + 1;
            for card in cards {
                match card.key {
                    Some(k) => partitions_of_key.entry(k).or_default().push(p.partition),
                    None => null_key_partitions.push(p.partition),
                }
            }
        }
    }
    assert_eq!(partitions_of_key.len(), 3, "{partitions_of_key:?}");
    for (key, partitions) in &partitions_of_key {
        let expected = partition_for_key(key.as_bytes(), 3).0;
        assert!(
            partitions.iter().all(|p| *p == expected),
            "{key}: {partitions:?}"
        );
    }
    null_key_partitions.sort_unstable();
    null_key_partitions.dedup();
    assert_eq!(
        null_key_partitions,
        vec![0, 1, 2],
        "null keys spread over every partition"
    );
    for (i, broker) in KEYS_PLACEMENT.iter().enumerate() {
        assert_eq!(
            view.partitions[i].replicas,
            vec![*broker],
            "the narration's placement"
        );
    }
}

/// The narration names broker ids: the lesson seed's placement must still be the one it names.
#[test]
fn the_narrated_placement_is_the_lesson_seeds() {
    let mut session = Session::new(scenario_failover(), LESSON_SEED).expect("valid");
    session
        .run_until(SimTime::from_millis(3_000), u32::MAX)
        .expect("runs");
    let view = session.view();
    assert_eq!(
        view.partitions[0].replicas,
        vec![LEADER, FIRST_FOLLOWER, SECOND_FOLLOWER]
    );
    assert_eq!(view.partitions[0].leader, Some(LEADER));
    assert_eq!(view.partitions[0].leader_epoch, 0);
    let mut session = Session::new(scenario_unclean(), LESSON_SEED).expect("valid");
    session
        .run_until(SimTime::from_millis(3_000), u32::MAX)
        .expect("runs");
    assert_eq!(session.view().partitions[0].replicas, vec![2, 1]);
}

#[test]
fn lesson_replication_and_isr_plays() {
    let played = assert_plays("replication-and-isr");
    // The follower was paused when step 1 was reached; it left the ISR through the leader's
    // replica.lag.time.max.ms check (5 s), before the controller's broker.session.timeout.ms
    // (9 s) would have fenced it, as the narration says.
    let paused_at = played.reached_ms[0];
    let shrunk_at = played.reached_ms[2];
    assert!(
        shrunk_at >= paused_at + 5_000 && shrunk_at < paused_at + 9_000,
        "paused at {paused_at} ms, ISR shrank at {shrunk_at} ms"
    );
    let view = played.session.view();
    assert_eq!(
        view.partitions[0].leader_epoch, 0,
        "an ISR change is no new leader"
    );
}

#[test]
fn lesson_acks_and_min_insync_replicas_plays() {
    let played = assert_plays("acks-and-min-insync-replicas");
    let errors = played.session.sim().producer_errors();
    assert!(errors.get("NOT_ENOUGH_REPLICAS").is_some_and(|n| *n > 0));
    let check = played.session.live_check();
    assert!(
        check.findings.iter().all(|f| f.kind != "lost-write"),
        "{check:?}"
    );
}

#[test]
fn lesson_leader_failover_plays_without_loss() {
    let mut played = assert_plays("leader-failover");
    assert_eq!(
        played.session.view().partitions[0].leader,
        Some(FIRST_FOLLOWER)
    );
    // The last step's promise: leader.imbalance.check.interval.seconds (300 s) after the start
    // the preferred leader takes t-0 back, in leader epoch 2.
    played
        .session
        .run_until(SimTime::from_millis(305_000), u32::MAX)
        .expect("runs");
    let view = played.session.view();
    assert_eq!(view.partitions[0].leader, Some(LEADER));
    assert_eq!(view.partitions[0].leader_epoch, 2);
    let check = played.session.live_check();
    assert!(check.findings.is_empty(), "{check:?}");
    assert!(check.violations.is_empty());
}

#[test]
fn lesson_acks1_data_loss_plays() {
    let played = assert_plays("acks1-data-loss");
    assert_eq!(
        played.session.view().partitions[0].leader,
        Some(FIRST_FOLLOWER)
    );
    let check = played.session.live_check();
    assert!(
        check
            .findings
            .iter()
            .any(|f| f.kind == "inconsistent-offsets"),
        "{check:?}"
    );
    assert!(
        check.findings.iter().all(|f| f.legal_because.is_some()),
        "{check:?}"
    );
}

#[test]
fn lesson_unclean_leader_election_plays() {
    let played = assert_plays("unclean-leader-election");
    assert_eq!(
        played.session.view().partitions[0].leader,
        Some(1),
        "broker b leads"
    );
    let check = played.session.live_check();
    assert!(
        check.findings.iter().all(|f| f.legal_because.is_some()),
        "{check:?}"
    );
}

#[test]
fn lesson_idempotent_producer_plays() {
    let played = assert_plays("idempotent-producer");
    let check = played.session.live_check();
    assert!(
        check.findings.iter().all(|f| f.topic == "plain"),
        "{check:?}"
    );
    assert!(
        check.findings.iter().all(|f| f.legal_because.is_some()),
        "{check:?}"
    );
}

/// The group lessons play, and their stories hold in the engine: no partition has two owners
/// at once and no committed offset is lost.
fn assert_group_lesson_plays(id: &str) -> Played {
    let played = assert_plays(id);
    let check = played.session.live_check();
    assert!(
        check
            .findings
            .iter()
            .all(|f| f.kind != "committed-offset-lost"
                && (f.kind != "double-ownership" || f.legal_because.is_some())),
        "{id}: {check:?}"
    );
    played
}

#[test]
fn lesson_groups_and_partitions_plays() {
    let played = assert_group_lesson_plays("groups-and-partitions");
    let view = played.session.view();
    let group = view
        .groups
        .iter()
        .find(|g| g.group_id == "shop")
        .expect("shop");
    assert_eq!(group.members, 4);
    let owners: std::collections::BTreeSet<_> = group
        .rows
        .iter()
        .filter_map(|r| r.consumer_id.clone())
        .collect();
    assert_eq!(
        owners.len(),
        3,
        "three owners of three partitions: {group:?}"
    );
}

#[test]
fn lesson_eager_versus_cooperative_plays() {
    let played = assert_group_lesson_plays("eager-versus-cooperative");
    let view = played.session.view();
    let member = |i: u32| {
        view.consumers
            .iter()
            .find(|c| c.index == i)
            .and_then(|c| c.member.clone())
            .expect("a member")
    };
    // The cooperative group took two generations for the join; its old members kept partitions.
    let coop = view
        .groups
        .iter()
        .find(|g| g.group_id == "coop")
        .expect("coop");
    assert!(coop.generation >= 3, "{coop:?}");
    assert!(member(2).owned.len() >= 2 && member(3).owned.len() >= 2);
}

#[test]
fn lesson_offset_commits_and_duplicates_plays() {
    assert_group_lesson_plays("offset-commits-and-duplicates");
}

#[test]
fn lesson_static_membership_plays() {
    assert_group_lesson_plays("static-membership");
}

#[test]
fn lesson_idempotence_versus_transactions_plays() {
    let played = assert_plays("idempotence-versus-transactions");
    let view = played.session.view();
    let billing = view
        .transactions
        .iter()
        .find(|t| t.transactional_id == "billing")
        .expect("billing at its coordinator");
    assert_eq!(billing.producer_epoch, 0, "no fencing in this lesson");
}

#[test]
fn lesson_transaction_lifecycle_plays() {
    let played = assert_plays("transaction-lifecycle-and-markers");
    // The coordinator's partition holds the state transitions.
    let view = played.session.view();
    assert!(view
        .partitions
        .iter()
        .any(|p| p.topic == "__transaction_state" && p.high_watermark > 3));
}

#[test]
fn lesson_read_committed_and_the_lso_plays() {
    let played = assert_plays("read-committed-and-the-lso");
    let check = played.session.live_check();
    let g1a: Vec<_> = check.findings.iter().filter(|f| f.kind == "G1a").collect();
    assert!(!g1a.is_empty());
    assert!(
        g1a.iter().all(|f| f.legal_because.is_some()),
        "only the read_uncommitted consumer reads aborted records: {g1a:?}"
    );
}

#[test]
fn lesson_zombie_fencing_plays() {
    let played = assert_plays("zombie-fencing");
    let view = played.session.view();
    let zombie = view.producers[0]
        .transaction
        .as_ref()
        .expect("transactional");
    let replacement = view.producers[1]
        .transaction
        .as_ref()
        .expect("transactional");
    assert!(zombie.fatal.is_some(), "{zombie:?}");
    assert!(replacement.fatal.is_none(), "{replacement:?}");
    assert!(replacement.producer_epoch > zombie.producer_epoch);
}

#[test]
fn relative_goals_anchor_at_the_step_start() {
    let lesson = lesson_by_id("log-and-offsets");
    let mut session = Session::new(lesson.scenario, lesson.seed).expect("valid");
    session
        .run_until(SimTime::from_millis(4_000), u32::MAX)
        .expect("runs");
    let goal = anchor(&Goal::PlayFor { ms: 1_000 }, &session);
    assert_eq!(
        goal,
        Goal::Play {
            until_ms: session.view().time_ms + 1_000
        }
    );
    assert!(!goal_met(&goal, &session));
    assert!(
        goal_met(&Goal::PlayFor { ms: 1_000 }, &session),
        "unanchored: from time 0"
    );
    let grows = anchor(
        &Goal::HighWatermarkGrows {
            topic: "events".into(),
            partition: 0,
            by: 2,
        },
        &session,
    );
    assert!(!goal_met(&grows, &session));
    session
        .run_until(SimTime::from_millis(8_000), u32::MAX)
        .expect("runs");
    assert!(goal_met(&grows, &session));
    assert!(goal_met(&goal, &session));
    assert_eq!(
        describe_goal(&Goal::PlayFor { ms: 5_000 }),
        "Run the clock for 5 s more"
    );
    assert_eq!(
        describe_goal(&Goal::All(vec![
            Goal::ActionTaken(ActionKind::PauseConsumers),
            Goal::BrokerState {
                broker: 2,
                state: BrokerState::Paused
            },
        ])),
        "Pause the consumers, and broker 2 is paused"
    );
}

#[test]
fn lessons_round_trip_through_json() {
    let all = lessons();
    let text = serde_json::to_string(&all).expect("serializes");
    let back: Vec<Lesson> = serde_json::from_str(&text).expect("parses");
    assert_eq!(back, all);
}
