//! Value makers per field kind and locale. A [`Person`] is drawn first so that a record's name,
//! email, company domain, phone and country agree with each other, as they do in real CRMs.
//! Kinds that need the row's identity (uuid, external id, references, unique suffixes) are made
//! by `record.rs`; everything here depends only on the person, the field and the random stream.

use rand::Rng;

use super::record::push_decimal;
use super::tables::tables;
use crate::shape::{FieldKind, FieldSpec, Locale, Params, PhoneFormat};

/// The coherent core of one record: names, their ASCII slugs and the company, all borrowed from
/// the locale's tables.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub locale: Locale,
    pub first: &'static str,
    pub last: &'static str,
    first_slug: &'static str,
    last_slug: &'static str,
    pub company: &'static str,
    /// The company's web domain (`acme.com`), coherent with `company`.
    pub domain: &'static str,
}

impl Person {
    pub fn new<R: Rng + ?Sized>(locale: Locale, rng: &mut R) -> Person {
        let t = tables(locale);
        let first = &t.first[rng.random_range(0..t.first.len())];
        let last = &t.last[rng.random_range(0..t.last.len())];
        let company = &t.companies[rng.random_range(0..t.companies.len())];
        Person {
            locale,
            first: first.text,
            last: last.text,
            first_slug: &first.slug,
            last_slug: &last.slug,
            company: &company.name,
            domain: &company.domain,
        }
    }
}

impl Person {
    /// This person under `other`'s names (a name change keeps the company and locale).
    pub fn renamed(self, other: &Person) -> Person {
        Person {
            first: other.first,
            last: other.last,
            first_slug: other.first_slug,
            last_slug: other.last_slug,
            ..self
        }
    }
}

/// Picks at most this many city names in search of one with the learnt number of words.
const CITY_PICKS: usize = 16;

