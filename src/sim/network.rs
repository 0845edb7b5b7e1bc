//! The simulated network between nodes (brokers, the controller, clients): per-connection FIFO
//! delivery with seeded latency, and the faults of spec §6 J-5 and §7 (drop, duplicate, extra
//! delay, partitions both ways and one way, isolation, connection resets). Sans-IO: `send`
//! returns the deliveries to schedule as data and the kernel's scheduler owns time; when a
//! delivery falls due the kernel asks `arrive` whether it still reaches its destination.
//!
//! Invariant kept: on one directed connection, deliveries are due strictly in send order, so a
//! message is never delivered before an earlier one on the same connection, whatever latency
//! each drew (TCP). Across connections nothing is ordered: that cross-connection reordering is
//! what the Jepsen J-7 transaction anomalies need.
//!
//! What Kafka's TCP semantics imply: TCP never delivers a gap. A lost segment is retransmitted;
//! if the path stays broken the connection is reset, every request in flight on it is gone, and
//! the Kafka client sees a disconnect or a `request.timeout.ms` expiry, never a later response
//! after a missing one. So there are two ways to lose messages here:
//! * `NetworkConfig::drop`: loses that one message only. Coarser than TCP (the connection lives
//!   on with a gap); useful to drive timeouts and retries cheaply.
//! * `disconnect(a, b)`: the faithful reset. Everything in flight on both directions is
//!   discarded and both ends get a `Disconnected` event, as a Kafka `NetworkClient` would.
//!
//! A partition blocks new sends and also loses messages that arrive while it holds, like an
//! iptables DROP rule (Jepsen's partition nemesis).

use crate::ids::NodeId;
use crate::prng::Prng;
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Largest latency (base, tail or extra delay) a config may name: one hour, in µs. Keeps every
/// due time far from `u64` overflow.
pub const NETWORK_LATENCY_US_MAX: u64 = 3_600_000_000;

/// Most deliveries one directed connection may have in flight. A sender past it is refused
/// (`Fate::Backpressure`), as a full socket buffer would block it; Kafka clients cap in-flight
/// requests far below this (`max.in.flight.requests.per.connection` = 5).
pub const CONNECTION_IN_FLIGHT_MAX: u32 = 100_000;

/// An integer probability `numerator / denominator`, written `"1/100"` in scenario files. No
/// float ever decides a fault, so a run is the same on every target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ratio {
    numerator: u32,
    denominator: u32,
}

impl Ratio {
    pub const NEVER: Ratio = Ratio {
        numerator: 0,
        denominator: 1,
    };
    pub const ALWAYS: Ratio = Ratio {
        numerator: 1,
        denominator: 1,
    };

    pub fn new(numerator: u32, denominator: u32) -> Result<Ratio, String> {
        if denominator == 0 {
            return Err(format!(
                "probability {numerator}/{denominator} has a zero denominator"
            ));
        }
        if numerator > denominator {
            return Err(format!(
                "probability {numerator}/{denominator} is above 1: the numerator must not exceed the denominator"
            ));
        }
        Ok(Ratio {
            numerator,
            denominator,
        })
    }

    pub fn numerator(self) -> u32 {
        self.numerator
    }

    pub fn denominator(self) -> u32 {
        self.denominator
    }

    pub fn is_never(self) -> bool {
        self.numerator == 0
    }

    /// Draws once, except for a zero probability, which draws nothing: a run without faults keeps
    /// the same random stream whatever the denominators say.
    pub fn draw(self, prng: &mut Prng) -> bool {
        !self.is_never() && prng.chance(u64::from(self.numerator), u64::from(self.denominator))
    }
}

impl Default for Ratio {
    fn default() -> Self {
        Ratio::NEVER
    }
}

impl TryFrom<String> for Ratio {
    type Error = String;
    fn try_from(text: String) -> Result<Ratio, String> {
        let parse = |part: &str| {
            part.trim().parse::<u32>().map_err(|_| {
                format!("probability {text:?}: expected \"numerator/denominator\" in integers, like \"1/100\"")
            })
        };
        let (n, d) = text.split_once('/').ok_or_else(|| {
            format!("probability {text:?}: expected \"numerator/denominator\", like \"1/100\"")
        })?;
        Ratio::new(parse(n)?, parse(d)?)
    }
}

