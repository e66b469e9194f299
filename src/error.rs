//! The engine's typed errors.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The quantity in which a NaN or an infinity appeared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quantity {
    /// The training loss of the feed-forward pass.
    Loss,
    /// A feed-forward activity `h_l`.
    Activity,
    /// An inferred activity `ĥ_l`.
    InferredActivity,
    /// The free energy during inference.
    Energy,
    /// A weight or bias update `Δθ`.
    Update,
    /// A weight after the update.
    Weights,
    /// A bias after the update.
    Bias,
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Quantity::Loss => "loss",
            Quantity::Activity => "activity",
            Quantity::InferredActivity => "inferred activity",
            Quantity::Energy => "free energy",
            Quantity::Update => "update",
            Quantity::Weights => "weights",
            Quantity::Bias => "bias",
        })
    }
}

/// A NaN or infinity detected in a training step. The network keeps the parameters it had
/// before that step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("non-finite {quantity} at step {step}, layer {layer}")]
pub struct NonFinite {
    /// The step (counted from 1) in which the value appeared.
    pub step: u64,
    /// The layer index `l` (activities) or weight layer `l` (`W_l`, `b_l`).
    pub layer: usize,
    pub quantity: Quantity,
}

impl NonFinite {
    pub(crate) fn at(layer: usize, quantity: Quantity) -> Self {
        NonFinite { step: 0, layer, quantity }
    }
}
