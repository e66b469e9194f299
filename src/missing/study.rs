//! The missing-data benchmark: every first-layer input mode, trained by backprop and by
//! IL-prox, on real tables with values removed under MCAR, MAR and MNAR at several rates.
//!
//! A **study file** (TOML) lists the tables, mechanisms, rates, seeds, input modes and
//! algorithms; [`Study::jobs`] is their product, plus one job per table, seed, mode and
//! algorithm with nothing removed (mechanism `none`, rate 0). One job:
//!
//! 1. loads the table whole ([`tabular_benchmarks::load`]); penguins keeps its real gaps;
//! 2. removes values from the whole table with the job's mechanism and rate, seeded by
//!    [`corruption_seed`] (the same mask for every mode and algorithm of a seed, so methods
//!    are compared on the same holes), then splits it into train and test with the seed;
//! 3. fits a [`TabularModel`]: features standardised on the training split's observed
//!    values, the input mode fitted on the training split, a regression target standardised
//!    with the training mean and deviation; the network is `p → ⌈p/2⌉ ReLU → 2 linear →
//!    output` (`p` the table's features, the same for every mode), softmax cross-entropy or
//!    MSE; trained for the study's epochs at its batch size, the order of each epoch a
//!    seeded permutation;
//! 4. scores the test split ([`super::metrics`]) overall and per **missingness bin** of the
//!    test rows (the fraction of a row's features missing: exactly 0, then `(0, 0.2]`,
//!    `(0.2, 0.4]`, ..., `(0.8, 1]`), keeping the sums from which any pooled ECE,
//!    decisiveness or RMSE is computed exactly.
//!
//! A job that cannot run is a recorded result, not a crash: `diverged` (a non-finite value
//! in training; see [`crate::error::NonFinite`]) or `failed` with the reason (for example
//! kNN imputation of a test row with every feature missing, or a feature with no observed
//! training value).
//!
//! [`run_study`] runs the jobs on a pool of threads, one job per thread, and appends each
//! result to `runs.csv` and `bins.csv` in the output folder as it finishes; a second call
//! skips the jobs already there, so an interrupted study resumes where it stopped. Each
//! job's numbers depend on its settings alone, not on the thread count or the order.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde::Deserialize;

use super::metrics::{ClassSums, RowScore, confidence_bin, regression_scores, roc_auc};
use super::tabular_benchmarks::{self, Benchmark};
use super::{Corruption, Mechanism, MissingError};
use crate::algo::{Algorithm, Hyper, Trainer};
use crate::data::tabular::{Task, train_test_split};
use crate::data::{DataError, Dataset, Standardizer, Target};
use crate::error::NonFinite;
use crate::inputs::{FittedInput, InputMode, missing_fraction};
use crate::linalg::{Matrix, Threads};
use crate::model::{Activation, Architecture, Forward, Head, Network, one_hot};
use crate::run::Order;

/// Upper edges of the missingness bins after the first (exactly 0 missing).
pub const MISSING_EDGES: [f64; 5] = [0.2, 0.4, 0.6, 0.8, 1.0];

/// Number of missingness bins.
pub const MISSING_BINS: usize = MISSING_EDGES.len() + 1;

/// The bin of a row with `fraction` of its features missing.
pub fn missing_bin(fraction: f64) -> usize {
    if fraction <= 0.0 {
        return 0;
    }
    1 + MISSING_EDGES.iter().position(|&e| fraction <= e + 1e-12).unwrap_or(MISSING_BINS - 2)
}

/// The label of missingness bin `b`.
pub fn missing_bin_label(b: usize) -> String {
    match b {
        0 => "0".into(),
        1 => format!("(0, {}]", MISSING_EDGES[0]),
        _ => format!("({}, {}]", MISSING_EDGES[b - 2], MISSING_EDGES[b - 1]),
    }
}

