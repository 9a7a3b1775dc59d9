/* deadlock: two tasks each waiting for the other's message.
 *
 * "alice" receives on channel A before she sends on B; "bob" receives on B
 * before he sends on A.  Neither message is ever sent, so both wait in
 * trt_chan_recv_poll forever, which a dump shows.  Usage: deadlock; prints
 * "pid <PID>" once both are waiting, then hangs until killed.  Exit status 1
 * on error. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <tasktrace/exec.h>

#include "example.h"

/* See taskdump.c: keeps each poll a frame of its own. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
#define POLL_FN __attribute__((noinline))

/* A party receives on `in`, then sends on `out`. */
struct party {
    trt_future base;
    trt_chan *in, *out;
    bool receiving;
    trt_chan_recv rx;
};

/* Starts the receive unless one is under way. */
static void party_start(struct party *p)
{
    if (!p->receiving) {
        trt_chan_recv_init(&p->rx, p->in);
        p->receiving = true;
    }
}

/* After the receive's poll: passes the message on once it arrived.  The
 * receive is polled by alice_poll and bob_poll themselves, so that a dump
 * shows them directly above trt_chan_recv_poll. */
static trt_poll party_finish(struct party *p, trt_poll r)
{
    if (r == TRT_PENDING)
        return TRT_PENDING;
    p->receiving = false;
    if (p->rx.err == 0)
        trt_chan_send(p->out, p->rx.value);
    return TRT_READY;
}

static POLL_FN trt_poll alice_poll(trt_future *f, trt_context *cx)
{
    struct party *p = (struct party *)f;
    party_start(p);
    trt_poll r = trt_future_poll(&p->rx.base, cx);
    KEEP_FRAME();
    return party_finish(p, r);
}

static POLL_FN trt_poll bob_poll(trt_future *f, trt_context *cx)
{
    struct party *p = (struct party *)f;
    party_start(p);
    trt_poll r = trt_future_poll(&p->rx.base, cx);
    KEEP_FRAME();
    return party_finish(p, r);
}

int main(void)
{
    trt_chan a, b;
    if (trt_chan_init(&a, 1) < 0 || trt_chan_init(&b, 1) < 0) {
        fprintf(stderr, "deadlock: trt_chan_init: out of memory\n");
        return 1;
    }
    trt_exec *ex = trt_exec_new();
    if (!ex) {
        perror("deadlock: trt_exec_new");
        return 1;
    }
    struct party alice = {.base = {alice_poll}, .in = &a, .out = &b};
    struct party bob = {.base = {bob_poll}, .in = &b, .out = &a};
    int err = trt_exec_spawn(ex, &alice.base, "alice", NULL, NULL);
    if (err == 0)
        err = trt_exec_spawn(ex, &bob.base, "bob", NULL, NULL);
    if (err < 0) {
        fprintf(stderr, "deadlock: spawn: %s\n", strerror(-err));
        return 1;
    }
    return example_serve(ex, "deadlock", NULL);
}
