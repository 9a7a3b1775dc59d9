/* Where a signal's dump goes: the path template (%p, %t, %%) checked when
 * it is handed over, expanded for each dump, and opened without following
 * any link, in any component.
 *
 * A service running as root may dump into a world-writable directory
 * (/tmp) where another user can plant a link: a link in the path would
 * make the dump land where that user chose.  So no component may be a
 * symbolic link (openat2 with RESOLVE_NO_SYMLINKS; on kernels without it a
 * walk that opens each directory with O_NOFOLLOW); a directory reached
 * through a link (/var/run -> /run) must be named by its real path.  The
 * names /dev/stdout and /dev/stderr, links on every system, are taken for
 * the process's own descriptors 1 and 2.
 *
 * The last component: a new regular file (O_EXCL, mode 0600), or, if the
 * name exists, the next free name with ".1" ... ".99" appended, unless it
 * is a character device (written as it is: /dev/null, a terminal) or a
 * FIFO of this user or root (opened O_NONBLOCK: a FIFO without a reader
 * is refused with ENXIO, never waited for).  A file this module created
 * for a dump that failed is removed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif
#endif

#include "rt_internal.h"

/* Files tried for one dump when the name exists already: the name, then
 * the name with ".1" ... ".99" appended. */
#define DEST_TRIES 100
/* The widest expansions: a pid, a unix time, the ".99" suffix. */
#define PID_WIDTH 10
#define TIME_WIDTH 20
#define SUFFIX_WIDTH 3

static size_t put_u64(char *buf, size_t n, size_t len, uint64_t v)
{
    char d[24];
    size_t k = 0;
    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k > 0 && n + 1 < len)
        buf[n++] = d[--k];
    return n;
}

/* The path of one dump: %p the pid, %t the unix time, %% a percent sign;
 * try > 0 appends ".try".  False if it does not fit. */
static bool dest_expand(const char *tmpl, unsigned try, char *buf, size_t len)
{
    size_t n = 0;
    for (const char *s = tmpl; *s; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            n = put_u64(buf, n, len, (uint64_t)getpid());
            s++;
        } else if (s[0] == '%' && s[1] == 't') {
            n = put_u64(buf, n, len, (uint64_t)time(NULL));
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            if (n + 1 < len)
                buf[n++] = '%';
            s++;
        } else if (n + 1 < len) {
            buf[n++] = *s;
        }
    }
    if (try > 0) {
        if (n + 1 < len)
            buf[n++] = '.';
        n = put_u64(buf, n, len, try);
    }
    buf[n] = '\0';
    return n + 1 < len;
}

/* Opens directory `dir` (a path, "" for the working directory) for
 * openat, through no symbolic link: -ELOOP if one is on the way. */
static int open_dir(const char *dir)
{
    if (!*dir)
        return open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
#if defined(SYS_openat2) && defined(RESOLVE_NO_SYMLINKS)
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_NO_SYMLINKS,
    };
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
        return fd < 0 ? -errno : fd;
