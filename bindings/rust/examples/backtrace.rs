//! backtrace: the task tree of the README, printed by the program itself.
//!
//!   foo -> bar -> join! -+- fiz -> Pending
//!                        +- buz -> baz -> Pending
//!
//! taskdump.rs with `traced_with_handle` in place of `traced`: once both
//! leaves have been polled, another task awaits `handle.backtrace()` and
//! prints the tree, symbolized in the process; then the program exits.
//!
//!   backtrace                  tokio's multi-thread runtime
//!   backtrace --current-thread the single-threaded runtime: the task
//!                              asking and the task traced share a thread
//!   backtrace --raw            also prints the raw dump of the process
//!                              (tasktrace::dump_raw), one JSON line
//!   backtrace --blocking       the main thread, which polls no task,
//!                              takes the trace with backtrace_blocking
//!
//! Exit status 0, or 1 with the error on stderr.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Leaves polled at least once.
static POLLED: AtomicUsize = AtomicUsize::new(0);

/// A leaf future: keeps a clone of its waker, as every leaf that waits
/// does, and never completes.
struct Pending {
    waker: Option<Waker>,
}

impl Future for Pending {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let same = matches!(&self.waker, Some(w) if w.will_wake(cx.waker()));
        if !same {
            if self.waker.is_none() {
                POLLED.fetch_add(1, Ordering::SeqCst);
            }
            self.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

async fn baz() {
    Pending { waker: None }.await
}

async fn buz() {
    baz().await
}

async fn fiz() {
    Pending { waker: None }.await
}

async fn bar() {
    tokio::join!(fiz(), buz());
}

async fn foo() {
    bar().await
}

fn fail(what: &str, e: tasktrace::DumpError) -> ! {
    eprintln!("backtrace: {}: {}", what, e);
    std::process::exit(1);
}

async fn run(raw: bool) {
    let (task, handle) = tasktrace::traced_with_handle("foo", foo());
    tokio::spawn(task);
    while POLLED.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    /* From another task, untraced, as a debugging endpoint would. */
    let h = handle.clone();
    let trace = tokio::spawn(async move { h.backtrace().await })
        .await
        .expect("the task asking for the trace");
    match trace {
        Ok(t) => print!("{}", t),
        Err(e) => fail("foo's trace", e),
    }
    if raw {
        match tasktrace::dump_raw().await {
            Ok(d) => print!("{}", d.json()),
            Err(e) => fail("raw dump", e),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |a: &str| args.iter().any(|x| x == a);
    if let Some(bad) = args
        .iter()
        .find(|a| !["--current-thread", "--raw", "--blocking"].contains(&a.as_str()))
    {
        eprintln!("usage: backtrace [--current-thread] [--raw] [--blocking] (not {})", bad);
        std::process::exit(64);
    }
    let rt = if has("--current-thread") {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    }
    .expect("tokio runtime");
    if has("--blocking") {
        let (task, handle) = tasktrace::traced_with_handle("foo", foo());
        rt.spawn(task);
        while POLLED.load(Ordering::SeqCst) < 2 {
            std::thread::sleep(Duration::from_millis(5));
        }
        match handle.backtrace_blocking(tasktrace::DEFAULT_TIMEOUT) {
            Ok(t) => print!("{}", t),
            Err(e) => fail("foo's trace", e),
        }
        return;
    }
    rt.block_on(run(has("--raw")));
}
