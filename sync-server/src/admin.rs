//! Managing tenants: client companies, users and their roles, invitations. Catalog rows
//! (expense types, cards, approval rules) are changed with sync mutations instead, so they
//! follow the same rules and reach every device the same way.
//!
//! The functions here are used by the HTTP handlers and by the CLI's `admin` commands.

use axum::extract::State;
use axum::http::StatusCode;
use kvits_protocol::{
    Company, CompanyDetails, CompanyId, Entity, ErrorCode, FirmId, Invitation, InviteUserRequest,
    PaymentKind, PaymentMethod, PaymentMethodId, Role, SetAccessRequest, SetRolesRequest,
    StaffRole, UserId,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::api::{Operation, Routes};
use crate::auth::{AuthUser, hash_token, random_token};
use crate::error::{ApiError, ApiResult, Json, Path};
use crate::openapi::schema;
use crate::{AppState, store};

/// Client companies, users and their roles.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .post("/v1/companies", create_company_handler, |g| {
            Operation::new("createCompany", "admin", "Add a client company")
                .describe(
                    "Creates a client company of the signed-in firm admin's firm, with an \"Own \
                     money / cash\" payment method.",
                )
                .bearer()
                .json_body(schema::<CompanyDetails>(g))
                .db()
                .json(201, "Created.", schema::<Company>(g))
                .error(400, DETAILS_REFUSED)
                .error(
                    403,
                    "`forbidden`: only the firm's admins add client companies.",
                )
        })
        .put("/v1/companies/{company_id}", update_company_handler, |g| {
            Operation::new("updateCompany", "admin", "Change a client company")
                .describe(
                    "Replaces a client company's details. Pausing it (`active: false`) keeps its \
                     data and leaves it visible to the firm, but its members can no longer sign \
                     in or sync (`403 company_inactive`); their devices start their mirror over \
                     when it changes either way.",
                )
                .bearer()
                .path_param("company_id", schema::<CompanyId>(g), "The company.")
                .json_body(schema::<CompanyDetails>(g))
                .db()
                .json(200, "Changed.", schema::<Company>(g))
                .error(400, DETAILS_REFUSED)
                .error(
                    403,
                    "`forbidden`: only the firm's admins change client companies.",
                )
                .error(404, "`not_found`: no such company in the user's firm.")
                .error(
                    409,
                    "`already_exists`: the base currency cannot change once the company has \
                     documents.",
                )
        })
        .post("/v1/companies/{company_id}/users", invite_handler, |g| {
            Operation::new("inviteUser", "admin", "Invite a person into a company")
                .describe(
                    "Company admins and the firm's accountants. The answer is an invitation \
                     token and link, the same whether or not the e-mail has an account: the \
                     roles are given when the invitation is accepted, and until then it is \
                     listed in the company's row (`invitations`). Inviting the same e-mail \
                     again replaces its open invitation.",
                )
                .bearer()
                .path_param("company_id", schema::<CompanyId>(g), "The company.")
                .json_body(schema::<InviteUserRequest>(g))
                .db()
                .json(201, "Invited.", schema::<Invitation>(g))
                .error(
                    400,
                    "`bad_request`: no roles, an invalid e-mail address or name, or the \
                     `accountant` role (accountants belong to the firm).",
                )
                .error(
                    403,
                    "`forbidden`: only the company's admins and the firm's accountants manage its \
                     users.",
                )
                .error(
                    404,
                    "`not_found`: no such company, or not one of the user's.",
                )
        })
        .put(
            "/v1/companies/{company_id}/users/{user_id}/roles",
            set_roles_handler,
            |g| {
                Operation::new("setRoles", "admin", "Replace a member's roles")
                    .describe(
                        "Company admins and the firm's accountants. An empty list removes the \
                         member from the company. The member's devices start their mirror over \
                         (their next pull answers `reset`).",
                    )
                    .bearer()
                    .path_param("company_id", schema::<CompanyId>(g), "The company.")
                    .path_param(
                        "user_id",
                        schema::<UserId>(g),
                        "The member, a user of the same firm.",
                    )
                    .json_body(schema::<SetRolesRequest>(g))
                    .db()
                    .empty(204, "Roles replaced.")
                    .error(
                        400,
                        "`bad_request`: the `accountant` role (accountants belong to the firm).",
                    )
                    .error(
                        403,
                        "`forbidden`: only the company's admins and the firm's accountants \
                         manage its users.",
                    )
                    .error(
                        404,
                        "`not_found`: no such company (or not one of the user's), or no such \
                         user in the firm.",
                    )
            },
        )
        .put("/v1/users/{user_id}/access", set_access_handler, |g| {
            Operation::new("setAccess", "admin", "Turn a person's access off or on")
                .describe(
                    "The firm's admins, for anyone of the firm but themselves; a company's admin, \
                     for a person who belongs only to companies they manage (not the firm's \
                     staff). Turned off, every session of the person ends at once (their \
                     devices are answered 401 and keep what they have not sent) and signing in \
                     is refused with `403 account_disabled`; their data stays. Turned on again, \
                     they sign in as before.",
                )
                .bearer()
                .path_param(
                    "user_id",
                    schema::<UserId>(g),
                    "The person, of the same firm.",
                )
                .json_body(schema::<SetAccessRequest>(g))
                .db()
                .empty(204, "Done.")
                .error(
                    403,
                    "`forbidden`: not the firm's admin, nor the admin of every company the \
                     person belongs to; or one's own access.",
                )
                .error(404, "`not_found`: no such user in the firm.")
        })
        .delete(
            "/v1/invitations/{invitation_id}",
            cancel_invitation_handler,
            |g| {
                Operation::new("cancelInvitation", "admin", "Cancel an open invitation")
                    .describe(
                        "Whoever may invite into the same place: the company's admins and the \
                     firm's accountants for an invitation into a company, the firm's admins for \
                     one into the staff. Its link stops working at once.",
                    )
                    .bearer()
                    .path_param(
                        "invitation_id",
                        schema::<kvits_protocol::InvitationId>(g),
                        "The invitation (its `id`, never its token).",
                    )
                    .db()
                    .empty(204, "Cancelled.")
                    .error(
                        403,
                        "`forbidden`: the user may not invite into that company or the staff.",
                    )
                    .error(
                        404,
                        "`not_found`: no open invitation of the firm has this id (or its company \
                     is not one of the user's).",
                    )
            },
        )
}