#endif
    /* No openat2 (or a sandbox refusing it): one component at a time. */
    char comp[NAME_MAX + 1];
    int dfd = open(dir[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    for (const char *s = dir; *s;) {
        while (*s == '/')
            s++;
        size_t k = strcspn(s, "/");
        if (k == 0)
            break;
        if (k > NAME_MAX) {
            close(dfd);
            return -ENAMETOOLONG;
        }
        memcpy(comp, s, k);
        comp[k] = '\0';
        s += k;
        /* O_PATH | O_NOFOLLOW opens a link itself; O_DIRECTORY then
         * refuses it with ENOTDIR. */
        int next = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int err = next < 0 ? -errno : 0;
        struct stat st;
        if (err == -ENOTDIR && fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
            err = -ELOOP;
        close(dfd);
        if (err < 0)
            return err;
        dfd = next;
    }
    return dfd;
}

/* Opens an existing device or FIFO `name` in dfd as it is; -EEXIST for
 * anything else (the caller tries the next name). */
static int open_existing(int dfd, const char *name)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    if (S_ISFIFO(st.st_mode) && st.st_uid != geteuid() && st.st_uid != 0)
        return -EPERM;
    if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
        return -EEXIST;
    int fd = openat(dfd, name, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* Replaced between the look and the open: not what was looked at. */
    struct stat now;
    if (fstat(fd, &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
        close(fd);
        return -EAGAIN;
    }
    return fd;
}

int trt__dest_check(const char *tmpl)
{
    if (!tmpl || !*tmpl)
        return -EINVAL;
    if (strcmp(tmpl, "stderr") == 0)
        return 0;
    size_t n = 0;
    for (const char *s = tmpl; *s; s++) {
        if (s[0] != '%') {
            n++;
            continue;
        }
        if (s[1] == 'p')
            n += PID_WIDTH;
        else if (s[1] == 't')
            n += TIME_WIDTH;
        else if (s[1] == '%')
            n++;
        else
            return -EINVAL;
        s++;
    }
    /* The last component alone must fit NAME_MAX as well. */
    const char *last = strrchr(tmpl, '/');
    last = last ? last + 1 : tmpl;
    if (!*last)
        return -EISDIR;
    if (n + SUFFIX_WIDTH >= PATH_MAX || strlen(last) + TIME_WIDTH + SUFFIX_WIDTH > NAME_MAX)
        return -ENAMETOOLONG;
    /* A link on the way that is there already is refused now, once, rather
     * than at each dump. */
    char path[PATH_MAX];
    if (dest_expand(tmpl, 0, path, sizeof(path)) && strrchr(path, '/')) {
        char *slash = strrchr(path, '/');
        if (slash == path)
            slash[1] = '\0';
        else
            *slash = '\0';
        int fd = open_dir(path);
        if (fd == -ELOOP)
            return -ELOOP;
        if (fd >= 0)
            close(fd);
    }
    return 0;
}

int trt__dest_open(const char *tmpl, struct trt__dest_file *f)
{
    f->fd = -1;
    f->dirfd = -1;
    f->created = false;
    f->path[0] = '\0';
    if (strcmp(tmpl, "stderr") == 0 || strcmp(tmpl, "/dev/stderr") == 0) {
        f->fd = STDERR_FILENO;
        return 0;
    }
    if (strcmp(tmpl, "/dev/stdout") == 0) {
        f->fd = STDOUT_FILENO;
        return 0;
    }
    if (!dest_expand(tmpl, 0, f->path, sizeof(f->path)))
        return -ENAMETOOLONG;
    char *slash = strrchr(f->path, '/');
    const char *dir = "";
    if (slash == f->path)
        dir = "/";
    else if (slash)
        dir = f->path;
    size_t off = slash ? (size_t)(slash - f->path) + 1 : 0;
    if (slash)
        *slash = '\0';
    int dfd = open_dir(dir);
    if (slash)
        *slash = '/';
    if (dfd < 0)
        return dfd;
    int err = -EEXIST;
    for (unsigned try = 0; try < DEST_TRIES && err == -EEXIST; try++) {
        if (try > 0 && !dest_expand(tmpl, try, f->path, sizeof(f->path))) {
            err = -ENAMETOOLONG;
            break;
        }
        const char *name = f->path + off;
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            f->fd = fd;
            f->created = true;
            err = 0;
        } else if (errno != EEXIST) {
            err = -errno;
        } else {
            fd = open_existing(dfd, name);
            err = fd >= 0 ? 0 : fd;
            f->fd = fd;
        }
    }
    if (err < 0) {
        close(dfd);
        f->fd = -1;
        return err;
    }
    f->dirfd = dfd;
    return 0;
}

int trt__dest_close(struct trt__dest_file *f, int err)
{
    if (f->fd < 0)
        return err;
    if (f->dirfd < 0)
        return err;
    struct stat mine, now;
    bool known = f->created && fstat(f->fd, &mine) == 0;
    if (close(f->fd) != 0 && err >= 0)
        err = -errno;
    if (err < 0 && known) {
        /* Only the file this dump created: in a sticky directory nobody
         * else may replace it, elsewhere it is checked. */
        const char *name = strrchr(f->path, '/');
        name = name ? name + 1 : f->path;
        if (fstatat(f->dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == mine.st_dev &&
            now.st_ino == mine.st_ino)
            (void)unlinkat(f->dirfd, name, 0);
    }
    close(f->dirfd);
    f->fd = f->dirfd = -1;
    return err;
}
