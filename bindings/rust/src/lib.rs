//! Traced Rust futures for tasktrace.
//!
//! Wrap a task's future in [`traced`] and the task becomes a libtargetrt
//! traced task: `tasktrace-attach PID` dumps its logical stack (the chain
//! of futures down to the leaf each branch waits in) from outside the
//! process.  With tokio:
//!
//! ```no_run
//! # async fn handle(_c: ()) {}
//! # async fn run() {
//! # let conn = ();
//! tokio::spawn(tasktrace::traced("conn", handle(conn)));
//! # }
//! ```
//!
//! Nothing else changes: leaf futures, the executor and its features stay
//! as they are.
//!
//! The program can also trace its own tasks, where no tool can attach:
//! [`traced_with_handle`] returns with the task a [`TraceHandle`] whose
//! [`backtrace`](TraceHandle::backtrace) dumps the task from inside the
//! process and symbolizes its stacks there, with the `backtrace` crate,
//! into a [`TaskTrace`] that prints the task's await tree as
//! tasktrace-attach does; [`dump_raw`] gives the raw dump of every task.
//!
//! ```no_run
//! # async fn foo() {}
//! # async fn run() {
//! let (task, handle) = tasktrace::traced_with_handle("foo", foo());
//! tokio::spawn(task);
//! // From any other task (or this one):
//! match handle.backtrace().await {
//!     Ok(trace) => print!("{}", trace),
//!     Err(e) => eprintln!("no trace: {}", e),
//! }
//! # }
//! ```
//!
//! # How it works
//!
//! libtargetrt's waker is shaped like Rust's `RawWaker`, but its vtable
//! holds C-ABI functions and Rust's holds Rust-ABI ones, so the bridge
//! builds one vtable on each side:
//!
//! * Rust to C (`RUST_AS_TRT`): the executor's `Waker`, kept in an
//!   `Arc`, becomes a `trt_waker` whose data is the `Arc` and whose
//!   functions are `extern "C"` shims calling the `Waker`.  Cloning it
//!   clones the `Arc`, so every clone has the same data pointer and the
//!   runtime's cached waker stays valid from poll to poll.
//! * C to Rust (`BORROWED`, `ARC`, `OWNED_TRT`): the `trt_waker` the
//!   runtime passes to the task (the executor's, or during a dump the
//!   runtime's tracing waker) becomes the `Waker` of the Rust future's
//!   `Context`.  Its clone calls the `trt_waker`'s clone, which is where a
//!   dump records the stack of the leaf that cloned it.
//!
//! [`Traced::poll`] polls libtargetrt's wrapper with the first; the
//! wrapper polls a C future whose poll function (`tasktrace_rs_poll`)
//! polls the Rust future with the second.  Every function of this glue is
//! named `tasktrace_rs_*`, the prefix by which tasktrace-attach hides it.

use std::ffi::CString;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::os::raw::c_void;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::Duration;

/* The C waker standing for cx's waker, for polling a C future: a clone of
 * it is kept in `slot` (replaced only when the executor hands another),
 * and the C waker points to it through RUST_AS_TRT.  The slot must outlive
 * the poll the C waker is passed to. */
pub(crate) fn bridge_waker(slot: &mut Option<Arc<Waker>>, cx: &Context<'_>) -> TrtWaker {
    let same = matches!(slot.as_ref(), Some(w) if w.will_wake(cx.waker()));
    if !same {
        *slot = Some(Arc::new(cx.waker().clone()));
    }
    let arc = slot.as_ref().expect("set above");
    TrtWaker {
        data: Arc::as_ptr(arc) as *const c_void,
        vtable: &RUST_AS_TRT,
    }
}

mod dump;
mod ffi;
mod json;
mod trace;

use ffi::{TrtContext, TrtFuture, TrtPoll, TrtWaker, TrtWakerVtable, TRT_PENDING, TRT_READY};

