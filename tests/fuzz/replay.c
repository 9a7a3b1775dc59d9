/* Runs fuzz inputs once each through the fuzz target (fuzz_readers.c),
 * built with the project's compiler and flags: the corpus in every build
 * (sanitizers included), and a reproducer libFuzzer saved.
 *
 *   replay [-p] FILE|DIR...
 *
 * A directory stands for every file in it.  -p prints each dump (text,
 * then JSON) to stdout.  The last line on stdout says how many inputs ran
 * and how many of them were rendered as a dump.
 *
 * Exit status: 0 every input ran; 64 usage; 99 an input could not be read
 * or the target could not start.  A bug aborts under the sanitizers. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Inputs larger than this are not fuzz inputs: refuse them. */
#define REPLAY_MAX_INPUT (16u << 20)

static int replay_file(const char *path, size_t *rendered)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    int rc = -1;
    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    buf = malloc(REPLAY_MAX_INPUT + 1);
    if (!buf) {
        fprintf(stderr, "replay: out of memory\n");
        goto out;
    }
    size_t n = fread(buf, 1, REPLAY_MAX_INPUT + 1, f);
    if (ferror(f) || n > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path,
                ferror(f) ? strerror(errno) : "larger than 16 MiB");
        goto out;
    }
    *rendered += fuzz_one(buf, n) == 0;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

static int replay_path(const char *path, size_t *count, size_t *rendered)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path, rendered);
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char sub[4096];
        if (rc == 0 && names[i]->d_name[0] != '.' &&
            (size_t)snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name) < sizeof(sub))
            rc = replay_path(sub, count, rendered);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0, rendered = 0;
    bool print = argc > 1 && strcmp(argv[1], "-p") == 0;
    if (argc < 2 + print) {
        fprintf(stderr, "usage: replay [-p] FILE|DIR...\n");
        return 64;
    }
    if (fuzz_init(print) < 0)
        return 99;
    for (int i = 1 + print; i < argc; i++)
        if (replay_path(argv[i], &count, &rendered) < 0)
            return 99;
    printf("replay: %zu inputs ran, %zu rendered a dump\n", count, rendered);
    return 0;
}
