//! Dense linear algebra: the float type, the matrix layout and the faer glue.
//!
//! Every activity, prediction and error in ilnet is a [`Matrix`] with one column per sample:
//! a layer of width `n` seen on a batch of `B` samples is an `n x B` matrix stored
//! column-major, so each sample's values are contiguous. Weights `W_l` are `n_{l+1} x n_l`,
//! also column-major. This is the layout in which faer's kernels reach their speed at batch 1
//! (a matrix-vector product over contiguous columns).
//!
//! Products go through [`gemm`], which picks one thread for small products and the
//! [`Threads`] budget only where a product is large enough to gain from it.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// The float type of a network: `f32` for training, `f64` for the theory tests.
pub trait Float:
    faer::traits::RealField
    + Copy
    + Default
    + Send
    + Sync
    + Debug
    + Display
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + 'static
{
    /// The type's name as written in configs and reports.
    const NAME: &'static str;
    const ZERO: Self;
    const ONE: Self;

    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn ln_1p(self) -> Self;
    fn tanh(self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn max(self, other: Self) -> Self;
    fn is_finite(self) -> bool;
    fn powi(self, n: i32) -> Self;
    /// `self·a + b` with one rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;

    /// Converts a count (batch size, width) to this float.
    fn from_usize(n: usize) -> Self {
        Self::from_f64(n as f64)
    }
}

macro_rules! impl_float {
    ($t:ty, $name:literal) => {
        impl Float for $t {
            const NAME: &'static str = $name;
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;

            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn powi(self, n: i32) -> Self {
                <$t>::powi(self, n)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                <$t>::mul_add(self, a, b)
            }
        }
    };
}

impl_float!(f32, "f32");
impl_float!(f64, "f64");

/// A dense column-major matrix that owns its storage.
///
/// The column count can shrink and grow again within the capacity it was made with, without
/// allocating: the inference buffers are sized once for the largest batch and reused.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix<T> {
    rows: usize,
    cols: usize,
    data: Vec<T>,
}

