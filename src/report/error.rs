//! Errors of the report layer: bad run folders, bad files in them, and failed writes.
//!
//! Every variant names the file it is about; parse errors carry the line (1-based, as an
//! editor shows it) so a user can open the file at the bad spot.

use std::path::PathBuf;

/// What can go wrong while reading run folders or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A path given on the command line does not exist or cannot be listed.
    #[error("cannot read run folder {}: {source}", path.display())]
    RunDir {
        /// The folder that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// No `summary.json` was found under any of the given paths.
    #[error(
        "no finished runs under {}: expected run folders holding summary.json{}",
        paths_list(searched),
        skipped_hint(*skipped)
    )]
    NoRuns {
        /// The paths that were searched.
        searched: Vec<PathBuf>,
        /// How many folders looked like unfinished runs (metrics.csv, no summary.json).
        skipped: usize,
    },

    /// A file of a run folder could not be read at all.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// `summary.json` is not valid JSON or lacks a required field.
    #[error("{}:{line}:{column}: bad summary: {message}", path.display())]
    Summary {
        /// The summary file.
        path: PathBuf,
        /// Line of the problem, 1-based.
        line: usize,
        /// Column of the problem, 1-based.
        column: usize,
        /// What the parser expected.
        message: String,
    },

    /// `summary.json` parsed but holds a value outside its contract.
    #[error("{}: field `{field}` is {value}, expected {expected}", path.display())]
    SummaryValue {
        /// The summary file.
        path: PathBuf,
        /// The offending field.
        field: &'static str,
        /// The value found, as text.
        value: String,
        /// What the contract allows.
        expected: &'static str,
    },

    /// `metrics.csv` lacks a column of the fixed header.
    #[error(
        "{}:1: missing column `{column}` in the header, expected the columns {expected}",
        path.display()
    )]
    MissingColumn {
        /// The metrics file.
        path: PathBuf,
        /// The column that is absent.
        column: &'static str,
        /// The full expected header, comma-separated.
        expected: String,
    },

    /// A cell of `metrics.csv` is not a number (or, for `step`, not a whole number).
    #[error(
        "{}:{line}: column `{column}` holds {value:?}, expected {expected}",
        path.display()
    )]
    Cell {
        /// The metrics file.
        path: PathBuf,
        /// Line of the row, 1-based (the header is line 1).
        line: u64,
        /// The column of the bad cell.
        column: &'static str,
        /// The cell's text.
        value: String,
        /// What the column allows.
        expected: &'static str,
    },

    /// `metrics.csv` is not well-formed CSV (for example a row with too many cells).
    #[error("{}:{line}: bad csv: {message}", path.display())]
    Csv {
        /// The metrics file.
        path: PathBuf,
        /// Line of the problem, 1-based.
        line: u64,
        /// What the reader found.
        message: String,
    },

    /// Two run folders claim the same replicate of one setting.
    #[error(
        "{} and {} are both seed {seed} of {data}/{algo} at lr {lr}: \
         pass only one of them (an overlapping path, or two sweeps in one folder?)",
        first.display(),
        second.display()
    )]
    DuplicateSeed {
        /// Data set.
        data: String,
        /// Algorithm.
        algo: String,
        /// Learning rate (α for the prox algorithms).
        lr: f64,
        /// The repeated seed.
        seed: u64,
        /// One folder.
        first: PathBuf,
        /// The other folder.
        second: PathBuf,
    },

    /// The embedded plot font was rejected by plotters.
    #[error("the embedded font assets/fonts/DejaVuSans.ttf could not be registered")]
    Font,

    /// plotters failed while drawing a figure.
    #[error("cannot draw {}: {message}", path.display())]
    Plot {
        /// The figure being drawn.
        path: PathBuf,
        /// plotters' message.
        message: String,
    },

    /// A report file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}

fn paths_list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

fn skipped_hint(skipped: usize) -> String {
    if skipped == 0 {
        String::new()
    } else {
        format!(" ({skipped} unfinished run folders without summary.json were skipped)")
    }
}
