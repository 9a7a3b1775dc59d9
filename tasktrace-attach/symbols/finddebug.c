/* The separate debug info of a module, found as elfutils finds it but
 * through safefile.h.  See finddebug.h. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <elfutils/libdwelf.h>

#include "util/diag.h"
#include "util/escape.h"
#include "symbols/elfcheck.h"
#include "target/proc.h"
#include "target/safefile.h"
#include "symbols/finddebug.h"

/* The longest debug link name and path looked at; longer ones are not
 * something a toolchain writes. */
#define FINDDEBUG_NAME_MAX 255
#define FINDDEBUG_PATH_MAX 4096
/* Most distinct candidate debug files one search reads (a CRC reads a
 * whole file): the paths tried are fewer. */
#define FINDDEBUG_SEEN_MAX 8

/* PATH, a path of the target's maps as the tool sees it, as a path in
 * the target's root, into OUT (LEN bytes): /proc/PID/maps names files
 * from the reader's root, so a target chrooted to /srv/jail maps
 * /srv/jail/lib/x.so, which is /lib/x.so in /proc/PID/root.  PATH itself
 * when the target's root is ours or not above PATH.  Returns OUT. */
const char *finddebug_in_root(pid_t pid, const char *path, char *out, size_t len)
{
    char root[FINDDEBUG_PATH_MAX];
    long n = proc_root(pid, root, sizeof(root));
    size_t plen = strlen(path);
    snprintf(out, len, "%s", path);
    if (n <= 1 || root[0] != '/' || plen >= len)
        return out;
    if (strncmp(path, root, (size_t)n) == 0 && path[n] == '/')
        memmove(out, out + n, plen - (size_t)n + 1);
    return out;
}

/* The CRC-32 (IEEE, as .gnu_debuglink uses) of the file FD, read from its
 * start; -1 on a read error, -2 at the deadline. */
static int64_t finddebug_crc32(int fd, uint64_t deadline_ns)
{
    static uint32_t table[256];
    static int ready;
    unsigned char buf[65536];
    uint32_t crc = 0xffffffffu;
    off_t off = 0;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof(buf), off);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
        off += n;
        if (deadline_ns != 0 && elfcheck_now_ns() >= deadline_ns)
            return -2;
    }
    return (int64_t)(crc ^ 0xffffffffu);
}

/* What a candidate debug file must match: a build id, else a CRC. */
struct finddebug_want {
    const unsigned char *id;
    int idlen;
    GElf_Word crc;
    bool check_crc;
};

/* Whether FD is the file W wants: 1, 0, or -ETIME when the deadline
 * came before its CRC was known. */
static int finddebug_matches(int fd, const struct finddebug_want *w, uint64_t deadline_ns)
{
    if (w->idlen > 0) {
        /* ELF_C_READ reads what it needs with pread: no mapping that a
         * file shrunk under us could turn into SIGBUS. */
        Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
        if (elf == NULL)
            return false;
        const void *id = NULL;
        ssize_t len = dwelf_elf_gnu_build_id(elf, &id);
        bool ok = len == w->idlen && memcmp(id, w->id, (size_t)len) == 0;
        elf_end(elf);
        return ok;
    }
    if (w->check_crc) {
        int64_t crc = finddebug_crc32(fd, deadline_ns);
        return crc == -2 ? -ETIME : crc == (int64_t)w->crc;
    }
    return true;
}

/* One search: the target's credentials, what to match, the first refusal
 * to report. */
struct finddebug_search {
    struct safefile_cred cred;
    struct finddebug_want want;
    const char *modname;
    uint64_t deadline_ns;
    char refused[FINDDEBUG_PATH_MAX];
    char why[256];
    bool have_refused;
    /* The files already tried, by inode: links and bind mounts may give
     * one file several of the paths tried. */
    struct {
        dev_t dev;
        ino_t ino;
    } seen[FINDDEBUG_SEEN_MAX];
    int nseen;
};

/* Records PATH and WHY as the search's refusal, if it is the first. */
static void finddebug_refuse(struct finddebug_search *s, const char *path, const char *why)
{
    if (s->have_refused)
        return;
    snprintf(s->refused, sizeof(s->refused), "%s", path);
    snprintf(s->why, sizeof(s->why), "%s", why);
    s->have_refused = true;
}

