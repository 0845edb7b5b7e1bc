//! Where a group's coordinator lives (rule G-1): the leader of the `__consumer_offsets`
//! partition `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`. The same function
//! places a transactional id on `__transaction_state`.
//!
//! Invariant: the hash is Java's `String.hashCode` over UTF-16 code units (not bytes), and the
//! absolute value is Kafka's `Utils.abs`, which maps `Integer.MIN_VALUE` to 0. It is not
//! `Utils.toPositive` (`x & 0x7fffffff`, the producer's partitioner): the two differ for every
//! negative hash, so "my-group" lands on partition 12, not 36.

use crate::ids::PartitionIndex;

/// Kafka's default `offsets.topic.num.partitions`.
pub const OFFSETS_TOPIC_NUM_PARTITIONS_DEFAULT: u32 = 50;

/// Java's `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, in
/// wrapping 32-bit signed arithmetic.
pub fn java_string_hash_code(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Kafka's `Utils.abs`: `Math.abs`, except that `Integer.MIN_VALUE` (whose `Math.abs` is
/// itself, negative) becomes 0.
pub fn kafka_utils_abs(n: i32) -> i32 {
    if n == i32::MIN {
        0
    } else {
        n.abs()
    }
}

/// The `__consumer_offsets` partition that holds `group_id`'s offsets and metadata, among
/// `num_partitions` (`offsets.topic.num.partitions`). Errs on zero partitions, which Kafka's
/// config validation refuses.
pub fn coordinator_partition(
    group_id: &str,
    num_partitions: u32,
) -> Result<PartitionIndex, String> {
    if num_partitions == 0 || num_partitions > i32::MAX as u32 {
        return Err(format!(
            "offsets.topic.num.partitions must be between 1 and {}, got {num_partitions}",
            i32::MAX
        ));
    }
    let abs = kafka_utils_abs(java_string_hash_code(group_id)) as u32;
    Ok(PartitionIndex(abs % num_partitions))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn java_hash_codes_by_hand() {
        assert_eq!(java_string_hash_code(""), 0);
        // 'a' = 97.
        assert_eq!(java_string_hash_code("a"), 97);
        // "ab" = 97*31 + 98 = 3105.
        assert_eq!(java_string_hash_code("ab"), 3105);
        // "abc" = 3105*31 + 99 = 96354 (Java's documented "abc".hashCode()).
        assert_eq!(java_string_hash_code("abc"), 96_354);
        // "hello" = 99162322, as Java prints it.
        assert_eq!(java_string_hash_code("hello"), 99_162_322);
        // The spec's vector (G-1): wraps negative.
        assert_eq!(java_string_hash_code("my-group"), -1_906_497_762);
        // UTF-16 code units, not UTF-8 bytes: 'é' is one unit (233), not two bytes.
        assert_eq!(java_string_hash_code("é"), 233);
        // A character outside the BMP is a surrogate pair: 0xD83D*31 + 0xDE00 for U+1F600.
        assert_eq!(java_string_hash_code("\u{1F600}"), 0xD83D * 31 + 0xDE00);
        // Java's two colliding strings "Aa" and "BB" (2112).
        assert_eq!(java_string_hash_code("Aa"), 2112);
        assert_eq!(java_string_hash_code("BB"), 2112);
    }

    #[test]
    fn utils_abs_is_not_to_positive() {
        assert_eq!(kafka_utils_abs(-5), 5);
        assert_eq!(kafka_utils_abs(7), 7);
        assert_eq!(kafka_utils_abs(i32::MIN), 0);
        assert_eq!(kafka_utils_abs(i32::MAX), i32::MAX);
    }

    #[test]
    fn coordinator_partitions_match_kafka() {
        // G-1's vector: 1906497762 % 50 = 12. With `& 0x7fffffff` it would be 36.
        assert_eq!(
            coordinator_partition("my-group", 50),
            Ok(PartitionIndex(12))
        );
        assert_eq!(
            crate::client::partitioner::to_positive(-1_906_497_762) as u32 % 50,
            36
        );
        // "abc": 96354 % 50 = 4; "hello": 99162322 % 50 = 22; "" -> 0.
        assert_eq!(coordinator_partition("abc", 50), Ok(PartitionIndex(4)));
        assert_eq!(coordinator_partition("hello", 50), Ok(PartitionIndex(22)));
        assert_eq!(coordinator_partition("", 50), Ok(PartitionIndex(0)));
        assert_eq!(
            coordinator_partition("my-group", OFFSETS_TOPIC_NUM_PARTITIONS_DEFAULT),
            Ok(PartitionIndex(12))
        );
        // One partition: everything on 0.
        assert_eq!(coordinator_partition("my-group", 1), Ok(PartitionIndex(0)));
        assert!(coordinator_partition("my-group", 0).is_err());
    }
}
