package app.kvits.android.ui

import android.util.Log
import androidx.activity.compose.BackHandler
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.CreditCard
import androidx.compose.material.icons.filled.Inbox
import androidx.compose.material.icons.filled.Receipt
import androidx.compose.material.icons.filled.Settings
import androidx.compose.material.icons.filled.TaskAlt
import androidx.compose.material3.Badge
import androidx.compose.material3.BadgedBox
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.DropdownMenu
import androidx.compose.material3.DropdownMenuItem
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.SnackbarHost
import androidx.compose.material3.SnackbarHostState
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.material3.darkColorScheme
import androidx.compose.material3.lightColorScheme
import androidx.compose.foundation.isSystemInDarkTheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.compose.foundation.layout.Box
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.kvits.android.BuildConfig
import app.kvits.android.capture.CameraCapture
import app.kvits.android.capture.Captures
import app.kvits.core.Core
import app.kvits.core.KvitsException
import app.kvits.shared.Event
import app.kvits.shared.ReceiptEvent
import app.kvits.shared.Route
import app.kvits.shared.ScreenView
import app.kvits.shared.SessionEvent
import app.kvits.shared.StatusView
import app.kvits.shared.SyncEvent
import app.kvits.shared.Tab
import app.kvits.shared.TabView
import app.kvits.shared.UserView
import app.kvits.shared.ViewModel
import kotlinx.coroutines.launch

/** Sends an event to the core; the UI never needs more than this. */
typealias Send = (Event) -> Unit

@Composable
fun KvitsTheme(content: @Composable () -> Unit) {
    MaterialTheme(
        colorScheme = if (isSystemInDarkTheme()) darkColorScheme() else lightColorScheme(),
        content = content,
    )
}

/**
 * The whole app: renders the core's view model. Navigation is the core's (`Navigate`, `Back`);
 * the only state kept here is whether the camera is open.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun KvitsApp(core: Core) {
    val view by core.view.collectAsStateWithLifecycle()
    val send: Send =
        remember(core) {
            { event ->
                try {
                    core.send(event)
                } catch (e: KvitsException) {
                    Log.e("kvits", "the core refused $event", e)
                }
            }
        }
    val context = LocalContext.current
    val scope = rememberCoroutineScope()
    var camera by rememberSaveable { mutableStateOf(false) }
    val picker =
        rememberLauncherForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
            if (uri != null) {
                scope.launch {
                    try {
                        send(Event.Receipts(ReceiptEvent.PhotoCaptured(Captures.copyIn(context, uri).absolutePath)))
                    } catch (e: java.io.IOException) {
                        Log.e("kvits", "importing $uri failed", e)
                    }
                }
            }
        }
    val capture =
        CaptureActions(
            camera = { camera = true },
            import = { picker.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly)) },
        )

    if (camera) {
        BackHandler { camera = false }
        CameraCapture(
            onCaptured = { file ->
                camera = false
                send(Event.Receipts(ReceiptEvent.PhotoCaptured(file.absolutePath)))
            },
            onClose = { camera = false },
        )
        return
    }

    val screen = view.screen
    val nested = screen is ScreenView.Receipt || screen is ScreenView.Approval || screen is ScreenView.Thread ||
        screen is ScreenView.Compose
    BackHandler(enabled = nested) { send(Event.Back) }

    val snackbar = remember { SnackbarHostState() }
    LaunchedEffect(view.alert) {
        view.alert?.let {
            snackbar.showSnackbar(it)
            send(Event.DismissAlert)
        }
    }

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(view.user?.companyName ?: "Kvits") },
                navigationIcon = {
                    if (nested) {
                        IconButton(onClick = { send(Event.Back) }) {
                            Icon(Icons.AutoMirrored.Filled.ArrowBack, contentDescription = "Back")
                        }
                    }
                },
                actions = { view.user?.let { CompanySwitcher(it, send) } },
            )
        },
        bottomBar = { if (view.tabs.isNotEmpty() && !nested) Tabs(view.tabs, send) },
        snackbarHost = { SnackbarHost(snackbar) },
    ) { padding ->
        Column(Modifier.padding(padding).fillMaxSize()) {
            StatusBanner(view.status, send)
            Notices(view, send)
            Box(Modifier.weight(1f)) {
                Screen(view, send, capture)
            }
        }
    }
}

/** How the UI starts a capture: the camera, or the system photo picker. */
class CaptureActions(val camera: () -> Unit, val import: () -> Unit)

/** Server images: the view model gives a path on the sync server and the header to send. */
class ImageAccess(val serverUrl: String, val authorization: String?)

