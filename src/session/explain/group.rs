//! Explanations of consumer group lines (section 4): the group coordinator on a broker
//! (loading its `__consumer_offsets` partition, state changes, members joining and leaving,
//! offset commits stored or refused), a member's side of a rebalance (FindCoordinator,
//! JoinGroup, the leader's assignment, the listener's revoked, assigned and lost callbacks),
//! its offset commits and its poll deadline, and the nemesis' consumer actions.

use super::*;

fn group_draft(severity: Severity, what: String, why: &str) -> Draft {
    draft(severity, Topic::Group, what).why(why.to_owned())
}

/// `[t-0, t-2]` -> the partitions' refs.
fn partition_list_refs(list: &str) -> Vec<Ref> {
    list.trim_start_matches('[')
        .trim_end_matches(']')
        .split(", ")
        .filter_map(|s| parse_tp(s.split('=').next().unwrap_or(s)))
        .map(|tp| partition_ref(&tp))
        .collect()
}

fn coordinator_partition_phrase(sim: &ClusterSim) -> String {
    format!(
        "offsets.topic.num.partitions = {}",
        sim.scenario().broker.offsets_topic_num_partitions
    )
}

pub(super) fn broker_group_line(sim: &ClusterSim, b: u32, text: &str) -> Option<Draft> {
    let me = Ref::Broker(b);
    if let Some([tp]) = capture(
        text,
        "group coordinator: loading {} (COORDINATOR_LOAD_IN_PROGRESS until it is read)",
    ) {
        let tp = parse_tp(tp)?;
        return Some(
            group_draft(
                Severity::Notice,
                format!("Broker {b} became the group coordinator for {tp} and loads it"),
                "The leader of a __consumer_offsets partition coordinates the groups hashed to it (G-1). Until it has read the partition's committed offsets it answers COORDINATOR_LOAD_IN_PROGRESS, and clients retry.",
            )
            .refs([me, partition_ref(&tp)]),
        );
    }
    if let Some([tp]) = capture(
        text,
        "group coordinator: unloaded {} (no longer its leader; NOT_COORDINATOR from now on)",
    ) {
        let tp = parse_tp(tp)?;
        return Some(
            group_draft(
                Severity::Notice,
                format!("Broker {b} no longer coordinates the groups of {tp}"),
                "It stopped leading the partition. Requests still sent to it get NOT_COORDINATOR; members find the new leader with FindCoordinator.",
            )
            .refs([me, partition_ref(&tp)]),
        );
    }
    if let Some([tp, n, end]) = capture(
        text,
        "group coordinator: loaded {}: {} offset commit record(s) read up to offset {}",
    ) {
        let tp = parse_tp(tp)?;
        let (n, end): (u64, u64) = (num(n)?, num(end)?);
        return Some(
            group_draft(
                Severity::Notice,
                format!("Broker {b} finished loading {tp}: {n} committed offset record(s)"),
                "The committed offsets of its groups are whatever the partition's log holds, so a new coordinator answers OffsetFetch exactly as the old one did. Each group's last stored metadata record comes back with it too: its generation, members and assignment, so members carry on without rejoining.",
            )
            .refs([me, partition_ref(&tp), offset_ref(&tp, end.saturating_sub(1))]),
        );
    }
    if let Some([tp, groups]) = capture(
        text,
        "group coordinator: {}: members restored from the log: {}",
    ) {
        let tp = parse_tp(tp)?;
        return Some(
            group_draft(
                Severity::Notice,
                format!("Broker {b} restored the members of {groups} from {tp}"),
                "The coordinator writes a group's membership (generation, leader, each member's assignment) to __consumer_offsets when a rebalance completes; a new coordinator reads it back, so members carry on without rejoining.",
            )
            .refs([me, partition_ref(&tp)]),
        );
    }
    if let Some([tp, code]) = capture(text, "{}: group metadata not stored: {}") {
        let tp = parse_tp(tp)?;
        return Some(
            group_draft(
                Severity::Warning,
                format!("Broker {b} could not store a group's membership in {tp} ({code})"),
                "A coordinator that takes over later finds an older membership; members of a newer generation get ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID and rejoin.",
            )
            .refs([me, partition_ref(&tp)]),
        );
    }
    if let Some([tp, offset, error]) = capture(text, "group coordinator: {} offset {}: {}") {
        let tp = parse_tp(tp)?;
        return Some(
            group_draft(
                Severity::Error,
                format!("Broker {b} could not read a record of {tp} at offset {offset}: {error}"),
                "A record of __consumer_offsets did not decode; the coordinator skips it.",
            )
            .refs([me, partition_ref(&tp)]),
        );
    }
    let (group, rest) = text.strip_prefix("group ")?.split_once(": ")?;
    if rest == "its metadata does not fit Kafka's record schema; not stored" {
        return Some(
            group_draft(
                Severity::Error,
                format!("Group {group}: membership not stored (too large for the record schema)"),
                "A later coordinator will not know the members; they rejoin.",
            )
            .refs([me]),
        );
    }
    if let Some([from, to, generation]) = capture(rest, "{} -> {} (generation {})") {
        let why = match to {
            "PreparingRebalance" => "A member joined, left or changed: the coordinator waits for every member to send JoinGroup (up to the rebalance timeout); heartbeats answer REBALANCE_IN_PROGRESS meanwhile.",
            "CompletingRebalance" => "Every member rejoined: the generation is bumped, the leader member gets everyone's subscriptions and computes the assignment, the others wait in SyncGroup.",
            "Stable" => "The leader's assignment arrived in SyncGroup and every member got its share.",
            "Empty" => "No member left; the group keeps its committed offsets until offsets.retention.minutes.",
            "Dead" => "The group is gone from this coordinator (unloaded, or its offsets expired).",
            _ => "The classic group state machine (G-2).",
        };
        return Some(
            group_draft(
                if to == "Stable" {
                    Severity::Notice
                } else {
                    Severity::Info
                },
                format!("Group {group}: {from} -> {to} (generation {generation})"),
                why,
            )
            .refs([me]),
        );
    }
    if let Some([member, instance]) = capture(rest, "member {} joined (group.instance.id {})") {
        return Some(
            group_draft(
                Severity::Info,
                format!("Group {group}: static member {member} ({instance}) joined"),
                "A static member (KIP-345) keeps its group.instance.id across restarts.",
            )
            .refs([me]),
        );
    }
    if let Some([member]) = capture(rest, "member {} joined") {
        return Some(
            group_draft(
                Severity::Info,
                format!("Group {group}: member {member} joined"),
                &format!(
                    "A new member makes the group rebalance; an empty group first waits group.initial.rebalance.delay.ms ({} ms) for more members.",
                    sim.scenario().broker.group_initial_rebalance_delay_ms
                ),
            )
            .refs([me]),
        );
    }
    if let Some([member, reason]) = capture(rest, "member {} removed ({})") {
        let severity = if reason == "it sent LeaveGroup" {
            Severity::Notice
        } else {
            Severity::Warning
        };
        return Some(
            group_draft(
                severity,
                format!("Group {group}: member {member} removed: {reason}"),
                "Its partitions go to the remaining members in the next rebalance. A member removed without leaving (session.timeout.ms) may still believe it owns them until it hears UNKNOWN_MEMBER_ID.",
            )
            .refs([me]),
        );
    }
    if let Some([instance, new, old]) = capture(
        rest,
        "static member {} rejoined as {}; {} is fenced (FENCED_INSTANCE_ID), no rebalance",
    ) {
        return Some(
            group_draft(
                Severity::Notice,
                format!("Group {group}: static member {instance} came back as {new}; no rebalance"),
                &format!("KIP-345: a static member restarting within session.timeout.ms gets its old assignment back without a rebalance; the old member id {old} is fenced with FENCED_INSTANCE_ID."),
            )
            .refs([me]),
        );
    }
    if let Some([list]) = capture(rest, "offsets expired after offsets.retention.minutes ({})") {
        return Some(
            group_draft(
                Severity::Notice,
                format!("Group {group}: committed offsets expired"),
                "An empty group's offsets are deleted offsets.retention.minutes after it became empty (KIP-211).",
            )
            .refs(std::iter::once(me).chain(partition_list_refs(list))),
        );
    }
    if let Some([member, generation, code]) = capture(
        rest,
        "offset commit from member {} (generation {}) refused with {}",
    ) {
        let why = match code {
            "ILLEGAL_GENERATION" => "Only the current generation may commit offsets (G-6): the member missed a rebalance, so its partitions may belong to another member now. The client raises CommitFailedException.",
            "UNKNOWN_MEMBER_ID" => "The coordinator no longer knows this member (it left or its session expired): CommitFailedException.",
            "REBALANCE_IN_PROGRESS" => "The group is between JoinGroup and SyncGroup: RebalanceInProgressException; the member commits again after rejoining.",
            _ => "The coordinator refused the offset commit.",
        };
        return Some(
            group_draft(
                Severity::Warning,
                format!("Group {group}: offset commit from {member} (generation {generation}) refused: {code}"),
                why,
            )
            .refs([me]),
        );
    }
    if let Some([list]) = capture(rest, "offset commit stored ({})") {
        return Some(
            group_draft(
                Severity::Info,
                format!("Group {group}: committed offsets stored ({list})"),
                "The offset commit is in __consumer_offsets on every in-sync replica (acks=all), so a new coordinator finds it. A committed offset is the next offset to read (G-6).",
            )
            .refs(std::iter::once(me).chain(partition_list_refs(&format!("[{list}]")))),
        );
    }
    if let Some([generation]) = capture(
        rest,
        "metadata record of generation {} stored; SyncGroup answered with the assignment",
    ) {
        return Some(
            group_draft(
                Severity::Info,
                format!("Group {group}: generation {generation} is stored; every member gets its assignment"),
                "The coordinator answers SyncGroup only once the group's metadata record, with the leader's assignment, is on every in-sync replica of the __consumer_offsets partition (GroupMetadataManager.classicGroupSyncToLeader). A coordinator that fails over now hands its successor this generation, not an older one.",
            )
            .refs([me]),
        );
    }
    if let Some([generation, answer]) = capture(
        rest,
        "metadata record of generation {} not stored; SyncGroup answered {}, rebalancing",
    ) {
        return Some(
            group_draft(
                Severity::Warning,
                format!("Group {group}: generation {generation} could not be stored; members get {answer} and rejoin"),
                "Without its metadata record no successor would know this generation, so the coordinator hands out no assignment: every member's SyncGroup gets the error and the group prepares a new rebalance (GroupMetadataManager.resetAndPropagateAssignmentWithError).",
            )
            .refs([me]),
        );
    }
    if let Some([generation, outcome, state, now_generation]) = capture(
        rest,
        "metadata record of generation {} completed ({}) after the group moved on ({}, generation {}); ignored",
    ) {
        return Some(
            group_draft(
                Severity::Info,
                format!("Group {group}: the record of generation {generation} finished ({outcome}) after the group moved to generation {now_generation} ({state})"),
                "The group rebalanced while the record was being replicated, so its outcome no longer decides anything: Kafka's append callback acts only if the group is still completing that generation.",
            )
            .refs([me]),
        );
    }
    if let Some([member]) = capture(
        rest,
        "metadata record with static member {} stored; JoinGroup answered",
    ) {
        return Some(
            group_draft(
                Severity::Info,
                format!("Group {group}: static member {member} is stored; its JoinGroup is answered"),
                "A static member that rejoins with a new member id replaces the old one without a rebalance, once the record naming the new id is replicated (GroupMetadataManager.updateStaticMemberThenRebalanceOrCompleteJoin).",
            )
            .refs([me]),
        );
    }
    if let Some([member, old, answer]) = capture(
        rest,
        "metadata record with static member {} not stored; reverted to {}, JoinGroup answered {}",
    ) {
        return Some(
            group_draft(
                Severity::Warning,
                format!("Group {group}: static member {member} could not be stored; {old} keeps its place and the JoinGroup gets {answer}"),
                "The replacement is undone when its record does not replicate: the old member id stays, and the new process retries its JoinGroup.",
            )
            .refs([me]),
        );
    }
    if let Some([append]) = capture(rest, "group metadata record failed to replicate ({})") {
        return Some(
            group_draft(
                Severity::Warning,
                format!("Group {group}: a group metadata record did not replicate ({append})"),
                "The record must reach every in-sync replica of the __consumer_offsets partition within offsets.commit.timeout.ms; the waiting members are answered with the mapped error (COORDINATOR_NOT_AVAILABLE or NOT_COORDINATOR).",
            )
            .refs([me]),
        );
    }
    if let Some([append, answer]) =
        capture(rest, "offset commit failed to replicate ({}): answered {}")
    {
        return Some(
            group_draft(
                Severity::Warning,
                format!("Group {group}: an offset commit did not replicate ({append}); answered {answer}"),
                "An offset commit must reach every in-sync replica of the __consumer_offsets partition within offsets.commit.timeout.ms; otherwise the member retries (commitSync) or gives up (commitAsync).",
            )
            .refs([me]),
        );
    }
    None
}

