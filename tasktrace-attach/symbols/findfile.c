/* The one seam for finding modules' files: one set of libdwfl callbacks,
 * a policy per source.  See findfile.h. */
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
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
#include "symbols/elfcheck.h"
#include "symbols/finddebug.h"
#include "symbols/findsaved.h"
#include "target/proc.h"
#include "target/safefile.h"
#include "symbols/findfile.h"

/* A module's userdata holds its source, a key and a few flags, so that
 * nothing needs freeing when the caller ends the Dwfl:
 * (key << FINDFILE_KEY_SHIFT) | (source << FINDFILE_SOURCE_SHIFT) | flags.
 * The key is the pid of the process whose root and rights its files are
 * opened in (the target's for a live process, the tool's for a saved
 * dump); a core's modules need none (see findfile_core). */
enum {
    FINDFILE_OURS = 1u,         /* marked by findfile_attach* */
    FINDFILE_ALT_MISSING = 2u,  /* needs a dwz file that was not found */
    FINDFILE_WARNED_SPLIT = 4u, /* said that its .dwo files are not read */
    FINDFILE_WARNED_ALT = 8u,   /* said that its dwz file is missing */
    FINDFILE_EXE = 16u,         /* a core's executable, which --exe replaces */
    FINDFILE_WARNED_ELF = 32u,  /* said why its main file is not read */
    FINDFILE_SOURCE_SHIFT = 6,  /* two bits: enum findfile_source */
    FINDFILE_KEY_SHIFT = 8,
};

/* Most lines of /proc/PID/maps read to find a module's mapping. */
#define FINDFILE_MAPS_MAX 1000000
#define FINDFILE_PATH_MAX 4096

/* How one source's modules' files are found: the one thing that differs
 * between a live process, a core and a saved dump. */
struct findfile_policy {
    /* Opens the main file of the module; Dwfl_Callbacks.find_elf's
     * contract.  Says on stderr what it refuses. */
    int (*open_elf)(void **userdata, const char *modname, Dwarf_Addr base, char **file_name);
    /* Whether separate debug files are searched (finddebug.h), in the
     * root of the process the key names. */
    bool search_debug;
    /* Whether debuginfod is asked for a debug file not found here. */
    bool debuginfod;
};

/* When symbolizing must end (CLOCK_MONOTONIC ns, 0: never): reading and
 * checking files stops there.  One per process, like the Dwfl's thread. */
static uint64_t findfile_deadline_ns;

/* The core whose modules the core source opens: its files are read under
 * the rights of the core's owner, in the tool's root (core.h), and --exe
 * replaces its executable.  One core at a time, as findcore.h says. */
static struct {
    struct safefile_cred cred;
    const char *exe;
} findfile_core;

void findfile_set_deadline(uint64_t deadline_ns)
{
    findfile_deadline_ns = deadline_ns;
}

static uintptr_t findfile_mod(Dwfl_Module *mod, void ***slot)
{
    void **ud = NULL;
    dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
    if (slot != NULL)
        *slot = ud;
    return ud != NULL ? (uintptr_t)*ud : 0;
}

static pid_t findfile_key(uintptr_t ud)
{
    return (pid_t)(ud >> FINDFILE_KEY_SHIFT);
}

static enum findfile_source findfile_source_of(uintptr_t ud)
{
    return (enum findfile_source)((ud >> FINDFILE_SOURCE_SHIFT) & 3u);
}

static void *findfile_tag(enum findfile_source source, pid_t key, unsigned flags)
{
    return (void *)(((uintptr_t)key << FINDFILE_KEY_SHIFT) |
                    ((uintptr_t)source << FINDFILE_SOURCE_SHIFT) | FINDFILE_OURS | flags);
}

/* Checks the module or debug file FD against elfcheck's bounds and makes
 * it safe to map, the copy stopping at DEADLINE_NS.  Returns a descriptor
 * (FD or a copy), or -errno with FD closed and WHY set. */
