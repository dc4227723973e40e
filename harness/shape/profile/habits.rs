//! Formats and writing habits of a column, learnt from its reservoir sample as distributions of
//! generalised patterns: phone spellings with every digit masked (`+## # ## ## ## ##`), email
//! local-part styles (`first.last`, `flast9`), top-level domains, company legal-form suffixes,
//! word counts, and the shares of values in capitals or lower case. A pattern is kept only if at
//! least `k` sampled values share it (so at least `k` rows of the export do); none carries a
//! digit, a name or any other part of one person's value.

use std::collections::HashMap;

/// Patterns kept (shared by at least `k` values) with their counts, most frequent first, and the
/// number of values whose pattern was rarer (or that had none).
#[derive(Debug, Clone, PartialEq)]
pub struct Learnt<T> {
    pub kept: Vec<(T, u64)>,
    pub withheld: u64,
}

impl<T> Learnt<T> {
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

/// Counts `pattern(value)` over `values` and keeps the patterns at least `k` values share.
pub fn learn<'a, T: std::hash::Hash + Eq + Ord + Clone>(
    values: impl Iterator<Item = &'a str>,
    k: u64,
    pattern: impl Fn(&str) -> Option<T>,
) -> Learnt<T> {
    let mut counts: HashMap<T, u64> = HashMap::new();
    let mut none = 0;
    for v in values {
        match pattern(v) {
            Some(p) => *counts.entry(p).or_insert(0) += 1,
            None => none += 1,
        }
    }
    let mut kept: Vec<(T, u64)> = Vec::new();
    let mut withheld = none;
    for (p, n) in counts {
        if n >= k.max(1) {
            kept.push((p, n));
        } else {
            withheld += n;
        }
    }
    kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Learnt { kept, withheld }
}

/// `+33 1 19 73 92 23` → `+## # ## ## ## ##`; `None` when the value has no digit or holds
/// anything but digits, separators (`+ - ( ) . /` and spaces) and an extension mark (`x`,
/// `ext`, `ext.`): a template never carries a letter typed by a person.
pub fn phone_template(v: &str) -> Option<String> {
    let v = v.trim();
    if !v.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let lower = v.to_ascii_lowercase();
    let (number, extension) = match lower.split_once("ext") {
        Some((n, e)) => (n, Some(format!("ext{e}"))),
        None => match lower.split_once('x') {
            Some((n, e)) => (n, Some(format!("x{e}"))),
            None => (lower.as_str(), None),
        },
    };
    let separators = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || b" +-()./".contains(&b))
    };
    let extension_ok = extension.as_deref().is_none_or(|e| {
        let digits = e.trim_start_matches("ext").trim_start_matches('x');
        let digits = digits.trim_start_matches(['.', ' ']);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    if !separators(number) || !extension_ok {
        return None;
    }
    Some(
        v.chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect(),
    )
}

/// `SW1A 1AA` → `@@#@ #@@`, `75008` → `#####`: a postal code's format, every digit `#` and
/// every letter `@`; `None` unless it holds a digit and only ASCII letters, digits, spaces and
/// dashes, at most 10 characters.
pub fn postal_template(v: &str) -> Option<String> {
    let v = v.trim();
    let ok = (1..=10).contains(&v.len())
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-');
    ok.then(|| {
        v.chars()
            .map(|c| match c {
                '0'..='9' => '#',
                c if c.is_ascii_alphabetic() => '@',
                c => c,
            })
            .collect()
    })
}

/// The style of an email's local part, from its shape alone: `jane.doe` → `first.last`,
/// `jdoe42` → `flast9` (one word: the generator writes initial + last name).
pub fn local_part_style(email: &str) -> Option<&'static str> {
    let (local, _) = email.trim().rsplit_once('@')?;
    let local = local.to_lowercase();
    let body = local.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = body.len() < local.len();
    // Letters of any script (`andré.müller`): the generator writes the names' ASCII slugs.
    let word = |w: &str| !w.is_empty() && w.chars().all(char::is_lowercase);
    let base = if word(body) {
        "flast"
    } else if let Some((a, b)) = body.split_once('.')
        && word(a)
        && word(b)
    {
        "first.last"
    } else if let Some((a, b)) = body.split_once('_')
        && word(a)
        && word(b)
    {
        "first_last"
    } else if let Some((a, b)) = body.split_once('-')
        && word(a)
        && word(b)
    {
        "first-last"
    } else {
        return None;
    };
    Some(match (base, digits) {
        ("flast", false) => "flast",
        ("flast", true) => "flast9",
        ("first.last", false) => "first.last",
        ("first.last", true) => "first.last9",
        ("first_last", false) => "first_last",
        ("first_last", true) => "first_last9",
        (_, false) => "first-last",
        (_, true) => "first-last9",
    })
}

