// StoreProbe: a helper process for StoreTests. The store's crash-safety and lock
// guarantees are about *other processes* — a writer killed mid-write, a second
// apply — so the tests start this executable, drive it through stdin/stdout and
// SIGKILL it at a known point. Each mode prints "ready …" when it has reached
// that point and then waits for a line or EOF on stdin.
import Foundation
import Store

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func waitForParent() { _ = readLine() }

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("StoreProbe: " + message + "\n").utf8))
    exit(1)
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    fail("usage: StoreProbe MODE STORE [ARGS…]; modes: write-object, put-file PATH, write-record KEY, lock [HOST], lock-loop N LOG")
}
let mode = args[1]
let storeRoot = URL(fileURLWithPath: args[2])

do {
    switch mode {
    case "write-object":
        // Streams 4 MiB through an ObjectWriter, stops before commit; on a line from the parent, commits.
        let store = try RunnerStore(root: storeRoot)
        let writer = try store.objects.makeWriter()
        let chunk = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        for _ in 0..<4 { try writer.write(chunk) }
        say("ready \(writer.bytesWritten)")
        waitForParent()
        say("committed \(try writer.commit())")

    case "put-file":
        // put(fileAt:) of a path (the tests give a FIFO they feed and then stop feeding).
        guard args.count == 4 else { fail("put-file needs PATH") }
        let store = try RunnerStore(root: storeRoot)
        say("ready")
        say("committed \(try store.objects.put(fileAt: URL(fileURLWithPath: args[3])))")

    case "write-record":
        // Writes the first half of a record through the atomic writer, then waits.
        guard args.count == 4 else { fail("write-record needs KEY") }
        let store = try RunnerStore(root: storeRoot)
        let key = args[3]
        let request = StepRequestRecord(key: key, kind: "generate", name: "generate", params: .object([:]), inputs: [:], cores: 1)
        let record = StepRecord(request: request, status: .succeeded, started: Date(), finished: Date(),
                                host: HostIdentity.current.name, pid: getpid(), logPath: "steps/\(key)/log.txt", runnerVersion: "probe")
        let data = try StoreJSON.encode(record)
        let writer = try AtomicFileWriter(destination: store.layout.record(key))
        try writer.append(data.prefix(data.count / 2))
        say("ready")
        waitForParent()
        try writer.append(data.suffix(from: data.count / 2))
        try writer.commit()
        say("committed")

    case "lock":
        // Takes the lock without waiting (as HOST if given, to play a cluster node), holds it until a line or EOF.
        var identity = HostIdentity.current
        if args.count >= 4 { identity.name = args[3] }
        let lock = StoreLock(storeRoot: storeRoot, identity: identity)
        let handle = try lock.acquire(command: "StoreProbe lock", wait: .noWait)
        say("ready \(handle.info.id)")
        waitForParent()
        try handle.release()
        say("released")

    case "lock-loop":
        // N times: take the lock (waiting), append "enter PID" and "exit PID" to LOG around a short critical section.
        guard args.count == 5, let n = Int(args[3]) else { fail("lock-loop needs N LOG") }
        let log = args[4]
        let lock = StoreLock(storeRoot: storeRoot, maxPollInterval: 0.002)
        let pid = getpid()
        say("ready")
        waitForParent()
        for _ in 0..<n {
            let handle = try lock.acquire(command: "StoreProbe lock-loop", wait: .wait(timeout: 60))
            let out = FileHandle(forWritingAtPath: log)!
            out.seekToEndOfFile(); out.write(Data("enter \(pid)\n".utf8))
            usleep(500)
            out.seekToEndOfFile(); out.write(Data("exit \(pid)\n".utf8))
            try out.close()
            try handle.release()
        }
        say("done")

    default:
        fail("unknown mode \(mode)")
    }
} catch {
    fail("\(error)")
}
