/* The symbolizer: address -> frames through libdwfl, with inlined callees
 * expanded the way eu-addr2line -i does, and every answer cached.
 *
 * Two open-addressing tables live in a lookup_ctx: the entries, keyed by
 * (pc, return_address), and interned strings, so that the thousands of
 * frames of a large dump share one copy of each path and function name and
 * nothing we hand out points into libdw's memory.  A third cache holds,
 * for each unit whose functions dwarf_getscopes cannot find (Rust nests
 * them all in namespaces), its functions sorted by address, so the unit's
 * DIEs are walked once however many addresses fall in it. */
#include <ctype.h>
#include <dwarf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elfutils/libdw.h>
#include <libiberty/demangle.h>

#include "symbols/modmap.h"
#include "target/safefile.h"
#include "symbols/lookup.h"
#include "symbols/findfile.h"

/* One cached lookup.  ptrs[] is the root-first array lookup_pc hands out;
 * it points into frames[], and both live in this one allocation. */
struct lookup_entry {
    uint64_t pc;
    bool return_address;
    size_t n;
    const struct frame **ptrs;
    struct frame frames[];
};

struct lookup_ctx {
    Dwfl *dwfl;
    struct lookup_entry **entries; /* open addressing, linear probing */
    size_t entries_cap;            /* a power of two */
    size_t entries_used;
    char **strs; /* interned strings, same scheme */
    size_t strs_cap;
    size_t strs_used;
    bool short_names;             /* lookup_set_short_names */
    struct lookup_cu_index **cus; /* function indexes of the units walked */
    size_t cus_used;
    size_t cus_cap;
    size_t walk_budget; /* DIEs the unit walks may still visit */
};

/* One address range of a function DIE (a subprogram with code) of a unit
 * dwarf_getscopes cannot search: see lookup_cu_index_build. */
struct lookup_fn_range {
    Dwarf_Addr lo, hi; /* [lo, hi) in the unit's own addresses */
    Dwarf_Die die;     /* valid while the Dwfl is */
};

/* The functions of one unit, sorted by lo: those the walk found before
 * it ended or gave up (over a bound, bad DWARF); kept either way, so a
 * unit is walked once. */
struct lookup_cu_index {
    Dwfl_Module *mod;
    Dwarf_Off cu_off;
    size_t n;
    struct lookup_fn_range *fns;
};

/* A frame as libdw describes it, innermost first; strings borrowed from
 * libdw until they are interned. */
struct lookup_raw {
    const char *function;
    char *owned; /* FUNCTION when it is a demangled copy to free */
    const char *file;
    const char *comp_dir; /* the CU's directory, for a relative file */
    int line;
    int column;
    bool inlined;
    const char *decl_file; /* where the function is declared (DWARF) */
    int decl_line;
};

#define LOOKUP_INITIAL_CAP 256u

/* Longest mangled name handed to the demangler: the names come from the
 * target, and real ones stay well under this. */
#define LOOKUP_DEMANGLE_MAX 4096

/* Most enclosing scopes (namespaces, classes, functions) put in front of
 * a short DW_AT_name, and the longest qualified name built from them. */
#define LOOKUP_SCOPES_MAX 32
#define LOOKUP_QUALIFIED_MAX 4096

/* Bounds of the walk of a unit's DIEs (lookup_cu_index_build), which reads
 * DWARF the target supplied: the nesting followed, the DIEs one unit's
 * walk visits, the DIEs all walks of one context visit, the address
 * ranges taken from one function, and the depth of the descent from a
 * function to its innermost inlined instance. */
#define LOOKUP_WALK_DEPTH 64
#define LOOKUP_WALK_UNIT_DIES (1u << 21)
#define LOOKUP_WALK_TOTAL_DIES (1u << 24)
#define LOOKUP_WALK_RANGES 64
#define LOOKUP_WALK_INLINE_DEPTH 256

/* Most modules reported for a live process. */
#define LOOKUP_MODULES_MAX 4096

/* Our own finders: the standard ones open() whatever paths the target's
 * maps and debug links name (see findfile.h). */
static const Dwfl_Callbacks lookup_proc_callbacks = {
    .find_elf = findfile_elf,
    .find_debuginfo = findfile_debuginfo,
};

/* What the loads callback of a live process needs. */
struct lookup_pid_files {
    struct safefile_cred cred;
    bool have_cred;
};

static int lookup_pread(void *ctx, uint64_t off, void *buf, size_t len)
{
    int fd = *(int *)ctx;
    if (off > INT64_MAX)
        return -EFAULT;
    return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

/* The PT_LOAD segments of the file a group of the process's mappings
 * maps, read from that very file (map_files, else its path checked to be
 * the same inode) under safefile's rules; 0 when it cannot be read. */
static long lookup_pid_loads(void *arg, const struct modmap_map *const *group, size_t count,
                             struct modmap_load *loads, size_t max)
{
    struct lookup_pid_files *pf = arg;
    const struct modmap_map *m = group[0];
    struct stat st;
    (void)count;
    if (!pf->have_cred)
        return 0;
    int fd = safefile_open_mapped(&pf->cred, m->start, m->end, NULL, 0);
    if (fd == -EACCES)
        fd = safefile_open_root(&pf->cred, m->name, NULL, 0);
    if (fd < 0)
        return 0;
    long n = 0;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_dev == m->dev && (uint64_t)st.st_ino == m->ino)
        n = modmap_elf_loads(lookup_pread, &fd, loads, max);
    close(fd);
    return n;
}

