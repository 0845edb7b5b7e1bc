//! Explanations of transaction lines (section 5): the transaction coordinator on a broker
//! (loading its `__transaction_state` partition, each state transition it logs, requests it
//! refuses, markers, timeout aborts), a transactional producer's side (FindCoordinator,
//! InitProducerId, AddPartitionsToTxn, EndTxn, fencing), read_committed polls that stop at the
//! last stable offset, and the nemesis freezing a producer.

use super::*;

fn txn_draft(severity: Severity, what: String, why: impl Into<String>) -> Draft {
    draft(severity, Topic::Transaction, what).why(why.into())
}

/// What a coordinator state means, for a transition line.
fn state_meaning(state: &str) -> &'static str {
    match state {
        "Empty" => "InitProducerId gave the transactional id its producer id and epoch; no transaction is open.",
        "Ongoing" => "A transaction is open: the coordinator logs every partition AddPartitionsToTxn adds, so it knows where to write markers, and starts the transaction.timeout.ms clock.",
        "PrepareCommit" => "EndTxn(commit): once this record is on every in-sync replica of the coordinator's partition the transaction will commit whatever crashes; only then does the coordinator answer the producer and write the COMMIT markers (T-2).",
        "PrepareAbort" => "The transaction is being aborted (the producer asked, it timed out, or a new instance fenced it); ABORT markers are written next.",
        "CompleteCommit" => "Every partition of the transaction has its COMMIT marker: read_committed consumers read its records.",
        "CompleteAbort" => "Every partition of the transaction has its ABORT marker: read_committed consumers skip its records.",
        "PrepareEpochFence" => "A new InitProducerId arrived while a transaction was open: the coordinator bumps the epoch and aborts the open transaction before answering.",
        "Dead" => "The transactional id expired.",
        _ => "",
    }
}

/// `me`, and the partition `tp` names when it parses.
fn with_partition(me: Ref, tp: &str) -> Vec<Ref> {
    std::iter::once(me)
        .chain(parse_tp(tp).map(|tp| partition_ref(&tp)))
        .collect()
}

/// Partition verification (T-3, KIP-890 part 1) at a partition leader.
fn broker_verification_line(b: u32, text: &str) -> Option<Draft> {
    let me = Ref::Broker(b);
    if let Some([tp, pid, epoch, coordinator, id]) = capture(
        text,
        "{}: first transactional batch of producer id {} epoch {}: asking the transaction coordinator (broker {}) to verify {}'s transaction includes it",
    ) {
        return Some(
            txn_draft(
                Severity::Info,
                format!("Broker {b} checks with coordinator {coordinator} before opening producer id {pid}'s transaction in {tp}"),
                format!("transaction.partition.verification.enable (3.6+): before a producer's first transactional batch in a partition, the leader asks the coordinator whether {id} (epoch {epoch}) has an ongoing transaction that includes it. A late batch of an ended transaction is refused instead of opening one no coordinator would ever end (T-3, T-8)."),
            )
            .refs(with_partition(me, tp)),
        );
    }
    if let Some([tp, why, code]) = capture(
        text,
        "{}: verification failed ({}): the batch is refused with {}",
    ) {
        let retry = code == "NOT_ENOUGH_REPLICAS";
        return Some(
            txn_draft(
                if retry { Severity::Notice } else { Severity::Warning },
                format!("Broker {b} refuses a transactional batch for {tp}: {code}"),
                if retry {
                    format!("The coordinator could not answer ({why}); the producer retries the batch.")
                } else {
                    format!("The coordinator says the batch's transaction is not ongoing ({why}): it is a late write of a transaction that already ended. Appending it would leave a hanging transaction that pins the last stable offset.")
                },
            )
            .refs(with_partition(me, tp)),
        );
    }
    None
}

