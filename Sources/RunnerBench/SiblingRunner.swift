import Foundation

/// The `runner` binary built next to this one (`.build/<config>/runner`), which the end-to-end
/// groups run as a user would; nil, after saying how to build it, when it is missing.
func siblingRunner(group: String) -> URL? {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("runner")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        print("\(group): \(binary.path) is not built; `swift build -c release --product runner` first")
        return nil
    }
    return binary
}
