//! The accountant's home: every client company the user sees with the work waiting in each,
//! counted on the server so a device needs none of the clients' documents to show it.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use kvits_protocol::{ClientSummary, ClientsOverview, CompanyId, Role, UserId};
use rusqlite::{Connection, params};

use crate::api::{Operation, Routes};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Json};
use crate::openapi::schema;
use crate::{AppState, store};

pub(crate) fn routes() -> Routes {
    Routes::new().get("/v1/clients", clients_handler, |g| {
        Operation::new("getClients", "firm", "The clients overview")
            .describe(
                "The firm's staff: every client company the user sees (all of them for a firm \
                 admin; an accountant's assigned ones when the firm says so), with the documents \
                 to review, waiting for approval, returned and ready for export, and the \
                 client's messages the user has not read.",
            )
            .bearer()
            .db()
            .json(200, "The overview.", schema::<ClientsOverview>(g))
            .error(403, "`forbidden`: only the firm's staff have clients.")
    })
}

/// The overview for `user`.
pub fn overview(c: &Connection, user: UserId) -> ApiResult<ClientsOverview> {
    let actor = store::actor(c, user)?;
    let firm = actor.firm_id;
    let seen: BTreeSet<CompanyId> = actor
        .roles
        .iter()
        .filter(|(_, roles)| roles.contains(&Role::Accountant))
        .map(|(id, _)| *id)
        .collect();
    let assigned: BTreeSet<CompanyId> = store::assignments(c, user)?.into_iter().collect();

    // Documents by client and status, from the status index.
    let mut counts: BTreeMap<(CompanyId, String), u32> = BTreeMap::new();
    let mut stmt = c.prepare_cached(
        "SELECT company_id, status, count(*) FROM entities INDEXED BY entities_by_company_status
         WHERE company_id = ?1 AND kind = 'expense' AND deleted = 0
           AND status IN ('submitted', 'approved', 'returned', 'reviewed')
         GROUP BY status",
    )?;
    for company in &seen {
        let rows = stmt.query_map([company.to_string()], |r| {
            Ok((r.get::<_, String>(1)?, r.get::<_, u32>(2)?))
        })?;
        for row in rows {
            let (status, n) = row?;
            counts.insert((*company, status), n);
        }
    }

    // Messages from the clients' people (not the firm's staff) the user has not read.
    let staff: BTreeSet<String> = c
        .prepare_cached(
            "SELECT id FROM users WHERE firm_id = ?1 AND (accountant = 1 OR firm_admin = 1)",
        )?
        .query_map([firm.to_string()], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut unread: BTreeMap<CompanyId, u32> = BTreeMap::new();
    let mut messages = c.prepare_cached(
        "SELECT id, json_extract(body, '$.author_id') FROM entities
         WHERE company_id = ?1 AND kind = 'message' AND deleted = 0",
    )?;
    let mut read = c.prepare_cached(
        "SELECT 1 FROM entities WHERE kind = 'message_read' AND id = ?1 AND deleted = 0",
    )?;
    for company in &seen {
        let rows: Vec<(String, String)> = messages
            .query_map([company.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (id, author) in rows {
            if staff.contains(&author) || author == user.to_string() {
                continue;
            }
            let message = kvits_protocol::MessageId(id.parse().map_err(ApiError::internal)?);
            let read_id = kvits_protocol::message_read_id(message, user);
            if !read.exists(params![read_id.to_string()])? {
                *unread.entry(*company).or_default() += 1;
            }
        }
    }

    // Card payments still without a receipt.
    let mut missing_stmt = c.prepare_cached(
        "SELECT count(*) FROM entities
         WHERE company_id = ?1 AND kind = 'card_transaction' AND deleted = 0
           AND json_extract(body, '$.receipt.state') = 'missing'
           AND json_extract(body, '$.amount.amount_minor') > 0",
    )?;
    let mut missing: BTreeMap<CompanyId, u32> = BTreeMap::new();
    for company in &seen {
        let n: u32 = missing_stmt.query_row([company.to_string()], |r| r.get(0))?;
        missing.insert(*company, n);
    }

    let mut clients = Vec::new();
    for id in &seen {
        let Some(company) = store::company(c, *id)? else {
            continue;
        };
        let n = |status: &str| counts.get(&(*id, status.to_owned())).copied().unwrap_or(0);
        clients.push(ClientSummary {
            company_id: *id,
            name: company.name,
            active: company.active,
            country: company.country,
            base_currency: company.base_currency,
            assigned_to_me: assigned.contains(id),
            to_review: n("approved"),
            waiting_for_approval: n("submitted"),
            returned: n("returned"),
            ready_for_export: n("reviewed"),
            unread_replies: unread.get(id).copied().unwrap_or(0),
            missing_receipts: missing.get(id).copied().unwrap_or(0),
        });
    }
    clients.sort_by(|a, b| {
        (a.name.to_lowercase(), a.company_id).cmp(&(b.name.to_lowercase(), b.company_id))
    });
    Ok(ClientsOverview { clients })
}

async fn clients_handler(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<ClientsOverview>> {
    if !user.is_staff() {
        return Err(ApiError::forbidden("only the firm's staff have clients"));
    }
    let overview = state.db.read(move |c| overview(c, user.user_id)).await?;
    Ok(Json(overview))
}
