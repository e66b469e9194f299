//! Opens a generated report in headless Chromium and checks that the page works there:
//! every image decodes (complete, natural width > 0) and every table has body rows.
//!
//! The page's own self-check script (see `ilnet::report::html`) writes its findings into a
//! hidden element; Chromium's `--dump-dom` prints the DOM after the scripts ran, and the
//! test reads the findings back from it. The Content-Security-Policy of the page blocks
//! every non-`data:` source, so a figure that was not embedded would show up as broken.
//!
//! Needs Chromium (`apt-get install -y chromium chromium-driver`, or set
//! `ILNET_CHROMIUM` to a Chrome or Chromium binary). Without it the test prints a skip
//! line, except under CI (`CI` set), where it fails.

mod report_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ilnet::report::html::SELF_CHECK_ID;
use ilnet::report::write_report;

/// Chromium on a busy two-core machine starts in a few seconds; this is generous.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

fn find_chromium() -> Option<PathBuf> {
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
fn run_chromium(chromium: &Path, page: &Path, extra: &[String]) -> Output {
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
fn self_check(dom: &str) -> Option<(String, String)> {
    let start = dom.find(&format!("id=\"{SELF_CHECK_ID}\""))?;
    let tag_end = start + dom[start..].find('>')?;
    let tag = &dom[start..tag_end];
    let status_at = tag.find("data-status=\"")? + "data-status=\"".len();
    let status = tag[status_at..].split('"').next()?.to_string();
    let text_end = tag_end + dom[tag_end..].find("</div>")?;
    let text = dom[tag_end + 1..text_end].replace("&quot;", "\"").replace("&amp;", "&");
    Some((status, text))
}

/// The report opens in a real browser with every figure decoded and every table filled.
#[test]
fn report_page_loads_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        let hint = "install it with `apt-get update && apt-get install -y chromium \
                    chromium-driver`, or set ILNET_CHROMIUM";
        if std::env::var_os("CI").is_some() {
            panic!("chromium not found: CI must install it for the browser test ({hint})");
        }
        eprintln!("skipping report_page_loads_in_headless_chromium: chromium not found; {hint}");
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    report_support::write_sweep(&runs);
    let index = write_report(&[runs], &dir.path().join("report")).unwrap();
    let n_figures = index.files.iter().filter(|f| f.extension().is_some_and(|e| e == "svg"));
    let n_figures = n_figures.count();
    assert!(n_figures >= 5, "expected at least 5 figures, wrote {n_figures}");

    let out = run_chromium(&chromium, &index.html, &["--dump-dom".to_string()]);
    let dom = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed ({}):\n{stderr}", out.status);
    let (status, text) = self_check(&dom).unwrap_or_else(|| {
        panic!("no #{SELF_CHECK_ID} element in the dumped DOM; chromium said:\n{stderr}")
    });
    assert_ne!(status, "pending", "the self-check script did not run; chromium said:\n{stderr}");

    let found: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("self-check wrote {text:?}, not JSON: {e}"));
    assert_eq!(found["images"], n_figures, "images on the page: {found}");
    assert_eq!(found["broken"], serde_json::json!([]), "images that did not load: {found}");
    assert_eq!(found["tables"], 2, "tables on the page: {found}");
    assert_eq!(found["empty_tables"], 0, "tables without body rows: {found}");
    assert_eq!(status, "ok", "{found}");

    // A screenshot for a person to look at: ILNET_REPORT_SCREENSHOT=/path/shot.png.
    if let Some(shot) = std::env::var_os("ILNET_REPORT_SCREENSHOT") {
        let args = [
            format!("--screenshot={}", PathBuf::from(shot).display()),
            "--window-size=1200,4000".to_string(),
        ];
        let out = run_chromium(&chromium, &index.html, &args);
        assert!(
            out.status.success(),
            "screenshot failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The missing-data study's page opens in the browser with every figure and table intact.
#[test]
fn missing_study_page_loads_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        assert!(std::env::var_os("CI").is_none(), "chromium not found: CI must install it");
        eprintln!("skipping missing_study_page_loads_in_headless_chromium: chromium not found");
        return;
    };
    let root = tempfile::tempdir().unwrap();
    report_support::write_tabular_root(root.path(), 80);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("study.toml");
    std::fs::write(&file, report_support::study_toml(&dir.path().join("results"), 3)).unwrap();
    let study = ilnet::missing::study::Study::from_file(&file).unwrap();
    ilnet::missing::study::run_study(&study, root.path(), 2, &|_, _, _| {}).unwrap();
    let out_dir = dir.path().join("report");
    let page = ilnet::report::missing::write_missing_report(&dir.path().join("results"), &out_dir)
        .unwrap();
    let n_figures = std::fs::read_dir(&out_dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "svg"))
        .count();
    // One score figure per table and the decisiveness figure.
    assert_eq!(n_figures, 3);

    let out = run_chromium(&chromium, &page, &["--dump-dom".to_string()]);
    let dom = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed ({}):\n{stderr}", out.status);
    let (status, text) = self_check(&dom).expect("self-check element");
    let found: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(found["images"], n_figures, "{found}");
    assert_eq!(found["broken"], serde_json::json!([]), "{found}");
    // Ranks, the two gaps to mean imputation, decisiveness, and a score table per (table,
    // algorithm).
    assert_eq!(found["tables"], 4 + 2 * 2, "{found}");
    assert_eq!(found["empty_tables"], 0, "{found}");
    assert_eq!(status, "ok", "{found}");
}
