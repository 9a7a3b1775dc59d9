/* Target memory access: process_vm_readv first (one syscall, no stop), then
 * /proc/PID/mem where that is unavailable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "target/proc.h"

int proc_open(struct proc_target *t, pid_t pid)
{
    char path[64];
    struct stat st;
    const char *force = getenv(PROC_FORCE_MEM_ENV);
    t->pid = pid;
    t->memfd = -1;
    t->force_mem = force != NULL && force[0] != '\0';
    snprintf(path, sizeof(path), "/proc/%d", (int)pid);
    if (stat(path, &st) < 0)
        return errno == ENOENT ? -ESRCH : -errno;
    return proc_alive(pid) ? 0 : -ESRCH;
}

void proc_close(struct proc_target *t)
{
    if (t->memfd >= 0)
        close(t->memfd);
    t->memfd = -1;
}

char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* The state follows the last ')' of the command name. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return 0;
    return p[2];
}

int proc_alive(pid_t pid)
{
    char st = proc_state(pid);
    return st != 0 && st != 'Z' && st != 'X';
}

bool proc_exiting(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    /* After the command name: state, ppid, pgrp, session, tty_nr, tpgid,
     * flags. */
    const char *p = strrchr(buf, ')');
    char state = 0;
    unsigned long flags = 0;
    if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
        return false;
    return state == 'Z' || state == 'X' || (flags & PROC_PF_EXITING) != 0;
}

static int memfd_get(struct proc_target *t, int flags)
{
    if (t->memfd >= 0)
        return t->memfd;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
    t->memfd = open(path, flags | O_CLOEXEC);
    if (t->memfd < 0)
        return -errno;
    return t->memfd;
}

static int fail_errno(struct proc_target *t, int err)
{
    /* A vanished target reads as EFAULT or ESRCH depending on timing. */
    if (!proc_alive(t->pid))
        return -ESRCH;
    return err;
}

int proc_read(struct proc_target *t, uint64_t addr, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        struct iovec local = {(char *)buf + done, len - done};
        struct iovec remote = {(void *)(uintptr_t)(addr + done), len - done};
        ssize_t n = -1;
        errno = ENOSYS;
        if (!t->force_mem)
            n = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n == 0)
            return fail_errno(t, -EFAULT);
        if (errno != ENOSYS && errno != EPERM)
            return fail_errno(t, -errno);
        int fd = memfd_get(t, O_RDONLY);
        if (fd < 0)
            return fail_errno(t, fd);
        ssize_t m = pread(fd, (char *)buf + done, len - done, (off_t)(addr + done));
        if (m <= 0)
            return fail_errno(t, m == 0 ? -EFAULT : (errno == EIO ? -EFAULT : -errno));
        done += (size_t)m;
    }
    return 0;
}

int proc_write(struct proc_target *t, uint64_t addr, const void *buf, size_t len)
{
    struct iovec local = {(void *)buf, len};
    struct iovec remote = {(void *)(uintptr_t)addr, len};
    ssize_t n = process_vm_writev(t->pid, &local, 1, &remote, 1, 0);
    if (n == (ssize_t)len)
        return 0;
    if (n >= 0)
        return fail_errno(t, -EFAULT);
    if (errno != ENOSYS && errno != EPERM)
        return fail_errno(t, -errno);
    /* /proc/PID/mem writes work where process_vm_writev is refused, e.g.
     * on read-only-looking mappings; the file needs its own descriptor. */
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return fail_errno(t, -errno);
    ssize_t m = pwrite(fd, buf, len, (off_t)addr);
    int err = m == (ssize_t)len ? 0 : (m < 0 ? -errno : -EFAULT);
    close(fd);
    return err ? fail_errno(t, err) : 0;
}

static long status_field(pid_t pid, pid_t tid, const char *key)
{
    char path[96], line[256];
    size_t klen = strlen(key);
    long v = -1;
    if (tid > 0)
        snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
    else
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

int proc_thread_comm(pid_t pid, pid_t tid, char *buf, size_t len)
{
    char path[96];
    if (tid > 0)
        snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
    else
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, len - 1);
    int err = n < 0 ? -errno : 0;
    close(fd);
    if (n < 0)
        return err;
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    return 0;
}

