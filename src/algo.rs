//! The named algorithms, as presets over one engine, and the trainer that runs them.
//!
//! Each algorithm is a [`Method`] (how `Δθ` is found: backprop, the inference phase, or the
//! proximal solve) and a weight [`Rule`]. The presets are those of the paper's reference
//! settings; every field can be overridden through [`Hyper`].
//!
//! | algorithm      | method                         | T  | γ_bot / γ_top | rule       | c   |
//! | -------------- | ------------------------------ | -- | ------------- | ---------- | --- |
//! | `bp-sgd`       | backprop                       | –  | –             | SGD        | –   |
//! | `bp-adam`      | backprop                       | –  | –             | Adam       | –   |
//! | `bp-prox`      | backprop on the prox target    | –  | –             | NLMS       | –   |
//! | `il-sgd`       | inference, full clamp          | 25 | 0.02 / 0.015  | SGD        | 0.5 |
//! | `il-adam`      | inference, soft clamp n = 0.95 | 20 | 0.02 / 0.01   | Adam       | 0.5 |
//! | `il-prox`      | inference, prox clamp          | 25 | 0.015 / 0.015 | NLMS       | 1   |
//! | `il-prox-fast` | inference, prox clamp          | 12 | 0.025 / 0     | NLMS       | 1   |
//! | `il-prox-adam` | inference, prox clamp          | 20 | 0.02 / 0.015  | NLMS+Adam  | 1   |
//! | `implicit-sgd` | proximal step, solved          | –  | –             | –          | –   |
//!
//! With the sigmoid-BCE head (autoencoders) `il-sgd` and `il-prox` use γ 0.012 / 0.012 and
//! `il-prox-fast` 0.02 / 0. The prox normaliser offset ε defaults to 0.25 and the fixed Adam
//! step of `il-prox-adam` to 3e-5.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{NonFinite, Quantity};
use crate::implicit::{self, ImplicitConfig};
use crate::inference::{Clamp, InferenceConfig, Relaxation, Start};
use crate::learn::apply_update;
use crate::learn::layer_gradient;
use crate::learn::{AdamConfig, Backprop, DirectUpdate, Params, Rule, RuleState, UpdateNorms};
use crate::linalg::{Float, Matrix, Threads, sub_into, sum_squares};
use crate::model::{Forward, Head, Network};

/// The algorithms ilnet trains with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    BpSgd,
    BpAdam,
    BpProx,
    IlSgd,
    IlAdam,
    IlProx,
    IlProxFast,
    IlProxAdam,
    ImplicitSgd,
}

impl Algorithm {
    pub const ALL: [Algorithm; 9] = [
        Algorithm::BpSgd,
        Algorithm::BpAdam,
        Algorithm::BpProx,
        Algorithm::IlSgd,
        Algorithm::IlAdam,
        Algorithm::IlProx,
        Algorithm::IlProxFast,
        Algorithm::IlProxAdam,
        Algorithm::ImplicitSgd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::BpSgd => "bp-sgd",
            Algorithm::BpAdam => "bp-adam",
            Algorithm::BpProx => "bp-prox",
            Algorithm::IlSgd => "il-sgd",
            Algorithm::IlAdam => "il-adam",
            Algorithm::IlProx => "il-prox",
            Algorithm::IlProxFast => "il-prox-fast",
            Algorithm::IlProxAdam => "il-prox-adam",
            Algorithm::ImplicitSgd => "implicit-sgd",
        }
    }

    /// Whether the algorithm's learning rate is α, the step of implicit SGD.
    pub fn lr_is_alpha(self) -> bool {
        matches!(
            self,
            Algorithm::BpProx
                | Algorithm::IlProx
                | Algorithm::IlProxFast
                | Algorithm::IlProxAdam
                | Algorithm::ImplicitSgd
        )
    }

    /// Whether the algorithm runs the inference phase.
    pub fn is_inference(self) -> bool {
        matches!(
            self,
            Algorithm::IlSgd
                | Algorithm::IlAdam
                | Algorithm::IlProx
                | Algorithm::IlProxFast
                | Algorithm::IlProxAdam
        )
    }

    /// The default learning rate (α for the prox family): the paper's choice for streaming
    /// MNIST where it has one, else its CIFAR-10 choice.
    pub fn default_lr(self) -> f64 {
        match self {
            Algorithm::BpSgd => 0.015,
            Algorithm::BpAdam => 1e-4,
            Algorithm::BpProx => 5.0,
            Algorithm::IlSgd => 0.05,
            Algorithm::IlAdam => 1e-5,
            Algorithm::IlProx => 5.0,
            Algorithm::IlProxFast => 3.0,
            Algorithm::IlProxAdam => 100.0,
            Algorithm::ImplicitSgd => 5.0,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Algorithm::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| {
            let names: Vec<_> = Algorithm::ALL.iter().map(|a| a.name()).collect();
            format!("unknown algorithm {s:?}; expected one of {}", names.join(", "))
        })
    }
}

