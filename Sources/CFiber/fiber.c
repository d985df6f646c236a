#define _GNU_SOURCE
#include "CFiber.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

struct csgd_fiber {
    ucontext_t context;    /* the fiber's registers while it is suspended */
    ucontext_t scheduler;  /* the scheduler's while the fiber runs */
    csgd_fiber *outer;     /* the fiber current before this one was resumed */
    void *mapping;         /* guard page + stack */
    size_t mapping_bytes;
    void (*body)(void *);
    void *argument;
    int finished;
    uintptr_t exclusivity[2];  /* the fiber's access set while it is suspended */
};

static __thread csgd_fiber *current_fiber;

/* The Swift runtime's hooks for code that runs in turns on one thread (what
   it uses for tasks): they move the accesses a fiber has begun and not yet
   ended (the dynamic exclusivity checks) out of the thread's list when it
   suspends and back when it resumes, so the checks see only the running
   fiber's accesses and do not slow down with the number of suspended ones. */
extern void swift_task_enterThreadLocalContext(char *state);
extern void swift_task_exitThreadLocalContext(char *state);

/* makecontext passes int arguments only: the fiber's address in two halves. */
static void trampoline(unsigned int high, unsigned int low) {
    csgd_fiber *fiber = (csgd_fiber *)(((uintptr_t)high << 32) | (uintptr_t)low);
    fiber->body(fiber->argument);
    fiber->finished = 1;
    /* returning resumes uc_link, the scheduler's context */
}

csgd_fiber *csgd_fiber_create(size_t stack_bytes, void (*body)(void *), void *argument) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t stack = (stack_bytes + page - 1) / page * page;
    if (stack < 4 * page) stack = 4 * page;
    csgd_fiber *fiber = calloc(1, sizeof *fiber);
    if (!fiber) return NULL;
    size_t bytes = stack + page;
    void *mapping = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) { int e = errno; free(fiber); errno = e; return NULL; }
    if (mprotect(mapping, page, PROT_NONE) != 0) {
        int e = errno; munmap(mapping, bytes); free(fiber); errno = e; return NULL;
    }
    fiber->mapping = mapping;
    fiber->mapping_bytes = bytes;
    fiber->body = body;
    fiber->argument = argument;
    if (getcontext(&fiber->context) != 0) {
        int e = errno; munmap(mapping, bytes); free(fiber); errno = e; return NULL;
    }
    fiber->context.uc_stack.ss_sp = (char *)mapping + page;
    fiber->context.uc_stack.ss_size = stack;
    fiber->context.uc_link = &fiber->scheduler;
    uintptr_t address = (uintptr_t)fiber;
    makecontext(&fiber->context, (void (*)(void))trampoline, 2,
                (unsigned int)(address >> 32), (unsigned int)(address & 0xffffffffu));
    return fiber;
}

void csgd_fiber_resume(csgd_fiber *fiber) {
    if (fiber->finished) return;
    fiber->outer = current_fiber;
    current_fiber = fiber;
    swift_task_enterThreadLocalContext((char *)fiber->exclusivity);
    swapcontext(&fiber->scheduler, &fiber->context);
    swift_task_exitThreadLocalContext((char *)fiber->exclusivity);
    current_fiber = fiber->outer;
}

void csgd_fiber_suspend(csgd_fiber *fiber) {
    swapcontext(&fiber->context, &fiber->scheduler);
}

csgd_fiber *csgd_fiber_current(void) { return current_fiber; }

int csgd_fiber_finished(const csgd_fiber *fiber) { return fiber->finished; }

void *csgd_fiber_argument(const csgd_fiber *fiber) { return fiber->argument; }

void csgd_fiber_destroy(csgd_fiber *fiber) {
    if (!fiber) return;
    munmap(fiber->mapping, fiber->mapping_bytes);
    free(fiber);
}

int csgd_fiber_maps_per_fiber(void) { return 2; }
