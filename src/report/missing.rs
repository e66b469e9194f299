//! The report of the missing-data benchmark ([`crate::missing::study`]): tables, figures
//! and one page, from the study's `runs.csv` and `bins.csv`.
//!
//! | file | contents |
//! | --- | --- |
//! | `tables.md` | every table below, with the definitions |
//! | `scores.csv` | one row per (data, algo, mechanism, rate, input): seed means and stds |
//! | `ranks.csv` | mean rank of each input mode over the tables, per (algo, mechanism, rate) |
//! | `decisiveness.csv` | per (algo, input, missingness bin): rows, accuracy, confidence, ECE, certainty, binary decisiveness |
//! | `scores_<data>.{svg,png}` | the main score against the rate, a panel per algo and mechanism |
//! | `decisiveness.{svg,png}` | certainty and ECE against the fraction of a row missing |
//! | `index.html` | everything on one self-contained page |
//!
//! Definitions (also on the page, see [`NOTES`]):
//! - the main score is test accuracy for classification and test RMSE (target units) for
//!   regression; the second is ROC AUC or R²;
//! - cells are mean ± sample std over the seeds whose job finished; a diverged or failed
//!   job is counted and shown, never averaged in;
//! - ranks: within one table, algorithm, mechanism and rate, the input modes are ranked by
//!   their seed-mean main score (1 = best; ties share the mean rank; a mode with no
//!   finished seed ranks last), then averaged over the tables;
//! - the decisiveness table pools the test rows of every classification table, mechanism
//!   (`none` included), rate and seed, bin by bin, so its ECE is that of the pooled rows.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ReportError;
use super::html::{Page, page};
use super::plots::{
    DrawResult, PALETTE, RenderedPlot, draw_legend, file_stem, format_tick, register_font,
};
use super::stats::MeanStd;
use super::tables::{Table, markdown};
use crate::missing::metrics::ECE_BINS;
use crate::missing::study::{BINS_HEADER, MISSING_BINS, RUNS_HEADER, missing_bin_label};

/// The definitions behind the numbers.
pub const NOTES: [&str; 7] = [
    "Each job: the whole table has values removed (mechanism, rate; the same mask for every \
     input mode and algorithm of a seed), is split 70/30 into train and test by the seed, \
     standardised on the training split, and trained p → ⌈p/2⌉ ReLU → 2 linear → output.",
    "Main score: test accuracy (classification) or test RMSE in the target's units \
     (regression); second score: ROC AUC (macro one-vs-rest beyond two classes) or R².",
    "Cells: mean ± sample std over the seeds whose job finished (n in brackets when fewer \
     than all); 'k failed' or 'k diverged' counts jobs that did not finish; failures are \
     never averaged in.",
    "Mechanism none, rate 0: nothing removed (penguins keeps its real gaps).",
    "Ranks: per table, algorithm, mechanism and rate the input modes are ranked by their \
     seed-mean main score (1 = best, ties share the mean rank, a mode without a finished \
     seed ranks last), then averaged over the tables.",
    "Decisiveness: rows of every classification table, mechanism, rate and seed, pooled by \
     the fraction of the row's features missing. certainty = 1 - H/ln K (H the predictive \
     entropy, 0 = uniform, 1 = one-hot); |2p-1| is for two-class tables only (breast \
     cancer); ECE uses 10 equal-width bins of the top-label confidence.",
    "A method is calibrated when it hesitates if ECE stays low in the bins where its \
     certainty falls: its confidence then tracks its accuracy.",
];

/// One line of `runs.csv`.
#[derive(Clone, Debug)]
struct RunRow {
    data: String,
    mechanism: String,
    rate: f64,
    input: String,
    algo: String,
    regression: bool,
    /// Classes (or values per row).
    classes: usize,
    status: String,
    main: f64,
    second: f64,
}

/// One line of `bins.csv`, kept for classification only.
#[derive(Clone, Debug)]
struct BinRow {
    data: String,
    input: String,
    algo: String,
    missing_bin: usize,
    confidence_bin: usize,
    rows: f64,
    correct: f64,
    confidence: f64,
    certainty: f64,
    decisiveness: f64,
    /// Whether the table has two classes (its `|2p-1|` sums mean something).
    binary: bool,
}

/// The columns of a CSV file by name, checked against the study's header.
struct Columns {
    path: PathBuf,
    names: Vec<String>,
}

