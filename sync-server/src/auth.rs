//! Sign-in with e-mail and password (argon2id), opaque bearer tokens stored hashed, devices
//! bound to users, invitations.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use base64::Engine;
use kvits_protocol::{
    AcceptInvitationRequest, ClientId, ErrorCode, FirmId, FirmSummary, LoginRequest, LoginResponse,
    Membership, PROTOCOL_HEADER, PROTOCOL_VERSION, Session, SignedInDevice, StaffRole, Timestamp,
    UserId, UserSummary,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::admin;
use crate::api::{Operation, Routes};
use crate::error::{ApiError, ApiResult, Json};
pub use crate::hashing::{hash_password, verify_password};
use crate::openapi::schema;
use crate::{AppState, store};

/// Shortest password a person may choose.
pub const MIN_PASSWORD_LEN: usize = 12;

/// A session ends after this long without a request, unless the server is told otherwise.
pub const DEFAULT_SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);
/// A session ends this long after its sign-in, unless the server is told otherwise.
pub const DEFAULT_SESSION_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(90 * 86_400);
/// A session's last use is written at most this often: a write per request would put every
/// request behind the one writer.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// Characters of a new password that the strength estimate reads: past these it is a long
/// passphrase, and zxcvbn's time grows with the length.
const ESTIMATED_CHARS: usize = 100;