@Composable
private fun Screen(view: ViewModel, send: Send, capture: CaptureActions) {
    val images = ImageAccess(BuildConfig.KVITS_SERVER_URL, view.imageAuthorization)
    when (val screen = view.screen) {
        ScreenView.Loading -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { CircularProgressIndicator() }
        is ScreenView.Broken -> Text(screen.message, Modifier.padding(24.dp), color = MaterialTheme.colorScheme.error)
        is ScreenView.SignIn -> SignInScreen(screen.value, send)
        is ScreenView.Receipts -> ReceiptsScreen(screen.value, send, capture, images)
        is ScreenView.Receipt -> ReceiptScreen(screen.value, send, capture, images)
        is ScreenView.Approvals -> ApprovalsScreen(screen.value, send, images)
        is ScreenView.Approval -> ApprovalScreen(screen.value, send, images)
        is ScreenView.Inbox -> InboxScreen(screen.value, send)
        is ScreenView.Thread -> ThreadScreen(screen.value, send)
        is ScreenView.Compose -> ComposeScreen(screen.value, send)
        is ScreenView.Catalog -> CatalogScreen(screen.value)
        // Firm admins run the firm from the web console.
        is ScreenView.Firm -> Text("Open Kvits on the web to manage the firm.", Modifier.padding(24.dp))
        is ScreenView.Clients -> Text("Open Kvits on the web for the clients overview.", Modifier.padding(24.dp))
        is ScreenView.Export -> Text("Open Kvits on the web to export to the books.", Modifier.padding(24.dp))
        is ScreenView.Cards -> CardsScreen(screen.value, send)
    }
}

/** Offline, pending count, sync problems, and the "sign in again" / "update" asks. */
@Composable
private fun StatusBanner(status: StatusView, send: Send) {
    val text =
        when {
            status.needsSignIn -> "Your session ended — sign in again. Nothing you saved is lost."
            status.needsUpdate -> "Please update Kvits to keep syncing. Nothing you saved is lost."
            !status.online && status.pending > 0u -> "Offline — ${status.pending} waiting to be sent"
            !status.online -> "Offline"
            status.problem != null -> status.problem + if (status.pending > 0u) " — ${status.pending} waiting" else ""
            status.pending > 0u -> "Sending ${status.pending}…"
            else -> null
        } ?: return
    Box(
        Modifier.fillMaxWidth().background(MaterialTheme.colorScheme.secondaryContainer).padding(horizontal = 16.dp, vertical = 8.dp),
    ) {
        Text(text, color = MaterialTheme.colorScheme.onSecondaryContainer, style = MaterialTheme.typography.bodyMedium)
        if (status.needsSignIn) {
            TextButton(onClick = { send(Event.Navigate(Route.SignIn)) }, Modifier.align(Alignment.CenterEnd)) {
                Text("Sign in")
            }
        }
    }
}

@Composable
private fun Notices(view: ViewModel, send: Send) {
    view.notices.forEach { notice ->
        Box(Modifier.fillMaxWidth().background(MaterialTheme.colorScheme.errorContainer).padding(12.dp)) {
            Text(notice.text, color = MaterialTheme.colorScheme.onErrorContainer, modifier = Modifier.padding(end = 72.dp))
            TextButton(onClick = { send(Event.Sync(SyncEvent.DismissNotice(notice.id))) }, Modifier.align(Alignment.CenterEnd)) {
                Text("OK")
            }
        }
    }
}

@Composable
private fun CompanySwitcher(user: UserView, send: Send) {
    var open by remember { mutableStateOf(false) }
    TextButton(onClick = { open = true }) { Text(user.name) }
    DropdownMenu(expanded = open, onDismissRequest = { open = false }) {
        if (user.companies.size > 1) {
            user.companies.forEach { company ->
                DropdownMenuItem(
                    text = { Text(if (company.selected) "✓ ${company.label}" else company.label) },
                    onClick = {
                        open = false
                        send(Event.Session(SessionEvent.SelectCompany(company.id)))
                    },
                )
            }
        }
        DropdownMenuItem(
            text = { Text("Sign out") },
            onClick = {
                open = false
                send(Event.Session(SessionEvent.SignOut))
            },
        )
    }
}

@Composable
private fun Tabs(tabs: List<TabView>, send: Send) {
    NavigationBar {
        tabs.forEach { tab ->
            NavigationBarItem(
                selected = tab.selected,
                onClick = {
                    val route =
                        when (tab.tab) {
                            Tab.RECEIPTS -> Route.Receipts
                            Tab.APPROVALS -> Route.Approvals
                            Tab.MESSAGES -> Route.Inbox
                            Tab.SETTINGS -> Route.Catalog
                            Tab.FIRM -> Route.Firm
                            Tab.CLIENTS -> Route.Clients
                            Tab.CARDS -> Route.Cards
                        }
                    send(Event.Navigate(route))
                },
                icon = {
                    BadgedBox(badge = { if (tab.badge > 0u) Badge { Text(tab.badge.toString()) } }) {
                        Icon(
                            when (tab.tab) {
                                Tab.RECEIPTS -> Icons.Filled.Receipt
                                Tab.APPROVALS -> Icons.Filled.TaskAlt
                                Tab.MESSAGES -> Icons.Filled.Inbox
                                Tab.CARDS -> Icons.Filled.CreditCard
                                Tab.SETTINGS, Tab.FIRM, Tab.CLIENTS -> Icons.Filled.Settings
                            },
                            contentDescription = null,
                        )
                    }
                },
                label = { Text(tab.label) },
            )
        }
    }
}
