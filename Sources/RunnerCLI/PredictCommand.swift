import ArgumentParser
import Foundation
import Steps
import Store

/// `runner predict --checkpoint C INPUT... -o DIR`: reconstructs phantom files with a trained Stage 1
/// model (Steps' `Predictor`) and prints per-phantom metrics against their ground truth and a total.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Reconstruct phantom files with a trained model; write the reconstructions in the phantom layout.",
        discussion: """
        CHECKPOINT is a checkpoint file (best.safetensors / last.safetensors of a train step, or an exported \
        model), a run (runs/<id>, its directory or manifest.json: the checkpoint its metrics were measured on), \
        or a train/evaluate step key (or a unique prefix) of the store.
        INPUT is a phantom file (phantom_<k>_scan.h5) or a directory searched for them. Each reconstruction \
        is written to DIR/phantom_<k>/phantom_<k>_scan.h5 (ground_truth = the reconstruction, tissue_labels \
        and measurements carried over); nothing is written unless every input succeeds.
        Exit codes: 0 success · 1 invalid input (checkpoint, phantom, output directory) · 2 usage.
        """)

    @Option(name: .long, help: ArgumentHelp("Checkpoint file, run, or step key.", valueName: "CHECKPOINT"))
    var checkpoint: String
    @Argument(help: ArgumentHelp("Phantom files or directories of them.", valueName: "INPUT")) var inputs: [String]
    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Directory for the reconstructions.", valueName: "DIR"))
    var output: String
    @Option(help: "Use last.safetensors instead of best.safetensors when CHECKPOINT is a train step or run.")
    var which: String = "best"
    @Option(help: "Threads (default: RUNNER_THREADS, else 1).") var threads: Int?
    @Option(help: "Data range of PSNR and SSIM (mm⁻¹).") var dataRange: Double = 1.0
    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "JSON output.") var json = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT (a phantom file or a directory of them)") }
        guard CheckpointLocator.Which(rawValue: which) != nil else { throw ValidationError("--which must be best or last (got '\(which)')") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1 (got \(threads))") }
    }

    func run() throws {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let resolved: ResolvedCheckpoint
        do {
            resolved = try CheckpointLocator.resolve(checkpoint, storeRoot: storeOptions.url, which: CheckpointLocator.Which(rawValue: which)!,
                                                     workingDirectory: cwd)
        } catch { throw CLIFailure(.invalidInput, "predict: checkpoint \(error)") }
        let threads = max(1, self.threads ?? Int(ProcessInfo.processInfo.environment["RUNNER_THREADS"] ?? "") ?? 1)
        let outputURL = URL(fileURLWithPath: output, relativeTo: cwd).standardizedFileURL
        let options = Predictor.Options(checkpoint: resolved.url, checkpointName: checkpoint,
                                        inputs: inputs.map { URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL },
                                        outputDirectory: outputURL, threads: threads, dataRange: dataRange)
        let stop = AtomicFlag()
        let trap = SignalTrap { _ in stop.set() }
        defer { withExtendedLifetime(trap) {} }
        let showProgress = !json && Console.stderrIsTerminal
        let report: PredictionReport
        do {
            report = try Predictor.run(options, progress: { done, total in
                if showProgress { Console.error("predict: \(done)/\(total) phantoms") }
            }, isCancelled: { stop.isSet })
        } catch {
            if stop.isSet { throw CLIFailure(.interrupted, "predict: interrupted; nothing was written") }
            throw CLIFailure(.invalidInput, "predict: \(error)")
        }
        if json {
            Console.out(Predictor.json(report, checkpoint: resolved, output: outputURL).canonicalText)
            return
        }
        Console.out(Self.table(report, checkpoint: resolved, output: outputURL, dataRange: dataRange))
    }

    static func table(_ report: PredictionReport, checkpoint: ResolvedCheckpoint, output: URL, dataRange: Double) -> String {
        func f(_ v: Double?, _ digits: Int) -> String {
            guard let v else { return "-" }
            return v.isFinite ? String(format: "%.\(digits)f", v) : (v > 0 ? "inf" : "nan")
        }
        let header = ["phantom", "RMSE", "RMSE μa", "RMSE μs′", "SSIM", "PSNR dB"]
        var rows = report.phantoms.map { p in
            ["\(p.id)", f(p.metrics["rmse"], 5), f(p.metrics["rmse.mua"], 5), f(p.metrics["rmse.musp"], 5), f(p.metrics["ssim"], 4), f(p.metrics["psnr"], 2)]
        }
        let t = report.total
        rows.append(["total", f(t["rmse"], 5), f(t["rmse.mua"], 5), f(t["rmse.musp"], 5), f(t["ssim"], 4), f(t["psnr"], 2)])
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        var lines = ["checkpoint: \(checkpoint.origin)" + (report.standardized ? " (standardised targets, de-standardised)" : "")]
        lines.append(line(header))
        lines += rows.dropLast().map(line)
        lines.append(line(rows.last!))
        lines.append("\(report.phantoms.count) reconstruction(s) of \(report.size)³ written to \(output.path) in \(String(format: "%.1f", report.seconds)) s "
                     + "(metrics against each input's ground truth, raw mm⁻¹, PSNR/SSIM at data range \(dataRange))")
        return lines.joined(separator: "\n")
    }
}
