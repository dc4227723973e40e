//! Comparators: when is a target value "the same" as the source value? One function per rule,
//! chosen per field by the shape (exact, trimmed, case-insensitive, E.164 phone, instant).

use crate::shape::Comparator;

/// Whether `target` equals `source` under `comparator`.
pub fn equal(comparator: Comparator, source: &str, target: &str) -> bool {
    match comparator {
        Comparator::Exact => source == target,
        Comparator::Trimmed => source.trim() == target.trim(),
        Comparator::CaseInsensitive => source.trim().to_lowercase() == target.trim().to_lowercase(),
        Comparator::E164 => match (normalize_e164(source), normalize_e164(target)) {
            (Some(a), Some(b)) => a == b,
            _ => source.trim() == target.trim(),
        },
        Comparator::Time => match (
            humantime::parse_rfc3339_weak(source.trim()),
            humantime::parse_rfc3339_weak(target.trim()),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => source.trim() == target.trim(),
        },
    }
}

/// `+<digits>` for a phone number written with its country code (`+1 (415) 555-0132`,
/// `0049 30 1234567`); `None` when it has no country code or too few digits to be one.
pub fn normalize_e164(phone: &str) -> Option<String> {
    let trimmed = phone.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let international = if trimmed.starts_with('+') {
        digits
    } else {
        digits.strip_prefix("00")?.to_string()
    };
    (8..=15)
        .contains(&international.len())
        .then(|| format!("+{international}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Comparator::*;

    #[test]
    fn comparators() {
        let cases = [
            (Exact, "Jane", "Jane", true),
            (Exact, "Jane", "jane", false),
            (Trimmed, "  Jane ", "Jane", true),
            (CaseInsensitive, "JANE@ACME.COM", "jane@acme.com", true),
            (CaseInsensitive, "jane@acme.com", "jane@acme.co", false),
            (E164, "+1 (415) 555-0132", "+14155550132", true),
            (E164, "0049 30 1234567", "+49 30 1234567", true),
            (E164, "+1 415-555-0132", "+1 415-555-0133", false),
            (
                Time,
                "2024-01-01T00:00:00Z",
                "2024-01-01T00:00:00.000Z",
                true,
            ),
            (Time, "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", false),
        ];
        for (cmp, a, b, expected) in cases {
            assert_eq!(equal(cmp, a, b), expected, "{cmp:?} {a:?} {b:?}");
        }
    }

    #[test]
    fn e164_needs_a_country_code() {
        assert_eq!(
            normalize_e164("+81 3-1234-5678").as_deref(),
            Some("+81312345678")
        );
        assert_eq!(normalize_e164("(415) 555-0132"), None);
        assert_eq!(normalize_e164("+1 2"), None);
    }
}