impl Columns {
    fn new(path: &Path, header: &csv::StringRecord, want: &str) -> Result<Columns, ReportError> {
        let names: Vec<String> = header.iter().map(str::to_string).collect();
        for column in want.split(',') {
            if !names.iter().any(|n| n == column) {
                return Err(ReportError::Csv {
                    path: path.into(),
                    line: 1,
                    message: format!("no column `{column}`; expected the header {want}"),
                });
            }
        }
        Ok(Columns { path: path.into(), names })
    }

    fn text<'r>(&self, r: &'r csv::StringRecord, name: &str) -> &'r str {
        let i = self.names.iter().position(|n| n == name).expect("checked in new");
        r.get(i).unwrap_or("")
    }

    /// A number cell; empty is NaN.
    fn num(
        &self,
        r: &csv::StringRecord,
        name: &'static str,
        line: u64,
    ) -> Result<f64, ReportError> {
        let t = self.text(r, name);
        if t.is_empty() {
            return Ok(f64::NAN);
        }
        t.parse().map_err(|_| ReportError::Cell {
            path: self.path.clone(),
            line,
            column: name,
            value: t.to_string(),
            expected: "a number",
        })
    }
}

fn read_csv(
    path: &Path,
    header: &str,
) -> Result<(Columns, Vec<(u64, csv::StringRecord)>), ReportError> {
    let bytes = fs::read(path).map_err(|source| ReportError::Read { path: path.into(), source })?;
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let csv_err = |e: csv::Error| ReportError::Csv {
        path: path.into(),
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    };
    let head = reader.headers().map_err(csv_err)?.clone();
    let cols = Columns::new(path, &head, header)?;
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        rows.push((i as u64 + 2, rec.map_err(csv_err)?));
    }
    Ok((cols, rows))
}

fn read_runs(path: &Path) -> Result<Vec<RunRow>, ReportError> {
    let (c, rows) = read_csv(path, RUNS_HEADER)?;
    rows.iter()
        .map(|(line, r)| {
            let regression = c.text(r, "task") == "regression";
            let (main, second) = if regression { ("rmse", "r2") } else { ("accuracy", "auc") };
            Ok(RunRow {
                data: c.text(r, "data").into(),
                mechanism: c.text(r, "mechanism").into(),
                rate: c.num(r, "rate", *line)?,
                input: c.text(r, "input").into(),
                algo: c.text(r, "algo").into(),
                regression,
                classes: c.num(r, "outputs", *line)? as usize,
                status: c.text(r, "status").into(),
                main: c.num(r, main, *line)?,
                second: c.num(r, second, *line)?,
            })
        })
        .collect()
}

fn read_bins(
    path: &Path,
    classification: &BTreeSet<String>,
    binary: &BTreeSet<String>,
) -> Result<Vec<BinRow>, ReportError> {
    let (c, rows) = read_csv(path, BINS_HEADER)?;
    let mut out = Vec::new();
    for (line, r) in &rows {
        let data = c.text(r, "data");
        if !classification.contains(data) {
            continue;
        }
        let bin = |name: &'static str, limit: usize| -> Result<usize, ReportError> {
            let v = c.num(r, name, *line)?;
            if v >= 0.0 && (v as usize) < limit && v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(ReportError::Cell {
                    path: path.into(),
                    line: *line,
                    column: name,
                    value: c.text(r, name).into(),
                    expected: "a bin index",
                })
            }
        };
        out.push(BinRow {
            data: data.into(),
            input: c.text(r, "input").into(),
            algo: c.text(r, "algo").into(),
            missing_bin: bin("missing_bin", MISSING_BINS)?,
            confidence_bin: bin("confidence_bin", ECE_BINS)?,
            rows: c.num(r, "rows", *line)?,
            correct: c.num(r, "correct", *line)?,
            confidence: c.num(r, "confidence_sum", *line)?,
            certainty: c.num(r, "certainty_sum", *line)?,
            decisiveness: c.num(r, "decisiveness_sum", *line)?,
            binary: binary.contains(data),
        });
    }
    Ok(out)
}

/// The seeds of one cell of the score tables.
#[derive(Default, Clone, Debug)]
struct Cell {
    main: Vec<f64>,
    second: Vec<f64>,
    diverged: usize,
    failed: usize,
}

impl Cell {
    fn seeds(&self) -> usize {
        self.main.len() + self.diverged + self.failed
    }

