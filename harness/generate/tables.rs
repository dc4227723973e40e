//! Per-locale value tables, built once per process and shared by every generator: first and last
//! names (with their ASCII slugs for emails) straight from `fake`'s locale data, and pools of the
//! values `fake` makes from templates (company names with their domains, cities, streets, job
//! titles), drawn once with a fixed seed. A row then costs an index, not a template expansion:
//! this is what lets one core make about a million rows a second.
//!
//! The pools depend only on the `fake` version and the fixed seed below, never on the shape or
//! the run's seed, so rows stay a pure function of (shape, seed, index).

use std::sync::OnceLock;

use fake::Fake;
use fake::faker::address::raw::{CityName, StreetName};
use fake::faker::company::raw::CompanyName;
use fake::faker::job::raw::Title;
use fake::locales::{DE_DE, Data, EN, FR_FR, JA_JP, PT_BR};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::values::ascii_slug;
use crate::shape::Locale;

const POOL: usize = 4096;
const POOL_SEED: u64 = 0x7ab1e5;

/// A name and its lower-case ASCII slug (empty when the name has no ASCII letters).
#[derive(Debug)]
pub struct Named {
    pub text: &'static str,
    pub slug: String,
}

/// A company name and its web domain.
#[derive(Debug)]
pub struct CompanyEntry {
    pub name: String,
    pub domain: String,
}

/// Everything one locale draws from.
#[derive(Debug)]
pub struct Tables {
    pub first: Vec<Named>,
    pub last: Vec<Named>,
    pub companies: Vec<CompanyEntry>,
    pub cities: Vec<String>,
    pub streets: Vec<String>,
    pub titles: Vec<String>,
}

/// The tables of `locale`, built on first use.
pub fn tables(locale: Locale) -> &'static Tables {
    static CELLS: [OnceLock<Tables>; 5] = [const { OnceLock::new() }; 5];
    let i = locale as usize;
    CELLS[i].get_or_init(|| build(locale))
}

macro_rules! pool {
    ($faker:ident, $data:expr, $rng:expr) => {
        (0..POOL)
            .map(|_| $faker($data).fake_with_rng::<String, _>($rng))
            .collect::<Vec<String>>()
    };
}

fn named(names: &'static [&'static str]) -> Vec<Named> {
    names
        .iter()
        .map(|n| Named {
            text: n,
            slug: ascii_slug(n),
        })
        .collect()
}

fn build(locale: Locale) -> Tables {
    let mut rng = ChaCha8Rng::seed_from_u64(POOL_SEED ^ locale as u64);
    let rng = &mut rng;
    let (first, last, companies, cities, streets) = match locale {
        Locale::EnUs => (
            named(EN::NAME_FIRST_NAME),
            named(EN::NAME_LAST_NAME),
            pool!(CompanyName, EN, rng),
            pool!(CityName, EN, rng),
            pool!(StreetName, EN, rng),
        ),
        Locale::DeDe => (
            named(DE_DE::NAME_FIRST_NAME),
            named(DE_DE::NAME_LAST_NAME),
            pool!(CompanyName, DE_DE, rng),
            pool!(CityName, DE_DE, rng),
            pool!(StreetName, DE_DE, rng),
        ),
        Locale::FrFr => (
            named(FR_FR::NAME_FIRST_NAME),
            named(FR_FR::NAME_LAST_NAME),
            pool!(CompanyName, FR_FR, rng),
            pool!(CityName, FR_FR, rng),
            pool!(StreetName, FR_FR, rng),
        ),
        Locale::JaJp => (
            named(JA_JP::NAME_FIRST_NAME),
            named(JA_JP::NAME_LAST_NAME),
            pool!(CompanyName, JA_JP, rng),
            pool!(CityName, JA_JP, rng),
            pool!(StreetName, JA_JP, rng),
        ),
        Locale::PtBr => (
            named(PT_BR::NAME_FIRST_NAME),
            named(PT_BR::NAME_LAST_NAME),
            pool!(CompanyName, PT_BR, rng),
            pool!(CityName, PT_BR, rng),
            pool!(StreetName, PT_BR, rng),
        ),
    };
    let tld = match locale {
        Locale::EnUs => "com",
        Locale::DeDe => "de",
        Locale::FrFr => "fr",
        Locale::JaJp => "jp",
        Locale::PtBr => "com.br",
    };
    let companies = companies
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let slug = ascii_slug(&name);
            let domain = if slug.len() >= 3 {
                format!("{}.{tld}", &slug[..slug.len().min(20)])
            } else {
                // Names without ASCII letters (Japanese) get a neutral corporate domain.
                format!("corp{i}.{tld}")
            };
            CompanyEntry { name, domain }
        })
        .collect();
    // Job titles are English in every locale, as CRMs usually hold them.
    let titles = pool!(Title, EN, rng);
    Tables {
        first,
        last,
        companies,
        cities,
        streets,
        titles,
    }
}
