//! The determinism promise where the app runs it: `hello` for seeds 1..=100 inside headless
//! Chromium gives exactly the trace hashes the native test run computes and checks into
//! tests/golden/hello-hashes.txt.
#![cfg(target_arch = "wasm32")]

use logsim::sim::hello::hello_trace_hash;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const GOLDEN: &str = include_str!("../../tests/golden/hello-hashes.txt");

#[wasm_bindgen_test]
fn hello_hashes_in_chromium_equal_the_native_ones() {
    let mut checked = 0;
    for line in GOLDEN.lines() {
        let (seed, want) = line.split_once(' ').expect("golden line: seed hash");
        let seed: u64 = seed.parse().expect("golden seed");
        let got = hello_trace_hash(seed, 5_000).expect("hello runs");
        assert_eq!(format!("{got:016x}"), want, "seed {seed}");
        checked += 1;
    }
    assert_eq!(checked, 100);
}
