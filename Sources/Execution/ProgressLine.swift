import Foundation
import Store

/// The JSON lines a step process writes on stdout (`{"event":"progress","done":3,"total":10,"message":"…"}`).
/// Anything else on stdout is plain log text.
public enum ProgressLine {
    public static func encode(done: Int, total: Int, message: String) -> String {
        JSONValue.object(["event": .string("progress"), "done": .number(Double(done)),
                          "total": .number(Double(total)), "message": .string(message)]).canonicalText
    }

    /// The progress in `line`, or nil when the line is not a progress event.
    public static func decode(_ line: Substring) -> (done: Int, total: Int, message: String)? {
        guard line.first == "{", let value = try? JSONValue(jsonData: Data(line.utf8)),
              value[path: "event"] == .string("progress"),
              case .number(let done)? = value[path: "done"], case .number(let total)? = value[path: "total"],
              done.isFinite, total.isFinite, abs(done) < 1e15, abs(total) < 1e15 else { return nil }
        var message = ""
        if case .string(let m)? = value[path: "message"] { message = m }
        return (Int(done), Int(total), message)
    }
}
