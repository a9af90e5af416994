package app.kvits.android.sync

import android.content.Context
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import app.kvits.android.KvitsApplication
import kotlin.time.Duration.Companion.minutes
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeoutOrNull

/**
 * Keeps uploads going when the user leaves the app.
 *
 * What it does: the uploads themselves are done by the Rust runtime inside this process (resumable,
 * from the server's offset). This worker only keeps the process alive while the core reports
 * pending items: it nudges the runtime (`SyncNow`) and waits, on the view model, until nothing is
 * pending, for at most 9 minutes (WorkManager stops a worker at 10). If items are still pending
 * it asks to be retried (with WorkManager's back-off); when the network is back, WorkManager runs
 * it again.
 *
 * What it does not do: it is not a foreground service, so Android may still stop the process
 * (low memory, Doze); nothing is lost then — the outbox is on disk and the runtime resumes at the
 * next start, which WorkManager itself causes by running this worker again. It also does not
 * hand uploads to the OS (Android has no equivalent of iOS's background `URLSession`).
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val core = (applicationContext as KvitsApplication).core
        if (core.isClosed) return Result.success()
        core.syncNow()
        val done = withTimeoutOrNull(9.minutes) { core.view.first { it.status.pending == 0u } }
        return when {
            done != null -> Result.success()
            // Signed out, or the app needs an update: nothing to wait for until the user acts.
            core.view.value.status.needsSignIn || core.view.value.status.needsUpdate -> Result.success()
            else -> Result.retry()
        }
    }

    companion object {
        private const val NAME = "kvits-sync"

        /** Runs the worker when there is a network, unless it is already scheduled or running. */
        fun schedule(context: Context) {
            val request =
                OneTimeWorkRequestBuilder<SyncWorker>()
                    .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                    .build()
            WorkManager.getInstance(context).enqueueUniqueWork(NAME, ExistingWorkPolicy.KEEP, request)
        }
    }
}
