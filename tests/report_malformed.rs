//! Broken run folders: every error names the file, the line and what was expected.

mod report_support;

use std::fs;
use std::path::{Path, PathBuf};

use ilnet::report::{ReportError, write_report};
use report_support::{FakeRun, HEADER};

/// Writes one good run, lets `spoil` damage it, and returns the report's error.
fn error_after(spoil: impl FnOnce(&Path)) -> (ReportError, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let run = FakeRun::new("il-prox", 1.0, 0, vec![(0, 0.1), (50, 0.5), (100, 0.6)]);
    let run_dir = run.write(dir.path());
    spoil(&run_dir);
    let err = write_report(&[dir.path().to_path_buf()], &dir.path().join("out")).unwrap_err();
    (err, run_dir)
}

fn assert_names(err: &ReportError, file: &Path, line: &str, words: &[&str]) {
    let msg = err.to_string();
    let at = format!("{}:{line}", file.display());
    assert!(msg.contains(&at), "{msg:?} does not name {at}");
    for w in words {
        assert!(msg.contains(w), "{msg:?} does not mention {w:?}");
    }
}

/// A missing comma on line 3 of summary.json is reported at line 3.
#[test]
fn rejects_bad_json_naming_file_and_line() {
    let (err, dir) = error_after(|d| {
        let text = "{\"algo\": \"il-prox\",\n\"lr\": 1.0,\n\"seed\": 0 \"data\": \"mnist\"}\n";
        fs::write(d.join("summary.json"), text).unwrap();
    });
    assert!(matches!(err, ReportError::Summary { line: 3, .. }), "{err:?}");
    assert_names(&err, &dir.join("summary.json"), "3", &["bad summary"]);
}

/// A summary without a required field says which field.
#[test]
fn rejects_summary_missing_a_field() {
    let (err, dir) = error_after(|d| {
        fs::write(d.join("summary.json"), "{\"algo\": \"il-prox\", \"lr\": 1.0}").unwrap();
    });
    assert_names(&err, &dir.join("summary.json"), "1", &["missing field `seed`"]);
}

/// An accuracy outside [0, 1] (a percentage, say) is refused with the value.
#[test]
fn rejects_accuracy_outside_unit_interval() {
    let (err, dir) = error_after(|d| {
        let path = d.join("summary.json");
        let text = fs::read_to_string(&path).unwrap();
        let text = text.replace("\"final_accuracy\": 0.6", "\"final_accuracy\": 60");
        fs::write(&path, text).unwrap();
    });
    assert!(matches!(err, ReportError::SummaryValue { field: "final_accuracy", .. }), "{err}");
    assert!(err.to_string().contains("60") && err.to_string().contains("[0, 1]"), "{err}");
    assert!(err.to_string().contains(&dir.join("summary.json").display().to_string()));
}

/// A header without `test_accuracy` is reported at line 1, naming the column.
#[test]
fn rejects_missing_column_naming_file_and_line() {
    let (err, dir) = error_after(|d| {
        let header = HEADER.replace("test_accuracy,", "");
        fs::write(d.join("metrics.csv"), format!("{header}\n0,0,,0.5,0.25,0.1,0.1,,,0.0\n"))
            .unwrap();
    });
    assert!(matches!(err, ReportError::MissingColumn { column: "test_accuracy", .. }), "{err}");
    assert_names(&err, &dir.join("metrics.csv"), "1", &["`test_accuracy`"]);
}

/// A word in a numeric cell on the third line is reported there, quoting it.
#[test]
fn rejects_non_numeric_cell_naming_file_and_line() {
    let (err, dir) = error_after(|d| {
        let path = d.join("metrics.csv");
        let mut lines: Vec<String> =
            fs::read_to_string(&path).unwrap().lines().map(String::from).collect();
        let mut cells: Vec<&str> = lines[2].split(',').collect();
        cells[4] = "oops";
        lines[2] = cells.join(",");
        fs::write(&path, lines.join("\n")).unwrap();
    });
    assert!(matches!(err, ReportError::Cell { line: 3, column: "test_loss", .. }), "{err}");
    assert_names(&err, &dir.join("metrics.csv"), "3", &["\"oops\"", "test_loss"]);
}

/// A fractional step is not a step.
#[test]
fn rejects_fractional_step() {
    let (err, dir) = error_after(|d| {
        let text = format!("{HEADER}\n0,0,,0.1,0.9,0.4,,,,,0.0\n50.5,50,1,0.5,0.5,0.2,,,,,1\n");
        fs::write(d.join("metrics.csv"), text).unwrap();
    });
    assert_names(&err, &dir.join("metrics.csv"), "3", &["`step`", "\"50.5\"", "whole number"]);
}

/// A row with one cell too many is a CSV error at its line.
#[test]
fn rejects_ragged_row() {
    let (err, dir) = error_after(|d| {
        let text = format!("{HEADER}\n0,0,,0.1,0.9,0.4,,,,,0.0\n50,50,1,0.5,0.5,0.2,,,,,1,9\n");
        fs::write(d.join("metrics.csv"), text).unwrap();
    });
    assert!(matches!(err, ReportError::Csv { line: 3, .. }), "{err:?}");
    assert_names(&err, &dir.join("metrics.csv"), "3", &["bad csv"]);
}

/// A run folder whose summary.json exists but metrics.csv does not is an error, not a skip.
#[test]
fn rejects_missing_metrics_file() {
    let (err, dir) = error_after(|d| fs::remove_file(d.join("metrics.csv")).unwrap());
    assert!(matches!(err, ReportError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains(&dir.join("metrics.csv").display().to_string()));
}

/// Empty cells, NaN, inf, extra columns and unknown summary fields are all part of the
/// contract and load fine.
#[test]
fn accepts_empty_nan_inf_and_extra_columns() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = FakeRun::new("bp-sgd", 0.1, 0, vec![(0, 0.1)]).write(dir.path());
    let text =
        format!("{HEADER},extra\n0,0,,0.1,0.9,0.4,,,,,0.0,x\n50,50,NaN,0.2,inf,-inf,NaN,,,,1,y\n");
    fs::write(run_dir.join("metrics.csv"), text).unwrap();
    let run = ilnet::report::runs::load_run(&run_dir).unwrap();
    assert_eq!(run.metrics.len(), 2);
    assert_eq!(run.metrics[0].train_loss, None);
    assert!(run.metrics[1].train_loss.unwrap().is_nan());
    assert_eq!(run.metrics[1].test_loss, Some(f64::INFINITY));
    assert_eq!(run.metrics[1].test_brier, Some(f64::NEG_INFINITY));
    assert_eq!(run.metrics[1].energy_before, None);
}
