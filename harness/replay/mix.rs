//! The create/update/delete mix of a run (`[load] mix`): which operation the open-loop schedule
//! sends at each slot, which record it touches and which version it writes.
//!
//! Operation `j` is a pure function of (mix, seed, j), computed by [`Planner`]:
//!
//! - its kind: creates are laid out evenly (`j` is a create when `⌊(j+1)·c⌋ > ⌊j·c⌋`, `c` the
//!   create share in parts per million, so create number `i` is operation
//!   `⌈(i+1)/c⌉ − 1`), and the other operations are split between updates and deletes the same
//!   way by the delete share of the non-creates; `records` creates take `⌈records/c⌉`
//!   operations, the last of them a create;
//! - its record: an update or a delete touches a record already created by an earlier
//!   operation, within the [`WINDOW`] most recent creates, drawn from (seed, j) and skipping
//!   the records an earlier operation deleted (the next live one below it, wrapping); an
//!   operation that finds no live record in the window (the first few of a run) has no target
//!   and is counted as such, never sent;
//! - its version: the k-th update of a record writes version k (the create is version 0), the
//!   generator's `update_into(record, k)`.
//!
//! The planner keeps one slot per record of the window, so its memory is bounded whatever the
//! run's length; [`Planner::at`] replays it from operation 0, which costs microseconds per
//! thousand operations. A record leaves the window with its final state ([`Final`]): the
//! version its copy must hold at the end, or deleted.

use std::collections::VecDeque;

/// How many of the most recent creates an update or a delete may touch.
pub const WINDOW: u64 = 1024;

/// Parts per million of the shares: exact integer arithmetic for the layout.
const PPM: u64 = 1_000_000;

/// The kind of one operation.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Create,
    Update,
    Delete,
}

impl OpKind {
    pub const ALL: [OpKind; 3] = [OpKind::Create, OpKind::Update, OpKind::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
        }
    }

    pub fn parse(text: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// `[load] mix`: the shares of creates, updates and deletes (they sum to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mix {
    pub create: f64,
    pub update: f64,
    pub delete: f64,
}

impl Mix {
    /// Checks the shares; the error names the key and says how to fix it.
    pub fn new(create: f64, update: f64, delete: f64) -> Result<Mix, (&'static str, String)> {
        for (key, v) in [("create", create), ("update", update), ("delete", delete)] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err((
                    key,
                    format!("{v} is not a share: write a fraction from 0 to 1"),
                ));
            }
        }
        let sum = create + update + delete;
        if (sum - 1.0).abs() > 1e-9 {
            return Err((
                "create",
                format!(
                    "the shares sum to {sum}, not 1: e.g. create = 0.8, update = 0.15, delete = 0.05"
                ),
            ));
        }
        if create * PPM as f64 + 0.5 < 1.0 {
            return Err((
                "create",
                "must be at least 0.000001: `records` counts the creates, so a run needs some"
                    .to_string(),
            ));
        }
        Ok(Mix {
            create,
            update,
            delete,
        })
    }

    fn create_ppm(&self) -> u64 {
        ((self.create * PPM as f64).round() as u64).clamp(1, PPM)
    }

    /// Deletes per million non-creates.
    fn delete_ppm(&self) -> u64 {
        let others = self.update + self.delete;
        if others <= 0.0 {
            return 0;
        }
        ((self.delete / others * PPM as f64).round() as u64).min(PPM)
    }

    /// Creates among operations `0..j`.
    pub fn creates_before(&self, j: u64) -> u64 {
        (u128::from(j) * u128::from(self.create_ppm()) / u128::from(PPM)) as u64
    }

    /// The operation that creates record `i`.
    pub fn op_of_create(&self, i: u64) -> u64 {
        let p = u128::from(self.create_ppm());
        ((u128::from(i) + 1) * u128::from(PPM)).div_ceil(p) as u64 - 1
    }

    /// Operations a run of `records` creates takes (the last one creates the last record).
    pub fn ops_for(&self, records: u64) -> u64 {
        if records == 0 {
            0
        } else {
            self.op_of_create(records - 1) + 1
        }
    }

    /// The kind of operation `j` (before a target is looked for).
    pub fn kind(&self, j: u64) -> OpKind {
        if self.creates_before(j + 1) > self.creates_before(j) {
            return OpKind::Create;
        }
        // The n-th non-create.
        let n = j - self.creates_before(j);
        let d = u128::from(self.delete_ppm());
        let before = u128::from(n) * d / u128::from(PPM);
        let after = (u128::from(n) + 1) * d / u128::from(PPM);
        if after > before {
            OpKind::Delete
        } else {
            OpKind::Update
        }
    }
}

