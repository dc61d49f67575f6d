//! Sequence numbers in AWS's 56-digit layout (reference §5.1).
//!
//! The 186-bit number, from the top: the constant 2 (4 bits), the shard's creation time in
//! epoch seconds (36), the low nibble of the shard index (4), the per-shard counter (64), a
//! zero byte (8), the record's arrival time in epoch seconds (36), the shard index (32) and
//! the format version 2 (4). Within one shard everything above the counter is constant, so
//! numeric order is counter order.

use std::fmt;

/// The counter value AWS gives the `EndingSequenceNumber` of a closed shard.
pub const CLOSED_SHARD_COUNTER: u64 = 0x7fff_ffff_ffff_ffff;

/// The fields of a sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceNumber {
    pub shard_created_secs: u64,
    pub shard_index: u32,
    pub counter: u64,
    pub arrival_secs: u64,
}

const SECS_MASK: u64 = (1 << 36) - 1;

impl SequenceNumber {
    /// Digits of every sequence number: the lead 2 puts each in [2^185, 3 * 2^184), all 56
    /// digits long, so a reply can be sized without formatting its numbers first.
    pub const DECIMAL_LEN: usize = 56;
}

/// A 256-bit unsigned integer as little-endian 64-bit limbs: just enough arithmetic for
/// decimal conversion, which is all sequence numbers need.
type Limbs = [u64; 4];

impl SequenceNumber {
    fn to_limbs(self) -> Limbs {
        let idx = u128::from(self.shard_index);
        let counter = u128::from(self.counter);
        let lo: u128 = 2
            | idx << 4
            | u128::from(self.arrival_secs & SECS_MASK) << 36
            | (counter & ((1 << 48) - 1)) << 80;
        let hi: u128 = counter >> 48
            | (idx & 0xF) << 16
            | u128::from(self.shard_created_secs & SECS_MASK) << 20
            | 2 << 56;
        [lo as u64, (lo >> 64) as u64, hi as u64, (hi >> 64) as u64]
    }

    fn from_limbs(limbs: Limbs) -> Option<SequenceNumber> {
        let lo = u128::from(limbs[0]) | u128::from(limbs[1]) << 64;
        let hi = u128::from(limbs[2]) | u128::from(limbs[3]) << 64;
        let version = lo & 0xF;
        let lead = hi >> 56;
        if version != 2 || lead != 2 {
            return None;
        }
        let shard_index = ((lo >> 4) & 0xFFFF_FFFF) as u32;
        if (hi >> 16) & 0xF != u128::from(shard_index & 0xF) || (lo >> 72) & 0xFF != 0 {
            return None;
        }
        Some(SequenceNumber {
            shard_created_secs: ((hi >> 20) as u64) & SECS_MASK,
            shard_index,
            counter: ((lo >> 80) as u64) | ((hi & 0xFFFF) as u64) << 48,
            arrival_secs: ((lo >> 36) as u64) & SECS_MASK,
        })
    }

    /// Parses a decimal sequence number; `None` if it is not one this layout produces.
    pub fn parse(text: &str) -> Option<SequenceNumber> {
        if text.is_empty() || text.len() > 129 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut limbs: Limbs = [0; 4];
        for digit in text.bytes() {
            let mut carry = u128::from(digit - b'0');
            for limb in limbs.iter_mut() {
                let v = u128::from(*limb) * 10 + carry;
                *limb = v as u64;
                carry = v >> 64;
            }
            if carry != 0 {
                return None;
            }
        }
        SequenceNumber::from_limbs(limbs)
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0; DIGITS_MAX];
        let len = self.digits(&mut text);
        f.write_str(std::str::from_utf8(&text[..len]).map_err(|_| fmt::Error)?)
    }
}

/// As its decimal text, the only form clients see.
impl serde::Serialize for SequenceNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = [0; DIGITS_MAX];
        let len = self.digits(&mut text);
        let text = std::str::from_utf8(&text[..len]).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(text)
    }
}

/// 2^256 < 10^81: no sequence number has more digits.
const DIGITS_MAX: usize = 81;

