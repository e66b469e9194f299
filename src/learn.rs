//! Weight learning: gradients (backprop and local), the weight rules, and the checked update.
//!
//! Every rule starts from a per-layer gradient of the same form,
//!
//! ```text
//! G_W_l = (1/B) Σ_n g_{l+1,n} a_{l,n}ᵀ,      G_b_l = (1/B) Σ_n g_{l+1,n}
//! ```
//!
//! where `a_l` is what layer `l` sends up and `g_{l+1}` is, per sample, the derivative of the
//! loss with respect to `h_{l+1}`. Backprop gets `g` by the chain rule; the local rule of
//! inference learning uses `g_{l+1} = -e_{l+1}`, the prediction error left after inference
//! (`e_L = ĥ_L - σ(p_L)` at the output, without the weight `c`). The [`Rule`] then turns `G`
//! into the change `Δθ`:
//!
//! - SGD: `Δθ = -lr·G`;
//! - Adam: one Adam per layer on `G`;
//! - NLMS: `Δθ_l = -G_l / N_l`, `N_l = mean_n ‖a_l‖² + 1 + ε`, step 1 (IL-prox, BP-prox);
//! - NLMS + Adam: Adam on `G_l / N_l`.

use serde::{Deserialize, Serialize};

use crate::error::{NonFinite, Quantity};
use crate::linalg::{Float, Matrix, Op, Threads, dot_f64, gemm, max_abs_finite};
use crate::model::{Dense, Forward, Network};

/// Adam's settings (PyTorch's form: bias-corrected moments, `eps` outside the root).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig<T> {
    pub lr: T,
    pub beta1: T,
    pub beta2: T,
    pub eps: T,
}

impl<T: Float> AdamConfig<T> {
    /// Adam with the usual `β = (0.9, 0.999)`, `eps = 1e-8` and step `lr`.
    pub fn with_lr(lr: T) -> Self {
        AdamConfig {
            lr,
            beta1: T::from_f64(0.9),
            beta2: T::from_f64(0.999),
            eps: T::from_f64(1e-8),
        }
    }
}

/// How a gradient becomes a parameter change.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Rule<T> {
    Sgd {
        lr: T,
    },
    Adam(AdamConfig<T>),
    /// Normalised least mean squares: step 1, divided by `mean_n ‖a_l‖² + 1 + ε`.
    Nlms {
        eps: T,
    },
    NlmsAdam {
        eps: T,
        adam: AdamConfig<T>,
    },
}

/// Per-layer parameter-shaped buffers: gradients or changes.
#[derive(Clone, Debug, PartialEq)]
pub struct Params<T> {
    pub w: Vec<Matrix<T>>,
    pub b: Vec<Vec<T>>,
}

impl<T: Float> Params<T> {
    /// Zeros shaped like `net`'s parameters.
    pub fn zeros_like(net: &Network<T>) -> Self {
        Params {
            w: net.layers.iter().map(|d| Matrix::zeros(d.w.rows(), d.w.cols())).collect(),
            b: net.layers.iter().map(|d| vec![T::ZERO; d.b.len()]).collect(),
        }
    }

    /// Whether these buffers have `net`'s shapes.
    pub fn fits(&self, net: &Network<T>) -> bool {
        self.w.len() == net.depth()
            && self
                .w
                .iter()
                .zip(&net.layers)
                .all(|(m, d)| m.rows() == d.w.rows() && m.cols() == d.w.cols())
    }
}

/// `G_W = alpha · g aᵀ` and `G_b = alpha · Σ_n g_n` for one layer; `g` is `n_{l+1} x B`, `a`
/// is `n_l x B`.
pub fn layer_gradient<T: Float>(
    g: &Matrix<T>,
    a: &Matrix<T>,
    alpha: T,
    gw: &mut Matrix<T>,
    gb: &mut [T],
    threads: Threads,
) {
    gemm(gw, false, g, Op::N, a, Op::T, alpha, threads);
    gb.fill(T::ZERO);
    for col in g.columns() {
        for (b, &v) in gb.iter_mut().zip(col) {
            *b += v;
        }
    }
    for b in gb.iter_mut() {
        *b *= alpha;
    }
}

/// `N_l = mean_n ‖a_{l,n}‖² + 1 + ε`, the NLMS normaliser of a layer with input `a`.
///
/// The `1` is the squared bias input; a layer without a bias (`bias = false`) leaves it out,
/// so that the update still realises its targets exactly.
pub fn nlms_norm<T: Float>(a: &Matrix<T>, eps: T, bias: bool) -> T {
    let one = if bias { T::ONE } else { T::ZERO };
    a.norm2() / T::from_usize(a.cols().max(1)) + one + eps
}

