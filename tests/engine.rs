//! The engine as a whole: determinism across thread counts, divergence as a typed error,
//! and learning on a small problem.

#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use ilnet::algo::{Algorithm, Hyper, Trainer};
use ilnet::error::Quantity;
use ilnet::inference::Relaxation;
use ilnet::linalg::{Matrix, Threads};
use ilnet::model::{Activation, Architecture, Head, Network, one_hot};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn f32_data(d: usize, n: usize, classes: usize, seed: u64) -> (Matrix<f32>, Matrix<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Matrix::from_fn(d, n, |_, _| rng.random_range(0.0f32..1.0));
    let labels: Vec<u32> = (0..n).map(|j| (j % classes) as u32).collect();
    (x, one_hot(&labels, classes))
}

/// Training gives bitwise-identical weights on one thread and on two: for products large
/// enough that faer runs them in parallel (over 50 MFLOP: the first layer at batch 256), and for the
/// relaxation, whose chunks run in parallel, at batch sizes that are and are not a multiple
/// of the chunk width (50 leaves a chunk of 18) and at batch 1 (one chunk, the fused kernel).
#[test]
fn same_seed_same_weights_whatever_the_thread_count() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let cases = [
        (Algorithm::BpSgd, 64, 100),
        // Batch 256 makes the first layer's products (over 50 MFLOP) run on faer's threads.
        (Algorithm::BpSgd, 256, 20),
        (Algorithm::IlProx, 64, 100),
        (Algorithm::BpAdam, 64, 100),
        (Algorithm::IlProx, 50, 30),
        (Algorithm::IlAdam, 50, 30),
        (Algorithm::IlSgd, 1, 30),
    ];
    for (algorithm, batch, steps) in cases {
        let arch = Architecture::new(vec![784, 256, 256, 10], Activation::Relu, Head::SoftmaxCe);
        let (x, y) = f32_data(784, batch, 10, 1);
        let algo = algorithm.resolve::<f32>(&Hyper::default(), Head::SoftmaxCe).unwrap();
        let run = |threads: usize| {
            let mut net = Network::<f32>::new(arch.clone(), 42);
            let mut tr = Trainer::new(&net, algo, batch, Threads(threads));
            pool.install(|| {
                for _ in 0..steps {
                    tr.step(&mut net, &x, &y).unwrap();
                }
            });
            net
        };
        let one = run(1);
        let two = run(2);
        assert!(one == two, "{algorithm} at batch {batch}: weights differ between 1 and 2 threads");
    }
}

/// The relaxation with the energy watched every step (trace and early stop: the chunks meet
/// after each step) reports the same steps, energies and state on one thread and on two.
#[test]
fn watched_relaxation_is_the_same_whatever_the_thread_count() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let arch = Architecture::new(vec![784, 256, 256, 10], Activation::Relu, Head::SoftmaxCe);
    let net = Network::<f32>::new(arch, 7);
    let (x, y) = f32_data(784, 37, 10, 3);
    let hyper = Hyper { early_stop: Some(1e-5), ..Hyper::default() };
    let algo = Algorithm::IlProx.resolve::<f32>(&hyper, Head::SoftmaxCe).unwrap();
    let mut cfg = match algo.method {
        ilnet::algo::Method::Inference(cfg) => cfg,
        _ => unreachable!(),
    };
    cfg.trace = true;
    let run = |threads: usize| {
        let mut r = Relaxation::new(&net, 37);
        let report = pool.install(|| {
            r.feed_forward(&net, &x, Threads(threads));
            r.relax(&net, &y, &cfg, Threads(threads)).unwrap()
        });
        (report, r.trace.clone(), r.hhat.clone())
    };
    let one = run(1);
    assert!(one.0.steps >= 2, "the relaxation should run a few steps: {:?}", one.0);
    assert!(one == run(2), "watched relaxation differs between 1 and 2 threads");
}

/// A step that overflows is returned as a typed error naming the step, the layer and the
/// quantity, and the network keeps the parameters of the last finite step.
#[test]
fn divergence_is_an_error_and_keeps_the_last_finite_weights() {
    let arch = Architecture::new(vec![20, 30, 5], Activation::Relu, Head::IdentityMse);
    let mut net = Network::<f32>::new(arch, 3);
    let (x, _) = f32_data(20, 1, 5, 2);
    let y = Matrix::from_fn(5, 1, |i, _| 100.0 * i as f32);
    let hyper = Hyper { lr: Some(1e6), ..Hyper::default() };
    let algo = Algorithm::BpSgd.resolve::<f32>(&hyper, Head::IdentityMse).unwrap();
    let mut tr = Trainer::new(&net, algo, 1, Threads::single());
    let mut last_good = net.clone();
    let err = loop {
        match tr.step(&mut net, &x, &y) {
            Ok(_) => last_good = net.clone(),
            Err(e) => break e,
        }
        assert!(tr.step < 100, "did not diverge");
    };
    assert_eq!(net, last_good, "parameters changed in the failing step");
    assert_eq!(err.step, tr.step);
    assert!(err.step > 1);
    assert!(
        matches!(
            err.quantity,
            Quantity::Loss | Quantity::Activity | Quantity::Update | Quantity::Weights
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&format!("step {}", err.step)) && msg.contains("layer"), "{msg}");
}

