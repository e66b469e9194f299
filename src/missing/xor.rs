//! The noisy XOR of SPEC.md section 8: a two-feature problem where one missing feature
//! leaves nothing to know, so a well-behaved model answers `p = 0.5` ("I don't know").
//!
//! **Data** ([`noisy_xor`]): `x ~ U[-1, 1]²`; the label is computed on that clean point,
//! class 1 when `x1` and `x2` have different signs (`sign(x1) xor sign(x2)`, zero counted
//! as positive); then Gaussian noise `N(0, σ²)` is added to both features. SPEC.md writes
//! the noise as `N(0, 0.25)`; ilnet reads 0.25 as the standard deviation
//! ([`XOR_NOISE_STD`]), as numpy's `normal(0, 0.25)` does. `n = 1000` points, the first
//! half for training and the second half for testing (the points are i.i.d., so the
//! generation order is a random split).
//!
//! **Bayes answer with a feature missing**: the label depends on the sign of the *clean*
//! value of the missing feature, which is independent of everything observed, so
//! `p(class 1 | x1) = p(class 1 | x2) = 0.5` exactly.
//!
//! **Experiment** ([`run_xor`]), per seed, input mode and algorithm:
//!
//! 1. a fresh data set from the seed; MCAR missingness at [`XorConfig::train_missing_rate`]
//!    applied to the *training* features only (the same mask for every mode and algorithm
//!    of a seed), so the network has seen rows with a feature, or both, missing;
//! 2. a [`TabularModel`] `2 → 4 tanh → 2 softmax`, trained with softmax cross-entropy: with
//!    two classes this is one sigmoid output unit (`softmax(z)_1 = σ(z_1 - z_0)`), the
//!    paper's `2-4 tanh-1 sigmoid` network with a redundant second logit; features are
//!    standardised on the training split's observed values first;
//! 3. scored on the complete test half, on the test half with `x1` removed from every row,
//!    and with `x2` removed ([`Condition`]): accuracy, ROC AUC, NLL, ECE and the mean
//!    decisiveness `|2p - 1|` (see [`super::metrics`]).
//!
//! IL-prox's α is chosen first, on a validation split: for each candidate in
//! [`XorConfig::alphas`], every input mode and seed is trained on 80% of the (corrupted)
//! training half and scored on the other 20%, which carries the same MCAR mask. The α
//! with the lowest mean validation NLL wins (ties: the first listed). NLL is a proper
//! score, so it rewards accuracy on complete rows and an honest 0.5 on rows with a
//! missing feature alike. BP-SGD keeps the paper's learning rate, [`XorConfig::bp_lr`].
//!
//! For the first seed, each model's **decision surface** is kept ([`Surface`]): `p(class 1)`
//! on a square grid with complete inputs, and the curves `p(class 1 | x1, x2 missing)` and
//! `p(class 1 | x2, x1 missing)` along the same axis.
//!
//! kNN imputation is not among the modes: MCAR at 0.25 on two features leaves about 6% of
//! the training rows with both missing, which the kNN imputer refuses.

use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::metrics::{ClassSums, roc_auc};
use super::study::{AlgoSpec, Predictions, Settings, StudyError, TabularModel};
use super::{Corruption, Mechanism};
use crate::algo::Algorithm;
use crate::data::{Dataset, Target};
use crate::inputs::InputMode;
use crate::model::Activation;

/// The standard deviation σ of the feature noise (SPEC.md's `N(0, 0.25)`).
pub const XOR_NOISE_STD: f64 = 0.25;

/// Points generated, training and test halves together.
pub const XOR_N: usize = 1000;

/// The noisy XOR points and the clean points their labels come from.
#[derive(Clone, Debug, PartialEq)]
pub struct NoisyXor {
    /// Features with noise, labels of the clean points; two classes, no missing value.
    pub data: Dataset,
    /// The clean points in `[-1, 1]²`, sample-major like `data.x`.
    pub clean: Vec<f32>,
}

