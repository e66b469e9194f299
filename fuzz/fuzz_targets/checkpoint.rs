//! The checkpoint readers must return `Ok` or an error for any bytes: `state.json` and the
//! tensors of `model.safetensors`, for a fixed small architecture.
#![no_main]

use std::path::Path;

use ilnet::checkpoint::{parse_state, read_tensors};
use ilnet::model::{Activation, Architecture, Head, Network};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz");
    let _ = parse_state(data, path);
    let arch = Architecture::new(vec![3, 2, 2], Activation::Relu, Head::SoftmaxCe);
    let net = Network::<f32>::new(arch, 0);
    let mut w: Vec<_> = net.layers.iter().map(|d| d.w.clone()).collect();
    let mut b: Vec<_> = net.layers.iter().map(|d| d.b.clone()).collect();
    if read_tensors(data, path, "", &mut w, &mut b).is_ok() {
        assert!(w.iter().zip(&net.layers).all(|(m, d)| m.rows() == d.w.rows() && m.cols() == d.w.cols()));
        assert!(w.iter().all(|m| m.as_slice().iter().all(|v| v.is_finite())));
    }
});
