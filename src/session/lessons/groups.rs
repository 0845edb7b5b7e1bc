//! The consumer-group lessons: groups and partitions, eager versus cooperative rebalancing,
//! offset commits and duplicates, static membership. Each runs on a three-broker cluster with
//! a short `group.initial.rebalance.delay.ms` and `session.timeout.ms`, so a rebalance plays
//! out within seconds.

use super::*;

/// The members' session and poll timeouts in these lessons (Kafka's defaults: 45 s, 5 min).
const SESSION_TIMEOUT_MS: u64 = 10_000;
const MAX_POLL_INTERVAL_MS: u64 = 10_000;

fn group_broker() -> BrokerSettings {
    BrokerSettings {
        offsets_topic_num_partitions: 3,
        group_initial_rebalance_delay_ms: 1_000,
        group_min_session_timeout_ms: 1_000,
        ..BrokerSettings::default()
    }
}

/// A member of `group` reading `topic` with `strategy`, auto-committing every
/// `auto_commit_ms`.
pub(super) fn member(
    topic: &str,
    group: &str,
    strategy: &str,
    auto_commit_ms: u64,
) -> ConsumerSpec {
    ConsumerSpec {
        group_id: Some(group.to_owned()),
        partition_assignment_strategy: vec![strategy.to_owned()],
        session_timeout_ms: SESSION_TIMEOUT_MS,
        heartbeat_interval_ms: 1_000,
        max_poll_interval_ms: MAX_POLL_INTERVAL_MS,
        auto_commit_interval_ms: auto_commit_ms,
        ..consumer(topic, 200)
    }
}

fn stable(group: &str, members: u32) -> Goal {
    Goal::GroupStable {
        group: group.to_owned(),
        members,
    }
}

fn generation_at_least(group: &str, generation: i32) -> Goal {
    Goal::GroupGenerationAtLeast {
        group: group.to_owned(),
        generation,
    }
}

fn owns(consumer: u32, count: u32) -> Goal {
    Goal::MemberOwnsAtLeast { consumer, count }
}

fn add(spec: ConsumerSpec) -> Option<Action> {
    Some(Action::AddConsumer { consumer: spec })
}

pub(super) fn lessons() -> Vec<Lesson> {
    vec![
        groups_and_partitions(),
        eager_versus_cooperative(),
        offset_commits_and_duplicates(),
        static_membership(),
    ]
}

fn groups_and_partitions() -> Lesson {
    let t = "orders";
    let g = "shop";
    let spec = member(t, g, "range", 2_000);
    let scenario = cluster(
        "Lesson: consumer groups and partitions",
        "Three brokers, topic orders with three partitions, an acks=all producer, and group shop with one member (range assignor, session.timeout.ms=10000).",
        3,
        group_broker(),
        vec![topic(t, 3, 3, &[("min.insync.replicas", "2")])],
        vec![producer(t, 6, (150, 300), safe_producer_config())],
        vec![spec.clone()],
    );
    lesson(
        "groups-and-partitions",
        "Consumer groups and partitions",
        "A consumer group shares a topic's partitions among its members: each partition has one owner, a new member triggers a rebalance, and members beyond the partition count sit idle.",
        scenario,
        vec![
            step(
                "One member reads everything",
                text(&[
                    "Consumer 0 is configured with group.id=shop. It first asks any broker which broker coordinates its group (FindCoordinator): the leader of the partition of __consumer_offsets that the group id hashes to. Then it joins (JoinGroup), the coordinator makes it the group leader, it runs the assignor and hands the assignment back (SyncGroup).",
                    "Press play and watch the Consumer groups panel: the group's state, its generation, and the owner strip with one cell per partition.",
                ]),
                None,
                Goal::All(vec![stable(g, 1), owns(0, 3)]),
                "Press play and wait for group shop to become Stable.",
                text(&[
                    "Alone in its group, consumer 0 owns all three partitions (C0 on every cell). Each completed rebalance is a new generation of the group; this is generation 1.",
                ]),
            ),
            step(
                "A second member joins",
                text(&[
                    "Add a second consumer with the same group.id. The coordinator cannot hand it partitions on the spot: it moves the group to PreparingRebalance, asks every member to rejoin, and the leader assigns the partitions again.",
                ]),
                add(spec.clone()),
                Goal::All(vec![stable(g, 2), owns(1, 1), generation_at_least(g, 2)]),
                "Press \"Add a consumer\" (the lesson's button does it), then play.",
                text(&[
                    "Generation 2: the range assignor splits three partitions over two members, so one member owns two partitions and the other one. No partition is read by both: within a group, a partition has exactly one owner.",
                ]),
            ),
            step(
                "A third member",
                text(&["Add a third member: three members, three partitions."]),
                add(spec.clone()),
                Goal::All(vec![stable(g, 3), owns(0, 1), owns(1, 1), owns(2, 1)]),
                "Add a consumer, then play until the group is Stable again.",
                text(&[
                    "One partition each: the group now reads three partitions in parallel. This is how Kafka scales consumption: more members, up to the number of partitions.",
                ]),
            ),
            step(
                "One member too many",
                text(&[
                    "Add a fourth member. There are still only three partitions.",
                ]),
                add(spec),
                Goal::All(vec![stable(g, 4), Goal::MemberIdle { consumer: 3 }]),
                "Add a consumer, then play until the group is Stable with four members.",
                text(&[
                    "The fourth member joined and owns nothing: a partition is never split between members, so members beyond the partition count sit idle (they take over when another member leaves). To read faster than this, a topic needs more partitions.",
                ]),
            ),
            free_play(&[
                "Try crashing a member (its partitions move after session.timeout.ms, 10 s here) or removing one cleanly (LeaveGroup: they move at once). The lag table under the group shows each partition's committed offset and lag.",
            ]),
        ],
    )
}

