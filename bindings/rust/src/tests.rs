//! The bridge, tested with counting wakers and futures that use their
//! waker in every way a leaf can.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::Wake;
use std::thread;

/// An executor's waker that counts its wakes.  Its Arc's strong count is
/// the number of wakers alive, so clones and drops are balanced exactly
/// when it is back to 1 (the test's own reference).
struct Counter {
    wakes: AtomicUsize,
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> (Arc<Counter>, Waker) {
    let c = Arc::new(Counter {
        wakes: AtomicUsize::new(0),
    });
    let w = Waker::from(c.clone());
    (c, w)
}

/// The wakers an EveryUse future kept.
fn t_kept(t: &mut Traced<EveryUse>) -> &Vec<Waker> {
    /* Safety: no poll is running; the shim is live until t is dropped. */
    unsafe { &(*t.shim.as_ptr()).fut.kept }
}

fn poll_once<F: Future + Unpin>(f: &mut F, w: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(w))
}

/// Uses its waker in every way, then is ready on its second poll.
struct EveryUse {
    polls: u32,
    kept: Vec<Waker>,
}

impl Future for EveryUse {
    type Output = &'static str;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        self.polls += 1;
        if self.polls == 1 {
            let a = cx.waker().clone();
            let b = a.clone();
            let c = b.clone();
            a.wake(); /* by value */
            b.wake_by_ref();
            drop(b);
            cx.waker().wake_by_ref(); /* the borrowed waker */
            self.kept.push(c);
            return Poll::Pending;
        }
        self.kept.clear();
        Poll::Ready("done")
    }
}

#[test]
fn wakes_and_clones_balance() {
    let (count, w) = counter();
    let mut t = traced("every-use", EveryUse { polls: 0, kept: Vec::new() });
    assert!(t.id().is_some(), "the task is registered");
    assert!(poll_once(&mut t, &w).is_pending());
    assert_eq!(count.wakes.load(Ordering::SeqCst), 3);
    let kept = &t_kept(&mut t)[0];
    assert!(kept.will_wake(&kept.clone()), "clones of an executor waker are alike");
    /* Alive: the test's, w, Traced's cached clone, the runtime's cached
     * clone, and the one the future kept. */
    assert!(Arc::strong_count(&count) > 2);
    assert_eq!(poll_once(&mut t, &w), Poll::Ready("done"));
    drop(t);
    drop(w);
    assert_eq!(Arc::strong_count(&count), 1, "every clone was dropped");
}

/// Keeps a clone of its waker in a shared slot and stays pending until a
/// flag is set.
struct Pending {
    slot: Arc<Mutex<Option<Waker>>>,
    done: Arc<AtomicUsize>,
}

impl Future for Pending {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done.load(Ordering::SeqCst) != 0 {
            return Poll::Ready(());
        }
        let mut slot = self.slot.lock().unwrap();
        match &*slot {
            Some(old) if old.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

#[test]
fn woken_from_another_thread() {
    let (count, w) = counter();
    let slot = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicUsize::new(0));
    let mut t = traced(
        "pending",
        Pending {
            slot: slot.clone(),
            done: done.clone(),
        },
    );
    assert!(poll_once(&mut t, &w).is_pending());
    let kept = slot.lock().unwrap().take().expect("the leaf kept a waker");
    done.store(1, Ordering::SeqCst);
    thread::spawn(move || kept.wake()).join().unwrap();
    assert_eq!(count.wakes.load(Ordering::SeqCst), 1);
    assert!(poll_once(&mut t, &w).is_ready());
    drop(t);
    drop(w);
    assert_eq!(Arc::strong_count(&count), 1);
}

#[test]
fn a_new_executor_waker_replaces_the_old() {
    let (c1, w1) = counter();
    let (c2, w2) = counter();
    let slot = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicUsize::new(0));
    let mut t = traced(
        "moved",
        Pending {
            slot: slot.clone(),
            done: done.clone(),
        },
    );
    assert!(poll_once(&mut t, &w1).is_pending());
    assert!(poll_once(&mut t, &w2).is_pending());
    /* The leaf's waker is now the second executor's. */
    slot.lock().unwrap().take().unwrap().wake();
    assert_eq!(c1.wakes.load(Ordering::SeqCst), 0);
    assert_eq!(c2.wakes.load(Ordering::SeqCst), 1);
    drop(t);
    drop((w1, w2));
    assert_eq!(Arc::strong_count(&c1), 1, "the first waker was released");
    assert_eq!(Arc::strong_count(&c2), 1);
}

