import Foundation
import NN
import Phantoms
import Store
import Tensor

/// The phantoms of one split part, loaded once: ground truth (2×S³, raw mm⁻¹) by id.
/// Stage 1 is an autoencoder: each volume is both the input and the target.
struct VolumeSet {
    let ids: [Int]
    let size: Int
    let volumes: [[Float]]

    var count: Int { ids.count }
    var voxelsPerSample: Int { 2 * size * size * size }

    /// The ids of `part` in the split artifact (`split.json` → `parts`).
    static func splitIDs(_ context: StepContext, part: String, step: StepKind) throws -> (ids: [Int], digest: String) {
        let tree = try DataParams.input(context, role: "split", step: step)
        guard let digest = tree.files[SplitStep.fileName] else {
            throw StepError("\(step.rawValue): the split input has no \(SplitStep.fileName) (is it the split step's output?)")
        }
        let document: JSONValue
        do { document = try JSONValue(jsonData: Data(contentsOf: context.objectPath(digest))) } catch {
            throw StepError("\(step.rawValue): cannot read \(SplitStep.fileName): \(error)")
        }
        guard case .array(let items)? = document[path: "parts"]?[path: part] else {
            throw StepError("\(step.rawValue): \(SplitStep.fileName) has no part '\(part)'")
        }
        let ids = try items.map { item -> Int in
            guard case .number(let d) = item, let id = Int(exactly: d) else { throw StepError("\(step.rawValue): bad id \(item) in part '\(part)'") }
            return id
        }
        return (ids, digest)
    }

    /// Reads the phantoms `ids` from the `data` input (the clean step's accepted files).
    static func load(_ context: StepContext, ids: [Int], part: String, step: StepKind) throws -> VolumeSet {
        let tree = try DataParams.input(context, role: "data", step: step)
        var byID: [Int: String] = [:]
        for file in DataParams.phantomFiles(tree).phantoms { byID[file.id] = file.digest }
        var volumes: [[Float]] = []
        var size: Int?
        for id in ids {
            guard let digest = byID[id] else { throw StepError("\(step.rawValue): phantom \(id) of part '\(part)' is not in the data input") }
            let phantom: Phantom
            do { phantom = try PhantomIO.read(context.objectPath(digest), id: id, threads: 1) } catch {
                throw StepError("\(step.rawValue): cannot read phantom \(id): \(error)")
            }
            guard phantom.size.count == 3, phantom.size.allSatisfy({ $0 == phantom.size[0] }) else {
                throw StepError("\(step.rawValue): phantom \(id) is \(phantom.size), the model needs cubic volumes")
            }
            if let s = size, s != phantom.size[0] {
                throw StepError("\(step.rawValue): phantom \(id) is \(phantom.size[0])³ but others are \(s)³")
            }
            size = phantom.size[0]
            volumes.append(phantom.groundTruth)
        }
        guard let size else { throw StepError("\(step.rawValue): part '\(part)' of the split is empty") }
        return VolumeSet(ids: ids, size: size, volumes: volumes)
    }

    /// A batch tensor [n, 2, S, S, S] of the samples `indices`, each transformed by `transform`.
    func batch(_ indices: ArraySlice<Int>, transform: (Int, [Float]) -> [Float] = { $1 }) throws -> Tensor {
        var storage: [Float] = []
        storage.reserveCapacity(indices.count * voxelsPerSample)
        for i in indices { storage.append(contentsOf: transform(i, volumes[i])) }
        return try Tensor(shape: [indices.count, 2, size, size, size], storage: storage)
    }
}

/// Flips and rot90 of a 2×S³ volume (train part only), drawn from a counter-based key so an epoch's
/// augmentation depends on nothing but (seed, epoch, sample) — a resumed run draws the same.
struct Augmenter {
    let flip: Bool
    let rot90: Bool
    let size: Int

    var isIdentity: Bool { !flip && !rot90 }

    func apply(_ volume: [Float], key: RandomKey) -> [Float] {
        if isIdentity { return volume }
        let (a, b, _, _) = key.bits(0)
        // flips: one bit per spatial axis; rot90: k ∈ 0…3 quarter turns in one of three planes
        let flips = flip ? [a & 1 != 0, a & 2 != 0, a & 4 != 0] : [false, false, false]
        let turns = rot90 ? Int(b % 4) : 0
        let plane = rot90 ? Int((b >> 2) % 3) : 0
        if !flips.contains(true) && turns == 0 { return volume }
        let s = size, n = s * s * s
        var out = [Float](repeating: 0, count: volume.count)
        let (p, q) = [(0, 1), (0, 2), (1, 2)][plane]
        for c in 0..<2 {
            let base = c * n
            for z in 0..<s { for y in 0..<s { for x in 0..<s {
                // destination coordinate → source coordinate: undo the rotation, then the flips
                var src = [z, y, x]
                for _ in 0..<turns {   // inverse quarter turn in plane (p, q): (i, j) ← (j, s−1−i)
                    let i = src[p], j = src[q]
                    src[p] = s - 1 - j; src[q] = i
                }
                for axis in 0..<3 where flips[axis] { src[axis] = s - 1 - src[axis] }
                out[base + (z * s + y) * s + x] = volume[base + (src[0] * s + src[1]) * s + src[2]]
            } } }
        }
        return out
    }
}

/// A seeded permutation of 0..<n (Fisher–Yates on a counter-based key): the data order of an epoch.
func shuffledIndices(_ n: Int, key: RandomKey) -> [Int] {
    var order = Array(0..<n)
    guard n > 1 else { return order }
    for i in stride(from: n - 1, to: 0, by: -1) {
        let (lo, hi, _, _) = key.bits(UInt64(i))
        let r = (UInt64(hi) << 32) | UInt64(lo)
        let j = Int(r % UInt64(i + 1))
        order.swapAt(i, j)
    }
    return order
}