/// The seed of a job's missingness mask: the same for every mode and algorithm of a
/// `(seed, mechanism, rate)`, different across them.
pub fn corruption_seed(seed: u64, mechanism: Mechanism, rate: f64) -> u64 {
    let m = Mechanism::ALL.iter().position(|&x| x == mechanism).unwrap_or(0) as u64;
    seed.wrapping_mul(1_000_003).wrapping_add(m * 10_007).wrapping_add((rate * 1e4).round() as u64)
}

/// An algorithm and its learning rate (α for the prox family), as the study file has it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlgoSpec {
    pub name: Algorithm,
    pub lr: f64,
    /// The prox family's ε. Default: the preset's.
    pub eps: Option<f64>,
}

impl AlgoSpec {
    fn hyper(&self) -> Hyper {
        Hyper { lr: Some(self.lr), eps: self.eps, ..Hyper::default() }
    }
}

/// The study file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyFile {
    /// Where `runs.csv`, `bins.csv` and the report go, relative to the file's folder.
    pub out: PathBuf,
    pub data: Vec<String>,
    pub mechanisms: Vec<String>,
    pub rates: Vec<f64>,
    pub seeds: Vec<u64>,
    pub inputs: Vec<InputMode>,
    pub algos: Vec<AlgoSpec>,
    /// Also run every table with nothing removed. Default true.
    pub complete: Option<bool>,
    /// Default 100.
    pub epochs: Option<u64>,
    /// Default 10.
    pub batch: Option<usize>,
    /// Share of rows held out for testing. Default 0.3.
    pub test_fraction: Option<f64>,
    /// k of the kNN imputer. Default 5.
    pub knn_k: Option<usize>,
}

/// Training settings shared by every job.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub epochs: u64,
    pub batch: usize,
    pub knn_k: usize,
    /// Hidden widths and activations; `None`: `⌈p/2⌉` ReLU then 2 linear.
    pub hidden: Option<(Vec<usize>, Vec<Activation>)>,
}

/// A checked study.
#[derive(Clone, Debug)]
pub struct Study {
    pub out: PathBuf,
    pub data: Vec<Benchmark>,
    pub mechanisms: Vec<Mechanism>,
    pub rates: Vec<f64>,
    pub seeds: Vec<u64>,
    pub inputs: Vec<InputMode>,
    pub algos: Vec<AlgoSpec>,
    pub complete: bool,
    pub test_fraction: f64,
    pub settings: Settings,
}

/// Why a study could not start, or a job could not run.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    #[error(transparent)]
    Missing(#[from] MissingError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("{0}")]
    Diverged(NonFinite),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StudyError + '_ {
    move |source| StudyError::Io { path: path.to_path_buf(), source }
}

