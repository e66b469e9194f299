//! Sweeps: the cross product of algorithms, learning rates, seeds and data sets over a base
//! config, run in parallel, resumable and shardable.
//!
//! ```toml
//! out = "experiments/stability/runs"
//! algos = ["bp-sgd", "il-sgd", "il-prox", "bp-prox"]
//! lrs = [0.01, 0.1, 1, 2.5, 10, 100]     # α for the prox family
//! seeds = [0, 1, 2]
//! data = ["mnist"]
//!
//! [base]                                 # a run config, as for `ilnet train`
//! train = { batch = 1, steps = 20000, eval_every = 250 }
//!
//! [per_algo.il-prox]                     # optional, per algorithm
//! lrs = [5.0]                            # replaces the sweep's learning rates
//! config = { algo = { eps = 0.25 } }     # merged over the base config
//! ```
//!
//! Every job is one run folder, `out/<data>/<algo>/lr<lr>/seed<seed>`. A job whose folder
//! holds `summary.json` is finished (a diverged run too: divergence is a result) and is
//! skipped; a job with a checkpoint but no summary resumes from it. So a killed sweep, run
//! again, loses at most the steps since the last checkpoints of the jobs in flight.
//!
//! Jobs are numbered in the order data, algorithm, learning rate, seed; with `--shard I/N`
//! a process runs the jobs whose number is `I mod N`. The shard defaults to
//! `SLURM_ARRAY_TASK_ID` / `SLURM_ARRAY_TASK_COUNT`, so one job array spreads a sweep over
//! machines that share the output folder; task ids may run from 0 or from 1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::algo::Algorithm;
use crate::config::RawConfig;
use crate::run::{self, Status, TrainOptions};

/// The sweep file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// Where the run folders go.
    pub out: PathBuf,
    pub algos: Vec<Algorithm>,
    /// Learning rates for every algorithm without its own list.
    #[serde(default)]
    pub lrs: Vec<f64>,
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    #[serde(default = "default_data")]
    pub data: Vec<String>,
    /// The run config every job starts from.
    #[serde(default)]
    pub base: toml::Table,
    #[serde(default)]
    pub per_algo: BTreeMap<String, PerAlgo>,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}

fn default_data() -> Vec<String> {
    vec!["digits".into()]
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerAlgo {
    pub lrs: Option<Vec<f64>>,
    #[serde(default)]
    pub config: toml::Table,
}

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub index: usize,
    pub data: String,
    pub algo: Algorithm,
    pub lr: f64,
    pub seed: u64,
    pub dir: PathBuf,
    pub config: RawConfig,
}

/// Which jobs this process runs: those numbered `index mod count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N`.
    pub fn parse(s: &str) -> anyhow::Result<Shard> {
        let (i, n) = s.split_once('/').with_context(|| format!("shard {s:?}: expected I/N"))?;
        let index: usize =
            i.trim().parse().with_context(|| format!("shard {s:?}: I is not a number"))?;
        let count: usize =
            n.trim().parse().with_context(|| format!("shard {s:?}: N is not a number"))?;
        if count == 0 || index > count {
            bail!("shard {s:?}: expected 0 <= I <= N and N > 0");
        }
        Ok(Shard { index: index % count, count })
    }

    /// The shard of a Slurm job array, when the variables are set.
    pub fn from_slurm() -> anyhow::Result<Option<Shard>> {
        let id = std::env::var("SLURM_ARRAY_TASK_ID").ok();
        let count = std::env::var("SLURM_ARRAY_TASK_COUNT").ok();
        match (id, count) {
            (Some(i), Some(n)) => Shard::parse(&format!("{i}/{n}")).map(Some),
            _ => Ok(None),
        }
    }

    pub fn owns(&self, job: usize) -> bool {
        job % self.count == self.index
    }
}

/// Recursively merges `over` into `base`: tables merge key by key, other values replace.
fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn table(pairs: &[(&str, toml::Value)]) -> toml::Table {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Reads a sweep file; errors name the file and the key.
pub fn read(path: &Path) -> anyhow::Result<SweepFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut sweep: SweepFile = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim()))?;
    if sweep.out.is_relative() {
        // Relative to the working directory, like every other path a user types.
        sweep.out = std::env::current_dir()?.join(&sweep.out);
    }
    Ok(sweep)
}

