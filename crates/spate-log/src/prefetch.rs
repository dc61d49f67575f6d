//! A hint to load memory into the CPU's caches ahead of its use. The one `unsafe` here is
//! the intrinsic's: a prefetch is only a hint, which reads nothing into the program and
//! cannot fault, but the intrinsic is declared `unsafe` as every `target_feature` function
//! is. (spate-wire has the same hint for the record data it copies into replies; the two
//! crates share no dependency to hold one copy.)

/// Asks the CPU to load `data` into its caches, a 64-byte line at a time.
#[allow(unsafe_code)]
#[inline]
pub(crate) fn prefetch(data: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in data.chunks(64) {
        // SAFETY: see the module's comment; no address can make a prefetch fault.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}