    fn mean_main(&self) -> Option<f64> {
        MeanStd::of(&self.main).map(|m| m.mean)
    }

    fn text(&self, regression: bool) -> String {
        let Some(m) = MeanStd::of(&self.main) else {
            return self.failures().unwrap_or_else(|| "–".into());
        };
        let digits = if regression && m.mean.abs() >= 10.0 { 1 } else { 3 };
        let mut s = format!("{:.digits$} ± {:.digits$}", m.mean, m.std);
        if let Some(second) = MeanStd::of(&self.second) {
            s.push_str(&format!(" · {:.3}", second.mean));
        }
        if self.main.len() < self.seeds() {
            s.push_str(&format!(" (n {})", self.main.len()));
        }
        if let Some(f) = self.failures() {
            s.push_str(&format!(", {f}"));
        }
        s
    }

    fn failures(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.failed > 0 {
            parts.push(format!("{} failed", self.failed));
        }
        if self.diverged > 0 {
            parts.push(format!("{} diverged", self.diverged));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// `(mechanism, rate)` in display order: none first, then by mechanism and rate.
type Condition = (String, RateKey);

/// A rate as an orderable key (rates are short decimals).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RateKey(i64);

impl RateKey {
    fn of(r: f64) -> RateKey {
        RateKey((r * 1e6).round() as i64)
    }
    fn value(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

fn mechanism_order(m: &str) -> usize {
    ["none", "mcar", "mar", "mnar"].iter().position(|x| *x == m).unwrap_or(4)
}

/// The input modes in the order they are shown: PROMISSING first, then the baselines.
fn input_order(m: &str) -> usize {
    ["promissing", "mpromissing", "mask-concat", "zero", "mean", "median", "knn", "knn-mean"]
        .iter()
        .position(|x| *x == m)
        .unwrap_or(8)
}

struct Scores {
    /// (data, algo) -> condition -> input -> cell.
    cells: BTreeMap<(String, String), BTreeMap<Condition, BTreeMap<String, Cell>>>,
    regression: BTreeMap<String, bool>,
    inputs: Vec<String>,
    algos: Vec<String>,
    data: Vec<String>,
}

fn scores(runs: &[RunRow]) -> Scores {
    let mut cells: BTreeMap<(String, String), BTreeMap<Condition, BTreeMap<String, Cell>>> =
        BTreeMap::new();
    let mut regression = BTreeMap::new();
    let (mut inputs, mut algos, mut data) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for r in runs {
        regression.insert(r.data.clone(), r.regression);
        inputs.insert(r.input.clone());
        algos.insert(r.algo.clone());
        data.insert(r.data.clone());
        let cell = cells
            .entry((r.data.clone(), r.algo.clone()))
            .or_default()
            .entry((r.mechanism.clone(), RateKey::of(r.rate)))
            .or_default()
            .entry(r.input.clone())
            .or_default();
        match r.status.as_str() {
            "ok" if r.main.is_finite() => {
                cell.main.push(r.main);
                if r.second.is_finite() {
                    cell.second.push(r.second);
                }
            }
            "diverged" => cell.diverged += 1,
            _ => cell.failed += 1,
        }
    }
    let mut inputs: Vec<String> = inputs.into_iter().collect();
    inputs.sort_by_key(|m| (input_order(m), m.clone()));
    Scores {
        cells,
        regression,
        inputs,
        algos: algos.into_iter().collect(),
        data: data.into_iter().collect(),
    }
}

fn sorted_conditions<'a>(c: impl Iterator<Item = &'a Condition>) -> Vec<Condition> {
    let mut v: Vec<Condition> = c.cloned().collect();
    v.sort_by_key(|(m, r)| (mechanism_order(m), m.clone(), *r));
    v
}

fn score_tables(s: &Scores) -> Vec<Table> {
    let mut tables = Vec::new();
    for ((data, algo), by_condition) in &s.cells {
        let regression = s.regression[data];
        let (main, second) = if regression { ("RMSE", "R²") } else { ("accuracy", "ROC AUC") };
        let mut columns = vec!["mechanism".to_string(), "rate".into()];
        columns.extend(s.inputs.iter().cloned());
        let rows = sorted_conditions(by_condition.keys())
            .into_iter()
            .map(|cond| {
                let mut row = vec![cond.0.clone(), format_tick(cond.1.value())];
                for input in &s.inputs {
                    let cell = by_condition[&cond].get(input);
                    row.push(cell.map_or("–".into(), |c| c.text(regression)));
                }
                row
            })
            .collect();
        tables.push(Table {
            title: format!("{data}, {algo}: test {main} · {second}"),
            caption: format!(
                "mean ± std of the test {main} over seeds, then the mean {second}; \
                 {} is better.",
                if regression { "lower RMSE" } else { "higher accuracy" }
            ),
            columns,
            rows,
        });
    }
    tables
}

/// `(algo, condition) -> (input -> mean rank, tables counted)`.
type Ranks = BTreeMap<(String, Condition), (BTreeMap<String, f64>, usize)>;

/// Mean ranks per (algo, condition) over the tables: `input -> mean rank`, and how many
/// tables went in.
fn ranks(s: &Scores) -> Ranks {
    let mut out: Ranks = BTreeMap::new();
    for ((data, algo), by_condition) in &s.cells {
        let lower_is_better = s.regression[data];
        for (cond, by_input) in by_condition {
            let mut scored: Vec<(String, f64)> = s
                .inputs
                .iter()
                .map(|i| {
                    let m = by_input.get(i).and_then(Cell::mean_main);
                    let v = match m {
                        Some(v) if lower_is_better => -v,
                        Some(v) => v,
                        None => f64::NEG_INFINITY,
                    };
                    (i.clone(), v)
                })
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1));
            let entry = out.entry((algo.clone(), cond.clone())).or_default();
            entry.1 += 1;
            let mut i = 0;
            while i < scored.len() {
                let mut j = i;
                while j + 1 < scored.len() && scored[j + 1].1 == scored[i].1 {
                    j += 1;
                }
                let rank = (i + j) as f64 / 2.0 + 1.0;
                for (input, _) in &scored[i..=j] {
                    *entry.0.entry(input.clone()).or_default() += rank;
                }
                i = j + 1;
            }
        }
    }
    for (sums, n) in out.values_mut() {
        for v in sums.values_mut() {
            *v /= *n as f64;
        }
    }
    out
}

fn rank_table(s: &Scores, r: &Ranks) -> Table {
    let mut columns = vec!["algo".to_string(), "mechanism".into(), "rate".into(), "tables".into()];
    columns.extend(s.inputs.iter().cloned());
    let mut keys: Vec<&(String, Condition)> = r.keys().collect();
    keys.sort_by_key(|(a, (m, rate))| (a.clone(), mechanism_order(m), *rate));
    let rows = keys
        .into_iter()
        .map(|k| {
            let (sums, n) = &r[k];
            let mut row =
                vec![k.0.clone(), k.1.0.clone(), format_tick(k.1.1.value()), n.to_string()];
            let best = sums.values().copied().fold(f64::INFINITY, f64::min);
            for input in &s.inputs {
                row.push(sums.get(input).map_or("–".into(), |v| {
                    if *v == best { format!("**{v:.2}**") } else { format!("{v:.2}") }
                }));
            }
            row
        })
        .collect();
    Table {
        title: "Mean rank of each input mode over the tables".into(),
        caption: "1 = best main score of all modes in every table; the best mean rank of a row \
                  is in bold."
            .into(),
        columns,
        rows,
    }
}

/// `(algo, mechanism order, mechanism, rate)`: a row of the gap tables, in display order.
type GapRow = (String, usize, String, RateKey);

/// Against mean imputation, per (algo, condition) and input mode, averaged over the tables
/// of one task: accuracy difference in points (classification), or RMSE change in percent
/// (regression). `None` where a table lacks a finished seed for the mode or for mean.
fn gap_table(s: &Scores, regression: bool) -> Option<Table> {
    let mut by_row: BTreeMap<GapRow, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    let mut tables = BTreeSet::new();
    for ((data, algo), by_condition) in &s.cells {
        if s.regression[data] != regression {
            continue;
        }
        tables.insert(data.clone());
        for (cond, by_input) in by_condition {
            let Some(base) = by_input.get("mean").and_then(Cell::mean_main) else { continue };
            let row = by_row
                .entry((algo.clone(), mechanism_order(&cond.0), cond.0.clone(), cond.1))
                .or_default();
            for input in &s.inputs {
                let gap = by_input.get(input).and_then(Cell::mean_main).map(|v| {
                    if regression { 100.0 * (v / base - 1.0) } else { 100.0 * (v - base) }
                });
                row.entry(input.clone()).or_default().push(gap.unwrap_or(f64::NAN));
            }
        }
    }
    if by_row.is_empty() {
        return None;
    }
    let mut columns = vec!["algo".to_string(), "mechanism".into(), "rate".into()];
    columns.extend(s.inputs.iter().cloned());
    let rows = by_row
        .iter()
        .map(|((algo, _, mech, rate), gaps)| {
            let mut row = vec![algo.clone(), mech.clone(), format_tick(rate.value())];
            for input in &s.inputs {
                let v = &gaps[input];
                let cell = if v.len() == tables.len() && v.iter().all(|x| x.is_finite()) {
                    format!("{:+.1}", v.iter().sum::<f64>() / v.len() as f64)
                } else {
                    "–".into()
                };
                row.push(cell);
            }
            row
        })
        .collect();
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    Some(if regression {
        Table {
            title: "Regression: test RMSE against mean imputation, percent".into(),
            caption: format!(
                "mean over {} of (RMSE / RMSE of mean imputation - 1) x 100, seed means; \
                 negative is better; – where a table has no finished seed.",
                names.join(", ")
            ),
            columns,
            rows,
        }
    } else {
        Table {
            title: "Classification: test accuracy against mean imputation, points".into(),
            caption: format!(
                "mean over {} of (accuracy - accuracy of mean imputation) x 100, seed means; \
                 positive is better; – where a table has no finished seed.",
                names.join(", ")
            ),
            columns,
            rows,
        }
    })
}

/// Pooled classification rows of one (algo, input, missingness bin).
#[derive(Default, Clone, Debug)]
struct Pool {
    n: [f64; ECE_BINS],
    correct: [f64; ECE_BINS],
    confidence: [f64; ECE_BINS],
    certainty: f64,
    binary_rows: f64,
    decisiveness: f64,
}

impl Pool {
    fn rows(&self) -> f64 {
        self.n.iter().sum()
    }
    fn accuracy(&self) -> f64 {
        self.correct.iter().sum::<f64>() / self.rows()
    }
    fn mean_confidence(&self) -> f64 {
        self.confidence.iter().sum::<f64>() / self.rows()
    }
    fn ece(&self) -> f64 {
        let n = self.rows();
        (0..ECE_BINS).map(|b| (self.correct[b] - self.confidence[b]).abs() / n).sum()
    }
}

/// `(data, algo, input) -> pools per missingness bin`; data `all` pools every table.
type Pools = BTreeMap<(String, String, String), [Pool; MISSING_BINS]>;

fn pools(bins: &[BinRow]) -> Pools {
    let mut out: Pools = BTreeMap::new();
    for b in bins {
        for data in ["all", b.data.as_str()] {
            let key = (data.to_string(), b.algo.clone(), b.input.clone());
            out.entry(key).or_default()[b.missing_bin].add(b);
        }
    }
    out
}

impl Pool {
    fn add(&mut self, b: &BinRow) {
        let pool = self;
        let c = b.confidence_bin;
        pool.n[c] += b.rows;
        pool.correct[c] += b.correct;
        pool.confidence[c] += b.confidence;
        pool.certainty += b.certainty;
        if b.binary {
            pool.binary_rows += b.rows;
            pool.decisiveness += b.decisiveness;
        }
    }
}

fn decisiveness_table(p: &Pools, inputs: &[String]) -> Table {
    let columns = [
        "algo",
        "input",
        "missing",
        "rows",
        "accuracy",
        "confidence",
        "ECE",
        "certainty",
        "|2p-1| (binary)",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    let mut keys: Vec<&(String, String, String)> = p.keys().filter(|k| k.0 == "all").collect();
    keys.sort_by_key(|(_, a, i)| (a.clone(), input_order(i), i.clone()));
    for key in keys {
        if !inputs.contains(&key.2) {
            continue;
        }
        for (b, pool) in p[key].iter().enumerate() {
            if pool.rows() == 0.0 {
                continue;
            }
            rows.push(vec![
                key.1.clone(),
                key.2.clone(),
                missing_bin_label(b),
                format!("{}", pool.rows()),
                format!("{:.3}", pool.accuracy()),
                format!("{:.3}", pool.mean_confidence()),
                format!("{:.3}", pool.ece()),
                format!("{:.3}", pool.certainty / pool.rows()),
                if pool.binary_rows > 0.0 {
                    format!("{:.3}", pool.decisiveness / pool.binary_rows)
                } else {
                    "–".into()
                },
            ]);
        }
    }
    Table {
        title: "Decisiveness and calibration by the fraction of a row missing".into(),
        caption: "test rows of every classification table, mechanism, rate and seed, pooled \
                  per bin of the fraction of the row's features missing."
            .into(),
        columns,
        rows,
    }
}

/// One line of a panel: `(x, y, ±err)` points.
struct Series {
    label: String,
    color: RGBColor,
    points: Vec<(f64, f64, f64)>,
}

struct Panel {
    title: String,
    x_desc: String,
    y_desc: String,
    x_range: (f64, f64),
    y_range: (f64, f64),
    /// Tick labels for integer x positions (categorical axes), or empty.
    x_labels: Vec<String>,
    series: Vec<Series>,
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    legend: bool,
) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(p.x_range.0..p.x_range.1, p.y_range.0..p.y_range.1)?;
    let labels = &p.x_labels;
    chart
        .configure_mesh()
        .x_desc(p.x_desc.as_str())
        .y_desc(p.y_desc.as_str())
        .x_labels(if labels.is_empty() { 8 } else { labels.len() })
        .x_label_formatter(&|x| {
            if labels.is_empty() {
                format_tick(*x)
            } else {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                    labels[i as usize].clone()
                } else {
                    String::new()
                }
            }
        })
        .y_label_formatter(&|y| format_tick(*y))
        .label_style(("sans-serif", 13))
        .draw()?;
    for s in &p.series {
        let color = s.color;
        let line = chart.draw_series(LineSeries::new(
            s.points.iter().map(|&(x, y, _)| (x, y)),
            color.stroke_width(2),
        ))?;
        if legend {
            line.label(s.label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        }
        chart.draw_series(
            s.points.iter().map(|&(x, y, _)| Circle::new((x, y), 3, color.filled())),
        )?;
        chart.draw_series(s.points.iter().filter(|p| p.2 > 0.0).map(|&(x, y, e)| {
            PathElement::new(vec![(x, y - e), (x, y + e)], color.stroke_width(1))
        }))?;
    }
    if legend {
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft, 13)?;
    }
    Ok(())
}

const GRID_SIZE: (u32, u32) = (1200, 760);

fn render_grid(
    title: &str,
    panels: &[Panel],
    cols: usize,
    out: &Path,
    stem: &str,
) -> Result<RenderedPlot, ReportError> {
    let svg_path = out.join(format!("{stem}.svg"));
    let png_path = out.join(format!("{stem}.png"));
    let rows = panels.len().div_ceil(cols);
    fn draw_all<DB: DrawingBackend>(
        root: DrawingArea<DB, Shift>,
        title: &str,
        panels: &[Panel],
        rows: usize,
        cols: usize,
    ) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let root = root.titled(title, ("sans-serif", 24))?;
        for (i, area) in root.split_evenly((rows, cols)).iter().enumerate() {
            if let Some(p) = panels.get(i) {
                draw_panel(area, p, i == 0)?;
            }
        }
        root.present()
    }
    let plot_err = |path: &Path, e: String| ReportError::Plot { path: path.into(), message: e };
    let mut svg = String::new();
    draw_all(
        SVGBackend::with_string(&mut svg, GRID_SIZE).into_drawing_area(),
        title,
        panels,
        rows,
        cols,
    )
    .map_err(|e| plot_err(&svg_path, e.to_string()))?;
    fs::write(&svg_path, &svg)
        .map_err(|source| ReportError::Write { path: svg_path.clone(), source })?;
    draw_all(
        BitMapBackend::new(&png_path, GRID_SIZE).into_drawing_area(),
        title,
        panels,
        rows,
        cols,
    )
    .map_err(|e| plot_err(&png_path, e.to_string()))?;
    Ok(RenderedPlot { title: title.into(), svg_path, png_path, svg })
}