/// The XOR label of a clean point: 1 when the signs differ (zero counts as positive).
pub fn xor_label(x1: f64, x2: f64) -> u32 {
    u32::from((x1 < 0.0) != (x2 < 0.0))
}

/// One standard normal draw by the Box-Muller transform, `sqrt(-2 ln u1)·cos(2π u2)` with
/// `u1` in `(0, 1]` (so the logarithm is finite) and `u2` in `[0, 1)`.
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `n` noisy XOR points with noise standard deviation `noise_std`, from one ChaCha8
/// generator seeded with `seed`, drawn point by point (`x1`, `x2`, then their two noises).
pub fn noisy_xor(n: usize, noise_std: f64, seed: u64) -> NoisyXor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut clean, mut x, mut labels) =
        (Vec::with_capacity(2 * n), Vec::with_capacity(2 * n), Vec::with_capacity(n));
    for _ in 0..n {
        let c = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
        labels.push(xor_label(c[0], c[1]));
        for v in c {
            clean.push(v as f32);
            x.push((v + noise_std * standard_normal(&mut rng)) as f32);
        }
    }
    let data = Dataset {
        name: "noisy-xor".into(),
        x,
        n,
        d: 2,
        target: Target::Classes { labels, classes: 2 },
        missing: None,
        feature_names: vec!["x1".into(), "x2".into()],
    };
    NoisyXor { data, clean }
}

/// The settings of the experiment. Defaults are SPEC.md section 8's recipe.
#[derive(Clone, Debug, PartialEq)]
pub struct XorConfig {
    /// Points generated per seed, half for training. Default [`XOR_N`].
    pub n: usize,
    /// Noise standard deviation. Default [`XOR_NOISE_STD`].
    pub noise_std: f64,
    /// MCAR rate applied to the training features. Default 0.25.
    pub train_missing_rate: f64,
    /// Seeds `0..seeds`. Default 5.
    pub seeds: u64,
    /// Default 100.
    pub epochs: u64,
    /// Default 10.
    pub batch: usize,
    /// Default promissing, mpromissing, mask-concat, mean, zero.
    pub inputs: Vec<InputMode>,
    /// BP-SGD's learning rate. Default 0.1.
    pub bp_lr: f64,
    /// IL-prox's α candidates; one entry skips the selection. Default 0.1, 0.3, 1.
    pub alphas: Vec<f64>,
    /// Share of the training half held out to choose α. Default 0.2.
    pub validation_fraction: f64,
    /// Grid points per axis of the decision surface. Default 121.
    pub grid: usize,
    /// The surface covers `[-extent, extent]²`. Default 1.5.
    pub extent: f64,
}

impl Default for XorConfig {
    fn default() -> Self {
        XorConfig {
            n: XOR_N,
            noise_std: XOR_NOISE_STD,
            train_missing_rate: 0.25,
            seeds: 5,
            epochs: 100,
            batch: 10,
            inputs: vec![
                InputMode::Promissing,
                InputMode::Mpromissing,
                InputMode::MaskConcat,
                InputMode::Mean,
                InputMode::Zero,
            ],
            bp_lr: 0.1,
            alphas: vec![0.1, 0.3, 1.0],
            validation_fraction: 0.2,
            grid: 121,
            extent: 1.5,
        }
    }
}

/// A setting of [`XorConfig`] outside what the experiment can run.
#[derive(Debug, thiserror::Error)]
pub enum XorError {
    #[error("xor: {name} is {value}, expected {expected}")]
    Setting { name: &'static str, value: String, expected: &'static str },
    #[error("xor: choosing α: every candidate failed; the first said: {0}")]
    NoAlpha(String),
}