/// One planned operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    /// Its index on the schedule.
    pub idx: u64,
    pub kind: OpKind,
    /// The record it touches (`None`: an update or delete that found no live record).
    pub record: Option<u64>,
    /// The version an update writes (1 for a record's first update); 0 otherwise.
    pub version: u32,
}

/// What a record holds once no operation can touch it any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Final {
    pub record: u64,
    /// The last version written (0: never updated).
    pub version: u32,
    pub deleted: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    version: u32,
    deleted: bool,
}

/// The operation sequence, one operation at a time, with the window of recent records.
#[derive(Debug, Clone)]
pub struct Planner {
    mix: Mix,
    seed: u64,
    next: u64,
    /// Creates so far (= the next record index).
    created: u64,
    /// Records `created - window.len() .. created`.
    window: VecDeque<Slot>,
}

impl Planner {
    pub fn new(mix: Mix, seed: u64) -> Planner {
        Planner {
            mix,
            seed,
            next: 0,
            created: 0,
            window: VecDeque::with_capacity(WINDOW as usize + 1),
        }
    }

    /// The planner positioned at operation `j` (replayed from 0: same state as a fresh run's).
    pub fn at(mix: Mix, seed: u64, j: u64) -> Planner {
        let mut p = Planner::new(mix, seed);
        while p.next < j {
            p.step();
        }
        p
    }

    pub fn mix(&self) -> Mix {
        self.mix
    }

    /// The index of the operation `next` plans.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// Plans the next operation.
    pub fn next_op(&mut self) -> Op {
        self.step().0
    }

    /// Plans the next operation; also the record that left the window, with its final state.
    pub fn step(&mut self) -> (Op, Option<Final>) {
        let j = self.next;
        self.next += 1;
        let kind = self.mix.kind(j);
        if kind == OpKind::Create {
            let record = self.created;
            self.created += 1;
            self.window.push_back(Slot::default());
            let left = (self.window.len() as u64 > WINDOW).then(|| {
                let slot = self.window.pop_front().expect("non-empty");
                Final {
                    record: self.created - 1 - WINDOW,
                    version: slot.version,
                    deleted: slot.deleted,
                }
            });
            let op = Op {
                idx: j,
                kind,
                record: Some(record),
                version: 0,
            };
            return (op, left);
        }
        let n = self.window.len() as u64;
        let base = self.created - n;
        let mut target = None;
        if n > 0 {
            let start = splitmix(self.seed ^ j.wrapping_mul(0x9e37_79b9_7f4a_7c15)) % n;
            for step in 0..n {
                let k = ((start + n - step) % n) as usize;
                if !self.window[k].deleted {
                    target = Some(k);
                    break;
                }
            }
        }
        let mut version = 0;
        if let Some(k) = target {
            let slot = &mut self.window[k];
            match kind {
                OpKind::Update => {
                    slot.version += 1;
                    version = slot.version;
                }
                _ => slot.deleted = true,
            }
        }
        let op = Op {
            idx: j,
            kind,
            record: target.map(|k| base + k as u64),
            version,
        };
        (op, None)
    }

    /// The final states of the records still in the window (after the last operation), oldest
    /// first.
    pub fn remaining(&self) -> impl Iterator<Item = Final> + '_ {
        let base = self.created - self.window.len() as u64;
        self.window.iter().enumerate().map(move |(k, s)| Final {
            record: base + k as u64,
            version: s.version,
            deleted: s.deleted,
        })
    }
}