void proc_explain_eperm(pid_t pid, pid_t tid, char *buf, size_t len)
{
    long tracer = status_field(pid, tid, "TracerPid");
    if (tracer > 0) {
        char comm[64] = "?";
        proc_thread_comm((pid_t)tracer, 0, comm, sizeof(comm));
        snprintf(buf, len, "it is already traced by PID %ld (%s); detach that debugger first",
                 tracer, comm);
        return;
    }
    char path[64];
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%d", (int)pid);
    if (stat(path, &st) == 0 && st.st_uid != geteuid()) {
        snprintf(buf, len,
                 "it belongs to uid %u and you are uid %u; run as that user or with "
                 "CAP_SYS_PTRACE (e.g. sudo)",
                 (unsigned)st.st_uid, (unsigned)geteuid());
        return;
    }
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
    int scope = -1;
    if (f) {
        if (fscanf(f, "%d", &scope) != 1)
            scope = -1;
        fclose(f);
    }
    if (scope >= 1) {
        snprintf(buf, len,
                 "kernel.yama.ptrace_scope is %d, which forbids tracing non-descendants; "
                 "run with CAP_SYS_PTRACE (e.g. sudo) or set it to 0%s",
                 scope, scope == 3 ? " (3 cannot be lowered without a reboot)" : "");
        return;
    }
    snprintf(buf, len,
             "the kernel refused ptrace access (a security module, or the target "
             "is not dumpable); try with CAP_SYS_PTRACE");
}

/* The innermost id on the NSpid line of /proc/PID/task/TID/status: 0 when
 * the line is missing (a kernel before 4.1 has none), -errno when the file
 * cannot be read. */
static long thread_innermost_id(pid_t pid, pid_t tid)
{
    char path[96], line[512];
    long id = 0;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "NSpid:", 6) != 0)
            continue;
        /* Ids are separated by tabs; the last is the innermost. */
        char *p = line + 6, *end;
        for (;;) {
            long v = strtol(p, &end, 10);
            if (end == p)
                break;
            id = v;
            p = end;
        }
        break;
    }
    fclose(f);
    return id;
}

int proc_thread_from_ns(pid_t pid, pid_t nstid, pid_t *host_tid)
{
    if (nstid <= 0)
        return -EINVAL;
    /* The common case, one shared namespace: the thread has that id here
     * too and it is its innermost one. */
    long id = thread_innermost_id(pid, nstid);
    if (id == nstid || id == 0) {
        *host_tid = nstid;
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? -ESRCH : -errno;
    int err = -ESRCH;
    struct dirent *de;
    for (long n = 0; n < PROC_MAX_THREADS && (de = readdir(d)) != NULL; n++) {
        char *end;
        long tid = strtol(de->d_name, &end, 10);
        if (end == de->d_name || *end != '\0' || tid <= 0 || tid > INT32_MAX)
            continue;
        if (thread_innermost_id(pid, (pid_t)tid) == nstid) {
            *host_tid = (pid_t)tid;
            err = 0;
            break;
        }
    }
    closedir(d);
    return err;
}

pid_t proc_tracer(pid_t pid, pid_t tid)
{
    long tracer = status_field(pid, tid, "TracerPid");
    return tracer < 0 ? -1 : (pid_t)tracer == tracer ? (pid_t)tracer : 0;
}

pid_t proc_tgid(pid_t tid)
{
    long tgid = status_field(tid, 0, "Tgid");
    return tgid > 0 && (pid_t)tgid == tgid ? (pid_t)tgid : 0;
}

int proc_stat(pid_t pid, char *state, bool *kthread, char *comm, size_t commlen)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) S ppid pgrp session tty tpgid flags ...": the comm may
     * hold anything, ')' included; the last ')' ends it. */
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close || close < open)
        return -EIO;
    snprintf(comm, commlen, "%.*s", (int)(close - open - 1), open + 1);
    unsigned long flags = 0;
    if (sscanf(close + 1, " %c %*d %*d %*d %*d %*d %lu", state, &flags) != 2)
        return -EIO;
    *kthread = (flags & 0x00200000ul) != 0; /* PF_KTHREAD */
    return 0;
}

long proc_thread_syscall(pid_t pid, pid_t tid)
{
    char path[96], line[128];
    long nr = -1;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    if (fgets(line, sizeof(line), f) && sscanf(line, "%ld", &nr) != 1)
        nr = -1;
    fclose(f);
    return nr;
}

int proc_maps_each(pid_t pid, proc_map_fn fn, void *arg)
{
    char path[64];
    char *line = NULL;
    size_t cap = 0;
    int ret = 0;
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    while (ret == 0 && getline(&line, &cap, f) > 0) {
        struct proc_map m;
        int name = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n", &m.start,
                   &m.end, m.perms, &m.offset, &m.dev_major, &m.dev_minor, &m.inode, &name) < 7 ||
            name == 0)
            continue;
        line[name + strcspn(line + name, "\n")] = '\0';
        m.name = line + name;
        ret = fn(arg, &m);
    }
    free(line);
    fclose(f);
    return ret;
}

long proc_root(pid_t pid, char *buf, size_t len)
{
    char link[64];
    snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
    ssize_t n = readlink(link, buf, len);
    if (n < 0)
        return -errno;
    if ((size_t)n >= len)
        return -ENAMETOOLONG;
    buf[n] = '\0';
    return (long)n;
}