/// The buffers of backprop: `δ_l = ∂(Σ_n loss_n)/∂h_l` for `l = 1..L`.
#[derive(Clone, Debug)]
pub struct Backprop<T> {
    pub delta: Vec<Matrix<T>>,
    /// `W_lᵀ δ_{l+1}`, per layer.
    back: Vec<Matrix<T>>,
}

impl<T: Float> Backprop<T> {
    pub fn new(net: &Network<T>, batch: usize) -> Self {
        let m = || net.sizes().iter().map(|&n| Matrix::zeros(n, batch)).collect();
        Backprop { delta: m(), back: m() }
    }

    /// Backpropagates `δ_L` (set by the caller in `self.delta[L]`) through the feed-forward
    /// pass in `fwd`, writing `δ_l = f'(h_l) ⊙ W_lᵀ δ_{l+1}` and, when `grads` is given,
    /// `scales[l] · G_l` with `G_l = (1/B) δ_{l+1} a_lᵀ`.
    pub fn run(
        &mut self,
        net: &Network<T>,
        fwd: &Forward<T>,
        scales: &[T],
        mut grads: Option<&mut Params<T>>,
        threads: Threads,
    ) {
        let depth = net.depth();
        let batch = fwd.h[0].cols();
        let inv_b = T::ONE / T::from_usize(batch.max(1));
        for l in (0..depth).rev() {
            if let Some(grads) = grads.as_deref_mut() {
                let (gw, gb) = (&mut grads.w[l], &mut grads.b[l]);
                layer_gradient(&self.delta[l + 1], &fwd.a[l], scales[l] * inv_b, gw, gb, threads);
            }
            if l == 0 {
                break;
            }
            let back = &mut self.back[l];
            back.set_cols(batch);
            gemm(back, false, &net.layers[l].w, Op::T, &self.delta[l + 1], Op::N, T::ONE, threads);
            let f = net.activation_of(l);
            let d = &mut self.delta[l];
            d.set_cols(batch);
            let pairs = back.as_slice().iter().zip(fwd.h[l].as_slice());
            for (dv, (&bk, &h)) in d.as_mut_slice().iter_mut().zip(pairs) {
                *dv = f.derivative(h) * bk;
            }
        }
    }
}

/// The state a rule keeps between steps: Adam's moments and its step count.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleState<T> {
    /// Adam's first and second moments, shaped like the parameters (empty for SGD and NLMS).
    pub m: Option<Params<T>>,
    pub v: Option<Params<T>>,
    /// Updates applied so far (Adam's `t`).
    pub t: u64,
}

impl<T: Float> RuleState<T> {
    pub fn new(net: &Network<T>, rule: &Rule<T>) -> Self {
        let adam = matches!(rule, Rule::Adam(_) | Rule::NlmsAdam { .. });
        RuleState {
            m: adam.then(|| Params::zeros_like(net)),
            v: adam.then(|| Params::zeros_like(net)),
            t: 0,
        }
    }
}

impl<T: Float> Rule<T> {
    /// The factor `k` with `Δθ_l = k · G_l` when the rule is a pure rescaling (SGD, NLMS),
    /// given the layer's input `a_l`; `None` for the Adam rules.
    pub fn direct_scale(&self, a: &Matrix<T>, bias: bool) -> Option<T> {
        match *self {
            Rule::Sgd { lr } => Some(-lr),
            Rule::Nlms { eps } => Some(-T::ONE / nlms_norm(a, eps, bias)),
            Rule::Adam(_) | Rule::NlmsAdam { .. } => None,
        }
    }

    /// Turns gradients `g` into changes, in place, for the Adam rules (for the others the
    /// change was written directly; see [`Rule::direct_scale`]). `inputs[l]` is `a_l`.
    pub fn adam_in_place(
        &self,
        g: &mut Params<T>,
        inputs: &[Matrix<T>],
        layers: &[Dense<T>],
        state: &mut RuleState<T>,
    ) {
        let (adam, eps) = match *self {
            Rule::Adam(adam) => (adam, None),
            Rule::NlmsAdam { eps, adam } => (adam, Some(eps)),
            _ => return,
        };
        let t = state.t as i32 + 1;
        let (m, v) = match (state.m.as_mut(), state.v.as_mut()) {
            (Some(m), Some(v)) => (m, v),
            _ => panic!("adam state missing: RuleState::new was made for another rule"),
        };
        let c1 = T::ONE - adam.beta1.powi(t);
        let c2 = T::ONE - adam.beta2.powi(t);
        for (l, input) in inputs.iter().enumerate().take(g.w.len()) {
            let scale = match eps {
                Some(eps) => T::ONE / nlms_norm(input, eps, layers[l].bias),
                None => T::ONE,
            };
            let moments = AdamMoments { adam, scale, c1, c2 };
            pulp::Arch::new().dispatch(AdamPass {
                moments,
                g: g.w[l].as_mut_slice(),
                m: m.w[l].as_mut_slice(),
                v: v.w[l].as_mut_slice(),
            });
            moments.pass(&mut g.b[l], &mut m.b[l], &mut v.b[l]);
        }
    }
}