/// The final state of every record of `0..records`, in record order, with bounded memory.
pub fn finals(mix: Mix, seed: u64, records: u64) -> impl Iterator<Item = Final> {
    let mut planner = Planner::new(mix, seed);
    let ops = mix.ops_for(records);
    let mut tail: Option<std::vec::IntoIter<Final>> = None;
    std::iter::from_fn(move || {
        loop {
            if let Some(tail) = &mut tail {
                return tail.next();
            }
            if planner.position() >= ops {
                tail = Some(planner.remaining().collect::<Vec<_>>().into_iter());
                continue;
            }
            if let (_, Some(left)) = planner.step() {
                return Some(left);
            }
        }
    })
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix() -> Mix {
        Mix::new(0.8, 0.15, 0.05).unwrap()
    }

    #[test]
    fn shares_are_checked() {
        assert!(Mix::new(0.8, 0.15, 0.06).unwrap_err().1.contains("sum to"));
        assert_eq!(Mix::new(1.2, -0.1, -0.1).unwrap_err().0, "create");
        assert_eq!(Mix::new(0.5, f64::NAN, 0.5).unwrap_err().0, "update");
        assert!(Mix::new(0.0, 0.5, 0.5).is_err());
        assert!(Mix::new(1.0, 0.0, 0.0).is_ok());
    }

    #[test]
    fn creates_are_laid_out_exactly_and_the_layout_inverts() {
        let m = mix();
        for i in 0..5_000 {
            let j = m.op_of_create(i);
            assert_eq!(m.kind(j), OpKind::Create, "record {i}");
            assert_eq!(m.creates_before(j), i);
        }
        let ops = m.ops_for(10_000);
        assert_eq!(ops, 12_500);
        let mut counts = [0u64; 3];
        for j in 0..ops {
            counts[m.kind(j) as usize] += 1;
        }
        assert_eq!(counts, [10_000, 1_875, 625]);
    }

    #[test]
    fn creates_only_is_one_create_per_operation() {
        let m = Mix::new(1.0, 0.0, 0.0).unwrap();
        let mut p = Planner::new(m, 7);
        for j in 0..3000 {
            let op = p.next_op();
            assert_eq!((op.kind, op.record), (OpKind::Create, Some(j)));
        }
    }

    #[test]
    fn operations_touch_created_records_in_order_and_never_after_a_delete() {
        let m = mix();
        let mut p = Planner::new(m, 42);
        let mut created = 0u64;
        let mut deleted = std::collections::HashSet::new();
        let mut versions = std::collections::HashMap::new();
        let mut no_target = 0;
        for _ in 0..m.ops_for(20_000) {
            let op = p.next_op();
            match (op.kind, op.record) {
                (OpKind::Create, Some(r)) => {
                    assert_eq!(r, created);
                    created += 1;
                }
                (_, None) => no_target += 1,
                (kind, Some(r)) => {
                    assert!(r < created && r + WINDOW >= created, "{op:?}");
                    assert!(!deleted.contains(&r), "{op:?} after a delete");
                    if kind == OpKind::Delete {
                        deleted.insert(r);
                    } else {
                        let v = versions.entry(r).or_insert(0u32);
                        *v += 1;
                        assert_eq!(op.version, *v);
                    }
                }
            }
        }
        assert!(no_target <= 2, "{no_target}");
        // The final states agree with the sequence, record by record.
        let finals: Vec<Final> = finals(m, 42, 20_000).collect();
        assert_eq!(finals.len(), 20_000);
        for (i, f) in finals.iter().enumerate() {
            assert_eq!(f.record, i as u64);
            assert_eq!(f.deleted, deleted.contains(&f.record));
            assert_eq!(f.version, versions.get(&f.record).copied().unwrap_or(0));
        }
    }

    #[test]
    fn a_planner_resumed_mid_run_plans_the_same_operations() {
        let m = mix();
        let mut fresh = Planner::new(m, 9);
        let whole: Vec<Op> = (0..6000).map(|_| fresh.next_op()).collect();
        let mut resumed = Planner::at(m, 9, 4321);
        let rest: Vec<Op> = (4321..6000).map(|_| resumed.next_op()).collect();
        assert_eq!(&whole[4321..], &rest[..]);
        let other: Vec<Op> = {
            let mut p = Planner::new(m, 10);
            (0..6000).map(|_| p.next_op()).collect()
        };
        assert_ne!(whole, other, "the seed picks the targets");
    }
}
