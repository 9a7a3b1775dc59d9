/* A saved dump's module files: by path, by build id, from debuginfod.
 * See findsaved.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdwelf.h>
#ifdef HAVE_DEBUGINFOD
#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#endif

#include "symbols/elfcheck.h"
#include "symbols/findsaved.h"

/* The lowercase hex of the build id of the ELF file FD into OUT (129
 * bytes); "" when it has none. */
static void findsaved_build_id(int fd, char *out)
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\0';
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    if (elf == NULL)
        return;
    const void *id = NULL;
    ssize_t len = dwelf_elf_gnu_build_id(elf, &id);
    if (len >= 3 && len <= 64) {
        for (ssize_t i = 0; i < len; i++) {
            out[2 * i] = hex[((const unsigned char *)id)[i] >> 4];
            out[2 * i + 1] = hex[((const unsigned char *)id)[i] & 15];
        }
        out[2 * len] = '\0';
    }
    elf_end(elf);
}

/* Whether BUILD_ID is one a file can be looked up by: hex, of a length a
 * real one has. */
static bool findsaved_id_ok(const char *build_id)
{
    size_t idlen = build_id != NULL ? strlen(build_id) : 0;
    return idlen >= 6 && idlen <= 128 && strspn(build_id, "0123456789abcdef") == idlen;
}

#ifdef HAVE_DEBUGINFOD
/* elfutils' debuginfod client, made when a module is first missing here
 * (see findsaved.h).  NULL without DEBUGINFOD_URLS (or with it empty), or
 * when the library cannot be loaded. */
static struct {
    void *lib;
    debuginfod_client *client;
    bool tried;
    debuginfod_client *(*begin)(void);
    int (*find_executable)(debuginfod_client *, const unsigned char *, int, char **);
    int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
    void (*end)(debuginfod_client *);
    char why[40]; /* why there is no client though DEBUGINFOD_URLS is set */
} findsaved_dbg;

static debuginfod_client *findsaved_debuginfod(void)
{
    if (findsaved_dbg.tried)
        return findsaved_dbg.client;
    findsaved_dbg.tried = true;
    const char *urls = getenv("DEBUGINFOD_URLS");
    if (urls == NULL || urls[0] == '\0')
        return NULL;
    if (findsaved_dbg.lib == NULL &&
        (findsaved_dbg.lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL)) == NULL) {
        snprintf(findsaved_dbg.why, sizeof(findsaved_dbg.why),
                 "libdebuginfod.so.1 cannot be loaded");
        return NULL;
    }
    *(void **)&findsaved_dbg.begin = dlsym(findsaved_dbg.lib, "debuginfod_begin");
    *(void **)&findsaved_dbg.find_executable =
        dlsym(findsaved_dbg.lib, "debuginfod_find_executable");
    *(void **)&findsaved_dbg.find_debuginfo = dlsym(findsaved_dbg.lib, "debuginfod_find_debuginfo");
    *(void **)&findsaved_dbg.end = dlsym(findsaved_dbg.lib, "debuginfod_end");
    if (findsaved_dbg.begin && findsaved_dbg.find_executable && findsaved_dbg.find_debuginfo &&
        findsaved_dbg.end)
        findsaved_dbg.client = findsaved_dbg.begin();
    if (findsaved_dbg.client == NULL)
        snprintf(findsaved_dbg.why, sizeof(findsaved_dbg.why), "libdebuginfod.so.1 gave no client");
    return findsaved_dbg.client;
}

/* Appends "; debuginfod: WHAT" to WHY (WHYLEN bytes). */
static void findsaved_why_add(char *why, size_t whylen, const char *what)
{
    size_t have = strnlen(why, whylen);
    snprintf(why + have, whylen - have, "; debuginfod: %s", what);
}

/* Not on this machine: the executable, else its debug file, from
 * debuginfod by build id (downloaded into its cache, whose file is
 * checked like a local one).  Returns the descriptor with *FILE the
 * cache's path, or -1 with WHY extended. */