/* Reports the modules of process PID as modmap.h finds them, and its
 * vDSO, which findfile_elf reads from the process's memory. */
static int lookup_pid_report(Dwfl *dwfl, pid_t pid)
{
    struct modmap_map *maps = NULL;
    struct modmap_module *mods = NULL;
    struct lookup_pid_files pf;
    size_t n = 0;
    uint64_t vdso_start, vdso_end;
    char vdso[32];
    int err = modmap_pid_read(pid, &maps, &n, &vdso_start, &vdso_end);
    if (err != 0)
        return err;
    pf.have_cred = safefile_cred_read(pid, &pf.cred) == 0;
    mods = calloc(LOOKUP_MODULES_MAX, sizeof(*mods));
    long k = mods != NULL ? modmap_modules(maps, n, (uint64_t)sysconf(_SC_PAGESIZE),
                                           lookup_pid_loads, &pf, mods, LOOKUP_MODULES_MAX)
                          : -ENOMEM;
    if (k < 0) {
        err = (int)k;
        goto out;
    }
    for (long i = 0; i < k; i++)
        /* NULL: a module overlapping one reported already, left out. */
        (void)dwfl_report_module(dwfl, mods[i].name, mods[i].low, mods[i].high);
    snprintf(vdso, sizeof(vdso), "[vdso: %d]", (int)pid);
    if (vdso_end > vdso_start)
        (void)dwfl_report_module(dwfl, vdso, vdso_start, vdso_end);
out:
    free(mods);
    modmap_pid_free(maps, n);
    return err;
}

Dwfl *lookup_dwfl_open_pid(pid_t pid, int *err)
{
    int e = 0;
    Dwfl *dwfl = dwfl_begin(&lookup_proc_callbacks);
    if (dwfl == NULL) {
        e = -ENOMEM;
        goto out;
    }
    dwfl_report_begin(dwfl);
    e = lookup_pid_report(dwfl, pid);
    if (e != 0) {
        /* A missing /proc entry means no such process. */
        if (e == -ENOENT)
            e = -ESRCH;
        goto out;
    }
    if (dwfl_report_end(dwfl, NULL, NULL) != 0 || findfile_attach(dwfl, pid) != 0)
        e = -EIO;
out:
    if (e != 0) {
        dwfl_end(dwfl);
        dwfl = NULL;
        errno = -e;
    }
    if (err != NULL)
        *err = e;
    return dwfl;
}

lookup_ctx *lookup_new(Dwfl *dwfl)
{
    if (dwfl == NULL) {
        errno = EINVAL;
        return NULL;
    }
    lookup_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        goto fail;
    ctx->dwfl = dwfl;
    ctx->walk_budget = LOOKUP_WALK_TOTAL_DIES;
    ctx->entries_cap = LOOKUP_INITIAL_CAP;
    ctx->entries = calloc(ctx->entries_cap, sizeof(*ctx->entries));
    ctx->strs_cap = LOOKUP_INITIAL_CAP;
    ctx->strs = calloc(ctx->strs_cap, sizeof(*ctx->strs));
    if (ctx->entries == NULL || ctx->strs == NULL)
        goto fail;
    return ctx;
fail:
    lookup_free(ctx);
    errno = ENOMEM;
    return NULL;
}

void lookup_set_short_names(lookup_ctx *ctx, bool on)
{
    if (ctx != NULL)
        ctx->short_names = on;
}

void lookup_free(lookup_ctx *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->entries != NULL)
        for (size_t i = 0; i < ctx->entries_cap; i++)
            free(ctx->entries[i]);
    if (ctx->strs != NULL)
        for (size_t i = 0; i < ctx->strs_cap; i++)
            free(ctx->strs[i]);
    for (size_t i = 0; i < ctx->cus_used; i++) {
        free(ctx->cus[i]->fns);
        free(ctx->cus[i]);
    }
    free(ctx->cus);
    free(ctx->entries);
    free(ctx->strs);
    free(ctx);
}

/* ------------------------------------------------------------ hash tables */

static size_t lookup_hash_pc(uint64_t pc, bool return_address)
{
    uint64_t h = (pc ^ (return_address ? 0x5bd1e995u : 0)) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ (h >> 29));
}

static size_t lookup_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (size_t)(h ^ (h >> 32));
}

static struct lookup_entry *lookup_cache_find(const lookup_ctx *ctx, uint64_t pc,
                                              bool return_address)
{
    size_t mask = ctx->entries_cap - 1;
    for (size_t i = lookup_hash_pc(pc, return_address) & mask;; i = (i + 1) & mask) {
        struct lookup_entry *e = ctx->entries[i];
        if (e == NULL)
            return NULL;
        if (e->pc == pc && e->return_address == return_address)
            return e;
    }
}

static void lookup_cache_place(struct lookup_entry **table, size_t cap, struct lookup_entry *e)
{
    size_t i = lookup_hash_pc(e->pc, e->return_address) & (cap - 1);
    while (table[i] != NULL)
        i = (i + 1) & (cap - 1);
    table[i] = e;
}

/* Takes ownership of E on success only. */
static int lookup_cache_insert(lookup_ctx *ctx, struct lookup_entry *e)
{
    /* Keep the load at or under one half so probes stay short. */
    if ((ctx->entries_used + 1) * 2 > ctx->entries_cap) {
        size_t cap = ctx->entries_cap * 2;
        struct lookup_entry **table = calloc(cap, sizeof(*table));
        if (table == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < ctx->entries_cap; i++)
            if (ctx->entries[i] != NULL)
                lookup_cache_place(table, cap, ctx->entries[i]);
        free(ctx->entries);
        ctx->entries = table;
        ctx->entries_cap = cap;
    }
    lookup_cache_place(ctx->entries, ctx->entries_cap, e);
    ctx->entries_used++;
    return 0;
}