fn color_of(inputs: &[String], input: &str) -> RGBColor {
    PALETTE[inputs.iter().position(|i| i == input).unwrap_or(0) % PALETTE.len()]
}

/// Per table: the main score against the rate, one panel per (algo, mechanism); the
/// nothing-removed score is the point at rate 0 of every panel.
fn score_figures(s: &Scores, out: &Path) -> Result<Vec<RenderedPlot>, ReportError> {
    let mut plots = Vec::new();
    for data in &s.data {
        let regression = s.regression[data];
        let mut panels = Vec::new();
        let mut mechanisms: Vec<String> = Vec::new();
        for algo in &s.algos {
            if let Some(by_cond) = s.cells.get(&(data.clone(), algo.clone())) {
                for (m, _) in by_cond.keys() {
                    if m != "none" && !mechanisms.contains(m) {
                        mechanisms.push(m.clone());
                    }
                }
            }
        }
        mechanisms.sort_by_key(|m| mechanism_order(m));
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for algo in &s.algos {
            let Some(by_cond) = s.cells.get(&(data.clone(), algo.clone())) else { continue };
            for mech in &mechanisms {
                let series = s
                    .inputs
                    .iter()
                    .map(|input| {
                        let mut points: Vec<(f64, f64, f64)> = by_cond
                            .iter()
                            .filter(|((m, _), _)| m == mech || m == "none")
                            .filter_map(|((_, r), by_input)| {
                                let c = by_input.get(input)?;
                                let m = MeanStd::of(&c.main)?;
                                Some((r.value(), m.mean, m.std))
                            })
                            .collect();
                        points.sort_by(|a, b| a.0.total_cmp(&b.0));
                        for p in &points {
                            lo = lo.min(p.1 - p.2);
                            hi = hi.max(p.1 + p.2);
                        }
                        Series { label: input.clone(), color: color_of(&s.inputs, input), points }
                    })
                    .collect();
                panels.push(Panel {
                    title: format!("{algo}, {mech}"),
                    x_desc: "rate of values removed".into(),
                    y_desc: if regression { "test RMSE" } else { "test accuracy" }.into(),
                    x_range: (-0.03, 0.93),
                    y_range: (0.0, 0.0),
                    x_labels: Vec::new(),
                    series,
                });
            }
        }
        if panels.is_empty() || !lo.is_finite() {
            continue;
        }
        let pad = ((hi - lo) * 0.05).max(1e-3);
        for p in &mut panels {
            p.y_range = (lo - pad, hi + pad);
        }
        let what = if regression { "RMSE (lower is better)" } else { "accuracy" };
        let title = format!("{data}: test {what} against the rate removed (mean ± std over seeds)");
        plots.push(render_grid(
            &title,
            &panels,
            mechanisms.len().max(1),
            out,
            &format!("scores_{}", file_stem(data)),
        )?);
    }
    Ok(plots)
}