/// The first `n` (at least one) whitespace-separated words of `s`; all of `s` when it has fewer.
fn first_words(s: &str, n: usize) -> &str {
    let mut seen = 0;
    let mut in_word = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if in_word {
                seen += 1;
                if seen >= n.max(1) {
                    return &s[..i];
                }
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    s
}

/// Appends a value for `field` to `out` (the generator reuses one buffer per column).
pub fn make_into<R: Rng + ?Sized>(field: &FieldSpec, p: &Person, rng: &mut R, out: &mut String) {
    use std::fmt::Write;
    let locale = p.locale;
    let start = out.len();
    // Writing to a String cannot fail.
    let _ = match field.kind {
        FieldKind::FirstName => out.write_str(p.first),
        FieldKind::LastName => out.write_str(p.last),
        FieldKind::FullName => match locale {
            Locale::JaJp => write!(out, "{} {}", p.last, p.first),
            _ => write!(out, "{} {}", p.first, p.last),
        },
        FieldKind::Company => match &field.params {
            Params::Company { words, suffixes } => {
                company_into(p, words, suffixes, rng, out);
                Ok(())
            }
            _ => out.write_str(p.company),
        },
        FieldKind::Domain => {
            domain_into(p, &field.params, rng, out);
            Ok(())
        }
        FieldKind::Url => {
            out.push_str("https://www.");
            domain_into(p, &field.params, rng, out);
            Ok(())
        }
        FieldKind::Email => {
            match &field.params {
                Params::Address {
                    local_parts,
                    free_mail_rate,
                    ..
                } => learnt_email_into(p, &field.params, local_parts, *free_mail_rate, rng, out),
                _ => email_into(p, rng, out),
            }
            Ok(())
        }
        FieldKind::Phone => match &field.params {
            Params::PhoneTemplates(templates) => {
                fill_into(draw(templates, rng).as_str(), rng, out);
                Ok(())
            }
            Params::Phone(PhoneFormat::E164) => out.write_str(&e164(&phone(locale, rng))),
            Params::Phone(PhoneFormat::National) => out.write_str(&national(&phone(locale, rng))),
            _ => {
                fill_into(phone_template(locale, rng), rng, out);
                Ok(())
            }
        },
        FieldKind::Region => out.write_str(pick::<&str, _>(regions(locale), rng)),
        FieldKind::Integer | FieldKind::Decimal => {
            let Params::Number { dist, scale } = &field.params else {
                unreachable!("validated: numbers have a distribution")
            };
            let x = dist.sample(rng.random::<f64>());
            write!(out, "{:.*}", *scale as usize, x)
        }
        FieldKind::Boolean => {
            let Params::Boolean { true_rate } = field.params else {
                unreachable!("validated: booleans have a true rate")
            };
            out.write_str(if rng.random::<f64>() < true_rate {
                "true"
            } else {
                "false"
            })
        }
        FieldKind::Text => {
            let Params::Text {
                min_words,
                max_words,
                words: counts,
            } = &field.params
            else {
                unreachable!("validated: text has word counts")
            };
            let words = <fake::locales::EN as fake::locales::Data>::LOREM_WORD;
            let n = if counts.is_empty() {
                rng.random_range(*min_words..=*max_words)
            } else {
                *draw(counts, rng)
            };
            for i in 0..n {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(pick::<&str, _>(words, rng));
            }
            out.write_char('.')
        }
        // Made by the record, which knows the row's identity; a draw keeps the stream aligned.
        FieldKind::Uuid | FieldKind::ExternalId | FieldKind::Reference => {
            rng.random::<u64>();
            Ok(())
        }
        FieldKind::JobTitle => out.write_str(pick(&tables(locale).titles, rng).as_str()),
        FieldKind::Street => {
            let street = pick(&tables(locale).streets, rng);
            let number = rng.random_range(1..400u32);
            // Learnt street lines without a house number (a draw only for them, so shapes
            // without the rate keep their values).
            let numbered = match field.params {
                Params::Street { house_number_rate } => rng.random::<f64>() < house_number_rate,
                _ => true,
            };
            match locale {
                _ if !numbered => out.write_str(street),
                Locale::EnUs | Locale::FrFr => {
                    push_decimal(out, number.into());
                    out.push(' ');
                    out.write_str(street)
                }
                _ => {
                    out.push_str(street);
                    out.push(' ');
                    push_decimal(out, number.into());
                    Ok(())
                }
            }
        }
        FieldKind::City => {
            let cities = &tables(locale).cities;
            let mut city = pick(cities, rng).as_str();
            // Learnt word counts: a name of the drawn length from a few more picks, else the
            // first words of the last (en_US's names all have two or more: `Roob Port` →
            // `Roob`). Draws only for such shapes, so others keep their values.
            if let Params::City { words } = &field.params
                && !words.is_empty()
            {
                let n = *draw(words, rng) as usize;
                for _ in 0..CITY_PICKS {
                    if city.split_whitespace().count() == n {
                        break;
                    }
                    city = pick(cities, rng).as_str();
                }
                city = first_words(city, n);
            }
            out.write_str(city)
        }
        FieldKind::PostalCode => {
            match &field.params {
                Params::PostalTemplates(t) => fill_into(draw(t, rng).as_str(), rng, out),
                _ => fill_into(postal_template(locale), rng, out),
            }
            Ok(())
        }
        FieldKind::Country => out.write_str(country(locale)),
        FieldKind::Enum => {
            let Params::Enum(values) = &field.params else {
                unreachable!("validated: enums have values")
            };
            let draw = rng.random::<f64>();
            if let Some((v, _)) = values.iter().find(|(_, cum)| draw < *cum) {
                out.push_str(v);
            }
            Ok(())
        }
        FieldKind::Timestamp | FieldKind::Date => {
            let Params::Time { from, span } = field.params else {
                unreachable!("validated: dates have a range")
            };
            let offset = span.mul_f64(rng.random::<f64>());
            let at = from + std::time::Duration::from_secs(offset.as_secs());
            let secs = at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            rfc3339_into(secs, field.kind == FieldKind::Date, out);
            Ok(())
        }
    };
    habits_into(field, rng, out, start);
}

/// Appends a value for `field` drawn from `table`, its distribution given another field's value
/// ([`crate::shape::Given`]): an enum value, or a phone template filled with digits.
pub fn given_into<R: Rng + ?Sized>(
    field: &FieldSpec,
    table: &[(String, f64)],
    rng: &mut R,
    out: &mut String,
) {
    let start = out.len();
    match field.kind {
        FieldKind::Phone | FieldKind::PostalCode => fill_into(draw(table, rng).as_str(), rng, out),
        _ => out.push_str(draw(table, rng).as_str()),
    }
    habits_into(field, rng, out, start);
}

/// Applies the field's writing habits to the value at `out[start..]`: capitals or lower case,
/// then stray, doubled, tab or non-breaking spaces, each at its learnt rate. Draws nothing for a
/// field without habits, so shapes without them keep their values.
fn habits_into<R: Rng + ?Sized>(field: &FieldSpec, rng: &mut R, out: &mut String, start: usize) {
    let case = &field.case;
    if case.upper_rate + case.lower_rate > 0.0 {
        let draw = rng.random::<f64>();
        let cased = if draw < case.upper_rate {
            Some(out[start..].to_uppercase())
        } else if draw < case.upper_rate + case.lower_rate {
            Some(out[start..].to_lowercase())
        } else {
            None
        };
        if let Some(cased) = cased {
            out.truncate(start);
            out.push_str(&cased);
        }
    }
    let s = &field.spacing;
    if out.len() == start || !s.any() {
        return;
    }
    let draws: [f64; 5] = std::array::from_fn(|_| rng.random::<f64>());
    // An inner space (not the first or last character) to double or replace, else none.
    let inner = |out: &String| {
        out[start..]
            .trim_end()
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == ' ')
            .map(|(i, _)| start + i)
    };
    if draws[2] < s.double
        && let Some(i) = inner(out)
    {
        out.insert(i, ' ');
    }
    for (draw, rate, odd) in [(draws[3], s.tab, '\t'), (draws[4], s.nbsp, '\u{a0}')] {
        if draw < rate {
            match inner(out) {
                Some(i) => out.replace_range(i..i + 1, odd.encode_utf8(&mut [0; 4])),
                // A one-word value: the odd space trails it, as pasted text does.
                None => out.push(odd),
            }
        }
    }
    if draws[0] < s.leading {
        out.insert(start, ' ');
    }
    if draws[1] < s.trailing {
        out.push(' ');
    }
}

