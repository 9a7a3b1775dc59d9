/* The tool's reader of the runtime's structures. */
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap.h"

struct locate {
    Dwfl_Module *mods[512];
    int nmods;
};

static int collect_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
                          void *arg)
{
    struct locate *l = arg;
    if (l->nmods < (int)(sizeof(l->mods) / sizeof(l->mods[0])))
        l->mods[l->nmods++] = mod;
    return DWARF_CB_OK;
}

static int module_rank(Dwfl_Module *mod)
{
    const char *main = NULL;
    const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &main, NULL);
    if (name && strstr(name, "libtargetrt"))
        return 0;
    /* libc, libdw and friends never hold the runtime: look there last. */
    if (name && (strstr(name, "/libc.so") || strstr(name, "/ld-linux") || strstr(name, "[vdso]") ||
                 strstr(name, "linux-vdso")))
        return 3;
    if (name && strstr(name, ".so"))
        return 2;
    return 1;
}

static int find_in_module(Dwfl_Module *mod, uint64_t *addr)
{
    int n = dwfl_module_getsymtab(mod);
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr a;
        const char *name = dwfl_module_getsym_info(mod, i, &sym, &a, NULL, NULL, NULL);
        if (name && GELF_ST_TYPE(sym.st_info) == STT_OBJECT && sym.st_shndx != SHN_UNDEF &&
            strcmp(name, TRT_CONTROL_SYMBOL) == 0) {
            *addr = a;
            return 0;
        }
    }
    return -ENOENT;
}

int snap_locate(Dwfl *dwfl, uint64_t *addr)
{
    struct locate l = {.nmods = 0};
    dwfl_getmodules(dwfl, collect_module, &l, 0);
    for (int rank = 0; rank <= 3; rank++)
        for (int i = 0; i < l.nmods; i++)
            if (module_rank(l.mods[i]) == rank && find_in_module(l.mods[i], addr) == 0)
                return 0;
    return -ENOENT;
}

int snap_read_control(struct proc_target *t, uint64_t addr, struct trt_control *out, char *why,
                      size_t whylen)
{
    int err = proc_read(t, addr, out, sizeof(*out));
    if (err < 0)
        return err;
    if (out->magic != TRT_CONTROL_MAGIC) {
        snprintf(why, whylen, "bad magic 0x%016llx", (unsigned long long)out->magic);
        return -EPROTO;
    }
    if (out->version != TRT_PROTOCOL_VERSION) {
        snprintf(why, whylen, "protocol version %u, this tool speaks %u", out->version,
                 TRT_PROTOCOL_VERSION);
        return -EPROTO;
    }
    if (out->size != sizeof(*out)) {
        snprintf(why, whylen, "control block size %u, expected %zu", out->size, sizeof(*out));
        return -EPROTO;
    }
    return 0;
}

int snap_read_registry(struct proc_target *t, uint64_t addr, struct trt_task_slot **slots,
                       size_t *n, char *why, size_t whylen)
{
    struct trt_registry reg;
    struct trt_task_slot *chunk = NULL, *all = NULL;
    size_t count = 0;
    *slots = NULL;
    *n = 0;
    int err = proc_read(t, addr, &reg, sizeof(reg));
    if (err < 0)
        return err;
    if (reg.magic != TRT_REGISTRY_MAGIC || reg.version != TRT_PROTOCOL_VERSION ||
        reg.size != sizeof(reg) || reg.chunk_slots != TRT_REGISTRY_CHUNK_SLOTS ||
        reg.slot_size != sizeof(struct trt_task_slot) || reg.nchunks > TRT_REGISTRY_MAX_CHUNKS) {
        snprintf(why, whylen, "registry header at 0x%llx is corrupt", (unsigned long long)addr);
        return -EPROTO;
    }
    chunk = malloc(TRT_REGISTRY_CHUNK_SLOTS * sizeof(*chunk));
    if (!chunk)
        return -ENOMEM;
    for (uint32_t c = 0; c < reg.nchunks; c++) {
        if ((err = proc_read(t, reg.chunks[c], chunk, TRT_REGISTRY_CHUNK_SLOTS * sizeof(*chunk))) < 0)
            goto out;
        size_t used = 0;
        for (uint32_t i = 0; i < TRT_REGISTRY_CHUNK_SLOTS; i++)
            used += chunk[i].id != 0;
        struct trt_task_slot *grown = realloc(all, (count + used + 1) * sizeof(*all));
        if (!grown) {
            err = -ENOMEM;
            goto out;
        }
        all = grown;
        for (uint32_t i = 0; i < TRT_REGISTRY_CHUNK_SLOTS; i++) {
            if (chunk[i].id == 0)
                continue;
            all[count] = chunk[i];
            /* The name may be corrupt: always terminate it. */
            all[count].name[TRT_TASK_NAME_MAX - 1] = '\0';
            count++;
        }
    }
    *slots = all;
    *n = count;
    all = NULL;
out:
    free(chunk);
    free(all);
    return err;
}

static int read_cb(void *ctx, uint64_t addr, void *buf, size_t len)
{
    return proc_read(ctx, addr, buf, len);
}

int snap_read_ring(struct proc_target *t, uint64_t ring_addr, uint32_t gen,
                   struct ringread_result *out)
{
    return ringread_collect(read_cb, t, ring_addr, gen, out);
}