/// A NaN in the input surfaces as a non-finite activity of layer 1, with nothing changed.
#[test]
fn nan_input_is_reported_at_layer_one() {
    for algorithm in [Algorithm::BpSgd, Algorithm::IlProx] {
        let mut net = net(&[3, 4, 2], Activation::Tanh, Head::SoftmaxCe, 1);
        let before = net.clone();
        let x = Matrix::from_col_major(3, 1, vec![0.1, f64::NAN, 0.3]);
        let y = targets(Head::SoftmaxCe, 2, 1, 1);
        let mut tr = trainer(&net, algo(algorithm, 0.1, 0.25, Head::SoftmaxCe), 1);
        let err = tr.step(&mut net, &x, &y).unwrap_err();
        assert_eq!((err.step, err.layer, err.quantity), (1, 1, Quantity::Activity), "{algorithm}");
        assert_eq!(net, before);
    }
}

/// Every algorithm lowers the training loss of a small separable problem within 300 steps:
/// a smoke test that the presets are wired to a working rule (the theory tests carry the
/// exact checks).
#[test]
fn every_algorithm_learns_a_small_problem() {
    let (d, k, n) = (8, 3, 60);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let labels: Vec<u32> = (0..n).map(|j| (j % k) as u32).collect();
    let x = Matrix::from_fn(d, n, |i, j| {
        let centre = if i % k == labels[j] as usize { 1.0 } else { 0.0 };
        centre + rng.random_range(-0.3..0.3)
    });
    let y = one_hot::<f64>(&labels, k);
    for algorithm in Algorithm::ALL {
        let lr = match algorithm {
            Algorithm::BpSgd | Algorithm::IlSgd => 0.1,
            Algorithm::BpAdam | Algorithm::IlAdam => 0.01,
            _ => 1.0,
        };
        let mut net = net(&[d, 12, k], Activation::Relu, Head::SoftmaxCe, 2);
        let before = net.evaluate(&x, &y, 64, Threads::single());
        // IL-prox Adam's fixed Adam step (3e-5) is meant for 50k steps; give it 300.
        let hyper = Hyper { lr: Some(lr), adam_lr: Some(1e-2), ..Hyper::default() };
        let algo = algorithm.resolve(&hyper, Head::SoftmaxCe).unwrap();
        let mut tr = trainer(&net, algo, 10);
        let mut xb = Matrix::zeros(d, 0);
        let mut yb = Matrix::zeros(k, 0);
        for s in 0..300 {
            let start = (s * 10) % n;
            ilnet::model::slice_cols(&x, start, start + 10, &mut xb);
            ilnet::model::slice_cols(&y, start, start + 10, &mut yb);
            tr.step(&mut net, &xb, &yb).unwrap();
        }
        let after = net.evaluate(&x, &y, 64, Threads::single());
        assert!(after.loss < 0.5 * before.loss, "{algorithm}: {} -> {}", before.loss, after.loss);
        assert!(after.accuracy > 0.9, "{algorithm}: accuracy {}", after.accuracy);
    }
}

/// The update norms a step reports equal `‖θ' - θ‖` measured on the parameters, for the
/// rules applied in place (SGD, NLMS: norm from Gram matrices) and through a change buffer
/// (Adam), at batch 1 and 5.
#[test]
fn reported_update_norms_match_the_parameter_change() {
    for algorithm in [
        Algorithm::BpSgd,
        Algorithm::IlProx,
        Algorithm::IlSgd,
        Algorithm::BpAdam,
        Algorithm::IlProxAdam,
    ] {
        for batch in [1, 5] {
            let mut net = net(&[6, 7, 3], Activation::Tanh, Head::SoftmaxCe, 4);
            let before = net.clone();
            let x = uniform(6, batch, -1.0, 1.0, 5);
            let y = targets(Head::SoftmaxCe, 3, batch, 6);
            let mut tr = trainer(&net, algo(algorithm, 0.5, 0.25, Head::SoftmaxCe), batch);
            let stats = tr.step(&mut net, &x, &y).unwrap();
            let (mut w2, mut b2) = (0.0, 0.0);
            for (a, b) in net.layers.iter().zip(&before.layers) {
                w2 +=
                    a.w.as_slice()
                        .iter()
                        .zip(b.w.as_slice())
                        .map(|(p, q)| (p - q).powi(2))
                        .sum::<f64>();
                b2 += a.b.iter().zip(&b.b).map(|(p, q)| (p - q).powi(2)).sum::<f64>();
            }
            let tol = 1e-10 * (1.0 + stats.update.total);
            assert!((stats.update.weights - w2.sqrt()).abs() < tol, "{algorithm} B={batch}");
            assert!((stats.update.total - (w2 + b2).sqrt()).abs() < tol, "{algorithm} B={batch}");
        }
    }
}
