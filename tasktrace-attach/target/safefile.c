/* Opening files a target names: inside its root, never blocking, regular
 * files its own user could read.  See safefile.h for the rules. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include "target/safefile.h"

/* Parses up to N unsigned ids from P into OUT; returns how many. */
static size_t safefile_ids(const char *p, unsigned long *out, size_t n)
{
    size_t k = 0;
    while (k < n) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || errno != 0)
            break;
        out[k++] = v;
        p = end;
    }
    return k;
}

int safefile_cred_read(pid_t pid, struct safefile_cred *c)
{
    char path[64], line[1024];
    bool have_uid = false, have_gid = false;
    unsigned long v[SAFEFILE_MAX_GROUPS];

    *c = (struct safefile_cred){.pid = pid, .ns_root = (uid_t)-1};
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return errno == ENOENT ? -ESRCH : -errno;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "Uid:", 4) == 0 && safefile_ids(line + 4, v, 4) == 4) {
            for (int i = 0; i < 4; i++)
                c->uids[i] = (uid_t)v[i];
            have_uid = true;
        } else if (strncmp(line, "Gid:", 4) == 0 && safefile_ids(line + 4, v, 4) == 4) {
            /* Every gid of the process counts as a group for the check. */
            c->fsgid = (gid_t)v[3];
            for (int i = 0; i < 4 && c->ngroups < SAFEFILE_MAX_GROUPS; i++)
                c->groups[c->ngroups++] = (gid_t)v[i];
            have_gid = true;
        } else if (strncmp(line, "Groups:", 7) == 0) {
            size_t n = safefile_ids(line + 7, v, SAFEFILE_MAX_GROUPS - c->ngroups);
            for (size_t i = 0; i < n; i++)
                c->groups[c->ngroups++] = (gid_t)v[i];
        }
    }
    fclose(f);
    if (!have_uid || !have_gid)
        return -EPROTO;

    /* uid_map lines read "inside outside count", outside ids being ours;
     * the line whose range starts at 0 says who its root is here. */
    snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
    f = fopen(path, "re");
    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL)
            if (safefile_ids(line, v, 3) == 3 && v[0] == 0 && v[2] > 0) {
                c->ns_root = (uid_t)v[1];
                break;
            }
        fclose(f);
    }
    return 0;
}

