//! The trace: one line per event, and a stable 64-bit hash over all of them. The hash is
//! FNV-1a over each line's text and a newline, so it depends only on the bytes of the lines:
//! no `usize`, no hash-map order, no floats. Natively and in WebAssembly the same run gives the
//! same hash; that is a tested promise.

use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;

/// One event of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceLine {
    pub step: u64,
    pub time: SimTime,
    pub actor: String,
    pub text: String,
}

impl fmt::Display for TraceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>7} {:>14} {:<10} {}",
            self.step,
            self.time.to_string(),
            self.actor,
            self.text
        )
    }
}

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01B3;

/// Lines recorded so far: a running hash over all, and the most recent ones kept for display.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Trace {
    hash: u64,
    lines_total: u64,
    recent: VecDeque<TraceLine>,
    recent_max: u32,
}

impl Trace {
    pub fn new(recent_max: u32) -> Trace {
        Trace {
            hash: FNV_OFFSET,
            lines_total: 0,
            recent: VecDeque::new(),
            recent_max,
        }
    }

    pub fn record(&mut self, line: TraceLine) {
        let text = line.to_string();
        for b in text.bytes().chain(std::iter::once(b'\n')) {
            self.hash ^= u64::from(b);
            self.hash = self.hash.wrapping_mul(FNV_PRIME);
        }
        self.lines_total += 1;
        if self.recent_max > 0 {
            if self.recent.len() as u32 >= self.recent_max {
                self.recent.pop_front();
            }
            self.recent.push_back(line);
        }
    }

    /// The hash of every line recorded so far.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    pub fn lines_total(&self) -> u64 {
        self.lines_total
    }

    pub fn recent(&self) -> impl DoubleEndedIterator<Item = &TraceLine> {
        self.recent.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn hash_depends_only_on_lines() {
        let line = |step, text: &str| TraceLine {
            step,
            time: SimTime(step * 1_500_000),
            actor: "broker-0".into(),
            text: text.into(),
        };
        let mut a = Trace::new(2);
        let mut b = Trace::new(0);
        for (i, t) in ["one", "two", "three"].iter().enumerate() {
            a.record(line(i as u64, t));
            b.record(line(i as u64, t));
        }
        assert_eq!(a.hash(), b.hash());
        assert_eq!(a.recent().count(), 2);
        assert_eq!(
            line(3, "x").to_string(),
            "      3      0.004500s broker-0   x"
        );
        expect_test::expect!["cbf29ce484222325"].assert_eq(&format!("{:x}", Trace::new(1).hash()));
    }
}
