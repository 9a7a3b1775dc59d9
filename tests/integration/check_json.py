#!/usr/bin/env python3
"""Checks tasktrace-attach --json output against the text view of one dump.

usage: check_json.py JSON_FILE TEXT_FILE

The JSON must parse with Python's json module and hold the documented keys;
each task's stacks, merged by common prefix as the tool does, must print
exactly the text view's tree (frame by frame, at the same depth), and the
headers must agree on id, state and name.  Exits 0 when they agree.
"""
import json
import re
import sys

TASK_KEYS = ["id", "name", "state", "polls", "idle_ns", "tid", "reported", "suspect", "stacks",
             "truncated", "inherited"]
PROBLEM_KEYS = ["cause", "message"]
FRAME_KEYS = ["function", "file", "line", "column", "inlined", "module", "pc", "build_id", "offset"]
MODULE_KEYS = ["path", "build_id", "base"]


def fail(msg):
    sys.exit("check_json: " + msg)


def frame_text(f):
    s = f["function"] if f["function"] is not None else None
    if s is None:
        return None
    if f["file"] is not None:
        s += " at %s:%s:%s" % (f["file"], f["line"] or 0, f["column"] or 0)
    if f["inlined"]:
        s += " [inlined]"
    if f.get("tail_call"):
        s += " [tail call]"
    return s


def merged_lines(stacks):
    """Depth-first (depth, text) of the stacks merged by common prefix."""
    roots = []  # [key, frame, children]
    for stack in stacks:
        level = roots
        for f in stack:
            key = tuple(f[k] for k in ("function", "file", "line", "column", "inlined", "module")) \
                if f["function"] is not None else (f["module"], f["pc"])
            for node in level:
                if node[0] == key:
                    break
            else:
                node = [key, f, []]
                level.append(node)
            level = node[2]
    out = []

    def walk(nodes, depth):
        for n in nodes:
            out.append((depth, frame_text(n[1])))
            walk(n[2], depth + 1)
    walk(roots, 0)
    return out


PROBLEM_LINES = []


def check_module_of(f, modules):
    """A frame's module, build id and offset agree with the modules list."""
    if f["module"] is None:
        if f["offset"] is not None or f["build_id"] is not None:
            fail("frame without a module has an offset or build id: %r" % f)
        return
    base = modules.get((f["module"], f["build_id"]))
    if base is None:
        fail("frame's module is not in modules: %r" % f)
    if not re.fullmatch(r"0x[0-9a-f]+", f["offset"] or "") or \
            int(f["offset"], 16) != int(f["pc"], 16) - base:
        fail("frame offset is not pc - base (0x%x): %r" % (base, f))


def parse_text(path):
    tasks = []
    header = re.compile(r'^task (\d+) "(.*)" (idle|polling|done|unknown)')
    # A thread's stack under a polling task ("  live stack of thread N,
    # inside this poll now", or "  stack of thread N in the core" for a
    # core) is no tree of captured stacks: it runs to the next blank line.
    in_thread_stack = False
    for line in open(path, encoding="utf-8").read().splitlines():
        if in_thread_stack:
            in_thread_stack = line != ""
            continue
        if line.startswith("  live stack of thread ") or line.startswith("  stack of thread "):
            in_thread_stack = True
            continue
        if line.startswith("incomplete: "):
            PROBLEM_LINES.append(line[len("incomplete: "):])
            continue
        m = header.match(line)
        if m:
            tasks.append({"id": int(m.group(1)), "name": m.group(2), "state": m.group(3),
                          "lines": []})
            continue
        if "╼" in line:
            col = line.index("╼")
            tasks[-1]["lines"].append((col // 3, line[col + 2:]))
    return tasks


def main():
    doc = json.load(open(sys.argv[1], encoding="utf-8"))
    for k in ("version", "pid", "complete", "generation", "records_lost", "tasks",
              "records_torn", "problems", "modules"):
        if k not in doc:
            fail("missing top-level key %r" % k)
    if not isinstance(doc["pid"], int) or not isinstance(doc["complete"], bool):
        fail("pid/complete have the wrong types")
    # Every module a frame names is listed once, with its load bias:
    # pc = base + offset.
    modules = {}
    for m in doc["modules"]:
        if list(m.keys()) != MODULE_KEYS or not re.fullmatch(r"0x[0-9a-f]+", m["base"]):
            fail("module %r" % m)
        if m["build_id"] is not None and not re.fullmatch(r"([0-9a-f]{2}){3,64}", m["build_id"]):
            fail("module build id %r" % m)
        if (m["path"], m["build_id"]) in modules:
            fail("module listed twice: %r" % m)
        modules[(m["path"], m["build_id"])] = int(m["base"], 16)
    for p in doc["problems"]:
        if list(p.keys()) != PROBLEM_KEYS or not all(isinstance(v, str) for v in p.values()):
            fail("problem %r" % p)
    # Complete exactly when nothing is missing.
    if doc["complete"] != (not doc["problems"]):
        fail("complete is %s with problems %s" % (doc["complete"], doc["problems"]))
    text = parse_text(sys.argv[2])
    # The text view ends with the same problems, one line each.
    if PROBLEM_LINES != [p["message"] for p in doc["problems"]]:
        fail("problems differ: text %s, JSON %s" % (PROBLEM_LINES, doc["problems"]))
    if len(text) != len(doc["tasks"]):
        fail("%d tasks in JSON, %d in text" % (len(doc["tasks"]), len(text)))
    for jt, tt in zip(doc["tasks"], text):
        if list(jt.keys())[:len(TASK_KEYS)] != TASK_KEYS:
            fail("task keys %s" % list(jt.keys()))
        if jt["id"] != tt["id"] or jt["state"] != tt["state"]:
            fail("task %s header differs: %s vs %s" % (jt["id"], jt, tt))
        if jt["name"].isascii() and jt["name"].isprintable() and '"' not in jt["name"] and "\\" not in jt["name"] \
                and jt["name"] != tt["name"]:
            fail("task %s name %r vs %r" % (jt["id"], jt["name"], tt["name"]))
        for stack in jt["stacks"]:
            if not stack:
                fail("task %s has an empty stack" % jt["id"])
            for f in stack:
                if list(f.keys()) != FRAME_KEYS:
                    fail("frame keys %s" % list(f.keys()))
                if not re.fullmatch(r"0x[0-9a-f]+", f["pc"]):
                    fail("bad pc %r" % f["pc"])
                check_module_of(f, modules)
        want = merged_lines(jt["stacks"])
        got = tt["lines"]
        if len(want) != len(got):
            fail("task %s: %d frames in JSON, %d in text:\n%s\n%s" % (jt["id"], len(want), len(got), want, got))
        for (wd, wl), (gd, gl) in zip(want, got):
            if wd != gd or (wl is not None and wl != gl):
                fail("task %s: JSON frame %r at depth %d, text %r at depth %d" % (jt["id"], wl, wd, gl, gd))
    print("check_json: %d tasks agree" % len(text))


if __name__ == "__main__":
    main()