impl XorConfig {
    /// Checks every field; the error names the first bad one.
    pub fn check(&self) -> Result<(), XorError> {
        let bad = |name, value: String, expected| Err(XorError::Setting { name, value, expected });
        if self.n < 20 {
            return bad("n", self.n.to_string(), "at least 20 points");
        }
        if !(self.noise_std >= 0.0 && self.noise_std.is_finite()) {
            return bad("noise_std", self.noise_std.to_string(), "a finite number >= 0");
        }
        if !(0.0..1.0).contains(&self.train_missing_rate) {
            return bad("train_missing_rate", self.train_missing_rate.to_string(), "in [0, 1)");
        }
        if self.seeds == 0 || self.epochs == 0 || self.batch == 0 {
            let v = format!("{}/{}/{}", self.seeds, self.epochs, self.batch);
            return bad("seeds/epochs/batch", v, "positive numbers");
        }
        if let Some(m) = self.inputs.iter().find(|m| matches!(m, InputMode::Plain | InputMode::Knn))
        {
            return bad("inputs", m.to_string(), "modes other than plain and knn");
        }
        if self.inputs.is_empty() {
            return bad("inputs", "empty".into(), "at least one input mode");
        }
        if self.alphas.is_empty() || self.alphas.iter().any(|a| !(*a > 0.0 && a.is_finite())) {
            return bad("alphas", format!("{:?}", self.alphas), "positive numbers, at least one");
        }
        if !(self.bp_lr > 0.0 && self.bp_lr.is_finite()) {
            return bad("bp_lr", self.bp_lr.to_string(), "a positive number");
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return bad("validation_fraction", self.validation_fraction.to_string(), "in (0, 1)");
        }
        if self.grid < 2 || !(self.extent > 0.0 && self.extent.is_finite()) {
            let v = format!("{} points over ±{}", self.grid, self.extent);
            return bad("grid/extent", v, "at least 2 points over a positive extent");
        }
        Ok(())
    }

    fn settings(&self) -> Settings {
        Settings {
            epochs: self.epochs,
            batch: self.batch,
            knn_k: 5,
            hidden: Some((vec![4], vec![Activation::Tanh])),
        }
    }

    /// The grid coordinates of one axis: `grid` evenly spaced values over `±extent`.
    pub fn axis(&self) -> Vec<f64> {
        let step = 2.0 * self.extent / (self.grid - 1) as f64;
        (0..self.grid).map(|i| -self.extent + step * i as f64).collect()
    }
}

/// Which test inputs a score is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Condition {
    Complete,
    X1Missing,
    X2Missing,
}

impl Condition {
    pub const ALL: [Condition; 3] =
        [Condition::Complete, Condition::X1Missing, Condition::X2Missing];

    pub fn name(self) -> &'static str {
        match self {
            Condition::Complete => "complete",
            Condition::X1Missing => "x1-missing",
            Condition::X2Missing => "x2-missing",
        }
    }

    /// The test split as this condition shows it.
    pub fn apply(self, test: &Dataset) -> Dataset {
        match self {
            Condition::Complete => test.clone(),
            Condition::X1Missing => without_feature(test, 0),
            Condition::X2Missing => without_feature(test, 1),
        }
    }
}

/// `ds` with feature `j` missing in every row (its values set to 0.0, as the mask requires).
pub fn without_feature(ds: &Dataset, j: usize) -> Dataset {
    let mut out = ds.clone();
    let mut mask = ds.missing.clone().unwrap_or_else(|| vec![false; ds.n * ds.d]);
    for i in 0..ds.n {
        mask[i * ds.d + j] = true;
        out.x[i * ds.d + j] = 0.0;
    }
    out.missing = Some(mask);
    out
}

/// The scores of one model on one condition of the test split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    pub accuracy: f64,
    /// ROC AUC of `p(class 1)`; NaN when it is undefined.
    pub auc: f64,
    pub nll: f64,
    pub ece: f64,
    /// Mean `|2p - 1|`: 0 when every answer is 0.5.
    pub decisiveness: f64,
    /// Mean `p(class 1)`.
    pub mean_p1: f64,
}

