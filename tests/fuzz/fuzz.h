/* The fuzz target's entry points, shared by the libFuzzer build
 * (fuzz_main.c) and the replay driver (replay.c). */
#ifndef TT_FUZZ_H
#define TT_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Checks the target's names against protocol.h and reports this process's
 * modules for symbolizing.  Each input's dump is rendered as text and as
 * JSON to stdout when PRINT, else to /dev/null.  Returns 0, or -1 after
 * saying why. */
int fuzz_init(bool print);

/* Runs one input (fuzz_space.h) through the readers, dump building and
 * both renderers.  Returns 0 when a dump was rendered, -1 when the input
 * was rejected before (a control block or registry the readers refused);
 * a bug shows as a sanitizer report. */
int fuzz_one(const uint8_t *data, size_t size);

#endif
