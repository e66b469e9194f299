//! Imputers against hand-computed cases and against each other where theory says they agree.

use ilnet::data::{Dataset, Standardizer, Target};
use ilnet::missing::{Corruption, Imputer, Mechanism, MissingError};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// f32 round-off allowed in these small hand computations.
const TOL: f32 = 1e-5;

/// A data set from rows where `None` marks a missing value.
fn table(rows: &[&[Option<f32>]]) -> Dataset {
    let d = rows[0].len();
    let cells: Vec<Option<f32>> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Dataset {
        name: "t".into(),
        x: cells.iter().map(|c| c.unwrap_or(0.0)).collect(),
        n: rows.len(),
        d,
        target: Target::Classes { labels: vec![0; rows.len()], classes: 1 },
        missing: Some(cells.iter().map(Option::is_none).collect()),
        feature_names: (0..d).map(|j| format!("f{j}")).collect(),
    }
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= TOL)
}

const N: Option<f32> = None;

/// Mean and median come from the observed training values only (odd and even counts),
/// are applied to another split unchanged, and leave observed values alone.
#[test]
fn mean_and_median_by_hand() {
    let train = table(&[
        &[Some(3.0), Some(4.0)],
        &[Some(1.0), Some(1.0)],
        &[N, Some(3.0)],
        &[Some(2.0), Some(2.0)],
        &[Some(100.0), N],
    ]);
    // Column 0 observes 3, 1, 2, 100: mean 26.5, median 2.5 (even count).
    // Column 1 observes 4, 1, 3, 2: mean 2.5, median 2.5. Odd counts follow below.
    let test = table(&[&[N, N], &[Some(7.0), Some(8.0)]]);
    let mean = Imputer::Mean.fit(&train).unwrap();
    assert_eq!(mean.fill_values(), [26.5, 2.5]);
    let out = mean.apply(&test).unwrap();
    assert_eq!((out.x.as_slice(), out.missing.as_ref()), (&[26.5, 2.5, 7.0, 8.0][..], None));
    assert_eq!(Imputer::Median.fit(&train).unwrap().fill_values(), [2.5, 2.5]);

    let odd = table(&[&[Some(5.0)], &[Some(-1.0)], &[N], &[Some(2.0)]]);
    assert_eq!(Imputer::Median.fit(&odd).unwrap().fill_values(), [2.0]);
    let one = table(&[&[Some(4.0)]]);
    assert_eq!(Imputer::Median.fit(&one).unwrap().fill_values(), [4.0]);
}

/// The kNN training rows of the hand computation below, with two features.
fn knn_train() -> Dataset {
    table(&[
        &[Some(0.0), Some(0.0)],
        &[Some(1.0), Some(10.0)],
        &[Some(2.0), N],
        &[Some(10.0), Some(20.0)],
        &[Some(3.0), Some(30.0)],
    ])
}

/// `KnnMean` is kNN wherever a row observes something, and gives a row with nothing
/// observed the training means (of the observed training values: 3.2 and 15).
#[test]
fn knn_mean_fills_empty_rows_with_the_training_means() {
    let test = table(&[&[Some(1.0), N], &[N, N], &[N, Some(10.0)]]);
    let knn = Imputer::KnnMean { k: 2 }.fit(&knn_train()).unwrap().apply(&test).unwrap();
    let strict = Imputer::Knn { k: 2 }.fit(&knn_train()).unwrap();
    let partial = table(&[&[Some(1.0), N], &[N, Some(10.0)]]);
    let want = strict.apply(&partial).unwrap();
    assert_eq!(&knn.x[0..2], &want.x[0..2]);
    assert_eq!(&knn.x[4..6], &want.x[2..4]);
    assert_eq!(&knn.x[2..4], &[3.2, 15.0]);
    assert!(knn.missing.is_none());
}

/// kNN against distances worked out by hand: only rows observing the feature are donors,
/// the distance uses the shared features scaled by d / shared, equal distances go to the
/// lower index, and k = 1 and k = 3 average the right rows.
#[test]
fn knn_by_hand() {
    let train = knn_train();
    let test = table(&[
        // Squared distances over f0, times 2/1: t0 12.5, t1 4.5, t2 0.5 (no f1, so no
        // donor), t3 112.5, t4 0.5. Donors for f1: t4, t1, t0, t3.
        &[Some(2.5), N],
        // t0 and t1 tie at 0.5: the lower index, t0 (f1 = 0), wins for k = 1.
        &[Some(0.5), N],
        // Over f1, times 2: t0 1250, t1 450, t2 shares nothing, t3 50, t4 50 (tie: t3).
        &[N, Some(25.0)],
    ]);
    let k1 = Imputer::Knn { k: 1 }.fit(&train).unwrap().apply(&test).unwrap();
    assert!(close(&k1.x, &[2.5, 30.0, 0.5, 0.0, 10.0, 25.0]), "{:?}", k1.x);
    let k3 = Imputer::Knn { k: 3 }.fit(&train).unwrap().apply(&test).unwrap();
    let want = [2.5, 40.0 / 3.0, 0.5, 40.0 / 3.0, 14.0 / 3.0, 25.0];
    assert!(close(&k3.x, &want), "{:?}", k3.x);
    // k above the donor count uses every donor: for row 0 all four rows observing f1.
    let k9 = Imputer::Knn { k: 9 }.fit(&train).unwrap().apply(&test).unwrap();
    assert!((k9.x[1] - 15.0).abs() <= TOL, "{:?}", k9.x);
}

