//! Scores of a model's test predictions: discrimination, calibration and decisiveness.
//!
//! Classification (probabilities `p_ik`, `K` classes, labels `y_i`):
//!
//! - **accuracy**: the share of rows whose largest probability is on the true class (the
//!   lowest index wins a tie);
//! - **ROC AUC**: for two classes the probability that a random positive (class 1) scores
//!   above a random negative, ties counting one half, computed from mid-ranks
//!   (Mann-Whitney); for `K > 2` the unweighted mean of the one-vs-rest AUCs of the classes
//!   that have both positives and negatives in the test set (macro average);
//! - **NLL**: the mean of `-ln p_{i,y_i}`, with `p` floored at [`P_FLOOR`];
//! - **ECE** (expected calibration error, top label): rows are put in [`ECE_BINS`]
//!   equal-width bins of their confidence `c_i = max_k p_ik` (a confidence of exactly 1
//!   goes in the last bin), and `ECE = Σ_b (n_b/n)·|acc_b - conf_b|`;
//! - **decisiveness**: `|2p_1 - 1|` for two classes (0 = a coin toss, 1 = certain), and the
//!   **predictive entropy** `H = -Σ_k p_k ln p_k` (nats) for any `K`; the report also shows
//!   the normalised certainty `1 - H/ln K`, comparable across `K`.
//!
//! Regression (predictions `ŷ_i`, values `y_i`): **RMSE** `sqrt(mean (ŷ - y)²)` in the
//! target's units, and **R²** `1 - Σ(ŷ - y)² / Σ(y - ȳ)²` with `ȳ` the test mean (0 for
//! predicting that mean, negative for worse).

/// Number of equal-width confidence bins of the ECE.
pub const ECE_BINS: usize = 10;

/// The smallest probability the NLL takes a logarithm of.
pub const P_FLOOR: f64 = 1e-12;

/// The ECE bin of a confidence in `[0, 1]`.
pub fn confidence_bin(c: f64) -> usize {
    ((c * ECE_BINS as f64) as usize).min(ECE_BINS - 1)
}

/// The index of the largest entry (the first of equals).
pub fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (k, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = k;
        }
    }
    best
}

/// `-Σ p ln p` in nats (`0 ln 0 = 0`).
pub fn entropy(p: &[f32]) -> f64 {
    p.iter().map(|&v| f64::from(v)).filter(|&v| v > 0.0).map(|v| -v * v.ln()).sum()
}

/// The binary ROC AUC of `scores` against `positive`, from mid-ranks. `None` when one
/// class is absent.
pub fn binary_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mid * order[i..=j].iter().filter(|&&r| positive[r]).count() as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// The ROC AUC of class probabilities `probs` (`k` per row) against `labels`: binary for
/// `k = 2`, the macro one-vs-rest mean otherwise. `None` when no class has both
/// positives and negatives.
pub fn roc_auc(probs: &[f32], k: usize, labels: &[u32]) -> Option<f64> {
    let column =
        |c: usize| -> Vec<f64> { probs.chunks_exact(k).map(|p| f64::from(p[c])).collect() };
    let is = |c: usize| -> Vec<bool> { labels.iter().map(|&l| l as usize == c).collect() };
    if k == 2 {
        return binary_auc(&column(1), &is(1));
    }
    let aucs: Vec<f64> = (0..k).filter_map(|c| binary_auc(&column(c), &is(c))).collect();
    (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64)
}

/// The scores of one classified row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowScore {
    /// The largest probability.
    pub confidence: f64,
    /// Whether the largest probability is on the true class.
    pub correct: bool,
    pub entropy: f64,
    /// `|2p_1 - 1|` for two classes, else 0.
    pub decisiveness: f64,
    /// `-ln p_label`, floored at [`P_FLOOR`].
    pub nll: f64,
}

impl RowScore {
    /// Scores probabilities `p` against the true `label`.
    pub fn of(p: &[f32], label: u32) -> RowScore {
        let top = argmax(p);
        RowScore {
            confidence: f64::from(p[top]),
            correct: top == label as usize,
            entropy: entropy(p),
            decisiveness: if p.len() == 2 { (2.0 * f64::from(p[1]) - 1.0).abs() } else { 0.0 },
            nll: -f64::from(p[label as usize]).max(P_FLOOR).ln(),
        }
    }
}

/// Counts for the ECE and the other per-row averages of a set of classified rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassSums {
    /// Rows per confidence bin.
    pub n: [u64; ECE_BINS],
    /// Correct rows per confidence bin.
    pub correct: [u64; ECE_BINS],
    /// Sum of the confidences per confidence bin.
    pub confidence: [f64; ECE_BINS],
    /// Sums over all rows of the entropy, of `|2p_1 - 1|` (two classes; else 0) and of
    /// the NLL.
    pub entropy: f64,
    pub decisiveness: f64,
    pub nll: f64,
}

impl ClassSums {
    /// Adds one row: its probabilities and true label.
    pub fn add(&mut self, p: &[f32], label: u32) {
        self.add_row(&RowScore::of(p, label));
    }

    /// Adds one row already scored.
    pub fn add_row(&mut self, r: &RowScore) {
        let b = confidence_bin(r.confidence);
        self.n[b] += 1;
        self.correct[b] += u64::from(r.correct);
        self.confidence[b] += r.confidence;
        self.entropy += r.entropy;
        self.decisiveness += r.decisiveness;
        self.nll += r.nll;
    }

    /// Merges another set of rows in.
    pub fn merge(&mut self, o: &ClassSums) {
        for b in 0..ECE_BINS {
            self.n[b] += o.n[b];
            self.correct[b] += o.correct[b];
            self.confidence[b] += o.confidence[b];
        }
        self.entropy += o.entropy;
        self.decisiveness += o.decisiveness;
        self.nll += o.nll;
    }

