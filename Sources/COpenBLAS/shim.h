#ifndef COPENBLAS_SHIM_H
#define COPENBLAS_SHIM_H
#include <cblas.h>   /* OpenBLAS's cblas.h: also declares openblas_set_num_threads(), openblas_get_config() */
#endif