/// Scores two-class predictions against `labels`.
pub fn score(pred: &Predictions, labels: &[u32]) -> Scores {
    let mut sums = ClassSums::default();
    for (p, &label) in pred.values.chunks_exact(pred.k).zip(labels) {
        sums.add(p, label);
    }
    let n = labels.len() as f64;
    let mean_p1 = pred.values.chunks_exact(pred.k).map(|p| f64::from(p[1])).sum::<f64>() / n;
    Scores {
        accuracy: sums.accuracy(),
        auc: roc_auc(&pred.values, pred.k, labels).unwrap_or(f64::NAN),
        nll: sums.nll / n,
        ece: sums.ece(),
        decisiveness: sums.decisiveness / n,
        mean_p1,
    }
}

/// One trained model: its setting and how it scored (or why it did not finish).
#[derive(Clone, Debug, PartialEq)]
pub struct XorRun {
    pub input: InputMode,
    pub algo: AlgoSpec,
    pub seed: u64,
    /// Scores in the order of [`Condition::ALL`], or the reason the run failed (a
    /// non-finite value in training, say).
    pub outcome: Result<[Scores; 3], String>,
    pub wall_s: f64,
}

/// A model's `p(class 1)` over the grid and along the two missing-feature curves.
#[derive(Clone, Debug, PartialEq)]
pub struct Surface {
    pub input: InputMode,
    pub algo: AlgoSpec,
    pub seed: u64,
    /// `p(class 1)` at `(axis[i], axis[j])`, stored at `j * axis.len() + i` (row `j` is one
    /// value of `x2`).
    pub grid: Vec<f32>,
    /// `p(class 1 | x1 = axis[i], x2 missing)`.
    pub x1_curve: Vec<f32>,
    /// `p(class 1 | x2 = axis[i], x1 missing)`.
    pub x2_curve: Vec<f32>,
}

/// One α candidate of IL-prox on the validation split.
#[derive(Clone, Debug, PartialEq)]
pub struct AlphaTrial {
    pub alpha: f64,
    /// Mean over modes and seeds of the validation NLL and accuracy (finished fits only).
    pub nll: f64,
    pub accuracy: f64,
    pub fits: usize,
    pub failed: usize,
}

/// Everything the experiment produced, for the report.
#[derive(Clone, Debug, PartialEq)]
pub struct XorResults {
    pub config: XorConfig,
    pub alpha_trials: Vec<AlphaTrial>,
    /// The α IL-prox ran with.
    pub alpha: f64,
    /// Every run, ordered by algorithm, input mode, seed.
    pub runs: Vec<XorRun>,
    /// First seed only, one per (algorithm, input mode), in the order of `runs`.
    pub surfaces: Vec<Surface>,
    /// The first seed's test split (complete), for the dots on the surface figures.
    pub test_points: Dataset,
    pub wall_s: f64,
}

/// One seed's data: the corrupted training half and the complete test half.
struct SeedData {
    train: Dataset,
    test: Dataset,
}

/// The mask seed of a data seed, distinct from the data and model streams.
fn mask_seed(seed: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(17)
}

fn seed_data(config: &XorConfig, seed: u64) -> Result<SeedData, StudyError> {
    let all = noisy_xor(config.n, config.noise_std, seed).data;
    let half = config.n / 2;
    let train = all.subset(&(0..half).collect::<Vec<_>>());
    let test = all.subset(&(half..config.n).collect::<Vec<_>>());
    let train = if config.train_missing_rate > 0.0 {
        let c = Corruption::new(Mechanism::Mcar, config.train_missing_rate);
        c.apply(&train, mask_seed(seed))?.data
    } else {
        train
    };
    Ok(SeedData { train, test })
}

fn labels(ds: &Dataset) -> &[u32] {
    match &ds.target {
        Target::Classes { labels, .. } => labels,
        Target::Values { .. } => unreachable!("the noisy XOR has classes"),
    }
}

