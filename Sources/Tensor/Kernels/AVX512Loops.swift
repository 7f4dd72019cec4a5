import CKernels

/// Whether the engine's AVX-512F loops (the CKernels target: the direct convolution and the vol2col
/// fill) run instead of their portable Swift twins. True where the CPU has AVX-512F; the choice
/// follows the CPU's flags, which every manifest records. Results differ from the portable loops
/// only by rounding (FMA). Tests switch it off to check both paths.
public enum AVX512Loops {
    nonisolated(unsafe) public static var enabled = ckernels_avx512_available() != 0
}
