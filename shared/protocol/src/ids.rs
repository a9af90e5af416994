//! Typed ids. Every id is a UUID; entities created on a device get a UUIDv7 made there, so
//! creates are idempotent and need no round trip.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

id_type!(
    /// An accounting firm: the tenant. Its change counter is the sync cursor.
    FirmId,
    /// A client company of a firm.
    CompanyId,
    /// A person who signs in.
    UserId,
    /// One app install (UUIDv7, made by the device), bound to the user who first used it.
    ClientId,
    /// An expense (one receipt or invoice, possibly of several pages).
    ExpenseId,
    /// An expense type in a company's catalog.
    ExpenseTypeId,
    /// A payment method (company card or own money) in a company's catalog.
    PaymentMethodId,
    /// An approval rule of a company.
    ApprovalRuleId,
    /// A conversation between the firm and one client company.
    ThreadId,
    /// One message in a thread.
    MessageId,
    /// A resumable upload in progress.
    UploadId,
    /// An export batch: documents delivered to the books together, in one file.
    ExportBatchId,
    /// A payment on a company card, from a bank statement. Derived from the company and the
    /// transaction's identity ([`CardTransactionId::for_identity`]), so importing it again
    /// finds the same row.
    CardTransactionId,
    /// One import of a bank statement file.
    StatementId,
    /// An invitation waiting to be accepted (never the token that accepts it).
    InvitationId,
);

/// Namespace for ids derived from other ids (UUIDv5), e.g. one thread per recipient company
/// of a message sent to many companies: both the device and the server derive the same id.
const DERIVED_NAMESPACE: Uuid = Uuid::from_u128(0x6b76_6974_735f_6964_735f_7631_0000_0001);

fn derive(parts: &[Uuid]) -> Uuid {
    let mut bytes = Vec::with_capacity(parts.len() * 16);
    for part in parts {
        bytes.extend_from_slice(part.as_bytes());
    }
    Uuid::new_v5(&DERIVED_NAMESPACE, &bytes)
}

impl ThreadId {
    /// The thread a message sent to several companies opens in `company`.
    pub fn for_recipient(message: MessageId, company: CompanyId) -> Self {
        Self(derive(&[message.0, company.0]))
    }
}

impl MessageId {
    /// The copy of a message sent to several companies that lands in `company`'s thread.
    pub fn for_recipient(message: MessageId, company: CompanyId) -> Self {
        Self(derive(&[message.0, company.0, DERIVED_NAMESPACE]))
    }
}

impl CardTransactionId {
    /// The id of the card transaction of `company` that the bank's statements identify by
    /// `identity` (its reference, or account, dates, amount and text: see the server's import).
    pub fn for_identity(company: CompanyId, identity: &str) -> Self {
        let mut bytes = Vec::with_capacity(16 + identity.len());
        bytes.extend_from_slice(company.0.as_bytes());
        bytes.extend_from_slice(identity.as_bytes());
        Self(Uuid::new_v5(&CARD_NAMESPACE, &bytes))
    }
}

/// Namespace of [`CardTransactionId::for_identity`].
const CARD_NAMESPACE: Uuid = Uuid::from_u128(0x6b76_6974_735f_6361_7264_7331_0000_0001);

/// The id of the read record of `message` by `user`.
pub fn message_read_id(message: MessageId, user: UserId) -> Uuid {
    derive(&[message.0, user.0])
}
