/* --compare A.json B.json: two dumps saved with --json compared
 * (compare.h), the tasks that did not move first. */
#include <stdlib.h>

#include "model/compare.h"
#include "views/render.h"
#include "cli/diag.h"
#include "cli/exitcodes.h"
#include "cli/modes.h"
#include "cli/session.h"

/* Prints the comparison C (text, or JSON), or, when it cannot, the one
 * line that says why; returns the exit status of compare_print's
 * verdict, or EXIT_FATAL. */
int compare_report(struct compare *c, bool json)
{
    char why[512];
    const char *code = NULL;
    int verdict = compare_print(c, json, stdout, why, sizeof(why), &code);
    switch (verdict) {
    case COMPARE_VERDICT_STILL:
        return EXIT_NOT_MOVED;
    case COMPARE_VERDICT_PARTIAL:
        return EXIT_PARTIAL;
    case COMPARE_VERDICT_MOVED:
        return EXIT_COMPLETE;
    default:
        fatal(code, "%s", why);
        return EXIT_FATAL;
    }
}

/* --compare A.json B.json: two saved dumps compared (compare.h).  Returns
 * the exit code. */
int mode_compare(struct session *ss)
{
    const char *paths[2] = {ss->o.compare, ss->o.compare2};
    struct compare c = {0};
    char why[512], causes[128], safe[4 * 256 + 1];
    const char *code = "FAILED";
    int rc = EXIT_FATAL;
    for (int i = 0; i < 2; i++) {
        char *buf = NULL;
        size_t len = 0;
        esc(safe, sizeof(safe), paths[i], false);
        int err = compare_read_file(paths[i], &buf, &len, why, sizeof(why), &code);
        if (err == 0)
            err = compare_add(&c, buf, len, causes, sizeof(causes), why, sizeof(why), &code);
        free(buf);
        if (err != 0) {
            fatal(code, "cannot compare %s: %s", safe, why);
            goto out;
        }
        if (causes[0])
            msg("%s is a partial dump (%s): a task it missed may show as moved", safe, causes);
    }
    rc = compare_report(&c, ss->o.json);
out:
    compare_free(&c);
    return rc;
}