pub use dump::{
    dump_raw, dump_raw_blocking, dump_raw_timeout, DumpError, RawDump, RawDumpFuture, DEFAULT_TIMEOUT,
    MAX_DUMP_BYTES,
};
pub use trace::{Frame, Stack, TaskTrace, TreeNode};

/// Wraps `fut` as a traced task named `name` (the first 55 bytes are
/// kept; a NUL byte ends it).
///
/// Always inlined: the runtime records where the task was spawned from the
/// return address of its registration, which then lies in the caller.
///
/// The task is registered with libtargetrt now and unregistered when the
/// returned [`Traced`] is dropped, whether it completed or not.  If the
/// runtime cannot register it (out of memory, or past the registry's
/// limit), the future still runs, untraced.
#[inline(always)]
pub fn traced<F: Future>(name: &str, fut: F) -> Traced<F> {
    let shim = Box::new(Shim {
        base: TrtFuture {
            poll: tasktrace_rs_poll::<F>,
        },
        out: ptr::null_mut(),
        panic: None,
        fut,
    });
    /* Box::into_raw: the C wrapper keeps a pointer to the shim, so the
     * shim must never move; Traced frees it in drop, after the wrapper. */
    let shim = unsafe { NonNull::new_unchecked(Box::into_raw(shim)) };
    let cname = c_name(name);
    /* Safety: shim points to a live Shim whose first member is a
     * TrtFuture with a poll function; it outlives the wrapper (Drop frees
     * the wrapper first).  The name is copied by the runtime. */
    let wrapper = unsafe { ffi::trt_traced_new(shim.as_ptr() as *mut TrtFuture, cname.as_ptr()) };
    Traced {
        shim,
        wrapper,
        waker: None,
    }
}

/// Wraps `fut` as a traced task named `name`, as [`traced`] does, and
/// returns with it a [`TraceHandle`] that dumps this task's await tree
/// from inside the process, from any task or thread.
///
/// ```no_run
/// # async fn handle(_c: ()) {}
/// # async fn run() {
/// # let conn = ();
/// let (task, trace) = tasktrace::traced_with_handle("conn", handle(conn));
/// tokio::spawn(task);
/// match trace.backtrace().await {
///     Ok(tree) => print!("{}", tree),
///     Err(e) => eprintln!("no trace: {}", e),
/// }
/// # }
/// ```
///
/// Always inlined, like [`traced`]: the dump's `spawned at` line names
/// its caller.
#[inline(always)]
pub fn traced_with_handle<F: Future>(name: &str, fut: F) -> (Traced<F>, TraceHandle) {
    let t = traced(name, fut);
    let h = t.handle();
    (t, h)
}

/// Dumps one traced task's await tree from inside the process: see
/// [`traced_with_handle`].
///
/// `Send`, `Sync` and cheap to clone (the task's id); it outlives the task
/// (a trace of a finished task is [`DumpError::NoSuchTask`]).
///
/// Each trace is a dump of the whole process: every traced task is polled
/// once more by its executor (a spurious poll, which every future
/// tolerates), and the task's stacks are then symbolized in the process
/// with the `backtrace` crate, which reads the binaries' debug information
/// (the first time, some milliseconds to a second for a large binary; it
/// keeps what it read).  Meant for debugging, not for a hot path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceHandle {
    id: Option<u64>,
}

impl TraceHandle {
    /// The task's id, as dumps show it; `None` when the task runs
    /// untraced (the runtime could not register it).
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    /// The task's trace, waiting at most [`DEFAULT_TIMEOUT`] for the
    /// tasks of the process to report: see [`backtrace_timeout`](Self::backtrace_timeout).
    pub fn backtrace(&self) -> BacktraceFuture {
        self.backtrace_timeout(DEFAULT_TIMEOUT)
    }

