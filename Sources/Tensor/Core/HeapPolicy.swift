#if canImport(Glibc)
import Glibc
#endif

/// How the process's heap treats the engine's large buffers.
///
/// Every activation and gradient of a full-resolution layer is a fresh array of tens of MB to a GB
/// (64³ × 16 channels × batch). glibc serves blocks above its mmap threshold (≤ 32 MB by default)
/// with a fresh mapping and unmaps them on free, so each training step page-faults all of them back
/// in — on this machine ≈ 0.6 s per GB touched (measured with a 1 GB malloc/touch/free loop). Told
/// to keep large blocks in the heap and not to trim freed memory, the second and later steps reuse
/// the pages instead: PyTorch's "best" setting in `make bench` is the same lever
/// (MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_). Peak resident memory grows by the heap's
/// fragmentation (≈ 10 % measured at 64³ batch 8 and 32), which the planner's memory headroom covers.
public enum HeapPolicy {
    /// Keeps blocks up to 2 GiB in the heap and never returns freed memory to the OS. A variable the
    /// user set (MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_, or GLIBC_TUNABLES) wins. Call once,
    /// early, in processes that train or evaluate; a no-op where glibc is absent.
    public static func keepLargeBuffers(environment: [String: String]) {
        #if canImport(Glibc)
        let userChose = environment["MALLOC_MMAP_THRESHOLD_"] != nil || environment["MALLOC_TRIM_THRESHOLD_"] != nil
            || (environment["GLIBC_TUNABLES"] ?? "").contains("glibc.malloc.")
        guard !userChose else { return }
        // mallopt takes an int: 2 GiB − 1 is its ceiling. A larger block is still mapped per use.
        _ = glibcMallopt(mmapThreshold, Int32.max)
        _ = glibcMallopt(trimThreshold, Int32.max)
        #endif
    }

    #if canImport(Glibc)
    // <malloc.h> is not part of Swift's Glibc module; these are its M_TRIM_THRESHOLD and M_MMAP_THRESHOLD.
    private static let trimThreshold: Int32 = -1
    private static let mmapThreshold: Int32 = -3
    #endif
}

#if canImport(Glibc)
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
