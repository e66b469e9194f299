//! `cargo bench`: the standard throughput table (see `ilnet::bench`).
//!
//! Runs on every core unless `ILNET_THREADS` says how many threads to use.

use std::time::Duration;

use ilnet::bench;
use ilnet::linalg::Threads;

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = std::env::var("ILNET_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(cores);
    let threads = Threads(threads);
    println!("threads: {} ({cores} cores; set ILNET_THREADS to change)", threads.0);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.0).build().expect("thread pool");
    pool.install(|| {
        let budget = Duration::from_millis(1500);
        let ceiling = bench::gemm_ceiling(1024, threads, Duration::from_millis(500));
        let rows = bench::standard(threads, budget);
        print!("{}", bench::format_table(&rows, ceiling));
    });
}
