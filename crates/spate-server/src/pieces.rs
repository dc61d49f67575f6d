//! A reply body's bytes as pieces sent one after another, so that large record data read from
//! the journal goes to the socket without being copied into a reply buffer first (smaller
//! data is copied: `spate_wire::encode_with_records_in_pieces` says where the line is).
//!
//! hyper queues at most 16 body buffers before it writes, and asks each for its slices
//! (`Buf::chunks_vectored`) to fill one `writev` of up to 64. A body that yielded each piece
//! as a frame of its own would write 16 pieces at a time; one frame of [`Pieces`] fills the
//! whole `writev`.

use std::io::IoSlice;

use bytes::{Buf, Bytes};

/// Bytes in pieces; none of them empty.
#[derive(Debug, Default)]
pub struct Pieces {
    /// The piece being sent; empty only when nothing remains.
    front: Bytes,
    rest: std::vec::IntoIter<Bytes>,
    remaining: usize,
}

impl Pieces {
    pub fn new(pieces: Vec<Bytes>) -> Pieces {
        let remaining = pieces.iter().map(Bytes::len).sum();
        let mut pieces = Pieces {
            front: Bytes::new(),
            rest: pieces.into_iter(),
            remaining,
        };
        pieces.next_front();
        pieces
    }

    /// Moves to the next non-empty piece, if the front one is used up.
    fn next_front(&mut self) {
        while self.front.is_empty() {
            match self.rest.next() {
                Some(piece) => self.front = piece,
                None => return,
            }
        }
    }
}

impl From<Bytes> for Pieces {
    fn from(bytes: Bytes) -> Pieces {
        Pieces {
            remaining: bytes.len(),
            front: bytes,
            rest: Vec::new().into_iter(),
        }
    }
}

impl From<Vec<u8>> for Pieces {
    fn from(bytes: Vec<u8>) -> Pieces {
        Pieces::from(Bytes::from(bytes))
    }
}

impl From<String> for Pieces {
    fn from(text: String) -> Pieces {
        Pieces::from(Bytes::from(text))
    }
}

impl Buf for Pieces {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        &self.front
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(
            cnt <= self.remaining,
            "advanced {cnt} bytes past the {} remaining",
            self.remaining
        );
        self.remaining -= cnt;
        while cnt > 0 {
            let n = cnt.min(self.front.len());
            self.front.advance(n);
            cnt -= n;
            self.next_front();
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        if self.front.is_empty() {
            return 0;
        }
        let pieces = std::iter::once(&self.front).chain(self.rest.as_slice());
        let mut n = 0;
        for (slot, piece) in dst.iter_mut().zip(pieces.filter(|p| !p.is_empty())) {
            *slot = IoSlice::new(piece);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pieces() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..12)
    }

    proptest! {
        /// However it is consumed — chunk by chunk, or by vectored writes of any width that
        /// take any part of what they were offered — the bytes are the pieces' concatenation.
        #[test]
        fn reads_back_the_concatenation(
            parts in pieces(),
            steps in prop::collection::vec((1usize..5, 0usize..40), 1..60),
        ) {
            let whole: Vec<u8> = parts.concat();
            let mut buf = Pieces::new(parts.into_iter().map(Bytes::from).collect());
            prop_assert_eq!(buf.remaining(), whole.len());
            let mut read = Vec::new();
            for (width, take) in steps.into_iter().cycle() {
                if !buf.has_remaining() {
                    break;
                }
                prop_assert!(!buf.chunk().is_empty());
                let mut slots = vec![IoSlice::new(&[]); width];
                let n = buf.chunks_vectored(&mut slots);
                prop_assert!(n >= 1);
                let offered: Vec<u8> = slots[..n].iter().flat_map(|s| s.iter().copied()).collect();
                // A write takes at least one byte of what it is offered.
                let taken = take.clamp(1, offered.len());
                read.extend_from_slice(&offered[..taken]);
                buf.advance(taken);
                prop_assert_eq!(read.len() + buf.remaining(), whole.len());
            }
            prop_assert_eq!(read, whole);
            prop_assert_eq!(buf.chunks_vectored(&mut [IoSlice::new(&[])]), 0);
        }
    }
}