    /// The task's trace, waiting at most `timeout` for the tasks of the
    /// process to report.
    ///
    /// Await it from any task, on any executor (a single-threaded one
    /// included: the awaiting task reports like the others, waiting in
    /// the dump), also from the traced task itself.  The result is an
    /// error when the task did not report in time
    /// ([`DumpError::Timeout`]: its executor did not poll it, or it is
    /// stuck inside a poll), has finished ([`DumpError::NoSuchTask`]), or
    /// the dump failed.
    pub fn backtrace_timeout(&self, timeout: Duration) -> BacktraceFuture {
        BacktraceFuture {
            id: self.id,
            dump: dump_raw_timeout(timeout),
        }
    }

    /// The task's trace, blocking the calling thread, for threads that
    /// poll no task; the same as [`dump_raw_blocking`] about where it may
    /// be called ([`DumpError::WouldDeadlock`] inside a traced poll).
    pub fn backtrace_blocking(&self, timeout: Duration) -> Result<TaskTrace, DumpError> {
        let id = self.id.ok_or(DumpError::Untraced)?;
        task_from_raw(&dump_raw_blocking(timeout)?, id)
    }
}

/// The trace of task `id` in a raw dump.
fn task_from_raw(raw: &RawDump, id: u64) -> Result<TaskTrace, DumpError> {
    let doc = json::parse(raw.json()).map_err(DumpError::Malformed)?;
    trace::task_trace(&doc, id)
}

/// A task's trace in progress: see [`TraceHandle::backtrace`].
#[must_use = "futures do nothing unless awaited"]
pub struct BacktraceFuture {
    id: Option<u64>,
    dump: RawDumpFuture,
}

impl Future for BacktraceFuture {
    type Output = Result<TaskTrace, DumpError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let id = match this.id {
            Some(id) => id,
            None => return Poll::Ready(Err(DumpError::Untraced)),
        };
        match Pin::new(&mut this.dump).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(raw)) => Poll::Ready(task_from_raw(&raw, id)),
        }
    }
}

/// A future traced by libtargetrt: see [`traced`].
///
/// It is `Send` when `F` is, and `Unpin` whatever `F` is (`F` is pinned
/// on the heap).  Dropping it unregisters the task.
pub struct Traced<F> {
    /* Owned; allocated by Box in traced(), freed by Drop. */
    shim: NonNull<Shim<F>>,
    /* libtargetrt's wrapper around the shim, or null when the runtime
     * could not register the task (then the future runs untraced). */
    wrapper: *mut TrtFuture,
    /* The executor's waker of the last poll, shared with the runtime
     * through RUST_AS_TRT. */
    waker: Option<Arc<Waker>>,
}

/* Safety: Traced owns its shim (and F in it) and the C wrapper, whose
 * functions are thread-safe; nothing is shared with another thread but
 * Arc<Waker> clones, which are Send and Sync.  So moving a Traced moves
 * only what F allows to be moved. */
unsafe impl<F: Send> Send for Traced<F> {}
/* Safety: &Traced gives access to nothing (every method takes &mut or
 * Pin<&mut>), so sharing it is as safe as sharing F. */
unsafe impl<F: Sync> Sync for Traced<F> {}

/* The C future the runtime's wrapper polls.  repr(C) with `base` first:
 * a pointer to the Shim is a pointer to a trt_future. */
#[repr(C)]
struct Shim<F> {
    base: TrtFuture,
    /* Points to an Option<F::Output> on the stack of the Traced::poll in
     * progress, the only caller of the wrapper's poll. */
    out: *mut c_void,
    /* A panic of F's poll, caught before it unwinds into C and resumed by
     * Traced::poll. */
    panic: Option<Box<dyn std::any::Any + Send + 'static>>,
    fut: F,
}

/// The task's name as a C string: cut at the first NUL byte.
fn c_name(name: &str) -> CString {
    let bytes = name.as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).unwrap_or_default()
}