/// Overrides of an algorithm's preset; `None` keeps the preset.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hyper {
    /// The tuned learning rate: the SGD or Adam step, or α for the prox family.
    pub lr: Option<f64>,
    /// ε, the prox normaliser offset (default 0.25).
    pub eps: Option<f64>,
    /// T, inference steps.
    pub steps: Option<usize>,
    pub gamma_top: Option<f64>,
    pub gamma_bot: Option<f64>,
    /// c, the output-term weight of the free energy.
    pub c: Option<f64>,
    /// n, the soft-clamp weight (`il-adam`).
    pub soft_n: Option<f64>,
    /// The fixed Adam step of `il-prox-adam` (default 3e-5).
    pub adam_lr: Option<f64>,
    pub beta1: Option<f64>,
    pub beta2: Option<f64>,
    pub adam_eps: Option<f64>,
    /// Early stop of inference on the relative energy change (default off).
    pub early_stop: Option<f64>,
    /// Relative gradient tolerance of the `implicit-sgd` solve (default 1e-6).
    pub tol: Option<f64>,
    /// Iteration cap of the `implicit-sgd` solve (default 500).
    pub max_iter: Option<usize>,
}

/// How an algorithm finds its gradient.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Method<T> {
    /// Backprop of the head's loss against `y`, or against the prox target
    /// `(σ(p_L) + αNy)/(1 + αN)` when `prox` is set.
    Backprop { prox: Option<(T, T)> },
    /// The inference phase, then the local gradient.
    Inference(InferenceConfig<T>),
    /// The proximal step itself, solved numerically (closed form for one linear MSE layer).
    Implicit(ImplicitConfig<T>),
}

/// A fully resolved algorithm: method and rule, every number fixed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Algo<T> {
    pub algorithm: Algorithm,
    pub method: Method<T>,
    pub rule: Rule<T>,
}

/// A hyperparameter that is out of its range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{name} = {value} is invalid for {algorithm}: expected {expected}")]
pub struct InvalidHyper {
    pub algorithm: Algorithm,
    pub name: &'static str,
    pub value: f64,
    pub expected: &'static str,
}

