// OpenBLAS's CBLAS interface as packaged by Debian (libopenblas-dev).
#include <cblas.h>
