package app.kvits.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.pager.HorizontalPager
import androidx.compose.foundation.pager.rememberPagerState
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.unit.dp
import app.kvits.shared.ApprovalEvent
import app.kvits.shared.ApprovalView
import app.kvits.shared.ApprovalsView
import app.kvits.shared.Event
import app.kvits.shared.Route
import app.kvits.shared.TaskRow

@Composable
fun ApprovalsScreen(view: ApprovalsView, send: Send, images: ImageAccess) {
    LazyColumn(Modifier.fillMaxSize()) {
        item { Section("Waiting for you") }
        if (view.pending.isEmpty()) item { Text("Nothing to approve.", Modifier.padding(16.dp)) }
        items(view.pending, key = { "p" + it.id }) { TaskItem(it, send, images) }
        if (view.more > 0u) item { TextButton(onClick = { send(Event.ShowMore) }) { Text("Show ${view.more} more") } }
        if (view.decided.isNotEmpty()) item { Section("Decided by you") }
        items(view.decided, key = { "d" + it.id }) { TaskItem(it, send, images) }
    }
}

@Composable
private fun Section(title: String) {
    Text(title, style = MaterialTheme.typography.titleSmall, modifier = Modifier.padding(16.dp, 16.dp, 16.dp, 4.dp))
}

@Composable
private fun TaskItem(task: TaskRow, send: Send, images: ImageAccess) {
    ListItem(
        modifier = Modifier.clickable { send(Event.Navigate(Route.Approval(task.id))) },
        leadingContent = { task.thumbnail?.let { ReceiptImage(it, images, "Receipt photo", Modifier.size(56.dp)) } },
        headlineContent = { Text(listOfNotNull(task.submitter, task.amount).joinToString(" · ")) },
        supportingContent = {
            Column {
                Text(listOfNotNull(task.expenseType, task.merchant, task.date).joinToString(" · "))
                Text(task.statusText)
            }
        },
    )
    HorizontalDivider()
}

/** One receipt to decide: its photos (swipe between pages), its fields, approve or reject with a reason. */
@Composable
fun ApprovalScreen(view: ApprovalView, send: Send, images: ImageAccess) {
    var reason by rememberSaveable(view.task.id) { mutableStateOf("") }
    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp)) {
        if (view.pages.isNotEmpty()) {
            val pager = rememberPagerState { view.pages.size }
            HorizontalPager(pager, Modifier.fillMaxWidth().height(420.dp)) { index ->
                ReceiptImage(
                    view.pages[index].image,
                    images,
                    "Page ${index + 1} of ${view.pages.size}",
                    Modifier.fillMaxSize(),
                    contentScale = ContentScale.Fit,
                )
            }
            if (view.pages.size > 1) Text("Page ${pager.currentPage + 1} of ${view.pages.size}")
        }
        val t = view.task
        Text(t.submitter, style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(top = 8.dp))
        listOfNotNull(t.amount, t.expenseType, t.paymentMethod, t.merchant, t.date, t.submittedAt?.let { "Submitted $it" })
            .forEach { Text(it) }
        view.note?.let { Text("Note: $it") }
        Text(t.statusText, Modifier.padding(top = 8.dp))
        view.decisions.forEach { d -> Text(d.text + (d.reason?.let { " — $it" } ?: "")) }
        if (view.canDecide) {
            OutlinedTextField(
                value = reason,
                onValueChange = { reason = it },
                label = { Text("Reason (needed to reject)") },
                isError = view.rejectError != null,
                supportingText = view.rejectError?.let { { Text(it) } },
                modifier = Modifier.fillMaxWidth().padding(top = 16.dp),
            )
            Row(Modifier.padding(top = 8.dp), horizontalArrangement = Arrangement.spacedBy(12.dp)) {
                Button(onClick = { send(Event.Approvals(ApprovalEvent.Approve(t.id))) }) { Text("Approve") }
                OutlinedButton(onClick = { send(Event.Approvals(ApprovalEvent.Reject(t.id, reason.trim()))) }) { Text("Reject") }
            }
        }
    }
}