impl Algorithm {
    /// Resolves the preset with `hyper`'s overrides, for a network with head `head`.
    pub fn resolve<T: Float>(self, hyper: &Hyper, head: Head) -> Result<Algo<T>, InvalidHyper> {
        let check = |name: &'static str, value: f64, ok: bool, expected: &'static str| {
            if ok && value.is_finite() {
                Ok(value)
            } else {
                Err(InvalidHyper { algorithm: self, name, value, expected })
            }
        };
        let lr = hyper.lr.unwrap_or(self.default_lr());
        let lr = check("lr", lr, lr > 0.0, "a positive number")?;
        let eps = hyper.eps.unwrap_or(0.25);
        let eps = check("eps", eps, eps >= 0.0, "a number >= 0")?;
        let t = T::from_f64;
        let adam = |step: f64| -> Result<AdamConfig<T>, InvalidHyper> {
            let b1 = hyper.beta1.unwrap_or(0.9);
            let b1 = check("beta1", b1, (0.0..1.0).contains(&b1), "a number in [0, 1)")?;
            let b2 = hyper.beta2.unwrap_or(0.999);
            let b2 = check("beta2", b2, (0.0..1.0).contains(&b2), "a number in [0, 1)")?;
            let e = hyper.adam_eps.unwrap_or(1e-8);
            let e = check("adam_eps", e, e > 0.0, "a positive number")?;
            Ok(AdamConfig { lr: t(step), beta1: t(b1), beta2: t(b2), eps: t(e) })
        };
        let autoencoder = head == Head::SigmoidBce;

        // (clamp, T, γ_bot, γ_top, c) of the inference presets.
        let preset = match self {
            Algorithm::IlSgd if autoencoder => Some((Clamp::Full, 25, 0.012, 0.012, 0.5)),
            Algorithm::IlSgd => Some((Clamp::Full, 25, 0.02, 0.015, 0.5)),
            Algorithm::IlAdam => {
                let n = hyper.soft_n.unwrap_or(0.95);
                let n = check("soft_n", n, (0.0..=1.0).contains(&n), "a number in [0, 1]")?;
                Some((Clamp::Soft { n: t(n) }, 20, 0.02, 0.01, 0.5))
            }
            Algorithm::IlProx | Algorithm::IlProxFast | Algorithm::IlProxAdam => {
                let clamp = Clamp::Prox { alpha: t(lr), eps: t(eps) };
                Some(match self {
                    Algorithm::IlProx if autoencoder => (clamp, 25, 0.012, 0.012, 1.0),
                    Algorithm::IlProx => (clamp, 25, 0.015, 0.015, 1.0),
                    Algorithm::IlProxFast if autoencoder => (clamp, 12, 0.02, 0.0, 1.0),
                    Algorithm::IlProxFast => (clamp, 12, 0.025, 0.0, 1.0),
                    _ => (clamp, 20, 0.02, 0.015, 1.0),
                })
            }
            _ => None,
        };
        let method = match preset {
            Some((clamp, steps, gamma_bot, gamma_top, c)) => {
                let gamma_bot = hyper.gamma_bot.unwrap_or(gamma_bot);
                let gamma_bot = check("gamma_bot", gamma_bot, gamma_bot >= 0.0, "a number >= 0")?;
                let gamma_top = hyper.gamma_top.unwrap_or(gamma_top);
                let gamma_top = check("gamma_top", gamma_top, gamma_top >= 0.0, "a number >= 0")?;
                let c = hyper.c.unwrap_or(c);
                let c = check("c", c, c > 0.0, "a positive number")?;
                let early_stop = match hyper.early_stop {
                    Some(tol) => Some(t(check("early_stop", tol, tol >= 0.0, "a number >= 0")?)),
                    None => None,
                };
                Method::Inference(InferenceConfig {
                    clamp,
                    steps: hyper.steps.unwrap_or(steps),
                    gamma_top: t(gamma_top),
                    gamma_bot: t(gamma_bot),
                    c: t(c),
                    early_stop,
                    trace: false,
                    start: Start::FeedForward,
                })
            }
            None => match self {
                Algorithm::BpProx => Method::Backprop { prox: Some((t(lr), t(eps))) },
                Algorithm::ImplicitSgd => {
                    let tol = hyper.tol.unwrap_or(1e-6);
                    let tol = check("tol", tol, tol > 0.0, "a positive number")?;
                    let max_iter = hyper.max_iter.unwrap_or(500);
                    Method::Implicit(ImplicitConfig { alpha: t(lr), tol, max_iter })
                }
                _ => Method::Backprop { prox: None },
            },
        };
        let rule = match self {
            Algorithm::BpSgd | Algorithm::IlSgd => Rule::Sgd { lr: t(lr) },
            Algorithm::BpAdam | Algorithm::IlAdam => Rule::Adam(adam(lr)?),
            Algorithm::IlProxAdam => {
                let step = hyper.adam_lr.unwrap_or(3e-5);
                let step = check("adam_lr", step, step > 0.0, "a positive number")?;
                Rule::NlmsAdam { eps: t(eps), adam: adam(step)? }
            }
            _ => Rule::Nlms { eps: t(eps) },
        };
        Ok(Algo { algorithm: self, method, rule })
    }
}

/// What one training step reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    /// The batch-mean loss of the feed-forward pass before the update.
    pub loss: f64,
    /// Norms of the parameter change.
    pub update: UpdateNorms,
    /// Free energy after the first clamp and after inference (IL only).
    pub energy_before: Option<f64>,
    pub energy_after: Option<f64>,
    /// Inference steps run (IL only).
    pub inference_steps: Option<usize>,
    /// Iterations of the proximal solve (`implicit-sgd` only).
    pub solver_iterations: Option<usize>,
}

