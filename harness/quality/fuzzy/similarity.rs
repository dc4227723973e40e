//! Allocation-free string similarity for the pair scorer. Normalised identifying fields are short
//! and almost always ASCII, so Jaro–Winkler and Levenshtein work on bytes with the match flags in
//! a `u64` bitmask and the Levenshtein row on the stack; anything longer than 64 bytes or not
//! ASCII falls back to `strsim` (same definitions, same results, one allocation).

/// Jaro–Winkler similarity, exactly as `strsim::jaro_winkler` defines it (prefix scale 0.1,
/// up to 4 characters, boost above 0.7).
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if !(x.is_ascii() && y.is_ascii()) || x.len() > 64 || y.len() > 64 {
        return strsim::jaro_winkler(a, b);
    }
    let sim = jaro_bytes(x, y);
    if sim > 0.7 {
        let prefix = x.iter().take(4).zip(y).take_while(|(p, q)| p == q).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

/// Jaro similarity of two byte strings of at most 64 bytes each.
fn jaro_bytes(a: &[u8], b: &[u8]) -> f64 {
    debug_assert!(a.len() <= 64 && b.len() <= 64);
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let range = (a.len().max(b.len()) / 2).saturating_sub(1);
    let (mut a_flags, mut b_flags) = (0u64, 0u64);
    let mut matches = 0usize;
    for (i, &c) in a.iter().enumerate() {
        let lo = i.saturating_sub(range);
        let hi = b.len().min(i + range + 1);
        for (j, &d) in b.iter().enumerate().take(hi).skip(lo) {
            if c == d && b_flags & (1 << j) == 0 {
                a_flags |= 1 << i;
                b_flags |= 1 << j;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    // Matched characters of a and of b, in order: count the positions where they differ.
    let mut transpositions = 0usize;
    let mut rest = b_flags;
    let mut flags = a_flags;
    while flags != 0 {
        let i = flags.trailing_zeros() as usize;
        let j = rest.trailing_zeros() as usize;
        if a[i] != b[j] {
            transpositions += 1;
        }
        flags &= flags - 1;
        rest &= rest - 1;
    }
    let m = matches as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (matches - transpositions / 2) as f64 / m) / 3.0
}

/// Normalised Levenshtein similarity, `1 - distance / max(len)`, as
/// `strsim::normalized_levenshtein` defines it (over characters).
pub fn normalized_levenshtein(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if !(x.is_ascii() && y.is_ascii()) || y.len() > 64 {
        return strsim::normalized_levenshtein(a, b);
    }
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    1.0 - levenshtein_bytes(x, y) as f64 / x.len().max(y.len()) as f64
}

/// Edit distance with one row of at most 65 cells on the stack.
fn levenshtein_bytes(a: &[u8], b: &[u8]) -> usize {
    let mut row = [0usize; 65];
    for (j, cell) in row.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for (i, &c) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &d) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(c != d));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Normalised optimal-string-alignment similarity, `1 - osa / max(len)`, as
/// `strsim::osa_distance` counts (an adjacent transposition is one edit, the commonest typo in
/// dates and numbers): for birth dates, postcodes and identifiers.
pub fn normalized_osa(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    let distance = if !(x.is_ascii() && y.is_ascii()) || y.len() > 64 {
        strsim::osa_distance(a, b)
    } else {
        osa_bytes(x, y)
    };
    1.0 - distance as f64 / a.chars().count().max(b.chars().count()) as f64
}

/// Optimal string alignment distance with three rows of at most 65 cells on the stack.
fn osa_bytes(a: &[u8], b: &[u8]) -> usize {
    let (mut before, mut prev, mut row) = ([0usize; 65], [0usize; 65], [0usize; 65]);
    for (j, cell) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for (i, &c) in a.iter().enumerate() {
        row[0] = i + 1;
        for (j, &d) in b.iter().enumerate() {
            let mut best = (prev[j + 1] + 1)
                .min(row[j] + 1)
                .min(prev[j] + usize::from(c != d));
            if i > 0 && j > 0 && c == b[j - 1] && a[i - 1] == d {
                best = best.min(before[j - 1] + 1);
            }
            row[j + 1] = best;
        }
        before = prev;
        prev = row;
    }
    prev[b.len()]
}

/// True when `a` and `b` are equal once ASCII digits are removed from both.
pub fn equal_but_digits(a: &str, b: &str) -> bool {
    fn letters(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes().filter(|c| !c.is_ascii_digit())
    }
    letters(a).eq(letters(b))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn classic_values() {
        // Winkler's examples.
        assert!((jaro_winkler("martha", "marhta") - 0.9611).abs() < 1e-4);
        assert!((jaro_winkler("dwayne", "duane") - 0.84).abs() < 1e-4);
        assert!((jaro_winkler("dixon", "dicksonx") - 0.8133).abs() < 1e-4);
        assert_eq!(jaro_winkler("", ""), 1.0);
        assert_eq!(jaro_winkler("a", ""), 0.0);
        assert_eq!(jaro_winkler("abc", "xyz"), 0.0);
        assert!(close(
            normalized_levenshtein("kitten", "sitting"),
            1.0 - 3.0 / 7.0
        ));
        assert_eq!(normalized_levenshtein("", ""), 1.0);
        assert!(close(
            normalized_osa("19560409", "19564009"),
            1.0 - 1.0 / 8.0
        ));
        assert!(close(normalized_osa("ca", "abc"), 1.0 - 3.0 / 3.0));
        assert_eq!(normalized_osa("", ""), 1.0);
        assert!(equal_but_digits("janedoe1", "janedoe22"));
        assert!(!equal_but_digits("janedoe1", "janedoex"));
        assert!(equal_but_digits("janedoe1", "jane2doe"));
    }

    #[test]
    fn non_ascii_and_long_strings_fall_back_to_the_same_definition() {
        for (a, b) in [("müller", "mueller"), ("josé", "jose"), ("山田", "山本")] {
            assert!(
                close(jaro_winkler(a, b), strsim::jaro_winkler(a, b)),
                "{a} {b}"
            );
            assert!(close(
                normalized_levenshtein(a, b),
                strsim::normalized_levenshtein(a, b)
            ));
        }
        let long = "a".repeat(70) + "b";
        let other = "a".repeat(71);
        assert!(close(
            jaro_winkler(&long, &other),
            strsim::jaro_winkler(&long, &other)
        ));
    }

    proptest! {
        #[test]
        fn bytes_agree_with_strsim(a in "[a-e0-9 ]{0,64}", b in "[a-e0-9 ]{0,64}") {
            prop_assert!(close(jaro_winkler(&a, &b), strsim::jaro_winkler(&a, &b)), "{a:?} {b:?}");
            prop_assert!(close(
                normalized_levenshtein(&a, &b),
                strsim::normalized_levenshtein(&a, &b)
            ), "{a:?} {b:?}");
            prop_assert_eq!(osa_bytes(a.as_bytes(), b.as_bytes()), strsim::osa_distance(&a, &b));
        }
    }
}
