/* Unwinding a copied thread stack with libdwfl.  See unwind.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tasktrace/protocol.h>

#include "symbols/unwind.h"

struct unwind_ctx {
    Dwfl *dwfl;
    records_fn read; /* everything not in the snapshot's stack copy */
    void *read_ctx;
    const struct thread_snap *cur; /* the snapshot being unwound, or NULL */
};

/* The only thread this state knows is the one being unwound. */
static pid_t unwind_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
    struct unwind_ctx *u = arg;
    (void)dwfl;
    if (*thread_argp != NULL || u->cur == NULL)
        return 0;
    *thread_argp = u;
    return u->cur->tid;
}

static bool unwind_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
    struct unwind_ctx *u = arg;
    (void)dwfl;
    if (u->cur == NULL || tid != u->cur->tid)
        return false;
    *thread_argp = u;
    return true;
}

/* Stack words come from the copy taken while the thread was stopped; the
 * rest (a stack deeper than the copy, or a frame chain through other
 * memory) from the live process, or from a core's memory image. */
static bool unwind_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
    struct unwind_ctx *u = arg;
    const struct thread_snap *s = u->cur;
    (void)dwfl;
    if (s != NULL && addr >= s->sp && s->stack_len >= sizeof(*result) &&
        addr - s->sp <= s->stack_len - sizeof(*result)) {
        memcpy(result, s->stack + (addr - s->sp), sizeof(*result));
        return true;
    }
    uint64_t word;
    if (u->read(u->read_ctx, addr, &word, sizeof(word)) < 0)
        return false;
    *result = word;
    return true;
}

static bool unwind_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
    struct unwind_ctx *u = thread_arg;
    const struct thread_snap *s = u->cur;
    Dwarf_Word regs[THREAD_MAX_REGS];
    for (unsigned i = 0; i < s->nregs; i++)
        regs[i] = s->regs[i];
    if (!dwfl_thread_state_registers(thread, 0, s->nregs, regs))
        return false;
    dwfl_thread_state_register_pc(thread, s->pc);
    return true;
}

static const Dwfl_Thread_Callbacks unwind_callbacks = {
    .next_thread = unwind_next_thread,
    .get_thread = unwind_get_thread,
    .memory_read = unwind_memory_read,
    .set_initial_registers = unwind_set_initial_registers,
};

static int unwind_proc_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    return proc_read(ctx, addr, buf, len);
}

unwind_ctx *unwind_new(Dwfl *dwfl, struct proc_target *t, int *err, char *why, size_t whylen)
{
    return unwind_new_reader(dwfl, t->pid, unwind_proc_read, t, err, why, whylen);
}

unwind_ctx *unwind_new_reader(Dwfl *dwfl, pid_t pid, records_fn read, void *ctx, int *err,
                              char *why, size_t whylen)
{
    if (!THREAD_SUPPORTED) {
        snprintf(why, whylen, "live thread stacks are not supported on this architecture");
        *err = -ENOTSUP;
        return NULL;
    }
    struct unwind_ctx *u = calloc(1, sizeof(*u));
    if (!u) {
        *err = -ENOMEM;
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    u->dwfl = dwfl;
    u->read = read;
    u->read_ctx = ctx;
    /* A NULL Elf: libdwfl takes the architecture from one of the modules. */
    if (!dwfl_attach_state(dwfl, NULL, pid, &unwind_callbacks, u)) {
        snprintf(why, whylen, "cannot set up the unwinder: %s", dwfl_errmsg(-1));
        free(u);
        *err = -EIO;
        return NULL;
    }
    return u;
}

void unwind_free(unwind_ctx *u)
{
    free(u);
}

struct unwind_walk {
    Dwarf_Addr pc[UNWIND_MAX_FRAMES];
    bool activation[UNWIND_MAX_FRAMES];
    size_t n;
    bool truncated;
};

static int unwind_frame(Dwfl_Frame *state, void *arg)
{
    struct unwind_walk *w = arg;
    Dwarf_Addr pc;
    bool activation;
    if (!dwfl_frame_pc(state, &pc, &activation) || pc == 0)
        return DWARF_CB_ABORT;
    if (w->n == UNWIND_MAX_FRAMES) {
        w->truncated = true;
        return DWARF_CB_ABORT;
    }
    w->pc[w->n] = pc;
    w->activation[w->n] = activation;
    w->n++;
    return DWARF_CB_OK;
}

int unwind_stack(unwind_ctx *u, lookup_ctx *sym, const struct thread_snap *snap,
                 struct tt_stack *out, char *why, size_t whylen)
{
    struct unwind_walk *w = calloc(1, sizeof(*w));
    const struct frame **frames = NULL;
    int err = 0;
    memset(out, 0, sizeof(*out));
    if (!w)
        return -ENOMEM;
    u->cur = snap;
    /* The end of the stack, or an unwind that cannot go on, is an error
     * for libdwfl; what was found up to there stands. */
    if (dwfl_getthread_frames(u->dwfl, snap->tid, unwind_frame, w) != 0 && w->n == 0) {
        snprintf(why, whylen, "cannot unwind: %s", dwfl_errmsg(-1));
        err = -EIO;
        goto out;
    }
    if (w->n == 0) {
        snprintf(why, whylen, "cannot unwind: no frame found");
        err = -EIO;
        goto out;
    }
    const struct frame *const *per[UNWIND_MAX_FRAMES];
    size_t nper[UNWIND_MAX_FRAMES];
    size_t total = 0;
    for (size_t k = 0; k < w->n; k++) {
        /* The innermost frame's pc is where the thread is; the others are
         * return addresses, looked up inside their call instruction. */
        if (lookup_pc(sym, w->pc[k], !w->activation[k], &per[k], &nper[k]) < 0) {
            err = -ENOMEM;
            goto out;
        }
        total += nper[k];
    }
    frames = malloc(total * sizeof(*frames));
    if (!frames) {
        err = -ENOMEM;
        goto out;
    }
    size_t len = 0;
    for (size_t k = w->n; k-- > 0;)
        for (size_t j = 0; j < nper[k]; j++)
            frames[len++] = per[k][j];
    out->frames = frames;
    out->n = len;
    out->truncated = w->truncated;
    frames = NULL;
out:
    u->cur = NULL;
    free(frames);
    free(w);
    return err;
}
