//! One TIFF directory (IFD) as bytes: entries with their types, sorted by tag, values
//! too long for their entry placed after it (TIFF 6.0 section 2; BigTIFF's 8-byte form).

use crate::metadata::tiff_tags::TagValue;

pub const BYTE: u16 = 1;
pub const ASCII: u16 = 2;
pub const SHORT: u16 = 3;
pub const LONG: u16 = 4;
pub const RATIONAL: u16 = 5;
pub const UNDEFINED: u16 = 7;
pub const DOUBLE: u16 = 12;
pub const LONG8: u16 = 16;
pub const IFD: u16 = 13;
pub const IFD8: u16 = 18;

/// One IFD entry: tag, type, count and the little-endian value bytes.
pub struct IfdEntry {
    pub tag: u16,
    kind: u16,
    count: u64,
    data: Vec<u8>,
}

impl IfdEntry {
    pub fn shorts(tag: u16, values: &[u16]) -> IfdEntry {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        IfdEntry { tag, kind: SHORT, count: values.len() as u64, data }
    }

    pub fn longs(tag: u16, values: &[u32]) -> IfdEntry {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        IfdEntry { tag, kind: LONG, count: values.len() as u64, data }
    }

    pub fn offsets(tag: u16, kind: u16, values: &[u64]) -> IfdEntry {
        let data = if kind == LONG8 || kind == IFD8 {
            values.iter().flat_map(|v| v.to_le_bytes()).collect()
        } else {
            values.iter().flat_map(|&v| (v as u32).to_le_bytes()).collect()
        };
        IfdEntry { tag, kind, count: values.len() as u64, data }
    }

    pub fn ascii(tag: u16, text: &str) -> IfdEntry {
        let mut data: Vec<u8> = text.bytes().filter(|&b| b != 0).collect();
        data.push(0);
        IfdEntry { tag, kind: ASCII, count: data.len() as u64, data }
    }

    /// The entry for a metadata tag.
    pub fn of(tag: u16, value: &TagValue) -> IfdEntry {
        let (kind, count, data) = match value {
            TagValue::Ascii(text) => return IfdEntry::ascii(tag, text),
            TagValue::Shorts(values) => return IfdEntry::shorts(tag, values),
            TagValue::Bytes(bytes) => (BYTE, bytes.len(), bytes.clone()),
            TagValue::Undefined(bytes) => (UNDEFINED, bytes.len(), bytes.clone()),
            TagValue::Rational(n, d) => (RATIONAL, 1, [n.to_le_bytes(), d.to_le_bytes()].concat()),
            TagValue::Doubles(values) => {
                (DOUBLE, values.len(), values.iter().flat_map(|v| v.to_le_bytes()).collect())
            }
        };
        IfdEntry { tag, kind, count: count as u64, data }
    }
}

/// The IFD at `offset`: entries (sorted by tag), a zero next-IFD pointer, then the
/// values too long to sit inside their entry.
pub fn ifd_bytes(entries: &[IfdEntry], offset: u64, big: bool) -> Vec<u8> {
    debug_assert!(entries.windows(2).all(|e| e[0].tag < e[1].tag), "TIFF wants tags in ascending order");
    let (count_size, entry_size, inline) = if big { (8, 20, 8) } else { (2, 12, 4) };
    let mut out = Vec::new();
    let mut extra = Vec::new();
    let extra_start = offset + (count_size + entries.len() * entry_size + inline) as u64;
    let push_offset = |out: &mut Vec<u8>, v: u64| {
        if big {
            out.extend_from_slice(&v.to_le_bytes())
        } else {
            out.extend_from_slice(&(v as u32).to_le_bytes())
        }
    };
    if big {
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    } else {
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    }
    for e in entries {
        out.extend_from_slice(&e.tag.to_le_bytes());
        out.extend_from_slice(&e.kind.to_le_bytes());
        push_offset(&mut out, e.count);
        if e.data.len() <= inline {
            let mut value = e.data.clone();
            value.resize(inline, 0);
            out.extend_from_slice(&value);
        } else {
            push_offset(&mut out, extra_start + extra.len() as u64);
            extra.extend_from_slice(&e.data);
            extra.resize(extra.len() + (extra.len() & 1), 0);
        }
    }
    push_offset(&mut out, 0);
    out.extend_from_slice(&extra);
    out
}
