/* Finding the modules of a core file.  See findcore.h. */
#include <elf.h>
#include <errno.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/diag.h"
#include "util/escape.h"
#include "symbols/elfcheck.h"
#include "symbols/findcore.h"
#include "symbols/findfile.h"
#include "symbols/modmap.h"

/* One file of the NT_FILE note, reported as a module. */
struct core_module {
    const char *name;     /* in core_file.files */
    uint64_t low, high;   /* its mappings' extent */
    uint64_t head;        /* the mapping of its file offset 0, or 0 */
    unsigned char id[64]; /* its build id, as the core's memory holds it */
    size_t idlen;
    bool exe; /* holds AT_ENTRY: the executable */
};

static void findcore_why(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void findcore_why(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

/* The build id in the ELF notes of the file whose offset 0 is at HEAD in
 * the core's memory; 0 and *LEN set, or -1 when the core does not hold it. */
static int core_mem_build_id(struct core_file *c, uint64_t head, unsigned char *id, size_t *len)
{
    Elf64_Ehdr eh;
    if (head == 0 || core_read(c, head, &eh, sizeof(eh)) < 0 ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 64 || eh.e_phoff > 65536)
        return -1;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (core_read(c, head + eh.e_phoff + i * sizeof(ph), &ph, sizeof(ph)) < 0)
            return -1;
        if (ph.p_type != PT_NOTE || ph.p_filesz > 4096 || ph.p_offset > (1u << 20))
            continue;
        /* Notes sit in the first segment, mapped from offset 0 at HEAD. */
        unsigned char notes[4096];
        if (core_read(c, head + ph.p_offset, notes, ph.p_filesz) < 0)
            continue;
        for (size_t pos = 0; pos + 12 <= ph.p_filesz;) {
            uint32_t nh[3];
            memcpy(nh, notes + pos, sizeof(nh));
            size_t name = pos + 12, desc = name + ((nh[0] + 3u) & ~3u);
            size_t next = desc + ((nh[1] + 3u) & ~3u);
            if (nh[0] > 4096 || nh[1] > 4096 || next > ph.p_filesz)
                break;
            if (nh[2] == NT_GNU_BUILD_ID && nh[0] == 4 && memcmp(notes + name, "GNU", 4) == 0 &&
                nh[1] > 0 && nh[1] <= 64) {
                memcpy(id, notes + desc, nh[1]);
                *len = nh[1];
                return 0;
            }
            pos = next;
        }
    }
    return -1;
}

static void core_hex(const unsigned char *id, size_t len, char *buf, size_t buflen)
{
    buf[0] = '\0';
    for (size_t i = 0; i < len && 2 * i + 2 < buflen; i++)
        snprintf(buf + 2 * i, 3, "%02x", id[i]);
}

/* What the loads callback of a core reads from. */
struct core_mem_at {
    struct core_file *c;
    uint64_t base; /* where the file's offset 0 is in the core's memory */
};

static int core_mem_pread(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct core_mem_at *at = ctx;
    if (off > UINT64_MAX - at->base)
        return -EFAULT;
    return core_read(at->c, at->base + off, buf, len);
}

static int core_file_pread(void *ctx, uint64_t off, void *buf, size_t len)
{
    int fd = *(int *)ctx;
    if (off > INT64_MAX)
        return -EFAULT;
    return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

/* The PT_LOAD segments of the file a group of the core's mappings maps:
 * from the core's own memory at a mapping of the file's offset 0 (what
 * was loaded), else from the file the core names, opened under
 * safefile's rules. */
static long core_loads(void *arg, const struct modmap_map *const *group, size_t count,
                       struct modmap_load *loads, size_t max)
{
    struct core_file *c = arg;
    for (size_t i = 0; i < count; i++) {
        if (group[i]->offset != 0)
            continue;
        struct core_mem_at at = {.c = c, .base = group[i]->start};
        long n = modmap_elf_loads(core_mem_pread, &at, loads, max);
        if (n != 0)
            return n;
    }
    int fd = safefile_open_root(&c->cred, group[0]->name, NULL, 0);
    if (fd < 0)
        return 0;
    long n = modmap_elf_loads(core_file_pread, &fd, loads, max);
    close(fd);
    return n;
}

/* Parses the NT_FILE note into modules: the loaded copies of each file
 * (modmap.h), the permissions of each mapping taken from the core's
 * segment there.  Returns how many, or -errno. */
static long core_modules(struct core_file *c, struct core_module *mods, char *why, size_t whylen)
{
    uint64_t count, page;
    if (c->files == NULL || c->files_len < 16)
        return 0;
    memcpy(&count, c->files, 8);
    memcpy(&page, c->files + 8, 8);
    if (count > (c->files_len - 16) / 24 || page == 0 || page > (1u << 30) ||
        (page & (page - 1)) != 0) {
        findcore_why(why, whylen, "corrupt: its NT_FILE note claims %llu mappings",
                     (unsigned long long)count);
        return -EPROTO;
    }
    struct modmap_map *maps = calloc(count ? count : 1, sizeof(*maps));
    struct modmap_module *found = calloc(CORE_MAX_MODULES, sizeof(*found));
    long n = 0;
    if (maps == NULL || found == NULL) {
        findcore_why(why, whylen, "out of memory");
        n = -ENOMEM;
        goto out;
    }
    const char *name = c->files + 16 + count * 24, *end = c->files + c->files_len;
    size_t nmaps = 0;
    for (uint64_t i = 0; i < count && name < end; i++) {
        uint64_t e[3];
        memcpy(e, c->files + 16 + i * 24, sizeof(e));
        size_t len = strnlen(name, (size_t)(end - name));
        if (name + len == end)
            break; /* an unterminated last name */
        const char *this = name;
        name += len + 1;
        if (this[0] != '/' || e[1] <= e[0] || e[2] > UINT64_MAX / page)
            continue;
        const struct core_segment *s = core_segment_at(c, e[0]);
        unsigned prot = MODMAP_PROT_UNKNOWN;
        if (s != NULL && s->vaddr == e[0])
            prot = ((s->flags & PF_R) ? MODMAP_R : 0) | ((s->flags & PF_W) ? MODMAP_W : 0) |
                   ((s->flags & PF_X) ? MODMAP_X : 0);
        maps[nmaps++] = (struct modmap_map){
            .start = e[0], .end = e[1], .offset = e[2] * page, .prot = prot, .name = this};
    }
    n = modmap_modules(maps, nmaps, page, core_loads, c, found, CORE_MAX_MODULES);
    if (n < 0) {
        findcore_why(why, whylen, "out of memory");
        goto out;
    }
    for (long i = 0; i < n; i++) {
        const struct modmap_map *first = &maps[found[i].map];
        mods[i] = (struct core_module){
            .name = found[i].name,
            .low = found[i].low,
            .high = found[i].high,
            .head = first->offset == 0 ? first->start : 0,
        };
    }
out:
    free(maps);
    free(found);
    return n;
}

/* Reads each module's build id from the core's memory and marks the
 * executable: the first module holding AT_ENTRY.  Returns it, or NULL. */
static struct core_module *findcore_mark_exe(struct core_file *c, struct core_module *mods, long n)
{
    struct core_module *main_mod = NULL;
    for (long i = 0; i < n; i++) {
        struct core_module *m = &mods[i];
        core_mem_build_id(c, m->head, m->id, &m->idlen);
        if (c->entry >= m->low && c->entry < m->high && main_mod == NULL) {
            m->exe = true;
            main_mod = m;
        }
    }
    return main_mod;
}

/* Checks that EXE is the program of the core whose executable is MAIN_MOD
 * (NULL when unknown), by build id.  Returns 0, with WARN set when it
 * cannot be told, or -ENOEXEC / -ENOENT with WHY set. */
static int findcore_check_exe(const char *exe, const struct core_module *main_mod, char *why,
                              size_t whylen, char *warn, size_t warnlen)
{
    unsigned char id[64];
    size_t idlen;
    char have[130], want[130], esc[512], name[512];
    int fd = findfile_open_exe(exe, id, &idlen, why, whylen);
    if (fd < 0)
        return fd == -ENOEXEC ? -ENOEXEC : -ENOENT;
    close(fd);
    if (main_mod == NULL) {
        findcore_why(why, whylen,
                     "cannot tell which file of the core is its executable (no "
                     "AT_ENTRY in its NT_AUXV note) to replace with --exe");
        return -ENOENT;
    }
    core_hex(id, idlen, have, sizeof(have));
    core_hex(main_mod->id, main_mod->idlen, want, sizeof(want));
    if (main_mod->idlen == 0 || idlen == 0) {
        findcore_why(warn, warnlen,
                     "cannot check that --exe %s is the program of the core: %s has no build id",
                     esc_ascii(exe, esc, sizeof(esc)), idlen == 0 ? "the file" : "the core");
    } else if (idlen != main_mod->idlen || memcmp(id, main_mod->id, idlen) != 0) {
        findcore_why(why, whylen,
                     "--exe %s is not the program of this core: its build id is %s, the core's "
                     "executable %s has %s",
                     esc_ascii(exe, esc, sizeof(esc)), have,
                     esc_ascii(main_mod->name, name, sizeof(name)), want);
        return -ENOEXEC;
    }
    return 0;
}

/* A new Dwfl of the N modules MODS of core C, served by findfile's core
 * source.  Returns it, or NULL with *ERR and WHY set. */
static Dwfl *findcore_report(struct core_file *c, const char *exe, const struct core_module *mods,
                             long n, int *err, char *why, size_t whylen)
{
    Dwfl *dwfl = findfile_dwfl_begin();
    if (dwfl == NULL) {
        *err = -ENOMEM;
        findcore_why(why, whylen, "out of memory");
        return NULL;
    }
    findfile_core_use(&c->cred, exe);
    dwfl_report_begin(dwfl);
    for (long i = 0; i < n; i++) {
        const struct core_module *m = &mods[i];
        Dwfl_Module *mod = dwfl_report_module(dwfl, m->name, m->low, m->high);
        if (mod == NULL)
            continue; /* overlapping another: corrupt, left out */
        findfile_attach_core(mod, m->exe);
        if (m->idlen > 0)
            dwfl_module_report_build_id(mod, m->id, m->idlen, 0);
    }
    if (dwfl_report_end(dwfl, NULL, NULL) != 0) {
        *err = -EIO;
        findcore_why(why, whylen, "cannot report its modules: %s", dwfl_errmsg(-1));
        dwfl_end(dwfl);
        return NULL;
    }
    return dwfl;
}

Dwfl *findcore_dwfl_open(struct core_file *c, const char *exe, int *err, char *why, size_t whylen,
                         char *warn, size_t warnlen)
{
    Dwfl *dwfl = NULL;
    struct core_module *mods = calloc(CORE_MAX_MODULES, sizeof(*mods));
    int e = 0;
    if (warnlen)
        warn[0] = '\0';
    if (mods == NULL) {
        e = -ENOMEM;
        findcore_why(why, whylen, "out of memory");
        goto out;
    }
    long n = core_modules(c, mods, why, whylen);
    if (n < 0) {
        e = (int)n;
        goto out;
    }
    if (n == 0) {
        findcore_why(why, whylen,
                     "it names no mapped file (no NT_FILE note): its modules are "
                     "unknown");
        e = -ENOENT;
        goto out;
    }
    struct core_module *main_mod = findcore_mark_exe(c, mods, n);
    if (exe != NULL && (e = findcore_check_exe(exe, main_mod, why, whylen, warn, warnlen)) != 0)
        goto out;
    /* libdwfl copies the names: the table is not needed past reporting. */
    dwfl = findcore_report(c, exe, mods, n, &e, why, whylen);
out:
    free(mods);
    *err = e;
    return dwfl;
}
