//! Gradients against finite differences, Adam against hand-computed steps, and the
//! inference update against the gradient of the free energy.

#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use ilnet::algo::{Algorithm, Method};
use ilnet::inference::{Clamp, InferenceConfig, Relaxation, Start, free_energy};
use ilnet::learn::{AdamConfig, Backprop, Params, Rule};
use ilnet::linalg::{Matrix, Threads};
use ilnet::model::{Activation, Forward, Head, Network};

/// Step of the central differences.
const H: f64 = 1e-6;
/// Agreement of an analytic derivative with its central difference: the truncation error
/// is O(H²) ≈ 1e-12 times third derivatives, the rounding error O(eps/H) ≈ 1e-10.
const FD_TOL: f64 = 1e-7;

fn batch_loss(net: &Network<f64>, x: &Matrix<f64>, y: &Matrix<f64>) -> f64 {
    let p = logits(net, x);
    net.arch.head.loss_sum(y, &p) / x.cols() as f64
}

/// Backprop's gradient of the batch-mean loss matches central differences, for every head
/// and every activation, with width-1 and odd layers and batches of 1 and 3.
#[test]
fn backprop_matches_finite_differences() {
    for head in Head::ALL {
        for act in Activation::ALL {
            for (k, shape) in [&[3usize, 5, 4][..], &[2, 1, 3, 2], &[4, 3]].iter().enumerate() {
                for batch in [1, 3] {
                    let seed = k as u64 * 7 + batch as u64;
                    let net = net(shape, act, head, seed);
                    check_backprop(&net, batch, seed, &format!("{head} {act} {shape:?}"));
                }
            }
        }
    }
}

/// The same with a different activation per hidden layer, as in the missing-data
/// benchmark's ReLU-then-linear bottleneck.
#[test]
fn backprop_matches_finite_differences_with_mixed_activations() {
    use Activation::*;
    for (k, acts) in [[Relu, Identity], [Tanh, Sigmoid], [Identity, Relu]].iter().enumerate() {
        for head in Head::ALL {
            let seed = 40 + k as u64;
            let mut net = net(&[5, 3, 2, 3], Relu, head, seed);
            net.arch.hidden_activations = acts.to_vec();
            assert_eq!((net.activation_of(1), net.activation_of(2)), (acts[0], acts[1]));
            check_backprop(&net, 3, seed, &format!("{head} {acts:?}"));
        }
    }
}

fn check_backprop(net: &Network<f64>, batch: usize, seed: u64, label: &str) {
    let shape = net.sizes().to_vec();
    let head = net.arch.head;
    let x = uniform(shape[0], batch, -1.0, 1.0, seed + 1);
    let y = targets(head, *shape.last().unwrap(), batch, seed + 2);

    let mut fwd = Forward::new(net, batch);
    net.forward(&x, &mut fwd, Threads::single());
    let mut bp = Backprop::new(net, batch);
    let depth = net.depth();
    let out = fwd.out.clone();
    let d = &mut bp.delta[depth];
    d.set_cols(batch);
    for (i, v) in d.as_mut_slice().iter_mut().enumerate() {
        *v = out.as_slice()[i] - y.as_slice()[i];
    }
    let mut grads = Params::zeros_like(net);
    bp.run(net, &fwd, &vec![1.0; depth], Some(&mut grads), Threads::single());
    let analytic: Vec<f64> = (0..depth)
        .flat_map(|l| {
            let mut v = grads.w[l].as_slice().to_vec();
            v.extend_from_slice(&grads.b[l]);
            v
        })
        .collect();

    let theta = net.params();
    let mut probe = net.clone();
    for (i, &g) in analytic.iter().enumerate() {
        let mut t = theta.clone();
        t[i] += H;
        probe.set_params(&t);
        let up = batch_loss(&probe, &x, &y);
        t[i] -= 2.0 * H;
        probe.set_params(&t);
        let down = batch_loss(&probe, &x, &y);
        let fd = (up - down) / (2.0 * H);
        assert!(
            (fd - g).abs() < FD_TOL * (1.0 + fd.abs()),
            "{label} B={batch} θ[{i}]: backprop {g} vs fd {fd}"
        );
    }
}

