//! Pair scoring: a weighted mean of per-field similarities over the fields both records hold
//! (email 0.35, name 0.30, phone 0.25, company 0.10; where the roles map them, birth date and
//! other identifier 0.25 when they agree and 0.10 when they do not, address 0.15, postcode 0.10,
//! city 0.05). Fields absent from both records
//! take no part, so a CRM export scores as it did before those roles existed. Birth dates,
//! identifiers and postcodes use normalised optimal string alignment (a mistyped or transposed
//! digit stays close), addresses and cities Jaro–Winkler. Equal normalised values score 1 without
//! computing any similarity (most pairs in a block share the key exactly); otherwise names,
//! email local parts and companies use Jaro–Winkler (local parts equal but for digits count as
//! different accounts), and phones normalised Levenshtein, kept only for a one-digit typo. A pair compared on little evidence (less than 0.4 of the weight, e.g. only a
//! company) is scaled down, so a shared employer alone never makes a duplicate; two clearly
//! different employers (Jaro–Winkler below 0.8) scale the score by 0.9.

use std::sync::atomic::{AtomicU32, Ordering};

use super::Person;
use super::blocking::Blocks;
use super::similarity::{equal_but_digits, jaro_winkler, normalized_levenshtein, normalized_osa};

/// Score at or above which a pair is reported as a duplicate.
pub const DEFAULT_THRESHOLD: f64 = 0.9;

/// Two records (indices into the input, `left < right`) and their score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub left: u32,
    pub right: u32,
    pub score: f64,
}

fn similar(a: &str, b: &str, f: fn(&str, &str) -> f64) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        None
    } else if a == b {
        Some(1.0)
    } else {
        Some(f(a, b))
    }
}

fn name_similarity(a: &Person, b: &Person) -> Option<f64> {
    if a.last.is_empty() || b.last.is_empty() {
        return None;
    }
    let last = similar(&a.last, &b.last, jaro_winkler)?;
    let first = similar(&a.first, &b.first, jaro_winkler)
        // An initial matches its name.
        .map(|s| match (a.first.len(), b.first.len()) {
            (1, _) | (_, 1) if a.first.chars().next() == b.first.chars().next() => s.max(0.9),
            _ => s,
        });
    let straight = match first {
        Some(first) => 0.6 * last + 0.4 * first,
        None => last,
    };
    // First and last name swapped between systems.
    let swapped = similar(&a.first, &b.last, jaro_winkler)
        .zip(similar(&a.last, &b.first, jaro_winkler))
        .map_or(0.0, |(x, y)| 0.5 * (x + y));
    Some(straight.max(swapped))
}

/// Jaro–Winkler, except that local parts equal but for their digits (`jane.doe1`,
/// `jane.doe2`) are numbered accounts of different people, not typos.
fn email_similarity(a: &str, b: &str) -> f64 {
    if equal_but_digits(a, b) {
        0.5
    } else {
        jaro_winkler(a, b)
    }
}

/// One mistyped digit is the same number; more is another number.
fn phone_similarity(a: &str, b: &str) -> f64 {
    let s = normalized_levenshtein(a, b);
    if s >= 0.85 { s } else { 0.0 }
}

