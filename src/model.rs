//! The model: dense layers, activations, output heads and the feed-forward pass.
//!
//! A network has layers `l = 0..L`; layer 0 is the input and `L` the output. The weights
//! `W_l` (`n_{l+1} x n_l`) and bias `b_l` carry layer `l` to `l + 1`:
//!
//! ```text
//! h_0 = x,    a_l = f_l(h_l),    h_{l+1} = W_l a_l + b_l,    output = σ(h_L)
//! ```
//!
//! `f_0` is the identity (inputs are never squashed), every hidden layer uses the same
//! [`Activation`] `f`, and the [`Head`] fixes the output link `σ` together with its loss.
//! Each head pairs a link with its canonical loss, so that `σ(p) - y` is the gradient of the
//! loss with respect to the logits `p`, for every head.

use std::fmt;
use std::str::FromStr;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::linalg::{Float, Matrix, Threads, affine};

/// The hidden activation `f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    Identity,
}

impl Activation {
    #[inline(always)]
    pub fn apply<T: Float>(self, h: T) -> T {
        match self {
            Activation::Relu => h.max(T::ZERO),
            Activation::Tanh => h.tanh(),
            Activation::Sigmoid => sigmoid(h),
            Activation::Identity => h,
        }
    }

    /// `f'(h)`, the derivative of [`Activation::apply`] at the pre-activation `h`.
    /// ReLU's derivative at 0 is taken as 0.
    #[inline(always)]
    pub fn derivative<T: Float>(self, h: T) -> T {
        match self {
            Activation::Relu => {
                if h > T::ZERO {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Activation::Tanh => {
                let t = h.tanh();
                T::ONE - t * t
            }
            Activation::Sigmoid => {
                let s = sigmoid(h);
                s * (T::ONE - s)
            }
            Activation::Identity => T::ONE,
        }
    }

    /// `out = f(h)` elementwise, adopting `h`'s shape.
    pub fn apply_into<T: Float>(self, h: &Matrix<T>, out: &mut Matrix<T>) {
        out.set_cols(h.cols());
        for (o, &v) in out.as_mut_slice().iter_mut().zip(h.as_slice()) {
            *o = self.apply(v);
        }
    }

    pub const ALL: [Activation; 4] =
        [Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::Identity];

    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Identity => "identity",
        }
    }
}

/// The logistic function, computed without overflow for large `|h|`.
#[inline(always)]
pub fn sigmoid<T: Float>(h: T) -> T {
    if h >= T::ZERO {
        T::ONE / (T::ONE + (-h).exp())
    } else {
        let e = h.exp();
        e / (T::ONE + e)
    }
}

/// `ln(1 + e^h)`, stable for every `h`.
#[inline(always)]
fn softplus<T: Float>(h: T) -> T {
    h.max(T::ZERO) + (-h.abs()).exp().ln_1p()
}

/// The output head: a link `σ` and its canonical loss `ℓ(y, p)` on the logits `p`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Head {
    /// Softmax with cross-entropy `-Σ_k y_k log softmax_k(p)`: classification.
    SoftmaxCe,
    /// Sigmoid with binary cross-entropy summed over outputs: autoencoders, multi-label.
    SigmoidBce,
    /// Identity link with `½‖p - y‖²`: regression.
    IdentityMse,
}

impl Head {
    pub const ALL: [Head; 3] = [Head::SoftmaxCe, Head::SigmoidBce, Head::IdentityMse];

