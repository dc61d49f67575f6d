//! Read buffers ("windows") kept for reuse once no record sliced from them is alive.
//!
//! A catch-up reader reads up to 1 MiB per positioned read and hands the records out as
//! slices of that buffer, which live until the reply carrying them has been sent. A fresh
//! buffer per read costs more than the read's own copy: the allocator hands back memory the
//! kernel must fault in and zero page by page. Reusing one whose records are all gone costs
//! neither, and needs no unsafe code: a window is reused only when the pool holds the last
//! reference to it, so nothing can see it change.

use std::sync::Mutex;

use bytes::{Bytes, BytesMut};

use crate::sync::lock;

/// Windows kept at most: a 10 MiB page's worth and some (a read reaches at most 512 index
/// entries ahead, so a page of 1 KiB records takes ~20 windows of ~0.5 MiB). Readers beyond
/// that allocate, as before; what the pool costs is up to this many idle windows, ~24 MiB at
/// most, after a burst of large reads.
const KEPT: usize = 24;
/// Windows between `SMALL` and this are not kept: they are seldom read, and would crowd out
/// the large ones.
const KEPT_MIN: usize = 64 * 1024;
/// Kept windows' capacities are multiples of this, so that a window serves later reads of
/// about the same length, which seldom ask for exactly the same number of bytes.
const GRAIN: usize = 128 * 1024;
/// Reads of at most this many bytes (a reader's first guess at one frame, as every read of
/// a subscriber near the tip is) take a window of exactly this capacity from a pool of their
/// own. A fresh one is allocated zeroed, which cost more than the read of it: measured at
/// 10,000 events/s, the allocator's zeroing was the server's largest user-space cost.
pub(crate) const SMALL: usize = 4096;
/// Small windows kept at most: 256 KiB.
const SMALL_KEPT: usize = 64;

/// Windows handed out recently, some of them perhaps no longer used by anyone, with their
/// capacities. Holds up to `KEPT` windows of at most about 1 MiB each, and `SMALL_KEPT` of
/// `SMALL` bytes, while no reader needs them.
#[derive(Default)]
pub(crate) struct WindowPool {
    windows: Mutex<Vec<(Bytes, usize)>>,
    small: Mutex<Vec<(Bytes, usize)>>,
}

impl WindowPool {
    /// A buffer of `len` bytes to read into. Its contents are whatever was read into it last
    /// (or zeros): the caller overwrites what it uses.
    pub(crate) fn take(&self, len: usize) -> BytesMut {
        let (kept, capacity) = match len {
            ..=SMALL => (&self.small, SMALL),
            KEPT_MIN.. => (&self.windows, len.next_multiple_of(GRAIN)),
            _ => return BytesMut::zeroed(len),
        };
        let free = {
            let mut windows = lock(kept);
            windows
                .iter()
                .position(|(window, capacity)| *capacity >= len && window.is_unique())
                .map(|i| windows.swap_remove(i).0)
        };
        // The pool held the only reference, under its lock: nothing else can see it change.
        if let Some(Ok(mut buf)) = free.map(Bytes::try_into_mut) {
            // Growing within the capacity zeroes only what was never read into.
            buf.resize(len, 0);
            return buf;
        }
        let mut buf = BytesMut::with_capacity(capacity);
        buf.resize(len, 0);
        buf
    }

    /// Keeps `window`, read into a buffer of `capacity` that [`WindowPool::take`] gave, for
    /// reuse once every other reference to it is gone. The oldest kept window is let go when
    /// the pool is full.
    pub(crate) fn keep(&self, window: &Bytes, capacity: usize) {
        let (kept, most) = match capacity {
            SMALL => (&self.small, SMALL_KEPT),
            KEPT_MIN.. => (&self.windows, KEPT),
            _ => return,
        };
        let mut windows = lock(kept);
        if windows.len() >= most {
            windows.remove(0);
        }
        windows.push((window.clone(), capacity));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEN: usize = 1 << 20;

    #[test]
    fn a_window_comes_back_only_when_nothing_else_holds_it() {
        let pool = WindowPool::default();
        let mut buf = pool.take(LEN);
        let capacity = buf.capacity();
        buf.fill(7);
        let window = buf.freeze();
        pool.keep(&window, capacity);
        let record = window.slice(10..20);
        drop(window);
        // A record still holds it: a fresh buffer.
        let fresh = pool.take(LEN);
        assert!(fresh.iter().all(|&b| b == 0));
        assert_eq!(&record[..], &[7; 10]);
        drop(record);
        // Now it is free: the same memory, as it was.
        let reused = pool.take(LEN - 5);
        assert_eq!(reused.len(), LEN - 5);
        assert!(reused.iter().all(|&b| b == 7));
    }

    #[test]
    fn small_windows_come_back_too() {
        let pool = WindowPool::default();
        let mut buf = pool.take(100);
        let capacity = buf.capacity();
        assert_eq!((buf.len(), capacity), (100, SMALL));
        buf.fill(7);
        let window = buf.freeze();
        pool.keep(&window, capacity);
        let record = window.slice(10..20);
        drop(window);
        assert!(
            pool.take(SMALL).iter().all(|&b| b == 0),
            "a record holds it"
        );
        drop(record);
        let reused = pool.take(200);
        assert_eq!(reused.len(), 200);
        assert!(reused[..100].iter().all(|&b| b == 7) && reused[100..].iter().all(|&b| b == 0));
        for _ in 0..SMALL_KEPT + 5 {
            pool.keep(&Bytes::from(vec![1; SMALL]), SMALL);
        }
        assert_eq!(lock(&pool.small).len(), SMALL_KEPT);
    }

    #[test]
    fn mid_sized_windows_are_not_kept_and_the_pool_is_bounded() {
        let pool = WindowPool::default();
        pool.keep(&Bytes::from(vec![1; SMALL + 1]), SMALL + 1);
        assert!(lock(&pool.windows).is_empty() && lock(&pool.small).is_empty());
        for _ in 0..KEPT + 5 {
            pool.keep(&Bytes::from(vec![1; KEPT_MIN]), KEPT_MIN);
        }
        assert_eq!(lock(&pool.windows).len(), KEPT);
        // A window larger than any kept one is a fresh buffer, and takes none of them.
        assert!(pool.take(KEPT_MIN + 1).iter().all(|&b| b == 0));
        assert_eq!(lock(&pool.windows).len(), KEPT);
    }
}
