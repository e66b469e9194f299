//! Missingness simulation: realised rates, and that each mechanism depends on what its
//! definition says and on nothing else.

use ilnet::data::{Dataset, Target};
use ilnet::missing::{Corruption, Mechanism, MissingError};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The missing rates of the PROMISSING paper's experiments, plus the ends.
const RATES: [f64; 6] = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0];

/// Standard deviations of a binomial count allowed before a rate counts as wrong: over the
/// few hundred comparisons below, a correct sampler exceeds 4.5 with odds below 1e-3.
const SIGMAS: f64 = 4.5;

/// `n` rows of `d` independent standard normal features (Box-Muller), seeded.
fn normal_data(n: usize, d: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = (0..n * d)
        .map(|_| {
            let (u, v): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect();
    Dataset {
        name: "normal".into(),
        x,
        n,
        d,
        target: Target::Values { y: vec![0.0; n], k: 1 },
        missing: None,
        feature_names: (0..d).map(|j| format!("f{j}")).collect(),
    }
}

fn is_missing(ds: &Dataset, i: usize, j: usize) -> bool {
    ds.missing.as_ref().is_some_and(|m| m[i * ds.d + j])
}

/// Whether `k` removals out of `trials` agree with probability `p`.
fn binomial_ok(k: usize, trials: usize, p: f64) -> bool {
    let sd = (trials as f64 * p * (1.0 - p)).sqrt();
    (k as f64 - trials as f64 * p).abs() <= SIGMAS * sd + 1e-9
}

/// MCAR and MAR remove each observed cell with expected probability r, so the realised
/// count must lie within a binomial tolerance, for every rate and many seeds; MNAR must hit
/// round(r * observed) exactly. A biased rate would mislabel every benchmark row.
#[test]
fn realised_rates_match_over_seeds() {
    let ds = normal_data(301, 5, 1);
    for mechanism in Mechanism::ALL {
        for rate in RATES {
            for seed in 0..20 {
                let out = Corruption::new(mechanism, rate).apply(&ds, seed).unwrap();
                let masked = &out.columns;
                let removed: usize = out.removed.iter().sum();
                let trials = masked.len() * ds.n;
                match mechanism {
                    Mechanism::Mnar => {
                        let per = (rate * ds.n as f64).round() as usize;
                        assert_eq!(removed, per * masked.len(), "mnar rate {rate} seed {seed}");
                    }
                    _ => assert!(
                        binomial_ok(removed, trials, rate),
                        "{mechanism} rate {rate} seed {seed}: {removed}/{trials}"
                    ),
                }
                let mask = out.data.missing.as_deref().unwrap_or(&[]);
                let count = mask.iter().filter(|&&m| m).count();
                assert_eq!(count, removed, "the mask holds exactly the removed cells");
                for (at, &m) in mask.iter().enumerate() {
                    assert!(!m || out.data.x[at] == 0.0, "removed cells hold 0.0");
                    assert!(m || out.data.x[at] == ds.x[at], "other cells are untouched");
                }
                assert_eq!(out.data.target, ds.target);
            }
        }
    }
}

/// Cells already missing stay missing, and the rate counts only the cells that were
/// observed; otherwise corrupting real data with gaps (penguins) would double-count them.
#[test]
fn keeps_old_gaps_and_counts_observed_cells() {
    let mut ds = normal_data(2000, 3, 2);
    let old: Vec<bool> = (0..ds.n * ds.d).map(|at| at % 3 == 1 && at % 7 < 4).collect();
    for (v, &m) in ds.x.iter_mut().zip(&old) {
        if m {
            *v = 0.0;
        }
    }
    ds.missing = Some(old.clone());
    for mechanism in [Mechanism::Mcar, Mechanism::Mnar] {
        let out = Corruption::new(mechanism, 0.25).apply(&ds, 9).unwrap();
        let mask = out.data.missing.as_ref().unwrap();
        assert!(old.iter().zip(mask).all(|(&o, &m)| !o || m), "{mechanism} dropped a gap");
        let observed_1 = (0..ds.n).filter(|&i| !old[i * 3 + 1]).count();
        let removed_1 = out.removed[1];
        match mechanism {
            Mechanism::Mnar => assert_eq!(removed_1, (0.25 * observed_1 as f64).round() as usize),
            _ => assert!(binomial_ok(removed_1, observed_1, 0.25), "{removed_1}/{observed_1}"),
        }
    }
}

/// The same seed gives the same mask and another seed another: experiments are
/// reproducible from their seed alone.
#[test]
fn seeded() {
    let ds = normal_data(50, 4, 3);
    for mechanism in Mechanism::ALL {
        let c = Corruption::new(mechanism, 0.3);
        assert_eq!(c.apply(&ds, 5).unwrap(), c.apply(&ds, 5).unwrap());
        assert_ne!(c.apply(&ds, 5).unwrap().data.missing, c.apply(&ds, 6).unwrap().data.missing);
    }
}

/// MAR must depend on the driver (rows with a high driver lose more) and not on the masked
/// value itself (given the driver, independent here by construction); this is what
/// separates it from MCAR and MNAR in the benchmark.
#[test]
fn mar_depends_on_driver_not_on_value() {
    let ds = normal_data(20_000, 2, 4);
    let out = Corruption::new(Mechanism::Mar, 0.25).apply(&ds, 11).unwrap();
    assert_eq!((out.driver, out.columns.as_slice()), (Some(0), &[1][..]));
    let rate_where = |pred: &dyn Fn(usize) -> bool| {
        let rows: Vec<usize> = (0..ds.n).filter(|&i| pred(i)).collect();
        let k = rows.iter().filter(|&&i| is_missing(&out.data, i, 1)).count();
        (k, rows.len())
    };
    let (hi, n_hi) = rate_where(&|i| ds.x[i * 2] > 0.0);
    let (lo, n_lo) = rate_where(&|i| ds.x[i * 2] <= 0.0);
    let (r_hi, r_lo) = (hi as f64 / n_hi as f64, lo as f64 / n_lo as f64);
    assert!(r_hi > 0.35 && r_lo < 0.15, "driver high {r_hi}, low {r_lo}");

    let (vh, n_vh) = rate_where(&|i| ds.x[i * 2 + 1] > 0.0);
    let (vl, n_vl) = rate_where(&|i| ds.x[i * 2 + 1] <= 0.0);
    let pooled = (vh + vl) as f64 / ds.n as f64;
    let sd = (pooled * (1.0 - pooled) * (1.0 / n_vh as f64 + 1.0 / n_vl as f64)).sqrt();
    let diff = vh as f64 / n_vh as f64 - vl as f64 / n_vl as f64;
    assert!(diff.abs() < SIGMAS * sd, "value high vs low differ by {diff} (sd {sd})");
}

/// MNAR must depend on the value: in each column the removed values are all at one end,
/// beyond every value kept, and both ends occur across columns.
#[test]
fn mnar_removes_one_end_of_each_column() {
    let ds = normal_data(999, 8, 5);
    let out = Corruption::new(Mechanism::Mnar, 0.1).apply(&ds, 3).unwrap();
    let mut ends = [0, 0];
    for j in 0..ds.d {
        let (gone, kept): (Vec<usize>, Vec<usize>) =
            (0..ds.n).partition(|&i| is_missing(&out.data, i, j));
        assert_eq!(gone.len(), 100);
        let v = |i: &usize| ds.x[i * ds.d + j];
        let (g_min, g_max) =
            gone.iter().map(v).fold((f32::MAX, f32::MIN), |(a, b), x| (a.min(x), b.max(x)));
        let (k_min, k_max) =
            kept.iter().map(v).fold((f32::MAX, f32::MIN), |(a, b), x| (a.min(x), b.max(x)));
        if g_min >= k_max {
            ends[0] += 1;
        } else {
            assert!(g_max <= k_min, "column {j}: removed values are not at one end");
            ends[1] += 1;
        }
    }
    assert!(ends[0] > 0 && ends[1] > 0, "top and bottom windows both occur: {ends:?}");
}

/// Ties at the window's edge are broken at random, so a column with repeated values still
/// loses exactly the asked-for count.
#[test]
fn mnar_ties_keep_the_count() {
    let mut ds = normal_data(10, 1, 6);
    ds.x = vec![1.0; 10];
    let out = Corruption::new(Mechanism::Mnar, 0.3).apply(&ds, 1).unwrap();
    assert_eq!(out.removed, [3]);
}

/// Chosen columns are the only ones touched, an explicit MAR driver is honoured, and bad
/// choices are errors naming the column rather than panics or silent fallbacks.
#[test]
fn columns_driver_and_errors() {
    let ds = normal_data(200, 4, 7);
    let mut c = Corruption::new(Mechanism::Mcar, 0.5);
    c.columns = Some(vec![3, 1]);
    let out = c.apply(&ds, 0).unwrap();
    assert_eq!(out.columns, [1, 3]);
    assert_eq!((out.removed[0], out.removed[2]), (0, 0));

    let mut mar = Corruption::new(Mechanism::Mar, 0.5);
    mar.driver = Some(2);
    let out = mar.apply(&ds, 0).unwrap();
    assert_eq!((out.driver, out.columns), (Some(2), vec![0, 1, 3]));

    let err = |c: &Corruption, ds: &Dataset| c.apply(ds, 0).unwrap_err();
    mar.columns = Some(vec![2]);
    let e = err(&mar, &ds).to_string();
    assert!(e.contains("feature \"f2\" (index 2) cannot drive MAR: it is among"), "{e}");
    mar.columns = Some(vec![0, 1, 2, 3]);
    mar.driver = None;
    assert!(matches!(err(&mar, &ds), MissingError::NoDriver { .. }));

    let mut holed = ds.clone();
    holed.missing = Some((0..800).map(|at| at == 4).collect());
    holed.x[4] = 0.0;
    mar.columns = Some(vec![1]);
    let out = mar.apply(&holed, 0).unwrap();
    assert_eq!(out.driver, Some(2), "a driver with a gap (f0) is skipped");

    let bad_rate = Corruption::new(Mechanism::Mcar, 1.5);
    assert_eq!(err(&bad_rate, &ds).to_string(), "missingness rate 1.5 is outside [0, 1]");
    assert!(matches!(
        err(&Corruption::new(Mechanism::Mcar, f64::NAN), &ds),
        MissingError::BadRate { .. }
    ));
    c.columns = Some(vec![4]);
    assert!(err(&c, &ds).to_string().contains("column index 4 is out of range"));
    c.columns = Some(vec![1, 1]);
    assert!(err(&c, &ds).to_string().contains("column \"f1\" is chosen twice"));
}