fn eager_versus_cooperative() -> Lesson {
    let t = "orders";
    let eager = member(t, "eager", "range", 2_000);
    let coop = member(t, "coop", "cooperative-sticky", 2_000);
    let scenario = cluster(
        "Lesson: eager versus cooperative rebalancing",
        "Topic orders with six partitions read by two groups: eager (range assignor) and coop (cooperative-sticky), two members each.",
        3,
        group_broker(),
        vec![topic(t, 6, 3, &[("min.insync.replicas", "2")])],
        vec![producer(t, 12, (60, 150), safe_producer_config())],
        vec![eager.clone(), eager.clone(), coop.clone(), coop.clone()],
    );
    lesson(
        "eager-versus-cooperative",
        "Rebalancing: eager versus cooperative",
        "An eager rebalance stops the whole group; a cooperative one (KIP-429) revokes only the partitions that move, in one rebalance, and assigns them in the next.",
        scenario,
        vec![
            step(
                "Two groups, side by side",
                text(&[
                    "Two groups read the same topic. Group eager uses the range assignor, an eager protocol; group coop uses cooperative-sticky. Consumers 0 and 1 are in eager, 2 and 3 in coop. Groups are independent: each reads every partition once.",
                    "Press play until both groups are Stable.",
                ]),
                None,
                Goal::All(vec![stable("eager", 2), stable("coop", 2)]),
                "Press play.",
                text(&[
                    "Each group gave each member three partitions. Both show generation 1 and the assignor they chose.",
                ]),
            ),
            step(
                "A member joins the eager group",
                text(&[
                    "Add a third member to group eager, and watch the members' lines in the group panel as you step.",
                ]),
                add(eager),
                Goal::All(vec![stable("eager", 3), owns(4, 1), generation_at_least("eager", 2)]),
                "Add the consumer, then play (or step with the right arrow to see each stage).",
                text(&[
                    "Eager: before rejoining, every member revoked all its partitions (\"revoked p0 p1 p2\") and read nothing until the new assignment arrived, even the partitions it got back. One rebalance, generation 2, and a stop-the-world pause for the whole group.",
                ]),
            ),
            step(
                "A member joins the cooperative group",
                text(&[
                    "Now add a third member to group coop.",
                ]),
                add(coop),
                Goal::All(vec![stable("coop", 3), owns(5, 1), generation_at_least("coop", 3)]),
                "Add the consumer, then play.",
                text(&[
                    "Cooperative: the first rebalance (generation 2) only took away the partitions that must move: each old member revoked one and kept reading the others. The members rejoined at once, and the second rebalance (generation 3) gave the freed partitions to the newcomer. Two rebalances, but no partition stopped that did not move.",
                ]),
            ),
            step(
                "A member crashes",
                text(&[
                    "Crash consumer 0 (group eager): no LeaveGroup is sent, the process is simply gone.",
                ]),
                Some(Action::CrashConsumer { consumer: 0 }),
                Goal::All(vec![
                    Goal::ActionTaken(ActionKind::CrashConsumer),
                    generation_at_least("eager", 3),
                    stable("eager", 2),
                ]),
                "Crash consumer 0, then play for about 10 seconds.",
                text(&[
                    "For session.timeout.ms (10 s here, 45 s by default) the coordinator waited for a heartbeat; its partitions were not read and the lag grew. Then it removed the member and rebalanced: the survivors took the partitions over from the last committed offsets.",
                ]),
            ),
            free_play(&[
                "Try the same crash in group coop, or move group eager towards cooperative-sticky with the \"Bounce every member to prefer it\" button: each member restarts offering [cooperative-sticky, range], the first of Kafka's two rolling bounces for this upgrade (the group takes cooperative-sticky, but rebalances eagerly until a second bounce drops range).",
            ]),
        ],
    )
}

