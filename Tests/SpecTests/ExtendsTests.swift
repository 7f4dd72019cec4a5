import Foundation
import XCTest
import Spec

final class ExtendsTests: XCTestCase {
    func testDeepMergeChildWins() throws {
        let dir = try ScratchDirectory()
        try dir.write("base.yaml", """
            name: base
            description: the base
            model: {base_channels: 32, residual_blocks: 2, dropout: {kind: spatial, rate: 0.2}}
            optimizer: {lr: 1.0e-3, weight_decay: 1.0e-4}
            seeds: [1, 2, 3]
            """)
        let child = try dir.write("child.yaml", """
            extends: base.yaml
            name: child
            model: {residual_blocks: 3, dropout: {rate: 0.1}}
            seeds: [9]
            """)
        let loaded = try ExperimentLoader.load(path: child)
        let e = loaded.experiment
        XCTAssertEqual(e.name, "child")
        XCTAssertEqual(e.description, "the base")
        XCTAssertEqual(e.model.baseChannels, 32)
        XCTAssertEqual(e.model.residualBlocks, 3)
        XCTAssertEqual(e.model.dropout, DropoutSpec(kind: .spatial, rate: 0.1))
        XCTAssertEqual(e.optimizer.lr, 1e-3)
        XCTAssertEqual(e.seeds, [9], "lists are replaced, not concatenated")
        XCTAssertEqual(loaded.sources.map { ($0.path as NSString).lastPathComponent }, ["child.yaml", "base.yaml"])
        XCTAssertEqual(String(decoding: loaded.sources[1].contents, as: UTF8.self),
                       try String(contentsOfFile: dir.url.appendingPathComponent("base.yaml").path, encoding: .utf8))
    }

    func testChangingKindOrSourceReplacesTheInheritedMapping() throws {
        let dir = try ScratchDirectory()
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent("sub/phantoms"),
                                                withIntermediateDirectories: true)
        try dir.write("base.yaml", """
            name: base
            data: {source: {synthetic: {count: 100, size: 32}}}
            schedule: {kind: plateau, patience: 9, factor: 0.5}
            optimizer: {weight_decay: {from: 1.0e-3, to: 0.0}}
            """)
        let child = try dir.write("sub/child.yaml", """
            extends: ../base.yaml
            data: {source: {hdf5: {dir: phantoms}}}
            schedule: {kind: cosine}
            optimizer: {weight_decay: 0.01}
            """)
        let e = try ExperimentLoader.load(path: child).experiment
        XCTAssertEqual(e.data.source, .hdf5(HDF5Source(dir: dir.url.appendingPathComponent("sub/phantoms").path)),
                       "the directory is relative to the file that names it")
        XCTAssertEqual(e.schedule, .cosine(CosineSchedule()))
        XCTAssertEqual(e.optimizer.weightDecay, .constant(0.01))
    }

    func testChainOfThreeAndRelativePaths() throws {
        let dir = try ScratchDirectory()
        try FileManager.default.createDirectory(at: dir.url.appendingPathComponent("data"), withIntermediateDirectories: true)
        try dir.write("a/root.yaml", "name: root\ndata: {source: {hdf5: {dir: ../data}}}\ntraining: {epochs: 7}\n")
        try dir.write("a/b/mid.yaml", "extends: ../root.yaml\ntraining: {batch_size: 8}\n")
        let leaf = try dir.write("c/leaf.yaml", "extends: ../a/b/mid.yaml\nname: leaf\ntraining: {accumulate: 4}\n")
        let loaded = try ExperimentLoader.load(path: leaf)
        XCTAssertEqual(loaded.sources.count, 3)
        XCTAssertEqual(loaded.sources.map(\.path), [leaf, dir.url.appendingPathComponent("a/b/mid.yaml").path,
                                                    dir.url.appendingPathComponent("a/root.yaml").path])
        let t = loaded.experiment.training
        XCTAssertEqual([t.epochs, t.batchSize, t.accumulate], [7, 8, 4])
        XCTAssertEqual(loaded.experiment.data.source, .hdf5(HDF5Source(dir: dir.url.appendingPathComponent("data").path)))
    }

    func testErrorsInABaseFilePointIntoThatFile() throws {
        let dir = try ScratchDirectory()
        let base = try dir.write("base.yaml", "name: base\nmodel:\n  residual_blocks: 9\n")
        let child = try dir.write("child.yaml", "extends: base.yaml\nname: child\n")
        XCTAssertThrowsError(try ExperimentLoader.load(path: child)) { error in
            let d = (error as? SpecError)?.diagnostics ?? []
            XCTAssertEqual(d.map(\.location), [SourceLocation(file: base, line: 3, column: 20)])
            XCTAssertTrue((error as? SpecError)?.description.contains("   |                    ^") == true,
                          "\(error)")
        }
    }

    func testCycleOfThreeShowsTheChain() throws {
        let dir = try ScratchDirectory()
        let a = try dir.write("a.yaml", "name: a\nextends: b.yaml\n")
        let b = try dir.write("b.yaml", "extends: c.yaml\n")
        let c = try dir.write("c.yaml", "extends: b.yaml\n")
        XCTAssertThrowsError(try ExperimentLoader.load(path: a)) { error in
            let d = (error as? SpecError)?.diagnostics ?? []
            XCTAssertEqual(d.map(\.message), ["extends cycle: \(b) → \(c) → \(b)"])
            XCTAssertEqual(d.first?.location, SourceLocation(file: c, line: 1, column: 10))
        }
    }

    func testMissingNamedFile() throws {
        XCTAssertThrowsError(try ExperimentLoader.load(path: "/nonexistent/experiment.yaml")) { error in
            let d = (error as? SpecError)?.diagnostics ?? []
            XCTAssertEqual(d.map(\.message), ["cannot read '/nonexistent/experiment.yaml': no such file"])
            XCTAssertNil(d.first?.location)
        }
    }

    func testExtendsMustBeAPath() throws {
        let dir = try ScratchDirectory()
        let d = try diagnostics("name: x\nextends: [a.yaml, b.yaml]\n", in: dir)
        XCTAssertEqual(d.map(\.message), ["extends must be a path to a YAML file (got a list)"])
    }
}