pub(super) fn consumer_group_line(sim: &ClusterSim, c: u32, text: &str) -> Option<Draft> {
    let me = Ref::Consumer(c);
    let spec = sim.consumers().get(c as usize).map(|c| c.spec().clone());
    let process = |severity: Severity, what: String, why: &str| {
        Some(group_draft(severity, what, why).refs([me.clone()]))
    };
    // The process faults as the consumer lives them (a stall, a GC pause, a kill): fault lines,
    // which a drill hides, since they would name its answer.
    let fault = |severity: Severity, what: String, why: &str| {
        Some(
            draft(severity, Topic::Fault, what)
                .why(why.to_owned())
                .refs([me.clone()]),
        )
    };
    match text {
        "resumes after the pause; reads what arrived meanwhile" => {
            return fault(
                Severity::Notice,
                format!("Consumer {c} runs again after its pause"),
                "Its heartbeats were not sent while it was stopped; if the pause outlasted session.timeout.ms the coordinator removed it and its next heartbeat gets UNKNOWN_MEMBER_ID.",
            )
        }
        "the poll loop calls poll() again after the stall" => {
            return fault(
                Severity::Notice,
                format!("Consumer {c}'s application calls poll() again"),
                "If the stall outlasted max.poll.interval.ms, the member already left the group and must rejoin; what it processed meanwhile cannot be committed.",
            )
        }
        "closed" => {
            return process(
                Severity::Notice,
                format!("Consumer {c} closed"),
                "close() commits the positions (with auto-commit) and sends LeaveGroup, so the group rebalances at once instead of after session.timeout.ms.",
            )
        }
        "crash (process killed)" => {
            return fault(
                Severity::Warning,
                format!("Consumer {c}'s process was killed"),
                "No LeaveGroup and no last offset commit: the coordinator notices after session.timeout.ms, and the next owner of its partitions starts from the last committed offsets, reading again what was processed since.",
            )
        }
        "commitSync: no group.id, nothing to commit to" => {
            return process(
                Severity::Info,
                format!("Consumer {c} has no group to commit offsets to"),
                "Offsets are committed to a group's coordinator; a consumer without group.id keeps its positions only in memory.",
            )
        }
        _ => {}
    }
    if let Some([ms]) = capture(
        text,
        "the application's poll loop stalls for {} ms (the heartbeat thread keeps running)",
    ) {
        let max_poll = spec.as_ref().map_or(300_000, |s| s.max_poll_interval_ms);
        return fault(
            Severity::Warning,
            format!("Consumer {c}'s poll loop stalls for {ms} ms"),
            &format!("Heartbeats go on from the background thread, so the session stays alive; but if poll() is not called within max.poll.interval.ms ({max_poll} ms) the member leaves the group (G-3)."),
        );
    }
    if let Some([ms]) = capture(
        text,
        "the process stops for {} ms (GC pause): no polls and no heartbeats",
    ) {
        let session = spec.as_ref().map_or(45_000, |s| s.session_timeout_ms);
        return fault(
            Severity::Warning,
            format!("Consumer {c} stops for {ms} ms (GC pause)"),
            &format!("No heartbeats: after session.timeout.ms ({session} ms) the coordinator removes it and hands its partitions to others, while it still believes it owns them."),
        );
    }
    if let Some([tp, offset]) = capture(text, "seek {} to offset {}") {
        let tp = parse_tp(tp)?;
        return Some(
            group_draft(
                Severity::Notice,
                format!("Consumer {c} seeks {tp} to offset {offset}"),
                "seek() moves the position only; the committed offset stays until the next offset commit (G-8).",
            )
            .refs([me, partition_ref(&tp)]),
        );
    }
    if let Some([tp, offset]) = capture(
        text,
        "seek {} to {}: not assigned to this consumer (IllegalStateException)",
    ) {
        let tp = parse_tp(tp)?;
        return Some(
            group_draft(
                Severity::Warning,
                format!("Consumer {c} cannot seek {tp} to {offset}: not assigned to it"),
                "A consumer can seek only partitions it owns now (IllegalStateException).",
            )
            .refs([me, partition_ref(&tp)]),
        );
    }
    let (group, rest) = text.strip_prefix("group ")?.split_once(": ")?;
    let g = |severity: Severity, what: String, why: &str| {
        Some(group_draft(severity, what, why).refs([me.clone()]))
    };
    if let Some([b]) = capture(rest, "coordinator is broker {}") {
        let b: u32 = num(b)?;
        return Some(
            group_draft(
                Severity::Info,
                format!("Consumer {c}: group {group}'s coordinator is broker {b}"),
                &format!("FindCoordinator: the coordinator is the leader of __consumer_offsets partition abs(hashCode(\"{group}\")) % {} (G-1).", coordinator_partition_phrase(sim)),
            )
            .refs([me, Ref::Broker(b)]),
        );
    }
    if let Some([code]) = capture(rest, "FindCoordinator: {}; retry after retry.backoff.ms") {
        return g(
            Severity::Notice,
            format!("Consumer {c}: no coordinator for group {group} yet ({code})"),
            "The group's __consumer_offsets partition has no leader the broker knows of (it is being created, or its leader died); the consumer retries after retry.backoff.ms.",
        );
    }
    if let Some([code, b]) = capture(
        rest,
        "{}: marking coordinator {} unknown; FindCoordinator again",
    ) {
        return g(
            Severity::Warning,
            format!("Consumer {c}: lost group {group}'s coordinator (broker {b}, {code})"),
            "NOT_COORDINATOR or a dropped connection means the coordinator moved or died; the member asks any broker with FindCoordinator and carries on with the new one.",
        );
    }
    if let Some([b]) = capture(
        rest,
        "no heartbeat answer from coordinator {}; marking it unknown",
    ) {
        return g(
            Severity::Warning,
            format!("Consumer {c}: coordinator {b} of group {group} does not answer heartbeats"),
            "The member looks for the coordinator again; if it cannot heartbeat within session.timeout.ms the coordinator removes it.",
        );
    }
    if let Some([request]) = capture(
        rest,
        "{} got no answer; marking the coordinator unknown and rejoining",
    ) {
        return g(
            Severity::Warning,
            format!("Consumer {c}: {request} to group {group}'s coordinator got no answer"),
            "The member gives up on the request, finds the coordinator again and rejoins.",
        );
    }
    if let Some([ms, member]) = capture(
        rest,
        "consumer poll timeout has expired: poll() was not called within max.poll.interval.ms ({} ms); member {} sends LeaveGroup",
    ) {
        return g(
            Severity::Warning,
            format!("Consumer {c} missed its poll deadline ({ms} ms) and leaves group {group} as {member}"),
            "max.poll.interval.ms bounds the time between poll() calls; a dynamic member that misses it sends LeaveGroup from its heartbeat thread (G-3), the group rebalances, and its partitions go to other members, which start from the last committed offsets.",
        );
    }
    if let Some([ms, instance]) = capture(
        rest,
        "consumer poll timeout has expired (max.poll.interval.ms {} ms); static member {} stops heartbeating and waits for session.timeout.ms",
    ) {
        return g(
            Severity::Warning,
            format!("Static member {instance} (consumer {c}) missed its poll deadline ({ms} ms)"),
            "A static member never sends LeaveGroup (KIP-345): it stops heartbeating, and the coordinator removes it only after session.timeout.ms.",
        );
    }
    if rest.starts_with("the offset commit after the stalled poll fails: CommitFailedException") {
        return g(
            Severity::Error,
            format!("Consumer {c}: committing what it processed during the stall fails (CommitFailedException)"),
            "It left group {group} at the poll deadline, so the coordinator refuses its offsets: the member that took its partitions starts from the last committed offsets and processes those records again (D11).",
        );
    }
    if let Some([kind, list, generation]) = capture(rest, "{} of {} (generation {})") {
        let why = match kind {
            "auto-commit" => "enable.auto.commit: within poll(), before fetching, the consumer commits its positions every auto.commit.interval.ms, asynchronously. Positions include what earlier polls returned, so a crash rereads at most one interval's records (G-7).",
            "offset commit before rejoining" => "Before it rejoins (onJoinPrepare) an auto-committing consumer commits its positions synchronously, so the next owner of a partition starts where it stopped.",
            "commitSync" => "The application commits its positions and waits for the answer, retrying retriable errors.",
            "commitAsync" => "The application commits its positions without waiting and without retrying.",
            _ => "An offset commit.",
        };
        return Some(
            group_draft(
                Severity::Info,
                format!("Consumer {c}: {kind} to group {group} ({list}, generation {generation})"),
                why,
            )
            .refs(std::iter::once(me.clone()).chain(partition_list_refs(&format!("[{list}]")))),
        );
    }
    if rest == "commitSync: no positions to commit" {
        return g(
            Severity::Info,
            format!("Consumer {c}: nothing to commit to group {group}"),
            "It owns no partition with a position yet.",
        );
    }
    if let Some([b, who, owns]) = capture(rest, "JoinGroup to coordinator {} as {} (owns {})") {
        let b: u32 = num(b)?;
        let cooperative = spec.as_ref().is_some_and(|s| {
            s.partition_assignment_strategy
                .iter()
                .all(|a| a == "cooperative-sticky")
        });
        let why = if cooperative {
            "Cooperative protocol (KIP-429): the member keeps fetching what it owns while the group rebalances, and reports it in its subscription."
        } else {
            "Eager protocol: the member revoked everything before rejoining, so the group reads nothing until SyncGroup hands out the new assignment (stop the world)."
        };
        return Some(
            group_draft(
                Severity::Info,
                format!("Consumer {c} sends JoinGroup to broker {b} for group {group} as {who} (owns {owns})"),
                why,
            )
            .refs(std::iter::once(me).chain([Ref::Broker(b)]).chain(partition_list_refs(owns))),
        );
    }
    if let Some([member]) = capture(rest, "MEMBER_ID_REQUIRED: rejoin as {}") {
        return g(
            Severity::Info,
            format!("Consumer {c} got its member id {member} and rejoins group {group}"),
            "KIP-394: a new member's first JoinGroup is answered MEMBER_ID_REQUIRED with an id, so the coordinator never parks requests from members it cannot name.",
        );
    }
    if rest == "JoinGroup: COORDINATOR_LOAD_IN_PROGRESS; retry after retry.backoff.ms" {
        return g(
            Severity::Notice,
            format!("Consumer {c}: group {group}'s new coordinator is still loading"),
            "The coordinator reads its __consumer_offsets partition before serving it; the member retries after retry.backoff.ms.",
        );
    }
    if let Some([code]) = capture(rest, "JoinGroup failed with {}; rejoin") {
        return g(
            Severity::Warning,
            format!("Consumer {c}: JoinGroup to group {group} failed ({code})"),
            "The member tries again.",
        );
    }
    if let Some([generation, assignor, n, summary]) = capture(
        rest,
        "leader of generation {} runs the {} assignor over {} member(s): {}",
    ) {
        return g(
            Severity::Notice,
            format!("Consumer {c} leads generation {generation} of group {group} and assigns: {summary}"),
            &format!("The coordinator picks one member as leader and sends it all {n} subscriptions; it runs {assignor} (G-5) and hands the result to the coordinator in SyncGroup. Cooperative-sticky leaves out partitions that must move until their owner has revoked them."),
        );
    }
    if let Some([generation, member, leader]) =
        capture(rest, "joined generation {} as {} (leader {})")
    {
        return g(
            Severity::Info,
            format!("Consumer {c} joined generation {generation} of group {group} as {member}"),
            &format!("It waits in SyncGroup for the leader ({leader}) to assign partitions."),
        );
    }
    if rest == "SyncGroup: REBALANCE_IN_PROGRESS; rejoin" {
        return g(
            Severity::Notice,
            format!("Consumer {c}: group {group} started another rebalance; it rejoins"),
            "A member changed while this rebalance was completing.",
        );
    }
    if let Some([added, generation, owns]) =
        capture(rest, "onPartitionsAssigned({}) in generation {}; owns {}")
    {
        return Some(
            group_draft(
                Severity::Notice,
                format!("Consumer {c} got {added} in generation {generation} of group {group}; it owns {owns}"),
                "onPartitionsAssigned runs once per completed rebalance, even with nothing new. A new partition starts at the group's committed offset, or per auto.offset.reset when there is none.",
            )
            .refs(std::iter::once(me).chain(partition_list_refs(owns))),
        );
    }
    for (callback, severity, lost) in [
        ("onPartitionsRevoked", Severity::Notice, false),
        ("onPartitionsLost", Severity::Warning, true),
    ] {
        if let Some([list, why]) = capture(rest, &format!("{callback}({{}}): {{}}")) {
            let meaning = if lost {
                "Lost, not revoked: the member was no longer in the group when it found out, so it cannot commit for these partitions; their next owner starts from the last committed offsets."
            } else {
                "The member gives these partitions up (a listener would commit or flush here); another member gets them in this or the next rebalance."
            };
            return Some(
                group_draft(
                    severity,
                    format!("Consumer {c} gives up {list} ({callback}): {why}"),
                    meaning,
                )
                .refs(std::iter::once(me).chain(partition_list_refs(list))),
            );
        }
    }
    if rest == "heartbeat: REBALANCE_IN_PROGRESS; rejoin at the next poll" {
        return g(
            Severity::Notice,
            format!("Consumer {c} learns from a heartbeat that group {group} is rebalancing"),
            "Heartbeats answer REBALANCE_IN_PROGRESS during a rebalance (G-2); the member rejoins at its next poll.",
        );
    }
    if let Some([code]) = capture(rest, "heartbeat failed with {}") {
        return g(
            Severity::Warning,
            format!("Consumer {c}: heartbeat to group {group} failed ({code})"),
            "The member keeps heartbeating.",
        );
    }
    if let Some([code]) = capture(rest, "LeaveGroup answered {}") {
        return g(
            Severity::Info,
            format!("Consumer {c}: LeaveGroup answered {code}"),
            "The member is gone either way.",
        );
    }
    if let Some([code]) = capture(rest, "OffsetFetch failed with {}") {
        return g(
            Severity::Warning,
            format!("Consumer {c}: OffsetFetch for group {group} failed ({code})"),
            "It asks again once it knows the coordinator.",
        );
    }
    if let Some([tp, offset]) = capture(rest, "{} starts at the committed offset {}") {
        let tp = parse_tp(tp)?;
        let offset: u64 = num(offset)?;
        return Some(
            group_draft(
                Severity::Info,
                format!("Consumer {c} starts {tp} at the committed offset {offset}"),
                "The committed offset is the next offset to read (G-6): records after the last offset commit are read again by the new owner.",
            )
            .refs([me, partition_ref(&tp), offset_ref(&tp, offset)]),
        );
    }
    if let Some([tp]) = capture(
        rest,
        "{} has no committed offset; auto.offset.reset=none: NoOffsetForPartitionException",
    ) {
        let tp = parse_tp(tp)?;
        return Some(
            group_draft(
                Severity::Error,
                format!("Consumer {c}: no committed offset for {tp} and auto.offset.reset=none"),
                "The application gets NoOffsetForPartitionException and does not read the partition.",
            )
            .refs([me, partition_ref(&tp)]),
        );
    }
    if let Some([tp, policy]) = capture(
        rest,
        "{} has no committed offset; auto.offset.reset={} decides",
    ) {
        let tp = parse_tp(tp)?;
        return Some(
            group_draft(
                Severity::Info,
                format!("Consumer {c}: no committed offset for {tp}; auto.offset.reset={policy}"),
                "earliest starts at the log start offset, latest at the high watermark (skipping what is already there) (G-8).",
            )
            .refs([me, partition_ref(&tp)]),
        );
    }
    if let Some([why]) = capture(rest, "{}; the consumer stops (fatal)") {
        return g(
            Severity::Error,
            format!("Consumer {c} stops: {why}"),
            "A fatal error: FENCED_INSTANCE_ID means another process uses the same group.instance.id (KIP-345).",
        );
    }
    if let Some([kind, code]) = capture(
        rest,
        "{} failed with {}: CommitFailedException (the group rebalanced and may have handed the partitions to another member)",
    ) {
        return g(
            Severity::Error,
            format!("Consumer {c}: {kind} failed with {code} (CommitFailedException)"),
            "Only the current generation may commit (G-6): the records processed since the last offset commit will be read again by the partitions' new owner.",
        );
    }
    if let Some([kind]) = capture(
        rest,
        "{} failed with REBALANCE_IN_PROGRESS: RebalanceInProgressException; rejoin",
    ) {
        return g(
            Severity::Warning,
            format!("Consumer {c}: {kind} failed: the group is rebalancing"),
            "RebalanceInProgressException: the member rejoins and commits again afterwards.",
        );
    }
    if let Some([kind, code, retry]) = capture(rest, "{} failed with {}; {}") {
        return g(
            Severity::Warning,
            format!("Consumer {c}: {kind} failed with {code}; {retry}"),
            "The coordinator moved or could not replicate the offset commit: commitSync retries with the new coordinator, commitAsync and auto-commit do not (the next auto-commit covers it).",
        );
    }
    if let Some([kind, code]) = capture(rest, "{} failed with {}") {
        return g(
            Severity::Warning,
            format!("Consumer {c}: {kind} failed with {code}"),
            "The offset commit did not happen.",
        );
    }
    None
}

