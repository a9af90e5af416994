import Foundation
import KvitsNative
import SharedTypes

// Why Observation and not Combine: `@Observable` (the Observation module, Swift 5.9) ships with
// the Swift toolchain on every platform, Linux included, so the very class the app renders is
// the one `swift test` checks here; Combine's `ObservableObject`/`@Published` exist only on
// Apple platforms. SwiftUI tracks `@Observable` properties read in `body` (iOS 17+).
import Observation

/// Performs effects of one kind the shell claimed from the Rust runtime (e.g. uploads on an
/// iOS background `URLSession`). Called on a runtime thread; answer with `resolve`, from any
/// thread, with the bincode of the effect's output — once, or for a stream (uploads) once per
/// update until the last.
public protocol EffectPerformer: AnyObject, Sendable {
    var kind: EffectKind { get }
    func perform(id: UInt32, operation: [UInt8], resolve: @escaping @Sendable ([UInt8]) -> Void)
}

/// The app's one object: owns the Rust core with its native runtime, publishes the view model on
/// the main actor, and takes the platform's events in.
@MainActor
@Observable
public final class Core {
    /// What to render. Replaced whenever the core says its view changed.
    public private(set) var view: ViewModel
    /// The last error the core gave back for something the shell sent (a bug in the shell, not
    /// something to show users: the core reports their problems in `view`).
    public private(set) var lastError: KvitsError?

    @ObservationIgnored private let core: KvitsCore
    @ObservationIgnored private let delegate: Delegate
    @ObservationIgnored private var online: Bool?
    @ObservationIgnored private var active = true

    /// Opens (or creates) the app's data in `dataDirectory` and starts the core.
    /// `secrets` keeps the session's token (the Keychain: `KeychainSecrets`), never the
    /// database. `performers` claim their effect kinds; everything else runs in Rust.
    public init(
        dataDirectory: URL,
        serverURL: String,
        deviceName: String,
        secrets: SecretStore,
        performers: [EffectPerformer] = []
    ) throws {
        let delegate = Delegate(performers: performers)
        let config = CoreConfig(
            dataDir: dataDirectory.path,
            serverUrl: serverURL,
            deviceName: deviceName,
            utcOffsetMinutes: Int32(TimeZone.current.secondsFromGMT() / 60),
            claimed: performers.map(\.kind)
        )
        let core = try KvitsCore(config: config, delegate: delegate, secrets: secrets)
        self.core = core
        self.delegate = delegate
        self.view = try Core.read(core)
        delegate.attach(owner: self, core: core)
    }

    /// Sends an event. Errors are bugs in the shell (an event the core cannot read); they are
    /// kept in `lastError`, and the core stays usable.
    public func send(_ event: Event) {
        do {
            try sendChecked(event)
        } catch let error as KvitsError {
            lastError = error
        } catch {
            lastError = .Internal(detail: "the event cannot be written: \(error)")
        }
    }

    /// Sends an event and throws what the core answers.
    public func sendChecked(_ event: Event) throws {
        try sendRaw(event.bincodeSerialize())
    }

    /// Sends the bincode of an event as it is (for tests of what the FFI does with bad input).
    public func sendRaw(_ bytes: [UInt8]) throws {
        try core.update(event: Data(bytes))
        lastError = nil
    }

    /// The platform's connectivity changed (`NWPathMonitor`); repeats are dropped.
    public func networkChanged(online: Bool) {
        guard online != self.online else { return }
        self.online = online
        send(.networkChanged(online: online))
    }

    /// The scene phase changed: coming back to the foreground tells the core to sync.
    public func sceneActive(_ isActive: Bool) {
        defer { active = isActive }
        if isActive && !active {
            send(.foregrounded)
        }
    }

    /// Reads the view model again (the delegate calls this on the main actor).
    func refresh() {
        do {
            view = try Core.read(core)
        } catch let error as KvitsError {
            lastError = error
        } catch {
            lastError = .Internal(detail: "the view cannot be read: \(error)")
        }
    }

    private static func read(_ core: KvitsCore) throws -> ViewModel {
        try ViewModel.bincodeDeserialize(input: [UInt8](core.view()))
    }
}

/// The runtime's callbacks, from its threads: "view changed" becomes one refresh on the main
/// actor (repeats while one is pending are folded into it); claimed effects go to their
/// performer.
final class Delegate: ShellDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private weak var owner: Core?
    private weak var core: KvitsCore?
    private var refreshPending = false
    private let performers: [EffectKind: EffectPerformer]

    init(performers: [EffectPerformer]) {
        var byKind: [EffectKind: EffectPerformer] = [:]
        for p in performers { byKind[p.kind] = p }
        self.performers = byKind
    }

    func attach(owner: Core, core: KvitsCore) {
        locked {
            self.owner = owner
            self.core = core
        }
        viewChanged()
    }

    func viewChanged() {
        let schedule: Bool = locked {
            let schedule = !refreshPending && owner != nil
            if schedule { refreshPending = true }
            return schedule
        }
        guard schedule else { return }
        Task { @MainActor [weak self] in
            self?.takeRefresh()?.refresh()
        }
    }

    /// The owner to refresh. The pending flag is cleared before the view is read, so a change
    /// after that read schedules another refresh.
    private func takeRefresh() -> Core? {
        locked {
            refreshPending = false
            return owner
        }
    }

    func perform(id: UInt32, kind: EffectKind, operation: Data) {
        guard let performer = performers[kind] else { return }
        // The core is looked up when the answer comes: an effect asked for while the core was
        // still being constructed is answered after `attach`.
        performer.perform(id: id, operation: [UInt8](operation)) { [weak self] output in
            // An answer the runtime no longer waits for (a stream already finished, a core
            // already gone) is dropped: nothing is left to tell.
            try? self?.locked({ self?.core })?.resolve(id: id, output: Data(output))
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
