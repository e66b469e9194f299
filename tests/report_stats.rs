//! The report's statistics against values computed by hand on small synthetic sweeps.

mod report_support;

use std::fs;
use std::path::{Path, PathBuf};

use ilnet::report::stats::SettingStats;
use ilnet::report::{ReportError, SweepStats, load_runs, sweep_stats, write_report};
use report_support::FakeRun;

/// Exact decimal inputs still pick up rounding in mean and std.
const TOL: f64 = 1e-12;

fn stats_of(root: &Path) -> SweepStats {
    let loaded = load_runs(&[root.to_path_buf()]).unwrap();
    sweep_stats(&loaded.runs).unwrap()
}

fn setting<'a>(stats: &'a SweepStats, algo: &str, lr: f64) -> &'a SettingStats {
    stats.settings.iter().find(|s| s.algo == algo && s.lr == lr).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < TOL
}

/// Three seeds whose curves peak at 0.7, 0.8 and 0.9: the max-accuracy statistic is the
/// mean 0.8 and the sample std sqrt(((-0.1)² + 0² + 0.1²) / 2) = 0.1, not the population
/// std 0.0816. The final accuracies 0.6, 0.7, 0.8 give the same mean-minus-0.1 pattern.
#[test]
fn max_accuracy_is_mean_and_sample_std_of_per_run_maxima() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, peak) in [(0, 0.7), (1, 0.8), (2, 0.9)] {
        let curve = vec![(0, 0.1), (50, peak), (100, peak - 0.1)];
        FakeRun::new("il-prox", 5.0, seed, curve).write(dir.path());
    }
    let stats = stats_of(dir.path());
    let s = setting(&stats, "il-prox", 5.0);
    let max = s.max_accuracy.unwrap();
    assert_eq!((max.n, s.n_seeds()), (3, 3));
    assert!(close(max.mean, 0.8), "mean {}", max.mean);
    assert!(close(max.std, 0.1), "std {}", max.std);
    assert!(close(s.final_accuracy.mean, 0.7) && close(s.final_accuracy.std, 0.1));
    assert_eq!(s.seeds, vec![0, 1, 2]);
}

/// A single seed has std 0 (the n - 1 divisor would divide by zero).
#[test]
fn one_seed_has_zero_std() {
    let dir = tempfile::tempdir().unwrap();
    FakeRun::new("bp-sgd", 0.1, 7, vec![(0, 0.1), (50, 0.6)]).write(dir.path());
    let stats = stats_of(dir.path());
    let s = setting(&stats, "bp-sgd", 0.1);
    assert_eq!(s.max_accuracy.unwrap().std, 0.0);
    assert_eq!(s.final_accuracy.std, 0.0);
}

/// The convergence step is the argmax of the seed-mean curve, which need not be any
/// seed's own best step: seed 0 peaks at 50, seed 1 at 150, and the mean curve
/// (0.1, 0.55, 0.6, 0.65) peaks at 150; ties go to the earlier step.
#[test]
fn convergence_step_is_argmax_of_the_seed_mean_curve() {
    let dir = tempfile::tempdir().unwrap();
    let a = vec![(0, 0.1), (50, 0.8), (100, 0.6), (150, 0.5)];
    let b = vec![(0, 0.1), (50, 0.3), (100, 0.6), (150, 0.8)];
    FakeRun::new("il-sgd", 0.05, 0, a).write(dir.path());
    FakeRun::new("il-sgd", 0.05, 1, b).write(dir.path());
    let tie = vec![(0, 0.2), (50, 0.9), (100, 0.9)];
    FakeRun::new("bp-sgd", 0.05, 0, tie).write(dir.path());

    let stats = stats_of(dir.path());
    let s = setting(&stats, "il-sgd", 0.05);
    assert_eq!(s.convergence_step, Some(150));
    let means: Vec<f64> = s.accuracy_curve.iter().map(|p| p.mean).collect();
    for (got, want) in means.iter().zip([0.1, 0.55, 0.6, 0.65]) {
        assert!(close(*got, want), "mean curve {means:?}");
    }
    assert_eq!(setting(&stats, "bp-sgd", 0.05).convergence_step, Some(50));
}

