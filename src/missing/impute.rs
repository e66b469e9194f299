//! Filling in missing values: fitted on the training split, applied to any split.
//!
//! [`Imputer::fit`] learns what it needs from the training split's *observed* values only;
//! [`FittedImputer::apply`] returns a data set with no mask. The imputers:
//!
//! - [`Imputer::Zero`]: every missing value becomes `0`.
//! - [`Imputer::Mean`], [`Imputer::Median`]: the training mean (or median: the middle value,
//!   or the mean of the two middle values for an even count) of the feature's observed
//!   values.
//! - [`Imputer::Knn`]: the mean of the feature over the `k` nearest training rows that
//!   observe it. The squared distance between rows `a` and `b` sums `(a_j - b_j)²` over the
//!   `c` features both observe and scales the sum by `d / c`, so rows that share few
//!   features are not made to look close (the "NaN-Euclidean" distance of imputation
//!   libraries). A training row that shares no observed feature with the row is no
//!   neighbour. Equal distances are broken by the lower training index. With fewer than `k`
//!   training rows that qualify, all of them are used; with none, the training mean. The
//!   distance mixes units, so standardise first. A row with every feature missing has no
//!   distance to anything: an error under [`Imputer::Knn`], the training means under
//!   [`Imputer::KnnMean`].
//! - [`Imputer::MaskConcat`]: zero-fill, then the whole mask appended as `d` more features
//!   (`1.0` = was missing), named `name?missing`, so a model sees both what was observed and
//!   where. The width is `2d` for every split, even where a split has no gap.
//!
//! Fitting fails for a feature with no observed training value under the imputers that need
//! a statistic (mean, median, knn); zero-fill and mask concatenation need none and accept
//! it. Imputing a row with every feature missing fails under knn, which has nothing to
//! measure a distance with, unless the imputer is [`Imputer::KnnMean`].

use super::MissingError;
use super::simulate::feature_name;
use crate::data::Dataset;

/// How to fill in missing values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imputer {
    /// Fill with `0`.
    Zero,
    /// Fill with the training mean of the feature.
    Mean,
    /// Fill with the training median of the feature.
    Median,
    /// Fill with the mean over the `k >= 1` nearest training rows that observe the feature.
    Knn {
        /// The number of neighbours.
        k: usize,
    },
    /// [`Imputer::Knn`], except that a row with every feature missing, which has no
    /// neighbours, gets the training means (as common kNN imputers do) instead of an error.
    KnnMean {
        /// The number of neighbours.
        k: usize,
    },
    /// Zero-fill and append the mask as `d` extra 0/1 features.
    MaskConcat,
}

/// An imputer with what it learned from a training split.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedImputer {
    imputer: Imputer,
    /// The value each feature's gaps get (for knn: the fallback, the training mean).
    fill: Vec<f32>,
    /// Knn only: the training rows (features and mask), sample-major.
    donors: Option<(Vec<f32>, Vec<bool>)>,
}

impl Imputer {
    /// Learns the statistics of `train` that this imputer needs.
    ///
    /// Errors: `Knn { k: 0 }`; for mean, median and knn a feature with no observed value.
    pub fn fit(self, train: &Dataset) -> Result<FittedImputer, MissingError> {
        if let Imputer::Knn { k: 0 } | Imputer::KnnMean { k: 0 } = self {
            return Err(MissingError::BadK { k: 0 });
        }
        let d = train.d;
        let observed = |j: usize| {
            (0..train.n)
                .filter(move |&i| !is_missing(train, i * d + j))
                .map(move |i| f64::from(train.x[i * d + j]))
        };
        let needs_stats = !matches!(self, Imputer::Zero | Imputer::MaskConcat);
        if needs_stats && let Some(j) = (0..d).find(|&j| observed(j).next().is_none()) {
            return Err(MissingError::NoObservedValue {
                dataset: train.name.clone(),
                column: feature_name(train, j),
                index: j,
            });
        }

        let mean = |j: usize| {
            let (sum, count) = observed(j).fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
            (sum / count as f64) as f32
        };
        let fill: Vec<f32> = match self {
            Imputer::Zero | Imputer::MaskConcat => vec![0.0; d],
            Imputer::Mean | Imputer::Knn { .. } | Imputer::KnnMean { .. } => {
                (0..d).map(mean).collect()
            }
            Imputer::Median => (0..d).map(|j| median(observed(j).collect())).collect(),
        };
        let donors = match self {
            Imputer::Knn { .. } | Imputer::KnnMean { .. } => Some((
                train.x.clone(),
                train.missing.clone().unwrap_or_else(|| vec![false; train.n * d]),
            )),
            _ => None,
        };
        Ok(FittedImputer { imputer: self, fill, donors })
    }
}

