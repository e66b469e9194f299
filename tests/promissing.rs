//! PROMISSING first layers against their closed form and the identities that define them.

#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use ilnet::algo::Algorithm;
use ilnet::data::{Dataset, Target};
use ilnet::inputs::{FittedInput, InputMode};
use ilnet::linalg::Matrix;
use ilnet::model::{Activation, Head, Network};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A data set of `n` samples and `p` features with a seeded mask (`true` = missing) and
/// garbage under the mask, which no mode may read.
fn holey(n: usize, p: usize, rate: f64, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let missing: Vec<bool> = (0..n * p).map(|_| rng.random::<f64>() < rate).collect();
    let x = missing
        .iter()
        .map(|&m| if m { 1e3 * rng.random::<f32>() } else { rng.random_range(-1.0..1.0) })
        .collect();
    Dataset {
        name: "holey".into(),
        x,
        n,
        d: p,
        target: Target::Classes { labels: (0..n as u32).map(|i| i % 2).collect(), classes: 2 },
        missing: Some(missing),
        feature_names: (0..p).map(|j| format!("f{j}")).collect(),
    }
}

/// Data sets hold f32, so the `q/p` and `r/p` inputs carry f32 rounding (relative 6e-8):
/// closed-form checks in f64 allow for it.
const F32_INPUT: f64 = 1e-7;

fn columns(ds: &Dataset) -> Matrix<f64> {
    Matrix::from_fn(ds.d, ds.n, |i, j| ds.x[j * ds.d + i] as f64)
}

fn promissing_net(p: usize, compensate: bool, seed: u64) -> Network<f64> {
    let extra = if compensate { 2 } else { 1 };
    let mut net = net(&[p + extra, 5, 2], Activation::Tanh, Head::SoftmaxCe, seed);
    net.disable_first_bias();
    net
}

/// The first layer computes `Σ_{j∈O} w_j x_j + (q/p)·b` (+ `(r/p)·w_c`), read off its
/// weights, whatever sits under the mask; with every input missing it is 0 (or `w_c`); with
/// none missing it is an ordinary neuron with bias `b`.
#[test]
fn first_layer_is_the_closed_form() {
    for compensate in [false, true] {
        for &p in &[1usize, 4, 7] {
            let mode = if compensate { InputMode::Mpromissing } else { InputMode::Promissing };
            let mut ds = holey(9, p, 0.4, p as u64);
            // One row with everything missing, one with nothing.
            for j in 0..p {
                ds.missing.as_mut().unwrap()[j] = true;
                ds.missing.as_mut().unwrap()[p + j] = false;
            }
            let fitted = FittedInput::fit(mode, &ds, 5).unwrap();
            let aug = fitted.apply(&ds).unwrap();
            let pnet = promissing_net(p, compensate, 3);
            let h1 = &activities(&pnet, &columns(&aug))[1];
            let mask = ds.missing.as_ref().unwrap();
            let w = &pnet.layers[0].w;
            for s in 0..ds.n {
                let q = (0..p).filter(|&j| !mask[s * p + j]).count() as f64;
                for u in 0..5 {
                    let mut z: f64 = (0..p)
                        .filter(|&j| !mask[s * p + j])
                        .map(|j| w.get(u, j) * ds.x[s * p + j] as f64)
                        .sum();
                    z += q / p as f64 * w.get(u, p);
                    if compensate {
                        z += (p as f64 - q) / p as f64 * w.get(u, p + 1);
                    }
                    assert!(
                        (h1.get(u, s) - z).abs() < F32_INPUT * (1.0 + z.abs()),
                        "p={p} sample {s} unit {u}: {} vs {z}",
                        h1.get(u, s)
                    );
                    if s == 0 {
                        let want = if compensate { w.get(u, p + 1) } else { 0.0 };
                        assert!((h1.get(u, s) - want).abs() < 1e-12, "all missing");
                    }
                }
            }
            // No value missing: the ordinary layer with bias b = the weight on q/p.
            let mut plain = net(&[p, 5, 2], Activation::Tanh, Head::SoftmaxCe, 9);
            for u in 0..5 {
                for j in 0..p {
                    plain.layers[0].w.set(u, j, w.get(u, j));
                }
                plain.layers[0].b[u] = w.get(u, p);
            }
            let row1 = Matrix::from_fn(p, 1, |i, _| ds.x[p + i] as f64);
            let h_plain = &activities(&plain, &row1)[1];
            for u in 0..5 {
                assert!((h_plain.get(u, 0) - h1.get(u, 1)).abs() < 1e-12, "complete row");
            }
        }
    }
}

