//! The inference loop allocates nothing per step: every buffer is made once and reused.
//!
//! A counting global allocator wraps the system one; the test warms the buffers up with one
//! step, then counts allocations over further steps. Only allocations made on the test's
//! own thread count: the test harness allocates on its threads at any moment (output
//! capture), and the steps measured here run on one thread (`Threads(1)`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use ilnet::algo::{Algorithm, Hyper, Trainer};
use ilnet::inference::Relaxation;
use ilnet::linalg::{Matrix, Threads};
use ilnet::model::{Activation, Architecture, Head, Network, one_hot};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the measuring thread; a const-initialised `Cell` needs no allocation to read.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// GlobalAlloc contract; the counter is a relaxed atomic and touches no allocated memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Relaxations and whole IL steps at batch 1 and 64 on the paper's MNIST network allocate
/// nothing once their buffers exist, including when the batch shrinks (a last partial batch).
#[test]
fn inference_and_il_steps_allocate_nothing() {
    COUNTING.with(|c| c.set(true));
    // The counter must see an allocation, or a zero below would prove nothing.
    let before = allocations();
    let probe = std::hint::black_box(vec![0u8; 64]);
    assert!(allocations() > before && probe.len() == 64, "the counting allocator is not active");
    let arch = Architecture::new(vec![784, 256, 256, 10], Activation::Relu, Head::SoftmaxCe);
    for algorithm in [Algorithm::IlProx, Algorithm::IlSgd, Algorithm::IlAdam, Algorithm::IlProxAdam]
    {
        for batch in [1usize, 64] {
            let mut net = Network::<f32>::new(arch.clone(), 1);
            let x = Matrix::from_fn(784, batch, |i, j| ((i * 31 + j * 7) % 255) as f32 / 255.0);
            let labels: Vec<u32> = (0..batch as u32).map(|j| j % 10).collect();
            let y = one_hot(&labels, 10);
            let algo = algorithm.resolve::<f32>(&Hyper::default(), Head::SoftmaxCe).unwrap();
            let mut tr = Trainer::new(&net, algo, batch, Threads::single());
            tr.step(&mut net, &x, &y).unwrap();

            let before = allocations();
            for _ in 0..5 {
                tr.step(&mut net, &x, &y).unwrap();
            }
            let used = allocations() - before;
            assert_eq!(used, 0, "{algorithm} at batch {batch}: {used} allocations in 5 steps");
        }
    }

    // The relaxation alone, with a smaller batch after a larger one.
    let net = Network::<f32>::new(arch, 2);
    let cfg = match Algorithm::IlProx
        .resolve::<f32>(&Hyper::default(), Head::SoftmaxCe)
        .unwrap()
        .method
    {
        ilnet::algo::Method::Inference(cfg) => cfg,
        _ => unreachable!(),
    };
    let mut r = Relaxation::new(&net, 8);
    let x8 = Matrix::from_fn(784, 8, |i, j| ((i + j) % 7) as f32 / 7.0);
    let y8 = one_hot(&[0, 1, 2, 3, 4, 5, 6, 7], 10);
    let x3 = Matrix::from_fn(784, 3, |i, j| ((i + 2 * j) % 5) as f32 / 5.0);
    let y3 = one_hot(&[9, 8, 7], 10);
    r.feed_forward(&net, &x8, Threads::single());
    r.relax(&net, &y8, &cfg, Threads::single()).unwrap();
    let before = allocations();
    r.feed_forward(&net, &x3, Threads::single());
    r.relax(&net, &y3, &cfg, Threads::single()).unwrap();
    r.feed_forward(&net, &x8, Threads::single());
    r.relax(&net, &y8, &cfg, Threads::single()).unwrap();
    assert_eq!(allocations() - before, 0, "relaxation allocated after warm-up");
}