static void lookup_strs_place(char **table, size_t cap, char *s)
{
    size_t i = lookup_hash_str(s) & (cap - 1);
    while (table[i] != NULL)
        i = (i + 1) & (cap - 1);
    table[i] = s;
}

/* Sets *OUT to the context's copy of S (NULL stays NULL). */
static int lookup_intern(lookup_ctx *ctx, const char *s, const char **out)
{
    if (s == NULL) {
        *out = NULL;
        return 0;
    }
    size_t mask = ctx->strs_cap - 1;
    for (size_t i = lookup_hash_str(s) & mask; ctx->strs[i] != NULL; i = (i + 1) & mask) {
        if (strcmp(ctx->strs[i], s) == 0) {
            *out = ctx->strs[i];
            return 0;
        }
    }
    if ((ctx->strs_used + 1) * 2 > ctx->strs_cap) {
        size_t cap = ctx->strs_cap * 2;
        char **table = calloc(cap, sizeof(*table));
        if (table == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < ctx->strs_cap; i++)
            if (ctx->strs[i] != NULL)
                lookup_strs_place(table, cap, ctx->strs[i]);
        free(ctx->strs);
        ctx->strs = table;
        ctx->strs_cap = cap;
    }
    char *copy = strdup(s);
    if (copy == NULL)
        return -ENOMEM;
    lookup_strs_place(ctx->strs, ctx->strs_cap, copy);
    ctx->strs_used++;
    *out = copy;
    return 0;
}

/* Interns FILE, made absolute with DIR when it is relative (a build run
 * from the source tree records "examples/x.c" and the directory apart). */
static int lookup_intern_path(lookup_ctx *ctx, const char *file, const char *dir, const char **out)
{
    if (file == NULL || file[0] == '/' || dir == NULL || dir[0] != '/')
        return lookup_intern(ctx, file, out);
    size_t len = strlen(dir) + 1 + strlen(file) + 1;
    char *joined = malloc(len);
    if (joined == NULL)
        return -ENOMEM;
    snprintf(joined, len, "%s/%s", dir, file);
    int err = lookup_intern(ctx, joined, out);
    free(joined);
    return err;
}

static void lookup_shorten(const char *in, char *out);

/* Interns the function name NAME, in its short form (lookup_shorten) when
 * the context asks for short names. */
static int lookup_intern_function(lookup_ctx *ctx, const char *name, const char **out)
{
    if (name == NULL || !ctx->short_names || strpbrk(name, "<(:") == NULL)
        return lookup_intern(ctx, name, out);
    char *buf = malloc(strlen(name) + 1);
    if (buf == NULL)
        return -ENOMEM;
    lookup_shorten(name, buf);
    int err = lookup_intern(ctx, buf, out);
    free(buf);
    return err;
}

/* The lowercase hex of MOD's GNU build id interned into *OUT, or NULL
 * when it has none (or it is not known: no ELF file was read). */
static int lookup_intern_build_id(lookup_ctx *ctx, Dwfl_Module *mod, const char **out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *bits = NULL;
    GElf_Addr vaddr;
    char buf[2 * 64 + 1];
    int len = dwfl_module_build_id(mod, &bits, &vaddr);
    *out = NULL;
    /* elfutils takes ids of 3 to 64 bytes; real ones have 20. */
    if (len < 3 || len > 64)
        return 0;
    for (int i = 0; i < len; i++) {
        buf[2 * i] = hex[bits[i] >> 4];
        buf[2 * i + 1] = hex[bits[i] & 15];
    }
    buf[2 * len] = '\0';
    return lookup_intern(ctx, buf, out);
}

/* ------------------------------------------------------------ libdw */

/* A malloc'd demangled copy of NAME when it is a C++ (_Z) or Rust (_R, or
 * legacy _ZN...E) mangled name libiberty understands, else NULL. */
static char *lookup_demangle(const char *name)
{
    if (name == NULL || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R') ||
        strnlen(name, LOOKUP_DEMANGLE_MAX + 1) > LOOKUP_DEMANGLE_MAX)
        return NULL;
    return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI);
}

/* ------------------------------------------------------------ names */

static bool lookup_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* Whether S starts with 16 lowercase hex digits not followed by more of
 * an identifier: the hash of a legacy Rust symbol after "::h". */