impl From<Ratio> for String {
    fn from(r: Ratio) -> String {
        r.to_string()
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

/// With `probability`, a message takes up to `extra_us_max` more (uniform in `1..=max`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExtraLatency {
    pub probability: Ratio,
    pub extra_us_max: u64,
}

impl ExtraLatency {
    pub const NONE: ExtraLatency = ExtraLatency {
        probability: Ratio::NEVER,
        extra_us_max: 0,
    };

    fn validate(&self, key: &str) -> Result<(), NetworkError> {
        if self.extra_us_max > NETWORK_LATENCY_US_MAX {
            return Err(NetworkError::Config(format!(
                "{key}.extra_us_max = {}: the limit is {NETWORK_LATENCY_US_MAX} (one hour)",
                self.extra_us_max
            )));
        }
        if !self.probability.is_never() && self.extra_us_max == 0 {
            return Err(NetworkError::Config(format!(
                "{key}.probability = {} but {key}.extra_us_max = 0: give the extra latency, or set the probability to \"0/1\"",
                self.probability
            )));
        }
        Ok(())
    }

    /// The extra latency for one message, in µs (0 when the draw says no).
    fn draw_us(&self, prng: &mut Prng) -> u64 {
        if self.probability.draw(prng) {
            prng.range_inclusive(1, self.extra_us_max)
        } else {
            0
        }
    }
}

/// The network's knobs. Latency is per message, one way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Base latency, uniform in `latency_us_min..=latency_us_max`.
    pub latency_us_min: u64,
    pub latency_us_max: u64,
    /// The slow tail of the healthy distribution (a GC pause, a retransmission).
    pub slow_tail: ExtraLatency,
    /// Loses one message (see the module docs for how this differs from TCP).
    pub drop: Ratio,
    /// Delivers a message twice on its connection, the copy after the original: the wire-level
    /// face of a retried request whose first attempt did arrive (D7).
    pub duplicate: Ratio,
    /// The "delay" fault: extra latency switched on by a nemesis.
    pub delay: ExtraLatency,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            latency_us_min: 500,
            latency_us_max: 3_000,
            slow_tail: ExtraLatency::NONE,
            drop: Ratio::NEVER,
            duplicate: Ratio::NEVER,
            delay: ExtraLatency::NONE,
        }
    }
}

impl NetworkConfig {
    pub fn validate(&self) -> Result<(), NetworkError> {
        if self.latency_us_min > self.latency_us_max {
            return Err(NetworkError::Config(format!(
                "latency_us_min = {} is above latency_us_max = {}",
                self.latency_us_min, self.latency_us_max
            )));
        }
        if self.latency_us_max > NETWORK_LATENCY_US_MAX {
            return Err(NetworkError::Config(format!(
                "latency_us_max = {}: the limit is {NETWORK_LATENCY_US_MAX} (one hour)",
                self.latency_us_max
            )));
        }
        self.slow_tail.validate("slow_tail")?;
        self.delay.validate("delay")
    }
}

/// Operating failures of the network model (bad configuration or fault arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkError {
    Config(String),
    Partition(String),
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkError::Config(m) => write!(f, "invalid network configuration: {m}"),
            NetworkError::Partition(m) => write!(f, "invalid partition: {m}"),
        }
    }
}

impl std::error::Error for NetworkError {}

/// One message on its way: schedule it at `at`, then ask `Network::arrive` whether it lands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery<P> {
    pub at: SimTime,
    pub from: NodeId,
    pub to: NodeId,
    /// The message's number on its directed connection (the copy of a duplicate shares it).
    pub sequence: u64,
    /// Which incarnation of the connection carried it; a reset makes older ones stale.
    pub incarnation: u32,
    pub duplicate: bool,
    pub payload: P,
}

/// What became of a send, for the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fate {
    Sent,
    /// Sent, and a copy follows it.
    Duplicated,
    /// Lost to `NetworkConfig::drop`.
    Dropped,
    /// The link was partitioned when it was sent.
    Blocked,
    /// The connection already had `CONNECTION_IN_FLIGHT_MAX` messages in flight.
    Backpressure,
}

/// The deliveries a send produced (0, 1 or 2), in the order they are due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendOutcome<P> {
    pub fate: Fate,
    pub deliveries: Vec<Delivery<P>>,
}

/// What happens when a delivery falls due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arrival {
    /// Hand the payload to `to`.
    Deliver,
    /// A partition came up while it was in flight.
    LostToPartition,
    /// It was in flight when `drop_in_flight` named its link.
    DroppedInFlight,
    /// Its connection was reset (`disconnect`) after it was sent.
    DiscardedByDisconnect,
}

