/* A test waker with a reference count and a wake counter, and a leaf
 * future that keeps a clone of it.  The loop that polls woken tasks is in
 * gen_util.h. */
#ifndef TT_TWAKER_H
#define TT_TWAKER_H

#include <stdatomic.h>
#include <stdbool.h>

#include <tasktrace/rt.h>

struct twaker {
    atomic_int refs;  /* live clones */
    atomic_int wakes; /* wake + wake_by_ref calls */
    atomic_bool woken;
};

/* A borrowed waker for `tw` (not counted in refs), as an executor passes. */
trt_waker twaker_borrow(struct twaker *tw);

/* A leaf that clones the waker on every poll (keeping one clone) and stays
 * pending until `ready` is set. */
struct tleaf {
    trt_future base;
    trt_waker kept;
    bool have;
    bool ready;
    bool no_clone; /* misbehave: return PENDING without touching the waker */
};
void tleaf_init(struct tleaf *l);
void tleaf_drop(struct tleaf *l);

#endif
