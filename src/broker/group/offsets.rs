//! A group's committed offsets (rule G-6): OffsetCommit validation against the generation and
//! the member, the offset cache the coordinator answers OffsetFetch from, and expiry after
//! `offsets.retention.minutes` (KIP-211).
//!
//! Invariant: the cache holds only offsets the driver reported as appended to the group's
//! `__consumer_offsets` partition (`apply_offset_commit`), so a new coordinator that replays
//! the partition answers exactly as the old one did. The committed offset is the next offset
//! to read.

use super::classic_group::{ClassicGroup, StoredOffset};
use super::messages::{GroupEvent, OffsetAndMetadata, OffsetCommitRecord, OffsetCommitRequest};
use super::state::GroupState;
use crate::ids::TopicPartition;
use crate::protocol::ErrorCode;
use crate::time::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};

impl ClassicGroup {
    /// Validates an OffsetCommit (Kafka's `ClassicGroup.validateOffsetCommit`) and returns the
    /// record to append. Errors: COORDINATOR_NOT_AVAILABLE (dead group), UNKNOWN_MEMBER_ID,
    /// FENCED_INSTANCE_ID, ILLEGAL_GENERATION (an older or newer generation: the consumer's
    /// `CommitFailedException`), REBALANCE_IN_PROGRESS (the join phase is over but the member
    /// has no assignment yet). An offset commit with generation -1 and no member is accepted only
    /// while the group is Empty (a consumer without group management).
    pub fn offset_commit(
        &self,
        request: &OffsetCommitRequest,
    ) -> Result<OffsetCommitRecord, ErrorCode> {
        self.validate_offset_commit(request)?;
        Ok(OffsetCommitRecord {
            group_id: self.group_id.clone(),
            offsets: request.offsets.clone(),
        })
    }

    /// Validates a TxnOffsetCommit (KIP-447, Kafka's `validateTxnOffsetCommit`): as an
    /// OffsetCommit, but a rebalance in progress does not refuse it (the generation check
    /// fences the old owner), and without a member or generation any group state accepts it
    /// (a producer that sent no group metadata).
    pub fn txn_offset_commit(
        &self,
        request: &OffsetCommitRequest,
    ) -> Result<OffsetCommitRecord, ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        if request.generation_id >= 0
            || !request.member_id.is_empty()
            || request.group_instance_id.is_some()
        {
            self.validate_member(&request.member_id, request.group_instance_id.as_deref())?;
            if request.generation_id != self.generation_id {
                return Err(ErrorCode::IllegalGeneration);
            }
        }
        Ok(OffsetCommitRecord {
            group_id: self.group_id.clone(),
            offsets: request.offsets.clone(),
        })
    }

    fn validate_offset_commit(&self, request: &OffsetCommitRequest) -> Result<(), ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        if request.generation_id < 0 && self.state == GroupState::Empty {
            return Ok(());
        }
        if request.generation_id >= 0
            || !request.member_id.is_empty()
            || request.group_instance_id.is_some()
        {
            self.validate_member(&request.member_id, request.group_instance_id.as_deref())?;
            if request.generation_id != self.generation_id {
                return Err(ErrorCode::IllegalGeneration);
            }
        } else if self.state != GroupState::Empty {
            return Err(ErrorCode::UnknownMemberId);
        }
        if self.state == GroupState::CompletingRebalance {
            return Err(ErrorCode::RebalanceInProgress);
        }
        Ok(())
    }

    /// Applies an offset commit once its record is replicated in `__consumer_offsets`, or
    /// when a coordinator replays the partition. Errs on another group's record (a driver
    /// bug: records are routed by group id).
    pub fn apply_offset_commit(
        &mut self,
        now: SimTime,
        record: &OffsetCommitRecord,
    ) -> Result<(), String> {
        if record.group_id != self.group_id {
            return Err(format!(
                "offset commit record of group {:?} applied to group {:?}",
                record.group_id, self.group_id
            ));
        }
        for (tp, offset) in &record.offsets {
            self.offsets.insert(
                tp.clone(),
                StoredOffset {
                    offset: offset.clone(),
                    stored_at: now,
                },
            );
        }
        Ok(())
    }

    /// A tombstone replayed from the partition: the offset was deleted.
    pub fn remove_offset(&mut self, tp: &TopicPartition) {
        self.offsets.remove(tp);
    }

    /// OffsetFetch: the committed offset of each asked partition (`None`: no offset, Kafka's
    /// -1), or of every partition with one when `partitions` is `None`.
    pub fn offset_fetch(
        &self,
        partitions: Option<&[TopicPartition]>,
    ) -> BTreeMap<TopicPartition, Option<OffsetAndMetadata>> {
        match partitions {
            Some(asked) => asked
                .iter()
                .map(|tp| (tp.clone(), self.offsets.get(tp).map(|s| s.offset.clone())))
                .collect(),
            None => self
                .offsets
                .iter()
                .map(|(tp, s)| (tp.clone(), Some(s.offset.clone())))
                .collect(),
        }
    }

    fn retention(&self) -> SimDuration {
        SimDuration::from_millis(self.config.offsets_retention_minutes.saturating_mul(60_000))
    }

    /// When the next offsets expire: for a group that used group management, all at once,
    /// `offsets.retention.minutes` after it became Empty; for one that never did, each offset
    /// that long after it was stored. A group with members keeps its offsets.
    pub(super) fn offsets_expiry_deadline(&self) -> Option<SimTime> {
        if self.state != GroupState::Empty || self.offsets.is_empty() {
            return None;
        }
        let retention = self.retention();
        if self.protocol_type.is_some() {
            Some(self.state_since.saturating_add(retention))
        } else {
            self.offsets
                .values()
                .map(|s| s.stored_at.saturating_add(retention))
                .min()
        }
    }

    /// Drops expired offsets; an Empty group left with none is deleted (Dead), as Kafka's
    /// periodic cleanup does. (Kafka checks every `offsets.retention.check.interval.ms`; here
    /// expiry happens exactly at the deadline.)
    pub(super) fn expire_offsets(&mut self, now: SimTime) {
        if self.offsets_expiry_deadline().is_none_or(|d| d > now) {
            return;
        }
        let retention = self.retention();
        let whole_group = self.protocol_type.is_some();
        let state_since = self.state_since;
        let expired: BTreeSet<TopicPartition> = self
            .offsets
            .iter()
            .filter(|(_, s)| {
                let from = if whole_group {
                    state_since
                } else {
                    s.stored_at
                };
                from.saturating_add(retention) <= now
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in &expired {
            self.offsets.remove(tp);
        }
        if !expired.is_empty() {
            self.event(
                now,
                GroupEvent::OffsetsExpired {
                    partitions: expired,
                },
            );
        }
        if self.offsets.is_empty() && self.members.is_empty() && self.state == GroupState::Empty {
            self.transition(now, GroupState::Dead);
        }
    }
}
