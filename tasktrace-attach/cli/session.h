/* What one run of the tool holds, whatever its mode, and what every mode
 * that prints a dump shares: the task selection of --task, the interrupt,
 * printing the dump with its problems. */
#ifndef TT_CLI_SESSION_H
#define TT_CLI_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <tasktrace/protocol.h>

#include "target/core.h"
#include "model/model.h"
#include "cli/options.h"
#include "target/proc.h"
#include "target/records.h"
#include "target/rtread.h"
#include "symbols/lookup.h"
#include "model/symbolize.h"

/* Everything one run of the tool holds; freed by session_end. */
struct session {
    struct options o;
    struct proc_target t;
    Dwfl *dwfl;
    lookup_ctx *sym;
    uint64_t control_addr;
    struct trt_control ctl;
    struct trt_control first; /* the control block as first read */
    pid_t doorbell_tid;
    uint32_t gen;        /* the generation this dump reads; 0 without one */
    bool started;        /* the runtime started `gen` */
    bool complete;       /* the runtime completed `gen` */
    uint64_t stopped_ns; /* how long the doorbell thread was stopped */
    uint64_t t_start;    /* CLOCK_MONOTONIC at the start */
    uint64_t deadline;   /* end of the wait for the tasks */
    struct rtread_registry reg;
    struct records_result ring;
    struct records_progress ring_steps; /* the ring read while waiting */
    struct tt_dump d;
    /* Phase ends, for TASKTRACE_ATTACH_STATS. */
    uint64_t t_located, t_waited, t_read, t_built, t_live, t_printed;
    struct symbolize symz; /* --symbolize */
    struct core_file core; /* --core */
    bool core_opened;
};

/* Set by SIGINT and SIGTERM: stop waiting, print what was collected. */
extern volatile sig_atomic_t interrupted;
/* Sets the handlers that set `interrupted`. */
void session_catch_interrupts(void);

/* Starts the clocks of a dump: t_start now, and the dump's moment
 * (taken_at) TAKEN_AT_MS, or now when 0. */
void session_start_clock(struct session *ss, int64_t taken_at_ms);

/* Whether task slot S is one the --task options of O select (all without
 * any); marks the options it matches. */
bool task_selected(struct options *o, const struct trt_task_slot *s);
/* task_selected as dump_build's selection callback; ARG the options. */
bool select_cb(void *arg, const struct trt_task_slot *s);

/* Prints the dump and what was missing from it.  Returns the exit code. */
int session_report(struct session *ss);

/* Writes the error document of a failure with --json, frees what SS
 * holds, and returns RC. */
int session_finish(struct session *ss, int rc);

#endif
