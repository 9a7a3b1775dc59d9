//! One task's await tree, from a raw dump of the process: its stacks
//! symbolized here, in the process, with the `backtrace` crate (gimli and
//! addr2line over the binaries' DWARF), trimmed and merged as
//! tasktrace-attach trims and merges them (tasktrace-attach/model/tree.c).

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::os::raw::c_void;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::dump::DumpError;
use crate::json::Value;

/* The names the default view trims by, as protocol/tasktrace/protocol.h
 * defines them (TRT_FN_*); a unit test checks the two agree. */

/// The runtime's task wrapper (`TRT_FN_TRACED_POLL`,
/// `TRT_FN_TRACED_POLL_TRACING`): everything above it is the executor.
pub(crate) const WRAPPERS: [&str; 2] = ["trt__traced_poll", "trt__traced_poll_tracing"];
/// `TRT_FN_INTERNAL_PREFIX`: below the wrapper, the first such frame is
/// where the capture starts.
pub(crate) const INTERNAL_PREFIX: &str = "trt__";
/// `TRT_FN_ABI_HELPERS`: hidden wherever they stand.
pub(crate) const ABI_HELPERS: [&str; 7] = [
    "trt_future_poll",
    "trt_waker_clone",
    "trt_waker_wake",
    "trt_waker_wake_by_ref",
    "trt_waker_drop",
    "trt_waker_will_wake",
    "trt_future_poll_chained",
];
/// `TRT_FN_GLUE_ENTRY_PREFIXES`: the task's own future starts below the
/// innermost of these.
pub(crate) const GLUE_ENTRY_PREFIXES: [&str; 2] =
    ["tasktrace::tasktrace_rs_poll", "tasktrace::tasktrace_rs_enter"];
/// `TRT_FN_GLUE_HIDDEN_PREFIXES`: hidden wherever they stand.
pub(crate) const GLUE_HIDDEN_PREFIXES: [&str; 3] = [
    "tasktrace::tasktrace_rs_",
    "<core::task::wake::Waker as core::clone::Clone>::clone",
    "core::task::wake::Waker::wake_by_ref",
];
/// `TRT_FN_GLUE_SPAWN_PREFIXES`: the crate's inlined functions that
/// register a task for their caller.
pub(crate) const GLUE_SPAWN_PREFIXES: [&str; 1] = ["tasktrace::traced"];

/// The deepest tree printed or built (tasktrace-attach's TREE_MAX_DEPTH).
const MAX_DEPTH: usize = 512;
/// The most frames one address gives (a function and those inlined in
/// it, at that address).
const MAX_FRAMES_PER_PC: usize = 64;
/// The runtime's deepest record (TRT_RECORD_MAX_PCS), for the header.
const RECORD_MAX_PCS: usize = 60;

/// One frame of a stack: a function, real or inlined, at an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    function: Option<String>,
    file: Option<PathBuf>,
    line: Option<u32>,
    column: Option<u32>,
    inlined: bool,
    module: Option<String>,
    offset: Option<u64>,
    pc: u64,
}

impl Frame {
    /// The function's demangled name, without the hash of Rust's legacy
    /// mangling (`taskdump::foo::{{closure}}`); `None` when nothing names
    /// the address.
    pub fn function(&self) -> Option<&str> {
        self.function.as_deref()
    }

    /// The source file, as the debug information names it.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The line in [`file`](Self::file): for a caller, the line of the
    /// call (or `.await`) it is in.
    pub fn line(&self) -> Option<u32> {
        self.line
    }

    /// The column on that line.
    pub fn column(&self) -> Option<u32> {
        self.column
    }

    /// Whether the function was inlined into the frame before it (the
    /// two share the address).
    pub fn is_inlined(&self) -> bool {
        self.inlined
    }

    /// The path of the module (executable or shared library) the address
    /// is in, as the runtime found it.
    pub fn module(&self) -> Option<&str> {
        self.module.as_deref()
    }

