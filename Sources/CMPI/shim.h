// Open MPI's C API (Debian: libopenmpi-dev) and inline accessors for what
// Swift cannot import directly: MPI's handles are macros over global
// objects (MPI_COMM_WORLD, MPI_FLOAT, ...), so they reach Swift as functions.
#include <mpi.h>

static inline MPI_Comm csgd_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype csgd_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype csgd_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype csgd_mpi_int(void) { return MPI_INT; }
static inline MPI_Errhandler csgd_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int csgd_mpi_success(void) { return MPI_SUCCESS; }
static inline int csgd_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline void *csgd_mpi_in_place(void) { return MPI_IN_PLACE; }