    pub fn rows(&self) -> u64 {
        self.n.iter().sum()
    }

    pub fn accuracy(&self) -> f64 {
        self.correct.iter().sum::<u64>() as f64 / self.rows() as f64
    }

    pub fn mean_confidence(&self) -> f64 {
        self.confidence.iter().sum::<f64>() / self.rows() as f64
    }

    /// `Σ_b (n_b/n)·|acc_b - conf_b|`.
    pub fn ece(&self) -> f64 {
        let n = self.rows() as f64;
        (0..ECE_BINS)
            .filter(|&b| self.n[b] > 0)
            .map(|b| (self.correct[b] as f64 - self.confidence[b]).abs() / n)
            .sum()
    }
}

/// `(RMSE, R²)` of predictions against values, both in the same units. R² is `NaN` when
/// the values are constant.
pub fn regression_scores(pred: &[f64], y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let sse: f64 = pred.iter().zip(y).map(|(p, t)| (p - t).powi(2)).sum();
    let sst: f64 = y.iter().map(|t| (t - mean).powi(2)).sum();
    ((sse / n).sqrt(), if sst > 0.0 { 1.0 - sse / sst } else { f64::NAN })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AUC is the share of (positive, negative) pairs ranked right, ties one half:
    /// checked against that count done pair by pair.
    #[test]
    fn auc_matches_the_pair_count() {
        let scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.9, 0.05, 0.35];
        let pos = [false, true, false, true, false, true, true, false, true];
        let (mut wins, mut pairs) = (0.0, 0.0);
        for i in 0..scores.len() {
            for j in 0..scores.len() {
                if pos[i] && !pos[j] {
                    pairs += 1.0;
                    wins += match scores[i].partial_cmp(&scores[j]).unwrap() {
                        std::cmp::Ordering::Greater => 1.0,
                        std::cmp::Ordering::Equal => 0.5,
                        std::cmp::Ordering::Less => 0.0,
                    };
                }
            }
        }
        let auc = binary_auc(&scores, &pos).unwrap();
        assert!((auc - wins / pairs).abs() < 1e-12, "{auc} vs {}", wins / pairs);
        assert_eq!(binary_auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(binary_auc(&[0.1, 0.9], &[false, true]), Some(1.0));
        assert_eq!(binary_auc(&[0.5, 0.5], &[false, true]), Some(0.5));
    }

    /// Three classes: the macro mean of the one-vs-rest AUCs, each worked out by hand.
    #[test]
    fn multiclass_auc_is_the_macro_mean() {
        #[rustfmt::skip]
        let probs = [
            0.7, 0.2, 0.1,
            0.2, 0.5, 0.3,
            0.1, 0.3, 0.6,
            0.4, 0.4, 0.2,
        ];
        let labels = [0, 1, 2, 1];
        // Class 0: positive 0.7 beats 0.2, 0.1, 0.4 -> 1. Class 1: positives 0.5, 0.4 vs
        // negatives 0.2, 0.3 -> 1. Class 2: 0.6 beats 0.1, 0.3, 0.2 -> 1.
        assert_eq!(roc_auc(&probs, 3, &labels), Some(1.0));
        let labels = [1, 0, 2, 1];
        // Class 0: positive 0.2 against 0.7, 0.1, 0.4 wins once -> 1/3. Class 1: positives
        // 0.2, 0.4 against 0.5, 0.3 win one pair of four (0.4 > 0.3) -> 1/4. Class 2: 0.6
        // beats 0.1, 0.3, 0.2 -> 1.
        let want = (1.0 / 3.0 + 0.25 + 1.0) / 3.0;
        assert!((roc_auc(&probs, 3, &labels).unwrap() - want).abs() < 1e-12);
    }

    /// ECE by hand: two bins, one over-confident, one exact.
    #[test]
    fn ece_weighs_each_bin_by_its_rows() {
        let mut s = ClassSums::default();
        // Three rows at confidence 0.9, one right: |1/3 - 0.9| in bin 9.
        for label in [0, 1, 1] {
            s.add(&[0.9, 0.1], label);
        }
        // One row at confidence 0.55, right: |1 - 0.55| in bin 5.
        s.add(&[0.45, 0.55], 1);
        let want = (3.0 * (0.9f64 - 1.0 / 3.0).abs() + (1.0 - 0.55f64)) / 4.0;
        assert!((s.ece() - want).abs() < 1e-6, "{} vs {want}", s.ece());
        assert_eq!(s.accuracy(), 0.5);
        assert!((s.decisiveness - (3.0 * 0.8 + 0.1)).abs() < 1e-6);
        assert_eq!(confidence_bin(1.0), ECE_BINS - 1);
        assert_eq!(confidence_bin(0.0), 0);
        let mut m = ClassSums::default();
        m.merge(&s);
        m.merge(&s);
        assert!((m.ece() - s.ece()).abs() < 1e-12 && m.rows() == 8);
    }

    /// Entropy of a uniform distribution is ln K; predicting the mean gives R² = 0.
    #[test]
    fn entropy_and_r2_at_their_landmarks() {
        assert!((entropy(&[0.25; 4]) - 4f64.ln()).abs() < 1e-6);
        assert_eq!(entropy(&[1.0, 0.0]), 0.0);
        let y = [1.0, 2.0, 4.0, 5.0];
        let (rmse, r2) = regression_scores(&[3.0; 4], &y);
        assert!((rmse - 2.5f64.sqrt()).abs() < 1e-12 && r2.abs() < 1e-12);
        let (rmse, r2) = regression_scores(&y, &y);
        assert_eq!((rmse, r2), (0.0, 1.0));
    }
}