/// Free-mail providers: an address there says nothing about the person's company.
pub const FREE_MAIL_DOMAINS: [&str; 14] = [
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "free.fr",
];

/// The host of an email, URL or domain value, lower case.
pub fn host(v: &str) -> String {
    let v = v.trim().to_ascii_lowercase();
    let v = v.rsplit_once('@').map_or(v.as_str(), |(_, d)| d);
    let v = v.split_once("://").map_or(v, |(_, rest)| rest);
    let v = v.strip_prefix("www.").unwrap_or(v);
    v.split(['/', '?', '#', ':'])
        .next()
        .unwrap_or("")
        .to_string()
}

pub fn is_free_mail(v: &str) -> bool {
    FREE_MAIL_DOMAINS.contains(&host(v).as_str())
}

/// `acme.co.uk` → `co.uk`, `acme.io` → `io`: a public suffix, never the name before it.
pub fn tld(v: &str) -> Option<String> {
    let host = host(v);
    let labels: Vec<&str> = host.split('.').collect();
    let ok = |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_lowercase());
    let n = labels.len();
    // Country and common generic TLDs are 2 to 6 letters; a longer last label is not kept.
    if n < 2
        || !ok(labels[n - 1])
        || labels[n - 1].len() > 6
        || labels[..n - 1].iter().any(|l| l.is_empty())
    {
        return None;
    }
    if n >= 3 && labels[n - 1].len() == 2 && labels[n - 2].len() <= 3 && ok(labels[n - 2]) {
        Some(format!("{}.{}", labels[n - 2], labels[n - 1]))
    } else {
        Some(labels[n - 1].to_string())
    }
}

/// Whether a street line carries a house number (any digit: `12 Rees St`, `Flat 3`, `12a`).
pub fn has_house_number(v: &str) -> bool {
    v.bytes().any(|b| b.is_ascii_digit())
}

/// The last word of a name of two words or more (`Apex Bright AG` → `AG`).
pub fn last_word(v: &str) -> Option<String> {
    let words: Vec<&str> = v.split_whitespace().collect();
    (words.len() >= 2).then(|| words[words.len() - 1].to_string())
}

pub fn words(v: &str) -> Option<u32> {
    let n = v.split_whitespace().count() as u32;
    (n > 0).then_some(n)
}