/// Chooses IL-prox's α on validation splits of every seed's training half.
fn choose_alpha(config: &XorConfig, data: &[SeedData]) -> Result<(f64, Vec<AlphaTrial>), XorError> {
    if config.alphas.len() == 1 {
        return Ok((config.alphas[0], Vec::new()));
    }
    let settings = config.settings();
    let splits: Vec<(Dataset, Dataset)> = data
        .iter()
        .enumerate()
        .map(|(s, d)| d.train.clone().split_validation(config.validation_fraction, s as u64))
        .collect::<Result<_, _>>()
        .map_err(|e| XorError::NoAlpha(e.to_string()))?;
    let mut jobs = Vec::new();
    for &alpha in &config.alphas {
        for &input in &config.inputs {
            for seed in 0..config.seeds {
                jobs.push((alpha, input, seed));
            }
        }
    }
    let outcomes: Vec<Result<Scores, String>> = jobs
        .par_iter()
        .map(|&(alpha, input, seed)| {
            let (fit, val) = &splits[seed as usize];
            let algo = AlgoSpec { name: Algorithm::IlProx, lr: alpha, eps: None };
            let model =
                TabularModel::fit(fit, input, &algo, &settings, seed).map_err(|e| e.to_string())?;
            let pred = model.predict(val).map_err(|e| e.to_string())?;
            Ok(score(&pred, labels(val)))
        })
        .collect();
    let mut trials = Vec::new();
    let mut first_error = None;
    for &alpha in &config.alphas {
        let mine = jobs.iter().zip(&outcomes).filter(|(j, _)| j.0 == alpha).map(|(_, o)| o);
        let (mut nll, mut acc, mut fits, mut failed) = (0.0, 0.0, 0, 0);
        for o in mine {
            match o {
                Ok(s) => {
                    nll += s.nll;
                    acc += s.accuracy;
                    fits += 1;
                }
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert_with(|| e.clone());
                }
            }
        }
        let k = fits.max(1) as f64;
        let (nll, accuracy) = if fits == 0 { (f64::NAN, f64::NAN) } else { (nll / k, acc / k) };
        trials.push(AlphaTrial { alpha, nll, accuracy, fits, failed });
    }
    // Lowest NLL among the candidates with no failed fit; the first listed on ties.
    let best = trials
        .iter()
        .filter(|t| t.failed == 0 && t.nll.is_finite())
        .min_by(|a, b| a.nll.total_cmp(&b.nll))
        .map(|t| t.alpha);
    match best {
        Some(alpha) => Ok((alpha, trials)),
        None => Err(XorError::NoAlpha(first_error.unwrap_or_default())),
    }
}

/// The grid of `config` as a complete data set (dummy labels), row `j * grid + i` at
/// `(axis[i], axis[j])`.
fn grid_points(config: &XorConfig) -> Dataset {
    let axis = config.axis();
    let x = axis.iter().flat_map(|&x2| axis.iter().flat_map(move |&x1| [x1 as f32, x2 as f32]));
    let x: Vec<f32> = x.collect();
    let n = x.len() / 2;
    Dataset {
        name: "noisy-xor/grid".into(),
        x,
        n,
        d: 2,
        target: Target::Classes { labels: vec![0; n], classes: 2 },
        missing: None,
        feature_names: vec!["x1".into(), "x2".into()],
    }
}

/// Points along the axis with feature `observed` set and the other one missing.
fn curve_points(config: &XorConfig, observed: usize) -> Dataset {
    let axis = config.axis();
    let n = axis.len();
    let mut x = vec![0.0f32; 2 * n];
    for (i, v) in axis.iter().enumerate() {
        x[2 * i + observed] = *v as f32;
    }
    let ds = Dataset {
        name: "noisy-xor/curve".into(),
        x,
        n,
        d: 2,
        target: Target::Classes { labels: vec![0; n], classes: 2 },
        missing: None,
        feature_names: vec!["x1".into(), "x2".into()],
    };
    without_feature(&ds, 1 - observed)
}

fn p1(pred: &Predictions) -> Vec<f32> {
    pred.values.chunks_exact(pred.k).map(|p| p[1]).collect()
}

