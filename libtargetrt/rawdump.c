/* The raw dump: a finished (or abandoned) generation written from inside
 * the process as the JSON document of `tasktrace-attach --json`, without
 * symbols.  Each frame has its module's path, build id, the offset of its
 * address in the module and the address itself; function, file, line and
 * column are null, and the document says "raw": true.  A tool elsewhere
 * symbolizes it (`tasktrace-attach --symbolize FILE`).
 *
 * Only the doorbell thread writes raw dumps (dumpreq.c), one at a time, so
 * the module table and the output buffer are static: a dump allocates
 * nothing.  The stacks are read from the ring the way the tool reads them
 * (stamp before and after, checksum); the tasks are copied one at a time
 * under the registry mutex and written with no lock held, so a slow
 * destination never holds up task creation.  Output goes through a bounded
 * buffer to write(2) or to the caller's sink; no stdio.
 *
 * System calls: getpid, readlink("/proc/self/exe") and the writes, plus
 * the loader's lock taken by dl_iterate_phdr (a futex only when contended). */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "rt_internal.h"

/* Modules the table holds; addresses in others have module null. */
#define MOD_MAX 512
#define MOD_PATH_MAX 512
#define MOD_LOADS 8
#define BUILD_ID_MAX 64
/* Ring records visited in all, over every task of one dump: the stacks of
 * tasks met after that are left out and the dump says so (cap_records). */
#define VISIT_MAX (64ull << 20)
/* How far before where the last task's records ended the search for the
 * next task's starts: executor threads polling in parallel interleave
 * their tasks' captures by about this much. */
#define SCAN_BACK 1024
/* Distinct stacks listed per task; identical ones are listed once. */
#define TASK_STACKS_MAX 256

struct mod {
    uint64_t base; /* load bias: dlpi_addr */
    uint64_t lo[MOD_LOADS], hi[MOD_LOADS];
    unsigned nloads;
    unsigned idlen; /* bytes of build id, 0 if none */
    unsigned char id[BUILD_ID_MAX];
    char path[MOD_PATH_MAX];
    bool used; /* listed in "modules" already */
};

static struct mod mods[MOD_MAX];
static unsigned nmods;
/* "modules" in first-seen order: indices into mods. */
static uint16_t used_order[MOD_MAX];
static unsigned nused;

/* ------------------------------------------------------------ output */

/* How long a write of the dump may wait for its destination to take
 * anything. */
#define RAWDUMP_STALL_MS 5000

struct out {
    const struct trt__dump_dest *dest;
    int err; /* first error; nothing more is written after it */
    size_t len;
    char buf[8192];
};