/// The value of a cumulative-weight table a uniform draw falls on.
fn draw<'a, T, R: Rng + ?Sized>(table: &'a [(T, f64)], rng: &mut R) -> &'a T {
    let x = rng.random::<f64>();
    let i = table.partition_point(|(_, cum)| *cum <= x);
    &table[i.min(table.len() - 1)].0
}

/// The company's domain, its top-level domain swapped for a learnt one when the shape has some.
fn domain_into<R: Rng + ?Sized>(p: &Person, params: &Params, rng: &mut R, out: &mut String) {
    match params {
        Params::Address { tlds, .. } if !tlds.is_empty() => {
            let stem = p.domain.split_once('.').map_or(p.domain, |(s, _)| s);
            out.push_str(stem);
            out.push('.');
            out.push_str(draw(tlds, rng).as_str());
        }
        _ => out.push_str(p.domain),
    }
}

/// An email in a learnt local-part style (`first.last`, `flast9`, …) at the company's domain
/// (with a learnt top-level domain) or, at the learnt rate, a free-mail one.
fn learnt_email_into<R: Rng + ?Sized>(
    p: &Person,
    params: &Params,
    local_parts: &[(String, f64)],
    free_mail_rate: Option<f64>,
    rng: &mut R,
    out: &mut String,
) {
    use std::fmt::Write;
    let style = if local_parts.is_empty() {
        "first.last"
    } else {
        draw(local_parts, rng).as_str()
    };
    let (first, last) = (p.first_slug, p.last_slug);
    if first.is_empty() || last.is_empty() {
        // Names without ASCII letters (Japanese): a neutral local part of the same mask.
        let _ = write!(out, "user{}", rng.random_range(1000..9999u32));
    } else {
        let base = style.trim_end_matches('9');
        match base {
            "first_last" | "first-last" | "first.last" => {
                out.push_str(first);
                out.push_str(&base[5..6]);
                out.push_str(last);
            }
            "firstlast" => {
                out.push_str(first);
                out.push_str(last);
            }
            _ => {
                out.push_str(&first[..1]);
                out.push_str(last);
            }
        }
        if style.ends_with('9') {
            let _ = write!(out, "{}", rng.random_range(1..100u32));
        }
    }
    out.push('@');
    if rng.random::<f64>() < free_mail_rate.unwrap_or(0.3) {
        out.push_str(FREE_MAIL[rng.random_range(0..FREE_MAIL.len())]);
    } else {
        domain_into(p, params, rng, out);
    }
}

