//! Dumps taken inside this test process, on tokio's runtimes: a task's
//! trace asked for by another task, by the task itself, after the task
//! finished, and while it is stuck inside a poll; the raw dump.
//!
//! The tests run in parallel in one process, so each dump holds the other
//! tests' tasks too: they only look at their own.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tasktrace::{DumpError, TaskTrace, TraceHandle};

/// A leaf that keeps a clone of its waker and never completes; `polled`
/// is set at its first poll.
struct Leaf {
    waker: Option<Waker>,
    polled: Arc<AtomicBool>,
}

impl Future for Leaf {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !matches!(&self.waker, Some(w) if w.will_wake(cx.waker())) {
            self.waker = Some(cx.waker().clone());
        }
        self.polled.store(true, Ordering::SeqCst);
        Poll::Pending
    }
}

#[inline(never)]
async fn inner_wait(polled: Arc<AtomicBool>) {
    Leaf { waker: None, polled }.await
}

#[inline(never)]
async fn outer_wait(polled: Arc<AtomicBool>) {
    inner_wait(polled).await
}

async fn until(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The functions of the trace's stacks, root first, one line per stack.
fn names(t: &TaskTrace) -> Vec<Vec<String>> {
    t.stacks()
        .iter()
        .map(|s| s.frames().iter().map(|f| f.function().unwrap_or("?").to_owned()).collect())
        .collect()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn another_task_on_one_thread_gets_the_tree() {
    current_thread().block_on(async {
        let polled = Arc::new(AtomicBool::new(false));
        let (task, handle) = tasktrace::traced_with_handle("outer", outer_wait(polled.clone()));
        let id = task.id().expect("registered");
        let join = tokio::spawn(task);
        until(&polled).await;
        let h = handle.clone();
        let t = tokio::spawn(async move { h.backtrace().await })
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("no trace: {}", e));
        assert_eq!((t.id(), t.name(), t.state()), (id, "outer", "idle"));
        assert!(t.polls() >= 1 && !t.is_suspect() && !t.stacks_lost());
        let n = names(&t);
        assert_eq!(n.len(), 1, "{:?}", n);
        let s = &n[0];
        /* From the task's own future to the leaf, nothing above or below. */
        let outer = s.iter().position(|f| f.starts_with("dump::outer_wait")).expect("outer_wait");
        let inner = s.iter().position(|f| f.starts_with("dump::inner_wait")).expect("inner_wait");
        assert!(outer < inner, "{:?}", s);
        assert!(s.last().unwrap().starts_with("<dump::Leaf as core::future::future::Future>::poll"), "{:?}", s);
        assert!(
            !s.iter().any(|f| f.contains("tokio::runtime") || f.contains("tasktrace") || f.starts_with("trt_")),
            "{:?}",
            s
        );
        let leaf = t.stacks()[0].frames().last().unwrap();
        assert!(leaf.file().unwrap().ends_with("tests/dump.rs") && leaf.line().unwrap() > 0, "{:?}", leaf);
        /* The same tree printed, with its header and where it was spawned. */
        let text = t.to_string();
        assert!(text.starts_with(&format!("task {} \"outer\" idle ", id)), "{}", text);
        assert!(text.contains("  spawned at ") && text.contains("tests/dump.rs:"), "{}", text);
        assert!(text.contains("╼ ") && text.contains("└╼ <dump::Leaf as core::future::future::Future>::poll at "), "{}", text);
        /* The raw view keeps the scheduler and the runtime. */
        let raw = format!("{:#}", t);
        assert!(raw.contains("tokio::runtime") && raw.contains("trt__capture"), "{}", raw);
        assert_eq!(t.tree().len(), 1);
        /* Once the task is gone, the dump says so. */
        join.abort();
        let _ = join.await;
        match handle.backtrace().await {
            Err(DumpError::NoSuchTask { id: gone }) => assert_eq!(gone, id),
            other => panic!("not NoSuchTask: {:?}", other.map(|t| t.to_string())),
        }
    });
}

#[test]
fn a_task_traces_itself() {
    current_thread().block_on(async {
        let slot: Arc<Mutex<Option<TraceHandle>>> = Arc::new(Mutex::new(None));
        let s = slot.clone();
        let (task, handle) = tasktrace::traced_with_handle("self", async move {
            let h = s.lock().unwrap().clone().expect("handle set");
            h.backtrace().await
        });
        *slot.lock().unwrap() = Some(handle);
        let t = tokio::spawn(task).await.unwrap().unwrap_or_else(|e| panic!("no trace: {}", e));
        let n = names(&t);
        assert_eq!(n.len(), 1, "{:?}", n);
        /* It waits in the dump. */
        assert!(
            n[0].iter().any(|f| f.starts_with("<tasktrace::dump::RawDumpFuture as core::future::future::Future>::poll")),
            "{:?}",
            n
        );
    });
}

#[test]
fn the_raw_dump_lists_the_tasks() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let polled = Arc::new(AtomicBool::new(false));
        let (task, handle) = tasktrace::traced_with_handle("raw-listed", outer_wait(polled.clone()));
        let join = tokio::spawn(task);
        until(&polled).await;
        let d = tasktrace::dump_raw().await.unwrap_or_else(|e| panic!("no dump: {}", e));
        let j = d.json();
        assert!(j.starts_with('{') && j.ends_with("}\n") && j.contains("\"raw\":true"), "{}", j);
        assert!(j.contains(&format!("\"id\":{},\"name\":\"raw-listed\"", handle.id().unwrap())), "{}", j);
        join.abort();
        let _ = join.await;
    });
}

/// Sleeps inside each poll: a task stuck in a poll.
struct Stuck(Arc<AtomicBool>);
impl Future for Stuck {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        self.0.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(1500));
        Poll::Pending
    }
}

#[test]
fn a_task_stuck_in_a_poll_times_out() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let polling = Arc::new(AtomicBool::new(false));
        let (task, handle) = tasktrace::traced_with_handle("stuck", Stuck(polling.clone()));
        let join = tokio::spawn(task);
        until(&polling).await;
        match handle.backtrace_timeout(Duration::from_millis(300)).await {
            Err(e @ DumpError::Timeout { .. }) => {
                let text = e.to_string();
                assert!(text.contains("did not report (polling)") && text.contains("timed out"), "{}", text);
            }
            other => panic!("not Timeout: {:?}", other.map(|t| t.to_string())),
        }
        join.abort();
    });
}
