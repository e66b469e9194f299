//! Data sets: the in-memory [`Dataset`], the readers that fill it, the embedded digits set,
//! and fetching the standard image sets into a local folder.
//!
//! Terms used throughout:
//!
//! - `n` samples of `d` features each. Features are `f32` and stored **sample-major**:
//!   sample `i` is `x[i*d..(i+1)*d]`. Read as a matrix this is `d x n` in column-major order,
//!   one column per sample, which is the engine's layout.
//! - The [`Target`] holds either class labels in `0..classes` or `k` real values per sample,
//!   also sample-major.
//! - A **missing mask** has the layout of `x`; `true` marks an entry that was not observed.
//!   `x` holds `0.0` there, and nothing downstream may read that zero as data.
//! - The **data root** is the folder holding one sub-folder per fetched data set
//!   (`mnist/`, `fashion-mnist/`, `cifar10/`); see [`data_root`].
//!
//! Readers: [`idx`] (MNIST, Fashion-MNIST), [`cifar`] (CIFAR-10 binary), [`tabular`] (CSV),
//! [`digits`] (the embedded 8x8 digits). [`Standardizer`] centres and scales features using
//! the training split only. [`fetch()`] downloads or imports files and checks them.

pub mod cifar;
pub mod digits;
mod error;
pub mod fetch;
pub mod idx;
mod standardize;
pub mod tabular;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

pub use error::DataError;
pub use fetch::fetch;
pub use standardize::Standardizer;

/// A data set held in memory: features, targets and which features were observed.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// A short name for messages (`mnist/train`, the CSV file name, ...).
    pub name: String,
    /// Features, sample-major: sample `i` is `x[i*d..(i+1)*d]`.
    pub x: Vec<f32>,
    /// Number of samples.
    pub n: usize,
    /// Features per sample.
    pub d: usize,
    /// What is to be predicted, one entry (or `k`) per sample.
    pub target: Target,
    /// `Some` when any entry is missing: same layout as `x`, `true` = missing (and `x` holds
    /// `0.0` there). `None` means every entry was observed.
    pub missing: Option<Vec<bool>>,
    /// One name per feature, `d` in all.
    pub feature_names: Vec<String>,
}

/// The quantity a model predicts for each sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Class labels in `0..classes`, one per sample.
    Classes {
        /// The label of each sample.
        labels: Vec<u32>,
        /// The number of classes.
        classes: usize,
    },
    /// `k` real values per sample, sample-major like `x`.
    Values {
        /// The values; sample `i` is `y[i*k..(i+1)*k]`.
        y: Vec<f32>,
        /// Values per sample.
        k: usize,
    },
}

/// A data set's training and test parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The part models are fitted on (and validation is carved from).
    pub train: Dataset,
    /// The held-out part, read only for the final score.
    pub test: Dataset,
}

impl Target {
    /// The samples this target covers.
    pub fn len(&self) -> usize {
        match self {
            Target::Classes { labels, .. } => labels.len(),
            Target::Values { y, k } => y.len().checked_div(*k).unwrap_or(0),
        }
    }

    /// Whether the target covers no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The targets of the samples `idx`, in that order.
    fn subset(&self, idx: &[usize]) -> Target {
        match self {
            Target::Classes { labels, classes } => Target::Classes {
                labels: idx.iter().map(|&i| labels[i]).collect(),
                classes: *classes,
            },
            Target::Values { y, k } => Target::Values {
                y: idx.iter().flat_map(|&i| y[i * k..(i + 1) * k].iter().copied()).collect(),
                k: *k,
            },
        }
    }
}

impl Dataset {
    /// The number of samples.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the data set has no sample.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Sample `i`'s features.
    ///
    /// # Panics
    ///
    /// If `i >= self.n`.
    pub fn sample(&self, i: usize) -> &[f32] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// A new data set with the samples `idx`, in that order (an index may repeat).
    ///
    /// The missing mask is kept as `Some` even if the chosen samples happen to be complete,
    /// so that a split of a data set with gaps always says so.
    ///
    /// # Panics
    ///
    /// If an index is `>= self.n`: indices come from code, not from data.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let d = self.d;
        let gather_rows = |v: &[f32]| -> Vec<f32> {
            idx.iter().flat_map(|&i| v[i * d..(i + 1) * d].iter().copied()).collect()
        };
        let missing = self
            .missing
            .as_ref()
            .map(|m| idx.iter().flat_map(|&i| m[i * d..(i + 1) * d].iter().copied()).collect());
        Dataset {
            name: self.name.clone(),
            x: gather_rows(&self.x),
            n: idx.len(),
            d,
            target: self.target.subset(idx),
            missing,
            feature_names: self.feature_names.clone(),
        }
    }

    /// Splits off a validation part of `round(fraction * n)` samples, chosen by a shuffle
    /// seeded with `seed`, and returns `(rest, validation)`. Both keep the file order of
    /// their samples, so the same seed gives the same parts on every machine.
    pub fn split_validation(
        self,
        fraction: f64,
        seed: u64,
    ) -> Result<(Dataset, Dataset), DataError> {
        let (rest, val) = self.split_parts("validation", fraction, seed)?;
        Ok((rest, val))
    }

    /// Shared by [`Dataset::split_validation`] and [`tabular::train_test_split`]:
    /// `(kept, held_out)` with `held_out` of `round(fraction * n)` samples.
    pub(crate) fn split_parts(
        &self,
        what: &'static str,
        fraction: f64,
        seed: u64,
    ) -> Result<(Dataset, Dataset), DataError> {
        let n = self.n;
        let bad = DataError::BadFraction { what, fraction, n };
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(bad);
        }
        let held = (fraction * n as f64).round() as usize;
        if held == 0 || held >= n {
            return Err(bad);
        }

        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let (held_idx, kept_idx) = order.split_at_mut(held);
        held_idx.sort_unstable();
        kept_idx.sort_unstable();

        let mut kept = self.subset(kept_idx);
        let mut held_out = self.subset(held_idx);
        if what == "test" {
            kept.name = format!("{}/train", self.name);
        }
        held_out.name = format!("{}/{what}", self.name);
        Ok((kept, held_out))
    }
}

