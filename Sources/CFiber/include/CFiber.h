#ifndef CSGD_CFIBER_H
#define CSGD_CFIBER_H

#include <stddef.h>

/// A fiber: a function running on a stack of its own, switched to and from
/// by its scheduler on one OS thread (ucontext). Many fibers share one thread;
/// a fiber never moves to another thread.
typedef struct csgd_fiber csgd_fiber;

/// Makes a fiber that will run `body(argument)` on a new stack of
/// `stack_bytes` (rounded up to pages) with an inaccessible guard page below
/// it, so an overflow faults instead of writing into other memory. The stack
/// is reserved, not committed: pages cost memory only once touched. NULL with
/// errno set when the memory cannot be mapped.
csgd_fiber *csgd_fiber_create(size_t stack_bytes, void (*body)(void *), void *argument);

/// Runs the fiber from where it last suspended (its start the first time)
/// until it suspends or its body returns. Called by the scheduler, on the
/// thread the fiber belongs to.
void csgd_fiber_resume(csgd_fiber *fiber);

/// Called on a fiber: returns to the scheduler that resumed it.
void csgd_fiber_suspend(csgd_fiber *fiber);

/// The fiber running on this thread, or NULL on a thread's own stack.
csgd_fiber *csgd_fiber_current(void);

/// 1 once the fiber's body has returned.
int csgd_fiber_finished(const csgd_fiber *fiber);

/// The argument the fiber was made with.
void *csgd_fiber_argument(const csgd_fiber *fiber);

/// Frees a fiber that has finished or never ran.
void csgd_fiber_destroy(csgd_fiber *fiber);

/// Memory maps one fiber costs (its stack and its guard page).
int csgd_fiber_maps_per_fiber(void);

#endif
