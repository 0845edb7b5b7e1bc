//! Log-level probes of the conformance suite: a torn last batch is cut by its CRC on recovery;
//! corruption in the middle of a segment is reported. Filled in once the partition log lands.

use super::conformance::Probe;

pub fn probes() -> Vec<Probe> {
    Vec::new()
}