    /// The address's offset in [`module`](Self::module).
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }

    /// The address: a return address (the instruction after a call),
    /// symbolized at the call.
    pub fn pc(&self) -> u64 {
        self.pc
    }

    /// Whether `self` and `other` are the same node of a tree, as
    /// tasktrace-attach merges frames (tree_frame_equal): the same
    /// function at the same source position in the same module, whatever
    /// the address; a frame without a function by its module and offset.
    pub fn same_place(&self, other: &Frame) -> bool {
        if self.module != other.module {
            return false;
        }
        if self.function.is_none() || other.function.is_none() {
            return self.function == other.function
                && match self.module {
                    Some(_) => self.offset == other.offset,
                    None => self.pc == other.pc,
                };
        }
        self.function == other.function
            && self.file == other.file
            && self.line == other.line
            && self.column == other.column
            && self.inlined == other.inlined
    }

    #[cfg(test)]
    pub(crate) fn for_test(function: Option<&str>, module: &str, pc: u64) -> Frame {
        Frame {
            function: function.map(str::to_owned),
            file: None,
            line: None,
            column: None,
            inlined: false,
            module: Some(module.to_owned()),
            offset: Some(pc),
            pc,
        }
    }

    fn is_named(&self, name: &str) -> bool {
        match &self.function {
            Some(f) => {
                f.starts_with(name)
                    && matches!(f.as_bytes().get(name.len()), None | Some(b'+') | Some(b'.'))
            }
            None => false,
        }
    }

    fn starts_with_any(&self, prefixes: &[&str]) -> bool {
        match &self.function {
            Some(f) => prefixes.iter().any(|p| f.starts_with(p)),
            None => false,
        }
    }

    fn is_internal(&self) -> bool {
        self.starts_with_any(&[INTERNAL_PREFIX])
    }

    fn is_hidden(&self) -> bool {
        ABI_HELPERS.iter().any(|h| self.is_named(h)) || self.starts_with_any(&GLUE_HIDDEN_PREFIXES)
    }
}

/// The frame as tasktrace-attach prints it: `function at file:line:col`,
/// `module+0xoffset` when no function names it.
impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.function, &self.module, self.offset) {
            (Some(name), _, _) => escaped(f, name, false)?,
            (None, Some(m), Some(off)) => {
                escaped(f, m.rsplit('/').find(|s| !s.is_empty()).unwrap_or(m), false)?;
                write!(f, "+{:#x}", off)?;
            }
            _ => write!(f, "{:#x}", self.pc)?,
        }
        if let Some(file) = &self.file {
            f.write_str(" at ")?;
            escaped(f, &file.to_string_lossy(), false)?;
            if let Some(line) = self.line.filter(|&l| l > 0) {
                write!(f, ":{}", line)?;
                if let Some(col) = self.column.filter(|&c| c > 0) {
                    write!(f, ":{}", col)?;
                }
            }
        }
        if self.inlined {
            f.write_str(" [inlined]")?;
        }
        Ok(())
    }
}

/// Writes `s` with control characters (C0, DEL, C1) as `\xNN`, and with
/// `quote` also `"` and `\` escaped, as tasktrace-attach prints names.
fn escaped(f: &mut fmt::Formatter<'_>, s: &str, quote: bool) -> fmt::Result {
    for c in s.chars() {
        match c {
            '"' | '\\' if quote => write!(f, "\\{}", c)?,
            '\u{0}'..='\u{1f}' | '\u{7f}' => write!(f, "\\x{:02x}", c as u32)?,
            '\u{80}'..='\u{9f}' => {
                let mut buf = [0u8; 2];
                for b in c.encode_utf8(&mut buf).bytes() {
                    write!(f, "\\x{:02x}", b)?;
                }
            }
            _ => f.write_char(c)?,
        }
    }
    Ok(())
}

/// One captured stack, root first: from the task's own future down to the
/// leaf that cloned the waker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    frames: Vec<Frame>,
    count: u64,
}