impl<T: Float> Matrix<T> {
    /// A `rows x cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self { rows, cols, data: vec![T::ZERO; rows * cols] }
    }

    /// A matrix whose entry `(i, j)` is `f(i, j)`.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> T) -> Self {
        let mut data = Vec::with_capacity(rows * cols);
        for j in 0..cols {
            for i in 0..rows {
                data.push(f(i, j));
            }
        }
        Self { rows, cols, data }
    }

    /// Wraps column-major data.
    ///
    /// # Panics
    /// If `data.len() != rows * cols`.
    pub fn from_col_major(rows: usize, cols: usize, data: Vec<T>) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix: expected {rows}x{cols} values");
        Self { rows, cols, data }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The entries, column-major.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// Column `j`: the values of sample `j`.
    pub fn col(&self, j: usize) -> &[T] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    pub fn col_mut(&mut self, j: usize) -> &mut [T] {
        &mut self.data[j * self.rows..(j + 1) * self.rows]
    }

    /// Iterates over the columns.
    pub fn columns(&self) -> std::slice::ChunksExact<'_, T> {
        self.data.chunks_exact(self.rows.max(1))
    }

    pub fn get(&self, i: usize, j: usize) -> T {
        self.data[j * self.rows + i]
    }

    pub fn set(&mut self, i: usize, j: usize, v: T) {
        self.data[j * self.rows + i] = v;
    }

    /// Changes the number of columns; new entries are zero. Allocates only when growing past
    /// the largest size this matrix has had.
    pub fn set_cols(&mut self, cols: usize) {
        self.cols = cols;
        self.data.resize(self.rows * cols, T::ZERO);
    }

    /// Changes both dimensions; entries are unspecified afterwards. Allocates only when
    /// growing past the largest size this matrix has had.
    pub fn reshape(&mut self, rows: usize, cols: usize) {
        self.rows = rows;
        self.cols = cols;
        self.data.resize(rows * cols, T::ZERO);
    }

    /// Copies `other` into `self`, adopting its column count (rows must agree).
    ///
    /// # Panics
    /// If the row counts differ.
    pub fn copy_from(&mut self, other: &Matrix<T>) {
        assert_eq!(self.rows, other.rows, "copy_from: row counts differ");
        self.set_cols(other.cols);
        self.data.copy_from_slice(&other.data);
    }

    /// Overwrites columns `start..start + src.cols()` with `src` (rows must agree).
    ///
    /// # Panics
    /// If the row counts differ or the columns run past the end.
    pub fn paste_cols(&mut self, start: usize, src: &Matrix<T>) {
        assert_eq!(self.rows, src.rows, "paste_cols: row counts differ");
        let r = self.rows;
        self.data[start * r..(start + src.cols) * r].copy_from_slice(&src.data);
    }

    pub fn fill(&mut self, v: T) {
        self.data.fill(v);
    }

    /// The squared Frobenius norm.
    pub fn norm2(&self) -> T {
        self.data.iter().map(|&v| v * v).sum()
    }

    /// The first entry that is NaN or infinite, as `(row, col)`.
    pub fn first_non_finite(&self) -> Option<(usize, usize)> {
        let k = self.data.iter().position(|v| !v.is_finite())?;
        Some((k % self.rows, k / self.rows))
    }

    pub fn view(&self) -> MatRef<'_, T> {
        MatRef::from_column_major_slice(&self.data, self.rows, self.cols)
    }

    pub fn view_mut(&mut self) -> MatMut<'_, T> {
        MatMut::from_column_major_slice_mut(&mut self.data, self.rows, self.cols)
    }

    /// The transpose, as a new matrix.
    pub fn transposed(&self) -> Matrix<T> {
        Matrix::from_fn(self.cols, self.rows, |i, j| self.get(j, i))
    }
}

/// How many threads dense products may use.
///
/// Products below [`Threads::MIN_PARALLEL_FLOPS`] always run on one thread: on small
/// products the cost of waking workers exceeds the gain. Measured on 2-core x86-64
/// machines with `ilnet bench`: with the threshold at 20 MFLOP, the 26 MFLOP weight
/// gradient of bp-sgd at batch 64 made two threads 15% slower than one (71k against 84k
/// samples/s); at 50 MFLOP two threads match one there (83k) and still gain at batch 256
/// (66k against 61k). Results do not depend on the thread count: faer splits a product over
/// output blocks, never over the summed dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threads(pub usize);

impl Threads {
    pub const MIN_PARALLEL_FLOPS: f64 = 50e6;

    /// One thread.
    pub fn single() -> Self {
        Threads(1)
    }

    /// The faer parallelism for a product of `flops` floating-point operations.
    pub fn for_flops(self, flops: f64) -> Par {
        if self.0 > 1 && flops >= Self::MIN_PARALLEL_FLOPS { Par::rayon(self.0) } else { Par::Seq }
    }
}

impl Default for Threads {
    fn default() -> Self {
        Threads::single()
    }
}

/// Whether an operand of [`gemm`] is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    N,
    T,
}

/// `dst = alpha * op(a) * op(b)`, or `dst += ...` when `accumulate`.
///
/// `dst` must already have the shape of the product.
///
/// # Panics
/// If the shapes do not agree.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Float>(
    dst: &mut Matrix<T>,
    accumulate: bool,
    a: &Matrix<T>,
    op_a: Op,
    b: &Matrix<T>,
    op_b: Op,
    alpha: T,
    threads: Threads,
) {
    let a = match op_a {
        Op::N => a.view(),
        Op::T => a.view().transpose(),
    };
    let b = match op_b {
        Op::N => b.view(),
        Op::T => b.view().transpose(),
    };
    assert!(
        a.nrows() == dst.rows() && b.ncols() == dst.cols() && a.ncols() == b.nrows(),
        "gemm: {}x{} times {}x{} into {}x{}",
        a.nrows(),
        a.ncols(),
        b.nrows(),
        b.ncols(),
        dst.rows(),
        dst.cols()
    );
    let flops = 2.0 * (a.nrows() * a.ncols() * b.ncols()) as f64;
    let par = threads.for_flops(flops);
    let accum = if accumulate { Accum::Add } else { Accum::Replace };
    matmul(dst.view_mut(), accum, a, b, alpha, par);
    clear_upper_state();
}

