/* Opening the files a target names (its mapped modules, its debug links,
 * its build-id debug files) without trusting the names.
 *
 * A target chooses those paths: it can put a FIFO where its debug file
 * should be (a blocking open() would hang the tool), a symbolic link to a
 * device (opening one can have side effects) or to a file its own user may
 * not read (the tool, often root, would read it for them).  Every open here
 * therefore:
 *   - resolves the path inside the target's root (/proc/PID/root, with
 *     openat2 RESOLVE_IN_ROOT so that absolute symbolic links and ".." stay
 *     in the target's tree, and RESOLVE_NO_MAGICLINKS), or opens a mapped
 *     module through /proc/PID/map_files, which names the very file mapped;
 *   - first opens with O_PATH, which neither blocks nor runs any driver's
 *     open, and looks at the inode with fstat;
 *   - accepts only a regular file owned by root, by the root of the target's
 *     user namespace, or by one of the target's user ids, and readable by
 *     the target's filesystem user id and groups according to its mode bits
 *     (the target's user gains nothing it could not read itself; access
 *     control lists are not consulted, so a file readable only through one
 *     is refused);
 *   - then reopens that same inode read-only with O_NONBLOCK, checks that it
 *     is the same file, and clears O_NONBLOCK.
 * Both opens run with the target's filesystem uid and gid (setfsuid,
 * setfsgid, for the calling thread only, restored after), so that the
 * kernel also checks the search permission of every directory on the path
 * as for the target; only the tool's supplementary groups (root's, usually
 * just group 0) still count there.
 *
 * libelf maps the files it reads, so a target that truncates a file of its
 * own while the tool reads it could end the tool with SIGBUS: the callers
 * hand such files to libelf through elfcheck_stable (elfcheck.h), which
 * copies them.
 *
 * Functions here are thread-safe; they keep no state. */
#ifndef TT_SAFEFILE_H
#define TT_SAFEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Most supplementary groups of the target taken into account. */
#define SAFEFILE_MAX_GROUPS 64

/* Who the target is, as seen from the tool's namespaces. */
struct safefile_cred {
    pid_t pid;
    uid_t uids[4]; /* real, effective, saved, filesystem */
    gid_t fsgid;
    gid_t groups[SAFEFILE_MAX_GROUPS];
    size_t ngroups;
    uid_t ns_root; /* what uid 0 of its user namespace is here, or -1 */
};

/* Reads the credentials of process PID from /proc/PID/status and
 * /proc/PID/uid_map into *C.  Returns 0, -ESRCH when PID is gone, -EPROTO
 * when the Uid or Gid line is missing, or another -errno. */
int safefile_cred_read(pid_t pid, struct safefile_cred *c);

/* Opens PATH, a path as the target sees it in its mount namespace, under
 * the rules above.  Returns a read-only descriptor (O_CLOEXEC) owned by the
 * caller, or -errno: -ENOENT and the other errors of path lookup when there
 * is no such file (-EACCES: a directory on the way the target's user may
 * not search), -ENODEV when the file there is not a regular file, -EPERM
 * when it is one the rules refuse.  In every case WHY (WHYLEN bytes, may be
 * 0) receives a short reason such as "it is a FIFO", for a message. */
int safefile_open_root(const struct safefile_cred *c, const char *path, char *why, size_t whylen);

/* Opens the file mapped at [START, END) in the target through
 * /proc/PID/map_files/START-END, under the same rules.  That needs
 * CAP_SYS_ADMIN (CAP_CHECKPOINT_RESTORE): when the kernel refuses, the
 * result is -EACCES with WHY saying so, and the caller may fall back to
 * safefile_open_root; -ENOENT when there is no such mapping.  Otherwise
 * returns as safefile_open_root (a descriptor, -ENODEV for a mapping of
 * something else than a regular file, -EPERM when the rules refuse it). */
int safefile_open_mapped(const struct safefile_cred *c, uint64_t start, uint64_t end, char *why,
                         size_t whylen);

#endif