int trt__write_bounded(int fd, const char *buf, size_t len, uint64_t deadline_ns)
{
    size_t off = 0;
    while (off < len) {
        /* Writable first, and no more than PIPE_BUF at once: a pipe or a
         * terminal nobody reads then makes this wait at most until the
         * deadline instead of forever, without touching the descriptor's
         * flags, which the program shares. */
        uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
        if (now >= deadline_ns)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
        int ready = poll(&p, 1, left_ms > INT_MAX ? INT_MAX : (int)left_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return -errno;
        if (ready == 0)
            return -ETIMEDOUT;
        if (p.revents & (POLLERR | POLLNVAL))
            return p.revents & POLLNVAL ? -EBADF : -EIO;
        size_t piece = len - off < PIPE_BUF ? len - off : PIPE_BUF;
        ssize_t n = write(fd, buf + off, piece);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        off += (size_t)n;
    }
    return 0;
}

static void out_flush(struct out *o)
{
    if (o->err == 0 && o->len > 0) {
        if (o->dest->sink) {
            int r = o->dest->sink(o->dest->arg, o->buf, o->len);
            if (r < 0)
                o->err = r;
        } else {
            /* A destination that takes nothing for this long is given up
             * (-ETIMEDOUT), so that later dumps are not held behind it. */
            o->err =
                trt__write_bounded(o->dest->fd, o->buf, o->len,
                                   trt_clock_ns(CLOCK_MONOTONIC) + RAWDUMP_STALL_MS * 1000000ull);
        }
    }
    o->len = 0;
}

static void out_put(struct out *o, const char *s, size_t n)
{
    while (n > 0 && o->err == 0) {
        if (o->len == sizeof(o->buf))
            out_flush(o);
        size_t k = sizeof(o->buf) - o->len < n ? sizeof(o->buf) - o->len : n;
        memcpy(o->buf + o->len, s, k);
        o->len += k;
        s += k;
        n -= k;
    }
}

static void out_s(struct out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

static void out_u64(struct out *o, uint64_t v)
{
    char b[24];
    size_t i = sizeof(b);
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_put(o, b + i, sizeof(b) - i);
}

/* "0x..." lowercase, no leading zeros, quoted. */
static void out_hex(struct out *o, uint64_t v)
{
    char b[24];
    size_t i = sizeof(b);
    b[--i] = '"';
    do {
        b[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    b[--i] = 'x';
    b[--i] = '0';
    b[--i] = '"';
    out_put(o, b + i, sizeof(b) - i);
}

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if the
 * byte there starts none: overlong forms, surrogates and code points past
 * U+10FFFF are invalid, as for the tool. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* A JSON string of n bytes the target holds, escaped as docs/json.md says
 * the tool escapes them. */
static void out_str(struct out *o, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    out_put(o, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        const char *esc = NULL;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            break;
        }
        if (esc) {
            out_s(o, esc);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            char u[7] = {
                '\\', 'u', '0', '0', "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15], 0};
            out_put(o, u, 6);
            i++;
        } else {
            size_t len = utf8_len(s + i, n - i);
            if (len == 0) {
                out_s(o, "\\ufffd");
                i++;
            } else {
                out_put(o, (const char *)s + i, len);
                i += len;
            }
        }
    }
    out_put(o, "\"", 1);
}

static void out_digits(struct out *o, unsigned v, size_t width)
{
    char b[4];
    for (size_t i = width; i-- > 0; v /= 10)
        b[i] = (char)('0' + v % 10);
    out_put(o, b, width);
}

/* RFC 3339 in UTC with milliseconds, quoted: "2026-11-27T09:54:50.123Z". */
static void out_time(struct out *o, const struct timespec *ts)
{
    struct tm tm;
    time_t t = ts->tv_sec;
    if (!gmtime_r(&t, &tm)) {
        out_s(o, "null");
        return;
    }
    out_s(o, "\"");
    out_digits(o, (unsigned)(tm.tm_year + 1900) % 10000, 4);
    out_s(o, "-");
    out_digits(o, (unsigned)tm.tm_mon + 1, 2);
    out_s(o, "-");
    out_digits(o, (unsigned)tm.tm_mday, 2);
    out_s(o, "T");
    out_digits(o, (unsigned)tm.tm_hour, 2);
    out_s(o, ":");
    out_digits(o, (unsigned)tm.tm_min, 2);
    out_s(o, ":");
    out_digits(o, (unsigned)tm.tm_sec, 2);
    out_s(o, ".");
    out_digits(o, (unsigned)(ts->tv_nsec / 1000000), 3);
    out_s(o, "Z\"");
}

/* ------------------------------------------------------------ modules */

static void note_build_id(struct mod *m, const unsigned char *p, size_t size, size_t align)
{
    size_t off = 0;
    while (m->idlen == 0 && size - off >= sizeof(ElfW(Nhdr))) {
        ElfW(Nhdr) nh;
        memcpy(&nh, p + off, sizeof(nh));
        off += sizeof(nh);
        size_t name = (nh.n_namesz + align - 1) & ~(align - 1);
        size_t desc = (nh.n_descsz + align - 1) & ~(align - 1);
        if (name > size - off || desc > size - off - name)
            return;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(p + off, "GNU", 4) == 0 &&
            nh.n_descsz > 0 && nh.n_descsz <= BUILD_ID_MAX) {
            memcpy(m->id, p + off + name, nh.n_descsz);
            m->idlen = nh.n_descsz;
        }
        off += name + desc;
    }
}

static int mod_add(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    if (nmods == MOD_MAX)
        return 1;
    struct mod *m = &mods[nmods];
    memset(m, 0, sizeof(*m));
    m->base = info->dlpi_addr;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && m->nloads < MOD_LOADS) {
            m->lo[m->nloads] = info->dlpi_addr + ph->p_vaddr;
            m->hi[m->nloads] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
            m->nloads++;
        }
    }
    /* Notes are read in memory, where every loaded module keeps them (in
     * its first PT_LOAD): no file is opened. */
    for (ElfW(Half) i = 0; i < info->dlpi_phnum && m->idlen == 0; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_NOTE && ph->p_memsz < (1u << 20))
            note_build_id(m, (const unsigned char *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz,
                          ph->p_align == 8 ? 8 : 4);
    }
    const char *name = info->dlpi_name;
    if (name == NULL || name[0] == '\0') {
        /* The executable: its path as the kernel has it. */
        ssize_t n = nmods == 0 ? readlink("/proc/self/exe", m->path, sizeof(m->path) - 1) : -1;
        m->path[n > 0 ? n : 0] = '\0';
    } else if (name[0] != '/' && getauxval(AT_SYSINFO_EHDR) != 0 && m->nloads > 0 &&
               m->lo[0] <= getauxval(AT_SYSINFO_EHDR) && getauxval(AT_SYSINFO_EHDR) < m->hi[0]) {
        strcpy(m->path, "[vdso]");
    } else {
        strncpy(m->path, name, sizeof(m->path) - 1);
    }
    if (m->path[0] != '\0')
        nmods++;
    return 0;
}

static void mods_load(void)
{
    nmods = 0;
    nused = 0;
    dl_iterate_phdr(mod_add, NULL);
}

static struct mod *mod_find(uint64_t pc)
{
    for (unsigned i = 0; i < nmods; i++)
        for (unsigned j = 0; j < mods[i].nloads; j++)
            if (pc >= mods[i].lo[j] && pc < mods[i].hi[j])
                return &mods[i];
    return NULL;
}

static void out_build_id(struct out *o, const struct mod *m)
{
    if (m->idlen == 0) {
        out_s(o, "null");
        return;
    }
    char hex[2 * BUILD_ID_MAX + 2];
    size_t k = 0;
    hex[k++] = '"';
    for (unsigned i = 0; i < m->idlen; i++) {
        hex[k++] = "0123456789abcdef"[m->id[i] >> 4];
        hex[k++] = "0123456789abcdef"[m->id[i] & 15];
    }
    hex[k++] = '"';
    out_put(o, hex, k);
}

static void out_frame(struct out *o, uint64_t pc)
{
    struct mod *m = mod_find(pc);
    out_s(o, "{\"function\":null,\"file\":null,\"line\":null,\"column\":null,"
             "\"inlined\":false,\"module\":");
    if (m)
        out_str(o, m->path, strlen(m->path));
    else
        out_s(o, "null");
    out_s(o, ",\"pc\":");
    out_hex(o, pc);
    out_s(o, ",\"build_id\":");
    if (m)
        out_build_id(o, m);
    else
        out_s(o, "null");
    out_s(o, ",\"offset\":");
    if (m)
        out_hex(o, pc - m->base);
    else
        out_s(o, "null");
    out_s(o, "}");
    if (m && !m->used) {
        m->used = true;
        used_order[nused++] = (uint16_t)(m - mods);
    }
}

/* ------------------------------------------------------------ the ring */

struct ring_view {
    const struct trt_ring *r; /* NULL: no ring, or not this generation's */
    const struct trt_record *recs;
    uint64_t start, end; /* positions of the generation still in the ring */
    uint64_t lost;
};

static void ring_view(struct ring_view *v, uint32_t gen)
{
    memset(v, 0, sizeof(*v));
    const struct trt_ring *r = (const struct trt_ring *)(uintptr_t)__atomic_load_n(
        &tasktrace_control.ring_addr, __ATOMIC_ACQUIRE);
    if (!r || __atomic_load_n(&r->gen, __ATOMIC_ACQUIRE) != gen)
        return;
    v->r = r;
    v->recs = (const struct trt_record *)((const char *)r + r->size);
    v->start = __atomic_load_n(&r->gen_start, __ATOMIC_ACQUIRE);
    v->end = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    if (v->end - v->start > r->capacity) {
        v->lost = v->end - v->start - r->capacity;
        v->start = v->end - r->capacity;
    }
}

/* Copies the record at position pos; false if it is not whole. */
static bool record_read(const struct ring_view *v, uint64_t pos, struct trt_record *out)
{
    const struct trt_record *rec = &v->recs[pos & (v->r->capacity - 1)];
    if (__atomic_load_n(&rec->stamp, __ATOMIC_ACQUIRE) != pos + 1)
        return false;
    out->gen = __atomic_load_n(&rec->gen, __ATOMIC_RELAXED);
    out->npc = __atomic_load_n(&rec->npc, __ATOMIC_RELAXED);
    out->task_id = __atomic_load_n(&rec->task_id, __ATOMIC_RELAXED);
    out->flags = __atomic_load_n(&rec->flags, __ATOMIC_RELAXED);
    out->check = __atomic_load_n(&rec->check, __ATOMIC_RELAXED);
    if (out->npc > TRT_RECORD_MAX_PCS)
        return false;
    /* Every word: the checksum may cover words past the PCs (a record's
     * extra entries, as its flags say). */
    for (uint32_t i = 0; i < TRT_RECORD_MAX_PCS; i++)
        out->pc[i] = __atomic_load_n(&rec->pc[i], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&rec->stamp, __ATOMIC_RELAXED) != pos + 1)
        return false;
    return trt_record_check(out) == out->check;
}

