//! Reports over run folders: tables, plots and one HTML page summarising a sweep.
//!
//! [`write_report`] reads finished runs (see [`runs`] for the folder contract), groups
//! them into *settings* `(data, algo, lr)` whose seeds are replicates, computes the
//! statistics the paper reports (see [`stats`] for their exact definitions) and writes:
//!
//! | file | contents |
//! | --- | --- |
//! | `tables.md` | both tables, with the definitions of the statistics |
//! | `table_settings.csv` | one row per setting, full precision |
//! | `table_chosen.csv` | one row per `(data, algo)` at its chosen learning rate |
//! | `stability_<data>.{svg,png}` | final accuracy against lr, per algorithm |
//! | `accuracy_<data>[_first2000].{svg,png}` | test accuracy against step at the chosen lr |
//! | `loss_<data>[_first2000].{svg,png}` | test loss against step at the chosen lr |
//! | `index.html` | everything above on one self-contained page |
//!
//! Choices the paper leaves open, stated once here and on the page:
//! - a diverged run's *final* accuracy counts as 0 (in the tables, the chosen lr and the
//!   stability figure); its *maximum* accuracy is the best it reached before diverging;
//! - std is the sample standard deviation (divisor n - 1), 0 for a single seed;
//! - curves are averaged step by step over the seeds with a finite value at that step, so
//!   late points of a setting whose seeds diverged early rest on fewer seeds;
//! - ties in the chosen lr go to the smaller lr, ties in the convergence step to the
//!   earlier step.
//!
//! # Limitations
//!
//! Runs are grouped by `(data, algo, lr)` only: two sweeps that differ in another setting
//! (batch size, ε, network) must be reported separately; if they share seeds, the report
//! refuses with [`ReportError::DuplicateSeed`].

mod error;
pub mod html;
pub mod missing;
pub mod plots;
pub mod png;
pub mod runs;
pub mod stats;
pub mod tables;
pub mod xor;

use std::fs;
use std::path::{Path, PathBuf};

pub use error::ReportError;
pub use runs::{LoadedRuns, Run, RunSummary, load_runs};
pub use stats::{SweepStats, sweep_stats};

/// The definitions behind the numbers, shown in `tables.md` and on the page.
pub const NOTES: [&str; 7] = [
    "Runs are grouped by (data, algo, lr); the seeds of a group are its replicates. \
     lr is α for the prox algorithms.",
    "max accuracy: mean ± std over seeds of each run's highest test accuracy; a diverged \
     run keeps the best it reached before diverging.",
    "final accuracy: mean ± std over seeds of the accuracy at the last evaluation; \
     a diverged run counts as 0.",
    "std is the sample standard deviation (divisor n - 1); with one seed it is 0.",
    "convergence step: the step where the seed-mean test accuracy curve peaks (the \
     earliest on ties). Update-norm columns are seed means of each run's mean, std and \
     max update norm.",
    "Curves: seeds may have different lengths (a diverged run stops early) or hold NaN \
     after divergence; each step is averaged over the seeds that have a finite value \
     there, so late points can rest on fewer seeds. Bands are ±1 std.",
    "Stability figure: an X at accuracy 0, labelled k/n, marks a setting where k of n \
     seeds diverged; algorithms are shifted sideways by 0.02 decades so that equal \
     values stay visible.",
];

/// The files a report consists of.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportIndex {
    /// The report folder.
    pub out: PathBuf,
    /// Every file written, in writing order (tables, figures, then `index.html`).
    pub files: Vec<PathBuf>,
    /// The page.
    pub html: PathBuf,
    /// How many finished runs went in.
    pub n_runs: usize,
    /// Unfinished run folders (no `summary.json`) that were skipped.
    pub skipped: Vec<PathBuf>,
}

/// Reads the runs at or below `run_dirs` and writes the report into `out` (created if
/// missing; files of an earlier report are overwritten).
///
/// Fails when a path cannot be read, a run's files break the contract (the error names
/// the file and line), two runs are the same seed of one setting, no finished run is
/// found, or a file cannot be written.
pub fn write_report(run_dirs: &[PathBuf], out: &Path) -> Result<ReportIndex, ReportError> {
    let loaded = load_runs(run_dirs)?;
    if loaded.runs.is_empty() {
        return Err(ReportError::NoRuns {
            searched: run_dirs.to_vec(),
            skipped: loaded.skipped.len(),
        });
    }
    let stats = sweep_stats(&loaded.runs)?;
    fs::create_dir_all(out)
        .map_err(|source| ReportError::Write { path: out.to_path_buf(), source })?;
    let write = |name: &str, text: &str| -> Result<PathBuf, ReportError> {
        let path = out.join(name);
        fs::write(&path, text)
            .map_err(|source| ReportError::Write { path: path.clone(), source })?;
        Ok(path)
    };

    let mut files = Vec::new();
    let table_list = [tables::settings_table(&stats), tables::chosen_table(&stats)];
    files.push(write("tables.md", &tables::markdown(&table_list, &NOTES))?);
    let settings_csv = out.join("table_settings.csv");
    tables::write_settings_csv(&stats, &settings_csv)?;
    files.push(settings_csv);
    let chosen_csv = out.join("table_chosen.csv");
    tables::write_chosen_csv(&stats, &chosen_csv)?;
    files.push(chosen_csv);

    let plot_list = plots::write_plots(&stats, out)?;
    for plot in &plot_list {
        files.push(plot.svg_path.clone());
        files.push(plot.png_path.clone());
    }

    let page = html::page(&html::Page {
        notes: &NOTES,
        tables: &table_list,
        plots: &plot_list,
        n_runs: loaded.runs.len(),
        skipped: &loaded.skipped,
    });
    let html = write("index.html", &page)?;
    files.push(html.clone());

    Ok(ReportIndex {
        out: out.to_path_buf(),
        files,
        html,
        n_runs: loaded.runs.len(),
        skipped: loaded.skipped,
    })
}
