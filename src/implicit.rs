//! Implicit SGD: the proximal step that IL-prox approximates.
//!
//! ```text
//! θ' = argmin_θ  φ(θ),    φ(θ) = L(θ) + ‖θ - θ_b‖² / (2α)
//! ```
//!
//! where `L` is the batch-mean loss of the head and `θ_b` the parameters before the step.
//! For one linear layer with the MSE head the minimiser has a closed form
//! ([`closed_form_linear`]); otherwise [`solve`] minimises `φ` by L-BFGS with backprop
//! gradients until `‖∇φ‖ <= tol · ‖∇φ(θ_b)‖`.

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use serde::{Deserialize, Serialize};

use crate::learn::{Backprop, Params};
use crate::linalg::{Float, Matrix, Threads};
use crate::model::{Forward, Head, Network};

/// How the proximal problem is solved.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImplicitConfig<T> {
    /// α, the step of implicit SGD.
    pub alpha: T,
    /// Stop when `‖∇φ‖ <= tol · ‖∇φ(θ_b)‖`.
    pub tol: f64,
    /// The most L-BFGS iterations.
    pub max_iter: usize,
}

/// What a proximal solve did.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImplicitReport {
    pub iterations: usize,
    /// `φ(θ')`.
    pub objective: f64,
    /// `‖∇φ(θ')‖ / ‖∇φ(θ_b)‖`.
    pub relative_gradient: f64,
    /// Whether the tolerance was met (always, for the closed form).
    pub converged: bool,
}

/// Whether [`closed_form_linear`] applies to `net`.
pub fn has_closed_form<T: Float>(net: &Network<T>) -> bool {
    net.depth() == 1 && net.arch.head == Head::IdentityMse
}

/// The exact proximal step of a single linear layer with MSE, on the batch `(x, y)`.
///
/// With `W̃ = [W b]` and `X̃ = [X; 1]` the optimality condition
/// `(W̃X̃ - Y)X̃ᵀ/B + (W̃ - W̃_b)/α = 0` is solved as
/// `W̃ = W̃_b + (Y - W̃_b X̃)(X̃ᵀX̃ + (B/α) I)⁻¹ X̃ᵀ`, a `B x B` system; at batch 1 this is
/// `θ' = θ + α/(1 + α‖x̃‖²) · (y - θx̃) x̃ᵀ`.
///
/// # Panics
/// If `net` is not a single layer with the MSE head.
pub fn closed_form_linear<T: Float>(net: &mut Network<T>, x: &Matrix<T>, y: &Matrix<T>, alpha: T) {
    assert!(has_closed_form(net), "closed form needs one linear layer with the MSE head");
    let b = x.cols();
    let layer = &mut net.layers[0];
    let (m, d) = (layer.w.rows(), layer.w.cols());
    let xt = |i: usize, n: usize| if i < d { x.get(i, n) } else { T::ONE };

    let ridge = T::from_usize(b) / alpha;
    let gram = Mat::<T>::from_fn(b, b, |i, j| {
        let dot: T = (0..=d).map(|k| xt(k, i) * xt(k, j)).sum();
        if i == j { dot + ridge } else { dot }
    });
    // Rᵀ with R = Y - W̃_b X̃ (m x B): solve gram · Mᵀ = Rᵀ (gram is symmetric).
    let mut rhs = Mat::<T>::from_fn(b, m, |n, r| {
        let pred: T = (0..d).map(|k| layer.w.get(r, k) * x.get(k, n)).sum::<T>() + layer.b[r];
        y.get(r, n) - pred
    });
    let llt = gram.as_ref().llt(Side::Lower).expect("X̃ᵀX̃ + (B/α)I is positive definite");
    llt.solve_in_place(rhs.as_mut());

    for r in 0..m {
        for k in 0..=d {
            let step: T = (0..b).map(|n| rhs[(n, r)] * xt(k, n)).sum();
            if k < d {
                let w = layer.w.get(r, k);
                layer.w.set(r, k, w + step);
            } else {
                layer.b[r] += step;
            }
        }
    }
}

/// `φ` and its gradient at the parameters of `work`.
struct Objective<'a, T> {
    x: &'a Matrix<T>,
    y: &'a Matrix<T>,
    theta_b: Vec<T>,
    inv_alpha: f64,
    work: Network<T>,
    fwd: Forward<T>,
    bp: Backprop<T>,
    grads: Params<T>,
    threads: Threads,
}

impl<T: Float> Objective<'_, T> {
    fn eval(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let as_t: Vec<T> = theta.iter().map(|&v| T::from_f64(v)).collect();
        self.work.set_params(&as_t);
        self.work.forward(self.x, &mut self.fwd, self.threads);
        let depth = self.work.depth();
        let batch = self.x.cols();
        let head = self.work.arch.head;
        let loss = head.loss_sum(self.y, &self.fwd.h[depth]).to_f64() / batch as f64;
        let d = &mut self.bp.delta[depth];
        d.set_cols(batch);
        let pairs = self.fwd.out.as_slice().iter().zip(self.y.as_slice());
        for (dv, (&s, &yv)) in d.as_mut_slice().iter_mut().zip(pairs) {
            *dv = s - yv;
        }
        let ones = vec![T::ONE; depth];
        self.bp.run(&self.work, &self.fwd, &ones, Some(&mut self.grads), self.threads);
        let mut k = 0;
        let mut prox = 0.0;
        for l in 0..depth {
            if !self.work.layers[l].bias {
                // A layer without a bias keeps it at zero: no gradient moves it.
                self.grads.b[l].fill(T::ZERO);
            }
            for &g in self.grads.w[l].as_slice().iter().chain(&self.grads.b[l]) {
                let diff = theta[k] - self.theta_b[k].to_f64();
                grad[k] = g.to_f64() + diff * self.inv_alpha;
                prox += diff * diff;
                k += 1;
            }
        }
        loss + 0.5 * self.inv_alpha * prox
    }
}

