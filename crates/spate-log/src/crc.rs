//! CRC-32C (Castagnoli): the checksum of journal frames, segment headers, checkpoints and
//! index files.

/// CRC-32C of `bytes`, with the fastest implementation this CPU has (chosen at run time).
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if wide_carryless_multiply() {
        return crc_fast::crc32_iscsi(bytes);
    }
    crc32c::crc32c(bytes)
}

/// Whether the CPU folds 512 bits at a time with carry-less multiplies (AVX-512 with
/// VPCLMULQDQ). crc-fast then takes 44 against the crc32c crate's 65 ns for a 1 KiB frame;
/// without them its fallback takes 163 against 85 ns, so the crc32c crate's three-way `crc32`
/// instructions serve every other CPU. `std` caches the answer.
#[cfg(target_arch = "x86_64")]
fn wide_carryless_multiply() -> bool {
    std::is_x86_feature_detected!("avx512vl") && std::is_x86_feature_detected!("vpclmulqdq")
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_castagnoli_check_value() {
        // The catalogue's check value: CRC-32/ISCSI of "123456789".
        assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(super::crc32c(b""), 0);
    }

    #[cfg(target_arch = "x86_64")]
    mod against_the_crc32c_crate {
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn crc_fast_agrees(bytes in proptest::collection::vec(any::<u8>(), 0..20_000)) {
                let fast = crc_fast::crc32_iscsi(&bytes);
                prop_assert_eq!(fast, crc32c::crc32c(&bytes));
                prop_assert_eq!(crate::crc::crc32c(&bytes), fast);
            }
        }
    }
}