impl Stack {
    /// The frames, root first.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// How many captures had exactly this stack (a task that joins 16 like
    /// leaves has one stack with count 16).
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// A node of a task's await tree: a frame, and the frames it awaits
/// below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    frame: Frame,
    children: Vec<TreeNode>,
    leaves: u64,
}

impl TreeNode {
    /// This node's frame.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The frames called from this one, in the order first captured.
    pub fn children(&self) -> &[TreeNode] {
        &self.children
    }

    /// How many captured stacks pass through this node.
    pub fn leaves(&self) -> u64 {
        self.leaves
    }
}

/// One task's trace, from a dump taken inside the process: what
/// [`TraceHandle::backtrace`](crate::TraceHandle::backtrace) returns.
///
/// `Display` prints it as tasktrace-attach prints a task: its header,
/// where it was spawned, and its await tree; the alternate form (`{:#}`)
/// prints every frame, the executor's and the runtime's included (the
/// tool's `--raw`).
#[derive(Debug, Clone)]
pub struct TaskTrace {
    id: u64,
    name: String,
    state: String,
    polls: u64,
    idle: Option<Duration>,
    poll_time: Option<Duration>,
    tid: Option<u64>,
    suspect: bool,
    truncated: bool,
    stacks_lost: bool,
    complete: bool,
    problems: Vec<String>,
    spawned_at: Option<Frame>,
    stacks: Vec<Stack>,
    raw_stacks: Vec<Stack>,
}

impl TaskTrace {
    /// The task's id, as dumps show it.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `"idle"` (waiting to be polled) or `"polling"` (inside an executor
    /// poll when the dump started).
    pub fn state(&self) -> &str {
        &self.state
    }

    /// Polls by its executor (the dump's own poll not counted).
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// Time since its executor's last poll ended; `None` if never polled.
    pub fn idle(&self) -> Option<Duration> {
        self.idle
    }

    /// For a task that was inside a poll when the dump started: the
    /// thread polling it and how long that poll had lasted.
    pub fn polling(&self) -> Option<(u64, Option<Duration>)> {
        self.tid.map(|t| (t, self.poll_time))
    }

    /// Lost wake-up suspect: the dump's poll returned pending without
    /// cloning or waking the waker, so nothing the runtime sees will wake
    /// the task.
    pub fn is_suspect(&self) -> bool {
        self.suspect
    }

    /// A stack was deeper than the runtime records: its root side is cut.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Some captures were lost before the dump was written: leaves may be
    /// missing.
    pub fn stacks_lost(&self) -> bool {
        self.stacks_lost
    }

    /// Whether the whole dump it came from was complete; this task
    /// reported either way.
    pub fn dump_complete(&self) -> bool {
        self.complete
    }

    /// The dump's problems (why it is not complete), one line each.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Where the task was created (the line that called
    /// [`traced`](crate::traced) or
    /// [`traced_with_handle`](crate::traced_with_handle)).
    pub fn spawned_at(&self) -> Option<&Frame> {
        self.spawned_at.as_ref()
    }

    /// The task's stacks, trimmed to its own frames: each from the task's
    /// future down to a leaf.
    pub fn stacks(&self) -> &[Stack] {
        &self.stacks
    }

    /// The same stacks untrimmed: from the thread's start through the
    /// executor, the task and its leaf down to the runtime's capture.
    pub fn raw_stacks(&self) -> &[Stack] {
        &self.raw_stacks
    }

    /// The trimmed stacks merged into the await tree: stacks that share
    /// their first frames share those nodes.  Usually one root.
    pub fn tree(&self) -> Vec<TreeNode> {
        build_tree(&self.stacks)
    }

    /// The untrimmed stacks merged.
    pub fn raw_tree(&self) -> Vec<TreeNode> {
        build_tree(&self.raw_stacks)
    }
}

