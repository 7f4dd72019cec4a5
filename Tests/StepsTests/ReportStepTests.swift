import Foundation
import NN
import Phantoms
import Spec
import Steps
import Store
import XCTest

/// The report step on a tiny real experiment (generated 32³ phantoms, base_channels 4, two
/// variants × two seeds, two epochs), run the way `runner step` runs steps; and the page size for
/// 8 variants × 3 seeds at 64³.
final class ReportStepTests: XCTestCase {
    var base: URL!
    var paths: [String: URL] = [:]
    var counter = 0

    override func setUpWithError() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("report-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base.appendingPathComponent("objects"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: base) }

    /// Runs `step` with `name`; its output files become objects and the tree is returned.
    func run<S: StepImplementation>(_ step: S, _ params: JSONValue, name: String? = nil, inputs: [String: ArtifactTree] = [:]) throws -> ArtifactTree {
        let out = base.appendingPathComponent("out-\(UUID().uuidString)")
        let scratch = base.appendingPathComponent("scratch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let context = StepContext(inputs: inputs, objectPath: objectPath, outputDirectory: out, scratchDirectory: scratch,
                                  threads: 2, progress: { _ in }, isCancelled: { false })
        let result = try step.run(StepRequest(key: String(repeating: "cd", count: 32), kind: S.kind, name: name ?? S.kind.rawValue,
                                              params: params, inputs: [:], cores: 2), context: context)
        var files = result.linkedFiles
        let enumerator = FileManager.default.enumerator(at: out, includingPropertiesForKeys: [.isRegularFileKey])!
        for case let url as URL in enumerator where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            files[String(url.standardizedFileURL.path.dropFirst(out.standardizedFileURL.path.count + 1))] = try store(url)
        }
        return ArtifactTree(files: files, summary: result.summary)
    }

    func store(_ url: URL) throws -> String {
        counter += 1
        let digest = String(format: "%064x", counter)
        let object = base.appendingPathComponent("objects").appendingPathComponent(digest)
        try FileManager.default.moveItem(at: url, to: object)
        paths[digest] = object
        return digest
    }

    func objectPath(_ digest: String) throws -> URL {
        guard let url = paths[digest] else { throw StepError("no object \(digest)") }
        return url
    }

    func json<T: Encodable>(_ value: T) throws -> JSONValue { try JSONValue(encoding: value) }
    func read(_ tree: ArtifactTree, _ name: String) throws -> Data { try Data(contentsOf: objectPath(try XCTUnwrap(tree.files[name], name))) }

    func trainParams(lr: Double, seed: Int) throws -> JSONValue {
        .object([
            "model": try json(ModelSpec(baseChannels: 4, latentDim: 16)),
            "loss": try json(Spec.LossSpec()),
            "optimizer": try json(OptimizerSpec(kind: .adamw, lr: lr)),
            "schedule": try json(ScheduleSpec.constant),
            "training": try json(TrainingSpec(epochs: 2, batchSize: 2, accumulate: 1, earlyStopping: EarlyStoppingSpec(enabled: false))),
            "seed": .number(Double(seed)),
        ])
    }

