/* libdwfl callbacks that find a module's files through safefile.h.  See
 * findfile.h. */
#include <dwarf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>

#include "util/diag.h"
#include "util/escape.h"
#include "symbols/elfcheck.h"
#include "target/safefile.h"
#include "symbols/findfile.h"

/* A module's userdata holds the target's pid and a few flags, so that
 * nothing needs freeing when the caller ends the Dwfl:
 * (pid << FINDFILE_PID_SHIFT) | flags. */
enum {
    FINDFILE_OURS = 1u,         /* reported by lookup_dwfl_open_pid */
    FINDFILE_ALT_MISSING = 2u,  /* needs a dwz file that was not found */
    FINDFILE_WARNED_SPLIT = 4u, /* said that its .dwo files are not read */
    FINDFILE_WARNED_ALT = 8u,   /* said that its dwz file is missing */
    FINDFILE_PID_SHIFT = 8,
};

/* The longest debug link name and path looked at; longer ones are not
 * something a toolchain writes. */
#define FINDFILE_NAME_MAX 255
#define FINDFILE_PATH_MAX 4096
/* Most lines of /proc/PID/maps read to find a module's mapping. */
#define FINDFILE_MAPS_MAX 1000000
/* Most distinct candidate debug files one search reads (a CRC reads a
 * whole file): the paths tried are fewer. */
#define FINDFILE_SEEN_MAX 8

/* When symbolizing must end (CLOCK_MONOTONIC ns, 0: never): reading and
 * checking files stops there.  One per process, like the Dwfl's thread. */
static uint64_t findfile_deadline_ns;

void findfile_set_deadline(uint64_t deadline_ns)
{
    findfile_deadline_ns = deadline_ns;
}

static bool findfile_late(void)
{
    return findfile_deadline_ns != 0 && elfcheck_now_ns() >= findfile_deadline_ns;
}

static uintptr_t findfile_get(void **userdata)
{
    return (uintptr_t)*userdata;
}

static uintptr_t findfile_mod(Dwfl_Module *mod, void ***slot)
{
    void **ud = NULL;
    dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
    if (slot != NULL)
        *slot = ud;
    return ud != NULL ? findfile_get(ud) : 0;
}

static int findfile_attach_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
                              void *arg)
{
    (void)mod;
    (void)name;
    (void)start;
    pid_t pid = *(pid_t *)arg;
    *userdata = (void *)(((uintptr_t)pid << FINDFILE_PID_SHIFT) | FINDFILE_OURS);
    return DWARF_CB_OK;
}

int findfile_attach(Dwfl *dwfl, pid_t pid)
{
    if (dwfl == NULL || pid <= 0)
        return -EINVAL;
    return dwfl_getmodules(dwfl, findfile_attach_cb, &pid, 0) == 0 ? 0 : -EINVAL;
}

/* The mapping of process PID that starts at BASE and maps NAME, from
 * /proc/PID/maps.  Returns 0 with *END set, or -ENOENT. */
static int findfile_mapping(pid_t pid, uint64_t base, const char *name, uint64_t *end)
{
    char path[64];
    char *line = NULL;
    size_t cap = 0;
    int err = -ENOENT;
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -ENOENT;
    for (long n = 0; n < FINDFILE_MAPS_MAX && getline(&line, &cap, f) > 0; n++) {
        uint64_t s, e;
        int off = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*s %*s %*s %n", &s, &e, &off) < 2 ||
            off == 0)
            continue;
        /* The lines are in address order. */
        if (s > base)
            break;
        if (s != base)
            continue;
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line + off, name) == 0) {
            *end = e;
            err = 0;
        }
        break;
    }
    free(line);
    fclose(f);
    return err;
}

/* PATH, a path of the target's maps as the tool sees it, as a path in
 * the target's root, into OUT (LEN bytes): /proc/PID/maps names files
 * from the reader's root, so a target chrooted to /srv/jail maps
 * /srv/jail/lib/x.so, which is /lib/x.so in /proc/PID/root.  PATH itself
 * when the target's root is ours or not above PATH.  Returns OUT. */
static const char *findfile_in_root(pid_t pid, const char *path, char *out, size_t len)
{
    char link[64], root[FINDFILE_PATH_MAX];
    snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
    ssize_t n = readlink(link, root, sizeof(root) - 1);
    size_t plen = strlen(path);
    snprintf(out, len, "%s", path);
    if (n <= 1 || root[0] != '/' || plen >= len)
        return out;
    root[n] = '\0';
    if (strncmp(path, root, (size_t)n) == 0 && path[n] == '/')
        memmove(out, out + n, plen - (size_t)n + 1);
    return out;
}

/* Checks the module or debug file FD against elfcheck's bounds and makes
 * it safe to map.  Returns a descriptor (FD or a copy), or -errno with
 * FD closed and WHY set. */