/// Whether `by` may turn `target`'s access off or on: the firm's admins for anyone of the
/// firm, a company admin for a member of their companies only (not staff); never oneself.
pub fn may_set_access(c: &Connection, by: &AuthUser, target: UserId) -> ApiResult<()> {
    let firm = c
        .query_row(
            "SELECT firm_id FROM users WHERE id = ?1",
            [target.to_string()],
            |r| store::uuid_col::<FirmId>(r, 0),
        )
        .optional()?;
    if firm != Some(by.firm_id) {
        return Err(ApiError::not_found("user"));
    }
    if target == by.user_id {
        return Err(ApiError::forbidden(
            "you cannot turn off your own access; sign out instead",
        ));
    }
    if by.is_firm_admin() {
        return Ok(());
    }
    let refused = || {
        ApiError::forbidden(
            "only the firm's admins, or the admin of every company this person belongs to, \
             turn their access off or on",
        )
    };
    if store::standing(c, target)?.staff.is_some() {
        return Err(refused());
    }
    let mine = store::actor(c, by.user_id)?;
    let theirs = store::actor(c, target)?;
    let manages = |company: &CompanyId| mine.roles_in(*company).contains(&Role::CompanyAdmin);
    if theirs.roles.is_empty() || !theirs.roles.keys().all(manages) {
        return Err(refused());
    }
    Ok(())
}

