//! The benchmark loaders against the real files (when installed) and against small files
//! in their formats (always).

use std::path::{Path, PathBuf};

use ilnet::data::{Dataset, Target, data_root};
use ilnet::missing::MissingError;
use ilnet::missing::tabular_benchmarks::{Benchmark, load};

/// The data root holding `tabular/`, or `None` with a skip line; under CI, which installs
/// the data first, absence is a failure.
fn real_root() -> Option<PathBuf> {
    let root = data_root(None);
    if root.join("tabular").is_dir() {
        return Some(root);
    }
    let msg = format!(
        "tabular benchmarks not installed in {}: run `scripts/install-tabular-data.sh DIR` and \
         set ILNET_DATA=DIR",
        root.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("skipped: {msg}");
    None
}

fn class_counts(ds: &Dataset) -> Vec<usize> {
    let Target::Classes { labels, classes } = &ds.target else { panic!("not classes") };
    let mut c = vec![0; *classes];
    for &l in labels {
        c[l as usize] += 1;
    }
    c
}

/// Each real table loads with the sizes and class counts its description publishes, so the
/// benchmark runs on the data the literature means; digits must match the embedded copy.
#[test]
fn real_tables_match_their_descriptions() {
    let Some(root) = real_root() else { return };

    let bc = load(Benchmark::BreastCancer, &root).unwrap();
    assert_eq!((bc.n, bc.d, bc.name.as_str()), (569, 30, "breast-cancer"));
    assert_eq!(class_counts(&bc), [212, 357], "malignant, benign");
    assert_eq!((bc.feature_names[0].as_str(), bc.x[0]), ("radius_mean", 17.99));
    assert_eq!(bc.feature_names[29], "fractal_dimension_worst");

    let wine = load(Benchmark::Wine, &root).unwrap();
    assert_eq!((wine.n, wine.d), (178, 13));
    assert_eq!(class_counts(&wine), [59, 71, 48]);
    assert_eq!(wine.x[12], 1065.0, "proline of the first wine");

    let db = load(Benchmark::Diabetes, &root).unwrap();
    assert_eq!((db.n, db.d, db.x[0]), (442, 10, 59.0));
    let Target::Values { y, k: 1 } = &db.target else { panic!("diabetes is regression") };
    assert_eq!((y[0], y.iter().copied().fold(f32::MIN, f32::max)), (151.0, 346.0));

    let digits = load(Benchmark::Digits, &root).unwrap();
    let embedded = ilnet::data::digits::all().unwrap();
    assert_eq!((digits.n, digits.d, &digits.target), (1797, 64, &embedded.target));
    assert!(digits.x.iter().zip(&embedded.x).all(|(a, b)| *a == b * 16.0));

    let pg = load(Benchmark::Penguins, &root).unwrap();
    assert_eq!((pg.n, pg.d), (344, 10));
    assert_eq!(class_counts(&pg), [152, 68, 124], "Adelie, Chinstrap, Gentoo");
    let mask = pg.missing.as_ref().expect("penguins has real gaps");
    let sex = pg.feature_names.iter().position(|n| n == "sex=male").unwrap();
    let bill = pg.feature_names.iter().position(|n| n == "bill_length_mm").unwrap();
    assert_eq!((0..pg.n).filter(|&i| mask[i * pg.d + sex]).count(), 11);
    assert_eq!((0..pg.n).filter(|&i| mask[i * pg.d + bill]).count(), 2);

    // The red wine quality table of Cortez et al. (2009): 1599 wines, 11 features, scores 3-8.
    let wq = load(Benchmark::WineQuality, &root).unwrap();
    assert_eq!((wq.n, wq.d, wq.x[0]), (1599, 11, 7.4), "fixed acidity of the first wine");
    assert_eq!(
        (wq.feature_names[0].as_str(), wq.feature_names[10].as_str()),
        ("fixed acidity", "alcohol")
    );
    let Target::Values { y, k: 1 } = &wq.target else { panic!("wine quality is regression") };
    let (lo, hi) = y.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert_eq!((y[0], lo, hi), (5.0, 3.0, 8.0));
    assert!(wq.missing.as_ref().is_none_or(|m| !m.contains(&true)));
    for b in Benchmark::ALL {
        assert_eq!(b.as_str().parse::<Benchmark>().unwrap(), b);
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join("tabular")).unwrap();
    std::fs::write(dir.join("tabular").join(name), text).unwrap();
}

/// The counted header (`n,d,classes...`) is checked against the rows, and gzipped files
/// are read like plain ones: a cut or mislabelled file must not load as a smaller set.
#[test]
fn counted_header_is_checked_and_gzip_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let row = |label: u32| format!("{},{label}\n", vec!["1.5"; 13].join(","));
    let good = format!("2,13,class_0,class_1,class_2\n{}{}", row(0), row(2));
    write(dir.path(), "wine_data.csv", &good);
    let ds = load(Benchmark::Wine, dir.path()).unwrap();
    assert_eq!((ds.n, class_counts(&ds)), (2, vec![1, 0, 1]));

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, good.as_bytes()).unwrap();
    std::fs::remove_file(dir.path().join("tabular/wine_data.csv")).unwrap();
    std::fs::create_dir_all(dir.path().join("tabular")).unwrap();
    std::fs::write(dir.path().join("tabular/wine_data.csv.gz"), gz.finish().unwrap()).unwrap();
    assert_eq!(load(Benchmark::Wine, dir.path()).unwrap(), ds);
    std::fs::remove_file(dir.path().join("tabular/wine_data.csv.gz")).unwrap();

    let err = |text: &str| {
        write(dir.path(), "wine_data.csv", text);
        load(Benchmark::Wine, dir.path()).unwrap_err().to_string()
    };
    let e = err(&format!("3,13,class_0,class_1,class_2\n{}", row(0)));
    assert!(e.ends_with("wine_data.csv:1: header announces 3 rows, the file has 1"), "{e}");
    let e = err(&format!("1,13,a,b,c\n{}", row(3)));
    assert!(e.ends_with("wine_data.csv:2: label \"3\" is not a class index below 3"), "{e}");
    let e = err("178,12,a,b,c\n");
    assert!(e.contains("announces 12 features and 3 classes, expected 13"), "{e}");
    let e = err("alcohol,malic_acid\n");
    assert!(e.contains("does not start with the row and feature counts"), "{e}");
}

/// A table that is not installed names the file looked for and how to install it.
#[test]
fn missing_file_hints_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let e = load(Benchmark::Diabetes, dir.path()).unwrap_err();
    assert!(matches!(e, MissingError::BenchmarkFile { name: "diabetes", .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("diabetes_data_raw.csv[.gz]"), "{msg}");
    assert!(msg.contains("hint: run `scripts/install-tabular-data.sh DIR`"), "{msg}");
    let e = "iris".parse::<Benchmark>().unwrap_err().to_string();
    assert!(e.contains("\"iris\"") && e.contains("breast-cancer, wine"), "{e}");
}