impl Study {
    /// Reads and checks a study file; `out` is taken relative to the file's folder.
    pub fn from_file(path: &Path) -> Result<Study, StudyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let raw: StudyFile = toml::from_str(&text)
            .map_err(|e| StudyError::File { file: file.clone(), reason: e.to_string() })?;
        let mut study = Study::check(raw).map_err(|reason| StudyError::File { file, reason })?;
        if study.out.is_relative() {
            study.out = path.parent().unwrap_or(Path::new(".")).join(&study.out);
        }
        Ok(study)
    }

    /// Checks every field; the error says which and what was expected.
    pub fn check(raw: StudyFile) -> Result<Study, String> {
        let data = raw
            .data
            .iter()
            .map(|d| d.parse::<Benchmark>().map_err(|e| format!("data: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mechanisms = raw
            .mechanisms
            .iter()
            .map(|m| m.parse::<Mechanism>().map_err(|e| format!("mechanisms: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(r) = raw.rates.iter().find(|r| !(**r > 0.0 && **r <= 1.0)) {
            return Err(format!("rates: {r} is not in (0, 1]; rate 0 is `complete = true`"));
        }
        if let Some(m) = raw.inputs.iter().find(|m| **m == InputMode::Plain) {
            return Err(format!(
                "inputs: \"{m}\" refuses missing values; list the modes to compare"
            ));
        }
        for a in &raw.algos {
            a.name.resolve::<f32>(&a.hyper(), Head::SoftmaxCe).map_err(|e| {
                format!("algos: {}: {} = {}, expected {}", a.name, e.name, e.value, e.expected)
            })?;
            if a.name == Algorithm::ImplicitSgd {
                return Err("algos: implicit-sgd is too slow for this study".into());
            }
        }
        let (batch, epochs, knn_k) =
            (raw.batch.unwrap_or(10), raw.epochs.unwrap_or(100), raw.knn_k.unwrap_or(5));
        if batch == 0 || epochs == 0 || knn_k == 0 {
            return Err("batch, epochs and knn_k must be positive".into());
        }
        let test_fraction = raw.test_fraction.unwrap_or(0.3);
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(format!("test_fraction: {test_fraction} is not in (0, 1)"));
        }
        for (what, empty) in [
            ("data", data.is_empty()),
            ("seeds", raw.seeds.is_empty()),
            ("inputs", raw.inputs.is_empty()),
            ("algos", raw.algos.is_empty()),
        ] {
            if empty {
                return Err(format!("{what}: the list is empty"));
            }
        }
        Ok(Study {
            out: raw.out,
            data,
            mechanisms,
            rates: raw.rates,
            seeds: raw.seeds,
            inputs: raw.inputs,
            algos: raw.algos,
            complete: raw.complete.unwrap_or(true),
            test_fraction,
            settings: Settings { epochs, batch, knn_k, hidden: None },
        })
    }

    /// Every job, the largest tables first (so the pool finishes evenly).
    pub fn jobs(&self) -> Vec<Job> {
        let mut conditions: Vec<(Option<Mechanism>, f64)> = Vec::new();
        if self.complete {
            conditions.push((None, 0.0));
        }
        for &m in &self.mechanisms {
            conditions.extend(self.rates.iter().map(|&r| (Some(m), r)));
        }
        let mut jobs = Vec::new();
        for &data in &self.data {
            for &(mechanism, rate) in &conditions {
                for &seed in &self.seeds {
                    for &input in &self.inputs {
                        for algo in &self.algos {
                            jobs.push(Job {
                                data,
                                mechanism,
                                rate,
                                seed,
                                input,
                                algo: algo.clone(),
                            });
                        }
                    }
                }
            }
        }
        let weight = |b: Benchmark| match b {
            Benchmark::Digits => 0,
            Benchmark::WineQuality => 1,
            Benchmark::BreastCancer => 2,
            Benchmark::Diabetes => 3,
            Benchmark::Penguins => 4,
            Benchmark::Wine => 5,
        };
        jobs.sort_by_key(|j| weight(j.data));
        jobs
    }
}

/// One training-and-test run of the study.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub data: Benchmark,
    /// `None`: nothing removed.
    pub mechanism: Option<Mechanism>,
    pub rate: f64,
    pub seed: u64,
    pub input: InputMode,
    pub algo: AlgoSpec,
}

impl Job {
    /// The job's identity in `runs.csv` and `bins.csv`:
    /// `data,mechanism,rate,seed,input,algo,lr`.
    pub fn key(&self) -> String {
        format!(
            "{},{},{},{},{},{},{}",
            self.data,
            self.mechanism.map_or("none", Mechanism::as_str),
            self.rate,
            self.seed,
            self.input,
            self.algo.name,
            self.algo.lr
        )
    }
}

/// A network fitted on a training split, with every transform it needs to predict.
pub struct TabularModel {
    pub net: Network<f32>,
    standardizer: Standardizer,
    input: FittedInput,
    /// Mean and deviation of a regression target (`None` for classes).
    target_scale: Option<(f64, f64)>,
}

/// Predictions for a split: `k` numbers per row, class probabilities or values in the
/// target's units.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    pub k: usize,
    pub values: Vec<f32>,
}

impl TabularModel {
    /// Fits a network with input mode `input` and algorithm `algo` on `train`.
    pub fn fit(
        train: &Dataset,
        input: InputMode,
        algo: &AlgoSpec,
        settings: &Settings,
        seed: u64,
    ) -> Result<TabularModel, StudyError> {
        let standardizer = Standardizer::fit(train)?;
        let mut train = train.clone();
        standardizer.apply(&mut train)?;
        let target_scale = match &train.target {
            Target::Values { y, .. } => {
                let n = y.len() as f64;
                let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
                let var = y.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
                Some((mean, if var > 0.0 { var.sqrt() } else { 1.0 }))
            }
            Target::Classes { .. } => None,
        };
        let fitted = FittedInput::fit(input, &train, settings.knn_k)?;
        let prepared = fitted.apply(&train)?;

        let p = train.d;
        let (hidden, acts) = settings.hidden.clone().unwrap_or_else(|| {
            (vec![p.div_ceil(2), 2], vec![Activation::Relu, Activation::Identity])
        });
        let (k, head) = match &train.target {
            Target::Classes { classes, .. } => (*classes, Head::SoftmaxCe),
            Target::Values { k, .. } => (*k, Head::IdentityMse),
        };
        let mut sizes = vec![prepared.d];
        sizes.extend(&hidden);
        sizes.push(k);
        let arch = Architecture {
            hidden_activations: acts,
            ..Architecture::new(sizes, Activation::Relu, head)
        };
        let mut net = Network::<f32>::new(arch, seed);
        if !input.first_layer_bias() {
            net.disable_first_bias();
        }

        let x = Matrix::from_col_major(prepared.d, prepared.n, prepared.x.clone());
        let y = target_matrix(&prepared.target, target_scale);
        let resolved = algo.name.resolve::<f32>(&algo.hyper(), head).map_err(|e| {
            StudyError::File { file: "study".into(), reason: format!("{}: {}", e.name, e.expected) }
        })?;
        let batch = settings.batch.min(prepared.n).max(1);
        let mut trainer = Trainer::new(&net, resolved, batch, Threads::single());
        let (mut xb, mut yb) = (Matrix::zeros(x.rows(), batch), Matrix::zeros(y.rows(), batch));
        for epoch in 0..settings.epochs {
            let order = Order::for_epoch(seed, epoch, prepared.n);
            for idx in order.perm.chunks(batch) {
                xb.reshape(x.rows(), idx.len());
                yb.reshape(y.rows(), idx.len());
                for (j, &i) in idx.iter().enumerate() {
                    xb.col_mut(j).copy_from_slice(x.col(i));
                    yb.col_mut(j).copy_from_slice(y.col(i));
                }
                trainer.step(&mut net, &xb, &yb).map_err(StudyError::Diverged)?;
            }
        }
        Ok(TabularModel { net, standardizer, input: fitted, target_scale })
    }

    /// Predicts every row of `ds` (same columns as the training split, any mask).
    pub fn predict(&self, ds: &Dataset) -> Result<Predictions, StudyError> {
        let mut ds = ds.clone();
        self.standardizer.apply(&mut ds)?;
        let prepared = self.input.apply(&ds)?;
        let x = Matrix::from_col_major(prepared.d, prepared.n, prepared.x);
        let mut fwd = Forward::new(&self.net, x.cols().max(1));
        self.net.forward(&x, &mut fwd, Threads::single());
        let k = self.net.output_size();
        let mut values = fwd.out.as_slice()[..k * x.cols()].to_vec();
        if let Some((mean, std)) = self.target_scale {
            for v in &mut values {
                *v = (f64::from(*v) * std + mean) as f32;
            }
        }
        Ok(Predictions { k, values })
    }
}

/// Targets as network columns: one-hot classes, or standardised values.
fn target_matrix(target: &Target, scale: Option<(f64, f64)>) -> Matrix<f32> {
    match target {
        Target::Classes { labels, classes } => one_hot(labels, *classes),
        Target::Values { y, k } => {
            let (mean, std) = scale.unwrap_or((0.0, 1.0));
            let v = y.iter().map(|&t| ((f64::from(t) - mean) / std) as f32).collect();
            Matrix::from_col_major(*k, y.len() / k, v)
        }
    }
}

/// How a job ended.
#[derive(Clone, Debug, PartialEq)]
pub enum JobStatus {
    Ok,
    Diverged(String),
    Failed(String),
}

/// The sums of one missingness bin and one confidence bin of a job's test rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BinSums {
    pub rows: u64,
    pub correct: u64,
    pub confidence: f64,
    pub entropy: f64,
    /// Sum of `1 - H/ln K`, the entropy normalised to `[0, 1]` and turned into certainty.
    pub certainty: f64,
    pub decisiveness: f64,
    pub nll: f64,
    pub squared_error: f64,
}

