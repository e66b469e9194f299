//! Sweeps as a user runs them: the whole grid, skipping what is done, shards, the report.

use std::fs;

use assert_cmd::Command;

const SWEEP: &str = r#"
out = "runs"
algos = ["bp-sgd", "il-prox"]
lrs = [0.1, 1000]
seeds = [0, 1]
[base.model]
hidden = [16]
[base.train]
steps = 40
eval_every = 20
[per_algo.il-prox]
lrs = [5.0]
"#;

fn ilnet(dir: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("ilnet").unwrap();
    c.current_dir(dir).env_remove("ILNET_DATA").env_remove("SLURM_ARRAY_TASK_ID");
    c
}

/// A sweep runs every job once, records diverged runs as results, writes the report when
/// all jobs are done, and a second invocation skips finished jobs and reruns only a job
/// whose summary is gone (as after a kill).
#[test]
fn sweep_runs_skips_and_reports() {
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("s.toml"), SWEEP).unwrap();
    let out = ilnet(work.path()).args(["sweep", "s.toml", "--parallel", "2"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // bp-sgd: 2 lrs x 2 seeds; il-prox: 1 lr x 2 seeds.
    let runs = work.path().join("runs/digits");
    for dir in ["bp-sgd/lr0.1/seed0", "bp-sgd/lr1000/seed1", "il-prox/lr5/seed1"] {
        assert!(runs.join(dir).join("summary.json").exists(), "{dir}: {text}");
    }
    assert!(runs.join("../report/index.html").exists(), "{text}");

    fs::remove_file(runs.join("il-prox/lr5/seed0/summary.json")).unwrap();
    let out = ilnet(work.path()).args(["sweep", "s.toml"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("5 already done"), "{text}");
    assert!(runs.join("il-prox/lr5/seed0/summary.json").exists());
}

/// Shards split the jobs between processes that share the output folder; the report waits
/// for the last one.
#[test]
fn shards_partition_the_jobs() {
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("s.toml"), SWEEP).unwrap();
    let first = ilnet(work.path()).args(["sweep", "s.toml", "--shard", "0/2"]).output().unwrap();
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(text.contains("3 in other shards") && text.contains("report waits"), "{text}");
    let second = ilnet(work.path())
        .args(["sweep", "s.toml"])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "2")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&second.stdout);
    assert!(text.contains("3 finished") || text.contains("2 finished"), "{text}");
    assert!(work.path().join("runs/report/index.html").exists(), "{text}");
}

/// `ilnet data corrupt` removes values from a CSV, leaves the target column alone, and the
/// result reads back with the holes in its missing mask.
#[test]
fn data_corrupt_writes_empty_cells() {
    let work = tempfile::tempdir().unwrap();
    let mut csv = String::from("a,b,label\n");
    for i in 0..50 {
        csv.push_str(&format!("{},{},{}\n", i, 2 * i, if i % 2 == 0 { "x" } else { "y" }));
    }
    fs::write(work.path().join("in.csv"), csv).unwrap();
    let out = ilnet(work.path())
        .args(["data", "corrupt", "in.csv", "out.csv", "--mechanism", "mcar", "--rate", "0.3"])
        .args(["--target", "label", "--seed", "4"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = fs::read_to_string(work.path().join("out.csv")).unwrap();
    let holes =
        text.lines().skip(1).flat_map(|l| l.split(',').take(2)).filter(|c| c.is_empty()).count();
    assert!((10..=50).contains(&holes), "{holes} holes");
    assert!(text.lines().skip(1).all(|l| l.ends_with(",x") || l.ends_with(",y")));
}
