//! The 8x8 handwritten digits set, embedded in the binary so that a first run needs no
//! download.
//!
//! 1797 images of 8x8 pixels with values `0..=16`, 10 classes; from scikit-learn
//! (BSD-3-Clause), who took it from the UCI "Optical Recognition of Handwritten Digits"
//! set (see `assets/README.md`). The file is a headerless CSV of 65 integer columns: 64
//! pixels row-major, then the label.
//!
//! Features are scaled to `[0, 1]` by `x / 16`. The split into training and test is fixed:
//! a shuffle seeded with [`SPLIT_SEED`] puts [`TEST_SIZE`] images in the test set and the
//! other 1437 in the training set, so results are comparable across runs and machines.

use std::io::Read;

use super::{DataError, Dataset, Split, Target};

/// The gzipped CSV as shipped in scikit-learn's wheel.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../assets/digits.csv.gz");
/// The name used in errors for the embedded file.
const FILE: &str = "assets/digits.csv.gz (embedded)";
/// Images in the set.
pub const SAMPLES: usize = 1797;
/// Images held out for testing (20%, rounded).
pub const TEST_SIZE: usize = 360;
/// The seed of the fixed train/test shuffle.
pub const SPLIT_SEED: u64 = 0x1d16_1757;
/// Pixels per image.
pub const PIXELS: usize = 64;
/// The largest pixel value (4x4 blocks of a 32x32 bitmap, each counting set bits).
pub const MAX_VALUE: f32 = 16.0;

/// The whole set, 1797 images in file order.
pub fn all() -> Result<Dataset, DataError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .map_err(|e| DataError::Gzip { file: FILE.into(), reason: e.to_string() })?;

    let mut x = Vec::with_capacity(SAMPLES * PIXELS);
    let mut labels = Vec::with_capacity(SAMPLES);
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line_no = i as u64 + 1;
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != PIXELS + 1 {
            return Err(DataError::Ragged {
                file: FILE.into(),
                line: line_no,
                expected: PIXELS + 1,
                found: cells.len(),
            });
        }
        let bad = |c: &str| DataError::BadNumber {
            file: FILE.into(),
            line: line_no,
            column: String::new(),
            value: c.to_string(),
        };
        for c in &cells[..PIXELS] {
            let v: f32 = c.trim().parse().map_err(|_| bad(c))?;
            if !(0.0..=MAX_VALUE).contains(&v) {
                return Err(bad(c));
            }
            x.push(v / MAX_VALUE);
        }
        let label: f32 = cells[PIXELS].trim().parse().map_err(|_| bad(cells[PIXELS]))?;
        if !(0.0..10.0).contains(&label) || label.fract() != 0.0 {
            return Err(bad(cells[PIXELS]));
        }
        labels.push(label as u32);
    }
    Ok(Dataset {
        name: "digits".into(),
        n: labels.len(),
        x,
        d: PIXELS,
        target: Target::Classes { labels, classes: 10 },
        missing: None,
        feature_names: super::pixel_names("", 8, 8),
    })
}

/// The fixed split: 1437 training and 360 test images.
pub(crate) fn load() -> Result<Split, DataError> {
    let all = all()?;
    let (train, mut test) = all.split_parts("test", TEST_SIZE as f64 / all.n as f64, SPLIT_SEED)?;
    let mut train = train;
    train.name = "digits/train".into();
    test.name = "digits/test".into();
    Ok(Split { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded file must parse to the published size of the set, with the class counts
    /// scikit-learn documents for `load_digits` (an oracle independent of this parser).
    #[test]
    fn parses_the_published_counts() {
        let ds = all().unwrap();
        assert_eq!((ds.n, ds.d), (1797, 64));
        let Target::Classes { labels, classes } = &ds.target else { panic!("classes expected") };
        assert_eq!(*classes, 10);
        let mut counts = [0usize; 10];
        for &l in labels {
            counts[l as usize] += 1;
        }
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        assert!(ds.x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(ds.x.contains(&1.0), "some pixel should reach 16/16");
    }

    /// The first image, read off the CSV by eye, lands in sample 0 scaled by 1/16: a check
    /// that rows are not transposed or shifted by the label column.
    #[test]
    fn first_image_is_row_major() {
        let ds = all().unwrap();
        let first_row = [0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0];
        assert_eq!(&ds.sample(0)[..8], &first_row.map(|v: f32| v / 16.0)[..]);
        let Target::Classes { labels, .. } = &ds.target else { panic!() };
        assert_eq!(&labels[..3], &[0, 1, 2]);
    }

    /// The fixed split has the documented sizes, covers every image once and is the same on
    /// every call.
    #[test]
    fn fixed_split() {
        let split = load().unwrap();
        assert_eq!((split.train.n, split.test.n), (1437, 360));
        assert_eq!(split, load().unwrap());
        let all = all().unwrap();
        let mut rows: Vec<&[f32]> = (0..all.n).map(|i| all.sample(i)).collect();
        let mut parts: Vec<&[f32]> = (0..split.train.n)
            .map(|i| split.train.sample(i))
            .chain((0..split.test.n).map(|i| split.test.sample(i)))
            .collect();
        let cmp = |a: &&[f32], b: &&[f32]| a.partial_cmp(b).unwrap();
        rows.sort_by(cmp);
        parts.sort_by(cmp);
        assert_eq!(rows, parts);
    }
}
