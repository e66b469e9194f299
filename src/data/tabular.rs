//! CSV tables: a header row, one named target column, and feature columns that are either
//! numeric or categorical.
//!
//! Terms:
//!
//! - A **numeric** column becomes one `f32` feature. A column is numeric when its first
//!   observed cell parses as a number, unless [`TabularSpec::categorical`] names it; any
//!   later cell that is not a finite number is then an error, not a new category.
//! - A **categorical** column becomes one feature per category (one-hot), named
//!   `column=value`. Categories are learned from the training file and sorted: numerically
//!   when every category is a number, else by byte order.
//! - A **missing** cell is empty, `NA`, `NaN` or `?` (case-insensitive, spaces trimmed). It is
//!   never filled in: its feature (or all one-hot features of a categorical cell) is marked in
//!   [`Dataset::missing`] and holds `0.0`.
//! - The **schema** is what is learned from the training file (column kinds, categories,
//!   class names); test files are encoded with the training file's schema, so both have the
//!   same features in the same order.
//!
//! The target is a class (labels mapped to `0..k` in the sorted order of the class names)
//! or a real value. A row with a missing target is an error naming its line, unless
//! [`TabularSpec::drop_missing_target`] is set.

use std::cmp::Ordering;
use std::path::Path;

use super::{DataError, Dataset, Split, Target};

/// What the target column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Class names, mapped to labels `0..k` in sorted order.
    Classification,
    /// One real value per row.
    Regression,
}

/// How to read a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabularSpec {
    /// The header name of the target column.
    pub target: String,
    /// Whether the target is a class or a value.
    pub task: Task,
    /// Drop rows whose target is missing instead of failing. Default: `false`.
    pub drop_missing_target: bool,
    /// Columns to treat as categorical even if their values look numeric (codes, years).
    /// Default: none.
    pub categorical: Vec<String>,
}

impl TabularSpec {
    /// A spec with the defaults: no row dropped, no column forced categorical.
    pub fn new(target: impl Into<String>, task: Task) -> Self {
        TabularSpec { target: target.into(), task, drop_missing_target: false, categorical: vec![] }
    }
}

/// Whether a cell counts as missing.
pub fn is_missing(cell: &str) -> bool {
    let c = cell.trim();
    c.is_empty() || c == "?" || c.eq_ignore_ascii_case("na") || c.eq_ignore_ascii_case("nan")
}

/// A parsed but not yet encoded CSV file: the header and each row with its line.
#[derive(Debug, Clone)]
struct Table {
    file: String,
    header: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

impl Table {
    fn parse(bytes: &[u8], file: &str) -> Result<Table, DataError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let csv_err = |e: csv::Error| DataError::Csv {
            file: file.to_string(),
            line: e.position().map_or(0, |p| p.line()),
            reason: e.to_string(),
        };

        let mut records = reader.records();
        let header: Vec<String> = match records.next() {
            Some(r) => r.map_err(csv_err)?.iter().map(str::to_string).collect(),
            None => return Err(DataError::Empty { file: file.to_string() }),
        };
        let mut rows = Vec::new();
        for r in records {
            let r = r.map_err(csv_err)?;
            let line = r.position().map_or(0, |p| p.line());
            if r.len() != header.len() {
                return Err(DataError::Ragged {
                    file: file.to_string(),
                    line,
                    expected: header.len(),
                    found: r.len(),
                });
            }
            rows.push((line, r.iter().map(str::to_string).collect()));
        }
        Ok(Table { file: file.to_string(), header, rows })
    }

    fn column(&self, name: &str) -> Result<usize, DataError> {
        self.header.iter().position(|h| h == name).ok_or_else(|| DataError::NoColumn {
            file: self.file.clone(),
            column: name.to_string(),
            columns: self.header.clone(),
        })
    }
}

/// How one source column becomes features.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    Numeric { src: usize },
    Categorical { src: usize, categories: Vec<String> },
}

/// What is learned from a training file and reused for its test file.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    spec: TabularSpec,
    header: Vec<String>,
    target_src: usize,
    columns: Vec<Column>,
    /// Sorted class names (classification only).
    classes: Vec<String>,
    feature_names: Vec<String>,
}

/// Sorts values numerically when all are numbers, else by bytes, and removes duplicates.
fn sorted_unique(mut values: Vec<String>) -> Vec<String> {
    let nums: Option<Vec<f64>> = values.iter().map(|v| v.parse::<f64>().ok()).collect();
    if nums.is_some_and(|n| n.iter().all(|v| v.is_finite())) {
        values.sort_by(|a, b| {
            let (x, y) = (a.parse::<f64>().unwrap_or(0.0), b.parse::<f64>().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal).then_with(|| a.cmp(b))
        });
    } else {
        values.sort();
    }
    values.dedup();
    values
}

