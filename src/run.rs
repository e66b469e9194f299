//! Training runs: data in, one run folder out.
//!
//! A run folder holds
//!
//! - `config.toml`: the resolved config, every default written out;
//! - `metrics.csv`: one row per evaluation (step 0, every `eval_every` steps, the last
//!   step) with the fixed columns of [`METRICS_HEADER`]; empty cells where a value does not
//!   exist (no train loss at step 0, no free energy for backprop);
//! - `summary.json`: best and final accuracy, the step of the best, update-norm statistics,
//!   and whether, where and in what quantity the run diverged;
//! - `checkpoints/` (see [`crate::checkpoint`]).
//!
//! The data order of epoch `e` is a permutation drawn from a stream fixed by the seed and
//! `e`, so a run resumed from a checkpoint sees exactly the batches an uninterrupted run
//! would, and its metrics are bitwise identical (only the `wall_s` column differs).

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::algo::{StepStats, Trainer};
use crate::checkpoint::{self, Checkpoint, Progress, State};
use crate::config::{DataSource, RunConfig};
use crate::data::{self, Dataset, Split, Standardizer, Target};
use crate::error::NonFinite;
use crate::inputs::{FittedInput, InputMode};
use crate::linalg::{Matrix, Threads};
use crate::model::{Architecture, Head, Metrics, Network, one_hot};

/// The header of `metrics.csv`.
pub const METRICS_HEADER: &str = "step,samples,train_loss,test_accuracy,test_loss,test_brier,\
update_norm,update_norm_weights,energy_before,energy_after,wall_s";

/// One row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricsRow {
    pub step: u64,
    pub samples: u64,
    /// Mean training loss over the steps since the previous row.
    pub train_loss: Option<f64>,
    pub test: Metrics,
    /// Mean `‖Δθ‖` (weights and biases) and `‖ΔW‖` over those steps.
    pub update_norm: Option<f64>,
    pub update_norm_weights: Option<f64>,
    /// Mean free energy before and after inference over those steps (IL only).
    pub energy_before: Option<f64>,
    pub energy_after: Option<f64>,
    pub wall_s: f64,
}

impl MetricsRow {
    fn csv(&self) -> String {
        let o = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        format!(
            "{},{},{},{},{},{},{},{},{},{},{:.3}\n",
            self.step,
            self.samples,
            o(self.train_loss),
            self.test.accuracy,
            self.test.loss,
            self.test.brier,
            o(self.update_norm),
            o(self.update_norm_weights),
            o(self.energy_before),
            o(self.energy_after),
            self.wall_s
        )
    }
}

/// Where a run diverged.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Divergence {
    pub step: u64,
    pub layer: usize,
    pub quantity: String,
}

