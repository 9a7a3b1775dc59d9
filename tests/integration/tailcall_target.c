/* A target whose futures poll their inner future in tail position:
 * `return trt_future_poll(&inner, cx);`, which -O2 compiles into a jump,
 * so the wrapper has no frame when the leaf clones the waker.
 *
 * Task "chain": chain_outer -> chain_middle -> chain_inner -> trt_pending.
 * Task "joined": trt_join of two chain_inner wrappers around trt_pending,
 * and of a trt_select of one more.
 * Prints "pid N" once both are waiting, then runs until killed.
 *
 * With --remapped, first maps its own executable and libtargetrt.so a
 * second time each, whole and read-only (the executable just below the
 * loader's mappings of it, the library where the kernel puts a new
 * mapping), as a symbolizer or a crash reporter does: the tool
 * must still find the modules and the control block where the loader put
 * them. */
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tasktrace/exec.h>

#include "../../examples/example.h"

struct wrap {
    trt_future base;
    trt_future *inner;
};

/* Each ends in a tail call: the test checks the jump in the binary. */
static __attribute__((noinline)) trt_poll chain_inner_poll(trt_future *f, trt_context *cx)
{
    struct wrap *w = (struct wrap *)f;
    return trt_future_poll(w->inner, cx);
}

static __attribute__((noinline)) trt_poll chain_middle_poll(trt_future *f, trt_context *cx)
{
    struct wrap *w = (struct wrap *)f;
    return trt_future_poll(w->inner, cx);
}

static __attribute__((noinline)) trt_poll chain_outer_poll(trt_future *f, trt_context *cx)
{
    struct wrap *w = (struct wrap *)f;
    return trt_future_poll(w->inner, cx);
}

static void wrap_init(struct wrap *w, trt_poll_fn poll, trt_future *inner)
{
    w->base.poll = poll;
    w->inner = inner;
}

/* Maps PATH whole, read-only, at AT (0: where the kernel puts it, below
 * the libraries), and leaves it mapped. */
static void remap(const char *path, uintptr_t at)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(path);
        exit(1);
    }
    void *p = mmap((void *)at, (size_t)st.st_size, PROT_READ,
                   MAP_PRIVATE | (at != 0 ? MAP_FIXED_NOREPLACE : 0), fd, 0);
    if (p == MAP_FAILED || (at != 0 && p != (void *)at)) {
        perror("tailcall_target: mmap");
        exit(1);
    }
    close(fd);
}

static int remap_runtime(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    /* The executable (first, no name): just below its own first
     * mapping, with no other file's between. */
    if (info->dlpi_name[0] == '\0' && *(int *)arg == 0) {
        struct stat st;
        if (stat("/proc/self/exe", &st) != 0) {
            perror("/proc/self/exe");
            exit(1);
        }
        uintptr_t len = ((uintptr_t)st.st_size + 0xffff) & ~(uintptr_t)0xffff;
        remap("/proc/self/exe", (uintptr_t)info->dlpi_addr - len - 0x10000);
        *(int *)arg = 1;
    } else if (strstr(info->dlpi_name, "/libtargetrt.so") != NULL) {
        remap(info->dlpi_name, 0);
        *(int *)arg = 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--remapped") == 0) {
        int found = 0;
        dl_iterate_phdr(remap_runtime, &found);
        if (found != 2) {
            fprintf(stderr, "tailcall_target: libtargetrt.so is not loaded\n");
            return 1;
        }
    }
    trt_exec *ex = trt_exec_new();
    if (!ex) {
        perror("tailcall_target: trt_exec_new");
        return 1;
    }
    /* "chain" */
    static trt_pending leaf;
    static struct wrap inner, middle, outer;
    trt_pending_init(&leaf);
    wrap_init(&inner, chain_inner_poll, &leaf.base);
    wrap_init(&middle, chain_middle_poll, &inner.base);
    wrap_init(&outer, chain_outer_poll, &middle.base);
    /* "joined": join(inner(leaf), inner(leaf), select(inner(leaf))) */
    static trt_pending jleaf[3];
    static struct wrap jwrap[3];
    for (int i = 0; i < 3; i++) {
        trt_pending_init(&jleaf[i]);
        wrap_init(&jwrap[i], chain_inner_poll, &jleaf[i].base);
    }
    static trt_future *sel_children[1];
    static trt_select sel;
    sel_children[0] = &jwrap[2].base;
    trt_select_init(&sel, sel_children, 1);
    static trt_future *join_children[3];
    static bool join_done[3];
    static trt_join join;
    join_children[0] = &jwrap[0].base;
    join_children[1] = &jwrap[1].base;
    join_children[2] = &sel.base;
    trt_join_init(&join, join_children, join_done, 3);
    int err = trt_exec_spawn(ex, &outer.base, "chain", NULL, NULL);
    if (err == 0)
        err = trt_exec_spawn(ex, &join.base, "joined", NULL, NULL);
    if (err < 0) {
        fprintf(stderr, "tailcall_target: spawn: %s\n", strerror(-err));
        return 1;
    }
    return example_serve(ex, "tailcall_target", NULL);
}