/// Whether `password` may become someone's: at least [`MIN_PASSWORD_LEN`] characters, and not
/// one a guesser tries early — zxcvbn's estimate at least "safely unguessable" (score 3 of 4),
/// knowing what else the guesser knows of the person (`person`: their e-mail, their name).
pub fn check_new_password(password: &str, person: &[&str]) -> ApiResult<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(ApiError::bad_request(format!(
            "choose a password of at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::bad_request(format!(
            "a password has at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    let estimated: String = password.chars().take(ESTIMATED_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&estimated, person);
    if estimate.score() < zxcvbn::Score::Three {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({})", w.to_string().trim_end_matches('.').to_lowercase()))
            .unwrap_or_default();
        return Err(ApiError::bad_request(format!(
            "this password is too easy to guess{why}; put together a few words only you would \
             think of"
        )));
    }
    Ok(())
}
/// Longest password accepted (argon2 input bound).
pub const MAX_PASSWORD_LEN: usize = 1024;
/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

/// Sign-in, sessions, invitations.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .post("/v1/auth/login", login, |g| {
            Operation::new("login", "auth", "Sign in")
                .describe(
                    "Signs in with e-mail and password and issues a bearer token. A `client_id` \
                     binds that app install to the user on first use.",
                )
                .protocol_checked()
                .json_body(schema::<LoginRequest>(g))
                .db()
                .json(200, "Signed in.", schema::<LoginResponse>(g))
                .error(
                    400,
                    "`bad_request`: `device_name` is longer than 100 characters.",
                )
                .error(401, "`bad_credentials`: wrong e-mail or password.")
                .error(
                    429,
                    "`rate_limited`: five wrong passwords for this e-mail from this address, or \
                     fifty from this address, within 15 minutes; `Retry-After` says how many \
                     seconds to wait. Counted before the password is checked, and kept by the \
                     server across restarts.",
                )
                .error_header(
                    401,
                    "WWW-Authenticate",
                    &json!({"const": "Bearer"}),
                    "`Bearer`.",
                )
                .error(
                    403,
                    "`forbidden`: the `client_id` is bound to another user; sign in with a new \
                     one.",
                )
                .error(
                    403,
                    "`company_inactive`: every company the person belongs to is paused by the \
                     firm; the message says which and by whom.",
                )
                .error(
                    403,
                    "`account_disabled`: the right password, but the person's access was turned \
                     off by their firm or company.",
                )
                .error(
                    503,
                    "`unavailable`: the server is checking as many passwords as it allows at \
                     once; `Retry-After` says when to try again.",
                )
        })
        .post("/v1/auth/logout", logout, |_| {
            Operation::new("logout", "auth", "Sign out")
                .describe("Revokes the token of this request.")
                .bearer_even_paused()
                .db()
                .empty(204, "Signed out.")
        })
        .post("/v1/auth/revoke-all", revoke_all, |_| {
            Operation::new("revokeAll", "auth", "Sign out everywhere")
                .describe("Revokes every token of the signed-in user, on every device.")
                .bearer_even_paused()
                .db()
                .empty(204, "Every session ended.")
        })
        .post("/v1/auth/accept-invitation", accept_invitation, |g| {
            Operation::new("acceptInvitation", "auth", "Accept an invitation")
                .describe(
                    "Signs the invited person in with the one-time invitation token and gives \
                     them what the invitation grants. Someone new chooses their password here; \
                     an e-mail that already has an account of the same firm accepts with that \
                     account's password (counted like a sign-in). Only here is it told that \
                     the e-mail belongs to another firm.",
                )
                .protocol_checked()
                .json_body(schema::<AcceptInvitationRequest>(g))
                .db()
                .json(200, "Accepted; signed in.", schema::<LoginResponse>(g))
                .error(
                    400,
                    "`bad_request`: a new password shorter than 12 characters or too easy to \
                     guess, a password over 1024 bytes, or `device_name` longer than 100.",
                )
                .error(
                    401,
                    "`bad_credentials`: the e-mail has an account, and this is not its password.",
                )
                .error(
                    403,
                    "`forbidden`: the `client_id` is bound to another user.",
                )
                .error(
                    403,
                    "`company_inactive`: every company the person belongs to is paused by the \
                     firm (the invitation stays usable).",
                )
                .error(
                    403,
                    "`account_disabled`: the invited person's access was turned off meanwhile.",
                )
                .error(404, "`not_found`: no such invitation.")
                .error(
                    409,
                    "`already_exists`: the e-mail has an account with another firm (the \
                     invitation stays open).",
                )
                .error(
                    410,
                    "`gone`: the invitation was already used or has expired.",
                )
                .error(
                    429,
                    "`rate_limited`: too many wrong passwords for the account from here; \
                     `Retry-After` says when to try again.",
                )
        })
        .get("/v1/auth/sessions", sessions_handler, |g| {
            Operation::new("listSessions", "auth", "The user's signed-in devices")
                .describe(
                    "Every live session of the signed-in user (a device signed in and not \
                     signed out, ended or expired), the last used first. A session ends after \
                     30 days without use and 90 days after its sign-in (the server's defaults).",
                )
                .bearer_even_paused()
                .db()
                .json(
                    200,
                    "The sessions.",
                    json!({"type": "array", "items": schema::<SignedInDevice>(g)}),
                )
        })
        .delete("/v1/auth/sessions/{session_id}", end_session_handler, |g| {
            Operation::new("endSession", "auth", "End one of the user's sessions")
                .describe(
                    "Signs that device out: its next request is answered 401, and it asks its \
                     user to sign in again (keeping what it has not sent).",
                )
                .bearer_even_paused()
                .path_param("session_id", schema::<String>(g), "The session's id.")
                .db()
                .empty(204, "Ended.")
                .error(
                    404,
                    "`not_found`: no live session of this user has this id.",
                )
        })
        .get("/v1/me", me, |g| {
            Operation::new("me", "auth", "The signed-in user")
                .describe("Who the token belongs to, their firm and their companies with roles.")
                .bearer()
                .db()
                .json(200, "The session.", schema::<Session>(g))
        })
}

/// Wrong passwords allowed for one account from one client address within
/// [`THROTTLE_WINDOW`]; more are answered 429 without checking the password.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// Wrong passwords allowed from one client address within the window, whatever the accounts
/// (one password tried against many accounts).
pub const MAX_FAILED_FROM_ADDRESS: u32 = 50;
/// How long failures count.
pub const THROTTLE_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The counters a sign-in attempt is held against: the account from this address, and the
/// address. Not the account alone: then anyone could lock a person out of their account.
fn attempt_keys(email: &str, address: Option<std::net::IpAddr>) -> [(String, u32); 2] {
    let address = address.map_or_else(|| "unknown".to_string(), |a| a.to_string());
    let email = email.trim().to_lowercase();
    [
        (format!("account {email} from {address}"), MAX_FAILED_LOGINS),
        (format!("address {address}"), MAX_FAILED_FROM_ADDRESS),
    ]
}