impl From<NonFinite> for Divergence {
    fn from(e: NonFinite) -> Self {
        Divergence { step: e.step, layer: e.layer, quantity: e.quantity.to_string() }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NormStats {
    pub mean: f64,
    pub std: f64,
    pub max: f64,
}

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub algo: String,
    pub lr: f64,
    pub seed: u64,
    pub data: String,
    pub batch: usize,
    pub steps: u64,
    pub steps_run: u64,
    pub best_accuracy: f64,
    pub best_step: u64,
    /// `None` when the run diverged.
    pub final_accuracy: Option<f64>,
    pub final_step: u64,
    /// The test split scored once at the end when evaluation used a validation split.
    pub final_test: Option<Metrics>,
    pub update_norm: NormStats,
    /// Mean inference steps per training step (IL only): `T`, or fewer with an early stop.
    pub inference_steps_mean: Option<f64>,
    pub diverged: Option<Divergence>,
    pub wall_s: f64,
    pub samples_per_s: f64,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Finished,
    Diverged(NonFinite),
    /// Stopped on request (Ctrl-C) after writing a checkpoint.
    Interrupted {
        step: u64,
    },
}

pub struct Outcome {
    pub status: Status,
    pub summary: Option<Summary>,
    pub dir: PathBuf,
}

/// What a run tells its caller while it works; the command line draws progress from it.
pub trait Observer {
    fn started(&mut self, _total_steps: u64, _first_step: u64) {}
    fn stepped(&mut self, _step: u64) {}
    fn evaluated(&mut self, _row: &MetricsRow) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// The options of [`train`] that are not part of the config.
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// The data root for named data sets.
    pub data_root: PathBuf,
    /// Continue from the run folder's latest checkpoint.
    pub resume: bool,
    /// Set to stop at the next step boundary, with a checkpoint.
    pub stop: Option<Arc<AtomicBool>>,
}

/// Data as matrices, one column per sample, and the network shape it calls for.
pub struct Prepared {
    pub train_x: Matrix<f32>,
    pub train_y: Matrix<f32>,
    /// The split evaluated during training: test, or validation when asked.
    pub eval_x: Matrix<f32>,
    pub eval_y: Matrix<f32>,
    /// The test split when evaluation uses validation.
    pub test: Option<(Matrix<f32>, Matrix<f32>)>,
    pub arch: Architecture,
    pub label: String,
}

fn matrices(ds: &Dataset, limit: usize) -> anyhow::Result<(Matrix<f32>, Matrix<f32>)> {
    if let Some(mask) = &ds.missing {
        let count = mask.iter().filter(|&&m| m).count();
        if count > 0 {
            bail!(
                "{}: {count} values are missing; choose how the first layer treats them with \
                 model.input = \"promissing\" (or mpromissing, mask-concat, zero, mean, median, \
                 knn, knn-mean)",
                ds.name
            );
        }
    }
    let n = if limit > 0 { ds.n.min(limit) } else { ds.n };
    let x = Matrix::from_col_major(ds.d, n, ds.x[..n * ds.d].to_vec());
    let y = match &ds.target {
        Target::Classes { labels, classes } => one_hot(&labels[..n], *classes),
        Target::Values { y, k } => Matrix::from_col_major(*k, n, y[..n * k].to_vec()),
    };
    Ok((x, y))
}

/// Loads and prepares the data of `cfg`: named sets as they are (pixels in [0, 1]); CSV
/// features standardised with statistics of the training split only.
pub fn prepare(cfg: &RunConfig, data_root: &Path) -> anyhow::Result<Prepared> {
    let root = cfg.data_root.clone().unwrap_or_else(|| data_root.to_path_buf());
    let split = match &cfg.data {
        DataSource::Named { name } => data::load(*name, &root)?,
        DataSource::Csv { train, test, target, regression, test_fraction } => {
            let task = if *regression {
                data::tabular::Task::Regression
            } else {
                data::tabular::Task::Classification
            };
            let spec = data::tabular::TabularSpec::new(target.clone(), task);
            let mut split = match test {
                Some(test) => data::tabular::read_csv_split(train, test, &spec)?,
                None => {
                    let (ds, _) = data::tabular::read_csv(train, &spec)?;
                    data::tabular::train_test_split(&ds, *test_fraction, cfg.seed)?
                }
            };
            let st = Standardizer::fit(&split.train)?;
            st.apply(&mut split.train)?;
            st.apply(&mut split.test)?;
            split
        }
    };
    let Split { mut train, mut test } = split;
    if cfg.autoencoder {
        for ds in [&mut train, &mut test] {
            ds.target = Target::Values { y: ds.x.clone(), k: ds.d };
        }
    }
    let (train, test) = if cfg.input == InputMode::Plain {
        (train, test)
    } else {
        let fitted = FittedInput::fit(cfg.input, &train, cfg.knn_k)?;
        (fitted.apply(&train)?, fitted.apply(&test)?)
    };
    let (train, eval, test) = if cfg.validation > 0.0 {
        let (rest, val) = train.split_validation(cfg.validation, cfg.seed)?;
        (rest, val, Some(test))
    } else {
        (train, test, None)
    };

    let d = train.d;
    let (k, is_classes) = match &train.target {
        Target::Classes { classes, .. } => (*classes, true),
        Target::Values { k, .. } => (*k, false),
    };
    let head = cfg.head.unwrap_or(if is_classes {
        Head::SoftmaxCe
    } else if cfg.autoencoder {
        Head::SigmoidBce
    } else {
        Head::IdentityMse
    });
    if !is_classes && head == Head::SoftmaxCe {
        bail!(
            "model.head = \"softmax-ce\" needs class labels, but {} has real-valued targets",
            train.name
        );
    }
    let mut sizes = vec![d];
    sizes.extend(&cfg.hidden);
    sizes.push(k);
    if let Some(given) = &cfg.sizes {
        if given.first() != Some(&d) {
            bail!(
                "model.sizes starts with {}, but {} has {d} input features",
                given[0],
                train.name
            );
        }
        if given.last() != Some(&k) {
            bail!(
                "model.sizes ends with {}, but {} needs {k} outputs",
                given[given.len() - 1],
                train.name
            );
        }
        sizes = given.clone();
    }
    if !cfg.input.first_layer_bias() && sizes.len() < 3 {
        bail!("model.input = \"{}\" needs at least one hidden layer (model.hidden)", cfg.input);
    }
    if train.n == 0 {
        bail!("{}: the training split is empty", train.name);
    }
    let (train_x, train_y) = matrices(&train, 0)?;
    let (eval_x, eval_y) = matrices(&eval, cfg.eval_limit)?;
    let test = test.map(|t| matrices(&t, 0)).transpose()?;
    Ok(Prepared {
        train_x,
        train_y,
        eval_x,
        eval_y,
        test,
        arch: Architecture {
            hidden_activations: cfg.activations.clone(),
            ..Architecture::new(sizes, cfg.activation, head)
        },
        label: cfg.data.label(),
    })
}

/// The freshly initialised network of a run.
fn network(cfg: &RunConfig, arch: &Architecture) -> Network<f32> {
    let mut net = Network::<f32>::new(arch.clone(), cfg.seed);
    if !cfg.input.first_layer_bias() {
        net.disable_first_bias();
    }
    net
}

/// The batches of one epoch: a seeded permutation of `0..n` cut into runs of `batch`.
pub(crate) struct Order {
    seed: u64,
    epoch: u64,
    pub(crate) perm: Vec<usize>,
}

impl Order {
    pub(crate) fn for_epoch(seed: u64, epoch: u64, n: usize) -> Order {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Stream 0 is left to nothing else; epoch e draws from stream e + 1.
        rng.set_stream(epoch + 1);
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut rng);
        Order { seed, epoch, perm }
    }
}

