//! Run configuration: the TOML file a user writes, and the checked settings it becomes.
//!
//! [`RawConfig`] mirrors the file (every field optional, unknown keys rejected); command-line
//! flags are applied onto it; then [`RawConfig::check`] validates everything once and
//! returns a [`RunConfig`] whose inner code trusts its values. A resolved config is written
//! into every run folder, with every default filled in, so that a run can be repeated from
//! that file alone.
//!
//! ```toml
//! seed = 0
//! out = "runs/mnist-il-prox"
//!
//! [model]
//! hidden = [256, 256]        # widths between the input and the output
//! activation = "relu"        # relu | tanh | sigmoid | identity
//! head = "softmax-ce"        # softmax-ce | sigmoid-bce | identity-mse
//!
//! [algo]
//! name = "il-prox"           # see `ilnet::algo`
//! lr = 5.0                   # α for the prox family
//! eps = 0.25
//!
//! [data]
//! name = "mnist"             # digits | mnist | fashion-mnist | cifar10 | csv
//!
//! [train]
//! batch = 1
//! steps = 20000
//! eval_every = 50
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::algo::{Algo, Algorithm, Hyper};
use crate::inputs::InputMode;
use crate::model::{Activation, Head};

/// The config file as written; `None` means "use the default".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Seeds the initialisation and the data order. Default 0.
    pub seed: Option<u64>,
    /// The run folder. Default `runs/<data>-<algo>-lr<lr>-seed<seed>`.
    pub out: Option<PathBuf>,
    #[serde(default)]
    pub model: RawModel,
    #[serde(default)]
    pub algo: RawAlgo,
    #[serde(default)]
    pub data: RawData,
    #[serde(default)]
    pub train: RawTrain,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Hidden widths. Default `[256, 256]` (the paper's MNIST network).
    pub hidden: Option<Vec<usize>>,
    /// Every width, input first; must match the data when given. Overrides `hidden`.
    pub sizes: Option<Vec<usize>>,
    /// Default `relu`.
    pub activation: Option<Activation>,
    /// One activation per hidden layer, overriding `activation` (for example
    /// `["relu", "identity"]` for a linear bottleneck).
    pub activations: Option<Vec<Activation>>,
    /// Default: `softmax-ce` for class targets, `identity-mse` for values.
    pub head: Option<Head>,
    /// How the first layer treats missing inputs: `plain` (complete data only, the
    /// default), `promissing`, `mpromissing`, `mask-concat`, `zero`, `mean`, `median`,
    /// `knn`, `knn-mean` (see `ilnet::inputs`).
    pub input: Option<InputMode>,
    /// k of the `knn` and `knn-mean` input modes. Default 5.
    pub knn_k: Option<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlgo {
    /// Default `il-prox`.
    pub name: Option<Algorithm>,
    #[serde(flatten)]
    pub hyper: Hyper,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    /// `digits` (embedded, the default), `mnist`, `fashion-mnist`, `cifar10` or `csv`.
    pub name: Option<String>,
    /// Where named data sets live. Default: `--data-root`, `$ILNET_DATA`, or the user data
    /// folder.
    pub root: Option<PathBuf>,
    /// CSV: the training file (and the only file when `test` is absent).
    pub train: Option<PathBuf>,
    /// CSV: a separate test file.
    pub test: Option<PathBuf>,
    /// CSV: the target column.
    pub target: Option<String>,
    /// CSV: `classification` (default) or `regression`.
    pub task: Option<String>,
    /// CSV without a test file: the fraction held out for testing. Default 0.2.
    pub test_fraction: Option<f64>,
    /// Fraction of the training split held out for validation: evaluation then uses it, and
    /// the test split is scored once at the end. Default 0 (evaluate on the test split, as
    /// the paper does).
    pub validation: Option<f64>,
    /// Train an autoencoder: the target is the input itself, and the head defaults to
    /// `sigmoid-bce` (summed over outputs). Accuracy is then meaningless; read the loss.
    /// Default false.
    pub autoencoder: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrain {
    /// Mini-batch size. Default 1 (streaming, as in most of the paper).
    pub batch: Option<usize>,
    /// Training steps (batches). Default: 20000, unless `epochs` is given.
    pub steps: Option<u64>,
    /// Passes over the training split; converted to steps.
    pub epochs: Option<u64>,
    /// Evaluate every this many steps, and at step 0 and at the end. Default 50.
    pub eval_every: Option<u64>,
    /// Evaluate on at most this many samples of the evaluation split (0 = all). Default 0.
    pub eval_limit: Option<usize>,
    /// Write a checkpoint every this many steps (rounded up to a multiple of
    /// `eval_every`). Default 5000.
    pub checkpoint_every: Option<u64>,
    /// Threads for the dense products. Default 1.
    pub threads: Option<usize>,
}

/// A config value that is not allowed, with the key and what would be.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{key} = {value}: expected {expected}")]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub expected: String,
}

fn bad(key: &str, value: impl fmt::Display, expected: impl Into<String>) -> ConfigError {
    ConfigError { key: key.to_string(), value: value.to_string(), expected: expected.into() }
}

/// Where the data comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum DataSource {
    Named {
        name: crate::data::DataName,
    },
    Csv {
        train: PathBuf,
        test: Option<PathBuf>,
        target: String,
        regression: bool,
        test_fraction: f64,
    },
}