impl SweepFile {
    /// Every job, numbered; each config checked before anything runs.
    pub fn jobs(&self) -> anyhow::Result<Vec<Job>> {
        if self.algos.is_empty() {
            bail!("algos: expected at least one algorithm");
        }
        for name in self.per_algo.keys() {
            let a: Algorithm =
                name.parse().map_err(|e: String| anyhow::anyhow!("per_algo.{name}: {e}"))?;
            if !self.algos.contains(&a) {
                bail!("per_algo.{name}: {name} is not in algos");
            }
        }
        let mut jobs = Vec::new();
        for data in &self.data {
            for &algo in &self.algos {
                let per = self.per_algo.get(algo.name()).cloned().unwrap_or_default();
                let lrs = per.lrs.clone().unwrap_or_else(|| self.lrs.clone());
                let lrs = if lrs.is_empty() { vec![algo.default_lr()] } else { lrs };
                for &lr in &lrs {
                    for &seed in &self.seeds {
                        let dir = self
                            .out
                            .join(data)
                            .join(algo.name())
                            .join(format!("lr{lr}"))
                            .join(format!("seed{seed}"));
                        let mut t = self.base.clone();
                        merge(&mut t, &per.config);
                        merge(
                            &mut t,
                            &table(&[
                                ("seed", toml::Value::Integer(seed as i64)),
                                ("out", toml::Value::String(dir.to_string_lossy().into_owned())),
                                (
                                    "data",
                                    toml::Value::Table(table(&[(
                                        "name",
                                        toml::Value::String(data.clone()),
                                    )])),
                                ),
                                (
                                    "algo",
                                    toml::Value::Table(table(&[
                                        ("name", toml::Value::String(algo.name().into())),
                                        ("lr", toml::Value::Float(lr)),
                                    ])),
                                ),
                            ]),
                        );
                        let config: RawConfig =
                            toml::Value::Table(t).try_into().map_err(|e: toml::de::Error| {
                                anyhow::anyhow!("base config for {algo}: {}", e.to_string().trim())
                            })?;
                        config
                            .check()
                            .with_context(|| format!("{data} {algo} lr {lr} seed {seed}"))?;
                        jobs.push(Job {
                            index: jobs.len(),
                            data: data.clone(),
                            algo,
                            lr,
                            seed,
                            dir,
                            config,
                        });
                    }
                }
            }
        }
        Ok(jobs)
    }
}

/// What happened to the jobs of one sweep invocation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepSummary {
    pub total: usize,
    pub skipped: usize,
    pub finished: usize,
    pub diverged: usize,
    pub failed: Vec<(PathBuf, String)>,
    /// Jobs of other shards, not run here.
    pub elsewhere: usize,
}

/// Runs this shard's jobs, `parallel` at a time, each single-threaded. `say` receives one
/// line per job as it ends.
pub fn run(
    jobs: &[Job],
    shard: Shard,
    parallel: usize,
    data_root: &Path,
    say: &(dyn Fn(String) + Sync),
) -> SweepSummary {
    let mine: Vec<&Job> = jobs.iter().filter(|j| shard.owns(j.index)).collect();
    let summary = Mutex::new(SweepSummary {
        total: jobs.len(),
        elsewhere: jobs.len() - mine.len(),
        ..Default::default()
    });
    let todo: Vec<&Job> = mine
        .into_iter()
        .filter(|j| {
            let done = j.dir.join("summary.json").exists();
            if done {
                summary.lock().expect("no panics hold the lock").skipped += 1;
            }
            !done
        })
        .collect();
    let next = AtomicUsize::new(0);
    let n_todo = todo.len();
    std::thread::scope(|s| {
        for _ in 0..parallel.max(1).min(n_todo.max(1)) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = todo.get(k) else { break };
                    let started = Instant::now();
                    let result = run_job(job, data_root);
                    let mut sum = summary.lock().expect("no panics hold the lock");
                    let what = format!("{} {} lr {} seed {}", job.data, job.algo, job.lr, job.seed);
                    let line = match result {
                        Ok(Status::Finished) => {
                            sum.finished += 1;
                            format!("done     {what} ({:.0} s)", started.elapsed().as_secs_f64())
                        }
                        Ok(Status::Diverged(e)) => {
                            sum.diverged += 1;
                            format!("diverged {what}: {e}")
                        }
                        Ok(Status::Interrupted { step }) => {
                            format!("stopped  {what} at step {step}")
                        }
                        Err(e) => {
                            sum.failed.push((job.dir.clone(), format!("{e:#}")));
                            format!("failed   {what}: {e:#}")
                        }
                    };
                    let done = sum.finished + sum.diverged + sum.failed.len();
                    drop(sum);
                    say(format!("[{done}/{n_todo}] {line}"));
                }
            });
        }
    });
    summary.into_inner().expect("no panics hold the lock")
}

