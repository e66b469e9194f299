//! The IDX format of MNIST and Fashion-MNIST, and the loader for both.
//!
//! An IDX file is a big-endian `u32` magic, one big-endian `u32` per dimension, then the
//! values, here unsigned bytes in row-major order. Two magics occur:
//!
//! - `0x00000803`: images, dimensions `count x rows x cols`;
//! - `0x00000801`: labels, dimension `count`.
//!
//! Files may be gzipped (detected by the `1f 8b` magic) or raw. Offsets in errors count
//! bytes of the decompressed stream.
//!
//! Both MNIST and Fashion-MNIST ship the same four file names, in `root/mnist/` and
//! `root/fashion-mnist/`. Pixels are scaled to `[0, 1]` by `x / 255` and flattened row-major
//! into `rows * cols` features; there are 10 classes.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{DataError, DataName, Dataset, Split, Target};

/// The magic of an IDX file of unsigned-byte images (3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic of an IDX file of unsigned-byte labels (1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Classes in MNIST and Fashion-MNIST.
pub const CLASSES: usize = 10;

/// The training images, training labels, test images and test labels, without `.gz`.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Images read from an IDX file, pixels as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Pixel rows per image.
    pub rows: usize,
    /// Pixel columns per image.
    pub cols: usize,
    /// `count * rows * cols` bytes, image-major, each image row-major.
    pub pixels: Vec<u8>,
}

/// Returns the bytes as they are, or decompressed if they start with the gzip magic.
pub fn gunzip_if_needed<'a>(bytes: &'a [u8], file: &str) -> Result<Cow<'a, [u8]>, DataError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| DataError::Gzip { file: file.to_string(), reason: e.to_string() })?;
    Ok(Cow::Owned(out))
}

/// Reads the header of an IDX file: checks the magic and returns the dimensions and the
/// header's length in bytes.
fn parse_header(
    bytes: &[u8],
    file: &str,
    magic: u32,
    what: &'static str,
) -> Result<(Vec<u32>, usize), DataError> {
    let ndims = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    let truncated = || DataError::Truncated {
        file: file.to_string(),
        what: "header",
        offset: 0,
        expected: header_len as u64,
        found: bytes.len() as u64,
    };
    let be_u32 = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };

    let found = be_u32(0).ok_or_else(truncated)?;
    if found != magic {
        return Err(DataError::IdxMagic { file: file.to_string(), found, expected: magic, what });
    }
    let dims = (0..ndims).map(|i| be_u32(4 + 4 * i)).collect::<Option<Vec<u32>>>();
    Ok((dims.ok_or_else(truncated)?, header_len))
}

/// Checks that `bytes` holds exactly `expected` data bytes after a header of `header_len`.
fn check_data_len(
    bytes: &[u8],
    file: &str,
    what: &'static str,
    header_len: usize,
    expected: usize,
) -> Result<(), DataError> {
    let found = bytes.len() - header_len;
    if found < expected {
        return Err(DataError::Truncated {
            file: file.to_string(),
            what,
            offset: header_len as u64,
            expected: expected as u64,
            found: found as u64,
        });
    }
    if found > expected {
        return Err(DataError::TrailingBytes {
            file: file.to_string(),
            offset: (header_len + expected) as u64,
            extra: (found - expected) as u64,
        });
    }
    Ok(())
}

/// Parses an IDX images file (raw or gzipped bytes); `file` names it in errors.
pub fn parse_images(bytes: &[u8], file: &str) -> Result<IdxImages, DataError> {
    let bytes = gunzip_if_needed(bytes, file)?;
    let (dims, header_len) = parse_header(&bytes, file, IMAGES_MAGIC, "IDX images, u8, 3-d")?;
    let [count, rows, cols] = [dims[0] as usize, dims[1] as usize, dims[2] as usize];
    let total = count.checked_mul(rows).and_then(|v| v.checked_mul(cols));
    let total = total.ok_or_else(|| DataError::TooLarge { file: file.to_string(), dims })?;
    check_data_len(&bytes, file, "pixel data", header_len, total)?;
    let pixels = bytes[header_len..].to_vec();
    Ok(IdxImages { count, rows, cols, pixels })
}

/// Parses an IDX labels file (raw or gzipped bytes) whose labels must lie in `0..classes`.
pub fn parse_labels(bytes: &[u8], file: &str, classes: usize) -> Result<Vec<u32>, DataError> {
    let bytes = gunzip_if_needed(bytes, file)?;
    let (dims, header_len) = parse_header(&bytes, file, LABELS_MAGIC, "IDX labels, u8, 1-d")?;
    let count = dims[0] as usize;
    check_data_len(&bytes, file, "label data", header_len, count)?;
    let labels = &bytes[header_len..];
    if let Some(sample) = labels.iter().position(|&l| l as usize >= classes) {
        return Err(DataError::LabelOutOfRange {
            file: file.to_string(),
            offset: (header_len + sample) as u64,
            sample,
            label: u32::from(labels[sample]),
            classes,
        });
    }
    Ok(labels.iter().map(|&l| u32::from(l)).collect())
}

/// Reads and parses an IDX images file.
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_images(&bytes, &path.display().to_string())
}

