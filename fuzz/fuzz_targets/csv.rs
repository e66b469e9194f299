//! The CSV reader must return `Ok` or an error for any bytes and any spec, and what it
//! returns must be consistent: `n * d` features, a mask of the same length with `0.0` under
//! every `true`, labels below the class count, finite values. The standardiser and the
//! split run on every table that parses.
//!
//! The first byte chooses the spec (bit 0: regression, bit 1: drop rows with a missing
//! target, bit 2: column `a` categorical); the target column is always `y`.
#![no_main]

use ilnet::data::tabular::{TabularSpec, Task, parse_csv, train_test_split};
use ilnet::data::{Standardizer, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, csv)) = data.split_first() else { return };
    let task = if flags & 1 == 0 { Task::Classification } else { Task::Regression };
    let mut spec = TabularSpec::new("y", task);
    spec.drop_missing_target = flags & 2 != 0;
    if flags & 4 != 0 {
        spec.categorical = vec!["a".into()];
    }
    let Ok((ds, schema)) = parse_csv(csv, "fuzz.csv", &spec) else { return };

    assert_eq!(ds.x.len(), ds.n * ds.d);
    assert_eq!(ds.feature_names.len(), ds.d);
    assert!(ds.x.iter().all(|v| v.is_finite()));
    if let Some(m) = &ds.missing {
        assert_eq!(m.len(), ds.x.len());
        assert!(m.iter().zip(&ds.x).all(|(&miss, &v)| !miss || v == 0.0));
    }
    match &ds.target {
        Target::Classes { labels, classes } => {
            assert_eq!(labels.len(), ds.n);
            assert!(labels.iter().all(|&l| (l as usize) < *classes));
        }
        Target::Values { y, k } => assert_eq!(y.len(), ds.n * k),
    }

    // The same bytes encoded with the learned schema must give the same table.
    assert_eq!(schema.parse(csv, "fuzz.csv").as_ref().ok(), Some(&ds));

    if let Ok(st) = Standardizer::fit(&ds) {
        let mut t = ds.clone();
        st.apply(&mut t).unwrap();
        assert_eq!(t.missing, ds.missing);
    }
    if let Ok(split) = train_test_split(&ds, 0.25, 7) {
        assert_eq!(split.train.n + split.test.n, ds.n);
    }
});