/// The group coordinator's side of sendOffsetsToTransaction (KIP-447).
fn broker_txn_offsets_line(b: u32, text: &str) -> Option<Draft> {
    let me = Ref::Broker(b);
    if let Some([g, pid, offsets]) = capture(
        text,
        "group {}: transactional offset commit of producer id {} appended, pending until the transaction's marker ({})",
    ) {
        return Some(
            txn_draft(
                Severity::Info,
                format!("Group {g}: offsets {offsets} written for producer id {pid}'s transaction, not committed yet"),
                "TxnOffsetCommit stores the offsets in __consumer_offsets as records of the producer's transaction. Until its marker arrives they are pending: OffsetFetch does not return them, and a read_committed consumer asking with require_stable is told UNSTABLE_OFFSET_COMMIT and waits (T-4).",
            )
            .refs([me]),
        );
    }
    if let Some([g, pid, offsets]) = capture(
        text,
        "group {}: transactional offset commit of producer id {} stored with its COMMIT marker ({})",
    ) {
        return Some(
            txn_draft(
                Severity::Notice,
                format!("Group {g}: offsets {offsets} committed with producer id {pid}'s transaction"),
                "The COMMIT marker reached the group's offsets partition: the offsets and the transaction's output records commit together, so a restart resumes exactly after the inputs whose outputs are committed (T-9).",
            )
            .refs([me]),
        );
    }
    if let Some([g, pid, offsets]) = capture(
        text,
        "group {}: transactional offsets of producer id {} dropped with its ABORT marker ({})",
    ) {
        return Some(
            txn_draft(
                Severity::Notice,
                format!("Group {g}: offsets {offsets} dropped with producer id {pid}'s aborted transaction"),
                "The ABORT marker discards the pending offsets along with the transaction's outputs: the group's committed offsets stay where they were, and the inputs must be processed again.",
            )
            .refs([me]),
        );
    }
    if let Some([g]) = capture(
        text,
        "group {}: OffsetFetch(require_stable) answered UNSTABLE_OFFSET_COMMIT: a transaction's offsets are still pending",
    ) {
        return Some(
            txn_draft(
                Severity::Notice,
                format!("Group {g}: a consumer must wait for an open transaction's offsets"),
                "A transaction holds offsets for these partitions and has not ended: the committed offset may still move, so the coordinator answers UNSTABLE_OFFSET_COMMIT and the consumer retries. Without this wait a new owner could start from an offset the transaction is about to replace and process inputs twice.",
            )
            .refs([me]),
        );
    }
    if let Some([g, id, member, generation, error]) = capture(
        text,
        "group {}: TxnOffsetCommit from {} (member {}, generation {}) refused with {}",
    ) {
        return Some(
            txn_draft(
                Severity::Warning,
                format!("Group {g}: {id}'s TxnOffsetCommit refused with {error}"),
                format!("The offsets came with member {member} and generation {generation}, which the group no longer has: the partitions may belong to another member now (KIP-447 fencing). The producer must abort the transaction."),
            )
            .refs([me]),
        );
    }
    None
}

/// A partition leader appending a transaction marker the coordinator sent (WriteTxnMarkers).
fn broker_marker_line(b: u32, text: &str) -> Option<Draft> {
    let [tp, kind, pid, epoch, offset, id] = capture(
        text,
        "{}: {} marker for producer id {} epoch {} at offset {} ({})",
    )?;
    let offset: u64 = num(offset)?;
    let why = match kind {
        "COMMIT" => format!("The transaction coordinator's WriteTxnMarkers: the leader appends a control batch for producer id {pid} epoch {epoch}, which ends the transaction in this partition. The last stable offset can move past its records, so read_committed consumers read them; the marker itself takes an offset but is never handed to the application."),
        "ABORT" => format!("The transaction coordinator's WriteTxnMarkers: the leader appends a control batch for producer id {pid} epoch {epoch} and records the transaction in its aborted-transaction index. The records stay in the log; read_committed consumers drop them, and the last stable offset can move past them."),
        _ => return None,
    };
    let tp = parse_tp(tp)?;
    Some(
        txn_draft(
            Severity::Info,
            format!("Broker {b} wrote the {kind} marker of {id}'s transaction into {tp} at offset {offset}"),
            why,
        )
        .refs([Ref::Broker(b), partition_ref(&tp), offset_ref(&tp, offset)]),
    )
}

