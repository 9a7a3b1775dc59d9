/* The files of a saved dump's modules (--symbolize), found on this
 * machine: the module's path as the dump names it, else the debug file its
 * build id names under /usr/lib/debug/.build-id, else, with
 * DEBUGINFOD_URLS set, the executable or debug file elfutils' debuginfod
 * client fetches by build id.  Each file is opened through safefile.h in
 * the tool's own root, held to elfcheck.h's bounds and copied when its
 * owner could truncate it, and must carry the build id the dump gives.
 *
 * The debuginfod client is loaded (dlopen) only when a module is first
 * missing here, as elfutils' own tools do: the library starts an HTTP and
 * TLS stack which every other run of the tool should not pay for.  Not
 * thread-safe: one client per process, ended by findsaved_end. */
#ifndef TT_FINDSAVED_H
#define TT_FINDSAVED_H

#include <stddef.h>

#include <elfutils/libdwfl.h>

#include "target/safefile.h"

/* Opens the file of the module PATH whose build id is BUILD_ID (lowercase
 * hex, or NULL for none given), under CRED's rules.  Returns a
 * descriptor owned by the caller with *FILE the malloc'd path of the file
 * opened, or -1 with WHY (WHYLEN bytes, one item of a list of modules)
 * saying why not: "no such file", "its build id differs", the refusal of
 * safefile or elfcheck, and what debuginfod said. */
int findsaved_open(const struct safefile_cred *cred, const char *path, const char *build_id,
                   char **file, char *why, size_t whylen);

/* The debug file of MOD fetched by its build id from debuginfod, when a
 * client can be had.  Returns a descriptor with *NAME a malloc'd path
 * (replacing and freeing what *NAME held), or -1. */
int findsaved_debuginfo(Dwfl_Module *mod, char **name);

/* Ends the debuginfod client, if one was made; the next findsaved_open
 * may make another.  The library stays loaded: libcurl under it is not
 * made to be unloaded, and its global state stays reachable. */
void findsaved_end(void);

#endif
