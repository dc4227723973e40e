//! Which rows of each object exist, and which row owns which, as pure functions of
//! (shape, seed, index): no table of rows is ever built.
//!
//! - The root object has rows `0..records`.
//! - The root's parent (companies for contacts) is laid out in blocks of [`BLOCK`] root rows:
//!   in block `b`, parents `b·BLOCK + 0, + 1, …` own successive runs of root rows whose lengths
//!   follow the root's `per_target` distribution (the last run is cut at the block's end). A
//!   parent exists when its first root row does (`< records`).
//! - A child (deals of a company) of owner row `o` has rows `o·stride + j`, `j < count(o)`, where
//!   `stride` is the largest count `per_target` allows and `count(o)` is drawn from it.
//!
//! Row indices of non-root objects are therefore sparse but stable, and every row's owner is a
//! division or a short walk over one block.

use crate::shape::{CountDist, Layout, Shape};

use super::record::{splitmix64, unit};

/// Root rows per layout block; also the unit of sharding and of parallel work.
pub const BLOCK: u64 = 1024;

/// The counts of root rows owned by successive parents of block `b`, cut to the block's size,
/// with their running ends (`ends[k]` = rows of the block owned by parents `0..=k`).
#[derive(Debug)]
pub struct Runs {
    pub counts: Vec<u32>,
    pub ends: Vec<u32>,
}

/// The runs of block `block`.
///
/// Consecutive rows share a block, so each thread keeps the last block's runs (shared, not
/// copied, with every caller). The cache is keyed by everything the runs depend on (the
/// distribution itself, the seed, the block), never by an address, so it cannot serve another
/// shape's runs.
pub fn parent_runs(shape: &Shape, seed: u64, block: u64) -> std::rc::Rc<Runs> {
    use std::cell::RefCell;
    use std::rc::Rc;
    type Key = (CountDist, u64, u64);
    thread_local! {
        static LAST: RefCell<Option<(Key, Rc<Runs>)>> = const { RefCell::new(None) };
    }
    let (_, _, dist) = shape
        .root()
        .owning_reference()
        .expect("only called for a root with a parent");
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some(((d, s, b), runs)) = last.as_ref()
            && *s == seed
            && *b == block
            && d == dist
        {
            return Rc::clone(runs);
        }
        let counts = compute_runs(dist, seed, block);
        let ends = counts
            .iter()
            .scan(0u32, |end, n| {
                *end += n;
                Some(*end)
            })
            .collect();
        let runs = Rc::new(Runs { counts, ends });
        *last = Some(((dist.clone(), seed, block), Rc::clone(&runs)));
        runs
    })
}

fn compute_runs(dist: &CountDist, seed: u64, block: u64) -> Vec<u32> {
    let salt = splitmix64(seed ^ 0x7061_7265_6e74 ^ splitmix64(block));
    let mut runs = Vec::new();
    let mut filled = 0u64;
    let mut k = 0u64;
    while filled < BLOCK {
        let n = u64::from(dist.sample(unit(splitmix64(salt ^ k)))).clamp(1, BLOCK - filled);
        runs.push(n as u32);
        filled += n;
        k += 1;
    }
    runs
}

/// The parent row of root row `idx`.
pub fn parent_of_root(shape: &Shape, seed: u64, idx: u64) -> u64 {
    let block = idx / BLOCK;
    let offset = (idx % BLOCK) as u32;
    let runs = parent_runs(shape, seed, block);
    // The first parent whose run ends after `offset`; runs cover the block.
    let k = runs.ends.partition_point(|&end| end <= offset);
    debug_assert!(k < runs.ends.len(), "runs cover the block");
    block * BLOCK + k as u64
}

/// The root rows `(first, count)` owned by parent row `parent`, ignoring `records`.
pub fn root_rows_of_parent(shape: &Shape, seed: u64, parent: u64) -> (u64, u64) {
    let block = parent / BLOCK;
    let k = (parent % BLOCK) as usize;
    let runs = parent_runs(shape, seed, block);
    let first = block * BLOCK + u64::from(if k == 0 { 0 } else { runs.ends[k - 1] });
    (first, u64::from(runs.counts[k]))
}

/// Rows of `object` reserved per owner row (the largest count allowed, at least 1).
pub fn stride(shape: &Shape, object: usize) -> u64 {
    shape.objects[object]
        .owning_reference()
        .map(|(_, _, d)| u64::from(d.max()).max(1))
        .unwrap_or(1)
}

/// How many rows of child `object` owner row `owner` has.
pub fn child_count(shape: &Shape, seed: u64, object: usize, owner: u64) -> u64 {
    let (_, _, dist) = shape.objects[object]
        .owning_reference()
        .expect("children have an owning reference");
    let salt = splitmix64(seed ^ 0x0063_6869_6c64 ^ (object as u64).wrapping_mul(0x9e37));
    u64::from(dist.sample(unit(splitmix64(salt ^ splitmix64(owner)))))
}

/// The owner `(object, row)` of row `idx` of `object`, if it has one.
pub fn owner_of(shape: &Shape, seed: u64, object: usize, idx: u64) -> Option<(usize, u64)> {
    match shape.objects[object].layout {
        Layout::Root => shape
            .root()
            .owning_reference()
            .map(|(_, parent, _)| (parent, parent_of_root(shape, seed, idx))),
        Layout::ParentOfRoot => None,
        Layout::ChildOf { owner, .. } => Some((owner, idx / stride(shape, object))),
    }
}

/// Objects in generation order: every owner before the objects it owns.
pub fn generation_order(shape: &Shape) -> Vec<usize> {
    let mut order = vec![shape.root];
    if let Some(p) = shape
        .objects
        .iter()
        .position(|o| o.layout == Layout::ParentOfRoot)
    {
        order.push(p);
    }
    while order.len() < shape.objects.len() {
        let before = order.len();
        for (i, o) in shape.objects.iter().enumerate() {
            if let Layout::ChildOf { owner, .. } = o.layout
                && order.contains(&owner)
                && !order.contains(&i)
            {
                order.push(i);
            }
        }
        assert!(order.len() > before, "validated: every object is laid out");
    }
    order
}

/// The rows of every object that block `block` of `records` root rows holds, per object index,
/// in increasing order. Blocks are disjoint and together hold every row exactly once.
pub fn rows_of_block(shape: &Shape, seed: u64, records: u64, block: u64) -> Vec<Vec<u64>> {
    let mut rows: Vec<Vec<u64>> = vec![Vec::new(); shape.objects.len()];
    let start = block * BLOCK;
    let end = ((block + 1) * BLOCK).min(records);
    rows[shape.root] = (start..end).collect();
    for object in generation_order(shape) {
        match shape.objects[object].layout {
            Layout::Root => {}
            Layout::ParentOfRoot => {
                let mut first = start;
                for (k, n) in parent_runs(shape, seed, block).counts.iter().enumerate() {
                    if first >= end {
                        break;
                    }
                    rows[object].push(start + k as u64);
                    first += u64::from(*n);
                }
            }
            Layout::ChildOf { owner, .. } => {
                let stride = stride(shape, object);
                let mut mine = Vec::new();
                for &o in &rows[owner] {
                    let n = child_count(shape, seed, object, o);
                    mine.extend((0..n).map(|j| o * stride + j));
                }
                rows[object] = mine;
            }
        }
    }
    rows
}
