//! Blocking: only records that share a key are compared. Keys are cheap, high-recall signals of
//! the same person: the email local part, the phone digits, the last name's soundex with the
//! first initial, and the last name's soundex with the company's first four letters. A key held
//! by more than [`MAX_BLOCK`] records (a placeholder email, a switchboard number) says nothing
//! about identity and would bring back n² work, so it is skipped.

use std::collections::HashMap;

use super::Person;
use super::soundex;

/// Largest block that is paired out; larger ones are skipped.
pub const MAX_BLOCK: usize = 64;

fn keys(p: &Person) -> impl Iterator<Item = String> {
    let sx = soundex(&p.last);
    let initial = p.first.chars().next();
    let company: String = p.company.chars().filter(|c| *c != ' ').take(4).collect();
    [
        (p.email_local.len() >= 3).then(|| format!("e:{}", p.email_local)),
        (p.phone.len() >= 7).then(|| format!("p:{}", p.phone)),
        (!sx.is_empty())
            .then_some(initial)
            .flatten()
            .map(|i| format!("n:{sx}:{i}")),
        (!sx.is_empty() && company.len() >= 3).then(|| format!("c:{sx}:{company}")),
    ]
    .into_iter()
    .flatten()
}

/// Every pair `(i, j)`, `i < j`, of records sharing a blocking key, once, in order.
pub fn candidate_pairs(people: &[Person]) -> Vec<(u32, u32)> {
    let mut blocks: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, p) in people.iter().enumerate() {
        for key in keys(p) {
            blocks.entry(key).or_default().push(i as u32);
        }
    }
    let mut pairs = Vec::new();
    for members in blocks.values() {
        if members.len() < 2 || members.len() > MAX_BLOCK {
            continue;
        }
        for (k, &a) in members.iter().enumerate() {
            for &b in &members[k + 1..] {
                pairs.push((a.min(b), a.max(b)));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
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
        ];
        assert_eq!(candidate_pairs(&people), vec![(0, 1), (0, 2), (0, 3)]);
    }

    #[test]
    fn a_key_shared_by_too_many_records_is_skipped() {
        let people: Vec<Person> = (0..MAX_BLOCK + 1)
            .map(|i| person(&format!("a{i}"), &format!("x{i}"), "info", "", ""))
            .collect();
        assert!(candidate_pairs(&people).is_empty());
    }
}