impl DataSource {
    /// The name reports group by: the data set's name, or the CSV file's stem.
    pub fn label(&self) -> String {
        match self {
            DataSource::Named { name } => name.to_string(),
            DataSource::Csv { train, .. } => {
                train.file_stem().map_or("csv".into(), |s| s.to_string_lossy().into_owned())
            }
        }
    }
}

/// Checked settings of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunConfig {
    pub seed: u64,
    pub out: PathBuf,
    /// Hidden widths; the input and output widths come from the data.
    pub hidden: Vec<usize>,
    /// Widths the user wrote in full, checked against the data once it is loaded.
    pub sizes: Option<Vec<usize>>,
    pub activation: Activation,
    /// Empty, or one activation per hidden layer (`model.activations`).
    pub activations: Vec<Activation>,
    /// `None`: chosen from the target once the data is loaded.
    pub head: Option<Head>,
    pub input: InputMode,
    pub knn_k: usize,
    pub algorithm: Algorithm,
    pub hyper: Hyper,
    pub data: DataSource,
    pub data_root: Option<PathBuf>,
    pub validation: f64,
    pub autoencoder: bool,
    pub batch: usize,
    pub steps: Option<u64>,
    pub epochs: Option<u64>,
    pub eval_every: u64,
    pub eval_limit: usize,
    pub checkpoint_every: u64,
    pub threads: usize,
}

