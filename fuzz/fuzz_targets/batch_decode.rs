//! Fuzzes the record batch v2 decoder with hostile bytes: decoding, header parsing and CRC
//! checks must never panic, allocate beyond the input, or accept something that does not
//! re-encode to an equal batch; and a follower append of the same bytes must agree with the
//! decoder on whether they are valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logsim::ids::{PartitionIndex, TopicPartition};
use logsim::log::{decode_batch, verify_crc, BatchHeader, LogConfig, PartitionLog};

fuzz_target!(|data: &[u8]| {
    let _ = BatchHeader::parse(data);
    let _ = verify_crc(data);
    let decoded = decode_batch(data);
    if let Ok((batch, used)) = &decoded {
        assert!(*used <= data.len());
        let bytes = batch.encode();
        let (again, again_used) = decode_batch(&bytes).expect("our own encoding decodes");
        assert_eq!(again_used, bytes.len());
        assert_eq!(&again, batch);
    }
    let tp = TopicPartition { topic: "fuzz".into(), partition: PartitionIndex(0) };
    if let Ok(mut log) = PartitionLog::new(tp, LogConfig::default(), 0) {
        let appended = log.append_as_follower(data, 0);
        if decoded.is_err() && !data.is_empty() {
            assert!(appended.is_err(), "the log accepted bytes the decoder rejects");
        }
    }
});