/// With `γ_top = γ_bot = γ` and the output clamped fully (so that `ĥ_L` does not move), one
/// relaxation step moves every hidden activity by `-γ ∂F/∂ĥ_l`, with the gradient of the
/// independently computed free energy taken by central differences.
#[test]
fn inference_step_is_gradient_descent_on_the_free_energy() {
    for head in Head::ALL {
        for act in [Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::Identity] {
            let shapes = [&[3usize, 5, 4, 2][..], &[2, 1, 3], &[4, 7, 1, 5, 3]];
            // Batch 1 runs the fused single-sample kernel, batch 2 the general products.
            for (k, (shape, batch)) in shapes.iter().flat_map(|s| [(s, 1usize), (s, 2)]).enumerate()
            {
                let seed = 100 + k as u64;
                let net = net(shape, act, head, seed);
                let x = uniform(shape[0], batch, -1.0, 1.0, seed + 1);
                let y = targets(head, *shape.last().unwrap(), batch, seed + 2);
                let gamma = 0.01;
                let c = 0.7;
                let cfg = InferenceConfig {
                    clamp: Clamp::Full,
                    steps: 1,
                    gamma_top: gamma,
                    gamma_bot: gamma,
                    c,
                    early_stop: None,
                    trace: false,
                    start: Start::Random(seed),
                };
                // A random start puts ReLU units away from their kink and makes errors large.
                let mut start = Relaxation::new(&net, batch);
                start.feed_forward(&net, &x, Threads::single());
                let zero_steps = InferenceConfig { steps: 0, ..cfg };
                start.relax(&net, &y, &zero_steps, Threads::single()).unwrap();
                let h0 = start.hhat.clone();

                let mut r = Relaxation::new(&net, batch);
                r.feed_forward(&net, &x, Threads::single());
                let report = r.relax(&net, &y, &cfg, Threads::single()).unwrap();
                assert!((report.energy_before - free_energy(&net, &h0, c)).abs() < 1e-12);
                assert!((report.energy - free_energy(&net, &r.hhat, c)).abs() < 1e-12);

                for l in 1..net.depth() {
                    for i in 0..h0[l].as_slice().len() {
                        let mut probe = h0.clone();
                        probe[l].as_mut_slice()[i] += H;
                        let up = free_energy(&net, &probe, c);
                        probe[l].as_mut_slice()[i] -= 2.0 * H;
                        let down = free_energy(&net, &probe, c);
                        // free_energy is a batch mean; each sample descends its own energy.
                        let grad = batch as f64 * (up - down) / (2.0 * H);
                        let moved = (r.hhat[l].as_slice()[i] - h0[l].as_slice()[i]) / -gamma;
                        assert!(
                            (grad - moved).abs() < FD_TOL * (1.0 + grad.abs()),
                            "{head} {act} {shape:?} B={batch} layer {l} unit {i}: step {moved} vs \
                             ∂F {grad}"
                        );
                    }
                }
            }
        }
    }
}

/// With a small equal step the relaxation descends the energy, every step, and the early
/// stop reports how many steps it really ran.
#[test]
fn relaxation_descends_the_energy_and_reports_early_stops() {
    let net = net(&[6, 9, 7, 4], Activation::Tanh, Head::SoftmaxCe, 3);
    let x = uniform(6, 3, -1.0, 1.0, 4);
    let y = targets(Head::SoftmaxCe, 4, 3, 5);
    let mut cfg = InferenceConfig {
        clamp: Clamp::Prox { alpha: 2.0, eps: 0.25 },
        steps: 200,
        gamma_top: 0.05,
        gamma_bot: 0.05,
        c: 1.0,
        early_stop: None,
        trace: true,
        start: Start::FeedForward,
    };
    let mut r = Relaxation::new(&net, 3);
    r.feed_forward(&net, &x, Threads::single());
    let full = r.relax(&net, &y, &cfg, Threads::single()).unwrap();
    assert_eq!(full.steps, 200);
    assert_eq!(r.trace.len(), 200);
    assert!(full.energy < full.energy_before);
    // The prox clamp moves with ĥ_{L-1}, so F is not exactly a Lyapunov function; with the
    // full clamp it is, and descent must then be strict.
    cfg.clamp = Clamp::Full;
    r.feed_forward(&net, &x, Threads::single());
    let rep = r.relax(&net, &y, &cfg, Threads::single()).unwrap();
    for w in r.trace.windows(2) {
        assert!(w[1] <= w[0] + 1e-15, "energy rose: {} -> {}", w[0], w[1]);
    }
    assert!(rep.energy < rep.energy_before);

    cfg.early_stop = Some(1e-4);
    r.feed_forward(&net, &x, Threads::single());
    let early = r.relax(&net, &y, &cfg, Threads::single()).unwrap();
    assert!(early.converged && early.steps < 200 && early.steps > 1, "{early:?}");
    assert_eq!(r.trace.len(), early.steps);
    let last = r.trace[early.steps - 1];
    let prev = r.trace[early.steps - 2];
    assert!((last - prev).abs() <= 1e-4 * prev.abs());
}

