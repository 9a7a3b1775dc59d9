/* Fuzzes the reading of the ELF files a target names (its modules and
 * their debug files), as the tool reads them: elfcheck's bounds and copy
 * (elfcheck.h), then, for an input they accept, libdwfl reporting it as a
 * module, its symbol table, and the tool's own lookups (lookup_pc, which
 * walks its DWARF under lookup.c's bounds) of addresses taken from its
 * symbols and from the input.  A bug shows as a sanitizer report. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <elfutils/libdwfl.h>

#include "symbols/elfcheck.h"
#include "symbols/lookup.h"

/* Most symbols and lookups per input: enough to reach every reader. */
#define FUZZ_ELF_SYMS 256
#define FUZZ_ELF_LOOKUPS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Separate debug info is never looked for: only the input is read. */
static int fuzz_elf_no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                                 Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                                 GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
    return -1;
}

static const Dwfl_Callbacks fuzz_elf_callbacks = {
    .find_debuginfo = fuzz_elf_no_debuginfo,
    .section_address = dwfl_offline_section_address,
};

static void fuzz_elf_lookup(lookup_ctx *ctx, uint64_t pc)
{
    const struct frame *const *frames;
    size_t n;
    lookup_pc(ctx, pc, false, &frames, &n);
    lookup_pc(ctx, pc, true, &frames, &n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    if (elfcheck_file(fd, why, sizeof(why)) != 0) {
        close(fd);
        return 0;
    }
    fd = elfcheck_stable(fd, 0, why, sizeof(why));
    if (fd < 0)
        return 0;
    Dwfl *dwfl = dwfl_begin(&fuzz_elf_callbacks);
    if (dwfl == NULL) {
        close(fd);
        return 0;
    }
    dwfl_report_begin(dwfl);
    /* libdwfl owns FD from here, failure or not. */
    Dwfl_Module *mod = dwfl_report_offline(dwfl, "fuzz", "fuzz", fd);
    if (dwfl_report_end(dwfl, NULL, NULL) != 0 || mod == NULL)
        goto out;
    Dwarf_Addr start = 0, end = 0;
    dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
    lookup_ctx *ctx = lookup_new(dwfl);
    if (ctx == NULL)
        goto out;
    int nsyms = dwfl_module_getsymtab(mod);
    for (int i = 0; i < nsyms && i < FUZZ_ELF_SYMS; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        if (dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL) != NULL &&
            i < FUZZ_ELF_LOOKUPS)
            fuzz_elf_lookup(ctx, addr + 1);
    }
    /* Addresses the input chooses, from its last bytes, within the module. */
    for (size_t i = 0; i + 4 <= size && i < 4 * 16; i += 4) {
        uint32_t off;
        memcpy(&off, data + size - 4 - i, 4);
        fuzz_elf_lookup(ctx, start + (end > start ? off % (end - start) : off));
    }
    lookup_free(ctx);
out:
    dwfl_end(dwfl);
    return 0;
}
