import Foundation
import XCTest

/// `runner report` and the report step through the real binary: a tiny two-variant, two-seed
/// experiment applied end to end, its page checked as text and rendered by headless Chromium.
final class ReportCommandTests: XCTestCase {
    private var ws: Workspace!
    override func setUpWithError() throws { ws = try Workspace("report") }
    override func tearDown() { ws.remove() }

    static func experiment(seeds: String = "[1, 2]") -> String {
        """
        name: tinyreport
        description: Report end to end, baseline vs a lower learning rate.
        data:
          source: {synthetic: {count: 24, size: 32, seed: 7}}
          split: {ratios: {train: 0.5, val: 0.25, test: 0.25}, stratify_by: [tumour_count], seed: 28}
        model: {base_channels: 4, latent_dim: 16}
        optimizer: {kind: adamw, lr: 3.0e-3}
        training: {epochs: 2, batch_size: 4}
        ablate:
          lr-low: {optimizer.lr: 1.0e-4}
        seeds: \(seeds)
        """
    }

    func testWithoutResultsReportNamesTheMissingStepsAndExits1() throws {
        try ws.write("exp.yaml", Self.experiment(seeds: "[1]"))
        let noStore = try ws.run(["report", "exp.yaml"])
        XCTAssertEqual(noStore.status, 1)
        XCTAssertTrue(noStore.stderr.contains("no store at"), noStore.stderr)

        try FileManager.default.createDirectory(at: ws.store, withIntermediateDirectories: true)
        let r = try ws.run(["report", "exp.yaml"])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        for step in ["train[baseline, seed 1]", "evaluate[baseline, seed 1]", "train[lr-low, seed 1]", "evaluate[lr-low, seed 1]"] {
            XCTAssertTrue(r.stderr.contains(step), "names \(step): \(r.stderr)")
        }
        XCTAssertTrue(r.stderr.contains("4 step(s)") && r.stderr.contains("runner apply"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: ws.dir.appendingPathComponent("report.html").path))
        XCTAssertEqual(try ws.run(["report"]).status, 2, "no files is a usage error")
    }

    func testApplyRunsTheReportAndReportRewritesItFromTheStore() throws {
        try ws.write("exp.yaml", Self.experiment())
        let applied = try ws.run(["apply", "exp.yaml"])
        XCTAssertEqual(applied.status, 0, applied.stdout + applied.stderr)
        XCTAssertEqual(try ws.records()["report"], ["succeeded"])
        XCTAssertTrue(applied.stdout.contains("report: best "), applied.stdout)

        // The report step's own page is in the store.
        let stored = try XCTUnwrap(ws.storeFiles().first { path in
            path.hasPrefix("objects/") && ((try? String(contentsOf: ws.store.appendingPathComponent(path), encoding: .utf8))?.hasPrefix("<!DOCTYPE html>") ?? false)
        }, "report.html is an object of the store")
        XCTAssertTrue(try String(contentsOf: ws.store.appendingPathComponent(stored), encoding: .utf8).contains("class=\"variant-row\""))

        let started = Date()
        let r = try ws.run(["report", "exp.yaml", "-o", "out/report.html"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30, "report trains nothing")
        let html = try String(contentsOf: ws.dir.appendingPathComponent("out/report.html"), encoding: .utf8)
        XCTAssertTrue(r.stdout.hasPrefix("report: \(ws.dir.appendingPathComponent("out/report.html").standardizedFileURL.path)"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: ws.dir.appendingPathComponent("out/report.json").path))
        XCTAssertTrue(html.contains("<title>tinyreport — Stage 1 report</title>"))
        XCTAssertTrue(html.contains("Report end to end, baseline vs a lower learning rate."))
        XCTAssertTrue(html.contains("<dt>date</dt>") && html.contains("<dt>host</dt>"), "runner report adds date and host")
        XCTAssertEqual(count("class=\"variant-row\"", html), 2)
        XCTAssertTrue(html.contains("<td>baseline <span class=\"tag\">baseline</span></td>") && html.contains("<td>lr-low</td>"))
        XCTAssertGreaterThanOrEqual(count("class=\"comparison-row\"", html), 1)
        XCTAssertEqual(count("class=\"curve-card\"", html), 2)
        XCTAssertEqual(count("class=\"heatmap\"", html), 2 * 3 * 6)
        XCTAssertGreaterThan(count("<svg", html), 10)
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "no external references")
        XCTAssertFalse(html.lowercased().contains("<script"), "no scripts")

        // Writing again replaces the page.
        let rewritten = try ws.run(["report", "exp.yaml", "-o", "out/report.html"])
        XCTAssertEqual(rewritten.status, 0, rewritten.stderr)
        XCTAssertTrue(try String(contentsOf: ws.dir.appendingPathComponent("out/report.html"), encoding: .utf8).contains("class=\"variant-row\""))

        let path = try ws.run(["report", "exp.yaml", "--open-path"])
        XCTAssertEqual(path.status, 0, path.stderr)
        XCTAssertEqual(path.stdout, ws.dir.appendingPathComponent("report.html").standardizedFileURL.path + "\n")

        try assertRendersInChromium(ws.dir.appendingPathComponent("out/report.html"))
    }

