package app.kvits.core

import app.kvits.shared.Event
import app.kvits.shared.ScreenView
import app.kvits.shared.StatusView
import app.kvits.shared.SyncEvent
import app.kvits.shared.ViewModel
import java.io.File
import java.util.TimeZone
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * Performs the effect kinds a shell claimed (see [Core]'s `claimed`). Called on a background
 * thread the [Core] owns, one effect at a time. [answer] takes the bincode of the effect's
 * output; it may be called later and from any thread; an upload answers several times
 * (progress, then the end), everything else once.
 */
fun interface ClaimedEffects {
    fun perform(kind: EffectKind, operation: ByteArray, answer: (ByteArray) -> Unit)
}

/**
 * The app's one Kvits core: the Rust runtime ([KvitsCore]) that runs the core and performs HTTP,
 * the local store, photo processing, uploads and timers itself. The shell reads [view], sends
 * user actions with [send] and platform changes with [networkChanged] and [foregrounded], and
 * calls [close] when the process is done with it.
 *
 * Opening it opens (or creates) `dataDir/kvits.sqlite` and starts the app; construction fails
 * with [KvitsException.Storage] when the data cannot be opened.
 *
 * Thread safety: every method may be called from any thread. [view] is updated on whichever
 * thread the runtime reports a change from (a Rust worker thread, or the caller's during [send]);
 * collect it on the main thread in the UI.
 */
class Core(
    dataDir: File,
    serverUrl: String,
    deviceName: String,
    /** Where the session's token is kept: Keystore-backed storage on Android, never the database. */
    secrets: SecretStore,
    utcOffsetMinutes: Int = currentUtcOffsetMinutes(),
    claimed: Set<EffectKind> = emptySet(),
    private val effects: ClaimedEffects? = null,
) : AutoCloseable {
    private val lock = Any()
    private val closed = AtomicBoolean(false)

    @Volatile
    private var native: KvitsCore? = null

    private val state = MutableStateFlow(STARTING)

    /** The latest view model; equal consecutive views are not emitted twice. */
    val view: StateFlow<ViewModel> = state.asStateFlow()

    // Claimed effects are handed to the shell off the runtime's threads.
    private val effectThread: ExecutorService? =
        if (claimed.isEmpty()) {
            null
        } else {
            Executors.newSingleThreadExecutor { r ->
                Thread(r, "kvits-claimed-effects").apply { isDaemon = true }
            }
        }

    private val delegate =
        object : ShellDelegate {
            override fun viewChanged() = refresh()

            override fun perform(id: UInt, kind: EffectKind, operation: ByteArray) {
                val handler = effects
                val thread = effectThread
                if (handler == null || thread == null || closed.get()) return
                thread.execute {
                    try {
                        handler.perform(kind, operation) { output -> answer(id, output) }
                    } catch (e: Exception) {
                        report("performing a claimed $kind effect", e)
                    }
                }
            }
        }

    init {
        require(claimed.isEmpty() || effects != null) {
            "claiming $claimed needs a ClaimedEffects to perform them"
        }
        dataDir.mkdirs()
        // The runtime starts the core inside this constructor and may report changes from its
        // own threads before it returns; those are read below once `native` is set.
        val core =
            KvitsCore(
                CoreConfig(
                    dataDir = dataDir.absolutePath,
                    serverUrl = serverUrl.trimEnd('/'),
                    deviceName = deviceName,
                    utcOffsetMinutes = utcOffsetMinutes,
                    claimed = claimed.toList(),
                ),
                delegate,
                secrets,
            )
        native = core
        refresh()
    }

    /** Sends a user action. Throws [KvitsException] when the runtime cannot read it. */
    fun send(event: Event) = sendBytes(event.bincodeSerialize())

    /**
     * Sends an already serialized event (bincode of `Event`). Bytes that are not an event give
     * [KvitsException.InvalidInput] and change nothing.
     */
    fun sendBytes(event: ByteArray) {
        running().update(event)
    }

    /** The platform's connectivity changed (`ConnectivityManager.NetworkCallback`). */
    fun networkChanged(online: Boolean) = send(Event.NetworkChanged(online))

    /** The app came to the foreground (`ProcessLifecycleOwner` ON_START). */
    fun foregrounded() = send(Event.Foregrounded)

    /** Pull to refresh. */
    fun syncNow() = send(Event.Sync(SyncEvent.Now))

    /** Whether [close] was called. */
    val isClosed: Boolean
        get() = closed.get()

    /**
     * Stops the runtime, like the process ending: what the local store committed stays; uploads
     * and requests in flight are redone at the next start (uploads resume at the server's
     * offset). After this, [send] throws [IllegalStateException] and [view] keeps its last value.
     */
    override fun close() {
        synchronized(lock) {
            if (!closed.compareAndSet(false, true)) return
            native?.close()
            native = null
        }
        effectThread?.shutdownNow()
    }

    private fun running(): KvitsCore =
        native.takeIf { !closed.get() } ?: throw IllegalStateException("the Kvits core is closed")

    /**
     * Reads the view model into [state]. Reads happen one at a time under [lock], and every
     * change is followed by a read, so the last value set is never older than the last change.
     */
    private fun refresh() {
        try {
            synchronized(lock) {
                val core = native ?: return
                if (closed.get()) return
                state.value = ViewModel.bincodeDeserialize(core.view())
            }
        } catch (e: Exception) {
            report("reading the view", e)
        }
    }

    private fun answer(id: UInt, output: ByteArray) {
        val core = native ?: return
        if (closed.get()) return
        try {
            core.resolve(id, output)
        } catch (e: KvitsException) {
            report("answering effect $id", e)
        }
    }

    // Exceptions must not cross back into Rust through the callback interface; on Android,
    // System.err ends up in logcat.
    private fun report(what: String, e: Exception) {
        System.err.println("kvits: $what failed: $e")
    }

    companion object {
        /** What [view] holds until the runtime's first view is read. */
        val STARTING =
            ViewModel(
                screen = ScreenView.Loading,
                status =
                    StatusView(
                        online = false,
                        syncing = false,
                        pending = 0u,
                        needsSignIn = false,
                        needsUpdate = false,
                    ),
                tabs = emptyList(),
                notices = emptyList(),
                saving = false,
            )

        /** This device's current offset from UTC, for the times the core formats. */
        fun currentUtcOffsetMinutes(): Int =
            TimeZone.getDefault().getOffset(System.currentTimeMillis()) / 60_000
    }
}
