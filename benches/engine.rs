//! `cargo bench`: the standard throughput table (see `ilnet::bench`).

use std::time::Duration;

use ilnet::bench;
use ilnet::linalg::Threads;

fn main() {
    let threads = std::env::var("ILNET_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let threads = Threads(threads);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.0).build().expect("thread pool");
    pool.install(|| {
        let budget = Duration::from_millis(1500);
        let ceiling = bench::gemm_ceiling(1024, threads, Duration::from_millis(500));
        let rows = bench::standard(threads, budget);
        print!("{}", bench::format_table(&rows, ceiling));
    });
}