    private func count(_ needle: String, _ text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    /// Headless Chromium screenshot of the page; the PNG must show a page, not a blank: many
    /// colours, much non-background, viridis heat maps and the charts' blue.
    private func assertRendersInChromium(_ page: URL) throws {
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        guard let chromium = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("chromium is not installed (apt-get install -y chromium): the headless rendering check of report.html is skipped")
        }
        let shot = ws.dir.appendingPathComponent("shot.png")
        let profile = ws.dir.appendingPathComponent("chromium-profile")
        let rendered = try run("/usr/bin/timeout", ["120", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                                   "--user-data-dir=\(profile.path)", "--screenshot=\(shot.path)", "--window-size=1280,3000",
                                                   page.absoluteString])
        XCTAssertEqual(rendered.status, 0, rendered.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: shot.path), "no screenshot: \(rendered.output)")
        let script = """
        import sys
        try:
            from PIL import Image
        except ImportError:
            print("skip: python3 has no PIL"); sys.exit(0)
        im = Image.open(sys.argv[1]).convert("RGB")
        px = list(im.getdata())
        background = max(set(px[::97]), key=px[::97].count)
        near = lambda c, t, d=18: all(abs(a - b) <= d for a, b in zip(c, t))
        other = sum(1 for c in px if not near(c, background, 6)) / len(px)
        viridis = sum(1 for c in px if near(c, (68, 1, 84), 30) or near(c, (33, 144, 141), 30) or near(c, (253, 231, 37), 40))
        blue = sum(1 for c in px if near(c, (78, 121, 167), 25))
        print(im.size[0], im.size[1], len(set(px)), round(other, 4), viridis, blue)
        """
        let decoded = try run("/usr/bin/env", ["python3", "-W", "ignore", "-c", script, shot.path])
        XCTAssertEqual(decoded.status, 0, decoded.output)
        if decoded.output.hasPrefix("skip:") { throw XCTSkip("cannot decode the screenshot: \(decoded.output)") }
        let numbers = decoded.output.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
        guard numbers.count == 6 else { return XCTFail("unexpected decoder output: \(decoded.output)") }
        XCTAssertEqual(numbers[0], 1280)
        XCTAssertGreaterThan(numbers[2], 500, "distinct colours: a blank page has a handful")
        XCTAssertGreaterThan(numbers[3], 0.08, "share of non-background pixels")
        XCTAssertGreaterThan(numbers[4], 2000, "heat-map (viridis) pixels")
        XCTAssertGreaterThan(numbers[5], 200, "chart pixels in the first palette colour")
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
