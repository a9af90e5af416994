import KvitsKit
import Network
import SwiftUI

@main
struct KvitsApp: App {
    @State private var core: Core? = KvitsApp.makeCore()
    @Environment(\.scenePhase) private var scenePhase
    private let network = NetworkMonitor()
    private let finishing = BackgroundFinisher()

    var body: some Scene {
        WindowGroup {
            if let core {
                RootView()
                    .environment(core)
                    .onAppear { network.start { online in core.networkChanged(online: online) } }
                    .onChange(of: scenePhase) { _, phase in
                        core.sceneActive(phase == .active)
                        if phase == .background {
                            finishing.begin(while: { core.view.status.pending > 0 })
                        }
                    }
            } else {
                ContentUnavailableView(
                    "Kvits cannot start", systemImage: "exclamationmark.triangle",
                    description: Text("The app's data could not be opened."))
            }
        }
    }

    @MainActor
    private static func makeCore() -> Core? {
        let support = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        let server = Bundle.main.object(forInfoDictionaryKey: "KvitsServerURL") as? String
            ?? "https://demo.kvits.app"
        return try? Core(
            dataDirectory: support.appendingPathComponent("kvits"),
            serverURL: server,
            deviceName: UIDevice.current.name,
            secrets: KeychainSecrets())
    }
}

/// `NWPathMonitor` → `NetworkChanged` (on the main actor; `Core` drops repeats).
final class NetworkMonitor: @unchecked Sendable {
    private let monitor = NWPathMonitor()

    func start(_ changed: @escaping @MainActor (Bool) -> Void) {
        monitor.pathUpdateHandler = { path in
            let online = path.status == .satisfied
            Task { @MainActor in changed(online) }
        }
        monitor.start(queue: DispatchQueue(label: "kvits.network"))
    }
}

/// When the app goes to the background with receipts still to send, asks iOS for the extra
/// time it grants (about 30 seconds) so the Rust runtime can finish the upload it is doing; the
/// time is given back as soon as nothing is pending, or when iOS says it is up. Whatever is left
/// is resumed from the server's offset at the next launch or foreground.
@MainActor
final class BackgroundFinisher {
    private var task: UIBackgroundTaskIdentifier = .invalid
    private var timer: Timer?

    func begin(while pending: @escaping @MainActor () -> Bool) {
        guard task == .invalid, pending() else { return }
        task = UIApplication.shared.beginBackgroundTask(withName: "Sending receipts") { [weak self] in
            Task { @MainActor in self?.end() }
        }
        timer = Timer.scheduledTimer(withTimeInterval: 1, repeats: true) { [weak self] _ in
            Task { @MainActor in
                if !pending() { self?.end() }
            }
        }
    }

    private func end() {
        timer?.invalidate()
        timer = nil
        if task != .invalid {
            UIApplication.shared.endBackgroundTask(task)
            task = .invalid
        }
    }
}
