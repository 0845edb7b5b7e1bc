//! Swarm drills (TigerBeetle's VOPR idea): every seed draws its own cluster size, topic
//! layout, client configs and fault schedule, so thousands of seeds cover configurations no one
//! wrote by hand. A run has a safety phase, where faults come and go, and then a liveness
//! phase: the network heals, every broker is up again, and the cluster must make progress (new
//! acknowledged records and a consumer that reads them). What the configuration makes legal is
//! the checker's business (`check::drill`); this module only builds the scenario. Faults
//! drawn: crashes (some with power loss, half of those tearing a write), restarts, pauses and
//! resumes, slow disks, clock skews of a few seconds, isolation, one-way and leader partitions,
//! and lossy, duplicating, delaying networks. Half the seeds also run a consumer group (two
//! or three members, a drawn assignor and offset commit policy) whose members are crashed,
//! restarted, stalled past `max.poll.interval.ms`, frozen past `session.timeout.ms`, closed and
//! added; those draws come from their own stream, so seeds without a group are unchanged. A
//! third of the seeds make producer 0 transactional (some transactions aborted, a short
//! `transaction.timeout.ms`, replaced by a new instance when fenced) and, in half of those,
//! the assign-mode reader reads at read_committed. A sixth run a consume-transform-produce
//! pipeline from `t` to `out` under the same faults, judged by the exactly-once check.

use super::scenario::{
    Action, BrokerSettings, ClusterScenario, ConsumerSpec, Expectations, ProducerSpec, Step,
    TopicSpec, PRODUCER_NODE_BASE,
};
use crate::client::producer::{Acks, ProducerConfig};
use crate::prng::Prng;
use crate::sim::network::{ExtraLatency, NetworkConfig, Ratio};
use std::collections::BTreeMap;

/// How long the faults last, and how long the healed cluster gets to show progress.
pub const SAFETY_PHASE_MS: u64 = 20_000;
pub const LIVENESS_PHASE_MS: u64 = 25_000;
/// The producers stop this long before the end, so consumers can read everything.
pub const DRAIN_MS: u64 = 8_000;

