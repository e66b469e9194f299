//! The statistics of a sweep: runs grouped by setting, seeds as replicates.
//!
//! Terms, following the paper's reporting (Alonso et al. 2022, section on experiments):
//! - a *setting* is one `(data, algo, lr)`; its runs differ only in the seed;
//! - *max accuracy* of a run is the highest finite test accuracy in its `metrics.csv`
//!   (`best_accuracy` of the summary when the curve has none); a diverged run keeps the best
//!   it reached before diverging;
//! - *final accuracy* of a run is the summary's `final_accuracy`, except that **a diverged
//!   run counts as 0**: after divergence the network's outputs are not finite, and whatever
//!   accuracy an argmax over NaN gives is not a property of the algorithm;
//! - the *convergence step* is the step where the seed-mean accuracy curve peaks (the
//!   earliest such step on ties);
//! - the *chosen learning rate* of `(data, algo)` is the lr with the highest seed-mean final
//!   accuracy (the smaller lr on ties);
//! - std is the sample standard deviation (divisor n - 1); with one seed it is 0.
//!
//! Curves of different seeds may have different lengths (a diverged run stops early) and
//! may hold NaN after divergence: each step is averaged over the seeds that have a finite
//! value at that step, and the count is kept with the point.

use std::collections::BTreeMap;

use super::ReportError;
use super::runs::{MetricsRow, Run};

/// Mean and sample standard deviation of some values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanStd {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divisor n - 1); 0 when n is 1.
    pub std: f64,
    /// How many values went in.
    pub n: usize,
}

impl MeanStd {
    /// Mean and sample std of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<MeanStd> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = if n == 1 {
            0.0
        } else {
            let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (ss / (n - 1) as f64).sqrt()
        };
        Some(MeanStd { mean, std, n })
    }
}

/// One step of a seed-aggregated curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Training step.
    pub step: u64,
    /// Mean over the seeds with a finite value at this step.
    pub mean: f64,
    /// Sample std over the same seeds (0 for one seed).
    pub std: f64,
    /// How many seeds had a finite value at this step.
    pub n: usize,
}

/// Aggregates per-seed `(step, value)` series step by step over the seeds that have a
/// finite value there. Points come out sorted by step.
pub fn aggregate_curves(series: &[Vec<(u64, f64)>]) -> Vec<CurvePoint> {
    let mut by_step: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for seed in series {
        for &(step, value) in seed {
            if value.is_finite() {
                by_step.entry(step).or_default().push(value);
            }
        }
    }
    by_step
        .into_iter()
        .filter_map(|(step, values)| {
            MeanStd::of(&values).map(|m| CurvePoint { step, mean: m.mean, std: m.std, n: m.n })
        })
        .collect()
}

/// The statistics of one setting `(data, algo, lr)` over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingStats {
    /// Data set.
    pub data: String,
    /// Algorithm.
    pub algo: String,
    /// Learning rate (α for the prox algorithms).
    pub lr: f64,
    /// The seeds, ascending.
    pub seeds: Vec<u64>,
    /// Over seeds, each run's maximum test accuracy; `None` if no run has one.
    pub max_accuracy: Option<MeanStd>,
    /// Over seeds, each run's final accuracy, diverged runs counted as 0.
    pub final_accuracy: MeanStd,
    /// Step where the seed-mean accuracy curve peaks; `None` without accuracy rows.
    pub convergence_step: Option<u64>,
    /// Seed mean of the runs' mean update norms.
    pub update_norm_mean: Option<f64>,
    /// Seed mean of the runs' update-norm standard deviations.
    pub update_norm_std: Option<f64>,
    /// Seed mean of the runs' largest update norms.
    pub update_norm_max: Option<f64>,
    /// How many of the seeds diverged.
    pub diverged: usize,
    /// Test accuracy against step, aggregated over seeds.
    pub accuracy_curve: Vec<CurvePoint>,
    /// Test loss against step, aggregated over seeds.
    pub loss_curve: Vec<CurvePoint>,
}

