//! The view model: exactly what a shell renders, one variant per screen, plus the status bar,
//! notices and navigation every screen shows. Texts are final (formatted times, amounts,
//! reasons); shells add no logic. Ids are strings, images are refs (a local file or a server
//! path), never bytes.

use facet::Facet;
use kvits_domain::{State as _, is_task_for, message_recipients};
use kvits_protocol::{Company, DecisionKind, Expense, ExpenseStatus, PaymentKind, Role, Thread};
use serde::{Deserialize, Serialize};

use crate::format;
use crate::model::{Blocked, Model, Phase, Screen, Step};

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ViewModel {
    pub screen: ScreenView,
    pub status: StatusView,
    /// The signed-in user, with the company switcher.
    pub user: Option<UserView>,
    /// The main navigation for the user's roles.
    pub tabs: Vec<TabView>,
    /// Things the user must know (refused changes, lost approval races), newest first.
    pub notices: Vec<NoticeView>,
    /// A message about the user's last action.
    pub alert: Option<String>,
    /// A change is being saved on the device.
    pub saving: bool,
    /// The `Authorization` header value for loading server images (an [`ImageRef`]'s `url`,
    /// a path on the sync server); `None` when signed out.
    pub image_authorization: Option<String>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[repr(C)]
pub enum ScreenView {
    Loading,
    /// The device's data could not be opened.
    Broken {
        message: String,
    },
    SignIn(SignInView),
    Receipts(ReceiptsView),
    Receipt(ReceiptView),
    Approvals(ApprovalsView),
    Approval(ApprovalView),
    Inbox(InboxView),
    Thread(ThreadView),
    Compose(ComposeView),
    Catalog(CatalogView),
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StatusView {
    pub online: bool,
    /// Talking to the server right now (not counting the idle wait for changes).
    pub syncing: bool,
    /// Things (receipts, decisions, messages) saved on this device and not yet accepted by the
    /// server.
    pub pending: u32,
    /// When the device last heard from the server, local time.
    pub last_synced: Option<String>,
    /// Why syncing does not work right now.
    pub problem: Option<String>,
    pub needs_sign_in: bool,
    pub needs_update: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UserView {
    pub name: String,
    pub email: String,
    pub firm: String,
    pub company_id: Option<String>,
    pub company_name: Option<String>,
    /// The user's roles in the current company.
    pub roles: Vec<String>,
    /// Every company the user belongs to (shown as a switcher when there are several).
    pub companies: Vec<Choice>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub enum Tab {
    Receipts,
    Approvals,
    Messages,
    /// The company's expense types, cards and approval rules.
    Settings,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TabView {
    pub tab: Tab,
    pub label: String,
    /// Pending tasks or unread messages.
    pub badge: u32,
    pub selected: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct NoticeView {
    pub id: String,
    pub text: String,
    pub at: String,
    pub expense_id: Option<String>,
}

/// An option in a picker.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Choice {
    pub id: String,
    pub label: String,
    /// A second line or group name ("Your cards", "Company cards", ...).
    pub detail: Option<String>,
    pub selected: bool,
}

/// An image: a file on this device, or a path on the server (fetched with the token).
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ImageRef {
    pub file_ref: Option<String>,
    pub url: Option<String>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SignInView {
    pub email: String,
    pub error: Option<String>,
    pub busy: bool,
}

/// Where a receipt stands, as its owner sees it.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[repr(C)]
pub enum ReceiptStatus {
    Draft,
    /// Saved on the device, waiting for the network.
    Queued,
    Uploading {
        percent: u8,
    },
    /// The server has it.
    Sent,
    Approved,
    Rejected {
        reason: Option<String>,
    },
    Returned {
        reason: Option<String>,
    },
    /// The server refused a change to it.
    NotAccepted {
        reason: String,
    },
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReceiptRow {
    pub id: String,
    pub title: String,
    pub amount: Option<String>,
    pub date: Option<String>,
    pub thumbnail: Option<ImageRef>,
    pub pages: u32,
    pub status: ReceiptStatus,
    pub status_text: String,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReceiptsView {
    pub can_capture: bool,
    /// Photos being processed right now.
    pub processing: u32,
    pub receipts: Vec<ReceiptRow>,
    /// Rows not shown yet ("show more").
    pub more: u32,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PageView {
    pub sha256: String,
    pub image: ImageRef,
    pub thumbnail: ImageRef,
    pub size: String,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DecisionView {
    pub text: String,
    pub reason: Option<String>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReceiptView {
    pub id: String,
    pub editable: bool,
    pub status: ReceiptStatus,
    pub status_text: String,
    pub pages: Vec<PageView>,
    pub processing: u32,
    pub expense_types: Vec<Choice>,
    pub payment_methods: Vec<Choice>,
    pub amount: String,
    pub currency: String,
    pub date: String,
    pub merchant: String,
    pub note: String,
    pub errors: Vec<FieldError>,
    pub can_delete: bool,
    pub decisions: Vec<DecisionView>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TaskRow {
    pub id: String,
    pub submitter: String,
    pub expense_type: Option<String>,
    pub payment_method: Option<String>,
    pub amount: Option<String>,
    pub date: Option<String>,
    pub merchant: Option<String>,
    pub thumbnail: Option<ImageRef>,
    pub submitted_at: Option<String>,
    /// Waiting for this user's decision.
    pub pending: bool,
    pub status_text: String,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ApprovalsView {
    /// Oldest first.
    pub pending: Vec<TaskRow>,
    /// Pending tasks not shown yet ("show more").
    pub more: u32,
    /// The last few decided by this user, newest first.
    pub decided: Vec<TaskRow>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ApprovalView {
    pub task: TaskRow,
    pub pages: Vec<PageView>,
    pub note: Option<String>,
    pub can_decide: bool,
    pub reject_error: Option<String>,
    pub decisions: Vec<DecisionView>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ThreadRow {
    pub id: String,
    pub company: String,
    pub subject: String,
    pub preview: String,
    pub last_at: String,
    pub unread: u32,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InboxView {
    pub threads: Vec<ThreadRow>,
    /// Threads not shown yet ("show more").
    pub more: u32,
    pub unread: u32,
    pub can_compose: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReadView {
    pub name: String,
    /// Local date and time, or `None` while unread.
    pub read_at: Option<String>,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MessageView {
    pub id: String,
    pub author: String,
    pub mine: bool,
    pub body: String,
    pub at: String,
    /// Sent, not yet accepted by the server.
    pub queued: bool,
    /// Who of the company read it and when (shown to the accounting firm).
    pub reads: Vec<ReadView>,
    /// The file that came with it (a statement as a PDF, a photo), if any.
    pub attachment: Option<AttachmentView>,
}

/// A message's attachment: its name, type and size to show, and where to fetch it (the same
/// authorised download as a receipt photo).
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AttachmentView {
    pub file_name: String,
    pub content_type: String,
    /// `48 KB`, `1.4 MB`.
    pub size: String,
    pub file: ImageRef,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ThreadView {
    pub id: String,
    pub subject: String,
    pub company: String,
    pub messages: Vec<MessageView>,
    pub can_reply: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ComposeView {
    pub companies: Vec<Choice>,
    pub subject: String,
    pub body: String,
    pub error: Option<String>,
}

/// Decisions the approvals screen recalls.
const RECENT_DECISIONS: usize = 20;

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExpenseTypeRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub active: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PaymentMethodRow {
    pub id: String,
    pub own_money: bool,
    pub label: String,
    pub last_four: Option<String>,
    pub holder_id: Option<String>,
    pub holder: Option<String>,
    pub active: bool,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ApprovalRuleRow {
    pub id: String,
    pub name: String,
    pub position: i32,
    pub active: bool,
    pub document_type: Option<crate::event::DocumentKind>,
    pub expense_type_ids: Vec<String>,
    /// As the form shows them (`100.00`); empty for no bound.
    pub min_amount: String,
    pub max_amount: String,
    /// Each step's approvers, by name.
    pub steps: Vec<Vec<Choice>>,
    /// "Fuel, Meals from 100.00 — Mark Manager or Alice Approver, then Vera Director".
    pub summary: String,
}

#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MemberRow {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
}

/// A company's settings, for its admins and the firm's accountants.
#[derive(Facet, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CatalogView {
    pub company: String,
    pub expense_types: Vec<ExpenseTypeRow>,
    pub payment_methods: Vec<PaymentMethodRow>,
    /// In the order routing tries them.
    pub approval_rules: Vec<ApprovalRuleRow>,
    pub members: Vec<MemberRow>,
    /// Who can be an approver in a rule's step.
    pub approvers: Vec<Choice>,
    /// The roles a member can be given (id = the role name `InviteUser` and `SetMemberRoles`
    /// take).
    pub roles: Vec<Choice>,
    /// An invitation or role change is on its way to the server.
    pub people_busy: bool,
    /// Why the last invitation or role change did not happen.
    pub people_error: Option<String>,
    /// What the last invitation or role change did.
    pub people_done: Option<String>,
    /// The link to hand to the person just invited.
    pub invite_link: Option<String>,
}

impl Model {
    pub fn view(&self) -> ViewModel {
        let screen = match &self.phase {
            Phase::NotStarted | Phase::Loading => ScreenView::Loading,
            Phase::Broken(message) => ScreenView::Broken {
                message: message.clone(),
            },
            Phase::Ready => self.screen_view(),
        };
        ViewModel {
            screen,
            status: self.status_view(),
            user: self.user_view(),
            tabs: self.tabs(),
            notices: self
                .local
                .notices
                .values()
                .rev()
                .map(|n| NoticeView {
                    id: n.id.clone(),
                    text: n.text.clone(),
                    at: format::date_time(n.at, self.offset()),
                    expense_id: n.expense_id.map(|e| e.to_string()),
                })
                .collect(),
            alert: self.alert.clone(),
            saving: self.store.busy(),
            image_authorization: self
                .local
                .session
                .as_ref()
                .and_then(|s| s.token.as_ref())
                .map(|token| format!("Bearer {token}")),
        }
    }

    fn offset(&self) -> i32 {
        self.config.utc_offset_minutes
    }

    fn screen_view(&self) -> ScreenView {
        match &self.screen {
            Screen::Loading => ScreenView::Loading,
            Screen::SignIn => ScreenView::SignIn(SignInView {
                email: self.sign_in.email.clone(),
                error: self.sign_in.error.clone(),
                busy: self.sign_in.op.is_some(),
            }),
            Screen::Receipts => ScreenView::Receipts(self.receipts_view()),
            Screen::Receipt(id) => match self.receipt_view(*id) {
                Some(v) => ScreenView::Receipt(v),
                None => ScreenView::Receipts(self.receipts_view()),
            },
            Screen::Approvals => ScreenView::Approvals(self.approvals_view()),
            Screen::Approval(id) => match self.predicted.expense(*id) {
                Some(e) => ScreenView::Approval(self.approval_view(&e)),
                None => ScreenView::Approvals(self.approvals_view()),
            },
            Screen::Inbox => ScreenView::Inbox(self.inbox_view()),
            Screen::Thread(id) => match self.predicted.thread(*id) {
                Some(t) => ScreenView::Thread(self.thread_view(&t)),
                None => ScreenView::Inbox(self.inbox_view()),
            },
            Screen::Compose => ScreenView::Compose(self.compose_view()),
            Screen::Catalog => ScreenView::Catalog(self.catalog_view()),
        }
    }

    fn status_view(&self) -> StatusView {
        let syncing = matches!(
            self.sync.step,
            Step::Me { .. } | Step::Push { .. } | Step::Upload { .. } | Step::Applying
        ) || matches!(self.sync.step, Step::Pull { long: false, .. });
        StatusView {
            online: self.sync.online,
            syncing,
            pending: u32::try_from(self.local.unsent_items()).unwrap_or(u32::MAX),
            last_synced: self
                .local
                .sync
                .last_synced_at
                .map(|t| format::date_time(t, self.offset())),
            problem: self.sync.last_error.clone(),
            needs_sign_in: self.sync.blocked == Some(Blocked::SignIn),
            needs_update: self.sync.blocked == Some(Blocked::Upgrade),
        }
    }

    fn user_view(&self) -> Option<UserView> {
        let s = self.local.session.as_ref()?;
        let company = s
            .company_id
            .and_then(|c| s.session.memberships.iter().find(|m| m.company_id == c));
        Some(UserView {
            name: s.session.user.name.clone(),
            email: s.session.user.email.clone(),
            firm: s.session.firm.name.clone(),
            company_id: company.map(|m| m.company_id.to_string()),
            company_name: company.map(|m| m.company_name.clone()),
            roles: company
                .map(|m| m.roles.iter().map(|r| r.as_str().to_string()).collect())
                .unwrap_or_default(),
            companies: s
                .session
                .memberships
                .iter()
                .map(|m| Choice {
                    id: m.company_id.to_string(),
                    label: m.company_name.clone(),
                    detail: None,
                    selected: Some(m.company_id) == s.company_id,
                })
                .collect(),
        })
    }

    fn tabs(&self) -> Vec<TabView> {
        if self.phase != Phase::Ready
            || self.local.session.is_none()
            || matches!(self.screen, Screen::SignIn | Screen::Loading)
        {
            return Vec::new();
        }
        let selected = match self.screen {
            Screen::Receipts | Screen::Receipt(_) => Some(Tab::Receipts),
            Screen::Approvals | Screen::Approval(_) => Some(Tab::Approvals),
            Screen::Inbox | Screen::Thread(_) | Screen::Compose => Some(Tab::Messages),
            Screen::Catalog => Some(Tab::Settings),
            Screen::Loading | Screen::SignIn => None,
        };
        let mut tabs = Vec::new();
        let mut push = |tab: Tab, label: &str, badge: u32| {
            tabs.push(TabView {
                tab,
                label: label.into(),
                badge,
                selected: selected == Some(tab),
            });
        };
        let roles = self.roles();
        if roles.iter().any(|r| {
            matches!(
                r,
                Role::Employee | Role::Approver | Role::CompanyAdmin | Role::Accountant
            )
        }) {
            push(Tab::Receipts, "Receipts", 0);
        }
        if roles
            .iter()
            .any(|r| matches!(r, Role::Approver | Role::CompanyAdmin))
        {
            push(Tab::Approvals, "Approvals", self.derived.tasks.len() as u32);
        }
        if roles
            .iter()
            .any(|r| matches!(r, Role::Client | Role::CompanyAdmin | Role::Accountant))
        {
            push(Tab::Messages, "Messages", self.derived.unread);
        }
        if self.manages_catalog() {
            push(Tab::Settings, "Company settings", 0);
        }
        tabs
    }

    /// The receipts the list shows, newest first. "Newest" is the capture order: receipts get
    /// UUIDv7 ids from the capturing device's clock, which orders one device's captures
    /// exactly; `created_at` would mix that clock with the server's (a synced receipt carries the
    /// server's time, a queued one the device's) and reorder them whenever the two disagree.
    fn listed_receipts(&self) -> Vec<kvits_protocol::ExpenseId> {
        let me = self.actor.as_ref().map(|a| a.user_id);
        let company = self.company();
        let all = self.has_role(Role::Accountant) || self.has_role(Role::CompanyAdmin);
        let mut listed: Vec<&Expense> = self
            .predicted
            .expenses()
            .filter(|e| Some(e.company_id) == company && (all || Some(e.created_by) == me))
            .collect();
        listed.sort_by_key(|e| std::cmp::Reverse(e.id));
        listed.into_iter().map(|e| e.id).collect()
    }

    fn receipts_view(&self) -> ReceiptsView {
        let ids = &self.derived.receipts;
        let receipts: Vec<ReceiptRow> = ids
            .iter()
            .filter_map(|id| self.predicted.expenses_get(*id))
            .take(self.list_limit)
            .map(|e| self.receipt_row(e))
            .collect();
        ReceiptsView {
            can_capture: self.can_capture(),
            processing: self.local.captures.len() as u32,
            more: ids.len().saturating_sub(receipts.len()) as u32,
            receipts,
        }
    }

    fn can_capture(&self) -> bool {
        self.roles().iter().any(|r| {
            matches!(
                r,
                Role::Employee | Role::Approver | Role::CompanyAdmin | Role::Accountant
            )
        })
    }

    fn receipt_row(&self, e: &Expense) -> ReceiptRow {
        let (status, status_text) = self.receipt_status(e);
        ReceiptRow {
            id: e.id.to_string(),
            title: self.title(e),
            amount: e
                .fields
                .amount
                .as_ref()
                .map(|m| format::money(m.amount_minor, &m.currency)),
            date: e.fields.date.map(|d| d.to_string()),
            thumbnail: e.pages.first().map(|p| self.thumbnail(&p.sha256)),
            pages: e.pages.len() as u32,
            status,
            status_text,
        }
    }

    fn title(&self, e: &Expense) -> String {
        if let Some(m) = e.fields.merchant.as_ref().filter(|m| !m.is_empty()) {
            return m.clone();
        }
        e.fields
            .expense_type_id
            .and_then(|t| self.predicted.expense_type(t))
            .map_or_else(|| "Receipt".to_string(), |t| t.name)
    }

    fn thumbnail(&self, sha: &str) -> ImageRef {
        match self.local.photos.get(sha) {
            Some(p) => ImageRef {
                file_ref: Some(p.thumbnail_ref.clone()),
                url: None,
            },
            None => ImageRef {
                file_ref: None,
                url: Some(format!("/v1/blobs/{sha}/thumbnail")),
            },
        }
    }

    fn image(&self, sha: &str) -> ImageRef {
        match self.local.photos.get(sha) {
            Some(p) => ImageRef {
                file_ref: Some(p.file_ref.clone()),
                url: None,
            },
            None => ImageRef {
                file_ref: None,
                url: Some(format!("/v1/blobs/{sha}")),
            },
        }
    }

    /// Where the receipt stands, for its owner. A receipt shows as sent only once the server
    /// accepted every change to it.
    pub(crate) fn receipt_status(&self, e: &Expense) -> (ReceiptStatus, String) {
        let unsent: Vec<_> = self
            .local
            .unsent()
            .filter(|o| crate::model::expense_of(o.mutation()) == Some(e.id))
            .collect();
        if !unsent.is_empty() {
            if let Some(up) = &self.sync.upload
                && e.pages.iter().any(|p| p.sha256 == up.sha256)
            {
                let percent = (up.sent.saturating_mul(100) / up.total.max(1)).min(100) as u8;
                return (
                    ReceiptStatus::Uploading { percent },
                    format!("Uploading {percent} %"),
                );
            }
            return (
                ReceiptStatus::Queued,
                "Saved on this device, waiting to be sent".into(),
            );
        }
        if let Some(outcome) = self.refused(e.id) {
            let reason = match outcome {
                kvits_protocol::Outcome::Rejected { message, .. }
                | kvits_protocol::Outcome::Conflict { message, .. } => message.clone(),
                _ => String::new(),
            };
            return (
                ReceiptStatus::NotAccepted {
                    reason: reason.clone(),
                },
                format!("Not accepted: {reason}"),
            );
        }
        let last_reason = || e.decisions.last().and_then(|d| d.reason.clone());
        match e.status {
            ExpenseStatus::Draft => (ReceiptStatus::Draft, "Draft".into()),
            ExpenseStatus::Submitted => (ReceiptStatus::Sent, "Sent, waiting for approval".into()),
            ExpenseStatus::Approved => (
                ReceiptStatus::Approved,
                if e.approval.is_some() {
                    "Approved"
                } else {
                    "Sent"
                }
                .into(),
            ),
            ExpenseStatus::Rejected => {
                let reason = last_reason();
                let text = match &reason {
                    Some(r) => format!("Rejected: {r}"),
                    None => "Rejected".into(),
                };
                (ReceiptStatus::Rejected { reason }, text)
            }
            ExpenseStatus::Returned => {
                let reason = last_reason();
                let text = match &reason {
                    Some(r) => format!("Returned for changes: {r}"),
                    None => "Returned for changes".into(),
                };
                (ReceiptStatus::Returned { reason }, text)
            }
        }
    }

    fn pages(&self, e: &Expense) -> Vec<PageView> {
        e.pages
            .iter()
            .map(|p| PageView {
                sha256: p.sha256.clone(),
                image: self.image(&p.sha256),
                thumbnail: self.thumbnail(&p.sha256),
                size: format!("{} KB", p.size.div_ceil(1024)),
            })
            .collect()
    }

    fn decisions(&self, e: &Expense) -> Vec<DecisionView> {
        e.decisions
            .iter()
            .map(|d| DecisionView {
                text: format!(
                    "{} {} at {}",
                    d.by_name,
                    match d.kind {
                        DecisionKind::Approve => "approved",
                        DecisionKind::Reject => "rejected",
                        DecisionKind::Return => "returned it",
                    },
                    format::date_time(d.at, self.offset())
                ),
                reason: d.reason.clone(),
            })
            .collect()
    }

    fn receipt_view(&self, id: kvits_protocol::ExpenseId) -> Option<ReceiptView> {
        let e = self.predicted.expense(id)?;
        let form = self.form.as_ref().filter(|f| f.expense_id == id);
        let (status, status_text) = self.receipt_status(&e);
        let editable = self.editable(id);
        let type_id = form.map_or(e.fields.expense_type_id, |f| f.expense_type_id);
        let method_id = form.map_or(e.fields.payment_method_id, |f| f.payment_method_id);
        let mut types: Vec<_> = self
            .predicted
            .expense_types(e.company_id)
            .into_iter()
            .filter(|t| t.active || Some(t.id) == type_id)
            .collect();
        types.sort_by_key(|t| t.name.to_lowercase());
        let me = self.actor.as_ref().map(|a| a.user_id);
        let payment_methods = self
            .payment_choices(e.company_id, method_id)
            .into_iter()
            .map(|m| Choice {
                id: m.id.to_string(),
                label: match &m.last_four {
                    Some(l) => format!("{} ·{l}", m.label),
                    None => m.label.clone(),
                },
                detail: match (m.payment_kind, m.holder_id) {
                    (PaymentKind::CompanyCard, Some(h)) if Some(h) == me => {
                        Some("Your cards".into())
                    }
                    (PaymentKind::CompanyCard, Some(_)) => Some("Another person's card".into()),
                    (PaymentKind::CompanyCard, None) => Some("Company cards".into()),
                    (PaymentKind::OwnMoney, _) => None,
                },
                selected: Some(m.id) == method_id,
            })
            .collect();
        let processing = self
            .local
            .captures
            .values()
            .filter(|c| c.target == crate::model::CaptureTarget::Page { expense_id: id })
            .count() as u32;
        let fields = &e.fields;
        Some(ReceiptView {
            id: id.to_string(),
            editable,
            status,
            status_text,
            pages: self.pages(&e),
            processing,
            expense_types: types
                .into_iter()
                .map(|t| Choice {
                    id: t.id.to_string(),
                    label: t.name.clone(),
                    detail: Some(t.code.clone()),
                    selected: Some(t.id) == type_id,
                })
                .collect(),
            payment_methods,
            amount: form.map_or_else(
                || {
                    fields
                        .amount
                        .as_ref()
                        .map(|m| format::amount_input(m.amount_minor))
                        .unwrap_or_default()
                },
                |f| f.amount.clone(),
            ),
            currency: form.map_or_else(
                || {
                    fields
                        .amount
                        .as_ref()
                        .map_or("EUR".to_string(), |m| m.currency.clone())
                },
                |f| f.currency.clone(),
            ),
            date: form.map_or_else(
                || fields.date.map(|d| d.to_string()).unwrap_or_default(),
                |f| f.date.clone(),
            ),
            merchant: form.map_or_else(
                || fields.merchant.clone().unwrap_or_default(),
                |f| f.merchant.clone(),
            ),
            note: form.map_or_else(
                || fields.note.clone().unwrap_or_default(),
                |f| f.note.clone(),
            ),
            errors: form
                .map(|f| {
                    f.errors
                        .iter()
                        .map(|(field, message)| FieldError {
                            field: field.clone(),
                            message: message.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            can_delete: editable && e.status == ExpenseStatus::Draft && e.submitted_at.is_none(),
            decisions: self.decisions(&e),
        })
    }

    fn pending_tasks(&self) -> impl Iterator<Item = &Expense> + '_ {
        let me = self.actor.as_ref().map(|a| a.user_id);
        let company = self.company();
        self.predicted.expenses().filter(move |e| {
            Some(e.company_id) == company && me.is_some_and(|me| is_task_for(e, me))
        })
    }

    fn task_row(&self, e: &Expense, pending: bool) -> TaskRow {
        let queued = self.local.unsent().find_map(|o| match o.mutation() {
            kvits_protocol::Mutation::DecideExpense {
                expense_id,
                decision,
                ..
            } if *expense_id == e.id => Some(*decision),
            _ => None,
        });
        let status_text = match (queued, pending) {
            (Some(DecisionKind::Approve), _) => {
                "You approved it — saved on this device, not sent yet".to_string()
            }
            (Some(_), _) => "You rejected it — saved on this device, not sent yet".to_string(),
            (None, true) => "Waiting for your decision".to_string(),
            (None, false) => self.receipt_status(e).1,
        };
        TaskRow {
            id: e.id.to_string(),
            submitter: e.created_by_name.clone(),
            expense_type: e
                .fields
                .expense_type_id
                .and_then(|t| self.predicted.expense_type(t))
                .map(|t| t.name),
            payment_method: e
                .fields
                .payment_method_id
                .and_then(|m| self.predicted.payment_method(m))
                .map(|m| match &m.last_four {
                    Some(l) => format!("{} ·{l}", m.label),
                    None => m.label.clone(),
                }),
            amount: e
                .fields
                .amount
                .as_ref()
                .map(|m| format::money(m.amount_minor, &m.currency)),
            date: e.fields.date.map(|d| d.to_string()),
            merchant: e.fields.merchant.clone(),
            thumbnail: e.pages.first().map(|p| self.thumbnail(&p.sha256)),
            submitted_at: e.submitted_at.map(|t| format::date_time(t, self.offset())),
            pending,
            status_text,
        }
    }

    fn approvals_view(&self) -> ApprovalsView {
        let rows = |ids: &[kvits_protocol::ExpenseId], pending: bool, limit: usize| {
            ids.iter()
                .filter_map(|id| self.predicted.expenses_get(*id))
                .take(limit)
                .map(|e| self.task_row(e, pending))
                .collect()
        };
        ApprovalsView {
            pending: rows(&self.derived.tasks, true, self.list_limit),
            more: self.derived.tasks.len().saturating_sub(self.list_limit) as u32,
            decided: rows(&self.derived.decided, false, RECENT_DECISIONS),
        }
    }

    fn approval_view(&self, e: &Expense) -> ApprovalView {
        let pending = self
            .actor
            .as_ref()
            .is_some_and(|a| is_task_for(e, a.user_id));
        ApprovalView {
            task: self.task_row(e, pending),
            pages: self.pages(e),
            note: e.fields.note.clone(),
            can_decide: pending,
            reject_error: self.reject.as_ref().and_then(|r| r.error.clone()),
            decisions: self.decisions(e),
        }
    }

    fn company_name(&self, id: kvits_protocol::CompanyId) -> String {
        self.predicted
            .company(id)
            .map(|c| c.name)
            .or_else(|| {
                self.local.session.as_ref().and_then(|s| {
                    s.session
                        .memberships
                        .iter()
                        .find(|m| m.company_id == id)
                        .map(|m| m.company_name.clone())
                })
            })
            .unwrap_or_default()
    }

    /// The threads the inbox shows with their unread counts, newest first: every client
    /// company's for the firm's accountants, the current company's for everyone else.
    fn inbox_threads(&self) -> Vec<(kvits_protocol::ThreadId, u32)> {
        let accountant = self.has_role(Role::Accountant);
        let company = self.company();
        let mut threads: Vec<&Thread> = self
            .predicted
            .threads()
            .filter(|t| accountant || Some(t.company_id) == company)
            .collect();
        threads.sort_by_key(|t| std::cmp::Reverse((t.last_message_at, t.id)));
        threads
            .into_iter()
            .map(|t| (t.id, self.unread(t)))
            .collect()
    }

    fn unread(&self, thread: &Thread) -> u32 {
        let Some(me) = self.actor.as_ref().map(|a| a.user_id) else {
            return 0;
        };
        self.predicted
            .thread_messages_iter(thread.id)
            .filter(|m| m.author_id != me && self.predicted.read_at(m.id, me).is_none())
            .count() as u32
    }

    /// Works out the lists and counts the views show (receipts, tasks, decisions, inbox);
    /// called whenever the prediction or the session changes, so views (which run after every
    /// event) need not scan every row.
    pub(crate) fn derive(&self) -> crate::model::Derived {
        let me = self.actor.as_ref().map(|a| a.user_id);
        let company = self.company();
        let mut tasks: Vec<&Expense> = self.pending_tasks().collect();
        tasks.sort_by_key(|e| (e.submitted_at, e.id));
        let mut decided: Vec<(Option<kvits_protocol::Timestamp>, &Expense)> = self
            .predicted
            .expenses()
            .filter(|e| Some(e.company_id) == company)
            .filter_map(|e| {
                let last = e
                    .decisions
                    .iter()
                    .filter(|d| Some(d.by) == me)
                    .map(|d| d.at)
                    .max();
                last.map(|at| (Some(at), e))
            })
            .collect();
        decided.sort_by_key(|(at, e)| std::cmp::Reverse((*at, e.id)));
        let threads = self.inbox_threads();
        crate::model::Derived {
            unread: threads.iter().map(|(_, n)| n).sum(),
            threads,
            receipts: self.listed_receipts(),
            tasks: tasks.into_iter().map(|e| e.id).collect(),
            decided: decided
                .into_iter()
                .take(RECENT_DECISIONS)
                .map(|(_, e)| e.id)
                .collect(),
        }
    }

    fn inbox_view(&self) -> InboxView {
        let threads: Vec<ThreadRow> = self
            .derived
            .threads
            .iter()
            .filter_map(|(id, unread)| self.predicted.thread_get(*id).map(|t| (t, *unread)))
            .take(self.list_limit)
            .map(|(t, unread)| {
                let last = self.predicted.thread_messages_iter(t.id).last();
                ThreadRow {
                    id: t.id.to_string(),
                    company: self.company_name(t.company_id),
                    subject: t.subject.clone(),
                    preview: last.map(|m| preview(&m.body)).unwrap_or_default(),
                    last_at: format::date_time(t.last_message_at, self.offset()),
                    unread,
                }
            })
            .collect();
        InboxView {
            unread: self.derived.unread,
            more: self.derived.threads.len().saturating_sub(threads.len()) as u32,
            threads,
            can_compose: self.has_role(Role::Accountant),
        }
    }

    fn thread_view(&self, t: &Thread) -> ThreadView {
        let me = self.actor.as_ref().map(|a| a.user_id);
        let accountant = self.has_role(Role::Accountant);
        let company: Option<Company> = self.predicted.company(t.company_id);
        let recipients = company.as_ref().map(message_recipients).unwrap_or_default();
        let unsent: Vec<kvits_protocol::MessageId> = self
            .local
            .unsent()
            .filter_map(|o| match o.mutation() {
                kvits_protocol::Mutation::ReplyMessage { message_id, .. } => Some(*message_id),
                kvits_protocol::Mutation::SendMessage { message_id, .. } => Some(*message_id),
                _ => None,
            })
            .collect();
        let messages = self
            .predicted
            .thread_messages_iter(t.id)
            .map(|m| {
                let reads = if accountant {
                    recipients
                        .iter()
                        .filter(|u| **u != m.author_id)
                        .map(|u| ReadView {
                            name: company
                                .as_ref()
                                .and_then(|c| c.members.iter().find(|mm| mm.user_id == *u))
                                .map(|mm| mm.name.clone())
                                .unwrap_or_default(),
                            read_at: self
                                .predicted
                                .read_at(m.id, *u)
                                .map(|t| format::date_time(t, self.offset())),
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                MessageView {
                    id: m.id.to_string(),
                    author: m.author_name.clone(),
                    mine: Some(m.author_id) == me,
                    body: m.body.clone(),
                    at: format::date_time(m.created_at, self.offset()),
                    queued: unsent.iter().any(|id| {
                        *id == m.id
                            || kvits_protocol::MessageId::for_recipient(*id, m.company_id) == m.id
                    }),
                    reads,
                    attachment: m.attachment.as_ref().map(|a| AttachmentView {
                        file_name: a.file_name.clone(),
                        content_type: a.content_type.clone(),
                        size: format::file_size(a.size),
                        file: self.image(&a.sha256),
                    }),
                }
            })
            .collect();
        ThreadView {
            id: t.id.to_string(),
            subject: t.subject.clone(),
            company: self.company_name(t.company_id),
            messages,
            can_reply: true,
        }
    }

    fn compose_view(&self) -> ComposeView {
        let mut companies: Vec<Choice> = self
            .accountant_companies()
            .into_iter()
            .map(|c| Choice {
                id: c.to_string(),
                label: self.company_name(c),
                detail: None,
                selected: self.compose.companies.contains(&c),
            })
            .collect();
        companies.sort_by(|a, b| a.label.cmp(&b.label));
        ComposeView {
            companies,
            subject: self.compose.subject.clone(),
            body: self.compose.body.clone(),
            error: self.compose.error.clone(),
        }
    }
}

impl Model {
    fn catalog_view(&self) -> CatalogView {
        let Some(company_id) = self.company() else {
            return CatalogView {
                company: String::new(),
                expense_types: Vec::new(),
                payment_methods: Vec::new(),
                approval_rules: Vec::new(),
                members: Vec::new(),
                approvers: Vec::new(),
                roles: Vec::new(),
                people_busy: false,
                people_error: self.people.error.clone(),
                people_done: None,
                invite_link: None,
            };
        };
        let company = self.predicted.company(company_id);
        let members = company
            .as_ref()
            .map(|c| c.members.clone())
            .unwrap_or_default();
        let name_of = |u: kvits_protocol::UserId| {
            members
                .iter()
                .find(|m| m.user_id == u)
                .map_or_else(|| "(no longer a member)".to_string(), |m| m.name.clone())
        };
        let mut types = self.predicted.expense_types(company_id);
        types.sort_by_key(|t| (!t.active, t.code.clone()));
        let type_name = |id: kvits_protocol::ExpenseTypeId| {
            types
                .iter()
                .find(|t| t.id == id)
                .map_or_else(String::new, |t| t.name.clone())
        };
        let mut methods: Vec<_> = self
            .predicted
            .payment_methods()
            .filter(|m| m.company_id == company_id)
            .collect();
        methods.sort_by_key(|m| {
            (
                !m.active,
                m.payment_kind == PaymentKind::OwnMoney,
                m.label.to_lowercase(),
            )
        });
        let rules = self.predicted.approval_rules(company_id);
        let approval_rules = rules
            .iter()
            .map(|r| {
                let mut scope: Vec<String> =
                    r.expense_type_ids.iter().map(|t| type_name(*t)).collect();
                if let Some(d) = r.document_type {
                    scope.insert(0, format!("{d:?}s").to_lowercase());
                }
                let mut what = if scope.is_empty() {
                    "Every receipt".to_string()
                } else {
                    scope.join(", ")
                };
                if let Some(min) = r.min_amount_minor {
                    what.push_str(&format!(" from {}", format::amount_input(min)));
                }
                if let Some(max) = r.max_amount_minor {
                    what.push_str(&format!(" below {}", format::amount_input(max)));
                }
                let who: Vec<String> = r
                    .steps
                    .iter()
                    .map(|s| {
                        s.approver_ids
                            .iter()
                            .map(|u| name_of(*u))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    })
                    .collect();
                ApprovalRuleRow {
                    id: r.id.to_string(),
                    name: r.name.clone(),
                    position: r.position,
                    active: r.active,
                    document_type: r.document_type.map(|d| match d {
                        kvits_protocol::DocumentType::Receipt => {
                            crate::event::DocumentKind::Receipt
                        }
                        kvits_protocol::DocumentType::Invoice => {
                            crate::event::DocumentKind::Invoice
                        }
                    }),
                    expense_type_ids: r.expense_type_ids.iter().map(|t| t.to_string()).collect(),
                    min_amount: r
                        .min_amount_minor
                        .map(format::amount_input)
                        .unwrap_or_default(),
                    max_amount: r
                        .max_amount_minor
                        .map(format::amount_input)
                        .unwrap_or_default(),
                    steps: r
                        .steps
                        .iter()
                        .map(|s| {
                            s.approver_ids
                                .iter()
                                .map(|u| Choice {
                                    id: u.to_string(),
                                    label: name_of(*u),
                                    detail: None,
                                    selected: true,
                                })
                                .collect()
                        })
                        .collect(),
                    summary: format!("{what} — {}", who.join(", then ")),
                }
            })
            .collect();
        CatalogView {
            company: self.company_name(company_id),
            expense_types: types
                .iter()
                .map(|t| ExpenseTypeRow {
                    id: t.id.to_string(),
                    code: t.code.clone(),
                    name: t.name.clone(),
                    active: t.active,
                })
                .collect(),
            payment_methods: methods
                .into_iter()
                .map(|m| PaymentMethodRow {
                    id: m.id.to_string(),
                    own_money: m.payment_kind == PaymentKind::OwnMoney,
                    label: m.label.clone(),
                    last_four: m.last_four.clone(),
                    holder_id: m.holder_id.map(|h| h.to_string()),
                    holder: m.holder_id.map(name_of),
                    active: m.active,
                })
                .collect(),
            approval_rules,
            approvers: members
                .iter()
                .filter(|m| {
                    m.roles
                        .iter()
                        .any(|r| matches!(r, Role::Approver | Role::CompanyAdmin))
                })
                .map(|m| Choice {
                    id: m.user_id.to_string(),
                    label: m.name.clone(),
                    detail: Some(m.email.clone()),
                    selected: false,
                })
                .collect(),
            members: members
                .iter()
                .map(|m| MemberRow {
                    user_id: m.user_id.to_string(),
                    name: m.name.clone(),
                    email: m.email.clone(),
                    roles: m.roles.iter().map(|r| r.as_str().to_string()).collect(),
                })
                .collect(),
            roles: crate::model::ASSIGNABLE_ROLES
                .iter()
                .map(|r| Choice {
                    id: r.as_str().to_string(),
                    label: role_label(*r).to_string(),
                    detail: None,
                    selected: false,
                })
                .collect(),
            people_busy: self.people.op.is_some(),
            people_error: self.people.error.clone(),
            people_done: self.people.done.clone(),
            invite_link: self.people.link.clone(),
        }
    }
}

fn preview(body: &str) -> String {
    let line = body.lines().next().unwrap_or_default();
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(79).collect::<String>())
    } else {
        line.to_string()
    }
}

/// How a role is called on screen.
fn role_label(role: Role) -> &'static str {
    match role {
        Role::Employee => "Employee",
        Role::Approver => "Approver",
        Role::CompanyAdmin => "Company admin",
        Role::Accountant => "Accountant",
        Role::Client => "Client contact",
    }
}