static int findfile_bound(int fd, char *why, size_t whylen)
{
    int err = elfcheck_file(fd, why, whylen);
    if (err != 0) {
        close(fd);
        return err;
    }
    return elfcheck_stable(fd, findfile_deadline_ns, why, whylen);
}

int findfile_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                 char **file_name, Elf **elfp)
{
    uintptr_t ud = findfile_get(userdata);
    char why[256];
    struct safefile_cred cred;
    uint64_t end;
    int fd = -1;

    /* The vDSO is read from the target's memory, no file involved. */
    if (strncmp(modname, "[vdso: ", 7) == 0)
        return dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
    if (modname[0] != '/' || !(ud & FINDFILE_OURS))
        return -1;
    pid_t pid = (pid_t)(ud >> FINDFILE_PID_SHIFT);
    if (safefile_cred_read(pid, &cred) != 0)
        return -1;
    /* map_files names the very file mapped, even one deleted or replaced
     * since; it needs CAP_SYS_ADMIN, without which we use the path.  A
     * mapping of a device or of shared memory is no module: not a word. */
    if (findfile_mapping(pid, base, modname, &end) == 0) {
        fd = safefile_open_mapped(&cred, base, end, why, sizeof(why));
        if (fd == -ENODEV)
            return -1;
        if (fd == -EPERM) {
            diag_module(modname, "not reading its file: %s; its frames show module+offset", why);
            return -1;
        }
    }
    if (fd < 0) {
        /* The path of a deleted file names another file now, or none. */
        size_t len = strlen(modname);
        if (len > 10 && strcmp(modname + len - 10, " (deleted)") == 0) {
            if (fd == -EACCES && strncmp(modname, "/memfd:", 7) != 0 &&
                strncmp(modname, "/dev/", 5) != 0 && strncmp(modname, "/SYSV", 5) != 0)
                diag_module(modname,
                            "its file was deleted or replaced since it was mapped, "
                            "and reading the mapped file through /proc/%d/map_files needs "
                            "CAP_SYS_ADMIN; its frames show module+offset",
                            (int)pid);
            return -1;
        }
        char inroot[FINDFILE_PATH_MAX];
        fd = safefile_open_root(&cred, findfile_in_root(pid, modname, inroot, sizeof(inroot)), why,
                                sizeof(why));
        if (fd == -ENODEV || fd == -ESRCH)
            return -1;
        if (fd < 0) {
            diag_module(modname, "not reading its file: %s; its frames show module+offset", why);
            return -1;
        }
    }
    fd = findfile_bound(fd, why, sizeof(why));
    /* A mapped file that is no ELF file at all (a locale archive, a data
     * file the program mapped) is no module whose frames could be asked
     * for: not a word. */
    if (fd == -ENOEXEC)
        return -1;
    if (fd < 0) {
        diag_module(modname, "not reading its file: %s; its frames show module+offset", why);
        return -1;
    }
    *file_name = strdup(modname);
    if (*file_name == NULL) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------ debug info */

/* The CRC-32 (IEEE, as .gnu_debuglink uses) of the file FD, read from its
 * start; -1 on a read error, -2 at the deadline. */
static int64_t findfile_crc32(int fd)
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
        if (findfile_late())
            return -2;
    }
    return (int64_t)(crc ^ 0xffffffffu);
}

/* What a candidate debug file must match: a build id, else a CRC. */
struct findfile_want {
    const unsigned char *id;
    int idlen;
    GElf_Word crc;
    bool check_crc;
};

/* Whether FD is the file W wants: 1, 0, or -ETIME when the deadline
 * came before its CRC was known. */
static int findfile_matches(int fd, const struct findfile_want *w)
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
        int64_t crc = findfile_crc32(fd);
        return crc == -2 ? -ETIME : crc == (int64_t)w->crc;
    }
    return true;
}

/* One search: the target's credentials, what to match, the first refusal
 * to report. */
struct findfile_search {
    struct safefile_cred cred;
    struct findfile_want want;
    const char *modname;
    char refused[FINDFILE_PATH_MAX];
    char why[256];
    bool have_refused;
    /* The files already tried, by inode: links and bind mounts may give
     * one file several of the paths tried. */
    struct {
        dev_t dev;
        ino_t ino;
    } seen[FINDFILE_SEEN_MAX];
    int nseen;
};

/* Records PATH and WHY as the search's refusal, if it is the first. */
static void findfile_refuse(struct findfile_search *s, const char *path, const char *why)
{
    if (s->have_refused)
        return;
    snprintf(s->refused, sizeof(s->refused), "%s", path);
    snprintf(s->why, sizeof(s->why), "%s", why);
    s->have_refused = true;
}

