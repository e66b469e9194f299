//! Removing values from a CSV file, cell by cell: the work behind `ilnet data corrupt`.
//!
//! The file is split into cells by a small reader that remembers where each cell's bytes
//! lie, so the output is the input with the removed cells' bytes deleted and nothing else
//! changed: quoting, number formatting, line endings and blank lines survive.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use super::MissingError;
use super::simulate::{Corruption, Mechanism};
use crate::data::tabular::is_missing;
use crate::data::{DataError, Dataset, Target};

/// What [`corrupt_csv`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Data rows in the file (the header not counted).
    pub rows: usize,
    /// The mechanism applied.
    pub mechanism: Mechanism,
    /// The rate asked for.
    pub rate: f64,
    /// The seed used.
    pub seed: u64,
    /// The MAR driver's name, `None` for the other mechanisms.
    pub driver: Option<String>,
    /// One entry per masked column, in file order.
    pub columns: Vec<ColumnSummary>,
}

/// One masked column in a [`Summary`].
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSummary {
    /// The header name.
    pub name: String,
    /// Cells observed before corruption.
    pub observed_before: usize,
    /// Cells emptied.
    pub removed: usize,
}

impl Summary {
    /// Cells emptied in all.
    pub fn removed(&self) -> usize {
        self.columns.iter().map(|c| c.removed).sum()
    }
}

impl fmt::Display for Summary {
    /// One line for the run, then one per column: `name removed/observed (fraction)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at rate {} (seed {}) over {} rows",
            self.mechanism, self.rate, self.seed, self.rows
        )?;
        if let Some(driver) = &self.driver {
            write!(f, ", driven by {driver:?}")?;
        }
        writeln!(f, ": {} cells removed", self.removed())?;
        for c in &self.columns {
            let frac = c.removed as f64 / c.observed_before.max(1) as f64;
            writeln!(f, "  {:?}: {}/{} ({frac:.3})", c.name, c.removed, c.observed_before)?;
        }
        Ok(())
    }
}

/// Reads the CSV file `input`, removes values with `mechanism` at `rate` and writes the
/// result to `output`.
///
/// - The first row is the header. `target_column` names a column that is never touched;
///   `columns` names the ones to corrupt (default `None`: every column but the target, and
///   for MAR also but the driver).
/// - Cells are compared to the data layer's missing tokens (empty, `NA`, `NaN`, `?`): those
///   already missing stay as they are and count as missing; `rate` is the fraction of the
///   *observed* cells of each chosen column to remove (see [`super::simulate`] for how each
///   mechanism picks them). A removed cell is written as an empty cell.
/// - A column is numeric when every observed cell is a finite number. MAR's driver is the
///   first numeric, fully observed, non-constant column that is not chosen (nor the target);
///   MNAR needs every chosen column numeric. Other columns can still be masked by MCAR and
///   MAR.
/// - Every byte other than those of removed cells is written as it was read: quoting,
///   number formatting, line endings, a missing final newline. The same seed gives the same
///   output on every machine. Reading the whole input before writing makes `input ==
///   output` safe.
///
/// Errors: I/O; a malformed CSV (unclosed quote, a row with another cell count than the
/// header); an unknown, duplicate or target column among `columns`; a target not in the
/// header; a rate outside `[0, 1]`; no possible MAR driver; MNAR on a non-numeric column.
pub fn corrupt_csv(
    input: &Path,
    output: &Path,
    mechanism: Mechanism,
    rate: f64,
    columns: Option<Vec<String>>,
    seed: u64,
    target_column: &str,
) -> Result<Summary, MissingError> {
    let bytes = std::fs::read(input).map_err(|e| MissingError::io(input, e))?;
    let file = input.display().to_string();
    let (out, summary) =
        corrupt_bytes(&bytes, &file, mechanism, rate, columns.as_deref(), seed, target_column)?;
    std::fs::write(output, out).map_err(|e| MissingError::io(output, e))?;
    Ok(summary)
}