/// `00`, `01`, … `99`.
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0; 200];
    let mut n = 0;
    while n < 100 {
        pairs[2 * n] = b'0' + (n / 10) as u8;
        pairs[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    pairs
};

impl SequenceNumber {
    /// The decimal text, without the formatting machinery `to_string` goes through: every
    /// put reply and every record read carries one.
    pub fn to_decimal(&self) -> String {
        let mut text = [0; DIGITS_MAX];
        let len = self.digits(&mut text);
        // Digits only, so always valid; `from_utf8` checks that fast, unlike the lossy form.
        std::str::from_utf8(&text[..len])
            .map(str::to_owned)
            .unwrap_or_default()
    }

    /// Writes the decimal digits to the front of `text`; returns how many.
    ///
    /// Long division by 10^9 over 32-bit words: every step is a `u64` division by a constant,
    /// which compiles to a multiply, where `u128` steps would call a division routine. A
    /// GetRecords page formats ten thousand of these.
    fn digits(&self, text: &mut [u8; DIGITS_MAX]) -> usize {
        const CHUNK: u64 = 1_000_000_000;
        // Most significant first.
        let mut words = [0u32; 8];
        for (i, limb) in self.to_limbs().iter().rev().enumerate() {
            words[2 * i] = (limb >> 32) as u32;
            words[2 * i + 1] = *limb as u32;
        }
        // 2^256 < 10^81: at most nine chunks of nine digits, least significant first.
        let mut chunks = [0u32; 9];
        let mut used = 0;
        let mut top = 0;
        loop {
            while top < words.len() && words[top] == 0 {
                top += 1;
            }
            if top == words.len() {
                break;
            }
            let mut rem = 0u64;
            for word in &mut words[top..] {
                // rem < 10^9, so this is below 10^9 * 2^32 and the quotient fits 32 bits.
                let v = rem << 32 | u64::from(*word);
                *word = (v / CHUNK) as u32;
                rem = v % CHUNK;
            }
            chunks[used] = rem as u32;
            used += 1;
        }
        let mut len = 0;
        for (i, &chunk) in chunks[..used].iter().rev().enumerate() {
            // The lead nibble is always 2, so the number is never zero; only the first chunk
            // goes without leading zeros.
            let digits = if i == 0 {
                chunk.checked_ilog10().map_or(1, |d| d as usize + 1)
            } else {
                9
            };
            // Two digits a step, from a table: half the divisions.
            let (mut rest, mut at) = (chunk as usize, len + digits);
            while at >= len + 2 {
                let pair = rest % 100 * 2;
                text[at - 2..at].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
                rest /= 100;
                at -= 2;
            }
            if at > len {
                text[len] = b'0' + rest as u8;
            }
            len += digits;
        }
        len
    }
}

/// 2^80 in decimal: what one more counter adds to a sequence number (the counter's lowest bit
/// is bit 80).
const COUNTER_STEP: &[u8] = b"1208925819614629174706176";

/// Formats the sequence numbers of a run of records, such as a page of one shard's, faster
/// than one at a time. Consecutive records usually differ only in the counter, by one, which
/// adds exactly 2^80: adding its 25 digits to the last number's text replaces the conversion
/// of all 186 bits. Anything else is formatted in full.
#[derive(Debug)]
pub struct SequenceFormatter {
    last: Option<SequenceNumber>,
    /// The last number's decimal digits, `text[..len]`: held inline, so that a reply writer
    /// can copy each number's digits straight into its output without a string per record.
    text: [u8; DIGITS_MAX],
    len: usize,
}

impl Default for SequenceFormatter {
    fn default() -> SequenceFormatter {
        SequenceFormatter {
            last: None,
            text: [0; DIGITS_MAX],
            len: 0,
        }
    }
}

impl SequenceFormatter {
    /// The decimal digits of `number` (ASCII `0`-`9` only, [`SequenceNumber::DECIMAL_LEN`] of
    /// them), valid until the next call.
    pub fn digits(&mut self, number: SequenceNumber) -> &[u8] {
        let follows = self.last.is_some_and(|last| {
            last.counter.checked_add(1) == Some(number.counter)
                && SequenceNumber {
                    counter: number.counter,
                    ..last
                } == number
        });
        self.last = Some(number);
        if !(follows && self.add_counter_step()) {
            self.len = number.digits(&mut self.text);
        }
        &self.text[..self.len]
    }

    pub fn format(&mut self, number: SequenceNumber) -> String {
        // Digits only, so always UTF-8.
        String::from_utf8(self.digits(number).to_vec()).unwrap_or_else(|_| number.to_decimal())
    }

    /// Adds 2^80 to `text` in place; `false` (leaving it spoilt) if the sum needs a digit more.
    ///
    /// Eight digits a step (SWAR), where a digit at a time cost ~300 instructions a number:
    /// each byte of a word holds one digit's sum plus 246, which passes 255, and so carries
    /// into the byte above, exactly when the digits' sum reaches ten.
    fn add_counter_step(&mut self) -> bool {
        const ZEROS: u64 = u64::from_ne_bytes([b'0'; 8]);
        const ONES: u64 = u64::from_ne_bytes([1; 8]);
        let Some(start) = self.len.checked_sub(COUNTER_STEP.len()) else {
            return false;
        };
        let (above, text) = self.text[..self.len].split_at_mut(start);
        let mut words = text.rchunks_exact_mut(8);
        let mut steps = COUNTER_STEP.rchunks_exact(8);
        let mut carry = 0;
        for (word, step) in (&mut words).zip(&mut steps) {
            let mut a = [0; 8];
            a.copy_from_slice(word);
            let mut b = [0; 8];
            b.copy_from_slice(step);
            // Big-endian, so the digit on the right is the low byte. Digit values sum to at
            // most 18 a byte: no byte carries until the 246s and the carry come in.
            let digits = (u64::from_be_bytes(a) - ZEROS) + (u64::from_be_bytes(b) - ZEROS);
            let sum = u128::from(digits) + u128::from(ONES * 246) + carry;
            carry = sum >> 64;
            let sum = sum as u64;
            // A byte that did not carry holds its sum plus 246: its top bit is set.
            let uncarried = (sum >> 7) & ONES;
            word.copy_from_slice(&(sum - uncarried * 246 + ZEROS).to_be_bytes());
        }
        let mut carry = carry as u8;
        let digits = words.into_remainder();
        for (digit, step) in digits.iter_mut().zip(steps.remainder()).rev() {
            let sum = (*digit - b'0') + (step - b'0') + carry;
            (*digit, carry) = if sum >= 10 {
                (b'0' + sum - 10, 1)
            } else {
                (b'0' + sum, 0)
            };
        }
        for digit in above.iter_mut().rev() {
            if carry == 0 {
                break;
            }
            (*digit, carry) = if *digit == b'9' {
                (b'0', 1)
            } else {
                (*digit + 1, 0)
            };
        }
        carry == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_counter_step_is_two_to_the_eightieth() {
        assert_eq!(COUNTER_STEP, (1u128 << 80).to_string().as_bytes());
    }

    #[test]
    fn matches_reference_value() {
        let seq = SequenceNumber {
            shard_created_secs: 1_700_000_000,
            shard_index: 0,
            counter: 0,
            arrival_secs: 1_700_000_000,
        };
        assert_eq!(
            seq.to_string(),
            "49646437577108476416916876405825929425585429676275269634"
        );
    }

    #[test]
    fn decodes_real_aws_numbers() {
        let a = SequenceNumber::parse("49590338271490256608559692538361571095921575989136588898")
            .expect("real number");
        assert_eq!(a.shard_index, 6);
        let b = SequenceNumber::parse("49647060812288014558888668248263847763900017820167045122")
            .expect("real number");
        assert_eq!(b.arrival_secs, 1_701_760_152);
    }

    #[test]
    fn rejects_foreign_numbers() {
        assert_eq!(SequenceNumber::parse("0"), None);
        assert_eq!(SequenceNumber::parse("12345"), None);
        assert_eq!(SequenceNumber::parse(&"9".repeat(129)), None);
        assert_eq!(SequenceNumber::parse("abc"), None);
    }

    fn any_seq() -> impl Strategy<Value = SequenceNumber> {
        (
            0u64..1 << 36,
            any::<u32>(),
            0u64..=CLOSED_SHARD_COUNTER,
            0u64..1 << 36,
        )
            .prop_map(|(shard_created_secs, shard_index, counter, arrival_secs)| {
                SequenceNumber {
                    shard_created_secs,
                    shard_index,
                    counter,
                    arrival_secs,
                }
            })
    }

    /// The earlier `u128` formatting, as an oracle for the faster one.
    fn reference_decimal(seq: SequenceNumber) -> String {
        const CHUNK: u128 = 10_000_000_000_000_000_000;
        let mut limbs = seq.to_limbs();
        let mut chunks = Vec::new();
        while limbs.iter().any(|&l| l != 0) {
            let mut rem: u128 = 0;
            for limb in limbs.iter_mut().rev() {
                let v = rem << 64 | u128::from(*limb);
                *limb = (v / CHUNK) as u64;
                rem = v % CHUNK;
            }
            chunks.push(rem as u64);
        }
        let mut text = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for chunk in chunks.iter().rev() {
            text.push_str(&format!("{chunk:019}"));
        }
        text
    }

    fn as_big(text: &str) -> (usize, &str) {
        (text.len(), text)
    }

    proptest! {
        #[test]
        fn formats_like_long_division(seq in any_seq()) {
            prop_assert_eq!(seq.to_string(), reference_decimal(seq));
            prop_assert_eq!(seq.to_decimal(), reference_decimal(seq));
            prop_assert_eq!(seq.to_decimal().len(), SequenceNumber::DECIMAL_LEN);
        }

        /// Runs of consecutive counters (some across carries of many digits, some at the
        /// counter's very top), broken now and then by jumps and new arrival seconds.
        #[test]
        fn the_formatter_formats_like_display(
            start in any_seq(),
            steps in prop::collection::vec(prop_oneof![
                8 => Just((1u64, 0u64)),
                1 => (0u64..1000, 0u64..3),
                1 => (any::<u64>(), any::<u64>()),
            ], 1..60),
            top in any::<bool>(),
        ) {
            let mut formatter = SequenceFormatter::default();
            // Fed the same numbers, but read through `digits`.
            let mut digits = SequenceFormatter::default();
            let mut seq = start;
            if top {
                // Near the counter's top, where the next counter is no longer one more.
                seq.counter = u64::MAX - seq.counter % 50;
            }
            for (counter_step, arrival_step) in steps {
                prop_assert_eq!(formatter.format(seq), seq.to_string());
                prop_assert_eq!(digits.digits(seq).to_vec(), seq.to_decimal().into_bytes());
                seq.counter = seq.counter.wrapping_add(counter_step);
                seq.arrival_secs = (seq.arrival_secs + arrival_step) & SECS_MASK;
            }
            prop_assert_eq!(formatter.format(seq), seq.to_string());
            prop_assert_eq!(digits.digits(seq).to_vec(), seq.to_decimal().into_bytes());
        }

        #[test]
        fn round_trips(seq in any_seq()) {
            prop_assert_eq!(SequenceNumber::parse(&seq.to_string()), Some(seq));
        }

        #[test]
        fn order_within_a_shard_is_counter_order(
            base in any_seq(), c1 in 0u64..=CLOSED_SHARD_COUNTER, c2 in 0u64..=CLOSED_SHARD_COUNTER,
            a1 in 0u64..1 << 36, a2 in 0u64..1 << 36,
        ) {
            let one = SequenceNumber { counter: c1, arrival_secs: a1, ..base }.to_string();
            let two = SequenceNumber { counter: c2, arrival_secs: a2, ..base }.to_string();
            // Equal-length decimal strings compare like the numbers they spell.
            prop_assert_eq!(c1.cmp(&c2).then(a1.cmp(&a2)), as_big(&one).cmp(&as_big(&two)));
        }
    }
}
