import Foundation
import Phantoms
import Store

/// `generate`: the synthetic phantom generator → `phantom_<k>/phantom_<k>_scan.h5` files in the
/// output directory, parallel over phantoms on the step's threads (byte-identical whatever the count).
public struct GenerateStep: StepImplementation {
    public static let kind = StepKind.generate
    public static let codeVersion = 1
    public init() {}

    public func run(_ request: StepRequest, context: StepContext) throws -> StepResult {
        let source = try DataParams.synthetic(request.params)
        let generator = DataParams.generator(source)
        let total = source.count
        context.progress(StepProgress(done: 0, total: total, message: "generating \(total) phantoms of \(source.size)³"))
        do {
            try PhantomBatch.generate(generator, ids: 0..<total, to: context.outputDirectory, threads: max(1, context.threads),
                                      progress: { done in context.progress(StepProgress(done: done, total: total, message: "phantoms")) },
                                      isCancelled: context.isCancelled)
        } catch let error as HDF5Error {
            throw StepError("generate: writing a phantom failed: \(error)")
        }
        if context.isCancelled() { throw StepError("generate: cancelled") }
        var bytes = 0
        for k in 0..<total {
            let url = PhantomIO.fileURL(directory: context.outputDirectory, id: k)
            bytes += (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        }
        return StepResult(summary: .object([
            "phantoms": DataParams.int(total), "size": DataParams.int(source.size), "seed": DataParams.int(source.seed),
            "bytes": DataParams.int(bytes),
        ]))
    }
}