/// Marks the upper halves of the vector registers clean (`vzeroupper`).
///
/// faer's AVX-512 kernels return with them dirty, and until they are cleaned the CPU runs
/// later scalar SSE code slowly: measured on the benchmark machine, a 10x64 softmax (libm's
/// `expf`) took 130 µs after a product instead of 2 µs, which was 40% of an IL step at
/// batch 64. Every product goes through [`gemm`], which calls this; so do the parallel tasks
/// that start on a worker thread after faer's own parallel products.
pub fn clear_upper_state() {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if let Some(simd) = pulp::x86::V3::try_new() {
        simd.avx._mm256_zeroupper();
    }
}

/// Lanes of the explicitly laned reductions below. Elementwise kernels go through pulp's
/// run-time dispatch so that they are compiled for the vector width the CPU has (AVX-512 or
/// AVX2 on x86-64); results do not depend on it, since the compiler never fuses or reorders
/// float operations on its own (fused multiply-adds are asked for by name, `mul_add`) and
/// the lanes are fixed here.
const LANES: usize = 16;

/// Runs `f` compiled for the vector width that the CPU has (through pulp's run-time
/// dispatch): for elementwise loops, which the compiler vectorises only for the target's
/// baseline (SSE2 on x86-64) otherwise. Mark the closure `#[inline(always)]`: only inlined
/// is it compiled for the wider vectors (and a `mul_add` in it a single instruction rather
/// than a call); and keep any choice that is the same for every entry (an activation, say)
/// out of its loops.
pub fn vectorised<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(Vectorised(f))
}

struct Vectorised<F>(F);

impl<R, F: FnOnce() -> R> pulp::WithSimd for Vectorised<F> {
    type Output = R;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> R {
        (self.0)()
    }
}

/// `(max |v|, all finite)` over `v`, in one vectorised pass.
pub fn max_abs_finite<T: Float>(v: &[T]) -> (T, bool) {
    pulp::Arch::new().dispatch(MaxAbsFinite(v))
}

struct MaxAbsFinite<'a, T>(&'a [T]);

impl<T: Float> pulp::WithSimd for MaxAbsFinite<'_, T> {
    type Output = (T, bool);

    // Inlined into pulp's feature-enabled entry point, so the loop below is compiled for
    // the vector width that the CPU has.
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> (T, bool) {
        let mut probe = [T::ZERO; LANES];
        let mut top = [T::ZERO; LANES];
        let mut chunks = self.0.chunks_exact(LANES);
        // The two loops and the final comparisons are written apart: in one loop, or with a
        // final fold over `max`, the compiler shuffled the lanes of every chunk (3x slower).
        for c in &mut chunks {
            let c: &[T; LANES] = c.try_into().expect("a chunk of LANES");
            for k in 0..LANES {
                // `x·0` is NaN exactly when `x` is not finite.
                probe[k] += c[k] * T::ZERO;
            }
            for k in 0..LANES {
                let a = c[k].abs();
                top[k] = if a > top[k] { a } else { top[k] };
            }
        }
        // The tail, padded with zeros, which change neither result.
        let mut last = [T::ZERO; LANES];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        for k in 0..LANES {
            probe[k] += last[k] * T::ZERO;
            let a = last[k].abs();
            top[k] = if a > top[k] { a } else { top[k] };
        }
        let mut most = T::ZERO;
        let mut finite = true;
        for k in 0..LANES {
            most = if top[k] > most { top[k] } else { most };
            finite &= probe[k] == T::ZERO;
        }
        (most, finite)
    }
}

