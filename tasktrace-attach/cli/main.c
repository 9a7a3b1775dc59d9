/* tasktrace-attach: dump the await trees of every traced task of a
 * process, a core file or a saved dump, or compare dumps.  main parses the
 * command line, picks the mode and exits with its status (exitcodes.h);
 * each mode is a file of its own (modes.h).  A reader that closes the
 * output early (| head) ends the tool quietly, with the status the dump
 * had. */
#include <signal.h>

#include "cli/exitcodes.h"
#include "model/filter.h"
#include "cli/modes.h"
#include "cli/options.h"
#include "cli/session.h"

int main(int argc, char **argv)
{
    struct session ss = {.t = {.pid = 0, .memfd = -1}, .started = true};
    int rc;

    /* A closed output shows as EPIPE from the writes, handled there. */
    signal(SIGPIPE, SIG_IGN);
    if (parse_options(argc, argv, &ss.o) < 0) {
        /* A --match compiled before the error is let go. */
        filter_free(&ss.o.filter);
        return EXIT_USAGE;
    }
    session_catch_interrupts();
    session_start_clock(&ss, 0);
    switch (ss.o.mode) {
    case MODE_COMPARE:
        rc = mode_compare(&ss);
        break;
    case MODE_REPEAT:
        rc = mode_repeat(&ss);
        break;
    case MODE_CORE:
        rc = mode_core(&ss);
        break;
    case MODE_SYMBOLIZE:
        rc = mode_symbolize(&ss);
        break;
    default:
        rc = mode_live(&ss);
        break;
    }
    return session_finish(&ss, rc);
}
