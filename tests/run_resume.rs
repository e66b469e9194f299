//! A run interrupted between evaluations (as Ctrl-C does) resumes to the same metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ilnet::config::RawConfig;
use ilnet::run::{self, Observer, Status, TrainOptions};

struct StopAt(u64, Arc<AtomicBool>);

impl Observer for StopAt {
    fn stepped(&mut self, step: u64) {
        if step == self.0 {
            self.1.store(true, Ordering::Relaxed);
        }
    }
}

fn config(out: &std::path::Path, algo: &str) -> ilnet::config::RunConfig {
    let text = format!(
        "seed = 7\nout = {out:?}\n[model]\nhidden = [20]\n[algo]\nname = {algo:?}\n\
         [train]\nbatch = 3\nsteps = 150\neval_every = 25\ncheckpoint_every = 50\n"
    );
    let raw: RawConfig = toml::from_str(&text).unwrap();
    raw.check().unwrap()
}

fn without_wall(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect()
}

/// Stopping at step 37 (mid-interval, between checkpoints) writes a checkpoint there; the
/// resumed run then matches an uninterrupted one row for row, for a stateless rule and for
/// Adam.
#[test]
fn interrupted_runs_resume_bitwise() {
    for algo in ["il-prox", "bp-adam"] {
        let work = tempfile::tempdir().unwrap();
        let whole = work.path().join("whole");
        run::train(&config(&whole, algo), &TrainOptions::default(), &mut run::Silent).unwrap();

        let part = work.path().join("part");
        let stop = Arc::new(AtomicBool::new(false));
        let opts = TrainOptions { stop: Some(stop.clone()), ..TrainOptions::default() };
        let out = run::train(&config(&part, algo), &opts, &mut StopAt(37, stop)).unwrap();
        assert_eq!(out.status, Status::Interrupted { step: 37 });
        assert!(!part.join("summary.json").exists());

        let opts = TrainOptions { resume: true, ..TrainOptions::default() };
        let out = run::train(&config(&part, algo), &opts, &mut run::Silent).unwrap();
        assert_eq!(out.status, Status::Finished);
        assert_eq!(
            without_wall(&whole.join("metrics.csv")),
            without_wall(&part.join("metrics.csv")),
            "{algo}"
        );
        let a: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(whole.join("summary.json")).unwrap())
                .unwrap();
        let b: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(part.join("summary.json")).unwrap())
                .unwrap();
        for key in ["best_accuracy", "best_step", "final_accuracy", "update_norm", "steps_run"] {
            assert_eq!(a[key], b[key], "{algo}: {key}");
        }
    }
}
