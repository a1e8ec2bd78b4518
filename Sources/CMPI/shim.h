// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM ...) are macros over the addresses of its globals, which
// Swift cannot import; these wrappers name the few collectives the training loop uses.
#include <mpi.h>

// MPI_Init_thread with FUNNELED (only the main thread calls MPI; the engine's threads never do); the world's rank and
// size.
static inline int cmpi_init(int *rank, int *size) {
  int provided = 0;
  int status = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
  if (status != MPI_SUCCESS) return status;
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  return MPI_Comm_size(MPI_COMM_WORLD, size);
}

static inline int cmpi_sum_floats(float *values, int count) {
  return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}

static inline int cmpi_sum_doubles(double *values, int count) {
  return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

static inline int cmpi_max_int(int *value) {
  return MPI_Allreduce(MPI_IN_PLACE, value, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
}

static inline int cmpi_broadcast_bytes(void *bytes, int count, int root) {
  return MPI_Bcast(bytes, count, MPI_BYTE, root, MPI_COMM_WORLD);
}

static inline int cmpi_finalize(void) { return MPI_Finalize(); }

static inline void cmpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