/// The scenario a swarm seed stands for. Deterministic: the same seed, the same scenario.
pub fn swarm_scenario(seed: u64) -> ClusterScenario {
    let mut rng = Prng::new(seed).fork("swarm");
    let brokers = rng.range_inclusive(1, 5) as u32;
    let rf = rng.range_inclusive(1, u64::from(brokers.min(3))) as u16;
    let partitions = rng.range_inclusive(1, 4) as u32;
    let min_isr = rng.range_inclusive(1, u64::from(rf)) as u32;
    let mut topic_config = BTreeMap::new();
    topic_config.insert("min.insync.replicas".to_owned(), min_isr.to_string());
    let broker = BrokerSettings {
        unclean_leader_election_enable: rng.chance(1, 8),
        ..BrokerSettings::default()
    };
    let mut producers: Vec<ProducerSpec> = (0..rng.range_inclusive(1, 2))
        .map(|_| {
            let acks = match rng.below(3) {
                0 => Acks::Leader,
                _ => Acks::All,
            };
            let idempotent = acks == Acks::All && rng.chance(3, 4);
            ProducerSpec {
                topic: "t".into(),
                config: ProducerConfig {
                    acks,
                    enable_idempotence: Some(idempotent),
                    linger_ms: rng.range_inclusive(0, 5),
                    // Short enough that batches stuck behind a lost message expire (and an
                    // idempotent producer bumps its epoch) inside the liveness phase.
                    request_timeout_ms: 3_000,
                    delivery_timeout_ms: 15_000,
                    ..ProducerConfig::default()
                },
                interval_ms_min: 5,
                interval_ms_max: 30,
                keys: rng.range_inclusive(0, 6) as u32,
                records_max: None,
                stop_ms: Some(SAFETY_PHASE_MS + LIVENESS_PHASE_MS - DRAIN_MS),
                value_bytes: None,
                start_ms: None,
                transactions: Default::default(),
            }
        })
        .collect();
    let mut steps = Vec::new();
    let producer_count = producers.len() as u32;
    let mut down: Vec<bool> = vec![false; brokers as usize];
    let mut paused: Vec<bool> = vec![false; brokers as usize];
    let mut at = 2_000;
    while at < SAFETY_PHASE_MS {
        at += rng.range_inclusive(500, 4_000);
        if at >= SAFETY_PHASE_MS {
            break;
        }
        let b = rng.range_inclusive(1, u64::from(brokers)) as u32;
        let action = match rng.below(12) {
            0 | 1 if !down[b as usize - 1] => {
                down[b as usize - 1] = true;
                paused[b as usize - 1] = false;
                let power_loss = rng.chance(1, 4);
                Action::CrashBroker {
                    broker: b,
                    power_loss,
                    // Half the power losses catch the OS writing back and tear an append.
                    torn_write: power_loss && rng.chance(1, 2),
                }
            }
            0 | 1 => {
                down[b as usize - 1] = false;
                Action::RestartBroker { broker: b }
            }
            9 if paused[b as usize - 1] => {
                paused[b as usize - 1] = false;
                Action::ResumeBroker { broker: b }
            }
            9 => {
                paused[b as usize - 1] = !down[b as usize - 1];
                Action::PauseBroker { broker: b }
            }
            10 => Action::SlowDisk {
                broker: b,
                factor: if rng.chance(1, 3) {
                    1
                } else {
                    rng.range_inclusive(2, 200) as u32
                },
            },
            11 => {
                // A few seconds either way, on a broker or a producer; never before the epoch.
                let node = if rng.chance(1, 2) {
                    b
                } else {
                    PRODUCER_NODE_BASE + rng.below(u64::from(producer_count)) as u32
                };
                let span = at.min(5_000);
                let offset_ms = rng.range_inclusive(0, 2 * span) as i64 - span as i64;
                Action::SkewClock { node, offset_ms }
            }
            2 => Action::Isolate { node: b },
            3 => {
                let other = rng.range_inclusive(0, u64::from(brokers)) as u32;
                Action::PartitionOneWay { from: b, to: other }
            }
            4 => Action::PartitionLeaderFromFollowers {
                topic: "t".into(),
                partition: rng.below(u64::from(partitions)) as u32,
            },
            5 => Action::PartitionLeaderFromCluster {
                topic: "t".into(),
                partition: rng.below(u64::from(partitions)) as u32,
            },
            6 | 7 => Action::SetNetwork {
                config: faulty_network(&mut rng),
            },
            _ => Action::Heal,
        };
        steps.push(Step { at_ms: at, action });
    }
    // Liveness: everything heals and comes back, and the network stops misbehaving.
    steps.push(Step {
        at_ms: SAFETY_PHASE_MS,
        action: Action::Heal,
    });
    steps.push(Step {
        at_ms: SAFETY_PHASE_MS,
        action: Action::SetNetwork {
            config: NetworkConfig::default(),
        },
    });
    for b in 1..=brokers {
        for action in [
            Action::ResumeBroker { broker: b },
            Action::SlowDisk {
                broker: b,
                factor: 1,
            },
            Action::RestartBroker { broker: b },
        ] {
            steps.push(Step {
                at_ms: SAFETY_PHASE_MS,
                action,
            });
        }
    }
    let mut consumers = vec![ConsumerSpec {
        poll_interval_ms: 100,
        ..ConsumerSpec::assign("t")
    }];
    let mut broker = broker;
    let mut topics = vec![TopicSpec {
        name: "t".into(),
        partitions,
        replication_factor: rf,
        config: topic_config,
        replica_assignment: Vec::new(),
    }];
    // The pipeline's consumers come before the group's: the group's faults name consumers
    // by index, counting on the ones it adds at run time to come last.
    add_pipeline(
        seed,
        &mut broker,
        &mut topics,
        &mut producers,
        &mut consumers,
    );
    add_group(seed, &mut broker, &mut consumers, &mut steps);
    add_transactions(seed, &mut broker, &mut producers, &mut consumers);
    // Half the seeds with transactions run transaction version 2 (KIP-890 part 2), unless a
    // broker loses its page cache: a lost `__transaction_state` tail leaves the coordinator's
    // epoch below the one the partitions' markers carry, and its next markers are refused
    // with INVALID_PRODUCER_EPOCH for good (Kafka's coordinator gives up on them too), which
    // the liveness phase would report. Its own stream: seeds without transactions are
    // unchanged.
    let transactional = producers
        .iter()
        .any(|p| p.config.transactional_id.is_some());
    let power_loss = steps.iter().any(|s| {
        matches!(
            s.action,
            Action::CrashBroker {
                power_loss: true,
                ..
            }
        )
    });
    if transactional
        && !power_loss
        && Prng::new(seed)
            .fork("swarm-transaction-version")
            .chance(1, 2)
    {
        broker.transaction_version = 2;
    }
    ClusterScenario {
        scenario: "cluster".into(),
        name: format!("swarm seed {seed}"),
        description: String::new(),
        seed: Some(seed),
        duration_ms: SAFETY_PHASE_MS + LIVENESS_PHASE_MS,
        brokers,
        broker,
        network: NetworkConfig::default(),
        topics,
        producers,
        consumers,
        steps,
        expect: Expectations::default(),
    }
}

