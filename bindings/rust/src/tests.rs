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
