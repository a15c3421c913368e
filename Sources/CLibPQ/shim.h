#ifndef VERTAC_CLIBPQ_SHIM_H
#define VERTAC_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