/* ------------------------------------------------------------ tasks */

struct task_copy {
    struct trt_task_slot slot;
    bool have;
};

/* Copies one task's slot under the registry mutex, then stops the walk. */
static bool copy_one(struct trt__task *t, void *arg)
{
    struct task_copy *c = arg;
    if (c->have)
        return false;
    const struct trt_task_slot *s = t->slot;
    c->slot.id = TRT_LOAD(&s->id);
    c->slot.polls = TRT_LOAD(&s->polls);
    c->slot.poll_end_ns = TRT_LOAD(&s->poll_end_ns);
    c->slot.poll_start_ns = TRT_LOAD(&s->poll_start_ns);
    c->slot.state = TRT_LOAD(&s->state);
    c->slot.tid = TRT_LOAD(&s->tid);
    c->slot.pending_gen = __atomic_load_n(&s->pending_gen, __ATOMIC_ACQUIRE);
    c->slot.traced_gen = TRT_LOAD(&s->traced_gen);
    c->slot.flags = TRT_LOAD(&s->flags);
    c->slot.traced_records = TRT_LOAD(&s->traced_records);
    c->slot.spawn_pc = TRT_LOAD(&s->spawn_pc);
    /* The name is written under the same mutex. */
    memcpy(c->slot.name, s->name, sizeof(c->slot.name));
    c->slot.name[sizeof(c->slot.name) - 1] = '\0';
    c->have = true;
    return true;
}

