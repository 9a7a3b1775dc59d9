/* The raw dump's module table: every loaded module, found with
 * dl_iterate_phdr, with its load bias, the address ranges of its PT_LOAD
 * segments, its path and its GNU build id read from the notes in memory.
 * A frame is written with the module its address falls in, and the
 * document's "modules" lists those frames named, in first-seen order.
 *
 * The table is static (one raw dump at a time, written by the doorbell
 * thread): loading it allocates nothing.  System calls: readlink of
 * /proc/self/exe for the executable's path, and the loader's lock that
 * dl_iterate_phdr takes (a futex only when contended). */
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "rawdump.h"

/* Modules the table holds; addresses in others have module null. */
#define MOD_MAX 512
#define MOD_PATH_MAX 512
#define MOD_LOADS 8
#define BUILD_ID_MAX 64

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

void trt__modules_load(void)
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

static void out_build_id(struct trt__out *o, const struct mod *m)
{
    if (m->idlen == 0) {
        trt__out_text(o, "null");
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
    trt__out_bytes(o, hex, k);
}

void trt__modules_write_frame(struct trt__out *o, uint64_t pc)
{
    struct mod *m = mod_find(pc);
    trt__out_text(o, "{\"function\":null,\"file\":null,\"line\":null,\"column\":null,"
                     "\"inlined\":false,\"module\":");
    if (m)
        trt__out_string(o, m->path, strlen(m->path));
    else
        trt__out_text(o, "null");
    trt__out_text(o, ",\"pc\":");
    trt__out_hex(o, pc);
    trt__out_text(o, ",\"build_id\":");
    if (m)
        out_build_id(o, m);
    else
        trt__out_text(o, "null");
    trt__out_text(o, ",\"offset\":");
    if (m)
        trt__out_hex(o, pc - m->base);
    else
        trt__out_text(o, "null");
    trt__out_text(o, "}");
    if (m && !m->used) {
        m->used = true;
        used_order[nused++] = (uint16_t)(m - mods);
    }
}

void trt__modules_write_used(struct trt__out *o)
{
    trt__out_text(o, "[");
    for (unsigned i = 0; i < nused; i++) {
        const struct mod *m = &mods[used_order[i]];
        trt__out_text(o, i ? ",{\"path\":" : "{\"path\":");
        trt__out_string(o, m->path, strlen(m->path));
        trt__out_text(o, ",\"build_id\":");
        out_build_id(o, m);
        trt__out_text(o, ",\"base\":");
        trt__out_hex(o, m->base);
        trt__out_text(o, "}");
    }
    trt__out_text(o, "]");
}
