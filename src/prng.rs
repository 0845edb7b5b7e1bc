//! The one source of randomness: a seeded, portable PRNG (xoshiro256**, seeded through
//! SplitMix64). Every subsystem forks its own stream by label, so adding draws in one subsystem
//! never shifts another's. Probabilities are integer ratios; no floats reach the trace.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PrngState", into = "PrngState")]
pub struct Prng {
    s: [u64; 4],
}

/// The serialized form. An all-zero state is refused: xoshiro would return 0 forever, and a
/// tampered session must not hang a run.
#[derive(Serialize, Deserialize)]
struct PrngState {
    s: [u64; 4],
}

impl TryFrom<PrngState> for Prng {
    type Error = String;
    fn try_from(state: PrngState) -> Result<Prng, String> {
        if state.s == [0; 4] {
            return Err("a PRNG state of all zeros is invalid".into());
        }
        Ok(Prng { s: state.s })
    }
}

impl From<Prng> for PrngState {
    fn from(p: Prng) -> PrngState {
        PrngState { s: p.s }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mix64(*state)
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over the label: stable across targets and releases.
fn label_hash(label: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

impl Prng {
    pub fn new(seed: u64) -> Prng {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Prng { s }
    }

    /// An independent stream for one subsystem, derived from this one's seed state and a label
    /// without consuming draws from this stream.
    pub fn fork(&self, label: &str) -> Prng {
        let mixed = self.s[0] ^ self.s[1].rotate_left(17) ^ self.s[2].rotate_left(31) ^ self.s[3];
        Prng::new(mixed ^ label_hash(label))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform integer in `[0, n)` without modulo bias (Lemire's method). `n` must be > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Prng::below(0)");
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    /// A uniform integer in `[lo, hi]` (inclusive).
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi, "Prng::range_inclusive({lo}, {hi})");
        if lo == 0 && hi == u64::MAX {
            return self.next_u64();
        }
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        assert!(denominator > 0 && numerator <= denominator);
        self.below(denominator) < numerator
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn same_seed_same_stream_and_forks_differ() {
        let mut a = Prng::new(42);
        let mut b = Prng::new(42);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let mut n1 = Prng::new(42).fork("network");
        let mut n2 = Prng::new(42).fork("disk");
        assert_ne!(n1.next_u64(), n2.next_u64());
    }

    #[test]
    fn known_values_are_stable_across_targets() {
        // Pinned so a change to the generator (which would change every trace hash) is noticed.
        let mut p = Prng::new(1);
        expect_test::expect!["[12966619160104079557, 9600361134598540522, 10590380919521690900]"]
            .assert_eq(&format!("{:?}", [p.next_u64(), p.next_u64(), p.next_u64()]));
    }

    #[test]
    fn below_stays_in_range() {
        let mut p = Prng::new(7);
        for n in 1..200 {
            assert!(p.below(n) < n);
        }
        let hits = (0..10_000).filter(|_| p.chance(1, 4)).count();
        assert!((2_000..3_000).contains(&hits), "{hits}");
    }
}