/// Fills `xb`, `yb` with the batch of step `step` (0-based).
fn gather(
    p: &Prepared,
    seed: u64,
    batch: usize,
    step: u64,
    order: &mut Order,
    xb: &mut Matrix<f32>,
    yb: &mut Matrix<f32>,
) {
    let n = p.train_x.cols();
    let per_epoch = n.div_ceil(batch) as u64;
    let (epoch, b) = (step / per_epoch, (step % per_epoch) as usize);
    if order.epoch != epoch || order.seed != seed || order.perm.len() != n {
        *order = Order::for_epoch(seed, epoch, n);
    }
    let idx = &order.perm[b * batch..((b + 1) * batch).min(n)];
    let (d, k) = (p.train_x.rows(), p.train_y.rows());
    xb.reshape(d, idx.len());
    yb.reshape(k, idx.len());
    for (j, &i) in idx.iter().enumerate() {
        xb.col_mut(j).copy_from_slice(p.train_x.col(i));
        yb.col_mut(j).copy_from_slice(p.train_y.col(i));
    }
}

/// The total steps of a run.
pub fn total_steps(cfg: &RunConfig, n_train: usize) -> u64 {
    match (cfg.steps, cfg.epochs) {
        (Some(s), _) => s,
        (None, Some(e)) => e * n_train.div_ceil(cfg.batch) as u64,
        (None, None) => 20_000,
    }
}