/// A reset seen by one end of a connection: `node` lost its connection to `peer` at `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disconnected {
    pub at: SimTime,
    pub node: NodeId,
    pub peer: NodeId,
}

/// Counters for traces and for checking fault rates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkStats {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub delayed: u64,
    pub blocked: u64,
    pub backpressured: u64,
    pub lost_to_partition: u64,
    pub discarded_by_disconnect: u64,
    pub disconnects: u64,
}

/// The state of one directed connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Connection {
    incarnation: u32,
    next_sequence: u64,
    /// The due time of the last delivery scheduled on this incarnation: the next one is due
    /// strictly later (FIFO).
    last_due: SimTime,
    in_flight: u32,
    /// Messages of this incarnation numbered below this are lost when they fall due
    /// (`drop_in_flight`).
    #[serde(default)]
    drop_below: u64,
    /// Single messages of this incarnation lost when they fall due (`drop_message`); both
    /// copies of a duplicated one, since they share the number.
    #[serde(default)]
    drop_one: BTreeSet<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    config: NetworkConfig,
    prng: Prng,
    /// from → to → connection. Nested maps keyed by node keep iteration ordered and serialize
    /// to JSON (which has no tuple keys).
    connections: BTreeMap<NodeId, BTreeMap<NodeId, Connection>>,
    /// Directed links that carry nothing: (from, to).
    blocked: BTreeSet<(NodeId, NodeId)>,
    /// Nodes cut off from every other node.
    isolated: BTreeSet<NodeId>,
    stats: NetworkStats,
}

impl Network {
    /// A network with no faults in place. `prng` should be the caller's `prng.fork("network")`.
    pub fn new(config: NetworkConfig, prng: Prng) -> Result<Network, NetworkError> {
        config.validate()?;
        Ok(Network {
            config,
            prng,
            connections: BTreeMap::new(),
            blocked: BTreeSet::new(),
            isolated: BTreeSet::new(),
            stats: NetworkStats::default(),
        })
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// Changes the knobs mid-run (a nemesis turning drops or delays on and off).
    pub fn set_config(&mut self, config: NetworkConfig) -> Result<(), NetworkError> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Directed links that carry nothing now, as (from, to), in order.
    pub fn blocked_links(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        self.blocked.iter().copied()
    }

    /// Nodes cut off from every other node, in order.
    pub fn isolated_nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.isolated.iter().copied()
    }

    pub fn stats(&self) -> NetworkStats {
        self.stats
    }

    /// Whether a message sent from `from` now would reach `to` (if no random fault hits it).
    /// A node always reaches itself.
    pub fn can_reach(&self, from: NodeId, to: NodeId) -> bool {
        from == to
            || !(self.isolated.contains(&from)
                || self.isolated.contains(&to)
                || self.blocked.contains(&(from, to)))
    }

    /// Sends `payload` from `from` to `to` at `now`. The returned deliveries are due in order
    /// and after every earlier delivery on the same connection.
    pub fn send<P: Clone>(
        &mut self,
        now: SimTime,
        from: NodeId,
        to: NodeId,
        payload: P,
    ) -> SendOutcome<P> {
        self.stats.sent += 1;
        if !self.can_reach(from, to) {
            self.stats.blocked += 1;
            return SendOutcome {
                fate: Fate::Blocked,
                deliveries: Vec::new(),
            };
        }
        if self.connection(from, to).in_flight >= CONNECTION_IN_FLIGHT_MAX {
            self.stats.backpressured += 1;
            return SendOutcome {
                fate: Fate::Backpressure,
                deliveries: Vec::new(),
            };
        }
        // The draw order below is part of the trace format: change it and every hash changes.
        if self.config.drop.draw(&mut self.prng) {
            self.stats.dropped += 1;
            return SendOutcome {
                fate: Fate::Dropped,
                deliveries: Vec::new(),
            };
        }
        let first = self.latency();
        let copy = if self.config.duplicate.draw(&mut self.prng) {
            Some(self.latency())
        } else {
            None
        };
        let connection = self.connection(from, to);
        let sequence = connection.next_sequence;
        connection.next_sequence += 1;
        let incarnation = connection.incarnation;
        let mut deliveries = Vec::with_capacity(2);
        for (latency, duplicate) in std::iter::once((first, false)).chain(copy.map(|l| (l, true))) {
            let at = fifo_due(connection.last_due, now.saturating_add(latency));
            connection.last_due = at;
            connection.in_flight += 1;
            deliveries.push(Delivery {
                at,
                from,
                to,
                sequence,
                incarnation,
                duplicate,
                payload: payload.clone(),
            });
        }
        let fate = if copy.is_some() {
            self.stats.duplicated += 1;
            Fate::Duplicated
        } else {
            Fate::Sent
        };
        SendOutcome { fate, deliveries }
    }

