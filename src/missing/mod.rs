//! Missing values: simulating them, filling them in, and the real tables to try both on.
//!
//! Terms (see SPEC.md section 8):
//!
//! - The **mask** is [`Dataset::missing`](crate::data::Dataset::missing): same sample-major
//!   layout as `x`, `true` where a value was not observed (and `x` holds `0.0` there).
//! - A **mechanism** says why a value is missing: [`Mechanism::Mcar`] (completely at
//!   random), [`Mechanism::Mar`] (the chance depends on another, observed feature, the
//!   **driver**) and [`Mechanism::Mnar`] (it depends on the value itself). The **rate** `r`
//!   is the fraction of the observed cells of the chosen columns that are removed.
//! - An **imputer** ([`Imputer`]) is fitted on the training split only and then fills in
//!   any split, so no statistic of the test split leaks into training. The result has no
//!   mask; [`Imputer::MaskConcat`] keeps the mask as extra 0/1 features instead.
//!
//! Pieces: [`simulate`] removes values from a [`Dataset`](crate::data::Dataset);
//! [`corrupt`] does the same to a CSV file cell by cell (`ilnet data corrupt`);
//! [`impute`] fills values in; [`tabular_benchmarks`] reads the real tables that
//! `scripts/install-tabular-data.sh` installs; [`study`] runs the benchmark over them and
//! [`metrics`] scores it; [`xor`] is the two-feature noisy XOR experiment.
//!
//! # Limitations
//!
//! - kNN imputation is brute force, `O(n_train · d)` per row with a gap: fine for tables of
//!   thousands of rows, slow for image-sized sets.
//! - Iterative (MICE) imputation, one of the paper's baselines, is not implemented yet.
//! - MAR has one driver and a fixed slope ([`simulate::MAR_SLOPE`]); MNAR is the quantile
//!   window only, not logistic self-masking.

pub mod corrupt;
mod error;
pub mod impute;
pub mod metrics;
pub mod simulate;
pub mod study;
#[path = "benchmarks.rs"]
pub mod tabular_benchmarks;
pub mod xor;

pub use corrupt::{ColumnSummary, Summary, corrupt_csv};
pub use error::MissingError;
pub use impute::{FittedImputer, Imputer};
pub use simulate::{Corrupted, Corruption, Mechanism};
