//! The shape of the data: which objects exist (companies, contacts, deals), their fields and
//! kinds, how often each value is empty, how objects reference each other and how many of one
//! exist per another, which locales names come from, and which defects are injected on purpose
//! (and labelled).
//!
//! A shape holds distributions and formats, never personal values.

mod dist;
mod file;
pub mod profile;
mod spec;

pub use dist::{CountDist, NumberDist, probit};
pub use file::RESERVED;
pub use spec::{
    Case, Comparator, DefectRates, FieldKind, FieldSpec, Given, LOCAL_PARTS, Layout, Locale,
    ObjectShape, Params, PhoneFormat, Shape, Spacing, UpdateSpec, given_key,
};

/// The demo's contact shape, embedded so `demo` needs no file.
pub const DEMO_SHAPE: &str = include_str!("../datasets/shapes/contacts.toml");