/// The chosen lr is the one with the highest seed-mean final accuracy, where a diverged
/// run counts as 0 whatever its summary says: lr 1 has finals (0.95, diverged) = 0.475
/// < lr 0.1's (0.80, 0.82) = 0.81, although counting the diverged run's reported 0.95
/// would pick lr 1. lr 10 with both seeds diverged counts 2 diverged.
#[test]
fn chosen_lr_counts_diverged_runs_as_zero() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, fin) in [(0, 0.80), (1, 0.82)] {
        FakeRun::new("bp-sgd", 0.1, seed, vec![(0, 0.1), (50, fin)]).write(dir.path());
    }
    FakeRun::new("bp-sgd", 1.0, 0, vec![(0, 0.1), (50, 0.95)]).write(dir.path());
    let mut diverged = FakeRun::new("bp-sgd", 1.0, 1, vec![(0, 0.1), (50, 0.97)]);
    diverged.final_accuracy = 0.95;
    diverged.diverged_at = Some(60);
    diverged.write(dir.path());
    for seed in 0..2 {
        let mut run = FakeRun::new("bp-sgd", 10.0, seed, vec![(0, 0.1)]);
        run.diverged_at = Some(3);
        run.write(dir.path());
    }

    let stats = stats_of(dir.path());
    let at = |lr| setting(&stats, "bp-sgd", lr);
    assert!(close(at(1.0).final_accuracy.mean, 0.475));
    assert!(close(at(0.1).final_accuracy.mean, 0.81));
    assert_eq!((at(0.1).diverged, at(1.0).diverged, at(10.0).diverged), (0, 1, 2));
    // A diverged run keeps the best accuracy it reached before diverging.
    assert!(close(at(1.0).max_accuracy.unwrap().mean, 0.96));

    assert_eq!(stats.chosen.len(), 1);
    let chosen = &stats.chosen[0];
    assert_eq!((stats.settings[chosen.setting].lr, chosen.n_lrs), (0.1, 3));
}

/// Equal seed-mean final accuracies pick the smaller lr.
#[test]
fn chosen_lr_ties_go_to_the_smaller_lr() {
    let dir = tempfile::tempdir().unwrap();
    for lr in [2.5, 0.5, 10.0] {
        FakeRun::new("il-prox", lr, 0, vec![(0, 0.1), (50, 0.9)]).write(dir.path());
    }
    let stats = stats_of(dir.path());
    assert_eq!(stats.settings[stats.chosen[0].setting].lr, 0.5);
}

/// A diverged seed that stops early: later steps are averaged over the seeds that have
/// them, and NaN cells never enter a mean.
#[test]
fn ragged_curves_aggregate_over_the_seeds_present() {
    let dir = tempfile::tempdir().unwrap();
    FakeRun::new("il-sgd", 1.0, 0, vec![(0, 0.1), (50, 0.5), (100, 0.7), (150, 0.8)])
        .write(dir.path());
    let mut short = FakeRun::new("il-sgd", 1.0, 1, vec![(0, 0.3), (50, 0.7)]);
    short.diverged_at = Some(70);
    let short_dir = short.write(dir.path());
    // The diverged run wrote one more row with non-finite cells.
    let metrics = short_dir.join("metrics.csv");
    let mut text = fs::read_to_string(&metrics).unwrap();
    text.push_str("100,100,NaN,NaN,inf,NaN,inf,inf,,,1.0\n");
    fs::write(&metrics, text).unwrap();

    let stats = stats_of(dir.path());
    let s = setting(&stats, "il-sgd", 1.0);
    let points: Vec<(u64, usize)> = s.accuracy_curve.iter().map(|p| (p.step, p.n)).collect();
    assert_eq!(points, vec![(0, 2), (50, 2), (100, 1), (150, 1)]);
    assert!(close(s.accuracy_curve[0].mean, 0.2));
    assert!(close(s.accuracy_curve[1].mean, 0.6));
    // (0.5, 0.7): sample std sqrt((0.1² + 0.1²) / 1).
    assert!(close(s.accuracy_curve[1].std, 0.02f64.sqrt()));
    assert!(close(s.accuracy_curve[2].mean, 0.7) && s.accuracy_curve[2].std == 0.0);
    // The loss curve drops the inf at step 100 the same way.
    let loss_100 = s.loss_curve.iter().find(|p| p.step == 100).unwrap();
    assert_eq!(loss_100.n, 1);
    assert_eq!(s.convergence_step, Some(150));
}

/// The search descends into sweep folders, skips runs without summary.json (still
/// running) and reads a folder given twice only once.
#[test]
fn search_finds_nested_runs_and_skips_unfinished_ones() {
    let dir = tempfile::tempdir().unwrap();
    let done = FakeRun::new("il-prox", 1.0, 0, vec![(0, 0.1), (50, 0.5)]).write(dir.path());
    let running = FakeRun::new("il-prox", 1.0, 1, vec![(0, 0.1)]).write(dir.path());
    fs::remove_file(running.join("summary.json")).unwrap();

    let loaded = load_runs(&[dir.path().to_path_buf(), done.clone()]).unwrap();
    assert_eq!(loaded.runs.len(), 1);
    assert_eq!(loaded.runs[0].dir, done);
    assert_eq!(loaded.skipped, vec![running]);
}

