//! First-layer input modes: how a network sees data with missing values.
//!
//! For one neuron of the first layer with `p` inputs of which the set `O` (`q = |O|`) is
//! observed and `r = p - q` are missing:
//!
//! - `promissing`: `z = Σ_{j∈O} w_j x_j + (q/p)·b`. A missing input drops its term and its
//!   share `b/p` of the bias. Nothing missing: an ordinary neuron; everything missing:
//!   `z = 0`, so the output falls back to a constant that later layers set.
//! - `mpromissing`: adds one learned compensation weight, `z += (r/p)·w_c` (init 0).
//! - `mask-concat`: zero-fill and the whole mask appended as `p` more inputs.
//! - `zero`, `mean`, `median`, `knn`, `knn-mean`: imputation fitted on the training split,
//!   then an ordinary first layer (`knn-mean` gives a row with nothing observed the training
//!   means where `knn` refuses it).
//!
//! PROMISSING is computed in its closed form (zero-fill, then rescale the bias), written as
//! an ordinary dense layer on an augmented input: the features zero-filled, then the column
//! `q/p` (and `r/p` for mPROMISSING), with the layer's own bias switched off. The weight on
//! `q/p` *is* the neuron's bias `b` and the weight on `r/p` is `w_c`. So every algorithm
//! trains it unchanged: `∂z/∂w_j = x_j` is 0 for a missing input, `∂z/∂b = q/p`,
//! `∂z/∂w_c = r/p`, and in inference learning a pruned connection takes no update for that
//! sample while the bias's update is scaled by `q/p`. The same transform is applied in
//! training and prediction.
//!
//! Inputs are standardised (statistics of the training split's observed values) before any
//! mode: zero-fill of standardised data is mean imputation, so on such inputs PROMISSING is
//! mean imputation plus a per-sample rescaling of the bias.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::missing::{Imputer, MissingError};

/// How the first layer treats missing inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputMode {
    /// Complete data only: a file with holes is refused.
    #[default]
    Plain,
    Promissing,
    Mpromissing,
    MaskConcat,
    Zero,
    Mean,
    Median,
    /// k-nearest-neighbour imputation; k is `model.knn_k` (default 5). A row with every
    /// feature missing is an error.
    Knn,
    /// `knn`, with the training means for a row with every feature missing.
    KnnMean,
}

impl InputMode {
    pub const ALL: [InputMode; 9] = [
        InputMode::Plain,
        InputMode::Promissing,
        InputMode::Mpromissing,
        InputMode::MaskConcat,
        InputMode::Zero,
        InputMode::Mean,
        InputMode::Median,
        InputMode::Knn,
        InputMode::KnnMean,
    ];

    pub fn name(self) -> &'static str {
        match self {
            InputMode::Plain => "plain",
            InputMode::Promissing => "promissing",
            InputMode::Mpromissing => "mpromissing",
            InputMode::MaskConcat => "mask-concat",
            InputMode::Zero => "zero",
            InputMode::Mean => "mean",
            InputMode::Median => "median",
            InputMode::Knn => "knn",
            InputMode::KnnMean => "knn-mean",
        }
    }

    /// Whether the first layer keeps its own bias (PROMISSING carries it as a weight).
    pub fn first_layer_bias(self) -> bool {
        !matches!(self, InputMode::Promissing | InputMode::Mpromissing)
    }
}

impl fmt::Display for InputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for InputMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        InputMode::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let names: Vec<_> = InputMode::ALL.iter().map(|m| m.name()).collect();
            format!("unknown input mode {s:?}; expected one of {}", names.join(", "))
        })
    }
}

/// The fraction of features missing in each sample of `ds`.
pub fn missing_fraction(ds: &Dataset) -> Vec<f64> {
    match &ds.missing {
        None => vec![0.0; ds.n],
        Some(mask) => mask
            .chunks_exact(ds.d.max(1))
            .map(|row| row.iter().filter(|&&m| m).count() as f64 / ds.d.max(1) as f64)
            .collect(),
    }
}

/// Appends the PROMISSING columns to every sample: `q/p`, and `r/p` when `compensate`.
fn augment(ds: &Dataset, compensate: bool) -> Dataset {
    let extra = if compensate { 2 } else { 1 };
    let d = ds.d + extra;
    let fractions = missing_fraction(ds);
    let mut x = Vec::with_capacity(ds.n * d);
    for (i, r) in fractions.iter().enumerate() {
        let row = &ds.x[i * ds.d..(i + 1) * ds.d];
        match &ds.missing {
            // The zero-fill, whatever the values under the mask hold.
            Some(mask) => {
                let m = &mask[i * ds.d..(i + 1) * ds.d];
                x.extend(row.iter().zip(m).map(|(&v, &miss)| if miss { 0.0 } else { v }));
            }
            None => x.extend_from_slice(row),
        }
        x.push((1.0 - r) as f32);
        if compensate {
            x.push(*r as f32);
        }
    }
    let mut names = ds.feature_names.clone();
    names.push("observed fraction q/p".into());
    if compensate {
        names.push("missing fraction r/p".into());
    }
    Dataset {
        name: ds.name.clone(),
        x,
        n: ds.n,
        d,
        target: ds.target.clone(),
        missing: None,
        feature_names: names,
    }
}

/// The transform of an input mode, fitted on the training split.
pub struct FittedInput {
    mode: InputMode,
    imputer: Option<crate::missing::FittedImputer>,
}

impl FittedInput {
    /// Fits `mode` on `train` (imputation statistics come from it alone).
    pub fn fit(
        mode: InputMode,
        train: &Dataset,
        knn_k: usize,
    ) -> Result<FittedInput, MissingError> {
        let imputer = match mode {
            InputMode::MaskConcat => Some(Imputer::MaskConcat),
            InputMode::Zero => Some(Imputer::Zero),
            InputMode::Mean => Some(Imputer::Mean),
            InputMode::Median => Some(Imputer::Median),
            InputMode::Knn => Some(Imputer::Knn { k: knn_k }),
            InputMode::KnnMean => Some(Imputer::KnnMean { k: knn_k }),
            InputMode::Plain | InputMode::Promissing | InputMode::Mpromissing => None,
        };
        let imputer = imputer.map(|i| i.fit(train)).transpose()?;
        Ok(FittedInput { mode, imputer })
    }

    /// Applies the transform to any split; the result has no missing mask.
    pub fn apply(&self, ds: &Dataset) -> Result<Dataset, MissingError> {
        match (self.mode, &self.imputer) {
            (InputMode::Promissing, _) => Ok(augment(ds, false)),
            (InputMode::Mpromissing, _) => Ok(augment(ds, true)),
            (_, Some(imp)) => imp.apply(ds),
            (_, None) => Ok(ds.clone()),
        }
    }
}