    pub fn name(self) -> &'static str {
        match self {
            Head::SoftmaxCe => "softmax-ce",
            Head::SigmoidBce => "sigmoid-bce",
            Head::IdentityMse => "identity-mse",
        }
    }

    /// `s = σ(p)` column by column, adopting `p`'s shape.
    pub fn link<T: Float>(self, p: &Matrix<T>, s: &mut Matrix<T>) {
        s.set_cols(p.cols());
        match self {
            Head::SoftmaxCe => {
                for (sc, pc) in s.as_mut_slice().chunks_exact_mut(p.rows()).zip(p.columns()) {
                    let m = pc.iter().copied().fold(pc[0], T::max);
                    let mut z = T::ZERO;
                    for (o, &v) in sc.iter_mut().zip(pc) {
                        *o = (v - m).exp();
                        z += *o;
                    }
                    for o in sc.iter_mut() {
                        *o /= z;
                    }
                }
            }
            Head::SigmoidBce => {
                for (o, &v) in s.as_mut_slice().iter_mut().zip(p.as_slice()) {
                    *o = sigmoid(v);
                }
            }
            Head::IdentityMse => s.as_mut_slice().copy_from_slice(p.as_slice()),
        }
    }

    /// The loss of one sample, `ℓ(y, p)`, from its logits `p`. `y` may be any target, soft or
    /// hard; for cross-entropy its entries are taken as weights of `-log softmax(p)`.
    pub fn sample_loss<T: Float>(self, y: &[T], p: &[T]) -> T {
        match self {
            Head::SoftmaxCe => {
                let m = p.iter().copied().fold(p[0], T::max);
                let lse = m + p.iter().map(|&v| (v - m).exp()).sum::<T>().ln();
                y.iter().zip(p).map(|(&yk, &pk)| yk * (lse - pk)).sum()
            }
            Head::SigmoidBce => y.iter().zip(p).map(|(&yk, &pk)| softplus(pk) - yk * pk).sum(),
            Head::IdentityMse => {
                let half = T::from_f64(0.5);
                y.iter().zip(p).map(|(&yk, &pk)| half * (pk - yk) * (pk - yk)).sum()
            }
        }
    }

    /// The summed loss over the columns of `y` and `p`.
    pub fn loss_sum<T: Float>(self, y: &Matrix<T>, p: &Matrix<T>) -> T {
        y.columns().zip(p.columns()).map(|(yc, pc)| self.sample_loss(yc, pc)).sum()
    }
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Activation::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| {
            format!("unknown activation {s:?}; expected relu, tanh, sigmoid or identity")
        })
    }
}

impl FromStr for Head {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Head::ALL.into_iter().find(|h| h.name() == s).ok_or_else(|| {
            format!("unknown head {s:?}; expected softmax-ce, sigmoid-bce or identity-mse")
        })
    }
}

/// The shape of a network: layer widths `n_0..n_L`, hidden activations and head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Widths `n_0, n_1, ..., n_L`, input first. At least two entries.
    pub sizes: Vec<usize>,
    /// The activation of every hidden layer, unless `hidden_activations` says otherwise.
    pub activation: Activation,
    pub head: Head,
    /// Empty, or one activation per hidden layer (`f_1..f_{L-1}`), overriding `activation`:
    /// the bottleneck networks of the missing-data benchmark have a ReLU layer, then a
    /// linear one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_activations: Vec<Activation>,
}

impl Architecture {
    /// Widths, one activation for every hidden layer, and a head.
    pub fn new(sizes: Vec<usize>, activation: Activation, head: Head) -> Self {
        Architecture { sizes, activation, head, hidden_activations: Vec::new() }
    }
}

/// One dense layer: `h_{l+1} = W_l a_l + b_l`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<T> {
    /// `n_{l+1} x n_l`, column-major.
    pub w: Matrix<T>,
    /// `n_{l+1}`; stays zero when `bias` is off.
    pub b: Vec<T>,
    /// Whether the layer has a trained bias. Off only for a PROMISSING first layer, whose
    /// bias is carried as the weight on its `q/p` input (see `ilnet::inputs`).
    pub bias: bool,
}

impl<T: Float> Dense<T> {
    pub fn fan_in(&self) -> usize {
        self.w.cols()
    }

    pub fn fan_out(&self) -> usize {
        self.w.rows()
    }
}

