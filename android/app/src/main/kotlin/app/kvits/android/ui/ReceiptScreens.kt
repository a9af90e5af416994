package app.kvits.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.LazyRow
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.DropdownMenuItem
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.ExposedDropdownMenuBox
import androidx.compose.material3.ExposedDropdownMenuDefaults
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.MenuAnchorType
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import app.kvits.shared.AnswerView
import app.kvits.shared.Choice
import app.kvits.shared.Event
import app.kvits.shared.FieldError
import app.kvits.shared.FormField
import app.kvits.shared.ReceiptEvent
import app.kvits.shared.ReceiptRow
import app.kvits.shared.ReceiptStatus
import app.kvits.shared.ReceiptView
import app.kvits.shared.ReceiptsView
import app.kvits.shared.ReviewEvent
import app.kvits.shared.Route
import app.kvits.shared.VatEdit
import app.kvits.shared.VatLinesView

@Composable
fun ReceiptsScreen(view: ReceiptsView, send: Send, capture: CaptureActions, images: ImageAccess) {
    Column(Modifier.fillMaxSize()) {
        if (view.canCapture) CaptureButtons(capture, "New receipt")
        if (view.processing > 0u) {
            Text("Preparing ${view.processing} photo(s)…", Modifier.padding(horizontal = 16.dp))
        }
        if (view.receipts.isEmpty()) {
            Text("No receipts yet. Photograph one — it is kept on this phone until it is sent.", Modifier.padding(16.dp))
        }
        LazyColumn(Modifier.weight(1f)) {
            items(view.receipts, key = { it.id }) { row -> ReceiptRowItem(row, send, images) }
            if (view.more > 0u) {
                item { TextButton(onClick = { send(Event.ShowMore) }) { Text("Show ${view.more} more") } }
            }
        }
    }
}

@Composable
private fun ReceiptRowItem(row: ReceiptRow, send: Send, images: ImageAccess) {
    ListItem(
        modifier = Modifier.clickable { send(Event.Navigate(Route.Receipt(row.id))) },
        leadingContent = {
            row.thumbnail?.let { ReceiptImage(it, images, "Receipt photo", Modifier.size(56.dp)) }
        },
        headlineContent = { Text(row.title) },
        supportingContent = {
            Column {
                Text(listOfNotNull(row.amount, row.date).joinToString(" · "))
                Text(row.statusText, color = statusColor(row.status))
                val uploading = row.status as? ReceiptStatus.Uploading
                if (uploading != null) {
                    LinearProgressIndicator(
                        progress = { uploading.percent.toInt() / 100f },
                        modifier = Modifier.fillMaxWidth().padding(top = 4.dp),
                    )
                }
            }
        },
    )
    HorizontalDivider()
}

@Composable
fun statusColor(status: ReceiptStatus) =
    when (status) {
        is ReceiptStatus.Rejected, is ReceiptStatus.NotAccepted, is ReceiptStatus.Returned -> MaterialTheme.colorScheme.error
        ReceiptStatus.Approved -> MaterialTheme.colorScheme.primary
        else -> MaterialTheme.colorScheme.onSurfaceVariant
    }

@Composable
private fun CaptureButtons(capture: CaptureActions, label: String) {
    Row(Modifier.fillMaxWidth().padding(16.dp), horizontalArrangement = Arrangement.spacedBy(12.dp)) {
        Button(onClick = capture.camera) { Text("$label — camera") }
        OutlinedButton(onClick = capture.import) { Text("Import") }
    }
}

/** The expense form: pages, type and card pickers, amount, date, merchant, note; draft or submit. */
@Composable
fun ReceiptScreen(view: ReceiptView, send: Send, capture: CaptureActions, images: ImageAccess) {
    val edit = { field: FormField -> send(Event.Receipts(ReceiptEvent.EditForm(field))) }
    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp)) {
        Text(view.statusText, color = statusColor(view.status), style = MaterialTheme.typography.titleMedium)
        Spacer(Modifier.size(8.dp))
        LazyRow(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            items(view.pages, key = { it.sha256 }) { page ->
                Column {
                    ReceiptImage(page.thumbnail, images, "Page", Modifier.size(120.dp))
                    if (view.editable && view.pages.size > 1) {
                        TextButton(onClick = { send(Event.Receipts(ReceiptEvent.RemovePage(page.sha256))) }) { Text("Remove") }
                    }
                }
            }
        }
        if (view.processing > 0u) Text("Preparing ${view.processing} photo(s)…")
        error(view.errors, "pages")?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        if (view.editable) CaptureButtons(capture, "Add page")

        Picker("Expense type", view.expenseTypes, view.editable, error(view.errors, "expense_type")) {
            edit(FormField.ExpenseType(it))
        }
        Picker("Paid with", view.paymentMethods, view.editable, error(view.errors, "payment_method")) {
            edit(FormField.PaymentMethod(it))
        }
        FormText("Amount", view.amount, view.editable, error(view.errors, "amount"), KeyboardType.Decimal) {
            edit(FormField.Amount(it))
        }
        FormText("Currency", view.currency, view.editable, error(view.errors, "currency")) { edit(FormField.Currency(it)) }
        view.baseCurrency?.let { base ->
            FormText("Amount in $base", view.baseAmount, view.editable, error(view.errors, "base_amount"), KeyboardType.Decimal) {
                edit(FormField.BaseAmount(it))
            }
        }
        FormText("Date (YYYY-MM-DD)", view.date, view.editable, error(view.errors, "date")) { edit(FormField.Date(it)) }
        FormText("Merchant", view.merchant, view.editable, error(view.errors, "merchant")) { edit(FormField.Merchant(it)) }
        FormText("Note", view.note, view.editable, error(view.errors, "note")) { edit(FormField.Note(it)) }
        view.vatLines?.let { lines -> VatLinesForm(lines, view.errors) { edit(FormField.Vat(it)) } }
        if (view.vatLines == null) {
            view.vat?.let { Text("VAT: $it", Modifier.padding(top = 8.dp)) }
        }
        view.accountCode?.let { Text("Account: $it", Modifier.padding(top = 8.dp)) }
        view.answer?.let { AnswerForm(it, send) }

        view.decisions.forEach { d ->
            Text(d.text + (d.reason?.let { " — $it" } ?: ""), Modifier.padding(top = 8.dp))
        }
        if (view.editable) {
            Row(Modifier.padding(top = 16.dp), horizontalArrangement = Arrangement.spacedBy(12.dp)) {
                Button(onClick = { send(Event.Receipts(ReceiptEvent.Submit)) }) { Text("Submit") }
                OutlinedButton(onClick = { send(Event.Receipts(ReceiptEvent.SaveDraft)) }) { Text("Save draft") }
                if (view.canDelete) TextButton(onClick = { send(Event.Receipts(ReceiptEvent.Delete)) }) { Text("Delete") }
            }
        }
    }
}