/// A company name of a learnt word count: the locale's company name's first word, more such
/// words, then a learnt legal-form suffix (`GmbH`, `Inc.`) or none.
fn company_into<R: Rng + ?Sized>(
    p: &Person,
    words: &[(u32, f64)],
    suffixes: &[(String, f64)],
    rng: &mut R,
    out: &mut String,
) {
    let suffix = draw(suffixes, rng);
    let total = if words.is_empty() {
        2
    } else {
        *draw(words, rng) as usize
    };
    let core = total
        .saturating_sub(suffix.split_whitespace().count())
        .max(1);
    let first_word = |name: &'static str| -> &'static str {
        name.split(|c: char| !c.is_alphanumeric())
            .find(|w| !w.is_empty())
            .unwrap_or(name)
    };
    out.push_str(first_word(p.company));
    let companies = &tables(p.locale).companies;
    for _ in 1..core {
        out.push(' ');
        out.push_str(first_word(&pick(companies, rng).name));
    }
    if !suffix.is_empty() {
        out.push(' ');
        out.push_str(suffix);
    }
}

/// Appends `2024-05-01T12:00:00Z` (or `2024-05-01` when `date_only`) for `secs` since the
/// epoch: what `humantime::format_rfc3339_seconds` writes, without its formatter.
fn rfc3339_into(secs: u64, date_only: bool, out: &mut String) {
    // Howard Hinnant's civil_from_days.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    fn digits(out: &mut String, n: i64, width: usize) {
        let mut buf = [b'0'; 4];
        let mut n = n.clamp(0, 9_999);
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        // ASCII digits pushed as chars: no UTF-8 validation of a buffer known to be ASCII.
        out.extend(buf[..width].iter().map(|&b| char::from(b)));
    }
    digits(out, y, 4);
    out.push('-');
    digits(out, m, 2);
    out.push('-');
    digits(out, d, 2);
    if date_only {
        return;
    }
    let t = (secs % 86_400) as i64;
    out.push('T');
    digits(out, t / 3_600, 2);
    out.push(':');
    digits(out, t / 60 % 60, 2);
    out.push(':');
    digits(out, t % 60, 2);
    out.push('Z');
}

/// A date (`2024-05-01`) or timestamp (`2024-05-01T12:00:00Z`).
pub fn format_time(kind: FieldKind, at: std::time::SystemTime) -> String {
    let mut text = humantime::format_rfc3339_seconds(at).to_string();
    if kind == FieldKind::Date {
        text.truncate(10);
    }
    text
}

/// `+1 (415) 555-0100` → `+14155550100`.
pub fn e164(phone: &str) -> String {
    let mut out = String::with_capacity(phone.len());
    out.push('+');
    out.extend(phone.chars().filter(char::is_ascii_digit));
    out
}

/// Any spelling → the country code, a space, then groups of digits separated by dashes.
fn national(phone: &str) -> String {
    let digits = e164(phone);
    let (cc, rest) = match digits.get(1..2) {
        Some("1") => digits.split_at(2),
        _ => digits.split_at(3.min(digits.len())),
    };
    let rest: Vec<String> = rest
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!("{cc} {}", rest.join("-"))
}