async fn set_access_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(target): Path<UserId>,
    Json(req): Json<SetAccessRequest>,
) -> ApiResult<StatusCode> {
    state
        .db
        .transact(move |tx| {
            may_set_access(tx, &user, target)?;
            crate::auth::set_disabled(tx, target, req.disabled)?;
            // Their companies' member lists say so, on every device that shows them.
            for company in store::member_companies(tx, target)? {
                store::refresh_company(tx, company)?;
            }
            tracing::info!(by = %user.user_id, user = %target, disabled = req.disabled, "access set");
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a firm (CLI only: firms are our customers).
pub fn create_firm(c: &Connection, name: &str) -> ApiResult<FirmId> {
    create_firm_with_id(c, FirmId(crate::new_id()), name)
}

/// Like [`create_firm`], with a given id (the demo's).
pub fn create_firm_with_id(c: &Connection, id: FirmId, name: &str) -> ApiResult<FirmId> {
    check_name("firm name", name)?;
    c.execute(
        "INSERT INTO firms (id, name, created_at) VALUES (?1, ?2, ?3)",
        params![id.to_string(), name.trim(), crate::now().to_rfc3339()],
    )?;
    Ok(id)
}

pub(crate) fn check_name(what: &str, name: &str) -> ApiResult<()> {
    let n = name.trim().chars().count();
    if n == 0 || n > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "{what} must be 1 to 200 characters without control characters"
        )));
    }
    // A name others read must read as what it is.
    if let Some(c) = kvits_protocol::hidden_character(name) {
        return Err(ApiError::bad_request(format!(
            "{what} contains an invisible or text-direction character (U+{:04X})",
            u32::from(c)
        )));
    }
    Ok(())
}

pub(crate) fn check_email(email: &str) -> ApiResult<String> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(|ch| ch.is_whitespace() || ch.is_control());
    if ok {
        Ok(e)
    } else {
        Err(ApiError::bad_request("enter a valid e-mail address"))
    }
}

/// Why company details were refused, for the API document.
const DETAILS_REFUSED: &str = "`bad_request`: the name is empty, longer than 200 characters or has \
    control characters; the base currency is not an ISO 4217 code; the country is not an ISO \
    3166-1 alpha-2 code; the time zone is not an IANA name; or a registration or VAT number is \
    not one.";

/// Details checked and put in their stored form: trimmed, codes in capitals, empty optional
/// texts as none.
pub fn check_details(d: &CompanyDetails) -> ApiResult<CompanyDetails> {
    check_name("company name", &d.name)?;
    let base_currency = d.base_currency.trim().to_ascii_uppercase();
    if kvits_protocol::currency_exponent(&base_currency).is_none() {
        return Err(ApiError::bad_request(format!(
            "“{base_currency}” is not a currency; give its ISO 4217 code, such as EUR, PLN or SEK"
        )));
    }
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let country = match present(&d.country) {
        None => None,
        Some(c) => match isocountry::CountryCode::for_alpha2_caseless(&c) {
            Ok(code) => Some(code.alpha2().to_owned()),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "“{c}” is not a country; give its two-letter ISO 3166 code, such as LV, PL or SE"
                )));
            }
        },
    };
    let time_zone = match present(&d.time_zone) {
        None => None,
        Some(tz) => match tz.parse::<chrono_tz::Tz>() {
            Ok(zone) => Some(zone.name().to_owned()),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "“{tz}” is not a time zone; give its IANA name, such as Europe/Riga"
                )));
            }
        },
    };
    let registration_number = present(&d.registration_number);
    if let Some(n) = &registration_number {
        let ok = n.chars().count() <= 40
            && n.chars().any(|c| c.is_ascii_alphanumeric())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '.' | '/'));
        if !ok {
            return Err(ApiError::bad_request(
                "a registration number has up to 40 letters, digits, spaces, dashes, dots or slashes",
            ));
        }
    }
    let vat_number =
        present(&d.vat_number).map(|v| v.replace([' ', '-', '.'], "").to_ascii_uppercase());
    if let Some(v) = &vat_number {
        let (prefix, rest) = v.split_at(v.len().min(2));
        let ok = prefix.len() == 2
            && prefix.chars().all(|c| c.is_ascii_uppercase())
            && (2..=13).contains(&rest.len())
            && rest.chars().all(|c| c.is_ascii_alphanumeric());
        if !ok {
            return Err(ApiError::bad_request(format!(
                "“{v}” is not a VAT number: it starts with the two-letter country prefix, then 2 \
                 to 13 letters or digits (LV40003012345)"
            )));
        }
    }
    Ok(CompanyDetails {
        name: d.name.trim().to_owned(),
        base_currency,
        registration_number,
        vat_number,
        country,
        time_zone,
        active: d.active,
        allow_self_approval: d.allow_self_approval,
    })
}