/**
 * The VAT lines, one per rate. A line with a rate and no amounts takes the rest of the receipt's
 * amount, split by its rate (the core does the sum).
 */
@Composable
private fun VatLinesForm(view: VatLinesView, errors: List<FieldError>, edit: (VatEdit) -> Unit) {
    Text("VAT (${view.currency})", style = MaterialTheme.typography.titleSmall, modifier = Modifier.padding(top = 16.dp))
    view.lines.forEachIndexed { i, line ->
        val n = i.toUInt()
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Column(Modifier.weight(1f)) {
                FormText("Rate %", line.rate, true, error(errors, "vat.$i.rate"), KeyboardType.Decimal) {
                    edit(VatEdit.Rate(n, it))
                }
            }
            Column(Modifier.weight(1f)) {
                FormText("Net", line.net, true, error(errors, "vat.$i.net"), KeyboardType.Decimal) {
                    edit(VatEdit.Net(n, it))
                }
            }
            Column(Modifier.weight(1f)) {
                FormText("VAT", line.vat, true, error(errors, "vat.$i.vat"), KeyboardType.Decimal) {
                    edit(VatEdit.Amount(n, it))
                }
            }
        }
        TextButton(onClick = { edit(VatEdit.Remove(n)) }) { Text("Remove line ${i + 1}") }
    }
    view.total?.let { Text("Lines add up to $it", style = MaterialTheme.typography.bodySmall) }
    error(errors, "vat")?.let { Text(it, color = MaterialTheme.colorScheme.error) }
    if (view.canAdd) OutlinedButton(onClick = { edit(VatEdit.Add) }) { Text("Add VAT rate") }
}

/** The firm's question the receipt came back with, and the employee's answer to it. */
@Composable
private fun AnswerForm(view: AnswerView, send: Send) {
    Text("Question from ${view.askedBy}", style = MaterialTheme.typography.titleSmall, modifier = Modifier.padding(top = 16.dp))
    Text("“${view.question}”")
    val sent = view.sent
    if (sent != null) {
        Text("Your answer: “$sent”", Modifier.padding(top = 4.dp))
    } else {
        FormText("Your answer", view.answer, true, error(view.errors, "answer") ?: error(view.errors, "review")) {
            send(Event.Review(ReviewEvent.EditAnswer(it)))
        }
        OutlinedButton(onClick = { send(Event.Review(ReviewEvent.SendAnswer)) }) { Text("Send answer") }
    }
}

private fun error(errors: List<FieldError>, field: String): String? = errors.firstOrNull { it.field == field }?.message

/** A text field that shows what the core holds and sends every change (the core is the state). */
@Composable
fun FormText(
    label: String,
    value: String,
    enabled: Boolean,
    error: String?,
    keyboard: KeyboardType = KeyboardType.Text,
    onChange: (String) -> Unit,
) {
    OutlinedTextField(
        value = value,
        onValueChange = onChange,
        label = { Text(label) },
        enabled = enabled,
        isError = error != null,
        supportingText = error?.let { { Text(it) } },
        keyboardOptions = KeyboardOptions(keyboardType = keyboard),
        singleLine = true,
        modifier = Modifier.fillMaxWidth().padding(top = 8.dp),
    )
}

/** A picker over the core's choices; `detail` groups them ("Your cards", "Company cards", …). */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
private fun Picker(label: String, choices: List<Choice>, enabled: Boolean, error: String?, onPick: (String?) -> Unit) {
    var open by remember { mutableStateOf(false) }
    val selected = choices.firstOrNull { it.selected }
    ExposedDropdownMenuBox(expanded = open, onExpandedChange = { if (enabled) open = it }) {
        OutlinedTextField(
            value = selected?.label ?: "",
            onValueChange = {},
            readOnly = true,
            enabled = enabled,
            label = { Text(label) },
            isError = error != null,
            supportingText = error?.let { { Text(it) } },
            trailingIcon = { ExposedDropdownMenuDefaults.TrailingIcon(expanded = open) },
            modifier = Modifier.menuAnchor(MenuAnchorType.PrimaryNotEditable).fillMaxWidth().padding(top = 8.dp),
        )
        ExposedDropdownMenu(expanded = open, onDismissRequest = { open = false }) {
            choices.forEach { choice ->
                DropdownMenuItem(
                    text = {
                        Column {
                            Text(choice.label)
                            choice.detail?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
                        }
                    },
                    onClick = {
                        open = false
                        onPick(choice.id)
                    },
                )
            }
        }
    }
}