fn regions(locale: Locale) -> &'static [&'static str] {
    match locale {
        Locale::EnUs => &[
            "California",
            "Texas",
            "New York",
            "Florida",
            "Illinois",
            "Washington",
            "Massachusetts",
            "Georgia",
            "Colorado",
            "Ohio",
        ],
        Locale::DeDe => &[
            "Bayern",
            "Berlin",
            "Nordrhein-Westfalen",
            "Baden-Württemberg",
            "Hessen",
            "Niedersachsen",
            "Sachsen",
            "Hamburg",
        ],
        Locale::FrFr => &[
            "Île-de-France",
            "Auvergne-Rhône-Alpes",
            "Occitanie",
            "Hauts-de-France",
            "Provence-Alpes-Côte d'Azur",
            "Nouvelle-Aquitaine",
            "Bretagne",
        ],
        Locale::JaJp => &[
            "東京都",
            "大阪府",
            "神奈川県",
            "愛知県",
            "北海道",
            "福岡県",
            "京都府",
        ],
        Locale::PtBr => &[
            "São Paulo",
            "Rio de Janeiro",
            "Minas Gerais",
            "Bahia",
            "Paraná",
            "Rio Grande do Sul",
            "Pernambuco",
        ],
    }
}

fn country(locale: Locale) -> &'static str {
    match locale {
        Locale::EnUs => "United States",
        Locale::DeDe => "Germany",
        Locale::FrFr => "France",
        Locale::JaJp => "Japan",
        Locale::PtBr => "Brazil",
    }
}

/// The postal code format of the country (US ZIP, German/French PLZ/CP, Japanese, Brazilian CEP).
fn postal_template(locale: Locale) -> &'static str {
    match locale {
        Locale::EnUs | Locale::DeDe | Locale::FrFr => "#####",
        Locale::JaJp => "###-####",
        Locale::PtBr => "#####-###",
    }
}

/// Appends an email coherent with the person: `first.last@companydomain` or a free-mail address.
fn email_into<R: Rng + ?Sized>(p: &Person, rng: &mut R, out: &mut String) {
    let (first, last) = (p.first_slug, p.last_slug);
    let n: u32 = rng.random_range(1..1000);
    let style = rng.random_range(0..3);
    let domain = if rng.random_bool(0.7) {
        p.domain
    } else {
        FREE_MAIL[rng.random_range(0..FREE_MAIL.len())]
    };
    if first.is_empty() || last.is_empty() {
        out.push_str("user");
        push_decimal(out, n.into());
        // Drawn as i32: another type would change the digits.
        push_decimal(out, rng.random_range(1000..9999i32) as u64);
    } else {
        match style {
            0 => {
                out.push_str(first);
                out.push('.');
                out.push_str(last);
            }
            1 => {
                out.push_str(&first[..1]);
                out.push_str(last);
            }
            _ => {
                out.push_str(first);
                out.push('.');
                out.push_str(last);
                push_decimal(out, n.into());
            }
        }
    }
    out.push('@');
    out.push_str(domain);
}

fn pick<'a, T, R: Rng + ?Sized>(items: &'a [T], rng: &mut R) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Free-mail domains: where a second address of the same person often lives.
pub const FREE_MAIL: [&str; 4] = ["gmail.com", "outlook.com", "yahoo.com", "proton.me"];

/// A phone number with its country code, in one of the national spellings people type.
pub fn phone<R: Rng + ?Sized>(locale: Locale, rng: &mut R) -> String {
    let mut out = String::with_capacity(20);
    fill_into(phone_template(locale, rng), rng, &mut out);
    out
}

/// One of the country's phone spellings. In the templates `#` is any digit and `%` a digit from
/// 2 to 9.
fn phone_template<R: Rng + ?Sized>(locale: Locale, rng: &mut R) -> &'static str {
    let templates: &[&str] = match locale {
        Locale::EnUs => &["+1 (%##) ###-####", "+1 %##-###-####", "+1%#########"],
        Locale::DeDe => &["+49 %0 #######", "+49 %0 ########"],
        Locale::FrFr => &["+33 % ## ## ## ##"],
        Locale::JaJp => &["+81 3-####-####"],
        Locale::PtBr => &["+55 11 9####-####"],
    };
    templates[rng.random_range(0..templates.len())]
}

