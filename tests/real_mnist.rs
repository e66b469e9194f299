//! Real learning on real MNIST: the loader and the learning rule checked end to end.
//!
//! Needs the MNIST files under `$ILNET_DATA/mnist` (`.ci/run` installs them with
//! `scripts/install-test-data.sh`). Without them the test fails under CI and is skipped,
//! with a message, elsewhere.

use ilnet::config::RawConfig;
use ilnet::run::{self, Status, TrainOptions};

fn data_root() -> Option<std::path::PathBuf> {
    let root = std::env::var_os("ILNET_DATA").map(std::path::PathBuf::from)?;
    root.join("mnist").exists().then_some(root)
}

/// Final test accuracy and the mean test accuracy over the evaluations after step 0.
fn run(root: &std::path::Path, work: &std::path::Path, algo: &str, lr: f64) -> (f64, f64) {
    let text = format!(
        "out = {:?}\n[data]\nname = \"mnist\"\n[algo]\nname = {algo:?}\nlr = {lr}\n\
         [train]\nbatch = 1\nsteps = 3000\neval_every = 500\n",
        work.join(algo)
    );
    let cfg = toml::from_str::<RawConfig>(&text).unwrap().check().unwrap();
    let opts = TrainOptions { data_root: root.to_path_buf(), ..TrainOptions::default() };
    let out = run::train(&cfg, &opts, &mut run::Silent).unwrap();
    assert_eq!(out.status, Status::Finished);
    let metrics = std::fs::read_to_string(work.join(algo).join("metrics.csv")).unwrap();
    let acc: Vec<f64> =
        metrics.lines().skip(2).map(|l| l.split(',').nth(3).unwrap().parse().unwrap()).collect();
    let mean = acc.iter().sum::<f64>() / acc.len() as f64;
    (out.summary.unwrap().final_accuracy.unwrap(), mean)
}

/// 3,000 streaming steps (batch 1) of IL-prox at the paper's MNIST setting (α = 5, ε = 0.25)
/// on 784-256-256-10 pass 85% test accuracy, and its accuracy curve (evaluated every 500
/// steps) lies above BP-SGD's at its tuned step (0.015): IL converges faster at batch 1, as
/// the paper reports. Measured: mean accuracy 0.83 against 0.77 over steps 500-3000, with
/// both near 0.88 at step 3000.
#[test]
fn il_prox_learns_real_mnist_and_beats_bp_sgd_early() {
    let Some(root) = data_root() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "real MNIST missing: run scripts/install-test-data.sh DIR and set ILNET_DATA=DIR"
            );
        }
        eprintln!(
            "skipping: set ILNET_DATA to a folder with mnist/ (scripts/install-test-data.sh)"
        );
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (il, il_mean) = run(&root, work.path(), "il-prox", 5.0);
    let (bp, bp_mean) = run(&root, work.path(), "bp-sgd", 0.015);
    eprintln!(
        "real MNIST, 3000 steps: il-prox {il:.4} (curve mean {il_mean:.4}), bp-sgd {bp:.4} ({bp_mean:.4})"
    );
    assert!(il > 0.85, "il-prox reached only {il}");
    assert!(il_mean > bp_mean + 0.02, "il-prox's curve {il_mean} is not above bp-sgd's {bp_mean}");
}