/// A feed-forward network.
#[derive(Clone, Debug, PartialEq)]
pub struct Network<T> {
    pub arch: Architecture,
    /// `layers[l]` carries layer `l` to `l + 1`; there are `L` of them.
    pub layers: Vec<Dense<T>>,
}

impl<T: Float> Network<T> {
    /// A network initialised uniformly in `±1/sqrt(fan_in)`, weights and biases alike, from
    /// its own random stream seeded by `seed`.
    ///
    /// # Panics
    /// If `arch.sizes` has fewer than two entries or a zero width.
    pub fn new(arch: Architecture, seed: u64) -> Self {
        assert!(arch.sizes.len() >= 2, "a network needs an input and an output layer");
        assert!(arch.sizes.iter().all(|&n| n > 0), "layer widths must be positive");
        assert!(
            arch.hidden_activations.is_empty()
                || arch.hidden_activations.len() == arch.sizes.len() - 2,
            "hidden_activations needs one entry per hidden layer"
        );
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layers = arch
            .sizes
            .windows(2)
            .map(|w| {
                let (n_in, n_out) = (w[0], w[1]);
                let bound = 1.0 / (n_in as f64).sqrt();
                let mut draw = || T::from_f64(rng.random_range(-bound..bound));
                let weights = Matrix::from_fn(n_out, n_in, |_, _| draw());
                let b = (0..n_out).map(|_| draw()).collect();
                Dense { w: weights, b, bias: true }
            })
            .collect();
        Network { arch, layers }
    }

    /// Switches off the first layer's bias (and zeroes it), for PROMISSING inputs.
    pub fn disable_first_bias(&mut self) {
        let first = &mut self.layers[0];
        first.bias = false;
        first.b.fill(T::ZERO);
    }

    /// `L`, the number of weight layers.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    pub fn sizes(&self) -> &[usize] {
        &self.arch.sizes
    }

    pub fn input_size(&self) -> usize {
        self.arch.sizes[0]
    }

    pub fn output_size(&self) -> usize {
        *self.arch.sizes.last().expect("sizes is non-empty")
    }

    /// `f_l`: identity for the input layer, the hidden activation of layer `l` above it.
    pub fn activation_of(&self, l: usize) -> Activation {
        match l {
            0 => Activation::Identity,
            _ => self.arch.hidden_activations.get(l - 1).copied().unwrap_or(self.arch.activation),
        }
    }

    /// The number of trained parameters.
    pub fn num_params(&self) -> usize {
        self.layers.iter().map(|d| d.w.rows() * d.w.cols() + d.b.len()).sum()
    }

    /// All parameters in one vector: per layer, `W_l` column-major then `b_l`.
    pub fn params(&self) -> Vec<T> {
        let mut v = Vec::with_capacity(self.num_params());
        for d in &self.layers {
            v.extend_from_slice(d.w.as_slice());
            v.extend_from_slice(&d.b);
        }
        v
    }

    /// The inverse of [`Network::params`].
    ///
    /// # Panics
    /// If `v` has the wrong length.
    pub fn set_params(&mut self, v: &[T]) {
        assert_eq!(v.len(), self.num_params(), "set_params: wrong parameter count");
        let mut k = 0;
        for d in &mut self.layers {
            let nw = d.w.as_slice().len();
            d.w.as_mut_slice().copy_from_slice(&v[k..k + nw]);
            k += nw;
            let nb = d.b.len();
            d.b.copy_from_slice(&v[k..k + nb]);
            k += nb;
        }
    }

    /// The feed-forward pass on the columns of `x`; fills `buf` with every `h_l` and `a_l` and
    /// returns the output `σ(h_L)`.
    pub fn forward<'b>(
        &self,
        x: &Matrix<T>,
        buf: &'b mut Forward<T>,
        threads: Threads,
    ) -> &'b Matrix<T> {
        let l_max = self.depth();
        buf.ensure(self, x.cols());
        buf.h[0].copy_from(x);
        buf.a[0].copy_from(x);
        for l in 0..l_max {
            let (lo, hi) = buf.h.split_at_mut(l + 1);
            affine(&mut hi[0], &self.layers[l].w, &self.layers[l].b, &buf.a[l], threads);
            let _ = lo;
            if l + 1 < l_max {
                let f = self.activation_of(l + 1);
                let (h, a) = (&buf.h[l + 1], &mut buf.a[l + 1]);
                f.apply_into(h, a);
            }
        }
        self.arch.head.link(&buf.h[l_max], &mut buf.out);
        &buf.out
    }

    /// Test metrics on a whole data set, fed through in chunks of `chunk` samples.
    ///
    /// `x` is `n_0 x N`, `y` is `n_L x N` (one-hot for classification).
    pub fn evaluate(
        &self,
        x: &Matrix<T>,
        y: &Matrix<T>,
        chunk: usize,
        threads: Threads,
    ) -> Metrics {
        let n = x.cols();
        let mut buf = Forward::new(self, chunk.min(n).max(1));
        let mut xs = Matrix::zeros(x.rows(), 0);
        let mut ys = Matrix::zeros(y.rows(), 0);
        let mut acc = MetricSums::default();
        let mut start = 0;
        while start < n {
            let end = (start + chunk).min(n);
            slice_cols(x, start, end, &mut xs);
            slice_cols(y, start, end, &mut ys);
            self.forward(&xs, &mut buf, threads);
            acc.add(self.arch.head, &ys, &buf.h[self.depth()], &buf.out);
            start = end;
        }
        acc.finish()
    }
}

