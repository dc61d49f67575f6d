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
    }
}