/// With no donor sharing an observed feature, kNN falls back to the training mean instead
/// of inventing a value or failing.
#[test]
fn knn_falls_back_to_the_mean() {
    let train = table(&[&[Some(1.0), N], &[Some(3.0), N], &[N, Some(4.0)]]);
    let out = Imputer::Knn { k: 2 }.fit(&train).unwrap();
    let got = out.apply(&table(&[&[N, Some(5.0)]])).unwrap();
    assert_eq!(got.x, [2.0, 5.0]);
}

/// Standardised features have training mean 0, so mean imputation must equal zero-fill
/// there (the equivalence SPEC.md section 8 builds PROMISSING's comparison on); and with
/// k as large as the training set and every row sharing a feature, kNN is the mean.
#[test]
fn oracles_mean_is_zero_fill_and_large_k_knn_is_mean() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for (n, d) in [(7, 1), (31, 3), (200, 5)] {
        let x: Vec<f32> = (0..n * d).map(|_| rng.random_range(-5.0..20.0)).collect();
        let full = Dataset {
            name: "r".into(),
            x,
            n,
            d,
            target: Target::Values { y: vec![0.0; n], k: 1 },
            missing: None,
            feature_names: (0..d).map(|j| format!("f{j}")).collect(),
        };
        let mut mcar = Corruption::new(Mechanism::Mcar, 0.3);
        mcar.columns = Some((1..d).collect());
        let mut ds = if d > 1 { mcar.apply(&full, n as u64).unwrap().data } else { full };
        let st = Standardizer::fit(&ds).unwrap();
        st.apply(&mut ds).unwrap();

        let mean = Imputer::Mean.fit(&ds).unwrap();
        assert!(mean.fill_values().iter().all(|v| v.abs() <= TOL), "{:?}", mean.fill_values());
        let zero = Imputer::Zero.fit(&ds).unwrap().apply(&ds).unwrap();
        assert!(close(&mean.apply(&ds).unwrap().x, &zero.x));

        // Column 0 is always observed, so every training row shares it with every row.
        let knn = Imputer::Knn { k: n }.fit(&ds).unwrap().apply(&ds).unwrap();
        assert!(close(&knn.x, &mean.apply(&ds).unwrap().x));
    }
}

/// Mask concatenation is zero-fill plus the mask as 0/1 features named `name?missing`,
/// with width 2d on every split, so train and test agree even when one has no gap.
#[test]
fn mask_concat_layout() {
    let train = table(&[&[Some(1.0), N, Some(2.0)], &[N, Some(5.0), Some(6.0)]]);
    let fitted = Imputer::MaskConcat.fit(&train).unwrap();
    let out = fitted.apply(&train).unwrap();
    assert_eq!(out.d, 6);
    assert_eq!(out.feature_names, ["f0", "f1", "f2", "f0?missing", "f1?missing", "f2?missing"]);
    assert_eq!(out.x, [1.0, 0.0, 2.0, 0.0, 1.0, 0.0, 0.0, 5.0, 6.0, 1.0, 0.0, 0.0]);
    assert_eq!(out.missing, None);
    let mut complete = table(&[&[Some(1.0), Some(2.0), Some(3.0)]]);
    complete.missing = None;
    assert_eq!(fitted.apply(&complete).unwrap().x, [1.0, 2.0, 3.0, 0.0, 0.0, 0.0]);
}

/// Failures name the column or the row and quote the numbers, instead of NaN fills or
/// panics: an unobserved training column, an all-missing row under kNN, k = 0, a width
/// mismatch.
#[test]
fn rejects_what_cannot_be_imputed() {
    let train = table(&[&[Some(1.0), N], &[Some(2.0), N]]);
    for imp in [Imputer::Mean, Imputer::Median, Imputer::Knn { k: 1 }] {
        let err = imp.fit(&train).unwrap_err().to_string();
        assert!(err.starts_with("t: feature \"f1\" (index 1) has no observed value"), "{err}");
    }
    assert!(Imputer::Zero.fit(&train).is_ok() && Imputer::MaskConcat.fit(&train).is_ok());

    let knn = Imputer::Knn { k: 1 }.fit(&knn_train()).unwrap();
    let err = knn.apply(&table(&[&[Some(1.0), Some(1.0)], &[N, N]])).unwrap_err();
    assert!(matches!(err, MissingError::EmptyRow { row: 1, .. }), "{err}");
    assert!(err.to_string().starts_with("t: row 1 (counting from 0) has every feature missing"));

    let err = Imputer::Knn { k: 0 }.fit(&knn_train()).unwrap_err().to_string();
    assert_eq!(err, "knn imputation needs k >= 1, got k = 0");
    assert!(Imputer::KnnMean { k: 0 }.fit(&knn_train()).is_err());
    let err = knn.apply(&table(&[&[Some(1.0)]])).unwrap_err().to_string();
    assert_eq!(err, "imputer fitted on 2 features, applied to \"t\" with 1");
}
