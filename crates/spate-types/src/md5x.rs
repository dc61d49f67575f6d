//! MD5 of many short messages side by side: sixteen lanes, each a message of at most
//! [`MAX_LEN`] bytes (one 64-byte block once padded), stepped through the rounds together.
//!
//! Why: routing a PutRecords of 500 records hashes 500 partition keys, and one at a time
//! (`md-5`, 64 dependent steps per key) that was 6.7% of a W2 server's CPU. Every step
//! here is the same arithmetic on sixteen independent words, which the compiler turns into
//! AVX2 instructions: 32–38 ns per 20-byte key against 125–135 ns one at a time, measured
//! on this machine. Longer keys go through `md-5` one by one.

/// The longest message one block holds: 64 bytes less the 0x80 marker and the 8-byte length.
pub(crate) const MAX_LEN: usize = 55;
pub(crate) const LANES: usize = 16;

type Words = [u32; LANES];

/// The sine-derived constants of RFC 1321, one per step.
#[rustfmt::skip]
const K: [u32; 64] = [
    0xd76a_a478, 0xe8c7_b756, 0x2420_70db, 0xc1bd_ceee, 0xf57c_0faf, 0x4787_c62a,
    0xa830_4613, 0xfd46_9501, 0x6980_98d8, 0x8b44_f7af, 0xffff_5bb1, 0x895c_d7be,
    0x6b90_1122, 0xfd98_7193, 0xa679_438e, 0x49b4_0821, 0xf61e_2562, 0xc040_b340,
    0x265e_5a51, 0xe9b6_c7aa, 0xd62f_105d, 0x0244_1453, 0xd8a1_e681, 0xe7d3_fbc8,
    0x21e1_cde6, 0xc337_07d6, 0xf4d5_0d87, 0x455a_14ed, 0xa9e3_e905, 0xfcef_a3f8,
    0x676f_02d9, 0x8d2a_4c8a, 0xfffa_3942, 0x8771_f681, 0x6d9d_6122, 0xfde5_380c,
    0xa4be_ea44, 0x4bde_cfa9, 0xf6bb_4b60, 0xbebf_bc70, 0x289b_7ec6, 0xeaa1_27fa,
    0xd4ef_3085, 0x0488_1d05, 0xd9d4_d039, 0xe6db_99e5, 0x1fa2_7cf8, 0xc4ac_5665,
    0xf429_2244, 0x432a_ff97, 0xab94_23a7, 0xfc93_a039, 0x655b_59c3, 0x8f0c_cc92,
    0xffef_f47d, 0x8584_5dd1, 0x6fa8_7e4f, 0xfe2c_e6e0, 0xa301_4314, 0x4e08_11a1,
    0xf753_7e82, 0xbd3a_f235, 0x2ad7_d2bb, 0xeb86_d391,
];

/// Each round's four rotation amounts, used in turn.
const S: [[u32; 4]; 4] = [
    [7, 12, 17, 22],
    [5, 9, 14, 20],
    [4, 11, 16, 23],
    [6, 10, 15, 21],
];

/// The initial state (A, B, C, D).
const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// The digests of up to [`LANES`] messages of at most [`MAX_LEN`] bytes each, in order; lanes
/// past `messages.len()` are computed over empty messages and dropped. Only where
/// [`available`].
pub(crate) fn digests(messages: &[&[u8]]) -> [[u8; 16]; LANES] {
    debug_assert!(messages.len() <= LANES);
    // The padded blocks, as little-endian words, word-major: m[w][lane].
    let mut m = [[0u32; LANES]; 16];
    for (lane, msg) in messages.iter().enumerate() {
        debug_assert!(msg.len() <= MAX_LEN);
        let mut block = [0u8; 64];
        block[..msg.len()].copy_from_slice(msg);
        block[msg.len()] = 0x80;
        block[56..].copy_from_slice(&(msg.len() as u64 * 8).to_le_bytes());
        for (w, word) in block.chunks_exact(4).enumerate() {
            m[w][lane] = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        }
    }
    // The lanes left over hash empty messages: just the marker.
    m[0][messages.len()..].fill(0x80);
    let [a, b, c, d] = compress_avx2(&m);
    let mut out = [[0u8; 16]; LANES];
    for (lane, digest) in out.iter_mut().enumerate() {
        for (i, word) in [a, b, c, d].iter().enumerate() {
            digest[i * 4..i * 4 + 4].copy_from_slice(&word[lane].to_le_bytes());
        }
    }
    out
}