/// sha256 of the resolved config without the step count and output folder, which a resume
/// may change.
pub fn config_hash(cfg: &RunConfig, arch: &Architecture) -> String {
    let mut c = cfg.clone();
    c.out = PathBuf::new();
    let text = c.resolved_toml(&arch.sizes, arch.head, 0);
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Runs (or resumes) the training run of `cfg`.
pub fn train(
    cfg: &RunConfig,
    opts: &TrainOptions,
    obs: &mut dyn Observer,
) -> anyhow::Result<Outcome> {
    let p = prepare(cfg, &opts.data_root)?;
    let dir = cfg.out.clone();
    let total = total_steps(cfg, p.train_x.cols());
    let hash = config_hash(cfg, &p.arch);
    let head = p.arch.head;
    let algo = cfg.algo(head);
    let threads = Threads(cfg.threads);
    let mut net = network(cfg, &p.arch);
    let mut trainer = Trainer::new(&net, algo, cfg.batch, threads);
    let mut progress = Progress::default();
    let metrics_path = dir.join("metrics.csv");

    let found = if opts.resume { checkpoint::latest(&dir)? } else { None };
    let start = match found {
        Some(ck_dir) => {
            let ck = checkpoint::load(&ck_dir, &net, &hash)?;
            net = ck.net;
            trainer.state = ck.rule;
            trainer.step = ck.state.step;
            progress = ck.state.progress;
            truncate_metrics(&metrics_path, ck.state.step)?;
            let _ = fs::remove_file(dir.join("summary.json"));
            tracing::debug!(step = ck.state.step, "resumed from {}", ck_dir.display());
            ck.state.step
        }
        None => {
            if opts.resume {
                tracing::debug!("no checkpoint in {}; starting from step 0", dir.display());
            }
            if dir.join("summary.json").exists() || metrics_path.exists() {
                if !opts.resume {
                    bail!(
                        "{} already holds a run; choose another `out`, delete it, or continue it \
                         with `ilnet train --resume {}`",
                        dir.display(),
                        dir.display()
                    );
                }
                let _ = fs::remove_file(&metrics_path);
                let _ = fs::remove_file(dir.join("summary.json"));
            }
            fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            fs::write(dir.join("config.toml"), cfg.resolved_toml(&p.arch.sizes, head, total))
                .with_context(|| format!("cannot write {}", dir.join("config.toml").display()))?;
            fs::write(&metrics_path, format!("{METRICS_HEADER}\n"))
                .with_context(|| format!("cannot write {}", metrics_path.display()))?;
            0
        }
    };
    if start > 0 {
        // The resumed run may have been asked for more steps.
        fs::write(dir.join("config.toml"), cfg.resolved_toml(&p.arch.sizes, head, total))?;
    }

    let mut metrics = fs::OpenOptions::new()
        .append(true)
        .open(&metrics_path)
        .with_context(|| format!("cannot open {}", metrics_path.display()))?;
    let clock = Instant::now();
    let wall = |progress: &Progress| progress.wall_s + clock.elapsed().as_secs_f64();
    let mut write_row = |row: &MetricsRow, obs: &mut dyn Observer| -> anyhow::Result<()> {
        metrics
            .write_all(row.csv().as_bytes())
            .with_context(|| format!("cannot write {}", metrics_path.display()))?;
        obs.evaluated(row);
        Ok(())
    };
    let evaluate = |net: &Network<f32>| net.evaluate(&p.eval_x, &p.eval_y, 1000, threads);
    let save = |net: &Network<f32>, trainer: &Trainer<f32>, progress: &Progress, step: u64| {
        let mut progress = progress.clone();
        progress.wall_s = wall(&progress);
        let ck = Checkpoint {
            net: net.clone(),
            rule: trainer.state.clone(),
            state: State {
                format: checkpoint::FORMAT,
                step,
                adam_t: trainer.state.t,
                config_hash: hash.clone(),
                progress,
            },
        };
        checkpoint::save(&dir, &ck)
    };

    obs.started(total, start);
    if start == 0 {
        let m = evaluate(&net);
        progress.best_accuracy = m.accuracy;
        progress.last_accuracy = m.accuracy;
        write_row(&empty_row(0, m, wall(&progress)), obs)?;
    }

    let mut order = Order { seed: cfg.seed, epoch: u64::MAX, perm: Vec::new() };
    let mut xb = Matrix::zeros(p.train_x.rows(), cfg.batch);
    let mut yb = Matrix::zeros(p.train_y.rows(), cfg.batch);
    let first_samples = progress.samples;
    let mut status = Status::Finished;
    let mut step = start;
    while step < total {
        if opts.stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
            save(&net, &trainer, &progress, step)?;
            status = Status::Interrupted { step };
            break;
        }
        gather(&p, cfg.seed, cfg.batch, step, &mut order, &mut xb, &mut yb);
        match trainer.step(&mut net, &xb, &yb) {
            Ok(stats) => record(&mut progress, &stats),
            Err(e) => {
                status = Status::Diverged(e);
                break;
            }
        }
        step += 1;
        progress.samples += xb.cols() as u64;
        obs.stepped(step);

        if step % cfg.eval_every == 0 || step == total {
            let m = evaluate(&net);
            if m.accuracy > progress.best_accuracy {
                progress.best_accuracy = m.accuracy;
                progress.best_step = step;
            }
            progress.last_accuracy = m.accuracy;
            let row = interval_row(step, progress.samples, m, &progress, wall(&progress));
            write_row(&row, obs)?;
            progress.interval = Default::default();
            if step % cfg.checkpoint_every == 0 || step == total {
                save(&net, &trainer, &progress, step)?;
            }
        }
    }
    if let Status::Interrupted { .. } = status {
        return Ok(Outcome { status, summary: None, dir });
    }

    let diverged = match &status {
        Status::Diverged(e) => Some(Divergence::from(*e)),
        _ => None,
    };
    let final_test = match (&p.test, &diverged) {
        (Some((x, y)), None) => Some(net.evaluate(x, y, 1000, threads)),
        _ => None,
    };
    let n = progress.norm_count;
    let wall_s = wall(&progress);
    let summary = Summary {
        algo: cfg.algorithm.to_string(),
        lr: cfg.lr(),
        seed: cfg.seed,
        data: p.label.clone(),
        batch: cfg.batch,
        steps: total,
        steps_run: step,
        best_accuracy: progress.best_accuracy,
        best_step: progress.best_step,
        final_accuracy: diverged.is_none().then_some(progress.last_accuracy),
        final_step: step,
        final_test,
        update_norm: NormStats {
            mean: progress.norm_mean,
            std: if n > 1 { (progress.norm_m2 / (n - 1) as f64).sqrt() } else { 0.0 },
            max: progress.norm_max,
        },
        inference_steps_mean: cfg
            .algorithm
            .is_inference()
            .then(|| progress.inference_steps as f64 / n.max(1) as f64),
        diverged,
        wall_s,
        samples_per_s: (progress.samples - first_samples) as f64
            / clock.elapsed().as_secs_f64().max(1e-9),
    };
    let json = serde_json::to_string_pretty(&summary)?;
    let tmp = dir.join(".summary.json.tmp");
    fs::write(&tmp, json).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, dir.join("summary.json"))?;
    Ok(Outcome { status, summary: Some(summary), dir })
}

