//! Replica placement for new topics: Kafka's rack-unaware `assignReplicasToBrokers` rule.
//!
//! Brokers are taken in id order. Partition p's first replica (its preferred leader) is broker
//! `(p + startIndex) mod n`, so leaders go round-robin from a random start. Followers are placed
//! at a shift from the first replica, `1 + (shift + j) mod (n - 1)`, which never lands back on the
//! first replica; the shift grows by one after every full round of n partitions, so the same
//! leader gets different followers in the next round. Invariant: every assignment has `rf`
//! distinct brokers, and over any multiple of n partitions each broker leads equally often.

use crate::ids::BrokerId;
use crate::prng::Prng;

/// The two random draws of Kafka's placement. Fixing them gives the hand-computable layouts of
/// Kafka's own examples (start 0, shift 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlacementStart {
    /// Index (into the id-sorted broker list) of partition 0's first replica.
    pub start_index: u32,
    /// The initial follower shift (`nextReplicaShift`).
    pub replica_shift: u32,
}

impl PlacementStart {
    /// Kafka draws `startIndex` and then `nextReplicaShift`, each uniform in `[0, n)`.
    pub fn random(prng: &mut Prng, broker_count: u32) -> PlacementStart {
        let n = u64::from(broker_count.max(1));
        let start_index = prng.below(n) as u32;
        let replica_shift = prng.below(n) as u32;
        PlacementStart {
            start_index,
            replica_shift,
        }
    }
}

/// Places `partitions` partitions of `replication_factor` replicas over `brokers` (which the
/// caller sorts by id and filters to usable, unfenced brokers). Returns one replica list per
/// partition, first replica = preferred leader. The caller has checked
/// `1 <= replication_factor <= brokers.len()`; an impossible request returns an empty layout.
pub fn assign_replicas_to_brokers(
    brokers: &[BrokerId],
    partitions: u32,
    replication_factor: u32,
    start: PlacementStart,
) -> Vec<Vec<BrokerId>> {
    let n = brokers.len() as u64;
    let rf = u64::from(replication_factor);
    if n == 0 || rf == 0 || rf > n {
        return Vec::new();
    }
    let start_index = u64::from(start.start_index) % n;
    let mut shift = u64::from(start.replica_shift);
    let mut layout = Vec::with_capacity(partitions as usize);
    for p in 0..u64::from(partitions) {
        // A new round of n partitions moves every follower one step further from its leader.
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + start_index) % n;
        let mut replicas = Vec::with_capacity(rf as usize);
        replicas.push(brokers[first as usize]);
        for j in 0..rf - 1 {
            let offset = 1 + (shift + j) % (n - 1);
            replicas.push(brokers[((first + offset) % n) as usize]);
        }
        debug_assert!(
            all_distinct(&replicas),
            "placement repeated a broker: {replicas:?}"
        );
        layout.push(replicas);
    }
    layout
}

fn all_distinct(replicas: &[BrokerId]) -> bool {
    let mut sorted = replicas.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).all(|w| w[0] != w[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn ids(v: &[u32]) -> Vec<BrokerId> {
        v.iter().copied().map(BrokerId).collect()
    }

    fn render(layout: &[Vec<BrokerId>]) -> String {
        layout
            .iter()
            .map(|r| {
                r.iter()
                    .map(|b| b.0.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn matches_hand_computed_layouts() {
        // (brokers, partitions, rf, start_index, shift, expected "p0 p1 ...").
        // Row 1 is the 5-broker, 10-partition, RF-3 example in Kafka's AdminUtils doc comment
        // (start 0, shift 0): p0 = 0,1,2 ... p5 = 0,2,3 once the shift grows after a round.
        type Case = (&'static [u32], u32, u32, u32, u32, &'static str);
        let cases: &[Case] = &[
            (
                &[0, 1, 2, 3, 4],
                10,
                3,
                0,
                0,
                "0,1,2 1,2,3 2,3,4 3,4,0 4,0,1 0,2,3 1,3,4 2,4,0 3,0,1 4,1,2",
            ),
            // Start at index 1 with shift 2 over 3 brokers: first = p+1, follower offset
            // 1 + (2+j) mod 2, and the shift turns to 3 at p = 3.
            (&[1, 2, 3], 4, 2, 1, 2, "2,3 3,1 1,2 2,1"),
            // Ids need not be contiguous: indexes go into the sorted list.
            (&[10, 20, 30], 3, 3, 2, 0, "30,10,20 10,20,30 20,30,10"),
            // RF 1 never computes a follower (no division by n - 1 = 0 for one broker).
            (&[7], 2, 1, 0, 5, "7 7"),
        ];
        for &(brokers, partitions, rf, start_index, replica_shift, expected) in cases {
            let layout = assign_replicas_to_brokers(
                &ids(brokers),
                partitions,
                rf,
                PlacementStart {
                    start_index,
                    replica_shift,
                },
            );
            assert_eq!(
                render(&layout),
                expected,
                "{brokers:?} p={partitions} rf={rf}"
            );
        }
    }

    #[test]
    fn leaders_and_replicas_spread_evenly_for_every_seed() {
        for seed in 0..50u64 {
            let mut prng = Prng::new(seed);
            let brokers = ids(&[1, 2, 3, 4]);
            let start = PlacementStart::random(&mut prng, 4);
            let layout = assign_replicas_to_brokers(&brokers, 12, 3, start);
            assert_eq!(layout.len(), 12);
            for b in &brokers {
                let leads = layout.iter().filter(|r| r[0] == *b).count();
                let holds = layout.iter().filter(|r| r.contains(b)).count();
                assert_eq!(leads, 3, "seed {seed}: broker {b} leads {leads} of 12");
                assert_eq!(holds, 9, "seed {seed}: broker {b} holds {holds} replicas");
            }
            assert!(layout.iter().all(|r| r.len() == 3 && all_distinct(r)));
        }
    }

    #[test]
    fn the_random_start_comes_from_the_seed() {
        let a = PlacementStart::random(&mut Prng::new(9), 5);
        let b = PlacementStart::random(&mut Prng::new(9), 5);
        assert_eq!(a, b);
        let starts: Vec<u32> = (0..40)
            .map(|s| PlacementStart::random(&mut Prng::new(s), 5).start_index)
            .collect();
        assert!(starts.iter().all(|s| *s < 5));
        // Different seeds reach more than one start: leaders of different topics do not all
        // pile onto the lowest broker id.
        assert!(starts.iter().any(|s| *s != starts[0]));
    }

    #[test]
    fn impossible_requests_place_nothing() {
        let start = PlacementStart {
            start_index: 0,
            replica_shift: 0,
        };
        assert!(assign_replicas_to_brokers(&ids(&[1, 2]), 3, 3, start).is_empty());
        assert!(assign_replicas_to_brokers(&[], 3, 1, start).is_empty());
        assert!(assign_replicas_to_brokers(&ids(&[1]), 3, 0, start).is_empty());
    }
}