/// Creates a client company of `firm` with an "Own money / cash" payment method.
pub fn create_company(
    c: &Connection,
    firm: FirmId,
    details: &CompanyDetails,
) -> ApiResult<CompanyId> {
    let id = CompanyId(crate::new_id());
    create_company_with_ids(c, firm, id, PaymentMethodId(crate::new_id()), details)
}

/// Like [`create_company`], with given ids for the company and its own money (the demo's).
pub fn create_company_with_ids(
    c: &Connection,
    firm: FirmId,
    id: CompanyId,
    own_money: PaymentMethodId,
    details: &CompanyDetails,
) -> ApiResult<CompanyId> {
    let d = check_details(details)?;
    store::put(
        c,
        firm,
        &Entity::Company(Company {
            id,
            firm_id: firm,
            name: d.name,
            base_currency: d.base_currency,
            members: Vec::new(),
            invitations: Vec::new(),
            registration_number: d.registration_number,
            vat_number: d.vat_number,
            country: d.country,
            time_zone: d.time_zone,
            active: d.active,
            allow_self_approval: d.allow_self_approval,
        }),
    )?;
    store::put(
        c,
        firm,
        &Entity::PaymentMethod(PaymentMethod {
            id: own_money,
            company_id: id,
            payment_kind: PaymentKind::OwnMoney,
            label: "Own money / cash".into(),
            last_four: None,
            holder_id: None,
            active: true,
            statement_ref: None,
        }),
    )?;
    Ok(id)
}

/// Replaces the details of `firm`'s company `id`. Pausing or reactivating it makes its
/// members' devices start their mirror over (rows leave, or come back).
pub fn update_company(
    c: &Connection,
    firm: FirmId,
    id: CompanyId,
    details: &CompanyDetails,
) -> ApiResult<Company> {
    let d = check_details(details)?;
    let Some(mut company) = store::company(c, id)?.filter(|co| co.firm_id == firm) else {
        return Err(ApiError::not_found("company"));
    };
    if d.base_currency != company.base_currency {
        let has_documents = c
            .prepare_cached(
                "SELECT 1 FROM entities WHERE company_id = ?1 AND kind = 'expense' LIMIT 1",
            )?
            .exists([id.to_string()])?;
        if has_documents {
            return Err(ApiError::conflict(
                ErrorCode::AlreadyExists,
                format!(
                    "{} already has documents in {}: its base currency cannot change",
                    company.name, company.base_currency
                ),
            ));
        }
    }
    let paused_changed = company.active != d.active;
    company.name = d.name;
    company.base_currency = d.base_currency;
    company.registration_number = d.registration_number;
    company.vat_number = d.vat_number;
    company.country = d.country;
    company.time_zone = d.time_zone;
    company.active = d.active;
    company.allow_self_approval = d.allow_self_approval;
    store::put(c, firm, &Entity::Company(company.clone()))?;
    if paused_changed {
        let members: Vec<UserId> = company.members.iter().map(|m| m.user_id).collect();
        for user in members {
            access_changed(c, firm, user)?;
        }
    }
    Ok(company)
}

/// Makes `user`'s devices start their mirror over at their next pull: what they may see
/// changed.
pub fn access_changed(c: &Connection, firm: FirmId, user: UserId) -> ApiResult<()> {
    let version = store::current_version(c, firm)?;
    c.execute(
        "UPDATE users SET access_version = ?2 WHERE id = ?1",
        params![user.to_string(), version as i64],
    )?;
    c.execute(
        "UPDATE clients SET reset_before = ?2 WHERE user_id = ?1",
        params![user.to_string(), version as i64 + 1],
    )?;
    Ok(())
}

/// Creates a user of `firm` with a password already set (CLI and demo) or none (invited);
/// `staff` makes them an accountant or a firm admin.
pub fn create_user(
    c: &Connection,
    firm: FirmId,
    email: &str,
    name: &str,
    password_hash: Option<&str>,
    staff: Option<StaffRole>,
) -> ApiResult<UserId> {
    let id = UserId(crate::new_id());
    create_user_with_id(c, id, firm, email, name, password_hash, staff)
}