    /// Called by the kernel when `delivery` falls due: says whether to hand it over. Every
    /// delivery `send` returned must come through here exactly once.
    pub fn arrive<P>(&mut self, now: SimTime, delivery: &Delivery<P>) -> Arrival {
        let reachable = self.can_reach(delivery.from, delivery.to);
        let connection = self.connection(delivery.from, delivery.to);
        if delivery.incarnation != connection.incarnation {
            self.stats.discarded_by_disconnect += 1;
            return Arrival::DiscardedByDisconnect;
        }
        assert!(
            now >= delivery.at && connection.in_flight > 0,
            "delivery {}→{} #{} arrived at {now}, due {}, with {} in flight",
            delivery.from,
            delivery.to,
            delivery.sequence,
            delivery.at,
            connection.in_flight
        );
        connection.in_flight -= 1;
        let dropped = delivery.sequence < connection.drop_below
            || connection.drop_one.contains(&delivery.sequence);
        if connection.in_flight == 0 {
            // Nothing of a marked number is left on the wire.
            connection.drop_one.clear();
        }
        if dropped {
            self.stats.dropped += 1;
            return Arrival::DroppedInFlight;
        }
        if reachable {
            self.stats.delivered += 1;
            Arrival::Deliver
        } else {
            self.stats.lost_to_partition += 1;
            Arrival::LostToPartition
        }
    }

    /// Loses every message now in flight from `from` to `to` when it falls due; returns how
    /// many. The link stays up: messages sent from now on arrive.
    pub fn drop_in_flight(&mut self, from: NodeId, to: NodeId) -> u32 {
        let connection = self.connection(from, to);
        connection.drop_below = connection.next_sequence;
        connection.in_flight
    }

    /// Loses the message numbered `sequence` from `from` to `to` (every copy of it) when it
    /// falls due, if it is still in flight; the caller knows which are (the scheduler holds
    /// them). Returns whether the number was one this incarnation sent and had not dropped.
    pub fn drop_message(&mut self, from: NodeId, to: NodeId, sequence: u64) -> bool {
        let connection = self.connection(from, to);
        if sequence < connection.drop_below
            || sequence >= connection.next_sequence
            || connection.in_flight == 0
        {
            return false;
        }
        connection.drop_one.insert(sequence)
    }

    /// Resets the connection between `a` and `b` (both directions), as a TCP RST or a client's
    /// request timeout closing it would: everything in flight is discarded when it falls due,
    /// and both ends learn of it now.
    pub fn disconnect(&mut self, now: SimTime, a: NodeId, b: NodeId) -> Vec<Disconnected> {
        self.stats.disconnects += 1;
        for (from, to) in [(a, b), (b, a)] {
            let connection = self.connection(from, to);
            // A fresh incarnation starts with a fresh FIFO: the discarded deliveries no longer
            // hold back new ones.
            *connection = Connection {
                incarnation: connection.incarnation.wrapping_add(1),
                ..Connection::default()
            };
        }
        vec![
            Disconnected {
                at: now,
                node: a,
                peer: b,
            },
            Disconnected {
                at: now,
                node: b,
                peer: a,
            },
        ]
    }

    /// Splits the listed nodes into sides that cannot reach each other, both ways. Nodes not
    /// listed keep reaching everyone: Jepsen partitions DB nodes, not clients (J-5). Adds to any
    /// partition already in place.
    pub fn partition(&mut self, sides: &[Vec<NodeId>]) -> Result<(), NetworkError> {
        let mut side_of: BTreeMap<NodeId, u32> = BTreeMap::new();
        for (side, nodes) in (0u32..).zip(sides) {
            for node in nodes {
                if let Some(other) = side_of.insert(*node, side) {
                    if other != side {
                        return Err(NetworkError::Partition(format!(
                            "node {node} is on side {other} and on side {side}"
                        )));
                    }
                }
            }
        }
        for (a, side_a) in &side_of {
            for (b, side_b) in &side_of {
                if side_a != side_b {
                    self.blocked.insert((*a, *b));
                }
            }
        }
        Ok(())
    }