impl<F> Traced<F> {
    /// The runtime's id of this task, as a dump shows it; `None` when the
    /// task could not be registered and runs untraced.
    pub fn id(&self) -> Option<u64> {
        if self.wrapper.is_null() {
            return None;
        }
        /* Safety: wrapper is a live wrapper returned by trt_traced_new. */
        Some(unsafe { ffi::trt_traced_id(self.wrapper) })
    }

    /// A handle that dumps this task's await tree: see
    /// [`traced_with_handle`].
    pub fn handle(&self) -> TraceHandle {
        TraceHandle { id: self.id() }
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        /* Traced is Unpin (F lives behind a pointer), so this moves nothing
         * that is pinned. */
        let this = self.get_mut();
        let shim = this.shim.as_ptr();
        if this.wrapper.is_null() {
            /* Safety: the shim is heap-allocated and never moves until Drop,
             * so F stays pinned. */
            let fut = unsafe { Pin::new_unchecked(&mut (*shim).fut) };
            return fut.poll(cx);
        }
        /* Keep one Arc per executor waker: a normal poll reuses it, so the
         * trt_waker below has the data pointer of the runtime's cached clone
         * and the runtime takes no lock and allocates nothing.  A new Arc is
         * made before the old one is dropped, and the runtime holds a clone
         * of the old one, so a new address never equals the cached one. */
        let tw = bridge_waker(&mut this.waker, cx);
        let mut tcx = TrtContext { waker: &tw };
        let mut out: Option<F::Output> = None;
        /* Safety: the wrapper is live (freed only in Drop); the context and
         * `out` outlive the call; the shim's poll writes `out` only during
         * it.  &mut self guarantees no other poll of the wrapper runs. */
        let r = unsafe {
            (*shim).out = &mut out as *mut Option<F::Output> as *mut c_void;
            let r = ((*this.wrapper).poll)(this.wrapper, &mut tcx);
            (*shim).out = ptr::null_mut();
            r
        };
        /* Safety: the shim is ours; the poll above has returned. */
        if let Some(p) = unsafe { (*shim).panic.take() } {
            panic::resume_unwind(p);
        }
        /* The shim stores the output exactly when it returns TRT_READY. */
        debug_assert_eq!(out.is_some(), r == TRT_READY);
        match out {
            Some(v) => Poll::Ready(v),
            None => Poll::Pending,
        }
    }
}

impl<F> Drop for Traced<F> {
    fn drop(&mut self) {
        /* Safety: the wrapper (if any) was returned by trt_traced_new and
         * is freed once, here, with no poll running (&mut self); only then
         * is the shim it points to freed, by the Box that allocated it. */
        unsafe {
            if !self.wrapper.is_null() {
                ffi::trt_traced_free(self.wrapper);
            }
            drop(Box::from_raw(self.shim.as_ptr()));
        }
    }
}

/// The poll function of the C future: polls the Rust future with a
/// `Context` whose waker is the `trt_waker` the runtime lends.
///
/// Panics are caught here (unwinding into C is undefined behaviour) and
/// resumed by `Traced::poll`.
unsafe extern "C" fn tasktrace_rs_poll<F: Future>(f: *mut TrtFuture, cx: *mut TrtContext) -> TrtPoll {
    let shim = f as *mut Shim<F>;
    /* Safety: the runtime calls this with the shim it was given (a
     * Shim<F>, see traced()) and a context whose waker is valid for this
     * call.  The Rust waker borrows that trt_waker for no longer: it is
     * never dropped (ManuallyDrop) and only clones of it, which own what
     * they point to, can outlive the call. */
    let tw = (*cx).waker;
    let raw = if ptr::eq((*tw).vtable, &RUST_AS_TRT) {
        /* A normal poll: the runtime passed the executor's waker, which is
         * Traced's Arc (kept alive by Traced for the poll).  Lent as an
         * ARC waker it equals (will_wake) the clones a leaf kept, so a
         * leaf that checks will_wake does not clone again. */
        RawWaker::new((*tw).data as *const (), &ARC)
    } else {
        /* The tracing waker during a dump, or a foreign waker: its clone
         * must go through the trt_waker (that is what records the stack). */
        RawWaker::new(tw as *const (), &BORROWED)
    };
    let waker = ManuallyDrop::new(Waker::from_raw(raw));
    let mut rcx = Context::from_waker(&waker);
    /* Safety: the shim never moves (heap, freed in Traced's Drop). */
    let fut = Pin::new_unchecked(&mut (*shim).fut);
    match panic::catch_unwind(AssertUnwindSafe(|| tasktrace_rs_enter(fut, &mut rcx))) {
        Ok(Poll::Ready(v)) => {
            /* Safety: `out` points to Traced::poll's Option<F::Output>,
             * live during this call (Traced::poll is the only caller). */
            let out = (*shim).out as *mut Option<F::Output>;
            if !out.is_null() {
                *out = Some(v);
            }
            TRT_READY
        }
        Ok(Poll::Pending) => TRT_PENDING,
        Err(p) => {
            (*shim).panic = Some(p);
            TRT_PENDING
        }
    }
}