/// The proximal objective `φ(θ) = L(θ) + ‖θ - θ_b‖²/(2α)` of `net` against `theta_b`.
pub fn proximal_objective<T: Float>(
    net: &Network<T>,
    theta_b: &[T],
    x: &Matrix<T>,
    y: &Matrix<T>,
    alpha: f64,
) -> f64 {
    let mut fwd = Forward::new(net, x.cols());
    net.forward(x, &mut fwd, Threads::single());
    let loss = net.arch.head.loss_sum(y, &fwd.h[net.depth()]).to_f64() / x.cols() as f64;
    let dist: f64 =
        net.params().iter().zip(theta_b).map(|(&a, &b)| (a.to_f64() - b.to_f64()).powi(2)).sum();
    loss + dist / (2.0 * alpha)
}

/// Minimises `φ` from `θ_b` (the current parameters of `net`) by L-BFGS and writes the
/// result into `net` when it is finite.
pub fn solve<T: Float>(
    net: &mut Network<T>,
    x: &Matrix<T>,
    y: &Matrix<T>,
    cfg: &ImplicitConfig<T>,
    threads: Threads,
) -> ImplicitReport {
    let theta_b = net.params();
    let mut obj = Objective {
        x,
        y,
        inv_alpha: 1.0 / cfg.alpha.to_f64(),
        work: net.clone(),
        fwd: Forward::new(net, x.cols()),
        bp: Backprop::new(net, x.cols()),
        grads: Params::zeros_like(net),
        theta_b,
        threads,
    };
    let start: Vec<f64> = obj.theta_b.iter().map(|v| v.to_f64()).collect();
    let (theta, report) = lbfgs(|t, g| obj.eval(t, g), start, cfg.tol, cfg.max_iter);
    if theta.iter().all(|v| v.is_finite()) {
        let as_t: Vec<T> = theta.iter().map(|&v| T::from_f64(v)).collect();
        net.set_params(&as_t);
    }
    report
}

/// Limited-memory BFGS (history 10) with a backtracking Armijo line search, in f64.
fn lbfgs(
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    mut x: Vec<f64>,
    tol: f64,
    max_iter: usize,
) -> (Vec<f64>, ImplicitReport) {
    const HISTORY: usize = 10;
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let g0 = norm(&g).max(f64::MIN_POSITIVE);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut iterations = 0;
    let mut converged = norm(&g) <= tol * g0;

    while !converged && iterations < max_iter {
        // Two-loop recursion: d = -H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(s_hist.len());
        for (s, yv) in s_hist.iter().zip(&y_hist).rev() {
            let rho = 1.0 / dot(yv, s);
            let a = rho * dot(s, &q);
            axpy(-a, yv, &mut q);
            alphas.push((rho, a));
        }
        let gamma = match (s_hist.last(), y_hist.last()) {
            (Some(s), Some(yv)) => dot(s, yv) / dot(yv, yv),
            _ => 1.0 / norm(&g).max(1.0),
        };
        for v in q.iter_mut() {
            *v *= gamma;
        }
        for ((s, yv), &(rho, a)) in s_hist.iter().zip(&y_hist).zip(alphas.iter().rev()) {
            let b = rho * dot(yv, &q);
            axpy(a - b, s, &mut q);
        }
        let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &d);
        if slope.is_nan() || slope >= 0.0 {
            d = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
            s_hist.clear();
            y_hist.clear();
        }

        let mut step = 1.0;
        let mut f_new;
        loop {
            for i in 0..n {
                x_new[i] = x[i] + step * d[i];
            }
            f_new = f(&x_new, &mut g_new);
            if f_new.is_finite() && f_new <= fx + 1e-4 * step * slope {
                break;
            }
            step *= 0.5;
            if step < 1e-20 {
                break;
            }
        }
        iterations += 1;
        if f_new.is_nan() || f_new > fx {
            // No decrease is possible at this precision: the iterate is as good as it gets.
            break;
        }
        let s: Vec<f64> = (0..n).map(|i| x_new[i] - x[i]).collect();
        let yv: Vec<f64> = (0..n).map(|i| g_new[i] - g[i]).collect();
        if dot(&s, &yv) > 1e-12 * norm(&s) * norm(&yv) {
            if s_hist.len() == HISTORY {
                s_hist.remove(0);
                y_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(yv);
        }
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        fx = f_new;
        converged = norm(&g) <= tol * g0;
    }
    let report =
        ImplicitReport { iterations, objective: fx, relative_gradient: norm(&g) / g0, converged };
    (x, report)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv += a * xv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L-BFGS finds the minimum of an ill-conditioned quadratic to the tolerance asked.
    #[test]
    fn lbfgs_minimises_a_quadratic() {
        let scales = [1.0, 10.0, 100.0, 1000.0];
        let f = |x: &[f64], g: &mut [f64]| {
            let mut v = 0.0;
            for i in 0..4 {
                let d = x[i] - i as f64;
                g[i] = scales[i] * d;
                v += 0.5 * scales[i] * d * d;
            }
            v
        };
        let (x, r) = lbfgs(f, vec![5.0; 4], 1e-10, 500);
        assert!(r.converged);
        for (i, v) in x.iter().enumerate() {
            assert!((v - i as f64).abs() < 1e-8, "{v}");
        }
    }
}