fn offset_commits_and_duplicates() -> Lesson {
    let t = "orders";
    let g = "billing";
    let spec = member(t, g, "cooperative-sticky", 5_000);
    let scenario = cluster(
        "Lesson: offset commits and duplicates",
        "Topic orders with three partitions and group billing with two members that auto-commit every 5 s (enable.auto.commit=true, auto.commit.interval.ms=5000, Kafka's defaults).",
        3,
        group_broker(),
        vec![topic(t, 3, 3, &[("min.insync.replicas", "2")])],
        vec![producer(t, 6, (100, 200), safe_producer_config())],
        vec![spec.clone(), spec],
    );
    lesson(
        "offset-commits-and-duplicates",
        "Offset commits and duplicates",
        "A group remembers where it stopped by committing offsets to __consumer_offsets; whatever was read after the last commit is read again after a failure: at-least-once.",
        scenario,
        vec![
            step(
                "Committed offsets",
                text(&[
                    "Members remember their progress by committing offsets: a record in the internal topic __consumer_offsets, keyed by group, topic and partition. The committed offset is the next offset to read, not the last one read.",
                    "With enable.auto.commit=true the consumer commits its positions every auto.commit.interval.ms, from inside poll(). Play, and watch the ✓billing marks on the leaders' logs and the CURRENT-OFFSET column of the lag table.",
                ]),
                None,
                Goal::CommittedOffsetAtLeast {
                    group: g.into(),
                    topic: t.into(),
                    partition: 0,
                    offset: 5,
                },
                "Press play until the group has committed offsets.",
                text(&[
                    "The ✓ mark trails the consumer's position (C0, C1): between two commits, what a member read is not yet recorded. LAG is the high watermark minus the committed offset, as kafka-consumer-groups --describe shows it.",
                ]),
            ),
            step(
                "Between two commits",
                text(&[
                    "Let the members read for two more seconds: their positions run ahead of the committed offsets.",
                ]),
                None,
                Goal::PlayFor { ms: 2_000 },
                "Play for two seconds.",
                text(&["The records read since the last commit exist only in the members' memory."]),
            ),
            step(
                "Crash a member",
                text(&[
                    "Crash consumer 0 now, between two auto-commits.",
                ]),
                Some(Action::CrashConsumer { consumer: 0 }),
                Goal::All(vec![
                    Goal::ActionTaken(ActionKind::CrashConsumer),
                    owns(1, 3),
                    Goal::ReprocessedAtLeast { values: 1 },
                ]),
                "Crash consumer 0 and play until consumer 1 owns every partition and reads.",
                text(&[
                    "After session.timeout.ms, consumer 1 took consumer 0's partitions and started from the committed offsets: the records consumer 0 had read since its last commit were read again. Kafka's consumer is at-least-once: a crash between processing and the offset commit means duplicates, never gaps. Less time between commits (or commitSync after processing) means fewer duplicates, never none.",
                ]),
            ),
            step(
                "Restart it",
                text(&[
                    "Restart consumer 0. It is a new process with a new member id: it joins the group and a rebalance gives it partitions back.",
                ]),
                Some(Action::RestartConsumer {
                    consumer: 0,
                    strategy: None,
                }),
                Goal::All(vec![stable(g, 2), owns(0, 1)]),
                "Restart consumer 0, then play until the group is Stable with two members.",
                text(&[
                    "Cooperative-sticky moved only what it had to. The partitions consumer 0 gets start from the offsets consumer 1 committed for them: commits are per group, not per member.",
                ]),
            ),
            free_play(&[
                "Try a seek: in consumer 1's controls, seek a partition back to offset 0. The position moves; the committed offset does not until the next commit. The checker's reprocessed count grows, legal under at-least-once.",
            ]),
        ],
    )
}