/* Whether FD is a file S has tried; marks it tried. */
static bool finddebug_seen(struct finddebug_search *s, int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return true;
    for (int i = 0; i < s->nseen; i++)
        if (s->seen[i].dev == st.st_dev && s->seen[i].ino == st.st_ino)
            return true;
    if (s->nseen == FINDDEBUG_SEEN_MAX)
        return true;
    s->seen[s->nseen].dev = st.st_dev;
    s->seen[s->nseen].ino = st.st_ino;
    s->nseen++;
    return false;
}

/* Tries PATH (a path in the target's root).  Returns an fd of a matching
 * file, with *NAME a copy of PATH, or -1. */
static int finddebug_try(struct finddebug_search *s, const char *path, char **name)
{
    char why[256];
    int fd = safefile_open_root(&s->cred, path, why, sizeof(why));
    if (fd == -EPERM || fd == -EACCES || fd == -ENODEV) {
        finddebug_refuse(s, path, why);
        return -1;
    }
    if (fd < 0)
        return -1;
    if (finddebug_seen(s, fd)) {
        close(fd);
        return -1;
    }
    /* Bounds first: a build id is read by libelf, a CRC reads it all. */
    int err = elfcheck_file(fd, why, sizeof(why));
    int match = err == 0 ? finddebug_matches(fd, &s->want, s->deadline_ns) : 0;
    if (match == -ETIME)
        snprintf(why, sizeof(why), "checking its CRC ran out of time (see --timeout)");
    if (match != 1) {
        /* Something that is no ELF file is simply not the one. */
        if (err != -ENOEXEC && (err != 0 || match < 0))
            finddebug_refuse(s, path, why);
        close(fd);
        return -1;
    }
    fd = elfcheck_stable(fd, s->deadline_ns, why, sizeof(why));
    if (fd < 0) {
        finddebug_refuse(s, path, why);
        return -1;
    }
    if ((*name = strdup(path)) == NULL) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Tries DIR/SUB/FILE, SUB or DIR possibly empty.  Same returns. */
static int finddebug_try3(struct finddebug_search *s, const char *dir, const char *sub,
                          const char *file, char **name)
{
    char path[FINDDEBUG_PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s%s%s%s%s", dir, dir[0] != '\0' ? "/" : "", sub,
                     sub[0] != '\0' ? "/" : "", file);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -1;
    return finddebug_try(s, path, name);
}

/* /usr/lib/debug/.build-id/xx/yyyy.debug for the build id ID. */
static int finddebug_try_build_id(struct finddebug_search *s, const unsigned char *id, int len,
                                  char **name)
{
    static const char hex[] = "0123456789abcdef";
    char path[64 + 2 * 64 + 8] = "/usr/lib/debug/.build-id/";
    size_t o = strlen(path);
    /* elfutils takes ids of 3 to 64 bytes; real ones have 20. */
    if (len < 3 || len > 64)
        return -1;
    for (int i = 0; i < len; i++) {
        path[o++] = hex[id[i] >> 4];
        path[o++] = hex[id[i] & 15];
        if (i == 0)
            path[o++] = '/';
    }
    memcpy(path + o, ".debug", sizeof(".debug"));
    return finddebug_try(s, path, name);
}

/* The directory part of FILE into OUT (LEN bytes); "" for a relative
 * FILE or one too long.  A " (deleted)" suffix is in the last component. */
static void finddebug_dirname(const char *file, char *out, size_t len)
{
    const char *slash = file != NULL ? strrchr(file, '/') : NULL;
    size_t n = slash != NULL ? (size_t)(slash - file) : 0;
    if (n >= len)
        n = 0;
    memcpy(out, file, n);
    out[n] = '\0';
}

/* A debug link or dwz file name the search accepts: not empty, bounded,
 * and a single path component unless ABS_OK allows an absolute path. */
static bool finddebug_name_ok(const char *name, bool abs_ok)
{
    size_t len = name != NULL ? strnlen(name, FINDDEBUG_NAME_MAX + 1) : 0;
    if (len == 0 || len > FINDDEBUG_NAME_MAX)
        return false;
    if (abs_ok && name[0] == '/')
        return strstr(name, "/../") == NULL;
    return strchr(name, '/') == NULL && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int finddebug_alt(Dwfl_Module *mod, pid_t pid, uint64_t deadline_ns, const char *file_name,
                  const char *altname, char **out, bool *said)
{
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    const char *name = NULL;
    const void *id = NULL;
    ssize_t len = dw != NULL ? dwelf_dwarf_gnu_debugaltlink(dw, &name, &id) : -1;
    int fd = -1;
    char esc[512];
    struct finddebug_search *s = calloc(1, sizeof(*s));

    *said = false;
    if (s == NULL || len <= 0 || safefile_cred_read(pid, &s->cred) != 0)
        goto out;
    s->modname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    s->deadline_ns = deadline_ns;
    s->want = (struct finddebug_want){.id = id, .idlen = (int)len};
    fd = finddebug_try_build_id(s, id, (int)len, out);
    if (fd < 0 && finddebug_name_ok(altname, true)) {
        char dir[FINDDEBUG_PATH_MAX], inroot[FINDDEBUG_PATH_MAX];
        finddebug_dirname(
            file_name != NULL ? finddebug_in_root(pid, file_name, inroot, sizeof(inroot)) : NULL,
            dir, sizeof(dir));
        fd = altname[0] == '/' ? finddebug_try(s, altname, out)
                               : finddebug_try3(s, dir, "", altname, out);
    }
    if (fd < 0 && s->have_refused) {
        *said = true;
        diag_module(s->modname,
                    "not reading the supplementary debug file %s: %s; its frames "
                    "use the symbol table",
                    esc_ascii(s->refused, esc, sizeof(esc)), s->why);
    }
out:
    free(s);
    return fd;
}

bool finddebug_is_alt(Dwfl_Module *mod, const char *debuglink_file)
{
    Dwarf_Addr bias;
    Elf *main_elf = dwfl_module_getelf(mod, &bias);
    GElf_Word crc = 0;
    const char *own_link = main_elf != NULL ? dwelf_elf_gnu_debuglink(main_elf, &crc) : NULL;
    return debuglink_file != NULL && (own_link == NULL || strcmp(own_link, debuglink_file) != 0);
}

int finddebug_main(Dwfl_Module *mod, pid_t pid, uint64_t deadline_ns, const char *modname,
                   const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                   char **debuginfo_file_name)
{
    int fd = -1;
    char esc[512];
    struct finddebug_search *s = calloc(1, sizeof(*s));
    if (s == NULL || safefile_cred_read(pid, &s->cred) != 0)
        goto out;
    s->modname = modname;
    s->deadline_ns = deadline_ns;
    const unsigned char *id = NULL;
    GElf_Addr id_vaddr;
    int idlen = dwfl_module_build_id(mod, &id, &id_vaddr);
    s->want = (struct finddebug_want){
        .id = idlen > 0 ? id : NULL,
        .idlen = idlen > 0 ? idlen : 0,
        .crc = debuglink_crc,
        .check_crc = debuglink_file != NULL,
    };
    if (idlen > 0)
        fd = finddebug_try_build_id(s, id, idlen, debuginfo_file_name);
    if (fd < 0 && finddebug_name_ok(debuglink_file, false)) {
        char dir[FINDDEBUG_PATH_MAX], inroot[FINDDEBUG_PATH_MAX];
        finddebug_dirname(finddebug_in_root(s->cred.pid, file_name != NULL ? file_name : modname,
                                            inroot, sizeof(inroot)),
                          dir, sizeof(dir));
        /* Next to the module, in its .debug directory, then under
         * /usr/lib/debug as the module's path; never the module itself. */
        char self[FINDDEBUG_PATH_MAX + FINDDEBUG_NAME_MAX + 2];
        snprintf(self, sizeof(self), "%s/%s", dir, debuglink_file);
        if (file_name == NULL || strcmp(self, inroot) != 0)
            fd = finddebug_try3(s, dir, "", debuglink_file, debuginfo_file_name);
        if (fd < 0)
            fd = finddebug_try3(s, dir, ".debug", debuglink_file, debuginfo_file_name);
        if (fd < 0 && dir[0] == '/') {
            char sub[FINDDEBUG_PATH_MAX + 16];
            snprintf(sub, sizeof(sub), "usr/lib/debug%s", dir);
            fd = finddebug_try3(s, "", sub, debuglink_file, debuginfo_file_name);
        }
    }
    if (fd < 0 && s->have_refused)
        diag_module(modname, "not reading the debug info %s: %s; its frames use the symbol table",
                    esc_ascii(s->refused, esc, sizeof(esc)), s->why);
out:
    free(s);
    return fd;
}