/// Runs the experiment: chooses α, trains every (algorithm, mode, seed), scores the three
/// test conditions and keeps the first seed's surfaces. Jobs run on rayon's global pool;
/// each job's numbers depend on its settings alone.
pub fn run_xor(config: &XorConfig) -> Result<XorResults, XorError> {
    config.check()?;
    let start = Instant::now();
    let data: Vec<SeedData> = (0..config.seeds)
        .map(|s| seed_data(config, s))
        .collect::<Result<_, _>>()
        .map_err(|e| XorError::NoAlpha(e.to_string()))?;
    let (alpha, alpha_trials) = choose_alpha(config, &data)?;

    let algos = [
        AlgoSpec { name: Algorithm::BpSgd, lr: config.bp_lr, eps: None },
        AlgoSpec { name: Algorithm::IlProx, lr: alpha, eps: None },
    ];
    let mut jobs = Vec::new();
    for algo in &algos {
        for &input in &config.inputs {
            for seed in 0..config.seeds {
                jobs.push((algo.clone(), input, seed));
            }
        }
    }
    let settings = config.settings();
    let (grid, curves) = (grid_points(config), [curve_points(config, 0), curve_points(config, 1)]);
    let done: Vec<(XorRun, Option<Surface>)> = jobs
        .par_iter()
        .map(|(algo, input, seed)| {
            let t = Instant::now();
            let d = &data[*seed as usize];
            let mut surface = None;
            let outcome = (|| -> Result<[Scores; 3], StudyError> {
                let model = TabularModel::fit(&d.train, *input, algo, &settings, *seed)?;
                let mut scores = Vec::with_capacity(3);
                for c in Condition::ALL {
                    let test = c.apply(&d.test);
                    scores.push(score(&model.predict(&test)?, labels(&test)));
                }
                if *seed == 0 {
                    surface = Some(Surface {
                        input: *input,
                        algo: algo.clone(),
                        seed: *seed,
                        grid: p1(&model.predict(&grid)?),
                        x1_curve: p1(&model.predict(&curves[0])?),
                        x2_curve: p1(&model.predict(&curves[1])?),
                    });
                }
                Ok([scores[0], scores[1], scores[2]])
            })();
            let run = XorRun {
                input: *input,
                algo: algo.clone(),
                seed: *seed,
                outcome: outcome.map_err(|e| e.to_string()),
                wall_s: t.elapsed().as_secs_f64(),
            };
            (run, surface)
        })
        .collect();
    let (runs, surfaces): (Vec<XorRun>, Vec<Option<Surface>>) = done.into_iter().unzip();
    Ok(XorResults {
        config: config.clone(),
        alpha_trials,
        alpha,
        runs,
        surfaces: surfaces.into_iter().flatten().collect(),
        test_points: data[0].test.clone(),
        wall_s: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grid's row layout is what [`Surface::grid`] documents.
    #[test]
    fn grid_rows_are_values_of_x2() {
        let config = XorConfig { grid: 3, extent: 1.0, ..XorConfig::default() };
        let g = grid_points(&config);
        assert_eq!(g.n, 9);
        // Row j * 3 + i is (axis[i], axis[j]): row 5 = (i 2, j 1) = (1, 0).
        assert_eq!(g.sample(5), &[1.0, 0.0]);
        let c = curve_points(&config, 1);
        assert_eq!(c.sample(0), &[0.0, -1.0]);
        assert_eq!(c.missing.as_ref().unwrap()[..2], [true, false]);
    }

    /// Bad settings are refused with the field's name.
    #[test]
    fn rejects_bad_settings() {
        let bad = [
            XorConfig { seeds: 0, ..XorConfig::default() },
            XorConfig { alphas: vec![], ..XorConfig::default() },
            XorConfig { inputs: vec![InputMode::Knn], ..XorConfig::default() },
            XorConfig { train_missing_rate: 1.0, ..XorConfig::default() },
        ];
        for c in bad {
            assert!(c.check().is_err(), "{c:?}");
        }
        assert!(XorConfig::default().check().is_ok());
    }
}