fn static_membership() -> Lesson {
    let t = "orders";
    let g = "static";
    let with_id = |id: &str| ConsumerSpec {
        group_instance_id: Some(id.to_owned()),
        ..member(t, g, "range", 2_000)
    };
    let scenario = cluster(
        "Lesson: static membership",
        "Topic orders with three partitions and group static with two static members (group.instance.id app-a and app-b, session.timeout.ms=10000).",
        3,
        group_broker(),
        vec![topic(t, 3, 3, &[("min.insync.replicas", "2")])],
        vec![producer(t, 6, (150, 300), safe_producer_config())],
        vec![with_id("app-a"), with_id("app-b")],
    );
    lesson(
        "static-membership",
        "Static membership",
        "With group.instance.id (KIP-345) a member that restarts within session.timeout.ms gets its partitions back without a rebalance; a second process with the same id is fenced.",
        scenario,
        vec![
            step(
                "Two static members",
                text(&[
                    "Consumers 0 and 1 set group.instance.id (app-a and app-b): they are static members. The coordinator remembers each instance id with its member id and assignment.",
                ]),
                None,
                Goal::All(vec![
                    stable(g, 2),
                    owns(0, 1),
                    owns(1, 1),
                    Goal::CommittedOffsetAtLeast {
                        group: g.into(),
                        topic: t.into(),
                        partition: 1,
                        offset: 1,
                    },
                ]),
                "Press play until the group is Stable and has committed offsets.",
                text(&["Generation 1: two members, three partitions, and offsets committed every 2 s."]),
            ),
            step(
                "Stop a static member",
                text(&[
                    "Stop consumer 0, as a rolling restart of the application would. A static member does not send LeaveGroup when it closes.",
                ]),
                Some(Action::StopConsumer { consumer: 0 }),
                Goal::All(vec![
                    Goal::ActionTaken(ActionKind::StopConsumer),
                    Goal::GroupLagAtLeast {
                        group: g.into(),
                        lag: 5,
                    },
                    Goal::GroupGenerationAtMost {
                        group: g.into(),
                        generation: 1,
                    },
                ]),
                "Stop consumer 0 and play a few seconds.",
                text(&[
                    "No rebalance: the group stays in generation 1 and consumer 1 keeps its partitions. Consumer 0's partitions are not read meanwhile, so their lag grows. The coordinator waits up to session.timeout.ms for app-a to come back.",
                ]),
            ),
            step(
                "Restart it in time",
                text(&["Restart consumer 0 before session.timeout.ms (10 s) runs out."]),
                Some(Action::RestartConsumer {
                    consumer: 0,
                    strategy: None,
                }),
                Goal::All(vec![
                    Goal::ActionTaken(ActionKind::RestartConsumer),
                    owns(0, 1),
                    Goal::GroupGenerationAtMost {
                        group: g.into(),
                        generation: 1,
                    },
                ]),
                "Restart consumer 0 and play.",
                text(&[
                    "It rejoined with group.instance.id=app-a: the coordinator gave it a new member id and its old assignment back, still in generation 1. A dynamic member would have caused two rebalances (one when it left, one when it came back).",
                ]),
            ),
            step(
                "A second process with the same id",
                text(&[
                    "Start another consumer with group.instance.id=app-a while consumer 0 still runs: a deployment mistake, or a zombie.",
                ]),
                add(with_id("app-a")),
                Goal::ConsumerGroupError {
                    name: "FENCED_INSTANCE_ID".into(),
                },
                "Add the consumer and play.",
                text(&[
                    "The newest process with an instance id wins: the coordinator replaced the old member, and the old process's next request failed with FENCED_INSTANCE_ID, a fatal error that stops it. Two processes never own app-a's partitions at once.",
                ]),
            ),
            step(
                "Away too long",
                text(&[
                    "Stop consumer 1 and do not restart it. Play past session.timeout.ms.",
                ]),
                Some(Action::StopConsumer { consumer: 1 }),
                Goal::All(vec![
                    Goal::ActionTaken(ActionKind::StopConsumer),
                    generation_at_least(g, 2),
                    owns(2, 3),
                ]),
                "Stop consumer 1 and play for about 10 seconds.",
                text(&[
                    "After session.timeout.ms without app-b, the coordinator removed it and rebalanced: the remaining member took every partition. Static membership trades a slower reaction to real failures for no rebalance on quick restarts.",
                ]),
            ),
            free_play(&[
                "Try restarting consumer 1 now: app-b joins again and a rebalance gives it partitions back.",
            ]),
        ],
    )
}