static bool lookup_is_rust_hash(const char *s)
{
    for (int i = 0; i < 16; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return !lookup_ident_char(s[16]);
}

/* The index just past the bracket that closes the one at S[I] ('<' or
 * '('), counting only brackets of that kind and not taking the '>' of
 * "->" for one; the end of S when it is not closed. */
static size_t lookup_skip_balanced(const char *s, size_t i)
{
    char open = s[i], close = open == '<' ? '>' : ')';
    size_t depth = 0;
    for (; s[i] != '\0'; i++) {
        if (s[i] == open) {
            depth++;
        } else if (s[i] == close && !(close == '>' && i > 0 && s[i - 1] == '-')) {
            if (--depth == 0)
                return i + 1;
        }
    }
    return i;
}

/* Writes the short form of the demangled name IN to OUT, which has room
 * for strlen(IN) + 1 bytes (the short form is never longer):
 *   - a template or generic argument list, a balanced "<...>" right after
 *     a name ("Outer<Leaf<int> >::poll" -> "Outer::poll"), is dropped; a
 *     '<' that opens a path component (Rust's "<T as Trait>::f") stays,
 *     with the argument lists inside it dropped;
 *   - a function parameter list, a balanced "(...)" right after a name,
 *     is dropped with the qualifiers that follow it up to the next "::"
 *     (" const", " &&"); "(anonymous namespace)" stays;
 *   - a legacy Rust hash, "::h" and 16 hex digits, is dropped;
 *   - "{...}" (a lambda's "{lambda(int)#1}", Rust's "{closure#0}") and
 *     an operator's own characters ("operator<<", "operator()") stay. */
static void lookup_shorten(const char *in, char *out)
{
    size_t o = 0;
    int brace = 0;
    bool op_end = false; /* an operator's characters were just copied */
    /* The open '<' that start path components: whether each one's '>' is
     * dropped (no " as " inside); OVER counts those past the array. */
    bool drop_close[16];
    size_t kept = 0, over = 0;
    for (size_t i = 0; in[i] != '\0';) {
        char c = in[i];
        if (c == '{')
            brace++;
        if (brace > 0) {
            if (c == '}')
                brace--;
            out[o++] = c;
            i++;
            op_end = false;
            continue;
        }
        if (c == ':' && in[i + 1] == ':' && in[i + 2] == 'h' && lookup_is_rust_hash(in + i + 3)) {
            i += 3 + 16;
            continue;
        }
        if (o >= 8 && memcmp(out + o - 8, "operator", 8) == 0 &&
            (o == 8 || !lookup_ident_char(out[o - 9]))) {
            size_t k = c == '(' && in[i + 1] == ')' ? 2 : strspn(in + i, "<>=!+-*/%^&|~,[]");
            if (k > 0 && !op_end) {
                memcpy(out + o, in + i, k);
                o += k;
                i += k;
                op_end = true;
                continue;
            }
        }
        bool after_name = op_end || (o > 0 && (lookup_ident_char(out[o - 1]) || out[o - 1] == '>'));
        op_end = false;
        if (c == '<' && !after_name) {
            /* "<a::Foo<T>>::f" reads "a::Foo::f"; "<a::Foo as b::Bar>::f"
             * keeps its brackets. */
            size_t end = lookup_skip_balanced(in, i);
            bool as = memmem(in + i, end - i, " as ", 4) != NULL;
            if (kept < sizeof(drop_close) / sizeof(drop_close[0])) {
                drop_close[kept++] = !as;
                if (!as) {
                    i++;
                    continue;
                }
            } else {
                over++;
            }
        } else if (c == '>' && over > 0) {
            over--;
        } else if (c == '>' && kept > 0 && drop_close[--kept]) {
            i++;
            continue;
        }
        if ((c == '<' || c == '(') && after_name) {
            i = lookup_skip_balanced(in, i);
            if (c == '(' && in[i] == ' ')
                while (in[i] != '\0' && !(in[i] == ':' && in[i + 1] == ':'))
                    i++;
            continue;
        }
        out[o++] = c;
        i++;
    }
    out[o] = '\0';
}

/* Whether the unit CU is C or assembly, whose DWARF has no namespaces or
 * classes (0x2c is DW_LANG_C17, missing from older dwarf.h). */
static bool lookup_unit_is_c(Dwarf_Die *cu)
{
    int lang = dwarf_srclang(cu);
    return lang == DW_LANG_C89 || lang == DW_LANG_C || lang == DW_LANG_C99 || lang == DW_LANG_C11 ||
           lang == 0x2c || lang == DW_LANG_Mips_Assembler;
}

/* Whether a scope of this tag names a part of a qualified name. */
static bool lookup_is_named_scope(int tag)
{
    return tag == DW_TAG_namespace || tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
           tag == DW_TAG_union_type || tag == DW_TAG_interface_type ||
           tag == DW_TAG_enumeration_type || tag == DW_TAG_subprogram;
}

/* A malloc'd qualified name for DIE, whose DW_AT_name NAME is only the
 * last component: the names of the namespaces, classes, structures and
 * functions around the declaration, outermost first, joined by "::"
 * ("app::Outer<int>::poll", Rust's "app::main::{closure#0}").  libdw has
 * no parent pointers: dwarf_getscopes_die walks the unit from its start to
 * the DIE, once per distinct address thanks to the cache.  The DIE that
 * sits in the class is the declaration an out-of-line definition points
 * to (DW_AT_specification) or an inlined instance's abstract origin; at
 * most 8 such hops are followed.  NULL when nothing encloses it (C) or on
 * error. */
static char *lookup_qualify(Dwarf_Die *die, const char *name)
{
    Dwarf_Die decl = *die, next, cu;
    Dwarf_Attribute attr;
    Dwarf_Die *scopes = NULL;
    char *out = NULL;
    /* C has no scopes to name, and its units can be large: the walk is
     * skipped. */
    if (dwarf_diecu(die, &cu, NULL, NULL) != NULL && lookup_unit_is_c(&cu))
        return NULL;
    for (int hop = 0; hop < 8; hop++) {
        if (dwarf_attr(&decl, DW_AT_abstract_origin, &attr) == NULL &&
            dwarf_attr(&decl, DW_AT_specification, &attr) == NULL)
            break;
        if (dwarf_formref_die(&attr, &next) == NULL)
            break;
        decl = next;
    }
    int n = dwarf_getscopes_die(&decl, &scopes);
    if (n <= 1)
        goto out;
    const char *parts[LOOKUP_SCOPES_MAX];
    size_t nparts = 0, len = strlen(name) + 1;
    /* scopes[0] is the DIE itself, scopes[n - 1] its unit. */
    for (int i = 1; i < n - 1 && nparts < LOOKUP_SCOPES_MAX; i++) {
        if (!lookup_is_named_scope(dwarf_tag(&scopes[i])))
            continue;
        const char *p = dwarf_diename(&scopes[i]);
        if (p == NULL && dwarf_tag(&scopes[i]) == DW_TAG_namespace)
            p = "(anonymous namespace)";
        if (p == NULL)
            continue;
        parts[nparts++] = p;
        len += strnlen(p, LOOKUP_QUALIFIED_MAX) + 2;
    }
    if (nparts == 0 || len > LOOKUP_QUALIFIED_MAX || (out = malloc(len)) == NULL)
        goto out;
    size_t o = 0;
    /* parts[] is innermost first. */
    for (size_t i = nparts; i-- > 0;) {
        size_t pl = strlen(parts[i]);
        memcpy(out + o, parts[i], pl);
        memcpy(out + o + pl, "::", 2);
        o += pl + 2;
    }
    memcpy(out + o, name, strlen(name) + 1);
out:
    free(scopes);
    return out;
}

/* The DIE's name, following DW_AT_abstract_origin / DW_AT_specification:
 * an inlined instance or an out-of-line copy carries no name itself.  The
 * demangled linkage name when there is one, since DW_AT_name holds only
 * the last component of a C++ or Rust name ("poll" for
 * "app::Outer<int>::poll(trt_future*, trt_context*)"); *OWNED is then set
 * to that copy, for the caller to free. */
static const char *lookup_die_name(Dwarf_Die *die, char **owned)
{
    Dwarf_Attribute attr;
    const char *linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (linkage == NULL)
        linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    *owned = lookup_demangle(linkage);
    if (*owned != NULL)
        return *owned;
    const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
    /* No linkage name (a C++ member defined in its class and always
     * inlined, a Rust closure): qualify the short name with its scopes. */
    if (name != NULL && linkage == NULL && (*owned = lookup_qualify(die, name)) != NULL)
        return *owned;
    return name;
}

static int lookup_die_int(Dwarf_Die *die, unsigned int name)
{
    Dwarf_Attribute attr;
    Dwarf_Word val;
    if (dwarf_formudata(dwarf_attr(die, name, &attr), &val) != 0 || val > INT32_MAX)
        return 0;
    return (int)val;
}

/* The call site of the inlined instance DIE, read into CALLER. */
static void lookup_call_site(Dwarf_Die *die, Dwarf_Files *files, struct lookup_raw *caller)
{
    Dwarf_Attribute attr;
    Dwarf_Word idx;
    if (files != NULL && dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &idx) == 0) {
        const char *file = dwarf_filesrc(files, idx, NULL, NULL);
        /* Before DWARF 5, index 0 means "no file"; libdw names it ???. */
        if (file != NULL && strcmp(file, "???") != 0)
            caller->file = file;
    }
    caller->line = lookup_die_int(die, DW_AT_call_line);
    caller->column = lookup_die_int(die, DW_AT_call_column);
}

