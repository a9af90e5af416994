//! The firm's own house, run by its firm admins: the staff (accountants and firm admins), which
//! client companies each accountant is assigned to, and the setting that keeps accountants to
//! their assigned clients. Client companies themselves are in [`crate::admin`].
//!
//! Every change here that alters what someone may see makes their devices start their mirror
//! over at the next pull ([`admin::access_changed`]), and takes effect for requests at once:
//! the server works out each request's roles from these tables ([`store::actor`]).

use axum::extract::State;
use axum::http::StatusCode;
use kvits_protocol::{
    CompanyId, ErrorCode, Firm, FirmId, FirmSettings, Invitation, InviteStaffRequest,
    SetStaffRequest, StaffMember, StaffRole, UserId,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::admin;
use crate::api::{Operation, Routes};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Json, Path};
use crate::openapi::schema;
use crate::{AppState, store};

/// The firm, its settings and staff.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .get("/v1/firm", firm_handler, |g| {
            Operation::new("getFirm", "firm", "The firm, its settings and staff")
                .describe("Firm admins: the staff with their roles and assigned clients.")
                .bearer()
                .db()
                .json(200, "The firm.", schema::<Firm>(g))
                .error(403, FIRM_ADMINS_ONLY)
        })
        .put("/v1/firm/settings", settings_handler, |g| {
            Operation::new("setFirmSettings", "firm", "Change the firm's settings")
                .describe(
                    "Firm admins. Turning \"assigned clients only\" on or off changes what every \
                     accountant sees from their next request; their devices start their mirror \
                     over.",
                )
                .bearer()
                .json_body(schema::<FirmSettings>(g))
                .db()
                .empty(204, "Changed.")
                .error(403, FIRM_ADMINS_ONLY)
        })
        .post("/v1/firm/staff", invite_staff_handler, |g| {
            Operation::new("inviteStaff", "firm", "Invite a colleague")
                .describe(
                    "Firm admins. Invites a colleague into the staff with a one-time link, the \
                     same answer whether or not the e-mail has an account: the role and the \
                     assigned clients are given when it is accepted (by someone new setting a \
                     password, or by the account's owner with theirs). Until then it is listed \
                     in the firm's `invitations`; inviting the same e-mail again replaces it.",
                )
                .bearer()
                .json_body(schema::<InviteStaffRequest>(g))
                .db()
                .json(201, "Invited.", schema::<Invitation>(g))
                .error(
                    400,
                    "`bad_request`: an invalid e-mail address or name, or an assigned company \
                     that is not one of the firm's.",
                )
                .error(403, FIRM_ADMINS_ONLY)
        })
        .put("/v1/firm/staff/{user_id}", set_staff_handler, |g| {
            Operation::new("setStaff", "firm", "Change a colleague's role and clients")
                .describe(
                    "Firm admins. Replaces a member of staff's role and assigned clients; it \
                     takes effect at their next request, and their devices start their mirror \
                     over (rows of clients they no longer see leave the device).",
                )
                .bearer()
                .path_param(
                    "user_id",
                    schema::<UserId>(g),
                    "A member of the firm's staff.",
                )
                .json_body(schema::<SetStaffRequest>(g))
                .db()
                .empty(204, "Changed.")
                .error(
                    400,
                    "`bad_request`: an assigned company that is not one of the firm's.",
                )
                .error(403, FIRM_ADMINS_ONLY)
                .error(404, "`not_found`: no such member of the firm's staff.")
                .error(
                    409,
                    "`already_exists`: the change would leave the firm without a firm admin.",
                )
        })
}

const FIRM_ADMINS_ONLY: &str = "`forbidden`: only the firm's admins manage the firm.";

fn firm_admin_only(user: &AuthUser) -> ApiResult<()> {
    if user.is_firm_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the firm's admins manage the firm",
        ))
    }
}

