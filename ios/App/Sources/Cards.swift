import KvitsKit
import SharedTypes
import SwiftUI

/// The card holder's payments without a receipt (offline too): capture one, or say why not.
struct CardsScreen: View {
    @Environment(Core.self) private var core
    let view: CardsView

    var body: some View {
        List {
            Section {
                Toggle("Show every payment", isOn: Binding(
                    get: { view.showAll },
                    set: { core.send(.cards(.showAll(on: $0))) }
                ))
                Text(view.missing == 0 ? "Every payment has its receipt." : "\(view.missing) without a receipt")
                    .foregroundStyle(.secondary)
            }
            ForEach(view.rows, id: \.id) { row in CardPaymentRowView(row: row) }
            if view.more > 0 { Button("Show \(view.more) more") { core.send(.showMore) } }
        }
        .refreshable { core.send(.sync(.now)) }
        .navigationTitle(view.title)
    }
}

struct CardPaymentRowView: View {
    @Environment(Core.self) private var core
    let row: CardPaymentRow

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            Text("\(row.merchant) · \(row.amount)").font(.headline)
            Text([row.date, row.card, row.originalAmount].compactMap { $0 }.joined(separator: " · "))
                .font(.caption)
            Text(row.stateText).font(.caption).foregroundStyle(.secondary)
            ForEach(row.suggestions, id: \.id) { s in
                Button("This receipt: \(s.label)") {
                    core.send(.cards(.match(transactionId: row.id, expenseId: s.id)))
                }
            }
            HStack {
                if row.canCapture {
                    Button("Capture receipt") { core.send(.cards(.captureFor(transactionId: row.id))) }
                        .buttonStyle(.borderedProminent)
                }
                if row.canDeclare {
                    Menu("No receipt") {
                        Button("Lost") {
                            core.send(.cards(.declareNoReceipt(transactionId: row.id, reason: .lost, note: "")))
                        }
                        Button("None issued") {
                            core.send(.cards(.declareNoReceipt(transactionId: row.id, reason: .noneIssued, note: "")))
                        }
                    }
                }
                if row.canUnmatch { Button("Undo") { core.send(.cards(.unmatch(transactionId: row.id))) } }
                if let id = row.receiptId {
                    Button("Open receipt") { core.send(.navigate(.receipt(expenseId: id))) }
                }
            }
            .buttonStyle(.bordered)
        }
    }
}
