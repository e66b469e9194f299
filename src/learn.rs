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
use crate::linalg::{Float, Matrix, Op, Threads, gemm};
use crate::model::{Forward, Network};

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
pub fn nlms_norm<T: Float>(a: &Matrix<T>, eps: T) -> T {
    a.norm2() / T::from_usize(a.cols().max(1)) + T::ONE + eps
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
    /// pass in `fwd`, writing `δ_l = f'(h_l) ⊙ W_lᵀ δ_{l+1}` and `scales[l] · G_l`, with
    /// `G_l = (1/B) δ_{l+1} a_lᵀ`, into `grads`.
    pub fn run(
        &mut self,
        net: &Network<T>,
        fwd: &Forward<T>,
        scales: &[T],
        grads: &mut Params<T>,
        threads: Threads,
    ) {
        let depth = net.depth();
        let batch = fwd.h[0].cols();
        let inv_b = T::ONE / T::from_usize(batch.max(1));
        for l in (0..depth).rev() {
            let (gw, gb) = (&mut grads.w[l], &mut grads.b[l]);
            layer_gradient(&self.delta[l + 1], &fwd.a[l], scales[l] * inv_b, gw, gb, threads);
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
    pub fn direct_scale(&self, a: &Matrix<T>) -> Option<T> {
        match *self {
            Rule::Sgd { lr } => Some(-lr),
            Rule::Nlms { eps } => Some(-T::ONE / nlms_norm(a, eps)),
            Rule::Adam(_) | Rule::NlmsAdam { .. } => None,
        }
    }

    /// Turns gradients `g` into changes, in place, for the Adam rules (for the others the
    /// change was written directly; see [`Rule::direct_scale`]). `inputs[l]` is `a_l`.
    pub fn adam_in_place(&self, g: &mut Params<T>, inputs: &[Matrix<T>], state: &mut RuleState<T>) {
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
        for l in 0..g.w.len() {
            let scale = match eps {
                Some(eps) => T::ONE / nlms_norm(&inputs[l], eps),
                None => T::ONE,
            };
            let step = |gv: &mut T, mv: &mut T, vv: &mut T| {
                let x = *gv * scale;
                *mv = adam.beta1 * *mv + (T::ONE - adam.beta1) * x;
                *vv = adam.beta2 * *vv + (T::ONE - adam.beta2) * x * x;
                *gv = -adam.lr * (*mv / c1) / ((*vv / c2).sqrt() + adam.eps);
            };
            let ws = g.w[l]
                .as_mut_slice()
                .iter_mut()
                .zip(m.w[l].as_mut_slice())
                .zip(v.w[l].as_mut_slice());
            for ((gv, mv), vv) in ws {
                step(gv, mv, vv);
            }
            let bs = g.b[l].iter_mut().zip(m.b[l].iter_mut()).zip(v.b[l].iter_mut());
            for ((gv, mv), vv) in bs {
                step(gv, mv, vv);
            }
        }
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
        let (ok_d, ok_w, n2) = check_sum(d.w.as_slice(), delta.w[l].as_slice());
        if !ok_d {
            return Err(NonFinite::at(l, Quantity::Update));
        }
        if !ok_w {
            return Err(NonFinite::at(l, Quantity::Weights));
        }
        w2 += n2;
        let (ok_d, ok_b, n2) = check_sum(&d.b, &delta.b[l]);
        if !ok_d {
            return Err(NonFinite::at(l, Quantity::Update));
        }
        if !ok_b {
            return Err(NonFinite::at(l, Quantity::Bias));
        }
        b2 += n2;
    }
    for (l, d) in net.layers.iter_mut().enumerate() {
        for (w, &dv) in d.w.as_mut_slice().iter_mut().zip(delta.w[l].as_slice()) {
            *w += dv;
        }
        for (b, &dv) in d.b.iter_mut().zip(&delta.b[l]) {
            *b += dv;
        }
    }
    Ok(UpdateNorms { weights: w2.sqrt(), total: (w2 + b2).sqrt() })
}

/// Whether every `d` is finite, whether every `p + d` is, and `Σ d²`.
fn check_sum<T: Float>(p: &[T], d: &[T]) -> (bool, bool, f64) {
    let mut ok_sum = true;
    let mut n2 = 0.0;
    for (&pv, &dv) in p.iter().zip(d) {
        let dv64 = dv.to_f64();
        n2 += dv64 * dv64;
        ok_sum &= (pv + dv).is_finite();
    }
    let ok_d = d.iter().all(|v| v.is_finite());
    (ok_d, ok_sum, n2)
}
