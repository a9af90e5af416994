package app.kvits.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Badge
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.Checkbox
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import app.kvits.shared.CatalogView
import app.kvits.shared.ComposeField
import app.kvits.shared.ComposeView
import app.kvits.shared.Event
import app.kvits.shared.InboxView
import app.kvits.shared.MessageEvent
import app.kvits.shared.MessageView
import app.kvits.shared.Route
import app.kvits.shared.ThreadView

@Composable
fun InboxScreen(view: InboxView, send: Send) {
    LazyColumn(Modifier.fillMaxSize()) {
        if (view.canCompose) {
            item { TextButton(onClick = { send(Event.Navigate(Route.Compose)) }) { Text("New message") } }
        }
        if (view.threads.isEmpty()) item { Text("No messages.", Modifier.padding(16.dp)) }
        items(view.threads, key = { it.id }) { t ->
            ListItem(
                modifier = Modifier.clickable { send(Event.Navigate(Route.Thread(t.id))) },
                headlineContent = { Text(t.subject) },
                supportingContent = { Text("${t.company} · ${t.preview}") },
                trailingContent = {
                    Column(horizontalAlignment = Alignment.End) {
                        Text(t.lastAt, style = MaterialTheme.typography.bodySmall)
                        if (t.unread > 0u) Badge { Text(t.unread.toString()) }
                    }
                },
            )
            HorizontalDivider()
        }
        if (view.more > 0u) item { TextButton(onClick = { send(Event.ShowMore) }) { Text("Show ${view.more} more") } }
    }
}

/** A thread (opening it marks it read) with a reply box. */
@Composable
fun ThreadScreen(view: ThreadView, send: Send) {
    var reply by rememberSaveable(view.id) { mutableStateOf("") }
    Column(Modifier.fillMaxSize()) {
        Text(view.subject, style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(16.dp, 8.dp))
        LazyColumn(Modifier.weight(1f), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            items(view.messages, key = { it.id }) { MessageBubble(it) }
        }
        if (view.canReply) {
            Row(Modifier.fillMaxWidth().padding(8.dp), verticalAlignment = Alignment.CenterVertically) {
                OutlinedTextField(
                    value = reply,
                    onValueChange = { reply = it },
                    label = { Text("Reply") },
                    modifier = Modifier.weight(1f),
                )
                TextButton(
                    enabled = reply.isNotBlank(),
                    onClick = {
                        send(Event.Messages(MessageEvent.Reply(reply.trim())))
                        reply = ""
                    },
                ) { Text("Send") }
            }
        }
    }
}

@Composable
private fun MessageBubble(m: MessageView) {
    Card(
        colors =
            CardDefaults.cardColors(
                containerColor = if (m.mine) MaterialTheme.colorScheme.primaryContainer else MaterialTheme.colorScheme.surfaceVariant,
            ),
        modifier = Modifier.fillMaxWidth().padding(horizontal = 12.dp),
    ) {
        Column(Modifier.padding(12.dp)) {
            Text("${m.author} · ${m.at}" + if (m.queued) " · waiting to be sent" else "", style = MaterialTheme.typography.labelSmall)
            Text(m.body)
            // Shown by name and size; downloading it on the phone is still to come (the web app does).
            m.attachment?.let { a -> Text("Attachment: ${a.fileName} (${a.size})", style = MaterialTheme.typography.bodySmall) }
            m.reads.forEach { r -> Text("${r.name}: ${r.readAt?.let { "read $it" } ?: "not read yet"}", style = MaterialTheme.typography.bodySmall) }
        }
    }
}

/** The accounting firm's message to one or many client companies. */
@Composable
fun ComposeScreen(view: ComposeView, send: Send) {
    val edit = { f: ComposeField -> send(Event.Messages(MessageEvent.EditCompose(f))) }
    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp)) {
        TextButton(onClick = { edit(ComposeField.AllCompanies) }) { Text("All companies") }
        view.companies.forEach { c ->
            Row(verticalAlignment = Alignment.CenterVertically) {
                Checkbox(checked = c.selected, onCheckedChange = { edit(ComposeField.ToggleCompany(c.id)) })
                Text(c.label)
            }
        }
        FormText("Subject", view.subject, true, null) { edit(ComposeField.Subject(it)) }
        OutlinedTextField(
            value = view.body,
            onValueChange = { edit(ComposeField.Body(it)) },
            label = { Text("Message") },
            minLines = 4,
            modifier = Modifier.fillMaxWidth().padding(top = 8.dp),
        )
        view.error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        Button(onClick = { send(Event.Messages(MessageEvent.Send)) }, Modifier.padding(top = 16.dp)) { Text("Send") }
    }
}

/**
 * The company's settings, read-only on the phone: admins and accountants change them on the web.
 */
@Composable
fun CatalogScreen(view: CatalogView) {
    LazyColumn(Modifier.fillMaxSize().padding(16.dp)) {
        item { Text(view.company, style = MaterialTheme.typography.titleMedium) }
        item { Text("Expense types", style = MaterialTheme.typography.titleSmall, modifier = Modifier.padding(top = 12.dp)) }
        items(view.expenseTypes, key = { "t" + it.id }) { Text("${it.code} ${it.name}" + if (it.active) "" else " (inactive)") }
        item { Text("Cards and own money", style = MaterialTheme.typography.titleSmall, modifier = Modifier.padding(top = 12.dp)) }
        items(view.paymentMethods, key = { "m" + it.id }) {
            Text(listOfNotNull(it.label, it.lastFour?.let { d -> "•••• $d" }, it.holder).joinToString(" · "))
        }
        item { Text("Approval rules", style = MaterialTheme.typography.titleSmall, modifier = Modifier.padding(top = 12.dp)) }
        items(view.approvalRules, key = { "r" + it.id }) { Text("${it.name}: ${it.summary}") }
        item { Text("Settings are changed on the web.", Modifier.padding(top = 16.dp)) }
    }
}
