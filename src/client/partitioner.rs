//! Kafka's built-in key partitioner: `(murmur2(key) & 0x7fffffff) % numPartitions`, with the
//! exact murmur2 variant of `org.apache.kafka.common.utils.Utils.murmur2` (seed 0x9747b28c,
//! little-endian 4-byte blocks, Java's signed arithmetic reproduced with wrapping u32 ops).

use crate::ids::PartitionIndex;

/// Kafka's murmur2 hash of `data`, as the signed int Java returns.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len() as u32;
    let mut h: u32 = SEED ^ length;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    // Java's switch falls through from the highest remaining byte down.
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on MIN).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Kafka's producer picks for a non-null key among `partition_count` partitions
/// (all of them, available or not: rule P-1).
pub fn partition_for_key(key: &[u8], partition_count: u32) -> PartitionIndex {
    assert!(partition_count > 0, "a topic has at least one partition");
    PartitionIndex(to_positive(murmur2(key)) as u32 % partition_count)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn matches_kafka_vectors() {
        // From the spec (P-1), re-verified against Kafka's UtilsTest.
        assert_eq!(murmur2(b"21"), -973_932_308);
        assert_eq!(to_positive(murmur2(b"21")), 1_173_551_340);
        let parts: Vec<u32> = [3, 6, 12, 50]
            .iter()
            .map(|n| partition_for_key(b"21", *n).0)
            .collect();
        assert_eq!(parts, vec![0, 0, 0, 40]);
        // Kafka's UtilsTest.testMurmur2 cases.
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key), *want, "{:?}", String::from_utf8_lossy(key));
        }
    }
}
