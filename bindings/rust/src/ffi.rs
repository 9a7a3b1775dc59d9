//! The C ABI of libtargetrt (`<tasktrace/rt.h>`), as much of it as the
//! bridge uses.  Layouts follow the header exactly: `trt_waker` is two
//! pointers, `trt_context` one, `trt_future` starts every future struct.

use std::os::raw::{c_char, c_int, c_void};

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
}