/// Appends `template` with `#` (any digit), `%` (2 to 9) and `@` (a capital letter) filled in;
/// 15 placeholders per draw.
fn fill_into<R: Rng + ?Sized>(template: &str, rng: &mut R, out: &mut String) {
    let mut bits = rng.random::<u64>();
    let mut used = 0;
    for c in template.chars() {
        if c == '@' {
            // A letter takes a draw of its own: templates without one keep their digits.
            out.push(char::from(b'A' + (rng.random::<u32>() % 26) as u8));
        } else if matches!(c, '#' | '%') {
            if used >= 15 {
                bits = rng.random::<u64>();
                used = 0;
            }
            let d = (bits % 10) as u8;
            bits /= 10;
            used += 1;
            out.push(char::from(if c == '#' { b'0' + d } else { b'2' + d % 8 }));
        } else {
            out.push(c);
        }
    }
}

/// Lower-case ASCII letters and digits of `text`, accents folded, everything else dropped.
pub fn ascii_slug(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let c = match c {
                'ä' | 'à' | 'á' | 'â' | 'ã' | 'Ä' | 'À' | 'Á' | 'Â' => 'a',
                'ö' | 'ò' | 'ó' | 'ô' | 'õ' | 'Ö' | 'Ó' | 'Ô' => 'o',
                'ü' | 'ù' | 'ú' | 'û' | 'Ü' | 'Ú' => 'u',
                'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
                'ï' | 'î' | 'í' | 'Í' => 'i',
                'ç' | 'Ç' => 'c',
                'ß' => 's',
                c => c,
            };
            c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn first_words_cuts_after_the_nth_word() {
        assert_eq!(first_words("Roob Port", 1), "Roob");
        assert_eq!(first_words("Lake  Laurianne Turner", 2), "Lake  Laurianne");
        assert_eq!(first_words("Berlin", 1), "Berlin");
        assert_eq!(first_words("Klein Haven", 3), "Klein Haven");
    }

    #[test]
    fn phones_carry_a_country_code() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for locale in [
            Locale::EnUs,
            Locale::DeDe,
            Locale::FrFr,
            Locale::JaJp,
            Locale::PtBr,
        ] {
            for _ in 0..50 {
                let p = phone(locale, &mut rng);
                assert!(p.starts_with('+'), "{p}");
                let digits = p.chars().filter(char::is_ascii_digit).count();
                assert!((10..=15).contains(&digits), "{p} has {digits} digits");
            }
        }
    }

    /// Learnt formats are followed: every value has a drawn template's mask, style and suffix,
    /// in about the learnt shares.
    #[test]
    fn learnt_formats_and_habits_are_followed() {
        use crate::shape::{Case, Comparator};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let field = |kind, params, case| FieldSpec {
            name: "f".into(),
            kind,
            null_rate: 0.0,
            blank_rate: 0.0,
            unique: false,
            max_length: None,
            comparator: Comparator::Exact,
            params,
            case,
            spacing: crate::shape::Spacing::default(),
            given: None,
        };
        let phone = field(
            FieldKind::Phone,
            Params::PhoneTemplates(vec![
                ("(###) ###-####".into(), 0.25),
                ("+## # ##".into(), 1.0),
            ]),
            Case::default(),
        );
        let email = field(
            FieldKind::Email,
            Params::Address {
                local_parts: vec![("first_last9".into(), 1.0)],
                free_mail_rate: Some(0.0),
                tlds: vec![("co.uk".into(), 1.0)],
            },
            Case {
                upper_rate: 0.5,
                lower_rate: 0.0,
            },
        );
        let company = field(
            FieldKind::Company,
            Params::Company {
                words: vec![(3, 1.0)],
                suffixes: vec![("GmbH".into(), 0.5), (String::new(), 1.0)],
            },
            Case::default(),
        );
        let n = 2_000;
        let (mut parens, mut upper, mut gmbh) = (0, 0, 0);
        for _ in 0..n {
            let p = Person::new(Locale::EnUs, &mut rng);
            let mut v = String::new();
            make_into(&phone, &p, &mut rng, &mut v);
            let template: String = v
                .chars()
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect();
            assert!(
                matches!(template.as_str(), "(###) ###-####" | "+## # ##"),
                "{v}"
            );
            parens += usize::from(v.starts_with('('));
            v.clear();
            make_into(&email, &p, &mut rng, &mut v);
            let lower = v.to_ascii_lowercase();
            let (local, domain) = lower.split_once('@').unwrap();
            assert!(
                local.contains('_') && local.ends_with(|c: char| c.is_ascii_digit()),
                "{v}"
            );
            assert!(domain.ends_with(".co.uk"), "{v}");
            upper += usize::from(v == v.to_uppercase());
            v.clear();
            make_into(&company, &p, &mut rng, &mut v);
            assert_eq!(v.split_whitespace().count(), 3, "{v}");
            gmbh += usize::from(v.ends_with(" GmbH"));
        }
        for (count, share) in [(parens, 0.25), (upper, 0.5), (gmbh, 0.5)] {
            assert!(
                (count as f64 / n as f64 - share).abs() < 0.05,
                "{count} of {n}"
            );
        }
    }

    /// Whitespace habits come out at their rates, as the profiler measures them; a field drawn
    /// given another's value follows the table it is handed.
    #[test]
    fn whitespace_habits_and_given_tables_are_followed() {
        use crate::shape::profile::spacing_of;
        use crate::shape::{Case, Comparator, Spacing};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let spacing = Spacing {
            leading: 0.1,
            trailing: 0.2,
            double: 0.3,
            tab: 0.05,
            nbsp: 0.15,
        };
        let field = |kind, params| FieldSpec {
            name: "f".into(),
            kind,
            null_rate: 0.0,
            blank_rate: 0.0,
            unique: false,
            max_length: None,
            comparator: Comparator::Exact,
            params,
            case: Case::default(),
            spacing,
            given: None,
        };
        let name = field(FieldKind::FullName, Params::None);
        let n = 4_000;
        let mut counts = [0usize; 5];
        for _ in 0..n {
            let p = Person::new(Locale::EnUs, &mut rng);
            let mut v = String::new();
            make_into(&name, &p, &mut rng, &mut v);
            for (c, flag) in counts.iter_mut().zip(spacing_of(&v)) {
                *c += usize::from(flag);
            }
            // The value is the name, spaces aside.
            let words: Vec<&str> = v
                .split([' ', '\t', '\u{a0}'])
                .filter(|w| !w.is_empty())
                .collect();
            assert_eq!(words, [p.first, p.last], "{v:?}");
        }
        // A tab or non-breaking space may replace the doubled one's first half: the measured
        // double share is at most the rate; the others within sampling noise of it.
        let want = [0.1, 0.2, 0.3, 0.05, 0.15];
        for (i, (count, rate)) in counts.iter().zip(want).enumerate() {
            let got = *count as f64 / n as f64;
            let ok = if i == 2 {
                got <= rate + 0.03 && got >= rate * 0.6
            } else {
                (got - rate).abs() < 0.03
            };
            assert!(ok, "habit {i}: {got} for {rate}");
        }
        let stage = field(
            FieldKind::Enum,
            Params::Enum(vec![("lead".into(), 0.5), ("won".into(), 1.0)]),
        );
        let table = [("won".to_string(), 0.8), ("lead".to_string(), 1.0)];
        let mut won = 0;
        for _ in 0..n {
            let mut v = String::new();
            given_into(&stage, &table, &mut rng, &mut v);
            won += usize::from(v.trim() == "won");
        }
        assert!((won as f64 / n as f64 - 0.8).abs() < 0.03, "{won}");
    }

    #[test]
    fn timestamps_are_spelt_as_humantime_spells_them() {
        for secs in (0..4_102_444_800u64)
            .step_by(7_777_777)
            .chain([951_782_400, 86_399])
        {
            let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let want = humantime::format_rfc3339_seconds(at).to_string();
            let mut got = String::new();
            rfc3339_into(secs, false, &mut got);
            assert_eq!(got, want);
            got.clear();
            rfc3339_into(secs, true, &mut got);
            assert_eq!(got, want[..10]);
        }
    }

    #[test]
    fn slugs_fold_accents_and_drop_the_rest() {
        assert_eq!(ascii_slug("Müller & Söhne GmbH"), "mullersohnegmbh");
        assert_eq!(ascii_slug("山田"), "");
    }
}