/// Half the seeds: a consumer group of two or three members next to the assign-mode reader
/// (which stays consumer 0 and does the final reads), with member faults in the safety phase
/// and every member restarted for the liveness phase.
fn add_group(
    seed: u64,
    broker: &mut BrokerSettings,
    consumers: &mut Vec<ConsumerSpec>,
    steps: &mut Vec<Step>,
) {
    let mut rng = Prng::new(seed).fork("swarm-groups");
    if !rng.chance(1, 2) {
        return;
    }
    broker.offsets_topic_num_partitions = 3;
    broker.group_initial_rebalance_delay_ms = rng.range_inclusive(0, 1_000);
    broker.group_min_session_timeout_ms = 1_000;
    let strategies: [&[&str]; 4] = [
        &["range", "cooperative-sticky"],
        &["cooperative-sticky"],
        &["roundrobin"],
        &["sticky"],
    ];
    let strategy: Vec<String> = strategies[rng.below(4) as usize]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let member = |rng: &mut Prng, static_id: Option<String>| {
        let commit_after_poll = match rng.below(3) {
            0 => super::scenario::CommitAfterPoll::Sync,
            1 => super::scenario::CommitAfterPoll::Async,
            _ => super::scenario::CommitAfterPoll::None,
        };
        ConsumerSpec {
            group_id: Some("g".into()),
            group_instance_id: static_id,
            partition_assignment_strategy: strategy.clone(),
            session_timeout_ms: rng.range_inclusive(3_000, 8_000),
            heartbeat_interval_ms: 1_000,
            max_poll_interval_ms: rng.range_inclusive(4_000, 10_000),
            enable_auto_commit: commit_after_poll == super::scenario::CommitAfterPoll::None
                || rng.chance(1, 2),
            auto_commit_interval_ms: rng.range_inclusive(500, 5_000),
            commit_after_poll,
            poll_interval_ms: rng.range_inclusive(50, 200),
            ..ConsumerSpec::assign("t")
        }
    };
    let first = consumers.len() as u32;
    let members = rng.range_inclusive(2, 3) as u32;
    for i in 0..members {
        let static_id = rng.chance(1, 4).then(|| format!("member-{i}"));
        let spec = member(&mut rng, static_id);
        consumers.push(spec);
    }
    let mut count = first + members;
    let mut at = 3_000;
    while at < SAFETY_PHASE_MS {
        at += rng.range_inclusive(1_000, 6_000);
        if at >= SAFETY_PHASE_MS {
            break;
        }
        let consumer = first + rng.below(u64::from(count - first)) as u32;
        let action = match rng.below(7) {
            0 => Action::CrashConsumer { consumer },
            1 => Action::RestartConsumer {
                consumer,
                strategy: None,
            },
            2 => Action::StallConsumer {
                consumer,
                duration_ms: rng.range_inclusive(1_000, 12_000),
            },
            3 => Action::FreezeConsumer {
                consumer,
                duration_ms: rng.range_inclusive(1_000, 10_000),
            },
            4 => Action::StopConsumer { consumer },
            5 if count < first + 4 => {
                count += 1;
                Action::AddConsumer {
                    consumer: member(&mut rng, None),
                }
            }
            _ => Action::CommitOffsets { consumer },
        };
        steps.push(Step { at_ms: at, action });
    }
    for consumer in first..count {
        steps.push(Step {
            at_ms: SAFETY_PHASE_MS,
            action: Action::RestartConsumer {
                consumer,
                strategy: None,
            },
        });
    }
}

/// A third of the seeds: producer 0 is transactional (acks=all, idempotent, a short
/// `transaction.timeout.ms` so a transaction a fault left open is aborted inside the liveness
/// phase), some of its transactions aborted, and the assign-mode reader reads at
/// read_committed in half of those. Its own stream: other seeds are unchanged.
fn add_transactions(
    seed: u64,
    broker: &mut BrokerSettings,
    producers: &mut [ProducerSpec],
    consumers: &mut [ConsumerSpec],
) {
    let mut rng = Prng::new(seed).fork("swarm-transactions");
    if !rng.chance(1, 3) {
        return;
    }
    let Some(p) = producers.first_mut() else {
        return;
    };
    broker.transaction_state_log_num_partitions = rng.range_inclusive(1, 3) as u32;
    broker.transaction_abort_timed_out_transaction_cleanup_interval_ms = 1_000;
    // A marker lost on the wire in the safety phase waits out request.timeout.ms: shorter
    // than the liveness phase, so the healed cluster finishes the transaction in time.
    broker.request_timeout_ms = 5_000;
    p.config.acks = Acks::All;
    p.config.enable_idempotence = Some(true);
    p.config.transactional_id = Some("tx".into());
    p.config.transaction_timeout_ms = rng.range_inclusive(3_000, 8_000);
    p.transactions = super::scenario::TransactionSpec {
        records_per_transaction: rng.range_inclusive(1, 10) as u32,
        abort_percent: rng.range_inclusive(0, 40) as u32,
        // A fenced producer (a timeout abort under faults, T-7) is replaced, as applications
        // do, so the healed cluster makes progress.
        recreate_after_fatal_ms: Some(1_000),
        ..super::scenario::TransactionSpec::default()
    };
    if let Some(reader) = consumers.first_mut() {
        if rng.chance(1, 2) {
            reader.isolation_level = crate::broker::messages::IsolationLevel::ReadCommitted;
        }
    }
}