impl RawConfig {
    /// Parses a config file; errors name the file, the line and the key.
    pub fn from_file(path: &Path) -> anyhow::Result<RawConfig> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim()))
    }

    /// Validates every field and fills in the defaults.
    pub fn check(&self) -> Result<RunConfig, ConfigError> {
        let m = &self.model;
        let hidden = m.hidden.clone().unwrap_or_else(|| vec![256, 256]);
        if let Some(&w) = hidden.iter().find(|&&w| w == 0) {
            return Err(bad("model.hidden", w, "positive widths"));
        }
        if let Some(sizes) = &m.sizes {
            if sizes.len() < 2 || sizes.contains(&0) {
                return Err(bad(
                    "model.sizes",
                    format!("{sizes:?}"),
                    "at least two positive widths",
                ));
            }
        }
        let activations = m.activations.clone().unwrap_or_default();
        let hidden_layers = m.sizes.as_ref().map_or(hidden.len(), |s| s.len() - 2);
        if !activations.is_empty() && activations.len() != hidden_layers {
            return Err(bad(
                "model.activations",
                format!("{} entries", activations.len()),
                format!("one per hidden layer ({hidden_layers})"),
            ));
        }
        let algorithm = self.algo.name.unwrap_or(Algorithm::IlProx);
        // Resolve once now so that a bad hyperparameter is reported before any data loads.
        algorithm
            .resolve::<f32>(&self.algo.hyper, m.head.unwrap_or(Head::SoftmaxCe))
            .map_err(|e| bad(&format!("algo.{}", e.name), e.value, e.expected))?;

        let d = &self.data;
        let name = d.name.clone().unwrap_or_else(|| "digits".into());
        let data = if name == "csv" {
            let train =
                d.train.clone().ok_or_else(|| bad("data.train", "(missing)", "a CSV path"))?;
            let target =
                d.target.clone().ok_or_else(|| bad("data.target", "(missing)", "a column name"))?;
            let regression = match d.task.as_deref().unwrap_or("classification") {
                "classification" => false,
                "regression" => true,
                other => {
                    return Err(bad(
                        "data.task",
                        format!("{other:?}"),
                        "classification or regression",
                    ));
                }
            };
            let test_fraction = d.test_fraction.unwrap_or(0.2);
            if !(test_fraction > 0.0 && test_fraction < 1.0) {
                return Err(bad("data.test_fraction", test_fraction, "a number in (0, 1)"));
            }
            DataSource::Csv { train, test: d.test.clone(), target, regression, test_fraction }
        } else {
            let parsed = name.parse().map_err(|_| {
                bad(
                    "data.name",
                    format!("{name:?}"),
                    "digits, mnist, fashion-mnist, cifar10 or csv",
                )
            })?;
            for (key, set) in
                [("data.train", d.train.is_some()), ("data.target", d.target.is_some())]
            {
                if set {
                    return Err(bad(key, "(set)", "only with data.name = \"csv\""));
                }
            }
            DataSource::Named { name: parsed }
        };
        let validation = d.validation.unwrap_or(0.0);
        if !(0.0..1.0).contains(&validation) {
            return Err(bad("data.validation", validation, "a number in [0, 1)"));
        }

        let t = &self.train;
        let batch = t.batch.unwrap_or(1);
        if batch == 0 {
            return Err(bad("train.batch", 0, "a positive integer"));
        }
        if t.steps.is_some() && t.epochs.is_some() {
            return Err(bad(
                "train.epochs",
                t.epochs.unwrap_or(0),
                "either train.steps or train.epochs, not both",
            ));
        }
        if t.steps == Some(0) || t.epochs == Some(0) {
            return Err(bad("train.steps", 0, "a positive number of steps or epochs"));
        }
        let eval_every = t.eval_every.unwrap_or(50);
        if eval_every == 0 {
            return Err(bad("train.eval_every", 0, "a positive integer"));
        }
        let checkpoint_every =
            t.checkpoint_every.unwrap_or(5000).max(1).div_ceil(eval_every) * eval_every;
        let threads = t.threads.unwrap_or(1);
        if threads == 0 {
            return Err(bad("train.threads", 0, "a positive integer"));
        }

        let seed = self.seed.unwrap_or(0);
        let lr = self.algo.hyper.lr.unwrap_or(algorithm.default_lr());
        let out = self.out.clone().unwrap_or_else(|| {
            PathBuf::from(format!("runs/{}-{}-lr{}-seed{}", data.label(), algorithm, lr, seed))
        });
        Ok(RunConfig {
            seed,
            out,
            hidden,
            sizes: m.sizes.clone(),
            activation: m.activation.unwrap_or(Activation::Relu),
            activations,
            head: m.head,
            input: m.input.unwrap_or_default(),
            knn_k: match m.knn_k {
                Some(0) => return Err(bad("model.knn_k", 0, "a positive integer")),
                k => k.unwrap_or(5),
            },
            algorithm,
            hyper: self.algo.hyper.clone(),
            data,
            data_root: d.root.clone(),
            validation,
            autoencoder: d.autoencoder.unwrap_or(false),
            batch,
            steps: t.steps,
            epochs: t.epochs,
            eval_every,
            eval_limit: t.eval_limit.unwrap_or(0),
            checkpoint_every,
            threads,
        })
    }
}

impl RunConfig {
    /// The resolved algorithm for a network with head `head`.
    pub fn algo(&self, head: Head) -> Algo<f32> {
        self.algorithm.resolve(&self.hyper, head).expect("checked in RawConfig::check")
    }

    /// The learning rate in force (the preset's when not given).
    pub fn lr(&self) -> f64 {
        self.hyper.lr.unwrap_or(self.algorithm.default_lr())
    }

