import CKernels

/// Whether the engine's AVX-512F loops (the CKernels target: the direct convolution, the vol2col fill
/// and col2vol, and the direct ConvTranspose3d k4 s2 p1 and stride-2 Conv3d kernels) run instead of
/// the portable paths (Swift loops, vol2col + OpenBLAS). True where the CPU has AVX-512F; the choice
/// follows the CPU's flags, which every manifest records. Results differ from the portable loops
/// only by rounding (FMA). Tests switch it off to check both paths.
public enum AVX512Loops {
    nonisolated(unsafe) public static var enabled = ckernels_avx512_available() != 0
}
