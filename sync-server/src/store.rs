//! The synced rows: every protocol [`Entity`] stored as JSON with its tenant's change
//! counter, and the domain's [`State`] read over a transaction.

use std::collections::BTreeMap;

use kvits_domain::{Actor, BlobKind, State, Write};
use kvits_protocol::{
    ApprovalRule, ApprovalRuleId, CardTransaction, CardTransactionId, Company, CompanyId, Entity,
    EntityKind, Expense, ExpenseId, ExpenseType, ExpenseTypeId, FirmId, Member, Message, MessageId,
    MessageRead, PaymentMethod, PaymentMethodId, Role, StaffRole, Thread, ThreadId, UserId,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::{ApiError, ApiResult};

/// Reads a UUID text column.
pub fn uuid_col<T: From<uuid::Uuid>>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    uuid::Uuid::parse_str(&s).map(T::from).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Reads a nullable UUID text column.
pub fn opt_uuid_col<T: From<uuid::Uuid>>(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<T>> {
    let s: Option<String> = r.get(i)?;
    s.map(|s| {
        uuid::Uuid::parse_str(&s).map(T::from).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

/// The firm of a user.
pub fn user_firm(c: &Connection, user: UserId) -> ApiResult<FirmId> {
    Ok(c.query_row(
        "SELECT firm_id FROM users WHERE id = ?1",
        [user.to_string()],
        |r| uuid_col(r, 0),
    )?)
}

/// What the server knows of a user's place in their firm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub name: String,
    pub firm_id: FirmId,
    /// Their role on the firm's staff, if they are staff.
    pub staff: Option<StaffRole>,
}

/// A user's name, firm and staff role.
pub fn standing(c: &Connection, user: UserId) -> ApiResult<Standing> {
    let (name, firm_id, accountant, firm_admin): (String, FirmId, bool, bool) = c
        .prepare_cached("SELECT name, firm_id, accountant, firm_admin FROM users WHERE id = ?1")?
        .query_row([user.to_string()], |r| {
            Ok((r.get(0)?, uuid_col(r, 1)?, r.get(2)?, r.get(3)?))
        })?;
    let staff = match (accountant, firm_admin) {
        (_, true) => Some(StaffRole::FirmAdmin),
        (true, false) => Some(StaffRole::Accountant),
        (false, false) => None,
    };
    Ok(Standing {
        name,
        firm_id,
        staff,
    })
}

/// Whether `firm` keeps its accountants to the clients assigned to them.
pub fn assigned_clients_only(c: &Connection, firm: FirmId) -> ApiResult<bool> {
    Ok(
        c.prepare_cached("SELECT assigned_clients_only FROM firms WHERE id = ?1")?
            .query_row([firm.to_string()], |r| r.get(0))?,
    )
}

/// The firm's client companies, active or not.
pub fn firm_companies(c: &Connection, firm: FirmId) -> ApiResult<Vec<CompanyId>> {
    let mut stmt = c.prepare_cached(
        "SELECT id FROM entities WHERE firm_id = ?1 AND kind = 'company' AND deleted = 0",
    )?;
    let rows = stmt.query_map([firm.to_string()], |r| uuid_col::<CompanyId>(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The client companies assigned to a member of staff.
pub fn assignments(c: &Connection, user: UserId) -> ApiResult<Vec<CompanyId>> {
    let mut stmt =
        c.prepare_cached("SELECT company_id FROM assignments WHERE user_id = ?1 ORDER BY 1")?;
    let rows = stmt.query_map([user.to_string()], |r| uuid_col::<CompanyId>(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The companies a user is a member of (any role, active or not).
pub fn member_companies(c: &Connection, user: UserId) -> ApiResult<Vec<CompanyId>> {
    let mut stmt = c.prepare_cached(
        "SELECT DISTINCT company_id FROM memberships WHERE user_id = ?1 ORDER BY 1",
    )?;
    let rows = stmt.query_map([user.to_string()], |r| uuid_col::<CompanyId>(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A user's memberships: each company of their firm they belong to, whether it is active,
/// and their roles there.
fn memberships(
    c: &Connection,
    user: UserId,
    firm: FirmId,
) -> ApiResult<BTreeMap<CompanyId, (bool, Vec<Role>)>> {
    let mut stmt = c.prepare_cached(
        // CROSS JOIN keeps SQLite from starting at `entities` (a scan of the whole tenant):
        // the user's few memberships first, then each company by primary key.
        "SELECT m.company_id, m.role, COALESCE(json_extract(e.body, '$.active'), 1)
         FROM memberships m
         CROSS JOIN entities e ON e.kind = 'company' AND e.id = m.company_id AND e.deleted = 0
         WHERE m.user_id = ?1 AND e.firm_id = ?2",
    )?;
    let rows = stmt.query_map(params![user.to_string(), firm.to_string()], |r| {
        Ok((
            uuid_col::<CompanyId>(r, 0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
        ))
    })?;
    let mut out: BTreeMap<CompanyId, (bool, Vec<Role>)> = BTreeMap::new();
    for row in rows {
        let (company, role, active) = row?;
        let entry = out.entry(company).or_insert((active, Vec::new()));
        if let Some(role) = Role::parse(&role) {
            entry.1.push(role);
        }
    }
    Ok(out)
}

/// The acting user with their roles in every company they may open:
/// - members of a client company get their roles there while it is active (a paused company
///   is closed to its own people);
/// - the firm's staff get the `accountant` role in every client they see, active or not: a
///   firm admin sees all of them, an accountant those assigned to them when the firm keeps
///   its staff to assignments, else all of them.
pub fn actor(c: &Connection, user: UserId) -> ApiResult<Actor> {
    let standing = standing(c, user)?;
    let firm_id = standing.firm_id;
    let mut roles: BTreeMap<CompanyId, Vec<Role>> = BTreeMap::new();
    for (company, (active, r)) in memberships(c, user, firm_id)? {
        if active {
            roles.insert(company, r);
        }
    }
    let seen: Vec<CompanyId> = match standing.staff {
        None => Vec::new(),
        Some(StaffRole::Accountant) if assigned_clients_only(c, firm_id)? => {
            let companies = firm_companies(c, firm_id)?;
            assignments(c, user)?
                .into_iter()
                .filter(|id| companies.contains(id))
                .collect()
        }
        Some(_) => firm_companies(c, firm_id)?,
    };
    for id in seen {
        roles.entry(id).or_default().push(Role::Accountant);
    }
    for r in roles.values_mut() {
        r.sort();
        r.dedup();
    }
    Ok(Actor {
        user_id: user,
        name: standing.name,
        firm_id,
        roles,
    })
}

/// Why a user who is not staff may not use Kvits now: every company they belong to is
/// paused. `None` when they may (staff, someone in at least one active company, or someone
/// in no company at all, who simply sees nothing).
pub fn lockout(c: &Connection, user: UserId) -> ApiResult<Option<String>> {
    let standing = standing(c, user)?;
    if standing.staff.is_some() {
        return Ok(None);
    }
    let member_of = memberships(c, user, standing.firm_id)?;
    if member_of.is_empty() || member_of.values().any(|(active, _)| *active) {
        return Ok(None);
    }
    let mut names = Vec::new();
    for id in member_of.keys() {
        if let Some(company) = company(c, *id)? {
            names.push(company.name);
        }
    }
    let firm: String = c
        .prepare_cached("SELECT name FROM firms WHERE id = ?1")?
        .query_row([standing.firm_id.to_string()], |r| r.get(0))?;
    Ok(Some(format!(
        "{} is paused in Kvits by {firm}, so you cannot sign in or sync for now. Nothing saved \
         on your device is lost: it is sent once {firm} reactivates the company.",
        names.join(", ")
    )))
}

/// Whether `user` may upload files: the firm's staff, and members of an active company whose
/// role there captures expenses or writes messages ([`kvits_domain::may_upload`]).
pub fn may_upload(c: &Connection, user: UserId) -> ApiResult<bool> {
    let standing = standing(c, user)?;
    if standing.staff.is_some() {
        return Ok(true);
    }
    Ok(memberships(c, user, standing.firm_id)?
        .values()
        .any(|(active, roles)| *active && roles.iter().any(|r| kvits_domain::may_upload(*r))))
}

/// Loads a live row.
pub fn load(c: &Connection, kind: EntityKind, id: uuid::Uuid) -> ApiResult<Option<Entity>> {
    let body: Option<String> = c
        .prepare_cached("SELECT body FROM entities WHERE kind = ?1 AND id = ?2 AND deleted = 0")?
        .query_row(params![kind.as_str(), id.to_string()], |r| r.get(0))
        .optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(ApiError::from))
        .transpose()
}

/// Loads the live rows of a kind in a company (or under a parent).
fn load_many(c: &Connection, sql: &str, args: &[&str]) -> ApiResult<Vec<Entity>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        out.push(serde_json::from_str(&body?)?);
    }
    Ok(out)
}

pub fn company_rows(
    c: &Connection,
    kind: EntityKind,
    company: CompanyId,
) -> ApiResult<Vec<Entity>> {
    load_many(
        c,
        "SELECT body FROM entities WHERE company_id = ?1 AND kind = ?2 AND deleted = 0",
        &[&company.to_string(), kind.as_str()],
    )
}

pub fn company(c: &Connection, id: CompanyId) -> ApiResult<Option<Company>> {
    Ok(match load(c, EntityKind::Company, id.0)? {
        Some(Entity::Company(x)) => Some(x),
        _ => None,
    })
}

/// Takes the next value of the firm's change counter.
fn next_version(c: &Connection, firm: FirmId) -> ApiResult<u64> {
    Ok(c.query_row(
        "UPDATE firms SET change_counter = change_counter + 1 WHERE id = ?1
         RETURNING change_counter",
        [firm.to_string()],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// The firm's change counter now.
pub fn current_version(c: &Connection, firm: FirmId) -> ApiResult<u64> {
    Ok(c.query_row(
        "SELECT change_counter FROM firms WHERE id = ?1",
        [firm.to_string()],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

fn parent_of(e: &Entity) -> Option<String> {
    match e {
        Entity::Message(m) => Some(m.thread_id.to_string()),
        Entity::CardTransaction(t) => t.matched_expense().map(|e| e.to_string()),
        _ => None,
    }
}

/// The person whose row this is (an expense's author, a message's writer).
pub fn author(e: &Entity) -> Option<UserId> {
    match e {
        Entity::Expense(x) => Some(x.created_by),
        Entity::Message(m) => Some(m.author_id),
        _ => None,
    }
}

/// The blobs a row names.
fn blob_names(e: &Entity) -> Vec<String> {
    match e {
        Entity::Expense(x) => x.pages.iter().map(|p| p.sha256.clone()).collect(),
        Entity::Message(m) => m.attachment.iter().map(|a| a.sha256.clone()).collect(),
        _ => Vec::new(),
    }
}

/// The row with its pages' and attachment's size, type and dimensions as the server found
/// them when it checked the upload (a client's claim is not shown to others); `None` when
/// nothing differs or nothing is stored yet (a draft's photo still on its way: its next write
/// corrects it).
fn with_stored_facts(c: &Connection, firm: FirmId, e: &Entity) -> ApiResult<Option<Entity>> {
    let facts = |sha: &str| -> ApiResult<Option<(u64, String, u32, u32)>> {
        Ok(c.prepare_cached(
            "SELECT size, content_type, width, height FROM blobs
             WHERE firm_id = ?1 AND sha256 = ?2",
        )?
        .query_row(params![firm.to_string(), sha], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?)
    };
    match e {
        Entity::Expense(x) => {
            // Cloned only when a page differs: most writes change no page.
            let mut corrected: Option<kvits_protocol::Expense> = None;
            for (i, page) in x.pages.iter().enumerate() {
                let Some((size, content_type, width, height)) = facts(&page.sha256)? else {
                    continue;
                };
                let stored = (size, content_type.as_str(), width, height);
                if (
                    page.size,
                    page.content_type.as_str(),
                    page.width,
                    page.height,
                ) != stored
                {
                    let fixed = &mut corrected.get_or_insert_with(|| x.clone()).pages[i];
                    fixed.size = size;
                    fixed.content_type = content_type;
                    fixed.width = width;
                    fixed.height = height;
                }
            }
            Ok(corrected.map(Entity::Expense))
        }
        Entity::Message(m) => {
            let Some(attachment) = &m.attachment else {
                return Ok(None);
            };
            let Some((size, content_type, _, _)) = facts(&attachment.sha256)? else {
                return Ok(None);
            };
            if attachment.size == size && attachment.content_type == content_type {
                return Ok(None);
            }
            let mut corrected = m.clone();
            if let Some(fixed) = corrected.attachment.as_mut() {
                fixed.size = size;
                fixed.content_type = content_type;
            }
            Ok(Some(Entity::Message(corrected)))
        }
        _ => Ok(None),
    }
}

/// Writes one row (upsert), taking a new version. Returns the version. A row of the same id
/// in another firm (a deleted one: the domain sees only live rows) is left as it is, and the
/// write is refused with [`ApiError::id_taken`].
pub fn put(c: &Connection, firm: FirmId, e: &Entity) -> ApiResult<u64> {
    let stored;
    let e = match with_stored_facts(c, firm, e)? {
        Some(corrected) => {
            stored = corrected;
            &stored
        }
        None => e,
    };
    let version = next_version(c, firm)?;
    let kind = e.kind().as_str();
    let id = e.id().to_string();
    let written = c
        .prepare_cached(
            "INSERT INTO entities (kind, id, firm_id, company_id, parent_id, version, deleted, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)
         ON CONFLICT (kind, id) DO UPDATE SET company_id = excluded.company_id,
             parent_id = excluded.parent_id, version = excluded.version, deleted = 0,
             body = excluded.body
         WHERE entities.firm_id = excluded.firm_id",
        )?
        .execute(params![
        kind,
        id,
        firm.to_string(),
        e.company_id().to_string(),
        parent_of(e),
            version as i64,
            serde_json::to_string(e)?
        ])?;
    if written == 0 {
        return Err(ApiError::id_taken());
    }
    c.prepare_cached("DELETE FROM blob_refs WHERE firm_id = ?1 AND kind = ?2 AND entity_id = ?3")?
        .execute(params![firm.to_string(), kind, id])?;
    for sha in blob_names(e) {
        c.prepare_cached(
            "INSERT OR IGNORE INTO blob_refs (firm_id, sha256, kind, entity_id)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![firm.to_string(), sha, kind, id])?;
    }
    Ok(version)
}

/// Turns a row into a tombstone, taking a new version. The row's last state stays in `body`
/// so a pull can tell who may hear of the deletion; nothing reads a tombstone's body
/// otherwise (every lookup asks for `deleted = 0`).
pub fn delete(c: &Connection, firm: FirmId, kind: EntityKind, id: uuid::Uuid) -> ApiResult<()> {
    let version = next_version(c, firm)?;
    c.prepare_cached(
        "UPDATE entities SET deleted = 1, version = ?3
         WHERE kind = ?1 AND id = ?2 AND firm_id = ?4",
    )?
    .execute(params![
        kind.as_str(),
        id.to_string(),
        version as i64,
        firm.to_string()
    ])?;
    c.prepare_cached("DELETE FROM blob_refs WHERE firm_id = ?1 AND kind = ?2 AND entity_id = ?3")?
        .execute(params![firm.to_string(), kind.as_str(), id.to_string()])?;
    Ok(())
}

/// Applies the domain's writes.
pub fn write_all(c: &Connection, firm: FirmId, writes: &[Write]) -> ApiResult<()> {
    for w in writes {
        match w {
            Write::Put(e) => {
                put(c, firm, e)?;
            }
            Write::Delete { kind, id, .. } => delete(c, firm, *kind, *id)?,
        }
    }
    Ok(())
}

/// Rebuilds a company's row (its member list) after memberships or a member's access changed.
pub fn refresh_company(c: &Connection, company: CompanyId) -> ApiResult<()> {
    let Some(mut row) = self::company(c, company)? else {
        return Err(ApiError::not_found("company"));
    };
    let mut stmt = c.prepare_cached(
        "SELECT u.id, u.name, u.email, m.role, u.disabled_at IS NOT NULL
         FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.company_id = ?1 ORDER BY u.name, u.id",
    )?;
    let rows = stmt.query_map([company.to_string()], |r| {
        Ok((
            uuid_col::<UserId>(r, 0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    let mut members: Vec<Member> = Vec::new();
    for row in rows {
        let (user_id, name, email, role, disabled) = row?;
        let Some(role) = Role::parse(&role) else {
            continue;
        };
        match members.last_mut() {
            Some(m) if m.user_id == user_id => m.roles.push(role),
            _ => members.push(Member {
                user_id,
                name,
                email,
                roles: vec![role],
                disabled,
            }),
        }
    }
    for m in &mut members {
        m.roles.sort();
    }
    let invitations = crate::admin::open_invitations(c, row.firm_id, Some(company))?;
    if row.members != members || row.invitations != invitations {
        row.members = members;
        row.invitations = invitations;
        put(c, row.firm_id, &Entity::Company(row))?;
    }
    Ok(())
}

/// The domain's view of the database, inside the mutation's transaction. Lookups that fail
/// (a corrupt row, an I/O error) are remembered and fail the mutation as transient.
pub struct DbState<'c> {
    pub conn: &'c Connection,
    /// The user the rules decide for: a blob is usable in their rows only if they uploaded it.
    pub user: Option<UserId>,
    pub error: std::cell::RefCell<Option<ApiError>>,
}

impl<'c> DbState<'c> {
    /// Reads for no particular user (no blob counts as theirs).
    pub fn new(conn: &'c Connection) -> Self {
        DbState {
            conn,
            user: None,
            error: std::cell::RefCell::new(None),
        }
    }

    /// Reads for `user`.
    pub fn for_user(conn: &'c Connection, user: UserId) -> Self {
        DbState {
            user: Some(user),
            ..DbState::new(conn)
        }
    }

    fn keep<T: Default>(&self, r: ApiResult<T>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                T::default()
            }
        }
    }

    fn one(&self, kind: EntityKind, id: uuid::Uuid) -> Option<Entity> {
        self.keep(load(self.conn, kind, id))
    }

    /// The first lookup error, if any.
    pub fn take_error(&self) -> Option<ApiError> {
        self.error.borrow_mut().take()
    }
}

impl std::fmt::Debug for DbState<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbState")
    }
}

macro_rules! pick {
    ($e:expr, $variant:ident) => {
        match $e {
            Some(Entity::$variant(x)) => Some(x),
            _ => None,
        }
    };
}

macro_rules! pick_all {
    ($v:expr, $variant:ident) => {
        $v.into_iter()
            .filter_map(|e| match e {
                Entity::$variant(x) => Some(x),
                _ => None,
            })
            .collect()
    };
}

impl State for DbState<'_> {
    fn company(&self, id: CompanyId) -> Option<Company> {
        pick!(self.one(EntityKind::Company, id.0), Company)
    }
    fn expense(&self, id: ExpenseId) -> Option<Expense> {
        pick!(self.one(EntityKind::Expense, id.0), Expense)
    }
    fn expense_type(&self, id: ExpenseTypeId) -> Option<ExpenseType> {
        pick!(self.one(EntityKind::ExpenseType, id.0), ExpenseType)
    }
    fn expense_types(&self, company: CompanyId) -> Vec<ExpenseType> {
        pick_all!(
            self.keep(company_rows(self.conn, EntityKind::ExpenseType, company)),
            ExpenseType
        )
    }
    fn payment_method(&self, id: PaymentMethodId) -> Option<PaymentMethod> {
        pick!(self.one(EntityKind::PaymentMethod, id.0), PaymentMethod)
    }
    fn approval_rule(&self, id: ApprovalRuleId) -> Option<ApprovalRule> {
        pick!(self.one(EntityKind::ApprovalRule, id.0), ApprovalRule)
    }
    fn approval_rules(&self, company: CompanyId) -> Vec<ApprovalRule> {
        pick_all!(
            self.keep(company_rows(self.conn, EntityKind::ApprovalRule, company)),
            ApprovalRule
        )
    }
    fn thread(&self, id: ThreadId) -> Option<Thread> {
        pick!(self.one(EntityKind::Thread, id.0), Thread)
    }
    fn message(&self, id: MessageId) -> Option<Message> {
        pick!(self.one(EntityKind::Message, id.0), Message)
    }
    fn thread_messages(&self, thread: ThreadId) -> Vec<Message> {
        let rows = self.keep(load_many(
            self.conn,
            "SELECT body FROM entities WHERE parent_id = ?1 AND kind = 'message' AND deleted = 0",
            &[&thread.to_string()],
        ));
        let mut messages: Vec<Message> = pick_all!(rows, Message);
        messages.sort_by_key(|m| (m.created_at, m.id));
        messages
    }
    fn message_read(&self, message: MessageId, user: UserId) -> Option<MessageRead> {
        pick!(
            self.one(
                EntityKind::MessageRead,
                kvits_protocol::message_read_id(message, user)
            ),
            MessageRead
        )
    }
    /// Stored in the company's firm and uploaded by this user themselves: knowing a hash
    /// does not make someone else's photo usable. The kind comes from the media type the
    /// server found when it checked the upload.
    fn blob_kind(&self, company: CompanyId, sha256: &str) -> Option<BlobKind> {
        let user = self.user?;
        let r = self
            .conn
            .prepare_cached(
                "SELECT b.content_type FROM blobs b
                 JOIN entities e ON e.kind = 'company' AND e.id = ?1
                 JOIN blob_owners o ON o.firm_id = b.firm_id AND o.sha256 = b.sha256
                 WHERE b.firm_id = e.firm_id AND b.sha256 = ?2 AND o.user_id = ?3",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![company.to_string(), sha256, user.to_string()],
                    |r| r.get::<_, String>(0),
                )
                .optional()
            })
            .map_err(ApiError::from);
        self.keep(r)
            .and_then(|media_type| BlobKind::of_media_type(&media_type))
    }
    fn card_transaction(&self, id: CardTransactionId) -> Option<CardTransaction> {
        pick!(self.one(EntityKind::CardTransaction, id.0), CardTransaction)
    }
    fn card_transaction_for_expense(&self, expense: ExpenseId) -> Option<CardTransaction> {
        let rows = self.keep(load_many(
            self.conn,
            "SELECT body FROM entities
             WHERE parent_id = ?1 AND kind = 'card_transaction' AND deleted = 0",
            &[&expense.to_string()],
        ));
        let found: Vec<CardTransaction> = pick_all!(rows, CardTransaction);
        found.into_iter().next()
    }
}
