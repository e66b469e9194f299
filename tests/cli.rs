//! The `ilnet` binary as a user runs it: the demo, training on IDX and CIFAR files in the
//! official layouts, resume, divergence, and the messages for bad input.

use std::fs;
use std::path::Path;

use assert_cmd::Command;

fn ilnet() -> Command {
    let mut c = Command::cargo_bin("ilnet").expect("binary built");
    c.env_remove("ILNET_DATA").env("NO_COLOR", "1");
    c
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes an IDX image file (magic 0x803) and its label file (0x801) for `n` random-ish
/// 28x28 images whose label is encoded in their brightest row, so they are learnable.
fn write_idx(dir: &Path, prefix: &str, n: usize) {
    let mut img = vec![0, 0, 8, 3];
    for v in [n as u32, 28, 28] {
        img.extend(v.to_be_bytes());
    }
    let mut lab = vec![0, 0, 8, 1];
    lab.extend((n as u32).to_be_bytes());
    for i in 0..n {
        let label = (i % 10) as u8;
        for r in 0..28 {
            for c in 0..28 {
                let bright = r == 2 + 2 * label as usize;
                img.push(if bright { 250 } else { ((r * 7 + c * 3 + i) % 40) as u8 });
            }
        }
        lab.push(label);
    }
    fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), img).unwrap();
    fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), lab).unwrap();
}

fn mnist_root(n_train: usize, n_test: usize) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("mnist");
    fs::create_dir_all(&dir).unwrap();
    write_idx(&dir, "train", n_train);
    write_idx(&dir, "t10k", n_test);
    root
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Metrics without the wall-clock column, the one column allowed to differ between runs.
fn metrics_without_wall(path: &Path) -> Vec<String> {
    read(path).lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect()
}

/// The README's main command: the demo trains both algorithms on the embedded digits and
/// prints their comparison, with accuracies well above chance.
#[test]
fn demo_compares_il_prox_and_bp_sgd() {
    let work = tempfile::tempdir().unwrap();
    let out = ilnet().current_dir(work.path()).arg("demo").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("il-prox") && text.contains("bp-sgd"), "{text}");
    for algo in ["il-prox", "bp-sgd"] {
        let summary = read(&work.path().join("runs/demo").join(algo).join("seed0/summary.json"));
        let v: serde_json::Value = serde_json::from_str(&summary).unwrap();
        assert!(v["final_accuracy"].as_f64().unwrap() > 0.8, "{algo}: {summary}");
    }
}