static uint64_t stack_hash(const struct trt_record *r)
{
    uint64_t h = 0xcbf29ce484222325ull ^ r->npc;
    for (uint32_t i = 0; i < r->npc; i++)
        h = (h ^ r->pc[i]) * 0x100000001b3ull;
    return h;
}

struct dump_state {
    struct ring_view ring;
    uint64_t visits;
    uint64_t visit_max; /* VISIT_MAX, twice that when writing (see below) */
    uint64_t cursor;    /* just past the last record found of the last task */
    uint64_t torn;
    bool cap_records;
    uint64_t fork_ns;
    uint64_t listed; /* tasks written */
};

/* The distinct stacks of one task and how often each was captured. */
struct task_stacks {
    uint64_t hash[TASK_STACKS_MAX];
    uint64_t count[TASK_STACKS_MAX];
    /* Each stack's chain of polled futures (TRT_RECORD_F_CHAIN): their
     * poll functions, outermost first. */
    uint64_t chain[TASK_STACKS_MAX][TRT_RECORD_CHAIN_MAX];
    uint8_t nchain[TASK_STACKS_MAX];
    bool any_chain;
    unsigned n;
    uint64_t read; /* captures of the task read whole */
};

/* Whether the record at `pos` may be task `id`'s of generation `gen`: a
 * look at three words before record_read copies all of it. */
