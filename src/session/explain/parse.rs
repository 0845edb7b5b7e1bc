//! Parsing the trace text: small pieces, no regular expressions. A template's `{}` capture
//! text up to the next literal piece; ids, partitions (`orders-eu-3`) and broker lists are read
//! by helpers that return `None` on anything unexpected, never panic.

use super::*;
use std::str::FromStr;

/// Matches `text` against a template whose `{}` capture text up to the next literal piece (the
/// last piece matches as a suffix), returning the captures when everything matches.
pub(super) fn capture<'a, const N: usize>(text: &'a str, template: &str) -> Option<[&'a str; N]> {
    let mut pieces = template.split("{}");
    let mut rest = text.strip_prefix(pieces.next()?)?;
    let literals: Vec<&str> = pieces.collect();
    if literals.len() != N {
        return None;
    }
    let mut out = [""; N];
    for (i, literal) in literals.iter().enumerate() {
        if i + 1 == N {
            out[i] = rest.strip_suffix(literal)?;
            rest = "";
        } else {
            let at = rest.find(literal).filter(|_| !literal.is_empty())?;
            out[i] = &rest[..at];
            rest = &rest[at + literal.len()..];
        }
    }
    rest.is_empty().then_some(out)
}

pub(super) fn num<T: FromStr>(text: &str) -> Option<T> {
    text.trim().parse().ok()
}

/// `orders-eu-3` is partition 3 of topic `orders-eu`: topic names may hold `-`.
pub(super) fn parse_tp(text: &str) -> Option<TopicPartition> {
    let (topic, partition) = text.rsplit_once('-')?;
    let legal = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if topic.is_empty() || !topic.chars().all(legal) || partition.starts_with('+') {
        return None;
    }
    Some(TopicPartition {
        topic: topic.to_owned(),
        partition: PartitionIndex(num(partition)?),
    })
}

/// `3,1,2` (empty: none).
pub(super) fn parse_ids(text: &str) -> Option<Vec<u32>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',').map(num).collect()
}

/// Every decimal number in the text, in order.
pub(super) fn numbers(text: &str) -> Vec<u32> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// `t-0/00000000000000000000.log` names the replica's partition.
pub(super) fn file_replica(file: &str, b: u32) -> Option<Ref> {
    let tp = parse_tp(file.split('/').next()?)?;
    Some(replica_ref(&tp, b))
}

pub(super) fn ids(brokers: &[u32]) -> String {
    let list: Vec<String> = brokers.iter().map(u32::to_string).collect();
    format!("[{}]", list.join(","))
}

/// `broker 2`, or `brokers 1, 3`.
pub(super) fn brokers_phrase(brokers: &[u32]) -> String {
    let list: Vec<String> = brokers.iter().map(u32::to_string).collect();
    match brokers {
        [one] => format!("broker {one}"),
        _ => format!("brokers {}", list.join(", ")),
    }
}

pub(super) fn ids_of(brokers: &[BrokerId]) -> String {
    ids(&brokers.iter().map(|b| b.0).collect::<Vec<_>>())
}

pub(super) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(super) fn partition_ref(tp: &TopicPartition) -> Ref {
    Ref::Partition {
        topic: tp.topic.clone(),
        partition: tp.partition.0,
    }
}

pub(super) fn replica_ref(tp: &TopicPartition, broker: u32) -> Ref {
    Ref::Replica {
        topic: tp.topic.clone(),
        partition: tp.partition.0,
        broker,
    }
}

pub(super) fn offset_ref(tp: &TopicPartition, offset: u64) -> Ref {
    Ref::Offset {
        topic: tp.topic.clone(),
        partition: tp.partition.0,
        offset,
    }
}
