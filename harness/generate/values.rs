//! Value makers per field kind and locale. A [`Person`] is drawn first so that a record's name,
//! email, company domain, phone and country agree with each other, as they do in real CRMs.
//! Kinds that need the row's identity (uuid, external id, references, unique suffixes) are made
//! by `record.rs`; everything here depends only on the person, the field and the random stream.

use fake::Fake;
use fake::faker::address::raw::{BuildingNumber, CityName, StreetName};
use fake::faker::company::raw::CompanyName;
use fake::faker::job::raw::Title;
use fake::faker::name::raw::{FirstName, LastName};
use fake::locales::{DE_DE, EN, FR_FR, JA_JP, PT_BR};
use rand::Rng;

use crate::shape::{FieldKind, FieldSpec, Locale, Params, PhoneFormat};

/// Calls a `fake` faker in the record's locale.
macro_rules! in_locale {
    ($faker:ident, $locale:expr, $rng:expr) => {
        match $locale {
            Locale::EnUs => $faker(EN).fake_with_rng::<String, _>($rng),
            Locale::DeDe => $faker(DE_DE).fake_with_rng::<String, _>($rng),
            Locale::FrFr => $faker(FR_FR).fake_with_rng::<String, _>($rng),
            Locale::JaJp => $faker(JA_JP).fake_with_rng::<String, _>($rng),
            Locale::PtBr => $faker(PT_BR).fake_with_rng::<String, _>($rng),
        }
    };
}

/// The coherent core of one record.
#[derive(Debug, Clone)]
pub struct Person {
    pub locale: Locale,
    pub first: String,
    pub last: String,
    pub company: String,
    /// The company's web domain (`acme.com`), coherent with `company`.
    pub domain: String,
}

impl Person {
    pub fn new<R: Rng + ?Sized>(locale: Locale, rng: &mut R) -> Person {
        let first = in_locale!(FirstName, locale, rng);
        let last = in_locale!(LastName, locale, rng);
        let company = in_locale!(CompanyName, locale, rng);
        let slug = ascii_slug(&company);
        let domain = if slug.len() >= 3 {
            format!("{}.{}", &slug[..slug.len().min(20)], tld(locale))
        } else {
            format!("{}{}.{}", rng.random_range(100..1000), "corp", tld(locale))
        };
        Person {
            locale,
            first,
            last,
            company,
            domain,
        }
    }
}

fn tld(locale: Locale) -> &'static str {
    match locale {
        Locale::EnUs => "com",
        Locale::DeDe => "de",
        Locale::FrFr => "fr",
        Locale::JaJp => "jp",
        Locale::PtBr => "com.br",
    }
}

