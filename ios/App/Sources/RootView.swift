import KvitsKit
import SharedTypes
import SwiftUI

/// The core decides the screen; this view only renders `core.view` and sends events.
struct RootView: View {
    @Environment(Core.self) private var core

    var body: some View {
        let vm = core.view
        VStack(spacing: 0) {
            StatusBanner(status: vm.status)
            NavigationStack {
                screen(vm.screen)
                    .toolbar {
                        if let user = vm.user, user.companies.count > 1 {
                            ToolbarItem(placement: .topBarLeading) { CompanySwitcher(user: user) }
                        }
                    }
            }
            if !vm.tabs.isEmpty { TabBar(tabs: vm.tabs) }
        }
        .alert(vm.alert ?? "", isPresented: .constant(vm.alert != nil)) {
            Button("OK") { core.send(.dismissAlert) }
        }
    }

    @ViewBuilder
    private func screen(_ screen: ScreenView) -> some View {
        switch screen {
        case .loading: ProgressView()
        case .broken(let message):
            ContentUnavailableView("Kvits cannot open its data", systemImage: "externaldrive.badge.xmark",
                                   description: Text(message))
        case .signIn(let v): SignInScreen(view: v)
        case .receipts(let v): ReceiptsScreen(view: v)
        case .receipt(let v): ReceiptFormScreen(view: v)
        case .approvals(let v): ApprovalsScreen(view: v)
        case .approval(let v): ApprovalScreen(view: v)
        case .inbox(let v): InboxScreen(view: v)
        case .thread(let v): ThreadScreen(view: v)
        case .cards(let v): CardsScreen(view: v)
        case .compose, .catalog, .firm, .clients, .export:
            // Accountants and admins use the web app for these.
            ContentUnavailableView("Open Kvits on the web for this", systemImage: "desktopcomputer")
        }
    }
}

/// Offline / problem banner with the number of changes waiting to be sent.
struct StatusBanner: View {
    let status: StatusView
    var body: some View {
        if !status.online || status.problem != nil {
            HStack {
                Image(systemName: status.online ? "exclamationmark.icloud" : "wifi.slash")
                Text(status.problem ?? "Offline")
                Spacer()
                if status.pending > 0 { Text("\(status.pending) waiting") }
            }
            .font(.footnote)
            .padding(8)
            .background(.yellow.opacity(0.3))
        }
    }
}

struct CompanySwitcher: View {
    @Environment(Core.self) private var core
    let user: UserView
    var body: some View {
        Menu(user.companyName ?? "Company") {
            ForEach(user.companies, id: \.id) { c in
                Button { core.send(.session(.selectCompany(companyId: c.id))) } label: {
                    if c.selected { Label(c.label, systemImage: "checkmark") } else { Text(c.label) }
                }
            }
        }
    }
}

struct TabBar: View {
    @Environment(Core.self) private var core
    let tabs: [TabView]
    var body: some View {
        HStack {
            ForEach(tabs, id: \.label) { tab in
                Button { core.send(.navigate(route(tab.tab))) } label: {
                    VStack {
                        Image(systemName: icon(tab.tab))
                        Text(tab.label + (tab.badge > 0 ? " (\(tab.badge))" : "")).font(.caption)
                    }
                    .frame(maxWidth: .infinity)
                    .foregroundStyle(tab.selected ? Color.accentColor : .secondary)
                }
            }
        }
        .padding(.vertical, 6)
    }

    private func route(_ tab: Tab) -> Route {
        switch tab {
        case .receipts: .receipts
        case .approvals: .approvals
        case .messages: .inbox
        case .settings: .catalog
        case .firm: .firm
        case .clients: .clients
        case .cards: .cards
        }
    }

    private func icon(_ tab: Tab) -> String {
        switch tab {
        case .receipts: "doc.text"
        case .approvals: "checkmark.seal"
        case .messages: "bubble.left.and.bubble.right"
        case .settings: "gearshape"
        case .firm: "building.2"
        case .clients: "person.3"
        case .cards: "creditcard"
        }
    }
}

struct SignInScreen: View {
    @Environment(Core.self) private var core
    let view: SignInView
    @State private var email = ""
    @State private var password = ""

    var body: some View {
        Form {
            TextField("Email", text: $email)
                .textContentType(.username).keyboardType(.emailAddress).textInputAutocapitalization(.never)
            SecureField("Password", text: $password).textContentType(.password)
            if let error = view.error { Text(error).foregroundStyle(.red) }
            Button(view.busy ? "Signing in…" : "Sign in") {
                core.send(.session(.signIn(email: email, password: password)))
            }
            .disabled(view.busy || email.isEmpty)
        }
        .navigationTitle("Kvits")
        .onAppear { if email.isEmpty { email = view.email } }
    }
}

/// A local file (`fileRef`) or a server image (`url`, fetched with the session's header).
struct ReceiptImage: View {
    @Environment(Core.self) private var core
    let image: ImageRef
    @State private var loaded: UIImage?

    var body: some View {
        Group {
            if let loaded {
                Image(uiImage: loaded).resizable().scaledToFit()
            } else {
                Color.secondary.opacity(0.2)
            }
        }
        .task(id: image) { loaded = await load() }
    }

    private func load() async -> UIImage? {
        if let file = image.fileRef { return UIImage(contentsOfFile: file) }
        guard let path = image.url, let server = Bundle.main.object(forInfoDictionaryKey: "KvitsServerURL") as? String,
              let url = URL(string: server + path) else { return nil }
        var request = URLRequest(url: url)
        if let auth = core.view.imageAuthorization { request.setValue(auth, forHTTPHeaderField: "Authorization") }
        guard let (data, _) = try? await URLSession.shared.data(for: request) else { return nil }
        return UIImage(data: data)
    }
}