/// Like [`create_user`], with a given id (the demo's).
pub fn create_user_with_id(
    c: &Connection,
    id: UserId,
    firm: FirmId,
    email: &str,
    name: &str,
    password_hash: Option<&str>,
    staff: Option<StaffRole>,
) -> ApiResult<UserId> {
    let email = check_email(email)?;
    check_name("name", name)?;
    let taken: bool = c
        .prepare_cached("SELECT 1 FROM users WHERE email = ?1")?
        .exists([&email])?;
    if taken {
        return Err(ApiError::conflict(
            kvits_protocol::ErrorCode::AlreadyExists,
            "a user with this e-mail already exists",
        ));
    }
    c.execute(
        "INSERT INTO users (id, firm_id, email, name, password_hash, accountant, firm_admin,
                            created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id.to_string(),
            firm.to_string(),
            email,
            name.trim(),
            password_hash,
            staff.is_some(),
            staff == Some(StaffRole::FirmAdmin),
            crate::now().to_rfc3339()
        ],
    )?;
    Ok(id)
}

/// Why the `accountant` role is refused in a company.
const ACCOUNTANT_IN_COMPANY: &str =
    "accountants belong to the firm, not to a company: create them with the accountant flag";

/// Replaces `user`'s roles in `company` and makes their devices start their mirror over.
pub fn set_roles(
    c: &Connection,
    company: CompanyId,
    user: UserId,
    roles: &[Role],
) -> ApiResult<()> {
    if roles.contains(&Role::Accountant) {
        return Err(ApiError::bad_request(ACCOUNTANT_IN_COMPANY));
    }
    c.execute(
        "DELETE FROM memberships WHERE user_id = ?1 AND company_id = ?2",
        params![user.to_string(), company.to_string()],
    )?;
    for role in roles {
        c.execute(
            "INSERT OR IGNORE INTO memberships (user_id, company_id, role) VALUES (?1, ?2, ?3)",
            params![user.to_string(), company.to_string(), role.as_str()],
        )?;
    }
    store::refresh_company(c, company)?;
    let firm = store::user_firm(c, user)?;
    access_changed(c, firm, user)
}

/// What an invitation gives once it is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Roles in a company (added to any the person has there).
    Company {
        company: CompanyId,
        roles: Vec<Role>,
    },
    /// A place in the firm's staff, with clients assigned (added to any they had).
    Staff {
        role: StaffRole,
        assigned: Vec<CompanyId>,
    },
    /// Nothing but the password of an account made without one (the operator's CLI).
    Password,
}

/// Invites `email` into `firm` with `grant`, from `by`. Nothing is looked up by the e-mail: the
/// answer is the same whether or not it has an account, and only accepting tells (the person
/// who holds the link). An open invitation of the same e-mail to the same place is replaced.
pub fn invite(
    c: &Connection,
    firm: FirmId,
    email: &str,
    name: &str,
    grant: &Grant,
    by: UserId,
) -> ApiResult<Invitation> {
    let email = check_email(email)?;
    check_name("name", name)?;
    let (company, roles, staff_role, assigned) = match grant {
        Grant::Company { company, roles } => {
            (Some(company.to_string()), roles.clone(), None, &[][..])
        }
        Grant::Staff { role, assigned } => {
            (None, Vec::new(), Some(staff_word(*role)), &assigned[..])
        }
        Grant::Password => (None, Vec::new(), None, &[][..]),
    };
    c.execute(
        "DELETE FROM invitations
         WHERE firm_id = ?1 AND email = ?2 AND used_at IS NULL
           AND company_id IS ?3 AND (staff_role IS NULL) = (?4 IS NULL)",
        params![firm.to_string(), email, company, staff_role],
    )?;
    let token = random_token("kvi_")?;
    let id = kvits_protocol::InvitationId(crate::new_id());
    let now = crate::now();
    let expires_at = now + chrono::TimeDelta::days(crate::auth::INVITATION_DAYS);
    c.execute(
        "INSERT INTO invitations (token_hash, id, firm_id, email, name, company_id, roles,
                                  staff_role, assigned, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            hash_token(&token),
            id.to_string(),
            firm.to_string(),
            email,
            name.trim(),
            company,
            serde_json::to_string(&roles).map_err(ApiError::internal)?,
            staff_role,
            serde_json::to_string(assigned).map_err(ApiError::internal)?,
            by.to_string(),
            now.to_rfc3339(),
            expires_at.to_rfc3339()
        ],
    )?;
    if let Grant::Company { company, .. } = grant {
        store::refresh_company(c, *company)?;
    }
    Ok(Invitation {
        id,
        link: format!("/invite/{token}"),
        token,
        expires_at,
    })
}

