//! One partition's registration in the controller (replicas, ISR, leader, leader epoch,
//! partition epoch, leader recovery state) and the pure rule that changes it: Kafka's
//! `PartitionChangeBuilder`, reduced to what logsim models.
//!
//! Invariants kept by `PartitionState::change` (and asserted by `check`):
//! - INV-5: a leader, when there is one, is in the ISR; it comes from the ISR unless the
//!   election is unclean, and then the ISR is exactly {leader}.
//! - The ISR is a non-empty subset of the replicas without repeats (the last member stays
//!   recorded when the partition goes offline).
//! - Any change bumps the partition epoch by one; a leader change (including to "none") bumps
//!   the leader epoch by one; an ISR-only change bumps the leader epoch only under
//!   metadata.version < 3.6 and only when the ISR shrinks (KAFKA-15021).

use crate::ids::{BrokerId, LeaderEpoch};
use crate::protocol::PartitionEpoch;
use serde::{Deserialize, Serialize};

/// Whether the leader's log may be missing acknowledged data (Kafka's `LeaderRecoveryState`,
/// KIP-704). An unclean election leaves the new leader `Recovering` until it reports back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LeaderRecoveryState {
    Recovered,
    Recovering,
}

/// A partition as the controller records it, and as brokers learn it from metadata updates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    /// The assignment, in order: the first replica is the preferred leader, and elections scan
    /// in this order.
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    /// `None` is Kafka's leader -1: the partition is offline.
    pub leader: Option<BrokerId>,
    pub leader_epoch: LeaderEpoch,
    pub partition_epoch: PartitionEpoch,
    pub leader_recovery_state: LeaderRecoveryState,
}

/// How a leader may be chosen when the current one cannot stay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Election {
    /// Only from the ISR.
    Clean,
    /// From the ISR if possible, otherwise the first eligible replica.
    Unclean,
    /// Move leadership to the first replica if it is an eligible ISR member; otherwise
    /// behave as `Clean`.
    Preferred,
}

/// What one change asks for.
#[derive(Clone, Copy, Debug)]
pub struct ChangeRequest<'a> {
    /// The ISR to install (`None` keeps the current one). An empty target keeps the current ISR:
    /// the ISR is never empty.
    pub target_isr: Option<&'a [BrokerId]>,
    pub election: Election,
    /// The leader recovery state to install (`None` keeps the current one); AlterPartition
    /// sets `Recovered` once a leader elected uncleanly has recovered.
    pub target_recovery_state: Option<LeaderRecoveryState>,
    /// metadata.version < 3.6: an ISR shrink also bumps the leader epoch (KAFKA-15021).
    pub leader_epoch_bump_on_isr_shrink: bool,
}

impl PartitionState {
    /// A new partition: every replica in the ISR and the first replica leading, epochs 0.
    pub fn new(replicas: Vec<BrokerId>) -> PartitionState {
        let state = PartitionState {
            leader: replicas.first().copied(),
            isr: replicas.clone(),
            replicas,
            leader_epoch: LeaderEpoch(0),
            partition_epoch: PartitionEpoch(0),
            leader_recovery_state: LeaderRecoveryState::Recovered,
        };
        state.check();
        state
    }

    /// The preferred leader: the first replica of the assignment.
    pub fn preferred_leader(&self) -> Option<BrokerId> {
        self.replicas.first().copied()
    }

    pub fn is_offline(&self) -> bool {
        self.leader.is_none()
    }

