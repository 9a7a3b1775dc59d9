/* --symbolize FILE: a dump saved with --json (or a raw one) read back,
 * symbolized with the modules found here (symbolize.h), and printed as a
 * live one is. */
#include "cli/diag.h"
#include "cli/exitcodes.h"
#include "cli/modes.h"
#include "cli/session.h"
#include "model/symbolize.h"

int mode_symbolize(struct session *ss)
{
    char why[256], safe[512];
    int err = symbolize_load(ss->o.symbolize, &ss->d, &ss->symz, ss->o.short_names, select_cb,
                             &ss->o, why, sizeof(why));
    if (err != 0) {
        msg("cannot read the dump %s: %s", esc(safe, sizeof(safe), ss->o.symbolize, false), why);
        return EXIT_FATAL;
    }
    ss->o.pid = ss->d.pid;
    return session_report(ss);
}