/// Gives `user` (of `firm`) what an accepted invitation grants, added to what they had.
pub fn grant(c: &Connection, firm: FirmId, user: UserId, grant: &Grant) -> ApiResult<()> {
    match grant {
        Grant::Company { company, roles } => {
            let mut all: Vec<Role> = store::actor(c, user)?.roles_in(*company).to_vec();
            all.retain(|r| *r != Role::Accountant);
            all.extend(roles.iter().copied());
            set_roles(c, *company, user, &check_roles(&all)?)
        }
        Grant::Staff { role, assigned } => {
            c.execute(
                "UPDATE users SET accountant = 1, firm_admin = max(firm_admin, ?2) WHERE id = ?1",
                params![user.to_string(), *role == StaffRole::FirmAdmin],
            )?;
            for company in assigned {
                c.execute(
                    "INSERT OR IGNORE INTO assignments (user_id, company_id) VALUES (?1, ?2)",
                    params![user.to_string(), company.to_string()],
                )?;
            }
            access_changed(c, firm, user)
        }
        Grant::Password => Ok(()),
    }
}

/// A staff role as the database stores it.
pub(crate) fn staff_word(role: StaffRole) -> &'static str {
    match role {
        StaffRole::Accountant => "accountant",
        StaffRole::FirmAdmin => "firm_admin",
    }
}

/// The open (not accepted) invitations into `company`, or into `firm`'s staff when `company`
/// is `None`, sorted by name.
pub fn open_invitations(
    c: &Connection,
    firm: FirmId,
    company: Option<CompanyId>,
) -> ApiResult<Vec<kvits_protocol::PendingInvitation>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, email, name, roles, staff_role, assigned, expires_at FROM invitations
         WHERE firm_id = ?1 AND used_at IS NULL
           AND CASE WHEN ?2 IS NULL THEN staff_role IS NOT NULL ELSE company_id = ?2 END
         ORDER BY name, email, id",
    )?;
    let rows = stmt.query_map(
        params![firm.to_string(), company.map(|c| c.to_string())],
        |r| {
            Ok((
                store::uuid_col::<kvits_protocol::InvitationId>(r, 0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (id, email, name, roles, staff_role, assigned, expires_at) = row?;
        out.push(kvits_protocol::PendingInvitation {
            id,
            email,
            name,
            roles: serde_json::from_str(&roles).map_err(ApiError::internal)?,
            staff_role: staff_role.as_deref().map(parse_staff_word).transpose()?,
            assigned: serde_json::from_str(&assigned).map_err(ApiError::internal)?,
            expires_at: chrono::DateTime::parse_from_rfc3339(&expires_at)
                .map_err(ApiError::internal)?
                .with_timezone(&chrono::Utc),
        });
    }
    Ok(out)
}

/// A stored staff role read back.
pub(crate) fn parse_staff_word(word: &str) -> ApiResult<StaffRole> {
    match word {
        "accountant" => Ok(StaffRole::Accountant),
        "firm_admin" => Ok(StaffRole::FirmAdmin),
        other => Err(ApiError::internal(format!("unknown staff role {other:?}"))),
    }
}

/// The company, if `user` may manage its people (company admin there, or staff of its firm
/// who see it).
fn managed_company(c: &Connection, user: &AuthUser, company: CompanyId) -> ApiResult<()> {
    let actor = store::actor(c, user.user_id)?;
    let roles = actor.roles_in(company);
    if roles.is_empty() {
        return Err(ApiError::not_found("company"));
    }
    if !roles
        .iter()
        .any(|r| matches!(r, Role::CompanyAdmin | Role::Accountant))
    {
        return Err(ApiError::forbidden(
            "only the company's admins and the firm's accountants manage its users",
        ));
    }
    Ok(())
}

/// Refuses anyone but the firm's admins.
fn firm_admin_only(user: &AuthUser, what: &str) -> ApiResult<()> {
    if user.is_firm_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "only the firm's admins {what}"
        )))
    }
}