/// A value for `field`, before nulls and defects are applied.
pub fn make<R: Rng + ?Sized>(field: &FieldSpec, p: &Person, rng: &mut R) -> String {
    let locale = p.locale;
    match field.kind {
        FieldKind::FirstName => p.first.clone(),
        FieldKind::LastName => p.last.clone(),
        FieldKind::FullName => match locale {
            Locale::JaJp => format!("{} {}", p.last, p.first),
            _ => format!("{} {}", p.first, p.last),
        },
        FieldKind::Company => p.company.clone(),
        FieldKind::Domain => p.domain.clone(),
        FieldKind::Url => format!("https://www.{}", p.domain),
        FieldKind::Email => email(p, rng),
        FieldKind::Phone => {
            let spelt = phone(locale, rng);
            match field.params {
                Params::Phone(PhoneFormat::E164) => e164(&spelt),
                Params::Phone(PhoneFormat::National) => national(&spelt),
                _ => spelt,
            }
        }
        FieldKind::Region => {
            let regions = regions(locale);
            regions[rng.random_range(0..regions.len())].to_string()
        }
        FieldKind::Integer | FieldKind::Decimal => {
            let Params::Number { dist, scale } = &field.params else {
                unreachable!("validated: numbers have a distribution")
            };
            let x = dist.sample(rng.random::<f64>());
            format!("{:.*}", *scale as usize, x)
        }
        FieldKind::Boolean => {
            let Params::Boolean { true_rate } = field.params else {
                unreachable!("validated: booleans have a true rate")
            };
            (rng.random::<f64>() < true_rate).to_string()
        }
        FieldKind::Text => {
            let Params::Text {
                min_words,
                max_words,
            } = field.params
            else {
                unreachable!("validated: text has word counts")
            };
            let words = <fake::locales::EN as fake::locales::Data>::LOREM_WORD;
            let n = rng.random_range(min_words..=max_words);
            let mut text = String::new();
            for i in 0..n {
                if i > 0 {
                    text.push(' ');
                }
                text.push_str(words[rng.random_range(0..words.len())]);
            }
            text.push('.');
            text
        }
        // Made by the record, which knows the row's identity; a draw keeps the stream aligned.
        FieldKind::Uuid | FieldKind::ExternalId | FieldKind::Reference => {
            rng.random::<u64>();
            String::new()
        }
        FieldKind::JobTitle => in_locale!(Title, Locale::EnUs, rng),
        FieldKind::Street => {
            let street = in_locale!(StreetName, locale, rng);
            let number = in_locale!(BuildingNumber, locale, rng);
            match locale {
                Locale::EnUs | Locale::FrFr => format!("{number} {street}"),
                _ => format!("{street} {number}"),
            }
        }
        FieldKind::City => in_locale!(CityName, locale, rng),
        FieldKind::PostalCode => postal_code(locale, rng),
        FieldKind::Country => country(locale).to_string(),
        FieldKind::Enum => {
            let Params::Enum(values) = &field.params else {
                unreachable!("validated: enums have values")
            };
            let draw = rng.random::<f64>();
            values
                .iter()
                .find(|(_, cum)| draw < *cum)
                .map(|(v, _)| v.clone())
                .unwrap_or_default()
        }
        FieldKind::Timestamp | FieldKind::Date => {
            let Params::Time { from, span } = field.params else {
                unreachable!("validated: dates have a range")
            };
            let offset = span.mul_f64(rng.random::<f64>());
            format_time(
                field.kind,
                from + std::time::Duration::from_secs(offset.as_secs()),
            )
        }
    }
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

/// A postal code in the country's format (US ZIP, German/French PLZ/CP, Japanese, Brazilian CEP).
fn postal_code<R: Rng + ?Sized>(locale: Locale, rng: &mut R) -> String {
    let mut digits = |n: usize| digits(rng, n);
    match locale {
        Locale::EnUs | Locale::DeDe | Locale::FrFr => digits(5),
        Locale::JaJp => format!("{}-{}", digits(3), digits(4)),
        Locale::PtBr => format!("{}-{}", digits(5), digits(3)),
    }
}

/// An email coherent with the person: `first.last@companydomain` or a free-mail address.
fn email<R: Rng + ?Sized>(p: &Person, rng: &mut R) -> String {
    let first = ascii_slug(&p.first);
    let last = ascii_slug(&p.last);
    let n: u32 = rng.random_range(1..1000);
    let local = match (first.is_empty(), last.is_empty(), rng.random_range(0..3)) {
        (false, false, 0) => format!("{first}.{last}"),
        (false, false, 1) => format!("{}{last}", &first[..1]),
        (false, false, _) => format!("{first}.{last}{n}"),
        _ => format!("user{n}{}", rng.random_range(1000..9999)),
    };
    let domain = if rng.random_bool(0.7) {
        p.domain.as_str()
    } else {
        FREE_MAIL[rng.random_range(0..FREE_MAIL.len())]
    };
    format!("{local}@{domain}")
}

/// Free-mail domains: where a second address of the same person often lives.
pub const FREE_MAIL: [&str; 4] = ["gmail.com", "outlook.com", "yahoo.com", "proton.me"];

/// A phone number with its country code, in one of the national spellings people type.
pub fn phone<R: Rng + ?Sized>(locale: Locale, rng: &mut R) -> String {
    let mut digits = |n: usize| digits(rng, n);
    match locale {
        Locale::EnUs => {
            let (area, a, b) = (
                format!("{}{}", 2 + (digits(1).as_bytes()[0] - b'0') % 8, digits(2)),
                digits(3),
                digits(4),
            );
            match a.as_bytes()[0] % 3 {
                0 => format!("+1 ({area}) {a}-{b}"),
                1 => format!("+1 {area}-{a}-{b}"),
                _ => format!("+1{area}{a}{b}"),
            }
        }
        Locale::DeDe => format!(
            "+49 {} {}",
            30 + (digits(1).as_bytes()[0] - b'0') as u32 * 10,
            digits(7)
        ),
        Locale::FrFr => format!(
            "+33 {} {} {} {} {}",
            1 + (digits(1).as_bytes()[0] - b'0') % 5,
            digits(2),
            digits(2),
            digits(2),
            digits(2)
        ),
        Locale::JaJp => format!("+81 3-{}-{}", digits(4), digits(4)),
        Locale::PtBr => format!("+55 11 9{}-{}", digits(4), digits(4)),
    }
}

/// `n` random decimal digits.
fn digits<R: Rng + ?Sized>(rng: &mut R, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
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

    #[test]
    fn slugs_fold_accents_and_drop_the_rest() {
        assert_eq!(ascii_slug("Müller & Söhne GmbH"), "mullersohnegmbh");
        assert_eq!(ascii_slug("山田"), "");
    }
}
