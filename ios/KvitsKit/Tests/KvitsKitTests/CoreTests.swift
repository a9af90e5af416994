import Foundation
import XCTest

import KvitsKit
import KvitsNative
import SharedTypes

/// The package against the real Rust library and a real sync server with the demo firm.
@MainActor
final class CoreTests: XCTestCase {
    /// Emma captures a receipt, files it on the company Visa card and submits it; it reaches the
    /// server. Mark, on his own phone, approves it; Emma's phone shows it approved.
    func testReceiptIsSubmittedAndApproved() async throws {
        let server = try Env.serverURL()
        let emmaDir = try Env.tempDir("emma")
        let keychain = MemorySecrets()
        let emma = try Core(
            dataDirectory: emmaDir, serverURL: server,
            deviceName: "Emma's iPhone", secrets: keychain)
        try await emma.signIn("emma")

        // The session's token is in the Keychain, and in no file of the database.
        let token = try XCTUnwrap(keychain.read(name: "kvits.session.token"), "the Keychain holds the token")
        let files = try FileManager.default.contentsOfDirectory(atPath: emmaDir.path)
            .filter { $0.hasPrefix("kvits.sqlite") }
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let bytes = try Data(contentsOf: emmaDir.appendingPathComponent(file))
            XCTAssertNil(bytes.range(of: Data(token.utf8)), "\(file) holds the token")
        }

        emma.send(.navigate(.receipts))
        emma.send(.receipts(.photoCaptured(fileRef: try Env.photo(into: try Env.tempDir("camera")).path)))
        let form = try await emma.waitFor("the photo on the form") { v in
            v.form.map { $0.pages.count == 1 } ?? false
        }.form!
        let type = try XCTUnwrap(form.expenseTypes.first, "an expense type")
        let card = try XCTUnwrap(
            form.paymentMethods.first { $0.label.contains("Visa Business") },
            "Emma's Visa Business card among \(form.paymentMethods.map(\.label))")
        emma.send(.receipts(.editForm(.expenseType(type.id))))
        emma.send(.receipts(.editForm(.paymentMethod(card.id))))
        emma.send(.receipts(.editForm(.amount("12.50"))))
        emma.send(.receipts(.submit))
        XCTAssertNil(emma.lastError)

        let sent = try await emma.waitFor("the receipt sent to the server") { v in
            guard let r = v.receipts, r.receipts.count == 1 else { return false }
            return r.receipts[0].status == .sent && v.status.pending == 0 && !v.saving
        }
        let expenseId = sent.receipts!.receipts[0].id

        let mark = try Core(
            dataDirectory: try Env.tempDir("mark"), serverURL: server,
            deviceName: "Mark's iPhone", secrets: MemorySecrets())
        try await mark.signIn("mark")
        mark.send(.navigate(.approvals))
        let approvals = try await mark.waitFor("Emma's receipt among Mark's tasks") { v in
            v.approvals?.pending.contains { $0.id == expenseId } ?? false
        }
        let task = approvals.approvals!.pending.first { $0.id == expenseId }!
        XCTAssertEqual(task.submitter, "Emma Employee")
        mark.send(.approvals(.approve(expenseId: expenseId)))
        try await mark.waitFor("the approval sent") { v in
            v.status.pending == 0 && !v.saving
                && !(v.approvals?.pending.contains { $0.id == expenseId } ?? true)
        }

        try await emma.waitFor("the approval on Emma's phone") { v in
            v.receipts?.receipts.first { $0.id == expenseId }?.status == .approved
        }
        XCTAssertNil(emma.lastError)
        XCTAssertNil(mark.lastError)
    }

    /// Bytes that are no event, and an answer to an effect nobody asked for, are typed errors;
    /// the core goes on working.
    func testGarbageIsATypedErrorAndTheCoreStaysUsable() async throws {
        let core = try Core(
            dataDirectory: try Env.tempDir("garbage"), serverURL: "http://127.0.0.1:9",
            deviceName: "Test", secrets: MemorySecrets())
        try await core.waitFor("the app to start") { v in
            if case .signIn = v.screen { return true }
            return false
        }

        XCTAssertThrowsError(try core.sendRaw([0xFF, 0xFF, 0xFF, 0xFF, 0x01])) { error in
            guard case KvitsError.InvalidInput = error else {
                return XCTFail("expected InvalidInput, got \(error)")
            }
        }
        // `Start` is the runtime's own event; a shell sending it is refused.
        XCTAssertThrowsError(
            try core.sendChecked(
                .start(serverUrl: "x", entropy: [1], deviceName: "x", utcOffsetMinutes: 0))
        ) { error in
            guard case KvitsError.InvalidInput = error else {
                return XCTFail("expected InvalidInput, got \(error)")
            }
        }

        core.send(.session(.signIn(email: "nobody@demo.kvits", password: "wrong")))
        XCTAssertNil(core.lastError)
        try await core.waitFor("the sign-in attempt in the view") { v in
            if case .signIn(let s) = v.screen { return s.email == "nobody@demo.kvits" }
            return false
        }
    }
}

/// The platform's secret store, as a dictionary: the Keychain does not exist on Linux.
final class MemorySecrets: SecretStore, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [String: String] = [:]

    func read(name: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        return kept[name]
    }

    func write(name: String, value: String?) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        kept[name] = value
        return true
    }
}
