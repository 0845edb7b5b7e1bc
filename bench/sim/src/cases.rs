//! The cases of B4, built in code so that every target enumerates exactly the same list:
//!
//! - `swarm`: `sim::cluster::swarm::swarm_scenario(seed)` for seeds `1..=seeds`, each run to its
//!   end (a 20 s safety phase with faults, then a 25 s healed liveness phase), as
//!   `logsim drill` runs them.
//! - `b{3,5,9}-p{10,100,1000}`: a seeded drill over a fixed cluster size: one topic with
//!   replication factor 3 and `min.insync.replicas=2`, an idempotent keyed producer with
//!   acks=all and a null-key producer with acks=1, one consumer, and faults drawn from the seed
//!   (a broker crash and restart, a leader cut off from its followers, a lossy network), healed
//!   before the end. Larger partition counts run for less simulated time, so the whole bench
//!   stays within minutes.
//! - `linkedin-2014`: the workload of LinkedIn's 2014 post "Benchmarking Apache Kafka: 2 Million
//!   Writes Per Second": 3 brokers, a topic of 6 partitions with replication factor 3, one
//!   producer sending 100-byte records back to back with acks=all (synchronous replication),
//!   `batch.size=8196` as the post set it, `linger.ms=0`, no idempotence (it predates it), null
//!   keys. The post set `buffer.memory=67108864`; we use 1 MiB: our producer's readiness check
//!   scans a partition's whole queue, so 64 MiB of queued 8 KB batches cost quadratic time, and
//!   the simulated throughput is bound by in-flight requests, not the buffer (the same run with
//!   1 MiB and 4 MiB gave the same event and acknowledged-record counts).
//! - `groups-m16`: consumer groups under churn (`group_heavy`): 16 members in two groups, one
//!   cooperative and one eager, with a member closed, crashed, restarted, stalled or frozen every
//!   0.5-1.5 s, so coordinators rebalance continually while offsets are committed every second.

use logsim::client::producer::{Acks, ProducerConfig};
use logsim::prng::Prng;
use logsim::sim::cluster::scenario::{
    Action, BrokerSettings, ClusterScenario, ConsumerSpec, Expectations, ProducerSpec, Step,
    TopicSpec,
};
use logsim::sim::cluster::swarm::swarm_scenario;
use logsim::sim::network::{ExtraLatency, NetworkConfig, Ratio};
use std::collections::BTreeMap;

/// The post's one-producer figure (100-byte records, no replication), which B4 sets as the goal.
pub const LINKEDIN_2014_ONE_PRODUCER_RECORDS_PER_S: f64 = 821_557.0;
/// The same post's one producer with 3x synchronous replication (acks=all), the closest match.
pub const LINKEDIN_2014_ACKS_ALL_RECORDS_PER_S: f64 = 421_823.0;
/// The producer settings of the LinkedIn case, printed with its figures.
pub const LINKEDIN_2014_SETTINGS: &str = "3 brokers, 6 partitions, RF 3, one producer, 100-byte \
    records, acks=all, batch.size=8196, linger.ms=0, buffer.memory=1048576 (the post: 64 MiB), \
    enable.idempotence=false, null keys, sent back to back";

/// Which cases a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Swarm seeds `1..=seeds`.
    pub seeds: u32,
    /// One small sized drill and a short LinkedIn run instead of the whole grid.
    pub quick: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Workload {
    Swarm,
    Sized {
        brokers: u32,
        partitions: u32,
        duration_ms: u64,
    },
    LinkedIn2014 {
        duration_ms: u64,
    },
    /// Consumer groups under churn: many members, frequent joins, leaves, crashes, stalls.
    GroupHeavy {
        members: u32,
        duration_ms: u64,
    },
}

/// One run: a workload and the seed that drives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The table row it is summed into (`swarm`, `b3-p100`, `linkedin-2014`).
    pub group: String,
    pub seed: u64,
    pub workload: Workload,
}

/// The sized grid of B4 with each cell's simulated duration.
const SIZED: [(u32, u32, u64); 9] = [
    (3, 10, 10_000),
    (5, 10, 10_000),
    (9, 10, 10_000),
    (3, 100, 5_000),
    (5, 100, 5_000),
    (9, 100, 5_000),
    (3, 1000, 2_000),
    (5, 1000, 2_000),
    (9, 1000, 2_000),
];
const SIZED_QUICK: [(u32, u32, u64); 1] = [(3, 10, 5_000)];
/// The LinkedIn case's simulated time: the cluster comes up and the topic is created at
/// 500 ms and the producer's first send follows its metadata refresh at about 1 s, so the
/// first second measures only the start (a 1 s run once acknowledged nothing at all).
const LINKEDIN_MS: u64 = 3_000;
/// The group-heavy case: members in the group, simulated milliseconds.
const GROUP_HEAVY: (u32, u64) = (16, 30_000);
const GROUP_HEAVY_QUICK: (u32, u64) = (6, 10_000);
const LINKEDIN_QUICK_MS: u64 = 1_500;

