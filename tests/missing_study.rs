//! The missing-data study end to end on small tables in the real files' formats: every job
//! is recorded, a rerun skips finished jobs and redoes a cut one identically, the thread
//! count changes nothing, the masks are shared across methods, failures are results, and
//! the report's ranks and pooled calibration are those worked out by hand.

mod report_support;

use std::collections::BTreeMap;
use std::path::Path;

use ilnet::missing::study::{RUNS_HEADER, Study, run_study};
use ilnet::report::missing::write_missing_report;

fn study(dir: &Path, epochs: u64) -> Study {
    let file = dir.join("study.toml");
    std::fs::write(&file, report_support::study_toml(&dir.join("results"), epochs)).unwrap();
    Study::from_file(&file).unwrap()
}

/// `runs.csv` as `key -> the line without wall_s`, which is the only field allowed to vary.
fn runs(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("results/runs.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(RUNS_HEADER));
    let wall = RUNS_HEADER.split(',').position(|c| c == "wall_s").unwrap();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.splitn(wall + 2, ',').collect();
            let key = cells[..7].join(",");
            let rest: Vec<&str> =
                cells.iter().enumerate().filter(|(i, _)| *i != wall).map(|(_, c)| *c).collect();
            (key, rest.join(","))
        })
        .collect()
}

fn quiet(_: usize, _: usize, _: &ilnet::missing::study::JobResult) {}

#[test]
fn study_records_every_job_and_resumes_identically() {
    let root = tempfile::tempdir().unwrap();
    report_support::write_tabular_root(root.path(), 90);
    let a = tempfile::tempdir().unwrap();
    let s = study(a.path(), 4);
    let jobs = s.jobs().len();
    // 2 tables x (none + 2 mechanisms x 2 rates) x 2 seeds x 4 modes x 2 algorithms.
    assert_eq!(jobs, 2 * 5 * 2 * 4 * 2);
    let out = run_study(&s, root.path(), 2, &quiet).unwrap();
    assert_eq!((out.ran, out.skipped), (jobs, 0));
    let first = runs(a.path());
    assert_eq!(first.len(), jobs);

    // One thread instead of two: the same numbers.
    let b = tempfile::tempdir().unwrap();
    run_study(&study(b.path(), 4), root.path(), 1, &quiet).unwrap();
    assert_eq!(runs(b.path()), first);

    // Cut the last line in half (an interruption while writing): a rerun redoes that job
    // alone and gets the same line; the bins of the cut job are not doubled.
    let path = a.path().join("results/runs.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let last = text.trim_end().rsplit('\n').next().unwrap().to_string();
    std::fs::write(&path, &text[..text.len() - last.len() / 2 - 1]).unwrap();
    let bins_before = std::fs::read_to_string(a.path().join("results/bins.csv")).unwrap();
    let again = run_study(&s, root.path(), 2, &quiet).unwrap();
    assert_eq!((again.ran, again.skipped), (1, jobs - 1));
    assert_eq!(runs(a.path()), first);
    let bins_after = std::fs::read_to_string(a.path().join("results/bins.csv")).unwrap();
    let sorted = |t: &str| {
        let mut v: Vec<String> = t.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&bins_after), sorted(&bins_before));

    // Every mode and algorithm of one (table, mechanism, rate, seed) saw the same holes.
    let mut shares: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in first.values() {
        let c: Vec<&str> = line.split(',').collect();
        let group = format!("{},{},{},{}", c[0], c[1], c[2], c[3]);
        shares.entry(group).or_default().push(format!("{},{}", c[10], c[11]));
    }
    for (group, v) in &shares {
        assert!(v.windows(2).all(|w| w[0] == w[1]), "{group}: masks differ across methods {v:?}");
    }

    // At rate 0.9 some rows lose every feature: kNN cannot impute them and says so; the
    // PROMISSING jobs of the same masks finish.
    let knn_mnar = first.iter().find(|(k, _)| k.starts_with("wine,mnar,0.9,0,knn")).unwrap();
    assert!(knn_mnar.1.contains(",failed,") && knn_mnar.1.contains("every feature missing"));
    let pro = first.iter().find(|(k, _)| k.starts_with("wine,mnar,0.9,0,promissing")).unwrap();
    assert!(pro.1.contains(",ok,"), "{}", pro.1);

    let index = write_missing_report(&a.path().join("results"), &a.path().join("report")).unwrap();
    let html = std::fs::read_to_string(index).unwrap();
    assert!(html.contains("Mean rank of each input mode") && html.contains("data:image/svg+xml"));
    for f in ["tables.md", "scores.csv", "ranks.csv", "decisiveness.csv", "scores_wine.png"] {
        assert!(a.path().join("report").join(f).is_file(), "{f} not written");
    }
}