/// The data sets [`load`] knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataName {
    /// The 8x8 digits set embedded in the binary (1797 images, 10 classes).
    Digits,
    /// MNIST handwritten digits, 28x28, 60000 + 10000.
    Mnist,
    /// Zalando's Fashion-MNIST, 28x28, 60000 + 10000.
    FashionMnist,
    /// CIFAR-10, 32x32 colour, 50000 + 10000.
    Cifar10,
}

impl DataName {
    /// Every name, in the order shown to users.
    pub const ALL: [DataName; 4] =
        [DataName::Digits, DataName::Mnist, DataName::FashionMnist, DataName::Cifar10];

    /// The kebab-case name used on the command line and as the folder name.
    pub fn as_str(self) -> &'static str {
        match self {
            DataName::Digits => "digits",
            DataName::Mnist => "mnist",
            DataName::FashionMnist => "fashion-mnist",
            DataName::Cifar10 => "cifar10",
        }
    }
}

impl fmt::Display for DataName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DataName {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DataName::ALL.into_iter().find(|d| d.as_str() == s).ok_or_else(|| DataError::UnknownName {
            name: s.to_string(),
            valid: DataName::ALL.map(DataName::as_str).join(", "),
        })
    }
}

/// Loads a named data set from `root` (see [`data_root`]); `Digits` ignores `root`.
pub fn load(name: DataName, root: &Path) -> Result<Split, DataError> {
    match name {
        DataName::Digits => digits::load(),
        DataName::Mnist | DataName::FashionMnist => idx::load_mnist_like(name, root),
        DataName::Cifar10 => cifar::load(root),
    }
}

/// The data root: `flag` if given, else `$ILNET_DATA`, else `$XDG_DATA_HOME/ilnet`, else
/// `~/.local/share/ilnet`, else (no home at all) `./ilnet-data`.
pub fn data_root(flag: Option<&Path>) -> PathBuf {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    data_root_from(flag, var("ILNET_DATA"), var("XDG_DATA_HOME"), var("HOME"))
}

/// [`data_root`] with the environment passed in, so tests need not change it.
fn data_root_from(
    flag: Option<&Path>,
    ilnet_data: Option<PathBuf>,
    xdg_data_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = ilnet_data {
        return p;
    }
    if let Some(p) = xdg_data_home {
        return p.join("ilnet");
    }
    match home {
        Some(h) => h.join(".local").join("share").join("ilnet"),
        None => PathBuf::from("ilnet-data"),
    }
}