pub(super) fn broker_txn_line(sim: &ClusterSim, b: u32, text: &str) -> Option<Draft> {
    if let Some(d) = broker_txn_offsets_line(b, text)
        .or_else(|| broker_verification_line(b, text))
        .or_else(|| broker_marker_line(b, text))
    {
        return Some(d);
    }
    let rest = text.strip_prefix("transaction coordinator: ")?;
    let me = Ref::Broker(b);
    let partitions = sim.scenario().broker.transaction_state_log_num_partitions;
    if let Some([tp, epoch]) = capture(
        rest,
        "loading {} at coordinator epoch {} (COORDINATOR_LOAD_IN_PROGRESS until it is read)",
    ) {
        return Some(
            txn_draft(
                Severity::Notice,
                format!("Broker {b} became the transaction coordinator for {tp} and loads it"),
                format!("The leader of a __transaction_state partition coordinates the transactional ids hashed to it (transaction.state.log.num.partitions = {partitions}). Its leader epoch ({epoch}) is the coordinator epoch stamped on its markers, so a deposed coordinator's late markers are refused. Until the partition is read it answers COORDINATOR_LOAD_IN_PROGRESS."),
            )
            .refs(with_partition(me, tp)),
        );
    }
    if let Some([tp]) = capture(
        rest,
        "unloaded {} (no longer its leader; NOT_COORDINATOR from now on)",
    ) {
        return Some(
            txn_draft(
                Severity::Notice,
                format!("Broker {b} no longer coordinates the transactions of {tp}"),
                "It stopped leading the partition. Producers that still ask it get NOT_COORDINATOR and look for the new leader with FindCoordinator.",
            )
            .refs(with_partition(me, tp)),
        );
    }
    if let Some([tp, n, end]) = capture(
        rest,
        "loaded {}: {} transactional id(s) read up to offset {}",
    ) {
        return Some(
            txn_draft(
                Severity::Notice,
                format!("Broker {b} finished loading {tp}: {n} transactional id(s)"),
                format!("Each transactional id's state is the last record for it in the log (read up to offset {end}): a new coordinator continues exactly where the old one stopped."),
            )
            .refs(with_partition(me, tp)),
        );
    }
    if let Some([id, state, kind]) =
        capture(rest, "{} was in {} at load: writing its {} markers again")
    {
        return Some(
            txn_draft(
                Severity::Warning,
                format!("Transaction of {id} was in {state} when the old coordinator stopped: broker {b} writes its {kind} markers"),
                "The decision was durable in __transaction_state before the crash, so the new coordinator finishes it: the markers are idempotent, a partition that has one already keeps it.",
            )
            .refs([me]),
        );
    }
    if let Some([id, timeout, pid, epoch]) = capture(
        rest,
        "{} timed out after transaction.timeout.ms={} (producer id {} fenced to epoch {}); aborting",
    ) {
        return Some(
            txn_draft(
                Severity::Warning,
                format!("Broker {b} aborts {id}'s transaction: open longer than transaction.timeout.ms={timeout}"),
                format!("The coordinator checks open transactions every transaction.abort.timed.out.transaction.cleanup.interval.ms. It bumps producer id {pid} to epoch {epoch} and aborts (T-7): the producer, if it is only slow, learns on its next request that it was fenced, a misleading error for a timeout."),
            )
            .refs([me]),
        );
    }
    if let Some([id, tp, pid, epoch, error]) = capture(
        rest,
        "{}: {} is not in an ongoing transaction of producer id {} epoch {}: verification answers {}",
    ) {
        return Some(
            txn_draft(
                Severity::Warning,
                format!("Coordinator {b}: {tp} is not in {id}'s ongoing transaction ({error})"),
                format!("A partition leader asked whether producer id {pid} at epoch {epoch} may open a transaction there. It may not: the transaction has ended, the epoch is old, or the partition was never added. The leader refuses the batch."),
            )
            .refs(with_partition(me, tp)),
        );
    }
    if let Some([id, state, pid, epoch, n, tp]) = capture(
        rest,
        "{} -> {} (producer id {} epoch {}, {} partition(s)): writing to {}",
    ) {
        return Some(
            txn_draft(
                Severity::Info,
                format!("Coordinator {b}: {id} moves to {state} (producer id {pid}, epoch {epoch}, {n} partition(s))"),
                format!("{} The transition is a record in {tp}, answered only once it is replicated (acks=all).", state_meaning(state)),
            )
            .refs(with_partition(me, tp)),
        );
    }
    if let Some([id, state]) = capture(rest, "{} -> {}") {
        return Some(
            txn_draft(
                Severity::Info,
                format!("Coordinator {b}: {id} is {state}"),
                state_meaning(state),
            )
            .refs([me]),
        );
    }
    if let Some([id, request, code]) = capture(rest, "{}: {} refused: {}") {
        let why = match code {
            "CONCURRENT_TRANSACTIONS" => "The previous transaction of this id is still completing (its markers are being written): the producer retries shortly. Normal when transactions follow each other closely.",
            "PRODUCER_FENCED" => "The request carries an older producer epoch than the coordinator has: another instance with this transactional.id initialized since, or the coordinator aborted this one's transaction after its timeout. The producer is a zombie.",
            "INVALID_PRODUCER_EPOCH" => "The request's producer epoch is not the current one.",
            "INVALID_TXN_STATE" => "The request does not fit the transaction's state (for example EndTxn with no transaction open).",
            "NOT_COORDINATOR" => "This broker does not coordinate the id (any more): the producer finds the coordinator again.",
            "COORDINATOR_LOAD_IN_PROGRESS" => "The coordinator is still reading its partition of __transaction_state: the producer retries.",
            _ => "The coordinator refused the request.",
        };
        return Some(
            txn_draft(
                Severity::Notice,
                format!("Coordinator {b} refused {id}'s {request}: {code}"),
                why,
            )
            .refs([me]),
        );
    }
    if let Some([id, tp]) =
        capture(rest, "{}: marker for {} refused ({}); retrying").map(|[a, b, _]| [a, b])
    {
        return Some(
            txn_draft(
                Severity::Notice,
                format!("Coordinator {b}: the {id} marker for {tp} was refused; it retries"),
                "Markers must land in every partition of the transaction; the coordinator retries until the partition's leader takes it.",
            )
            .refs(with_partition(me, tp)),
        );
    }
    if let Some([id, tp, code]) = capture(
        rest,
        "{}: marker for {} refused ({}): this coordinator is stale; it stops writing markers",
    ) {
        return Some(
            txn_draft(
                Severity::Warning,
                format!("Coordinator {b} is stale: {tp} refused its {id} marker ({code})"),
                "The partition has seen a marker with a newer coordinator epoch: a newer coordinator owns this transaction, and this one stops (T-5).",
            )
            .refs(with_partition(me, tp)),
        );
    }
    if let Some([id, code, e]) = capture(rest, "{}: state record not written ({}): {}") {
        return Some(
            txn_draft(
                Severity::Warning,
                format!("Coordinator {b}: {id}'s state record was not written ({code})"),
                format!("Appending to __transaction_state failed ({e}); the request is answered with the error and the producer retries."),
            )
            .refs([me]),
        );
    }
    if let Some([id, e]) = capture(rest, "{}: cannot encode its record: {}") {
        return Some(
            txn_draft(
                Severity::Error,
                format!("Coordinator {b}: {id}'s state record cannot be encoded"),
                format!("{e}; the request fails with UNKNOWN_SERVER_ERROR."),
            )
            .refs([me]),
        );
    }
    if let Some([tp, offset, e]) = capture(rest, "{} offset {}: {}") {
        return Some(
            txn_draft(
                Severity::Error,
                format!("Coordinator {b}: unreadable record in {tp} at offset {offset}"),
                format!("{e}; the record is skipped while loading."),
            )
            .refs(with_partition(me, tp)),
        );
    }
    None
}