/// A trt_waker that is not one of ours, with counters: the path of a
/// foreign waker (as libtargetrt's own executors pass) through OWNED_TRT.
static FOREIGN_LIVE: AtomicUsize = AtomicUsize::new(0);
static FOREIGN_WAKES: AtomicUsize = AtomicUsize::new(0);
static FOREIGN: TrtWakerVtable = TrtWakerVtable {
    clone: foreign_clone,
    wake: foreign_wake,
    wake_by_ref: foreign_wake_by_ref,
    drop: foreign_drop,
};
unsafe extern "C" fn foreign_clone(data: *const c_void) -> TrtWaker {
    FOREIGN_LIVE.fetch_add(1, Ordering::SeqCst);
    TrtWaker {
        data,
        vtable: &FOREIGN,
    }
}
unsafe extern "C" fn foreign_wake(_: *const c_void) {
    FOREIGN_WAKES.fetch_add(1, Ordering::SeqCst);
    FOREIGN_LIVE.fetch_sub(1, Ordering::SeqCst);
}
unsafe extern "C" fn foreign_wake_by_ref(_: *const c_void) {
    FOREIGN_WAKES.fetch_add(1, Ordering::SeqCst);
}
unsafe extern "C" fn foreign_drop(_: *const c_void) {
    FOREIGN_LIVE.fetch_sub(1, Ordering::SeqCst);
}

#[test]
fn a_foreign_trt_waker_balances() {
    let mut shim = Shim {
        base: TrtFuture {
            poll: tasktrace_rs_poll::<EveryUse>,
        },
        out: ptr::null_mut(),
        panic: None,
        fut: EveryUse {
            polls: 0,
            kept: Vec::new(),
        },
    };
    let tw = TrtWaker {
        data: ptr::null(),
        vtable: &FOREIGN,
    };
    let mut cx = TrtContext { waker: &tw };
    let f = &mut shim as *mut Shim<EveryUse> as *mut TrtFuture;
    /* Safety: the shim is pinned on this stack for the two calls. */
    let r = unsafe { (shim.base.poll)(f, &mut cx) };
    assert_eq!(r, TRT_PENDING);
    assert_eq!(FOREIGN_WAKES.load(Ordering::SeqCst), 3);
    assert_eq!(FOREIGN_LIVE.load(Ordering::SeqCst), 1, "the kept clone");
    let mut out: Option<&'static str> = None;
    shim.out = &mut out as *mut _ as *mut c_void;
    let r = unsafe { (shim.base.poll)(f, &mut cx) };
    assert_eq!(r, TRT_READY);
    assert_eq!(out, Some("done"));
    assert_eq!(FOREIGN_LIVE.load(Ordering::SeqCst), 0, "every clone dropped");
}

struct Panics;
impl Future for Panics {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        panic!("inside a traced poll")
    }
}

#[test]
fn a_panic_crosses_the_c_frames() {
    let (count, w) = counter();
    let mut t = traced("panics", Panics);
    let r = panic::catch_unwind(AssertUnwindSafe(|| poll_once(&mut t, &w)));
    let msg = r.expect_err("the panic reaches the poller");
    assert_eq!(msg.downcast_ref::<&str>(), Some(&"inside a traced poll"));
    drop(t);
    drop(w);
    assert_eq!(Arc::strong_count(&count), 1);
}

#[test]
fn names_are_cut_at_nul() {
    assert_eq!(c_name("a\0b").as_bytes(), b"a");
    assert_eq!(c_name("conn").as_bytes(), b"conn");
}