/// Trains a network with one algorithm, owning every buffer a step needs.
#[derive(Clone, Debug)]
pub struct Trainer<T> {
    pub algo: Algo<T>,
    pub state: RuleState<T>,
    /// Steps completed so far.
    pub step: u64,
    pub threads: Threads,
    fwd: Forward<T>,
    bp: Backprop<T>,
    relax: Relaxation<T>,
    delta: Params<T>,
    /// The per-layer factor of the direct rules (see [`Rule::direct_scale`]).
    scales: Vec<T>,
    direct: DirectUpdate<T>,
}

impl<T: Float> Trainer<T> {
    /// A trainer for `net` and batches of up to `batch` samples.
    pub fn new(net: &Network<T>, algo: Algo<T>, batch: usize, threads: Threads) -> Self {
        let inference = matches!(algo.method, Method::Inference(_));
        let bp_batch = if inference { 0 } else { batch };
        let relax_batch = if inference { batch } else { 0 };
        Trainer {
            state: RuleState::new(net, &algo.rule),
            algo,
            step: 0,
            threads,
            fwd: Forward::new(net, bp_batch),
            bp: Backprop::new(net, bp_batch),
            relax: Relaxation::new(net, relax_batch),
            delta: Params::zeros_like(net),
            scales: vec![T::ONE; net.depth()],
            direct: DirectUpdate::new(net, batch),
        }
    }

    /// The inference buffers (the state after the last IL step), for analysis.
    pub fn relaxation(&self) -> &Relaxation<T> {
        &self.relax
    }

    /// One step on the batch `x` (`n_0 x B`) with targets `y` (`n_L x B`).
    ///
    /// On a non-finite value the network is left as it was and the error names the step,
    /// the layer and the quantity.
    pub fn step(
        &mut self,
        net: &mut Network<T>,
        x: &Matrix<T>,
        y: &Matrix<T>,
    ) -> Result<StepStats, NonFinite> {
        let result = self.step_inner(net, x, y);
        self.step += 1;
        result.map_err(|e| NonFinite { step: self.step, ..e })
    }