/// Whether [`digests`] runs here: with AVX2. Without it, one message at a time is faster:
/// with SSE2 alone, the sixteen lanes took longer than `md-5` (no vector rotate, and too
/// few registers). (The module is built for x86-64 only; other architectures are not
/// measured yet.)
pub(crate) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// [`compress`] built for AVX2, which holds eight lanes in one register.
fn compress_avx2(m: &[Words; 16]) -> [Words; 4] {
    #[target_feature(enable = "avx2")]
    fn avx2(m: &[Words; 16]) -> [Words; 4] {
        compress(m)
    }
    assert!(available(), "md5x used without AVX2");
    // SAFETY: the CPU has AVX2 (just asserted), the only thing `avx2` requires.
    #[allow(unsafe_code)]
    unsafe {
        avx2(m)
    }
}

/// One block per lane, from the initial state. Each step depends on the one before, so a
/// lane's 64 steps are a chain of dependent instructions; sixteen lanes are two vectors of
/// eight, two chains the CPU runs side by side.
#[inline(always)]
fn compress(m: &[Words; 16]) -> [Words; 4] {
    let mut s = [
        [INIT[0]; LANES],
        [INIT[1]; LANES],
        [INIT[2]; LANES],
        [INIT[3]; LANES],
    ];
    // A round at a time, so each loop has one function to unroll.
    for i in 0..16 {
        step(&mut s, m, i, i, |b, c, d| (b & c) | (!b & d));
    }
    for i in 16..32 {
        step(&mut s, m, i, (5 * i + 1) % 16, |b, c, d| (d & b) | (!d & c));
    }
    for i in 32..48 {
        step(&mut s, m, i, (3 * i + 5) % 16, |b, c, d| b ^ c ^ d);
    }
    for i in 48..64 {
        step(&mut s, m, i, (7 * i) % 16, |b, c, d| c ^ (b | !d));
    }
    let [a, b, c, d] = s;
    [
        lanes(|l| a[l].wrapping_add(INIT[0])),
        lanes(|l| b[l].wrapping_add(INIT[1])),
        lanes(|l| c[l].wrapping_add(INIT[2])),
        lanes(|l| d[l].wrapping_add(INIT[3])),
    ]
}

/// Step `i` of RFC 1321, taking message word `g`: (A, B, C, D) becomes
/// (D, B + ((A + F(B, C, D) + K[i] + M[g]) <<< S), B, C).
#[inline(always)]
fn step(s: &mut [Words; 4], m: &[Words; 16], i: usize, g: usize, f: impl Fn(u32, u32, u32) -> u32) {
    let [a, b, c, d] = *s;
    let shift = S[i / 16][i % 4];
    let sum = lanes(|l| {
        a[l].wrapping_add(f(b[l], c[l], d[l]))
            .wrapping_add(K[i])
            .wrapping_add(m[g][l])
            .rotate_left(shift)
            .wrapping_add(b[l])
    });
    *s = [d, sum, b, c];
}

/// `f` of each lane. A plain loop: `std::array::from_fn` was left a call per step.
#[inline(always)]
fn lanes(f: impl Fn(usize) -> u32) -> Words {
    let mut out = [0; LANES];
    for (l, word) in out.iter_mut().enumerate() {
        *word = f(l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};
    use proptest::prelude::*;

    fn reference(msg: &[u8]) -> [u8; 16] {
        Md5::digest(msg).into()
    }

    #[test]
    fn rfc_1321_vectors() {
        if !available() {
            return;
        }
        let msgs: [&[u8]; 5] = [
            b"",
            b"a",
            b"abc",
            b"message digest",
            b"abcdefghijklmnopqrstuvwxyz",
        ];
        let out = digests(&msgs);
        assert_eq!(
            out[0],
            *b"\xd4\x1d\x8c\xd9\x8f\x00\xb2\x04\xe9\x80\x09\x98\xec\xf8\x42\x7e"
        );
        for (msg, digest) in msgs.iter().zip(out) {
            assert_eq!(digest, reference(msg));
        }
    }

    proptest! {
        #[test]
        fn every_lane_matches_md5(msgs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..=MAX_LEN), 0..=LANES)) {
            prop_assume!(available());
            let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            let out = digests(&refs);
            for (msg, digest) in msgs.iter().zip(out) {
                prop_assert_eq!(digest, reference(msg));
            }
        }
    }
}