/// Both products of a layer `W` (`m x n`) with one sample, in one pass over `W`: for each
/// block of [`BLOCK`] columns in turn, `back = W[:, block]ᵀ up` goes to
/// `relax(start, back, a_block)`, which writes the new input activities of the block, and
/// then `p += W[:, block] a_block`. `p` (length `m`) ends as `W a`.
///
/// The inference step needs `Wᵀ e_{l+1}` and then `W a_l`, where `a_l` depends on the first
/// product only through the same index: so each block of `W` is read from memory once and
/// then used twice from cache. At batch 1 those reads are the cost of inference.
///
/// With `skip_silent`, `back_j` is left at zero for every `j` whose `a_j` is zero on entry:
/// the caller's promise that `relax` multiplies `back_j` by zero there, as ReLU's slope is
/// zero wherever its output is. About half of a ReLU layer is silent.
///
/// The sums have a fixed order, whatever the CPU's vector width: `back_j` is
/// [`dot_laned`]'s, and `p_i` adds `a_j W_ij` over the columns in order, one fused
/// multiply-add each, skipping the columns whose `a_j` is zero.
///
/// # Panics
/// If `up` or `p` does not have `m` entries, or `a` not `n`.
pub fn matvec_pair<T: Float>(
    w: &Matrix<T>,
    up: &[T],
    p: &mut [T],
    a: &mut [T],
    skip_silent: bool,
    relax: impl FnMut(usize, &[T], &mut [T]),
) {
    assert!(up.len() == w.rows() && p.len() == w.rows(), "matvec_pair: lengths differ from W");
    assert_eq!(a.len(), w.cols(), "matvec_pair: a must have one entry per column of W");
    pulp::Arch::new().dispatch(MatvecPair { w, up, p, a, skip_silent, relax })
}

/// Columns of `W` per block of [`matvec_pair`]: 16 columns of 256 floats stay in L1.
const BLOCK: usize = 16;

struct MatvecPair<'a, T, F> {
    w: &'a Matrix<T>,
    up: &'a [T],
    p: &'a mut [T],
    a: &'a mut [T],
    skip_silent: bool,
    relax: F,
}

impl<T: Float, F: FnMut(usize, &[T], &mut [T])> pulp::WithSimd for MatvecPair<'_, T, F> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let MatvecPair { w, up, p, a, skip_silent, mut relax } = self;
        let m = w.rows();
        p.fill(T::ZERO);
        if m == 0 {
            return;
        }
        let blocks = w.as_slice().chunks(BLOCK * m).zip(a.chunks_mut(BLOCK));
        for (b, (block, a)) in blocks.enumerate() {
            let col = |j: usize| &block[j * m..(j + 1) * m];
            let mut wanted = [0; BLOCK];
            let mut count = 0;
            for (j, &av) in a.iter().enumerate() {
                if !(skip_silent && av == T::ZERO) {
                    wanted[count] = j;
                    count += 1;
                }
            }
            let mut back = [T::ZERO; BLOCK];
            let mut groups = wanted[..count].chunks_exact(GROUP);
            for g in &mut groups {
                let sums = dot4_laned([col(g[0]), col(g[1]), col(g[2]), col(g[3])], up);
                for (&j, s) in g.iter().zip(sums) {
                    back[j] = s;
                }
            }
            for &j in groups.remainder() {
                back[j] = dot_laned(col(j), up);
            }
            relax(b * BLOCK, &back[..a.len()], a);

            let mut live = [(0, T::ZERO); BLOCK];
            let mut count = 0;
            for (j, &av) in a.iter().enumerate() {
                // Silent units add nothing.
                if av != T::ZERO {
                    live[count] = (j * m, av);
                    count += 1;
                }
            }
            axpy_columns(p, block, &live[..count]);
        }
    }
}

