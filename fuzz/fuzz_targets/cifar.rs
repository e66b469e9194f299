//! The CIFAR-10 batch reader must return `Ok` or an error for any bytes, and an `Ok` must
//! hold one label below 10 and 3072 pixels per record.
#![no_main]

use ilnet::data::cifar::{PIXELS, parse_batch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = parse_batch(data, "fuzz") {
        assert_eq!(b.pixels.len(), b.labels.len() * PIXELS);
        assert!(b.labels.iter().all(|&l| l < 10));
    }
});
