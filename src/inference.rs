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
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{NonFinite, Quantity};
use crate::linalg::{
    Float, Matrix, Op, Threads, add_bias, affine, clear_upper_state, gemm, matvec_pair, sub_into,
    sum_squares, vectorised,
};
use crate::model::{Activation, Network, slice_cols};

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

/// Samples per chunk of the relaxation.
///
/// A batch relaxes as consecutive chunks of `CHUNK` columns (the last one may be narrower),
/// and chunks relax independently: every step of section 3, the prox clamp included, is per
/// sample, and a chunk's products run on one thread. The split depends on the batch size
/// alone and chunk energies are summed in chunk order, so a relaxation gives the same bits
/// on any number of threads. With 32 columns a batch of 64 makes one chunk per core of a
/// 2-core machine; 16-column chunks made the step about 15% slower on one thread (faer's
/// products lose speed on narrow operands).
pub const CHUNK: usize = 32;

/// The buffers of the inference phase, sized once and reused: the loop allocates nothing.
///
/// Index `l` is the layer; every matrix is `n_l x B`. These whole-batch buffers hold the
/// feed-forward pass and, after [`Relaxation::relax`], the final state; the relaxation itself
/// runs on per-chunk copies (see [`CHUNK`]).
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
    /// The free energy after each step, when [`InferenceConfig::trace`] is set.
    pub trace: Vec<f64>,
    chunks: Vec<Chunk<T>>,
}

