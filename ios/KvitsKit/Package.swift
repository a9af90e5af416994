// swift-tools-version: 5.9
// Kvits' Swift glue: the Rust core + native runtime (`libkvits_native`, UniFFI), the core's
// types (facet typegen, bincode), and a small hand-written `Core` for SwiftUI.
//
// The generated sources are not in git: `cargo xtask swift sources` writes them (see
// ../README.md). Swift 5 language mode: UniFFI's generated glue is not written for Swift 6's
// strict concurrency checks.

import Foundation
import PackageDescription

// On Apple platforms the Rust library comes as an XCFramework built beside this file
// (../README.md); on Linux it is `libkvits_native.so`, found with `-Xlinker -L<dir>`.
let xcframework = "KvitsNativeFFI.xcframework"
let packageDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
let haveXCFramework = FileManager.default.fileExists(atPath: "\(packageDir)/\(xcframework)")

var nativeDependencies: [Target.Dependency] = ["KvitsCoreFFI"]
var extraTargets: [Target] = []
if haveXCFramework {
    extraTargets.append(.binaryTarget(name: "KvitsNativeFFI", path: xcframework))
    nativeDependencies.append("KvitsNativeFFI")
}

let package = Package(
    name: "KvitsKit",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "KvitsKit", targets: ["KvitsKit"]),
    ],
    targets: [
        // The C declarations of the Rust library's FFI (generated header + modulemap).
        .target(name: "KvitsCoreFFI", path: "Sources/KvitsCoreFFI"),
        // UniFFI's Swift: `KvitsCore`, `CoreConfig`, `ShellDelegate`, `KvitsError`.
        .target(
            name: "KvitsNative",
            dependencies: nativeDependencies,
            path: "Sources/KvitsNative",
            linkerSettings: haveXCFramework ? [] : [.linkedLibrary("kvits_native")]
        ),
        // The bincode runtime the core's types use.
        .target(name: "Serde", path: "Sources/Serde"),
        // The core's `Event`, `ViewModel` and effect types.
        .target(name: "SharedTypes", dependencies: ["Serde"], path: "Sources/SharedTypes"),
        // Supplies a symbol Debian's Swift 6.0.3 Observation library lacks (see fix.c).
        .target(name: "LinuxObservationFix", path: "Sources/LinuxObservationFix"),
        // What the app uses: `Core`, the claimed-upload performer.
        .target(
            name: "KvitsKit",
            dependencies: [
                "KvitsNative", "SharedTypes", "Serde",
                .target(name: "LinuxObservationFix", condition: .when(platforms: [.linux])),
            ],
            path: "Sources/KvitsKit"
        ),
        .testTarget(
            name: "KvitsKitTests",
            dependencies: ["KvitsKit", "KvitsNative", "SharedTypes"],
            path: "Tests/KvitsKitTests"
        ),
    ] + extraTargets
)
