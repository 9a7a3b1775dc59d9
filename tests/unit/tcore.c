/* The crashing children of test_core.c and test_corethreads.c (tcore.h). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>

#include "tcore.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TCORE_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TCORE_SANITIZED 1
#endif

const char *core_child_missing(void)
{
    static char why[256];
#ifdef TCORE_SANITIZED
    /* Their shadow memory, terabytes of address space, would be dumped. */
    return "built with a sanitizer, whose shadow memory makes cores of terabytes";
#endif
    char pattern[256] = "";
    FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
    if (f) {
        if (!fgets(pattern, sizeof(pattern), f))
            pattern[0] = '\0';
        fclose(f);
    }
    pattern[strcspn(pattern, "\n")] = '\0';
    /* A pipe hands cores to a program (systemd-coredump, apport), an
     * absolute pattern puts them elsewhere: only "core..." lands in the
     * crashing process's directory under a name this test looks for. */
    if (strncmp(pattern, "core", 4) != 0) {
        snprintf(why, sizeof(why),
                 "kernel.core_pattern is '%.100s': cores do not land in the crashing "
                 "process's directory as core*",
                 pattern);
        return why;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_max == 0)
        return "the hard RLIMIT_CORE is 0: no core can be written";
    return NULL;
}

pid_t core_child_make(void (*body)(void), char *path, size_t len)
{
    char dir[] = "/tmp/tt-test-core-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit rl;
        if (chdir(dir) < 0 || getrlimit(RLIMIT_CORE, &rl) < 0)
            _exit(2);
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_CORE, &rl) < 0)
            _exit(3);
        /* The Check runner's handler would catch nothing here, but the
         * default action is what writes the core. */
        signal(SIGABRT, SIG_DFL);
        body();
        abort();
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "the crashing child ended with status 0x%x", status);
    ck_assert_msg(WCOREDUMP(status), "the kernel wrote no core for the child");
    /* "core" or "core.PID", whatever core_uses_pid says. */
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    path[0] = '\0';
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, "core", 4) == 0)
            snprintf(path, len, "%s/%s", dir, e->d_name);
    closedir(d);
    ck_assert_msg(path[0] != '\0', "no core file in %s", dir);
    return pid;
}

void core_child_remove(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    unlink(path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        rmdir(dir);
    }
}
