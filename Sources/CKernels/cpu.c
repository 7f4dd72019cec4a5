// The run-time choice between the AVX-512F loops and the portable Swift ones.
#include "ckernels.h"

int ckernels_avx512_available(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}
