//! The IDX readers must return `Ok` or an error for any bytes, raw or gzipped, and an `Ok`
//! must describe exactly the bytes it holds.
#![no_main]

use ilnet::data::idx::{parse_images, parse_labels};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = parse_images(data, "fuzz") {
        assert_eq!(img.pixels.len(), img.count * img.rows * img.cols);
    }
    if let Ok(labels) = parse_labels(data, "fuzz", 10) {
        assert!(labels.iter().all(|&l| l < 10));
    }
});