/// A finished job.
#[derive(Clone, Debug, PartialEq)]
pub struct JobResult {
    pub key: String,
    pub task: Task,
    /// Classes, or values per row for regression.
    pub outputs: usize,
    pub status: JobStatus,
    /// Share of cells missing in the train and test splits.
    pub train_missing: f64,
    pub test_missing: f64,
    pub accuracy: f64,
    pub auc: f64,
    pub nll: f64,
    pub ece: f64,
    pub rmse: f64,
    pub r2: f64,
    pub wall_s: f64,
    /// `(missingness bin, confidence bin, sums)`, non-empty cells only; regression rows
    /// all sit in confidence bin 0.
    pub bins: Vec<(usize, usize, BinSums)>,
}

fn cell_share(ds: &Dataset) -> f64 {
    let f = missing_fraction(ds);
    if f.is_empty() { 0.0 } else { f.iter().sum::<f64>() / f.len() as f64 }
}

/// Runs one job on the table `table` (loaded whole).
pub fn run_job(job: &Job, table: &Dataset, study: &Study) -> JobResult {
    let start = Instant::now();
    let mut result = JobResult {
        key: job.key(),
        task: job.data.task(),
        outputs: match &table.target {
            Target::Classes { classes, .. } => *classes,
            Target::Values { k, .. } => *k,
        },
        status: JobStatus::Ok,
        train_missing: f64::NAN,
        test_missing: f64::NAN,
        accuracy: f64::NAN,
        auc: f64::NAN,
        nll: f64::NAN,
        ece: f64::NAN,
        rmse: f64::NAN,
        r2: f64::NAN,
        wall_s: 0.0,
        bins: Vec::new(),
    };
    let outcome = (|| -> Result<(), StudyError> {
        let table = match job.mechanism {
            None => table.clone(),
            Some(m) => {
                let c = Corruption::new(m, job.rate);
                c.apply(table, corruption_seed(job.seed, m, job.rate))?.data
            }
        };
        let split = train_test_split(&table, study.test_fraction, job.seed)?;
        result.train_missing = cell_share(&split.train);
        result.test_missing = cell_share(&split.test);
        let model =
            TabularModel::fit(&split.train, job.input, &job.algo, &study.settings, job.seed)?;
        let pred = model.predict(&split.test)?;
        score(&split.test, &pred, &mut result);
        Ok(())
    })();
    result.status = match outcome {
        Ok(()) => JobStatus::Ok,
        Err(StudyError::Diverged(e)) => JobStatus::Diverged(e.to_string()),
        Err(e) => JobStatus::Failed(e.to_string()),
    };
    result.wall_s = start.elapsed().as_secs_f64();
    result
}