pub(super) fn producer_txn_line(sim: &ClusterSim, p: u32, text: &str) -> Option<Draft> {
    let me = Ref::Producer(p);
    let id = sim
        .scenario()
        .producers
        .get(p as usize)
        .and_then(|s| s.config.transactional_id.clone())
        .unwrap_or_default();
    let line = |severity: Severity, what: String, why: String| {
        Some(txn_draft(severity, what, why).refs([me.clone()]))
    };
    if let Some([b]) =
        capture(text, "transaction coordinator for {} is broker {}").map(|[_, b]| [b])
    {
        return line(
            Severity::Info,
            format!("Producer {p} found its transaction coordinator: broker {b}"),
            format!("FindCoordinator(TRANSACTION) for transactional.id {id:?}: the leader of the __transaction_state partition the id hashes to."),
        );
    }
    if let Some([request, b]) = capture(text, "{} to coordinator broker {}") {
        let why = match request {
            "InitProducerId" => "Asks for the producer id and a new epoch: this fences any older instance with the same transactional.id and aborts a transaction it left open.".to_owned(),
            "AddPartitionsToTxn" => "Before its first record in a partition, the producer tells the coordinator, which logs the partition so it can write the marker there later (T-3).".to_owned(),
            "EndTxn(commit)" => "commitTransaction(): every record of the transaction was acknowledged; the coordinator now logs PrepareCommit and writes COMMIT markers.".to_owned(),
            "EndTxn(abort)" => "abortTransaction(): the coordinator logs PrepareAbort and writes ABORT markers; the records stay in the log but read_committed consumers skip them.".to_owned(),
            "AddOffsetsToTxn" => "sendOffsetsToTransaction(), first half: the coordinator adds the group's __consumer_offsets partition to the transaction, so its marker will decide the offsets too.".to_owned(),
            other => format!("{other} to the coordinator."),
        };
        return line(
            Severity::Info,
            format!("Producer {p} sends {request} to coordinator broker {b}"),
            why,
        );
    }
    if let Some([offsets, g, generation]) = capture(
        text,
        "sendOffsetsToTransaction({}) for group {} (generation {})",
    ) {
        return line(
            Severity::Info,
            format!("Producer {p} commits the pipeline's input offsets {offsets} inside its transaction"),
            format!("A consume-transform-produce application hands its consumer's positions and group metadata (group {g}, generation {generation}) to the transaction: the outputs and the input offsets will commit or abort together (KIP-447)."),
        );
    }
    if let Some([b, g, generation]) = capture(
        text,
        "TxnOffsetCommit to group coordinator broker {} (group {}, generation {})",
    ) {
        return line(
            Severity::Info,
            format!("Producer {p} sends TxnOffsetCommit to group coordinator broker {b}"),
            format!("sendOffsetsToTransaction(), second half: the offsets go to group {g}'s coordinator with generation {generation}, so a member that lost its partitions in a rebalance is fenced (ILLEGAL_GENERATION)."),
        );
    }
    if text == "TxnOffsetCommit: offsets written, pending until the transaction's marker" {
        return line(
            Severity::Info,
            format!("Producer {p}'s offsets are in the transaction"),
            "The group coordinator stored them as pending; commitTransaction() can now send EndTxn.".to_owned(),
        );
    }
    if let Some([b]) = capture(text, "group coordinator for the offsets is broker {}") {
        return line(
            Severity::Info,
            format!("Producer {p} found the group coordinator: broker {b}"),
            "TxnOffsetCommit goes to the group's coordinator, not the transaction coordinator: the producer looks it up with FindCoordinator(GROUP).".to_owned(),
        );
    }
    if let Some([error]) = capture(
        text,
        "TxnOffsetCommit: {}: CommitFailedException, the transaction must abort",
    ) {
        return line(
            Severity::Warning,
            format!("Producer {p}'s offsets were refused ({error}): the transaction aborts"),
            "The consumer is no longer the group member the offsets came from; committing its outputs now could duplicate what the partitions' new owner produces. The application aborts and starts again from the committed offsets.".to_owned(),
        );
    }
    if let Some([e]) = capture(text, "FindCoordinator (group): {}") {
        return line(
            Severity::Notice,
            format!("Producer {p} could not find the group coordinator yet ({e})"),
            "It asks again after retry.backoff.ms.".to_owned(),
        );
    }
    if let Some([pid, epoch]) = capture(text, "InitProducerId: producer id {} epoch {}") {
        return line(
            Severity::Notice,
            format!("Producer {p} is producer id {pid}, epoch {epoch}"),
            if epoch == "0" {
                format!("The first instance of transactional.id {id:?}: its batches carry this id and epoch.")
            } else {
                format!("The epoch of transactional.id {id:?} went up: any instance still writing with an older epoch is fenced.")
            },
        );
    }
    if let Some([n]) = capture(text, "transaction committed ({} record(s))") {
        return line(
            Severity::Info,
            format!("Producer {p}'s transaction committed ({n} record(s))"),
            "EndTxn(commit) was answered: the decision is durable; the markers make the records visible to read_committed consumers, partition by partition.".to_owned(),
        );
    }
    if let Some([old_id, old_epoch, new_id, new_epoch]) = capture(
        text,
        "EndTxn bumped the epoch (transaction version 2): producer id {} epoch {} -> producer id {} epoch {}",
    ) {
        let moved = if old_id == new_id {
            format!("epoch {old_epoch} -> {new_epoch}")
        } else {
            format!("producer id {old_id} epoch {old_epoch} -> producer id {new_id} epoch {new_epoch} (the epoch was exhausted)")
        };
        return line(
            Severity::Info,
            format!("Producer {p}'s next transaction runs at {moved}"),
            "Transaction version 2 (KIP-890 part 2): every EndTxn bumps the producer epoch and the markers carry the new one. A late produce, AddPartitionsToTxn or EndTxn of the transaction that just ended still has the old epoch, so it is refused instead of landing in the next transaction (T-10).".to_owned(),
        );
    }
    if let Some([n]) = capture(text, "transaction aborted ({} record(s))") {
        return line(
            Severity::Notice,
            format!("Producer {p}'s transaction aborted ({n} record(s))"),
            "The records stay in the log, closed by ABORT markers: read_committed consumers skip them, read_uncommitted ones have read them already.".to_owned(),
        );
    }
    if let Some([exception, code]) = capture(
        text,
        "fatal: {} ({}): another producer with transactional.id {} has a newer epoch, or the coordinator aborted this one; the producer must be closed",
    )
    .map(|[a, b, _]| [a, b])
    {
        return line(
            Severity::Error,
            format!("Producer {p} is fenced: {exception}"),
            format!("{code}: a newer instance with transactional.id {id:?} initialized, or the coordinator aborted this producer's transaction after transaction.timeout.ms and bumped the epoch (T-7). A fenced producer can only be closed; its open transaction is aborted."),
        );
    }
    if let Some([code]) = capture(text, "transaction must abort: a send failed with {}") {
        return line(
            Severity::Warning,
            format!("Producer {p}: a send failed ({code}), so its transaction must abort"),
            "A transaction is all or nothing: once one of its records failed, the application can only abort it.".to_owned(),
        );
    }
    if text
        == "a send of the aborted transaction failed: bumping the epoch (InitProducerId, KIP-360)"
    {
        return line(
            Severity::Notice,
            format!("Producer {p} bumps its epoch after the abort"),
            "A failed send may have left sequence numbers the partition leader never saw: KIP-360 lets the producer bump its epoch with InitProducerId and start its sequences afresh.".to_owned(),
        );
    }
    if let Some([request, code]) = capture(text, "{}: {}: the transaction must abort") {
        return line(
            Severity::Warning,
            format!("Producer {p}: {request} failed with {code}; the transaction must abort"),
            "The coordinator refused to add the partition: the transaction cannot complete as written.".to_owned(),
        );
    }
    if let Some([request, code]) = capture(text, "{}: {}: finding the coordinator again") {
        return line(
            Severity::Notice,
            format!("Producer {p}: {request} got {code}; it looks for the coordinator again"),
            "The broker no longer coordinates this transactional id (its __transaction_state partition moved): FindCoordinator names the new leader.".to_owned(),
        );
    }
    if let Some([request, code]) = capture(text, "{}: {}: retrying") {
        let why = match code {
            "CONCURRENT_TRANSACTIONS" => "The previous transaction is still completing at the coordinator; the producer retries after retry.backoff.ms.",
            "COORDINATOR_LOAD_IN_PROGRESS" => "The coordinator is still loading its __transaction_state partition; the producer retries.",
            _ => "A retriable error: the producer retries after retry.backoff.ms.",
        };
        return line(
            Severity::Notice,
            format!("Producer {p}: {request} got {code}; retrying"),
            why.to_owned(),
        );
    }
    if let Some([request, b]) = capture(
        text,
        "{} to broker {} timed out; finding the coordinator again",
    ) {
        return line(
            Severity::Warning,
            format!("Producer {p}: {request} to broker {b} timed out"),
            "No answer within request.timeout.ms: the producer looks for the coordinator again and resends.".to_owned(),
        );
    }
    if let Some([code]) = capture(text, "FindCoordinator (transaction): {}") {
        return line(
            Severity::Notice,
            format!("Producer {p}: FindCoordinator got {code}"),
            "The coordinator's partition has no leader yet, or the internal topic is being created; the producer retries.".to_owned(),
        );
    }
    if let Some([e]) = capture(text, "cannot end the transaction: {}") {
        return line(
            Severity::Error,
            format!("Producer {p} cannot end its transaction"),
            e.to_owned(),
        );
    }
    if let Some([_]) = capture(
        text,
        "new producer instance for transactional.id {} (the fenced one was closed): initTransactions()",
    ) {
        return line(
            Severity::Notice,
            format!("Producer {p} is replaced by a new instance"),
            "The application closed the fenced producer and created a new one with the same transactional.id: its InitProducerId gets a newer epoch, and writing resumes.".to_owned(),
        );
    }
    if text == "wakes from the pause" {
        return line(
            Severity::Notice,
            format!("Producer {p} wakes from its pause"),
            "It carries on as if no time had passed, with the producer epoch it had: if a new instance or a timeout bumped the epoch meanwhile, its next request tells it that it was fenced.".to_owned(),
        );
    }
    None
}