    /// Applies `request`, choosing leaders among brokers for which `eligible` holds (registered,
    /// unfenced). Returns the new state, or `None` when nothing would change (no record is
    /// written and no epoch moves).
    pub fn change(
        &self,
        request: ChangeRequest<'_>,
        eligible: impl Fn(BrokerId) -> bool,
    ) -> Option<PartitionState> {
        let mut isr: Vec<BrokerId> = match request.target_isr {
            Some(target) if !target.is_empty() => target.to_vec(),
            _ => self.isr.clone(),
        };
        let mut recovery = request
            .target_recovery_state
            .unwrap_or(self.leader_recovery_state);
        let leader = match self.elect(&isr, request.election, &eligible) {
            Some(leader) => Some(leader),
            None if request.election == Election::Unclean => {
                let unclean = self.replicas.iter().copied().find(|r| eligible(*r));
                if let Some(leader) = unclean {
                    // Records the new leader lacks are gone; it alone is known to hold the
                    // log from now on.
                    isr = vec![leader];
                    recovery = LeaderRecoveryState::Recovering;
                }
                unclean
            }
            None => None,
        };
        let leader_changed = leader != self.leader;
        let isr_changed = isr != self.isr;
        if !leader_changed && !isr_changed && recovery == self.leader_recovery_state {
            return None;
        }
        let shrank = self.isr.iter().any(|b| !isr.contains(b));
        let bump_leader_epoch =
            leader_changed || (shrank && request.leader_epoch_bump_on_isr_shrink);
        let next = PartitionState {
            replicas: self.replicas.clone(),
            isr,
            leader,
            leader_epoch: if bump_leader_epoch {
                LeaderEpoch(self.leader_epoch.0.saturating_add(1))
            } else {
                self.leader_epoch
            },
            partition_epoch: self.partition_epoch.next(),
            leader_recovery_state: recovery,
        };
        next.check();
        Some(next)
    }

    /// Clean choice of leader from `isr`, or the preferred replica. The current
    /// leader stays if it is still an eligible ISR member, so an ISR change never moves
    /// leadership by itself.
    fn elect(
        &self,
        isr: &[BrokerId],
        election: Election,
        eligible: &impl Fn(BrokerId) -> bool,
    ) -> Option<BrokerId> {
        let acceptable = |b: BrokerId| isr.contains(&b) && eligible(b);
        if election == Election::Preferred {
            if let Some(preferred) = self.preferred_leader().filter(|p| acceptable(*p)) {
                return Some(preferred);
            }
        }
        if let Some(current) = self.leader.filter(|l| acceptable(*l)) {
            return Some(current);
        }
        self.replicas.iter().copied().find(|r| acceptable(*r))
    }

