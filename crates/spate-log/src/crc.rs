//! CRC-32C (Castagnoli): the checksum of journal frames, segment headers, checkpoints and
//! index files.

/// CRC-32C of `bytes`, SIMD-accelerated where the CPU allows (chosen at run time). The same
/// values as the `crc32c` crate's, which the tests check it against.
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    // crc-fast answers in a u64 for every width; a CRC-32's value is its low 32 bits.
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, bytes) as u32
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    #[test]
    fn matches_the_castagnoli_check_value() {
        // The catalogue's check value: CRC-32/ISCSI of "123456789".
        assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(super::crc32c(b""), 0);
    }

    proptest! {
        #[test]
        fn matches_the_crc32c_crate(bytes in proptest::collection::vec(any::<u8>(), 0..20_000)) {
            prop_assert_eq!(super::crc32c(&bytes), crc32c::crc32c(&bytes));
        }
    }
}
