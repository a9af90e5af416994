//! Sign-in with e-mail and password (argon2id), opaque bearer tokens stored hashed, devices
//! bound to users, invitations.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use base64::Engine;
use kvits_protocol::{
    AcceptInvitationRequest, ClientId, ErrorCode, FirmId, FirmSummary, LoginRequest, LoginResponse,
    Membership, PROTOCOL_HEADER, PROTOCOL_VERSION, Session, StaffRole, UserId, UserSummary,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::api::{Operation, Routes};
use crate::error::{ApiError, ApiResult, Json};
use crate::openapi::schema;
use crate::{AppState, store};

/// Shortest password a person may choose.
pub const MIN_PASSWORD_LEN: usize = 12;
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
                    "`rate_limited`: five wrong passwords for this e-mail within 15 minutes; \
                     `Retry-After` says how many seconds to wait.",
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
                    "Sets the invited person's password with the one-time invitation token and \
                     signs them in.",
                )
                .protocol_checked()
                .json_body(schema::<AcceptInvitationRequest>(g))
                .db()
                .json(200, "Password set; signed in.", schema::<LoginResponse>(g))
                .error(
                    400,
                    "`bad_request`: the password is shorter than 8 characters (or over 1024), or \
                     `device_name` is longer than 100.",
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
                .error(404, "`not_found`: no such invitation.")
                .error(
                    410,
                    "`gone`: the invitation was already used or has expired.",
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

/// Failed sign-ins allowed per e-mail within [`THROTTLE_WINDOW`] before sign-in is refused.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long failures count.
pub const THROTTLE_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// E-mails tracked at most (the oldest are forgotten first).
const THROTTLE_CAPACITY: usize = 10_000;

/// Slows password guessing: after [`MAX_FAILED_LOGINS`] wrong passwords for one e-mail, sign-in
/// for it answers 429 until the window passes — without spending argon2 time on the guess.
/// In memory: a restart forgets, which is fine for a guard against online guessing.
#[derive(Clone, Debug, Default)]
pub struct LoginThrottle {
    failures: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, (u32, std::time::Instant)>>,
    >,
}

impl LoginThrottle {
    fn key(email: &str) -> String {
        email.trim().to_lowercase()
    }

    /// Seconds to wait before `email` may try again, if it is blocked now.
    pub fn blocked_for(&self, email: &str) -> Option<u64> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (count, since) = map.get(&Self::key(email))?;
        let elapsed = since.elapsed();
        (*count >= MAX_FAILED_LOGINS && elapsed < THROTTLE_WINDOW)
            .then(|| (THROTTLE_WINDOW - elapsed).as_secs().max(1))
    }

    /// Counts a wrong password for `email`.
    pub fn failed(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= THROTTLE_CAPACITY {
            map.retain(|_, (_, since)| since.elapsed() < THROTTLE_WINDOW);
            if map.len() >= THROTTLE_CAPACITY
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, (_, t))| *t)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let entry = map
            .entry(Self::key(email))
            .or_insert((0, std::time::Instant::now()));
        if entry.1.elapsed() >= THROTTLE_WINDOW {
            *entry = (0, std::time::Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets `email`'s failures after a successful sign-in.
    pub fn succeeded(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&Self::key(email));
    }
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

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> ApiResult<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(ApiError::internal)?;
    let salt = SaltString::encode_b64(&salt).map_err(ApiError::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// Whether `password` matches the stored hash. A `None` hash (no password set yet) still
/// spends the same time, so probing e-mails learns nothing from timing.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not a password").ok());
    let Some(hash) = stored.or(dummy.as_deref()) else {
        return false;
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && stored.is_some()
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
        state
            .db
            .read(move |c| user_by_token(c, &token_hash))
            .await?
            .map(SignedIn)
            .ok_or_else(ApiError::unauthenticated)
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

fn user_by_token(c: &Connection, token_hash: &str) -> ApiResult<Option<AuthUser>> {
    Ok(c.query_row(
        "SELECT u.id, u.firm_id, u.name, u.email, u.accountant, u.firm_admin, t.client_id
         FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ?1 AND t.revoked_at IS NULL",
        [token_hash],
        |r| {
            let staff = match (r.get::<_, bool>(4)?, r.get::<_, bool>(5)?) {
                (_, true) => Some(StaffRole::FirmAdmin),
                (true, false) => Some(StaffRole::Accountant),
                (false, false) => None,
            };
            Ok(AuthUser {
                user_id: store::uuid_col(r, 0)?,
                firm_id: store::uuid_col(r, 1)?,
                name: r.get(2)?,
                email: r.get(3)?,
                staff,
                token_hash: token_hash.to_owned(),
                client_id: store::opt_uuid_col(r, 6)?,
            })
        },
    )
    .optional()?)
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
    let token = random_token("kvt_")?;
    c.execute(
        "INSERT INTO tokens (token_hash, user_id, client_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            hash_token(&token),
            user.to_string(),
            client.map(|c| c.to_string()),
            crate::now().to_rfc3339()
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
    if let Some(wait) = state.logins.blocked_for(&req.email) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            "too many wrong passwords for this e-mail; wait a few minutes and try again",
        )
        .with_header("retry-after", wait.to_string()));
    }
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
    let ok =
        tokio::task::spawn_blocking(move || verify_password(&password, stored.as_deref())).await?;
    let Some((user_id, _)) = found.filter(|_| ok) else {
        state.logins.failed(&req.email);
        return Err(bad_credentials());
    };
    state.logins.succeeded(&req.email);
    let user: UserId = user_id.parse().map_err(ApiError::internal)?;
    let response = state
        .db
        .write(move |c| issue_token(c, user, req.client_id, req.device_name.as_deref()))
        .await?;
    tracing::info!(user = %user, "signed in");
    Ok(Json(response))
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

/// The user an invitation is for, if `token_hash` names one that is unused and unexpired:
/// 404 for no such invitation, 410 for a used or expired one.
fn live_invitation(c: &rusqlite::Connection, token_hash: &str) -> ApiResult<String> {
    let row: Option<(String, String, Option<String>)> = c
        .query_row(
            "SELECT user_id, expires_at, used_at FROM invitations WHERE token_hash = ?1",
            [token_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((user_id, expires_at, used_at)) = row else {
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
    Ok(user_id)
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
    let (email, name) = state
        .db
        .read(move |c| {
            let user_id = live_invitation(c, &lookup)?;
            let row: (String, String) = c.query_row(
                "SELECT email, name FROM users WHERE id = ?1",
                [&user_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(row)
        })
        .await?;
    check_new_password(&req.password, &[&email, &name])?;
    let password = req.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await??;
    let response = state
        .db
        .transact(move |tx| {
            // Again inside the transaction: it may have been used meanwhile.
            let user_id = live_invitation(tx, &token_hash)?;
            tx.execute(
                "UPDATE invitations SET used_at = ?2 WHERE token_hash = ?1",
                params![token_hash, crate::now().to_rfc3339()],
            )?;
            tx.execute(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                params![user_id, hash],
            )?;
            let user: UserId = user_id.parse().map_err(ApiError::internal)?;
            let response = issue_token(tx, user, req.client_id, req.device_name.as_deref())?;
            Ok(response)
        })
        .await?;
    Ok(Json(response))
}