/// `p += Σ_k a_k W[:, j_k]` over `live = [(j_k·m, a_k)]`, one fused multiply-add per term,
/// in the order of `live`; the columns are those of `block` (`m = p.len()` rows each).
#[inline(always)]
fn axpy_columns<T: Float>(p: &mut [T], block: &[T], live: &[(usize, T)]) {
    const ROWS: usize = 4 * LANES;
    let m = p.len();
    let mut rows = p.chunks_exact_mut(ROWS);
    for (r, pv) in (&mut rows).enumerate() {
        let i = r * ROWS;
        let mut acc: [T; ROWS] = (&*pv).try_into().expect("a chunk of ROWS");
        for &(start, av) in live {
            let col: &[T; ROWS] = block[start + i..][..ROWS].try_into().expect("a chunk of ROWS");
            for k in 0..ROWS {
                acc[k] = col[k].mul_add(av, acc[k]);
            }
        }
        pv.copy_from_slice(&acc);
    }
    let done = m - m % ROWS;
    for (i, pv) in rows.into_remainder().iter_mut().enumerate() {
        let mut acc = *pv;
        for &(start, av) in live {
            acc = block[start + done + i].mul_add(av, acc);
        }
        *pv = acc;
    }
}

/// Columns of `W` per group of dot products in [`matvec_pair`].
const GROUP: usize = 4;

/// Lanes of the dot products: two vectors of 16 per column, so that a group of four columns
/// keeps eight independent sums in flight.
const DOT_LANES: usize = 2 * LANES;

/// The dot products of four columns (each as long as `y`) with `y`, each exactly as
/// [`dot_laned`] computes it; interleaved so that the additions do not wait on each other.
#[inline(always)]
fn dot4_laned<T: Float>(cols: [&[T]; GROUP], y: &[T]) -> [T; GROUP] {
    let m = y.len();
    if m < DOT_LANES {
        return cols.map(|c| dot_short(c, y));
    }
    let [c0, c1, c2, c3] = cols;
    let mut acc = [[T::ZERO; DOT_LANES]; GROUP];
    let pairs = c0.chunks_exact(DOT_LANES).zip(c1.chunks_exact(DOT_LANES));
    let pairs = pairs.zip(c2.chunks_exact(DOT_LANES).zip(c3.chunks_exact(DOT_LANES)));
    for (((x0, x1), (x2, x3)), u) in pairs.zip(y.chunks_exact(DOT_LANES)) {
        let lanes = |x: &[T]| -> [T; DOT_LANES] { x.try_into().expect("a chunk of DOT_LANES") };
        let (x0, x1, x2, x3, u) = (lanes(x0), lanes(x1), lanes(x2), lanes(x3), lanes(u));
        for k in 0..DOT_LANES {
            acc[0][k] = x0[k].mul_add(u[k], acc[0][k]);
            acc[1][k] = x1[k].mul_add(u[k], acc[1][k]);
            acc[2][k] = x2[k].mul_add(u[k], acc[2][k]);
            acc[3][k] = x3[k].mul_add(u[k], acc[3][k]);
        }
    }
    let tail = m - m % DOT_LANES;
    for (k, &u) in y[tail..].iter().enumerate() {
        acc[0][k] = c0[tail + k].mul_add(u, acc[0][k]);
        acc[1][k] = c1[tail + k].mul_add(u, acc[1][k]);
        acc[2][k] = c2[tail + k].mul_add(u, acc[2][k]);
        acc[3][k] = c3[tail + k].mul_add(u, acc[3][k]);
    }
    let [a0, a1, a2, a3] = acc;
    [lane_sum(a0), lane_sum(a1), lane_sum(a2), lane_sum(a3)]
}

