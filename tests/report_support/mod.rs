//! Synthetic run folders for the report tests, written in the format training runs write.

#![allow(dead_code)]

pub mod browser;

use std::fs;
use std::path::{Path, PathBuf};

/// The fixed header of metrics.csv.
pub const HEADER: &str = "step,samples,train_loss,test_accuracy,test_loss,test_brier,\
update_norm,update_norm_weights,energy_before,energy_after,wall_s";

/// A synthetic run: one setting, one seed, and its accuracy curve.
pub struct FakeRun<'a> {
    pub data: &'a str,
    pub algo: &'a str,
    pub lr: f64,
    pub seed: u64,
    /// `(step, test accuracy)`; the test loss written next to it is `1 - accuracy`.
    pub curve: Vec<(u64, f64)>,
    /// `final_accuracy` of the summary.
    pub final_accuracy: f64,
    /// Step of divergence, if the run diverged.
    pub diverged_at: Option<u64>,
    /// `(mean, std, max)` of the update norm.
    pub update_norm: (f64, f64, f64),
}

impl<'a> FakeRun<'a> {
    pub fn new(algo: &'a str, lr: f64, seed: u64, curve: Vec<(u64, f64)>) -> Self {
        let final_accuracy = curve.last().map_or(0.0, |p| p.1);
        FakeRun {
            data: "mnist",
            algo,
            lr,
            seed,
            curve,
            final_accuracy,
            diverged_at: None,
            update_norm: (0.1, 0.02, 0.5),
        }
    }

    /// Writes `summary.json` and `metrics.csv` into `root/<data>/<algo>_lr<lr>_s<seed>`.
    pub fn write(&self, root: &Path) -> PathBuf {
        let dir = root.join(self.data).join(format!("{}_lr{}_s{}", self.algo, self.lr, self.seed));
        fs::create_dir_all(&dir).unwrap();
        let (best_step, best) = self
            .curve
            .iter()
            .copied()
            .fold((0, f64::NEG_INFINITY), |b, p| if p.1 > b.1 { p } else { b });
        let last_step = self.curve.last().map_or(0, |p| p.0);
        let diverged = match self.diverged_at {
            None => "null".to_string(),
            Some(k) => format!(r#"{{"step": {k}, "layer": 2, "quantity": "weights"}}"#),
        };
        let summary = format!(
            r#"{{"algo": "{}", "lr": {:?}, "seed": {}, "data": "{}", "batch": 1,
"steps": 20000, "steps_run": {last_step}, "best_accuracy": {best}, "best_step": {best_step},
"final_accuracy": {}, "final_step": {last_step},
"update_norm": {{"mean": {}, "std": {}, "max": {}}}, "diverged": {diverged},
"wall_s": 1.5, "some_future_field": [1, 2]}}"#,
            self.algo,
            self.lr,
            self.seed,
            self.data,
            self.final_accuracy,
            self.update_norm.0,
            self.update_norm.1,
            self.update_norm.2,
        );
        fs::write(dir.join("summary.json"), summary).unwrap();
        let mut csv = format!("{HEADER}\n");
        for &(step, acc) in &self.curve {
            let train = if step == 0 { String::new() } else { format!("{}", 1.2 - acc) };
            csv.push_str(&format!(
                "{step},{step},{train},{acc},{},{},0.1,0.09,,,{}\n",
                1.0 - acc,
                (1.0 - acc) / 2.0,
                step as f64 / 100.0
            ));
        }
        fs::write(dir.join("metrics.csv"), csv).unwrap();
        dir
    }
}

/// A learning curve rising from `start` towards `top` over `steps`, evaluated every 50.
pub fn rising(start: f64, top: f64, steps: u64, rate: f64) -> Vec<(u64, f64)> {
    (0..=steps / 50)
        .map(|k| {
            let step = k * 50;
            (step, top - (top - start) * (-(step as f64) * rate).exp())
        })
        .collect()
}