/// Every case of a plan, in the order each target runs them.
pub fn cases(plan: Plan) -> Vec<Case> {
    let mut out: Vec<Case> = (1..=u64::from(plan.seeds))
        .map(|seed| Case {
            group: "swarm".into(),
            seed,
            workload: Workload::Swarm,
        })
        .collect();
    let sized: &[(u32, u32, u64)] = if plan.quick { &SIZED_QUICK } else { &SIZED };
    for &(brokers, partitions, duration_ms) in sized {
        out.push(Case {
            group: format!("b{brokers}-p{partitions}"),
            seed: 1,
            workload: Workload::Sized {
                brokers,
                partitions,
                duration_ms,
            },
        });
    }
    let (members, duration_ms) = if plan.quick {
        GROUP_HEAVY_QUICK
    } else {
        GROUP_HEAVY
    };
    out.push(Case {
        group: format!("groups-m{members}"),
        seed: 1,
        workload: Workload::GroupHeavy {
            members,
            duration_ms,
        },
    });
    out.push(Case {
        group: "linkedin-2014".into(),
        seed: 1,
        workload: Workload::LinkedIn2014 {
            duration_ms: if plan.quick {
                LINKEDIN_QUICK_MS
            } else {
                LINKEDIN_MS
            },
        },
    });
    out
}

impl Case {
    pub fn scenario(&self) -> ClusterScenario {
        match self.workload {
            Workload::Swarm => swarm_scenario(self.seed),
            Workload::Sized {
                brokers,
                partitions,
                duration_ms,
            } => sized_drill(brokers, partitions, duration_ms, self.seed),
            Workload::LinkedIn2014 { duration_ms } => linkedin_2014(duration_ms),
            Workload::GroupHeavy {
                members,
                duration_ms,
            } => group_heavy(members, duration_ms, self.seed),
        }
    }

    pub fn brokers(&self) -> u32 {
        match self.workload {
            Workload::Swarm => swarm_scenario(self.seed).brokers,
            Workload::Sized { brokers, .. } => brokers,
            Workload::LinkedIn2014 { .. } | Workload::GroupHeavy { .. } => 3,
        }
    }
}

fn topic(partitions: u32, replication_factor: u16, config: BTreeMap<String, String>) -> TopicSpec {
    TopicSpec {
        name: "t".into(),
        partitions,
        replication_factor,
        config,
        replica_assignment: Vec::new(),
    }
}

/// A seeded drill over a fixed cluster size (see the module docs).
pub fn sized_drill(brokers: u32, partitions: u32, duration_ms: u64, seed: u64) -> ClusterScenario {
    let mut rng = Prng::new(seed).fork("bench-sized");
    let mut config = BTreeMap::new();
    config.insert("min.insync.replicas".to_owned(), "2".to_owned());
    let producer = |acks, idempotent, keys| ProducerSpec {
        topic: "t".into(),
        config: ProducerConfig {
            acks,
            enable_idempotence: Some(idempotent),
            linger_ms: 5,
            request_timeout_ms: 3_000,
            delivery_timeout_ms: 15_000,
            ..ProducerConfig::default()
        },
        interval_ms_min: 5,
        interval_ms_max: 30,
        keys,
        records_max: None,
        stop_ms: None,
        value_bytes: Some(100),
        start_ms: None,
        transactions: Default::default(),
    };
    // Faults in the middle of the run, all healed at 70 % of it.
    let at = |percent: u64| duration_ms * percent / 100;
    let crashed = rng.range_inclusive(1, u64::from(brokers)) as u32;
    let cut_partition = rng.below(u64::from(partitions)) as u32;
    let steps = vec![
        Step {
            at_ms: at(20),
            action: Action::SetNetwork {
                config: lossy_network(&mut rng),
            },
        },
        Step {
            at_ms: at(30),
            action: Action::CrashBroker {
                broker: crashed,
                power_loss: rng.chance(1, 2),
                torn_write: false,
            },
        },
        Step {
            at_ms: at(40),
            action: Action::PartitionLeaderFromFollowers {
                topic: "t".into(),
                partition: cut_partition,
            },
        },
        Step {
            at_ms: at(55),
            action: Action::RestartBroker { broker: crashed },
        },
        Step {
            at_ms: at(70),
            action: Action::Heal,
        },
        Step {
            at_ms: at(70),
            action: Action::SetNetwork {
                config: NetworkConfig::default(),
            },
        },
    ];
    ClusterScenario {
        scenario: "cluster".into(),
        name: format!("bench sized drill: {brokers} brokers, {partitions} partitions"),
        description: String::new(),
        seed: Some(seed),
        duration_ms,
        brokers,
        broker: BrokerSettings::default(),
        network: NetworkConfig::default(),
        topics: vec![topic(partitions, 3, config)],
        producers: vec![
            producer(Acks::All, true, partitions.min(64)),
            producer(Acks::Leader, false, 0),
        ],
        consumers: vec![ConsumerSpec {
            poll_interval_ms: 100,
            ..ConsumerSpec::assign("t")
        }],
        steps,
        expect: Expectations::default(),
    }
}

