import Foundation
import Observation
import XCTest

import KvitsKit
import SharedTypes

/// The sync server and fixtures `cargo xtask swift test` provides.
enum Env {
    static func serverURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["KVITS_SERVER_URL"] else {
            throw XCTSkip("KVITS_SERVER_URL is not set (run `cargo xtask swift test`)")
        }
        return url
    }

    /// A receipt photo from the fixtures, copied into `dir` as a camera would have saved it.
    static func photo(into dir: URL) throws -> URL {
        guard let fixtures = ProcessInfo.processInfo.environment["KVITS_FIXTURES"] else {
            throw XCTSkip("KVITS_FIXTURES is not set (run `cargo xtask swift test`)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: fixtures)
            .filter { $0.hasSuffix(".jpg") }
            .sorted()
        let name = try XCTUnwrap(names.first, "no .jpg in \(fixtures)")
        let to = dir.appendingPathComponent("camera-\(UUID().uuidString).jpg")
        try FileManager.default.copyItem(
            at: URL(fileURLWithPath: fixtures).appendingPathComponent(name), to: to)
        return to
    }

    /// A fresh directory, like an app's own storage on a new install.
    static func tempDir(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("kvits-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

struct Timeout: Error, CustomStringConvertible {
    let description: String
}

/// Resumes a continuation once, whichever of "changed" and "deadline" comes first.
private final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    init(_ c: CheckedContinuation<Void, Never>) { continuation = c }
    func resume() {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume()
    }
}

extension Core {
    /// Waits until `condition` holds for the published view model: re-checked each time
    /// Observation reports a change to `view`, failing at the deadline with `what` and the
    /// last view.
    @discardableResult
    func waitFor(
        _ what: String,
        timeout: Swift.Duration = .seconds(60),
        _ condition: (ViewModel) -> Bool
    ) async throws -> ViewModel {
        let deadline = ContinuousClock.now + timeout
        while true {
            if condition(view) { return view }
            if ContinuousClock.now >= deadline {
                throw Timeout(description: "timed out waiting for \(what); the view: \(view)")
            }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let once = Once(c)
                withObservationTracking {
                    _ = self.view
                } onChange: {
                    once.resume()
                }
                Task {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    once.resume()
                }
            }
        }
    }

    /// Waits for the app to start, signs in as a demo user and waits for the first sync.
    func signIn(_ who: String) async throws {
        try await waitFor("the app to start") { v in
            if case .loading = v.screen { return false }
            return true
        }
        send(.session(.signIn(email: "\(who)@demo.kvits", password: "demo")))
        try await waitFor("\(who) signed in and synced") { v in
            v.user != nil && v.status.lastSynced != nil
        }
    }
}

extension ViewModel {
    var receipts: ReceiptsView? {
        if case .receipts(let r) = screen { return r }
        return nil
    }
    var form: ReceiptView? {
        if case .receipt(let r) = screen { return r }
        return nil
    }
    var approvals: ApprovalsView? {
        if case .approvals(let a) = screen { return a }
        return nil
    }
}
