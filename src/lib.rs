//! ilnet: inference learning and backpropagation on one model definition.
#![forbid(unsafe_code)]
// Numeric loops index several arrays with one layer or sample index; iterator chains over
// four zipped slices read worse than the index they replace.
#![allow(clippy::needless_range_loop)]

pub mod algo;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod implicit;
pub mod inference;
pub mod inputs;
pub mod learn;
pub mod linalg;
pub mod missing;
pub mod model;
pub mod report;
pub mod run;
pub mod sweep;
