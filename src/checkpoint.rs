//! Checkpoints: the complete training state of a run, written atomically.
//!
//! A checkpoint is a folder `checkpoints/step-NNNNNNNNNN/` in the run folder with
//!
//! - `model.safetensors`: `layers.{l}.weight` (`[n_{l+1}, n_l]`, row-major, the layout of
//!   PyTorch's `Linear`) and `layers.{l}.bias`, f32;
//! - `optimizer.safetensors` (Adam rules only): the moments, `m.layers.{l}.weight`, ...;
//! - `state.json`: the step, Adam's step count, a hash of the config, and the run's
//!   accumulators ([`Progress`]). The data order needs no saved generator state: the
//!   order of epoch `e` is drawn from a stream fixed by the seed and `e`.
//!
//! Writing goes to a hidden temporary folder that is renamed into place, then the file
//! `checkpoints/latest` is replaced (write, then rename) to name it. A run killed at any
//! moment therefore leaves `latest` naming a complete checkpoint.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use crate::learn::{Params, RuleState};
use crate::linalg::Matrix;
use crate::model::Network;

/// The checkpoint format this build writes and reads.
pub const FORMAT: u32 = 1;

/// What a checkpoint could not be read for, with the file and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a safetensors file: {reason}")]
    Safetensors { path: PathBuf, reason: String },
    #[error("{path}: tensor {name}: expected {expected}, found {found}")]
    Tensor { path: PathBuf, name: String, expected: String, found: String },
    #[error("{path}: {reason}")]
    State { path: PathBuf, reason: String },
    #[error(
        "{path}: the checkpoint was made with another config (hash {found}, expected {expected}); \
         resume with the run's own config.toml"
    )]
    ConfigChanged { path: PathBuf, expected: String, found: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io { path: path.to_path_buf(), source }
}

/// Running statistics of a run, saved so that a resumed run reports exactly what an
/// uninterrupted one would.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Sums over the steps since the last evaluation.
    pub interval: Interval,
    /// Update norms over the whole run (Welford's mean and sum of squared deviations).
    pub norm_count: u64,
    pub norm_mean: f64,
    pub norm_m2: f64,
    pub norm_max: f64,
    pub best_accuracy: f64,
    pub best_step: u64,
    pub last_accuracy: f64,
    /// Wall seconds spent before this checkpoint, across resumes.
    pub wall_s: f64,
    /// Inference steps summed over the run (IL), for the mean reported at the end.
    pub inference_steps: u64,
    /// Training samples seen (the last batch of an epoch may be short).
    pub samples: u64,
}

/// Sums over the steps between two evaluations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub steps: u64,
    pub loss: f64,
    pub norm: f64,
    pub norm_weights: f64,
    pub energy_before: f64,
    pub energy_after: f64,
    pub energy_steps: u64,
}

/// `state.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub format: u32,
    /// Steps completed.
    pub step: u64,
    /// Updates Adam has made (its `t`).
    pub adam_t: u64,
    /// sha256 of the resolved config with the step count and output folder left out.
    pub config_hash: String,
    pub progress: Progress,
}

/// A checkpoint in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub net: Network<f32>,
    pub rule: RuleState<f32>,
    pub state: State,
}

fn tensor_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The tensors of `params`-shaped data under `prefix`, weights row-major.
fn named_tensors(
    prefix: &str,
    w: &[Matrix<f32>],
    b: &[Vec<f32>],
) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let mut out = Vec::new();
    for (l, (wl, bl)) in w.iter().zip(b).enumerate() {
        out.push((
            format!("{prefix}layers.{l}.weight"),
            vec![wl.rows(), wl.cols()],
            tensor_bytes(wl.transposed().as_slice()),
        ));
        out.push((format!("{prefix}layers.{l}.bias"), vec![bl.len()], tensor_bytes(bl)));
    }
    out
}

fn serialize(tensors: &[(String, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, shape, bytes)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, shape.clone(), bytes).expect("shape matches bytes"),
            )
        })
        .collect();
    let mut info = HashMap::new();
    info.insert("format".to_string(), "ilnet".to_string());
    safetensors::serialize(views, Some(info)).expect("in-memory tensors serialise")
}

/// Writes `bytes` to `path` and flushes it to disk.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let mut f = fs::File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// The folder name of the checkpoint after `step` steps.
pub fn folder_name(step: u64) -> String {
    format!("step-{step:010}")
}

/// Saves a checkpoint into `run_dir/checkpoints/`, atomically, and keeps the newest two.
pub fn save(run_dir: &Path, ck: &Checkpoint) -> Result<PathBuf, CheckpointError> {
    let root = run_dir.join("checkpoints");
    fs::create_dir_all(&root).map_err(io(&root))?;
    let name = folder_name(ck.state.step);
    let tmp = root.join(format!(".tmp-{name}"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io(&tmp))?;

    let w: Vec<_> = ck.net.layers.iter().map(|d| d.w.clone()).collect();
    let b: Vec<_> = ck.net.layers.iter().map(|d| d.b.clone()).collect();
    write_synced(&tmp.join("model.safetensors"), &serialize(&named_tensors("", &w, &b)))?;
    if let (Some(m), Some(v)) = (&ck.rule.m, &ck.rule.v) {
        let mut t = named_tensors("m.", &m.w, &m.b);
        t.extend(named_tensors("v.", &v.w, &v.b));
        write_synced(&tmp.join("optimizer.safetensors"), &serialize(&t))?;
    }
    let state = serde_json::to_vec_pretty(&ck.state).expect("state serialises");
    write_synced(&tmp.join("state.json"), &state)?;

    let dest = root.join(&name);
    if dest.exists() {
        fs::remove_dir_all(&dest).map_err(io(&dest))?;
    }
    fs::rename(&tmp, &dest).map_err(io(&dest))?;
    let latest_tmp = root.join(".latest.tmp");
    write_synced(&latest_tmp, name.as_bytes())?;
    let latest = root.join("latest");
    fs::rename(&latest_tmp, &latest).map_err(io(&latest))?;
    if let Ok(d) = fs::File::open(&root) {
        let _ = d.sync_all();
    }

    // Keep the newest two complete checkpoints.
    let mut old: Vec<PathBuf> = fs::read_dir(&root)
        .map_err(io(&root))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("step-")))
        .collect();
    old.sort();
    for p in old.iter().rev().skip(2) {
        let _ = fs::remove_dir_all(p);
    }
    Ok(dest)
}