fn is_send<T: Send>(_: &T) {}

#[test]
fn traced_is_send_when_the_future_is() {
    let t = traced("send", async { 1 });
    is_send(&t);
}

#[test]
fn many_threads_wake_one_task() {
    let (count, w) = counter();
    let slot = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicUsize::new(0));
    let mut t = traced(
        "shared",
        Pending {
            slot: slot.clone(),
            done,
        },
    );
    assert!(poll_once(&mut t, &w).is_pending());
    let kept = slot.lock().unwrap().clone().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let k = kept.clone();
            thread::spawn(move || {
                for _ in 0..1000 {
                    k.clone().wake();
                    k.wake_by_ref();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    assert_eq!(count.wakes.load(Ordering::SeqCst), 8000);
    drop((kept, t, w));
    slot.lock().unwrap().take();
    assert_eq!(Arc::strong_count(&count), 1);
}

/* ------------------------------------------------ in-process dumps */

#[test]
fn json_reads_what_the_runtime_writes() {
    let v = json::parse(
        r#" {"a": [1, -2.5e3, true, false, null], "s": "q\"\\\/\n\u00e9\ud83d\ude00\ud800x", "pc": "0x7f01"} "#,
    )
    .expect("valid");
    assert_eq!(v.get("a").and_then(json::Value::as_array).map(|a| a.len()), Some(5));
    assert_eq!(v.get("a").unwrap().as_array().unwrap()[0].as_u64(), Some(1));
    assert_eq!(v.get("s").and_then(json::Value::as_str), Some("q\"\\/\né😀\u{fffd}x"));
    assert_eq!(v.get("pc").and_then(json::Value::as_hex), Some(0x7f01));
    for bad in ["", "{", "[1,]", "{\"a\" 1}", "\"\u{1}\"", "01", "1.", "[1] 2", "\"\\x\"", "nul"] {
        assert!(json::parse(bad).is_err(), "{:?} parsed", bad);
    }
    /* Nesting is bounded: no input exhausts the stack. */
    let deep = "[".repeat(100_000);
    assert!(json::parse(&deep).unwrap_err().contains("nested too deep"));
}

fn frame(function: Option<&str>, module: &str, pc: u64) -> Frame {
    Frame::for_test(function, module, pc)
}

#[test]
fn trim_keeps_the_task_frames_as_the_tool_does() {
    let stack = [
        frame(Some("start_thread"), "libc", 1),
        frame(Some("tokio::runtime::task::harness::Harness<T,S>::poll"), "exe", 2),
        frame(Some("<tasktrace::Traced<F> as core::future::future::Future>::poll"), "exe", 3),
        frame(Some("trt__traced_poll"), "rt", 4),
        frame(Some("trt__traced_poll_tracing"), "rt", 5),
        frame(Some("tasktrace::tasktrace_rs_poll"), "exe", 6),
        frame(Some("std::panicking::try"), "exe", 7),
        frame(Some("tasktrace::tasktrace_rs_enter"), "exe", 8),
        frame(Some("app::foo::{{closure}}"), "exe", 9),
        frame(Some("trt_future_poll"), "rt", 10),
        frame(Some("<app::Leaf as core::future::future::Future>::poll"), "exe", 11),
        frame(Some("<core::task::wake::Waker as core::clone::Clone>::clone"), "exe", 12),
        frame(Some("tasktrace::tasktrace_rs_borrowed_clone"), "exe", 13),
        frame(Some("trt_waker_clone"), "rt", 14),
        frame(Some("trt__tracer_clone"), "rt", 15),
        frame(Some("trt__capture"), "rt", 16),
    ];
    let names: Vec<_> = trace::trim(&stack).iter().map(|f| f.function().unwrap().to_owned()).collect();
    assert_eq!(names, ["app::foo::{{closure}}", "<app::Leaf as core::future::future::Future>::poll"]);
    /* A runtime without symbols: the capture starts at the first unnamed
     * frame of the last frame's module. */
    let stripped = [
        frame(Some("tasktrace::tasktrace_rs_enter"), "exe", 1),
        frame(Some("app::foo::{{closure}}"), "exe", 2),
        frame(None, "rt", 3),
        frame(None, "rt", 4),
    ];
    assert_eq!(trace::trim(&stripped).len(), 1);
}

#[test]
fn durations_read_as_the_tools() {
    let d = Duration::from_nanos;
    assert_eq!(trace::duration_text(d(950)), "950ns");
    assert_eq!(trace::duration_text(d(12_345_678)), "12ms");
    assert_eq!(trace::duration_text(d(3_110_000_000)), "3.11s");
    assert_eq!(trace::duration_text(Duration::from_secs(125)), "2m05s");
    assert_eq!(trace::duration_text(Duration::from_secs(3 * 86400 + 4 * 3600)), "3d04h");
}

/// The names the crate trims by are protocol.h's (TRT_FN_*), when the
/// crate is built in its source tree.
#[test]
fn trimmed_names_match_protocol_h() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../protocol/tasktrace/protocol.h");
    let h = match std::fs::read_to_string(path) {
        Ok(h) => h,
        Err(e) => {
            /* The crate alone, outside the project's tree. */
            eprintln!("skip: no {} to compare with: {}", path, e);
            return;
        }
    };
    let all = trace::WRAPPERS
        .iter()
        .chain(std::iter::once(&trace::INTERNAL_PREFIX))
        .chain(trace::ABI_HELPERS.iter())
        .chain(trace::GLUE_ENTRY_PREFIXES.iter())
        .chain(trace::GLUE_HIDDEN_PREFIXES.iter())
        .chain(trace::GLUE_SPAWN_PREFIXES.iter());
    for name in all {
        assert!(h.contains(&format!("\"{}\"", name)), "{} is not in protocol.h", name);
    }
}

#[test]
fn an_untraced_handle_says_so() {
    let h = TraceHandle { id: None };
    let mut f = h.backtrace();
    let (_c, w) = counter();
    match poll_once(&mut f, &w) {
        Poll::Ready(Err(DumpError::Untraced)) => {}
        other => panic!("not Untraced: {:?}", other.map(|r| r.map(|t| t.id()))),
    }
    assert!(matches!(h.backtrace_blocking(Duration::from_secs(1)), Err(DumpError::Untraced)));
}

/// Calls the blocking dump inside its own traced poll.
struct DumpsInside(Option<Result<RawDump, DumpError>>);
impl Future for DumpsInside {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        self.0 = Some(dump_raw_blocking(Duration::from_secs(5)));
        Poll::Ready(())
    }
}