/// Counts a sign-in attempt before its password is checked (so attempts sent at once are
/// counted at once), in the database (so the count holds across restarts and instances).
/// Answers the seconds to wait when a counter is full; then nothing is counted.
fn count_attempt(c: &Connection, keys: &[(String, u32)], now: i64) -> ApiResult<Option<u64>> {
    let window = THROTTLE_WINDOW.as_secs() as i64;
    c.execute(
        "DELETE FROM sign_in_attempts WHERE window_start <= ?1",
        [now - window],
    )?;
    let mut counts = Vec::with_capacity(keys.len());
    for (key, limit) in keys {
        let row: Option<(i64, i64)> = c
            .query_row(
                "SELECT failures, window_start FROM sign_in_attempts WHERE key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (failures, start) = row.unwrap_or((0, now));
        if failures >= i64::from(*limit) {
            return Ok(Some((start + window - now).max(1) as u64));
        }
        counts.push((key, failures + 1, start));
    }
    for (key, failures, start) in counts {
        c.execute(
            "INSERT INTO sign_in_attempts (key, failures, window_start) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET failures = excluded.failures",
            params![key, failures, start],
        )?;
    }
    Ok(None)
}

/// A sign-in succeeded: it does not count against the address, and the account's failures
/// from there are forgotten.
fn settle_attempt(c: &Connection, keys: &[(String, u32)]) -> ApiResult<()> {
    if let [(account, _), (address, _)] = keys {
        c.execute("DELETE FROM sign_in_attempts WHERE key = ?1", [account])?;
        c.execute(
            "UPDATE sign_in_attempts SET failures = max(failures - 1, 0) WHERE key = ?1",
            [address],
        )?;
    }
    Ok(())
}

/// The address a request comes from: the peer's, or — when the peer is one of the server's
/// trusted proxies — the last address in `X-Forwarded-For` that is not one of them.
pub fn client_address(parts: &Parts, trusted: &[std::net::IpAddr]) -> Option<std::net::IpAddr> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<std::net::IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .or(Some(peer))
}

/// A fresh random secret: `prefix` + 32 random bytes, base64url.
pub fn random_token(prefix: &str) -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// What is stored for a token: its SHA-256 (a token has 256 bits of entropy, so a fast hash
/// is enough; a stolen database yields no usable token).
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The signed-in user of a request, who may use Kvits now: staff, or a member of at least one
/// active company. Everyone else is answered `403 company_inactive` with the reason.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub user_id: UserId,
    pub firm_id: FirmId,
    pub name: String,
    pub email: String,
    /// Their role on the firm's staff, if they are staff.
    pub staff: Option<StaffRole>,
    pub token_hash: String,
    pub client_id: Option<ClientId>,
    /// The id of this request's session (what `GET /v1/auth/sessions` lists).
    pub session_id: String,
}

impl AuthUser {
    /// Whether they are the firm's staff (an accountant or a firm admin).
    pub fn is_staff(&self) -> bool {
        self.staff.is_some()
    }

    /// Whether they manage the firm's staff and client companies.
    pub fn is_firm_admin(&self) -> bool {
        self.staff == Some(StaffRole::FirmAdmin)
    }
}

/// The holder of a live token, whether or not their companies are active: for ending one's
/// own sessions, which a paused company's member may still do.
#[derive(Clone, Debug)]
pub struct SignedIn(pub AuthUser);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        check_protocol(parts)?;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or_else(ApiError::unauthenticated)?;
        let token_hash = hash_token(token);
        let limits = SessionLimits::of(&state.config);
        let now = crate::now();
        match state
            .db
            .read(move |c| token_state(c, &token_hash, limits, now))
            .await?
        {
            TokenState::Ended(why) => Err(ApiError::unauthenticated_because(why)),
            TokenState::Live { user, touch } => {
                state.limits.request(user.user_id)?;
                if touch {
                    // Renewed by use. A busy database only delays the renewal: the request
                    // goes on.
                    let hash = user.token_hash.clone();
                    let touched = state
                        .db
                        .write(move |c| {
                            c.execute(
                                "UPDATE tokens SET last_used_at = ?2 WHERE token_hash = ?1",
                                params![hash, now.to_rfc3339()],
                            )?;
                            Ok(())
                        })
                        .await;
                    if let Err(e) = touched {
                        tracing::warn!("a session's last use was not recorded: {}", e.message);
                    }
                }
                Ok(SignedIn(user))
            }
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let SignedIn(user) = SignedIn::from_request_parts(parts, state).await?;
        if user.is_staff() {
            return Ok(user);
        }
        let id = user.user_id;
        match state.db.read(move |c| store::lockout(c, id)).await? {
            Some(reason) => Err(company_inactive(reason)),
            None => Ok(user),
        }
    }
}

