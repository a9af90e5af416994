package app.kvits.android.ui

import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.platform.LocalContext
import app.kvits.shared.ImageRef
import coil.compose.AsyncImage
import coil.request.ImageRequest
import java.io.File

/**
 * A receipt image: a file the runtime wrote on this device (`fileRef`), or a path on the sync
 * server (`url`) loaded with the session's `Authorization` header — an approver's phone has
 * only the server's copy of someone else's photo.
 */
@Composable
fun ReceiptImage(
    image: ImageRef,
    access: ImageAccess,
    description: String,
    modifier: Modifier = Modifier,
    contentScale: ContentScale = ContentScale.Crop,
) {
    val context = LocalContext.current
    val local = image.fileRef
    val remote = image.url
    val model: Any? =
        when {
            local != null -> File(local)
            remote != null ->
                ImageRequest.Builder(context)
                    .data(if (remote.startsWith("http")) remote else access.serverUrl.trimEnd('/') + remote)
                    .apply { access.authorization?.let { addHeader("Authorization", it) } }
                    .crossfade(true)
                    .build()
            else -> null
        }
    AsyncImage(model = model, contentDescription = description, modifier = modifier, contentScale = contentScale)
}
