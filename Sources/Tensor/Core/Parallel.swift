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

    /// Splits batch × planes into `chunks` contiguous ranges run in parallel and calls
    /// `body(chunk, sample, first, end, scratch)` for each run of planes of one sample inside a
    /// range; each chunk gets its own `scratch` floats.
    static func planeRuns(batch: Int, planes: Int, chunks: Int, scratch: Int = 0,
                          _ body: (Int, Int, Int, Int, UnsafeMutablePointer<Float>?) -> Void) {
        let work = batch * planes
        Parallel.chunks(work, threads: chunks) { chunk, range in
            let buffer = scratch > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: scratch) : nil
            defer { buffer?.deallocate() }
            var item = range.lowerBound
            while item < range.upperBound {
                let n = item / planes, start = item % planes
                let end = min(planes, start + range.upperBound - item)
                body(chunk, n, start, end, buffer)
                item += end - start
            }
        }
    }

    /// out[i] = Σ over chunks of partials[chunk·count + i], added in chunk order (so a reduction
    /// split this way is bit-identical from run to run at a fixed thread count).
    static func sumPartials(_ partials: UnsafePointer<Float>, count: Int, chunks: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(from: partials, count: count)
        for c in 1..<max(1, chunks) {
            let p = partials + c * count
            for i in 0..<count { out[i] += p[i] }
        }
    }
}
