//! ilnet: inference learning and backpropagation on one model definition.
#![forbid(unsafe_code)]

pub mod algo;
pub mod bench;
pub mod data;
pub mod error;
pub mod implicit;
pub mod inference;
pub mod learn;
pub mod linalg;
pub mod missing;
pub mod model;
pub mod report;