fn decisiveness_figure(
    p: &Pools,
    inputs: &[String],
    algos: &[String],
    out: &Path,
) -> Result<Option<RenderedPlot>, ReportError> {
    let labels: Vec<String> = (0..MISSING_BINS).map(missing_bin_label).collect();
    let mut panels = Vec::new();
    for algo in algos {
        for (what, f) in [
            ("certainty 1 - H/ln K", (|q: &Pool| q.certainty / q.rows()) as fn(&Pool) -> f64),
            ("accuracy", |q: &Pool| q.accuracy()),
            ("ECE", |q: &Pool| q.ece()),
        ] {
            let series = inputs
                .iter()
                .filter_map(|input| {
                    let pools = p.get(&("all".to_string(), algo.clone(), input.clone()))?;
                    let points = pools
                        .iter()
                        .enumerate()
                        .filter(|(_, q)| q.rows() > 0.0)
                        .map(|(b, q)| (b as f64, f(q), 0.0))
                        .collect();
                    Some(Series { label: input.clone(), color: color_of(inputs, input), points })
                })
                .collect::<Vec<_>>();
            if series.is_empty() {
                continue;
            }
            let y_range = if what == "ECE" { (0.0, 0.5) } else { (0.0, 1.02) };
            panels.push(Panel {
                title: format!("{algo}: {what}"),
                x_desc: "fraction of the row missing".into(),
                y_desc: what.into(),
                x_range: (-0.3, MISSING_BINS as f64 - 0.7),
                y_range,
                x_labels: labels.clone(),
                series,
            });
        }
    }
    if panels.is_empty() {
        return Ok(None);
    }
    let title =
        "Classification: certainty, accuracy and calibration by the fraction of a row missing";
    Ok(Some(render_grid(title, &panels, 3, out, "decisiveness")?))
}