/// Adds one step's statistics to the run's accumulators.
fn record(p: &mut Progress, s: &StepStats) {
    let i = &mut p.interval;
    i.steps += 1;
    i.loss += s.loss;
    i.norm += s.update.total;
    i.norm_weights += s.update.weights;
    if let (Some(b), Some(a)) = (s.energy_before, s.energy_after) {
        i.energy_before += b;
        i.energy_after += a;
        i.energy_steps += 1;
    }
    p.inference_steps += s.inference_steps.unwrap_or(0) as u64;
    p.norm_count += 1;
    let x = s.update.total;
    let delta = x - p.norm_mean;
    p.norm_mean += delta / p.norm_count as f64;
    p.norm_m2 += delta * (x - p.norm_mean);
    p.norm_max = p.norm_max.max(x);
}

fn empty_row(step: u64, test: Metrics, wall_s: f64) -> MetricsRow {
    MetricsRow {
        step,
        samples: 0,
        train_loss: None,
        test,
        update_norm: None,
        update_norm_weights: None,
        energy_before: None,
        energy_after: None,
        wall_s,
    }
}

fn interval_row(step: u64, samples: u64, test: Metrics, p: &Progress, wall_s: f64) -> MetricsRow {
    let i = &p.interval;
    let mean = |v: f64, n: u64| (n > 0).then(|| v / n as f64);
    MetricsRow {
        step,
        samples,
        train_loss: mean(i.loss, i.steps),
        test,
        update_norm: mean(i.norm, i.steps),
        update_norm_weights: mean(i.norm_weights, i.steps),
        energy_before: mean(i.energy_before, i.energy_steps),
        energy_after: mean(i.energy_after, i.energy_steps),
        wall_s,
    }
}

/// Drops the rows of `metrics.csv` after `step` (written after the checkpoint a run
/// resumes from).
fn truncate_metrics(path: &Path, step: u64) -> anyhow::Result<()> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut kept = String::new();
    for (i, line) in text.lines().enumerate() {
        let keep = i == 0
            || line
                .split(',')
                .next()
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|s| s <= step);
        if keep {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    fs::write(path, kept).with_context(|| format!("cannot write {}", path.display()))
}

/// Evaluates the latest checkpoint of a run folder on its test split.
pub fn eval(run_dir: &Path, data_root: &Path) -> anyhow::Result<Metrics> {
    let cfg_path = run_dir.join("config.toml");
    let raw = crate::config::RawConfig::from_file(&cfg_path)?;
    let cfg = raw.check().with_context(|| format!("{}", cfg_path.display()))?;
    let p = prepare(&cfg, data_root)?;
    let ck_dir = checkpoint::latest(run_dir)?
        .with_context(|| format!("{} has no checkpoint yet", run_dir.display()))?;
    let template = network(&cfg, &p.arch);
    let ck = checkpoint::load(&ck_dir, &template, &config_hash(&cfg, &p.arch))?;
    let (x, y) = p.test.as_ref().map_or((&p.eval_x, &p.eval_y), |(x, y)| (x, y));
    Ok(ck.net.evaluate(x, y, 1000, Threads(cfg.threads)))
}