static bool lookup_is_function(Dwarf_Die *die)
{
    int tag = dwarf_tag(die);
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
           tag == DW_TAG_entry_point;
}

/* The CU whose ranges hold ADDR, found by walking every CU: libdw looks
 * addresses up through .debug_aranges, which some compilers (clang) do not
 * emit.  Bounded; NULL when no CU holds ADDR. */
static Dwarf_Die *lookup_cu_scan(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *bias)
{
    Dwarf_Die *cu = NULL;
    Dwarf_Addr b = 0;
    for (int n = 0; n < 1000000 && (cu = dwfl_module_nextcu(mod, cu, &b)) != NULL; n++) {
        /* A split unit's ranges may live in its .dwo file, not read. */
        if (findfile_cu_is_split(mod, cu))
            continue;
        if (dwarf_haspc(cu, addr - b) > 0) {
            *bias = b;
            return cu;
        }
    }
    return NULL;
}

/* Fills OUT[0 .. return value) innermost first with the functions of
 * CHAIN[0 .. NCHAIN), a DIE and the scopes around it, innermost first,
 * up to and including the first out-of-line function: the innermost
 * frame's place is LOC, the line table's, every other frame's the call
 * site of the inlined instance inside it. */
static size_t lookup_chain_frames(Dwarf_Die *chain, size_t nchain, struct lookup_raw *out,
                                  size_t cap, const struct lookup_raw *loc)
{
    size_t n = 0;
    Dwarf_Die cu;
    Dwarf_Files *files = NULL;
    if (nchain == 0 || dwarf_diecu(&chain[0], &cu, NULL, NULL) == NULL ||
        dwarf_getsrcfiles(&cu, &files, NULL) != 0)
        files = NULL;

    Dwarf_Die *callee = NULL; /* the last inlined instance seen */
    for (size_t i = 0; i < nchain && n < cap; i++) {
        Dwarf_Die *die = &chain[i];
        if (!lookup_is_function(die))
            continue;
        struct lookup_raw *f = &out[n++];
        *f = (struct lookup_raw){.comp_dir = loc->comp_dir};
        f->function = lookup_die_name(die, &f->owned);
        /* Follows abstract origins: an inlined instance has its
         * function's declaration. */
        f->decl_file = dwarf_decl_file(die);
        if (dwarf_decl_line(die, &f->decl_line) != 0)
            f->decl_line = 0;
        if (callee == NULL) {
            f->file = loc->file;
            f->line = loc->line;
            f->column = loc->column;
        } else {
            lookup_call_site(callee, files, f);
        }
        if (dwarf_tag(die) != DW_TAG_inlined_subroutine)
            break; /* the out-of-line function: the root */
        f->inlined = true;
        callee = die;
    }
    return n;
}

