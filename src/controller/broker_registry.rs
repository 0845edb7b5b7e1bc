//! The controller's view of brokers: one registration per broker id (its incarnation, broker
//! epoch and fenced flag) and its heartbeat session (Kafka's `ClusterControlManager` plus
//! `BrokerHeartbeatManager`).
//!
//! Invariants: a broker's epoch only grows across registrations, so an old incarnation's epoch
//! never matches again (KIP-841); a session is valid while the broker is unfenced and
//! `last_contact + broker.session.timeout.ms >= now` (Kafka's `hasValidSession`), so a broker is
//! fenced strictly after the timeout, never at it.

use crate::ids::BrokerId;
use crate::protocol::BrokerEpoch;
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A broker process's incarnation id (Kafka's `incarnationId`, a UUID drawn at start-up; here a
/// number the driver draws from the seed). A restarted broker has a new one.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct IncarnationId(pub u64);

/// A position in the controller's metadata log (`__cluster_metadata`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct MetadataOffset(pub i64);

/// One broker's registration and session, as the controller holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    pub broker: BrokerId,
    pub incarnation: IncarnationId,
    pub broker_epoch: BrokerEpoch,
    /// Fenced brokers lead nothing, join no ISR and are not placed on by new topics.
    pub fenced: bool,
    /// The last registration or heartbeat the controller received.
    pub last_contact: SimTime,
    /// The offset of the registration record; the broker is caught up (and may be unfenced) once
    /// its heartbeat reports having applied metadata at least this far.
    pub registration_offset: MetadataOffset,
}

/// Every registered broker, by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistry {
    brokers: BTreeMap<BrokerId, BrokerRegistration>,
}

impl BrokerRegistry {
    pub fn get(&self, broker: BrokerId) -> Option<&BrokerRegistration> {
        self.brokers.get(&broker)
    }

    pub fn get_mut(&mut self, broker: BrokerId) -> Option<&mut BrokerRegistration> {
        self.brokers.get_mut(&broker)
    }

    pub fn iter(&self) -> impl Iterator<Item = &BrokerRegistration> {
        self.brokers.values()
    }

    /// Replaces (or adds) the registration for `registration.broker`. The new epoch must be
    /// newer than any the id had: an older one would revive a zombie's epoch.
    pub fn insert(&mut self, registration: BrokerRegistration) {
        if let Some(old) = self.brokers.get(&registration.broker) {
            assert!(
                registration.broker_epoch > old.broker_epoch,
                "broker {} epoch went from {} to {}",
                registration.broker,
                old.broker_epoch,
                registration.broker_epoch
            );
        }
        self.brokers.insert(registration.broker, registration);
    }

    /// Kafka's `hasValidSession`: unfenced and heard from within the session timeout.
    pub fn has_valid_session(&self, broker: BrokerId, now: SimTime, timeout: SimDuration) -> bool {
        self.get(broker)
            .is_some_and(|r| !r.fenced && r.last_contact.saturating_add(timeout) >= now)
    }

    /// Registered and unfenced: may lead and may be in an ISR.
    pub fn is_unfenced(&self, broker: BrokerId) -> bool {
        self.get(broker).is_some_and(|r| !r.fenced)
    }

    /// Unfenced broker ids in id order: the brokers new replicas may be placed on.
    pub fn unfenced(&self) -> Vec<BrokerId> {
        self.iter()
            .filter(|r| !r.fenced)
            .map(|r| r.broker)
            .collect()
    }

    /// Unfenced brokers whose session has expired at `now`, oldest contact first (the order in
    /// which Kafka's controller fences them, one per event).
    pub fn expired_sessions(&self, now: SimTime, timeout: SimDuration) -> Vec<BrokerId> {
        let mut expired: Vec<&BrokerRegistration> = self
            .iter()
            .filter(|r| !r.fenced && r.last_contact.saturating_add(timeout) < now)
            .collect();
        expired.sort_by_key(|r| (r.last_contact, r.broker));
        expired.into_iter().map(|r| r.broker).collect()
    }

    /// The first instant at which some unfenced broker's session will have expired, if any:
    /// one nanosecond after `last_contact + timeout`.
    pub fn next_session_expiry(&self, timeout: SimDuration) -> Option<SimTime> {
        self.iter()
            .filter(|r| !r.fenced)
            .map(|r| {
                r.last_contact
                    .saturating_add(timeout)
                    .saturating_add(SimDuration(1))
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn registration(id: u32, epoch: i64, fenced: bool, last_ms: u64) -> BrokerRegistration {
        BrokerRegistration {
            broker: BrokerId(id),
            incarnation: IncarnationId(u64::from(id)),
            broker_epoch: BrokerEpoch(epoch),
            fenced,
            last_contact: SimTime::from_millis(last_ms),
            registration_offset: MetadataOffset(epoch),
        }
    }

    #[test]
    fn sessions_expire_strictly_after_the_timeout() {
        let timeout = SimDuration::from_millis(9_000);
        let mut reg = BrokerRegistry::default();
        reg.insert(registration(1, 1, false, 1_000));
        reg.insert(registration(2, 2, false, 500));
        reg.insert(registration(3, 3, true, 0));
        let at = |ms: u64| SimTime::from_millis(ms);
        // (now, valid session for 1?, expired list).
        let cases: &[(SimTime, bool, &[u32])] = &[
            (at(9_500), true, &[]),
            (at(9_500).saturating_add(SimDuration(1)), true, &[2]),
            (at(10_000), true, &[2]),
            (at(10_000).saturating_add(SimDuration(1)), false, &[2, 1]),
        ];
        for &(now, valid, expired) in cases {
            assert_eq!(
                reg.has_valid_session(BrokerId(1), now, timeout),
                valid,
                "{now}"
            );
            let want: Vec<BrokerId> = expired.iter().copied().map(BrokerId).collect();
            assert_eq!(reg.expired_sessions(now, timeout), want, "{now}");
        }
        // Broker 3 is already fenced: it has no session to expire.
        assert!(!reg.has_valid_session(BrokerId(3), at(0), timeout));
        assert_eq!(
            reg.next_session_expiry(timeout),
            Some(at(9_500).saturating_add(SimDuration(1)))
        );
        assert_eq!(reg.unfenced(), vec![BrokerId(1), BrokerId(2)]);
    }

    #[test]
    #[should_panic(expected = "epoch went from")]
    fn an_older_epoch_never_replaces_a_newer_one() {
        let mut reg = BrokerRegistry::default();
        reg.insert(registration(1, 5, false, 0));
        reg.insert(registration(1, 4, true, 0));
    }
}