/// Reads and parses an IDX labels file with labels in `0..classes`.
pub fn read_labels(path: &Path, classes: usize) -> Result<Vec<u32>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_labels(&bytes, &path.display().to_string(), classes)
}

/// Pairs images with labels into a [`Dataset`], pixels scaled to `[0, 1]`.
pub fn to_dataset(
    name: &str,
    images: &IdxImages,
    images_file: &str,
    labels: Vec<u32>,
    labels_file: &str,
    classes: usize,
) -> Result<Dataset, DataError> {
    if images.count != labels.len() {
        return Err(DataError::CountMismatch {
            images_file: images_file.to_string(),
            images: images.count,
            labels_file: labels_file.to_string(),
            labels: labels.len(),
        });
    }
    Ok(Dataset {
        name: name.to_string(),
        x: images.pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
        n: images.count,
        d: images.rows * images.cols,
        target: Target::Classes { labels, classes },
        missing: None,
        feature_names: super::pixel_names("", images.rows, images.cols),
    })
}

/// `dir/stem` if it exists, else `dir/stem.gz`, else an error with the fetch hint.
pub(crate) fn find_file(dir: &Path, stem: &str, name: DataName) -> Result<PathBuf, DataError> {
    let raw = dir.join(stem);
    let gz = dir.join(format!("{stem}.gz"));
    [raw, gz].into_iter().find(|p| p.is_file()).ok_or_else(|| DataError::MissingFile {
        name: name.to_string(),
        path: dir.join(format!("{stem}[.gz]")),
    })
}

