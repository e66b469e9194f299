//! The binary version of CIFAR-10 and its loader.
//!
//! A batch file is a sequence of 3073-byte records: one label byte (`0..=9`), then 3072
//! pixel bytes of a 32x32 colour image: 1024 red, then 1024 green, then 1024 blue, each
//! plane row-major. Features keep this channel-planar order and are scaled to `[0, 1]` by
//! `x / 255`.
//!
//! The training set is `data_batch_1.bin` .. `data_batch_5.bin` (10000 records each), the
//! test set `test_batch.bin`, in `root/cifar10/` or in the archive's own sub-folder
//! `root/cifar10/cifar-10-batches-bin/`.

use std::path::{Path, PathBuf};

use super::{DataError, DataName, Dataset, Split, Target};

/// Bytes per image: 3 channels of 32x32.
pub const PIXELS: usize = 3 * 32 * 32;
/// Bytes per record: the label byte, then the pixels.
pub const RECORD: usize = 1 + PIXELS;
/// Classes in CIFAR-10.
pub const CLASSES: usize = 10;
/// The sub-folder the official archive unpacks into.
pub const ARCHIVE_DIR: &str = "cifar-10-batches-bin";
/// The training batches, then the test batch.
pub const FILES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];

/// Records of one batch file: labels and raw pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CifarBatch {
    /// One label per record, in `0..10`.
    pub labels: Vec<u32>,
    /// `labels.len() * 3072` bytes, record-major, channel-planar within a record.
    pub pixels: Vec<u8>,
}

/// Parses one batch file's bytes; `file` names it in errors.
pub fn parse_batch(bytes: &[u8], file: &str) -> Result<CifarBatch, DataError> {
    if bytes.is_empty() {
        return Err(DataError::Empty { file: file.to_string() });
    }
    if bytes.len() % RECORD != 0 {
        return Err(DataError::CifarLength {
            file: file.to_string(),
            len: bytes.len() as u64,
            record: RECORD as u64,
            offset: (bytes.len() / RECORD * RECORD) as u64,
        });
    }
    let count = bytes.len() / RECORD;
    let mut labels = Vec::with_capacity(count);
    let mut pixels = Vec::with_capacity(count * PIXELS);
    for (sample, record) in bytes.chunks_exact(RECORD).enumerate() {
        let label = record[0];
        if label as usize >= CLASSES {
            return Err(DataError::LabelOutOfRange {
                file: file.to_string(),
                offset: (sample * RECORD) as u64,
                sample,
                label: u32::from(label),
                classes: CLASSES,
            });
        }
        labels.push(u32::from(label));
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(CifarBatch { labels, pixels })
}

/// Reads and parses one batch file.
pub fn read_batch(path: &Path) -> Result<CifarBatch, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_batch(&bytes, &path.display().to_string())
}

/// The folder under `root` that holds the batch files: `root/cifar10/` or its archive
/// sub-folder, whichever has `test_batch.bin`.
pub(crate) fn batch_dir(root: &Path) -> Result<PathBuf, DataError> {
    let dir = root.join(DataName::Cifar10.as_str());
    let nested = dir.join(ARCHIVE_DIR);
    [dir.clone(), nested].into_iter().find(|d| d.join(FILES[5]).is_file()).ok_or_else(|| {
        DataError::MissingFile { name: DataName::Cifar10.to_string(), path: dir.join(FILES[5]) }
    })
}

/// Concatenates batches into a [`Dataset`] with pixels scaled to `[0, 1]`.
fn to_dataset(name: &str, batches: Vec<CifarBatch>) -> Dataset {
    let mut labels = Vec::new();
    let mut x = Vec::new();
    for b in batches {
        labels.extend(b.labels);
        x.extend(b.pixels.iter().map(|&p| f32::from(p) / 255.0));
    }
    let feature_names =
        ["red", "green", "blue"].iter().flat_map(|c| super::pixel_names(c, 32, 32)).collect();
    Dataset {
        name: name.to_string(),
        n: labels.len(),
        x,
        d: PIXELS,
        target: Target::Classes { labels, classes: CLASSES },
        missing: None,
        feature_names,
    }
}

