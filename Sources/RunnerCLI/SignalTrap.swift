import Dispatch
import Foundation

/// Turns SIGINT/SIGTERM into calls of a handler on a dispatch queue instead of killing the
/// process, so apply can stop its steps and a step can stop between units of work.
/// Kept alive by the caller for as long as the signals should be caught.
final class SignalTrap {
    private var sources: [DispatchSourceSignal] = []

    init(_ signals: [Int32] = [SIGINT, SIGTERM], handler: @escaping (Int32) -> Void) {
        let queue = DispatchQueue(label: "runner.signals")
        for sig in signals {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { handler(sig) }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }

    static func name(_ sig: Int32) -> String { sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal \(sig)" }
}

/// A flag set from the signal queue and read by the step between units of work.
final class AtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