/// The answer to a person whose every company is paused.
pub fn company_inactive(reason: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, ErrorCode::CompanyInactive, reason)
}

/// Refuses clients that speak a protocol revision this server does not.
fn check_protocol(parts: &Parts) -> ApiResult<()> {
    let Some(value) = parts.headers.get(PROTOCOL_HEADER) else {
        return Ok(());
    };
    match value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
    {
        Some(PROTOCOL_VERSION) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            ErrorCode::UpgradeRequired,
            format!(
                "this app speaks a protocol version the server no longer serves (server: \
                 {PROTOCOL_VERSION}); update the app — your unsent work is kept"
            ),
        )),
    }
}

/// How long sessions last (the server's configuration).
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    pub idle: chrono::TimeDelta,
    pub lifetime: chrono::TimeDelta,
}

impl SessionLimits {
    pub fn of(config: &crate::Config) -> Self {
        let delta = |d: std::time::Duration| {
            chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
        };
        SessionLimits {
            idle: delta(config.session_idle),
            lifetime: delta(config.session_lifetime),
        }
    }

    /// When a session signed in at `created` and last used at `used` ends.
    pub fn expires_at(&self, created: Timestamp, used: Timestamp) -> Timestamp {
        let by_idle = used
            .checked_add_signed(self.idle)
            .unwrap_or(Timestamp::MAX_UTC);
        let by_age = created
            .checked_add_signed(self.lifetime)
            .unwrap_or(Timestamp::MAX_UTC);
        by_idle.min(by_age)
    }
}

