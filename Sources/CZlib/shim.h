#ifndef VERTAC_CZLIB_SHIM_H
#define VERTAC_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit2 is a macro, which Swift cannot call: this is it for gzip input only
   (windowBits 16 + MAX_WBITS: a gzip header and trailer, no zlib or raw deflate). */
static inline int vertac_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 16 + MAX_WBITS);
}
#endif