/// Adam against three steps computed by hand on `w x + b` with MSE at batch 1, where the
/// gradient is `(w x + b - y)·(x, 1)`.
#[test]
fn adam_matches_hand_computed_steps() {
    let mut net = net(&[1, 1], Activation::Identity, Head::IdentityMse, 1);
    net.layers[0].w.set(0, 0, 0.5);
    net.layers[0].b[0] = -0.2;
    let (x, y) = (1.5, 2.0);
    let (lr, b1, b2, eps) = (0.1, 0.9, 0.999, 1e-8);
    let mut algo = algo(Algorithm::BpAdam, lr, 0.0, Head::IdentityMse);
    algo.rule = Rule::Adam(AdamConfig { lr, beta1: b1, beta2: b2, eps });
    let mut tr = trainer(&net, algo, 1);
    let xm = Matrix::from_col_major(1, 1, vec![x]);
    let ym = Matrix::from_col_major(1, 1, vec![y]);

    let (mut w, mut b) = (0.5f64, -0.2f64);
    let (mut mw, mut vw, mut mb, mut vb) = (0.0, 0.0, 0.0, 0.0);
    for t in 1..=3 {
        let r = w * x + b - y;
        let (gw, gb) = (r * x, r);
        mw = b1 * mw + (1.0 - b1) * gw;
        vw = b2 * vw + (1.0 - b2) * gw * gw;
        mb = b1 * mb + (1.0 - b1) * gb;
        vb = b2 * vb + (1.0 - b2) * gb * gb;
        let c1 = 1.0 - b1.powi(t);
        let c2 = 1.0 - b2.powi(t);
        w -= lr * (mw / c1) / ((vw / c2).sqrt() + eps);
        b -= lr * (mb / c1) / ((vb / c2).sqrt() + eps);

        tr.step(&mut net, &xm, &ym).unwrap();
        assert!((net.layers[0].w.get(0, 0) - w).abs() < 1e-14, "step {t}: w");
        assert!((net.layers[0].b[0] - b).abs() < 1e-14, "step {t}: b");
    }
}

/// BP-prox at batch 1 on one linear MSE layer equals IL-prox there (no hidden layer, so no
/// inference): both are the closed-form implicit step (fact 1 holds for both).
#[test]
fn bp_prox_equals_il_prox_without_hidden_layers() {
    let base = net(&[5, 3], Activation::Relu, Head::IdentityMse, 2);
    let x = uniform(5, 1, -1.0, 1.0, 3);
    let y = uniform(3, 1, -1.0, 1.0, 4);
    for &alpha in ALPHAS {
        let mut a = base.clone();
        let mut b = base.clone();
        trainer(&a, algo(Algorithm::BpProx, alpha, 0.0, Head::IdentityMse), 1)
            .step(&mut a, &x, &y)
            .unwrap();
        trainer(&b, algo(Algorithm::IlProx, alpha, 0.0, Head::IdentityMse), 1)
            .step(&mut b, &x, &y)
            .unwrap();
        assert!(max_abs_diff(&a.params(), &b.params()) < 1e-12, "α={alpha}");
    }
}

/// The local rule of IL with inference switched off (T = 0, no clamp effect on hidden
/// layers) reduces to backprop's output-layer gradient: a check of the sign and scale of
/// `G = -mean e aᵀ` against backprop, independent of the relaxation.
#[test]
fn local_gradient_at_the_output_matches_backprop_with_full_clamp_and_no_inference() {
    for head in Head::ALL {
        let base = net(&[4, 6, 3], Activation::Tanh, head, 8);
        let x = uniform(4, 3, -1.0, 1.0, 9);
        let y = targets(head, 3, 3, 10);
        let mut il = base.clone();
        let mut a = algo(Algorithm::IlSgd, 0.1, 0.0, head);
        if let Method::Inference(cfg) = &mut a.method {
            cfg.steps = 0;
        }
        trainer(&il, a, 3).step(&mut il, &x, &y).unwrap();
        let mut bp = base.clone();
        trainer(&bp, algo(Algorithm::BpSgd, 0.1, 0.0, head), 3).step(&mut bp, &x, &y).unwrap();
        // The top layer's change agrees; lower layers do not move under IL with T = 0.
        assert!(max_abs_diff(il.layers[1].w.as_slice(), bp.layers[1].w.as_slice()) < 1e-14);
        assert!(max_abs_diff(&il.layers[1].b, &bp.layers[1].b) < 1e-14);
        assert_eq!(il.layers[0], base.layers[0]);
    }
}
