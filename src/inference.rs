//! The inference phase: relaxing the activities toward a clamped output.
//!
//! Terms (one notation with the crate docs): `ĥ_l` is the inferred activity of layer `l`,
//! `p_{l+1} = W_l f_l(ĥ_l) + b_l` its prediction from below, `e_l = ĥ_l - p_l` the error of a
//! hidden layer and `e_L = c·(ĥ_L - σ(p_L))` the weighted output error.
//!
//! One relaxation, for a batch stored as columns:
//!
//! 1. feed forward, `ĥ_l = h_l` for every layer (or a random start, for analysis);
//! 2. clamp the output, `ĥ_L = clamp(σ(p_L), y)` ([`Clamp`]);
//! 3. `T` times, synchronously: all errors first; then for every hidden layer
//!    `ĥ_l ← ĥ_l - γ_top·e_l + γ_bot·f'(ĥ_l) ⊙ (W_lᵀ e_{l+1})`; then the predictions
//!    `p_2..p_L` from the new activities; then the clamp again with the new `p_L` and
//!    `ĥ_{L-1}`.
//!
//! With `γ_top = γ_bot = γ`, step 3 is gradient descent with step `γ` on the free energy
//! `F = Σ_{l<L} ½‖ĥ_l - p_l‖² + c·ℓ(ĥ_L, p_L)`, [`free_energy`]. `p_1 = W_0 x + b_0` does
//! not depend on any inferred activity (the input is clamped) and is computed once.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{NonFinite, Quantity};
use crate::linalg::{Float, Matrix, Op, Threads, affine, gemm};
use crate::model::Network;

/// How the output activity `ĥ_L` is set from the prediction `σ(p_L)` and the target `y`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Clamp<T> {
    /// `ĥ_L = y`.
    Full,
    /// `ĥ_L = n·y + (1 - n)·σ(p_L)`.
    Soft { n: T },
    /// `ĥ_L = (σ(p_L) + α N y) / (1 + α N)` with `N = ‖f(ĥ_{L-1})‖² + 1 + ε` per sample: the
    /// exact minimiser over `ĥ_L` of the proximal objective. The only place α enters IL-prox.
    Prox { alpha: T, eps: T },
}

/// Where the hidden activities start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Start {
    /// `ĥ_l = h_l`, the feed-forward values (the paper's choice, and the default).
    #[default]
    FeedForward,
    /// `ĥ_l ~ N(0, 1)` for the hidden layers, from a stream seeded by the given value. Exists
    /// for analysing the inference phase only.
    Random(u64),
}

/// The settings of one relaxation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct InferenceConfig<T> {
    pub clamp: Clamp<T>,
    /// `T`, the number of relaxation steps.
    pub steps: usize,
    /// `γ_top`, the step toward the prediction from below.
    pub gamma_top: T,
    /// `γ_bot`, the step along the error fed back from above.
    pub gamma_bot: T,
    /// `c`, the weight of the output term in the free energy.
    pub c: T,
    /// Stop early once `|F_t - F_{t-1}| <= tol·|F_{t-1}|`. Off (`None`) by default, as in
    /// the paper.
    pub early_stop: Option<T>,
    /// Record the free energy after every step in [`Relaxation::trace`].
    pub trace: bool,
    pub start: Start,
}

/// What a relaxation did.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct InferenceReport {
    /// Relaxation steps actually run (fewer than `T` only after an early stop).
    pub steps: usize,
    /// The free energy right after the first clamp, batch mean.
    pub energy_before: f64,
    /// The free energy at the end, batch mean.
    pub energy: f64,
    /// Whether the early-stop test was met.
    pub converged: bool,
}

