/* A signal's dump destination: templates checked when handed over, a
 * symbolic link refused in any directory of the path, an existing file
 * left alone (the next name is taken), a failed dump's file removed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../../libtargetrt/rt_internal.h"
#include "suites.h"

static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/tt-dest-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(templates_checked)
{
    ck_assert_int_eq(trt__dest_check("stderr"), 0);
    ck_assert_int_eq(trt__dest_check("/tmp/dump-%p-%t-%%.json"), 0);
    ck_assert_int_eq(trt__dest_check(""), -EINVAL);
    ck_assert_int_eq(trt__dest_check("/tmp/dump-%q"), -EINVAL);
    ck_assert_int_eq(trt__dest_check("/tmp/dump-%"), -EINVAL);
    ck_assert_int_eq(trt__dest_check("/tmp/"), -EISDIR);
    static char longp[PATH_MAX + 8];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    for (size_t i = 200; i < sizeof(longp) - 1; i += 200)
        longp[i] = '/';
    longp[PATH_MAX - 1] = '\0';
    ck_assert_int_eq(trt__dest_check(longp), -ENAMETOOLONG);
    /* Short enough as written, too long once 420 pids are expanded. */
    char pids[PATH_MAX];
    strcpy(pids, "/tmp/");
    for (int i = 0; i < 420; i++)
        strcat(pids, i % 20 == 19 ? "%p/" : "%p");
    strcat(pids, "x");
    ck_assert_int_lt(strlen(pids), PATH_MAX);
    ck_assert_int_eq(trt__dest_check(pids), -ENAMETOOLONG);
}
END_TEST

START_TEST(link_in_a_directory_refused)
{
    make_dir();
    char link[128], tmpl[160];
    snprintf(link, sizeof(link), "%s/link", dir);
    ck_assert_int_eq(symlink(dir, link), 0);
    snprintf(tmpl, sizeof(tmpl), "%s/link/dump.json", dir);
    ck_assert_int_eq(trt__dest_check(tmpl), -ELOOP);
    struct trt__dest_file f;
    ck_assert_int_eq(trt__dest_open(tmpl, &f), -ELOOP);
    ck_assert_int_eq(f.fd, -1);
    /* Not there yet: taken now, refused when the dump comes. */
    snprintf(tmpl, sizeof(tmpl), "%s/later/dump.json", dir);
    ck_assert_int_eq(trt__dest_check(tmpl), 0);
    snprintf(link, sizeof(link), "%s/later", dir);
    ck_assert_int_eq(symlink(dir, link), 0);
    ck_assert_int_eq(trt__dest_open(tmpl, &f), -ELOOP);
    char real[160];
    snprintf(real, sizeof(real), "%s/dump.json", dir);
    ck_assert_int_ne(access(real, F_OK), 0);
    remove_dir();
}
END_TEST

START_TEST(existing_file_kept_failed_dump_removed)
{
    make_dir();
    char tmpl[160], name[200];
    snprintf(tmpl, sizeof(tmpl), "%s/dump.json", dir);
    int fd = open(tmpl, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct trt__dest_file f;
    ck_assert_int_eq(trt__dest_open(tmpl, &f), 0);
    snprintf(name, sizeof(name), "%s.1", tmpl);
    ck_assert_str_eq(f.path, name);
    ck_assert(f.created);
    ck_assert_int_eq(write(f.fd, "x", 1), 1);
    /* A dump that failed: its file goes, the one that was there stays. */
    ck_assert_int_eq(trt__dest_close(&f, -ENOSPC), -ENOSPC);
    ck_assert_int_ne(access(name, F_OK), 0);
    ck_assert_int_eq(access(tmpl, F_OK), 0);
    /* A device is written as it is. */
    ck_assert_int_eq(trt__dest_open("/dev/null", &f), 0);
    ck_assert(!f.created);
    ck_assert_int_eq(trt__dest_close(&f, -EIO), -EIO);
    ck_assert_int_eq(access("/dev/null", W_OK), 0);
    remove_dir();
}
END_TEST

Suite *suite_dumpdest(void)
{
    Suite *s = suite_create("dumpdest");
    TCase *tc = tcase_create("dumpdest");
    tcase_add_test(tc, templates_checked);
    tcase_add_test(tc, link_in_a_directory_refused);
    tcase_add_test(tc, existing_file_kept_failed_dump_removed);
    suite_add_tcase(s, tc);
    return s;
}
