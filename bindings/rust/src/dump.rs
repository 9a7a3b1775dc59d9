//! Raw dumps of the whole process, taken from inside it: the runtime's
//! dump future (`trt_dump_future_new_sink`) as a Rust future, and its
//! blocking call (`trt_dump_write`) for threads that poll no task.

use std::ffi::CStr;
use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::raw::{c_char, c_int, c_void};
use std::os::unix::io::{AsRawFd, FromRawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::ffi::{self, TrtContext, TrtFuture, TRT_PENDING};
use crate::no_unwind;

/// The wait for the tasks' reports when none is given: as long as the
/// runtime waits for a dump on a signal.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest raw dump read (256 MiB, some hundreds of thousands of
/// tasks); a larger one ends with [`DumpError::TooLarge`] rather than take
/// the process's memory.
pub const MAX_DUMP_BYTES: usize = 256 << 20;

/// Why a dump, or a task's trace from it, could not be had.
#[derive(Debug)]
#[non_exhaustive]
pub enum DumpError {
    /// The task was never registered with the runtime (out of memory, or
    /// past the registry's limit, when it was created): it runs untraced
    /// and no dump shows it.
    Untraced,
    /// The task is not in the dump: it has finished and its `Traced` was
    /// dropped.
    NoSuchTask {
        /// The task's id.
        id: u64,
    },
    /// The task did not report within the timeout: its executor did not
    /// poll it (the executor is blocked or busy, or the task is stuck
    /// inside a poll).
    Timeout {
        /// The task's id.
        id: u64,
        /// Its state when the dump ended: `"polling"` when it was inside a
        /// poll that did not return, `"idle"` when nothing polled it.
        state: String,
        /// The runtime's account of the timeout, from the dump's problems.
        message: String,
    },
    /// The blocking dump was asked for on a thread inside a traced task's
    /// poll, or on the runtime's own thread: that task could never report.
    /// Await the async form there instead.
    WouldDeadlock,
    /// The dump document was larger than [`MAX_DUMP_BYTES`].
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The runtime could not make or write the dump (its `-errno`).
    Failed(io::Error),
    /// The runtime's document could not be read: not JSON, or a key
    /// missing or of the wrong type.
    Malformed(String),
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpError::Untraced => write!(
                f,
                "the task is not traced: the runtime could not register it when it was created"
            ),
            DumpError::NoSuchTask { id } => {
                write!(f, "task {} is not in the dump: it has finished", id)
            }
            DumpError::Timeout { id, state, message } => {
                write!(f, "task {} did not report ({}): {}", id, state, message)
            }
            DumpError::WouldDeadlock => write!(
                f,
                "a blocking dump cannot be taken inside a traced task's poll (that task could \
                 not report): await the dump instead"
            ),
            DumpError::TooLarge { limit } => {
                write!(f, "the dump is larger than {} bytes", limit)
            }
            DumpError::Failed(e) => write!(f, "the runtime could not dump: {}", e),
            DumpError::Malformed(what) => write!(f, "the runtime's dump is malformed: {}", what),
        }
    }
}

impl std::error::Error for DumpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DumpError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// A raw dump of every traced task of the process: the document of
/// `tasktrace-attach --json` with `"raw": true` (docs/json.md), whose
/// frames have `module`, `build_id`, `offset` and `pc` and no names;
/// `tasktrace-attach --symbolize FILE` symbolizes it on any machine with
/// the same binaries.
#[derive(Debug, Clone)]
pub struct RawDump {
    json: String,
    complete: bool,
}

impl RawDump {
    /// The document, one line ending in a newline.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The document, owned.
    pub fn into_json(self) -> String {
        self.json
    }

    /// Whether every task reported and nothing was lost; when false, the
    /// document's `"problems"` say what is missing.
    pub fn is_complete(&self) -> bool {
        self.complete
    }
}

impl fmt::Display for RawDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.json)
    }
}

/// The runtime's result (0 complete, 1 partial, -errno) and the bytes
/// written, as a `RawDump`.
fn raw_result(result: c_int, bytes: Vec<u8>, too_large: bool) -> Result<RawDump, DumpError> {
    if too_large {
        return Err(DumpError::TooLarge {
            limit: MAX_DUMP_BYTES,
        });
    }
    if result < 0 {
        return Err(if -result == EDEADLK {
            DumpError::WouldDeadlock
        } else {
            DumpError::Failed(io::Error::from_raw_os_error(-result))
        });
    }
    let json = String::from_utf8(bytes).map_err(|_| DumpError::Malformed("not UTF-8".into()))?;
    Ok(RawDump {
        json,
        complete: result == 0,
    })
}