    /// Blocks `from → to` only: `to` still reaches `from`.
    pub fn partition_one_way(&mut self, from: NodeId, to: NodeId) {
        if from != to {
            self.blocked.insert((from, to));
        }
    }

    /// Cuts `node` off from every other node, including ones that appear later.
    pub fn isolate(&mut self, node: NodeId) {
        self.isolated.insert(node);
    }

    /// Lifts every partition and isolation.
    pub fn heal(&mut self) {
        self.blocked.clear();
        self.isolated.clear();
    }

    /// Lifts the blocks between `a` and `b`, both ways. An isolation of either stays: lift it
    /// with `heal_node`.
    pub fn heal_between(&mut self, a: NodeId, b: NodeId) {
        self.blocked.remove(&(a, b));
        self.blocked.remove(&(b, a));
    }

    /// Lifts `node`'s isolation and every block to or from it.
    pub fn heal_node(&mut self, node: NodeId) {
        self.isolated.remove(&node);
        self.blocked.retain(|(a, b)| *a != node && *b != node);
    }

    fn connection(&mut self, from: NodeId, to: NodeId) -> &mut Connection {
        self.connections
            .entry(from)
            .or_default()
            .entry(to)
            .or_default()
    }

    /// One message's latency: base, plus the slow tail, plus the delay fault.
    fn latency(&mut self) -> SimDuration {
        let base = self
            .prng
            .range_inclusive(self.config.latency_us_min, self.config.latency_us_max);
        let tail = self.config.slow_tail.draw_us(&mut self.prng);
        let delay = self.config.delay.draw_us(&mut self.prng);
        if delay > 0 {
            self.stats.delayed += 1;
        }
        SimDuration::from_micros(base + tail + delay)
    }
}