static int findfile_bound(int fd, uint64_t deadline_ns, char *why, size_t whylen)
{
    int err = elfcheck_file(fd, why, whylen);
    if (err != 0) {
        close(fd);
        return err;
    }
    return elfcheck_stable(fd, deadline_ns, why, whylen);
}

/* FD, a module's main file, handed to libdwfl as find_elf does: with
 * *FILE_NAME a copy of NAME.  Returns FD, or -1 with FD closed. */
static int findfile_give(int fd, const char *name, char **file_name)
{
    *file_name = strdup(name);
    if (*file_name == NULL) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------- a live process */

/* What findfile_mapping looks for, and finds. */
struct findfile_mapping {
    uint64_t base;
    const char *name;
    uint64_t end;
    long lines;
};

/* proc_map_fn of findfile_mapping: stops at the mapping that starts at
 * BASE (1 when it maps NAME, else -ENOENT), past it, or at
 * FINDFILE_MAPS_MAX lines. */
static int findfile_mapping_line(void *arg, const struct proc_map *m)
{
    struct findfile_mapping *f = arg;
    /* The lines are in address order. */
    if (f->lines++ >= FINDFILE_MAPS_MAX || m->start > f->base)
        return -ENOENT;
    if (m->start != f->base)
        return 0;
    if (strcmp(m->name, f->name) != 0)
        return -ENOENT;
    f->end = m->end;
    return 1;
}

/* The mapping of process PID that starts at BASE and maps NAME, from
 * /proc/PID/maps.  Returns 0 with *END set, or -ENOENT. */
static int findfile_mapping(pid_t pid, uint64_t base, const char *name, uint64_t *end)
{
    struct findfile_mapping f = {.base = base, .name = name};
    if (proc_maps_each(pid, findfile_mapping_line, &f) != 1)
        return -ENOENT;
    *end = f.end;
    return 0;
}

/* The module MODNAME of process PID (CRED) mapped at BASE, through
 * /proc/PID/map_files: it names the very file mapped, even one deleted or
 * replaced since.  Returns a descriptor, or -errno for the caller to try
 * the path (-EACCES: the tool lacks CAP_SYS_ADMIN, which map_files
 * needs), or -1 with *DONE set when the module is not to be read: a
 * mapping of a device or of shared memory is no module (not a word), a
 * refused file is named on stderr. */
static int findfile_live_mapped(const struct safefile_cred *cred, pid_t pid, const char *modname,
                                Dwarf_Addr base, bool *done)
{
    char why[256];
    uint64_t end;
    if (findfile_mapping(pid, base, modname, &end) != 0)
        return -1;
    int fd = safefile_open_mapped(cred, base, end, why, sizeof(why));
    if (fd == -ENODEV)
        *done = true;
    if (fd == -EPERM) {
        diag_module(modname, "not reading its file: %s; its frames show module+offset", why);
        *done = true;
    }
    return *done ? -1 : fd;
}

/* The module MODNAME of process PID (CRED) by its path in the process's
 * root, MAPPED_ERR saying why map_files could not be used.  Returns a
 * descriptor or -1, having said on stderr why when it matters. */
static int findfile_live_path(const struct safefile_cred *cred, pid_t pid, const char *modname,
                              int mapped_err)
{
    char why[256], inroot[FINDFILE_PATH_MAX];
    /* The path of a deleted file names another file now, or none. */
    size_t len = strlen(modname);
    if (len > 10 && strcmp(modname + len - 10, " (deleted)") == 0) {
        if (mapped_err == -EACCES && strncmp(modname, "/memfd:", 7) != 0 &&
            strncmp(modname, "/dev/", 5) != 0 && strncmp(modname, "/SYSV", 5) != 0)
            diag_module(modname,
                        "its file was deleted or replaced since it was mapped, "
                        "and reading the mapped file through /proc/%d/map_files needs "
                        "CAP_SYS_ADMIN; its frames show module+offset",
                        (int)pid);
        return -1;
    }
    int fd = safefile_open_root(cred, finddebug_in_root(pid, modname, inroot, sizeof(inroot)), why,
                                sizeof(why));
    if (fd == -ENODEV || fd == -ESRCH)
        return -1;
    if (fd < 0) {
        diag_module(modname, "not reading its file: %s; its frames show module+offset", why);
        return -1;
    }
    return fd;
}

/* The live source's find_elf: the mapped file through map_files when the
 * tool may, else its path in the target's root. */
static int findfile_live_elf(void **userdata, const char *modname, Dwarf_Addr base,
                             char **file_name)
{
    char why[256];
    struct safefile_cred cred;
    bool done = false;
    pid_t pid = findfile_key((uintptr_t)*userdata);
    if (modname[0] != '/' || safefile_cred_read(pid, &cred) != 0)
        return -1;
    int fd = findfile_live_mapped(&cred, pid, modname, base, &done);
    if (done)
        return -1;
    if (fd < 0 && (fd = findfile_live_path(&cred, pid, modname, fd)) < 0)
        return -1;
    fd = findfile_bound(fd, findfile_deadline_ns, why, sizeof(why));
    /* A mapped file that is no ELF file at all (a locale archive, a data
     * file the program mapped) is no module whose frames could be asked
     * for: not a word. */
    if (fd == -ENOEXEC)
        return -1;
    if (fd < 0) {
        diag_module(modname, "not reading its file: %s; its frames show module+offset", why);
        return -1;
    }
    return findfile_give(fd, modname, file_name);
}

/* ---------------------------------------------------------------- a core */

int findfile_open_exe(const char *exe, unsigned char *id, size_t *len, char *why, size_t whylen)
{
    struct stat st;
    int fd = open(exe, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int err = -errno;
        snprintf(why, whylen, "cannot open --exe %s: %s", exe, strerror(errno));
        return err;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(why, whylen, "--exe %s is not a regular file", exe);
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
        snprintf(why, whylen, "--exe %s is not an ELF file", exe);
        return -ENOEXEC;
    }
    return fd;
}

/* The core source's find_elf: the file the core names, by its path in the
 * tool's root under the rights of the core's owner, or --exe for its
 * executable.  The build id the core holds was reported for the module,
 * but libdwfl does not refuse a file whose own differs: it takes the
 * file's.  Says once why a file that is there is not read. */
static int findfile_core_elf(void **userdata, const char *modname, Dwarf_Addr base,
                             char **file_name)
{
    uintptr_t ud = (uintptr_t)*userdata;
    char why[256];
    int fd;
    (void)base;
    if ((ud & FINDFILE_EXE) && findfile_core.exe != NULL) {
        unsigned char id[64];
        size_t len;
        fd = findfile_open_exe(findfile_core.exe, id, &len, why, sizeof(why));
        modname = findfile_core.exe;
    } else {
        fd = safefile_open_root(&findfile_core.cred, modname, why, sizeof(why));
    }
    /* A core names its modules' files: they get the bounds and the copy
     * a live process's do (elfcheck.h). */
    if (fd >= 0)
        fd = findfile_bound(fd, 0, why, sizeof(why));
    if (fd < 0) {
        if (fd != -ENOENT && !(ud & FINDFILE_WARNED_ELF))
            diag_module(modname, "not reading its file: %s; its frames show module+offset", why);
        *userdata = (void *)(ud | FINDFILE_WARNED_ELF);
        return -1;
    }
    return findfile_give(fd, modname, file_name);
}

/* ---------------------------------------------------------- a saved dump */

/* The saved source's find_elf: its modules are reported with their files
 * open (findfile_report_saved), as a saved dump gives no extent to report
 * a module by. */
static int findfile_saved_elf(void **userdata, const char *modname, Dwarf_Addr base,
                              char **file_name)
{
    (void)userdata;
    (void)modname;
    (void)base;
    (void)file_name;
    return -1;
}

int findfile_report_saved(Dwfl *dwfl, const struct safefile_cred *cred, const char *path,
                          const char *build_id, uint64_t base, char *why, size_t whylen)
{
    char *file = NULL;
    int fd = findsaved_open(cred, path, build_id, &file, why, whylen);
    if (fd < 0)
        return -1;
    /* add_p_vaddr: BASE is the load bias, the first segment lands at
     * BASE + its p_vaddr (BASE is 0 for an ET_EXEC). */
    Dwfl_Module *mod = dwfl_report_elf(dwfl, path, file, fd, base, true);
    free(file);
    if (mod == NULL) {
        if (snprintf(why, whylen, "%s", dwfl_errmsg(-1)) < 0)
            why[0] = '\0';
        close(fd);
        return -1;
    }
    void **ud = NULL;
    dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
    if (ud != NULL)
        *ud = findfile_tag(FINDFILE_SAVED, cred->pid, 0);
    return 0;
}

/* ------------------------------------------------------------- the seam */

static const struct findfile_policy findfile_policies[] = {
    [FINDFILE_LIVE] = {.open_elf = findfile_live_elf, .search_debug = true},
    /* The files a core names are read, nothing they point to. */
    [FINDFILE_CORE] = {.open_elf = findfile_core_elf},
    [FINDFILE_SAVED] = {.open_elf = findfile_saved_elf, .search_debug = true, .debuginfod = true},
};

static int findfile_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                        char **file_name, Elf **elfp)
{
    uintptr_t ud = (uintptr_t)*userdata;
    /* The vDSO is read from the target's memory, no file involved. */
    if (strncmp(modname, "[vdso: ", 7) == 0)
        return dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
    if (!(ud & FINDFILE_OURS))
        return -1;
    return findfile_policies[findfile_source_of(ud)].open_elf(userdata, modname, base, file_name);
}

