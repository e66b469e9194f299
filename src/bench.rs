//! Throughput of training steps: samples per second and achieved GFLOP/s.
//!
//! The floating-point work of a step is counted from the dense products alone (2 flops per
//! multiply-add); elementwise work (activations, clamps, Adam) is left out, so the GFLOP/s
//! figure compares directly with the machine's matrix-product ceiling, which
//! [`gemm_ceiling`] measures on the same machine in the same run.

use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::algo::{Algo, Algorithm, Hyper, Method, Trainer};
use crate::linalg::{Matrix, Op, Threads, gemm};
use crate::model::{Activation, Architecture, Head, Network, one_hot};

/// Dense-product flops of one training step of `algo` on a network of widths `sizes`.
///
/// Feed-forward `Σ_l 2 n_{l+1} n_l B`; each inference step adds a backward product and a
/// prediction for every hidden layer, `4 Σ_{l=1}^{L-1} n_{l+1} n_l B`; backprop adds
/// `Σ_{l=1}^{L-1} 2 n_{l+1} n_l B`; the weight gradients `Σ_l 2 n_{l+1} n_l B`.
pub fn step_flops(sizes: &[usize], batch: usize, algo: &Algo<f32>) -> f64 {
    let b = batch as f64;
    let all: f64 = sizes.windows(2).map(|w| (w[0] * w[1]) as f64).sum();
    let upper: f64 = sizes[1..].windows(2).map(|w| (w[0] * w[1]) as f64).sum();
    let middle = match algo.method {
        Method::Inference(cfg) => 4.0 * upper * cfg.steps as f64,
        Method::Backprop { .. } => 2.0 * upper,
        Method::Implicit(_) => f64::NAN,
    };
    b * (2.0 * all + middle + 2.0 * all)
}

/// One row of the benchmark table.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRow {
    pub algorithm: String,
    pub batch: usize,
    pub threads: usize,
    pub steps: u64,
    pub seconds: f64,
    pub samples_per_s: f64,
    pub gflops: f64,
}

/// Times `algorithm` on `sizes` (softmax cross-entropy, ReLU) at `batch` for at least
/// `budget`, after one warm-up step.
pub fn bench_step(
    sizes: &[usize],
    algorithm: Algorithm,
    batch: usize,
    threads: Threads,
    budget: Duration,
) -> BenchRow {
    let arch = Architecture::new(sizes.to_vec(), Activation::Relu, Head::SoftmaxCe);
    let mut net = Network::<f32>::new(arch, 0);
    let algo = algorithm.resolve::<f32>(&Hyper::default(), Head::SoftmaxCe).expect("preset");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // A pool of distinct batches so that caches see realistic traffic.
    let pool: Vec<(Matrix<f32>, Matrix<f32>)> = (0..8)
        .map(|_| {
            let x = Matrix::from_fn(sizes[0], batch, |_, _| rng.random_range(0.0..1.0));
            let labels: Vec<u32> = (0..batch).map(|_| rng.random_range(0..10)).collect();
            (x, one_hot(&labels, *sizes.last().expect("sizes")))
        })
        .collect();
    let mut tr = Trainer::new(&net, algo, batch, threads);
    let _ = tr.step(&mut net, &pool[0].0, &pool[0].1);

    let start = Instant::now();
    let mut steps = 0u64;
    while start.elapsed() < budget || steps < 3 {
        let (x, y) = &pool[steps as usize % pool.len()];
        // A diverged step is timed like any other; the benchmark measures work, not learning.
        let _ = tr.step(&mut net, x, y);
        steps += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    let samples = (steps as usize * batch) as f64;
    BenchRow {
        algorithm: algorithm.name().to_string(),
        batch,
        threads: threads.0,
        steps,
        seconds,
        samples_per_s: samples / seconds,
        gflops: step_flops(sizes, batch, &algo) * steps as f64 / seconds / 1e9,
    }
}

/// GFLOP/s of a large square product (`n x n` by `n x n`), the machine's practical ceiling
/// for the dense products that dominate training.
pub fn gemm_ceiling(n: usize, threads: Threads, budget: Duration) -> f64 {
    let a = Matrix::<f32>::from_fn(n, n, |i, j| ((i * 3 + j) % 17) as f32 * 0.01);
    let mut c = Matrix::zeros(n, n);
    let start = Instant::now();
    let mut reps = 0;
    while start.elapsed() < budget || reps < 2 {
        gemm(&mut c, false, &a, Op::N, &a, Op::N, 1.0, threads);
        reps += 1;
    }
    2.0 * (n * n * n) as f64 * reps as f64 / start.elapsed().as_secs_f64() / 1e9
}

/// The standard benchmark: 784-256-256-10, `il-prox`, `il-sgd` and `bp-sgd` at batch 1, 64
/// and 256 (T = 25 for the IL algorithms, their preset).
pub fn standard(threads: Threads, budget: Duration) -> Vec<BenchRow> {
    let sizes = [784, 256, 256, 10];
    let mut rows = Vec::new();
    for algorithm in [Algorithm::IlProx, Algorithm::IlSgd, Algorithm::BpSgd] {
        for batch in [1, 64, 256] {
            rows.push(bench_step(&sizes, algorithm, batch, threads, budget));
        }
    }
    rows
}

/// The table as aligned text.
pub fn format_table(rows: &[BenchRow], ceiling: f64) -> String {
    let mut s = String::from("algorithm      batch  threads   samples/s   GFLOP/s  of ceiling\n");
    for r in rows {
        s.push_str(&format!(
            "{:<13} {:>6} {:>8} {:>11.0} {:>9.1} {:>10.0}%\n",
            r.algorithm,
            r.batch,
            r.threads,
            r.samples_per_s,
            r.gflops,
            100.0 * r.gflops / ceiling
        ));
    }
    s.push_str(&format!("ceiling: {ceiling:.1} GFLOP/s (1024x1024 f32 product, same threads)\n"));
    s
}
