//! `syncproof report RUN_DIR`: re-renders `report.md`, `junit.xml` and `report.html` from the run
//! directory alone (`summary.json` and `events/`), prints the verdict table, and exits by the
//! verdicts (0 pass, 1 breach, 4 inconclusive); 2 when RUN_DIR is not a finished run.

use std::path::Path;

use super::Exit;
use crate::report::{render_table, rerender};

pub fn report(run_dir: &Path) -> Exit {
    match rerender(run_dir) {
        Ok(summary) => {
            print!("{}", render_table(&summary));
            println!(
                "re-rendered {} (report.md, junit.xml, report.html)",
                run_dir.display()
            );
            Exit::for_verdict(summary.overall)
        }
        Err(e) => Exit::for_error(&e, e.is_bad_input()),
    }
}
