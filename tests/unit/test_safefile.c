/* Opening files a process names (safefile), on this very process: its
 * root is the test's root, its credentials the test's.  Opening a mapping
 * through /proc/PID/map_files needs a privilege a machine may not grant:
 * that case is tcase_safefile_map_files, run alone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "target/safefile.h"
#include "util/escape.h"
#include "suites.h"

Suite *suite_safefile(void);

static char dir[64];
static struct safefile_cred self;

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/tt-safefile-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* Searchable by the other user of test_rules. */
    ck_assert_int_eq(chmod(dir, 0755), 0);
    ck_assert_int_eq(safefile_cred_read(getpid(), &self), 0);
}

static void teardown(void)
{
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* DIR/NAME into BUF. */
static const char *in_dir(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

START_TEST(test_cred_self)
{
    ck_assert_int_eq(self.pid, getpid());
    ck_assert_uint_eq(self.uids[0], getuid());
    ck_assert_uint_eq(self.uids[1], geteuid());
    ck_assert_uint_eq(self.fsgid, getegid());
    ck_assert_uint_ge(self.ngroups, 4);
    struct safefile_cred c;
    ck_assert_int_eq(safefile_cred_read(INT_MAX, &c), -ESRCH);
}
END_TEST

START_TEST(test_open_regular)
{
    char p[128], why[128] = "";
    int fd = open(in_dir(p, sizeof(p), "f"), O_WRONLY | O_CREAT | O_EXCL, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "ELF", 3), 3);
    close(fd);
    fd = safefile_open_root(&self, p, why, sizeof(why));
    ck_assert_msg(fd >= 0, "%d: %s", fd, why);
    /* Read-only, blocking, close-on-exec. */
    int fl = fcntl(fd, F_GETFL);
    ck_assert_int_eq(fl & O_ACCMODE, O_RDONLY);
    ck_assert_int_eq(fl & O_NONBLOCK, 0);
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    char buf[4] = "";
    ck_assert_int_eq(read(fd, buf, 3), 3);
    ck_assert_str_eq(buf, "ELF");
    close(fd);
    /* A relative path is taken from the root. */
    fd = safefile_open_root(&self, p + 1, why, sizeof(why));
    ck_assert_int_ge(fd, 0);
    close(fd);
}
END_TEST

START_TEST(test_refuse_special)
{
    char p[128], q[128], why[128] = "";
    ck_assert_int_eq(mkfifo(in_dir(p, sizeof(p), "fifo"), 0644), 0);
    /* Would block forever if it were opened for reading. */
    ck_assert_int_eq(safefile_open_root(&self, p, why, sizeof(why)), -ENODEV);
    ck_assert_str_eq(why, "it is a FIFO");
    ck_assert_int_eq(symlink("/dev/zero", in_dir(q, sizeof(q), "zero")), 0);
    ck_assert_int_eq(safefile_open_root(&self, q, why, sizeof(why)), -ENODEV);
    ck_assert_str_eq(why, "it is a character device");
    ck_assert_int_eq(safefile_open_root(&self, dir, why, sizeof(why)), -ENODEV);
    ck_assert_str_eq(why, "it is a directory");
    ck_assert_int_eq(safefile_open_root(&self, in_dir(p, sizeof(p), "none"), why, sizeof(why)),
                     -ENOENT);
    ck_assert_int_eq(safefile_open_root(&self, "", why, sizeof(why)), -ENOENT);
    /* A magic link is not followed, even inside the root. */
    ck_assert_int_lt(safefile_open_root(&self, "/proc/self/exe", why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_rules)
{
    /* The rules on owner and mode, for a process of another user. */
    char p[128], why[128] = "";
    int fd = open(in_dir(p, sizeof(p), "g"), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct safefile_cred other = self;
    for (int i = 0; i < 4; i++)
        other.uids[i] = 54321;
    other.fsgid = 54321;
    other.groups[0] = 54321;
    other.ngroups = 1;
    other.ns_root = (uid_t)-1;
    fd = safefile_open_root(&other, p, why, sizeof(why));
    if (geteuid() == 0) {
        /* Owned by root, but mode 0600: not for uid 54321. */
        ck_assert_int_eq(fd, -EPERM);
        ck_assert_str_eq(why, "the process's user (uid 54321) may not read it");
        ck_assert_int_eq(chmod(p, 0644), 0);
        fd = safefile_open_root(&other, p, why, sizeof(why));
        ck_assert_msg(fd >= 0, "%d: %s", fd, why);
        close(fd);
        ck_assert_int_eq(chown(p, 12345, 12345), 0);
        ck_assert_int_eq(safefile_open_root(&other, p, why, sizeof(why)), -EPERM);
        ck_assert_str_eq(why, "it belongs to uid 12345, neither root nor the process's user");
        /* Unless uid 12345 is the root of its user namespace. */
        other.ns_root = 12345;
        fd = safefile_open_root(&other, p, why, sizeof(why));
        ck_assert_msg(fd >= 0, "%d: %s", fd, why);
        close(fd);
    } else {
        /* Owned by us, neither root nor uid 54321. */
        ck_assert_int_eq(fd, -EPERM);
        ck_assert_ptr_nonnull(strstr(why, "neither root nor the process's user"));
    }
}
END_TEST

START_TEST(test_mapped)
{
    char why[128] = "";
    /* The first mapping of the test's own executable. */
    char exe[PATH_MAX], line[PATH_MAX + 128];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = '\0';
    FILE *f = fopen("/proc/self/maps", "re");
    ck_assert_ptr_nonnull(f);
    unsigned long long s = 0, e = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *path = strchr(line, '/');
        line[strcspn(line, "\n")] = '\0';
        if (path != NULL && strcmp(path, exe) == 0 && sscanf(line, "%llx-%llx", &s, &e) == 2)
            break;
        s = e = 0;
    }
    fclose(f);
    ck_assert_uint_ne(e, 0);
    int fd = safefile_open_mapped(&self, s, e, why, sizeof(why));
    ck_assert_msg(fd >= 0, "%d: %s", fd, why);
    char magic[4];
    ck_assert_int_eq(read(fd, magic, 4), 4);
    ck_assert_int_eq(memcmp(magic, "\177ELF", 4), 0);
    close(fd);
    ck_assert_int_eq(safefile_open_mapped(&self, 0x1000, 0x2000, why, sizeof(why)), -ENOENT);
}
END_TEST

START_TEST(test_escape)
{
    char b[16];
    ck_assert_str_eq(esc_ascii("abc", b, sizeof(b)), "abc");
    ck_assert_str_eq(esc_ascii("a\x1b[1m\"\\", b, sizeof(b)), "a\\x1b[1m\\x22...");
    ck_assert_str_eq(esc_ascii("abcdefghijklmno", b, sizeof(b)), "abcdefghijklmno");
    ck_assert_str_eq(esc_ascii("abcdefghijklmnop", b, sizeof(b)), "abcdefghijkl...");
    /* The cut never splits an escape. */
    ck_assert_str_eq(esc_ascii("\x01\x02\x03\x04\x05", b, sizeof(b)), "\\x01\\x02\\x03...");
    ck_assert_str_eq(esc_ascii("\xff", b, 4), "...");
    ck_assert_str_eq(esc_ascii("x", b, 2), "x");
    ck_assert_str_eq(esc_ascii(NULL, b, sizeof(b)), "(null)");
}
END_TEST

Suite *suite_safefile(void)
{
    Suite *s = suite_create("safefile");
    TCase *tc = tcase_create("open");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cred_self);
    tcase_add_test(tc, test_open_regular);
    tcase_add_test(tc, test_refuse_special);
    tcase_add_test(tc, test_rules);
    tcase_add_test(tc, test_escape);
    suite_add_tcase(s, tc);
    return s;
}

TCase *tcase_safefile_map_files(void)
{
    TCase *tc = tcase_create("map_files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_mapped);
    return tc;
}

const char *safefile_map_files_missing(void)
{
    /* The very open safefile_open_mapped makes, on a mapping of ours:
     * Linux lets only CAP_SYS_ADMIN (or, since 5.9, CAP_CHECKPOINT_RESTORE)
     * open what /proc/PID/map_files lists. */
    DIR *d = opendir("/proc/self/map_files");
    if (d == NULL)
        return "no /proc/self/map_files on this kernel";
    const char *why = "/proc/self/map_files lists nothing";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            why = NULL;
        } else if (errno == EPERM || errno == EACCES) {
            why = "opening /proc/PID/map_files needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE";
        } else {
            continue;
        }
        break;
    }
    closedir(d);
    return why;
}
