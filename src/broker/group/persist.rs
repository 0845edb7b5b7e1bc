//! A group's membership to and from its `__consumer_offsets` record (`records::GroupMetadata`):
//! the coordinator writes it when a rebalance completes and when the group empties, and a new
//! coordinator rebuilds the group from the last one, keeping members, generation and
//! assignments, so members that reach the new coordinator carry on without a rebalance (as
//! Kafka's `GroupMetadataManager.loadGroup`).
//!
//! Invariant: a rebuilt group is Stable when it has members, Empty otherwise; every member's
//! session starts again at the load (Kafka reschedules their heartbeats then).

use super::classic_group::{ClassicGroup, Member};
use super::config::GroupConfig;
use super::messages::JoinGroupProtocol;
use super::records::{GroupMetadata, MemberMetadata};
use super::state::GroupState;
use crate::ids::TopicPartition;
use crate::time::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};

impl ClassicGroup {
    /// The group's membership as its record stores it, or `None` for a group that never used
    /// group management (nothing to store).
    pub fn metadata(&self, now: SimTime) -> Option<GroupMetadata> {
        self.metadata_with_assignment(now, None)
    }

    /// The group's record with `assignment` in place of the members' current assignments
    /// (the leader's assignment, stored before it takes effect, as Kafka's
    /// `newGroupMetadataRecord(group, assignment, ..)` in `classicGroupSyncToLeader`).
    pub fn metadata_with_assignment(
        &self,
        now: SimTime,
        assignment: Option<&BTreeMap<String, BTreeSet<TopicPartition>>>,
    ) -> Option<GroupMetadata> {
        let protocol_type = self.protocol_type.clone()?;
        let protocol = self.protocol_name.clone();
        let members = self
            .members
            .values()
            .map(|m| MemberMetadata {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: format!("/{}", m.client_id),
                rebalance_timeout_ms: i32::try_from(m.rebalance_timeout_ms).unwrap_or(i32::MAX),
                session_timeout_ms: i32::try_from(m.session_timeout_ms).unwrap_or(i32::MAX),
                subscription: protocol
                    .as_deref()
                    .and_then(|p| m.protocols.iter().find(|x| x.name == p))
                    .map(|x| x.metadata.clone())
                    .unwrap_or_default(),
                assignment: match assignment {
                    Some(a) => a.get(&m.member_id).cloned().unwrap_or_default(),
                    None => m.assignment.clone(),
                },
            })
            .collect();
        Some(GroupMetadata {
            protocol_type,
            generation: self.generation_id,
            protocol,
            leader: self.leader.clone(),
            current_state_timestamp: now.as_millis(),
            members,
        })
    }

    /// Moves the committed offsets of `from` (the same group, rebuilt from an older record or
    /// created by offset records read before its metadata) into this one.
    pub fn take_offsets_from(&mut self, from: ClassicGroup) {
        for (tp, offset) in from.offsets {
            self.offsets.entry(tp).or_insert(offset);
        }
    }

    /// Rebuilds a group from its last record; offsets are applied separately.
    pub fn from_metadata(
        group_id: &str,
        config: GroupConfig,
        metadata: &GroupMetadata,
        now: SimTime,
    ) -> ClassicGroup {
        let mut group = ClassicGroup::new(group_id, config, now);
        group.protocol_type = Some(metadata.protocol_type.clone());
        group.protocol_name = metadata.protocol.clone();
        group.generation_id = metadata.generation;
        group.leader = metadata.leader.clone();
        for m in &metadata.members {
            let session_timeout_ms = u64::try_from(m.session_timeout_ms).unwrap_or(0);
            let protocols = metadata
                .protocol
                .iter()
                .map(|name| JoinGroupProtocol {
                    name: name.clone(),
                    metadata: m.subscription.clone(),
                })
                .collect();
            group.members.insert(
                m.member_id.clone(),
                Member {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    session_timeout_ms,
                    rebalance_timeout_ms: u64::try_from(m.rebalance_timeout_ms).unwrap_or(0),
                    protocols,
                    assignment: m.assignment.clone(),
                    parked_join: None,
                    parked_sync: None,
                    session_deadline: now
                        .saturating_add(SimDuration::from_millis(session_timeout_ms)),
                },
            );
            if let Some(instance) = &m.group_instance_id {
                group
                    .static_members
                    .insert(instance.clone(), m.member_id.clone());
            }
            // Member ids are `<client.id>-<n>`: new ones continue after the highest.
            if let Some(n) = m
                .member_id
                .rsplit_once('-')
                .and_then(|(_, n)| n.parse::<u64>().ok())
            {
                group.next_member_number = group.next_member_number.max(n.saturating_add(1));
            }
        }
        group.state = if group.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        group
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::group::messages::{GroupOutput, HeartbeatRequest};
    use crate::broker::messages::RequestToken;
    use crate::ids::{PartitionIndex, TopicPartition};
    use crate::protocol::ErrorCode;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_rebuilt_group_keeps_members_and_answers_their_heartbeats() {
        let tp = TopicPartition {
            topic: "t".into(),
            partition: PartitionIndex(0),
        };
        let md = GroupMetadata {
            protocol_type: "consumer".into(),
            generation: 3,
            protocol: Some("range".into()),
            leader: Some("consumer-0-4".into()),
            current_state_timestamp: 0,
            members: vec![MemberMetadata {
                member_id: "consumer-0-4".into(),
                group_instance_id: None,
                client_id: "consumer-0".into(),
                client_host: "/consumer-0".into(),
                rebalance_timeout_ms: 10_000,
                session_timeout_ms: 10_000,
                subscription: Default::default(),
                assignment: [tp.clone()].into_iter().collect(),
            }],
        };
        let now = SimTime::from_millis(5_000);
        let mut g = ClassicGroup::from_metadata("g", GroupConfig::default(), &md, now);
        assert_eq!(g.state(), GroupState::Stable);
        assert_eq!(g.generation_id(), 3);
        assert_eq!(g.metadata(now).expect("stored").members, md.members);
        g.heartbeat(
            now,
            HeartbeatRequest {
                token: RequestToken(1),
                member_id: "consumer-0-4".into(),
                generation_id: 3,
                group_instance_id: None,
            },
        );
        assert!(matches!(
            g.take_outputs().as_slice(),
            [GroupOutput::Heartbeat {
                error: ErrorCode::None,
                ..
            }]
        ));
        // Its session runs from its last heartbeat: silent for session.timeout.ms, removed.
        g.handle_timeout(SimTime::from_millis(14_999));
        assert_eq!(g.state(), GroupState::Stable);
        g.handle_timeout(SimTime::from_millis(15_000));
        assert!(g.members().is_empty());
        assert_ne!(g.state(), GroupState::Stable);
    }
}