    func testReportOfATinyExperiment() throws {
        let generated = try run(GenerateStep(), try json(SyntheticSource(count: 12, size: 32, seed: 5)))
        let cleaned = try run(CleanStep(), try json(CleanSpec()), inputs: ["data": generated])
        let split = try run(SplitStep(), try json(SplitSpec(ratios: SplitRatios(train: 0.5, val: 0.25, test: 0.25), stratifyBy: [], seed: 3)),
                            inputs: ["data": cleaned])
        var reportInputs: [String: ArtifactTree] = [:]
        let metrics = ["rmse", "ssim", "psnr"]
        for (variant, lr) in [("baseline", 3e-3), ("lr-low", 1e-4)] {
            for seed in [1, 2] {
                let trainRole = ReportParams.role(.train, variant: variant, seed: seed)
                let trained = try run(TrainStep(), try trainParams(lr: lr, seed: seed), name: trainRole, inputs: ["data": cleaned, "split": split])
                let evaluateRole = ReportParams.role(.evaluate, variant: variant, seed: seed)
                let evaluated = try run(EvaluateStep(), try json(EvaluateSpec(metrics: metrics)), name: evaluateRole,
                                        inputs: ["model": trained, "data": cleaned, "split": split])
                reportInputs[trainRole] = trained
                reportInputs[evaluateRole] = evaluated
            }
        }

        // The evaluate step's slices: the first three test phantoms, both channels, the central plane.
        let evaluated = try XCTUnwrap(reportInputs["evaluate[baseline, seed 1]"])
        let slices = try SafetensorsFile(bytes: [UInt8](read(evaluated, EvaluateStep.slicesName)))
        XCTAssertEqual(try slices.tensor("truth").shape, [3, 2, 32, 32])
        XCTAssertEqual(try slices.tensor("prediction").shape, [3, 2, 32, 32])
        XCTAssertEqual(slices.metadata["index"], "16")
        let metricsDoc = try JSONValue(jsonData: read(evaluated, EvaluateStep.metricsName))
        guard case .array(let perPhantom)? = metricsDoc[path: "per_phantom"] else { return XCTFail("no per_phantom") }
        let firstIDs = perPhantom.prefix(3).compactMap { item -> Int64? in if case .number(let d)? = item[path: "id"] { return Int64(d) }; return nil }
        XCTAssertEqual(try slices.tensor("ids").int64s(), firstIDs)
        let truth = try slices.floats("truth")
        XCTAssertTrue(truth.allSatisfy { $0.isFinite && $0 >= 0 }, "raw optical properties are non-negative")
        XCTAssertGreaterThan(Set(truth).count, 3, "a central slice crosses tissue and background")

        let params = ReportParams(variants: ["baseline", "lr-low"], seeds: [1, 2], metrics: metrics)
        let report = try run(ReportStep(), try json(params), name: "report", inputs: reportInputs)
        let html = String(decoding: try read(report, ReportStep.htmlName), as: UTF8.self)
        XCTAssertEqual(report.summary[path: "variants"], .number(2))
        XCTAssertEqual(report.summary[path: "primary"], .string("rmse"))
        let again = try run(ReportStep(), try json(params), name: "report", inputs: reportInputs)
        XCTAssertEqual(try read(again, ReportStep.htmlName), try read(report, ReportStep.htmlName),
                       "the stored page depends on its inputs only (no date, no host): the same bytes locally and under Slurm")
        XCTAssertFalse(html.contains("<dt>date</dt>") || html.contains("<dt>host</dt>"))

        // table rows, charts, comparisons, curves and slices are all there
        XCTAssertEqual(occurrences("class=\"variant-row\"", in: html), 2)
        XCTAssertEqual(occurrences("class=\"comparison-row\"", in: html), metrics.count)
        XCTAssertTrue(html.contains("<td>baseline <span class=\"tag\">baseline</span></td>"), "the baseline row is tagged")
        XCTAssertEqual(occurrences("<polyline", in: html) + occurrences("<circle cx", in: html) > 8, true)
        XCTAssertEqual(occurrences("class=\"curve-card\"", in: html), 2)
        XCTAssertEqual(occurrences("class=\"heatmap\"", in: html), 2 * 3 * 6, "2 variants × 3 phantoms × (truth, reconstruction, error) × 2 channels")
        XCTAssertEqual(occurrences("class=\"colourbar\"", in: html), 2 * 4)
        for word in ["Variants by rmse", "Paired comparison with baseline", "Learning curves", "Central slices", "μs′ error"] {
            XCTAssertTrue(html.contains(word), word)
        }
        XCTAssertTrue(["better", "worse", "no clear difference"].contains { html.contains(">\($0)</span>") })
        assertSelfContained(html)

        // report.json carries the numbers: the ranking's means are the mean over seeds of each evaluate's metric.
        let doc = try JSONValue(jsonData: read(report, ReportStep.jsonName))
        guard case .array(let ranking)? = doc[path: "ranking"] else { return XCTFail("no ranking") }
        XCTAssertEqual(ranking.count, 2)
        var perSeed: [String: [Double]] = [:]
        for (role, tree) in reportInputs where role.hasPrefix("evaluate[") {
            let m = try JSONValue(jsonData: read(tree, EvaluateStep.metricsName))
            guard case .object(let values)? = m[path: "metrics"], case .number(let rmse)? = values["rmse"] else { return XCTFail(role) }
            perSeed[String(role.dropFirst("evaluate[".count).prefix { $0 != "," }), default: []].append(rmse)
        }
        for entry in ranking {
            guard case .string(let name)? = entry[path: "variant"], case .object(let ms)? = entry[path: "metrics"],
                  case .number(let mean)? = ms["rmse"]?[path: "mean"] else { return XCTFail("\(entry)") }
            XCTAssertEqual(mean, perSeed[name]!.reduce(0, +) / 2, accuracy: 1e-12, name)
        }
        guard case .array(let comparisons)? = doc[path: "comparisons"] else { return XCTFail("no comparisons") }
        XCTAssertEqual(comparisons.count, metrics.count)
        XCTAssertEqual(comparisons.first?[path: "phantoms"], .number(3))

        // every inlined PNG decodes (checked by Python's zlib: CRCs, stream, image size)
        let uris = dataURIs(html)
        XCTAssertEqual(uris.count, 36)
        try assertPNGsDecode(Array(uris.prefix(4)), size: 32)
    }

