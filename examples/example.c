#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "example.h"

int example_option(int argc, char **argv, const char *prog, const char *flag, unsigned long min,
                   unsigned long max, unsigned long *value)
{
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], flag) != 0 || i + 1 >= argc)
            goto usage;
        *value = strtoul(argv[++i], &end, 10);
        if (*end || *value < min || *value > max)
            goto usage;
    }
    return 0;
usage:
    fprintf(stderr, "usage: %s [%s N]\n", prog, flag);
    return 64;
}

/* Done at once: block_on of it returns after one round. */
static trt_poll started_poll(trt_future *f, trt_context *cx)
{
    (void)f;
    (void)cx;
    return TRT_READY;
}

int example_serve(trt_exec *ex, const char *prog, const char *extra)
{
    trt_future started = {started_poll};
    int err = trt_exec_block_on(ex, &started, "started");
    if (err == 0) {
        printf("pid %d\n%s", (int)getpid(), extra ? extra : "");
        fflush(stdout);
        err = trt_exec_run(ex);
        if (err == 0)
            return 0; /* the examples' tasks never all finish */
    }
    fprintf(stderr, "%s: run: %s\n", prog, strerror(-err));
    return 1;
}
