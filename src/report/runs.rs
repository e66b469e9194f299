//! Reading run folders: the contract between training runs and reports.
//!
//! A *run folder* holds `summary.json` (written when the run ends) and `metrics.csv` (one
//! row per evaluation). A folder with `metrics.csv` but no `summary.json` is a run still in
//! progress: it is skipped with a warning. Folders that are neither are searched for run
//! folders below them.
//!
//! Empty cells in `metrics.csv` mean "no value" (no train loss at step 0, no energies for
//! backprop); `NaN` and `inf` are kept as numbers, since a diverged run writes them.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ReportError;

/// The file a finished run writes last.
pub const SUMMARY_FILE: &str = "summary.json";
/// The file a run appends one row to at every evaluation.
pub const METRICS_FILE: &str = "metrics.csv";

/// The fixed header of `metrics.csv`, in order.
pub const METRICS_COLUMNS: [&str; 11] = [
    "step",
    "samples",
    "train_loss",
    "test_accuracy",
    "test_loss",
    "test_brier",
    "update_norm",
    "update_norm_weights",
    "energy_before",
    "energy_after",
    "wall_s",
];

/// How deep the search for run folders goes below each given path; it guards against
/// symbolic-link loops.
const MAX_SEARCH_DEPTH: usize = 16;

/// `summary.json` of one run. Fields not listed here are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunSummary {
    /// Algorithm name, for example `il-prox`.
    pub algo: String,
    /// The tuned learning rate; α for the prox algorithms.
    pub lr: f64,
    /// Seed of the run: runs that differ only in the seed are replicates.
    pub seed: u64,
    /// Data set name, for example `mnist`.
    pub data: String,
    /// Mini-batch size.
    #[serde(default)]
    pub batch: Option<u64>,
    /// Steps the run was asked for.
    #[serde(default)]
    pub steps: Option<u64>,
    /// Steps it ran (fewer when it diverged).
    #[serde(default)]
    pub steps_run: Option<u64>,
    /// Highest test accuracy seen, in [0, 1].
    #[serde(default)]
    pub best_accuracy: Option<f64>,
    /// Step of `best_accuracy`.
    #[serde(default)]
    pub best_step: Option<u64>,
    /// Test accuracy at the last evaluation, in [0, 1]; may be null only for a diverged run.
    #[serde(default)]
    pub final_accuracy: Option<f64>,
    /// Step of `final_accuracy`.
    #[serde(default)]
    pub final_step: Option<u64>,
    /// Statistics of the per-step update norm.
    #[serde(default)]
    pub update_norm: UpdateNormSummary,
    /// Where the run diverged; `None` for a run that stayed finite.
    #[serde(default)]
    pub diverged: Option<Divergence>,
    /// Wall-clock seconds of the run.
    #[serde(default)]
    pub wall_s: Option<f64>,
}

/// Mean, standard deviation and maximum of the update norm over a run's steps.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UpdateNormSummary {
    /// Mean over steps.
    #[serde(default)]
    pub mean: Option<f64>,
    /// Standard deviation over steps.
    #[serde(default)]
    pub std: Option<f64>,
    /// Largest value.
    #[serde(default)]
    pub max: Option<f64>,
}

/// Where and in what a run first went non-finite.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Divergence {
    /// Step at which it was detected.
    pub step: u64,
    /// Layer index in which it was detected, when known.
    #[serde(default)]
    pub layer: Option<u64>,
    /// What went non-finite, for example `weights` or `energy`.
    #[serde(default)]
    pub quantity: Option<String>,
}

/// One row of `metrics.csv`. `None` is an empty cell.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRow {
    /// Training step of the evaluation (0 is before any update).
    pub step: u64,
    /// Training samples seen.
    pub samples: Option<f64>,
    /// Mean training loss since the previous evaluation.
    pub train_loss: Option<f64>,
    /// Test accuracy in [0, 1].
    pub test_accuracy: Option<f64>,
    /// Proper test loss (cross-entropy for classifiers).
    pub test_loss: Option<f64>,
    /// Test Brier score.
    pub test_brier: Option<f64>,
    /// Norm of the last parameter update.
    pub update_norm: Option<f64>,
    /// Norm of the last weight update alone.
    pub update_norm_weights: Option<f64>,
    /// Energy before inference (IL only).
    pub energy_before: Option<f64>,
    /// Energy after inference (IL only).
    pub energy_after: Option<f64>,
    /// Wall-clock seconds since the start.
    pub wall_s: Option<f64>,
}

/// A finished run: its folder, summary and evaluation rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The run folder.
    pub dir: PathBuf,
    /// Its `summary.json`.
    pub summary: RunSummary,
    /// Its `metrics.csv`, in file order.
    pub metrics: Vec<MetricsRow>,
}

impl Run {
    /// Whether the run diverged.
    pub fn diverged(&self) -> bool {
        self.summary.diverged.is_some()
    }

    /// The `(step, value)` pairs of one metric, skipping empty cells.
    pub fn series(&self, metric: impl Fn(&MetricsRow) -> Option<f64>) -> Vec<(u64, f64)> {
        self.metrics.iter().filter_map(|row| metric(row).map(|v| (row.step, v))).collect()
    }
}

/// The runs found under some paths, and the unfinished run folders passed over.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedRuns {
    /// Finished runs, in search order.
    pub runs: Vec<Run>,
    /// Folders with `metrics.csv` but no `summary.json` (runs still going, or killed).
    pub skipped: Vec<PathBuf>,
}

