/* A core file as a target.  See core.h. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <unistd.h>

#include <elfutils/libdwelf.h>

#include "target/core.h"
#include "symbols/elfcheck.h"
#include "symbols/modmap.h"

/* One file of the NT_FILE note, reported as a module. */
struct core_module {
    const char *name;     /* in core_file.files */
    uint64_t low, high;   /* its mappings' extent */
    uint64_t head;        /* the mapping of its file offset 0, or 0 */
    unsigned char id[64]; /* its build id, as the core's memory holds it */
    size_t idlen;
    bool exe; /* holds AT_ENTRY: the executable */
    bool warned;
};

/* The core whose Dwfl is in use: libdwfl's find_elf callback has no
 * argument of its own (see core.h: one core at a time). */
static struct core_file *core_current;
static const char *core_exe;
static struct core_module *core_mods;

static void core_why(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void core_why(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

static int seg_cmp(const void *a, const void *b)
{
    const struct core_segment *x = a, *y = b;
    return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* Registers of an elf_prstatus in DWARF numbering, as thread.c takes them
 * from a live thread. */
static void core_regs(const struct elf_prstatus *ps, struct thread_snap *s)
{
    struct user_regs_struct r;
    memset(s, 0, sizeof(*s));
    _Static_assert(sizeof(r) <= sizeof(ps->pr_reg), "pr_reg holds user_regs_struct");
    memcpy(&r, &ps->pr_reg, sizeof(r));
    s->tid = ps->pr_pid;
    thread_regs_from_user(&r, s);
}

static int core_note(struct core_file *c, const GElf_Nhdr *nh, const char *name,
                     const unsigned char *desc, char *why, size_t whylen)
{
    if (nh->n_namesz != 5 || strcmp(name, "CORE") != 0)
        return 0; /* "LINUX" register sets and the like: not needed */
    switch (nh->n_type) {
    case NT_PRSTATUS: {
        struct elf_prstatus ps;
        if (nh->n_descsz != sizeof(ps)) {
            core_why(why, whylen, "an NT_PRSTATUS note of %u bytes, not %zu", nh->n_descsz,
                     sizeof(ps));
            return -EPROTO;
        }
        if (c->nthreads == CORE_MAX_THREADS) {
            c->threads_cut++;
            return 0;
        }
        memcpy(&ps, desc, sizeof(ps));
        struct core_thread *t = &c->threads[c->nthreads++];
        core_regs(&ps, &t->regs);
        t->tid = ps.pr_pid;
        t->cursig = ps.pr_cursig;
        break;
    }
    case NT_PRPSINFO: {
        struct elf_prpsinfo pi;
        if (nh->n_descsz != sizeof(pi))
            return 0;
        memcpy(&pi, desc, sizeof(pi));
        c->pid = pi.pr_pid;
        memcpy(c->fname, pi.pr_fname, sizeof(pi.pr_fname));
        c->fname[sizeof(pi.pr_fname)] = '\0';
        for (int i = 0; i < 4; i++)
            c->cred.uids[i] = pi.pr_uid;
        c->cred.fsgid = pi.pr_gid;
        break;
    }
    case NT_SIGINFO: {
        siginfo_t si;
        /* The kernel writes one, for the thread that took the signal, after
         * its NT_PRSTATUS; gcore one per thread. */
        if (nh->n_descsz != sizeof(si) || c->nthreads != 1 || c->have_siginfo)
            return 0;
        memcpy(&si, desc, sizeof(si));
        c->have_siginfo = true;
        c->signo = si.si_signo;
        c->sigcode = si.si_code;
        if (si.si_signo == SIGSEGV || si.si_signo == SIGBUS || si.si_signo == SIGILL ||
            si.si_signo == SIGFPE) {
            c->has_sigaddr = true;
            c->sigaddr = (uint64_t)(uintptr_t)si.si_addr;
        }
        break;
    }
    case NT_AUXV:
        for (size_t i = 0; i + 16 <= nh->n_descsz; i += 16) {
            uint64_t kv[2];
            memcpy(kv, desc + i, sizeof(kv));
            if (kv[0] == AT_ENTRY)
                c->entry = kv[1];
        }
        break;
    case NT_FILE:
        if (c->files != NULL)
            return 0;
        c->files = malloc(nh->n_descsz + 1);
        if (c->files == NULL)
            return -ENOMEM;
        memcpy(c->files, desc, nh->n_descsz);
        c->files[nh->n_descsz] = '\0';
        c->files_len = nh->n_descsz;
        break;
    }
    return 0;
}

/* Reads the notes of the PT_NOTE segment at [OFF, OFF + LEN) of the file,
 * already checked to be inside it. */
static int core_notes(struct core_file *c, uint64_t off, uint64_t len, char *why, size_t whylen)
{
    Elf_Data *data = elf_getdata_rawchunk(c->elf, (int64_t)off, len, ELF_T_NHDR);
    if (data == NULL) {
        core_why(why, whylen, "cannot read its notes: %s", elf_errmsg(-1));
        return -EPROTO;
    }
    size_t pos = 0, name_off, desc_off;
    GElf_Nhdr nh;
    while (pos < data->d_size) {
        size_t next = gelf_getnote(data, pos, &nh, &name_off, &desc_off);
        if (next == 0 || next <= pos)
            break; /* the rest is not a note: what came before stands */
        const char *name = (const char *)data->d_buf + name_off;
        if (nh.n_namesz == 0 || name[nh.n_namesz - 1] != '\0')
            name = "";
        int err =
            core_note(c, &nh, name, (const unsigned char *)data->d_buf + desc_off, why, whylen);
        if (err < 0)
            return err;
        pos = next;
    }
    return 0;
}

int core_open(struct core_file *c, const char *path, char *why, size_t whylen)
{
    struct stat st;
    int err = 0;
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    snprintf(c->path, sizeof(c->path), "%s", path);
    /* The user names the core, but not what it is: never block on it. */
    c->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (c->fd < 0) {
        err = -errno;
        core_why(why, whylen, "%s", strerror(errno));
        return err;
    }
    if (fstat(c->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        core_why(why, whylen, "not a core file: not a regular file");
        err = -ENOEXEC;
        goto out;
    }
    c->size = (uint64_t)st.st_size;
    c->cred.pid = getpid(); /* files are looked up in this tool's root */
    for (int i = 0; i < 4; i++)
        c->cred.uids[i] = st.st_uid;
    c->cred.fsgid = st.st_gid;
    c->cred.ns_root = (uid_t)-1;
    elf_version(EV_CURRENT);
    /* Read, not mapped: a core cut or changed while it is read gives read
     * errors here, never SIGBUS. */
    c->elf = elf_begin(c->fd, ELF_C_READ, NULL);
    GElf_Ehdr eh;
    if (c->elf == NULL || elf_kind(c->elf) != ELF_K_ELF || gelf_getehdr(c->elf, &eh) == NULL) {
        core_why(why, whylen, "not a core file: not an ELF file");
        err = -ENOEXEC;
        goto out;
    }
    if (eh.e_type != ET_CORE) {
        core_why(why, whylen, "not a core file: an ELF %s",
                 eh.e_type == ET_EXEC || eh.e_type == ET_DYN ? "program or library"
                                                             : "file of another kind");
        err = -ENOEXEC;
        goto out;
    }
#if defined(__x86_64__)
    const int machine = EM_X86_64;
#elif defined(__aarch64__)
    const int machine = EM_AARCH64;
#else
    const int machine = -1;
#endif
    if (gelf_getclass(c->elf) != ELFCLASS64 || eh.e_machine != machine) {
        core_why(why, whylen, "a core of another architecture (ELF machine %u) than this tool's",
                 (unsigned)eh.e_machine);
        err = -ENOEXEC;
        goto out;
    }
    size_t nph;
    if (elf_getphdrnum(c->elf, &nph) != 0 || nph > CORE_MAX_SEGMENTS) {
        core_why(why, whylen, "corrupt program headers");
        err = -EPROTO;
        goto out;
    }
    if (eh.e_phoff > c->size || nph * sizeof(Elf64_Phdr) > c->size - eh.e_phoff) {
        core_why(why, whylen, "truncated: its program headers end past its %llu bytes",
                 (unsigned long long)c->size);
        err = -EFBIG;
        goto out;
    }
    c->segs = calloc(nph ? nph : 1, sizeof(*c->segs));
    c->threads = calloc(CORE_MAX_THREADS, sizeof(*c->threads));
    if (c->segs == NULL || c->threads == NULL) {
        err = -ENOMEM;
        core_why(why, whylen, "out of memory");
        goto out;
    }
    uint64_t notes = 0, need = 0;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(c->elf, (int)i, &ph) == NULL) {
            core_why(why, whylen, "corrupt program header %zu", i);
            err = -EPROTO;
            goto out;
        }
        if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
            continue;
        if (ph.p_offset > UINT64_MAX - ph.p_filesz ||
            (ph.p_type == PT_LOAD &&
             (ph.p_vaddr > UINT64_MAX - ph.p_memsz || ph.p_filesz > ph.p_memsz))) {
            core_why(why, whylen, "corrupt program header %zu", i);
            err = -EPROTO;
            goto out;
        }
        if (ph.p_offset + ph.p_filesz > need)
            need = ph.p_offset + ph.p_filesz;
        if (ph.p_type == PT_LOAD) {
            c->segs[c->nsegs++] = (struct core_segment){
                .vaddr = ph.p_vaddr,
                .memsz = ph.p_memsz,
                .offset = ph.p_offset,
                .filesz = ph.p_filesz,
                .flags = ph.p_flags,
            };
            continue;
        }
        if (ph.p_offset + ph.p_filesz > c->size)
            continue; /* said below, as a truncated core */
        if ((notes += ph.p_filesz) > CORE_MAX_NOTES) {
            core_why(why, whylen, "more than %u bytes of notes", CORE_MAX_NOTES);
            err = -EPROTO;
            goto out;
        }
        if ((err = core_notes(c, ph.p_offset, ph.p_filesz, why, whylen)) < 0)
            goto out;
    }
    if (need > c->size) {
        core_why(why, whylen,
                 "truncated: its segments need %llu bytes and it has %llu (a core size limit, "
                 "a full disk, or a copy cut short?)",
                 (unsigned long long)need, (unsigned long long)c->size);
        err = -EFBIG;
        goto out;
    }
    if (c->nthreads == 0) {
        core_why(why, whylen, "corrupt: it holds no thread (no NT_PRSTATUS note)");
        err = -EPROTO;
        goto out;
    }
    qsort(c->segs, c->nsegs, sizeof(*c->segs), seg_cmp);
    if (c->pid == 0)
        c->pid = c->threads[0].tid;
    if (!c->have_siginfo)
        c->signo = c->threads[0].cursig;
out:
    if (err < 0)
        core_close(c);
    return err;
}

void core_close(struct core_file *c)
{
    if (core_current == c) {
        free(core_mods);
        core_mods = NULL;
        core_current = NULL;
    }
    if (c->elf != NULL)
        elf_end(c->elf);
    if (c->fd >= 0)
        close(c->fd);
    free(c->segs);
    free(c->threads);
    free(c->files);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* The segment holding ADDR, or NULL. */
static const struct core_segment *core_seg(const struct core_file *c, uint64_t addr)
{
    size_t lo = 0, hi = c->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->segs[mid].vaddr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct core_segment *s = &c->segs[lo - 1];
    return addr - s->vaddr < s->memsz ? s : NULL;
}

int core_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    struct core_file *c = ctx;
    unsigned char *out = buf;
    if (len > UINT64_MAX - addr)
        return -EFAULT;
    while (len > 0) {
        const struct core_segment *s = core_seg(c, addr);
        /* Memory the core does not hold (a file mapping left out of it)
         * is not guessed at. */
        if (s == NULL || addr - s->vaddr >= s->filesz)
            return -EFAULT;
        uint64_t off = addr - s->vaddr;
        size_t n = s->filesz - off < len ? (size_t)(s->filesz - off) : len;
        ssize_t got = pread(c->fd, out, n, (off_t)(s->offset + off));
        if (got != (ssize_t)n)
            return -EFAULT;
        out += n;
        addr += n;
        len -= n;
    }
    return 0;
}

/* ------------------------------------------------------------ modules */

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

/* Opens EXE (the user's choice, still never blocking) and reads its build
 * id.  Returns the descriptor or -errno. */
static int core_open_exe(const char *exe, unsigned char *id, size_t *len, char *why, size_t whylen)
{
    struct stat st;
    int fd = open(exe, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int err = -errno;
        core_why(why, whylen, "cannot open --exe %s: %s", exe, strerror(errno));
        return err;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        core_why(why, whylen, "--exe %s is not a regular file", exe);
        return -ENOENT;
    }
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    bool is_elf = e != NULL && elf_kind(e) == ELF_K_ELF;
    const void *bits = NULL;
    ssize_t n = is_elf ? dwelf_elf_gnu_build_id(e, &bits) : -1;
    *len = 0;
    if (n > 0 && n <= 64) {
        memcpy(id, bits, (size_t)n);
        *len = (size_t)n;
    }
    if (e != NULL)
        elf_end(e);
    if (!is_elf) {
        close(fd);
        core_why(why, whylen, "--exe %s is not an ELF file", exe);
        return -ENOEXEC;
    }
    return fd;
}

static int core_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                         char **file_name, Elf **elfp)
{
    struct core_module *m = *userdata;
    char why[256], esc[512];
    int fd;
    (void)mod;
    (void)base;
    (void)elfp;
    if (m == NULL || core_current == NULL)
        return -1;
    if (m->exe && core_exe != NULL) {
        unsigned char id[64];
        size_t len;
        fd = core_open_exe(core_exe, id, &len, why, sizeof(why));
        modname = core_exe;
    } else {
        fd = safefile_open_root(&core_current->cred, modname, why, sizeof(why));
    }
    /* A core names its modules' files: they get the bounds and the copy
     * a live process's do (elfcheck.h). */
    if (fd >= 0) {
        int err = elfcheck_file(fd, why, sizeof(why));
        if (err != 0)
            close(fd);
        fd = err != 0 ? err : elfcheck_stable(fd, 0, why, sizeof(why));
    }
    if (fd < 0) {
        if (fd != -ENOENT && !m->warned) {
            fflush(stdout);
            fprintf(stderr,
                    "tasktrace-attach: module %s: not reading its file: %s; its frames "
                    "show module+offset\n",
                    safefile_escape(modname, esc, sizeof(esc)), why);
        }
        m->warned = true;
        return -1;
    }
    *file_name = strdup(modname);
    if (*file_name == NULL) {
        close(fd);
        return -1;
    }
    /* libdwfl checks the file against the build id reported for it. */
    return fd;
}

/* Separate debug info is not looked for: the files a core names are read,
 * nothing they point to. */
static int core_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                               Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                               GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
    return -1;
}