/// Feature names `r{row}c{col}` for a row-major image of `rows x cols` pixels, prefixed by
/// `prefix` (a channel name) when it is not empty.
pub(crate) fn pixel_names(prefix: &str, rows: usize, cols: usize) -> Vec<String> {
    let sep = if prefix.is_empty() { "" } else { "_" };
    (0..rows * cols).map(|p| format!("{prefix}{sep}r{}c{}", p / cols, p % cols)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize, d: usize) -> Dataset {
        Dataset {
            name: "toy".into(),
            x: (0..n * d).map(|v| v as f32).collect(),
            n,
            d,
            target: Target::Classes { labels: (0..n as u32).collect(), classes: n },
            missing: Some((0..n * d).map(|v| v % 3 == 0).collect()),
            feature_names: (0..d).map(|j| format!("f{j}")).collect(),
        }
    }

    /// Subsetting must move a sample's features, mask and label together; a mix-up here
    /// silently trains on wrong labels.
    #[test]
    fn subset_keeps_rows_together() {
        for d in [1, 3] {
            let ds = toy(5, d);
            let sub = ds.subset(&[4, 0, 4]);
            assert_eq!(sub.n, 3);
            for (r, &i) in [4usize, 0, 4].iter().enumerate() {
                assert_eq!(sub.sample(r), ds.sample(i));
                let m = sub.missing.as_ref().unwrap();
                assert_eq!(&m[r * d..(r + 1) * d], &ds.missing.as_ref().unwrap()[i * d..][..d]);
            }
            assert_eq!(sub.target, Target::Classes { labels: vec![4, 0, 4], classes: 5 });
        }
    }

    /// The validation split must be a partition (no sample lost or duplicated), of the size
    /// asked for, and reproducible from the seed alone.
    #[test]
    fn split_validation_partitions_and_is_seeded() {
        for n in [2, 7, 100] {
            let ds = toy(n, 2);
            let (a, b) = ds.clone().split_validation(0.3, 11).unwrap();
            let want = ((0.3 * n as f64).round() as usize).max(1);
            assert_eq!(b.n, want);
            assert_eq!(a.n + b.n, n);
            let label = |t: &Target| match t {
                Target::Classes { labels, .. } => labels.clone(),
                Target::Values { .. } => unreachable!(),
            };
            let mut all: Vec<u32> = label(&a.target);
            all.extend(label(&b.target));
            all.sort_unstable();
            assert_eq!(all, (0..n as u32).collect::<Vec<_>>());
            let (a2, b2) = ds.clone().split_validation(0.3, 11).unwrap();
            assert_eq!((a.x, b.x), (a2.x, b2.x));
        }
        let (_, b1) = toy(100, 1).split_validation(0.5, 1).unwrap();
        let (_, b2) = toy(100, 1).split_validation(0.5, 2).unwrap();
        assert_ne!(b1.x, b2.x, "different seeds should give different parts");
    }

    /// Fractions that would leave a part empty are rejected with the numbers, not panics.
    #[test]
    fn rejects_fractions_leaving_a_part_empty() {
        for f in [0.0, 1.0, -0.5, 2.0, f64::NAN, 0.01] {
            let err = toy(10, 1).split_validation(f, 0).unwrap_err();
            assert!(err.to_string().contains("fraction"), "{err}");
        }
    }

    /// Names round-trip through Display/FromStr, and an unknown name lists the valid ones.
    #[test]
    fn data_names_parse_and_list_options() {
        for d in DataName::ALL {
            assert_eq!(d.to_string().parse::<DataName>().unwrap(), d);
        }
        let err = "fashion_mnist".parse::<DataName>().unwrap_err().to_string();
        assert!(err.contains("\"fashion_mnist\""), "{err}");
        assert!(err.contains("digits, mnist, fashion-mnist, cifar10"), "{err}");
    }

    /// The data root follows the documented order of precedence.
    #[test]
    fn data_root_precedence() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            data_root_from(Some(Path::new("/f")), p("/e"), p("/x"), p("/h")),
            p("/f").unwrap()
        );
        assert_eq!(data_root_from(None, p("/e"), p("/x"), p("/h")), PathBuf::from("/e"));
        assert_eq!(data_root_from(None, None, p("/x"), p("/h")), PathBuf::from("/x/ilnet"));
        assert_eq!(
            data_root_from(None, None, None, p("/h")),
            PathBuf::from("/h/.local/share/ilnet")
        );
    }

    /// The data root for real-data tests, or `None` (with a skip line) when `name` is not
    /// installed there. Under CI, which installs the data first, absence is a failure.
    fn real_root(name: DataName) -> Option<PathBuf> {
        let root = data_root(None);
        if root.join(name.as_str()).is_dir() {
            return Some(root);
        }
        let msg = format!(
            "{name} not installed in {}: run `scripts/install-test-data.sh DIR` and set \
             ILNET_DATA=DIR",
            root.display()
        );
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("skipped: {msg}");
        None
    }

    /// Checks a real MNIST-like split against the published sizes: 60000 + 10000 images of
    /// 28x28, labels below 10, pixels in [0, 1] and every class present.
    fn check_mnist_like(name: DataName) {
        let Some(root) = real_root(name) else { return };
        let split = load(name, &root).unwrap();
        for (ds, n) in [(&split.train, 60000), (&split.test, 10000)] {
            assert_eq!((ds.n, ds.d, ds.x.len()), (n, 784, n * 784));
            let Target::Classes { labels, classes } = &ds.target else { panic!() };
            assert_eq!(*classes, 10);
            let mut seen = [false; 10];
            for &l in labels {
                seen[l as usize] = true;
            }
            assert_eq!(seen, [true; 10]);
            assert!(ds.x.iter().all(|v| (0.0..=1.0).contains(v)));
            assert!(ds.x.contains(&1.0) && ds.x.contains(&0.0));
        }
    }

    /// Real MNIST loads with the published sizes (the readers meet the real files).
    #[test]
    fn real_mnist() {
        check_mnist_like(DataName::Mnist);
    }

    /// Real Fashion-MNIST (gzipped, as Debian ships it) loads with the published sizes.
    #[test]
    fn real_fashion_mnist() {
        check_mnist_like(DataName::FashionMnist);
    }
}
