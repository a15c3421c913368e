#ifndef VERTAC_CBLAS_SHIM_H
#define VERTAC_CBLAS_SHIM_H
#include <cblas.h>
/* openblas_set_num_threads / openblas_get_num_threads come from cblas.h (OpenBLAS). */
#endif
