import Foundation
import Store

/// `report`: compares the variants of one experiment from its train and evaluate outputs and writes
/// `report.html` (self-contained page) and `report.json` (every number on the page).
public struct ReportStep: StepImplementation {
    public static let kind = StepKind.report
    public static let codeVersion = 1
    public static let htmlName = "report.html"
    public static let jsonName = "report.json"
    public init() {}

    public func run(_ request: StepRequest, context: StepContext) throws -> StepResult {
        let params = try DataParams.decode(ReportParams.self, request.params, step: .report)
        // Apply names steps `<experiment>/report` when it runs several experiments; otherwise the
        // request does not carry the experiment. No date or host: the stored page depends on the
        // inputs only (`runner report FILE` fills the header in).
        let experiment = request.name.hasSuffix("/report") ? String(request.name.dropLast("/report".count)) : nil
        let written = try Self.write(params: params, inputs: context.inputs, objectPath: context.objectPath,
                                     header: ReportHeader(experiment: experiment), to: context.outputDirectory)
        context.progress(StepProgress(done: 1, total: 1, message: "report written"))
        return StepResult(summary: written.summary)
    }

    /// What `write` produced.
    public struct Written {
        public var html: URL
        public var json: URL
        public var analysis: ReportAnalysis
        public var bytes: Int

        /// The step summary the apply views show: `best`, `primary`, `variants`, `report`.
        public var summary: JSONValue {
            var fields: [String: JSONValue] = ["report": .string(ReportStep.htmlName), "variants": .number(Double(analysis.ranked.count)),
                                               "primary": .string(analysis.primary)]
            if let best = analysis.ranked.first, best.estimates[analysis.primary]?.mean.isFinite == true { fields["best"] = .string(best.name) }
            let clear = analysis.comparisons.filter { $0.metric == analysis.primary && ($0.verdict == .better || $0.verdict == .worse) }
            if !analysis.comparisons.isEmpty { fields["clear_differences"] = .number(Double(clear.count)) }
            return .object(fields)
        }
    }

    /// Reads the runs, analyses them and writes report.html and report.json into `directory`
    /// (each atomically). Shared by the step and `runner report`.
    public static func write(params: ReportParams, inputs: [String: ArtifactTree], objectPath: (String) throws -> URL,
                             header: ReportHeader, to directory: URL, resamples: Int = PairedBootstrap.defaultResamples) throws -> Written {
        let runs = try ReportInputs.gather(params, inputs: inputs, objectPath: objectPath)
        let analysis = ReportAnalysis(params: params, runs: runs, resamples: resamples)
        let html = Data(HTMLReport.render(analysis, runs: runs, header: header).utf8)
        let htmlURL = directory.appendingPathComponent(htmlName), jsonURL = directory.appendingPathComponent(jsonName)
        do {
            try html.write(to: htmlURL, options: .atomic)
            try DataParams.writeJSON(analysis.json, to: jsonURL)
        } catch {
            throw StepError("report: cannot write into \(directory.path): \(error.localizedDescription)")
        }
        return Written(html: htmlURL, json: jsonURL, analysis: analysis, bytes: html.count)
    }
}
