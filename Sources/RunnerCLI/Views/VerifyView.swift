import Foundation
import Store

/// Output of `runner verify`.
struct VerifyView {
    let json: Bool

    func show(_ report: VerifyReport, repaired: RepairResult?) {
        if json {
            var fields: [String: JSONValue] = ["report": (try? JSONValue(encoding: report)) ?? .null, "clean": .bool(report.isClean)]
            if let repaired { fields["repaired"] = (try? JSONValue(encoding: repaired)) ?? .null }
            Console.out(JSONValue.object(fields).canonicalText)
            return
        }
        Console.out("checked \(report.objectsChecked) object(s) and \(report.recordsChecked) record(s)")
        for o in report.corruptObjects { Console.out("corrupt object \(o.digest): \(o.path) hashes to \(o.actual)") }
        for m in report.missingObjects { Console.out("missing object \(m.digest): file \(m.file) of step \(m.key)") }
        for r in report.unreadableRecords { Console.out("unreadable record of step \(r.key): \(r.reason)") }
        for key in report.brokenRecords { Console.out("step \(key): its record points at a missing or corrupt object") }
        for m in report.staleIncomplete { Console.out("step \(m.key): crashed (incomplete marker of pid \(m.pid) on \(m.host), process gone)") }
        for m in report.otherHostIncomplete { Console.out("step \(m.key): incomplete on host \(m.host) (pid \(m.pid)); cannot be judged here") }
        for t in report.temporaryFiles where t.stale { Console.out("stale temporary file \(t.path)") }
        if let r = repaired {
            Console.out("repaired: removed \(r.removedObjects.count) object(s), \(r.removedRecords.count) record(s), "
                        + "\(r.removedMarkers.count) marker(s), \(r.removedTemporaryFiles.count) temporary file(s) "
                        + "(\(ByteCount.text(r.bytesFreed))); the next apply re-makes what they held")
        } else if report.isClean {
            Console.out("the store is clean")
        } else {
            Console.out("problems found; `runner verify --repair` removes them so the next apply re-makes them")
        }
    }
}

enum ByteCount {
    static func text(_ bytes: Int64) -> String {
        let b = Double(bytes)
        if b < 1024 { return "\(bytes) B" }
        if b < 1024 * 1024 { return String(format: "%.1f kB", b / 1024) }
        if b < 1024 * 1024 * 1024 { return String(format: "%.1f MB", b / 1024 / 1024) }
        return String(format: "%.2f GB", b / 1024 / 1024 / 1024)
    }
}
