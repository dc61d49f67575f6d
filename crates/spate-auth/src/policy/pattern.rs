//! IAM's wildcard matching: `*` matches any run of characters (including none), `?` exactly
//! one. Actions compare without regard to case, resource ARNs with it, as IAM does.

/// Whether `text` matches `pattern` character by character (case-sensitive).
pub fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with one backtrack point (the last `*`): linear in practice and never
    // exponential, whatever the pattern, since a later `*` supersedes an earlier one.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// [`matches`] ignoring ASCII case, for action names (`kinesis:putrecord` is `kinesis:PutRecord`).
pub fn matches_ignoring_case(pattern: &str, text: &str) -> bool {
    matches(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_text_matches_only_itself() {
        assert!(matches("abc", "abc"));
        assert!(!matches("abc", "abcd"));
        assert!(!matches("abcd", "abc"));
        assert!(!matches("abc", "ABC"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
    }

    #[test]
    fn star_matches_any_run_including_none() {
        assert!(matches("*", ""));
        assert!(matches("*", "anything at all"));
        assert!(matches("a*", "a"));
        assert!(matches("a*c", "abbbc"));
        assert!(matches("a*c", "ac"));
        assert!(!matches("a*c", "abcd"));
        assert!(matches("*c", "abcabc"));
        assert!(matches("a**b", "ab"));
        assert!(matches(
            "arn:aws:kinesis:*:111122223333:stream/*",
            "arn:aws:kinesis:us-east-1:111122223333:stream/orders"
        ));
        assert!(!matches(
            "arn:aws:kinesis:*:111122223333:stream/*",
            "arn:aws:kinesis:us-east-1:444455556666:stream/orders"
        ));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(!matches("a?c", "abbc"));
        assert!(matches("??", "éx"));
        assert!(matches("stream/s?", "stream/s1"));
        assert!(!matches("stream/s?", "stream/s"));
    }

    #[test]
    fn backtracking_finds_a_later_split() {
        assert!(matches("*ab*ab", "xxabyyabab"));
        assert!(!matches("*ab*ab", "xxabyyaba"));
        assert!(matches("a*?b", "axxb"));
        assert!(!matches("a*?b", "ab"));
        // The classic exponential case for naive recursion.
        let text = "a".repeat(200);
        assert!(!matches(&format!("{}b", "a*".repeat(50)), &text));
    }

    #[test]
    fn a_star_resource_pattern_is_not_matched_by_a_literal_star_resource_alone() {
        // Actions without a resource type are requested on the literal resource "*": only a
        // statement whose Resource is "*" (or ends in one that can match it) applies.
        assert!(matches("*", "*"));
        assert!(!matches("arn:aws:kinesis:*", "*"));
    }

    #[test]
    fn actions_ignore_case() {
        assert!(matches_ignoring_case(
            "kinesis:PutRecord",
            "KINESIS:putrecord"
        ));
        assert!(matches_ignoring_case("Kinesis:Put*", "kinesis:PutRecords"));
        assert!(matches_ignoring_case(
            "kinesis:Get?ecords",
            "kinesis:GetRecords"
        ));
        assert!(!matches_ignoring_case("kinesis:Put*", "kinesis:GetRecords"));
    }
}
