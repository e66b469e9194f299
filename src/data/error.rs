//! The one error type of the data layer.
//!
//! Every variant carries the numbers a user needs to find the fault: the file, the byte
//! offset or line, the value found and the value expected. Messages follow one form:
//! lowercase, the file first, the bad value quoted, then what was expected and, where the
//! cause is guessable, a hint.
//!
//! Byte offsets in a gzipped file count bytes of the decompressed stream, since that is
//! where the format lives.

use std::path::PathBuf;

/// What went wrong while reading, checking or fetching a data set.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },

    /// A file that a data set needs is not in the data folder.
    #[error(
        "{name}: file {path:?} not found\n\
         hint: run `ilnet data fetch {name}`, or put the files there by hand"
    )]
    MissingFile {
        /// The data set, in its kebab-case name.
        name: String,
        /// The path looked for (`[.gz]` marks an optional suffix).
        path: PathBuf,
    },

    /// A file starts with the gzip magic but does not decompress.
    #[error("{file}: not a valid gzip stream: {reason}\nhint: the download may be incomplete")]
    Gzip {
        /// The file.
        file: String,
        /// The decoder's reason.
        reason: String,
    },

    /// An IDX file does not start with the magic number expected.
    #[error(
        "{file}: bad magic 0x{found:08x} at byte 0, expected 0x{expected:08x} ({what})\n\
         hint: images and labels files may be swapped, or this is not an IDX file"
    )]
    IdxMagic {
        /// The file.
        file: String,
        /// The first four bytes, big-endian.
        found: u32,
        /// The magic expected.
        expected: u32,
        /// What the expected magic stands for.
        what: &'static str,
    },

    /// A file ends before the header, the data or a record does.
    #[error(
        "{file}: {what} at byte {offset} is truncated: expected {expected} bytes, found {found}\n\
         hint: the file may be cut short by an interrupted download"
    )]
    Truncated {
        /// The file.
        file: String,
        /// What was being read (`header`, `pixel data`, ...).
        what: &'static str,
        /// The byte where the part starts.
        offset: u64,
        /// Bytes the part needs.
        expected: u64,
        /// Bytes present.
        found: u64,
    },

    /// A file has bytes after the data its header announces.
    #[error(
        "{file}: {extra} unexpected trailing bytes from byte {offset}: the header announces \
         {offset} bytes in all"
    )]
    TrailingBytes {
        /// The file.
        file: String,
        /// Where the data announced by the header ends.
        offset: u64,
        /// Bytes past that point.
        extra: u64,
    },

    /// The sizes in an IDX header multiply to more than memory can address.
    #[error("{file}: dimensions {dims:?} in the header are too large to hold in memory")]
    TooLarge {
        /// The file.
        file: String,
        /// The dimensions read.
        dims: Vec<u32>,
    },

    /// An images file and its labels file disagree on the number of samples.
    #[error(
        "{images_file} holds {images} images but {labels_file} holds {labels} labels, \
         expected equal counts\nhint: the two files may come from different splits"
    )]
    CountMismatch {
        /// The images file.
        images_file: String,
        /// Images in it.
        images: usize,
        /// The labels file.
        labels_file: String,
        /// Labels in it.
        labels: usize,
    },

    /// A label is not one of the data set's classes.
    #[error(
        "{file}: label {label} at byte {offset} (sample {sample}) is out of range, \
         expected 0..={max}",
        max = classes - 1
    )]
    LabelOutOfRange {
        /// The file.
        file: String,
        /// The byte where the label sits.
        offset: u64,
        /// The sample's index in the file.
        sample: usize,
        /// The label read.
        label: u32,
        /// The number of classes (labels run 0..classes).
        classes: usize,
    },

    /// Two files of one data set disagree on the image shape.
    #[error("{file}: images are {found:?}, expected {expected:?} like the other files")]
    ShapeMismatch {
        /// The file.
        file: String,
        /// Rows and columns found.
        found: Vec<usize>,
        /// Rows and columns expected.
        expected: Vec<usize>,
    },

    /// A CIFAR-10 file is not a whole number of records.
    #[error(
        "{file}: length {len} is not a multiple of the {record}-byte record: \
         the record at byte {offset} is cut short\n\
         hint: expected the CIFAR-10 binary version (1 label byte + 3072 pixel bytes)"
    )]
    CifarLength {
        /// The file.
        file: String,
        /// Its length in bytes.
        len: u64,
        /// The record size, 3073.
        record: u64,
        /// Where the partial record starts.
        offset: u64,
    },

    /// A file holds no samples at all.
    #[error("{file}: no samples, expected at least one")]
    Empty {
        /// The file.
        file: String,
    },

    /// A CSV file is malformed at the level of the CSV syntax itself.
    #[error("{file}:{line}: {reason}")]
    Csv {
        /// The file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// The CSV reader's reason.
        reason: String,
    },

    /// A CSV row has a different number of cells than the header.
    #[error("{file}:{line}: row has {found} cells, expected {expected} like the header")]
    Ragged {
        /// The file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// Cells in the header.
        expected: usize,
        /// Cells in the row.
        found: usize,
    },

    /// A cell of a numeric column is not a finite number.
    #[error(
        "{file}:{line}: column {column:?} has value {value:?}, expected a finite number\n\
         hint: missing values are written as an empty cell, `NA`, `NaN` or `?`; \
         a column of labels can be declared categorical"
    )]
    BadNumber {
        /// The file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// The column's header name.
        column: String,
        /// The cell as written.
        value: String,
    },

    /// A categorical cell holds a value the training file did not have.
    #[error(
        "{file}:{line}: column {column:?} has value {value:?}, expected one of {known:?} \
         (the categories of the training file)"
    )]
    UnknownCategory {
        /// The file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// The column's header name.
        column: String,
        /// The cell as written.
        value: String,
        /// The categories learned from the training file.
        known: Vec<String>,
    },

    /// The target cell of a row is missing.
    #[error(
        "{file}:{line}: target column {column:?} is missing (value {value:?})\n\
         hint: set `drop_missing_target` to drop such rows"
    )]
    MissingTarget {
        /// The file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// The target column.
        column: String,
        /// The cell as written.
        value: String,
    },

    /// A column named in the spec is not in the header.
    #[error("{file}: no column named {column:?}, expected one of {columns:?}")]
    NoColumn {
        /// The file.
        file: String,
        /// The name asked for.
        column: String,
        /// The header's names.
        columns: Vec<String>,
    },

    /// Two files meant to share a schema have different headers.
    #[error("{file}: header {found:?} differs from the training file's {expected:?}")]
    HeaderMismatch {
        /// The file.
        file: String,
        /// Its header.
        found: Vec<String>,
        /// The training file's header.
        expected: Vec<String>,
    },

    /// A feature has no observed value in the data a standardiser is fitted on.
    #[error(
        "feature {column:?} (index {index}) has no observed value in {dataset:?}, \
         expected at least one to estimate its mean\nhint: drop the column"
    )]
    NoObservedValue {
        /// The data set fitted on.
        dataset: String,
        /// The feature's index.
        index: usize,
        /// The feature's name.
        column: String,
    },

    /// A standardiser is applied to data of another width.
    #[error("standardizer fitted on {fitted} features, applied to {dataset:?} with {found}")]
    WidthMismatch {
        /// The data set it is applied to.
        dataset: String,
        /// Features at fit time.
        fitted: usize,
        /// Features now.
        found: usize,
    },

    /// A split fraction outside the open interval that leaves both parts non-empty.
    #[error(
        "{what} fraction {fraction} of {n} samples leaves a part empty, \
         expected a value in (0, 1) that puts at least one sample in each part"
    )]
    BadFraction {
        /// Which fraction (`validation`, `test`).
        what: &'static str,
        /// The fraction given.
        fraction: f64,
        /// The samples to split.
        n: usize,
    },

    /// An unknown data set name.
    #[error("unknown data set {name:?}, expected one of: {valid}")]
    UnknownName {
        /// The name given.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },

    /// A download failed (no network, refused, HTTP error).
    #[error(
        "cannot download {url}: {reason}\n\
         hint: without network, put the files {files} into {dir} by hand, \
         or point `ilnet data fetch {name} --from PATH` at a local copy"
    )]
    Download {
        /// The data set.
        name: String,
        /// The address tried.
        url: String,
        /// The transport's reason.
        reason: String,
        /// The file names expected, comma-separated.
        files: String,
        /// The folder they belong in.
        dir: PathBuf,
    },

    /// A file's checksum is not the published one.
    #[error(
        "{file}: sha256 {found} differs from the published {expected}\n\
         hint: the download is corrupt or the mirror changed; delete the file and fetch again"
    )]
    Checksum {
        /// The file.
        file: String,
        /// The digest computed.
        found: String,
        /// The digest expected.
        expected: String,
    },

    /// A `--from` source lacks some of the files needed.
    #[error(
        "{path}: {name} files {missing} not found in it\n\
         hint: give a folder holding the files (gzipped or raw) or a tarball containing them"
    )]
    IncompleteSource {
        /// The data set.
        name: String,
        /// The source given.
        path: PathBuf,
        /// The file names missing, comma-separated.
        missing: String,
    },

    /// A data set that ships inside the binary was asked to be fetched.
    #[error("{name} is embedded in ilnet; there is nothing to fetch")]
    Embedded {
        /// The data set.
        name: String,
    },
}

impl DataError {
    /// An [`DataError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }
}