#[test]
fn a_blocking_dump_inside_a_traced_poll_fails_at_once() {
    let (_c, w) = counter();
    let mut t = traced("dumps-inside", DumpsInside(None));
    assert!(poll_once(&mut t, &w).is_ready());
    let r = unsafe { (*t.shim.as_ptr()).fut.0.take() };
    match r {
        Some(Err(e @ DumpError::WouldDeadlock)) => {
            assert!(e.to_string().contains("await the dump instead"), "{}", e)
        }
        other => panic!("not WouldDeadlock: {:?}", other.map(|r| r.map(|d| d.is_complete()))),
    }
}

#[test]
fn errors_say_what_failed() {
    let e = DumpError::NoSuchTask { id: 7 };
    assert_eq!(e.to_string(), "task 7 is not in the dump: it has finished");
    let e = DumpError::Failed(std::io::Error::from_raw_os_error(12));
    assert!(e.to_string().starts_with("the runtime could not dump: "), "{}", e);
    assert!(std::error::Error::source(&e).is_some());
}

fn is_shared<T: Send + Sync + Clone>(_: &T) {}
fn is_send_sync<T: Send + Sync>(_: &T) {}

#[test]
fn handles_and_dump_futures_cross_threads() {
    let t = traced("handle", async {});
    let h = t.handle();
    is_shared(&h);
    is_send_sync(&h.backtrace());
    is_send_sync(&dump_raw());
    assert_eq!(h.id(), t.id());
}
