import Foundation

/// Colour maps of the report: a perceptually ordered sequential map (viridis) for optical
/// properties and a diverging blue–white–red map for signed errors (white at zero).
struct Colormap {
    /// Anchor colours at evenly spaced positions in [0, 1]; colours between are linear blends.
    let anchors: [(Double, Double, Double)]

    static let viridis = Colormap(anchors: [(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
                                            (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)])
    static let diverging = Colormap(anchors: [(33, 102, 172), (103, 169, 207), (247, 247, 247), (239, 138, 98), (178, 24, 43)])

    func rgb(_ t: Double) -> (UInt8, UInt8, UInt8) {
        let x = min(1, max(0, t.isFinite ? t : 0)) * Double(anchors.count - 1)
        let i = min(Int(x), anchors.count - 2), f = x - Double(i)
        let a = anchors[i], b = anchors[i + 1]
        func mix(_ p: Double, _ q: Double) -> UInt8 { UInt8((p + (q - p) * f).rounded()) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// 256 entries, for palette PNGs.
    var palette: [(UInt8, UInt8, UInt8)] { (0..<256).map { rgb(Double($0) / 255) } }

    func hex(_ t: Double) -> String {
        let c = rgb(t)
        return String(format: "#%02x%02x%02x", c.0, c.1, c.2)
    }
}
