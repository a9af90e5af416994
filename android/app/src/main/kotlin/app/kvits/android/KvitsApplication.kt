package app.kvits.android

import android.app.Application
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.Build
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import app.kvits.android.sync.SyncWorker
import app.kvits.core.Core
import java.io.File
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.launch

/**
 * Owns the one [Core] of the process and forwards the platform to it: connectivity
 * (`ConnectivityManager.NetworkCallback` → `NetworkChanged`), the app coming to the foreground
 * (`ProcessLifecycleOwner` → `Foregrounded`), and schedules [SyncWorker] while something is
 * waiting to be sent.
 */
class KvitsApplication : Application() {
    lateinit var core: Core
        private set

    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    override fun onCreate() {
        super.onCreate()
        core =
            Core(
                dataDir = File(filesDir, "kvits"),
                serverUrl = BuildConfig.KVITS_SERVER_URL,
                deviceName = "${Build.MANUFACTURER} ${Build.MODEL}",
                secrets = KeystoreSecrets(this),
            )
        watchNetwork()
        ProcessLifecycleOwner.get().lifecycle.addObserver(
            object : DefaultLifecycleObserver {
                override fun onStart(owner: LifecycleOwner) = core.foregrounded()
            },
        )
        // Whenever receipts, decisions or messages are waiting, make sure a worker keeps the
        // process around until they are sent (see SyncWorker for what it does and does not do).
        scope.launch {
            core.view
                .map { it.status.pending > 0u }
                .distinctUntilChanged()
                .collect { pending -> if (pending) SyncWorker.schedule(this@KvitsApplication) }
        }
    }

    private fun watchNetwork() {
        val connectivity = getSystemService(ConnectivityManager::class.java)
        // No default network at all: the callback would never be called, so say it once.
        if (connectivity.activeNetwork == null) core.networkChanged(false)
        connectivity.registerDefaultNetworkCallback(
            object : ConnectivityManager.NetworkCallback() {
                override fun onCapabilitiesChanged(network: Network, capabilities: NetworkCapabilities) {
                    core.networkChanged(capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET))
                }

                override fun onLost(network: Network) = core.networkChanged(false)
            },
        )
    }
}