/// Copies columns `start..end` of `src` into `dst`.
pub fn slice_cols<T: Float>(src: &Matrix<T>, start: usize, end: usize, dst: &mut Matrix<T>) {
    dst.set_cols(end - start);
    let r = src.rows();
    dst.as_mut_slice().copy_from_slice(&src.as_slice()[start * r..end * r]);
}

/// The buffers of a feed-forward pass: `h_l` and `a_l` for every layer, and the output.
#[derive(Clone, Debug)]
pub struct Forward<T> {
    pub h: Vec<Matrix<T>>,
    pub a: Vec<Matrix<T>>,
    pub out: Matrix<T>,
}

impl<T: Float> Forward<T> {
    pub fn new(net: &Network<T>, batch: usize) -> Self {
        let h: Vec<_> = net.sizes().iter().map(|&n| Matrix::zeros(n, batch)).collect();
        let a = h.clone();
        Forward { h, a, out: Matrix::zeros(net.output_size(), batch) }
    }

    fn ensure(&mut self, net: &Network<T>, batch: usize) {
        if self.h.len() != net.sizes().len() {
            *self = Forward::new(net, batch);
        }
    }
}

/// What an evaluation reports, averaged over samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The proper loss of the head, mean over samples.
    pub loss: f64,
    /// Classification accuracy (argmax of the output against argmax of the target).
    pub accuracy: f64,
    /// `mean_n Σ_k (σ_k - y_k)²`, the paper's test "loss" for classifiers.
    pub brier: f64,
    pub samples: usize,
}

#[derive(Default)]
struct MetricSums {
    loss: f64,
    correct: usize,
    brier: f64,
    n: usize,
}

impl MetricSums {
    fn add<T: Float>(&mut self, head: Head, y: &Matrix<T>, p: &Matrix<T>, out: &Matrix<T>) {
        self.loss += head.loss_sum(y, p).to_f64();
        for (yc, oc) in y.columns().zip(out.columns()) {
            if argmax(yc) == argmax(oc) {
                self.correct += 1;
            }
            self.brier +=
                yc.iter().zip(oc).map(|(&a, &b)| ((b - a) * (b - a)).to_f64()).sum::<f64>();
        }
        self.n += y.cols();
    }