/// `Some(true)`: ALL CAPITALS, `Some(false)`: all lower case, `None`: mixed or caseless.
pub fn case_of(v: &str) -> Option<bool> {
    let upper = v.chars().any(char::is_uppercase);
    let lower = v.chars().any(char::is_lowercase);
    match (upper, lower) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// Whitespace habits of one value: a leading space, a trailing space, a doubled inner space, a
/// tab, a non-breaking space (the shape's `leading_space_rate` … `nbsp_rate`, in that order).
pub fn spacing_of(v: &str) -> [bool; 5] {
    let inner = v.trim_matches([' ', '\t', '\u{a0}']);
    [
        v.starts_with([' ', '\t', '\u{a0}']),
        v.ends_with([' ', '\t', '\u{a0}']),
        inner.contains("  "),
        v.contains('\t'),
        v.contains('\u{a0}'),
    ]
}

/// The shape keys of [`spacing_of`]'s flags, with what each means for the reason comment.
pub const SPACING_KEYS: [(&str, &str); 5] = [
    ("leading_space_rate", "start with a space"),
    ("trailing_space_rate", "end with a space"),
    ("double_space_rate", "hold a doubled space between words"),
    ("tab_rate", "hold a tab"),
    ("nbsp_rate", "hold a non-breaking space"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_hold_no_digit_or_name() {
        assert_eq!(
            phone_template("+33 1 19 73 92 23").as_deref(),
            Some("+## # ## ## ## ##")
        );
        assert_eq!(
            phone_template("(936) 623-6629 x12").as_deref(),
            Some("(###) ###-#### x##")
        );
        assert_eq!(
            phone_template("+1 555 0100 ext. 7").as_deref(),
            Some("+# ### #### ext. #")
        );
        assert_eq!(phone_template("n/a"), None);
        assert_eq!(postal_template(" SW1A 1AA").as_deref(), Some("@@#@ #@@"));
        assert_eq!(postal_template("100-0001").as_deref(), Some("###-####"));
        assert_eq!(postal_template("Paris"), None);
        assert_eq!(postal_template("75008 Paris Cedex"), None);
        assert_eq!(phone_template("#5"), None);
        assert_eq!(phone_template("+1 555 0100 zqmarker"), None);
        assert_eq!(phone_template("555 0100 call Ann"), None);
        let styles = [
            ("emma.bernard@acme.io", Some("first.last")),
            ("EMMA.BERNARD@ACME.IO", Some("first.last")),
            ("andré.müller@acme.de", Some("first.last")),
            ("ebernard42@acme.io", Some("flast9")),
            ("emma_bernard@acme.io", Some("first_last")),
            ("emma-bernard7@acme.io", Some("first-last9")),
            ("e.m.b@acme.io", None),
            ("no-at-sign", None),
        ];
        for (email, style) in styles {
            assert_eq!(local_part_style(email), style, "{email}");
        }
        assert_eq!(tld("x@globalglobal.co.uk").as_deref(), Some("co.uk"));
        assert_eq!(tld("https://www.acme.io/about").as_deref(), Some("io"));
        assert_eq!(tld("mail.acme.com").as_deref(), Some("com"));
        assert_eq!(tld("localhost"), None);
        assert_eq!(tld("jane@zq.markerword"), None);
        assert!(is_free_mail("Jane@GMAIL.com") && !is_free_mail("jane@acme.com"));
        assert_eq!(last_word("Apex Bright AG").as_deref(), Some("AG"));
        assert_eq!(last_word("Initech"), None);
        assert_eq!(
            (
                case_of("ACME AG"),
                case_of("emma"),
                case_of("Emma"),
                case_of("山田")
            ),
            (Some(true), Some(false), None, None)
        );
    }

    #[test]
    fn whitespace_habits_are_told_apart() {
        assert_eq!(spacing_of("Jane"), [false; 5]);
        assert_eq!(spacing_of("  Jane "), [true, true, false, false, false]);
        assert_eq!(spacing_of("Acme  Corp"), [false, false, true, false, false]);
        assert_eq!(
            spacing_of("Acme\tCorp\u{a0}"),
            [false, true, false, true, true]
        );
    }

    #[test]
    fn only_patterns_shared_by_k_values_are_kept() {
        let values = ["a", "b", "b", "c", "c", "c"];
        let l = learn(values.iter().copied(), 2, |v| Some(v.to_string()));
        assert_eq!(l.kept, vec![("c".to_string(), 3), ("b".to_string(), 2)]);
        assert_eq!(l.withheld, 1);
    }
}
