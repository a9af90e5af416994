package app.kvits.android.capture

import android.content.Context
import android.net.Uri
import java.io.File
import java.io.IOException
import java.util.UUID
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Photos as the core wants them: a file in the app's own storage (`files/captures`), whose path
 * becomes `PhotoCaptured { file_ref }`. The camera writes there directly; a picked photo is
 * copied there first, because a content URI may stop being readable once the picker is gone.
 * The runtime reads the file when it processes the photo (possibly after a restart), so it stays
 * where it is.
 */
object Captures {
    fun newFile(context: Context): File {
        val dir = File(context.filesDir, "captures").apply { mkdirs() }
        return File(dir, "${UUID.randomUUID()}.jpg")
    }

    /** Copies a picked photo into app storage. */
    suspend fun copyIn(context: Context, uri: Uri): File =
        withContext(Dispatchers.IO) {
            val target = newFile(context)
            val partial = File(target.path + ".part")
            val input = context.contentResolver.openInputStream(uri) ?: throw IOException("cannot read $uri")
            input.use { source -> partial.outputStream().use { source.copyTo(it) } }
            if (!partial.renameTo(target)) throw IOException("cannot move the photo into place")
            target
        }
}