    func testMissingEvaluateResultsAreAClearError() throws {
        let params = ReportParams(variants: ["baseline", "attention"], seeds: [1], metrics: ["rmse"])
        let out = base.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        XCTAssertThrowsError(try ReportStep.write(params: params, inputs: [:], objectPath: objectPath, header: ReportHeader(), to: out)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("no evaluate results for variant(s) baseline, attention"), text)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent(ReportStep.htmlName).path), "nothing half-written")
    }

    /// 8 variants × 3 seeds at 64³, 150 test phantoms, 50 epochs: the page stays under 2 MB.
    func testThePageOfALargeAblationStaysSmall() throws {
        let variants = ["baseline"] + (1...7).map { "ablation-\($0)" }
        var inputs: [String: ArtifactTree] = [:]
        for (v, variant) in variants.enumerated() {
            for seed in [1337, 28, 1994] {
                var per: [JSONValue] = []
                for id in 0..<150 {
                    let r = 0.09 + 0.002 * Double(v) + 0.01 * sin(Double(id + seed))
                    per.append(.object(["id": .number(Double(id)), "metrics": .object(["rmse": .number(r), "ssim": .number(0.8 - r), "psnr": .number(-20 * log10(r))])]))
                }
                let metricsURL = base.appendingPathComponent("m.json")
                try JSONValue.object(["metrics": .object(["rmse": .number(0.09 + 0.002 * Double(v))]), "phantoms": .number(150), "per_phantom": .array(per)])
                    .canonicalData.write(to: metricsURL)
                let history = JSONValue.array((1...50).map { e in
                    .object(["epoch": .number(Double(e)), "train_rmse": .number(0.3 / Double(e).squareRoot()), "val_rmse": .number(0.32 / Double(e).squareRoot()),
                             "lr": .number(1e-3 * pow(0.6, Double(e / 10)))])
                })
                let historyURL = base.appendingPathComponent("h.json")
                try history.canonicalData.write(to: historyURL)
                let size = 64, plane = size * size
                let truth = (0..<(3 * 2 * plane)).map { Float(0.01 + 0.001 * Double($0 % 97)) }
                let prediction = truth.enumerated().map { $1 + Float(0.002 * sin(Double($0))) }
                let slicesURL = base.appendingPathComponent("s.safetensors")
                try SafetensorsFile(tensors: ["ids": SafetensorsTensor(int64s: [0, 1, 2], shape: [3]),
                                              "truth": SafetensorsTensor(floats: truth, shape: [3, 2, size, size]),
                                              "prediction": SafetensorsTensor(floats: prediction, shape: [3, 2, size, size])],
                                    metadata: ["index": "32"]).write(to: slicesURL)
                inputs[ReportParams.role(.evaluate, variant: variant, seed: seed)] = ArtifactTree(files: [
                    EvaluateStep.metricsName: try store(metricsURL), EvaluateStep.slicesName: try store(slicesURL)])
                inputs[ReportParams.role(.train, variant: variant, seed: seed)] = ArtifactTree(files: [TrainStep.historyName: try store(historyURL)])
            }
        }
        let out = base.appendingPathComponent("big")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let written = try ReportStep.write(params: ReportParams(variants: variants, seeds: [1337, 28, 1994], metrics: ["rmse", "ssim", "psnr"]),
                                           inputs: inputs, objectPath: objectPath, header: ReportHeader(experiment: "big"), to: out)
        let html = try String(contentsOf: written.html, encoding: .utf8)
        XCTAssertLessThan(written.bytes, 2_000_000, "report.html is \(written.bytes) bytes")
        XCTAssertEqual(occurrences("class=\"variant-row\"", in: html), 8)
        XCTAssertEqual(occurrences("class=\"curve-card\"", in: html), 8)
        XCTAssertEqual(occurrences("<figure class=\"slices\">", in: html), 4, "slices of the baseline and the three best")
        XCTAssertTrue(html.contains("baseline, seed 28"), "the slices of the lowest seed")
        XCTAssertEqual(written.analysis.ranked.first?.name, "baseline")
        assertSelfContained(html)
        print("report of 8 variants × 3 seeds at 64³: \(written.bytes) bytes")
    }

    // MARK: helpers

    func occurrences(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func assertSelfContained(_ html: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "no external references", file: file, line: line)
        XCTAssertFalse(html.lowercased().contains("<script"), "no scripts", file: file, line: line)
        XCTAssertFalse(html.contains("src=\"/") || html.contains("href=\"/") || html.contains("url(http"), file: file, line: line)
    }

    func dataURIs(_ html: String) -> [String] {
        html.components(separatedBy: "href=\"data:image/png;base64,").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    func assertPNGsDecode(_ base64: [String], size: Int) throws {
        let script = """
        import base64, struct, sys, zlib
        for line in sys.stdin.read().split():
            png = base64.b64decode(line)
            assert png[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
            pos, chunks = 8, {}
            while pos < len(png):
                n, = struct.unpack('>I', png[pos:pos+4]); kind = png[pos+4:pos+8]; data = png[pos+8:pos+8+n]
                crc, = struct.unpack('>I', png[pos+8+n:pos+12+n])
                assert zlib.crc32(kind + data) & 0xffffffff == crc, kind
                chunks[kind] = chunks.get(kind, b'') + data; pos += 12 + n
            w, h, depth, colour = struct.unpack('>IIBB', chunks[b'IHDR'][:10])
            raw = zlib.decompress(chunks[b'IDAT'])
            assert len(raw) == (w + 1) * h and len(chunks[b'PLTE']) == 768, (len(raw), w, h)
            print(w, h, depth, colour, len(set(raw[1:])))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input; process.standardOutput = output; process.standardError = errors
        do { try process.run() } catch { throw XCTSkip("python3 is not available to decode the PNGs: \(error)") }
        input.fileHandleForWriting.write(Data(base64.joined(separator: "\n").utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, problems)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, base64.count)
        for line in lines { XCTAssertTrue(line.hasPrefix("\(size) \(size) 8 3"), String(line)) }
    }
}
