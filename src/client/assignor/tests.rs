//! The assignors against the examples of Kafka's assignor Javadocs, then properties over
//! random groups: every partition assigned exactly once, sticky balance within one, stickiness
//! when nothing changes, and the cooperative rule that no partition is handed to a member while
//! another still owns it.

use super::*;
use crate::ids::PartitionIndex;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn tp(topic: &str, partition: u32) -> TopicPartition {
    TopicPartition {
        topic: topic.to_string(),
        partition: PartitionIndex(partition),
    }
}

/// "t0p1" -> t0-1.
fn parse(name: &str) -> TopicPartition {
    let (topic, partition) = name.split_once('p').unwrap();
    tp(topic, partition.parse().unwrap())
}

fn topics(counts: &[(&str, u32)]) -> BTreeMap<String, u32> {
    counts.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

fn subscribed(topics: &[&str]) -> Subscription {
    Subscription {
        topics: topics.iter().map(|t| t.to_string()).collect(),
        ..Subscription::default()
    }
}

fn owning(topics: &[&str], owned: &[&str], generation: i32) -> Subscription {
    Subscription {
        owned_partitions: owned.iter().map(|n| parse(n)).collect(),
        generation: Some(generation),
        ..subscribed(topics)
    }
}

fn group(members: &[(&str, Subscription)]) -> BTreeMap<String, Subscription> {
    members
        .iter()
        .map(|(id, s)| (id.to_string(), s.clone()))
        .collect()
}

fn expect(assignment: &Assignment, want: &[(&str, &[&str])]) {
    let want: Assignment = want
        .iter()
        .map(|(id, tps)| (id.to_string(), tps.iter().map(|n| parse(n)).collect()))
        .collect();
    assert_eq!(assignment, &want);
}

#[test]
fn range_javadoc_example() {
    // RangeAssignor Javadoc: C0 and C1 subscribe to t0 and t1, 3 partitions each.
    let members = group(&[
        ("C0", subscribed(&["t0", "t1"])),
        ("C1", subscribed(&["t0", "t1"])),
    ]);
    let got = Assignor::Range.assign(&topics(&[("t0", 3), ("t1", 3)]), &members);
    expect(
        &got,
        &[
            ("C0", &["t0p0", "t0p1", "t1p0", "t1p1"]),
            ("C1", &["t0p2", "t1p2"]),
        ],
    );
}

#[test]
fn range_puts_static_members_first() {
    // MemberInfo order: "z" is static, so it sorts before the dynamic "a" and gets the extra.
    let mut z = subscribed(&["t0"]);
    z.group_instance_id = Some("instance-1".into());
    let members = group(&[("a", subscribed(&["t0"])), ("z", z)]);
    let got = Assignor::Range.assign(&topics(&[("t0", 3)]), &members);
    expect(&got, &[("a", &["t0p2"]), ("z", &["t0p0", "t0p1"])]);
}

#[test]
fn round_robin_javadoc_examples() {
    let members = group(&[
        ("C0", subscribed(&["t0", "t1"])),
        ("C1", subscribed(&["t0", "t1"])),
    ]);
    let got = Assignor::RoundRobin.assign(&topics(&[("t0", 3), ("t1", 3)]), &members);
    expect(
        &got,
        &[
            ("C0", &["t0p0", "t0p2", "t1p1"]),
            ("C1", &["t0p1", "t1p0", "t1p2"]),
        ],
    );
    // Different subscriptions: t0, t1, t2 with 1, 2, 3 partitions.
    let members = group(&[
        ("C0", subscribed(&["t0"])),
        ("C1", subscribed(&["t0", "t1"])),
        ("C2", subscribed(&["t0", "t1", "t2"])),
    ]);
    let got = Assignor::RoundRobin.assign(&topics(&[("t0", 1), ("t1", 2), ("t2", 3)]), &members);
    expect(
        &got,
        &[
            ("C0", &["t0p0"]),
            ("C1", &["t1p0"]),
            ("C2", &["t1p1", "t2p0", "t2p1", "t2p2"]),
        ],
    );
}

#[test]
fn sticky_javadoc_example_one() {
    // StickyAssignor Javadoc, example 1: C0, C1, C2 all subscribe to t0..t3 (2 partitions each).
    let all = ["t0", "t1", "t2", "t3"];
    let parts = topics(&[("t0", 2), ("t1", 2), ("t2", 2), ("t3", 2)]);
    let members = group(&[
        ("C0", subscribed(&all)),
        ("C1", subscribed(&all)),
        ("C2", subscribed(&all)),
    ]);
    let first = Assignor::Sticky.assign(&parts, &members);
    expect(
        &first,
        &[
            ("C0", &["t0p0", "t1p1", "t3p0"]),
            ("C1", &["t0p1", "t2p0", "t3p1"]),
            ("C2", &["t1p0", "t2p1"]),
        ],
    );
    // C1 leaves: sticky keeps what C0 and C2 had (round robin would move t1p1, t3p0, t1p0...).
    let members = group(&[
        ("C0", owning(&all, &["t0p0", "t1p1", "t3p0"], 1)),
        ("C2", owning(&all, &["t1p0", "t2p1"], 1)),
    ]);
    let second = Assignor::Sticky.assign(&parts, &members);
    expect(
        &second,
        &[
            ("C0", &["t0p0", "t1p1", "t3p0", "t2p0"]),
            ("C2", &["t1p0", "t2p1", "t0p1", "t3p1"]),
        ],
    );
    let round_robin = Assignor::RoundRobin.assign(&parts, &members);
    expect(
        &round_robin,
        &[
            ("C0", &["t0p0", "t1p0", "t2p0", "t3p0"]),
            ("C2", &["t0p1", "t1p1", "t2p1", "t3p1"]),
        ],
    );
}

#[test]
fn sticky_javadoc_example_two() {
    // Example 2: t0, t1, t2 with 1, 2, 3 partitions; C0 subscribes to t0, C1 to t0 and t1,
    // C2 to all three. Sticky balances better than round robin, then survives C0 leaving.
    let parts = topics(&[("t0", 1), ("t1", 2), ("t2", 3)]);
    let members = group(&[
        ("C0", subscribed(&["t0"])),
        ("C1", subscribed(&["t0", "t1"])),
        ("C2", subscribed(&["t0", "t1", "t2"])),
    ]);
    let first = Assignor::Sticky.assign(&parts, &members);
    expect(
        &first,
        &[
            ("C0", &["t0p0"]),
            ("C1", &["t1p0", "t1p1"]),
            ("C2", &["t2p0", "t2p1", "t2p2"]),
        ],
    );
    let members = group(&[
        ("C1", owning(&["t0", "t1"], &["t1p0", "t1p1"], 1)),
        (
            "C2",
            owning(&["t0", "t1", "t2"], &["t2p0", "t2p1", "t2p2"], 1),
        ),
    ]);
    let second = Assignor::Sticky.assign(&parts, &members);
    expect(
        &second,
        &[
            ("C1", &["t1p0", "t1p1", "t0p0"]),
            ("C2", &["t2p0", "t2p1", "t2p2"]),
        ],
    );
    let round_robin = Assignor::RoundRobin.assign(&parts, &members);
    expect(
        &round_robin,
        &[
            ("C1", &["t0p0", "t1p1"]),
            ("C2", &["t1p0", "t2p0", "t2p1", "t2p2"]),
        ],
    );
}

#[test]
fn sticky_newer_generation_wins_a_double_claim() {
    // Both claim t0p0: C1's claim is from generation 3, C0's from 2 (C0 missed a rebalance).
    let members = group(&[
        ("C0", owning(&["t0"], &["t0p0"], 2)),
        ("C1", owning(&["t0"], &["t0p0", "t0p1"], 3)),
    ]);
    let got = Assignor::Sticky.assign(&topics(&[("t0", 4)]), &members);
    assert!(got["C1"].contains(&parse("t0p0")));
    assert!(got["C1"].contains(&parse("t0p1")));
    assert_eq!(got["C0"].len(), 2);
}

#[test]
fn cooperative_two_phase_when_a_fourth_member_joins() {
    // G-4's test: three members own t0's 8 partitions; a fourth joins. The first rebalance
    // revokes only what must move and gives the newcomer nothing; the second assigns it.
    let parts = topics(&[("t0", 8)]);
    let start = group(&[
        ("C0", subscribed(&["t0"])),
        ("C1", subscribed(&["t0"])),
        ("C2", subscribed(&["t0"])),
    ]);
    let gen1 = Assignor::CooperativeSticky.assign(&parts, &start);
    let sizes: Vec<usize> = gen1.values().map(BTreeSet::len).collect();
    assert_eq!(sizes, vec![3, 3, 2]);

    let with = |owned: &Assignment, generation: i32, newcomer: &str| {
        let mut members: BTreeMap<String, Subscription> = owned
            .iter()
            .map(|(id, tps)| {
                let s = Subscription {
                    owned_partitions: tps.clone(),
                    generation: Some(generation),
                    ..subscribed(&["t0"])
                };
                (id.clone(), s)
            })
            .collect();
        members
            .entry(newcomer.to_string())
            .or_insert_with(|| subscribed(&["t0"]));
        members
    };
    let round1 = with(&gen1, 1, "C3");
    let gen2 = Assignor::CooperativeSticky.assign(&parts, &round1);
    assert!(
        gen2["C3"].is_empty(),
        "nothing moves in the first rebalance"
    );
    let revoked: BTreeSet<TopicPartition> = gen1
        .iter()
        .flat_map(|(id, owned)| cooperative_revocations(owned, &gen2[id]))
        .collect();
    assert_eq!(
        revoked.len(),
        2,
        "exactly the two partitions that must move"
    );
    for (id, owned) in &gen1 {
        assert!(
            gen2[id].is_subset(owned),
            "{id} keeps a subset of what it owned"
        );
    }

    // The revoking members rejoin owning what they kept; the newcomer now gets the two.
    let round2 = with(&gen2, 2, "C3");
    let gen3 = Assignor::CooperativeSticky.assign(&parts, &round2);
    assert_eq!(gen3["C3"], revoked);
    for id in ["C0", "C1", "C2"] {
        assert_eq!(gen3[id], gen2[id], "{id} keeps everything in the follow-up");
    }
    // The eager sticky assignor moves the same two partitions in one step.
    let eager = Assignor::Sticky.assign(&parts, &round1);
    assert_eq!(eager["C3"], revoked);
}

#[test]
fn names_round_trip() {
    for a in [
        Assignor::Range,
        Assignor::RoundRobin,
        Assignor::Sticky,
        Assignor::CooperativeSticky,
    ] {
        assert_eq!(Assignor::from_name(a.name()), Some(a));
    }
    assert_eq!(Assignor::from_name("uniform"), None);
    assert_eq!(
        Assignor::CooperativeSticky.rebalance_protocol(),
        RebalanceProtocol::Cooperative
    );
    assert_eq!(
        Assignor::Sticky.rebalance_protocol(),
        RebalanceProtocol::Eager
    );
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const TOPICS: [&str; 3] = ["a", "b", "c"];

    /// Up to 3 topics with 0-7 partitions and 1-6 members, each with a non-empty subset of
    /// the topics (or all of them when `same`).
    fn scenario(
        same: bool,
    ) -> impl Strategy<Value = (BTreeMap<String, u32>, BTreeMap<String, Subscription>)> {
        (
            proptest::collection::vec(0u32..8, 3),
            proptest::collection::vec(1u8..8, 1..7),
        )
            .prop_map(move |(counts, masks)| {
                let parts = TOPICS
                    .iter()
                    .zip(counts)
                    .map(|(t, n)| (t.to_string(), n))
                    .collect();
                let members = masks
                    .iter()
                    .enumerate()
                    .map(|(i, mask)| {
                        let topics = TOPICS
                            .iter()
                            .enumerate()
                            .filter(|(bit, _)| same || mask & (1 << bit) != 0)
                            .map(|(_, t)| t.to_string())
                            .collect();
                        let s = Subscription {
                            topics,
                            ..Subscription::default()
                        };
                        (format!("m{i}"), s)
                    })
                    .collect();
                (parts, members)
            })
    }

    fn check_exactly_once(
        parts: &BTreeMap<String, u32>,
        members: &BTreeMap<String, Subscription>,
        got: &Assignment,
    ) {
        let subscribed: BTreeSet<&String> = members.values().flat_map(|s| &s.topics).collect();
        let mut seen = BTreeSet::new();
        for (id, owned) in got {
            for tp in owned {
                assert!(
                    members[id].topics.contains(&tp.topic),
                    "{id} got unsubscribed {tp}"
                );
                assert!(seen.insert(tp.clone()), "{tp} assigned twice");
            }
        }
        let expected: usize = subscribed.iter().map(|t| parts[*t] as usize).sum();
        assert_eq!(seen.len(), expected, "every subscribed partition assigned");
    }

    fn owned_after(
        got: &Assignment,
        members: &BTreeMap<String, Subscription>,
        generation: i32,
    ) -> BTreeMap<String, Subscription> {
        members
            .iter()
            .map(|(id, s)| {
                let mut s = s.clone();
                s.owned_partitions = got[id].clone();
                s.generation = Some(generation);
                (id.clone(), s)
            })
            .collect()
    }

    proptest! {
        #[test]
        fn every_partition_assigned_exactly_once((parts, members) in scenario(false)) {
            for a in [Assignor::Range, Assignor::RoundRobin, Assignor::Sticky] {
                check_exactly_once(&parts, &members, &a.assign(&parts, &members));
            }
            // From scratch nobody owns anything, so cooperative holds nothing back.
            check_exactly_once(&parts, &members, &Assignor::CooperativeSticky.assign(&parts, &members));
        }

        #[test]
        fn sticky_balances_within_one_and_sticks(
            (parts, members) in scenario(true),
            leaver in 0usize..6,
            extra in 0u32..4,
        ) {
            let first = Assignor::Sticky.assign(&parts, &members);
            let sizes: Vec<usize> = first.values().map(BTreeSet::len).collect();
            prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
            // Nothing changes: the same assignment again.
            let again = Assignor::Sticky.assign(&parts, &owned_after(&first, &members, 1));
            prop_assert_eq!(&again, &first);
            // A member leaves and a topic grows: still balanced, survivors keep what they
            // can (each keeps at least min(its old count, the new floor quota)).
            let mut next = owned_after(&first, &members, 1);
            if next.len() > 1 {
                let gone = next.keys().nth(leaver % next.len()).unwrap().clone();
                next.remove(&gone);
            }
            let mut grown = parts.clone();
            *grown.get_mut("a").unwrap() += extra;
            let after = Assignor::Sticky.assign(&grown, &next);
            check_exactly_once(&grown, &next, &after);
            let sizes: Vec<usize> = after.values().map(BTreeSet::len).collect();
            prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
            let total: usize = sizes.iter().sum();
            let floor = total / next.len();
            for (id, s) in &next {
                let kept = after[id].intersection(&s.owned_partitions).count();
                prop_assert!(kept >= s.owned_partitions.len().min(floor), "{} kept {}", id, kept);
            }
        }

        #[test]
        fn sticky_general_subscriptions_leave_no_improving_move((parts, members) in scenario(false)) {
            let got = Assignor::Sticky.assign(&parts, &members);
            for (from, owned) in &got {
                for (to, theirs) in &got {
                    if owned.len() >= theirs.len() + 2 {
                        prop_assert!(
                            owned.iter().all(|tp| !members[to].topics.contains(&tp.topic)),
                            "{} could give {} a partition", from, to
                        );
                    }
                }
            }
        }

        #[test]
        fn cooperative_never_assigns_a_partition_another_member_owns(
            (parts, members) in scenario(false),
            joiners in 1usize..3,
        ) {
            let gen1 = Assignor::CooperativeSticky.assign(&parts, &members);
            let mut next = owned_after(&gen1, &members, 1);
            for j in 0..joiners {
                next.insert(format!("n{j}"), Subscription { topics: TOPICS.iter().map(|t| t.to_string()).collect(), ..Subscription::default() });
            }
            let gen2 = Assignor::CooperativeSticky.assign(&parts, &next);
            for (id, assigned) in &gen2 {
                for tp in assigned {
                    for (other, s) in &next {
                        prop_assert!(other == id || !s.owned_partitions.contains(tp),
                            "{} assigned to {} while {} owns it", tp, id, other);
                    }
                }
            }
            // The follow-up rebalance (revoked partitions released) assigns everything.
            let gen3 = Assignor::CooperativeSticky.assign(&parts, &owned_after(&gen2, &next, 2));
            check_exactly_once(&parts, &next, &gen3);
        }
    }
}