/// [`corrupt_csv`] on bytes in memory; `file` names them in errors.
pub(crate) fn corrupt_bytes(
    bytes: &[u8],
    file: &str,
    mechanism: Mechanism,
    rate: f64,
    columns: Option<&[String]>,
    seed: u64,
    target_column: &str,
) -> Result<(Vec<u8>, Summary), MissingError> {
    let table = RawTable::split(bytes, file)?;
    let header: Vec<String> = table.header.iter().map(|s| table.text(s)).collect();
    let no_column = |name: &str| MissingError::UnknownColumn {
        file: file.to_string(),
        column: name.to_string(),
        columns: header.clone(),
    };
    let target =
        header.iter().position(|h| h == target_column).ok_or_else(|| no_column(target_column))?;
    // Feature j of the data set below is source column src[j].
    let src: Vec<usize> = (0..header.len()).filter(|&c| c != target).collect();

    let chosen = match columns {
        None => None,
        Some(names) => {
            let mut idx = Vec::with_capacity(names.len());
            for name in names {
                if name == target_column {
                    return Err(MissingError::TargetChosen {
                        file: file.to_string(),
                        column: name.clone(),
                    });
                }
                let c = header.iter().position(|h| h == name).ok_or_else(|| no_column(name))?;
                let j = src.iter().position(|&s| s == c).expect("non-target columns are features");
                if idx.contains(&j) {
                    return Err(MissingError::DuplicateColumn {
                        dataset: file.to_string(),
                        column: name.clone(),
                    });
                }
                idx.push(j);
            }
            Some(idx)
        }
    };

    let (ds, numeric) = table.to_dataset(&src, &header, file);
    let corruption = Corruption { mechanism, rate, columns: chosen, driver: None };
    let done = corruption.apply_typed(&ds, seed, &numeric)?;

    let (d, was) = (ds.d, ds.missing.as_deref());
    let now = done.data.missing.as_deref();
    let mut cut: Vec<Range<usize>> = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        for (j, &c) in src.iter().enumerate() {
            let at = i * d + j;
            let removed = now.is_some_and(|m| m[at]) && !was.is_some_and(|m| m[at]);
            if removed {
                cut.push(row.cells[c].clone());
            }
        }
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut from = 0;
    for r in &cut {
        out.extend_from_slice(&bytes[from..r.start]);
        from = r.end;
    }
    out.extend_from_slice(&bytes[from..]);

    let observed = |j: usize| (0..ds.n).filter(|&i| !was.is_some_and(|m| m[i * d + j])).count();
    let summary = Summary {
        rows: ds.n,
        mechanism,
        rate,
        seed,
        driver: done.driver.map(|j| header[src[j]].clone()),
        columns: done
            .columns
            .iter()
            .map(|&j| ColumnSummary {
                name: header[src[j]].clone(),
                observed_before: observed(j),
                removed: done.removed[j],
            })
            .collect(),
    };
    Ok((out, summary))
}

/// One data row: its line (1-based, where it starts) and each cell's byte range.
#[derive(Debug, Clone)]
struct RawRow {
    line: u64,
    cells: Vec<Range<usize>>,
}

/// A CSV file split into cells, as byte ranges into the file.
#[derive(Debug, Clone)]
struct RawTable<'a> {
    bytes: &'a [u8],
    header: Vec<Range<usize>>,
    rows: Vec<RawRow>,
}