async fn create_company_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<CompanyDetails>,
) -> ApiResult<(StatusCode, Json<Company>)> {
    firm_admin_only(&user, "add client companies")?;
    let company = state
        .db
        .transact(move |tx| {
            let id = create_company(tx, user.firm_id, &req)?;
            let company =
                store::company(tx, id)?.ok_or_else(|| ApiError::internal("lost company"))?;
            Ok(company)
        })
        .await?;
    crate::sync::announce(&state, company.firm_id).await?;
    Ok((StatusCode::CREATED, Json(company)))
}

async fn update_company_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<CompanyId>,
    Json(req): Json<CompanyDetails>,
) -> ApiResult<Json<Company>> {
    firm_admin_only(&user, "change client companies")?;
    let firm = user.firm_id;
    let company = state
        .db
        .transact(move |tx| update_company(tx, firm, id, &req))
        .await?;
    crate::sync::announce(&state, firm).await?;
    Ok(Json(company))
}

fn check_roles(roles: &[Role]) -> ApiResult<Vec<Role>> {
    if roles.contains(&Role::Accountant) {
        return Err(ApiError::bad_request(ACCOUNTANT_IN_COMPANY));
    }
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    Ok(roles)
}

async fn invite_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(company): Path<CompanyId>,
    Json(req): Json<InviteUserRequest>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let roles = check_roles(&req.roles)?;
    if roles.is_empty() {
        return Err(ApiError::bad_request("give the person at least one role"));
    }
    let firm = user.firm_id;
    let invitation = state
        .db
        .transact(move |tx| {
            managed_company(tx, &user, company)?;
            let grant = Grant::Company { company, roles };
            invite(
                tx,
                user.firm_id,
                &req.email,
                &req.name,
                &grant,
                user.user_id,
            )
        })
        .await?;
    crate::sync::announce(&state, firm).await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

async fn cancel_invitation_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<kvits_protocol::InvitationId>,
) -> ApiResult<StatusCode> {
    let firm = user.firm_id;
    state
        .db
        .transact(move |tx| {
            let company: Option<Option<String>> = tx
                .query_row(
                    "SELECT company_id FROM invitations
                     WHERE id = ?1 AND firm_id = ?2 AND used_at IS NULL",
                    params![id.to_string(), user.firm_id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            let company = match company {
                None => return Err(ApiError::not_found("invitation")),
                Some(Some(company)) => {
                    let company: CompanyId = company.parse().map_err(ApiError::internal)?;
                    managed_company(tx, &user, company)?;
                    Some(company)
                }
                Some(None) => {
                    firm_admin_only(&user, "cancel invitations into the staff")?;
                    None
                }
            };
            tx.execute("DELETE FROM invitations WHERE id = ?1", [id.to_string()])?;
            if let Some(company) = company {
                store::refresh_company(tx, company)?;
            }
            Ok(())
        })
        .await?;
    crate::sync::announce(&state, firm).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_roles_handler(
    State(state): State<AppState>,
    user: AuthUser,
    Path((company, member)): Path<(CompanyId, UserId)>,
    Json(req): Json<SetRolesRequest>,
) -> ApiResult<StatusCode> {
    let roles = check_roles(&req.roles)?;
    let firm = user.firm_id;
    state
        .db
        .transact(move |tx| {
            managed_company(tx, &user, company)?;
            // Only members of the company: people join it by invitation.
            let is_member = tx
                .prepare_cached("SELECT 1 FROM memberships WHERE user_id = ?1 AND company_id = ?2")?
                .exists(params![member.to_string(), company.to_string()])?;
            if !is_member {
                return Err(ApiError::not_found("member"));
            }
            set_roles(tx, company, member, &roles)?;
            Ok(())
        })
        .await?;
    crate::sync::announce(&state, firm).await?;
    Ok(StatusCode::NO_CONTENT)
}