/// The due time of the next delivery on a connection whose last one is due at `last_due`:
/// never earlier than its own latency allows, and strictly after the last, so the order holds
/// even if a scheduler broke ties some other way.
fn fifo_due(last_due: SimTime, earliest: SimTime) -> SimTime {
    earliest.max(last_due.saturating_add(SimDuration(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const A: NodeId = NodeId(1);
    const B: NodeId = NodeId(2);
    const C: NodeId = NodeId(3);
    const CLIENT: NodeId = NodeId(100);

    fn network(seed: u64, config: NetworkConfig) -> Network {
        Network::new(config, Prng::new(seed).fork("network")).unwrap()
    }

    fn ratio(n: u32, d: u32) -> Ratio {
        Ratio::new(n, d).unwrap()
    }

    /// A latency spread wide enough that, without FIFO, later messages would often overtake.
    fn jittery() -> NetworkConfig {
        NetworkConfig {
            latency_us_min: 10,
            latency_us_max: 50_000,
            slow_tail: ExtraLatency {
                probability: ratio(1, 10),
                extra_us_max: 200_000,
            },
            duplicate: ratio(1, 20),
            delay: ExtraLatency {
                probability: ratio(1, 20),
                extra_us_max: 100_000,
            },
            ..NetworkConfig::default()
        }
    }

    /// Runs the network against a tiny event loop: sends `(at_us, from, to)` with payload = its
    /// index, and returns the arrivals in the order a (time, sequence) scheduler would run them.
    fn run(net: &mut Network, sends: &[(u64, NodeId, NodeId)]) -> Vec<(SimTime, Delivery<u32>)> {
        let mut queue: BTreeMap<(SimTime, u64), Delivery<u32>> = BTreeMap::new();
        let mut sequence = 0u64;
        for (i, (at_us, from, to)) in (0u32..).zip(sends) {
            let now = SimTime(at_us * 1_000);
            for d in net.send(now, *from, *to, i).deliveries {
                queue.insert((d.at, sequence), d);
                sequence += 1;
            }
        }
        let mut out = Vec::new();
        while let Some(((at, _), d)) = queue.pop_first() {
            if net.arrive(at, &d) == Arrival::Deliver {
                out.push((at, d));
            }
        }
        out
    }

    fn traffic(seed: u64, count: u32) -> Vec<(u64, NodeId, NodeId)> {
        let mut p = Prng::new(seed).fork("traffic");
        let nodes = [A, B, C];
        let mut t = 0;
        (0..count)
            .map(|_| {
                t += p.below(2_000);
                let from = nodes[p.below(3) as usize];
                let to = nodes[p.below(3) as usize];
                (t, from, to)
            })
            .collect()
    }

    #[test]
    fn fifo_per_connection_under_random_latency_over_many_seeds() {
        // §7: per-connection FIFO channels. Within one directed connection the payloads (send
        // indexes) arrive in increasing order; a duplicate repeats the one just before it.
        for seed in 0..200 {
            let mut net = network(seed, jittery());
            let arrivals = run(&mut net, &traffic(seed, 300));
            let mut last: BTreeMap<(NodeId, NodeId), u32> = BTreeMap::new();
            for (_, d) in &arrivals {
                if let Some(prev) = last.insert((d.from, d.to), d.payload) {
                    assert!(
                        d.payload > prev || (d.duplicate && d.payload == prev),
                        "seed {seed}: {}→{} delivered {} after {prev}",
                        d.from,
                        d.to,
                        d.payload
                    );
                }
            }
            assert_eq!(net.stats().delivered, arrivals.len() as u64);
        }
    }

    #[test]
    fn dropping_one_message_loses_only_that_one() {
        let mut net = network(3, NetworkConfig::default());
        let mut due = Vec::new();
        for i in 0..3u32 {
            due.extend(net.send(SimTime(1_000 * u64::from(i)), A, B, i).deliveries);
        }
        let second = due[1].sequence;
        assert!(net.drop_message(A, B, second));
        assert!(!net.drop_message(A, B, second), "already marked");
        assert!(!net.drop_message(A, B, 99), "never sent");
        assert!(
            !net.drop_message(B, A, second),
            "nothing in flight that way"
        );
        let fates: Vec<(u32, Arrival)> = due
            .iter()
            .map(|d| (d.payload, net.arrive(d.at, d)))
            .collect();
        assert_eq!(
            fates,
            vec![
                (0, Arrival::Deliver),
                (1, Arrival::DroppedInFlight),
                (2, Arrival::Deliver),
            ]
        );
        assert_eq!(net.stats().dropped, 1);
        // Once the wire is empty nothing stays marked, and the next message arrives.
        let next = net.send(SimTime(9_000), A, B, 3).deliveries;
        assert_eq!(net.arrive(next[0].at, &next[0]), Arrival::Deliver);
    }

    #[test]
    fn dropping_what_is_in_flight_loses_only_those_messages() {
        let mut net = network(3, NetworkConfig::default());
        let mut due = Vec::new();
        for i in 0..3u32 {
            due.extend(net.send(SimTime(1_000 * u64::from(i)), A, B, i).deliveries);
        }
        due.extend(net.send(SimTime(0), B, A, 9).deliveries);
        assert_eq!(net.drop_in_flight(A, B), 3);
        due.extend(net.send(SimTime(5_000), A, B, 3).deliveries);
        let fates: Vec<(u32, Arrival)> = due
            .iter()
            .map(|d| (d.payload, net.arrive(d.at, d)))
            .collect();
        assert_eq!(
            fates,
            vec![
                (0, Arrival::DroppedInFlight),
                (1, Arrival::DroppedInFlight),
                (2, Arrival::DroppedInFlight),
                (9, Arrival::Deliver),
                (3, Arrival::Deliver),
            ]
        );
    }

    #[test]
    fn a_slow_message_holds_back_later_ones_on_its_connection() {
        // Head-of-line blocking, as on a TCP connection: the second message drew a short latency
        // but is due after the first.
        let mut net = network(
            1,
            NetworkConfig {
                latency_us_min: 1,
                latency_us_max: 1,
                ..NetworkConfig::default()
            },
        );
        net.set_config(NetworkConfig {
            latency_us_min: 1,
            latency_us_max: 1,
            delay: ExtraLatency {
                probability: Ratio::ALWAYS,
                extra_us_max: 1_000_000,
            },
            ..NetworkConfig::default()
        })
        .unwrap();
        let slow = net.send(SimTime(0), A, B, "slow").deliveries;
        net.set_config(NetworkConfig {
            latency_us_min: 1,
            latency_us_max: 1,
            ..NetworkConfig::default()
        })
        .unwrap();
        let fast = net.send(SimTime(0), A, B, "fast").deliveries;
        let other = net.send(SimTime(0), A, C, "other").deliveries;
        assert!(slow[0].at > SimTime(1_000));
        assert_eq!(fast[0].at, slow[0].at.saturating_add(SimDuration(1)));
        // Another connection is not held back.
        assert_eq!(other[0].at, SimTime(1_000));
    }

    #[test]
    fn messages_on_different_connections_reorder() {
        // §7, J-7: the anomalies need cross-connection reordering. Count pairs sent A→C then
        // B→C where the later one arrives first.
        let mut overtaken = 0;
        for seed in 0..50 {
            let mut net = network(seed, jittery());
            let first = net.send(SimTime(0), A, C, 0u32).deliveries;
            let second = net.send(SimTime(1_000), B, C, 1u32).deliveries;
            if second[0].at < first[0].at {
                overtaken += 1;
            }
        }
        assert!(overtaken > 5, "only {overtaken} of 50 reordered");
    }

    #[test]
    fn one_way_partition_blocks_only_its_direction() {
        let mut net = network(7, NetworkConfig::default());
        net.partition_one_way(A, B);
        assert!(!net.can_reach(A, B));
        assert!(net.can_reach(B, A));
        assert_eq!(net.send(SimTime(0), A, B, ()).fate, Fate::Blocked);
        assert!(net.send(SimTime(0), A, B, ()).deliveries.is_empty());
        let back = net.send(SimTime(0), B, A, ()).deliveries;
        assert_eq!(back.len(), 1);
        assert_eq!(net.arrive(back[0].at, &back[0]), Arrival::Deliver);
        assert_eq!(net.stats().blocked, 2);
    }

    #[test]
    fn partition_sides_block_both_ways_and_leave_unlisted_nodes_alone() {
        // J-5: partitions between DB nodes only; the client still reaches everyone.
        let mut net = network(7, NetworkConfig::default());
        net.partition(&[vec![A], vec![B, C]]).unwrap();
        let table = [
            (A, B, false),
            (B, A, false),
            (A, C, false),
            (C, A, false),
            (B, C, true),
            (C, B, true),
            (CLIENT, A, true),
            (A, CLIENT, true),
            (CLIENT, B, true),
        ];
        for (from, to, reachable) in table {
            assert_eq!(net.can_reach(from, to), reachable, "{from}→{to}");
        }
        assert!(net.partition(&[vec![A], vec![A, B]]).is_err());
    }

    #[test]
    fn heal_restores_every_link() {
        let mut net = network(3, NetworkConfig::default());
        net.partition(&[vec![A], vec![B]]).unwrap();
        net.partition_one_way(B, C);
        net.isolate(CLIENT);
        assert!(!net.can_reach(CLIENT, A));
        assert!(net.can_reach(CLIENT, CLIENT));

        net.heal_between(A, B);
        assert!(net.can_reach(A, B) && net.can_reach(B, A));
        assert!(
            !net.can_reach(B, C),
            "heal_between leaves other links alone"
        );

        net.heal_node(CLIENT);
        assert!(net.can_reach(CLIENT, A) && net.can_reach(A, CLIENT));

        net.isolate(A);
        net.heal();
        for (x, y) in [(A, B), (B, C), (C, A), (CLIENT, B)] {
            assert!(net.can_reach(x, y) && net.can_reach(y, x), "{x}↔{y}");
        }
        let d = net.send(SimTime(0), B, C, 9).deliveries;
        assert_eq!(net.arrive(d[0].at, &d[0]), Arrival::Deliver);
    }

    #[test]
    fn a_partition_loses_messages_already_in_flight() {
        let mut net = network(3, NetworkConfig::default());
        let d = net.send(SimTime(0), A, B, 1).deliveries;
        net.partition(&[vec![A], vec![B]]).unwrap();
        assert_eq!(net.arrive(d[0].at, &d[0]), Arrival::LostToPartition);
        assert_eq!(net.stats().lost_to_partition, 1);
    }

    #[test]
    fn disconnect_discards_in_flight_on_both_directions_and_tells_both_ends() {
        let mut net = network(5, NetworkConfig::default());
        let ab = net.send(SimTime(0), A, B, 1).deliveries;
        let ba = net.send(SimTime(0), B, A, 2).deliveries;
        let ac = net.send(SimTime(0), A, C, 3).deliveries;
        let events = net.disconnect(SimTime(10), A, B);
        assert_eq!(
            events,
            vec![
                Disconnected {
                    at: SimTime(10),
                    node: A,
                    peer: B
                },
                Disconnected {
                    at: SimTime(10),
                    node: B,
                    peer: A
                },
            ]
        );
        let after = net.send(SimTime(20), A, B, 4).deliveries;
        assert_eq!(net.arrive(ab[0].at, &ab[0]), Arrival::DiscardedByDisconnect);
        assert_eq!(net.arrive(ba[0].at, &ba[0]), Arrival::DiscardedByDisconnect);
        assert_eq!(net.arrive(ac[0].at, &ac[0]), Arrival::Deliver);
        assert_eq!(net.arrive(after[0].at, &after[0]), Arrival::Deliver);
        // The new incarnation numbers its messages afresh.
        assert_eq!((after[0].incarnation, after[0].sequence), (1, 0));
        let stats = net.stats();
        assert_eq!((stats.discarded_by_disconnect, stats.disconnects), (2, 1));
    }

    #[test]
    fn drop_and_duplicate_rates_match_their_ratios() {
        // Integer ratios drive the faults; over 20 000 sends the observed rate sits within a
        // few standard deviations of the ratio, and zero means never.
        let table = [
            (ratio(0, 1), ratio(0, 1)),
            (ratio(1, 10), ratio(0, 1)),
            (ratio(0, 1), ratio(1, 4)),
            (ratio(3, 100), ratio(1, 50)),
            (ratio(1, 1), ratio(1, 2)),
        ];
        let sends = 20_000u64;
        for (drop, duplicate) in table {
            let mut net = network(
                11,
                NetworkConfig {
                    drop,
                    duplicate,
                    ..NetworkConfig::default()
                },
            );
            let mut copies = 0u64;
            for i in 0..sends {
                copies += net.send(SimTime(i), A, B, ()).deliveries.len() as u64;
            }
            let stats = net.stats();
            let expect_dropped =
                sends * u64::from(drop.numerator()) / u64::from(drop.denominator());
            let kept = sends - stats.dropped;
            let expect_dup =
                kept * u64::from(duplicate.numerator()) / u64::from(duplicate.denominator());
            let within = |got: u64, want: u64| got.abs_diff(want) <= 50 + want / 10;
            assert!(within(stats.dropped, expect_dropped), "{drop}: {stats:?}");
            assert!(
                within(stats.duplicated, expect_dup),
                "{duplicate}: {stats:?}"
            );
            assert_eq!(copies, kept + stats.duplicated);
            if drop.is_never() {
                assert_eq!(stats.dropped, 0);
            }
            if duplicate.is_never() {
                assert_eq!(stats.duplicated, 0);
            }
        }
    }

    #[test]
    fn same_seed_same_deliveries_different_seed_different() {
        let sends = traffic(99, 500);
        let a = run(&mut network(42, jittery()), &sends);
        let b = run(&mut network(42, jittery()), &sends);
        let c = run(&mut network(43, jittery()), &sends);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn a_snapshot_continues_exactly_like_the_original() {
        // The session checkpoint stores the network; a restored one must draw the same future.
        let mut net = network(8, jittery());
        run(&mut net, &traffic(1, 100));
        net.partition_one_way(A, B);
        let json = serde_json::to_string(&net).unwrap();
        let mut restored: Network = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, net);
        let later = traffic(2, 100);
        assert_eq!(run(&mut net, &later), run(&mut restored, &later));
    }

    #[test]
    fn config_is_validated_with_messages_naming_the_key() {
        let table: [(&str, &str); 5] = [
            (
                r#"{"latency_us_min": 5, "latency_us_max": 1}"#,
                "latency_us_min = 5 is above",
            ),
            (r#"{"drop": "3/2"}"#, "above 1"),
            (r#"{"duplicate": "1/0"}"#, "zero denominator"),
            (r#"{"drop": "0.1"}"#, "numerator/denominator"),
            (
                r#"{"delay": {"probability": "1/2", "extra_us_max": 0}}"#,
                "delay.extra_us_max = 0",
            ),
        ];
        for (json, message) in table {
            let error = serde_json::from_str::<NetworkConfig>(json)
                .map_err(|e| e.to_string())
                .and_then(|c| c.validate().map_err(|e| e.to_string()))
                .unwrap_err();
            assert!(error.contains(message), "{json}: {error}");
        }
        let good: NetworkConfig = serde_json::from_str(
            r#"{"drop": "1/100", "slow_tail": {"probability": "1/50", "extra_us_max": 20000}}"#,
        )
        .unwrap();
        good.validate().unwrap();
        assert_eq!(good.drop, ratio(1, 100));
        assert!(Network::new(
            NetworkConfig {
                latency_us_max: NETWORK_LATENCY_US_MAX + 1,
                ..NetworkConfig::default()
            },
            Prng::new(1)
        )
        .is_err());
    }
}
