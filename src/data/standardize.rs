//! Per-feature standardisation, `x' = (x - mean) / std`, fitted on the training split only.
//!
//! Mean and standard deviation (population form, dividing by the count) are computed over
//! the *observed* entries of each feature; missing entries take no part. A feature whose
//! observed values are all equal gets `std = 1`, so it is centred but not blown up. Applying
//! the transform leaves missing entries at `0.0` and the mask as it was.
//!
//! Fitting on the test split would leak its statistics into training; the API makes the
//! split explicit by fitting on one [`Dataset`] and applying to others.

use super::{DataError, Dataset};

/// Per-feature mean and standard deviation learned from a training set.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Mean of each feature's observed values.
    pub mean: Vec<f32>,
    /// Standard deviation of each feature's observed values, `1` where it is zero.
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Learns mean and standard deviation of every feature of `train`.
    ///
    /// Sums run in `f64` so that 60000 samples of `f32` lose no precision that matters.
    pub fn fit(train: &Dataset) -> Result<Standardizer, DataError> {
        let d = train.d;
        let mut count = vec![0usize; d];
        let mut sum = vec![0.0f64; d];
        let mut sum_sq = vec![0.0f64; d];
        for i in 0..train.n {
            for j in 0..d {
                let at = i * d + j;
                if train.missing.as_ref().is_some_and(|m| m[at]) {
                    continue;
                }
                let v = f64::from(train.x[at]);
                count[j] += 1;
                sum[j] += v;
                sum_sq[j] += v * v;
            }
        }

        let mut mean = Vec::with_capacity(d);
        let mut std = Vec::with_capacity(d);
        for j in 0..d {
            if count[j] == 0 {
                return Err(DataError::NoObservedValue {
                    dataset: train.name.clone(),
                    index: j,
                    column: train.feature_names.get(j).cloned().unwrap_or_else(|| j.to_string()),
                });
            }
            let c = count[j] as f64;
            let m = sum[j] / c;
            let var = (sum_sq[j] / c - m * m).max(0.0);
            let s = var.sqrt();
            mean.push(m as f32);
            // A spread below f32 resolution of the mean is rounding, not signal.
            let tiny = f64::from(f32::EPSILON) * m.abs().max(1.0);
            std.push(if s <= tiny { 1.0 } else { s as f32 });
        }
        Ok(Standardizer { mean, std })
    }

    /// Standardises `ds` in place; missing entries stay `0.0`.
    pub fn apply(&self, ds: &mut Dataset) -> Result<(), DataError> {
        if ds.d != self.mean.len() {
            return Err(DataError::WidthMismatch {
                dataset: ds.name.clone(),
                fitted: self.mean.len(),
                found: ds.d,
            });
        }
        let d = ds.d;
        for (at, v) in ds.x.iter_mut().enumerate() {
            if ds.missing.as_ref().is_some_and(|m| m[at]) {
                continue;
            }
            let j = at % d;
            *v = (*v - self.mean[j]) / self.std[j];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Target;

    fn ds(x: Vec<f32>, missing: Option<Vec<bool>>, d: usize) -> Dataset {
        let n = x.len() / d;
        Dataset {
            name: "s".into(),
            x,
            n,
            d,
            target: Target::Values { y: vec![0.0; n], k: 1 },
            missing,
            feature_names: (0..d).map(|j| format!("f{j}")).collect(),
        }
    }

    /// Named tolerance for f32 round-off in these small hand computations.
    const TOL: f32 = 1e-6;

    /// Mean and std match a hand computation over observed values only, a constant column
    /// gets std 1, and the statistics come from the training set, not the one transformed.
    #[test]
    fn matches_hand_computation_fitted_on_train() {
        // Feature 0: observed 1, 3 (the 100 is missing) -> mean 2, std 1.
        // Feature 1: 5, 5, 5 -> mean 5, std 0 -> 1.
        let train = ds(
            vec![1.0, 5.0, 100.0, 5.0, 3.0, 5.0],
            Some(vec![false, false, true, false, false, false]),
            2,
        );
        let st = Standardizer::fit(&train).unwrap();
        assert!((st.mean[0] - 2.0).abs() < TOL && (st.std[0] - 1.0).abs() < TOL);
        assert_eq!((st.mean[1], st.std[1]), (5.0, 1.0));

        let mut test = ds(vec![4.0, 7.0, 0.0, 6.0], Some(vec![false, false, true, false]), 2);
        st.apply(&mut test).unwrap();
        assert_eq!(test.x, [2.0, 2.0, 0.0, 1.0]);
        assert_eq!(test.missing.as_deref(), Some(&[false, false, true, false][..]));

        // Feature with spread: 0, 2, 4, 6 -> mean 3, population std sqrt(5).
        let train = ds(vec![0.0, 2.0, 4.0, 6.0], None, 1);
        let st = Standardizer::fit(&train).unwrap();
        assert!((st.std[0] - 5f32.sqrt()).abs() < TOL);
        let mut t = train.clone();
        st.apply(&mut t).unwrap();
        let mean: f32 = t.x.iter().sum::<f32>() / 4.0;
        let var: f32 = t.x.iter().map(|v| v * v).sum::<f32>() / 4.0;
        assert!(mean.abs() < TOL && (var - 1.0).abs() < 1e-5);
    }

    /// A feature never observed in the training set cannot be standardised; the error names
    /// it instead of producing NaN.
    #[test]
    fn rejects_unobserved_feature() {
        let train = ds(vec![1.0, 0.0, 2.0, 0.0], Some(vec![false, true, false, true]), 2);
        let err = Standardizer::fit(&train).unwrap_err().to_string();
        assert!(err.contains("feature \"f1\" (index 1)"), "{err}");
    }

    /// Applying to data of another width is an error, not an out-of-bounds panic.
    #[test]
    fn rejects_width_mismatch() {
        let st = Standardizer::fit(&ds(vec![1.0, 2.0], None, 1)).unwrap();
        let err = st.apply(&mut ds(vec![1.0, 2.0], None, 2)).unwrap_err().to_string();
        assert!(err.contains("fitted on 1 features") && err.contains("with 2"), "{err}");
    }
}