/// How alike two records are, 0..=1.
pub fn score(a: &Person, b: &Person) -> f64 {
    let email = similar(&a.email_local, &b.email_local, email_similarity).map(|s| {
        // The same local part at another domain is weaker evidence than the same address.
        if s == 1.0 && !a.email_domain.is_empty() && a.email_domain != b.email_domain {
            0.9
        } else {
            s
        }
    });
    let company = similar(&a.company, &b.company, jaro_winkler);
    let parts = [
        (0.35, email),
        (0.30, name_similarity(a, b)),
        (0.25, similar(&a.phone, &b.phone, phone_similarity)),
        (0.10, company),
    ];
    let (mut weight, mut total) = (0.0, 0.0);
    for (w, s) in parts {
        if let Some(s) = s {
            weight += w;
            total += w * s;
        }
    }
    if let (Some(x), Some(y)) = (a.extra.as_deref(), b.extra.as_deref()) {
        // A birth date or an identifier that agrees is strong evidence; one that disagrees is
        // weak evidence against, since registers mistype and replace them (Fellegi–Sunter: the
        // agreement weight log(m/u) of a field with many values dwarfs its disagreement weight).
        let telling = |s: Option<f64>| s.map(|s| (if s >= 0.8 { 0.25 } else { 0.10 }, s));
        let strong = [
            telling(similar(&x.birth_date, &y.birth_date, normalized_osa)),
            telling(similar(&x.id_number, &y.id_number, normalized_osa)),
        ];
        for (w, s) in strong.into_iter().flatten() {
            weight += w;
            total += w * s;
        }
        let parts = [
            (0.15, similar(&x.address, &y.address, jaro_winkler)),
            (0.10, similar(&x.postcode, &y.postcode, normalized_osa)),
            (0.05, similar(&x.city, &y.city, jaro_winkler)),
        ];
        for (w, s) in parts {
            if let Some(s) = s {
                weight += w;
                total += w * s;
            }
        }
    }
    if weight == 0.0 {
        return 0.0;
    }
    // Two different employers on record are evidence against one person, more than their
    // 0.10 weight says: namesakes at free-mail addresses otherwise pass on name and email alone.
    let employer = if company.is_some_and(|c| c < 0.8) {
        0.9
    } else {
        1.0
    };
    total / weight * (weight / 0.4).min(1.0) * employer
}

/// Records handed to a scoring thread at a time.
const CHUNK: u32 = 1024;