/* Whether the walk of a unit looks inside DIEs of this tag for functions:
 * the scopes that name them, which have no addresses. */
static bool lookup_walk_descends(int tag)
{
    return tag == DW_TAG_namespace || tag == DW_TAG_module || tag == DW_TAG_structure_type ||
           tag == DW_TAG_class_type || tag == DW_TAG_union_type || tag == DW_TAG_enumeration_type ||
           tag == DW_TAG_interface_type;
}

static int lookup_fn_range_cmp(const void *a, const void *b)
{
    const struct lookup_fn_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Appends the address ranges of the function DIE to IX, whose array has
 * room for *CAP. */
static int lookup_cu_index_add(struct lookup_cu_index *ix, size_t *cap, Dwarf_Die *die)
{
    Dwarf_Addr base, lo, hi;
    ptrdiff_t off = 0;
    for (int r = 0; r < LOOKUP_WALK_RANGES && (off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0;
         r++) {
        if (lo >= hi)
            continue;
        if (ix->n == *cap) {
            size_t ncap = *cap == 0 ? 64 : *cap * 2;
            struct lookup_fn_range *fns = realloc(ix->fns, ncap * sizeof(*fns));
            if (fns == NULL)
                return -ENOMEM;
            ix->fns = fns;
            *cap = ncap;
        }
        ix->fns[ix->n++] = (struct lookup_fn_range){.lo = lo, .hi = hi, .die = *die};
    }
    return 0;
}

/* Walks the unit CUDIE depth first, into namespaces, modules, classes,
 * structures, unions and enumerations, and indexes the address ranges of
 * every function DIE (subprogram) with code it meets.  The walk reads the
 * target's DWARF: it follows at most LOOKUP_WALK_DEPTH levels, visits at most
 * LOOKUP_WALK_UNIT_DIES DIEs, and what is left of the context's budget;
 * past a bound, or at a DIE libdw cannot read, it ends with what it
 * found.  Returns the index (owned by the caller) or NULL when out of
 * memory. */
static struct lookup_cu_index *lookup_cu_index_build(lookup_ctx *ctx, Dwfl_Module *mod,
                                                     Dwarf_Die *cudie)
{
    struct lookup_cu_index *ix = calloc(1, sizeof(*ix));
    Dwarf_Die stack[LOOKUP_WALK_DEPTH], next;
    size_t cap = 0, visited = 0;
    int depth = 0;
    if (ix == NULL)
        return NULL;
    ix->mod = mod;
    ix->cu_off = dwarf_dieoffset(cudie);
    if (dwarf_child(cudie, &stack[0]) != 0)
        goto out;
    for (;;) {
        if (visited >= LOOKUP_WALK_UNIT_DIES || ctx->walk_budget == 0)
            goto out;
        visited++;
        ctx->walk_budget--;
        Dwarf_Die *die = &stack[depth];
        int tag = dwarf_tag(die);
        if (tag == DW_TAG_subprogram) {
            if (lookup_cu_index_add(ix, &cap, die) != 0) {
                free(ix->fns);
                free(ix);
                return NULL;
            }
        } else if (lookup_walk_descends(tag) && depth + 1 < LOOKUP_WALK_DEPTH &&
                   dwarf_child(die, &stack[depth + 1]) == 0) {
            depth++;
            continue;
        }
        /* On to the next sibling, or the parent's next sibling. */
        int r;
        while ((r = dwarf_siblingof(&stack[depth], &next)) != 0) {
            if (r < 0 || depth == 0)
                goto out;
            depth--;
        }
        stack[depth] = next;
    }
out:
    if (ix->n > 1)
        qsort(ix->fns, ix->n, sizeof(ix->fns[0]), lookup_fn_range_cmp);
    return ix;
}

/* The index of the unit CUDIE of MOD, built on first use; NULL when out
 * of memory. */
static struct lookup_cu_index *lookup_cu_index_get(lookup_ctx *ctx, Dwfl_Module *mod,
                                                   Dwarf_Die *cudie)
{
    Dwarf_Off off = dwarf_dieoffset(cudie);
    /* A dump's addresses come from few units: newest first. */
    for (size_t i = ctx->cus_used; i-- > 0;)
        if (ctx->cus[i]->mod == mod && ctx->cus[i]->cu_off == off)
            return ctx->cus[i];
    if (ctx->cus_used == ctx->cus_cap) {
        size_t ncap = ctx->cus_cap == 0 ? 16 : ctx->cus_cap * 2;
        struct lookup_cu_index **cus = realloc(ctx->cus, ncap * sizeof(*cus));
        if (cus == NULL)
            return NULL;
        ctx->cus = cus;
        ctx->cus_cap = ncap;
    }
    struct lookup_cu_index *ix = lookup_cu_index_build(ctx, mod, cudie);
    if (ix != NULL)
        ctx->cus[ctx->cus_used++] = ix;
    return ix;
}

/* Whether the descent from a function to the innermost scope at an
 * address goes into DIEs of this tag. */
static bool lookup_is_code_scope(int tag)
{
    return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
           tag == DW_TAG_try_block || tag == DW_TAG_catch_block;
}

/* Fills OUT like lookup_dwarf_frames for the address ADDR of the unit
 * CUDIE, through its index: the function whose range holds ADDR, then
 * down its tree, at each level the inlined instance or block whose ranges
 * hold ADDR (at most LOOKUP_WALK_INLINE_DEPTH levels, and as many DIEs
 * visited as one unit's walk). */
static size_t lookup_walk_frames(lookup_ctx *ctx, Dwfl_Module *mod, Dwarf_Die *cudie,
                                 Dwarf_Addr addr, struct lookup_raw *out, size_t cap,
                                 const struct lookup_raw *loc)
{
    Dwarf_Die path[LOOKUP_WALK_INLINE_DEPTH], child, tmp;
    struct lookup_cu_index *ix = lookup_cu_index_get(ctx, mod, cudie);
    if (ix == NULL || ix->n == 0)
        return 0;
    /* The last range starting at or before ADDR; functions do not nest,
     * but in case some DWARF nests them, the few ranges before that are
     * tried too. */
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->fns[mid].lo <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct lookup_fn_range *fn = NULL;
    for (size_t i = lo; i > 0 && lo - i < 8 && fn == NULL; i--)
        if (addr < ix->fns[i - 1].hi)
            fn = &ix->fns[i - 1];
    if (fn == NULL)
        return 0;
    size_t depth = 0, visited = 0;
    path[depth++] = fn->die;
    while (depth < LOOKUP_WALK_INLINE_DEPTH) {
        bool found = false;
        int r = dwarf_child(&path[depth - 1], &child);
        while (r == 0 && ++visited <= LOOKUP_WALK_UNIT_DIES) {
            if (lookup_is_code_scope(dwarf_tag(&child)) && dwarf_haspc(&child, addr) > 0) {
                found = true;
                break;
            }
            r = dwarf_siblingof(&child, &child);
        }
        if (!found)
            break;
        path[depth++] = child;
    }
    /* The chain lookup_chain_frames takes is innermost first. */
    for (size_t i = 0; i < depth / 2; i++) {
        tmp = path[i];
        path[i] = path[depth - 1 - i];
        path[depth - 1 - i] = tmp;
    }
    return lookup_chain_frames(path, depth, out, cap, loc);
}

/* Fills OUT[0 .. return value) innermost first with the functions whose
 * code contains ADDR, and *LOC with the line table's entry for ADDR.
 * Returns 0 frames when the module has no DWARF for ADDR or no function
 * DIE covers it (hand-written assembly); *LOC may still be set then. */
static size_t lookup_dwarf_frames(lookup_ctx *ctx, Dwfl_Module *mod, Dwarf_Addr addr,
                                  struct lookup_raw *out, size_t cap, struct lookup_raw *loc)
{
    size_t n = 0;
    Dwarf_Die *scopes = NULL, *chain = NULL;
    Dwarf_Addr bias = 0;
    if (!findfile_dwarf_ok(mod))
        return 0;
    Dwarf_Die *cudie = dwfl_module_addrdie(mod, addr, &bias);
    if (cudie != NULL && findfile_cu_is_split(mod, cudie))
        return 0;
    if (cudie == NULL)
        cudie = lookup_cu_scan(mod, addr, &bias);
    if (cudie == NULL)
        return 0;

    Dwarf_Attribute dir_attr;
    const char *comp_dir = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &dir_attr));
    loc->comp_dir = comp_dir;
    Dwarf_Line *line = dwarf_getsrc_die(cudie, addr - bias);
    if (line != NULL) {
        loc->file = dwarf_linesrc(line, NULL, NULL);
        if (dwarf_lineno(line, &loc->line) != 0 || loc->line < 0)
            loc->line = 0;
        if (dwarf_linecol(line, &loc->column) != 0 || loc->column < 0)
            loc->column = 0;
    }

    /* dwarf_getscopes descends only into DIEs whose ranges hold the
     * address, so it never finds a function declared inside a namespace,
     * which has none: rustc declares all but methods so.  Then the unit's
     * own index is searched: at once for a Rust unit (dwarf_getscopes
     * would read the whole unit again for each address, and find only
     * what the index has), after dwarf_getscopes found nothing for any
     * other unit but C, which has no namespaces to look into. */
    bool rust = dwarf_srclang(cudie) == DW_LANG_Rust;
    int nscopes = rust ? 0 : dwarf_getscopes(cudie, addr - bias, &scopes);
    if (nscopes > 0) {
        /* Past an inlined instance dwarf_getscopes continues with the
         * scopes of its abstract definition; walking up from the
         * innermost scope in the concrete tree instead yields each
         * inlined instance followed by the function it was inlined into,
         * as eu-addr2line -i does. */
        int nchain = dwarf_getscopes_die(&scopes[0], &chain);
        if (nchain <= 0) {
            free(chain);
            chain = scopes;
            scopes = NULL;
            nchain = nscopes;
        }
        n = lookup_chain_frames(chain, (size_t)nchain, out, cap, loc);
    }
    if (n == 0 && !lookup_unit_is_c(cudie))
        n = lookup_walk_frames(ctx, mod, cudie, addr - bias, out, cap, loc);
    free(scopes);
    free(chain);
    return n;
}

