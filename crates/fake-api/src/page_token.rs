//! Page tokens in YouTube's own format, so the fake mints byte-identical tokens to the real API.
//!
//! A token is base64url (no padding) of a two-field protobuf message: field 1 is the item offset
//! (varint), field 2 the direction (0 next, 1 previous). `CAUQAA` is offset 5 forwards, `CDIQAQ`
//! offset 50 backwards. A "previous" token carries the offset of the page it was minted on, and
//! selects the page that ends just before that offset.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Which way a token pages from its offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Next,
    Prev,
}

/// A decoded page token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageToken {
    pub offset: u32,
    pub direction: Direction,
}

impl PageToken {
    pub fn next(offset: u32) -> Self {
        PageToken {
            offset,
            direction: Direction::Next,
        }
    }

    pub fn prev(offset: u32) -> Self {
        PageToken {
            offset,
            direction: Direction::Prev,
        }
    }

    /// The wire form, e.g. `CAUQAA`.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(8);
        bytes.push(0x08); // field 1, wire type varint
        put_varint(&mut bytes, u64::from(self.offset));
        bytes.push(0x10); // field 2, wire type varint
        bytes.push(match self.direction {
            Direction::Next => 0,
            Direction::Prev => 1,
        });
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Parses a token; `None` for anything the fake did not (or could not) mint.
    pub fn decode(token: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
        let mut offset = None;
        let mut direction = None;
        let mut rest = bytes.as_slice();
        while let Some((&tag, tail)) = rest.split_first() {
            let (value, tail) = get_varint(tail)?;
            rest = tail;
            match tag {
                0x08 if offset.is_none() => offset = Some(u32::try_from(value).ok()?),
                0x10 if direction.is_none() => {
                    direction = Some(match value {
                        0 => Direction::Next,
                        1 => Direction::Prev,
                        _ => return None,
                    })
                }
                _ => return None,
            }
        }
        Some(PageToken {
            offset: offset?,
            direction: direction?,
        })
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mints_the_real_apis_tokens() {
        for (offset, token) in [
            (5, "CAUQAA"),
            (10, "CAoQAA"),
            (25, "CBkQAA"),
            (50, "CDIQAA"),
            (100, "CGQQAA"),
            (150, "CJYBEAA"),
        ] {
            assert_eq!(PageToken::next(offset).encode(), token, "offset {offset}");
            assert_eq!(PageToken::decode(token), Some(PageToken::next(offset)));
        }
        assert_eq!(PageToken::prev(50).encode(), "CDIQAQ");
        assert_eq!(PageToken::decode("CDIQAQ"), Some(PageToken::prev(50)));
    }

    #[test]
    fn round_trips_every_offset() {
        for offset in 0..=400 {
            for t in [PageToken::next(offset), PageToken::prev(offset)] {
                assert_eq!(PageToken::decode(&t.encode()), Some(t));
            }
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "", "!!!", "CAUQ", "CAUQAg", "CAU", "EAA", "CAUQAAQA", "CAUQAA==", "CAUQAAx",
        ] {
            assert_eq!(PageToken::decode(bad), None, "{bad:?}");
        }
    }
}