static int findfile_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                              Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                              GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    uintptr_t ud = (uintptr_t)*userdata;
    const struct findfile_policy *p = &findfile_policies[findfile_source_of(ud)];
    (void)base;
    if (!(ud & FINDFILE_OURS) || !p->search_debug)
        return -1;
    int fd;
    if (finddebug_is_alt(mod, debuglink_file)) {
        bool said = false;
        fd = finddebug_alt(mod, findfile_key(ud), findfile_deadline_ns, file_name, debuglink_file,
                           debuginfo_file_name, &said);
        /* Said there: findfile_dwarf_ok need not say it again. */
        *userdata = (void *)(fd >= 0 ? ud
                             : said  ? ud | FINDFILE_ALT_MISSING | FINDFILE_WARNED_ALT
                                     : ud | FINDFILE_ALT_MISSING);
    } else {
        fd = finddebug_main(mod, findfile_key(ud), findfile_deadline_ns, modname, file_name,
                            debuglink_file, debuglink_crc, debuginfo_file_name);
    }
    /* Not on this machine: for a module with a build id, debuginfod. */
    if (fd < 0 && p->debuginfod)
        fd = findsaved_debuginfo(mod, debuginfo_file_name);
    return fd;
}

static const Dwfl_Callbacks findfile_callbacks = {
    .find_elf = findfile_elf,
    .find_debuginfo = findfile_debuginfo,
};

Dwfl *findfile_dwfl_begin(void)
{
    return dwfl_begin(&findfile_callbacks);
}

static int findfile_attach_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
                              void *arg)
{
    (void)mod;
    (void)name;
    (void)start;
    *userdata = findfile_tag(FINDFILE_LIVE, *(pid_t *)arg, 0);
    return DWARF_CB_OK;
}

int findfile_attach(Dwfl *dwfl, pid_t pid)
{
    if (dwfl == NULL || pid <= 0)
        return -EINVAL;
    return dwfl_getmodules(dwfl, findfile_attach_cb, &pid, 0) == 0 ? 0 : -EINVAL;
}

void findfile_core_use(const struct safefile_cred *cred, const char *exe)
{
    findfile_core.cred = *cred;
    findfile_core.exe = exe;
}

void findfile_attach_core(Dwfl_Module *mod, bool exe)
{
    void **ud = NULL;
    dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
    if (ud != NULL)
        *ud = findfile_tag(FINDFILE_CORE, 0, exe ? FINDFILE_EXE : 0);
}

/* ------------------------------------------------- what lookup asks of it */

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