/* Whether FD is a file S has tried; marks it tried. */
static bool findfile_seen(struct findfile_search *s, int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return true;
    for (int i = 0; i < s->nseen; i++)
        if (s->seen[i].dev == st.st_dev && s->seen[i].ino == st.st_ino)
            return true;
    if (s->nseen == FINDFILE_SEEN_MAX)
        return true;
    s->seen[s->nseen].dev = st.st_dev;
    s->seen[s->nseen].ino = st.st_ino;
    s->nseen++;
    return false;
}

/* Tries PATH (a path in the target's root).  Returns an fd of a matching
 * file, with *NAME a copy of PATH, or -1. */
static int findfile_try(struct findfile_search *s, const char *path, char **name)
{
    char why[256];
    int fd = safefile_open_root(&s->cred, path, why, sizeof(why));
    if (fd == -EPERM || fd == -EACCES || fd == -ENODEV) {
        findfile_refuse(s, path, why);
        return -1;
    }
    if (fd < 0)
        return -1;
    if (findfile_seen(s, fd)) {
        close(fd);
        return -1;
    }
    /* Bounds first: a build id is read by libelf, a CRC reads it all. */
    int err = elfcheck_file(fd, why, sizeof(why));
    int match = err == 0 ? findfile_matches(fd, &s->want) : 0;
    if (match == -ETIME)
        snprintf(why, sizeof(why), "checking its CRC ran out of time (see --timeout)");
    if (match != 1) {
        /* Something that is no ELF file is simply not the one. */
        if (err != -ENOEXEC && (err != 0 || match < 0))
            findfile_refuse(s, path, why);
        close(fd);
        return -1;
    }
    fd = elfcheck_stable(fd, findfile_deadline_ns, why, sizeof(why));
    if (fd < 0) {
        findfile_refuse(s, path, why);
        return -1;
    }
    if ((*name = strdup(path)) == NULL) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Tries DIR/SUB/FILE, SUB or DIR possibly empty.  Same returns. */
static int findfile_try3(struct findfile_search *s, const char *dir, const char *sub,
                         const char *file, char **name)
{
    char path[FINDFILE_PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s%s%s%s%s", dir, dir[0] != '\0' ? "/" : "", sub,
                     sub[0] != '\0' ? "/" : "", file);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -1;
    return findfile_try(s, path, name);
}

/* /usr/lib/debug/.build-id/xx/yyyy.debug for the build id ID. */
static int findfile_try_build_id(struct findfile_search *s, const unsigned char *id, int len,
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
    return findfile_try(s, path, name);
}

/* The directory part of FILE into OUT (LEN bytes); "" for a relative
 * FILE or one too long.  A " (deleted)" suffix is in the last component. */
static void findfile_dirname(const char *file, char *out, size_t len)
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
static bool findfile_name_ok(const char *name, bool abs_ok)
{
    size_t len = name != NULL ? strnlen(name, FINDFILE_NAME_MAX + 1) : 0;
    if (len == 0 || len > FINDFILE_NAME_MAX)
        return false;
    if (abs_ok && name[0] == '/')
        return strstr(name, "/../") == NULL;
    return strchr(name, '/') == NULL && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* The supplementary file of a dwz-compressed module: by the build id its
 * .gnu_debugaltlink records, then by that section's path (absolute, in the
 * target's root, or next to FILE_NAME). */
static int findfile_find_alt(Dwfl_Module *mod, void **userdata, const char *file_name,
                             const char *altname, char **out)
{
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    const char *name = NULL;
    const void *id = NULL;
    ssize_t len = dw != NULL ? dwelf_dwarf_gnu_debugaltlink(dw, &name, &id) : -1;
    uintptr_t ud = findfile_get(userdata);
    pid_t pid = (pid_t)(ud >> FINDFILE_PID_SHIFT);
    int fd = -1;
    char esc[512];
    struct findfile_search *s = calloc(1, sizeof(*s));

    *userdata = (void *)(ud | FINDFILE_ALT_MISSING);
    if (s == NULL || len <= 0 || safefile_cred_read(pid, &s->cred) != 0)
        goto out;
    s->modname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    s->want = (struct findfile_want){.id = id, .idlen = (int)len};
    fd = findfile_try_build_id(s, id, (int)len, out);
    if (fd < 0 && findfile_name_ok(altname, true)) {
        char dir[FINDFILE_PATH_MAX], inroot[FINDFILE_PATH_MAX];
        findfile_dirname(
            file_name != NULL ? findfile_in_root(pid, file_name, inroot, sizeof(inroot)) : NULL,
            dir, sizeof(dir));
        fd = altname[0] == '/' ? findfile_try(s, altname, out)
                               : findfile_try3(s, dir, "", altname, out);
    }
    if (fd >= 0)
        *userdata = (void *)ud;
    else if (s->have_refused) {
        /* Said here: findfile_dwarf_ok need not say it again. */
        *userdata = (void *)(ud | FINDFILE_ALT_MISSING | FINDFILE_WARNED_ALT);
        diag_module(s->modname,
                    "not reading the supplementary debug file %s: %s; its frames "
                    "use the symbol table",
                    esc_ascii(s->refused, esc, sizeof(esc)), s->why);
    }
out:
    free(s);
    return fd;
}

int findfile_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                       char **debuginfo_file_name)
{
    uintptr_t ud = findfile_get(userdata);
    int fd = -1;
    char esc[512];
    (void)base;
    if (!(ud & FINDFILE_OURS))
        return -1;

    /* libdwfl asks for a dwz file through this callback too, naming it as
     * the debug link: the main file's own link tells the two apart. */
    Dwarf_Addr bias;
    Elf *main_elf = dwfl_module_getelf(mod, &bias);
    GElf_Word crc = 0;
    const char *own_link = main_elf != NULL ? dwelf_elf_gnu_debuglink(main_elf, &crc) : NULL;
    if (debuglink_file != NULL && (own_link == NULL || strcmp(own_link, debuglink_file) != 0))
        return findfile_find_alt(mod, userdata, file_name, debuglink_file, debuginfo_file_name);

    struct findfile_search *s = calloc(1, sizeof(*s));
    if (s == NULL || safefile_cred_read((pid_t)(ud >> FINDFILE_PID_SHIFT), &s->cred) != 0)
        goto out;
    s->modname = modname;
    const unsigned char *id = NULL;
    GElf_Addr id_vaddr;
    int idlen = dwfl_module_build_id(mod, &id, &id_vaddr);
    s->want = (struct findfile_want){
        .id = idlen > 0 ? id : NULL,
        .idlen = idlen > 0 ? idlen : 0,
        .crc = debuglink_crc,
        .check_crc = debuglink_file != NULL,
    };
    if (idlen > 0)
        fd = findfile_try_build_id(s, id, idlen, debuginfo_file_name);
    if (fd < 0 && findfile_name_ok(debuglink_file, false)) {
        char dir[FINDFILE_PATH_MAX], inroot[FINDFILE_PATH_MAX];
        findfile_dirname(findfile_in_root(s->cred.pid, file_name != NULL ? file_name : modname,
                                          inroot, sizeof(inroot)),
                         dir, sizeof(dir));
        /* Next to the module, in its .debug directory, then under
         * /usr/lib/debug as the module's path; never the module itself. */
        char self[FINDFILE_PATH_MAX + FINDFILE_NAME_MAX + 2];
        snprintf(self, sizeof(self), "%s/%s", dir, debuglink_file);
        if (file_name == NULL || strcmp(self, inroot) != 0)
            fd = findfile_try3(s, dir, "", debuglink_file, debuginfo_file_name);
        if (fd < 0)
            fd = findfile_try3(s, dir, ".debug", debuglink_file, debuginfo_file_name);
        if (fd < 0 && dir[0] == '/') {
            char sub[FINDFILE_PATH_MAX + 16];
            snprintf(sub, sizeof(sub), "usr/lib/debug%s", dir);
            fd = findfile_try3(s, "", sub, debuglink_file, debuginfo_file_name);
        }
    }
    if (fd < 0 && s->have_refused)
        diag_module(modname, "not reading the debug info %s: %s; its frames use the symbol table",
                    esc_ascii(s->refused, esc, sizeof(esc)), s->why);
out:
    free(s);
    return fd;
}

bool findfile_dwarf_ok(Dwfl_Module *mod)
{
    Dwarf_Addr bias;
    if (dwfl_module_getdwarf(mod, &bias) == NULL)
        return false;
    void **slot = NULL;
    uintptr_t ud = findfile_mod(mod, &slot);
    if (!(ud & FINDFILE_ALT_MISSING))
        return true;
    if (!(ud & FINDFILE_WARNED_ALT) && slot != NULL) {
        *slot = (void *)(ud | FINDFILE_WARNED_ALT);
        diag_module(dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                    "its debug info needs a supplementary (dwz) file that was not found; its "
                    "frames use the symbol table");
    }
    return false;
}

bool findfile_cu_is_split(Dwfl_Module *mod, Dwarf_Die *cudie)
{
    if (!dwarf_hasattr(cudie, DW_AT_dwo_name) && !dwarf_hasattr(cudie, DW_AT_GNU_dwo_name))
        return false;
    void **slot = NULL;
    uintptr_t ud = findfile_mod(mod, &slot);
    if (!(ud & FINDFILE_WARNED_SPLIT) && slot != NULL) {
        *slot = (void *)(ud | FINDFILE_WARNED_SPLIT);
        diag_module(dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
                    "split DWARF (.dwo files) is not read; those frames use the symbol table");
    }
    return true;
}
