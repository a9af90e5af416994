//! `kvits-server`: run the sync server, the demo, or administer tenants.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kvits_protocol::{
    ApprovalRule, ApprovalRuleId, ApprovalStep, CompanyId, DocumentType, ExpenseType,
    ExpenseTypeId, FirmId, MessageId, Mutation, PaymentKind, PaymentMethod, PaymentMethodId, Role,
    UserId,
};
use kvits_sync_server::error::ApiError;
use kvits_sync_server::{Config, Server, admin, auth, demo, store, sync};
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Debug, Parser)]
#[command(name = "kvits-server", about = "Kvits sync server", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "KVITS_ADDR")]
    addr: SocketAddr,
    /// Database, blobs and partial uploads live here.
    #[arg(long, default_value = "kvits-data", env = "KVITS_DATA_DIR")]
    data_dir: PathBuf,
    /// A built web shell to serve at `/`.
    #[arg(long, env = "KVITS_WEB_DIR")]
    web_dir: Option<PathBuf>,
    /// The address of a reverse proxy in front of the server (repeat for several): from it,
    /// a client's address is taken from `X-Forwarded-For`, for the sign-in limits.
    #[arg(
        long = "trusted-proxy",
        env = "KVITS_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Days a signed-in device may go unused before its session ends.
    #[arg(long, default_value_t = 30, env = "KVITS_SESSION_IDLE_DAYS")]
    session_idle_days: u64,
    /// Days after its sign-in that a session ends, however much it is used.
    #[arg(long, default_value_t = 90, env = "KVITS_SESSION_MAX_DAYS")]
    session_max_days: u64,
    /// Connections open at once; more wait to be accepted (mind `ulimit -n`).
    #[arg(long, default_value_t = 10_000, env = "KVITS_MAX_CONNECTIONS")]
    max_connections: usize,
    /// Megabytes of files one person may store.
    #[arg(long, default_value_t = 10_240, env = "KVITS_USER_QUOTA_MB")]
    user_quota_mb: u64,
    /// Gigabytes of files one firm may store.
    #[arg(long, default_value_t = 2_048, env = "KVITS_FIRM_QUOTA_GB")]
    firm_quota_gb: u64,
    /// Uploads are refused (507) while the data directory's disk has less free than this.
    #[arg(long, default_value_t = 1_024, env = "KVITS_MIN_FREE_DISK_MB")]
    min_free_disk_mb: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API.
    Serve(ServeArgs),
    /// Seed the demo firm (once) and serve it.
    Demo(ServeArgs),
    /// Write the whole data directory (database, photos, export batches) to one file, while
    /// the server runs; prints one JSON line (`{"file", "files", "bytes", "schema_version"}`).
    Backup {
        #[arg(long, default_value = "kvits-data", env = "KVITS_DATA_DIR")]
        data_dir: PathBuf,
        /// The backup file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a backup into a new or empty data directory (every file is checked first); then
    /// start the server on it.
    Restore {
        /// The directory to restore into (new or empty).
        #[arg(long)]
        data_dir: PathBuf,
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
    },
    /// Administer tenants in a data directory (the server may be running).
    Admin {
        /// Before or after the command's name: `admin export --data-dir DIR …` works too.
        #[arg(
            long,
            default_value = "kvits-data",
            env = "KVITS_DATA_DIR",
            global = true
        )]
        data_dir: PathBuf,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an accounting firm; prints its id.
    CreateFirm {
        #[arg(long)]
        name: String,
    },
    /// Create a client company of a firm; prints its id.
    CreateCompany {
        #[arg(long)]
        firm: FirmId,
        #[arg(long)]
        name: String,
        /// The currency its books are kept in (ISO 4217).
        #[arg(long, default_value = "EUR")]
        currency: String,
        /// Its number in the business register.
        #[arg(long)]
        registration_number: Option<String>,
        /// Its VAT number, with the country prefix.
        #[arg(long)]
        vat_number: Option<String>,
        /// ISO 3166-1 alpha-2 (LV, PL, SE).
        #[arg(long)]
        country: Option<String>,
        /// IANA time zone (Europe/Riga).
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// Create a user. Without --password an invitation token is printed.
    CreateUser {
        #[arg(long)]
        firm: FirmId,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        password: Option<String>,
        /// Staff of the firm: works on its client companies.
        #[arg(long)]
        accountant: bool,
        /// Staff of the firm who also manages its staff and client companies (implies
        /// --accountant).
        #[arg(long)]
        firm_admin: bool,
        /// Company to add the user to (with --roles).
        #[arg(long)]
        company: Option<CompanyId>,
        /// Comma-separated: employee, approver, company_admin, client.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// Add an expense type to a company.
    AddExpenseType {
        #[arg(long)]
        company: CompanyId,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
    },
    /// Add a company card.
    AddCard {
        #[arg(long)]
        company: CompanyId,
        #[arg(long)]
        label: String,
        #[arg(long)]
        last_four: String,
        /// E-mail of the card holder.
        #[arg(long)]
        holder: Option<String>,
    },
    /// Add an approval rule; each --step is a comma-separated list of approver e-mails.
    AddApprovalRule {
        #[arg(long)]
        company: CompanyId,
        #[arg(long)]
        name: String,
        #[arg(long, required = true)]
        step: Vec<String>,
        /// receipt, invoice or other.
        #[arg(long)]
        document_type: Option<String>,
        /// Expense type codes the rule is for (comma-separated).
        #[arg(long, value_delimiter = ',')]
        expense_types: Vec<String>,
        /// From this amount (in minor units of the limits' currency, e.g. cents).
        #[arg(long)]
        min_amount_minor: Option<i64>,
        /// Below this amount (minor units).
        #[arg(long)]
        max_amount_minor: Option<i64>,
        /// The limits' currency (ISO 4217); the company's base currency when not given.
        #[arg(long)]
        currency: Option<String>,
        #[arg(long, default_value_t = 100)]
        position: i32,
    },
    /// Export a client company's reviewed documents of a period to the books: writes the
    /// batch's ZIP to --out and prints one JSON line (`{"batch", "documents", "bytes",
    /// "sha256"}`); with nothing to export, writes nothing and prints `"documents": 0`.
    Export {
        /// The company: its id or its exact name.
        #[arg(long)]
        company: String,
        /// First day of the period (YYYY-MM-DD).
        #[arg(long)]
        from: kvits_protocol::Date,
        /// Last day of the period, included (YYYY-MM-DD).
        #[arg(long)]
        to: kvits_protocol::Date,
        /// Where to write the ZIP.
        #[arg(long)]
        out: PathBuf,
        /// Export as this member of the firm's staff (e-mail); the firm's first firm admin
        /// when not given.
        #[arg(long)]
        by: Option<String>,
    },
    /// Import a bank or card statement file (camt.052/053/054, FiDAViSta, MT940, or CSV with
    /// one of the firm's bank profiles) into a client company's card payments, and print one
    /// JSON line (`{"format", "transactions", "new", "duplicates", "matched"}`). A file that
    /// cannot be read stores nothing and exits non-zero.
    ImportStatement {
        /// The company: its id or its exact name.
        #[arg(long)]
        company: String,
        /// The format (`camt.053`, `fidavista`, `mt940`, `csv`, …); recognised from the
        /// content when not given.
        #[arg(long)]
        format: Option<String>,
        /// The firm's bank profile to read a CSV file with.
        #[arg(long)]
        profile: Option<String>,
        /// The file's encoding when it is not UTF-8 (MT940): windows-1250, iso-8859-2, ibm852.
        #[arg(long)]
        encoding: Option<String>,
        /// Import as this member of the firm's staff (e-mail); the firm's first firm admin
        /// when not given.
        #[arg(long)]
        by: Option<String>,
        /// The statement file.
        file: PathBuf,
    },
    /// Turn a person's access off: every session of theirs ends at once and signing in is
    /// refused; their data stays.
    DisableUser {
        /// The person's e-mail.
        #[arg(long)]
        email: String,
    },
    /// Turn a person's access on again.
    EnableUser {
        /// The person's e-mail.
        #[arg(long)]
        email: String,
    },
    /// Send a message from an accountant to one or more companies.
    SendMessage {
        /// E-mail of the accountant writing.
        #[arg(long)]
        from: String,
        #[arg(long, value_delimiter = ',', required = true)]
        companies: Vec<CompanyId>,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        body: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args, false),
        Command::Demo(args) => serve(args, true),
        Command::Admin { data_dir, command } => admin_command(data_dir, command),
        Command::Backup { data_dir, out } => {
            kvits_sync_server::backup::backup(&data_dir, &out).and_then(print_json)
        }
        Command::Restore { data_dir, from } => {
            kvits_sync_server::backup::restore(&from, &data_dir).and_then(print_json)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs, seed_demo: bool) -> anyhow::Result<()> {
    let mut config = Config::new(&args.data_dir);
    config.web_dir = args.web_dir;
    config.trusted_proxies = args.trusted_proxies;
    config.max_connections = args.max_connections;
    const MB: u64 = 1024 * 1024;
    config.storage.user_bytes = args.user_quota_mb.saturating_mul(MB);
    config.storage.firm_bytes = args.firm_quota_gb.saturating_mul(1024 * MB);
    config.storage.min_free_disk = args.min_free_disk_mb.saturating_mul(MB);
    anyhow::ensure!(
        args.session_idle_days >= 1 && args.session_idle_days <= args.session_max_days,
        "--session-idle-days must be at least 1 and at most --session-max-days"
    );
    let day = std::time::Duration::from_secs(86_400);
    config.session_idle = day * u32::try_from(args.session_idle_days)?;
    config.session_lifetime = day * u32::try_from(args.session_max_days)?;
    let server = Server::open(config)?;
    if seed_demo {
        server
            .state()
            .db
            .write_blocking(|c| demo::seed(c).map(|_| ()))
            .map_err(api)?;
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr).await?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, data_dir = %args.data_dir.display(), "serving");
        if seed_demo {
            let emails: Vec<&str> = demo::PEOPLE.iter().map(|p| p.email).collect();
            eprintln!(
                "Kvits demo on http://{addr} — sign in as {}, password \"{}\"",
                emails.join(", "),
                demo::PASSWORD
            );
        }
        server.serve(listener, shutdown_signal()).await?;
        anyhow::Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}

/// Prints `value` as one JSON line.
fn print_json(value: impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(&value)?);
    Ok(())
}