impl SettingStats {
    /// How many seeds the setting has.
    pub fn n_seeds(&self) -> usize {
        self.seeds.len()
    }
}

/// The learning rate chosen for one `(data, algo)`: the index into
/// [`SweepStats::settings`] of its best setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    /// Data set.
    pub data: String,
    /// Algorithm.
    pub algo: String,
    /// Index of the chosen setting in [`SweepStats::settings`].
    pub setting: usize,
    /// How many learning rates were compared.
    pub n_lrs: usize,
}

/// Everything the tables and plots are drawn from.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepStats {
    /// One entry per setting, sorted by data, algo, then lr ascending.
    pub settings: Vec<SettingStats>,
    /// One entry per `(data, algo)`, sorted by data then algo.
    pub chosen: Vec<Chosen>,
}

impl SweepStats {
    /// The data sets, sorted.
    pub fn data_sets(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.settings.iter().map(|s| s.data.as_str()).collect();
        names.dedup();
        names
    }

    /// The algorithms over all data sets, sorted.
    pub fn algos(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.settings.iter().map(|s| s.algo.as_str()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The chosen setting of each algorithm on `data`.
    pub fn chosen_for<'a>(&'a self, data: &'a str) -> impl Iterator<Item = &'a SettingStats> {
        self.chosen.iter().filter(move |c| c.data == data).map(|c| &self.settings[c.setting])
    }
}

/// A run's maximum finite test accuracy, from its curve or else its summary.
pub fn max_accuracy(run: &Run) -> Option<f64> {
    let best = run
        .metrics
        .iter()
        .filter_map(|r| r.test_accuracy)
        .filter(|a| a.is_finite())
        .fold(None, |best: Option<f64>, a| Some(best.map_or(a, |b| b.max(a))));
    best.or(run.summary.best_accuracy)
}

/// A run's final accuracy, 0 for a diverged run (see the module docs).
pub fn final_accuracy(run: &Run) -> f64 {
    if run.diverged() { 0.0 } else { run.summary.final_accuracy.unwrap_or(0.0) }
}

/// Groups runs by setting and computes every statistic of the report.
///
/// Fails when two runs are the same seed of the same setting.
pub fn sweep_stats(runs: &[Run]) -> Result<SweepStats, ReportError> {
    let mut groups: BTreeMap<(String, String, u64), Vec<&Run>> = BTreeMap::new();
    for run in runs {
        let s = &run.summary;
        // Positive finite floats order like their bit patterns, so the key sorts by lr.
        let key = (s.data.clone(), s.algo.clone(), s.lr.to_bits());
        let group = groups.entry(key).or_default();
        if let Some(other) = group.iter().find(|r| r.summary.seed == s.seed) {
            return Err(ReportError::DuplicateSeed {
                data: s.data.clone(),
                algo: s.algo.clone(),
                lr: s.lr,
                seed: s.seed,
                first: other.dir.clone(),
                second: run.dir.clone(),
            });
        }
        group.push(run);
    }

    let settings: Vec<SettingStats> = groups.into_values().map(|g| setting_stats(&g)).collect();
    let chosen = choose_lrs(&settings);
    Ok(SweepStats { settings, chosen })
}

fn setting_stats(group: &[&Run]) -> SettingStats {
    let mut group = group.to_vec();
    group.sort_by_key(|r| r.summary.seed);
    let first = &group[0].summary;

    let maxima: Vec<f64> = group.iter().filter_map(|r| max_accuracy(r)).collect();
    let finals: Vec<f64> = group.iter().map(|r| final_accuracy(r)).collect();
    let accuracy: Vec<_> = group.iter().map(|r| r.series(|m| m.test_accuracy)).collect();
    let loss: Vec<_> = group.iter().map(|r| r.series(|m: &MetricsRow| m.test_loss)).collect();
    let accuracy_curve = aggregate_curves(&accuracy);
    let seed_mean = |f: fn(&Run) -> Option<f64>| {
        let values: Vec<f64> =
            group.iter().filter_map(|r| f(r)).filter(|v| v.is_finite()).collect();
        MeanStd::of(&values).map(|m| m.mean)
    };

    SettingStats {
        data: first.data.clone(),
        algo: first.algo.clone(),
        lr: first.lr,
        seeds: group.iter().map(|r| r.summary.seed).collect(),
        max_accuracy: MeanStd::of(&maxima),
        final_accuracy: MeanStd::of(&finals).unwrap_or(MeanStd { mean: 0.0, std: 0.0, n: 0 }),
        convergence_step: peak_step(&accuracy_curve),
        update_norm_mean: seed_mean(|r| r.summary.update_norm.mean),
        update_norm_std: seed_mean(|r| r.summary.update_norm.std),
        update_norm_max: seed_mean(|r| r.summary.update_norm.max),
        diverged: group.iter().filter(|r| r.diverged()).count(),
        accuracy_curve,
        loss_curve: aggregate_curves(&loss),
    }
}

/// The earliest step with the highest mean.
fn peak_step(curve: &[CurvePoint]) -> Option<u64> {
    let mut best: Option<&CurvePoint> = None;
    for p in curve {
        if best.is_none_or(|b| p.mean > b.mean) {
            best = Some(p);
        }
    }
    best.map(|p| p.step)
}

/// Settings are sorted by data, algo, lr, so each `(data, algo)` is a contiguous run of
/// ascending lrs; strict `>` keeps the smaller lr on ties.
fn choose_lrs(settings: &[SettingStats]) -> Vec<Chosen> {
    let mut chosen: Vec<Chosen> = Vec::new();
    for (i, s) in settings.iter().enumerate() {
        match chosen.last_mut() {
            Some(c) if c.data == s.data && c.algo == s.algo => {
                c.n_lrs += 1;
                if s.final_accuracy.mean > settings[c.setting].final_accuracy.mean {
                    c.setting = i;
                }
            }
            _ => chosen.push(Chosen {
                data: s.data.clone(),
                algo: s.algo.clone(),
                setting: i,
                n_lrs: 1,
            }),
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample std, hand-computed: values 1, 2, 3, 4 have mean 2.5 and
    /// sum of squares 5, so std = sqrt(5/3).
    #[test]
    fn sample_std_uses_n_minus_one() {
        let m = MeanStd::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(m.mean, 2.5);
        assert!((m.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(MeanStd::of(&[0.7]).unwrap().std, 0.0);
        assert!(MeanStd::of(&[]).is_none());
    }

    /// A seed that stops early or holds NaN does not drag later points: each step is
    /// averaged over the seeds with a finite value there.
    #[test]
    fn ragged_curves_average_over_present_seeds() {
        let a = vec![(0, 0.1), (50, 0.5), (100, 0.7)];
        let b = vec![(0, 0.3), (50, f64::NAN)];
        let curve = aggregate_curves(&[a, b]);
        assert_eq!(curve.len(), 3);
        assert_eq!((curve[0].step, curve[0].n), (0, 2));
        assert!((curve[0].mean - 0.2).abs() < 1e-15);
        assert_eq!((curve[1].mean, curve[1].n, curve[1].std), (0.5, 1, 0.0));
        assert_eq!((curve[2].step, curve[2].mean), (100, 0.7));
    }

    /// Ties go to the earliest step.
    #[test]
    fn peak_step_takes_the_earliest_maximum() {
        let p = |step, mean| CurvePoint { step, mean, std: 0.0, n: 1 };
        assert_eq!(peak_step(&[p(0, 0.1), p(50, 0.9), p(100, 0.9)]), Some(50));
        assert_eq!(peak_step(&[]), None);
    }
}