/// What a bearer token is now.
enum TokenState {
    /// It works; `touch`: its last use should be written.
    Live { user: AuthUser, touch: bool },
    /// It does not (unknown, signed out, expired, or its person turned off): why, for them.
    Ended(&'static str),
}

fn time_col(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Timestamp>> {
    Ok(r.get::<_, Option<String>>(i)?.and_then(|t| {
        chrono::DateTime::parse_from_rfc3339(&t)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    }))
}

fn token_state(
    c: &Connection,
    token_hash: &str,
    limits: SessionLimits,
    now: Timestamp,
) -> ApiResult<TokenState> {
    struct Row {
        user: AuthUser,
        revoked: bool,
        disabled: bool,
        created: Option<Timestamp>,
        used: Option<Timestamp>,
    }
    let row = c
        .query_row(
            "SELECT u.id, u.firm_id, u.name, u.email, u.accountant, u.firm_admin, t.client_id,
                    t.session_id, t.revoked_at IS NOT NULL, u.disabled_at IS NOT NULL,
                    t.created_at, t.last_used_at
             FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1",
            [token_hash],
            |r| {
                let staff = match (r.get::<_, bool>(4)?, r.get::<_, bool>(5)?) {
                    (_, true) => Some(StaffRole::FirmAdmin),
                    (true, false) => Some(StaffRole::Accountant),
                    (false, false) => None,
                };
                Ok(Row {
                    user: AuthUser {
                        user_id: store::uuid_col(r, 0)?,
                        firm_id: store::uuid_col(r, 1)?,
                        name: r.get(2)?,
                        email: r.get(3)?,
                        staff,
                        token_hash: token_hash.to_owned(),
                        client_id: store::opt_uuid_col(r, 6)?,
                        session_id: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                    },
                    revoked: r.get(8)?,
                    disabled: r.get(9)?,
                    created: time_col(r, 10)?,
                    used: time_col(r, 11)?,
                })
            },
        )
        .optional()?;
    let Some(row) = row else {
        return Ok(TokenState::Ended(
            "sign in again: this session is unknown to the server",
        ));
    };
    if row.disabled {
        return Ok(TokenState::Ended(
            "your access to Kvits was turned off by your firm or company; ask them to turn it \
             on again",
        ));
    }
    if row.revoked {
        return Ok(TokenState::Ended(
            "this session was ended (signed out here or from another device); sign in again",
        ));
    }
    let Some(created) = row.created else {
        return Err(ApiError::internal("a session without its sign-in time"));
    };
    let used = row.used.unwrap_or(created);
    if now >= limits.expires_at(created, used) {
        return Ok(TokenState::Ended(
            "this session has expired (unused too long, or signed in too long ago); sign in \
             again",
        ));
    }
    Ok(TokenState::Live {
        touch: row.used.is_none_or(|u| now - u >= TOUCH_EVERY),
        user: row.user,
    })
}

/// The session of a user: who, which firm, which companies with which roles.
pub fn session(c: &Connection, user: UserId) -> ApiResult<Session> {
    let (name, email, firm_id, firm_name): (String, String, String, String) = c.query_row(
        "SELECT u.name, u.email, f.id, f.name FROM users u JOIN firms f ON f.id = u.firm_id
         WHERE u.id = ?1",
        [user.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let firm_id: FirmId = firm_id.parse().map_err(ApiError::internal)?;
    let actor = store::actor(c, user)?;
    let mut memberships = Vec::new();
    for (company_id, roles) in &actor.roles {
        let Some(company) = store::company(c, *company_id)? else {
            continue;
        };
        memberships.push(Membership {
            company_id: *company_id,
            company_name: company.name,
            roles: roles.clone(),
            active: company.active,
        });
    }
    memberships.sort_by(|a, b| a.company_name.cmp(&b.company_name));
    Ok(Session {
        user: UserSummary {
            id: user,
            name,
            email,
        },
        firm: FirmSummary {
            id: firm_id,
            name: firm_name,
        },
        memberships,
        staff: store::standing(c, user)?.staff,
    })
}

/// Binds `client` to `user` (first use) or checks it is theirs.
pub fn bind_client(
    c: &Connection,
    client: ClientId,
    user: UserId,
    device_name: Option<&str>,
) -> ApiResult<()> {
    let owner: Option<String> = c
        .query_row(
            "SELECT user_id FROM clients WHERE client_id = ?1",
            [client.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    match owner {
        Some(owner) if owner == user.to_string() => Ok(()),
        Some(_) => Err(ApiError::forbidden(
            "this app install belongs to another user; sign in with a new client id",
        )),
        None => {
            c.execute(
                "INSERT INTO clients (client_id, user_id, device_name, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    client.to_string(),
                    user.to_string(),
                    device_name,
                    crate::now().to_rfc3339()
                ],
            )?;
            Ok(())
        }
    }
}

/// Issues a token for `user` on `client`.
fn issue_token(
    c: &Connection,
    user: UserId,
    client: Option<ClientId>,
    device_name: Option<&str>,
) -> ApiResult<LoginResponse> {
    if let Some(reason) = store::lockout(c, user)? {
        return Err(company_inactive(reason));
    }
    if let Some(client) = client {
        bind_client(c, client, user, device_name)?;
    }
    if disabled(c, user)? {
        return Err(account_disabled());
    }
    let token = random_token("kvt_")?;
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(ApiError::internal)?;
    let now = crate::now().to_rfc3339();
    c.execute(
        "INSERT INTO tokens (token_hash, user_id, client_id, created_at, session_id,
                             last_used_at, device_name)
         VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6)",
        params![
            hash_token(&token),
            user.to_string(),
            client.map(|c| c.to_string()),
            now,
            hex::encode(id),
            device_name,
        ],
    )?;
    Ok(LoginResponse {
        token,
        session: session(c, user)?,
    })
}

fn check_device_name(name: Option<&str>) -> ApiResult<()> {
    if name.is_some_and(|n| n.chars().count() > 100) {
        return Err(ApiError::bad_request(
            "device_name is longer than 100 characters",
        ));
    }
    Ok(())
}

/// Counts an attempt at `email`'s password from the request's address, before anything is
/// hashed (sign-in, and accepting an invitation with an existing account): 429 once there were
/// too many. The keys settle the count when the password was right.
async fn count_attempt_of(
    state: &AppState,
    parts: &Parts,
    email: &str,
) -> ApiResult<[(String, u32); 2]> {
    let keys = attempt_keys(email, client_address(parts, &state.config.trusted_proxies));
    let counted = keys.clone();
    let now = crate::now().timestamp();
    if let Some(wait) = state
        .db
        .write(move |c| count_attempt(c, &counted, now))
        .await?
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            "too many wrong passwords from here; wait a few minutes and try again",
        )
        .with_header("retry-after", wait.to_string()));
    }
    Ok(keys)
}