/// Fills the overall scores and the bins of `result` from the predictions of `test`.
fn score(test: &Dataset, pred: &Predictions, result: &mut JobResult) {
    let fractions = missing_fraction(test);
    let mut cells: HashMap<(usize, usize), BinSums> = HashMap::new();
    match &test.target {
        Target::Classes { labels, classes } => {
            let mut all = ClassSums::default();
            for (i, &label) in labels.iter().enumerate() {
                let row = RowScore::of(&pred.values[i * classes..(i + 1) * classes], label);
                all.add_row(&row);
                let key = (missing_bin(fractions[i]), confidence_bin(row.confidence));
                let cell = cells.entry(key).or_default();
                cell.rows += 1;
                cell.correct += u64::from(row.correct);
                cell.confidence += row.confidence;
                cell.entropy += row.entropy;
                cell.certainty += 1.0 - row.entropy / (*classes.max(&2) as f64).ln();
                cell.decisiveness += row.decisiveness;
                cell.nll += row.nll;
            }
            result.accuracy = all.accuracy();
            result.nll = all.nll / all.rows() as f64;
            result.ece = all.ece();
            result.auc = roc_auc(&pred.values, *classes, labels).unwrap_or(f64::NAN);
        }
        Target::Values { y, k } => {
            let y: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
            let p: Vec<f64> = pred.values.iter().map(|&v| f64::from(v)).collect();
            let (rmse, r2) = regression_scores(&p, &y);
            result.rmse = rmse;
            result.r2 = r2;
            for i in 0..test.n {
                let cell = cells.entry((missing_bin(fractions[i]), 0)).or_default();
                cell.rows += 1;
                cell.squared_error +=
                    (0..*k).map(|c| (p[i * k + c] - y[i * k + c]).powi(2)).sum::<f64>();
            }
        }
    }
    let mut bins: Vec<_> = cells.into_iter().map(|((m, c), s)| (m, c, s)).collect();
    bins.sort_by_key(|&(m, c, _)| (m, c));
    result.bins = bins;
}