/// `Σ x_i y_i` with fused multiply-adds: lane `k` of [`DOT_LANES`] sums the terms with
/// `i ≡ k` in order, and [`lane_sum`] adds the lanes; vectors shorter than the lanes are
/// summed in order ([`dot_short`]).
#[inline(always)]
fn dot_laned<T: Float>(x: &[T], y: &[T]) -> T {
    if y.len() < DOT_LANES {
        return dot_short(x, y);
    }
    let mut acc = [T::ZERO; DOT_LANES];
    let mut lanes = x.chunks_exact(DOT_LANES).zip(y.chunks_exact(DOT_LANES));
    for (c, u) in &mut lanes {
        for k in 0..DOT_LANES {
            acc[k] = c[k].mul_add(u[k], acc[k]);
        }
    }
    let tail = x.chunks_exact(DOT_LANES).remainder().iter();
    for (k, (&c, &u)) in tail.zip(y.chunks_exact(DOT_LANES).remainder()).enumerate() {
        acc[k] = c.mul_add(u, acc[k]);
    }
    lane_sum(acc)
}

/// `Σ x_i y_i` in index order, one fused multiply-add per term.
#[inline(always)]
fn dot_short<T: Float>(x: &[T], y: &[T]) -> T {
    x.iter().zip(y).fold(T::ZERO, |s, (&a, &b)| a.mul_add(b, s))
}

/// The sum of the lanes as a fixed tree: halves are added lane by lane until one is left.
#[inline(always)]
fn lane_sum<T: Float>(v: [T; DOT_LANES]) -> T {
    let v: [T; 16] = halve(v);
    let v: [T; 8] = halve(v);
    let v: [T; 4] = halve(v);
    let v: [T; 2] = halve(v);
    v[0] + v[1]
}

/// `out_k = v_k + v_{k + H}`, the lanes of the upper half added onto the lower half.
#[inline(always)]
fn halve<T: Float, const N: usize, const H: usize>(v: [T; N]) -> [T; H] {
    let mut out = [T::ZERO; H];
    let (lo, hi) = v.split_at(H);
    for ((o, &x), &y) in out.iter_mut().zip(lo).zip(hi) {
        *o = x + y;
    }
    out
}

/// `‖x‖² = Σ x_i²`, vectorised: summed in the fixed lanes of [`dot_laned`].
pub fn sum_squares<T: Float>(x: &[T]) -> T {
    vectorised(
        #[inline(always)]
        || dot_laned(x, x),
    )
}

/// `Σ x_i y_i` accumulated in f64.
pub fn dot_f64<T: Float>(x: &[T], y: &[T]) -> f64 {
    x.iter().zip(y).map(|(&a, &b)| a.to_f64() * b.to_f64()).sum()
}

/// `out = a - b`, adopting `a`'s shape.
pub fn sub_into<T: Float>(a: &Matrix<T>, b: &Matrix<T>, out: &mut Matrix<T>) {
    out.set_cols(a.cols());
    let pairs = a.as_slice().iter().zip(b.as_slice());
    vectorised(
        #[inline(always)]
        || {
            for (o, (&x, &y)) in out.as_mut_slice().iter_mut().zip(pairs) {
                *o = x - y;
            }
        },
    );
}

/// Adds `b` to every column of `m`.
pub fn add_bias<T: Float>(m: &mut Matrix<T>, b: &[T]) {
    vectorised(
        #[inline(always)]
        || {
            for col in m.as_mut_slice().chunks_exact_mut(b.len().max(1)) {
                for (v, &bi) in col.iter_mut().zip(b) {
                    *v += bi;
                }
            }
        },
    );
}