/// One layer's Adam arithmetic: `x = scale·g`, the moments, and the bias-corrected step.
#[derive(Clone, Copy)]
struct AdamMoments<T> {
    adam: AdamConfig<T>,
    scale: T,
    c1: T,
    c2: T,
}

impl<T: Float> AdamMoments<T> {
    #[inline(always)]
    fn pass(&self, g: &mut [T], m: &mut [T], v: &mut [T]) {
        let a = self.adam;
        let (b1, b2) = (a.beta1, a.beta2);
        for ((gv, mv), vv) in g.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()) {
            let x = *gv * self.scale;
            *mv = b1 * *mv + (T::ONE - b1) * x;
            *vv = b2 * *vv + (T::ONE - b2) * x * x;
            *gv = -a.lr * (*mv / self.c1) / ((*vv / self.c2).sqrt() + a.eps);
        }
    }
}

/// [`AdamMoments::pass`] over a weight matrix, compiled for the CPU's vector width: the
/// square root and division per entry are the whole cost of Adam at batch 1.
struct AdamPass<'a, T> {
    moments: AdamMoments<T>,
    g: &'a mut [T],
    m: &'a mut [T],
    v: &'a mut [T],
}

impl<T: Float> pulp::WithSimd for AdamPass<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        self.moments.pass(self.g, self.m, self.v);
    }
}

/// Norms of one update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateNorms {
    /// `‖ΔW‖` over all weight matrices.
    pub weights: f64,
    /// `‖Δθ‖` over weights and biases.
    pub total: f64,
}

/// Adds `delta` to `net` after checking that the change and every new parameter are finite.
/// On error nothing is changed.
pub fn apply_update<T: Float>(
    net: &mut Network<T>,
    delta: &Params<T>,
) -> Result<UpdateNorms, NonFinite> {
    let mut w2 = 0.0;
    let mut b2 = 0.0;
    for (l, d) in net.layers.iter().enumerate() {
        let (ok_w, n2) = check_sum(d.w.as_slice(), delta.w[l].as_slice());
        if !ok_w {
            return Err(NonFinite::at(l, which(delta.w[l].as_slice(), Quantity::Weights)));
        }
        w2 += n2;
        if !d.bias {
            continue;
        }
        let (ok_b, n2) = check_sum(&d.b, &delta.b[l]);
        if !ok_b {
            return Err(NonFinite::at(l, which(&delta.b[l], Quantity::Bias)));
        }
        b2 += n2;
    }
    for (l, d) in net.layers.iter_mut().enumerate() {
        for (w, &dv) in d.w.as_mut_slice().iter_mut().zip(delta.w[l].as_slice()) {
            *w += dv;
        }
        if d.bias {
            for (b, &dv) in d.b.iter_mut().zip(&delta.b[l]) {
                *b += dv;
            }
        }
    }
    Ok(UpdateNorms { weights: w2.sqrt(), total: (w2 + b2).sqrt() })
}

/// The update of the rescaling rules applied in place; holds its `B x B` Gram buffers and
/// the bias changes.
#[derive(Clone, Debug)]
pub struct DirectUpdate<T> {
    gram_g: Matrix<T>,
    gram_a: Matrix<T>,
    db: Vec<Vec<T>>,
}

/// Half the largest finite value: no weight may be carried past it.
fn overflow_guard<T: Float>() -> f64 {
    if T::NAME == "f32" { 0.5 * f32::MAX as f64 } else { 0.5 * f64::MAX }
}

impl<T: Float> DirectUpdate<T> {
    pub fn new(net: &Network<T>, batch: usize) -> Self {
        DirectUpdate {
            gram_g: Matrix::zeros(batch, batch),
            gram_a: Matrix::zeros(batch, batch),
            db: net.layers.iter().map(|d| vec![T::ZERO; d.b.len()]).collect(),
        }
    }