fn write_file(path: &Path, text: &str) -> Result<(), ReportError> {
    fs::write(path, text).map_err(|source| ReportError::Write { path: path.into(), source })
}

fn csv_num(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite()).map_or(String::new(), |x| format!("{x}"))
}

/// Writes the report of the study results in `results` (its `runs.csv`, `bins.csv`) into
/// `out`; returns the page's path.
pub fn write_missing_report(results: &Path, out: &Path) -> Result<PathBuf, ReportError> {
    let runs = read_runs(&results.join("runs.csv"))?;
    if runs.is_empty() {
        return Err(ReportError::NoRuns { searched: vec![results.join("runs.csv")], skipped: 0 });
    }
    let classification: BTreeSet<String> =
        runs.iter().filter(|r| !r.regression).map(|r| r.data.clone()).collect();
    let binary: BTreeSet<String> =
        runs.iter().filter(|r| r.classes == 2).map(|r| r.data.clone()).collect();
    let bins = read_bins(&results.join("bins.csv"), &classification, &binary)?;
    fs::create_dir_all(out).map_err(|source| ReportError::Write { path: out.into(), source })?;
    register_font()?;

    let s = scores(&runs);
    let r = ranks(&s);
    let p = pools(&bins);

    let mut tables = vec![rank_table(&s, &r)];
    tables.extend(gap_table(&s, false));
    tables.extend(gap_table(&s, true));
    tables.push(decisiveness_table(&p, &s.inputs));
    tables.extend(score_tables(&s));
    write_file(&out.join("tables.md"), &markdown(&tables, &NOTES))?;

    let mut csv = String::from(
        "data,algo,mechanism,rate,input,seeds,finished,diverged,failed,main_mean,main_std,\
         second_mean,second_std,main\n",
    );
    for ((data, algo), by_cond) in &s.cells {
        let main = if s.regression[data] { "rmse" } else { "accuracy" };
        for cond in sorted_conditions(by_cond.keys()) {
            for (input, c) in &by_cond[&cond] {
                let m = MeanStd::of(&c.main);
                let sd = MeanStd::of(&c.second);
                csv.push_str(&format!(
                    "{data},{algo},{},{},{input},{},{},{},{},{},{},{},{},{main}\n",
                    cond.0,
                    cond.1.value(),
                    c.seeds(),
                    c.main.len(),
                    c.diverged,
                    c.failed,
                    csv_num(m.map(|m| m.mean)),
                    csv_num(m.map(|m| m.std)),
                    csv_num(sd.map(|m| m.mean)),
                    csv_num(sd.map(|m| m.std)),
                ));
            }
        }
    }
    write_file(&out.join("scores.csv"), &csv)?;

    let mut csv = String::from("algo,mechanism,rate,tables,input,mean_rank\n");
    for ((algo, (mech, rate)), (sums, n)) in &r {
        for (input, v) in sums {
            csv.push_str(&format!("{algo},{mech},{},{n},{input},{v}\n", rate.value()));
        }
    }
    write_file(&out.join("ranks.csv"), &csv)?;

    let header =
        "algo,input,missing_bin,rows,accuracy,confidence,ece,certainty,binary_rows,decisiveness\n";
    let (mut csv, mut by_data) = (header.to_string(), format!("data,{header}"));
    for ((data, algo, input), pools) in &p {
        for (b, q) in pools.iter().enumerate().filter(|(_, q)| q.rows() > 0.0) {
            let line = format!(
                "{algo},{input},\"{}\",{},{},{},{},{},{},{}\n",
                missing_bin_label(b),
                q.rows(),
                q.accuracy(),
                q.mean_confidence(),
                q.ece(),
                q.certainty / q.rows(),
                q.binary_rows,
                csv_num((q.binary_rows > 0.0).then(|| q.decisiveness / q.binary_rows)),
            );
            if data == "all" {
                csv.push_str(&line);
            } else {
                by_data.push_str(&format!("{data},{line}"));
            }
        }
    }
    write_file(&out.join("decisiveness.csv"), &csv)?;
    write_file(&out.join("decisiveness_by_data.csv"), &by_data)?;

    let mut plots = score_figures(&s, out)?;
    plots.extend(decisiveness_figure(&p, &s.inputs, &s.algos, out)?);
    let html = page(&Page {
        notes: &NOTES,
        tables: &tables,
        plots: &plots,
        n_runs: runs.len(),
        skipped: &[],
    });
    let index = out.join("index.html");
    write_file(&index, &html)?;
    Ok(index)
}