/* ------------------------------------------------------------ lookups */

static int lookup_resolve(lookup_ctx *ctx, uint64_t pc, bool return_address,
                          struct lookup_entry **out)
{
    struct lookup_raw raw[LOOKUP_MAX_FRAMES];
    struct lookup_raw loc = {0};
    const char *module = NULL, *build_id = NULL;
    uint64_t module_off = 0, module_base = 0;
    char *symname = NULL;
    struct lookup_entry *e = NULL;
    size_t n = 0;
    int err = 0;

    /* A return address is the instruction after the call, which may
     * already belong to the next line or even the next function. */
    Dwarf_Addr addr = return_address && pc > 0 ? pc - 1 : pc;
    Dwarf_Addr start = 0, end = 0;
    Dwfl_Module *mod = dwfl_addrmodule(ctx->dwfl, addr);
    /* libdwfl 0.188 hands out the last module for any address above it
     * (the stack, [vsyscall], garbage): check the range ourselves. */
    if (mod != NULL && (dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL) == NULL ||
                        addr < start || addr >= end))
        mod = NULL;
    if (mod != NULL) {
        n = lookup_dwarf_frames(ctx, mod, addr, raw, LOOKUP_MAX_FRAMES, &loc);
        if (n == 0 || raw[n - 1].function == NULL) {
            GElf_Off off = 0;
            GElf_Sym sym;
            const char *name = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
            char *demangled = lookup_demangle(name);
            if (demangled != NULL)
                name = demangled;
            if (name != NULL && n > 0) {
                raw[n - 1].function = name;
                raw[n - 1].owned = demangled;
                demangled = NULL;
            } else if (name != NULL) {
                /* The offset is reported from the original pc, like the
                 * frame's other fields. */
                size_t len = strlen(name) + sizeof("+0x") + 16;
                symname = malloc(len);
                if (symname != NULL)
                    snprintf(symname, len, "%s+0x%" PRIx64, name, (uint64_t)(off + (pc - addr)));
            }
            free(demangled);
            if (name != NULL && n == 0 && symname == NULL) {
                err = -ENOMEM;
                goto out;
            }
            if (n == 0) {
                raw[0] = loc;
                raw[0].function = symname;
                n = 1;
            }
        }
        /* Asked after the lookups above, which load the ELF file: before
         * that, mainfile is not known yet. */
        const char *mainfile = NULL;
        const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
        module = name != NULL && name[0] == '/' ? name : mainfile != NULL ? mainfile : name;
        /* The load bias maps the file's own addresses to the process's:
         * the offset is then what eu-addr2line -e FILE takes, for an
         * ET_EXEC (bias 0) as for an ET_DYN.  Without the file (refused,
         * missing) the lowest mapped address stands in for it, which is
         * the bias of the usual ET_DYN whose first PT_LOAD is at 0. */
        Dwarf_Addr bias = start;
        if (dwfl_module_getelf(mod, &bias) == NULL || bias > pc)
            bias = start;
        module_base = bias;
        module_off = pc - bias;
        if ((err = lookup_intern_build_id(ctx, mod, &build_id)) != 0)
            goto out;
    } else {
        raw[0] = (struct lookup_raw){0};
        n = 1;
    }

    e = calloc(1, sizeof(*e) + n * (sizeof(e->frames[0]) + sizeof(e->ptrs[0])));
    if (e == NULL) {
        err = -ENOMEM;
        goto out;
    }
    e->pc = pc;
    e->return_address = return_address;
    e->n = n;
    /* Frames have 8-byte alignment and a size that is a multiple of it, so
     * the pointer array right after them is aligned. */
    e->ptrs = (const struct frame **)(void *)&e->frames[n];
    if ((err = lookup_intern(ctx, module, &module)) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        /* raw[] is innermost first; the entry is root first. */
        const struct lookup_raw *r = &raw[n - 1 - i];
        struct frame *f = &e->frames[i];
        if ((err = lookup_intern_function(ctx, r->function, &f->function)) != 0 ||
            (err = lookup_intern_path(ctx, r->file, r->comp_dir, &f->file)) != 0 ||
            (err = lookup_intern_path(ctx, r->decl_line > 0 ? r->decl_file : NULL, r->comp_dir,
                                      &f->decl_file)) != 0)
            goto out;
        f->decl_line = r->decl_line;
        f->line = r->line;
        f->column = r->column;
        f->inlined = r->inlined;
        f->module = module;
        f->pc = pc;
        f->module_off = module_off;
        f->module_base = module_base;
        f->build_id = build_id;
        e->ptrs[i] = f;
    }
    *out = e;
    e = NULL;
out:
    for (size_t i = 0; i < n; i++)
        free(raw[i].owned);
    free(e);
    free(symname);
    return err;
}

int lookup_pc(lookup_ctx *ctx, uint64_t pc, bool return_address, const struct frame *const **frames,
              size_t *nframes)
{
    if (ctx == NULL || frames == NULL || nframes == NULL)
        return -EINVAL;
    struct lookup_entry *e = lookup_cache_find(ctx, pc, return_address);
    if (e == NULL) {
        int err = lookup_resolve(ctx, pc, return_address, &e);
        if (err != 0)
            return err;
        if ((err = lookup_cache_insert(ctx, e)) != 0) {
            free(e);
            return err;
        }
    }
    *frames = e->ptrs;
    *nframes = e->n;
    return 0;
}
