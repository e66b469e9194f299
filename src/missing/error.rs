//! The one error type of the missing-data module.
//!
//! Messages follow the data layer's form: lowercase, the data set or file first, the bad
//! value quoted, what was expected, and a hint where the cause is guessable.

use std::path::PathBuf;

use crate::data::DataError;

/// What went wrong while simulating missingness, imputing or loading a benchmark table.
#[derive(Debug, thiserror::Error)]
pub enum MissingError {
    /// Reading or parsing a file failed in the data layer.
    #[error(transparent)]
    Data(#[from] DataError),

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },

    /// A missingness rate outside `[0, 1]`.
    #[error("missingness rate {rate} is outside [0, 1]")]
    BadRate {
        /// The rate given.
        rate: f64,
    },

    /// A chosen column index is not a feature of the data set.
    #[error("{dataset}: column index {index} is out of range, expected below {d} (the features)")]
    ColumnOutOfRange {
        /// The data set.
        dataset: String,
        /// The index given.
        index: usize,
        /// The number of features.
        d: usize,
    },

    /// The same column was chosen twice.
    #[error("{dataset}: column {column:?} is chosen twice")]
    DuplicateColumn {
        /// The data set or file.
        dataset: String,
        /// The column's name.
        column: String,
    },

    /// A column name that the CSV header does not have.
    #[error("{file}: no column named {column:?}, expected one of {columns:?}")]
    UnknownColumn {
        /// The file.
        file: String,
        /// The name given.
        column: String,
        /// The header's names.
        columns: Vec<String>,
    },

    /// The target column was chosen for corruption.
    #[error("{file}: column {column:?} is the target, which is never corrupted")]
    TargetChosen {
        /// The file.
        file: String,
        /// The target's name.
        column: String,
    },

    /// MAR needs a driver column and none qualifies.
    #[error(
        "{dataset}: MAR needs a driver column that is numeric, fully observed, not constant \
         and not masked, and none is\n\
         hint: leave at least one such column out of the chosen columns"
    )]
    NoDriver {
        /// The data set.
        dataset: String,
    },

    /// The driver asked for cannot drive MAR.
    #[error("{dataset}: feature {column:?} (index {index}) cannot drive MAR: {reason}")]
    BadDriver {
        /// The data set.
        dataset: String,
        /// The driver's name.
        column: String,
        /// The driver's index.
        index: usize,
        /// Why not (`it has missing values`, ...).
        reason: &'static str,
    },

    /// MNAR was asked of a column whose values are not numbers.
    #[error(
        "{dataset}: column {column:?} is not numeric, so MNAR (which masks the extreme values) \
         cannot apply to it\n\
         hint: choose numeric columns only"
    )]
    NotNumeric {
        /// The data set or file.
        dataset: String,
        /// The column's name.
        column: String,
    },

    /// A feature with no observed value in the training split.
    #[error(
        "{dataset}: feature {column:?} (index {index}) has no observed value in the training \
         split, so there is nothing to impute it from\n\
         hint: drop the column, or use zero-fill or mask concatenation"
    )]
    NoObservedValue {
        /// The training set.
        dataset: String,
        /// The feature's name.
        column: String,
        /// The feature's index.
        index: usize,
    },

    /// A row with every feature missing cannot be placed among neighbours.
    #[error(
        "{dataset}: row {row} (counting from 0) has every feature missing, so k-nearest-neighbour \
         imputation has no distance to measure\n\
         hint: drop the row, or use knn-mean (the training means for such rows) or mean imputation"
    )]
    EmptyRow {
        /// The data set being imputed.
        dataset: String,
        /// The row.
        row: usize,
    },

    /// `Knn { k: 0 }`.
    #[error("knn imputation needs k >= 1, got k = {k}")]
    BadK {
        /// The k given.
        k: usize,
    },

    /// An imputer applied to data of another width than it was fitted on.
    #[error("imputer fitted on {fitted} features, applied to {dataset:?} with {found}")]
    WidthMismatch {
        /// The data set.
        dataset: String,
        /// Features at fit time.
        fitted: usize,
        /// Features found.
        found: usize,
    },

    /// A benchmark file is not in the data folder.
    #[error(
        "{name}: file {path:?} not found\n\
         hint: run `scripts/install-tabular-data.sh DIR` and pass DIR (or set ILNET_DATA=DIR)"
    )]
    BenchmarkFile {
        /// The benchmark.
        name: &'static str,
        /// The path looked for (`[.gz]` marks an optional suffix).
        path: PathBuf,
    },

    /// A benchmark name that is not known.
    #[error("unknown tabular benchmark {name:?}, expected one of: {valid}")]
    UnknownBenchmark {
        /// The name given.
        name: String,
        /// The known names.
        valid: String,
    },

    /// A mechanism name that is not known.
    #[error("unknown missingness mechanism {name:?}, expected one of: mcar, mar, mnar")]
    UnknownMechanism {
        /// The name given.
        name: String,
    },
}

impl MissingError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        MissingError::Io { path: path.into(), source }
    }
}