fn build_tree(stacks: &[Stack]) -> Vec<TreeNode> {
    let mut roots: Vec<TreeNode> = Vec::new();
    for s in stacks {
        let mut level = &mut roots;
        for frame in s.frames.iter().take(MAX_DEPTH) {
            let i = match level.iter().position(|n| n.frame.same_place(frame)) {
                Some(i) => i,
                None => {
                    level.push(TreeNode {
                        frame: frame.clone(),
                        children: Vec::new(),
                        leaves: 0,
                    });
                    level.len() - 1
                }
            };
            level[i].leaves += s.count;
            level = &mut level[i].children;
        }
    }
    roots
}

/// A duration as tasktrace-attach writes it: `950ns`, `12ms`, `3.11s`,
/// `2m05s`, `1h02m`, `3d04h`.
pub(crate) fn duration_text(d: Duration) -> String {
    let ns = d.as_nanos();
    let (us, ms, s) = (1_000u128, 1_000_000u128, 1_000_000_000u128);
    let (min, h, day) = (60 * s, 3600 * s, 86400 * s);
    if ns < us {
        format!("{}ns", ns)
    } else if ns < ms {
        format!("{}us", ns / us)
    } else if ns < s {
        format!("{}ms", ns / ms)
    } else if ns < min {
        format!("{}.{:02}s", ns / s, ns % s / (10 * ms))
    } else if ns < h {
        format!("{}m{:02}s", ns / min, ns % min / s)
    } else if ns < day {
        format!("{}h{:02}m", ns / h, ns % h / min)
    } else {
        format!("{}d{:02}h", ns / day, ns % day / h)
    }
}

impl fmt::Display for TaskTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {} \"", self.id)?;
        escaped(f, &self.name, true)?;
        write!(f, "\" {}", self.state)?;
        if self.state == "polling" {
            /* How long the poll has lasted, not the last one's end. */
            if let Some(d) = self.poll_time {
                write!(f, " for {}", duration_text(d))?;
            }
            if let Some(tid) = self.tid {
                write!(f, " on thread {}", tid)?;
            }
            f.write_str(",")?;
        } else {
            match self.idle {
                Some(d) => write!(f, " {} since last poll,", duration_text(d))?,
                None if self.polls == 0 => f.write_str(" never polled,")?,
                None => f.write_str(",")?,
            }
        }
        write!(f, " {} {}", self.polls, if self.polls == 1 { "poll" } else { "polls" })?;
        if self.suspect {
            f.write_str(" [lost wake-up suspect: pending without waker]")?;
        }
        if self.truncated {
            write!(f, " [stack cut at the root: deeper than {} frames]", RECORD_MAX_PCS)?;
        }
        if self.stacks_lost {
            f.write_str(" [stacks lost]")?;
        }
        f.write_str("\n")?;
        if let Some(s) = &self.spawned_at {
            f.write_str("  spawned at ")?;
            match (&s.file, &s.function) {
                (Some(file), func) => {
                    escaped(f, &file.to_string_lossy(), false)?;
                    if let Some(l) = s.line.filter(|&l| l > 0) {
                        write!(f, ":{}", l)?;
                    }
                    if let Some(func) = func {
                        f.write_str(" (")?;
                        escaped(f, func, false)?;
                        f.write_str(")")?;
                    }
                }
                (None, Some(func)) => escaped(f, func, false)?,
                (None, None) => write!(f, "{}", s)?,
            }
            f.write_str("\n")?;
        }
        let (stacks, tree) = if f.alternate() {
            (&self.raw_stacks, self.raw_tree())
        } else {
            (&self.stacks, self.tree())
        };
        if stacks.is_empty() {
            return f.write_str("  (no stacks captured)\n");
        }
        if tree.is_empty() {
            return f.write_str("  (every captured frame was trimmed)\n");
        }
        let mut prefix = String::new();
        for root in &tree {
            f.write_str("╼ ")?;
            write_node(f, root)?;
            prefix.clear();
            prefix.push_str("  ");
            write_children(f, root, &mut prefix)?;
        }
        Ok(())
    }
}