    /// The structural invariants. Violations are engine bugs, so they panic, in release too.
    pub fn check(&self) {
        assert!(!self.isr.is_empty(), "empty ISR: {self:?}");
        for (i, b) in self.isr.iter().enumerate() {
            assert!(
                self.replicas.contains(b),
                "ISR member {b} not a replica: {self:?}"
            );
            assert!(!self.isr[..i].contains(b), "ISR repeats {b}: {self:?}");
        }
        if let Some(leader) = self.leader {
            assert!(
                self.isr.contains(&leader),
                "INV-5: leader outside ISR: {self:?}"
            );
        }
        if self.leader_recovery_state == LeaderRecoveryState::Recovering {
            assert_eq!(
                self.isr.len(),
                1,
                "a recovering leader's ISR is itself: {self:?}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn b(v: &[u32]) -> Vec<BrokerId> {
        v.iter().copied().map(BrokerId).collect()
    }

    fn state(replicas: &[u32], isr: &[u32], leader: Option<u32>) -> PartitionState {
        PartitionState {
            replicas: b(replicas),
            isr: b(isr),
            leader: leader.map(BrokerId),
            leader_epoch: LeaderEpoch(5),
            partition_epoch: PartitionEpoch(10),
            leader_recovery_state: LeaderRecoveryState::Recovered,
        }
    }

    fn request(target_isr: Option<&[BrokerId]>, election: Election) -> ChangeRequest<'_> {
        ChangeRequest {
            target_isr,
            election,
            target_recovery_state: None,
            leader_epoch_bump_on_isr_shrink: false,
        }
    }

    #[test]
    fn elections_follow_assignment_order_within_the_isr() {
        // (replicas, isr, leader, alive, election, expected leader, expected isr). The target ISR is the old ISR minus dead brokers, as the
        // controller computes it when fencing, except that the last member stays.
        let none: Option<u32> = None;
        type Case = (
            &'static [u32],
            &'static [u32],
            Option<u32>,
            &'static [u32],
            Election,
            Option<u32>,
            &'static [u32],
        );
        let cases: &[Case] = &[
            // leader 1 dies; 3 is first in assignment order among alive ISR members; 2 is
            // alive but not in the ISR and is never chosen.
            (
                &[1, 2, 3],
                &[1, 3],
                Some(1),
                &[2, 3],
                Election::Clean,
                Some(3),
                &[3],
            ),
            // Assignment order, not ISR order, decides.
            (
                &[1, 2, 3],
                &[3, 2, 1],
                Some(1),
                &[2, 3],
                Election::Clean,
                Some(2),
                &[3, 2],
            ),
            // No ISR member alive: offline, the last ISR member stays recorded.
            (&[1, 2], &[1], Some(1), &[2], Election::Clean, none, &[1]),
            // same, unclean allowed: first alive replica leads with ISR = {it}.
            (
                &[1, 2],
                &[1],
                Some(1),
                &[2],
                Election::Unclean,
                Some(2),
                &[2],
            ),
            // Unclean still prefers a clean choice when there is one.
            (
                &[1, 2, 3],
                &[1, 3],
                Some(1),
                &[2, 3],
                Election::Unclean,
                Some(3),
                &[3],
            ),
            // the preferred replica is back in the ISR and takes leadership.
            (
                &[1, 2, 3],
                &[2, 1],
                Some(2),
                &[1, 2, 3],
                Election::Preferred,
                Some(1),
                &[2, 1],
            ),
        ];
        for &(replicas, isr, leader, alive, election, want_leader, want_isr) in cases {
            let s = state(replicas, isr, leader);
            let target: Vec<BrokerId> = s
                .isr
                .iter()
                .copied()
                .filter(|m| alive.contains(&m.0))
                .collect();
            let next = s
                .change(request(Some(&target), election), |x| alive.contains(&x.0))
                .unwrap();
            assert_eq!(
                next.leader,
                want_leader.map(BrokerId),
                "{replicas:?} {isr:?} {election:?}"
            );
            assert_eq!(next.isr, b(want_isr), "{replicas:?} {isr:?} {election:?}");
            // Every case changes the leader: both epochs go up by exactly one.
            assert_eq!(next.leader_epoch, LeaderEpoch(6));
            assert_eq!(next.partition_epoch, PartitionEpoch(11));
            let unclean = election == Election::Unclean && !isr.iter().any(|m| alive.contains(m));
            let want_recovery = if unclean {
                LeaderRecoveryState::Recovering
            } else {
                LeaderRecoveryState::Recovered
            };
            assert_eq!(next.leader_recovery_state, want_recovery);
        }
    }

    #[test]
    fn isr_only_changes_bump_the_partition_epoch_only_since_3_6() {
        let s = state(&[1, 2, 3], &[1, 2, 3], Some(1));
        let shrink = b(&[1, 2]);
        let all = |_: BrokerId| true;
        let v36 = s
            .change(request(Some(&shrink), Election::Clean), all)
            .unwrap();
        assert_eq!(
            (v36.leader, v36.leader_epoch, v36.partition_epoch),
            (Some(BrokerId(1)), LeaderEpoch(5), PartitionEpoch(11))
        );
        let mut old = request(Some(&shrink), Election::Clean);
        old.leader_epoch_bump_on_isr_shrink = true;
        let v35 = s.change(old, all).unwrap();
        assert_eq!(
            (v35.leader_epoch, v35.partition_epoch),
            (LeaderEpoch(6), PartitionEpoch(11))
        );
        // An expansion never bumps the leader epoch, whatever the version.
        let grow = b(&[1, 2, 3]);
        let mut expand = request(Some(&grow), Election::Clean);
        expand.leader_epoch_bump_on_isr_shrink = true;
        let back = v36.change(expand, all).unwrap();
        assert_eq!(
            (back.leader_epoch, back.partition_epoch),
            (LeaderEpoch(5), PartitionEpoch(12))
        );
    }

    #[test]
    fn no_change_writes_nothing() {
        let s = state(&[1, 2], &[1, 2], Some(1));
        assert_eq!(s.change(request(None, Election::Clean), |_| true), None);
        // Preferred election when the preferred replica already leads: ELECTION_NOT_NEEDED.
        assert_eq!(s.change(request(None, Election::Preferred), |_| true), None);
        // Offline with nobody eligible stays offline without epoch churn.
        let offline = state(&[1, 2], &[1], None);
        assert_eq!(
            offline.change(request(None, Election::Unclean), |_| false),
            None
        );
    }

    #[test]
    #[should_panic(expected = "INV-5")]
    fn a_leader_outside_the_isr_is_a_bug() {
        state(&[1, 2], &[2], Some(1)).check();
    }
}
