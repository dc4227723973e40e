//! Blocking: only records that share a key are compared. Keys are cheap, high-recall signals of
//! the same person: the email local part, the phone digits, the two names' soundex codes (in
//! either order, so swapped first and last names still meet) and the last name's soundex with
//! the company's first four letters; for exports whose roles map them, the other identifier (as
//! written, and its digits sorted, so two transposed digits still meet), the birth date or the
//! postcode with either name's soundex, and the birth date with the postcode (both names mistyped). A key held by more than [`MAX_BLOCK`] records (a placeholder
//! email, a switchboard number) says nothing about identity and would bring back n² work, so it
//! is skipped and counted.
//!
//! Keys are 64-bit hashes (a collision only adds a candidate, which scoring then rejects), sorted
//! once; each record keeps the ids of its blocks, so the pairs of a record are found by walking
//! its few blocks, without a global list of candidate pairs.

use super::Person;
use super::person::soundex_code;

/// Largest block that is paired out; larger ones are skipped.
pub const MAX_BLOCK: usize = 64;

/// Blocking keys per record, at most.
const KEYS: usize = 11;
const NONE: u32 = u32::MAX;

/// FNV-1a over a tag byte and the parts, each followed by a separator.
fn hash(tag: u8, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    eat(tag);
    for part in parts {
        for &b in *part {
            eat(b);
        }
        eat(0xff);
    }
    h
}

fn keys(p: &Person) -> [Option<u64>; KEYS] {
    let last = soundex_code(&p.last);
    let first = soundex_code(&p.first);
    let mut company = [0u8; 4];
    let mut len = 0;
    for c in p.company.bytes().filter(|c| *c != b' ').take(4) {
        company[len] = c;
        len += 1;
    }
    let company = &company[..len];
    let extra = p.extra.as_deref();
    let birth = extra.map_or("", |e| e.birth_date.as_str());
    let birth = (birth.len() >= 4).then_some(birth.as_bytes());
    let postcode = extra.map_or("", |e| e.postcode.as_str());
    let postcode = (postcode.len() >= 3).then_some(postcode.as_bytes());
    let id_number = extra.map_or("", |e| e.id_number.as_str());
    // The identifier's digits in ascending order: a transposition keeps them.
    let mut digits = [0u8; 32];
    let mut n = 0;
    for d in id_number
        .bytes()
        .filter(u8::is_ascii_digit)
        .take(digits.len())
    {
        digits[n] = d;
        n += 1;
    }
    let digits = &mut digits[..n];
    digits.sort_unstable();
    [
        (p.email_local.len() >= 3).then(|| hash(b'e', &[p.email_local.as_bytes()])),
        (p.phone.len() >= 7).then(|| hash(b'p', &[p.phone.as_bytes()])),
        last.zip(first).map(|(l, f)| {
            let (a, b) = if l <= f { (l, f) } else { (f, l) };
            hash(b'n', &[&a, &b])
        }),
        last.filter(|_| company.len() >= 3)
            .map(|l| hash(b'c', &[&l, company])),
        (id_number.len() >= 4).then(|| hash(b'i', &[id_number.as_bytes()])),
        birth.zip(last).map(|(b, l)| hash(b'b', &[b, &l])),
        birth.zip(first).map(|(b, f)| hash(b'f', &[b, &f])),
        postcode.zip(last).map(|(z, l)| hash(b'z', &[z, &l])),
        (digits.len() >= 6).then(|| hash(b'd', &[digits])),
        birth.zip(postcode).map(|(b, z)| hash(b'y', &[b, z])),
        postcode.zip(first).map(|(z, f)| hash(b'w', &[z, &f])),
    ]
}

/// The records' blocks: members grouped by key, and each record's blocks.
pub struct Blocks {
    /// Record indices, grouped by block, ascending within a block.
    members: Vec<u32>,
    /// Block `b` is `members[starts[b]..starts[b + 1]]`.
    starts: Vec<u32>,
    /// The blocks (of 2..=MAX_BLOCK members) each record belongs to; `NONE` pads.
    of_record: Vec<[u32; KEYS]>,
    /// Keys held by more than [`MAX_BLOCK`] records, skipped.
    pub skipped_blocks: usize,
    /// Records in the skipped blocks (a record in two counts twice).
    pub skipped_members: usize,
}

impl Blocks {
    pub fn new(people: &[Person]) -> Blocks {
        let mut entries: Vec<(u64, u32)> = Vec::with_capacity(people.len() * 3);
        for (i, p) in people.iter().enumerate() {
            entries.extend(keys(p).into_iter().flatten().map(|k| (k, i as u32)));
        }
        entries.sort_unstable();
        entries.dedup();
        let mut blocks = Blocks {
            members: Vec::new(),
            starts: vec![0],
            of_record: vec![[NONE; KEYS]; people.len()],
            skipped_blocks: 0,
            skipped_members: 0,
        };
        for run in entries.chunk_by(|a, b| a.0 == b.0) {
            if run.len() < 2 {
                continue;
            }
            if run.len() > MAX_BLOCK {
                blocks.skipped_blocks += 1;
                blocks.skipped_members += run.len();
                continue;
            }
            let id = (blocks.starts.len() - 1) as u32;
            for &(_, i) in run {
                blocks.members.push(i);
                if let Some(slot) = blocks.of_record[i as usize]
                    .iter_mut()
                    .find(|s| **s == NONE)
                {
                    *slot = id;
                }
            }
            blocks.starts.push(blocks.members.len() as u32);
        }
        blocks
    }