static bool record_is(const struct ring_view *v, uint64_t pos, uint32_t gen, uint64_t id)
{
    const struct trt_record *rec = &v->recs[pos & (v->r->capacity - 1)];
    return __atomic_load_n(&rec->stamp, __ATOMIC_ACQUIRE) == pos + 1 &&
           __atomic_load_n(&rec->task_id, __ATOMIC_RELAXED) == id &&
           __atomic_load_n(&rec->gen, __ATOMIC_RELAXED) == gen;
}

/* Visits the record at `pos` for task_scan: false once the visits are
 * spent (cap_records). */
static bool scan_one(struct dump_state *d, uint64_t pos, uint32_t gen, uint64_t id, uint64_t *seen,
                     void (*found)(void *, const struct trt_record *), void *arg)
{
    if (d->visits >= d->visit_max) {
        d->cap_records = true;
        return false;
    }
    d->visits++;
    if (!record_is(&d->ring, pos, gen, id))
        return true;
    struct trt_record rec;
    if (!record_read(&d->ring, pos, &rec) || rec.gen != gen || rec.task_id != id)
        return true;
    (*seen)++;
    d->cursor = pos + 1;
    if (found)
        found(arg, &rec);
    return true;
}

/* Finds the records of task `id`, calling found(arg, record) for each
 * read whole, until `want` were seen.  The executor polls tasks in about
 * the order the generation woke them, which is the registry's: the search
 * goes on from where the last task's records ended for SCAN_BACK records,
 * then, if some are still missing, round the generation's records once
 * from a little before there (executor threads polling in parallel
 * interleave their captures).  Linear in the records for a whole dump as
 * long as the executors keep that order; every visit counts in d->visits,
 * which stops at d->visit_max (cap_records). */
static void task_scan(struct dump_state *d, uint32_t gen, uint64_t id, uint64_t want,
                      void (*found)(void *, const struct trt_record *), void *arg)
{
    const struct ring_view *v = &d->ring;
    if (!v->r || v->end == v->start || want == 0)
        return;
    uint64_t seen = 0;
    uint64_t ahead_from = d->cursor >= v->start && d->cursor < v->end ? d->cursor : v->start;
    uint64_t ahead_to = v->end - ahead_from > SCAN_BACK ? ahead_from + SCAN_BACK : v->end;
    for (uint64_t pos = ahead_from; pos < ahead_to && seen < want; pos++)
        if (!scan_one(d, pos, gen, id, &seen, found, arg))
            return;
    uint64_t span = v->end - v->start;
    uint64_t from = ahead_from > v->start + SCAN_BACK ? ahead_from - SCAN_BACK : v->start;
    for (uint64_t k = 0; k < span && seen < want; k++) {
        uint64_t pos = from + k < v->end ? from + k : from + k - span;
        if (pos >= ahead_from && pos < ahead_to)
            continue; /* seen above */
        if (!scan_one(d, pos, gen, id, &seen, found, arg))
            return;
    }
}

/* What out_stacks keeps while task_scan hands it a task's records. */
struct stacks_out {
    struct out *o;
    struct task_stacks *ts;
    bool *truncated;
    bool first;
};

