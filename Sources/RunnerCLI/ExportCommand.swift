import ArgumentParser
import Foundation
import Steps
import Store

/// `runner export RUN_OR_KEY -o model.safetensors`: copies a trained checkpoint out of the store
/// (hash-checked, loaded once to prove it is a Stage 1 model) to a file PyTorch loads with
/// `load_state_dict(strict=True)` — tensor names are the reference model's state_dict names; the
/// metadata carries `stage1_config` and, when used, `target_standardization` (tools/check_export.py).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a run's trained model to a safetensors file with the PyTorch reference names.",
        discussion: """
        RUN_OR_KEY: a run (runs/<id>, its directory or manifest.json), a train/evaluate step key (or a unique \
        prefix), or a checkpoint file. Load it in PyTorch with tools/check_export.py or \
        model.load_state_dict(safetensors.torch.load_file(FILE), strict=True).
        Exit codes: 0 success · 1 invalid input (no such run or step, corrupt checkpoint, unwritable output) · 2 usage.
        """)

    @Argument(help: ArgumentHelp("Run, step key, or checkpoint file.", valueName: "RUN_OR_KEY")) var source: String
    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The safetensors file to write.", valueName: "FILE"))
    var output: String
    @Option(help: "best (default) or last checkpoint of a train step or run.") var which: String = "best"
    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "JSON output.") var json = false

    func validate() throws {
        guard CheckpointLocator.Which(rawValue: which) != nil else { throw ValidationError("--which must be best or last (got '\(which)')") }
    }

    func run() throws {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let resolved: ResolvedCheckpoint
        do {
            resolved = try CheckpointLocator.resolve(source, storeRoot: storeOptions.url, which: CheckpointLocator.Which(rawValue: which)!,
                                                     workingDirectory: cwd)
        } catch { throw CLIFailure(.invalidInput, "export: \(error)") }
        let model: TrainedModel
        do { model = try TrainedModel.load(resolved.url, name: source) } catch { throw CLIFailure(.invalidInput, "export: \(error)") }
        let destination = URL(fileURLWithPath: output, relativeTo: cwd).standardizedFileURL
        do { try Self.copyAtomically(resolved.url, to: destination) } catch {
            throw CLIFailure(.invalidInput, "export: cannot write \(destination.path): \(error)")
        }
        let c = model.config
        let description = "base_channels \(c.baseChannels), latent_dim \(c.latentDim), residual_blocks \(c.residualBlocks), "
            + "attention layers \(c.attentionLayers), input \(c.inputSize)³"
        if json {
            var fields: [String: JSONValue] = [
                "output": .string(destination.path), "origin": .string(resolved.origin),
                "parameters": .number(Double(model.model.parameterCount)), "standardized_targets": .bool(model.standardization != nil),
            ]
            if let d = resolved.digest { fields["sha256"] = .string(d) }
            Console.out(JSONValue.object(fields).canonicalText)
        } else {
            Console.out("exported \(resolved.origin) → \(destination.path)")
            Console.out("  \(model.model.parameterCount) parameters; \(description)"
                        + (model.standardization != nil ? "; trained on standardised targets (statistics in the metadata)" : ""))
            Console.out("  check in PyTorch: python tools/check_export.py \(output)")
        }
    }

    /// Copy to a temporary name beside the destination, then rename: a reader never sees half a file.
    static func copyAtomically(_ source: URL, to destination: URL) throws {
        let data = try Data(contentsOf: source)
        let folder = destination.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ExportFailure(description: "the directory \(folder.path) does not exist")
        }
        let tmp = folder.appendingPathComponent(".\(destination.lastPathComponent).tmp-\(getpid())")
        do {
            try data.write(to: tmp)
            guard rename(tmp.path, destination.path) == 0 else { throw ExportFailure(description: String(cString: strerror(errno))) }
        } catch {
            unlink(tmp.path)
            throw error
        }
    }
}

private struct ExportFailure: Error, CustomStringConvertible { let description: String }