/// Backprop through a PROMISSING layer: a missing input's weight gets exactly zero
/// gradient, the bias's gradient is `q/p` times the unit's, and the first layer has no other
/// bias to train.
#[test]
fn gradients_prune_missing_inputs() {
    let p = 6;
    let ds = holey(1, p, 0.5, 11);
    let aug = FittedInput::fit(InputMode::Promissing, &ds, 5).unwrap().apply(&ds).unwrap();
    let x = columns(&aug);
    let y = targets(Head::SoftmaxCe, 2, 1, 1);
    let base = promissing_net(p, false, 4);
    let mut net = base.clone();
    let mut tr = trainer(&net, algo(Algorithm::BpSgd, 1.0, 0.0, Head::SoftmaxCe), 1);
    tr.step(&mut net, &x, &y).unwrap();
    let mask = ds.missing.as_ref().unwrap();
    let q = mask.iter().filter(|&&m| !m).count() as f64;
    assert!(q > 0.0 && q < p as f64, "the test needs a partly missing row");
    let (w0, w1) = (&base.layers[0].w, &net.layers[0].w);
    for u in 0..5 {
        for j in 0..p {
            let moved = w1.get(u, j) - w0.get(u, j);
            if mask[j] {
                assert_eq!(moved, 0.0, "missing input {j} moved");
            } else {
                // ΔW_uj = -lr · δ_u · x_j, and Δb_u = -lr · δ_u · q/p.
                let delta_u = -moved / ds.x[j] as f64;
                let db = w1.get(u, p) - w0.get(u, p);
                assert!(
                    (db + delta_u * q / p as f64).abs() < F32_INPUT * (1.0 + db.abs()),
                    "bias of unit {u}: {db} vs {}",
                    -delta_u * q / p as f64
                );
            }
        }
        assert_eq!(net.layers[0].b[u], 0.0);
    }
}

/// IL-prox with a PROMISSING layer realises its targets exactly (ε = 0): the NLMS
/// normaliser of the first layer is `‖x̃‖²` with no `+1`, since the bias is carried by the
/// `q/p` input. Missing inputs' weights take no update.
#[test]
fn il_prox_realises_targets_with_pruned_inputs() {
    for seed in 0..4u64 {
        let p = 7;
        let ds = holey(1, p, 0.4, 20 + seed);
        let aug = FittedInput::fit(InputMode::Mpromissing, &ds, 5).unwrap().apply(&ds).unwrap();
        let x = columns(&aug);
        let y = targets(Head::IdentityMse, 2, 1, seed);
        let mut net = {
            let mut n = net(&[p + 2, 5, 2], Activation::Relu, Head::IdentityMse, seed);
            n.disable_first_bias();
            n
        };
        let before = net.clone();
        let mut tr = trainer(&net, algo(Algorithm::IlProx, 2.0, 0.0, Head::IdentityMse), 1);
        tr.step(&mut net, &x, &y).unwrap();
        let hhat = tr.relaxation().hhat.clone();
        let h = activities(&net, &x);
        for l in 1..h.len() {
            assert!(
                dist(&h[l], &hhat[l]) < 1e-10 * (1.0 + hhat[l].norm2().sqrt()),
                "seed {seed} layer {l}"
            );
        }
        let mask = ds.missing.as_ref().unwrap();
        for j in (0..p).filter(|&j| mask[j]) {
            for u in 0..5 {
                assert_eq!(net.layers[0].w.get(u, j), before.layers[0].w.get(u, j));
            }
        }
    }
}
