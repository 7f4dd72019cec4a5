import Foundation

/// Runs `body(i)` for i in 0..<count on `threads` workers that take the next index as they free
/// up. Results must not depend on the order (each i writes its own output). Stops handing out work
/// after the first error (rethrown, lowest index first) or once `isCancelled()` is true.
public enum ParallelLoop {
    public static func run(count: Int, threads: Int, isCancelled: @escaping () -> Bool = { false },
                           _ body: (Int) throws -> Void) throws {
        guard count > 0 else { return }
        let workers = max(1, min(threads, count))
        let state = State()
        withoutActuallyEscaping(body) { body in
            let work = { (_: Int) in
                while true {
                    guard let i = state.take(count: count), !isCancelled() else { return }
                    do { try body(i) } catch { state.fail(i, error) }
                }
            }
            if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
        }
        if let error = state.firstError { throw error }
    }

    private final class State: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        private var failed: (Int, Error)?

        func take(count: Int) -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard failed == nil, next < count else { return nil }
            next += 1
            return next - 1
        }

        func fail(_ i: Int, _ error: Error) {
            lock.lock(); defer { lock.unlock() }
            if failed == nil || i < failed!.0 { failed = (i, error) }
        }

        var firstError: Error? { lock.lock(); defer { lock.unlock() }; return failed?.1 }
    }
}

/// Generating a whole synthetic data set on several threads.
public enum PhantomBatch {
    /// Generates phantoms `ids`, deflates and writes each to `directory` (one file per phantom, so
    /// the files are byte-identical whatever `threads` is). `progress(done)` is called after each file.
    /// Returns the relative paths written, by id.
    @discardableResult
    public static func generate(_ generator: PhantomGenerator, ids: Range<Int>, to directory: URL, threads: Int,
                                progress: @escaping (Int) -> Void = { _ in },
                                isCancelled: @escaping () -> Bool = { false }) throws -> [Int: String] {
        let done = Counter()
        try ParallelLoop.run(count: ids.count, threads: threads, isCancelled: isCancelled) { i in
            let phantom = generator.phantom(ids.lowerBound + i)
            try PhantomIO.write(PhantomIO.encode(phantom), to: directory)
            progress(done.increment())
        }
        return Dictionary(uniqueKeysWithValues: ids.map { ($0, PhantomIO.relativePath(id: $0)) })
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
