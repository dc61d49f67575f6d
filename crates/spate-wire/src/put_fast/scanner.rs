//! JSON's tokens read where they lie, in a body that may come in pieces: hyper hands a large
//! body over as many frames, and reading them in place spares a copy of the whole body into
//! one buffer. Everything but a string is a byte or a short literal, read across a piece's
//! end like any other; a string found whole in one piece is borrowed from it, and only one
//! that runs across pieces is gathered into a buffer of its own (a few per body).

use std::borrow::Cow;

use bytes::Bytes;

pub(super) struct Scanner<'a> {
    /// The piece being read.
    b: &'a [u8],
    /// Where in `b`; at its end, the next byte is the first of the next non-empty piece.
    at: usize,
    /// The pieces after `b`.
    rest: &'a [Bytes],
    /// The body's length, all pieces together (for sizing).
    pub len: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(pieces: &'a [Bytes]) -> Scanner<'a> {
        let (b, rest): (&[u8], _) = match pieces.split_first() {
            Some((first, rest)) => (first, rest),
            None => (&[], &[]),
        };
        Scanner {
            b,
            at: 0,
            rest,
            len: pieces.iter().map(Bytes::len).sum(),
        }
    }

    /// Moves to the start of the next piece; `false` when there is none.
    fn next_piece(&mut self) -> bool {
        let Some((next, rest)) = self.rest.split_first() else {
            return false;
        };
        self.b = next;
        self.rest = rest;
        self.at = 0;
        true
    }

    /// Skips JSON's four whitespace bytes.
    fn ws(&mut self) {
        loop {
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.at) {
                self.at += 1;
            }
            if self.at < self.b.len() || !self.next_piece() {
                return;
            }
        }
    }

    /// The next byte after whitespace, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.at).copied()
    }

    /// Consumes the byte [`Self::peek`] returned.
    pub fn bump(&mut self) {
        self.at += 1;
    }

    pub fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.bump())
    }

    /// The next byte, whitespace or not, consumed.
    fn byte(&mut self) -> Option<u8> {
        while self.at == self.b.len() {
            if !self.next_piece() {
                return None;
            }
        }
        self.at += 1;
        Some(self.b[self.at - 1])
    }

    /// The bytes of a string without escapes, unchecked.
    pub fn raw_string(&mut self) -> Option<Cow<'a, [u8]>> {
        self.eat(b'"')?;
        let start = self.at;
        if let Some(len) = memchr::memchr2(b'"', b'\\', &self.b[start..]) {
            let end = start + len;
            return self
                .close_string(end)
                .map(|()| Cow::Borrowed(&self.b[start..end]));
        }
        let mut text = self.b[start..].to_vec();
        while self.next_piece() {
            match memchr::memchr2(b'"', b'\\', self.b) {
                Some(end) => {
                    text.extend_from_slice(&self.b[..end]);
                    return self.close_string(end).map(|()| Cow::Owned(text));
                }
                None => text.extend_from_slice(self.b),
            }
        }
        None
    }

    /// Consumes a string's closing quote at `end` of the current piece; an escape declines.
    fn close_string(&mut self, end: usize) -> Option<()> {
        (self.b[end] == b'"').then(|| self.at = end + 1)
    }

    /// A string as JSON allows it: UTF-8 without control characters.
    pub fn string(&mut self) -> Option<Cow<'a, str>> {
        let raw = self.raw_string()?;
        if raw.iter().any(|&c| c < 0x20) {
            return None;
        }
        match raw {
            Cow::Borrowed(raw) => std::str::from_utf8(raw).ok().map(Cow::Borrowed),
            Cow::Owned(raw) => String::from_utf8(raw).ok().map(Cow::Owned),
        }
    }

    /// A string, or `null` for an absent member.
    pub fn nullable_string(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.peek()? == b'n' {
            b"null"
                .iter()
                .all(|&c| self.byte() == Some(c))
                .then_some(None)
        } else {
            self.string().map(Some)
        }
    }

    /// An object: `member` reads each member's value, given its name.
    pub fn object(&mut self, mut member: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.bump();
            return Some(());
        }
        loop {
            let name = self.raw_string()?;
            self.eat(b':')?;
            member(self, &name)?;
            match self.peek()? {
                b',' => self.bump(),
                b'}' => {
                    self.bump();
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Only whitespace may follow the body.
    pub fn end(mut self) -> Option<()> {
        self.ws();
        (self.at == self.b.len() && self.rest.is_empty()).then_some(())
    }
}