    /// The records after `i` sharing a block with it, ascending, each once (into `out`).
    pub fn partners(&self, i: u32, out: &mut Vec<u32>) {
        out.clear();
        for &b in &self.of_record[i as usize] {
            if b == NONE {
                break;
            }
            let block = &self.members
                [self.starts[b as usize] as usize..self.starts[b as usize + 1] as usize];
            let after = block.partition_point(|&j| j <= i);
            out.extend_from_slice(&block[after..]);
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// Every pair `(i, j)`, `i < j`, of records sharing a blocking key, once, in order.
pub fn candidate_pairs(people: &[Person]) -> Vec<(u32, u32)> {
    let blocks = Blocks::new(people);
    let mut out = Vec::new();
    let mut pairs = Vec::new();
    for i in 0..people.len() as u32 {
        blocks.partners(i, &mut out);
        pairs.extend(out.iter().map(|&j| (i, j)));
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(first: &str, last: &str, email: &str, phone: &str, company: &str) -> Person {
        Person {
            first: first.into(),
            last: last.into(),
            email_local: email.into(),
            email_domain: String::new(),
            phone: phone.into(),
            company: company.into(),
            extra: None,
        }
    }

    #[test]
    fn records_sharing_any_key_are_paired_once() {
        let people = [
            person("jane", "doe", "janedoe", "155550132", "acme"),
            person("jane", "doe", "jdoe", "", ""), // name key with 0
            person("john", "smith", "janedoe", "", ""), // email key with 0
            person("maria", "garcia", "mg", "155550132", ""), // phone key with 0
            person("zed", "zulu", "zz", "", ""),   // nothing shared
            person("doe", "jane", "x", "", ""),    // swapped names: name key with 0 and 1
            person("jill", "doe", "jd", "", "acmecorp"), // company key with 0
        ];
        assert_eq!(
            candidate_pairs(&people),
            vec![(0, 1), (0, 2), (0, 3), (0, 5), (0, 6), (1, 5)]
        );
    }

    #[test]
    fn a_key_shared_by_too_many_records_is_skipped_and_counted() {
        let people: Vec<Person> = (0..MAX_BLOCK + 1)
            .map(|i| person(&format!("a{i}"), "", "info", "", ""))
            .collect();
        assert!(candidate_pairs(&people).is_empty());
        let blocks = Blocks::new(&people);
        assert_eq!(
            (blocks.skipped_blocks, blocks.skipped_members),
            (1, MAX_BLOCK + 1)
        );
    }

    #[test]
    fn pairs_equal_the_brute_force_over_shared_keys() {
        // Small alphabet so that keys collide often; compare with the n² definition.
        let names = ["ann", "anne", "bob", "rob", "cy"];
        let people: Vec<Person> = (0..60)
            .map(|i| {
                person(
                    names[i % 5],
                    names[(i / 5) % 5],
                    &format!("m{}xx", i % 7),
                    if i % 3 == 0 { "123456789" } else { "" },
                    ["acme", "", "globex"][i % 3],
                )
            })
            .collect();
        let mut expected = Vec::new();
        for i in 0..people.len() {
            for j in i + 1..people.len() {
                let (a, b) = (keys(&people[i]), keys(&people[j]));
                if a.iter()
                    .flatten()
                    .any(|k| b.iter().flatten().any(|l| k == l))
                {
                    expected.push((i as u32, j as u32));
                }
            }
        }
        // No block here exceeds the cap: 20 records share the phone.
        assert_eq!(candidate_pairs(&people), expected);
    }

    #[test]
    fn mapped_identifiers_birth_dates_and_postcodes_block() {
        let with = |first: &str, last: &str, birth: &str, postcode: &str, id: &str| Person {
            extra: Some(Box::new(crate::quality::fuzzy::Extra {
                birth_date: birth.into(),
                postcode: postcode.into(),
                id_number: id.into(),
                ..Default::default()
            })),
            ..person(first, last, "", "", "")
        };
        let people = [
            with("ann", "miller", "19560124", "3182", "5301234"),
            with("ann", "zuniga", "19560124", "", ""), // birth date + first name with 0
            with("bob", "mueller", "19560124", "", ""), // birth date + last name (M460) with 0
            with("cy", "miller", "", "3182", ""),      // postcode + last name with 0
            with("dan", "xu", "", "", "5301234"),      // the identifier with 0
            with("eve", "miller", "19990101", "9999", "123"), // shares nothing: 3-digit id too short
            with("fay", "young", "", "", "5302134"), // the identifier's digits, transposed, with 0 and 4
            with("gus", "kim", "19560124", "3182", ""), // birth date + postcode with 0
            with("ann", "ortiz", "", "3182", ""),    // postcode + first name with 0
        ];
        assert_eq!(
            candidate_pairs(&people),
            vec![
                (0, 1),
                (0, 2),
                (0, 3),
                (0, 4),
                (0, 6),
                (0, 7),
                (0, 8),
                (4, 6)
            ]
        );
    }
}
