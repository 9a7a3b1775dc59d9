// A Rust test target: its futures are `extern "C"` associated functions of
// generic structs in a module, so their frames only read right when the
// tool demangles them.  One task, "rust": app::Outer<app::Leaf<i32>>::poll
// awaiting app::Leaf<i32>::poll, which calls app::park, which registers
// the waker in app::register, always inlined into it; the task stays
// pending.  Its own minimal executor polls the task when woken.  Built by
// tests/integration/test-rust-names.sh with rustc alone (no crates), over
// the static runtime.  Prints "pid N" and runs until killed.
use std::ffi::c_void;
use std::io::Write;
use std::sync::atomic::{AtomicI32, Ordering};

#[repr(C)]
pub struct Waker {
    data: *const c_void,
    vtable: *const WakerVtable,
}

#[repr(C)]
pub struct WakerVtable {
    clone: extern "C" fn(*const c_void) -> Waker,
    wake: extern "C" fn(*const c_void),
    wake_by_ref: extern "C" fn(*const c_void),
    drop: extern "C" fn(*const c_void),
}

#[repr(C)]
pub struct Context {
    waker: *const Waker,
}

pub type PollFn = extern "C" fn(*mut Future, *mut Context) -> u32;

#[repr(C)]
pub struct Future {
    poll: PollFn,
}

const PENDING: u32 = 0;

extern "C" {
    fn trt_traced_new(inner: *mut Future, name: *const u8) -> *mut Future;
    fn trt_future_poll(f: *mut Future, cx: *mut Context) -> u32;
    fn trt_waker_clone(w: *const Waker) -> Waker;
    fn trt_waker_drop(w: Waker);
}

static WOKEN: AtomicI32 = AtomicI32::new(1);
static SINK: AtomicI32 = AtomicI32::new(0);

extern "C" fn waker_clone(d: *const c_void) -> Waker {
    Waker { data: d, vtable: &VTABLE }
}
extern "C" fn waker_wake(_: *const c_void) {
    WOKEN.store(1, Ordering::SeqCst);
}
extern "C" fn waker_drop(_: *const c_void) {}
static VTABLE: WakerVtable =
    WakerVtable { clone: waker_clone, wake: waker_wake, wake_by_ref: waker_wake, drop: waker_drop };

pub mod app {
    use super::*;

    // Each future starts with its Future, so the runtime's pointer to it
    // is a pointer to the whole struct.
    #[repr(C)]
    pub struct Leaf<T> {
        pub base: Future,
        pub polls: T,
    }

    impl<T: Copy + std::ops::Add<Output = T> + From<u8>> Leaf<T> {
        #[inline(never)]
        pub extern "C" fn poll(f: *mut Future, cx: *mut Context) -> u32 {
            let this = f as *mut Leaf<T>;
            unsafe { (*this).polls = (*this).polls + T::from(1) };
            park(cx);
            SINK.fetch_add(1, Ordering::Relaxed);
            PENDING
        }
    }

    // A free function, which rustc's DWARF declares inside the
    // namespaces of its path, unlike the methods above.
    #[inline(never)]
    pub fn park(cx: *mut Context) {
        register(cx);
        SINK.fetch_add(1, Ordering::Relaxed);
    }

    // Always inlined into park: with debug info its frame is still there,
    // marked inlined, called from park's line.
    #[inline(always)]
    fn register(cx: *mut Context) {
        unsafe {
            let w = trt_waker_clone((*cx).waker);
            trt_waker_drop(w);
        }
    }

    #[repr(C)]
    pub struct Outer<I> {
        pub base: Future,
        pub inner: I,
    }

    impl<I> Outer<I> {
        #[inline(never)]
        pub extern "C" fn poll(f: *mut Future, cx: *mut Context) -> u32 {
            let this = f as *mut Outer<I>;
            let r = unsafe { trt_future_poll(&mut (*this).inner as *mut I as *mut Future, cx) };
            SINK.fetch_add(1, Ordering::Relaxed);
            r
        }
    }
}

fn main() {
    let top = Box::leak(Box::new(app::Outer {
        base: Future { poll: app::Outer::<app::Leaf<i32>>::poll },
        inner: app::Leaf { base: Future { poll: app::Leaf::<i32>::poll }, polls: 0i32 },
    }));
    let task = unsafe { trt_traced_new(&mut top.base, b"rust\0".as_ptr()) };
    if task.is_null() {
        eprintln!("trt_traced_new failed");
        std::process::exit(1);
    }
    println!("pid {}", std::process::id());
    std::io::stdout().flush().unwrap();
    loop {
        if WOKEN.swap(0, Ordering::SeqCst) != 0 {
            let w = Waker { data: std::ptr::null(), vtable: &VTABLE };
            let mut cx = Context { waker: &w };
            unsafe { trt_future_poll(task, &mut cx) };
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