fn run_job(job: &Job, data_root: &Path) -> anyhow::Result<Status> {
    let mut raw = job.config.clone();
    raw.train.threads = Some(1);
    let cfg = raw.check()?;
    let resume = crate::checkpoint::latest(&job.dir).ok().flatten().is_some();
    if !resume && job.dir.exists() {
        // A job that died before its first checkpoint starts over.
        std::fs::remove_dir_all(&job.dir)
            .with_context(|| format!("cannot clear {}", job.dir.display()))?;
    }
    let opts = TrainOptions { data_root: data_root.to_path_buf(), resume, stop: None };
    Ok(run::train(&cfg, &opts, &mut run::Silent)?.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-algorithm learning rates and config fragments override the sweep's, jobs are
    /// numbered in a fixed order, and shards partition them.
    #[test]
    fn jobs_and_shards() {
        let text = r#"
            out = "/tmp/x"
            algos = ["bp-sgd", "il-prox"]
            lrs = [0.1, 1.0]
            seeds = [0, 1, 2]
            [base.train]
            steps = 10
            [per_algo.il-prox]
            lrs = [5.0]
            config = { algo = { eps = 0.5 } }
        "#;
        let sweep: SweepFile = toml::from_str(text).unwrap();
        let jobs = sweep.jobs().unwrap();
        assert_eq!(jobs.len(), 2 * 3 + 3);
        assert_eq!(jobs[6].algo, Algorithm::IlProx);
        assert_eq!(jobs[6].config.algo.hyper.eps, Some(0.5));
        assert_eq!(jobs[0].config.algo.hyper.eps, None);
        assert_eq!(jobs[8].config.train.steps, Some(10));
        assert_eq!(jobs[8].dir, PathBuf::from("/tmp/x/digits/il-prox/lr5/seed2"));
        let shards: Vec<Shard> = (0..4).map(|i| Shard { index: i, count: 4 }).collect();
        for j in &jobs {
            assert_eq!(shards.iter().filter(|s| s.owns(j.index)).count(), 1);
        }
        assert_eq!(Shard::parse("4/4").unwrap(), Shard { index: 0, count: 4 });
        assert!(Shard::parse("5/4").is_err() && Shard::parse("1-4").is_err());
    }

    /// Typos in a sweep file or its base config are errors naming the key.
    #[test]
    fn rejects_unknown_keys() {
        let e = toml::from_str::<SweepFile>("out = \"x\"\nalgos = [\"bp-sgd\"]\nseed = [1]")
            .unwrap_err();
        assert!(e.to_string().contains("seed"), "{e}");
        let sweep: SweepFile =
            toml::from_str("out = \"x\"\nalgos = [\"bp-sgd\"]\n[base.train]\nstep = 3").unwrap();
        let e = sweep.jobs().unwrap_err();
        assert!(format!("{e:#}").contains("step"), "{e:#}");
        let sweep: SweepFile =
            toml::from_str("out = \"x\"\nalgos = [\"bp-sgd\"]\n[per_algo.il-prox]\nlrs = [1.0]")
                .unwrap();
        assert!(format!("{:#}", sweep.jobs().unwrap_err()).contains("not in algos"));
    }
}
