//! bench_poll: what `Traced` adds to a poll, in figures (no pass/fail).
//!
//!   1. A future polled directly in a loop, against the same future
//!      wrapped in `tasktrace::traced` (the executor waker unchanged from
//!      poll to poll, the common case): ns per poll, and the difference.
//!   2. The same on tokio's multi-thread runtime: a task that yields N
//!      times (`tokio::task::yield_now`), spawned plain and traced: ns per
//!      poll of the whole scheduler round trip.
//!
//! Each figure is the best of several rounds.  Usage:
//!   bench_poll [--polls N] [--rounds R]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

/// Hides a value from the optimizer (std::hint::black_box is newer than
/// the crate's minimum Rust).
fn black_box<T>(x: T) -> T {
    /* Safety: reads a valid, initialized T; the original is forgotten, so
     * the value is neither duplicated nor dropped twice. */
    unsafe {
        let r = std::ptr::read_volatile(&x);
        std::mem::forget(x);
        r
    }
}

struct NoWake;
impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

/// Pending with its waker cloned every `n`th poll (as a leaf re-registers),
/// else pending untouched, like a leaf whose waker did not change.
struct Leaf {
    polls: u64,
    kept: Option<Waker>,
}

impl Future for Leaf {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls += 1;
        let same = matches!(&self.kept, Some(w) if w.will_wake(cx.waker()));
        if !same {
            self.kept = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

fn per_poll<F: Future + Unpin>(f: &mut F, polls: u64, rounds: u32) -> f64 {
    let waker = Waker::from(Arc::new(NoWake));
    let mut cx = Context::from_waker(&waker);
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..polls {
            let _ = black_box(Pin::new(&mut *f).poll(&mut cx));
        }
        best = best.min(t.elapsed().as_nanos() as f64 / polls as f64);
    }
    best
}

fn tokio_per_poll(traced: bool, polls: u64, rounds: u32) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let work = async move {
            for _ in 0..polls {
                tokio::task::yield_now().await;
            }
        };
        let t = Instant::now();
        if traced {
            rt.block_on(rt.spawn(tasktrace::traced("bench", work))).expect("task");
        } else {
            rt.block_on(rt.spawn(work)).expect("task");
        }
        best = best.min(t.elapsed().as_nanos() as f64 / polls as f64);
    }
    best
}

fn main() {
    let mut polls: u64 = 2_000_000;
    let mut rounds: u32 = 5;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().and_then(|v| v.parse::<u64>().ok());
        match (a.as_str(), v) {
            ("--polls", Some(v)) if v > 0 => polls = v,
            ("--rounds", Some(v)) if v > 0 && v < 1000 => rounds = v as u32,
            _ => {
                eprintln!("usage: bench_poll [--polls N] [--rounds R]");
                std::process::exit(64);
            }
        }
    }
    let mut plain = Leaf { polls: 0, kept: None };
    let mut traced = tasktrace::traced("bench", Leaf { polls: 0, kept: None });
    let p = per_poll(&mut plain, polls, rounds);
    let t = per_poll(&mut traced, polls, rounds);
    println!("poll, plain future:           {:8.1} ns", p);
    println!("poll, traced future:          {:8.1} ns", t);
    println!("Traced adds per poll:         {:8.1} ns", t - p);
    let tp = polls / 10;
    let a = tokio_per_poll(false, tp, rounds);
    let b = tokio_per_poll(true, tp, rounds);
    println!("tokio yield round trip, plain:  {:8.1} ns/poll", a);
    println!("tokio yield round trip, traced: {:8.1} ns/poll", b);
    println!("Traced adds per tokio poll:     {:8.1} ns", b - a);
}