/// A small stability sweep on `mnist`: three algorithms over four learning rates, three
/// seeds, with some diverged runs at large learning rates; and a second data set,
/// `fashion-mnist`, with two algorithms at two learning rates and two seeds.
pub fn write_sweep(root: &Path) {
    let lrs = [0.01, 0.1, 1.0, 10.0];
    for (a, algo) in ["bp-sgd", "il-sgd", "il-prox"].into_iter().enumerate() {
        for (i, &lr) in lrs.iter().enumerate() {
            for seed in 0..3u64 {
                let top = 0.9 - 0.02 * a as f64 + 0.01 * seed as f64;
                let rate = 0.0005 * (i + 1) as f64;
                let mut run = FakeRun::new(algo, lr, seed, rising(0.1, top, 4000, rate));
                let unstable = algo != "il-prox" && (lr >= 10.0 || (lr >= 1.0 && seed == 0));
                if unstable {
                    let stop = 1000 + 500 * seed;
                    run.curve.retain(|p| p.0 <= stop);
                    run.diverged_at = Some(stop + 10);
                    run.final_accuracy = 0.098;
                }
                run.write(root);
            }
        }
    }
    for algo in ["bp-sgd", "il-prox"] {
        for lr in [0.1, 1.0] {
            for seed in 0..2u64 {
                let top = if algo == "bp-sgd" { 0.8 } else { 0.82 } + 0.01 * seed as f64;
                let mut run = FakeRun::new(algo, lr, seed, rising(0.1, top, 3000, 0.001 * lr));
                run.data = "fashion-mnist";
                run.write(root);
            }
        }
    }
}

/// A data root whose `tabular/` holds small tables in the formats of the real wine (3
/// classes, 13 features) and diabetes (regression, 10 features) files, with a learnable
/// signal: the wine class is set by the sign pattern of two features, the diabetes target
/// is linear in three. `n` rows each, values from a fixed linear congruential sequence.
pub fn write_tabular_root(root: &Path, n: usize) {
    let dir = root.join("tabular");
    fs::create_dir_all(&dir).unwrap();
    let mut state = 12345u64;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
    };
    let mut wine = format!("{n},13,class_0,class_1,class_2\n");
    for _ in 0..n {
        let f: Vec<f64> = (0..13).map(|_| next()).collect();
        let class = if f[0] > 0.3 {
            0
        } else if f[1] > 0.0 {
            1
        } else {
            2
        };
        let cells: Vec<String> = f.iter().map(|v| format!("{:.4}", 10.0 + 3.0 * v)).collect();
        wine.push_str(&format!("{},{class}\n", cells.join(",")));
    }
    fs::write(dir.join("wine_data.csv"), wine).unwrap();
    let (mut data, mut target) = (String::new(), String::new());
    for _ in 0..n {
        let f: Vec<f64> = (0..10).map(|_| next()).collect();
        let y = 150.0 + 40.0 * f[2] + 20.0 * f[3] - 30.0 * f[8] + 5.0 * next();
        let cells: Vec<String> = f.iter().map(|v| format!("{:.4}", 50.0 + 10.0 * v)).collect();
        data.push_str(&format!("{}\n", cells.join(" ")));
        target.push_str(&format!("{y:.2}\n"));
    }
    fs::write(dir.join("diabetes_data_raw.csv"), data).unwrap();
    fs::write(dir.join("diabetes_target.csv"), target).unwrap();
}

/// A small study over the tables of [`write_tabular_root`], writing into `out`.
pub fn study_toml(out: &Path, epochs: u64) -> String {
    format!(
        "out = {:?}\n\
         data = [\"wine\", \"diabetes\"]\n\
         mechanisms = [\"mcar\", \"mnar\"]\n\
         rates = [0.25, 0.9]\n\
         seeds = [0, 1]\n\
         inputs = [\"promissing\", \"mpromissing\", \"mean\", \"knn\"]\n\
         algos = [{{ name = \"bp-sgd\", lr = 0.1 }}, {{ name = \"il-prox\", lr = 1.0 }}]\n\
         epochs = {epochs}\n",
        out.display().to_string()
    )
}