/// Every pair of `people` that shares a blocking key and scores at least `threshold`, ordered
/// by (left, right). Scoring runs on every core: threads take chunks of records in turn and
/// score each record against its later block partners, so no list of candidate pairs is built.
pub fn find_pairs(people: &[Person], threshold: f64) -> Vec<Pair> {
    let blocks = Blocks::new(people);
    let n = people.len() as u32;
    let next = AtomicU32::new(0);
    let judge = || {
        let mut found = Vec::new();
        let mut partners = Vec::new();
        loop {
            let start = next.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= n {
                break found;
            }
            for left in start..n.min(start + CHUNK) {
                blocks.partners(left, &mut partners);
                let a = &people[left as usize];
                for &right in &partners {
                    let s = score(a, &people[right as usize]);
                    if s >= threshold {
                        found.push(Pair {
                            left,
                            right,
                            score: s,
                        });
                    }
                }
            }
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut pairs = if threads < 2 || n < 2 * CHUNK {
        judge()
    } else {
        std::thread::scope(|scope| {
            let others: Vec<_> = (1..threads).map(|_| scope.spawn(judge)).collect();
            let mut pairs = judge();
            for other in others {
                pairs.extend(
                    other
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                );
            }
            pairs
        })
    };
    pairs.sort_unstable_by_key(|p| (p.left, p.right));
    pairs
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::quality::fuzzy::Roles;

    const FIRST: [&str; 16] = [
        "James",
        "Mary",
        "Robert",
        "Patricia",
        "John",
        "Jennifer",
        "Michael",
        "Linda",
        "David",
        "Elizabeth",
        "Hans",
        "Sophie",
        "Yuki",
        "Lucas",
        "Camille",
        "Ana",
    ];
    const LAST: [&str; 16] = [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Mueller",
        "Schmidt", "Tanaka", "Martin", "Bernard", "Silva", "Santos", "Wilson",
    ];
    const COMPANY: [&str; 8] = [
        "Acme Inc",
        "Globex GmbH",
        "Initech LLC",
        "Umbrella Ltd",
        "Hooli",
        "Vandelay Co",
        "Stark Industries",
        "Wayne Enterprises",
    ];

    fn typo(rng: &mut ChaCha8Rng, s: &str) -> String {
        let mut c: Vec<char> = s.chars().collect();
        let i = rng.random_range(1..c.len());
        match rng.random_range(0..3) {
            0 => c.swap(i - 1, i),
            1 => {
                c.remove(i);
            }
            _ => c.insert(i, c[i]),
        }
        c.into_iter().collect()
    }

    /// first name, last name, email, phone, company.
    type Row = [Option<String>; 5];

    /// `n` distinct people plus labelled near-duplicates of some of them, and hard negatives:
    /// colleagues (same last name and company), and namesakes (same name, nothing else).
    fn labelled(n: usize, seed: u64) -> (Vec<Row>, BTreeSet<(u32, u32)>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut rows: Vec<Row> = Vec::new();
        for i in 0..n {
            let first = FIRST[rng.random_range(0..16)];
            let last = LAST[rng.random_range(0..16)];
            rows.push([
                Some(first.to_string()),
                Some(last.to_string()),
                Some(format!(
                    "{}.{}{i}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                )),
                Some(format!("+1 415 {:03} {:04}", rng.random_range(200..999), i)),
                Some(COMPANY[rng.random_range(0..8)].to_string()),
            ]);
        }
        let mut truth = BTreeSet::new();
        for i in 0..n / 3 {
            let src = rows[i].clone();
            let [first, last, email, phone, company] = src;
            let (first, last) = (first.unwrap(), last.unwrap());
            let variant = match i % 5 {
                // A typo in the last name, email upper-cased, phone written without spaces.
                0 => [
                    Some(first.clone()),
                    Some(typo(&mut rng, &last)),
                    email.map(|e| e.to_uppercase()),
                    phone.map(|p| p.replace(' ', "")),
                    company,
                ],
                // Email missing, a first-name initial, the company's suffix dropped.
                1 => [
                    Some(first[..1].to_string()),
                    Some(last.clone()),
                    None,
                    phone,
                    company.map(|c| c.split(' ').next().unwrap().to_string()),
                ],
                // First and last swapped, phone missing.
                2 => [
                    Some(last.clone()),
                    Some(first.clone()),
                    email,
                    None,
                    company,
                ],
                // A typo in the first name and one digit of the phone.
                3 => [
                    Some(typo(&mut rng, &first)),
                    Some(last.clone()),
                    email,
                    phone.map(|p| {
                        let mut d: Vec<char> = p.chars().collect();
                        let k = d.len() - 1;
                        d[k] = if d[k] == '9' { '0' } else { '9' };
                        d.into_iter().collect()
                    }),
                    company,
                ],
                // Another email domain with a +tag, company blank.
                _ => [
                    Some(first.clone()),
                    Some(last.clone()),
                    email.map(|e| {
                        let local = e.split('@').next().unwrap();
                        format!("{local}+crm@other.org")
                    }),
                    phone,
                    None,
                ],
            };
            truth.insert((i as u32, rows.len() as u32));
            rows.push(variant);
        }
        for i in n / 3..n / 2 {
            let [first, last, _, _, company] = rows[i].clone();
            let other = FIRST[(FIRST
                .iter()
                .position(|f| Some(*f) == first.as_deref())
                .unwrap()
                + 1)
                % 16];
            // A colleague: same last name and company, other first name, email and phone.
            rows.push([
                Some(other.to_string()),
                last.clone(),
                Some(format!(
                    "{}.{}@example.com",
                    other.to_lowercase(),
                    rows.len()
                )),
                Some(format!("+44 20 7946 {:04}", rows.len())),
                company,
            ]);
            // A namesake: same name, nothing else shared.
            rows.push([
                first,
                last,
                Some(format!("namesake{}@elsewhere.net", rows.len())),
                Some(format!("+49 30 {:07}", rows.len())),
                Some("Other Corp".into()),
            ]);
        }
        (rows, truth)
    }

    #[test]
    fn near_duplicates_are_found_with_high_precision_and_recall() {
        let (rows, truth) = labelled(600, 17);
        let roles = Roles::guess(&["firstname", "lastname", "email", "phone", "company"]);
        let people: Vec<Person> = rows.iter().map(|r| Person::from_row(r, &roles)).collect();
        let found: BTreeSet<(u32, u32)> = find_pairs(&people, DEFAULT_THRESHOLD)
            .iter()
            .map(|p| (p.left, p.right))
            .collect();
        let hits = found.intersection(&truth).count() as f64;
        let precision = hits / found.len().max(1) as f64;
        let recall = hits / truth.len() as f64;
        eprintln!(
            "fuzzy duplicates on {} records: {} labelled pairs, {} found, precision {precision:.3}, recall {recall:.3}",
            rows.len(),
            truth.len(),
            found.len()
        );
        // A few pairs of `a` not in `b`, with their rows and score, for the failure message.
        let sample = |a: &BTreeSet<(u32, u32)>, b: &BTreeSet<(u32, u32)>| {
            a.difference(b)
                .take(5)
                .map(|&(x, y)| {
                    let (x, y) = (x as usize, y as usize);
                    (&rows[x], &rows[y], score(&people[x], &people[y]))
                })
                .collect::<Vec<_>>()
        };
        let missed = sample(&truth, &found);
        let wrong = sample(&found, &truth);
        assert!(
            precision >= 0.95,
            "precision {precision}: wrong pairs {wrong:#?}"
        );
        assert!(recall >= 0.95, "recall {recall}: missed pairs {missed:#?}");
    }

    #[test]
    fn a_disagreeing_birth_date_or_identifier_weighs_less_than_an_agreeing_one() {
        let register = |last: &str, address: &str, postcode: &str, birth: &str, id: &str| Person {
            first: "nicholas".into(),
            last: last.into(),
            extra: Some(Box::new(crate::quality::fuzzy::Extra {
                address: address.into(),
                postcode: postcode.into(),
                birth_date: birth.into(),
                id_number: id.into(),
                ..Default::default()
            })),
            ..Person::default()
        };
        let a = register(
            "bridgland",
            "8 lethbridge street",
            "2767",
            "19230404",
            "3946937",
        );
        // The same person, retyped: a typo in the street, birth date and identifier replaced.
        let retyped = register(
            "bridgland",
            "8 lethbridbe street",
            "2767",
            "19720428",
            "2108881",
        );
        // A namesake elsewhere: nothing but the name agrees.
        let namesake = register(
            "bridgland",
            "71 mannheim street",
            "5251",
            "19730408",
            "5189661",
        );
        // Agreeing birth date and identifier, all else different: strong evidence.
        let same_ids = register("smith", "5 kater place", "5251", "19230404", "3946937");
        let (retyped, namesake, same_ids) = (
            score(&a, &retyped),
            score(&a, &namesake),
            score(&a, &same_ids),
        );
        assert!(retyped >= 0.72, "{retyped}");
        assert!(namesake < 0.72, "{namesake}");
        assert!(same_ids > namesake, "{same_ids} vs {namesake}");
    }

    #[test]
    fn equal_records_score_one_and_unrelated_ones_low() {
        let roles = Roles::guess(&["firstname", "lastname", "email", "phone", "company"]);
        let a = Person::from_row(
            &[
                Some("Jane"),
                Some("Doe"),
                Some("jane@acme.com"),
                Some("+1 415 555 0132"),
                Some("Acme"),
            ],
            &roles,
        );
        let b = Person::from_row(
            &[
                Some("Omar"),
                Some("Haddad"),
                Some("oh@globex.com"),
                Some("+44 20 7946 0000"),
                Some("Acme"),
            ],
            &roles,
        );
        assert_eq!(score(&a, &a), 1.0);
        assert!(score(&a, &b) < 0.6, "{}", score(&a, &b));
        let company_only = Person {
            company: "acme".into(),
            ..Person::default()
        };
        assert!(score(&company_only, &company_only) < DEFAULT_THRESHOLD);
    }
}
