#if canImport(Security)
import Foundation
import KvitsNative
import Security

/// The session's token in the Keychain: this device only, readable once the phone was unlocked
/// after a restart (so background syncs work), never in a backup.
public final class KeychainSecrets: SecretStore, @unchecked Sendable {
    private let service: String

    public init(service: String = "app.kvits") {
        self.service = service
    }

    public func read(name: String) -> String? {
        var query = base(name)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var found: CFTypeRef?
        guard SecItemCopyMatching(query as CFDictionary, &found) == errSecSuccess,
              let data = found as? Data
        else { return nil }
        return String(data: data, encoding: .utf8)
    }

    public func write(name: String, value: String?) -> Bool {
        let deleted = SecItemDelete(base(name) as CFDictionary)
        guard let value else { return deleted == errSecSuccess || deleted == errSecItemNotFound }
        var item = base(name)
        item[kSecValueData as String] = Data(value.utf8)
        item[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        return SecItemAdd(item as CFDictionary, nil) == errSecSuccess
    }

    private func base(_ name: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: name,
        ]
    }
}
#endif