impl FittedImputer {
    /// The imputer this was fitted as.
    pub fn imputer(&self) -> Imputer {
        self.imputer
    }

    /// The value each feature's gaps get: the statistic learned (for knn, the fallback).
    pub fn fill_values(&self) -> &[f32] {
        &self.fill
    }

    /// Fills in `ds` (any split): a new data set with no mask.
    ///
    /// Errors: a width other than the training split's; under knn a row with every feature
    /// missing.
    pub fn apply(&self, ds: &Dataset) -> Result<Dataset, MissingError> {
        let d = self.fill.len();
        if ds.d != d {
            return Err(MissingError::WidthMismatch {
                dataset: ds.name.clone(),
                fitted: d,
                found: ds.d,
            });
        }
        let mut x = ds.x.clone();
        for (at, v) in x.iter_mut().enumerate() {
            if is_missing(ds, at) {
                *v = self.fill[at % d];
            }
        }
        match (self.imputer, &self.donors) {
            (Imputer::Knn { k }, Some((dx, dm))) => {
                knn_fill(ds, &mut x, k, dx, dm, &self.fill, false)?
            }
            (Imputer::KnnMean { k }, Some((dx, dm))) => {
                knn_fill(ds, &mut x, k, dx, dm, &self.fill, true)?
            }
            (Imputer::MaskConcat, _) => return Ok(mask_concat(ds, &x)),
            _ => {}
        }
        Ok(Dataset { x, missing: None, ..ds.clone() })
    }
}

fn is_missing(ds: &Dataset, at: usize) -> bool {
    ds.missing.as_ref().is_some_and(|m| m[at])
}

/// The median of a non-empty list (the mean of the middle two for an even count).
fn median(mut v: Vec<f64>) -> f32 {
    v.sort_by(f64::total_cmp);
    let h = v.len() / 2;
    let m = if v.len() % 2 == 1 { v[h] } else { 0.5 * (v[h - 1] + v[h]) };
    m as f32
}

/// Overwrites the missing cells of `ds` in `x` with the mean of their nearest donors.
///
/// `dx`, `dm` are the training rows and mask (sample-major, `d` per row); `fallback` is the
/// training mean per feature, which a row with nothing observed keeps when `empty_to_mean`
/// (else such a row is an error).
fn knn_fill(
    ds: &Dataset,
    x: &mut [f32],
    k: usize,
    dx: &[f32],
    dm: &[bool],
    fallback: &[f32],
    empty_to_mean: bool,
) -> Result<(), MissingError> {
    let d = ds.d;
    let n_train = dx.len().checked_div(d).unwrap_or(0);
    let mut near: Vec<(f64, usize)> = Vec::with_capacity(n_train);
    for i in 0..ds.n {
        let row_missing = |j: usize| is_missing(ds, i * d + j);
        if !(0..d).any(row_missing) {
            continue;
        }
        if (0..d).all(row_missing) {
            if empty_to_mean {
                // `x` already holds the training means in every cell of the row.
                continue;
            }
            return Err(MissingError::EmptyRow { dataset: ds.name.clone(), row: i });
        }
        let row = &ds.x[i * d..(i + 1) * d];

        near.clear();
        for t in 0..n_train {
            let (tx, tm) = (&dx[t * d..(t + 1) * d], &dm[t * d..(t + 1) * d]);
            let (mut sum, mut common) = (0.0f64, 0usize);
            for j in (0..d).filter(|&j| !row_missing(j) && !tm[j]) {
                sum += (f64::from(row[j]) - f64::from(tx[j])).powi(2);
                common += 1;
            }
            if common > 0 {
                near.push((sum * d as f64 / common as f64, t));
            }
        }
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));

        for j in (0..d).filter(|&j| row_missing(j)) {
            let (sum, count) = near
                .iter()
                .filter(|&&(_, t)| !dm[t * d + j])
                .take(k)
                .fold((0.0f64, 0usize), |(s, c), &(_, t)| (s + f64::from(dx[t * d + j]), c + 1));
            x[i * d + j] = if count == 0 { fallback[j] } else { (sum / count as f64) as f32 };
        }
    }
    Ok(())
}

/// `x` (already zero-filled) with the mask appended to each row as 0/1 features.
fn mask_concat(ds: &Dataset, x: &[f32]) -> Dataset {
    let d = ds.d;
    let mut out = Vec::with_capacity(2 * x.len());
    for i in 0..ds.n {
        out.extend_from_slice(&x[i * d..(i + 1) * d]);
        out.extend((0..d).map(|j| if is_missing(ds, i * d + j) { 1.0 } else { 0.0 }));
    }
    let mut names = ds.feature_names.clone();
    names.extend((0..d).map(|j| format!("{}?missing", feature_name(ds, j))));
    Dataset { x: out, d: 2 * d, missing: None, feature_names: names, ..ds.clone() }
}