/// The last glue frame above the task's own future: a dump's default view
/// starts right below it.  Inlined, it costs nothing, and the debug
/// information still names it as an inlined frame.
#[inline(always)]
fn tasktrace_rs_enter<F: Future>(fut: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    fut.poll(cx)
}

/// Runs `f`, aborting if it panics: the `extern "C"` functions below are
/// called from C, and unwinding into C is undefined behaviour.
fn no_unwind<R>(f: impl FnOnce() -> R) -> R {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => std::process::abort(),
    }
}

/* ------------------------------------------------------- Rust waker to C */

/// A Rust `Waker` as a `trt_waker`: data is `Arc::into_raw(Arc<Waker>)`;
/// each trt_waker owns one strong count, except the one Traced::poll lends,
/// which borrows Traced's.
static RUST_AS_TRT: TrtWakerVtable = TrtWakerVtable {
    clone: tasktrace_rs_c_clone,
    wake: tasktrace_rs_c_wake,
    wake_by_ref: tasktrace_rs_c_wake_by_ref,
    drop: tasktrace_rs_c_drop,
};

/* Safety of the four: `data` is an Arc<Waker> pointer on which the caller
 * holds (or borrows) a strong count, per the trt_waker contract. */
unsafe extern "C" fn tasktrace_rs_c_clone(data: *const c_void) -> TrtWaker {
    /* Same data pointer: the runtime compares it to tell the waker has not
     * changed. */
    Arc::increment_strong_count(data as *const Waker);
    TrtWaker {
        data,
        vtable: &RUST_AS_TRT,
    }
}

unsafe extern "C" fn tasktrace_rs_c_wake(data: *const c_void) {
    let arc = Arc::from_raw(data as *const Waker);
    no_unwind(move || match Arc::try_unwrap(arc) {
        Ok(w) => w.wake(),
        Err(arc) => arc.wake_by_ref(),
    })
}

unsafe extern "C" fn tasktrace_rs_c_wake_by_ref(data: *const c_void) {
    let w = &*(data as *const Waker);
    no_unwind(|| w.wake_by_ref())
}

unsafe extern "C" fn tasktrace_rs_c_drop(data: *const c_void) {
    let arc = Arc::from_raw(data as *const Waker);
    no_unwind(move || drop(arc))
}

/* ------------------------------------------------------- C waker to Rust */

/// The waker of the Rust future's `Context`: data is the `*const
/// trt_waker` the runtime lent for this poll; never dropped, never woken
/// by value (a `&Waker` cannot be consumed).
static BORROWED: RawWakerVTable = RawWakerVTable::new(
    tasktrace_rs_borrowed_clone,
    tasktrace_rs_borrowed_wake,
    tasktrace_rs_borrowed_wake_by_ref,
    tasktrace_rs_borrowed_drop,
);