/// Finds and reads every run folder at or below each of `paths`.
///
/// A folder holding `summary.json` is a run and is not searched further. Unfinished runs
/// are logged as warnings and listed in [`LoadedRuns::skipped`]. A folder reached twice
/// (overlapping paths) is read once.
pub fn load_runs(paths: &[PathBuf]) -> Result<LoadedRuns, ReportError> {
    let mut loaded = LoadedRuns::default();
    let mut seen = HashSet::new();
    for path in paths {
        if !path.is_dir() {
            let source = match fs::metadata(path) {
                Err(e) => e,
                Ok(_) => std::io::Error::other("not a folder"),
            };
            return Err(ReportError::RunDir { path: path.clone(), source });
        }
        search(path, 0, &mut seen, &mut loaded)?;
    }
    Ok(loaded)
}

fn search(
    dir: &Path,
    depth: usize,
    seen: &mut HashSet<PathBuf>,
    loaded: &mut LoadedRuns,
) -> Result<(), ReportError> {
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    if !seen.insert(canonical) {
        return Ok(());
    }
    if dir.join(SUMMARY_FILE).is_file() {
        loaded.runs.push(load_run(dir)?);
        return Ok(());
    }
    if dir.join(METRICS_FILE).is_file() {
        tracing::warn!("skipping {}: no {SUMMARY_FILE} yet (run unfinished?)", dir.display());
        loaded.skipped.push(dir.to_path_buf());
        return Ok(());
    }
    if depth >= MAX_SEARCH_DEPTH {
        return Ok(());
    }
    let read_err = |source| ReportError::RunDir { path: dir.to_path_buf(), source };
    let mut children = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.is_dir() {
            children.push(path);
        }
    }
    children.sort();
    for child in children {
        search(&child, depth + 1, seen, loaded)?;
    }
    Ok(())
}

/// Reads one run folder: `summary.json` and `metrics.csv`.
pub fn load_run(dir: &Path) -> Result<Run, ReportError> {
    let summary = read_summary(&dir.join(SUMMARY_FILE))?;
    let metrics = read_metrics(&dir.join(METRICS_FILE))?;
    Ok(Run { dir: dir.to_path_buf(), summary, metrics })
}

/// Parses and checks a `summary.json`.
pub fn read_summary(path: &Path) -> Result<RunSummary, ReportError> {
    let text = fs::read_to_string(path)
        .map_err(|source| ReportError::Read { path: path.to_path_buf(), source })?;
    let summary: RunSummary = serde_json::from_str(&text).map_err(|e| ReportError::Summary {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: without_position(e.to_string()),
    })?;
    check_summary(path, &summary)?;
    Ok(summary)
}

/// serde_json appends " at line L column C", which the error already shows up front.
fn without_position(message: String) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    }
}

fn check_summary(path: &Path, s: &RunSummary) -> Result<(), ReportError> {
    let bad = |field, value: String, expected| ReportError::SummaryValue {
        path: path.to_path_buf(),
        field,
        value,
        expected,
    };
    if !(s.lr.is_finite() && s.lr > 0.0) {
        return Err(bad("lr", s.lr.to_string(), "a positive number (plots use a log axis)"));
    }
    for (field, value) in [("best_accuracy", s.best_accuracy), ("final_accuracy", s.final_accuracy)]
    {
        if let Some(v) = value
            && !(0.0..=1.0).contains(&v)
        {
            return Err(bad(field, v.to_string(), "an accuracy in [0, 1]"));
        }
    }
    if s.final_accuracy.is_none() && s.diverged.is_none() {
        return Err(bad(
            "final_accuracy",
            "null".into(),
            "a number (null is allowed only when `diverged` is set)",
        ));
    }
    Ok(())
}

/// Parses a `metrics.csv` with the fixed header [`METRICS_COLUMNS`].
///
/// Columns are found by name, so extra columns are ignored; a missing one is an error.
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>, ReportError> {
    let file = fs::File::open(path)
        .map_err(|source| ReportError::Read { path: path.to_path_buf(), source })?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(file);
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(1, |p| p.line());
        let message = match e.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("row has {len} cells, expected {expected_len} like the header")
            }
            _ => e.to_string(),
        };
        ReportError::Csv { path: path.to_path_buf(), line, message }
    };

    let header = reader.headers().map_err(csv_err)?.clone();
    let mut index = [0usize; METRICS_COLUMNS.len()];
    for (slot, column) in index.iter_mut().zip(METRICS_COLUMNS) {
        *slot = header.iter().position(|h| h.trim() == column).ok_or_else(|| {
            ReportError::MissingColumn {
                path: path.to_path_buf(),
                column,
                expected: METRICS_COLUMNS.join(","),
            }
        })?;
    }

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |k: usize| record.get(index[k]).unwrap_or("").trim();
        let number = |k: usize| -> Result<Option<f64>, ReportError> {
            let text = cell(k);
            if text.is_empty() {
                return Ok(None);
            }
            text.parse::<f64>().map(Some).map_err(|_| ReportError::Cell {
                path: path.to_path_buf(),
                line,
                column: METRICS_COLUMNS[k],
                value: text.to_string(),
                expected: "a number, NaN, inf or an empty cell",
            })
        };
        let step = cell(0).parse::<u64>().map_err(|_| ReportError::Cell {
            path: path.to_path_buf(),
            line,
            column: "step",
            value: cell(0).to_string(),
            expected: "a whole number of steps",
        })?;
        rows.push(MetricsRow {
            step,
            samples: number(1)?,
            train_loss: number(2)?,
            test_accuracy: number(3)?,
            test_loss: number(4)?,
            test_brier: number(5)?,
            update_norm: number(6)?,
            update_norm_weights: number(7)?,
            energy_before: number(8)?,
            energy_after: number(9)?,
            wall_s: number(10)?,
        });
    }
    Ok(rows)
}
