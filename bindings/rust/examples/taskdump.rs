//! taskdump: the task tree of the README, as a tokio program, waiting
//! forever to be dumped.
//!
//!   foo -> bar -> join! -+- fiz -> Pending
//!                        +- buz -> baz -> Pending
//!
//! One traced task on tokio's multi-thread runtime; each branch ends in a
//! `Pending` leaf that keeps a clone of its waker and never completes.
//! Prints "pid <PID>" once both leaves have been polled, then runs until
//! killed.
//!
//! With `--panic-first`, a traced task panics (tokio catches it) before
//! the task is spawned: with RUST_BACKTRACE=1 the panic's backtrace, whose
//! frames pass through libtargetrt, makes the standard library map the
//! program and libtargetrt.so a second time, whole, as in a service that
//! once printed a panic; the tool must still find its modules and the
//! control block.

use std::future::Future;
use std::io::Write;
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().skip(1).any(|a| a == "--panic-first") {
        let panicked = tokio::spawn(tasktrace::traced("panics", async {
            panic!("taskdump: a panic before the dump")
        }))
        .await;
        assert!(panicked.is_err(), "the task did not panic");
    }
    tokio::spawn(tasktrace::traced("foo", foo()));
    while POLLED.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!("pid {}", std::process::id());
    std::io::stdout().flush().expect("stdout");
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