/// Loads CIFAR-10 from `root/cifar10/` (see the module docs for the layout).
pub(crate) fn load(root: &Path) -> Result<Split, DataError> {
    let dir = batch_dir(root)?;
    let read = |file: &str| {
        let path = dir.join(file);
        if !path.is_file() {
            return Err(DataError::MissingFile { name: DataName::Cifar10.to_string(), path });
        }
        read_batch(&path)
    };
    let train = FILES[..5].iter().map(|f| read(f)).collect::<Result<Vec<_>, _>>()?;
    let test = read(FILES[5])?;
    Ok(Split {
        train: to_dataset("cifar10/train", train),
        test: to_dataset("cifar10/test", vec![test]),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::idx::tests::bytes;

    /// `labels.len()` records in the official layout: label byte, then the planes R, G, B.
    pub(crate) fn batch_bytes(labels: &[u8], seed: u64) -> (Vec<u8>, Vec<u8>) {
        let px = bytes(seed, labels.len() * PIXELS);
        let mut out = Vec::new();
        for (i, &l) in labels.iter().enumerate() {
            out.push(l);
            out.extend_from_slice(&px[i * PIXELS..(i + 1) * PIXELS]);
        }
        (out, px)
    }

    /// Writes six batch files into `dir`, `per_file` records each.
    pub(crate) fn write_cifar_dir(dir: &Path, per_file: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        std::fs::create_dir_all(dir).unwrap();
        FILES
            .iter()
            .enumerate()
            .map(|(f, file)| {
                let labels: Vec<u8> = (0..per_file).map(|i| ((i + f) % 10) as u8).collect();
                let (data, px) = batch_bytes(&labels, f as u64);
                std::fs::write(dir.join(file), data).unwrap();
                (labels, px)
            })
            .collect()
    }

    /// Records read back give the labels and pixels written, with the red plane first.
    #[test]
    fn round_trip_batch() {
        for n in [1, 2, 5] {
            let labels: Vec<u8> = (0..n).map(|i| (i * 3 % 10) as u8).collect();
            let (data, px) = batch_bytes(&labels, n as u64);
            let b = parse_batch(&data, "b.bin").unwrap();
            assert_eq!(b.labels, labels.iter().map(|&l| l as u32).collect::<Vec<_>>());
            assert_eq!(b.pixels, px);
            // The first green pixel of record 1 sits 1024 bytes after its first red one.
            if n > 1 {
                assert_eq!(b.pixels[PIXELS + 1024], data[RECORD + 1 + 1024]);
            }
        }
    }

    /// Both folder layouts load, batches are concatenated in order and pixels scaled.
    #[test]
    fn load_both_layouts() {
        for nested in [false, true] {
            let root = tempfile::tempdir().unwrap();
            let mut dir = root.path().join("cifar10");
            if nested {
                dir = dir.join(ARCHIVE_DIR);
            }
            let written = write_cifar_dir(&dir, 3);
            let split = load(root.path()).unwrap();
            assert_eq!((split.train.n, split.train.d, split.test.n), (15, 3072, 3));
            let Target::Classes { labels, .. } = &split.train.target else { panic!() };
            assert_eq!(labels[3..6], written[1].0.iter().map(|&l| l as u32).collect::<Vec<_>>());
            assert_eq!(split.train.sample(4)[1], written[1].1[PIXELS + 1] as f32 / 255.0);
            assert_eq!(split.test.x[5], written[5].1[5] as f32 / 255.0);
            assert_eq!(split.train.feature_names[1024], "green_r0c0");
        }
    }

    /// A cut-short file and a bad label are reported with the file and the offset.
    #[test]
    fn rejects_corrupt_batches() {
        let (data, _) = batch_bytes(&[1, 2, 3], 0);
        let err = parse_batch(&data[..RECORD * 2 + 100], "b.bin").unwrap_err().to_string();
        assert!(err.contains("b.bin: length 6246 is not a multiple of the 3073-byte"), "{err}");
        assert!(err.contains("record at byte 6146"), "{err}");
        let err = parse_batch(&data[..1], "b.bin").unwrap_err().to_string();
        assert!(err.contains("record at byte 0"), "{err}");
        let mut bad = data.clone();
        bad[RECORD * 2] = 10;
        let err = parse_batch(&bad, "b.bin").unwrap_err().to_string();
        assert!(err.contains("b.bin: label 10 at byte 6146 (sample 2)"), "{err}");
        let err = parse_batch(&[], "b.bin").unwrap_err().to_string();
        assert!(err.contains("b.bin: no samples"), "{err}");
    }

    /// A missing batch names the file and hints the fetch command.
    #[test]
    fn missing_batch_hints_fetch() {
        let root = tempfile::tempdir().unwrap();
        let err = load(root.path()).unwrap_err().to_string();
        assert!(
            err.contains("test_batch.bin") && err.contains("ilnet data fetch cifar10"),
            "{err}"
        );
        let dir = root.path().join("cifar10");
        write_cifar_dir(&dir, 1);
        std::fs::remove_file(dir.join(FILES[2])).unwrap();
        let err = load(root.path()).unwrap_err().to_string();
        assert!(err.contains("data_batch_3.bin"), "{err}");
    }
}