fn api(e: ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message)
}

fn user_by_email(c: &Connection, email: &str) -> anyhow::Result<UserId> {
    c.query_row(
        "SELECT id FROM users WHERE email = ?1",
        [email.trim()],
        |r| store::uuid_col(r, 0),
    )
    .map_err(|_| anyhow::anyhow!("no user with e-mail {email}"))
}

/// An actor with the accountant role in every company of the company's firm, for catalog
/// changes made by the operator.
fn operator(c: &Connection, company: CompanyId) -> anyhow::Result<kvits_domain::Actor> {
    let c_row = store::company(c, company)
        .map_err(api)?
        .ok_or_else(|| anyhow::anyhow!("no company {company}"))?;
    Ok(kvits_domain::Actor {
        user_id: UserId(uuid::Uuid::nil()),
        name: "Kvits operator".into(),
        firm_id: c_row.firm_id,
        roles: [(company, vec![Role::Accountant])].into_iter().collect(),
    })
}

fn apply(c: &mut Connection, actor: &kvits_domain::Actor, m: Mutation) -> anyhow::Result<()> {
    match sync::apply_direct(c, actor, &m).map_err(api)? {
        kvits_protocol::Outcome::Applied | kvits_protocol::Outcome::AlreadyApplied => Ok(()),
        kvits_protocol::Outcome::Rejected { message, .. }
        | kvits_protocol::Outcome::Conflict { message, .. } => anyhow::bail!("{message}"),
    }
}

