import KvitsKit
import PhotosUI
import SharedTypes
import SwiftUI

/// Photos from the camera or the library are written into the app's storage first; the core
/// gets only the file's path (`PhotoCaptured`), never bytes.
enum Captures {
    static func save(_ data: Data) throws -> String {
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
            .appendingPathComponent("captures")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("\(UUID().uuidString).jpg")
        try data.write(to: file, options: .atomic)
        return file.path
    }
}

/// Camera capture and library import, shared by the list and the form (a photo on an editable
/// form becomes another page).
struct CaptureButtons: View {
    @Environment(Core.self) private var core
    @State private var showCamera = false
    @State private var picked: [PhotosPickerItem] = []

    var body: some View {
        HStack {
            if UIImagePickerController.isSourceTypeAvailable(.camera) {
                Button { showCamera = true } label: { Label("Photograph", systemImage: "camera") }
            }
            PhotosPicker(selection: $picked, maxSelectionCount: 5, matching: .images) {
                Label("Import", systemImage: "photo.on.rectangle")
            }
        }
        .fullScreenCover(isPresented: $showCamera) {
            CameraPicker { data in
                if let path = try? Captures.save(data) { core.send(.receipts(.photoCaptured(fileRef: path))) }
            }
            .ignoresSafeArea()
        }
        .onChange(of: picked) { _, items in
            guard !items.isEmpty else { return }
            picked = []
            Task {
                for item in items {
                    if let data = try? await item.loadTransferable(type: Data.self),
                       let path = try? Captures.save(data) {
                        core.send(.receipts(.photoCaptured(fileRef: path)))
                    }
                }
            }
        }
    }
}

/// `UIImagePickerController` with the camera, wrapped for SwiftUI. The original JPEG data
/// (with its EXIF orientation and date) goes to the core's photo pipeline.
struct CameraPicker: UIViewControllerRepresentable {
    let taken: (Data) -> Void
    @Environment(\.dismiss) private var dismiss

    func makeUIViewController(context: Context) -> UIImagePickerController {
        let picker = UIImagePickerController()
        picker.sourceType = .camera
        picker.delegate = context.coordinator
        return picker
    }

    func updateUIViewController(_ controller: UIImagePickerController, context: Context) {}

    func makeCoordinator() -> Coordinator { Coordinator(self) }

    final class Coordinator: NSObject, UIImagePickerControllerDelegate, UINavigationControllerDelegate {
        let parent: CameraPicker
        init(_ parent: CameraPicker) { self.parent = parent }

        func imagePickerController(
            _ picker: UIImagePickerController,
            didFinishPickingMediaWithInfo info: [UIImagePickerController.InfoKey: Any]
        ) {
            if let image = info[.originalImage] as? UIImage, let data = image.jpegData(compressionQuality: 0.95) {
                parent.taken(data)
            }
            parent.dismiss()
        }

        func imagePickerControllerDidCancel(_ picker: UIImagePickerController) { parent.dismiss() }
    }
}

struct ReceiptsScreen: View {
    @Environment(Core.self) private var core
    let view: ReceiptsView

    var body: some View {
        List {
            if view.canCapture { CaptureButtons() }
            if view.processing > 0 { Label("Preparing \(view.processing) photo(s)…", systemImage: "hourglass") }
            ForEach(view.receipts, id: \.id) { row in
                Button { core.send(.navigate(.receipt(expenseId: row.id))) } label: { ReceiptRowView(row: row) }
            }
            if view.more > 0 { Button("Show \(view.more) more") { core.send(.showMore) } }
        }
        .refreshable { core.send(.sync(.now)) }
        .navigationTitle("Receipts")
    }
}

struct ReceiptRowView: View {
    let row: ReceiptRow
    var body: some View {
        HStack {
            if let thumb = row.thumbnail {
                ReceiptImage(image: thumb).frame(width: 44, height: 56).clipShape(RoundedRectangle(cornerRadius: 4))
            }
            VStack(alignment: .leading) {
                Text(row.title)
                Text([row.date, row.amount].compactMap { $0 }.joined(separator: " · ")).font(.caption)
            }
            Spacer()
            if case .uploading(let percent) = row.status {
                ProgressView(value: Double(percent), total: 100).frame(width: 60)
            } else {
                Text(row.statusText).font(.caption).foregroundStyle(.secondary)
            }
        }
    }
}

struct ReceiptFormScreen: View {
    @Environment(Core.self) private var core
    let view: ReceiptView

