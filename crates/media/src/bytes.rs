//! Bounds-checked reads: every parser goes through these, so an offset past the end is a
//! `None` (then a "truncated" error), never a panic.

pub fn slice(b: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(len)?)
}

pub fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

pub fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    slice(b, at, 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

pub fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    slice(b, at, 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

pub fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    slice(b, at, 8).map(|s| u64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
}

pub fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    slice(b, at, 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

pub fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    slice(b, at, 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