/// The firm with its settings and staff (sorted by name).
pub fn firm(c: &Connection, id: FirmId) -> ApiResult<Firm> {
    let (name, settings) = c.query_row(
        "SELECT name, assigned_clients_only, csv_separator, decimal_mark FROM firms WHERE id = ?1",
        [id.to_string()],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                FirmSettings {
                    assigned_clients_only: r.get(1)?,
                    csv_separator: from_word(&r.get::<_, String>(2)?),
                    decimal_mark: from_word(&r.get::<_, String>(3)?),
                },
            ))
        },
    )?;
    let mut stmt = c.prepare_cached(
        "SELECT id, name, email, firm_admin, password_hash IS NULL, disabled_at IS NOT NULL
         FROM users
         WHERE firm_id = ?1 AND (accountant = 1 OR firm_admin = 1) ORDER BY name, id",
    )?;
    let rows = stmt.query_map([id.to_string()], |r| {
        Ok((
            store::uuid_col::<UserId>(r, 0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, bool>(4)?,
            r.get::<_, bool>(5)?,
        ))
    })?;
    let mut staff = Vec::new();
    for row in rows {
        let (user_id, name, email, firm_admin, invited, disabled) = row?;
        staff.push(StaffMember {
            user_id,
            name,
            email,
            role: if firm_admin {
                StaffRole::FirmAdmin
            } else {
                StaffRole::Accountant
            },
            assigned: store::assignments(c, user_id)?,
            invited,
            disabled,
        });
    }
    Ok(Firm {
        id,
        name,
        settings,
        staff,
        invitations: admin::open_invitations(c, id, None)?,
    })
}

/// A setting's stored word (its wire name) read back; the default for a word this server does
/// not know.
fn from_word<T: serde::de::DeserializeOwned + Default>(word: &str) -> T {
    serde_json::from_value(serde_json::Value::String(word.into())).unwrap_or_default()
}

/// A setting as its stored word.
fn to_word<T: serde::Serialize>(value: &T) -> ApiResult<String> {
    match serde_json::to_value(value).map_err(ApiError::internal)? {
        serde_json::Value::String(word) => Ok(word),
        other => Err(ApiError::internal(format!("{other} is not a word"))),
    }
}

/// Turns "assigned clients only" on or off; every accountant's devices start over.
pub fn set_settings(c: &Connection, firm: FirmId, settings: &FirmSettings) -> ApiResult<()> {
    let before = store::assigned_clients_only(c, firm)?;
    if settings.csv_separator == kvits_protocol::CsvSeparator::Comma
        && settings.decimal_mark == kvits_protocol::DecimalMark::Comma
    {
        return Err(ApiError::bad_request(
            "a comma cannot separate the journal's columns and its decimals at once",
        ));
    }
    c.execute(
        "UPDATE firms SET assigned_clients_only = ?2, csv_separator = ?3, decimal_mark = ?4
         WHERE id = ?1",
        params![
            firm.to_string(),
            settings.assigned_clients_only,
            to_word(&settings.csv_separator)?,
            to_word(&settings.decimal_mark)?,
        ],
    )?;
    if before != settings.assigned_clients_only {
        let accountants: Vec<UserId> = c
            .prepare_cached(
                "SELECT id FROM users WHERE firm_id = ?1 AND accountant = 1 AND firm_admin = 0",
            )?
            .query_map([firm.to_string()], |r| store::uuid_col(r, 0))?
            .collect::<Result<_, _>>()?;
        for user in accountants {
            admin::access_changed(c, firm, user)?;
        }
    }
    Ok(())
}

/// The companies of `firm` among `ids`, without repeats, or a clear refusal.
fn firm_companies(c: &Connection, firm: FirmId, ids: &[CompanyId]) -> ApiResult<Vec<CompanyId>> {
    let known = store::firm_companies(c, firm)?;
    let mut out: Vec<CompanyId> = Vec::new();
    for id in ids {
        if !known.contains(id) {
            return Err(ApiError::bad_request(format!(
                "{id} is not a client company of this firm"
            )));
        }
        if !out.contains(id) {
            out.push(*id);
        }
    }
    out.sort();
    Ok(out)
}

