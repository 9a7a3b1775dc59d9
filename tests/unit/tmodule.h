/* A real module of this test process for the module-finding suites
 * (findfile, findcore): a shared library the dynamic loader mapped, with
 * its path, where it is mapped and the build id its file holds; and a
 * way to read what the code under test wrote on stderr. */
#ifndef TT_TMODULE_H
#define TT_TMODULE_H

#include <stddef.h>
#include <stdint.h>

/* Most mappings of one module kept. */
#define TMODULE_MAPS_MAX 16

struct tmodule {
    char path[4096];
    uint64_t low, high;   /* the extent of its mappings */
    uint64_t head;        /* where its file offset 0 is mapped */
    unsigned char id[64]; /* its file's build id */
    size_t idlen;
    char hex[129]; /* the build id in lowercase hex */
    struct {
        uint64_t start, end, offset;
    } maps[TMODULE_MAPS_MAX]; /* its lines of /proc/self/maps */
    size_t nmaps;
};

/* The module holding the function ADDR (as dladdr finds it) with its
 * mappings from /proc/self/maps; fails the test when it has no build id. */
void tmodule_of(const void *addr, struct tmodule *m);

/* The build id of the ELF file PATH into ID (64 bytes); returns its
 * length, 0 when it has none. */
size_t tmodule_build_id(const char *path, unsigned char *id);

/* Sends stderr to a file until tmodule_stderr_end, which returns what
 * was written (owned by the caller) and restores it. */
void tmodule_stderr_begin(void);
char *tmodule_stderr_end(void);

#endif
