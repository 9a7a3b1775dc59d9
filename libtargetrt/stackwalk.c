/* The capture's stack walk: a DWARF CFI unwinder with a cache of rules.
 *
 * A dump captures the stack of every task, and the tasks of one program
 * wait in a handful of places: the same return addresses, stack after
 * stack.  backtrace() (libgcc's unwinder) finds and interprets the CFI of
 * every frame again on every call, some 150-200 ns a frame.  This walk
 * interprets the CFI of a return address once per dump generation and keeps
 * the result, a rule of a few bits, in a fixed table: later frames at that
 * address cost one table lookup and two loads from the stack.
 *
 * The rule of an address is what the x86-64 code compilers emit says about
 * it: the CFA is rsp or rbp plus an offset, the return address is saved at
 * CFA - 8, and rbp is either unchanged or saved at CFA - 8k.  Anything else
 * (a CFA expression, a register rule this walk does not model, a signal
 * frame, a 64-bit DWARF length, an .eh_frame_hdr without the sorted
 * table) marks the address unsupported, and the capture that meets it
 * falls back to backtrace() for its whole stack: the walk never guesses.
 *
 * The table is static (no allocation) and lock-free: a slot's key, the
 * address, is claimed once with a compare-and-swap; its value carries the
 * generation it was computed in, and a capture trusts only values of its
 * own generation.  Rules are thus interpreted afresh in every dump, so a
 * library unloaded and another loaded at its address between dumps cannot
 * leave a stale rule behind.  A full table only means more fallbacks.
 *
 * Where the walk cannot run (another architecture, no _dl_find_object),
 * trt__stackwalk says so and the capture uses backtrace(). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "rt_internal.h"

#if defined(__x86_64__) && defined(HAVE__DL_FIND_OBJECT)
#include <dlfcn.h>

/* DWARF register numbers of x86-64. */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

/* A rule, packed into 32 bits. */
#define RULE_VALID 0x80000000u       /* computed (a zero value is an empty slot) */
#define RULE_UNSUPPORTED 0x40000000u /* fall back to backtrace() */
#define RULE_END 0x20000000u         /* the outermost frame: no caller */
#define RULE_CFA_RBP 0x08000000u     /* CFA = rbp + offset, else rsp + offset */
#define RULE_RBP_SHIFT 19            /* bits 19..26: rbp saved at CFA - 8k, 0 unchanged */
#define RULE_RBP_MASK 0xffu
#define RULE_OFF_MASK 0x7ffffu /* bits 0..18: the CFA offset */

/* The table: a power of two, probed linearly for at most PROBES slots. */
#define TABLE_SLOTS 4096u
#define PROBES 16u

struct slot {
    _Atomic uint64_t key;   /* the address looked up; 0 free */
    _Atomic uint64_t value; /* generation << 32 | rule; 0 not yet computed */
};

static struct slot table[TABLE_SLOTS];

/* Reading CFI: our own process's unwind tables, mapped read-only by the
 * loader.  Every read stays inside the FDE or CIE being read. */
struct cursor {
    const uint8_t *p, *end;
    bool bad;
};

static uint64_t read_uleb(struct cursor *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0; c->p < c->end; shift += 7) {
        uint8_t b = *c->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    c->bad = true;
    return 0;
}

static int64_t read_sleb(struct cursor *c)
{
    uint64_t v = 0;
    unsigned shift = 0;
    while (c->p < c->end) {
        uint8_t b = *c->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= ~0ull << shift;
            return (int64_t)v;
        }
    }
    c->bad = true;
    return 0;
}

static uint64_t read_fixed(struct cursor *c, size_t n)
{
    if ((size_t)(c->end - c->p) < n) {
        c->bad = true;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, c->p, n); /* little-endian */
    c->p += n;
    return v;
}

/* DW_EH_PE_* pointer encodings. */
#define PE_OMIT 0xff
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_PCREL 0x10
#define PE_DATAREL 0x30

/* Reads a pointer of encoding `enc`: the value only (`value_only`, as for an
 * FDE's pc_range), or applied pc-relative.  Other applications (text-,
 * data-, function-relative, aligned, indirect) are not met in the CFI this
 * walk reads and mark the cursor bad. */
