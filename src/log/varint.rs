//! Protobuf-style zig-zag varints, the way Kafka's record format v2 writes record fields
//! (`ByteUtils.writeVarint` / `writeVarlong`). Decoding never reads past the slice and never
//! accepts more than 5 (varint) or 10 (varlong) bytes, or bits that do not fit the type.

/// Why a varint could not be read. The position is filled in by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarintError {
    /// The slice ended inside the varint.
    Truncated,
    /// More bytes than the type allows, or bits beyond its width.
    Overflow,
}

/// Appends `value` as a zig-zag varint (1 to 5 bytes).
pub fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_unsigned(out, u64::from(((value << 1) ^ (value >> 31)) as u32));
}

/// Appends `value` as a zig-zag varlong (1 to 10 bytes).
pub fn put_varlong(out: &mut Vec<u8>, value: i64) {
    put_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// How many bytes `put_varint(value)` writes.
pub fn varint_size(value: i32) -> u32 {
    unsigned_size(u64::from(((value << 1) ^ (value >> 31)) as u32))
}

/// How many bytes `put_varlong(value)` writes.
pub fn varlong_size(value: i64) -> u32 {
    unsigned_size(((value << 1) ^ (value >> 63)) as u64)
}

fn put_unsigned(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn unsigned_size(v: u64) -> u32 {
    let bits = 64 - v.leading_zeros();
    bits.div_ceil(7).max(1)
}

/// Reads a zig-zag varint from the start of `buf`: the value and the bytes it took.
pub fn get_varint(buf: &[u8]) -> Result<(i32, u32), VarintError> {
    let (raw, len) = get_unsigned(buf, 5, 32)?;
    let raw = raw as u32;
    Ok((((raw >> 1) as i32) ^ -((raw & 1) as i32), len))
}

/// Reads a zig-zag varlong from the start of `buf`: the value and the bytes it took.
pub fn get_varlong(buf: &[u8]) -> Result<(i64, u32), VarintError> {
    let (raw, len) = get_unsigned(buf, 10, 64)?;
    Ok((((raw >> 1) as i64) ^ -((raw & 1) as i64), len))
}

fn get_unsigned(buf: &[u8], max_len: u32, width: u32) -> Result<(u64, u32), VarintError> {
    let mut value: u64 = 0;
    for (i, &byte) in buf.iter().take(max_len as usize).enumerate() {
        let shift = 7 * i as u32;
        let payload = u64::from(byte & 0x7f);
        // The last allowed byte may only carry the bits that still fit the type.
        let room = width - shift;
        if room < 7 && payload >> room != 0 {
            return Err(VarintError::Overflow);
        }
        value |= payload << shift;
        if byte & 0x80 == 0 {
            return Ok((value, i as u32 + 1));
        }
    }
    if buf.len() >= max_len as usize {
        Err(VarintError::Overflow)
    } else {
        Err(VarintError::Truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn known_encodings_match_kafka() {
        // Values from Kafka's ByteUtilsTest: zig-zag maps 0,-1,1,-2 to 0,1,2,3.
        let cases: &[(i32, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (63, &[0x7e]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
            (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ];
        for (value, bytes) in cases {
            let mut out = Vec::new();
            put_varint(&mut out, *value);
            assert_eq!(&out[..], *bytes, "encoding {value}");
            assert_eq!(varint_size(*value) as usize, bytes.len());
            assert_eq!(get_varint(bytes), Ok((*value, bytes.len() as u32)));
        }
    }

    #[test]
    fn varlong_extremes_round_trip() {
        for value in [0, -1, 1, i64::MAX, i64::MIN, 1 << 40, -(1 << 40)] {
            let mut out = Vec::new();
            put_varlong(&mut out, value);
            assert_eq!(varlong_size(value) as usize, out.len());
            assert_eq!(get_varlong(&out), Ok((value, out.len() as u32)));
        }
    }

    #[test]
    fn overlong_and_truncated_are_errors() {
        assert_eq!(
            get_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
            Err(VarintError::Overflow)
        );
        assert_eq!(
            get_varint(&[0xff, 0xff, 0xff, 0xff, 0x1f]),
            Err(VarintError::Overflow)
        );
        assert_eq!(get_varint(&[0x80, 0x80]), Err(VarintError::Truncated));
        assert_eq!(get_varint(&[]), Err(VarintError::Truncated));
        assert_eq!(get_varlong(&[0xff; 10]), Err(VarintError::Overflow));
        assert_eq!(
            get_varlong(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Ok((i64::MIN, 10))
        );
    }
}