    var body: some View {
        Form {
            Section("Pages") {
                ScrollView(.horizontal) {
                    HStack {
                        ForEach(view.pages, id: \.sha256) { page in
                            ReceiptImage(image: page.thumbnail).frame(width: 90, height: 120)
                                .contextMenu {
                                    if view.editable {
                                        Button("Remove", role: .destructive) { core.send(.receipts(.removePage(sha256: page.sha256))) }
                                    }
                                }
                        }
                        if view.processing > 0 { ProgressView() }
                    }
                }
                if view.editable { CaptureButtons() }
            }
            Section("Expense") {
                ChoicePicker(title: "Type", choices: view.expenseTypes) { core.send(.receipts(.editForm(.expenseType($0)))) }
                ChoicePicker(title: "Paid with", choices: view.paymentMethods) { core.send(.receipts(.editForm(.paymentMethod($0)))) }
                FieldText(title: "Amount", value: view.amount, keyboard: .decimalPad) { core.send(.receipts(.editForm(.amount($0)))) }
                FieldText(title: "Currency", value: view.currency) { core.send(.receipts(.editForm(.currency($0)))) }
                if let base = view.baseCurrency {
                    FieldText(title: "Amount in \(base)", value: view.baseAmount, keyboard: .decimalPad) { core.send(.receipts(.editForm(.baseAmount($0)))) }
                }
                FieldText(title: "Date (YYYY-MM-DD)", value: view.date) { core.send(.receipts(.editForm(.date($0)))) }
                FieldText(title: "Merchant", value: view.merchant) { core.send(.receipts(.editForm(.merchant($0)))) }
                FieldText(title: "Note", value: view.note) { core.send(.receipts(.editForm(.note($0)))) }
            }
            .disabled(!view.editable)
            if let lines = view.vatLines {
                VatLinesSection(view: lines)
            } else if view.vat != nil || view.accountCode != nil {
                Section("Bookkeeping") {
                    if let vat = view.vat { Text("VAT: \(vat)") }
                    if let code = view.accountCode { Text("Account: \(code)") }
                }
            }
            if let answer = view.answer { AnswerSection(view: answer) }
            ForEach(view.errors, id: \.field) { e in Text(e.message).foregroundStyle(.red) }
            ForEach(view.decisions, id: \.text) { d in
                VStack(alignment: .leading) { Text(d.text); if let r = d.reason { Text(r).font(.caption) } }
            }
            if view.editable {
                Button("Submit") { core.send(.receipts(.submit)) }
                Button("Save draft") { core.send(.receipts(.saveDraft)) }
            }
            if view.canDelete { Button("Delete", role: .destructive) { core.send(.receipts(.delete)) } }
        }
        .navigationTitle(view.statusText)
        .toolbar { Button("Back") { core.send(.back) } }
    }
}

/// The VAT lines, one per rate. A line with a rate and no amounts takes the rest of the
/// receipt's amount, split by its rate (the core does the sum); errors show with the form's.
struct VatLinesSection: View {
    @Environment(Core.self) private var core
    let view: VatLinesView

    var body: some View {
        Section("VAT (\(view.currency))") {
            ForEach(Array(view.lines.enumerated()), id: \.offset) { i, line in
                let n = UInt32(i)
                HStack {
                    FieldText(title: "Rate %", value: line.rate, keyboard: .decimalPad) { edit(.rate(line: n, value: $0)) }
                    FieldText(title: "Net", value: line.net, keyboard: .decimalPad) { edit(.net(line: n, value: $0)) }
                    FieldText(title: "VAT", value: line.vat, keyboard: .decimalPad) { edit(.amount(line: n, value: $0)) }
                }
                // Lines move up when one is removed: the fields start again from the core's values.
                .id("\(i)/\(view.lines.count)")
                .swipeActions { Button("Remove", role: .destructive) { edit(.remove(line: n)) } }
            }
            if let total = view.total { Text("Lines add up to \(total)").font(.caption) }
            if view.canAdd { Button("Add VAT rate") { edit(.add) } }
        }
    }

    private func edit(_ change: VatEdit) { core.send(.receipts(.editForm(.vat(change)))) }
}

/// The firm's question the receipt came back with, and the employee's answer to it.
struct AnswerSection: View {
    @Environment(Core.self) private var core
    let view: AnswerView

    var body: some View {
        Section("Question from \(view.askedBy)") {
            Text("“\(view.question)”").italic()
            if let sent = view.sent {
                Text("Your answer: “\(sent)”")
            } else {
                FieldText(title: "Your answer", value: view.answer) { core.send(.review(.editAnswer($0))) }
                ForEach(view.errors, id: \.field) { e in Text(e.message).foregroundStyle(.red) }
                Button("Send answer") { core.send(.review(.sendAnswer)) }
            }
        }
    }
}

struct ChoicePicker: View {
    let title: String
    let choices: [Choice]
    let picked: (String?) -> Void

    var body: some View {
        Picker(title, selection: Binding(
            get: { choices.first(where: \.selected)?.id },
            set: { picked($0) }
        )) {
            Text("—").tag(String?.none)
            ForEach(choices, id: \.id) { c in
                Text(c.detail.map { "\(c.label) (\($0))" } ?? c.label).tag(Optional(c.id))
            }
        }
    }
}

/// A text field that edits locally and sends the value to the core as typed.
struct FieldText: View {
    let title: String
    let value: String
    var keyboard: UIKeyboardType = .default
    let changed: (String) -> Void
    @State private var text = ""

    var body: some View {
        TextField(title, text: $text)
            .keyboardType(keyboard)
            .onAppear { text = value }
            .onChange(of: text) { _, new in if new != value { changed(new) } }
    }
}