/* Linux's errno values the bindings tell apart (the crate depends on no
 * libc crate). */
const EDEADLK: c_int = 35;
const EFBIG: c_int = 27;

fn timeout_ms(timeout: Duration) -> c_int {
    timeout.as_millis().min(c_int::MAX as u128) as c_int
}

/// What the runtime's doorbell thread writes the dump into.
struct Sink {
    buf: Mutex<SinkBuf>,
}

#[derive(Default)]
struct SinkBuf {
    bytes: Vec<u8>,
    too_large: bool,
}

/// The sink function: appends a piece of the document, or ends the dump
/// with -EFBIG past MAX_DUMP_BYTES (or when memory runs out), so that a
/// dump never takes more than that.  Runs on the doorbell thread.
unsafe extern "C" fn tasktrace_rs_sink(arg: *mut c_void, buf: *const c_char, len: usize) -> c_int {
    /* Safety: arg is the Sink the RawDumpFuture owns; it outlives the
     * C future (freed after it); buf holds len bytes for this call. */
    let sink = &*(arg as *const Sink);
    let piece = std::slice::from_raw_parts(buf as *const u8, len);
    no_unwind(|| {
        let mut b = match sink.buf.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        if b.bytes.len() + len > MAX_DUMP_BYTES || b.bytes.try_reserve(len).is_err() {
            b.too_large = true;
            return -EFBIG;
        }
        b.bytes.extend_from_slice(piece);
        0
    })
}

/// A raw dump of the process in progress: see [`dump_raw`].
///
/// Dropping it before it completes withdraws the request; a dump the
/// runtime is already writing is let finish on a thread of its own, so
/// that the drop does not block the executor.
#[must_use = "futures do nothing unless awaited"]
pub struct RawDumpFuture {
    timeout_ms: c_int,
    /* The runtime's dump future, created at the first poll; None before
     * and after completion. */
    c: Option<CDump>,
    /* The waker of the last poll, lent to the runtime as a trt_waker. */
    waker: Option<Arc<Waker>>,
    done: bool,
}

/// The runtime's dump future and the sink it writes into, freed in that
/// order.
struct CDump {
    fut: *mut TrtFuture,
    sink: Box<Sink>,
}

/* Safety: the runtime's dump future may be polled and freed from any
 * thread (one at a time, which &mut guarantees); the sink is a Mutex. */
unsafe impl Send for CDump {}
/* Safety: &RawDumpFuture gives access to nothing. */
unsafe impl Sync for RawDumpFuture {}

impl Drop for CDump {
    fn drop(&mut self) {
        /* Safety: fut is live and no longer polled.  A dump being served
         * is waited for; the sink (a field, dropped after this) outlives
         * the runtime's last write into it. */
        unsafe { ffi::trt_dump_future_free(self.fut) }
    }
}

impl RawDumpFuture {
    pub(crate) fn new(timeout: Duration) -> RawDumpFuture {
        RawDumpFuture {
            timeout_ms: timeout_ms(timeout),
            c: None,
            waker: None,
            done: false,
        }
    }
}

impl Future for RawDumpFuture {
    type Output = Result<RawDump, DumpError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "RawDumpFuture polled after it completed");
        if this.c.is_none() {
            let sink = Box::new(Sink {
                buf: Mutex::new(SinkBuf::default()),
            });
            let arg = &*sink as *const Sink as *mut c_void;
            /* Safety: the sink lives in a Box owned with the C future and
             * dropped after it. */
            let fut = unsafe { ffi::trt_dump_future_new_sink(tasktrace_rs_sink, arg, this.timeout_ms) };
            if fut.is_null() {
                this.done = true;
                return Poll::Ready(Err(DumpError::Failed(io::Error::last_os_error())));
            }
            this.c = Some(CDump { fut, sink });
        }
        let fut = this.c.as_ref().expect("created above").fut;
        /* The waker the runtime wakes when the dump is written.  In a
         * traced task's dump poll cx's waker is the tracing waker: this
         * clone is where the task reports that it waits here. */
        let tw = crate::bridge_waker(&mut this.waker, cx);
        let mut tcx = TrtContext { waker: &tw };
        /* Safety: fut is the live dump future; tw and the Arc it borrows
         * outlive the call (the runtime keeps clones, not tw). */
        let r = unsafe { ((*fut).poll)(fut, &mut tcx) };
        if r == TRT_PENDING {
            return Poll::Pending;
        }
        /* Safety: ready, so the doorbell thread is done with the future
         * and the sink; freeing a ready future does not wait. */
        let result = unsafe { ffi::trt_dump_future_result(fut) };
        let c = this.c.take().expect("created above");
        this.done = true;
        let sink = {
            let CDump { fut: _, ref sink } = c;
            match sink.buf.lock() {
                Ok(mut b) => std::mem::take(&mut *b),
                Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
            }
        };
        drop(c);
        Poll::Ready(raw_result(result, sink.bytes, sink.too_large))
    }
}

