//! The noisy XOR experiment: its generator against the recipe, PROMISSING's "I don't know"
//! against its closed form, and its report page in a real browser.

mod report_support;

use ilnet::algo::Algorithm;
use ilnet::data::{Dataset, Target};
use ilnet::inputs::InputMode;
use ilnet::missing::study::{AlgoSpec, Settings, TabularModel};
use ilnet::missing::xor::{
    Condition, XOR_NOISE_STD, XorConfig, noisy_xor, run_xor, without_feature, xor_label,
};
use ilnet::model::Activation;
use ilnet::report::xor::write_xor_report;
use report_support::browser::{check_page, chromium_or_skip};

/// Standard errors a sample statistic may stray from its expectation: a false alarm at 5
/// is about one in two million.
const Z: f64 = 5.0;

/// Labels follow the sign rule on the clean points, which lie in [-1, 1]², and the noise
/// is centred with standard deviation σ = 0.25, within `Z` standard errors of `n` draws
/// (the mean's error is σ/√n, the sample std's about σ/√(2n) for a normal).
#[test]
fn generator_labels_follow_the_sign_rule_and_noise_has_the_stated_std() {
    let n = 20_000;
    let xor = noisy_xor(n, XOR_NOISE_STD, 7);
    let Target::Classes { labels, classes } = &xor.data.target else { panic!("classes") };
    assert_eq!((*classes, xor.data.d, xor.data.n), (2, 2, n));
    assert!(xor.data.missing.is_none());
    for (i, (c, &label)) in xor.clean.chunks_exact(2).zip(labels).enumerate() {
        let (c1, c2) = (c[0], c[1]);
        assert!(c1.abs() <= 1.0 && c2.abs() <= 1.0, "clean point {i} outside [-1, 1]²");
        let want = u32::from((c1 < 0.0) != (c2 < 0.0));
        assert_eq!(label, want, "point {i} = ({c1}, {c2})");
        assert_eq!(xor_label(f64::from(c1), f64::from(c2)), want);
    }
    let shares = labels.iter().filter(|&&l| l == 1).count() as f64 / n as f64;
    assert!((shares - 0.5).abs() < Z * 0.5 / (n as f64).sqrt(), "class-1 share {shares}");

    let noise: Vec<f64> =
        xor.data.x.iter().zip(&xor.clean).map(|(&x, &c)| f64::from(x) - f64::from(c)).collect();
    let m = noise.len() as f64;
    let mean = noise.iter().sum::<f64>() / m;
    let std = (noise.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (m - 1.0)).sqrt();
    let sigma = XOR_NOISE_STD;
    assert!(mean.abs() < Z * sigma / m.sqrt(), "noise mean {mean}");
    assert!((std - sigma).abs() < Z * sigma / (2.0 * m).sqrt(), "noise std {std}, want {sigma}");

    assert_eq!(noisy_xor(50, sigma, 7), noisy_xor(50, sigma, 7), "a seed gives one data set");
    assert_ne!(noisy_xor(50, sigma, 7).data.x, noisy_xor(50, sigma, 8).data.x);
}

