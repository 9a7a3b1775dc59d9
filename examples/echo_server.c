/* echo_server: a TCP echo server on 127.0.0.1 with one task per connection.
 *
 * The task "listener" waits for its socket to be readable, accepts, and
 * spawns a task "conn 127.0.0.1:PORT" per connection, which waits for data,
 * echoes it back (waiting for room to write when the peer reads slowly) and
 * finishes at end of file.  A dump shows idle connections in
 * conn_poll -> conn_read_poll -> trt_fd_readable_poll.
 *
 * Usage: echo_server [--port N] (0, the default, picks a free port).  Prints
 * "pid <PID>" and "port <N>", then serves until killed.  Exit status 1 on
 * error, 64 on bad usage. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* accept4 */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <tasktrace/exec.h>

#include "example.h"

/* See taskdump.c: keeps each poll a frame of its own. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
#define POLL_FN __attribute__((noinline))

struct conn {
    trt_future base;
    int fd;
    bool waiting; /* `wait` is initialized and pending */
    bool writing; /* echoing buf[off..len) */
    trt_fd_wait wait;
    trt_exec *ex;
    size_t len, off;
    char buf[4096];
};

struct listener {
    trt_future base;
    int fd;
    bool waiting;     /* `wait` is initialized and pending */
    bool backing_off; /* `backoff` is initialized and pending */
    trt_fd_wait wait;
    trt_sleep backoff;
    trt_exec *ex;
};

/* Starts a readiness wait unless one is pending. */
static void conn_wait_start(struct conn *c, bool writable)
{
    if (c->waiting)
        return;
    if (writable)
        trt_fd_writable_init(&c->wait, c->ex, c->fd);
    else
        trt_fd_readable_init(&c->wait, c->ex, c->fd);
    c->waiting = true;
}

/* Reads into buf; READY with len > 0 for data, len == 0 at end of file or
 * on an error. */
static POLL_FN trt_poll conn_read_poll(struct conn *c, trt_context *cx)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);
        if (n >= 0) {
            c->len = (size_t)n;
            c->off = 0;
            return TRT_READY;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            c->len = 0;
            return TRT_READY;
        }
        conn_wait_start(c, false);
        trt_poll r = trt_future_poll(&c->wait.base, cx);
        KEEP_FRAME();
        if (r == TRT_PENDING)
            return TRT_PENDING;
        c->waiting = false;
    }
}

/* Writes buf[off..len); READY when all is written, or with off = len = 0 on
 * an error. */
static POLL_FN trt_poll conn_write_poll(struct conn *c, trt_context *cx)
{
    while (c->off < c->len) {
        ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (n >= 0) {
            c->off += (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            c->off = c->len = 0;
            return TRT_READY;
        }
        conn_wait_start(c, true);
        trt_poll r = trt_future_poll(&c->wait.base, cx);
        KEEP_FRAME();
        if (r == TRT_PENDING)
            return TRT_PENDING;
        c->waiting = false;
    }
    return TRT_READY;
}

/* Alternates reading and echoing.  Each step has one call site, so every
 * idle connection shows the same conn_poll frame. */
static POLL_FN trt_poll conn_poll(trt_future *f, trt_context *cx)
{
    struct conn *c = (struct conn *)f;
    for (;;) {
        trt_poll r = c->writing ? conn_write_poll(c, cx) : conn_read_poll(c, cx);
        KEEP_FRAME();
        if (r == TRT_PENDING)
            return TRT_PENDING;
        if (c->len == 0)
            return TRT_READY; /* end of file, or the peer went away */
        c->writing = !c->writing;
    }
}

static void conn_done(void *arg, int status)
{
    struct conn *c = arg;
    (void)status;
    /* Cancelled tasks may still wait; finished ones have nothing to drop. */
    if (c->waiting)
        trt_fd_wait_drop(&c->wait);
    close(c->fd);
    free(c);
}

static void conn_spawn(trt_exec *ex, int fd, const struct sockaddr_in *peer)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    c->base.poll = conn_poll;
    c->fd = fd;
    c->ex = ex;
    char name[64], addr[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &peer->sin_addr, addr, sizeof(addr));
    snprintf(name, sizeof(name), "conn %s:%u", addr, (unsigned)ntohs(peer->sin_port));
    int err = trt_exec_spawn(ex, &c->base, name, conn_done, c);
    if (err < 0) {
        fprintf(stderr, "echo_server: spawn %s: %s\n", name, strerror(-err));
        close(fd);
        free(c);
    }
}

static POLL_FN trt_poll listener_poll(trt_future *f, trt_context *cx)
{
    struct listener *l = (struct listener *)f;
    for (;;) {
        if (l->waiting) {
            trt_poll r = trt_future_poll(&l->wait.base, cx);
            KEEP_FRAME();
            if (r == TRT_PENDING)
                return TRT_PENDING;
            l->waiting = false;
        }
        if (l->backing_off) {
            trt_poll r = trt_future_poll(&l->backoff.base, cx);
            KEEP_FRAME();
            if (r == TRT_PENDING)
                return TRT_PENDING;
            l->backing_off = false;
        }
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_spawn(l->ex, fd, &peer);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            trt_fd_readable_init(&l->wait, l->ex, l->fd);
            l->waiting = true;
        } else if (errno != EINTR && errno != ECONNABORTED) {
            /* Out of fds and the like: the socket stays readable, so
             * waiting for it would spin.  Back off for 100 ms instead. */
            perror("echo_server: accept");
            trt_sleep_init(&l->backoff, l->ex, 100000000u);
            l->backing_off = true;
        }
    }
}

int main(int argc, char **argv)
{
    unsigned long port = 0;
    int rc = example_option(argc, argv, "echo_server", "--port", 0, 65535, &port);
    if (rc != 0)
        return rc;

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("echo_server: socket");
        return 1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t salen = sizeof(sa);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
        fprintf(stderr, "echo_server: listen on 127.0.0.1:%lu: %s\n", port, strerror(errno));
        return 1;
    }

    trt_exec *ex = trt_exec_new();
    if (!ex) {
        perror("echo_server: trt_exec_new");
        return 1;
    }
    struct listener l = {.base = {listener_poll}, .fd = fd, .ex = ex};
    int err = trt_exec_spawn(ex, &l.base, "listener", NULL, NULL);
    if (err < 0) {
        fprintf(stderr, "echo_server: spawn listener: %s\n", strerror(-err));
        return 1;
    }
    char line[32];
    snprintf(line, sizeof(line), "port %u\n", (unsigned)ntohs(sa.sin_port));
    return example_serve(ex, "echo_server", line);
}
