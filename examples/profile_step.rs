//! Runs one benchmark case for a while, for profiling: `cargo run --release --example
//! profile_step -- il-prox 1 [seconds]`.

use std::time::Duration;

use ilnet::bench;
use ilnet::linalg::Threads;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let algorithm = args.get(1).map_or("il-prox", String::as_str).parse().expect("algorithm");
    let batch = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1);
    let secs = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(3.0);
    let row = bench::bench_step(
        &[784, 256, 256, 10],
        algorithm,
        batch,
        Threads(1),
        Duration::from_secs_f64(secs),
    );
    println!("{row:?}");
}