/// `dst = W a + b` for every column of `a`.
pub fn affine<T: Float>(dst: &mut Matrix<T>, w: &Matrix<T>, b: &[T], a: &Matrix<T>, t: Threads) {
    dst.set_cols(a.cols());
    gemm(dst, false, w, Op::N, a, Op::N, T::ONE, t);
    add_bias(dst, b);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product kernel is the base of everything: check it against a triple loop on odd
    /// sizes, including 1.
    #[test]
    fn gemm_matches_a_triple_loop() {
        for &(m, k, n) in &[(1, 1, 1), (3, 5, 1), (7, 1, 4), (9, 13, 11)] {
            let a = Matrix::<f64>::from_fn(m, k, |i, j| (i as f64 * 0.7 - j as f64).sin());
            let b = Matrix::<f64>::from_fn(k, n, |i, j| (i as f64 + 0.3 * j as f64).cos());
            let mut c = Matrix::zeros(m, n);
            gemm(&mut c, false, &a, Op::N, &b, Op::N, 2.0, Threads::single());
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k).map(|p| 2.0 * a.get(i, p) * b.get(p, j)).sum();
                    assert!((c.get(i, j) - want).abs() < 1e-12);
                }
            }
            let at = a.transposed();
            let mut c2 = Matrix::zeros(m, n);
            gemm(&mut c2, false, &at, Op::T, &b, Op::N, 2.0, Threads::single());
            for (x, y) in c.as_slice().iter().zip(c2.as_slice()) {
                assert!((x - y).abs() < 1e-12);
            }
        }
    }

    /// The fused pass against the two products done separately by [`gemm`], on sizes around
    /// the lane and block widths, including 1: `back` as handed to `relax`, `W a` with the
    /// new activities, and, with `skip_silent`, zero `back` exactly where `a` was zero.
    #[test]
    fn matvec_pair_matches_two_products() {
        for &(m, n) in &[(1, 1), (5, 3), (31, 17), (33, 40), (64, 16), (70, 37)] {
            let w = Matrix::<f64>::from_fn(m, n, |i, j| (0.3 * i as f64 - 0.7 * j as f64).sin());
            let up = Matrix::<f64>::from_fn(m, 1, |i, _| (1.1 * i as f64).cos());
            let a0: Vec<f64> =
                (0..n).map(|j| if j % 3 == 1 { 0.0 } else { j as f64 * 0.1 }).collect();
            let mut back_ref = Matrix::zeros(n, 1);
            gemm(&mut back_ref, false, &w, Op::T, &up, Op::N, 1.0, Threads::single());
            for skip_silent in [false, true] {
                let (mut a, mut p) = (a0.clone(), vec![0.0; m]);
                let mut back = vec![f64::NAN; n];
                matvec_pair(&w, up.as_slice(), &mut p, &mut a, skip_silent, |start, bk, a| {
                    back[start..start + bk.len()].copy_from_slice(bk);
                    for (k, av) in a.iter_mut().enumerate() {
                        *av = (*av - 0.5 * bk[k]).max(0.0);
                    }
                });
                for j in 0..n {
                    let want = if skip_silent && a0[j] == 0.0 { 0.0 } else { back_ref.get(j, 0) };
                    assert!((back[j] - want).abs() < 1e-12, "{m}x{n} back[{j}]");
                }
                let a_new = Matrix::from_col_major(n, 1, a);
                let mut p_ref = Matrix::zeros(m, 1);
                gemm(&mut p_ref, false, &w, Op::N, &a_new, Op::N, 1.0, Threads::single());
                for i in 0..m {
                    assert!((p[i] - p_ref.get(i, 0)).abs() < 1e-12, "{m}x{n} p[{i}]");
                }
            }
        }
    }

    /// Shrinking and regrowing a buffer within its capacity must not reallocate: the
    /// inference loop relies on it.
    #[test]
    fn set_cols_reuses_storage() {
        let mut m = Matrix::<f32>::zeros(4, 8);
        let p = m.as_slice().as_ptr();
        m.set_cols(1);
        m.set_cols(8);
        assert_eq!(p, m.as_slice().as_ptr());
    }
}
