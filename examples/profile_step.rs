//! Runs one benchmark case for a while, for profiling: `cargo run --release --example
//! profile_step -- il-prox 1 [seconds] [threads]`. Prints the benchmark row; at batch 64 on
//! one thread `il-prox` should do several thousand samples per second.

use std::time::Duration;

use ilnet::bench;
use ilnet::linalg::Threads;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let algorithm = args.get(1).map_or("il-prox", String::as_str).parse().expect("algorithm");
    let batch = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1);
    let secs = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(3.0);
    let threads = Threads(args.get(4).and_then(|v| v.parse().ok()).unwrap_or(1));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.0).build().expect("thread pool");
    let row = pool.install(|| {
        let sizes = [784, 256, 256, 10];
        bench::bench_step(&sizes, algorithm, batch, threads, Duration::from_secs_f64(secs))
    });
    println!("{row:?}");
}
