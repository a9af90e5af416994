//! Kvits' core: every workflow of the app as one pure Crux [`App`](crux_core::App).
//!
//! Shells send [`Event`]s, perform the [`Effect`]s the core asks for and render the
//! [`ViewModel`]. The core does no I/O, reads no clock and starts no thread: the time, the
//! network, the local database, the photo pipeline and uploads are all effects, so the same
//! code runs on iOS, Android and in the browser (wasm32), and every test drives it exactly.
//!
//! - [`model`]: state, one module per workflow (session, receipts, sync, approvals, messages);
//! - [`view`]: the view model, one variant per screen;
//! - [`effects`]: the effect types, including Kvits' own `Store`, `ProcessPhoto` and `Upload`.

pub mod app;
pub mod effects;
pub mod event;
pub mod format;
pub mod model;
pub mod view;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use app::Kvits;
pub use crux_core::Core;
pub use effects::Effect;
pub use event::{
    ApprovalEvent, ApprovalRuleInput, CardEvent, CatalogEvent, ClientFilter, ClientSort,
    ClientsEvent, CompanyInput, ComposeField, DocumentKind, Event, ExpenseTypeInput, FirmEvent,
    FormField, InviteInput, MessageEvent, NoReceiptKind, PaymentMethodInput, PeopleEvent,
    ReceiptEvent, Route, SessionEvent, StaffInput, SyncEvent,
};
pub use model::Model;
pub use view::ViewModel;
