import Foundation

/// The environment a step process starts with: the parent's, plus thread counts from the
/// step's cores, plus `OPENBLAS_CORETYPE=SkylakeX` on AVX-512 CPUs — Debian's OpenBLAS does not
/// recognise this CPU family and would otherwise run its SSE3 kernels (≈ 4.7× slower sgemm).
/// A value the user set wins for the core type; thread counts always follow the step's cores.
public enum ChildEnvironment {
    public static func make(base: [String: String], threads: Int, cpuHasAVX512F: Bool) -> [String: String] {
        var env = base
        if cpuHasAVX512F, (env["OPENBLAS_CORETYPE"] ?? "").isEmpty { env["OPENBLAS_CORETYPE"] = "SkylakeX" }
        env["OPENBLAS_NUM_THREADS"] = String(threads)
        env["OMP_NUM_THREADS"] = String(threads)
        env["RUNNER_THREADS"] = String(threads)
        return env
    }

    /// Whether /proc/cpuinfo lists `avx512f` among the CPU flags (false where there is no /proc).
    public static func cpuHasAVX512F(cpuinfo path: String = "/proc/cpuinfo") -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).contains("avx512f")
        }
        return false
    }
}