pub(super) fn consumer_txn_line(_sim: &ClusterSim, c: u32, text: &str) -> Option<Draft> {
    let me = Ref::Consumer(c);
    if let Some([n]) = capture(
        text,
        "seeks {} partition(s) back to the group's committed offsets",
    ) {
        return Some(
            txn_draft(
                Severity::Notice,
                format!("Consumer {c} seeks its {n} partition(s) back to the committed offsets"),
                "The pipeline's transaction aborted (or its producer was replaced): the outputs are gone, but the consumer's position is not rewound by Kafka (T-9 (a)). The application looks up the committed offsets (OffsetFetch) and reads those inputs again.",
            )
            .refs([me]),
        );
    }
    if text == "the transaction aborted and the application does not seek back: it reads on from its position (D16)" {
        return Some(
            txn_draft(
                Severity::Warning,
                format!("Consumer {c} reads on after an abort: the aborted inputs are skipped"),
                "Aborting threw the outputs away, but nothing rewinds the consumer: it continues after the inputs it had read, and the next transaction commits offsets past them. Those inputs never get an output (drill D16).",
            )
            .refs([me]),
        );
    }
    if let Some([tp, first, last, hw, lso]) =
        capture(text, "poll {} offsets {}..={} (HW {}, LSO {})")
    {
        let (tp, first, last): (_, u64, u64) = (parse_tp(tp)?, num(first)?, num(last)?);
        return Some(
            draft(
                Severity::Info,
                Topic::Consumer,
                format!("Consumer {c} (read_committed) read {tp} offsets {first}..{last}"),
            )
            .why(format!("A read_committed consumer reads below the last stable offset ({lso}), not the high watermark ({hw}): no open transaction's records, and it drops aborted transactions' records (T-6)."))
            .refs([me, partition_ref(&tp), offset_ref(&tp, first), offset_ref(&tp, last)]),
        );
    }
    if let Some([tp, n]) = capture(
        text,
        "{}: read_committed skipped {} record(s) of aborted transactions",
    ) {
        let tp = parse_tp(tp)?;
        return Some(
            txn_draft(
                Severity::Notice,
                format!("Consumer {c} skipped {n} record(s) of aborted transactions in {tp}"),
                "Its fetch returned the aborted transactions in range (the leader's aborted-transaction index); the consumer drops their records and the markers, so the application never sees them.",
            )
            .refs([me, partition_ref(&tp)]),
        );
    }
    None
}

pub(super) fn nemesis_txn_line(text: &str) -> Option<Draft> {
    let [p, ms] = capture(text, "freeze producer {} for {} ms (GC pause)")?;
    let p: u32 = num(p)?;
    Some(
        draft(
            Severity::Warning,
            Topic::Fault,
            format!("Producer {p} freezes for {ms} ms (GC pause)"),
        )
        .why("The whole process stops: no sends, no requests to its coordinator. A transaction it has open keeps running against transaction.timeout.ms, and a new instance with its transactional.id can fence it meanwhile (a zombie).".to_owned())
        .refs([Ref::Producer(p)]),
    )
}