    fn finish(self) -> Metrics {
        let n = self.n.max(1) as f64;
        Metrics {
            loss: self.loss / n,
            accuracy: self.correct as f64 / n,
            brier: self.brier / n,
            samples: self.n,
        }
    }
}

/// The index of the largest entry (the first one on ties); NaN never wins.
pub fn argmax<T: Float>(v: &[T]) -> usize {
    let mut best = 0;
    for (k, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = k;
        }
    }
    best
}

/// A one-hot `classes x N` matrix for `labels`.
pub fn one_hot<T: Float>(labels: &[u32], classes: usize) -> Matrix<T> {
    let mut m = Matrix::zeros(classes, labels.len());
    for (j, &c) in labels.iter().enumerate() {
        m.set(c as usize, j, T::ONE);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd<T: Float>(f: impl Fn(f64) -> f64, x: f64) -> f64 {
        let h = 1e-6;
        let _ = T::ZERO;
        (f(x + h) - f(x - h)) / (2.0 * h)
    }

    /// `derivative` is the derivative of `apply`, checked by central differences away from
    /// ReLU's kink.
    #[test]
    fn activation_derivatives_match_finite_differences() {
        for act in Activation::ALL {
            for &x in &[-2.3, -0.4, 0.3, 1.7] {
                let want = fd::<f64>(|v| act.apply(v), x);
                let got = act.derivative(x);
                assert!((want - got).abs() < 1e-7, "{act}: at {x} {got} vs {want}");
            }
        }
    }

    /// `σ(p) - y` is the gradient of every head's loss with respect to the logits, for a
    /// normalised target (the identity the whole IL engine rests on).
    #[test]
    fn link_minus_target_is_the_loss_gradient() {
        let p = [0.3, -1.2, 2.0, 0.1, -0.5];
        let y = [0.1, 0.2, 0.4, 0.25, 0.05];
        for head in Head::ALL {
            let pm = Matrix::from_col_major(5, 1, p.to_vec());
            let mut s = Matrix::zeros(5, 1);
            head.link(&pm, &mut s);
            for k in 0..5 {
                let f = |v: f64| {
                    let mut q = p;
                    q[k] = v;
                    head.sample_loss(&y, &q)
                };
                let want = fd::<f64>(f, p[k]);
                let got = s.get(k, 0) - y[k];
                assert!((want - got).abs() < 1e-7, "{head}: component {k}: {got} vs {want}");
            }
        }
    }

    /// Softmax and the stable sigmoid stay finite on extreme logits.
    #[test]
    fn links_are_stable_on_large_logits() {
        let p = Matrix::from_col_major(3, 1, vec![1000.0f32, -1000.0, 0.0]);
        let mut s = Matrix::zeros(3, 1);
        Head::SoftmaxCe.link(&p, &mut s);
        assert_eq!(s.as_slice(), &[1.0, 0.0, 0.0]);
        Head::SigmoidBce.link(&p, &mut s);
        assert_eq!(s.as_slice(), &[1.0, 0.0, 0.5]);
        let y = [0.0f32, 1.0, 0.0];
        assert!(Head::SigmoidBce.sample_loss(&y, p.as_slice()).is_finite());
        assert!(Head::SoftmaxCe.sample_loss(&y, p.as_slice()).is_finite());
    }

    /// The initialisation respects its bound and is a pure function of the seed.
    #[test]
    fn init_is_bounded_and_seeded() {
        let arch = Architecture::new(vec![9, 4, 1], Activation::Relu, Head::IdentityMse);
        let a = Network::<f32>::new(arch.clone(), 7);
        let b = Network::<f32>::new(arch.clone(), 7);
        let c = Network::<f32>::new(arch, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        for v in a.layers[0].w.as_slice() {
            assert!(v.abs() <= 1.0 / 3.0);
        }
        assert!(a.layers[1].b[0].abs() <= 0.5);
    }
}