/// Loads MNIST or Fashion-MNIST from `root/<name>/`.
pub(crate) fn load_mnist_like(name: DataName, root: &Path) -> Result<Split, DataError> {
    let dir = root.join(name.as_str());
    let part = |images_stem: &str, labels_stem: &str, split: &str| {
        let images_path = find_file(&dir, images_stem, name)?;
        let labels_path = find_file(&dir, labels_stem, name)?;
        let images = read_images(&images_path)?;
        let labels = read_labels(&labels_path, CLASSES)?;
        let images_file = images_path.display().to_string();
        let ds_name = format!("{name}/{split}");
        let ds = to_dataset(
            &ds_name,
            &images,
            &images_file,
            labels,
            &labels_path.display().to_string(),
            CLASSES,
        )?;
        Ok::<_, DataError>((ds, images_file, [images.rows, images.cols]))
    };
    let (train, _, train_shape) = part(FILES[0], FILES[1], "train")?;
    let (test, test_file, test_shape) = part(FILES[2], FILES[3], "test")?;
    if train_shape != test_shape {
        return Err(DataError::ShapeMismatch {
            file: test_file,
            found: test_shape.to_vec(),
            expected: train_shape.to_vec(),
        });
    }
    Ok(Split { train, test })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// An IDX images file in the official layout, written independently of the parser.
    pub(crate) fn images_bytes(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [IMAGES_MAGIC, count, rows, cols] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(pixels);
        b
    }

    /// An IDX labels file in the official layout.
    pub(crate) fn labels_bytes(labels: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
        b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        b.extend_from_slice(labels);
        b
    }

    pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// Seeded pseudo-random bytes (a small LCG, so the oracle shares no code with the crate).
    pub(crate) fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (s >> 56) as u8
            })
            .collect()
    }

    /// Writes a complete MNIST-like folder: `n_train` and `n_test` images of `rows x cols`.
    pub(crate) fn write_mnist_dir(
        dir: &Path,
        n_train: u32,
        n_test: u32,
        rows: u32,
        cols: u32,
        gz: bool,
    ) -> [(Vec<u8>, Vec<u8>); 2] {
        std::fs::create_dir_all(dir).unwrap();
        let mut parts = Vec::new();
        for (i, n) in [n_train, n_test].into_iter().enumerate() {
            let px = bytes(10 + i as u64, (n * rows * cols) as usize);
            let lb: Vec<u8> = bytes(20 + i as u64, n as usize).iter().map(|b| b % 10).collect();
            for (stem, data) in [
                (FILES[2 * i], images_bytes(n, rows, cols, &px)),
                (FILES[2 * i + 1], labels_bytes(&lb)),
            ] {
                let (path, data) = if gz {
                    (dir.join(format!("{stem}.gz")), gzip(&data))
                } else {
                    (dir.join(stem), data)
                };
                std::fs::write(path, data).unwrap();
            }
            parts.push((px, lb));
        }
        [parts[0].clone(), parts[1].clone()]
    }

    /// Raw and gzipped files must both read back exactly the pixels and labels written,
    /// for sizes 0, 1 and odd shapes.
    #[test]
    fn round_trip_raw_and_gzip() {
        for (count, rows, cols) in [(0, 28, 28), (1, 1, 1), (3, 5, 7), (17, 28, 28)] {
            let px = bytes(count as u64, (count * rows * cols) as usize);
            let raw = images_bytes(count, rows, cols, &px);
            for data in [raw.clone(), gzip(&raw)] {
                let img = parse_images(&data, "t").unwrap();
                assert_eq!(
                    (img.count, img.rows, img.cols),
                    (count as usize, rows as usize, cols as usize)
                );
                assert_eq!(img.pixels, px);
            }
            let lb: Vec<u8> = px.iter().take(count as usize).map(|b| b % 10).collect();
            for data in [labels_bytes(&lb), gzip(&labels_bytes(&lb))] {
                let got = parse_labels(&data, "t", 10).unwrap();
                assert_eq!(got, lb.iter().map(|&l| l as u32).collect::<Vec<_>>());
            }
        }
    }

    /// The loader must find gz and raw files, scale pixels by 1/255 and keep row-major order.
    #[test]
    fn load_from_folder_scales_pixels() {
        for gz in [false, true] {
            let root = tempfile::tempdir().unwrap();
            let [(px, lb), (tpx, _)] =
                write_mnist_dir(&root.path().join("fashion-mnist"), 6, 3, 4, 5, gz);
            let split = load_mnist_like(DataName::FashionMnist, root.path()).unwrap();
            assert_eq!((split.train.n, split.train.d, split.test.n), (6, 20, 3));
            for (got, &want) in split.train.x.iter().zip(&px) {
                assert_eq!(*got, want as f32 / 255.0);
            }
            assert_eq!(split.test.x[7], tpx[7] as f32 / 255.0);
            let want: Vec<u32> = lb.iter().map(|&l| l as u32).collect();
            assert_eq!(split.train.target, Target::Classes { labels: want, classes: 10 });
            assert_eq!(split.train.feature_names[6], "r1c1");
        }
    }

    /// A missing folder names the file and tells the user how to get it.
    #[test]
    fn missing_file_hints_fetch() {
        let root = tempfile::tempdir().unwrap();
        let err = load_mnist_like(DataName::Mnist, root.path()).unwrap_err().to_string();
        assert!(err.contains("train-images-idx3-ubyte"), "{err}");
        assert!(err.contains("run `ilnet data fetch mnist`"), "{err}");
        let err = load_mnist_like(DataName::FashionMnist, root.path()).unwrap_err().to_string();
        assert!(err.contains("run `ilnet data fetch fashion-mnist`"), "{err}");
    }

    /// Each kind of corruption gives an error naming the file and the offset or the value
    /// expected, never a panic.
    #[test]
    fn rejects_corrupt_files() {
        let good = images_bytes(2, 3, 3, &[7; 18]);
        let check = |data: &[u8], wants: &[&str]| {
            let err = parse_images(data, "img.idx").unwrap_err().to_string();
            assert!(err.starts_with("img.idx: "), "{err}");
            for w in wants {
                assert!(err.contains(w), "{err:?} lacks {w:?}");
            }
        };
        check(&good[..3], &["header", "expected 16 bytes, found 3"]);
        check(&good[..10], &["header", "expected 16 bytes, found 10"]);
        check(&good[..20], &["pixel data at byte 16", "expected 18 bytes, found 4"]);
        check(&[good.clone(), vec![0]].concat(), &["1 unexpected trailing bytes from byte 34"]);
        check(&labels_bytes(&[1, 2]), &["bad magic 0x00000801", "expected 0x00000803"]);
        check(&gzip(&good[..20]), &["expected 18 bytes, found 4"]);
        check(&good[..0], &["found 0"]);
        check(&[0x1f, 0x8b, 0, 1], &["not a valid gzip stream"]);
        let huge = images_bytes(u32::MAX, u32::MAX, u32::MAX, &[]);
        let err = parse_images(&huge, "img.idx").unwrap_err().to_string();
        assert!(err.contains("too large") || err.contains("truncated"), "{err}");

        let err = parse_labels(&labels_bytes(&[1, 9, 10, 3]), "lab", 10).unwrap_err().to_string();
        assert!(err.contains("lab: label 10 at byte 10 (sample 2)"), "{err}");
        assert!(err.contains("expected 0..=9"), "{err}");
        let err = parse_labels(&good, "lab", 10).unwrap_err().to_string();
        assert!(err.contains("bad magic 0x00000803 at byte 0, expected 0x00000801"), "{err}");
    }

    /// Images and labels of different lengths must not be paired silently.
    #[test]
    fn rejects_count_mismatch() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("mnist");
        write_mnist_dir(&dir, 4, 2, 2, 2, false);
        std::fs::write(dir.join(FILES[1]), labels_bytes(&[1, 2, 3])).unwrap();
        let err = load_mnist_like(DataName::Mnist, root.path()).unwrap_err().to_string();
        assert!(err.contains("holds 4 images"), "{err}");
        assert!(err.contains("holds 3 labels"), "{err}");
    }

    /// Training and test images of different shapes cannot share one model input.
    #[test]
    fn rejects_shape_mismatch() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("mnist");
        write_mnist_dir(&dir, 2, 2, 2, 2, false);
        std::fs::write(dir.join(FILES[2]), images_bytes(2, 1, 4, &[0; 8])).unwrap();
        let err = load_mnist_like(DataName::Mnist, root.path()).unwrap_err().to_string();
        assert!(err.contains("[1, 4]") && err.contains("[2, 2]"), "{err}");
    }
}