impl Schema {
    /// Learns column kinds, categories and classes from a training table.
    fn learn(table: &Table, spec: &TabularSpec) -> Result<Schema, DataError> {
        let target_src = table.column(&spec.target)?;
        let forced =
            spec.categorical.iter().map(|c| table.column(c)).collect::<Result<Vec<_>, _>>()?;
        let observed = |src: usize| {
            table.rows.iter().map(move |(_, r)| r[src].as_str()).filter(|c| !is_missing(c))
        };

        let mut columns = Vec::new();
        let mut feature_names = Vec::new();
        for src in (0..table.header.len()).filter(|&s| s != target_src) {
            let name = &table.header[src];
            let numeric = !forced.contains(&src)
                && observed(src).next().is_none_or(|c| c.parse::<f32>().is_ok());
            if numeric {
                columns.push(Column::Numeric { src });
                feature_names.push(name.clone());
            } else {
                let categories = sorted_unique(observed(src).map(str::to_string).collect());
                feature_names.extend(categories.iter().map(|c| format!("{name}={c}")));
                columns.push(Column::Categorical { src, categories });
            }
        }
        let classes = match spec.task {
            Task::Classification => {
                sorted_unique(observed(target_src).map(str::to_string).collect())
            }
            Task::Regression => vec![],
        };
        Ok(Schema {
            spec: spec.clone(),
            header: table.header.clone(),
            target_src,
            columns,
            classes,
            feature_names,
        })
    }

    /// The feature names, one per encoded feature.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The class names in label order (empty for regression).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Encodes the bytes of a CSV file with this schema; `file` names it in errors.
    pub fn parse(&self, bytes: &[u8], file: &str) -> Result<Dataset, DataError> {
        self.encode(&Table::parse(bytes, file)?)
    }

    /// Reads and encodes a CSV file with this schema.
    pub fn read(&self, path: &Path) -> Result<Dataset, DataError> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        self.parse(&bytes, &path.display().to_string())
    }

    fn encode(&self, table: &Table) -> Result<Dataset, DataError> {
        if table.header != self.header {
            return Err(DataError::HeaderMismatch {
                file: table.file.clone(),
                found: table.header.clone(),
                expected: self.header.clone(),
            });
        }
        let d = self.feature_names.len();
        let file = || table.file.clone();
        let mut x = Vec::with_capacity(table.rows.len() * d);
        let mut missing = Vec::with_capacity(table.rows.len() * d);
        let mut labels = Vec::new();
        let mut values = Vec::new();

        for (line, row) in &table.rows {
            let line = *line;
            let t = &row[self.target_src];
            if is_missing(t) {
                if self.spec.drop_missing_target {
                    continue;
                }
                return Err(DataError::MissingTarget {
                    file: file(),
                    line,
                    column: self.spec.target.clone(),
                    value: t.clone(),
                });
            }
            match self.spec.task {
                Task::Classification => {
                    let label = self.classes.iter().position(|c| c == t).ok_or_else(|| {
                        DataError::UnknownCategory {
                            file: file(),
                            line,
                            column: self.spec.target.clone(),
                            value: t.clone(),
                            known: self.classes.clone(),
                        }
                    })?;
                    labels.push(label as u32);
                }
                Task::Regression => {
                    values.push(parse_finite(t).ok_or_else(|| DataError::BadNumber {
                        file: file(),
                        line,
                        column: self.spec.target.clone(),
                        value: t.clone(),
                    })?)
                }
            }

            for col in &self.columns {
                match col {
                    Column::Numeric { src } => {
                        let cell = &row[*src];
                        if is_missing(cell) {
                            x.push(0.0);
                            missing.push(true);
                            continue;
                        }
                        let v = parse_finite(cell).ok_or_else(|| DataError::BadNumber {
                            file: file(),
                            line,
                            column: self.header[*src].clone(),
                            value: cell.clone(),
                        })?;
                        x.push(v);
                        missing.push(false);
                    }
                    Column::Categorical { src, categories } => {
                        let cell = &row[*src];
                        if is_missing(cell) {
                            x.extend(std::iter::repeat_n(0.0, categories.len()));
                            missing.extend(std::iter::repeat_n(true, categories.len()));
                            continue;
                        }
                        let hot = categories.iter().position(|c| c == cell).ok_or_else(|| {
                            DataError::UnknownCategory {
                                file: file(),
                                line,
                                column: self.header[*src].clone(),
                                value: cell.clone(),
                                known: categories.clone(),
                            }
                        })?;
                        x.extend((0..categories.len()).map(|j| if j == hot { 1.0 } else { 0.0 }));
                        missing.extend(std::iter::repeat_n(false, categories.len()));
                    }
                }
            }
        }

        let target = match self.spec.task {
            Task::Classification => Target::Classes { labels, classes: self.classes.len() },
            Task::Regression => Target::Values { y: values, k: 1 },
        };
        let n = target.len();
        if n == 0 {
            return Err(DataError::Empty { file: file() });
        }
        Ok(Dataset {
            name: table.file.clone(),
            x,
            n,
            d,
            target,
            missing: missing.contains(&true).then_some(missing),
            feature_names: self.feature_names.clone(),
        })
    }
}

