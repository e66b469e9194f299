//! ilnet: inference learning and backpropagation on one model definition.
#![forbid(unsafe_code)]

pub mod data;
pub mod report;
