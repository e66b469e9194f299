//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

use ilnet::algo::{Algo, Algorithm, Hyper, Trainer};
use ilnet::linalg::{Matrix, Threads};
use ilnet::model::{Activation, Architecture, Head, Network};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub fn net(sizes: &[usize], activation: Activation, head: Head, seed: u64) -> Network<f64> {
    Network::new(Architecture::new(sizes.to_vec(), activation, head), seed)
}

/// A `rows x cols` matrix of uniform draws in `[lo, hi)`.
pub fn uniform(rows: usize, cols: usize, lo: f64, hi: f64, seed: u64) -> Matrix<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Matrix::from_fn(rows, cols, |_, _| rng.random_range(lo..hi))
}

/// Targets fitting `head`: one-hot columns for softmax, values in (0, 1) for sigmoid,
/// unbounded values for MSE.
pub fn targets(head: Head, rows: usize, cols: usize, seed: u64) -> Matrix<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    match head {
        Head::SoftmaxCe => {
            let mut m = Matrix::zeros(rows, cols);
            for j in 0..cols {
                m.set(rng.random_range(0..rows), j, 1.0);
            }
            m
        }
        Head::SigmoidBce => Matrix::from_fn(rows, cols, |_, _| rng.random_range(0.05..0.95)),
        Head::IdentityMse => Matrix::from_fn(rows, cols, |_, _| rng.random_range(-1.0..1.0)),
    }
}

/// The preset of `algorithm` with learning rate `lr` and the given ε.
pub fn algo(algorithm: Algorithm, lr: f64, eps: f64, head: Head) -> Algo<f64> {
    let hyper = Hyper { lr: Some(lr), eps: Some(eps), ..Hyper::default() };
    algorithm.resolve(&hyper, head).expect("valid preset")
}

pub fn trainer(net: &Network<f64>, algo: Algo<f64>, batch: usize) -> Trainer<f64> {
    Trainer::new(net, algo, batch, Threads::single())
}

/// The feed-forward output `h_L` (logits) of `net` on `x`.
pub fn logits(net: &Network<f64>, x: &Matrix<f64>) -> Matrix<f64> {
    let mut buf = ilnet::model::Forward::new(net, x.cols());
    net.forward(x, &mut buf, Threads::single());
    buf.h[net.depth()].clone()
}

/// Every `h_l` of the feed-forward pass.
pub fn activities(net: &Network<f64>, x: &Matrix<f64>) -> Vec<Matrix<f64>> {
    let mut buf = ilnet::model::Forward::new(net, x.cols());
    net.forward(x, &mut buf, Threads::single());
    buf.h.clone()
}

pub fn dist(a: &Matrix<f64>, b: &Matrix<f64>) -> f64 {
    a.as_slice().iter().zip(b.as_slice()).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt()
}

pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// The architectures swept by the theory tests: width 1, odd widths, one to three hidden
/// layers.
pub const SHAPES: &[&[usize]] =
    &[&[1, 1, 1], &[3, 1, 2], &[4, 5, 3], &[7, 9, 5, 3], &[6, 11, 7, 9, 2]];

/// The learning rates swept by the theory tests, from 0.01 to 100.
pub const ALPHAS: &[f64] = &[0.01, 0.1, 1.0, 2.5, 10.0, 100.0];
