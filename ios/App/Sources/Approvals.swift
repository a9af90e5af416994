import KvitsKit
import SharedTypes
import SwiftUI

struct ApprovalsScreen: View {
    @Environment(Core.self) private var core
    let view: ApprovalsView

    var body: some View {
        List {
            Section("To decide") {
                ForEach(view.pending, id: \.id) { task in
                    Button { core.send(.navigate(.approval(expenseId: task.id))) } label: { TaskRowView(task: task) }
                }
                if view.more > 0 { Button("Show \(view.more) more") { core.send(.showMore) } }
            }
            if !view.decided.isEmpty {
                Section("Decided") { ForEach(view.decided, id: \.id) { TaskRowView(task: $0) } }
            }
        }
        .refreshable { core.send(.sync(.now)) }
        .navigationTitle("Approvals")
    }
}

struct TaskRowView: View {
    let task: TaskRow
    var body: some View {
        HStack {
            if let thumb = task.thumbnail { ReceiptImage(image: thumb).frame(width: 44, height: 56) }
            VStack(alignment: .leading) {
                Text(task.submitter)
                Text([task.expenseType, task.amount, task.date].compactMap { $0 }.joined(separator: " · "))
                    .font(.caption)
            }
            Spacer()
            Text(task.statusText).font(.caption).foregroundStyle(.secondary)
        }
    }
}

struct ApprovalScreen: View {
    @Environment(Core.self) private var core
    let view: ApprovalView
    @State private var rejecting = false
    @State private var reason = ""
    @State private var zoomed: ImageRef?

    var body: some View {
        List {
            TaskRowView(task: view.task)
            if let note = view.note { Text(note) }
            ForEach(view.pages, id: \.sha256) { page in
                ReceiptImage(image: page.thumbnail).frame(height: 200).onTapGesture { zoomed = page.image }
            }
            ForEach(view.decisions, id: \.text) { d in Text(d.text) }
            if view.canDecide {
                Button("Approve") { core.send(.approvals(.approve(expenseId: view.task.id))) }
                Button("Reject…", role: .destructive) { rejecting = true }
            }
            if let error = view.rejectError { Text(error).foregroundStyle(.red) }
        }
        .navigationTitle("Receipt")
        .toolbar { Button("Back") { core.send(.back) } }
        .alert("Why is it rejected?", isPresented: $rejecting) {
            TextField("Reason", text: $reason)
            Button("Reject", role: .destructive) { core.send(.approvals(.reject(expenseId: view.task.id, reason: reason))) }
            Button("Cancel", role: .cancel) {}
        }
        .sheet(item: Binding(get: { zoomed.map(Zoom.init) }, set: { zoomed = $0?.image })) { zoom in
            PhotoViewer(image: zoom.image)
        }
    }
}

private struct Zoom: Identifiable {
    let image: ImageRef
    var id: String { image.fileRef ?? image.url ?? "" }
}

/// Full-screen photo with pinch to zoom.
struct PhotoViewer: View {
    let image: ImageRef
    @State private var scale: CGFloat = 1

    var body: some View {
        ReceiptImage(image: image)
            .scaleEffect(scale)
            .gesture(MagnificationGesture().onChanged { scale = max(1, $0) })
    }
}

struct InboxScreen: View {
    @Environment(Core.self) private var core
    let view: InboxView

    var body: some View {
        List {
            ForEach(view.threads, id: \.id) { t in
                Button { core.send(.navigate(.thread(threadId: t.id))) } label: {
                    VStack(alignment: .leading) {
                        HStack { Text(t.subject).bold(t.unread > 0); Spacer(); Text(t.lastAt).font(.caption) }
                        Text(t.preview).font(.caption).lineLimit(2)
                    }
                }
            }
            if view.more > 0 { Button("Show \(view.more) more") { core.send(.showMore) } }
        }
        .refreshable { core.send(.sync(.now)) }
        .navigationTitle("Messages")
    }
}

struct ThreadScreen: View {
    @Environment(Core.self) private var core
    let view: ThreadView
    @State private var reply = ""

    var body: some View {
        VStack {
            List(view.messages, id: \.id) { m in
                VStack(alignment: m.mine ? .trailing : .leading) {
                    Text(m.author).font(.caption)
                    Text(m.body)
                    // Shown by name and size; downloading it on the phone is still to come (the web app does).
                    if let a = m.attachment {
                        Label("\(a.fileName) (\(a.size))", systemImage: "paperclip").font(.caption)
                    }
                    Text(m.queued ? "Waiting to send" : m.at).font(.caption2).foregroundStyle(.secondary)
                }
                .frame(maxWidth: .infinity, alignment: m.mine ? .trailing : .leading)
            }
            if view.canReply {
                HStack {
                    TextField("Reply", text: $reply, axis: .vertical)
                    Button("Send") { core.send(.messages(.reply(body: reply))); reply = "" }.disabled(reply.isEmpty)
                }
                .padding()
            }
        }
        .navigationTitle(view.subject)
        .toolbar { Button("Back") { core.send(.back) } }
    }
}
