//! The shape of the data: which fields a record has, what kind each is, how often each is empty,
//! which locales names come from, and which defects are injected on purpose (and labelled).
//!
//! A shape holds distributions and formats, never personal values. This is the narrow contact
//! shape the whole loop runs on; richer objects and relations build on the same types.

mod spec;

pub use spec::{Comparator, DefectRates, FieldKind, FieldSpec, Locale, Shape};

/// The demo's contact shape, embedded so `demo` needs no file.
pub const DEMO_SHAPE: &str = include_str!("../datasets/shapes/contacts.toml");