/// Two folders holding the same seed of one setting are refused, naming both.
#[test]
fn rejects_duplicate_seeds() {
    let dir = tempfile::tempdir().unwrap();
    FakeRun::new("bp-sgd", 0.1, 0, vec![(0, 0.1)]).write(&dir.path().join("a"));
    FakeRun::new("bp-sgd", 0.1, 0, vec![(0, 0.1)]).write(&dir.path().join("b"));
    let loaded = load_runs(&[dir.path().to_path_buf()]).unwrap();
    let err = sweep_stats(&loaded.runs).unwrap_err();
    assert!(matches!(err, ReportError::DuplicateSeed { seed: 0, .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("/a/") && msg.contains("/b/"), "{msg}");
}

/// An empty folder is an error that says what was expected.
#[test]
fn rejects_folders_without_runs() {
    let dir = tempfile::tempdir().unwrap();
    let err = write_report(&[dir.path().to_path_buf()], &dir.path().join("out")).unwrap_err();
    assert!(matches!(err, ReportError::NoRuns { .. }), "{err}");
    assert!(err.to_string().contains("summary.json"), "{err}");
    let missing = dir.path().join("nope");
    let err = write_report(&[missing], &dir.path().join("out")).unwrap_err();
    assert!(matches!(err, ReportError::RunDir { .. }), "{err}");
}

/// The written tables carry the same numbers: the CSV keeps full precision, the
/// Markdown shows mean ± std, and every listed file exists.
#[test]
fn report_files_carry_the_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    for (seed, peak) in [(0, 0.7), (1, 0.8), (2, 0.9)] {
        FakeRun::new("il-prox", 5.0, seed, vec![(0, 0.1), (50, peak)]).write(&runs);
    }
    let out = dir.path().join("report");
    let index = write_report(&[runs], &out).unwrap();
    assert_eq!(index.n_runs, 3);
    for file in &index.files {
        assert!(file.is_file(), "{} listed but missing", file.display());
    }
    let names: Vec<PathBuf> =
        index.files.iter().map(|f| f.strip_prefix(&out).unwrap().into()).collect();
    for want in ["tables.md", "table_settings.csv", "table_chosen.csv", "index.html"] {
        assert!(names.contains(&PathBuf::from(want)), "{want} not in {names:?}");
    }
    for stem in ["stability_mnist", "accuracy_mnist", "accuracy_mnist_first2000", "loss_mnist"] {
        for ext in ["svg", "png"] {
            assert!(names.contains(&PathBuf::from(format!("{stem}.{ext}"))), "{stem}.{ext}");
        }
    }

    let mut reader = csv::Reader::from_path(out.join("table_settings.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let get = |name: &str| row.get(header.iter().position(|h| h == name).unwrap()).unwrap();
    assert_eq!((get("algo"), get("lr"), get("n_seeds")), ("il-prox", "5", "3"));
    assert!(close(get("max_accuracy_mean").parse().unwrap(), 0.8));
    assert!(close(get("max_accuracy_std").parse().unwrap(), 0.1));
    assert_eq!(get("convergence_step"), "50");

    let md = fs::read_to_string(out.join("tables.md")).unwrap();
    assert!(md.contains("| mnist | il-prox | 5 | 3 | 0.8000 ± 0.1000 |"), "{md}");
    let png = fs::read(out.join("stability_mnist.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

/// A sweep where everything went wrong still gives a report, not a panic: one lr, every
/// seed diverged at once with `final_accuracy: null` and NaN/inf cells after step 0.
#[test]
fn all_diverged_single_lr_still_reports() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    for seed in 0..2 {
        let mut run = FakeRun::new("il-sgd", 100.0, seed, vec![(0, 0.1)]);
        run.diverged_at = Some(1);
        let run_dir = run.write(&runs);
        let summary = run_dir.join("summary.json");
        let text = fs::read_to_string(&summary).unwrap();
        let text = text.replace("\"final_accuracy\": 0.1", "\"final_accuracy\": null");
        fs::write(&summary, text).unwrap();
        let metrics = run_dir.join("metrics.csv");
        let mut text = fs::read_to_string(&metrics).unwrap();
        text.push_str("50,50,NaN,NaN,NaN,NaN,inf,inf,,,0.1\n");
        fs::write(&metrics, text).unwrap();
    }
    let index = write_report(std::slice::from_ref(&runs), &dir.path().join("out")).unwrap();
    assert!(index.html.is_file());
    let stats = stats_of(&runs);
    let s = setting(&stats, "il-sgd", 100.0);
    assert_eq!((s.diverged, s.final_accuracy.mean), (2, 0.0));
    assert_eq!(s.convergence_step, Some(0));
}
