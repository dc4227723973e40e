//! `syncproof report RUN_DIR` re-renders a run's reports from the run directory alone: the
//! files come back byte for byte, the exit code follows the verdicts, and a directory without
//! `summary.json` is refused with exit 2 and a message that says what it is missing.

use crate::support::read_summary;
use std::process::Command;

use crate::html_report::hostile_run;

fn syncproof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_syncproof"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_re_renders_the_same_files_and_exits_by_the_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = hostile_run(dir.path()).await;
    let names = ["report.md", "junit.xml", "report.html"];
    let before: Vec<String> = names
        .iter()
        .map(|n| std::fs::read_to_string(run_dir.join(n)).unwrap())
        .collect();
    for n in names {
        std::fs::remove_file(run_dir.join(n)).unwrap();
    }
    let out = syncproof().arg("report").arg(&run_dir).output().unwrap();
    let summary: serde_json::Value = read_summary(&run_dir);
    let want = match summary["verdict"].as_str().unwrap() {
        "pass" => 0,
        "fail" => 1,
        _ => 4,
    };
    assert_eq!(
        out.status.code(),
        Some(want),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (n, old) in names.iter().zip(&before) {
        let new = std::fs::read_to_string(run_dir.join(n)).unwrap();
        assert_eq!(&new, old, "{n} differs after re-rendering");
    }
}

#[test]
fn a_directory_without_summary_json_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = syncproof().arg("report").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("no summary.json") && err.contains(&dir.path().display().to_string()),
        "{err}"
    );
    assert!(!dir.path().join("report.html").exists());
}