/// A sixth of the seeds: a consume-transform-produce pipeline (T-9) reads `t` in group
/// `pipe` at read_committed and writes one record per input to topic `out` in transactions
/// that carry its offsets (some aborted, the consumer seeking back), with an assign-mode
/// read_committed reader of `out`. The exactly-once check judges it once it has settled.
/// Its own stream: other seeds are unchanged.
fn add_pipeline(
    seed: u64,
    broker: &mut BrokerSettings,
    topics: &mut Vec<TopicSpec>,
    producers: &mut Vec<ProducerSpec>,
    consumers: &mut Vec<ConsumerSpec>,
) {
    let mut rng = Prng::new(seed).fork("swarm-pipelines");
    if !rng.chance(1, 6) {
        return;
    }
    let Some(input) = topics.first().cloned() else {
        return;
    };
    broker.offsets_topic_num_partitions = 3;
    broker.group_min_session_timeout_ms = 1_000;
    broker.group_initial_rebalance_delay_ms = 0;
    broker.transaction_state_log_num_partitions = rng.range_inclusive(1, 3) as u32;
    broker.transaction_abort_timed_out_transaction_cleanup_interval_ms = 1_000;
    broker.request_timeout_ms = 5_000;
    topics.push(TopicSpec {
        name: "out".into(),
        ..input
    });
    let consumer = consumers.len() as u32;
    consumers.push(ConsumerSpec {
        group_id: Some("pipe".into()),
        isolation_level: crate::broker::messages::IsolationLevel::ReadCommitted,
        enable_auto_commit: false,
        commit_after_poll: super::scenario::CommitAfterPoll::None,
        session_timeout_ms: rng.range_inclusive(3_000, 8_000),
        heartbeat_interval_ms: 1_000,
        poll_interval_ms: rng.range_inclusive(50, 200),
        ..ConsumerSpec::assign("t")
    });
    consumers.push(ConsumerSpec {
        isolation_level: crate::broker::messages::IsolationLevel::ReadCommitted,
        poll_interval_ms: 100,
        ..ConsumerSpec::assign("out")
    });
    producers.push(ProducerSpec {
        topic: "out".into(),
        config: ProducerConfig {
            acks: Acks::All,
            enable_idempotence: Some(true),
            transactional_id: Some("pipe".into()),
            transaction_timeout_ms: rng.range_inclusive(3_000, 8_000),
            request_timeout_ms: 3_000,
            delivery_timeout_ms: 15_000,
            ..ProducerConfig::default()
        },
        interval_ms_min: 1,
        interval_ms_max: 1,
        keys: rng.range_inclusive(0, 6) as u32,
        records_max: None,
        // Later than the inputs stop, so it transforms them all, and early enough for its
        // last transaction to settle before the end.
        stop_ms: Some(SAFETY_PHASE_MS + LIVENESS_PHASE_MS - 3_000),
        value_bytes: None,
        start_ms: None,
        transactions: super::scenario::TransactionSpec {
            records_per_transaction: rng.range_inclusive(1, 20) as u32,
            abort_percent: rng.range_inclusive(0, 30) as u32,
            recreate_after_fatal_ms: Some(1_000),
            input_consumer: Some(consumer),
            commit_interval_ms: rng.range_inclusive(50, 500),
            ..super::scenario::TransactionSpec::default()
        },
    });
}

/// A network that drops, duplicates and delays some messages (integer ratios drawn per seed).
fn faulty_network(rng: &mut Prng) -> NetworkConfig {
    let ratio = |rng: &mut Prng, max_per_thousand: u64| {
        let n = rng.range_inclusive(0, max_per_thousand) as u32;
        Ratio::new(n, 1000).unwrap_or(Ratio::NEVER)
    };
    NetworkConfig {
        drop: ratio(rng, 50),
        duplicate: ratio(rng, 50),
        delay: ExtraLatency {
            probability: ratio(rng, 100),
            extra_us_max: rng.range_inclusive(1_000, 200_000),
        },
        ..NetworkConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn swarm_scenarios_are_valid_deterministic_and_varied() {
        let mut sizes = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let s = swarm_scenario(seed);
            s.validate().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert_eq!(s, swarm_scenario(seed));
            sizes.insert((s.brokers, s.topics[0].replication_factor));
        }
        assert!(sizes.len() >= 6, "{sizes:?}");
    }
}
