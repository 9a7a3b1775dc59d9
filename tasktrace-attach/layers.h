/* The tool's layers.  Nothing to include: this header only says how the
 * folders of tasktrace-attach/ are stacked, so a newcomer knows where a
 * file belongs and what it may call.
 *
 * Each folder is one layer, listed from the bottom up.  A file calls only
 * its own layer and the layers below it, never one above, and includes
 * headers written folder-qualified from tasktrace-attach/
 * (#include "model/dump.h"), so the layer of every include shows in the
 * line itself.  tests/test-layers.sh, run by make check, fails when a
 * file includes a header of a layer above its own; it reads the order
 * from the line below:
 *
 *   layers: util target symbols model views cli
 *
 *   util/     what needs nothing of the tool: the JSON reader (jsonread),
 *             escaping the target's bytes for a terminal and for JSON over
 *             one UTF-8 check (escape), durations (duration), the one
 *             stderr writer, which cli's messages go through too (diag)
 *   target/   the process and its files: /proc and process memory (proc),
 *             safe files (safefile), the doorbell (doorbell), the
 *             runtime's structures (rtread), ring records (records), thread
 *             stops (thread), the watchdog that stops nothing for long
 *             (watchdog), core files (core)
 *   symbols/  from addresses to names: the one seam for finding modules'
 *             files (findfile: a live process, a core, a saved dump side
 *             by side), separate debug files (finddebug), a saved dump's
 *             files and debuginfod (findsaved), a core's modules
 *             (findcore), ELF bounds (elfcheck),
 *             the loader's mappings (modmap), lookup (lookup), the frame
 *             types every layer above shares (frame.h), unwinding a
 *             stopped thread's stack (unwind)
 *   model/    the dump the tool builds: its types (model.h), building it
 *             from the runtime's data (dump), the live stacks of polling
 *             threads (livestack), a core's threads (corethreads), a saved
 *             dump symbolized (symbolize), trimming live stacks (trim), the
 *             task tree (tree), grouping (group), filters (filter),
 *             comparing two dumps (compare)
 *   views/    printing a dump: render.h, text (render_text), JSON
 *             (render_json), folded stacks (render_folded), the report
 *             of a comparison of dumps (render_compare), where the
 *             output goes (render_out)
 *   cli/      the command line: main.c (picks the mode), the options
 *             and --help (options), the exit statuses (exitcodes.h), its
 *             stderr lines (diag), the ways a dump is incomplete
 *             (problems), what every mode shares (session), running a
 *             child (spawn), one file per mode (modes.h: mode_live,
 *             mode_core, mode_symbolize, mode_compare, mode_repeat,
 *             mode_gcore)
 */
#ifndef TT_LAYERS_H
#define TT_LAYERS_H
#endif