static const Dwfl_Callbacks core_callbacks = {
    .find_elf = core_find_elf,
    .find_debuginfo = core_find_debuginfo,
};

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
        core_why(why, whylen, "corrupt: its NT_FILE note claims %llu mappings",
                 (unsigned long long)count);
        return -EPROTO;
    }
    struct modmap_map *maps = calloc(count ? count : 1, sizeof(*maps));
    struct modmap_module *found = calloc(CORE_MAX_MODULES, sizeof(*found));
    long n = 0;
    if (maps == NULL || found == NULL) {
        core_why(why, whylen, "out of memory");
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
        const struct core_segment *s = core_seg(c, e[0]);
        unsigned prot = MODMAP_PROT_UNKNOWN;
        if (s != NULL && s->vaddr == e[0])
            prot = ((s->flags & PF_R) ? MODMAP_R : 0) | ((s->flags & PF_W) ? MODMAP_W : 0) |
                   ((s->flags & PF_X) ? MODMAP_X : 0);
        maps[nmaps++] = (struct modmap_map){
            .start = e[0], .end = e[1], .offset = e[2] * page, .prot = prot, .name = this};
    }
    n = modmap_modules(maps, nmaps, page, core_loads, c, found, CORE_MAX_MODULES);
    if (n < 0) {
        core_why(why, whylen, "out of memory");
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

Dwfl *core_dwfl_open(struct core_file *c, const char *exe, int *err, char *why, size_t whylen,
                     char *warn, size_t warnlen)
{
    Dwfl *dwfl = NULL;
    struct core_module *mods = calloc(CORE_MAX_MODULES, sizeof(*mods));
    int e = 0;
    if (warnlen)
        warn[0] = '\0';
    if (mods == NULL) {
        e = -ENOMEM;
        core_why(why, whylen, "out of memory");
        goto out;
    }
    long n = core_modules(c, mods, why, whylen);
    if (n < 0) {
        e = (int)n;
        goto out;
    }
    if (n == 0) {
        core_why(why, whylen,
                 "it names no mapped file (no NT_FILE note): its modules are "
                 "unknown");
        e = -ENOENT;
        goto out;
    }
    struct core_module *main_mod = NULL;
    for (long i = 0; i < n; i++) {
        struct core_module *m = &mods[i];
        core_mem_build_id(c, m->head, m->id, &m->idlen);
        if (c->entry >= m->low && c->entry < m->high && main_mod == NULL) {
            m->exe = true;
            main_mod = m;
        }
    }
    if (exe != NULL) {
        unsigned char id[64];
        size_t idlen;
        char have[130], want[130], esc[512];
        int fd = core_open_exe(exe, id, &idlen, why, whylen);
        if (fd < 0) {
            e = fd == -ENOEXEC ? -ENOEXEC : -ENOENT;
            goto out;
        }
        close(fd);
        if (main_mod == NULL) {
            core_why(why, whylen,
                     "cannot tell which file of the core is its executable (no "
                     "AT_ENTRY in its NT_AUXV note) to replace with --exe");
            e = -ENOENT;
            goto out;
        }
        core_hex(id, idlen, have, sizeof(have));
        core_hex(main_mod->id, main_mod->idlen, want, sizeof(want));
        if (main_mod->idlen == 0 || idlen == 0) {
            core_why(warn, warnlen,
                     "cannot check that --exe %s is the program of the core: %s has no build id",
                     safefile_escape(exe, esc, sizeof(esc)), idlen == 0 ? "the file" : "the core");
        } else if (idlen != main_mod->idlen || memcmp(id, main_mod->id, idlen) != 0) {
            char name[512];
            core_why(why, whylen,
                     "--exe %s is not the program of this core: its build id is %s, the core's "
                     "executable %s has %s",
                     safefile_escape(exe, esc, sizeof(esc)), have,
                     safefile_escape(main_mod->name, name, sizeof(name)), want);
            e = -ENOEXEC;
            goto out;
        }
    }
    dwfl = dwfl_begin(&core_callbacks);
    if (dwfl == NULL) {
        e = -ENOMEM;
        core_why(why, whylen, "out of memory");
        goto out;
    }
    core_current = c;
    core_exe = exe;
    free(core_mods);
    core_mods = mods;
    mods = NULL;
    dwfl_report_begin(dwfl);
    for (long i = 0; i < n; i++) {
        struct core_module *m = &core_mods[i];
        Dwfl_Module *mod = dwfl_report_module(dwfl, m->name, m->low, m->high);
        if (mod == NULL)
            continue; /* overlapping another: corrupt, left out */
        void **ud = NULL;
        dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
        if (ud != NULL)
            *ud = m;
        if (m->idlen > 0)
            dwfl_module_report_build_id(mod, m->id, m->idlen, 0);
    }
    if (dwfl_report_end(dwfl, NULL, NULL) != 0) {
        e = -EIO;
        core_why(why, whylen, "cannot report its modules: %s", dwfl_errmsg(-1));
    }
out:
    free(mods);
    if (e != 0 && dwfl != NULL) {
        dwfl_end(dwfl);
        dwfl = NULL;
    }
    *err = e;
    return dwfl;
}

const char *core_signal_name(int signo)
{
    static const struct {
        int signo;
        const char *name;
    } names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
        {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
        {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGSTOP, "SIGSTOP"},
        {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].signo == signo)
            return names[i].name;
    return NULL;
}

bool core_signal_fatal(int signo)
{
    switch (signo) {
    case SIGQUIT:
    case SIGILL:
    case SIGTRAP:
    case SIGABRT:
    case SIGBUS:
    case SIGFPE:
    case SIGSEGV:
    case SIGXCPU:
    case SIGXFSZ:
    case SIGSYS:
        return true;
    default:
        return false;
    }
}