/// Training on MNIST-layout IDX files writes the run folder a user expects, with the fixed
/// metrics columns, an evaluation at step 0 and every `eval_every` steps, and a summary.
#[test]
fn trains_on_idx_files_and_writes_the_run_folder() {
    let root = mnist_root(120, 40);
    let run = root.path().join("run");
    let out = ilnet()
        .args(["--data-root", root.path().to_str().unwrap(), "train", "--data", "mnist"])
        .args(["--algo", "il-prox", "--lr", "5", "--steps", "120", "--eval-every", "40"])
        .args(["--hidden", "32", "--out", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let metrics = read(&run.join("metrics.csv"));
    let lines: Vec<&str> = metrics.lines().collect();
    assert_eq!(lines[0], ilnet::run::METRICS_HEADER);
    let steps: Vec<&str> = lines[1..].iter().map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(steps, ["0", "40", "80", "120"]);
    let v: serde_json::Value = serde_json::from_str(&read(&run.join("summary.json"))).unwrap();
    assert_eq!(v["steps_run"], 120);
    assert_eq!(v["algo"], "il-prox");
    assert!(v["diverged"].is_null());
    assert!(v["final_accuracy"].as_f64().unwrap() > 0.5, "{v}");
    let config = read(&run.join("config.toml"));
    assert!(config.contains("sizes = [784, 32, 10]"), "{config}");
    assert!(run.join("checkpoints/latest").exists());
}

/// CIFAR-10 in its binary layout (1 label byte, 3072 pixel bytes per record) trains too.
#[test]
fn trains_on_cifar_binary_files() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("cifar10");
    fs::create_dir_all(&dir).unwrap();
    let record = |i: usize| {
        let mut r = vec![(i % 10) as u8];
        r.extend((0..3072).map(|k| ((k * 13 + i * 7) % 256) as u8));
        r
    };
    for name in [
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
    ] {
        let bytes: Vec<u8> = (0..6).flat_map(record).collect();
        fs::write(dir.join(format!("{name}.bin")), bytes).unwrap();
    }
    let run = root.path().join("run");
    let out = ilnet()
        .args(["--data-root", root.path().to_str().unwrap(), "train", "--data", "cifar10"])
        .args([
            "--algo",
            "bp-sgd",
            "--steps",
            "20",
            "--hidden",
            "16",
            "--out",
            run.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(read(&run.join("config.toml")).contains("sizes = [3072, 16, 10]"));
}

/// A run stopped after some steps and resumed with `--resume` writes metrics bitwise
/// identical (all but wall time) to an uninterrupted run, for a rule with state (Adam).
#[test]
fn resume_reproduces_an_uninterrupted_run() {
    let root = mnist_root(90, 30);
    let base = |run: &Path, steps: &str| {
        let mut c = ilnet();
        c.args(["--data-root", root.path().to_str().unwrap(), "train", "--data", "mnist"])
            .args([
                "--algo",
                "il-prox-adam",
                "--batch",
                "4",
                "--steps",
                steps,
                "--eval-every",
                "10",
            ])
            .args(["--hidden", "24", "--out", run.to_str().unwrap()]);
        c
    };
    let whole = root.path().join("whole");
    assert!(base(&whole, "60").output().unwrap().status.success());

    let split = root.path().join("split");
    assert!(base(&split, "30").output().unwrap().status.success());
    let out = ilnet()
        .args([
            "--data-root",
            root.path().to_str().unwrap(),
            "train",
            "--resume",
            split.to_str().unwrap(),
        ])
        .args(["--steps", "60"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        metrics_without_wall(&whole.join("metrics.csv")),
        metrics_without_wall(&split.join("metrics.csv"))
    );
    let model = |d: &Path| {
        let latest = read(&d.join("checkpoints/latest"));
        fs::read(d.join("checkpoints").join(latest.trim()).join("model.safetensors")).unwrap()
    };
    assert_eq!(model(&whole), model(&split), "final weights differ");
}

/// A diverging run is a result: exit code 3, and summary.json names the step, layer and
/// quantity.
#[test]
fn divergence_is_recorded_with_exit_code_3() {
    let work = tempfile::tempdir().unwrap();
    let run = work.path().join("run");
    let out = ilnet()
        .args([
            "train",
            "--algo",
            "bp-sgd",
            "--lr",
            "1e6",
            "--steps",
            "500",
            "--out",
            run.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&read(&run.join("summary.json"))).unwrap();
    assert!(v["diverged"]["step"].as_u64().unwrap() > 0, "{v}");
    assert!(v["diverged"]["quantity"].is_string());
    assert!(v["final_accuracy"].is_null());
}

/// Five steps on the MNIST files under `root`, into `root/run`.
fn train_mnist_briefly(root: &Path) -> std::process::Output {
    let root_arg = root.to_str().unwrap();
    let run = root.join("run");
    ilnet()
        .args(["--data-root", root_arg, "train", "--data", "mnist", "--steps", "5"])
        .args(["--out", run.to_str().unwrap()])
        .output()
        .unwrap()
}

/// Truncated and corrupt data files give one message naming the file and what was expected,
/// with exit code 1 and no panic.
#[test]
fn corrupt_idx_files_are_reported() {
    let root = mnist_root(20, 10);
    let images = root.path().join("mnist/train-images-idx3-ubyte");
    let bytes = fs::read(&images).unwrap();
    fs::write(&images, &bytes[..bytes.len() - 100]).unwrap();
    let out = train_mnist_briefly(root.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("train-images-idx3-ubyte") && !err.contains("panicked"), "{err}");

    let mut bad = bytes.clone();
    bad[3] = 7;
    fs::write(&images, bad).unwrap();
    let out = train_mnist_briefly(root.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("magic") || err.contains("0x00000807"), "{err}");
}

/// A damaged checkpoint is refused with a message naming the file; the run is not started
/// from scratch silently.
#[test]
fn corrupt_checkpoints_are_reported() {
    let work = tempfile::tempdir().unwrap();
    let run = work.path().join("run");
    let ok = ilnet()
        .args(["train", "--steps", "100", "--hidden", "8", "--out", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
    let latest = read(&run.join("checkpoints/latest"));
    let ck = run.join("checkpoints").join(latest.trim());

    let model = ck.join("model.safetensors");
    let bytes = fs::read(&model).unwrap();
    fs::write(&model, &bytes[..bytes.len() / 2]).unwrap();
    let out = ilnet()
        .args(["train", "--resume", run.to_str().unwrap(), "--steps", "200"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("model.safetensors") && !err.contains("panicked"), "{err}");

    fs::write(&model, &bytes).unwrap();
    fs::write(ck.join("state.json"), "{\"format\": 1, \"step\": ").unwrap();
    let out = ilnet()
        .args(["train", "--resume", run.to_str().unwrap(), "--steps", "200"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("state.json") && err.contains("line"), "{err}");
}

/// Config mistakes name the file, the key and what is allowed; a first layer that does not
/// match the data is caught before training starts.
#[test]
fn config_errors_name_the_key() {
    let work = tempfile::tempdir().unwrap();
    let cases = [
        ("[train]\nbatch_size = 4\n", "batch_size"),
        ("[algo]\nname = \"il-magic\"\n", "il-magic"),
        ("[algo]\nlr = 0\n", "algo.lr"),
        ("[train]\nsteps = \"many\"\n", "steps"),
        ("[model]\nsizes = [100, 10]\n", "64 input features"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let path = work.path().join(format!("c{i}.toml"));
        fs::write(&path, text).unwrap();
        let run = work.path().join(format!("run{i}"));
        let out = ilnet()
            .args(["train", path.to_str().unwrap(), "--out", run.to_str().unwrap()])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{text}: {err}");
        assert!(err.contains(needle), "{text}: {err}");
        assert!(!run.join("metrics.csv").exists(), "{text}: training started");
        if i < 4 {
            assert!(err.contains(&format!("c{i}.toml")), "{text}: {err}");
        }
    }
}

/// `ilnet eval` scores a finished run's checkpoint, and an unknown data set name lists the
/// valid ones.
#[test]
fn eval_and_unknown_names() {
    let work = tempfile::tempdir().unwrap();
    let run = work.path().join("run");
    assert!(
        ilnet()
            .args(["train", "--steps", "50", "--out", run.to_str().unwrap()])
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = ilnet().args(["eval", run.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("test accuracy"));

    let out = ilnet().args(["data", "fetch", "imagenet"]).output().unwrap();
    let err = stderr(&out);
    assert!(!out.status.success() && err.contains("mnist") && err.contains("imagenet"), "{err}");
}

/// A CSV with holes is refused by the plain input (naming the count and the fix), and trains
/// with `model.input = "promissing"`, `"mpromissing"` and every imputer.
#[test]
fn trains_on_csv_with_missing_values() {
    let work = tempfile::tempdir().unwrap();
    let mut csv = String::from("x1,x2,colour,label\n");
    for i in 0..120 {
        let (a, b) = ((i % 7) as f64 / 7.0, (i % 5) as f64 / 5.0);
        let label = if a + b > 0.8 { "big" } else { "small" };
        let x1 = if i % 4 == 0 { "NA".to_string() } else { format!("{a}") };
        let x2 = if i % 6 == 1 { String::new() } else { format!("{b}") };
        let colour = ["red", "green", "?"][i % 3];
        csv.push_str(&format!("{x1},{x2},{colour},{label}\n"));
    }
    fs::write(work.path().join("t.csv"), csv).unwrap();
    let config = |input: &str| {
        format!(
            "[data]\nname = \"csv\"\ntrain = \"t.csv\"\ntarget = \"label\"\n\
             [model]\nhidden = [8, 2]\ninput = \"{input}\"\n[train]\nsteps = 200\nbatch = 10\n"
        )
    };
    fs::write(work.path().join("plain.toml"), config("plain")).unwrap();
    let out = ilnet()
        .current_dir(work.path())
        .args(["train", "plain.toml", "--out", "r-plain"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("missing") && err.contains("promissing"), "{err}");

    for input in
        ["promissing", "mpromissing", "mask-concat", "zero", "mean", "median", "knn", "knn-mean"]
    {
        fs::write(work.path().join("c.toml"), config(input)).unwrap();
        let run = format!("r-{input}");
        let out = ilnet()
            .current_dir(work.path())
            .args(["train", "c.toml", "--out", &run])
            .output()
            .unwrap();
        assert!(out.status.success(), "{input}: {}", stderr(&out));
        let v: serde_json::Value =
            serde_json::from_str(&read(&work.path().join(&run).join("summary.json"))).unwrap();
        assert!(v["final_accuracy"].as_f64().unwrap() > 0.6, "{input}: {v}");
    }
}

/// With `data.autoencoder = true` the target is the input: the network ends in as many
/// sigmoid-BCE outputs as there are inputs, and the summed reconstruction loss falls.
#[test]
fn trains_an_autoencoder() {
    let work = tempfile::tempdir().unwrap();
    let text = "[data]\nautoencoder = true\n[model]\nhidden = [16]\n\
                [algo]\nname = \"il-prox\"\nlr = 10\neps = 20\n[train]\nsteps = 400\neval_every = 200\n";
    fs::write(work.path().join("ae.toml"), text).unwrap();
    let out = ilnet()
        .current_dir(work.path())
        .args(["train", "ae.toml", "--out", "ae"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let config = read(&work.path().join("ae/config.toml"));
    assert!(config.contains("sizes = [64, 16, 64]") && config.contains("sigmoid-bce"), "{config}");
    let metrics = read(&work.path().join("ae/metrics.csv"));
    let loss: Vec<f64> =
        metrics.lines().skip(1).map(|l| l.split(',').nth(4).unwrap().parse().unwrap()).collect();
    assert!(loss[loss.len() - 1] < 0.9 * loss[0], "reconstruction loss {loss:?}");
}

/// An output folder that cannot be made is one error line naming it, the cause said once.
#[test]
fn unwritable_output_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "").unwrap();
    let out = ilnet()
        .args(["xor", "--seeds", "1", "--epochs", "1", "--out"])
        .arg(file.join("sub"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.starts_with("ilnet: ") && err.contains("a-file/sub"), "{err}");
    assert_eq!(err.matches("os error").count(), 1, "the cause is repeated: {err}");
}
