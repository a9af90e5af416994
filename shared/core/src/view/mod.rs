//! The view model: exactly what a shell renders, one variant per screen, plus the status bar,
//! notices and navigation every screen shows. Texts are final (formatted times, amounts,
//! reasons); shells add no logic. Ids are strings, images are refs (a local file or a server
//! path), never bytes.

mod approvals;
mod cards;
mod catalog;
mod clients;
mod common;
mod derived;
mod export;
mod firm;
mod messages;
mod receipts;
mod review;
mod session;
mod status;

use facet::Facet;
use kvits_domain::State as _;
use serde::{Deserialize, Serialize};

use crate::format;
use crate::model::{Model, Phase, Screen};

pub use approvals::{ApprovalView, ApprovalsView, TaskRow};
pub use cards::{CardPaymentRow, CardPaymentState, CardSummaryRow, CardsView};
pub use catalog::{ApprovalRuleRow, CatalogView, ExpenseTypeRow, MemberRow, PaymentMethodRow};
pub use clients::{ClientOverviewRow, ClientsView};
pub use common::{Choice, ImageRef, InvitationRow, NoticeView, Tab, TabView};
pub use export::{BatchRow, ExportPreviewView, ExportSettingsView, ExportView};
pub use firm::{ClientRow, FirmView, StaffRow};
pub use messages::{
    AttachmentView, ComposeView, InboxView, MessageView, ReadView, ThreadRow, ThreadView,
};
pub use receipts::{
    DecisionView, FieldError, PageView, ReceiptRow, ReceiptStatus, ReceiptView, ReceiptsView,
};
pub use review::{AnswerView, HistoryView, ReviewView, VatLineView, VatLinesView};
pub use session::{SignInView, UserView};
pub use status::StatusView;

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

// One view model is built per render and serialized straight away; boxing the receipt's
// (the largest, with its review form and history) would only add an allocation and change
// the shells' generated types.
#[allow(clippy::large_enum_variant)]
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
    /// The firm's client companies, staff and settings.
    Firm(FirmView),
    /// Every client with the work waiting (the firm's staff's home).
    Clients(ClientsView),
    /// The current company's export to the books (the firm's staff).
    Export(ExportView),
    /// The current company's card payments and their receipts.
    Cards(CardsView),
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

    pub(super) fn screen_view(&self) -> ScreenView {
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
            Screen::Firm => ScreenView::Firm(self.firm_view()),
            Screen::Clients => ScreenView::Clients(self.clients_view()),
            Screen::Export => ScreenView::Export(self.export_view()),
            Screen::Cards => ScreenView::Cards(self.cards_view()),
        }
    }
}
