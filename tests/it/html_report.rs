//! The HTML report as a browser sees it: a run whose plan is named `A&B <script>` is rendered,
//! opened in headless Chromium (`--dump-dom`), and the DOM must hold the verdict table, the SVG
//! charts and the hostile name as text, with no script element and no console error.
//!
//! Chromium is found at `$CHROMIUM`, `/usr/bin/chromium` or `chromium` on the PATH (`.ci/run`
//! installs Debian's `chromium`). When it is missing the test FAILS if `CI` is set (CI must
//! exercise the browser); on a developer machine without `CI` it says so on stderr and passes,
//! so `cargo test` works before Chromium is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{in_ci, plan_text, run};

pub const HOSTILE: &str = "A&B <script>alert(1)</script>";

/// Runs a small plan named [`HOSTILE`]; returns the run directory (inside `dir`).
pub async fn hostile_run(dir: &Path) -> PathBuf {
    let text = plan_text(300, 11, "", 0.0)
        .replace("name = \"it\"", &format!("name = {}", toml_string(HOSTILE)));
    let (outcome, summary) = run(dir, &text).await;
    assert_eq!(summary["run"]["plan"], HOSTILE);
    outcome.dir
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let fixed = Path::new("/usr/bin/chromium");
    if fixed.exists() {
        return Some(fixed.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("chromium"))
            .find(|p| p.exists())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_renders_in_headless_chromium_with_hostile_names_as_text() {
    let Some(browser) = chromium() else {
        assert!(
            !in_ci(),
            "chromium is not installed but CI is set: .ci/run must install it \
             (apt-get install -y --no-install-recommends chromium), or set CHROMIUM=/path/to/chromium"
        );
        eprintln!(
            "html_report: chromium not found (set CHROMIUM or install Debian's chromium); \
             browser check not run because CI is unset"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run_dir = hostile_run(dir.path()).await;
    let report = run_dir.join("report.html");
    assert!(report.exists(), "the run wrote no report.html");
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!(
            "file://{}",
            report.canonicalize().unwrap().display()
        ))
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let dom = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{} failed: {log}", browser.display());
    assert!(
        dom.contains("<table id=\"verdicts\">"),
        "no verdict table in the DOM:\n{dom}"
    );
    assert!(
        dom.contains("records.loss_rate"),
        "verdict rows missing:\n{dom}"
    );
    assert!(dom.matches("<svg").count() >= 4, "charts missing:\n{dom}");
    assert!(dom.contains("<polyline"), "no chart lines:\n{dom}");
    // The hostile name is a text node (serialised escaped), never an element.
    assert!(
        dom.contains("A&amp;B &lt;script&gt;alert(1)&lt;/script&gt;"),
        "hostile name not shown as text:\n{dom}"
    );
    assert!(
        !dom.contains("<script"),
        "a script element reached the DOM:\n{dom}"
    );
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains(":CONSOLE("))
        .collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
}
