#ifndef VERTAC_CHDF5_SHIM_H
#define VERTAC_CHDF5_SHIM_H
#include <hdf5.h>

/* HDF5 exposes its type and flag constants as macros over globals that Swift
   cannot import; these inline functions give Swift the same values. */
static inline hid_t vt_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t vt_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t vt_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t vt_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t vt_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t vt_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t vt_H5T_C_S1(void) { return H5T_C_S1; }
static inline size_t vt_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline unsigned vt_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned vt_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned vt_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline hid_t vt_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t vt_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t vt_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline hid_t vt_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t vt_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }

/* Silence HDF5's automatic error-stack printing: errors become Swift throws. */
static inline void vt_H5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