    /// Applies `W_l += (k_l/B) g_{l+1} a_lᵀ` and `b_l += (k_l/B) Σ_n g_{l+1,n}` to every layer,
    /// the update of the rescaling rules (SGD, NLMS), straight into the weights with one
    /// product per layer.
    ///
    /// Before anything is written it proves that no new entry can overflow: every entry of
    /// the change is bounded by `(|k|/B) Σ_n max|g_n|·max|a_n|`, and `max|W|` plus that bound
    /// must stay under half the float range. A step that fails the test changes nothing and
    /// reports the layer. The change's norm comes from the Gram matrices,
    /// `‖g aᵀ‖² = Σ_{n,m} (g_n·g_m)(a_n·a_m)`, without forming the change.
    ///
    /// `g[l + 1]` and `a[l]` hold `g_{l+1}` and `a_l`; `scales[l]` is `k_l`.
    pub fn apply(
        &mut self,
        net: &mut Network<T>,
        g: &[Matrix<T>],
        a: &[Matrix<T>],
        scales: &[T],
        threads: Threads,
    ) -> Result<UpdateNorms, NonFinite> {
        let depth = net.depth();
        let batch = a[0].cols();
        let inv_b = T::ONE / T::from_usize(batch.max(1));
        let guard = overflow_guard::<T>();
        for l in 0..depth {
            let (g, a) = (&g[l + 1], &a[l]);
            let mut bound = 0.0;
            for n in 0..batch {
                let (mg, ok_g) = max_abs_finite(g.col(n));
                let (ma, ok_a) = max_abs_finite(a.col(n));
                if !(ok_g && ok_a) {
                    return Err(NonFinite::at(l, Quantity::Update));
                }
                bound += mg.to_f64() * ma.to_f64();
            }
            bound *= scales[l].to_f64().abs() / batch.max(1) as f64;
            let (mw, _) = max_abs_finite(net.layers[l].w.as_slice());
            let (mb, _) = max_abs_finite(&net.layers[l].b);
            if !(bound.is_finite() && mw.to_f64().max(mb.to_f64()) + bound < guard) {
                return Err(NonFinite::at(l, Quantity::Weights));
            }
        }
        self.gram_g.reshape(batch, batch);
        self.gram_a.reshape(batch, batch);

        let (mut w2, mut b2) = (0.0, 0.0);
        for l in 0..depth {
            let (g, a) = (&g[l + 1], &a[l]);
            let k = scales[l] * inv_b;
            let layer = &mut net.layers[l];
            gemm(&mut layer.w, true, g, Op::N, a, Op::T, k, threads);
            let db = &mut self.db[l];
            db.fill(T::ZERO);
            for col in g.columns().filter(|_| layer.bias) {
                for (acc, &v) in db.iter_mut().zip(col) {
                    *acc += v;
                }
            }
            for (b, d) in layer.b.iter_mut().zip(db.iter_mut()) {
                *d *= k;
                *b += *d;
            }
            b2 += dot_f64(db, db);

            let (gg, ga) = (&mut self.gram_g, &mut self.gram_a);
            gemm(gg, false, g, Op::T, g, Op::N, T::ONE, Threads::single());
            gemm(ga, false, a, Op::T, a, Op::N, T::ONE, Threads::single());
            w2 += k.to_f64().powi(2) * dot_f64(gg.as_slice(), ga.as_slice());
        }
        Ok(UpdateNorms { weights: w2.sqrt(), total: (w2 + b2).sqrt() })
    }
}

/// Whether every `p + d` is finite (which implies every `d` is), and `Σ d²`.
///
/// Written to vectorise: `(p + d)·0` is NaN exactly when `p + d` is not finite, so one
/// running sum of those products detects any bad entry without a branch.
fn check_sum<T: Float>(p: &[T], d: &[T]) -> (bool, f64) {
    pulp::Arch::new().dispatch(CheckSum(p, d))
}

struct CheckSum<'a, T>(&'a [T], &'a [T]);

impl<T: Float> pulp::WithSimd for CheckSum<'_, T> {
    type Output = (bool, f64);

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> (bool, f64) {
        const LANES: usize = 16;
        let mut probe = [T::ZERO; LANES];
        let mut total = 0.0;
        for (pc, dc) in self.0.chunks(LANES * 64).zip(self.1.chunks(LANES * 64)) {
            let mut n2 = [T::ZERO; LANES];
            let mut pl = pc.chunks_exact(LANES);
            let mut dl = dc.chunks_exact(LANES);
            for (p, d) in (&mut pl).zip(&mut dl) {
                for k in 0..LANES {
                    probe[k] += (p[k] + d[k]) * T::ZERO;
                    n2[k] += d[k] * d[k];
                }
            }
            for (k, (&p, &d)) in pl.remainder().iter().zip(dl.remainder()).enumerate() {
                probe[k] += (p + d) * T::ZERO;
                n2[k] += d * d;
            }
            // Fold into f64 every 1024 entries so that the squares cannot overflow in f32.
            total += n2.iter().map(|v| v.to_f64()).sum::<f64>();
        }
        (probe.iter().all(|v| *v == T::ZERO), total)
    }
}

/// Whether the change itself or only the parameter after it went non-finite.
fn which<T: Float>(d: &[T], after: Quantity) -> Quantity {
    if d.iter().all(|v| v.is_finite()) { after } else { Quantity::Update }
}