/// An owned clone that turned out to be one of our own Rust wakers (the
/// usual case: the executor's waker through RUST_AS_TRT): data is the
/// `Arc<Waker>`, one strong count owned, no C call left in the path.
static ARC: RawWakerVTable = RawWakerVTable::new(
    tasktrace_rs_arc_clone,
    tasktrace_rs_arc_wake,
    tasktrace_rs_arc_wake_by_ref,
    tasktrace_rs_arc_drop,
);

/// An owned clone of any other trt_waker: data is a `Box<TrtWaker>`.
static OWNED_TRT: RawWakerVTable = RawWakerVTable::new(
    tasktrace_rs_owned_clone,
    tasktrace_rs_owned_wake,
    tasktrace_rs_owned_wake_by_ref,
    tasktrace_rs_owned_drop,
);

/// Turns an owned trt_waker into an owned RawWaker.
unsafe fn tasktrace_rs_owned_raw(w: TrtWaker) -> RawWaker {
    if ptr::eq(w.vtable, &RUST_AS_TRT) {
        /* Our own Arc<Waker>: the strong count w owned moves to the
         * RawWaker. */
        RawWaker::new(w.data as *const (), &ARC)
    } else {
        RawWaker::new(Box::into_raw(Box::new(w)) as *const (), &OWNED_TRT)
    }
}

/* Safety: `data` is the trt_waker lent for the poll in progress (only the
 * Context's waker has this vtable, and it lives no longer than the poll). */
unsafe fn tasktrace_rs_borrowed_clone(data: *const ()) -> RawWaker {
    /* During a dump this is the tracing waker's clone: it records the
     * stack, then returns a clone of the executor's waker. */
    tasktrace_rs_owned_raw(ffi::trt_waker_clone(data as *const TrtWaker))
}

unsafe fn tasktrace_rs_borrowed_wake(data: *const ()) {
    /* Unreachable through safe code; a borrowed waker is not consumed. */
    ffi::trt_waker_wake_by_ref(data as *const TrtWaker)
}

unsafe fn tasktrace_rs_borrowed_wake_by_ref(data: *const ()) {
    ffi::trt_waker_wake_by_ref(data as *const TrtWaker)
}

unsafe fn tasktrace_rs_borrowed_drop(_data: *const ()) {}

/* Safety of the four: `data` is an Arc<Waker> pointer whose strong count
 * this RawWaker owns. */
unsafe fn tasktrace_rs_arc_clone(data: *const ()) -> RawWaker {
    Arc::increment_strong_count(data as *const Waker);
    RawWaker::new(data, &ARC)
}

unsafe fn tasktrace_rs_arc_wake(data: *const ()) {
    match Arc::try_unwrap(Arc::from_raw(data as *const Waker)) {
        Ok(w) => w.wake(),
        Err(arc) => arc.wake_by_ref(),
    }
}

unsafe fn tasktrace_rs_arc_wake_by_ref(data: *const ()) {
    (*(data as *const Waker)).wake_by_ref()
}

unsafe fn tasktrace_rs_arc_drop(data: *const ()) {
    drop(Arc::from_raw(data as *const Waker))
}

/* Safety of the four: `data` is a Box<TrtWaker> this RawWaker owns, and
 * the TrtWaker in it is owned. */
unsafe fn tasktrace_rs_owned_clone(data: *const ()) -> RawWaker {
    tasktrace_rs_owned_raw(ffi::trt_waker_clone(data as *const TrtWaker))
}

unsafe fn tasktrace_rs_owned_wake(data: *const ()) {
    let w = Box::from_raw(data as *mut TrtWaker);
    ffi::trt_waker_wake(*w)
}

unsafe fn tasktrace_rs_owned_wake_by_ref(data: *const ()) {
    ffi::trt_waker_wake_by_ref(data as *const TrtWaker)
}

unsafe fn tasktrace_rs_owned_drop(data: *const ()) {
    let w = Box::from_raw(data as *mut TrtWaker);
    ffi::trt_waker_drop(*w)
}

#[cfg(test)]
mod tests;
