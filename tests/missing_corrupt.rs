//! `corrupt_csv`: cells are emptied where the mechanism says, and every other byte survives.

use std::path::{Path, PathBuf};

use ilnet::data::tabular::{TabularSpec, Task, read_csv};
use ilnet::missing::{Mechanism, MissingError, Summary, corrupt_csv};

/// A table with what real files hold: quoted cells (one with a comma, one with a line
/// break), numbers written several ways, a categorical column, cells already missing, CRLF
/// line ends and no final newline.
const TABLE: &str = "id,size,\"colour\",weight,label\r\n\
    1,1.50,red,1e3,a\r\n\
    2,\"2\",\"dark, blue\",NA,b\r\n\
    3,3.25,\"with\nbreak\",7,a\r\n\
    4,,red,8.000,b\r\n\
    5,5,?,9,a\r\n\
    6,6.5,blue,10,b";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The cells of a CSV as the `csv` crate reads them, untrimmed.
fn cells(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_path(path).unwrap();
    r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect()
}

fn corrupt(
    input: &Path,
    mechanism: Mechanism,
    rate: f64,
    columns: Option<&[&str]>,
    seed: u64,
) -> Result<(String, Summary), MissingError> {
    let out = input.with_extension("out.csv");
    let cols = columns.map(|c| c.iter().map(|s| s.to_string()).collect());
    let summary = corrupt_csv(input, &out, mechanism, rate, cols, seed, "label")?;
    Ok((std::fs::read_to_string(out).unwrap(), summary))
}

/// At rate 0 the output is the input byte for byte, for every mechanism: nothing the
/// reader does (quotes, number formats, CRLF, the last line) may leak into the output.
#[test]
fn rate_zero_is_the_identity() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.csv", TABLE);
    for m in [Mechanism::Mcar, Mechanism::Mar] {
        assert_eq!(corrupt(&input, m, 0.0, None, 1).unwrap().0, TABLE);
    }
    let numeric: &[&str] = &["id", "size", "weight"];
    assert_eq!(corrupt(&input, Mechanism::Mnar, 0.0, Some(numeric), 1).unwrap().0, TABLE);
}

/// Every removed cell becomes empty and every other cell keeps its exact text, the target
/// is never touched, and the summary counts agree with the file; under several seeds.
#[test]
fn removed_cells_are_empty_and_others_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.csv", TABLE);
    let before = cells(&input);
    for seed in 0..10 {
        let (_, summary) = corrupt(&input, Mechanism::Mcar, 0.5, None, seed).unwrap();
        let after = cells(&input.with_extension("out.csv"));
        assert_eq!(after[0], before[0]);
        assert_eq!(after.len(), before.len());
        let mut emptied = 0;
        for (a, b) in after.iter().zip(&before).skip(1) {
            assert_eq!(a[4], b[4], "the target is untouched");
            for (ca, cb) in a.iter().zip(b) {
                if ca != cb {
                    assert!(ca.is_empty(), "a changed cell must be empty: {cb:?} -> {ca:?}");
                    emptied += 1;
                }
            }
        }
        assert_eq!(emptied, summary.removed(), "seed {seed}");
        let names: Vec<&str> = summary.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "size", "colour", "weight"]);
        let observed: Vec<usize> = summary.columns.iter().map(|c| c.observed_before).collect();
        assert_eq!(observed, [6, 5, 5, 5]);
    }
}

/// The output reads back through the data layer with the old gaps plus the new ones, so
/// `ilnet data corrupt` feeds straight into training.
#[test]
fn output_reads_back_with_the_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.csv", TABLE);
    let (_, summary) = corrupt(&input, Mechanism::Mcar, 1.0, Some(&["weight"]), 3).unwrap();
    assert_eq!(summary.removed(), 5);
    let spec = TabularSpec::new("label", Task::Classification);
    let (ds, _) = read_csv(&input.with_extension("out.csv"), &spec).unwrap();
    let w = ds.feature_names.iter().position(|n| n == "weight").unwrap();
    let mask = ds.missing.unwrap();
    assert!((0..ds.n).all(|i| mask[i * ds.d + w]));
}

/// MAR picks the first numeric, fully observed, non-constant column as the driver (here
/// `id`: `size` has a gap) and names it; the summary's text says what happened.
#[test]
fn mar_names_its_driver() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.csv", TABLE);
    let (_, summary) = corrupt(&input, Mechanism::Mar, 0.5, None, 2).unwrap();
    assert_eq!(summary.driver.as_deref(), Some("id"));
    assert!(summary.columns.iter().all(|c| c.name != "id"));
    let text = summary.to_string();
    assert!(text.starts_with("mar at rate 0.5 (seed 2) over 6 rows, driven by \"id\": "), "{text}");
    assert!(text.contains("\n  \"size\": "), "{text}");
}

/// MNAR on the numeric columns empties the extreme values of each, exactly
/// round(r * observed) of them.
#[test]
fn mnar_on_numeric_columns() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.csv", TABLE);
    let (_, summary) = corrupt(&input, Mechanism::Mnar, 0.4, Some(&["size", "id"]), 4).unwrap();
    let removed: Vec<(&str, usize)> =
        summary.columns.iter().map(|c| (c.name.as_str(), c.removed)).collect();
    assert_eq!(removed, [("id", 2), ("size", 2)]);
}

/// Bad requests fail with the file and the column named: the target, an unknown or
/// repeated column, MNAR on text, a missing file; nothing is written then.
#[test]
fn rejects_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.csv", TABLE);
    let err = |m, cols: &[&str]| corrupt(&input, m, 0.5, Some(cols), 0).unwrap_err().to_string();
    let e = err(Mechanism::Mcar, &["label"]);
    assert!(e.ends_with("t.csv: column \"label\" is the target, which is never corrupted"), "{e}");
    let e = err(Mechanism::Mcar, &["mass"]);
    assert!(e.contains("no column named \"mass\", expected one of [\"id\", \"size\""), "{e}");
    let e = err(Mechanism::Mcar, &["size", "size"]);
    assert!(e.contains("column \"size\" is chosen twice"), "{e}");
    let e = err(Mechanism::Mnar, &["colour"]);
    assert!(e.contains("column \"colour\" is not numeric"), "{e}");
    assert!(!input.with_extension("out.csv").exists());

    let e = corrupt(&dir.path().join("none.csv"), Mechanism::Mcar, 0.5, None, 0).unwrap_err();
    assert!(matches!(e, MissingError::Io { .. }), "{e}");
}
