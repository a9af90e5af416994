package app.kvits.core

import java.util.concurrent.ConcurrentHashMap

/** The platform's secret store, as a map: the Android Keystore cannot run on the JVM. */
class MemorySecrets : SecretStore {
    private val kept = ConcurrentHashMap<String, String>()

    override fun read(name: String): String? = kept[name]

    override fun write(name: String, value: String?): Boolean {
        if (value == null) kept.remove(name) else kept[name] = value
        return true
    }
}