static void safefile_why(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void safefile_why(char *why, size_t len, const char *fmt, ...)
{
    if (len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

static const char *safefile_kind(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFIFO:
        return "a FIFO";
    case S_IFCHR:
        return "a character device";
    case S_IFBLK:
        return "a block device";
    case S_IFSOCK:
        return "a socket";
    case S_IFDIR:
        return "a directory";
    case S_IFLNK:
        return "a symbolic link";
    default:
        return "not a regular file";
    }
}

static bool safefile_in_groups(const struct safefile_cred *c, gid_t gid)
{
    for (size_t i = 0; i < c->ngroups; i++)
        if (c->groups[i] == gid)
            return true;
    return false;
}

/* Applies the rules of safefile.h to the inode ST.  Returns 0, or -ENODEV
 * (not a regular file) or -EPERM (refused) with WHY set. */
static int safefile_check(const struct safefile_cred *c, const struct stat *st, char *why,
                          size_t whylen)
{
    if (!S_ISREG(st->st_mode)) {
        safefile_why(why, whylen, "it is %s", safefile_kind(st->st_mode));
        return -ENODEV;
    }
    uid_t owner = st->st_uid;
    bool owner_ok = owner == 0 || (c->ns_root != (uid_t)-1 && owner == c->ns_root);
    for (int i = 0; i < 4; i++)
        owner_ok = owner_ok || owner == c->uids[i];
    if (!owner_ok) {
        safefile_why(why, whylen, "it belongs to uid %u, neither root nor the process's user",
                     (unsigned)owner);
        return -EPERM;
    }
    /* The target's filesystem uid decides, as it would for its own open. */
    uid_t fsuid = c->uids[3];
    mode_t bit = owner == fsuid ? S_IRUSR : safefile_in_groups(c, st->st_gid) ? S_IRGRP : S_IROTH;
    if (fsuid != 0 && (st->st_mode & bit) == 0) {
        safefile_why(why, whylen, "the process's user (uid %u) may not read it", (unsigned)fsuid);
        return -EPERM;
    }
    return 0;
}

/* Checks the O_PATH descriptor PATHFD (which it closes) and reopens its
 * inode for reading.  Returns the new descriptor or -errno. */
static int safefile_reopen(const struct safefile_cred *c, int pathfd, char *why, size_t whylen)
{
    struct stat st, st2;
    char path[64];
    int fd = -1, err = 0;

    if (fstat(pathfd, &st) != 0) {
        err = -errno;
        safefile_why(why, whylen, "%s", strerror(-err));
        goto out;
    }
    if ((err = safefile_check(c, &st, why, whylen)) != 0)
        goto out;
    /* Reopening through /proc/self/fd opens this inode, whatever the path
     * names by now; O_NONBLOCK in case it changed type under us. */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", pathfd);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        err = -errno;
        safefile_why(why, whylen, "%s", strerror(-err));
        goto out;
    }
    if (fstat(fd, &st2) != 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino ||
        !S_ISREG(st2.st_mode)) {
        err = -EPERM;
        safefile_why(why, whylen, "it changed while it was opened");
        goto out;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        err = -errno;
        safefile_why(why, whylen, "%s", strerror(-err));
        goto out;
    }
out:
    close(pathfd);
    if (err != 0) {
        if (fd >= 0)
            close(fd);
        return err;
    }
    return fd;
}

/* The tool's filesystem ids while it opens a file for the target. */
struct safefile_fsids {
    uid_t uid;
    gid_t gid;
};

/* Takes the target's filesystem uid and gid for this thread, so that the
 * kernel checks every directory on the path, and the file, as it would
 * for the target (only the supplementary groups stay the tool's).  Has no
 * effect when the tool may not (it is not root, or is the same user). */
static struct safefile_fsids safefile_become(const struct safefile_cred *c)
{
    struct safefile_fsids old;
    old.gid = (gid_t)setfsgid(c->fsgid);
    old.uid = (uid_t)setfsuid(c->uids[3]);
    return old;
}

static void safefile_restore(struct safefile_fsids old)
{
    setfsuid(old.uid);
    setfsgid(old.gid);
}

int safefile_open_root(const struct safefile_cred *c, const char *path, char *why, size_t whylen)
{
    char root[64];
    int err = 0, pathfd = -1;

    if (path == NULL || path[0] == '\0') {
        safefile_why(why, whylen, "empty path");
        return -ENOENT;
    }
    snprintf(root, sizeof(root), "/proc/%d/root", (int)c->pid);
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        err = errno == ENOENT ? -ESRCH : -errno;
        safefile_why(why, whylen, "cannot open %s: %s", root, strerror(errno));
        return err;
    }
    while (*path == '/')
        path++;
    if (*path == '\0')
        path = ".";
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    struct safefile_fsids old = safefile_become(c);
    pathfd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    /* Before Linux 5.6 there is no openat2: absolute symbolic links then
     * resolve in the tool's root, but the checks on the inode still hold. */
    if (pathfd < 0 && errno == ENOSYS)
        pathfd = openat(rootfd, path, O_PATH | O_CLOEXEC);
    if (pathfd < 0) {
        err = -errno;
        safefile_why(why, whylen, "%s", strerror(-err));
        if (err == -ELOOP || err == -EXDEV)
            err = -EPERM;
        goto out;
    }
    err = safefile_reopen(c, pathfd, why, whylen);
out:
    safefile_restore(old);
    close(rootfd);
    return err;
}

int safefile_open_mapped(const struct safefile_cred *c, uint64_t start, uint64_t end, char *why,
                         size_t whylen)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)c->pid, start,
             end);
    struct safefile_fsids old = safefile_become(c);
    int err, pathfd = open(path, O_PATH | O_CLOEXEC);
    if (pathfd < 0) {
        err = -errno;
        safefile_why(why, whylen, "%s", strerror(-err));
        err = err == -ENOENT ? -ENOENT : -EACCES;
    } else {
        err = safefile_reopen(c, pathfd, why, whylen);
    }
    safefile_restore(old);
    return err;
}
