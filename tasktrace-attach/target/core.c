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

#include "target/core.h"

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

/* Opens PATH for C without ever blocking (the user names the core, but
 * not what it is) and takes the credentials its files are looked up with:
 * this tool's root, the core's owner. */
static int core_file_open(struct core_file *c, const char *path, char *why, size_t whylen)
{
    struct stat st;
    c->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (c->fd < 0) {
        int err = -errno;
        core_why(why, whylen, "%s", strerror(errno));
        return err;
    }
    if (fstat(c->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        core_why(why, whylen, "not a core file: not a regular file");
        return -ENOEXEC;
    }
    c->size = (uint64_t)st.st_size;
    c->cred.pid = getpid();
    for (int i = 0; i < 4; i++)
        c->cred.uids[i] = st.st_uid;
    c->cred.fsgid = st.st_gid;
    c->cred.ns_root = (uid_t)-1;
    return 0;
}

/* Begins reading C's file as ELF into EH and checks it is a 64-bit core
 * of this tool's architecture.  Read, not mapped: a core cut or changed
 * while it is read gives read errors here, never SIGBUS. */
static int core_elf_begin(struct core_file *c, GElf_Ehdr *eh, char *why, size_t whylen)
{
    elf_version(EV_CURRENT);
    c->elf = elf_begin(c->fd, ELF_C_READ, NULL);
    if (c->elf == NULL || elf_kind(c->elf) != ELF_K_ELF || gelf_getehdr(c->elf, eh) == NULL) {
        core_why(why, whylen, "not a core file: not an ELF file");
        return -ENOEXEC;
    }
    if (eh->e_type != ET_CORE) {
        core_why(why, whylen, "not a core file: an ELF %s",
                 eh->e_type == ET_EXEC || eh->e_type == ET_DYN ? "program or library"
                                                               : "file of another kind");
        return -ENOEXEC;
    }
#if defined(__x86_64__)
    const int machine = EM_X86_64;
#elif defined(__aarch64__)
    const int machine = EM_AARCH64;
#else
    const int machine = -1;
#endif
    if (gelf_getclass(c->elf) != ELFCLASS64 || eh->e_machine != machine) {
        core_why(why, whylen, "a core of another architecture (ELF machine %u) than this tool's",
                 (unsigned)eh->e_machine);
        return -ENOEXEC;
    }
    return 0;
}

/* Reads program header I: a PT_LOAD becomes a segment of C, a PT_NOTE
 * inside the file is read for its notes (all of them together bounded by
 * CORE_MAX_NOTES, counted in *NOTES); *NEED grows to the end of the
 * file's bytes the header says it has. */
static int core_phdr(struct core_file *c, size_t i, uint64_t *notes, uint64_t *need, char *why,
                     size_t whylen)
{
    GElf_Phdr ph;
    if (gelf_getphdr(c->elf, (int)i, &ph) == NULL) {
        core_why(why, whylen, "corrupt program header %zu", i);
        return -EPROTO;
    }
    if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
        return 0;
    if (ph.p_offset > UINT64_MAX - ph.p_filesz ||
        (ph.p_type == PT_LOAD &&
         (ph.p_vaddr > UINT64_MAX - ph.p_memsz || ph.p_filesz > ph.p_memsz))) {
        core_why(why, whylen, "corrupt program header %zu", i);
        return -EPROTO;
    }
    if (ph.p_offset + ph.p_filesz > *need)
        *need = ph.p_offset + ph.p_filesz;
    if (ph.p_type == PT_LOAD) {
        c->segs[c->nsegs++] = (struct core_segment){
            .vaddr = ph.p_vaddr,
            .memsz = ph.p_memsz,
            .offset = ph.p_offset,
            .filesz = ph.p_filesz,
            .flags = ph.p_flags,
        };
        return 0;
    }
    if (ph.p_offset + ph.p_filesz > c->size)
        return 0; /* said by the caller, as a truncated core */
    if ((*notes += ph.p_filesz) > CORE_MAX_NOTES) {
        core_why(why, whylen, "more than %u bytes of notes", CORE_MAX_NOTES);
        return -EPROTO;
    }
    return core_notes(c, ph.p_offset, ph.p_filesz, why, whylen);
}

/* Reads every program header of C's file (EH's, bounded by
 * CORE_MAX_SEGMENTS and by the file's size) and checks the file holds
 * every byte they name and at least one thread. */
static int core_program_headers(struct core_file *c, const GElf_Ehdr *eh, char *why, size_t whylen)
{
    size_t nph;
    if (elf_getphdrnum(c->elf, &nph) != 0 || nph > CORE_MAX_SEGMENTS) {
        core_why(why, whylen, "corrupt program headers");
        return -EPROTO;
    }
    if (eh->e_phoff > c->size || nph * sizeof(Elf64_Phdr) > c->size - eh->e_phoff) {
        core_why(why, whylen, "truncated: its program headers end past its %llu bytes",
                 (unsigned long long)c->size);
        return -EFBIG;
    }
    c->segs = calloc(nph ? nph : 1, sizeof(*c->segs));
    c->threads = calloc(CORE_MAX_THREADS, sizeof(*c->threads));
    if (c->segs == NULL || c->threads == NULL) {
        core_why(why, whylen, "out of memory");
        return -ENOMEM;
    }
    uint64_t notes = 0, need = 0;
    for (size_t i = 0; i < nph; i++) {
        int err = core_phdr(c, i, &notes, &need, why, whylen);
        if (err < 0)
            return err;
    }
    if (need > c->size) {
        core_why(why, whylen,
                 "truncated: its segments need %llu bytes and it has %llu (a core size limit, "
                 "a full disk, or a copy cut short?)",
                 (unsigned long long)need, (unsigned long long)c->size);
        return -EFBIG;
    }
    if (c->nthreads == 0) {
        core_why(why, whylen, "corrupt: it holds no thread (no NT_PRSTATUS note)");
        return -EPROTO;
    }
    return 0;
}

int core_open(struct core_file *c, const char *path, char *why, size_t whylen)
{
    GElf_Ehdr eh;
    int err;
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    snprintf(c->path, sizeof(c->path), "%s", path);
    if ((err = core_file_open(c, path, why, whylen)) < 0 ||
        (err = core_elf_begin(c, &eh, why, whylen)) < 0 ||
        (err = core_program_headers(c, &eh, why, whylen)) < 0) {
        core_close(c);
        return err;
    }
    qsort(c->segs, c->nsegs, sizeof(*c->segs), seg_cmp);
    if (c->pid == 0)
        c->pid = c->threads[0].tid;
    if (!c->have_siginfo)
        c->signo = c->threads[0].cursig;
    return 0;
}

void core_close(struct core_file *c)
{
    if (c->modules_release != NULL)
        c->modules_release(c->modules);
    c->modules = NULL;
    c->modules_release = NULL;
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

const struct core_segment *core_segment_at(const struct core_file *c, uint64_t addr)
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
        const struct core_segment *s = core_segment_at(c, addr);
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