/// The buffers of the inference phase, sized once and reused: the loop allocates nothing.
///
/// Index `l` is the layer; every matrix is `n_l x B`.
#[derive(Clone, Debug)]
pub struct Relaxation<T> {
    /// `ĥ_0..ĥ_L`; `ĥ_0` is the input.
    pub hhat: Vec<Matrix<T>>,
    /// `a_l = f_l(ĥ_l)` for `l = 0..L-1`.
    pub a: Vec<Matrix<T>>,
    /// `p_1..p_L` at indices `1..=L` (index 0 is unused).
    pub p: Vec<Matrix<T>>,
    /// Errors at indices `1..=L` (index 0 is unused).
    pub e: Vec<Matrix<T>>,
    /// `σ(p_L)`.
    pub s: Matrix<T>,
    /// `W_lᵀ e_{l+1}` for the hidden layers.
    back: Vec<Matrix<T>>,
    /// The free energy after each step, when [`InferenceConfig::trace`] is set.
    pub trace: Vec<f64>,
}

impl<T: Float> Relaxation<T> {
    /// Buffers for `net` and batches of up to `batch` samples.
    pub fn new(net: &Network<T>, batch: usize) -> Self {
        let m = |n: usize| Matrix::zeros(n, batch);
        let sizes = net.sizes();
        let depth = net.depth();
        Relaxation {
            hhat: sizes.iter().map(|&n| m(n)).collect(),
            a: sizes[..depth].iter().map(|&n| m(n)).collect(),
            p: sizes.iter().enumerate().map(|(l, &n)| m(if l == 0 { 0 } else { n })).collect(),
            e: sizes.iter().enumerate().map(|(l, &n)| m(if l == 0 { 0 } else { n })).collect(),
            s: m(net.output_size()),
            back: sizes.iter().enumerate().map(|(l, &n)| m(hidden(l, depth, n))).collect(),
            trace: Vec::new(),
        }
    }

    /// Whether these buffers were made for `net`'s shape.
    pub fn fits(&self, net: &Network<T>) -> bool {
        self.hhat.len() == net.sizes().len()
            && self.hhat.iter().zip(net.sizes()).all(|(m, &n)| m.rows() == n)
    }

    /// The feed-forward pass: `ĥ_l = p_l = h_l`, `a_l = f_l(h_l)`, `s = σ(h_L)`.
    pub fn feed_forward(&mut self, net: &Network<T>, x: &Matrix<T>, threads: Threads) {
        let depth = net.depth();
        self.hhat[0].copy_from(x);
        self.a[0].copy_from(x);
        for l in 0..depth {
            affine(&mut self.p[l + 1], &net.layers[l].w, &net.layers[l].b, &self.a[l], threads);
            self.hhat[l + 1].copy_from(&self.p[l + 1]);
            if l + 1 < depth {
                net.activation_of(l + 1).apply_into(&self.hhat[l + 1], &mut self.a[l + 1]);
            }
        }
        net.arch.head.link(&self.p[depth], &mut self.s);
    }

    /// Clamps the output and relaxes the hidden activities, after [`Self::feed_forward`].
    ///
    /// On return `ĥ`, `a`, `p` and `s` describe the final state: the predictions are those
    /// of the final activities and the output is clamped with them.
    pub fn relax(
        &mut self,
        net: &Network<T>,
        y: &Matrix<T>,
        cfg: &InferenceConfig<T>,
        threads: Threads,
    ) -> Result<InferenceReport, NonFinite> {
        let depth = net.depth();
        if let Start::Random(seed) = cfg.start {
            self.random_start(net, seed, threads);
        }
        self.clamp(cfg.clamp, y);
        let energy_before = self.energy(net, cfg.c);
        if !energy_before.is_finite() {
            return Err(self.locate_non_finite(depth));
        }
        self.trace.clear();
        let mut energy = energy_before;
        let mut steps = 0;
        let mut converged = false;

        while steps < cfg.steps {
            self.errors(depth, cfg.c);
            self.update_hidden(net, cfg.gamma_top, cfg.gamma_bot, threads);
            self.predict(net, threads);
            self.clamp(cfg.clamp, y);
            steps += 1;

            if cfg.trace || cfg.early_stop.is_some() {
                let next = self.energy(net, cfg.c);
                if cfg.trace {
                    self.trace.push(next);
                }
                if !next.is_finite() {
                    return Err(self.locate_non_finite(depth));
                }
                if let Some(tol) = cfg.early_stop {
                    if (next - energy).abs() <= tol.to_f64() * energy.abs() {
                        energy = next;
                        converged = true;
                        break;
                    }
                }
                energy = next;
            }
        }
        if !(cfg.trace || cfg.early_stop.is_some()) && steps > 0 {
            energy = self.energy(net, cfg.c);
        }
        if !energy.is_finite() {
            return Err(self.locate_non_finite(depth));
        }
        Ok(InferenceReport { steps, energy_before, energy, converged })
    }

