/* Fork, pipe, drain, wait: once, for --repeat and --gcore. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

#include "cli/exitcodes.h"
#include "cli/spawn.h"

int spawn_start(struct spawn *sp, void (*child)(void *arg, int wfd), void *arg)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -errno;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child(arg, fds[1]);
        _exit(EXIT_FATAL);
    }
    int fork_errno = errno;
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -fork_errno;
    }
    sp->pid = pid;
    sp->fd = fds[0];
    sp->forwarded = false;
    return 0;
}

void spawn_forward(void *arg)
{
    struct spawn *sp = arg;
    if (sp->stop && *sp->stop && !sp->forwarded) {
        kill(sp->pid, SIGINT);
        sp->forwarded = true;
    }
}

int spawn_finish(struct spawn *sp, void (*sink)(void *arg, char *buf, size_t n), void *arg,
                 int *status)
{
    char buf[1 << 16];
    int err = 0;
    for (;;) {
        spawn_forward(sp);
        ssize_t n = read(sp->fd, buf, sizeof(buf) - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = -errno;
        if (n <= 0)
            break;
        buf[n] = '\0';
        if (sink != NULL)
            sink(arg, buf, (size_t)n);
    }
    close(sp->fd);
    sp->fd = -1;
    while (waitpid(sp->pid, status, 0) < 0 && errno == EINTR)
        spawn_forward(sp);
    return err;
}