    fn step_inner(
        &mut self,
        net: &mut Network<T>,
        x: &Matrix<T>,
        y: &Matrix<T>,
    ) -> Result<StepStats, NonFinite> {
        let depth = net.depth();
        let batch = x.cols();
        let inv_b = T::ONE / T::from_usize(batch);
        let threads = self.threads;
        let head = net.arch.head;
        let mut stats = StepStats::default();

        match self.algo.method {
            Method::Implicit(cfg) => {
                let mut fwd = Forward::new(net, batch);
                net.forward(x, &mut fwd, threads);
                stats.loss = finite_loss(head.loss_sum(y, &fwd.h[depth]), batch, &fwd.h)?;
                let before = net.clone();
                let report = if implicit::has_closed_form(net) {
                    implicit::closed_form_linear(net, x, y, cfg.alpha);
                    None
                } else {
                    Some(implicit::solve(net, x, y, &cfg, threads))
                };
                stats.solver_iterations = report.map(|r| r.iterations);
                // Express the solve as a change so the same finiteness check applies.
                for l in 0..depth {
                    let (new, old) = (&net.layers[l], &before.layers[l]);
                    let pairs = new.w.as_slice().iter().zip(old.w.as_slice());
                    for (d, (&a, &b)) in self.delta.w[l].as_mut_slice().iter_mut().zip(pairs) {
                        *d = a - b;
                    }
                    for (d, (&a, &b)) in self.delta.b[l].iter_mut().zip(new.b.iter().zip(&old.b)) {
                        *d = a - b;
                    }
                }
                *net = before;
                stats.update = apply_update(net, &self.delta)?;
                return Ok(stats);
            }
            Method::Backprop { prox } => {
                net.forward(x, &mut self.fwd, threads);
                stats.loss = finite_loss(head.loss_sum(y, &self.fwd.h[depth]), batch, &self.fwd.h)?;
                let g = &mut self.bp.delta[depth];
                g.set_cols(batch);
                match prox {
                    None => sub_into(&self.fwd.out, y, g),
                    Some((alpha, eps)) => {
                        // g = σ(p) - t with t = (σ(p) + αNy)/(1 + αN), i.e. αN/(1 + αN)·(σ(p) - y).
                        let a_top = &self.fwd.a[depth - 1];
                        for j in 0..batch {
                            let norm = sum_squares(a_top.col(j));
                            let k = alpha * (norm + T::ONE + eps);
                            let w = k / (T::ONE + k);
                            let pairs = self.fwd.out.col(j).iter().zip(y.col(j));
                            for (gv, (&s, &yv)) in g.col_mut(j).iter_mut().zip(pairs) {
                                *gv = w * (s - yv);
                            }
                        }
                    }
                }
                let mut direct = true;
                for l in 0..depth {
                    match self.algo.rule.direct_scale(&self.fwd.a[l], net.layers[l].bias) {
                        Some(k) => self.scales[l] = k,
                        None => direct = false,
                    }
                }
                let grads = if direct { None } else { Some(&mut self.delta) };
                self.bp.run(net, &self.fwd, &self.scales, grads, threads);
                if direct {
                    let g = &self.bp.delta;
                    stats.update = self.direct.apply(net, g, &self.fwd.a, &self.scales, threads)?;
                } else {
                    self.algo.rule.adam_in_place(
                        &mut self.delta,
                        &self.fwd.a,
                        &net.layers,
                        &mut self.state,
                    );
                    stats.update = apply_update(net, &self.delta)?;
                }
            }
            Method::Inference(cfg) => {
                if !self.relax.fits(net) {
                    self.relax = Relaxation::new(net, batch);
                }
                self.relax.feed_forward(net, x, threads);
                let loss = head.loss_sum(y, &self.relax.p[depth]);
                stats.loss = finite_loss(loss, batch, &self.relax.p)?;
                let report = self.relax.relax(net, y, &cfg, threads)?;
                stats.energy_before = Some(report.energy_before);
                stats.energy_after = Some(report.energy);
                stats.inference_steps = Some(report.steps);

                // g_{l+1} = -e_{l+1}: the errors left after inference, without c at the top.
                let relax = &mut self.relax;
                for l in 0..depth {
                    let pred = if l + 1 == depth { &relax.s } else { &relax.p[l + 1] };
                    let g = &mut relax.e[l + 1];
                    g.set_cols(batch);
                    let pairs = pred.as_slice().iter().zip(relax.hhat[l + 1].as_slice());
                    for (gv, (&p, &h)) in g.as_mut_slice().iter_mut().zip(pairs) {
                        *gv = p - h;
                    }
                }
                let rule = self.algo.rule;
                let mut direct = true;
                for l in 0..depth {
                    match rule.direct_scale(&relax.a[l], net.layers[l].bias) {
                        Some(k) => self.scales[l] = k,
                        None => direct = false,
                    }
                }
                if direct {
                    stats.update =
                        self.direct.apply(net, &relax.e, &relax.a, &self.scales, threads)?;
                } else {
                    for l in 0..depth {
                        let (gw, gb) = (&mut self.delta.w[l], &mut self.delta.b[l]);
                        layer_gradient(&relax.e[l + 1], &relax.a[l], inv_b, gw, gb, threads);
                    }
                    rule.adam_in_place(&mut self.delta, &relax.a, &net.layers, &mut self.state);
                    stats.update = apply_update(net, &self.delta)?;
                }
            }
        }
        self.state.t += 1;
        Ok(stats)
    }
}

/// The batch-mean loss, or the first layer whose activity went non-finite.
fn finite_loss<T: Float>(sum: T, batch: usize, h: &[Matrix<T>]) -> Result<f64, NonFinite> {
    let loss = sum.to_f64() / batch as f64;
    if loss.is_finite() {
        return Ok(loss);
    }
    for (l, m) in h.iter().enumerate().skip(1) {
        if m.first_non_finite().is_some() {
            return Err(NonFinite::at(l, Quantity::Activity));
        }
    }
    Err(NonFinite::at(h.len() - 1, Quantity::Loss))
}
