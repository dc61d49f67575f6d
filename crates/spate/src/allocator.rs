//! How long the allocator keeps memory it freed before handing it back to the kernel.
//!
//! mimalloc (v3, as libmimalloc-sys builds it) hands freed pages back after 1 s unused by
//! default, and the server then faults and zeroes fresh ones for the request bodies,
//! decoded data and groups of a few hundred KB to a few MB that come and go (on this VM
//! each new page also faults on the host). Measured in interleaved rounds of durable W2
//! (docs/benchmarks.md): purging off altogether 1.107× the records/s at 0.87× the CPU per
//! request, and W5 over 1,000 shards 1.094×; a 10 s delay as good as never (never 1.032×
//! of it); this setting built in, 1.022× and 1.045× in two runs. Memory a burst leaves
//! free still goes back, 10 s later. `MIMALLOC_PURGE_DELAY` in the environment overrides
//! this, as mimalloc documents.

use std::ffi::{c_int, c_long};

/// `mi_option_purge_delay`: its place in mimalloc's `mi_option_e` (mimalloc.h). The test
/// below checks the option there has the purge delay's default.
const PURGE_DELAY: c_int = 15;
const PURGE_DELAY_MS: c_long = 10_000;

// mimalloc's C API, linked in by libmimalloc-sys (mimalloc's own dependency).
#[allow(unsafe_code)]
unsafe extern "C" {
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
    fn mi_option_set(option: c_int, value: c_long);
}

/// Sets the purge delay to [`PURGE_DELAY_MS`] unless the environment sets it.
pub(crate) fn keep_freed_memory_longer() {
    let set_outside = ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    if !set_outside {
        // SAFETY: sets one of mimalloc's integer options; it takes no pointers, and
        // mimalloc reads the option afresh each time it decides whether to purge.
        #[allow(unsafe_code)]
        unsafe {
            mi_option_set(PURGE_DELAY, PURGE_DELAY_MS)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_is_the_option_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads one of mimalloc's integer options.
        #[allow(unsafe_code)]
        let default = unsafe { mi_option_get(PURGE_DELAY) };
        assert_eq!(default, 1_000, "mimalloc v3's purge delay default");
        keep_freed_memory_longer();
        // SAFETY: as above.
        #[allow(unsafe_code)]
        let now = unsafe { mi_option_get(PURGE_DELAY) };
        assert_eq!(now, PURGE_DELAY_MS);
    }
}
