import COpenBLAS
import Foundation   // Dispatch comes with Foundation

/// Static work partitioning over a caller-given thread count. Chunk t of `threads` always gets the
/// same index range, so reductions that combine per-chunk partials in chunk order are bit-identical
/// from run to run at a fixed thread count.
enum Parallel {
    /// Calls `body(chunk, range)` for `threads` contiguous chunks of 0..<count (fewer when count is small).
    static func chunks(_ count: Int, threads: Int, _ body: (Int, Range<Int>) -> Void) {
        let t = max(1, min(threads, count))
        if t == 1 {
            if count > 0 { body(0, 0..<count) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: t) { c in
            body(c, (count * c / t)..<(count * (c + 1) / t))
        }
    }

    /// Runs our own threads and BLAS single-threaded (never both: 2 cores oversubscribe badly),
    /// or — when there is too little outer work to share — our loop serial and BLAS threaded.
    /// Returns the number of chunks to use for `work` outer items.
    static func plan(work: Int, threads: Int) -> Int {
        if threads > 1 && work >= threads {
            openblas_set_num_threads(1)
            return threads
        }
        openblas_set_num_threads(Int32(max(1, threads)))
        return 1
    }
}