    /// The config with every default written out, as TOML, for the run folder. `sizes` and
    /// `head` are those of the network actually built; `steps` the resolved count.
    pub fn resolved_toml(&self, sizes: &[usize], head: Head, steps: u64) -> String {
        let mut hyper = self.hyper.clone();
        hyper.lr = Some(self.lr());
        let data = match &self.data {
            DataSource::Named { name } => RawData {
                name: Some(name.to_string()),
                root: self.data_root.clone(),
                validation: Some(self.validation),
                autoencoder: self.autoencoder.then_some(true),
                ..RawData::default()
            },
            DataSource::Csv { train, test, target, regression, test_fraction } => RawData {
                name: Some("csv".into()),
                train: Some(train.clone()),
                test: test.clone(),
                target: Some(target.clone()),
                task: Some(if *regression { "regression" } else { "classification" }.into()),
                test_fraction: test.is_none().then_some(*test_fraction),
                validation: Some(self.validation),
                autoencoder: self.autoencoder.then_some(true),
                ..RawData::default()
            },
        };
        let raw = RawConfig {
            seed: Some(self.seed),
            out: Some(self.out.clone()),
            model: RawModel {
                hidden: Some(self.hidden.clone()),
                sizes: Some(sizes.to_vec()),
                activation: Some(self.activation),
                activations: (!self.activations.is_empty()).then(|| self.activations.clone()),
                head: Some(head),
                input: Some(self.input),
                knn_k: matches!(self.input, InputMode::Knn | InputMode::KnnMean)
                    .then_some(self.knn_k),
            },
            algo: RawAlgo { name: Some(self.algorithm), hyper },
            data,
            train: RawTrain {
                batch: Some(self.batch),
                steps: Some(steps),
                epochs: None,
                eval_every: Some(self.eval_every),
                eval_limit: Some(self.eval_limit),
                checkpoint_every: Some(self.checkpoint_every),
                threads: Some(self.threads),
            },
        };
        toml::to_string(&raw).expect("a config serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<RunConfig, String> {
        let raw: RawConfig = toml::from_str(s).map_err(|e| e.to_string())?;
        raw.check().map_err(|e| e.to_string())
    }

    /// Per-layer activations must match the hidden layers, counted from `sizes` when given.
    #[test]
    fn activations_need_one_per_hidden_layer() {
        let ok = parse("[model]\nhidden = [8, 2]\nactivations = [\"relu\", \"identity\"]").unwrap();
        assert_eq!(ok.activations, vec![Activation::Relu, Activation::Identity]);
        let e = parse("[model]\nhidden = [8]\nactivations = [\"relu\", \"identity\"]").unwrap_err();
        assert!(e.contains("model.activations") && e.contains("one per hidden layer (1)"), "{e}");
        let e = parse("[model]\nsizes = [4, 3, 2, 2, 1]\nactivations = [\"tanh\"]").unwrap_err();
        assert!(e.contains("(3)"), "{e}");
    }

    /// An empty file is a complete config: the embedded digits with IL-prox.
    #[test]
    fn empty_config_has_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.algorithm, Algorithm::IlProx);
        assert_eq!(c.data, DataSource::Named { name: crate::data::DataName::Digits });
        assert_eq!((c.batch, c.eval_every, c.hidden.clone()), (1, 50, vec![256, 256]));
    }

    /// Unknown keys, wrong types and bad values are errors naming the key.
    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        let e = parse("[train]\nbatchsize = 3").unwrap_err();
        assert!(e.contains("batchsize") && e.contains("batch"), "{e}");
        let e = parse("[algo]\nlrr = 1.0").unwrap_err();
        assert!(e.contains("lrr"), "{e}");
        let e = parse("[train]\nbatch = \"big\"").unwrap_err();
        assert!(e.contains("batch"), "{e}");
        let e = parse("[algo]\nname = \"il-magic\"").unwrap_err();
        assert!(e.contains("il-magic"), "{e}");
        let e = parse("[algo]\nlr = -1.0").unwrap_err();
        assert!(e.contains("algo.lr") && e.contains("-1"), "{e}");
        let e = parse("[data]\nname = \"imagenet\"").unwrap_err();
        assert!(e.contains("data.name") && e.contains("imagenet") && e.contains("mnist"), "{e}");
        let e = parse("[train]\nsteps = 10\nepochs = 2").unwrap_err();
        assert!(e.contains("either"), "{e}");
        let e = parse("[data]\nname = \"csv\"").unwrap_err();
        assert!(e.contains("data.train"), "{e}");
        let e = parse("[model]\nactivation = \"gelu\"").unwrap_err();
        assert!(e.contains("gelu"), "{e}");
    }

    /// The resolved config parses back to the same settings.
    #[test]
    fn resolved_config_round_trips() {
        let c =
            parse("seed = 3\n[algo]\nname = \"il-sgd\"\n[train]\nbatch = 4\nsteps = 100").unwrap();
        let text = c.resolved_toml(&[64, 256, 256, 10], Head::SoftmaxCe, 100);
        let back = parse(&text).unwrap();
        assert_eq!(back.seed, 3);
        assert_eq!(back.algorithm, Algorithm::IlSgd);
        assert_eq!(back.steps, Some(100));
        assert_eq!(back.sizes, Some(vec![64, 256, 256, 10]));
        assert_eq!(back.lr(), c.lr());
    }
}