/// The header of `runs.csv`.
pub const RUNS_HEADER: &str = "data,mechanism,rate,seed,input,algo,lr,task,outputs,status,\
    train_missing,test_missing,accuracy,auc,nll,ece,rmse,r2,wall_s,message";

/// The header of `bins.csv`.
pub const BINS_HEADER: &str = "data,mechanism,rate,seed,input,algo,lr,missing_bin,\
    confidence_bin,rows,correct,confidence_sum,entropy_sum,certainty_sum,decisiveness_sum,\
    nll_sum,squared_error_sum";

fn num(v: f64) -> String {
    if v.is_nan() { String::new() } else { format!("{v}") }
}

impl JobResult {
    /// The job's line of `runs.csv` (with its newline).
    pub fn runs_line(&self) -> String {
        let (status, message) = match &self.status {
            JobStatus::Ok => ("ok", String::new()),
            JobStatus::Diverged(m) => ("diverged", m.clone()),
            JobStatus::Failed(m) => ("failed", m.clone()),
        };
        let task = match self.task {
            Task::Classification => "classification",
            Task::Regression => "regression",
        };
        let message = format!("\"{}\"", message.replace('"', "'").replace('\n', " "));
        let fields = [
            self.train_missing,
            self.test_missing,
            self.accuracy,
            self.auc,
            self.nll,
            self.ece,
            self.rmse,
            self.r2,
        ]
        .map(num)
        .join(",");
        format!(
            "{},{task},{},{status},{fields},{:.3},{message}\n",
            self.key, self.outputs, self.wall_s
        )
    }

    /// The job's lines of `bins.csv`.
    pub fn bins_lines(&self) -> String {
        let mut s = String::new();
        for (m, c, b) in &self.bins {
            let _ = writeln!(
                s,
                "{},{m},{c},{},{},{},{},{},{},{},{}",
                self.key,
                b.rows,
                b.correct,
                b.confidence,
                b.entropy,
                b.certainty,
                b.decisiveness,
                b.nll,
                b.squared_error
            );
        }
        s
    }
}

/// The job key of a `runs.csv` or `bins.csv` line: its first seven fields (see [`Job::key`]).
fn line_key(line: &str) -> &str {
    let end = line.match_indices(',').nth(6).map_or(line.len(), |(i, _)| i);
    &line[..end]
}

