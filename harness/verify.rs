//! Verify: watch the target for the records that were sent. While the run goes on, records in
//! flight are read back by external id ([`observe`]); a record first seen there is *delivered*
//! and its sync latency recorded; one not seen within the window after its write settled is
//! *lost*. When the run ends, [`reconcile`] searches the target for every record sent and
//! returns all the copies it holds, duplicates included, for the quality stage to judge.

mod method;
mod postgres;
mod readback;
mod reconcile;
mod search;
mod watch;
mod webhook;

pub use method::{PostgresMethod, VerifyFile, VerifyMethod, WebhookMethod, parse_method};
pub use postgres::{Warehouse, WarehouseError, WarehouseFinder, reconcile_warehouse};
pub use readback::{VerifyContext, observe};
pub use reconcile::{ReconcileError, reconcile};
pub use search::SearchFinder;
pub use watch::{Counters, Finder, watch};
pub use webhook::{Receiver, WebhookFinder};