pub(super) fn nemesis_group_line(_sim: &ClusterSim, text: &str) -> Option<Draft> {
    let act = |severity: Severity, what: String, why: &str, c: u32| {
        Some(
            draft(severity, Topic::Fault, what)
                .why(why.to_owned())
                .refs([Ref::Consumer(c)]),
        )
    };
    if let Some([c, node, group]) = capture(text, "add consumer {} (node {}) to group {}") {
        let c: u32 = num(c)?;
        let _: u32 = num(node)?;
        return act(
            Severity::Notice,
            format!("A new consumer {c} joins group {group}"),
            "A new member triggers a rebalance: eager groups stop reading until it completes, cooperative ones move only what must move.",
            c,
        );
    }
    if let Some([c, node]) = capture(text, "add consumer {} (node {})") {
        let c: u32 = num(c)?;
        let _: u32 = num(node)?;
        return act(
            Severity::Notice,
            format!("A new consumer {c} starts (no group: it reads every partition)"),
            "Without group.id a consumer is assigned every partition and commits nothing.",
            c,
        );
    }
    if let Some([c, strategy]) = capture(
        text,
        "restart consumer {} with partition.assignment.strategy={}",
    ) {
        let c: u32 = num(c)?;
        return act(
            Severity::Notice,
            format!("Consumer {c} starts again with partition.assignment.strategy={strategy}"),
            "One step of a rolling switch: the group uses an assignor every member offers, chosen by the members' preferences; a member rebalances cooperatively only when every assignor it lists is cooperative, so [cooperative-sticky, range] is still eager until a second bounce drops range.",
            c,
        );
    }
    for (template, what, why, severity) in [
        ("close consumer {}", "Consumer {c} is closed", "close(): last offset commit, LeaveGroup, then the process ends.", Severity::Notice),
        ("crash consumer {}", "Consumer {c} is killed", "No LeaveGroup: the coordinator waits session.timeout.ms before it rebalances.", Severity::Warning),
        ("restart consumer {}", "Consumer {c} starts again", "A new process: a dynamic member joins with a new member id; a static one with its group.instance.id.", Severity::Notice),
        ("consumer {} calls commitSync()", "Consumer {c} commits its positions (commitSync)", "The committed offset becomes the position: the next offset to read.", Severity::Info),
    ] {
        if let Some([c]) = capture(text, template) {
            let c: u32 = num(c)?;
            return act(severity, what.replace("{c}", &c.to_string()), why, c);
        }
    }
    if let Some([c, ms]) = capture(text, "stall consumer {}'s poll loop for {} ms") {
        let c: u32 = num(c)?;
        return act(
            Severity::Warning,
            format!("Consumer {c}'s application stalls for {ms} ms"),
            "Slow record processing: poll() is not called, heartbeats continue.",
            c,
        );
    }
    if let Some([c, ms]) = capture(text, "freeze consumer {} for {} ms (GC pause)") {
        let c: u32 = num(c)?;
        return act(
            Severity::Warning,
            format!("Consumer {c} freezes for {ms} ms (GC pause)"),
            "The whole process stops: no polls, no heartbeats.",
            c,
        );
    }
    if let Some([c, p, offset]) = capture(text, "consumer {} seeks partition {} to offset {}") {
        let c: u32 = num(c)?;
        return act(
            Severity::Notice,
            format!("Consumer {c} seeks partition {p} to offset {offset}"),
            "seek() changes the position, not the committed offset.",
            c,
        );
    }
    None
}