/// A study file is checked field by field, and the message names the file and the field.
#[test]
fn bad_study_files_are_refused_with_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let base = report_support::study_toml(&dir.path().join("r"), 1);
    let cases = [
        (base.replace("rates = [0.25, 0.9]", "rates = [0.0]"), "rates: 0"),
        (base.replace("\"mean\"", "\"plain\""), "inputs: \"plain\""),
        (base.replace("\"wine\"", "\"iris\""), "data: "),
        (base.replace("\"mnar\"", "\"mnra\""), "mechanisms: "),
        (format!("{base}learning_rate = 1\n"), "unknown field `learning_rate`"),
        (base.replace("lr = 1.0", "lr = -1.0"), "algos: il-prox"),
    ];
    for (text, want) in cases {
        let file = dir.path().join("study.toml");
        std::fs::write(&file, &text).unwrap();
        let e = Study::from_file(&file).unwrap_err().to_string();
        assert!(e.starts_with(&file.display().to_string()), "{e}");
        assert!(e.contains(want), "expected {want:?} in: {e}");
    }
}

/// Ranks and pooled calibration on hand-written results: two tables, three modes.
#[test]
fn report_ranks_and_pools_as_worked_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let res = dir.path().join("results");
    std::fs::create_dir_all(&res).unwrap();
    let run = |data: &str, task: &str, k: usize, input: &str, status: &str, main: &str| {
        let (acc, rmse) = if task == "regression" { ("", main) } else { (main, "") };
        format!(
            "{data},mcar,0.5,0,{input},bp-sgd,0.1,{task},{k},{status},0.5,0.5,{acc},,,,{rmse},,1.0,\"\"\n"
        )
    };
    let mut text = format!("{RUNS_HEADER}\n");
    // Classification: accuracy promissing 0.9 > mean 0.8 = knn 0.8 -> ranks 1, 2.5, 2.5.
    text += &run("wine", "classification", 3, "promissing", "ok", "0.9");
    text += &run("wine", "classification", 3, "mean", "ok", "0.8");
    text += &run("wine", "classification", 3, "knn", "ok", "0.8");
    // Regression, lower is better: mean 50 < promissing 60; knn failed -> ranks 2, 1, 3.
    text += &run("diabetes", "regression", 1, "promissing", "ok", "60");
    text += &run("diabetes", "regression", 1, "mean", "ok", "50");
    text += &run("diabetes", "regression", 1, "knn", "failed", "");
    std::fs::write(res.join("runs.csv"), text).unwrap();
    // Bins of the wine promissing job: confidence bin 9 holds 4 rows at mean confidence
    // 0.95 with 3 right; bin 5 holds 1 row at 0.55, right. ECE = (|3 - 3.8| + |1 - 0.55|)/5.
    let bins = format!(
        "{}\nwine,mcar,0.5,0,promissing,bp-sgd,0.1,3,9,4,3,3.8,0.4,3.2,0,0.5,0\n\
         wine,mcar,0.5,0,promissing,bp-sgd,0.1,3,5,1,1,0.55,0.9,0.2,0,0.6,0\n",
        ilnet::missing::study::BINS_HEADER
    );
    std::fs::write(res.join("bins.csv"), bins).unwrap();
    write_missing_report(&res, &dir.path().join("report")).unwrap();

    let ranks = std::fs::read_to_string(dir.path().join("report/ranks.csv")).unwrap();
    let rank_of = |input: &str| -> f64 {
        let line = ranks.lines().find(|l| l.contains(&format!(",{input},"))).unwrap();
        line.rsplit(',').next().unwrap().parse().unwrap()
    };
    assert_eq!(rank_of("promissing"), (1.0 + 2.0) / 2.0);
    assert_eq!(rank_of("mean"), (2.5 + 1.0) / 2.0);
    assert_eq!(rank_of("knn"), (2.5 + 3.0) / 2.0);

    let dec = std::fs::read_to_string(dir.path().join("report/decisiveness.csv")).unwrap();
    let line = dec.lines().find(|l| l.starts_with("bp-sgd,promissing,")).unwrap();
    let c: Vec<&str> = line.split(',').collect();
    // algo,input,"(0.4, 0.6]" (a quoted cell with a comma),rows,accuracy,confidence,ece,...
    let nums: Vec<f64> = c[4..].iter().filter_map(|v| v.parse().ok()).collect();
    let want_ece = ((3.0f64 - 3.8).abs() + (1.0f64 - 0.55).abs()) / 5.0;
    assert_eq!(nums[0], 5.0, "rows: {line}");
    assert!((nums[1] - 0.8).abs() < 1e-12, "accuracy: {line}");
    assert!((nums[3] - want_ece).abs() < 1e-12, "ECE: {line}");
    assert!((nums[4] - 3.4 / 5.0).abs() < 1e-12, "certainty: {line}");

    // A broken cell is an error naming the file, the line and the column.
    let bad = format!(
        "{}\nwine,mcar,0.5,0,promissing,bp-sgd,0.1,3,11,4,3,3.8,0.4,3.2,0,0.5,0\n",
        ilnet::missing::study::BINS_HEADER
    );
    std::fs::write(res.join("bins.csv"), bad).unwrap();
    let e = write_missing_report(&res, &dir.path().join("report")).unwrap_err().to_string();
    assert!(e.contains("bins.csv:2") && e.contains("confidence_bin"), "{e}");
}