fn admin_command(data_dir: PathBuf, command: AdminCommand) -> anyhow::Result<()> {
    if let AdminCommand::Export {
        company,
        from,
        to,
        out,
        by,
    } = command
    {
        return export_command(&data_dir, &company, from, to, &out, by.as_deref());
    }
    let server = Server::open(Config::new(&data_dir))?;
    let db = &server.state().db;
    let id = db
        .write_blocking(|c| Ok(run_admin(c, command)))
        .map_err(api)??;
    println!("{id}");
    Ok(())
}

fn run_admin(c: &mut Connection, command: AdminCommand) -> anyhow::Result<String> {
    match command {
        AdminCommand::Export { .. } => anyhow::bail!("export is run by export_command"),
        AdminCommand::ImportStatement {
            company,
            format,
            profile,
            encoding,
            by,
            file,
        } => {
            let format = format
                .map(|f| {
                    serde_json::from_value::<kvits_protocol::StatementFormat>(
                        serde_json::Value::String(f.clone()),
                    )
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "--format {f} is not one Kvits reads: camt.052, camt.053, \
                             camt.054, fidavista, mt940 or csv"
                        )
                    })
                })
                .transpose()?;
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let company = find_company(c, &company).map_err(api)?;
            let user = staff_user(c, company, by.as_deref()).map_err(api)?;
            let file_name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "statement".into());
            let summary = kvits_sync_server::cards::import(
                c,
                user,
                &kvits_sync_server::cards::ImportFile {
                    company,
                    file_name: &file_name,
                    bytes: &bytes,
                    format,
                    profile: profile.as_deref(),
                    encoding: encoding.as_deref(),
                },
            )
            .map_err(api)?;
            Ok(serde_json::to_string(&summary)?)
        }
        AdminCommand::DisableUser { email } => {
            let user = user_by_email(c, &email)?;
            auth::set_disabled(c, user, true).map_err(api)?;
            Ok(format!("access of {} turned off", email.trim()))
        }
        AdminCommand::EnableUser { email } => {
            let user = user_by_email(c, &email)?;
            auth::set_disabled(c, user, false).map_err(api)?;
            Ok(format!("access of {} turned on", email.trim()))
        }
        AdminCommand::CreateFirm { name } => {
            Ok(admin::create_firm(c, &name).map_err(api)?.to_string())
        }
        AdminCommand::CreateCompany {
            firm,
            name,
            currency,
            registration_number,
            vat_number,
            country,
            time_zone,
        } => {
            let details = kvits_protocol::CompanyDetails {
                base_currency: currency,
                registration_number,
                vat_number,
                country,
                time_zone,
                ..kvits_protocol::CompanyDetails::named(name)
            };
            Ok(admin::create_company(c, firm, &details)
                .map_err(api)?
                .to_string())
        }
        AdminCommand::CreateUser {
            firm,
            email,
            name,
            password,
            accountant,
            firm_admin,
            company,
            roles,
        } => {
            let staff = match (accountant, firm_admin) {
                (_, true) => Some(kvits_protocol::StaffRole::FirmAdmin),
                (true, false) => Some(kvits_protocol::StaffRole::Accountant),
                (false, false) => None,
            };
            let roles = roles
                .iter()
                .map(|r| Role::parse(r.trim()).ok_or_else(|| anyhow::anyhow!("unknown role {r}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if let Some(p) = &password {
                auth::check_new_password(p, &[&email, &name]).map_err(api)?;
            }
            let hash = password
                .as_deref()
                .map(auth::hash_password)
                .transpose()
                .map_err(api)?;
            let tx = c.transaction()?;
            let id = admin::create_user(&tx, firm, &email, &name, hash.as_deref(), staff)
                .map_err(api)?;
            if let Some(company) = company {
                admin::set_roles(&tx, company, id, &roles).map_err(api)?;
            } else if !roles.is_empty() {
                anyhow::bail!("--roles needs --company");
            }
            let out = if password.is_none() {
                let inv = admin::invite(&tx, firm, &email, &name, &admin::Grant::Password, id)
                    .map_err(api)?;
                format!("{id} invitation {}", inv.token)
            } else {
                id.to_string()
            };
            tx.commit()?;
            Ok(out)
        }
        AdminCommand::AddExpenseType {
            company,
            code,
            name,
        } => {
            let actor = operator(c, company)?;
            let id = ExpenseTypeId(kvits_sync_server::new_id());
            apply(
                c,
                &actor,
                Mutation::PutExpenseType(ExpenseType {
                    id,
                    company_id: company,
                    code,
                    name,
                    active: true,
                }),
            )?;
            Ok(id.to_string())
        }
        AdminCommand::AddCard {
            company,
            label,
            last_four,
            holder,
        } => {
            let actor = operator(c, company)?;
            let holder_id = holder.map(|h| user_by_email(c, &h)).transpose()?;
            let id = PaymentMethodId(kvits_sync_server::new_id());
            apply(
                c,
                &actor,
                Mutation::PutPaymentMethod(PaymentMethod {
                    id,
                    company_id: company,
                    payment_kind: PaymentKind::CompanyCard,
                    label,
                    last_four: Some(last_four),
                    holder_id,
                    active: true,
                    statement_ref: None,
                }),
            )?;
            Ok(id.to_string())
        }
        AdminCommand::AddApprovalRule {
            company,
            name,
            step,
            document_type,
            expense_types,
            min_amount_minor,
            max_amount_minor,
            currency,
            position,
        } => {
            let actor = operator(c, company)?;
            let state = store::DbState::new(c);
            let currency = match currency {
                Some(code) => code.trim().to_ascii_uppercase(),
                None => kvits_domain::State::company(&state, company)
                    .map_or_else(kvits_protocol::default_base_currency, |c| c.base_currency),
            };
            let steps = step
                .iter()
                .map(|s| {
                    let approver_ids = s
                        .split(',')
                        .map(|e| user_by_email(c, e))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    Ok(ApprovalStep { approver_ids })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let document_type = match document_type.as_deref() {
                None => None,
                Some("receipt") => Some(DocumentType::Receipt),
                Some("invoice") => Some(DocumentType::Invoice),
                Some("other") => Some(DocumentType::Other),
                Some(other) => anyhow::bail!("unknown document type {other}"),
            };
            let types = kvits_domain::State::expense_types(&state, company);
            let expense_type_ids = expense_types
                .iter()
                .map(|code| {
                    types
                        .iter()
                        .find(|t| t.code == *code)
                        .map(|t| t.id)
                        .ok_or_else(|| anyhow::anyhow!("no expense type with code {code}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let id = ApprovalRuleId(kvits_sync_server::new_id());
            apply(
                c,
                &actor,
                Mutation::PutApprovalRule(ApprovalRule {
                    id,
                    company_id: company,
                    name,
                    position,
                    active: true,
                    document_type,
                    expense_type_ids,
                    min_amount_minor,
                    max_amount_minor,
                    currency,
                    steps,
                }),
            )?;
            Ok(id.to_string())
        }
        AdminCommand::SendMessage {
            from,
            companies,
            subject,
            body,
        } => {
            let user = user_by_email(c, &from)?;
            let actor = store::actor(c, user).map_err(api)?;
            let id = MessageId(kvits_sync_server::new_id());
            apply(
                c,
                &actor,
                Mutation::SendMessage {
                    message_id: id,
                    company_ids: companies,
                    subject,
                    body,
                    attachment: None,
                },
            )?;
            Ok(id.to_string())
        }
    }
}

/// `admin export`: one batch of a company's period, written to `out`, as one JSON line.
fn export_command(
    data_dir: &std::path::Path,
    company: &str,
    from: kvits_protocol::Date,
    to: kvits_protocol::Date,
    out: &std::path::Path,
    by: Option<&str>,
) -> anyhow::Result<()> {
    if from > to {
        anyhow::bail!("--from {from} is after --to {to}");
    }
    if out.is_dir() {
        anyhow::bail!(
            "--out {} is a directory; name the ZIP file to write",
            out.display()
        );
    }
    if !data_dir.join("kvits.sqlite3").is_file() {
        anyhow::bail!("{} holds no Kvits database", data_dir.display());
    }
    let server = Server::open(Config::new(data_dir))?;
    let state = server.state();
    let (company, user) = state
        .db
        .write_blocking(|c| {
            let company = find_company(c, company)?;
            let user = staff_user(c, company, by)?;
            Ok((company, user))
        })
        .map_err(api)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let cx = kvits_sync_server::export::Context {
        db: &state.db,
        blobs: &state.blobs,
        runtime: runtime.handle().clone(),
        data_dir,
    };
    let request = kvits_protocol::ExportRequest {
        from: Some(from),
        to: Some(to),
        ..Default::default()
    };
    let made = kvits_sync_server::export::export(&cx, user, company, &request).map_err(api)?;
    let line = match made {
        None => serde_json::json!({"batch": null, "documents": 0, "bytes": 0, "sha256": null}),
        Some(batch) => {
            let file = kvits_sync_server::export::file_of(data_dir, batch.id);
            let part = out.with_extension("zip.part");
            std::fs::copy(&file, &part)?;
            std::fs::File::open(&part)?.sync_all()?;
            std::fs::rename(&part, out)?;
            serde_json::json!({
                "batch": batch.id,
                "number": batch.number,
                "documents": batch.documents,
                "bytes": batch.bytes,
                "sha256": batch.sha256,
            })
        }
    };
    println!("{line}");
    Ok(())
}

/// A company by id, or by its exact name (which must name one company).
fn find_company(c: &Connection, company: &str) -> kvits_sync_server::error::ApiResult<CompanyId> {
    if let Ok(id) = company.parse::<CompanyId>() {
        return match store::company(c, id)? {
            Some(_) => Ok(id),
            None => Err(ApiError::not_found("company")),
        };
    }
    let ids: Vec<CompanyId> = c
        .prepare("SELECT id FROM entities WHERE kind = 'company' AND deleted = 0 AND json_extract(body, '$.name') = ?1")?
        .query_map([company], |r| store::uuid_col(r, 0))?
        .collect::<Result<_, _>>()?;
    match ids.as_slice() {
        [id] => Ok(*id),
        [] => Err(ApiError::bad_request(format!(
            "no company is named \"{company}\""
        ))),
        _ => Err(ApiError::bad_request(format!(
            "{} companies are named \"{company}\"; give its id",
            ids.len()
        ))),
    }
}

/// Who the CLI exports or imports as: the staff member named by e-mail, else the firm's first
/// firm admin.
fn staff_user(
    c: &Connection,
    company: CompanyId,
    by: Option<&str>,
) -> kvits_sync_server::error::ApiResult<UserId> {
    let firm = store::company(c, company)?
        .ok_or_else(|| ApiError::not_found("company"))?
        .firm_id;
    let found: Option<String> = match by {
        Some(email) => c
            .query_row(
                "SELECT id FROM users WHERE firm_id = ?1 AND email = ?2 AND (accountant = 1 OR firm_admin = 1)",
                params![firm.to_string(), email.trim().to_lowercase()],
                |r| r.get(0),
            )
            .optional()?,
        None => c
            .query_row(
                "SELECT id FROM users WHERE firm_id = ?1 AND firm_admin = 1 ORDER BY email LIMIT 1",
                [firm.to_string()],
                |r| r.get(0),
            )
            .optional()?,
    };
    found
        .and_then(|id| id.parse::<UserId>().ok())
        .ok_or_else(|| match by {
            Some(email) => ApiError::bad_request(format!("{email} is not on the firm's staff")),
            None => ApiError::bad_request("the firm has no firm admin to act as; pass --by"),
        })
}