    /// The first layer holding a non-finite activity, as an error.
    fn locate_non_finite(&self, depth: usize) -> NonFinite {
        for l in 1..=depth {
            if self.hhat[l].first_non_finite().is_some() {
                return NonFinite::at(l, Quantity::InferredActivity);
            }
        }
        NonFinite::at(depth, Quantity::Energy)
    }

    /// `e_l = ĥ_l - p_l` for hidden layers and `e_L = c·(ĥ_L - σ(p_L))`.
    fn errors(&mut self, depth: usize, c: T) {
        for l in 1..depth {
            sub_into(&self.hhat[l], &self.p[l], &mut self.e[l]);
        }
        let e_out = &mut self.e[depth];
        e_out.set_cols(self.s.cols());
        let out = self.hhat[depth].as_slice().iter().zip(self.s.as_slice());
        for (e, (&h, &s)) in e_out.as_mut_slice().iter_mut().zip(out) {
            *e = c * (h - s);
        }
    }

    /// `ĥ_l ← ĥ_l - γ_top·e_l + γ_bot·f'(ĥ_l) ⊙ (W_lᵀ e_{l+1})` and `a_l = f(ĥ_l)` for the
    /// hidden layers, all from the errors of the same step.
    fn update_hidden(&mut self, net: &Network<T>, gamma_top: T, gamma_bot: T, threads: Threads) {
        let depth = net.depth();
        for l in 1..depth {
            let back = &mut self.back[l];
            back.set_cols(self.e[l + 1].cols());
            gemm(back, false, &net.layers[l].w, Op::T, &self.e[l + 1], Op::N, T::ONE, threads);
            let f = net.activation_of(l);
            let (h, a) = (&mut self.hhat[l], &mut self.a[l]);
            let terms = self.e[l].as_slice().iter().zip(back.as_slice());
            for ((hv, av), (&e, &bk)) in
                h.as_mut_slice().iter_mut().zip(a.as_mut_slice()).zip(terms)
            {
                let next = *hv - gamma_top * e + gamma_bot * f.derivative(*hv) * bk;
                *hv = next;
                *av = f.apply(next);
            }
        }
    }

    /// `p_l = W_{l-1} a_{l-1} + b_{l-1}` for `l = 2..L`, then `s = σ(p_L)`.
    fn predict(&mut self, net: &Network<T>, threads: Threads) {
        let depth = net.depth();
        for l in 1..depth {
            affine(&mut self.p[l + 1], &net.layers[l].w, &net.layers[l].b, &self.a[l], threads);
        }
        net.arch.head.link(&self.p[depth], &mut self.s);
    }