static void stack_found(void *arg, const struct trt_record *rec)
{
    struct stacks_out *so = arg;
    struct task_stacks *ts = so->ts;
    uint64_t h = stack_hash(rec);
    ts->read++;
    for (unsigned i = 0; i < ts->n; i++)
        if (ts->hash[i] == h) {
            ts->count[i]++;
            return;
        }
    if (ts->n == TASK_STACKS_MAX)
        return;
    ts->count[ts->n] = 1;
    uint32_t nchain = trt_record_nchain(rec);
    for (uint32_t i = 0; i < nchain; i++)
        ts->chain[ts->n][i] = rec->pc[rec->npc + i];
    ts->nchain[ts->n] = (uint8_t)nchain;
    ts->any_chain = ts->any_chain || nchain > 0;
    ts->hash[ts->n++] = h;
    if (rec->flags & TRT_RECORD_F_TRUNCATED)
        *so->truncated = true;
    out_s(so->o, so->first ? "[" : ",[");
    so->first = false;
    for (uint32_t i = rec->npc; i-- > 0;) {
        out_frame(so->o, rec->pc[i]);
        if (i)
            out_s(so->o, ",");
    }
    out_s(so->o, "]");
}

/* The stacks of task `id`, root first; sets *truncated.  `want` is how many
 * captures its traced poll wrote (UINT64_MAX when unknown). */
static void out_stacks(struct out *o, struct dump_state *d, uint32_t gen, uint64_t id,
                       uint64_t want, bool *truncated, struct task_stacks *ts)
{
    struct stacks_out so = {o, ts, truncated, true};
    out_s(o, "[");
    task_scan(d, gen, id, want, stack_found, &so);
    out_s(o, "]");
}

/* The captures a task's slot says its traced poll of `gen` wrote, or
 * UINT64_MAX when it has not reported (a poll may be writing them). */
static uint64_t task_want(const struct trt_task_slot *s, uint32_t gen)
{
    return s->traced_gen == gen && s->pending_gen != gen ? s->traced_records : UINT64_MAX;
}

static void out_task(struct out *o, struct dump_state *d, uint32_t gen,
                     const struct trt_task_slot *s, uint64_t now_coarse, bool *first)
{
    bool reported = s->traced_gen == gen && s->pending_gen != gen;
    bool owing = s->pending_gen == gen;
    /* Tasks created after the generation began, and tasks done before it,
     * are not part of it. */
    if (!reported && !owing)
        return;
    out_s(o, *first ? "{\"id\":" : ",{\"id\":");
    *first = false;
    out_u64(o, s->id);
    out_s(o, ",\"name\":");
    out_str(o, s->name, strnlen(s->name, sizeof(s->name)));
    out_s(o, ",\"state\":\"");
    out_s(o, trt_task_state_name(s->state));
    out_s(o, "\",\"polls\":");
    out_u64(o, s->polls);
    out_s(o, ",\"idle_ns\":");
    if (s->poll_end_ns == 0)
        out_s(o, "null");
    else
        out_u64(o, now_coarse > s->poll_end_ns ? now_coarse - s->poll_end_ns : 0);
    out_s(o, ",\"tid\":");
    if (s->state == TRT_TASK_POLLING && s->tid > 0)
        out_u64(o, (uint64_t)s->tid);
    else
        out_s(o, "null");
    out_s(o, reported ? ",\"reported\":true" : ",\"reported\":false");
    out_s(o,
          reported && (s->flags & TRT_TASK_F_SUSPECT) ? ",\"suspect\":true" : ",\"suspect\":false");
    out_s(o, ",\"stacks\":");
    bool truncated = false;
    /* Static: 36 KiB, too much for the doorbell's stack; one raw dump is
     * written at a time. */
    static struct task_stacks ts;
    ts.n = 0;
    ts.read = 0;
    ts.any_chain = false;
    out_stacks(o, d, gen, s->id, task_want(s, gen), &truncated, &ts);
    out_s(o, truncated ? ",\"truncated\":true" : ",\"truncated\":false");
    bool inherited =
        (s->flags & TRT_TASK_F_INHERITED) && d->fork_ns != 0 && s->poll_end_ns <= d->fork_ns;
    out_s(o, inherited ? ",\"inherited\":true" : ",\"inherited\":false");
    out_s(o, ",\"stack_counts\":[");
    for (unsigned i = 0; i < ts.n; i++) {
        if (i)
            out_s(o, ",");
        out_u64(o, ts.count[i]);
    }
    /* The futures each stack's capture polled on its way, outermost
     * first, which the tool puts back where a tail call left no frame. */
    if (ts.any_chain) {
        out_s(o, "],\"chains\":[");
        for (unsigned i = 0; i < ts.n; i++) {
            out_s(o, i ? ",[" : "[");
            for (unsigned k = 0; k < ts.nchain[i]; k++) {
                if (k)
                    out_s(o, ",");
                out_frame(o, ts.chain[i][k]);
            }
            out_s(o, "]");
        }
    }
    /* Fewer captures read than its traced poll wrote: some were lost. */
    out_s(o, reported && ts.read < s->traced_records ? "],\"stacks_lost\":true"
                                                     : "],\"stacks_lost\":false");
    out_s(o, ",\"spawned_at\":");
    if ((s->flags & TRT_TASK_F_SPAWN_PC) && s->spawn_pc)
        out_frame(o, s->spawn_pc);
    else
        out_s(o, "null");
    d->listed++;
    out_s(o, ",\"poll_ns\":");
    if (s->state == TRT_TASK_POLLING && s->poll_start_ns != 0 && now_coarse > s->poll_start_ns)
        out_u64(o, now_coarse - s->poll_start_ns);
    else
        out_s(o, "null");
    out_s(o, ",\"thread_name\":null,\"thread_stack\":null,\"thread_stack_error\":");
    out_s(o, s->state == TRT_TASK_POLLING ? "\"not read: a dump from inside the process "
                                            "reads no thread's stack\"}"
                                          : "null}");
}

