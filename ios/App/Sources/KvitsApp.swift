import KvitsKit
import Network
import SwiftUI

@main
struct KvitsApp: App {
    @State private var core: Core? = KvitsApp.makeCore()
    @Environment(\.scenePhase) private var scenePhase
    private let network = NetworkMonitor()

    var body: some Scene {
        WindowGroup {
            if let core {
                RootView()
                    .environment(core)
                    .onAppear { network.start { online in core.networkChanged(online: online) } }
                    .onChange(of: scenePhase) { _, phase in core.sceneActive(phase == .active) }
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
            deviceName: UIDevice.current.name)
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