    /// Sets `ĥ_L` from `s = σ(p_L)`, `y` and, for the prox clamp, `a_{L-1}`.
    fn clamp(&mut self, clamp: Clamp<T>, y: &Matrix<T>) {
        let depth = self.hhat.len() - 1;
        let (below, top) = self.hhat.split_at_mut(depth);
        let _ = below;
        let out = &mut top[0];
        out.set_cols(y.cols());
        match clamp {
            Clamp::Full => out.copy_from(y),
            Clamp::Soft { n } => {
                let pairs = y.as_slice().iter().zip(self.s.as_slice());
                for (o, (&yv, &sv)) in out.as_mut_slice().iter_mut().zip(pairs) {
                    *o = n * yv + (T::ONE - n) * sv;
                }
            }
            Clamp::Prox { alpha, eps } => {
                let a_top = &self.a[depth - 1];
                for j in 0..y.cols() {
                    let norm: T = a_top.col(j).iter().map(|&v| v * v).sum();
                    let k = alpha * (norm + T::ONE + eps);
                    let scale = T::ONE / (T::ONE + k);
                    let pairs = y.col(j).iter().zip(self.s.col(j));
                    for (o, (&yv, &sv)) in out.col_mut(j).iter_mut().zip(pairs) {
                        *o = (sv + k * yv) * scale;
                    }
                }
            }
        }
    }

    /// Replaces the hidden activities by standard normal draws and recomputes what depends
    /// on them.
    fn random_start(&mut self, net: &Network<T>, seed: u64, threads: Threads) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let depth = net.depth();
        for l in 1..depth {
            for v in self.hhat[l].as_mut_slice() {
                *v = T::from_f64(standard_normal(&mut rng));
            }
            net.activation_of(l).apply_into(&self.hhat[l], &mut self.a[l]);
        }
        self.predict(net, threads);
    }

    /// The free energy of the current state, batch mean (see [`free_energy`]).
    pub fn energy(&self, net: &Network<T>, c: T) -> f64 {
        let depth = net.depth();
        let mut total = T::ZERO;
        for l in 1..depth {
            let d = self.hhat[l].as_slice().iter().zip(self.p[l].as_slice());
            total += d.map(|(&h, &p)| (h - p) * (h - p)).sum::<T>() * T::from_f64(0.5);
        }
        total += c * net.arch.head.loss_sum(&self.hhat[depth], &self.p[depth]);
        total.to_f64() / self.hhat[0].cols().max(1) as f64
    }
}

/// The free energy `F = Σ_{l<L} ½‖ĥ_l - p_l‖² + c·ℓ(ĥ_L, p_L)` of activities `hhat`
/// (`ĥ_0 = x` first), batch mean, computed from scratch: the independent reference that the
/// relaxation is tested against.
pub fn free_energy<T: Float>(net: &Network<T>, hhat: &[Matrix<T>], c: T) -> f64 {
    let depth = net.depth();
    let mut total = 0.0;
    for l in 0..depth {
        let mut a = Matrix::zeros(net.sizes()[l], 0);
        net.activation_of(l).apply_into(&hhat[l], &mut a);
        let mut p = Matrix::zeros(net.sizes()[l + 1], hhat[l].cols());
        affine(&mut p, &net.layers[l].w, &net.layers[l].b, &a, Threads::single());
        if l + 1 < depth {
            let d = hhat[l + 1].as_slice().iter().zip(p.as_slice());
            total += d.map(|(&h, &q)| 0.5 * (h - q).to_f64().powi(2)).sum::<f64>();
        } else {
            total += c.to_f64() * net.arch.head.loss_sum(&hhat[depth], &p).to_f64();
        }
    }
    total / hhat[0].cols().max(1) as f64
}

/// Width of the `back` buffer at layer `l`: only hidden layers have one.
fn hidden(l: usize, depth: usize, n: usize) -> usize {
    if l >= 1 && l < depth { n } else { 0 }
}

/// `out = a - b`, adopting `a`'s shape.
fn sub_into<T: Float>(a: &Matrix<T>, b: &Matrix<T>, out: &mut Matrix<T>) {
    out.set_cols(a.cols());
    let pairs = a.as_slice().iter().zip(b.as_slice());
    for (o, (&x, &y)) in out.as_mut_slice().iter_mut().zip(pairs) {
        *o = x - y;
    }
}

/// One draw from `N(0, 1)` by the Box-Muller transform.
pub(crate) fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
