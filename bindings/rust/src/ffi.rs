//! The C ABI of libtargetrt (`<tasktrace/rt.h>`), as much of it as the
//! bridge uses.  Layouts follow the header exactly: `trt_waker` is two
//! pointers, `trt_context` one, `trt_future` starts every future struct.

use std::os::raw::{c_char, c_int, c_uint, c_void};

/* `trt_poll` is a C enum: an `int` in the ABI.  It is read as an integer,
 * never as a Rust enum, so an unexpected value cannot be undefined
 * behaviour. */
pub type TrtPoll = c_int;
pub const TRT_PENDING: TrtPoll = 0;
pub const TRT_READY: TrtPoll = 1;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct TrtWaker {
    pub data: *const c_void,
    pub vtable: *const TrtWakerVtable,
}

#[repr(C)]
pub struct TrtWakerVtable {
    pub clone: unsafe extern "C" fn(data: *const c_void) -> TrtWaker,
    pub wake: unsafe extern "C" fn(data: *const c_void),
    pub wake_by_ref: unsafe extern "C" fn(data: *const c_void),
    pub drop: unsafe extern "C" fn(data: *const c_void),
}

#[repr(C)]
pub struct TrtContext {
    pub waker: *const TrtWaker,
}

pub type TrtPollFn = unsafe extern "C" fn(f: *mut TrtFuture, cx: *mut TrtContext) -> TrtPoll;

#[repr(C)]
pub struct TrtFuture {
    pub poll: TrtPollFn,
}

/* Linked by build.rs, with the flags pkg-config gives for libtargetrt. */
extern "C" {
    pub fn trt_waker_clone(w: *const TrtWaker) -> TrtWaker;
    pub fn trt_waker_wake(w: TrtWaker);
    pub fn trt_waker_wake_by_ref(w: *const TrtWaker);
    pub fn trt_waker_drop(w: TrtWaker);
    pub fn trt_traced_new(inner: *mut TrtFuture, name: *const c_char) -> *mut TrtFuture;
    pub fn trt_traced_free(traced: *mut TrtFuture);
    pub fn trt_traced_id(traced: *const TrtFuture) -> u64;

    /* Dumps from inside the process (`<tasktrace/rt.h>`, "Dumps from
     * inside the process"): results are 0 (complete), 1 (partial) or
     * -errno. */
    pub fn trt_dump_future_new_sink(sink: TrtDumpSinkFn, arg: *mut c_void, timeout_ms: c_int) -> *mut TrtFuture;
    pub fn trt_dump_future_result(f: *const TrtFuture) -> c_int;
    pub fn trt_dump_future_free(f: *mut TrtFuture);
    pub fn trt_dump_write(fd: c_int, timeout_ms: c_int) -> c_int;
}

/* Called on the runtime's doorbell thread with the next piece of a raw
 * dump; returns 0 or -errno. */
pub type TrtDumpSinkFn = unsafe extern "C" fn(arg: *mut c_void, buf: *const c_char, len: usize) -> c_int;

/* glibc (2.27 and later): an anonymous file for trt_dump_write to write
 * the blocking dump into. */
pub const MFD_CLOEXEC: c_uint = 1;
extern "C" {
    pub fn memfd_create(name: *const c_char, flags: c_uint) -> c_int;
}