static int findsaved_fetch(const char *build_id, char **file, char *why, size_t whylen)
{
    char *fetched = NULL;
    if (findsaved_debuginfod() == NULL) {
        if (findsaved_dbg.why[0])
            findsaved_why_add(why, whylen, findsaved_dbg.why);
        return -1;
    }
    int got = findsaved_dbg.find_executable(findsaved_dbg.client, (const unsigned char *)build_id,
                                            0, &fetched);
    if (got < 0) {
        free(fetched);
        fetched = NULL;
        got = findsaved_dbg.find_debuginfo(findsaved_dbg.client, (const unsigned char *)build_id, 0,
                                           &fetched);
    }
    char id[129];
    if (got >= 0)
        findsaved_build_id(got, id);
    if (got >= 0 && strcmp(id, build_id) == 0) {
        *file = fetched;
        return got;
    }
    findsaved_why_add(why, whylen, got >= 0 ? "its build id differs" : strerror(-got));
    if (got >= 0)
        close(got);
    free(fetched);
    return -1;
}
#endif

/* Opens PATH as a local file through safefile and checks its build id
 * against BUILD_ID.  Returns the descriptor, or -1 with WHY set. */
static int findsaved_open_local(const struct safefile_cred *cred, const char *path,
                                const char *build_id, char *why, size_t whylen)
{
    char refusal[256], id[129];
    if (path[0] != '/') {
        snprintf(why, whylen, "not an absolute path");
        return -1;
    }
    int fd = safefile_open_root(cred, path, refusal, sizeof(refusal));
    /* The bounds and the copy of a live process's files (elfcheck.h),
     * before libelf reads the build id. */
    if (fd >= 0) {
        int err = elfcheck_file(fd, refusal, sizeof(refusal));
        if (err != 0)
            close(fd);
        fd = err != 0 ? err : elfcheck_stable(fd, 0, refusal, sizeof(refusal));
    }
    if (fd < 0) {
        /* A long reason is cut: it is one item of a list. */
        if (snprintf(why, whylen, "%s", fd == -ENOENT ? "no such file" : refusal) < 0)
            why[0] = '\0';
        return -1;
    }
    if (build_id != NULL) {
        findsaved_build_id(fd, id);
        if (strcmp(id, build_id) != 0) {
            snprintf(why, whylen, "%s", id[0] ? "its build id differs" : "no build id");
            close(fd);
            return -1;
        }
    }
    return fd;
}

int findsaved_open(const struct safefile_cred *cred, const char *path, const char *build_id,
                   char **file, char *why, size_t whylen)
{
    char alt[sizeof("/usr/lib/debug/.build-id/") + 129 + 8];
    const char *name = path;
    *file = NULL;
    int fd = findsaved_open_local(cred, path, build_id, why, whylen);
    /* Else the debug file its build id names (symbols, DWARF and program
     * headers: enough to symbolize); the path's reason is the one kept. */
    if (fd < 0 && findsaved_id_ok(build_id)) {
        char keep[256];
        snprintf(keep, sizeof(keep), "%s", why);
        snprintf(alt, sizeof(alt), "/usr/lib/debug/.build-id/%.2s/%s.debug", build_id,
                 build_id + 2);
        name = alt;
        fd = findsaved_open_local(cred, alt, build_id, why, whylen);
        snprintf(why, whylen, "%s", keep);
    }
#ifdef HAVE_DEBUGINFOD
    if (fd < 0 && findsaved_id_ok(build_id))
        return findsaved_fetch(build_id, file, why, whylen);
#endif
    if (fd < 0)
        return -1;
    if ((*file = strdup(name)) == NULL) {
        snprintf(why, whylen, "out of memory");
        close(fd);
        return -1;
    }
    return fd;
}

int findsaved_debuginfo(Dwfl_Module *mod, char **name)
{
#ifdef HAVE_DEBUGINFOD
    const unsigned char *bits;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &bits, &vaddr);
    if (len <= 0 || findsaved_debuginfod() == NULL)
        return -1;
    char *path = NULL;
    int fd = findsaved_dbg.find_debuginfo(findsaved_dbg.client, bits, len, &path);
    if (fd < 0) {
        free(path);
        return -1;
    }
    free(*name);
    *name = path;
    return fd;
#else
    (void)mod;
    (void)name;
    return -1;
#endif
}

void findsaved_end(void)
{
#ifdef HAVE_DEBUGINFOD
    if (findsaved_dbg.client != NULL)
        findsaved_dbg.end(findsaved_dbg.client);
    findsaved_dbg.client = NULL;
    findsaved_dbg.tried = false;
    findsaved_dbg.why[0] = '\0';
#endif
}
