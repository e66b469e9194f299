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

use std::path::PathBuf;

use ilnet::report::write_report;
use report_support::browser::{check_page, chromium_or_skip, run_chromium};

/// The report opens in a real browser with every figure decoded and every table filled.
#[test]
fn report_page_loads_in_headless_chromium() {
    let Some(chromium) = chromium_or_skip("report_page_loads_in_headless_chromium") else {
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    report_support::write_sweep(&runs);
    let index = write_report(&[runs], &dir.path().join("report")).unwrap();
    let n_figures = index.files.iter().filter(|f| f.extension().is_some_and(|e| e == "svg"));
    let n_figures = n_figures.count();
    assert!(n_figures >= 5, "expected at least 5 figures, wrote {n_figures}");

    let (status, found) = check_page(&chromium, &index.html);
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
    let Some(chromium) = chromium_or_skip("missing_study_page_loads_in_headless_chromium") else {
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

    let (status, found) = check_page(&chromium, &page);
    assert_eq!(found["images"], n_figures, "{found}");
    assert_eq!(found["broken"], serde_json::json!([]), "{found}");
    // Ranks, the two gaps to mean imputation, decisiveness, and a score table per (table,
    // algorithm).
    assert_eq!(found["tables"], 4 + 2 * 2, "{found}");
    assert_eq!(found["empty_tables"], 0, "{found}");
    assert_eq!(status, "ok", "{found}");
}