/// A finite `f32`, or `None`.
fn parse_finite(cell: &str) -> Option<f32> {
    cell.parse::<f32>().ok().filter(|v| v.is_finite())
}

/// Parses a training CSV file's bytes: learns its schema and encodes it.
pub fn parse_csv(
    bytes: &[u8],
    file: &str,
    spec: &TabularSpec,
) -> Result<(Dataset, Schema), DataError> {
    let table = Table::parse(bytes, file)?;
    let schema = Schema::learn(&table, spec)?;
    Ok((schema.encode(&table)?, schema))
}

/// Reads a training CSV file: learns its schema and encodes it.
pub fn read_csv(path: &Path, spec: &TabularSpec) -> Result<(Dataset, Schema), DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_csv(&bytes, &path.display().to_string(), spec)
}

/// Reads a training and a test file; the test file is encoded with the training schema.
pub fn read_csv_split(train: &Path, test: &Path, spec: &TabularSpec) -> Result<Split, DataError> {
    let (train, schema) = read_csv(train, spec)?;
    Ok(Split { train, test: schema.read(test)? })
}

/// Splits one table into training and test parts: a shuffle seeded with `seed` puts
/// `round(test_fraction * n)` samples in the test part; both keep file order.
///
/// The categories were learned from the whole file, so a category may be absent from one
/// part (its one-hot feature is then all zero there); fitted statistics such as the
/// [`super::Standardizer`]'s still come from the training part only.
pub fn train_test_split(ds: &Dataset, test_fraction: f64, seed: u64) -> Result<Split, DataError> {
    let (train, test) = ds.split_parts("test", test_fraction, seed)?;
    Ok(Split { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(target: &str, task: Task) -> TabularSpec {
        TabularSpec::new(target, task)
    }

    const TABLE: &str = "\
h,color,w,kind
1.5,red,2,b
,blue,NA,a
-3,?,4e1,b
2,red,NaN,c
";

    /// Numeric and categorical columns, each missing token and the one-hot layout against
    /// a table worked out by hand.
    #[test]
    fn encodes_numeric_categorical_and_missing() {
        let (ds, schema) =
            parse_csv(TABLE.as_bytes(), "t.csv", &spec("kind", Task::Classification)).unwrap();
        assert_eq!(ds.feature_names, ["h", "color=blue", "color=red", "w"]);
        assert_eq!((ds.n, ds.d), (4, 4));
        #[rustfmt::skip]
        let want_x = [
            1.5, 0.0, 1.0, 2.0,
            0.0, 1.0, 0.0, 0.0,
            -3.0, 0.0, 0.0, 40.0,
            2.0, 0.0, 1.0, 0.0,
        ];
        #[rustfmt::skip]
        let want_m = [
            false, false, false, false,
            true, false, false, true,
            false, true, true, false,
            false, false, false, true,
        ];
        assert_eq!(ds.x, want_x);
        assert_eq!(ds.missing.as_deref(), Some(&want_m[..]));
        assert_eq!(ds.target, Target::Classes { labels: vec![1, 0, 1, 2], classes: 3 });
        assert_eq!(schema.classes(), ["a", "b", "c"]);
    }

    /// Numeric category and class names sort as numbers, so label 2 means class "10" after
    /// "2" and "9", not between "1" and "2".
    #[test]
    fn numeric_names_sort_numerically() {
        let csv = "code,y\n10,9\n2,10\n9,2\n";
        let mut s = spec("y", Task::Classification);
        s.categorical = vec!["code".into()];
        let (ds, schema) = parse_csv(csv.as_bytes(), "t.csv", &s).unwrap();
        assert_eq!(ds.feature_names, ["code=2", "code=9", "code=10"]);
        assert_eq!(schema.classes(), ["2", "9", "10"]);
        assert_eq!(ds.target, Target::Classes { labels: vec![1, 2, 0], classes: 3 });
        assert_eq!(ds.missing, None);
    }

    /// Regression targets are read as values; the test file reuses the training schema.
    #[test]
    fn regression_and_test_schema() {
        let (train, schema) =
            parse_csv(b"a,c,y\n1,u,0.5\n2,v,1.5\n", "train.csv", &spec("y", Task::Regression))
                .unwrap();
        assert_eq!(train.target, Target::Values { y: vec![0.5, 1.5], k: 1 });
        let test = schema.parse(b"a,c,y\n3,v,2\n", "test.csv").unwrap();
        assert_eq!(test.x, [3.0, 0.0, 1.0]);
        assert_eq!(test.feature_names, train.feature_names);
        let err = schema.parse(b"a,c,y\n3,w,2\n", "test.csv").unwrap_err().to_string();
        assert!(err.contains("test.csv:2: column \"c\" has value \"w\""), "{err}");
        assert!(err.contains("[\"u\", \"v\"]"), "{err}");
        let err = schema.parse(b"a,y,c\n3,2,v\n", "test.csv").unwrap_err().to_string();
        assert!(err.contains("differs from the training file"), "{err}");
    }

    /// A ragged row names the file, the line and both cell counts.
    #[test]
    fn rejects_ragged_row() {
        let err = parse_csv(b"a,y\n1,2\n3\n", "r.csv", &spec("y", Task::Regression)).unwrap_err();
        assert_eq!(err.to_string(), "r.csv:3: row has 1 cells, expected 2 like the header");
    }

    /// A non-number in a numeric column (the first cell decides) is an error quoting it.
    #[test]
    fn rejects_bad_number() {
        for (csv, value) in [("a,y\n1,0\n1.2.3,1\n", "1.2.3"), ("a,y\n1,0\ninf,1\n", "inf")] {
            let err = parse_csv(csv.as_bytes(), "b.csv", &spec("y", Task::Regression)).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!("b.csv:3: column \"a\" has value \"{value}\"")),
                "{msg}"
            );
            assert!(msg.contains("expected a finite number"), "{msg}");
        }
        let err = parse_csv(b"a,y\n1,x\n", "b.csv", &spec("y", Task::Regression)).unwrap_err();
        assert!(err.to_string().contains("column \"y\" has value \"x\""), "{err}");
    }

    /// A missing target fails with its line unless dropping is asked for explicitly.
    #[test]
    fn missing_target_fails_or_is_dropped() {
        let csv = b"a,y\n1,p\n2,NA\n3,q\n";
        let err = parse_csv(csv, "m.csv", &spec("y", Task::Classification)).unwrap_err();
        assert!(err.to_string().starts_with("m.csv:3: target column \"y\" is missing"), "{err}");
        let mut s = spec("y", Task::Classification);
        s.drop_missing_target = true;
        let (ds, _) = parse_csv(csv, "m.csv", &s).unwrap();
        assert_eq!((ds.n, ds.x.clone()), (2, vec![1.0, 3.0]));
    }

    /// Unknown column names and empty inputs are errors, not panics.
    #[test]
    fn rejects_unknown_columns_and_empty_files() {
        let err = parse_csv(b"a,b\n1,2\n", "u.csv", &spec("y", Task::Regression)).unwrap_err();
        assert!(err.to_string().contains("no column named \"y\""), "{err}");
        let mut s = spec("b", Task::Regression);
        s.categorical = vec!["zz".into()];
        assert!(parse_csv(b"a,b\n1,2\n", "u.csv", &s).is_err());
        for csv in ["", "a,y\n"] {
            let err = parse_csv(csv.as_bytes(), "e.csv", &spec("y", Task::Regression));
            assert!(err.unwrap_err().to_string().contains("no samples"));
        }
        let err = parse_csv(b"a,y\n\xff,1\n", "e.csv", &spec("y", Task::Regression)).unwrap_err();
        assert!(err.to_string().starts_with("e.csv:2: "), "{err}");
    }

    /// The train/test split partitions the rows, with the size asked for, reproducibly.
    #[test]
    fn train_test_split_partitions() {
        let csv: String = std::iter::once("a,y\n".to_string())
            .chain((0..50).map(|i| format!("{i},{}\n", i % 2)))
            .collect();
        let (ds, _) = parse_csv(csv.as_bytes(), "s.csv", &spec("y", Task::Classification)).unwrap();
        let split = train_test_split(&ds, 0.2, 5).unwrap();
        assert_eq!((split.train.n, split.test.n), (40, 10));
        let mut all: Vec<f32> = split.train.x.iter().chain(&split.test.x).copied().collect();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, (0..50).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(split, train_test_split(&ds, 0.2, 5).unwrap());
    }
}
