//! Synthetic records and their ground truth. Row `i` of an object is a pure function of
//! (shape, seed, object, i): any row can be made without the others, so shards, resumes and the
//! quality stage (which regenerates what was sent instead of storing it) all see identical data.

mod chunked;
mod dataset;
mod defects;
mod layout;
mod record;
mod tables;
mod updates;
mod values;
mod writer;

pub use dataset::{
    DatasetOptions, GROUP_BLOCKS, ObjectFile, object_path, part_path, shard_blocks, updates_path,
    write_dataset,
};
pub use defects::{DUP_VARIANTS, nickname};
pub use layout::{BLOCK, generation_order, owner_of, rows_of_block};
pub use record::{Generator, Record};
pub use updates::{History, Op, Version};
pub use writer::{Codec, Format, RecordWriter, object_schema, record_schema, update_schema};