/// Replaces `user`'s assigned clients.
fn assign(c: &Connection, user: UserId, companies: &[CompanyId]) -> ApiResult<()> {
    c.execute(
        "DELETE FROM assignments WHERE user_id = ?1",
        [user.to_string()],
    )?;
    for company in companies {
        c.execute(
            "INSERT INTO assignments (user_id, company_id) VALUES (?1, ?2)",
            params![user.to_string(), company.to_string()],
        )?;
    }
    Ok(())
}

/// Makes a new member of staff of `firm` with an invitation from `by`.
pub fn invite_staff(
    c: &Connection,
    firm: FirmId,
    by: UserId,
    req: &InviteStaffRequest,
) -> ApiResult<Invitation> {
    let assigned = firm_companies(c, firm, &req.assigned)?;
    let grant = admin::Grant::Staff {
        role: req.role,
        assigned,
    };
    admin::invite(c, firm, &req.email, &req.name, &grant, by)
}

/// Replaces a member of staff's role and assigned clients.
pub fn set_staff(
    c: &Connection,
    firm: FirmId,
    user: UserId,
    req: &SetStaffRequest,
) -> ApiResult<()> {
    let current: Option<bool> = c
        .prepare_cached(
            "SELECT firm_admin FROM users
             WHERE id = ?1 AND firm_id = ?2 AND (accountant = 1 OR firm_admin = 1)",
        )?
        .query_row(params![user.to_string(), firm.to_string()], |r| r.get(0))
        .optional()?;
    let Some(was_admin) = current else {
        return Err(ApiError::not_found("member of staff"));
    };
    let assigned = firm_companies(c, firm, &req.assigned)?;
    let admin = req.role == StaffRole::FirmAdmin;
    if was_admin && !admin {
        let admins: i64 = c.query_row(
            "SELECT COUNT(*) FROM users WHERE firm_id = ?1 AND firm_admin = 1",
            [firm.to_string()],
            |r| r.get(0),
        )?;
        if admins <= 1 {
            return Err(ApiError::conflict(
                ErrorCode::AlreadyExists,
                "the firm needs at least one firm admin: make someone else one first",
            ));
        }
    }
    c.execute(
        "UPDATE users SET accountant = 1, firm_admin = ?2 WHERE id = ?1",
        params![user.to_string(), admin],
    )?;
    let before = store::assignments(c, user)?;
    assign(c, user, &assigned)?;
    if was_admin != admin || before != assigned {
        admin::access_changed(c, firm, user)?;
    }
    Ok(())
}

async fn firm_handler(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Firm>> {
    firm_admin_only(&user)?;
    let firm = state.db.read(move |c| firm(c, user.firm_id)).await?;
    Ok(Json(firm))
}

async fn settings_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<FirmSettings>,
) -> ApiResult<StatusCode> {
    firm_admin_only(&user)?;
    let firm = user.firm_id;
    state
        .db
        .transact(move |tx| {
            set_settings(tx, firm, &req)?;
            Ok(())
        })
        .await?;
    crate::sync::announce(&state, firm).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn invite_staff_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<InviteStaffRequest>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    firm_admin_only(&user)?;
    let invitation = state
        .db
        .transact(move |tx| invite_staff(tx, user.firm_id, user.user_id, &req))
        .await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

async fn set_staff_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(member): Path<UserId>,
    Json(req): Json<SetStaffRequest>,
) -> ApiResult<StatusCode> {
    firm_admin_only(&user)?;
    let firm = user.firm_id;
    state
        .db
        .transact(move |tx| {
            set_staff(tx, firm, member, &req)?;
            Ok(())
        })
        .await?;
    crate::sync::announce(&state, firm).await?;
    Ok(StatusCode::NO_CONTENT)
}
