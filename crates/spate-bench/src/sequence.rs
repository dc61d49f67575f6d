//! Kinesis sequence numbers: decimal strings of up to 128 digits (about 56 in practice),
//! larger than a u128. Kept as a 256-bit unsigned integer so they compare numerically and
//! copy cheaply (the recovery workload keeps a million of them).

use std::fmt;

/// Big-endian 64-bit limbs: the derived ordering is numeric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sequence([u64; 4]);

impl Sequence {
    pub fn parse(text: &str) -> Option<Sequence> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Up to 19 digits at a time fit a u64: a 56-digit number is three multiply-adds of
        // the limbs rather than 56 (W3's client parses 10,000 of them a page).
        let mut limbs = [0u64; 4];
        for chunk in text.as_bytes().chunks(19) {
            let value = chunk
                .iter()
                .fold(0u64, |v, &b| v * 10 + u64::from(b - b'0'));
            let mut carry = u128::from(value);
            let scale = u128::from(10u64.pow(chunk.len() as u32));
            for limb in limbs.iter_mut().rev() {
                let product = u128::from(*limb) * scale + carry;
                *limb = product as u64;
                carry = product >> 64;
            }
            if carry != 0 {
                return None;
            }
        }
        Some(Sequence(limbs))
    }

    /// Divides by 10 in place, returning the remainder.
    fn div10(limbs: &mut [u64; 4]) -> u64 {
        let mut remainder = 0u128;
        for limb in limbs.iter_mut() {
            let value = (remainder << 64) | u128::from(*limb);
            *limb = (value / 10) as u64;
            remainder = value % 10;
        }
        remainder as u64
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut limbs = self.0;
        let mut digits = Vec::new();
        loop {
            digits.push(b'0' + Sequence::div10(&mut limbs) as u8);
            if limbs == [0; 4] {
                break;
            }
        }
        digits.reverse();
        f.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders_numerically() {
        let text = "49680450626942913387212160578676507213634060407831265282";
        let sequence = Sequence::parse(text).unwrap();
        assert_eq!(sequence.to_string(), text);
        assert_eq!(Sequence::parse("0").unwrap().to_string(), "0");
        assert!(Sequence::parse("99").unwrap() < Sequence::parse("100").unwrap());
        assert!(
            Sequence::parse("49680450626942913387212160578676507213634060407831265282").unwrap()
                < Sequence::parse("49680450626942913387212160578676507213634060407831265283")
                    .unwrap()
        );
        assert!(Sequence::parse("").is_none());
        assert!(Sequence::parse("12a").is_none());
        assert!(Sequence::parse(&"9".repeat(80)).is_none());
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(Sequence::parse(max).unwrap(), Sequence([u64::MAX; 4]));
        assert!(Sequence::parse(&format!("{}6", &max[..max.len() - 1])).is_none());
    }

    /// The digit-at-a-time parse the chunked one must agree with.
    fn parse_by_digit(text: &str) -> Option<Sequence> {
        let mut limbs = [0u64; 4];
        for digit in text.bytes().map(|b| u64::from(b - b'0')) {
            let mut carry = u128::from(digit);
            for limb in limbs.iter_mut().rev() {
                let value = u128::from(*limb) * 10 + carry;
                *limb = value as u64;
                carry = value >> 64;
            }
            if carry != 0 {
                return None;
            }
        }
        Some(Sequence(limbs))
    }

    proptest::proptest! {
        #[test]
        fn chunked_parse_agrees_digit_by_digit(text in "[0-9]{1,80}") {
            proptest::prop_assert_eq!(Sequence::parse(&text), parse_by_digit(&text));
            if let Some(sequence) = Sequence::parse(&text) {
                let trimmed = text.trim_start_matches('0');
                proptest::prop_assert_eq!(sequence.to_string(), if trimmed.is_empty() { "0" } else { trimmed });
            }
        }
    }
}
