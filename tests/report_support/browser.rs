//! Headless Chromium for the report tests: find it, run it on a page, and read back the
//! findings of the page's self-check script (see `ilnet::report::html`).
//!
//! Needs Chromium (`apt-get install -y chromium chromium-driver`, or set `ILNET_CHROMIUM`
//! to a Chrome or Chromium binary). [`chromium_or_skip`] returns `None` with a skip line
//! when it is absent, except under CI (`CI` set), where absence is a failure.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ilnet::report::html::SELF_CHECK_ID;

/// Chromium on a busy two-core machine starts in a few seconds; this is generous.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ILNET_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
    let dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    let mut dirs = dirs.unwrap_or_default();
    dirs.push(PathBuf::from("/usr/bin"));
    dirs.iter().flat_map(|d| names.iter().map(move |n| d.join(n))).find(|p| p.is_file())
}

/// Runs the browser headless on `page` with a fresh profile, returning its output.
pub fn run_chromium(chromium: &Path, page: &Path, extra: &[String]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    // Output goes to files, not pipes: the dumped DOM is larger than a pipe's buffer, and
    // a full pipe would stall the browser while this thread waits for it to exit.
    let stdout_path = profile.path().join("stdout");
    let stderr_path = profile.path().join("stderr");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));

    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!("{} did not finish within {BROWSER_TIMEOUT:?}:\n{stderr}", chromium.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: std::fs::read(&stdout_path).unwrap(),
        stderr: std::fs::read(&stderr_path).unwrap(),
    }
}

/// The `data-status` and text of the self-check element in a dumped DOM.
pub fn self_check(dom: &str) -> Option<(String, String)> {
    let start = dom.find(&format!("id=\"{SELF_CHECK_ID}\""))?;
    let tag_end = start + dom[start..].find('>')?;
    let tag = &dom[start..tag_end];
    let status_at = tag.find("data-status=\"")? + "data-status=\"".len();
    let status = tag[status_at..].split('"').next()?.to_string();
    let text_end = tag_end + dom[tag_end..].find("</div>")?;
    let text = dom[tag_end + 1..text_end].replace("&quot;", "\"").replace("&amp;", "&");
    Some((status, text))
}

/// The browser, or `None` after printing why `test` is skipped; panics under CI.
pub fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    let found = find_chromium();
    if found.is_none() {
        let hint = "install it with `apt-get update && apt-get install -y chromium \
                    chromium-driver`, or set ILNET_CHROMIUM";
        if std::env::var_os("CI").is_some() {
            panic!("chromium not found: CI must install it for the browser test ({hint})");
        }
        eprintln!("skipping {test}: chromium not found; {hint}");
    }
    found
}

/// Opens `page` and returns the self-check's status and its JSON findings.
///
/// # Panics
///
/// If the browser fails, the page has no self-check element, or the script did not run.
pub fn check_page(chromium: &Path, page: &Path) -> (String, serde_json::Value) {
    let out = run_chromium(chromium, page, &["--dump-dom".to_string()]);
    let dom = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed ({}):\n{stderr}", out.status);
    let (status, text) = self_check(&dom).unwrap_or_else(|| {
        panic!("no #{SELF_CHECK_ID} element in the dumped DOM; chromium said:\n{stderr}")
    });
    assert_ne!(status, "pending", "the self-check script did not run; chromium said:\n{stderr}");
    let found = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("self-check wrote {text:?}, not JSON: {e}"));
    (status, found)
}
