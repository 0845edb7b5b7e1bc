//! Kafka's fixed-width schema encoding as the internal topics' records use it (int16-length
//! strings, int32 counts, big-endian integers), shared by the `__consumer_offsets` and
//! `__transaction_state` records. The reader treats every byte as hostile and names what is
//! wrong and where.

use crate::ids::{PartitionIndex, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

pub(crate) fn put_string(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    let len = i16::try_from(s.len()).map_err(|_| {
        format!(
            "string of {} bytes is too long for an int16 length",
            s.len()
        )
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

pub(crate) fn put_nullable_string(out: &mut Vec<u8>, s: Option<&str>) -> Result<(), String> {
    match s {
        Some(s) => put_string(out, s),
        None => {
            out.extend_from_slice(&(-1i16).to_be_bytes());
            Ok(())
        }
    }
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) -> Result<(), String> {
    let len =
        i32::try_from(b.len()).map_err(|_| "bytes too long for an int32 length".to_string())?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b);
    Ok(())
}

/// `[topic, [partitions]]` grouped by topic, as the consumer protocol writes partition lists.
pub(crate) fn put_topic_partitions(
    out: &mut Vec<u8>,
    tps: &BTreeSet<TopicPartition>,
) -> Result<(), String> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in tps {
        let p = i32::try_from(tp.partition.0).map_err(|_| "partition above int32".to_string())?;
        by_topic.entry(tp.topic.as_str()).or_default().push(p);
    }
    out.extend_from_slice(&(by_topic.len() as i32).to_be_bytes());
    for (topic, partitions) in by_topic {
        put_string(out, topic)?;
        out.extend_from_slice(&(partitions.len() as i32).to_be_bytes());
        for p in partitions {
            out.extend_from_slice(&p.to_be_bytes());
        }
    }
    Ok(())
}

/// A cursor over hostile bytes.
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) at: usize,
    pub(crate) what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`; `what` names the schema in its errors.
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { buf, at: 0, what }
    }

    pub(crate) fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.buf.len());
        let Some(end) = end else {
            return Err(format!(
                "{}: {field} needs {n} bytes at byte {}, only {} left",
                self.what,
                self.at,
                self.buf.len().saturating_sub(self.at)
            ));
        };
        let bytes = &self.buf[self.at..end];
        self.at = end;
        Ok(bytes)
    }
    pub(crate) fn i16(&mut self, field: &str) -> Result<i16, String> {
        let b = self.take(2, field)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn i32(&mut self, field: &str) -> Result<i32, String> {
        let b = self.take(4, field)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn i64(&mut self, field: &str) -> Result<i64, String> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
    pub(crate) fn nullable_string(&mut self, field: &str) -> Result<Option<String>, String> {
        let save = self.at;
        if self.i16(field)? == -1 {
            return Ok(None);
        }
        self.at = save;
        self.string(field).map(Some)
    }
    pub(crate) fn count(&mut self, field: &str) -> Result<usize, String> {
        let n = self.i32(field)?;
        // Every element takes at least two bytes: a count beyond that is a lie.
        let left = self.buf.len().saturating_sub(self.at);
        if n < 0 || n as usize > left / 2 + 1 {
            return Err(format!(
                "{}: {field} count {n} does not fit in {left} bytes",
                self.what
            ));
        }
        Ok(n as usize)
    }
    pub(crate) fn bytes(&mut self, field: &str) -> Result<&'a [u8], String> {
        let n = self.i32(field)?;
        if n < 0 {
            return Ok(&[]);
        }
        self.take(n as usize, field)
    }
    pub(crate) fn topic_partitions(
        &mut self,
        field: &str,
    ) -> Result<BTreeSet<TopicPartition>, String> {
        let mut out = BTreeSet::new();
        for _ in 0..self.count(field)? {
            let topic = self.string(field)?;
            for _ in 0..self.count(field)? {
                let p = self.i32(field)?;
                let p = u32::try_from(p)
                    .map_err(|_| format!("{}: {field} has partition {p}", self.what))?;
                out.insert(TopicPartition {
                    topic: topic.clone(),
                    partition: PartitionIndex(p),
                });
            }
        }
        Ok(out)
    }
    pub(crate) fn string(&mut self, field: &str) -> Result<String, String> {
        let len = self.i16(field)?;
        if len < 0 {
            return Err(format!("{}: {field} has negative length {len}", self.what));
        }
        let bytes = self.take(len as usize, field)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| format!("{}: {field} is not UTF-8", self.what))
    }
}