impl<'a> RawTable<'a> {
    /// Splits RFC 4180 CSV: cells separated by `,`, records by `\n`, `\r\n` or `\r`; a cell
    /// starting with `"` runs to the closing quote (`""` inside is one quote) and may hold
    /// separators and line breaks. Empty lines are skipped, as the data layer's reader does.
    fn split(bytes: &'a [u8], file: &str) -> Result<RawTable<'a>, MissingError> {
        let mut records: Vec<RawRow> = Vec::new();
        let (mut pos, mut line) = (0usize, 1u64);
        while pos < bytes.len() {
            let start_line = line;
            let mut cells = Vec::new();
            loop {
                let start = pos;
                if bytes.get(pos) == Some(&b'"') {
                    pos += 1;
                    loop {
                        match bytes.get(pos) {
                            None => {
                                return Err(DataError::Csv {
                                    file: file.to_string(),
                                    line: start_line,
                                    reason: "a quoted cell is not closed".into(),
                                }
                                .into());
                            }
                            Some(b'"') if bytes.get(pos + 1) == Some(&b'"') => pos += 2,
                            Some(b'"') => {
                                pos += 1;
                                break;
                            }
                            Some(&b) => {
                                line += u64::from(b == b'\n');
                                pos += 1;
                            }
                        }
                    }
                }
                while pos < bytes.len() && !matches!(bytes[pos], b',' | b'\n' | b'\r') {
                    pos += 1;
                }
                cells.push(start..pos);
                if bytes.get(pos) == Some(&b',') {
                    pos += 1;
                    continue;
                }
                break;
            }
            // At a line end or the end of the file.
            if bytes.get(pos) == Some(&b'\r') {
                pos += 1;
            }
            if bytes.get(pos) == Some(&b'\n') {
                pos += 1;
            }
            line += 1;
            let blank = cells.len() == 1 && cells[0].is_empty();
            if !blank {
                records.push(RawRow { line: start_line, cells });
            }
        }

        let mut records = records.into_iter();
        let header = records.next().ok_or_else(|| DataError::Empty { file: file.to_string() })?;
        let rows: Vec<RawRow> = records.collect();
        if let Some(bad) = rows.iter().find(|r| r.cells.len() != header.cells.len()) {
            return Err(DataError::Ragged {
                file: file.to_string(),
                line: bad.line,
                expected: header.cells.len(),
                found: bad.cells.len(),
            }
            .into());
        }
        Ok(RawTable { bytes, header: header.cells, rows })
    }

    /// A cell's text: unquoted, `""` read as `"`, spaces trimmed.
    fn text(&self, cell: &Range<usize>) -> String {
        let raw = String::from_utf8_lossy(&self.bytes[cell.clone()]);
        let unquoted = match raw.strip_prefix('"') {
            Some(rest) => {
                let close = rest.rfind('"').unwrap_or(rest.len());
                rest[..close].replace("\"\"", "\"")
            }
            None => raw.into_owned(),
        };
        unquoted.trim().to_string()
    }

    /// The feature columns `src` as a data set (one feature per column; non-numeric
    /// columns hold `0.0`) and whether each is numeric.
    fn to_dataset(&self, src: &[usize], header: &[String], file: &str) -> (Dataset, Vec<bool>) {
        let (n, d) = (self.rows.len(), src.len());
        let mut x = vec![0.0f32; n * d];
        let mut missing = vec![false; n * d];
        let mut numeric = vec![true; d];
        for (i, row) in self.rows.iter().enumerate() {
            for (j, &c) in src.iter().enumerate() {
                let cell = self.text(&row.cells[c]);
                if is_missing(&cell) {
                    missing[i * d + j] = true;
                    continue;
                }
                match cell.parse::<f32>() {
                    Ok(v) if v.is_finite() => x[i * d + j] = v,
                    _ => numeric[j] = false,
                }
            }
        }
        for j in (0..d).filter(|&j| !numeric[j]) {
            for i in 0..n {
                x[i * d + j] = 0.0;
            }
        }
        let ds = Dataset {
            name: file.to_string(),
            x,
            n,
            d,
            target: Target::Values { y: vec![0.0; n], k: 1 },
            missing: missing.contains(&true).then_some(missing),
            feature_names: src.iter().map(|&c| header[c].clone()).collect(),
        };
        (ds, numeric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(t: &RawTable, r: usize) -> Vec<String> {
        t.rows[r].cells.iter().map(|c| t.text(c)).collect()
    }

    /// The cell splitter must agree with RFC 4180 on quotes, escaped quotes, separators and
    /// line breaks inside quotes, CRLF and a missing final newline; a wrong span would
    /// corrupt a neighbouring cell's bytes.
    #[test]
    fn splits_quotes_and_line_endings() {
        let csv = b"a,\"b,c\",d\r\n\"x\"\"y\",\"l1\nl2\", 3 \r\n\r\n4,,\"\"";
        let t = RawTable::split(csv, "q.csv").unwrap();
        assert_eq!(t.header.iter().map(|c| t.text(c)).collect::<Vec<_>>(), ["a", "b,c", "d"]);
        assert_eq!(cells(&t, 0), ["x\"y", "l1\nl2", "3"]);
        assert_eq!(cells(&t, 1), ["4", "", ""]);
        assert_eq!(t.rows[1].line, 5);
        assert_eq!(&csv[t.rows[0].cells[1].clone()], b"\"l1\nl2\"");
    }

    /// Malformed files fail with the file and line instead of producing a shifted table.
    #[test]
    fn rejects_unclosed_quote_and_ragged_rows() {
        let err = RawTable::split(b"a,b\n1,\"2\n", "u.csv").unwrap_err().to_string();
        assert_eq!(err, "u.csv:2: a quoted cell is not closed");
        let err = RawTable::split(b"a,b\n1,2\n3\n", "r.csv").unwrap_err().to_string();
        assert_eq!(err, "r.csv:3: row has 1 cells, expected 2 like the header");
        let err = RawTable::split(b"\n\n", "e.csv").unwrap_err().to_string();
        assert!(err.contains("no samples"), "{err}");
    }
}
