// LAPACKE (Debian: liblapacke-dev), used by tests for exact eigenvalues.
#include <lapacke.h>