impl<T: Float> Relaxation<T> {
    /// Buffers for `net` and batches of up to `batch` samples.
    pub fn new(net: &Network<T>, batch: usize) -> Self {
        let m = |n: usize| Matrix::zeros(n, batch);
        let sizes = net.sizes();
        let depth = net.depth();
        let width = batch.min(CHUNK);
        Relaxation {
            hhat: sizes.iter().map(|&n| m(n)).collect(),
            a: sizes[..depth].iter().map(|&n| m(n)).collect(),
            p: sizes.iter().enumerate().map(|(l, &n)| m(if l == 0 { 0 } else { n })).collect(),
            e: sizes.iter().enumerate().map(|(l, &n)| m(if l == 0 { 0 } else { n })).collect(),
            s: m(net.output_size()),
            trace: Vec::new(),
            chunks: (0..batch.div_ceil(CHUNK)).map(|_| Chunk::new(net, width)).collect(),
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
    /// of the final activities and the output is clamped with them. Chunks of the batch run
    /// in parallel when `threads` allows (see [`CHUNK`]).
    pub fn relax(
        &mut self,
        net: &Network<T>,
        y: &Matrix<T>,
        cfg: &InferenceConfig<T>,
        threads: Threads,
    ) -> Result<InferenceReport, NonFinite> {
        let depth = net.depth();
        let batch = y.cols();
        let random = matches!(cfg.start, Start::Random(_));
        if let Start::Random(seed) = cfg.start {
            self.random_start(net, seed);
        }
        let used = batch.div_ceil(CHUNK);
        while self.chunks.len() < used {
            self.chunks.push(Chunk::new(net, CHUNK));
        }
        for (k, chunk) in self.chunks[..used].iter_mut().enumerate() {
            let (start, end) = (k * CHUNK, ((k + 1) * CHUNK).min(batch));
            chunk.load(&self.hhat, &self.a, &self.p, &self.s, y, start, end);
        }
        let chunks = &mut self.chunks[..used];
        for_each_chunk(chunks, threads, |c| {
            if random {
                c.predict_all(net);
            }
            c.clamp(cfg.clamp);
        });
        let energy_before = batch_energy(chunks, net, cfg.c, batch);
        self.trace.clear();
        let mut energy = energy_before;
        let mut steps = 0;
        let mut converged = false;

        // Without an energy to watch, each chunk runs all its steps in one task.
        let watch = cfg.trace || cfg.early_stop.is_some();
        let burst = if watch { 1 } else { cfg.steps };
        while energy.is_finite() && steps < cfg.steps {
            let n = burst.min(cfg.steps - steps);
            for_each_chunk(chunks, threads, |c| {
                for _ in 0..n {
                    c.step(net, cfg);
                }
            });
            steps += n;

            if watch {
                let next = batch_energy(chunks, net, cfg.c, batch);
                if cfg.trace {
                    self.trace.push(next);
                }
                if let Some(tol) = cfg.early_stop {
                    if (next - energy).abs() <= tol.to_f64() * energy.abs() {
                        converged = true;
                    }
                }
                energy = next;
                if converged {
                    break;
                }
            }
        }
        if !watch && steps > 0 {
            energy = batch_energy(chunks, net, cfg.c, batch);
        }
        for (k, chunk) in self.chunks[..used].iter().enumerate() {
            let start = k * CHUNK;
            chunk.store(&mut self.hhat, &mut self.a, &mut self.p, &mut self.e, &mut self.s, start);
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

    /// Replaces the hidden activities by standard normal draws, drawn over the whole batch
    /// in column-major order, and sets `a_l = f(ĥ_l)`; the chunks recompute the predictions.
    fn random_start(&mut self, net: &Network<T>, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let depth = net.depth();
        for l in 1..depth {
            for v in self.hhat[l].as_mut_slice() {
                *v = T::from_f64(standard_normal(&mut rng));
            }
            net.activation_of(l).apply_into(&self.hhat[l], &mut self.a[l]);
        }
    }

    /// The free energy of the current state, batch mean (see [`free_energy`]).
    pub fn energy(&self, net: &Network<T>, c: T) -> f64 {
        energy_sum(net, &self.hhat, &self.p, c).to_f64() / self.hhat[0].cols().max(1) as f64
    }
}

/// Runs `f` on every chunk, spread over at most `threads` workers. Which worker runs a chunk
/// never changes what the chunk computes.
fn for_each_chunk<T: Float>(
    chunks: &mut [Chunk<T>],
    threads: Threads,
    f: impl Fn(&mut Chunk<T>) + Sync,
) {
    if threads.0 > 1 && chunks.len() > 1 {
        let per_worker = chunks.len().div_ceil(threads.0);
        chunks.par_chunks_mut(per_worker).for_each(|group| {
            clear_upper_state();
            group.iter_mut().for_each(&f);
        });
    } else {
        chunks.iter_mut().for_each(f);
    }
}

/// The batch-mean free energy of the chunks' state, summed in chunk order.
fn batch_energy<T: Float>(chunks: &[Chunk<T>], net: &Network<T>, c: T, batch: usize) -> f64 {
    let total: f64 = chunks.iter().map(|k| energy_sum(net, &k.hhat, &k.p, c).to_f64()).sum();
    total / batch.max(1) as f64
}

/// `Σ_n F_n` over the columns of `hhat` and `p` (indexed by layer; layer 0 is not read).
fn energy_sum<T: Float>(net: &Network<T>, hhat: &[Matrix<T>], p: &[Matrix<T>], c: T) -> T {
    let depth = net.depth();
    let mut total = T::ZERO;
    for l in 1..depth {
        let d = hhat[l].as_slice().iter().zip(p[l].as_slice());
        total += d.map(|(&h, &p)| (h - p) * (h - p)).sum::<T>() * T::from_f64(0.5);
    }
    total + c * net.arch.head.loss_sum(&hhat[depth], &p[depth])
}

/// The relaxation state of one chunk of at most [`CHUNK`] samples, indexed like
/// [`Relaxation`] (`n_l x C`); layer 0 is never relaxed, so only `a_0` is kept of it.
#[derive(Clone, Debug)]
struct Chunk<T> {
    /// `ĥ_1..ĥ_L`.
    hhat: Vec<Matrix<T>>,
    /// `a_0..a_{L-1}`; `a_0` is the input, read by the prox clamp of a network without
    /// hidden layers.
    a: Vec<Matrix<T>>,
    /// `p_1..p_L`; `p_1` is fixed.
    p: Vec<Matrix<T>>,
    /// `e_1..e_L`.
    e: Vec<Matrix<T>>,
    /// `σ(p_L)`.
    s: Matrix<T>,
    /// The targets of the chunk's samples.
    y: Matrix<T>,
    /// `W_lᵀ e_{l+1}` for the hidden layers.
    back: Vec<Matrix<T>>,
}

impl<T: Float> Chunk<T> {
    fn new(net: &Network<T>, width: usize) -> Self {
        let depth = net.depth();
        let sizes = net.sizes();
        let layers = |from: usize, upto: usize| -> Vec<Matrix<T>> {
            let rows = |l: usize, n: usize| if (from..=upto).contains(&l) { n } else { 0 };
            sizes.iter().enumerate().map(|(l, &n)| Matrix::zeros(rows(l, n), width)).collect()
        };
        Chunk {
            hhat: layers(1, depth),
            a: layers(0, depth - 1),
            p: layers(1, depth),
            e: layers(1, depth),
            back: layers(1, depth - 1),
            s: Matrix::zeros(net.output_size(), width),
            y: Matrix::zeros(net.output_size(), width),
        }
    }

    /// Copies columns `start..end` of the whole-batch state and of `y` into the chunk.
    #[allow(clippy::too_many_arguments)]
    fn load(
        &mut self,
        hhat: &[Matrix<T>],
        a: &[Matrix<T>],
        p: &[Matrix<T>],
        s: &Matrix<T>,
        y: &Matrix<T>,
        start: usize,
        end: usize,
    ) {
        let depth = self.hhat.len() - 1;
        for l in 1..=depth {
            slice_cols(&hhat[l], start, end, &mut self.hhat[l]);
            slice_cols(&p[l], start, end, &mut self.p[l]);
        }
        for (src, dst) in a[..depth].iter().zip(&mut self.a) {
            slice_cols(src, start, end, dst);
        }
        slice_cols(s, start, end, &mut self.s);
        slice_cols(y, start, end, &mut self.y);
    }

    /// Writes the chunk's state back into columns from `start` of the whole-batch buffers.
    fn store(
        &self,
        hhat: &mut [Matrix<T>],
        a: &mut [Matrix<T>],
        p: &mut [Matrix<T>],
        e: &mut [Matrix<T>],
        s: &mut Matrix<T>,
        start: usize,
    ) {
        let depth = self.hhat.len() - 1;
        for l in 1..=depth {
            hhat[l].paste_cols(start, &self.hhat[l]);
            p[l].paste_cols(start, &self.p[l]);
            e[l].set_cols(hhat[l].cols());
            e[l].paste_cols(start, &self.e[l]);
            if l < depth {
                a[l].paste_cols(start, &self.a[l]);
            }
        }
        s.paste_cols(start, &self.s);
    }

    /// One synchronous relaxation step: all errors, then every hidden layer and the
    /// prediction it sends up, then the clamp.
    fn step(&mut self, net: &Network<T>, cfg: &InferenceConfig<T>) {
        let depth = net.depth();
        self.errors(depth, cfg.c);
        for l in 1..depth {
            self.update_layer(net, l, cfg.gamma_top, cfg.gamma_bot);
        }
        net.arch.head.link(&self.p[depth], &mut self.s);
        self.clamp(cfg.clamp);
    }

    /// `e_l = ĥ_l - p_l` for hidden layers and `e_L = c·(ĥ_L - σ(p_L))`.
    fn errors(&mut self, depth: usize, c: T) {
        for l in 1..depth {
            sub_into(&self.hhat[l], &self.p[l], &mut self.e[l]);
        }
        let e_out = &mut self.e[depth];
        e_out.set_cols(self.s.cols());
        let out = self.hhat[depth].as_slice().iter().zip(self.s.as_slice());
        vectorised(
            #[inline(always)]
            || {
                for (e, (&h, &s)) in e_out.as_mut_slice().iter_mut().zip(out) {
                    *e = c * (h - s);
                }
            },
        );
    }

    /// `ĥ_l ← ĥ_l - γ_top·e_l + γ_bot·f'(ĥ_l) ⊙ (W_lᵀ e_{l+1})`, `a_l = f(ĥ_l)`, then
    /// `p_{l+1} = W_l a_l + b_l`. Only the errors of the step are read, so the layers can go
    /// one at a time.
    ///
    /// A single sample takes one pass over `W_l` for both products ([`matvec_pair`]): at
    /// batch 1 reading the weights is the cost.
    fn update_layer(&mut self, net: &Network<T>, l: usize, gamma_top: T, gamma_bot: T) {
        let layer = &net.layers[l];
        let f = net.activation_of(l);
        let p_up = &mut self.p[l + 1];
        let (h, a, e) = (&mut self.hhat[l], &mut self.a[l], &self.e[l]);
        if h.cols() == 1 {
            let (h, a, e) = (h.as_mut_slice(), a.as_mut_slice(), e.as_slice());
            let up = self.e[l + 1].as_slice();
            // ReLU is flat wherever it is silent: `f'(ĥ_j) = 0` where `a_j = 0`.
            let skip_silent = matches!(f, Activation::Relu);
            matvec_pair(&layer.w, up, p_up.as_mut_slice(), a, skip_silent, |start, back, a| {
                let n = back.len();
                let (h, e) = (&mut h[start..start + n], &e[start..start + n]);
                relax_units(f, h, a, e, back, gamma_top, gamma_bot);
            });
            add_bias(p_up, &layer.b);
            return;
        }
        let back = &mut self.back[l];
        back.set_cols(h.cols());
        gemm(back, false, &layer.w, Op::T, &self.e[l + 1], Op::N, T::ONE, Threads::single());
        let (h, a) = (h.as_mut_slice(), a.as_mut_slice());
        relax_units(f, h, a, e.as_slice(), back.as_slice(), gamma_top, gamma_bot);
        affine(p_up, &layer.w, &layer.b, &self.a[l], Threads::single());
    }

    /// `p_l = W_{l-1} a_{l-1} + b_{l-1}` for `l = 2..L`, then `s = σ(p_L)`.
    fn predict_all(&mut self, net: &Network<T>) {
        let depth = net.depth();
        for l in 1..depth {
            let (w, b) = (&net.layers[l].w, &net.layers[l].b);
            affine(&mut self.p[l + 1], w, b, &self.a[l], Threads::single());
        }
        net.arch.head.link(&self.p[depth], &mut self.s);
    }

    /// Sets `ĥ_L` from `s = σ(p_L)`, `y` and, for the prox clamp, `a_{L-1}`.
    fn clamp(&mut self, clamp: Clamp<T>) {
        let depth = self.hhat.len() - 1;
        let y = &self.y;
        let out = &mut self.hhat[depth];
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
                    let norm = sum_squares(a_top.col(j));
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
}

/// `ĥ ← ĥ - γ_top·e + γ_bot·f'(ĥ) ⊙ back` and `a = f(ĥ)`, entry by entry: the update of
/// one hidden layer given `back = W_lᵀ e_{l+1}`.
fn relax_units<T: Float>(
    f: Activation,
    h: &mut [T],
    a: &mut [T],
    e: &[T],
    back: &[T],
    gamma_top: T,
    gamma_bot: T,
) {
    #[inline(always)]
    fn run<T: Float>(
        f: impl Fn(T) -> T,
        slope: impl Fn(T) -> T,
        (h, a, e, back): (&mut [T], &mut [T], &[T], &[T]),
        (gamma_top, gamma_bot): (T, T),
    ) {
        let terms = e.iter().zip(back);
        for ((hv, av), (&ev, &bk)) in h.iter_mut().zip(a.iter_mut()).zip(terms) {
            let next = *hv - gamma_top * ev + gamma_bot * slope(*hv) * bk;
            *hv = next;
            *av = f(next);
        }
    }
    let bufs = (h, a, e, back);
    let gammas = (gamma_top, gamma_bot);
    // One loop per activation, each compiled with the activation known.
    vectorised(
        #[inline(always)]
        || match f {
            Activation::Relu => {
                let relu = Activation::Relu;
                run(|v| relu.apply(v), |v| relu.derivative(v), bufs, gammas)
            }
            Activation::Tanh => {
                let tanh = Activation::Tanh;
                run(|v| tanh.apply(v), |v| tanh.derivative(v), bufs, gammas)
            }
            Activation::Sigmoid => {
                let sig = Activation::Sigmoid;
                run(|v| sig.apply(v), |v| sig.derivative(v), bufs, gammas)
            }
            Activation::Identity => {
                let id = Activation::Identity;
                run(|v| id.apply(v), |v| id.derivative(v), bufs, gammas)
            }
        },
    );
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

/// One draw from `N(0, 1)` by the Box-Muller transform.
pub(crate) fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