static uint64_t read_encoded(struct cursor *c, uint8_t enc, bool value_only)
{
    const uint8_t *at = c->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case PE_ABSPTR:
    case PE_UDATA8:
    case PE_SDATA8:
        v = read_fixed(c, 8);
        break;
    case PE_UDATA4:
        v = read_fixed(c, 4);
        break;
    case PE_SDATA4:
        v = (uint64_t)(int64_t)(int32_t)read_fixed(c, 4);
        break;
    case PE_UDATA2:
        v = read_fixed(c, 2);
        break;
    case PE_SDATA2:
        v = (uint64_t)(int64_t)(int16_t)read_fixed(c, 2);
        break;
    case PE_ULEB128:
        v = read_uleb(c);
        break;
    case PE_SLEB128:
        v = (uint64_t)read_sleb(c);
        break;
    default:
        c->bad = true;
        return 0;
    }
    if (value_only)
        return v;
    switch (enc & 0x70) {
    case 0:
        break;
    case PE_PCREL:
        v += (uint64_t)(uintptr_t)at;
        break;
    default:
        c->bad = true;
    }
    if (enc & 0x80)
        c->bad = true;
    return v;
}

/* The registers' rules while a CFA program runs. */
enum { R_SAME, R_OFFSET, R_UNDEFINED, R_OTHER };

struct state {
    int cfa_reg;
    int64_t cfa_off;
    int rbp, ra;             /* R_* */
    int64_t rbp_off, ra_off; /* R_OFFSET: saved at CFA + off */
};

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint64_t ra_reg;
    uint8_t fde_enc;
    bool has_aug_data;
    struct cursor insns;
};

/* Parses the CIE at `p`; false if it is not one this walk reads. */
static bool cie_parse(const uint8_t *p, struct cie *cie)
{
    uint32_t len;
    memcpy(&len, p, 4);
    if (len == 0 || len == 0xffffffffu)
        return false;
    struct cursor c = {p + 4, p + 4 + len, false};
    if (read_fixed(&c, 4) != 0) /* a CIE's id in .eh_frame */
        return false;
    uint8_t version = (uint8_t)read_fixed(&c, 1);
    if (version != 1 && version != 3)
        return false;
    const char *aug = (const char *)c.p;
    size_t auglen = strnlen(aug, (size_t)(c.end - c.p));
    if (auglen == (size_t)(c.end - c.p))
        return false;
    c.p += auglen + 1;
    cie->code_align = read_uleb(&c);
    cie->data_align = read_sleb(&c);
    cie->ra_reg = version == 1 ? read_fixed(&c, 1) : read_uleb(&c);
    cie->fde_enc = PE_ABSPTR;
    cie->has_aug_data = aug[0] == 'z';
    if (cie->has_aug_data) {
        uint64_t n = read_uleb(&c);
        if (c.bad || n > (uint64_t)(c.end - c.p))
            return false;
        struct cursor a = {c.p, c.p + n, false};
        c.p += n;
        for (size_t i = 1; i < auglen; i++) {
            switch (aug[i]) {
            case 'R':
                cie->fde_enc = (uint8_t)read_fixed(&a, 1);
                break;
            case 'L':
                (void)read_fixed(&a, 1);
                break;
            case 'P': {
                uint8_t enc = (uint8_t)read_fixed(&a, 1);
                (void)read_encoded(&a, enc & 0x7f, true);
                break;
            }
            default: /* 'S' (a signal frame) and anything unknown */
                return false;
            }
        }
        if (a.bad)
            return false;
    } else if (auglen != 0) {
        return false;
    }
    cie->insns = c;
    return !c.bad && cie->ra_reg == REG_RA;
}

/* Applies a rule "register `reg` saved at CFA + off" (or another rule). */
static void set_reg(struct state *s, uint64_t reg, int rule, int64_t off)
{
    if (reg == REG_RBP) {
        s->rbp = rule;
        s->rbp_off = off;
    } else if (reg == REG_RA) {
        s->ra = rule;
        s->ra_off = off;
    }
}

#define STATE_STACK 8

/* Runs the CFA program in `c` over `s` until the location passes `target`
 * (`loc` is where the program starts).  `initial` is the state after the
 * CIE's program, for DW_CFA_restore.  False for an instruction this walk
 * does not model. */