/// The checkpoint `checkpoints/latest` names, if there is one.
pub fn latest(run_dir: &Path) -> Result<Option<PathBuf>, CheckpointError> {
    let latest = run_dir.join("checkpoints").join("latest");
    if !latest.exists() {
        return Ok(None);
    }
    let name = fs::read_to_string(&latest).map_err(io(&latest))?;
    let name = name.trim();
    if !name.starts_with("step-") || name.contains(['/', '\\']) {
        return Err(CheckpointError::State {
            path: latest,
            reason: format!("names {name:?}, expected a folder step-NNNNNNNNNN"),
        });
    }
    Ok(Some(run_dir.join("checkpoints").join(name)))
}

/// Loads the checkpoint in `dir` for a network shaped like `template`, checking every
/// tensor's name, type and shape, and the config hash.
pub fn load(
    dir: &Path,
    template: &Network<f32>,
    config_hash: &str,
) -> Result<Checkpoint, CheckpointError> {
    let state_path = dir.join("state.json");
    let state_bytes = fs::read(&state_path).map_err(io(&state_path))?;
    let state = parse_state(&state_bytes, &state_path)?;
    if state.config_hash != config_hash {
        return Err(CheckpointError::ConfigChanged {
            path: state_path,
            expected: config_hash.to_string(),
            found: state.config_hash,
        });
    }
    let model_path = dir.join("model.safetensors");
    let bytes = fs::read(&model_path).map_err(io(&model_path))?;
    let mut net = template.clone();
    {
        let mut w: Vec<_> = net.layers.iter().map(|d| d.w.clone()).collect();
        let mut b: Vec<_> = net.layers.iter().map(|d| d.b.clone()).collect();
        read_tensors(&bytes, &model_path, "", &mut w, &mut b)?;
        for (d, (wl, bl)) in net.layers.iter_mut().zip(w.into_iter().zip(b)) {
            d.w = wl;
            d.b = bl;
        }
    }
    let mut rule = RuleState { m: None, v: None, t: state.adam_t };
    let opt_path = dir.join("optimizer.safetensors");
    if opt_path.exists() {
        let bytes = fs::read(&opt_path).map_err(io(&opt_path))?;
        let mut m = Params::zeros_like(&net);
        let mut v = Params::zeros_like(&net);
        read_tensors(&bytes, &opt_path, "m.", &mut m.w, &mut m.b)?;
        read_tensors(&bytes, &opt_path, "v.", &mut v.w, &mut v.b)?;
        rule.m = Some(m);
        rule.v = Some(v);
    }
    Ok(Checkpoint { net, rule, state })
}

/// Parses `state.json`.
pub fn parse_state(bytes: &[u8], path: &Path) -> Result<State, CheckpointError> {
    let state: State = serde_json::from_slice(bytes).map_err(|e| CheckpointError::State {
        path: path.to_path_buf(),
        reason: format!("line {}, column {}: {e}", e.line(), e.column()),
    })?;
    if state.format != FORMAT {
        return Err(CheckpointError::State {
            path: path.to_path_buf(),
            reason: format!("format {} is not supported; expected {FORMAT}", state.format),
        });
    }
    Ok(state)
}

/// Fills `w` and `b` (whose shapes are the expected ones) from the tensors under `prefix`.
pub fn read_tensors(
    bytes: &[u8],
    path: &Path,
    prefix: &str,
    w: &mut [Matrix<f32>],
    b: &mut [Vec<f32>],
) -> Result<(), CheckpointError> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::Safetensors {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    for l in 0..w.len() {
        let (rows, cols) = (w[l].rows(), w[l].cols());
        let name = format!("{prefix}layers.{l}.weight");
        let data = tensor_f32(&st, path, &name, &[rows, cols])?;
        // Stored row-major [rows, cols]: that is the column-major layout of the transpose.
        w[l] = Matrix::from_col_major(cols, rows, data).transposed();
        let name = format!("{prefix}layers.{l}.bias");
        b[l] = tensor_f32(&st, path, &name, &[b[l].len()])?;
    }
    Ok(())
}

fn tensor_f32(
    st: &SafeTensors<'_>,
    path: &Path,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f32>, CheckpointError> {
    let err = |expected: String, found: String| CheckpointError::Tensor {
        path: path.to_path_buf(),
        name: name.to_string(),
        expected,
        found,
    };
    let t = st.tensor(name).map_err(|_| err("present".into(), "nothing".into()))?;
    if t.dtype() != Dtype::F32 {
        return Err(err("dtype F32".into(), format!("{:?}", t.dtype())));
    }
    if t.shape() != shape {
        return Err(err(format!("shape {shape:?}"), format!("{:?}", t.shape())));
    }
    let data: Vec<f32> =
        t.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    if let Some(k) = data.iter().position(|v| !v.is_finite()) {
        return Err(err("finite values".into(), format!("{} at index {k}", data[k])));
    }
    Ok(data)
}