/// With both features missing, PROMISSING's first-layer pre-activation is exactly 0
/// (`z = Σ_O w_j x_j + (q/p)·b` with `q = 0`), so the 2-4 tanh network's hidden layer is
/// tanh(0) = 0 and the output is softmax of the output layer's bias alone, the same for
/// every row whatever values it had.
#[test]
fn promissing_with_both_features_missing_answers_from_the_output_bias_alone() {
    let mut train = noisy_xor(200, XOR_NOISE_STD, 3).data;
    // Some missing cells in training, as in the experiment.
    train = without_feature(&train.subset(&(0..40).collect::<Vec<_>>()), 0);
    let rest = noisy_xor(200, XOR_NOISE_STD, 3).data.subset(&(40..200).collect::<Vec<_>>());
    let train = concat(&train, &rest);
    let settings = Settings {
        epochs: 5,
        batch: 10,
        knn_k: 5,
        hidden: Some((vec![4], vec![Activation::Tanh])),
    };
    for name in [Algorithm::BpSgd, Algorithm::IlProx] {
        let algo = AlgoSpec { name, lr: 0.1, eps: None };
        let model = TabularModel::fit(&train, InputMode::Promissing, &algo, &settings, 1).unwrap();
        let test = noisy_xor(30, XOR_NOISE_STD, 4).data;
        let blank = without_feature(&without_feature(&test, 0), 1);
        let pred = model.predict(&blank).unwrap();

        let b = &model.net.layers[1].b;
        let (z0, z1) = (f64::from(b[0]), f64::from(b[1]));
        let want1 = 1.0 / (1.0 + (z0 - z1).exp());
        for p in pred.values.chunks_exact(2) {
            assert!((f64::from(p[1]) - want1).abs() < 1e-6, "{name}: p1 {} vs {want1}", p[1]);
            assert!((f64::from(p[0]) + f64::from(p[1]) - 1.0).abs() < 1e-6);
        }
        // Complete rows do differ, so the check above is not vacuous.
        let full = model.predict(&test).unwrap();
        assert!(full.values.chunks_exact(2).any(|p| (f64::from(p[1]) - want1).abs() > 1e-3));
    }
}

fn concat(a: &Dataset, b: &Dataset) -> Dataset {
    let mask = |d: &Dataset| d.missing.clone().unwrap_or_else(|| vec![false; d.n * d.d]);
    let labels = |d: &Dataset| match &d.target {
        Target::Classes { labels, .. } => labels.clone(),
        Target::Values { .. } => unreachable!(),
    };
    Dataset {
        x: [a.x.clone(), b.x.clone()].concat(),
        n: a.n + b.n,
        target: Target::Classes { labels: [labels(a), labels(b)].concat(), classes: 2 },
        missing: Some([mask(a), mask(b)].concat()),
        ..a.clone()
    }
}

/// A small experiment writes every file, and its page opens in headless Chromium with
/// both surface figures decoded and both tables filled.
#[test]
fn xor_report_page_loads_in_headless_chromium() {
    let config = XorConfig {
        n: 200,
        seeds: 2,
        epochs: 3,
        alphas: vec![0.1, 1.0],
        inputs: vec![InputMode::Promissing, InputMode::Mean],
        grid: 31,
        ..XorConfig::default()
    };
    let results = run_xor(&config).unwrap();
    assert_eq!(results.runs.len(), 2 * 2 * 2);
    assert_eq!(results.surfaces.len(), 2 * 2);
    assert!(results.runs.iter().all(|r| r.outcome.is_ok()), "{:?}", results.runs);
    for s in &results.surfaces {
        assert_eq!((s.grid.len(), s.x1_curve.len(), s.x2_curve.len()), (31 * 31, 31, 31));
    }
    assert_eq!(Condition::ALL.len(), 3);

    let dir = tempfile::tempdir().unwrap();
    let index = write_xor_report(&results, dir.path()).unwrap();
    for f in ["tables.md", "results.csv", "alpha_selection.csv", "curves.csv"] {
        assert!(dir.path().join(f).is_file(), "{f} was not written");
    }
    for stem in ["surfaces_bp-sgd", "surfaces_il-prox"] {
        for ext in ["svg", "png"] {
            assert!(dir.path().join(format!("{stem}.{ext}")).is_file(), "{stem}.{ext}");
        }
    }
    let results_csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    assert_eq!(results_csv.lines().count(), 1 + 8 * 3);

    let Some(chromium) = chromium_or_skip("xor_report_page_loads_in_headless_chromium") else {
        return;
    };
    let (status, found) = check_page(&chromium, &index);
    assert_eq!(found["images"], 2, "images on the page: {found}");
    assert_eq!(found["broken"], serde_json::json!([]), "images that did not load: {found}");
    assert_eq!(found["tables"], 2, "tables on the page: {found}");
    assert_eq!(found["empty_tables"], 0, "tables without body rows: {found}");
    assert_eq!(status, "ok", "{found}");
}