static void out_problem(struct out *o, bool *first, const char *cause, const char *m1, uint64_t n,
                        const char *m2)
{
    out_s(o, *first ? "{\"cause\":\"" : ",{\"cause\":\"");
    *first = false;
    out_s(o, cause);
    out_s(o, "\",\"message\":\"");
    out_s(o, m1);
    if (m2) {
        out_u64(o, n);
        out_s(o, m2);
    }
}

int trt__rawdump_write(uint32_t gen, uint64_t waited_ms, const struct trt__dump_dest *dest)
{
    static struct out o;
    struct dump_state d;
    memset(&d, 0, sizeof(d));
    o.dest = dest;
    o.err = 0;
    o.len = 0;
    mods_load();
    ring_view(&d.ring, gen);
    d.fork_ns = TRT_LOAD(&tasktrace_control.fork_ns);
    uint64_t now_coarse = trt__now_coarse_ns();
    struct timespec taken;
    clock_gettime(CLOCK_REALTIME, &taken);
    uint32_t done = __atomic_load_n(&tasktrace_control.done, __ATOMIC_ACQUIRE);

    /* Everything that makes the dump incomplete is known before the first
     * task is written: whether the generation finished, and what the ring
     * lost or holds torn (one pass over it). */
    bool gen_done = (int32_t)(done - gen) >= 0;
    uint64_t pending = __atomic_load_n(&tasktrace_control.gen_pending, __ATOMIC_ACQUIRE);
    uint64_t owing = !gen_done && (uint32_t)(pending >> 32) == gen ? (uint32_t)pending : 0;
    for (uint64_t pos = d.ring.start; d.ring.r && pos < d.ring.end; pos++) {
        struct trt_record rec;
        if (!record_read(&d.ring, pos, &rec))
            d.torn++;
    }
    /* The searches the tasks' stacks will take, made once before: whether
     * they all fit VISIT_MAX is said at the top of the document. */
    uint32_t cursor = 0;
    d.visit_max = VISIT_MAX;
    while (d.ring.r && cursor != UINT32_MAX && !d.cap_records) {
        struct task_copy c;
        memset(&c, 0, sizeof(c));
        trt__registry_walk(&cursor, copy_one, &c);
        bool part = c.have && (c.slot.traced_gen == gen || c.slot.pending_gen == gen);
        if (part)
            task_scan(&d, gen, c.slot.id, task_want(&c.slot, gen), NULL, NULL);
    }
    /* Writing makes the same searches.  A generation that is done takes
     * no more captures, and only this thread starts another, so they find
     * what the first pass found; one that is not done is said incomplete
     * already, and its late captures, which may move records, get twice
     * the budget before cap_records. */
    d.visits = 0;
    d.visit_max = 2 * VISIT_MAX;
    d.cursor = 0;
    uint32_t ring_errno = TRT_LOAD(&tasktrace_control.ring_errno);
    bool ring_short = ring_errno && TRT_LOAD(&tasktrace_control.ring_errno_gen) == gen;
    bool complete = gen_done && !ring_short && !d.ring.lost && !d.torn && !d.cap_records;

    out_s(&o, "{\"version\":1,\"pid\":");
    out_u64(&o, (uint64_t)getpid());
    out_s(&o, complete ? ",\"complete\":true" : ",\"complete\":false");
    out_s(&o, ",\"generation\":");
    out_u64(&o, gen);
    out_s(&o, ",\"records_lost\":");
    out_u64(&o, d.ring.lost);
    out_s(&o, ",\"tasks\":[");
    bool first = true;
    cursor = 0;
    while (cursor != UINT32_MAX && o.err == 0) {
        struct task_copy c;
        memset(&c, 0, sizeof(c));
        trt__registry_walk(&cursor, copy_one, &c);
        if (c.have)
            out_task(&o, &d, gen, &c.slot, now_coarse, &first);
    }
    out_s(&o, "],\"records_torn\":");
    out_u64(&o, d.torn);
    out_s(&o, ",\"problems\":[");
    first = true;
    if (!gen_done) {
        out_problem(&o, &first, "timeout", "timed out after ", waited_ms, " ms: ");
        out_u64(&o, owing);
        out_s(&o, " of ");
        out_u64(&o, TRT_LOAD(&tasktrace_control.gen_tasks));
        out_s(&o, " tasks did not report (reported false); their executor did not poll them "
                  "after the wake-up (is it blocked or busy?)\"}");
    }
    if (ring_short)
        out_problem(&o, &first, "ring",
                    "the runtime could not map a large enough capture "
                    "ring (errno ",
                    ring_errno, "): stacks may be missing\"}");
    if (d.ring.lost)
        out_problem(&o, &first, "records_lost", "", d.ring.lost,
                    " captured stacks were overwritten in the ring\"}");
    if (d.torn)
        out_problem(&o, &first, "records_torn", "", d.torn,
                    " captured stacks could not be read whole\"}");
    if (d.cap_records)
        out_problem(&o, &first, "cap_records",
                    "the ring holds more records than one dump "
                    "reads: the stacks of some tasks were left out\"}",
                    0, NULL);
    out_s(&o, "],\"passive\":false,\"threads\":null,\"taken_at\":");
    out_time(&o, &taken);
    out_s(&o, ",\"tasks_total\":");
    out_u64(&o, d.listed);
    out_s(&o, ",\"groups\":null,\"modules\":[");
    for (unsigned i = 0; i < nused; i++) {
        const struct mod *m = &mods[used_order[i]];
        out_s(&o, i ? ",{\"path\":" : "{\"path\":");
        out_str(&o, m->path, strlen(m->path));
        out_s(&o, ",\"build_id\":");
        out_build_id(&o, m);
        out_s(&o, ",\"base\":");
        out_hex(&o, m->base);
        out_s(&o, "}");
    }
    out_s(&o, "],\"raw\":true}\n");
    out_flush(&o);
    if (o.err)
        return o.err;
    return complete ? 0 : 1;
}