static bool cfa_run(struct cursor *c, const struct cie *cie, uint64_t loc, uint64_t target,
                    struct state *s, const struct state *initial)
{
    struct state saved[STATE_STACK];
    unsigned nsaved = 0;
    while (c->p < c->end && !c->bad) {
        uint8_t op = *c->p++;
        uint64_t reg, delta;
        switch (op >> 6) {
        case 1: /* DW_CFA_advance_loc */
            delta = (op & 0x3f) * cie->code_align;
            goto advance;
        case 2: /* DW_CFA_offset */
            set_reg(s, op & 0x3f, R_OFFSET, (int64_t)read_uleb(c) * cie->data_align);
            continue;
        case 3: /* DW_CFA_restore */
            reg = op & 0x3f;
            goto restore;
        default:
            break;
        }
        switch (op) {
        case 0x00: /* DW_CFA_nop */
            continue;
        case 0x02: /* DW_CFA_advance_loc1 */
            delta = read_fixed(c, 1) * cie->code_align;
            goto advance;
        case 0x03: /* DW_CFA_advance_loc2 */
            delta = read_fixed(c, 2) * cie->code_align;
            goto advance;
        case 0x04: /* DW_CFA_advance_loc4 */
            delta = read_fixed(c, 4) * cie->code_align;
            goto advance;
        case 0x05: /* DW_CFA_offset_extended */
            reg = read_uleb(c);
            set_reg(s, reg, R_OFFSET, (int64_t)read_uleb(c) * cie->data_align);
            continue;
        case 0x06: /* DW_CFA_restore_extended */
            reg = read_uleb(c);
            goto restore;
        case 0x07: /* DW_CFA_undefined */
            set_reg(s, read_uleb(c), R_UNDEFINED, 0);
            continue;
        case 0x08: /* DW_CFA_same_value */
            set_reg(s, read_uleb(c), R_SAME, 0);
            continue;
        case 0x09: /* DW_CFA_register */
            reg = read_uleb(c);
            (void)read_uleb(c);
            set_reg(s, reg, R_OTHER, 0);
            continue;
        case 0x0a: /* DW_CFA_remember_state */
            if (nsaved == STATE_STACK)
                return false;
            saved[nsaved++] = *s;
            continue;
        case 0x0b: /* DW_CFA_restore_state: the CFA rule too, as in libgcc */
            if (nsaved == 0)
                return false;
            *s = saved[--nsaved];
            continue;
        case 0x0c: /* DW_CFA_def_cfa */
            s->cfa_reg = (int)read_uleb(c);
            s->cfa_off = (int64_t)read_uleb(c);
            continue;
        case 0x0d: /* DW_CFA_def_cfa_register */
            s->cfa_reg = (int)read_uleb(c);
            continue;
        case 0x0e: /* DW_CFA_def_cfa_offset */
            s->cfa_off = (int64_t)read_uleb(c);
            continue;
        case 0x10: /* DW_CFA_expression */
        case 0x16: /* DW_CFA_val_expression */
            reg = read_uleb(c);
            delta = read_uleb(c);
            if (delta > (uint64_t)(c->end - c->p))
                return false;
            c->p += delta;
            set_reg(s, reg, R_OTHER, 0);
            continue;
        case 0x11: /* DW_CFA_offset_extended_sf */
            reg = read_uleb(c);
            set_reg(s, reg, R_OFFSET, read_sleb(c) * cie->data_align);
            continue;
        case 0x12: /* DW_CFA_def_cfa_sf */
            s->cfa_reg = (int)read_uleb(c);
            s->cfa_off = read_sleb(c) * cie->data_align;
            continue;
        case 0x13: /* DW_CFA_def_cfa_offset_sf */
            s->cfa_off = read_sleb(c) * cie->data_align;
            continue;
        case 0x14: /* DW_CFA_val_offset */
            reg = read_uleb(c);
            (void)read_uleb(c);
            set_reg(s, reg, R_OTHER, 0);
            continue;
        case 0x15: /* DW_CFA_val_offset_sf */
            reg = read_uleb(c);
            (void)read_sleb(c);
            set_reg(s, reg, R_OTHER, 0);
            continue;
        case 0x2e: /* DW_CFA_GNU_args_size */
            (void)read_uleb(c);
            continue;
        case 0x2f: /* DW_CFA_GNU_negative_offset_extended */
            reg = read_uleb(c);
            set_reg(s, reg, R_OFFSET, -(int64_t)read_uleb(c) * cie->data_align);
            continue;
        default: /* DW_CFA_set_loc, DW_CFA_def_cfa_expression, vendor ones */
            return false;
        }
    advance:
        loc += delta;
        if (loc > target)
            return !c->bad;
        continue;
    restore:
        if (!initial)
            return false;
        if (reg == REG_RBP) {
            s->rbp = initial->rbp;
            s->rbp_off = initial->rbp_off;
        } else if (reg == REG_RA) {
            s->ra = initial->ra;
            s->ra_off = initial->ra_off;
        }
    }
    return !c->bad;
}

