package app.kvits.core

import app.kvits.shared.ApprovalEvent
import app.kvits.shared.ApprovalsView
import app.kvits.shared.Event
import app.kvits.shared.FormField
import app.kvits.shared.ReceiptEvent
import app.kvits.shared.ReceiptStatus
import app.kvits.shared.ReceiptView
import app.kvits.shared.Route
import app.kvits.shared.ScreenView
import app.kvits.shared.SessionEvent
import app.kvits.shared.SyncEvent
import app.kvits.shared.ViewModel
import java.io.File
import java.nio.file.Files
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * The `core` module against the real Rust library (JNA loads `libkvits_native`) and a real sync
 * server with the demo firm: `KVITS_SERVER_URL` names it, `KVITS_FIXTURES` the receipt scans
 * (`cargo xtask kotlin test` sets both).
 */
class CoreTest {
    private val serverUrl: String =
        System.getenv("KVITS_SERVER_URL") ?: error("KVITS_SERVER_URL is not set (run `cargo xtask kotlin test`)")
    private val fixtures =
        File(System.getenv("KVITS_FIXTURES") ?: error("KVITS_FIXTURES is not set (run `cargo xtask kotlin test`)"))

    private val dirs = mutableListOf<File>()
    private val cores = mutableListOf<Core>()

    @After
    fun tearDown() {
        cores.forEach { it.close() }
        dirs.forEach { it.deleteRecursively() }
    }

    private fun tempDir(name: String): File =
        Files.createTempDirectory("kvits-$name-").toFile().also { dirs += it }

    /** Each phone's Keystore, by its data directory: kept across the phone's restarts. */
    private val keystores = mutableMapOf<File, MemorySecrets>()

    /** A phone: a Core with its own app data directory. */
    private fun phone(who: String, dataDir: File = tempDir(who)): Core =
        Core(
            dataDir,
            serverUrl,
            deviceName = "$who's JVM phone",
            secrets = keystores.getOrPut(dataDir) { MemorySecrets() },
            utcOffsetMinutes = 120,
        ).also { cores += it }

    @Test
    fun `an employee's receipt is sent, approved by the manager, and the employee sees it`() =
        runBlocking {
            val emma = phone("emma")
            signIn(emma, "emma")

            // The camera (or the photo picker) wrote a photo; the app copies it into its own
            // storage and hands the core the path.
            val appFiles = tempDir("emma-captures")
            val scan = fixtures.listFiles { f -> f.name.endsWith(".jpg") }?.minOrNull()
                ?: error("no .jpg receipts in $fixtures")
            val captured = scan.copyTo(File(appFiles, "capture-1.jpg"))
            emma.send(Event.Navigate(Route.Receipts))
            emma.send(Event.Receipts(ReceiptEvent.PhotoCaptured(captured.absolutePath)))
            val form = emma.await("the photo on the form") { v -> v.receiptForm()?.pages?.size == 1 }.receiptForm()!!
            assertTrue("the form can be edited", form.editable)

            val expenseType = form.expenseTypes.firstOrNull() ?: error("no expense types: $form")
            val card = form.paymentMethods.firstOrNull { it.label.contains("Visa") }
                ?: error("Emma's Visa card is not offered: ${form.paymentMethods}")
            emma.send(Event.Receipts(ReceiptEvent.EditForm(FormField.ExpenseType(expenseType.id))))
            emma.send(Event.Receipts(ReceiptEvent.EditForm(FormField.PaymentMethod(card.id))))
            emma.send(Event.Receipts(ReceiptEvent.EditForm(FormField.Amount("12.50"))))
            val filled = emma.await("the fields on the form") { v ->
                v.receiptForm()?.let { f ->
                    f.amount == "12.50" &&
                        f.expenseTypes.any { it.id == expenseType.id && it.selected } &&
                        f.paymentMethods.any { it.id == card.id && it.selected }
                } == true
            }
            assertTrue("no field errors: ${filled.receiptForm()?.errors}", filled.receiptForm()!!.errors.isEmpty())
            emma.send(Event.Receipts(ReceiptEvent.Submit))

            val receiptId = form.id
            val sent = emma.await("the receipt sent") { v ->
                v.receiptRows()?.firstOrNull { it.id == receiptId }?.status == ReceiptStatus.Sent && v.status.pending == 0u
            }
            val row = sent.receiptRows()!!.single { it.id == receiptId }
            assertEquals(1u, row.pages)
            assertNotNull("a thumbnail", row.thumbnail)

            // The manager, on another phone.
            val mark = phone("mark")
            signIn(mark, "mark")
            mark.send(Event.Navigate(Route.Approvals))
            val tasks = mark.await("Emma's receipt to approve") { v ->
                v.approvals()?.pending?.any { it.id == receiptId } == true
            }.approvals()!!
            val task = tasks.pending.single { it.id == receiptId }
            assertEquals("Emma Employee", task.submitter)
            mark.send(Event.Navigate(Route.Approval(receiptId)))
            val detail = mark.await("the receipt's photo") { v ->
                (v.screen as? ScreenView.Approval)?.value?.let { it.pages.size == 1 && it.canDecide } == true
            }
            val page = (detail.screen as ScreenView.Approval).value.pages.single()
            assertTrue("the photo can be shown", page.image.fileRef != null || page.image.url != null)
            mark.send(Event.Approvals(ApprovalEvent.Approve(receiptId)))
            mark.await("the approval accepted") { v -> v.status.pending == 0u && !v.saving }

            // Emma's phone hears of it (the long-poll ends on the server's change).
            emma.await("Emma sees it approved") { v ->
                v.receiptRows()?.firstOrNull { it.id == receiptId }?.status == ReceiptStatus.Approved
            }
            Unit
        }