fn write_node(f: &mut fmt::Formatter<'_>, n: &TreeNode) -> fmt::Result {
    write!(f, "{}", n.frame)?;
    if n.children.is_empty() && n.leaves > 1 {
        write!(f, " \u{d7}{}", n.leaves)?;
    }
    f.write_str("\n")
}

/* Depth is bounded by MAX_DEPTH (build_tree), so is the recursion. */
fn write_children(f: &mut fmt::Formatter<'_>, n: &TreeNode, prefix: &mut String) -> fmt::Result {
    let saved = prefix.len();
    for (i, c) in n.children.iter().enumerate() {
        let last = i + 1 == n.children.len();
        f.write_str(prefix)?;
        f.write_str(if last { "└╼ " } else { "├╼ " })?;
        write_node(f, c)?;
        prefix.push_str(if last { "   " } else { "│  " });
        write_children(f, c, prefix)?;
        prefix.truncate(saved);
    }
    Ok(())
}

/// Trims one untrimmed stack as tasktrace-attach's default view does
/// (tree_trim_stack): from below the runtime's wrapper and the crate's
/// entry glue, down to the frame above the runtime's capture, without the
/// ABI helpers and the waker glue a leaf goes through.
pub(crate) fn trim(frames: &[Frame]) -> Vec<Frame> {
    let mut begin = frames
        .iter()
        .rposition(|f| WRAPPERS.iter().any(|w| f.is_named(w)))
        .map_or(0, |i| i + 1);
    for (i, f) in frames.iter().enumerate().skip(begin) {
        if f.is_internal() {
            break;
        }
        if f.starts_with_any(&GLUE_ENTRY_PREFIXES) {
            begin = i + 1;
        }
    }
    /* The capture starts at the first runtime-internal frame.  A runtime
     * without symbols names none of them: then it starts at the first
     * unnamed frame in the capture's own module (the stack's last). */
    let capture_module = frames.last().and_then(|f| f.module.as_deref());
    let end = frames
        .iter()
        .enumerate()
        .skip(begin)
        .find(|(_, f)| f.is_internal())
        .or_else(|| {
            frames.iter().enumerate().skip(begin).find(|(_, f)| {
                f.function.is_none() && f.module.is_some() && f.module.as_deref() == capture_module
            })
        })
        .map_or(frames.len(), |(i, _)| i);
    frames[begin..end.max(begin)]
        .iter()
        .filter(|f| !f.is_hidden())
        .cloned()
        .collect()
}

/// Symbolizes addresses of this process with the `backtrace` crate,
/// each once.
#[derive(Default)]
struct Symbolizer {
    cache: HashMap<u64, Vec<Frame>>,
}

impl Symbolizer {
    /// The frames at return address `pc`, outermost first: the function
    /// that holds the address, then each function inlined into it there.
    fn frames(&mut self, pc: u64, module: Option<&str>, offset: Option<u64>) -> &[Frame] {
        self.cache.entry(pc).or_insert_with(|| {
            let mut found: Vec<Frame> = Vec::new();
            /* resolve() looks up pc - 1, inside the call: the address is
             * a return address. */
            backtrace::resolve(pc as usize as *mut c_void, |sym| {
                if found.len() >= MAX_FRAMES_PER_PC {
                    return;
                }
                found.push(Frame {
                    function: sym.name().map(|n| format!("{:#}", n)),
                    file: sym.filename().map(Path::to_path_buf),
                    line: sym.lineno(),
                    column: sym.colno(),
                    inlined: false,
                    module: module.map(str::to_owned),
                    offset,
                    pc,
                });
            });
            if found.is_empty() {
                found.push(Frame {
                    function: None,
                    file: None,
                    line: None,
                    column: None,
                    inlined: false,
                    module: module.map(str::to_owned),
                    offset,
                    pc,
                });
            }
            /* backtrace gives the innermost (inlined) function first. */
            found.reverse();
            for f in found.iter_mut().skip(1) {
                f.inlined = true;
            }
            found
        })
    }