async fn login(
    State(state): State<AppState>,
    parts: Parts,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    check_protocol(&parts)?;
    if req.password.len() > MAX_PASSWORD_LEN || req.email.len() > 320 {
        return Err(bad_credentials());
    }
    check_device_name(req.device_name.as_deref())?;
    // A slot to check the password in, then the attempt counted, both before any hashing.
    let permit = hashing_permit(&state).await?;
    let keys = count_attempt_of(&state, &parts, &req.email).await?;
    let email = req.email.trim().to_owned();
    let found: Option<(String, Option<String>)> = state
        .db
        .read(move |c| {
            Ok(c.query_row(
                "SELECT id, password_hash FROM users WHERE email = ?1",
                [email],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
        .await?;
    let password = req.password.clone();
    let stored = found.as_ref().and_then(|(_, h)| h.clone());
    let ok = state
        .hashing
        .run(permit, move || {
            verify_password(&password, stored.as_deref())
        })
        .await?;
    let Some((user_id, _)) = found.filter(|_| ok) else {
        return Err(bad_credentials());
    };
    state.db.write(move |c| settle_attempt(c, &keys)).await?;
    let user: UserId = user_id.parse().map_err(ApiError::internal)?;
    let response = state
        .db
        .write(move |c| issue_token(c, user, req.client_id, req.device_name.as_deref()))
        .await?;
    tracing::info!(user = %user, "signed in");
    Ok(Json(response))
}

/// Whether the person's access is turned off.
pub fn disabled(c: &Connection, user: UserId) -> ApiResult<bool> {
    Ok(c.query_row(
        "SELECT disabled_at IS NOT NULL FROM users WHERE id = ?1",
        [user.to_string()],
        |r| r.get(0),
    )?)
}

/// The answer to a person whose access is turned off (only once they proved who they are).
pub fn account_disabled() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::AccountDisabled,
        "your access to Kvits was turned off by your firm or company; ask them to turn it on \
         again. Nothing saved on your device is lost.",
    )
}

/// Turns `user`'s access off (every session ends at once) or on again.
pub fn set_disabled(c: &Connection, user: UserId, disabled: bool) -> ApiResult<()> {
    let now = crate::now().to_rfc3339();
    if disabled {
        c.execute(
            "UPDATE users SET disabled_at = coalesce(disabled_at, ?2) WHERE id = ?1",
            params![user.to_string(), now],
        )?;
        c.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
            params![user.to_string(), now],
        )?;
    } else {
        c.execute(
            "UPDATE users SET disabled_at = NULL WHERE id = ?1",
            [user.to_string()],
        )?;
    }
    Ok(())
}

/// The user's live sessions, the last used first.
pub fn live_sessions(
    c: &Connection,
    user: UserId,
    current: &str,
    limits: SessionLimits,
    now: Timestamp,
) -> ApiResult<Vec<SignedInDevice>> {
    let mut stmt = c.prepare_cached(
        "SELECT session_id, device_name, created_at, last_used_at FROM tokens
         WHERE user_id = ?1 AND revoked_at IS NULL",
    )?;
    let rows = stmt.query_map([user.to_string()], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, Option<String>>(1)?,
            time_col(r, 2)?,
            time_col(r, 3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (Some(id), device_name, Some(created), used) = row? else {
            continue;
        };
        let used = used.unwrap_or(created);
        let expires_at = limits.expires_at(created, used);
        if now >= expires_at {
            continue;
        }
        out.push(SignedInDevice {
            current: id == current,
            id,
            device_name,
            signed_in_at: created,
            last_used_at: used,
            expires_at,
        });
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.last_used_at));
    Ok(out)
}

async fn sessions_handler(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> ApiResult<Json<Vec<SignedInDevice>>> {
    let limits = SessionLimits::of(&state.config);
    let list = state
        .db
        .read(move |c| live_sessions(c, user.user_id, &user.session_id, limits, crate::now()))
        .await?;
    Ok(Json(list))
}

async fn end_session_handler(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    crate::error::Path(session_id): crate::error::Path<String>,
) -> ApiResult<StatusCode> {
    let ended = state
        .db
        .write(move |c| {
            Ok(c.execute(
                "UPDATE tokens SET revoked_at = ?3
                 WHERE session_id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
                params![
                    session_id,
                    user.user_id.to_string(),
                    crate::now().to_rfc3339()
                ],
            )?)
        })
        .await?;
    if ended == 0 {
        return Err(ApiError::not_found("session"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A permit to hash or check one password (see [`crate::hashing`]).
async fn hashing_permit(state: &AppState) -> ApiResult<crate::hashing::Permit> {
    state.hashing.permit(state.config.hashing_wait).await
}

fn bad_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::BadCredentials,
        "wrong e-mail or password",
    )
}

async fn logout(State(state): State<AppState>, SignedIn(user): SignedIn) -> ApiResult<StatusCode> {
    state
        .db
        .write(move |c| {
            c.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
                params![user.token_hash, crate::now().to_rfc3339()],
            )?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_all(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> ApiResult<StatusCode> {
    state
        .db
        .write(move |c| {
            c.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
                params![user.user_id.to_string(), crate::now().to_rfc3339()],
            )?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Session>> {
    let session = state.db.read(move |c| session(c, user.user_id)).await?;
    Ok(Json(session))
}

/// An invitation that can still be accepted.
struct LiveInvitation {
    firm: FirmId,
    email: String,
    name: String,
    grant: admin::Grant,
}

/// The invitation `token_hash` names, if it is unused and unexpired: 404 for no such
/// invitation, 410 for a used or expired one.
fn live_invitation(c: &Connection, token_hash: &str) -> ApiResult<LiveInvitation> {
    type Row = (
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        String,
        String,
        Option<String>,
    );
    let row: Option<Row> = c
        .query_row(
            "SELECT firm_id, email, name, company_id, roles, staff_role, assigned, expires_at,
                    used_at
             FROM invitations WHERE token_hash = ?1",
            [token_hash],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            },
        )
        .optional()?;
    let Some((firm, email, name, company, roles, staff_role, assigned, expires_at, used_at)) = row
    else {
        return Err(ApiError::not_found("invitation"));
    };
    let expired = chrono::DateTime::parse_from_rfc3339(&expires_at)
        .map(|t| t < crate::now())
        .unwrap_or(true);
    if used_at.is_some() || expired {
        return Err(ApiError::new(
            StatusCode::GONE,
            ErrorCode::Gone,
            "this invitation was already used or has expired; ask for a new one",
        ));
    }
    let grant = match (company, staff_role) {
        (Some(company), _) => admin::Grant::Company {
            company: company.parse().map_err(ApiError::internal)?,
            roles: serde_json::from_str(&roles).map_err(ApiError::internal)?,
        },
        (None, Some(role)) => admin::Grant::Staff {
            role: admin::parse_staff_word(&role)?,
            assigned: serde_json::from_str(&assigned).map_err(ApiError::internal)?,
        },
        (None, None) => admin::Grant::Password,
    };
    Ok(LiveInvitation {
        firm: firm.parse().map_err(ApiError::internal)?,
        email,
        name,
        grant,
    })
}

/// The account an e-mail already has: its id, its firm, and whether its password is set.
fn account_of(c: &Connection, email: &str) -> ApiResult<Option<(UserId, FirmId, bool)>> {
    let row: Option<(String, String, bool)> = c
        .query_row(
            "SELECT id, firm_id, password_hash IS NOT NULL FROM users WHERE email = ?1",
            [email],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(user, firm, has_password)| {
        Ok((
            user.parse().map_err(ApiError::internal)?,
            firm.parse().map_err(ApiError::internal)?,
            has_password,
        ))
    })
    .transpose()
}

/// What accepting an invitation does to the account of its e-mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Acceptance {
    /// No account yet: make it, with this password hash.
    New,
    /// An account of the firm without a password (made by an older server, or the operator's
    /// CLI), with the invitation made for it: set the password.
    SetPassword(UserId),
    /// An account of the firm that proved its password: give it the roles.
    Existing(UserId),
}

/// The answer to an invitation whose e-mail has an account with another firm: told only to
/// whoever holds the link.
fn of_another_firm() -> ApiError {
    ApiError::conflict(
        ErrorCode::AlreadyExists,
        "this e-mail already has a Kvits account with another accounting firm, and an account \
         belongs to one firm; ask whoever invited you to invite another address of yours",
    )
}

async fn accept_invitation(
    State(state): State<AppState>,
    parts: Parts,
    Json(req): Json<AcceptInvitationRequest>,
) -> ApiResult<Json<LoginResponse>> {
    check_protocol(&parts)?;
    check_device_name(req.device_name.as_deref())?;
    // The token first: nobody without a live invitation makes the server hash anything.
    let token_hash = hash_token(req.token.trim());
    let lookup = token_hash.clone();
    let (invitation, account) = state
        .db
        .read(move |c| {
            let invitation = live_invitation(c, &lookup)?;
            let account = account_of(c, &invitation.email)?;
            Ok((invitation, account))
        })
        .await?;
    if req.password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::bad_request(format!(
            "a password is at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    let mut hash = None;
    let acceptance = match account {
        Some((_, firm, _)) if firm != invitation.firm => return Err(of_another_firm()),
        // An account made without a password may hold more than this invitation grants (a
        // place on the staff, say): only its own invitation sets its password, so that nobody
        // takes it over with an invitation of their own to the same address.
        Some((_, _, false)) if invitation.grant != admin::Grant::Password => {
            return Err(ApiError::conflict(
                ErrorCode::AlreadyExists,
                "this e-mail's account waits for its first invitation to be accepted: open \
                 that link first, then this one",
            ));
        }
        Some((user, _, true)) => {
            // The account's owner proves it with their password, counted like a sign-in.
            let permit = hashing_permit(&state).await?;
            let keys = count_attempt_of(&state, &parts, &invitation.email).await?;
            let stored = state
                .db
                .read(move |c| {
                    Ok(c.query_row(
                        "SELECT password_hash FROM users WHERE id = ?1",
                        [user.to_string()],
                        |r| r.get::<_, Option<String>>(0),
                    )?)
                })
                .await?;
            let password = req.password.clone();
            let ok = state
                .hashing
                .run(permit, move || {
                    verify_password(&password, stored.as_deref())
                })
                .await?;
            if !ok {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::BadCredentials,
                    "this e-mail already has a Kvits account: accept with its password, the one \
                     you sign in with",
                ));
            }
            state.db.write(move |c| settle_attempt(c, &keys)).await?;
            Acceptance::Existing(user)
        }
        account => {
            check_new_password(&req.password, &[&invitation.email, &invitation.name])?;
            let password = req.password.clone();
            let permit = hashing_permit(&state).await?;
            hash = Some(
                state
                    .hashing
                    .run(permit, move || hash_password(&password))
                    .await??,
            );
            match account {
                Some((user, _, _)) => Acceptance::SetPassword(user),
                None => Acceptance::New,
            }
        }
    };
    let firm = invitation.firm;
    let response = state
        .db
        .transact(move |tx| {
            // Again inside the transaction: it may have been used, or the account made, meanwhile.
            let invitation = live_invitation(tx, &token_hash)?;
            let now_account = account_of(tx, &invitation.email)?;
            let user = match (acceptance, now_account) {
                (Acceptance::New, None) => {
                    let staff = match &invitation.grant {
                        admin::Grant::Staff { role, .. } => Some(*role),
                        _ => None,
                    };
                    admin::create_user(
                        tx,
                        invitation.firm,
                        &invitation.email,
                        &invitation.name,
                        hash.as_deref(),
                        staff,
                    )?
                }
                (Acceptance::SetPassword(user), Some((now, _, false))) if now == user => {
                    tx.execute(
                        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                        params![user.to_string(), hash],
                    )?;
                    user
                }
                (Acceptance::Existing(user), Some((now, _, true))) if now == user => user,
                _ => {
                    return Err(ApiError::conflict(
                        ErrorCode::AlreadyExists,
                        "the account of this e-mail changed while the invitation was accepted; \
                         try again",
                    ));
                }
            };
            tx.execute(
                "UPDATE invitations SET used_at = ?2 WHERE token_hash = ?1",
                params![token_hash, crate::now().to_rfc3339()],
            )?;
            admin::grant(tx, invitation.firm, user, &invitation.grant)?;
            let response = issue_token(tx, user, req.client_id, req.device_name.as_deref())?;
            Ok(response)
        })
        .await?;
    crate::sync::announce(&state, firm).await?;
    Ok(Json(response))
}