    @Test
    fun `a garbage event is a typed error and the core stays usable`() =
        runBlocking {
            val core = phone("garbage")
            core.await("the app started") { v -> v.screen !is ScreenView.Loading }
            try {
                core.sendBytes(byteArrayOf(0x7f, 0x7f, 0x7f, 0x7f, 0x01))
                fail("a garbage event was accepted")
            } catch (e: KvitsException.InvalidInput) {
                assertTrue(e.message, e.message.contains("event"))
            }
            try {
                core.sendBytes(ByteArray(0))
                fail("an empty event was accepted")
            } catch (e: KvitsException.InvalidInput) {
                // expected
            }
            // Still working: signing in goes through.
            signIn(core, "emma")
        }

    @Test
    fun `a closed core refuses events and the next one starts signed in from the Keystore`() =
        runBlocking {
            val dir = tempDir("reopen")
            val first = phone("emma", dir)
            signIn(first, "emma")
            first.close()
            assertTrue(first.isClosed)
            try {
                first.send(Event.Sync(SyncEvent.Now))
                fail("a closed core took an event")
            } catch (e: IllegalStateException) {
                // expected
            }
            first.close() // twice is fine

            // The session's token is in the Keystore, and in no file of the database.
            val token = keystores.getValue(dir).read("kvits.session.token")
            assertNotNull("the Keystore holds the session's token", token)
            val files = dir.listFiles().orEmpty().filter { it.name.startsWith("kvits.sqlite") }
            assertTrue("the database is there", files.isNotEmpty())
            files.forEach { f ->
                assertTrue("${f.name} holds the token", !f.readBytes().toString(Charsets.ISO_8859_1).contains(token!!))
            }

            val again = phone("emma", dir)
            val v = again.await("the remembered session") { v -> v.user != null && v.screen !is ScreenView.Loading }
            assertEquals("emma@demo.kvits", v.user!!.email)
            assertTrue("not asked to sign in again", v.screen !is ScreenView.SignIn)
        }

    private suspend fun signIn(core: Core, who: String) {
        core.await("the app started") { v -> v.screen !is ScreenView.Loading }
        core.send(Event.Session(SessionEvent.SignIn("$who@demo.kvits", "demo")))
        core.await("$who signed in and synced") { v -> v.user != null && v.status.lastSynced != null }
    }
}

/** Waits on the StateFlow (no sleeps) until [condition] holds, or fails after [timeout]. */
suspend fun Core.await(
    what: String,
    timeout: Duration = 30.seconds,
    condition: (ViewModel) -> Boolean,
): ViewModel =
    try {
        withTimeout(timeout) { view.first(condition) }
    } catch (e: TimeoutCancellationException) {
        throw AssertionError("timed out after $timeout waiting for $what; the view: ${view.value}")
    }

fun ViewModel.receiptForm(): ReceiptView? = (screen as? ScreenView.Receipt)?.value

fun ViewModel.receiptRows(): List<app.kvits.shared.ReceiptRow>? = (screen as? ScreenView.Receipts)?.value?.receipts

fun ViewModel.approvals(): ApprovalsView? = (screen as? ScreenView.Approvals)?.value