/* Finds the FDE covering `pc` through the object's .eh_frame_hdr table and
 * computes the rule at `pc`.  An address without CFI in a loaded object's
 * table is unsupported too: libgcc also searches the frames registered
 * with __register_frame (as JITs do), which this walk does not. */
static uint32_t rule_compute(uint64_t pc)
{
    struct dl_find_object obj;
    if (_dl_find_object((void *)(uintptr_t)pc, &obj) != 0)
        return RULE_VALID | RULE_UNSUPPORTED;
    const uint8_t *hdr = obj.dlfo_eh_frame;
    if (!hdr)
        return RULE_VALID | RULE_UNSUPPORTED;
    /* version 1, any eh_frame_ptr encoding, a udata4 count, a table of
     * datarel sdata4 pairs: what every linker writes. */
    if (hdr[0] != 1 || hdr[2] != PE_UDATA4 || hdr[3] != (PE_DATAREL | PE_SDATA4))
        return RULE_VALID | RULE_UNSUPPORTED;
    struct cursor c = {hdr + 4, hdr + 4 + 16, false};
    (void)read_encoded(&c, hdr[1], false);
    uint32_t count = (uint32_t)read_fixed(&c, 4);
    if (c.bad)
        return RULE_VALID | RULE_UNSUPPORTED;
    const uint8_t *tab = c.p;
    /* The last entry whose initial location is at or below pc. */
    uint32_t lo = 0, hi = count;
    int64_t off = (int64_t)(pc - (uint64_t)(uintptr_t)hdr);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int32_t start;
        memcpy(&start, tab + (size_t)mid * 8, 4);
        if (start <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return RULE_VALID | RULE_UNSUPPORTED;
    int32_t fde_off;
    memcpy(&fde_off, tab + (size_t)(lo - 1) * 8 + 4, 4);
    const uint8_t *fde = hdr + fde_off;
    uint32_t len, cie_off;
    memcpy(&len, fde, 4);
    memcpy(&cie_off, fde + 4, 4);
    if (len == 0 || len == 0xffffffffu || cie_off == 0)
        return RULE_VALID | RULE_UNSUPPORTED;
    struct cie cie;
    if (!cie_parse(fde + 4 - cie_off, &cie))
        return RULE_VALID | RULE_UNSUPPORTED;
    struct cursor f = {fde + 8, fde + 4 + len, false};
    uint64_t begin = read_encoded(&f, cie.fde_enc, false);
    uint64_t range = read_encoded(&f, cie.fde_enc, true);
    if (cie.has_aug_data) {
        uint64_t n = read_uleb(&f);
        if (n > (uint64_t)(f.end - f.p))
            return RULE_VALID | RULE_UNSUPPORTED;
        f.p += n;
    }
    if (f.bad)
        return RULE_VALID | RULE_UNSUPPORTED;
    if (pc < begin || pc - begin >= range)
        return RULE_VALID | RULE_UNSUPPORTED;
    struct state s = {.cfa_reg = -1, .rbp = R_SAME, .ra = R_SAME};
    if (!cfa_run(&cie.insns, &cie, 0, UINT64_MAX, &s, NULL))
        return RULE_VALID | RULE_UNSUPPORTED;
    struct state initial = s;
    if (!cfa_run(&f, &cie, begin, pc, &s, &initial))
        return RULE_VALID | RULE_UNSUPPORTED;
    if (s.ra == R_UNDEFINED)
        return RULE_VALID | RULE_END;
    if ((s.cfa_reg != REG_RSP && s.cfa_reg != REG_RBP) || s.cfa_off <= 0 ||
        (uint64_t)s.cfa_off > RULE_OFF_MASK || s.ra != R_OFFSET || s.ra_off != -8)
        return RULE_VALID | RULE_UNSUPPORTED;
    uint32_t rule = RULE_VALID | (uint32_t)s.cfa_off;
    if (s.cfa_reg == REG_RBP)
        rule |= RULE_CFA_RBP;
    if (s.rbp == R_OFFSET) {
        if (s.rbp_off >= 0 || s.rbp_off % 8 != 0 || -s.rbp_off / 8 > (int64_t)RULE_RBP_MASK)
            return RULE_VALID | RULE_UNSUPPORTED;
        rule |= (uint32_t)(-s.rbp_off / 8) << RULE_RBP_SHIFT;
    } else if (s.rbp != R_SAME) {
        return RULE_VALID | RULE_UNSUPPORTED;
    }
    return rule;
}

/* The rule at `pc` for generation `gen`: from the table, or computed and
 * put there. */
static uint32_t rule_at(uint64_t pc, uint32_t gen)
{
    uint64_t h = pc * 0x9e3779b97f4a7c15ull;
    uint32_t i = (uint32_t)(h >> 52) & (TABLE_SLOTS - 1);
    struct slot *mine = NULL;
    for (uint32_t k = 0; k < PROBES; k++, i = (i + 1) & (TABLE_SLOTS - 1)) {
        struct slot *s = &table[i];
        uint64_t key = atomic_load_explicit(&s->key, memory_order_acquire);
        if (key == 0) {
            uint64_t expect = 0;
            if (atomic_compare_exchange_strong_explicit(&s->key, &expect, pc, memory_order_acq_rel,
                                                        memory_order_acquire)) {
                mine = s;
                break;
            }
            key = expect;
        }
        if (key == pc) {
            uint64_t v = atomic_load_explicit(&s->value, memory_order_acquire);
            if (v >> 32 == gen && (v & RULE_VALID))
                return (uint32_t)v;
            mine = s;
            break;
        }
    }
    uint32_t rule = rule_compute(pc);
    /* Computed again by whoever finds it of an older generation; two
     * threads computing it at once store the same value. */
    if (mine)
        atomic_store_explicit(&mine->value, (uint64_t)gen << 32 | rule, memory_order_release);
    return rule;
}

/* Reads return addresses and saved registers of this thread's own frames,
 * outside any object the sanitizers know of. */
#if defined(__has_attribute)
#if __has_attribute(no_sanitize)
__attribute__((no_sanitize("address", "hwaddress")))
#endif
#endif
__attribute__((noinline)) int
trt__stackwalk(uint64_t *pcs, int max, uint32_t gen)
{
    uint64_t pc, sp, fp;
    /* Where this frame is, and its registers, at one instruction. */
    __asm__ volatile("lea 0(%%rip), %0\n\t"
                     "mov %%rsp, %1\n\t"
                     "mov %%rbp, %2"
                     : "=r"(pc), "=r"(sp), "=r"(fp));
    int n = -1; /* this frame is walked through, not recorded */
    for (;;) {
        /* A return address's call is the instruction before it. */
        uint32_t rule = rule_at(n < 0 ? pc : pc - 1, gen);
        if (rule & RULE_UNSUPPORTED)
            return -ENOTSUP;
        if (n >= 0) {
            if (n == max)
                return n;
            pcs[n] = pc;
        }
        n++;
        if (rule & RULE_END)
            return n;
        uint64_t cfa = ((rule & RULE_CFA_RBP) ? fp : sp) + (rule & RULE_OFF_MASK);
        /* A CFA that does not move outward, or jumps far, is not a frame
         * of this stack: say so rather than read there. */
        if (cfa <= sp || cfa - sp > (64u << 20) || (cfa & 7) != 0)
            return -ENOTSUP;
        uint64_t ra = *(const uint64_t *)(uintptr_t)(cfa - 8);
        unsigned k = (rule >> RULE_RBP_SHIFT) & RULE_RBP_MASK;
        if (k)
            fp = *(const uint64_t *)(uintptr_t)(cfa - 8 * k);
        sp = cfa;
        pc = ra;
        if (pc == 0)
            return n;
    }
}

#else

int trt__stackwalk(uint64_t *pcs, int max, uint32_t gen)
{
    (void)pcs;
    (void)max;
    (void)gen;
    return -ENOSYS;
}

#endif
