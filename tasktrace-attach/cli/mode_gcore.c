/* --gcore FILE: after the dump, a core of PID written to FILE with gdb's
 * gcore, to examine later with --core. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cli/diag.h"
#include "cli/exitcodes.h"
#include "cli/modes.h"
#include "cli/spawn.h"

struct gcore_run {
    const char *prefix; /* gcore writes PREFIX.PID */
    pid_t pid;
    char last[256]; /* gcore's last line: why, when it fails */
};

/* The child: gcore with nothing on stdin or stdout, its stderr the pipe. */
static void gcore_child(void *arg, int wfd)
{
    struct gcore_run *g = arg;
    char pidarg[16];
    snprintf(pidarg, sizeof(pidarg), "%d", (int)g->pid);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
    }
    dup2(wfd, STDERR_FILENO);
    execlp("gcore", "gcore", "-o", g->prefix, pidarg, (char *)NULL);
    _exit(errno == ENOENT ? 127 : 126);
}

/* Keeps the last line of what gcore says. */
static void gcore_line(void *arg, char *buf, size_t n)
{
    struct gcore_run *g = arg;
    char *line, *save = NULL;
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        snprintf(g->last, sizeof(g->last), "%s", line);
}

/* Gcore wrote PREFIX.PID (MADE) with STATUS: moves it to FILE (SAFE, its
 * name escaped).  Returns 0, or EXIT_FATAL after saying why. */
static int gcore_result(struct gcore_run *g, int status, const char *made, const char *file,
                        const char *safe)
{
    struct stat st;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        fatal("GCORE", "cannot write a core of PID %d: gcore (from gdb) is not installed",
              (int)g->pid);
        return EXIT_FATAL;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || stat(made, &st) != 0) {
        char why[4 * sizeof(g->last) + 1];
        fatal("GCORE", "cannot write a core of PID %d to %s: gcore failed%s%s", (int)g->pid, safe,
              g->last[0] ? ": " : "", esc(why, sizeof(why), g->last, false));
        unlink(made);
        return EXIT_FATAL;
    }
    if (rename(made, file) != 0) {
        fatal("GCORE", "cannot write a core of PID %d to %s: %s", (int)g->pid, safe,
              strerror(errno));
        unlink(made);
        return EXIT_FATAL;
    }
    msg("wrote a core of PID %d to %s (read it with --core)", (int)g->pid, safe);
    return 0;
}

int mode_gcore(pid_t pid, const char *file)
{
    char prefix[4096], made[4200], safe[4 * 256 + 4];
    esc(safe, sizeof(safe), file, false);
    if (snprintf(prefix, sizeof(prefix), "%s", file) >= (int)sizeof(prefix)) {
        fatal("GCORE", "cannot write a core of PID %d to %s: the path is too long", (int)pid, safe);
        return EXIT_FATAL;
    }
    snprintf(made, sizeof(made), "%s.%d", prefix, (int)pid);
    struct gcore_run g = {.prefix = prefix, .pid = pid};
    struct spawn sp = {.stop = NULL};
    int err = spawn_start(&sp, gcore_child, &g);
    if (err != 0) {
        fatal("GCORE", "cannot write a core of PID %d: %s", (int)pid, strerror(-err));
        return EXIT_FATAL;
    }
    int status = 0;
    spawn_finish(&sp, gcore_line, &g, &status);
    return gcore_result(&g, status, made, file, safe);
}