fn lossy_network(rng: &mut Prng) -> NetworkConfig {
    let per_thousand = |rng: &mut Prng, max: u64| {
        Ratio::new(rng.range_inclusive(1, max) as u32, 1000).unwrap_or(Ratio::NEVER)
    };
    NetworkConfig {
        drop: per_thousand(rng, 20),
        duplicate: per_thousand(rng, 20),
        delay: ExtraLatency {
            probability: per_thousand(rng, 50),
            extra_us_max: rng.range_inclusive(1_000, 50_000),
        },
        ..NetworkConfig::default()
    }
}

/// The LinkedIn 2014 producer workload (see the module docs).
pub fn linkedin_2014(duration_ms: u64) -> ClusterScenario {
    ClusterScenario {
        scenario: "cluster".into(),
        name: "LinkedIn 2014: one producer, 100-byte records, 3x synchronous replication".into(),
        description: String::new(),
        seed: Some(1),
        duration_ms,
        brokers: 3,
        broker: BrokerSettings::default(),
        network: NetworkConfig::default(),
        topics: vec![topic(6, 3, BTreeMap::new())],
        producers: vec![ProducerSpec {
            topic: "t".into(),
            config: ProducerConfig {
                acks: Acks::All,
                enable_idempotence: Some(false),
                batch_size: 8_196,
                buffer_memory: 1_048_576,
                linger_ms: 0,
                ..ProducerConfig::default()
            },
            interval_ms_min: 0,
            interval_ms_max: 0,
            keys: 0,
            records_max: None,
            stop_ms: None,
            value_bytes: Some(100),
            start_ms: None,
            transactions: Default::default(),
        }],
        consumers: Vec::new(),
        steps: Vec::new(),
        expect: Expectations::default(),
    }
}

/// Consumer groups under churn: 3 brokers, a 24-partition topic, an idempotent producer, and
/// `members` consumers in two groups (cooperative-sticky and the default range/eager), every
/// one auto-committing each second; from the seed, every 500-1,500 ms a member is closed,
/// crashed, restarted, stalled past `max.poll.interval.ms` or frozen past `session.timeout.ms`,
/// so the coordinators run rebalance after rebalance while offsets are committed throughout.
pub fn group_heavy(members: u32, duration_ms: u64, seed: u64) -> ClusterScenario {
    let mut rng = Prng::new(seed).fork("bench-groups");
    let mut topic_config = BTreeMap::new();
    topic_config.insert("min.insync.replicas".to_owned(), "2".to_owned());
    let consumers: Vec<ConsumerSpec> = (0..members)
        .map(|i| ConsumerSpec {
            group_id: Some(if i % 2 == 0 { "coop" } else { "eager" }.into()),
            partition_assignment_strategy: if i % 2 == 0 {
                vec!["cooperative-sticky".into()]
            } else {
                vec!["range".into(), "cooperative-sticky".into()]
            },
            session_timeout_ms: 3_000,
            heartbeat_interval_ms: 500,
            max_poll_interval_ms: 4_000,
            auto_commit_interval_ms: 1_000,
            poll_interval_ms: 50,
            ..ConsumerSpec::assign("t")
        })
        .collect();
    let mut steps = Vec::new();
    let mut at = 3_000;
    while at < duration_ms {
        at += rng.range_inclusive(500, 1_500);
        let consumer = rng.below(u64::from(members)) as u32;
        let action = match rng.below(5) {
            0 => Action::StopConsumer { consumer },
            1 => Action::CrashConsumer { consumer },
            2 => Action::StallConsumer {
                consumer,
                duration_ms: 5_000,
            },
            3 => Action::FreezeConsumer {
                consumer,
                duration_ms: 4_000,
            },
            _ => Action::RestartConsumer {
                consumer,
                strategy: None,
            },
        };
        steps.push(Step { at_ms: at, action });
    }
    ClusterScenario {
        scenario: "cluster".into(),
        name: format!("bench group-heavy: {members} members, two groups, churn"),
        description: String::new(),
        seed: Some(seed),
        duration_ms,
        brokers: 3,
        broker: BrokerSettings {
            offsets_topic_num_partitions: 10,
            group_initial_rebalance_delay_ms: 300,
            group_min_session_timeout_ms: 1_000,
            ..BrokerSettings::default()
        },
        network: NetworkConfig::default(),
        topics: vec![topic(24, 3, topic_config)],
        producers: vec![ProducerSpec {
            topic: "t".into(),
            config: ProducerConfig {
                acks: Acks::All,
                enable_idempotence: Some(true),
                ..ProducerConfig::default()
            },
            interval_ms_min: 2,
            interval_ms_max: 10,
            keys: 64,
            records_max: None,
            stop_ms: None,
            value_bytes: None,
            start_ms: None,
            transactions: Default::default(),
        }],
        consumers,
        steps,
        expect: Expectations::default(),
    }
}
