package app.kvits.android.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import app.kvits.shared.CardEvent
import app.kvits.shared.CardPaymentRow
import app.kvits.shared.CardsView
import app.kvits.shared.Event
import app.kvits.shared.NoReceiptKind
import app.kvits.shared.Route

/** The card holder's payments without a receipt (offline too): capture one, or say why not. */
@Composable
fun CardsScreen(view: CardsView, send: Send) {
    LazyColumn(Modifier.fillMaxSize()) {
        item {
            Text(view.title, style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(16.dp))
            Row(Modifier.padding(horizontal = 16.dp), verticalAlignment = Alignment.CenterVertically) {
                Text(
                    if (view.missing == 0u) "Every payment has its receipt." else "${view.missing} without a receipt",
                    Modifier.weight(1f),
                )
                Text("All", Modifier.padding(end = 8.dp))
                Switch(checked = view.showAll, onCheckedChange = { send(Event.Cards(CardEvent.ShowAll(it))) })
            }
        }
        items(view.rows, key = { it.id }) { CardPaymentItem(it, send) }
        if (view.more > 0u) item { TextButton(onClick = { send(Event.ShowMore) }) { Text("Show ${view.more} more") } }
    }
}

@Composable
private fun CardPaymentItem(row: CardPaymentRow, send: Send) {
    ListItem(
        headlineContent = { Text("${row.merchant} · ${row.amount}") },
        supportingContent = {
            Column(verticalArrangement = Arrangement.spacedBy(4.dp)) {
                Text("${row.date} · ${row.card}" + (row.originalAmount?.let { " · $it" } ?: ""))
                Text(row.stateText, color = MaterialTheme.colorScheme.secondary)
                row.suggestions.forEach { s ->
                    TextButton(onClick = { send(Event.Cards(CardEvent.Match(row.id, s.id))) }) {
                        Text("This receipt: ${s.label}")
                    }
                }
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    if (row.canCapture) {
                        Button(onClick = { send(Event.Cards(CardEvent.CaptureFor(row.id))) }) { Text("Capture receipt") }
                    }
                    if (row.canDeclare) {
                        OutlinedButton(onClick = {
                            send(Event.Cards(CardEvent.DeclareNoReceipt(row.id, NoReceiptKind.LOST, "")))
                        }) { Text("Lost") }
                        OutlinedButton(onClick = {
                            send(Event.Cards(CardEvent.DeclareNoReceipt(row.id, NoReceiptKind.NONE_ISSUED, "")))
                        }) { Text("None issued") }
                    }
                    if (row.canUnmatch) {
                        TextButton(onClick = { send(Event.Cards(CardEvent.Unmatch(row.id))) }) { Text("Undo") }
                    }
                    row.receiptId?.let { id ->
                        TextButton(onClick = { send(Event.Navigate(Route.Receipt(id))) }) { Text("Open receipt") }
                    }
                }
            }
        },
    )
}