    /// A raw frame of the document (module, offset, pc; no names).
    fn raw_frame(&mut self, v: &Value) -> Result<Vec<Frame>, DumpError> {
        let pc = v
            .get("pc")
            .and_then(Value::as_hex)
            .ok_or_else(|| malformed("a frame without a pc"))?;
        let module = v.get("module").and_then(Value::as_str);
        let offset = v.get("offset").and_then(Value::as_hex);
        Ok(self.frames(pc, module, offset).to_vec())
    }
}

fn malformed(what: &str) -> DumpError {
    DumpError::Malformed(what.to_owned())
}

/// The trace of task `id` in the raw dump `doc` (already parsed).
pub(crate) fn task_trace(doc: &Value, id: u64) -> Result<TaskTrace, DumpError> {
    let tasks = doc
        .get("tasks")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("no tasks"))?;
    let complete = doc
        .get("complete")
        .and_then(Value::as_bool)
        .ok_or_else(|| malformed("no complete"))?;
    let problems: Vec<String> = doc
        .get("problems")
        .and_then(Value::as_array)
        .unwrap_or(&[])
        .iter()
        .filter_map(|p| p.get("message").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let task = tasks
        .iter()
        .find(|t| t.get("id").and_then(Value::as_u64) == Some(id))
        .ok_or(DumpError::NoSuchTask { id })?;
    let text = |key: &str| -> Result<String, DumpError> {
        task.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| malformed(&format!("a task without {}", key)))
    };
    let flag = |key: &str| task.get(key).and_then(Value::as_bool).unwrap_or(false);
    let state = text("state")?;
    if !flag("reported") {
        let message = if problems.is_empty() {
            "it was not polled within the timeout".to_owned()
        } else {
            problems.join("; ")
        };
        return Err(DumpError::Timeout { id, state, message });
    }
    let mut sym = Symbolizer::default();
    let counts = task.get("stack_counts").and_then(Value::as_array).unwrap_or(&[]);
    let mut raw_stacks = Vec::new();
    let mut stacks = Vec::new();
    for (i, s) in task
        .get("stacks")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("a task without stacks"))?
        .iter()
        .enumerate()
    {
        let mut frames = Vec::new();
        for v in s.as_array().ok_or_else(|| malformed("a stack that is not an array"))? {
            frames.extend(sym.raw_frame(v)?);
        }
        let count = counts.get(i).and_then(Value::as_u64).unwrap_or(1).max(1);
        let trimmed = trim(&frames);
        if !trimmed.is_empty() {
            stacks.push(Stack {
                frames: trimmed,
                count,
            });
        }
        raw_stacks.push(Stack { frames, count });
    }
    /* Where it was spawned: the innermost frame at the spawn address that
     * is not one of the crate's inlined spawning functions. */
    let spawned_at = match task.get("spawned_at") {
        Some(v @ Value::Object(_)) => sym
            .raw_frame(v)?
            .into_iter()
            .rev()
            .find(|f| !f.starts_with_any(&GLUE_SPAWN_PREFIXES)),
        _ => None,
    };
    Ok(TaskTrace {
        id,
        name: text("name")?,
        state,
        polls: task.get("polls").and_then(Value::as_u64).unwrap_or(0),
        idle: task.get("idle_ns").and_then(Value::as_u64).map(Duration::from_nanos),
        poll_time: task.get("poll_ns").and_then(Value::as_u64).map(Duration::from_nanos),
        tid: task.get("tid").and_then(Value::as_u64),
        suspect: flag("suspect"),
        truncated: flag("truncated"),
        stacks_lost: flag("stacks_lost"),
        complete,
        problems,
        spawned_at,
        stacks,
        raw_stacks,
    })
}