impl Drop for RawDumpFuture {
    fn drop(&mut self) {
        let c = match self.c.take() {
            Some(c) => c,
            None => return,
        };
        /* Safety: reading the state of a live dump future. */
        if unsafe { ffi::trt_dump_future_result(c.fut) } != -EINPROGRESS {
            return;
        }
        /* Freeing a dump future that is queued or being served waits
         * until the dump is written; from a task's poll that may be the
         * whole timeout (the task cannot report meanwhile), so a thread
         * of its own frees it.  If no thread can be made, the closure is
         * dropped with the error, which frees it here all the same. */
        let _ = std::thread::Builder::new()
            .name("tasktrace-drop".into())
            .spawn(move || drop(c));
    }
}

const EINPROGRESS: c_int = 115;

/// Dumps every traced task of the process, from inside it, with the
/// default timeout ([`DEFAULT_TIMEOUT`]): see [`dump_raw_timeout`].
pub fn dump_raw() -> RawDumpFuture {
    dump_raw_timeout(DEFAULT_TIMEOUT)
}

/// Dumps every traced task of the process, from inside it, waiting at most
/// `timeout` for the tasks to report.
///
/// Await it from any task, traced or not, on any executor, a
/// single-threaded one included: the runtime's doorbell thread wakes every
/// traced task, each one's executor polls it once more (with a waker that
/// records where it waits), and the dump is written once all have
/// reported.  The task awaiting the dump reports too, waiting here.
///
/// The result is `Ok` whenever a document was written, also a partial one
/// (a task did not report in time): [`RawDump::is_complete`] tells, and
/// the document's `"problems"` say what is missing.
pub fn dump_raw_timeout(timeout: Duration) -> RawDumpFuture {
    RawDumpFuture::new(timeout)
}

/// Dumps every traced task of the process, blocking the calling thread
/// until the dump is written or `timeout` has passed for the tasks (and a
/// second more for the runtime's thread to take the request).
///
/// For threads that poll no task: a main thread, a watchdog.  Called
/// inside a traced task's poll it fails at once with
/// [`DumpError::WouldDeadlock`] (that task could never report); await
/// [`dump_raw`] there.  It cannot tell a thread that polls untraced
/// futures (a tokio worker running an untraced task): calling it there
/// stalls the traced tasks of that worker until the timeout.
pub fn dump_raw_blocking(timeout: Duration) -> Result<RawDump, DumpError> {
    let name = CStr::from_bytes_with_nul(b"tasktrace-dump\0").expect("a C string");
    /* Safety: a plain system call; the fd is owned by the File below. */
    let fd = unsafe { ffi::memfd_create(name.as_ptr(), ffi::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(DumpError::Failed(io::Error::last_os_error()));
    }
    /* Safety: fd is a new descriptor that nothing else owns. */
    let mut file = unsafe { File::from_raw_fd(fd) };
    /* Safety: the runtime writes the dump to the fd and returns. */
    let result = unsafe { ffi::trt_dump_write(file.as_raw_fd(), timeout_ms(timeout)) };
    if result < 0 {
        return raw_result(result, Vec::new(), false);
    }
    let len = file.seek(SeekFrom::End(0)).map_err(DumpError::Failed)?;
    if len > MAX_DUMP_BYTES as u64 {
        return raw_result(result, Vec::new(), true);
    }
    file.seek(SeekFrom::Start(0)).map_err(DumpError::Failed)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_DUMP_BYTES as u64)
        .read_to_end(&mut bytes)
        .map_err(DumpError::Failed)?;
    raw_result(result, bytes, false)
}