/// The keys of the jobs already in `runs.csv` (empty when there is none).
fn finished_keys(runs: &Path) -> Result<BTreeSet<String>, StudyError> {
    let Ok(text) = std::fs::read_to_string(runs) else { return Ok(BTreeSet::new()) };
    let mut lines = text.lines();
    match lines.next() {
        Some(h) if h == RUNS_HEADER => {}
        None => return Ok(BTreeSet::new()),
        Some(_) => {
            return Err(StudyError::File {
                file: runs.display().to_string(),
                reason: format!("header is not the study's: expected {RUNS_HEADER}"),
            });
        }
    }
    // A line cut by an interruption has fewer fields than the header; it is dropped.
    let fields = RUNS_HEADER.split(',').count();
    Ok(lines
        .filter(|l| l.splitn(fields, ',').count() == fields && l.ends_with('"'))
        .map(|l| line_key(l).to_string())
        .collect())
}

/// Rewrites `path` (a CSV with `header`) keeping the whole lines whose job key is in `keep`.
fn keep_finished(
    path: &Path,
    header: &str,
    keep: &BTreeSet<String>,
    ends: &str,
) -> Result<(), StudyError> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = format!("{header}\n");
    for line in text.lines().skip(1) {
        if keep.contains(line_key(line)) && (ends.is_empty() || line.ends_with(ends)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    let tmp = path.with_extension("csv.part");
    std::fs::write(&tmp, out).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// What [`run_study`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyOutcome {
    pub ran: usize,
    pub skipped: usize,
    pub diverged: usize,
    pub failed: usize,
}

/// Runs every job of `study` not yet in `study.out/runs.csv`, on `threads` threads.
/// `progress` is called after each job with (done, total, the job's result).
pub fn run_study(
    study: &Study,
    data_root: &Path,
    threads: usize,
    progress: &(dyn Fn(usize, usize, &JobResult) + Sync),
) -> Result<StudyOutcome, StudyError> {
    std::fs::create_dir_all(&study.out).map_err(io_err(&study.out))?;
    let runs_path = study.out.join("runs.csv");
    let bins_path = study.out.join("bins.csv");
    let done = finished_keys(&runs_path)?;
    keep_finished(&runs_path, RUNS_HEADER, &done, "\"")?;
    keep_finished(&bins_path, BINS_HEADER, &done, "")?;

    let jobs: Vec<Job> = study.jobs().into_iter().filter(|j| !done.contains(&j.key())).collect();
    // Only the tables with jobs left are read: a finished study reports without its data.
    let mut tables = HashMap::new();
    for job in &jobs {
        if let std::collections::hash_map::Entry::Vacant(e) = tables.entry(job.data) {
            e.insert(tabular_benchmarks::load(job.data, data_root)?);
        }
    }
    let skipped = study.jobs().len() - jobs.len();
    let open = |p: &Path| std::fs::OpenOptions::new().append(true).open(p).map_err(io_err(p));
    let writers = Mutex::new((open(&runs_path)?, open(&bins_path)?, 0usize, 0usize, 0usize, None));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| StudyError::File { file: "thread pool".into(), reason: e.to_string() })?;
    let total = jobs.len();
    pool.install(|| {
        use rayon::prelude::*;
        jobs.par_iter().for_each(|job| {
            let result = run_job(job, &tables[&job.data], study);
            let mut w = writers.lock().expect("a writer panicked");
            let (runs, bins, count, diverged, failed, error) = &mut *w;
            // Bins first: a job counts as finished once its runs line is written.
            let written = bins
                .write_all(result.bins_lines().as_bytes())
                .and_then(|()| bins.flush())
                .and_then(|()| runs.write_all(result.runs_line().as_bytes()))
                .and_then(|()| runs.flush());
            if let Err(e) = written {
                error.get_or_insert(StudyError::Io { path: runs_path.clone(), source: e });
            }
            *count += 1;
            match result.status {
                JobStatus::Diverged(_) => *diverged += 1,
                JobStatus::Failed(_) => *failed += 1,
                JobStatus::Ok => {}
            }
            progress(*count, total, &result);
        });
    });
    let (_, _, ran, diverged, failed, error) = writers.into_inner().expect("a writer panicked");
    if let Some(e) = error {
        return Err(e);
    }
    Ok(StudyOutcome { ran, skipped, diverged, failed })
}
