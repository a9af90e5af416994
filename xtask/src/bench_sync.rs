//! `cargo xtask bench sync [--quick]`: the sync server's figures (docs/design.md §8) — push
//! mutations/s and pull latency at 10^3/10^5/10^6 rows in the tenant.
//!
//! The real server runs in this process on 127.0.0.1:0 with the demo firm and is spoken to
//! over real HTTP, like `sync-server/tests/common`. Pushes go through `POST /v1/sync/push`
//! one mutation per transaction as a phone's outbox would send them. For the pull figures the
//! tenant is filled straight into SQLite on the server's writer connection (the same row JSON
//! and version numbering as `store::put`), then 10 more expenses are pushed over HTTP and the
//! pull of exactly those 10 changes is timed, as is a first page of 500 from cursor 0 and the
//! accountant's pull over the same versions.
//!
//! A figure printer, not a test: it fails only when the server answers wrongly.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use kvits_protocol::{
    ChangeOp, ClientId, CompanyId, DocumentType, Entity, Expense, ExpenseFields, ExpenseId,
    ExpenseStatus, ExpenseTypeId, FirmId, LoginRequest, LoginResponse, Money, Mutation, Outcome,
    PaymentMethodId, PendingMutation, PullQuery, PullResponse, PushRequest, PushResponse, UserId,
};
use kvits_sync_server::db::Durability;
use kvits_sync_server::demo::{self, Demo};
use kvits_sync_server::error::{ApiError, ApiResult};
use kvits_sync_server::{Config, Server, store};
use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const USAGE: &str = "usage: cargo xtask bench sync [--quick]";

/// How much work one run does.
#[derive(Debug)]
struct Plan {
    /// Mutations pushed in batches of [`BATCH`].
    batched: u64,
    /// Mutations pushed one per request.
    single: u64,
    /// Rows in the tenant at each pull measurement, ascending.
    sizes: &'static [u64],
    /// Timed pulls per measurement.
    pulls: usize,
}

const FULL: Plan = Plan {
    batched: 5000,
    single: 500,
    sizes: &[1_000, 100_000, 1_000_000],
    pulls: 50,
};

const QUICK: Plan = Plan {
    batched: 1000,
    single: 200,
    sizes: &[1_000, 100_000],
    pulls: 20,
};

/// Push batch size (a phone coming back online with a full outbox).
const BATCH: u64 = 100;
/// Changes made between the recorded cursor and the timed pulls.
const CHANGED: usize = 10;
/// The "first sync" page: from cursor 0, this many rows.
const FIRST_PAGE: u32 = 500;
/// Untimed pulls before each timed series.
const WARMUP: usize = 3;
/// Rows inserted per transaction while filling the tenant (bounds the WAL).
const FILL_CHUNK: u64 = 50_000;

pub fn run(args: &[String]) -> Result<()> {
    let mut quick = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            other => bail!("unknown argument {other}; {USAGE}"),
        }
    }
    let plan = if quick { &QUICK } else { &FULL };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(bench(plan))
}

async fn bench(plan: &Plan) -> Result<()> {
    let total = Instant::now();
    println!(
        "sync server in-process on 127.0.0.1, SQLite in a temp dir, {} CPU(s){}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if plan.sizes.len() < FULL.sizes.len() {
            ", --quick"
        } else {
            ""
        }
    );
    push_figures(plan).await?;
    pull_figures(plan).await?;
    println!(
        "\nwhole run: {:.1} s{}",
        total.elapsed().as_secs_f64(),
        peak_rss_mb().map_or(String::new(), |mb| format!(
            ", peak RSS of this process {mb:.0} MB"
        ))
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// push

/// The push figures as the server runs (every commit synced to the disk), then with commits
/// synced only at checkpoints, for what that durability costs.
async fn push_figures(plan: &Plan) -> Result<()> {
    for (durability, what) in [
        (Durability::Full, "synchronous=FULL, the server's setting"),
        (
            Durability::Normal,
            "synchronous=NORMAL, for comparison: a power loss may lose acknowledged pushes",
        ),
    ] {
        println!("\n{what}:");
        push_figures_with(plan, durability).await?;
    }
    Ok(())
}

async fn push_figures_with(plan: &Plan, durability: Durability) -> Result<()> {
    let server = Running::start_with(durability).await?;
    let birch = Birch::of(&server.demo)?;
    let mut emma = server.device("emma@demo.kvits").await?;
    // One untimed push opens the connection and the server's caches.
    emma.push(vec![birch.create(0)]).await?;
    for (batch, count) in [(BATCH, plan.batched), (1, plan.single)] {
        let rows = server.count_rows().await?;
        let start = Instant::now();
        let mut sent = 0u64;
        while sent < count {
            let n = batch.min(count - sent);
            let mutations = (sent..sent + n).map(|i| birch.create(i)).collect();
            emma.push(mutations).await?;
            sent += n;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "push  batch {batch:>3}: {:>6} mutations in {secs:5.2} s = {:>6.0} mutations/s  \
             (tenant {} -> {} rows)",
            group(count),
            count as f64 / secs,
            group(rows),
            group(rows + count)
        );
    }
    server.stop().await
}

// ---------------------------------------------------------------------------------------------
// pull

/// One row of the pull table.
#[derive(Debug)]
struct PullRow {
    rows: u64,
    changed: usize,
    median: Duration,
    p95: Duration,
    first_page: Duration,
    first_page_changes: usize,
    accountant: Duration,
    push_one: Duration,
}

async fn pull_figures(plan: &Plan) -> Result<()> {
    let server = Running::start().await?;
    let birch = Birch::of(&server.demo)?;
    let mut emma = server.device("emma@demo.kvits").await?;
    let anna = server.device("anna@demo.kvits").await?;
    println!();
    let mut table = Vec::new();
    for &size in plan.sizes {
        let (rows_before, fill) = fill_tenant(&server, &birch, size).await?;
        print_fill(rows_before, size, fill);

        // 10 changes through the real push endpoint, from a recorded cursor.
        let firm = server.demo.firm;
        let cursor = server
            .read("reading the change counter", move |c| {
                store::current_version(c, firm)
            })
            .await?;
        let mutations: Vec<Mutation> = (0..CHANGED as u64).map(|i| birch.create(i)).collect();
        let ids: BTreeSet<uuid::Uuid> = mutations
            .iter()
            .filter_map(|m| match m {
                Mutation::CreateExpense { expense_id, .. } => Some(expense_id.0),
                _ => None,
            })
            .collect();
        // One request each, as a phone online sends them: also times a push at this size.
        let mut pushes = Vec::with_capacity(CHANGED);
        for m in mutations {
            let start = Instant::now();
            emma.push(vec![m]).await?;
            pushes.push(start.elapsed());
        }

        let (times, _) = timed_pulls(
            plan.pulls,
            || emma.pull(cursor, None),
            |page| check_changed(page, &ids),
        )
        .await
        .with_context(|| format!("pulling {CHANGED} changes at {} rows", group(size)))?;
        let (first, first_counts) = timed_pulls(
            plan.pulls,
            || emma.pull(0, Some(FIRST_PAGE)),
            check_first_page,
        )
        .await
        .with_context(|| format!("pulling the first page at {} rows", group(size)))?;
        // The accountant reads the same stretch of versions (Emma's drafts stay hidden from
        // her, so she gets none of them): the cost of who is asking, not of what comes back.
        let (accountant, _) = timed_pulls(
            plan.pulls,
            || anna.pull(cursor, None),
            |page| {
                ensure!(
                    !page.reset && !page.has_more,
                    "unexpected page: {}",
                    summary(page)
                );
                Ok(page.changes.len())
            },
        )
        .await
        .with_context(|| format!("accountant pull at {} rows", group(size)))?;

        let rows = server.count_rows().await?;
        table.push(PullRow {
            rows,
            changed: CHANGED,
            median: percentile(&times, 50),
            p95: percentile(&times, 95),
            first_page: percentile(&first, 50),
            first_page_changes: first_counts.into_iter().max().unwrap_or(0),
            accountant: percentile(&accountant, 50),
            push_one: percentile(&pushes, 50),
        });
    }
    print_pull_table(plan, &table);
    server.stop().await
}

/// Runs `warm-up + n` pulls; answers the timed durations and what `check` made of each page.
async fn timed_pulls<F, Fut, C>(
    n: usize,
    mut pull: F,
    check: C,
) -> Result<(Vec<Duration>, Vec<usize>)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(Duration, PullResponse)>>,
    C: Fn(&PullResponse) -> Result<usize>,
{
    let mut times = Vec::with_capacity(n);
    let mut seen = Vec::with_capacity(n);
    for i in 0..WARMUP + n {
        let (elapsed, page) = pull().await?;
        let count = check(&page)?;
        if i >= WARMUP {
            times.push(elapsed);
            seen.push(count);
        }
    }
    Ok((times, seen))
}

/// The pull from the recorded cursor must hold exactly the pushed expenses.
fn check_changed(page: &PullResponse, ids: &BTreeSet<uuid::Uuid>) -> Result<usize> {
    ensure!(
        !page.reset && !page.has_more,
        "expected one complete page, got {}",
        summary(page)
    );
    let got: BTreeSet<uuid::Uuid> = page
        .changes
        .iter()
        .filter_map(|c| match &c.op {
            ChangeOp::Upsert { entity } => match &**entity {
                Entity::Expense(e) => Some(e.id.0),
                _ => None,
            },
            ChangeOp::Delete { .. } => None,
        })
        .collect();
    if page.changes.len() != ids.len() || got != *ids {
        bail!(
            "expected exactly the {} pushed expenses, got {}",
            ids.len(),
            summary(page)
        );
    }
    Ok(page.changes.len())
}

fn check_first_page(page: &PullResponse) -> Result<usize> {
    ensure!(
        !page.reset && page.has_more && !page.changes.is_empty(),
        "expected a full first page with more to come, got {}",
        summary(page)
    );
    Ok(page.changes.len())
}

fn summary(page: &PullResponse) -> String {
    format!(
        "{} changes, cursor {}, has_more {}, reset {}",
        page.changes.len(),
        page.cursor,
        page.has_more,
        page.reset
    )
}

/// Nearest-rank percentile.
pub(crate) fn percentile(times: &[Duration], p: usize) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The process's peak resident memory (Linux), in MB.
pub(crate) fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print_fill(before: u64, target: u64, took: Duration) {
    let added = target.saturating_sub(before);
    println!(
        "fill  {:>9} expense rows straight into SQLite (tenant {} -> {} rows) in {:6.2} s = {:>7.0} rows/s",
        group(added),
        group(before),
        group(before.max(target)),
        took.as_secs_f64(),
        added as f64 / took.as_secs_f64().max(1e-9)
    );
}

fn print_pull_table(plan: &Plan, table: &[PullRow]) {
    println!(
        "\npull as Emma over HTTP on loopback (request out to last body byte in), {} timed pulls \
         each after {WARMUP} untimed; the filled rows are her drafts, so she sees them all",
        plan.pulls
    );
    println!(
        "{:<6}{:<17}{:>7}  {:>9}  {:>7}  {:>29}  {:>13}  {:>9}",
        "pull",
        "rows in tenant",
        "changed",
        "median ms",
        "p95 ms",
        format!("first page of {FIRST_PAGE} from 0 (ms)"),
        "accountant ms",
        "push 1 ms"
    );
    for r in table {
        println!(
            "{:<6}{:<17}{:>7}  {:>9.2}  {:>7.2}  {:>29.2}  {:>13.2}  {:>9.2}",
            "",
            group(r.rows),
            r.changed,
            ms(r.median),
            ms(r.p95),
            ms(r.first_page),
            ms(r.accountant),
            ms(r.push_one)
        );
    }
    let visible = table
        .iter()
        .map(|r| r.first_page_changes)
        .max()
        .unwrap_or(0);
    println!(
        "first page: {visible} of the {FIRST_PAGE} rows read are visible to Emma; accountant: \
         Anna's pull from the same cursor (she gets 0 of the {CHANGED}: drafts are their \
         author's); push 1: median of the {CHANGED} changes, one mutation per request"
    );
    if let (Some(first), Some(last)) = (table.first(), table.last())
        && table.len() > 1
    {
        let rows = last.rows as f64 / first.rows.max(1) as f64;
        let ratio = |f: fn(&PullRow) -> Duration| ms(f(last)) / ms(f(first)).max(1e-9);
        let changed = ratio(|r| r.median);
        let verdict = if changed < 2.0 {
            "pull cost grew with the changes returned, not with the rows in the tenant"
        } else {
            "pull cost GREW WITH THE ROWS in the tenant, not only with the changes returned"
        };
        println!(
            "\n{verdict}: x{rows:.0} rows, same {CHANGED} changes -> median x{changed:.1} \
             ({:.2} -> {:.2} ms); first page x{:.1}, accountant x{:.1}, push 1 x{:.1}",
            ms(first.median),
            ms(last.median),
            ratio(|r| r.first_page),
            ratio(|r| r.accountant),
            ratio(|r| r.push_one),
        );
    }
}

/// 1234567 as "1 234 567".
pub(crate) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// filling the tenant

/// Fills the demo tenant with Emma's draft expenses until it holds `target` rows; answers
/// the rows before and the time taken.
async fn fill_tenant(server: &Running, birch: &Birch, target: u64) -> Result<(u64, Duration)> {
    let before = server.count_rows().await?;
    let need = target.saturating_sub(before);
    let firm = server.demo.firm;
    let start = Instant::now();
    let mut done = 0u64;
    while done < need {
        let n = FILL_CHUNK.min(need - done);
        let template = birch.expense();
        let offset = before + done;
        let last = server
            .write("filling the tenant", move |c| {
                let mut e = template.clone();
                insert_expenses(c, firm, n, |i| {
                    vary(&mut e, ExpenseId(uuid::Uuid::now_v7()), offset + i);
                    e.clone()
                })
            })
            .await?;
        server.server.state().changes.notify(firm, last);
        done += n;
    }
    Ok((before, start.elapsed()))
}

const MERCHANTS: &[&str] = &[
    "Rimi",
    "Maxima",
    "Circle K",
    "Neste",
    "Lidl",
    "Narvesen",
    "Caffeine",
    "Bolt",
    "airBaltic",
    "Depo",
];

/// Makes the `k`-th filled row look like a different receipt.
/// Writes `n` expenses made by `make(i)` straight into SQLite in one transaction (made one at a
/// time, never all held at once), numbering
/// versions as `store::put` does and moving the firm's change counter past them; answers the
/// counter afterwards. For seeding benches at sizes the API would take minutes to reach.
pub(crate) fn insert_expenses(
    c: &mut Connection,
    firm: FirmId,
    n: u64,
    mut make: impl FnMut(u64) -> Expense,
) -> ApiResult<u64> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let base = store::current_version(&tx, firm)?;
    let counter =
        |v: u64| i64::try_from(v).map_err(|_| ApiError::internal("change counter out of range"));
    {
        let mut insert = tx.prepare(
            "INSERT INTO entities (kind, id, firm_id, company_id, parent_id, version, deleted, body)
             VALUES ('expense', ?1, ?2, ?3, NULL, ?4, 0, ?5)",
        )?;
        let firm_text = firm.to_string();
        for i in 0..n {
            let e = make(i);
            insert.execute(params![
                e.id.to_string(),
                firm_text,
                e.company_id.to_string(),
                counter(base + i + 1)?,
                serde_json::to_string(&Entity::Expense(e))?
            ])?;
        }
    }
    let changed = tx.execute(
        "UPDATE firms SET change_counter = ?2 WHERE id = ?1",
        params![firm.to_string(), counter(base + n)?],
    )?;
    if changed != 1 {
        return Err(ApiError::internal("the firm is missing"));
    }
    tx.commit()?;
    Ok(base + n)
}

pub(crate) fn vary(e: &mut Expense, id: ExpenseId, k: u64) {
    e.id = id;
    e.fields.amount = Some(Money {
        amount_minor: 150 + (k.wrapping_mul(7919) % 49_850) as i64,
        currency: "EUR".into(),
    });
    e.fields.date = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(k % 365)));
    e.fields.merchant = Some(MERCHANTS[(k % MERCHANTS.len() as u64) as usize].to_owned());
}

// ---------------------------------------------------------------------------------------------
// the demo company

/// What Emma needs to capture receipts for Birch Bakery.
#[derive(Debug)]
struct Birch {
    company: CompanyId,
    meals: ExpenseTypeId,
    visa: PaymentMethodId,
    emma: UserId,
}

impl Birch {
    fn of(demo: &Demo) -> Result<Birch> {
        Ok(Birch {
            company: *demo
                .companies
                .get("Birch Bakery")
                .context("the demo has no Birch Bakery")?,
            meals: *demo
                .expense_types
                .get(&("Birch Bakery", "Meals"))
                .context("the demo has no Birch Bakery Meals type")?,
            visa: *demo
                .payment_methods
                .get(&("Birch Bakery", "Visa Business".to_owned()))
                .context("the demo has no Birch Bakery Visa card")?,
            emma: *demo
                .users
                .get("emma@demo.kvits")
                .context("the demo has no Emma")?,
        })
    }

    fn fields(&self, k: u64) -> ExpenseFields {
        ExpenseFields {
            expense_type_id: Some(self.meals),
            payment_method_id: Some(self.visa),
            amount: Some(Money {
                amount_minor: 150 + (k.wrapping_mul(7919) % 49_850) as i64,
                currency: "EUR".into(),
            }),
            base_amount: None,
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 20),
            merchant: Some(MERCHANTS[(k % MERCHANTS.len() as u64) as usize].to_owned()),
            note: None,
            vat: Vec::new(),
            account_code: None,
        }
    }

    /// A new receipt captured by Emma (a draft: not submitted).
    fn create(&self, k: u64) -> Mutation {
        Mutation::CreateExpense {
            expense_id: ExpenseId(uuid::Uuid::now_v7()),
            company_id: self.company,
            document_type: DocumentType::Receipt,
            fields: self.fields(k),
        }
    }

    /// The row [`Birch::create`] makes on the server (what `kvits_domain` writes for it).
    fn expense(&self) -> Expense {
        let now = kvits_sync_server::now();
        Expense {
            id: ExpenseId(uuid::Uuid::nil()),
            company_id: self.company,
            created_by: self.emma,
            created_by_name: "Emma Employee".into(),
            document_type: DocumentType::Receipt,
            fields: self.fields(0),
            pages: Vec::new(),
            status: ExpenseStatus::Draft,
            revision: 1,
            approval: None,
            decisions: Vec::new(),
            created_at: now,
            updated_at: now,
            submitted_at: None,
            history: Vec::new(),
            export: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the server and its clients

pub(crate) fn api_error(what: &str, e: ApiError) -> anyhow::Error {
    anyhow!("{what}: {} ({:?})", e.message, e.code)
}

/// The server on a loopback port, with the demo firm, in a temp dir.
pub(crate) struct Running {
    pub(crate) server: Server,
    pub(crate) demo: Demo,
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// Last, so the files go after everything that holds them open.
    _dir: tempfile::TempDir,
}

impl Running {
    pub(crate) async fn start() -> Result<Running> {
        Self::start_with(Durability::Full).await
    }

    /// A server whose commits reach the disk as `durability` says (the server's own setting
    /// is [`Durability::Full`]; `Normal` only shows what that costs).
    pub(crate) async fn start_with(durability: Durability) -> Result<Running> {
        Self::start_tuned(|config| {
            config.durability = durability;
            // One user sends every request of the benchmark, as fast as the server answers.
            config.user_rate = None;
        })
        .await
    }

    /// A server with the defaults as `adjust` changes them.
    pub(crate) async fn start_tuned(adjust: impl FnOnce(&mut Config)) -> Result<Running> {
        let dir = tempfile::Builder::new()
            .prefix("kvits-bench-sync-")
            .tempdir()
            .context("making a temp dir")?;
        let mut config = Config::new(dir.path());
        adjust(&mut config);
        let server = Server::open(config).context("opening the server")?;
        let demo = server
            .state()
            .db
            .write(demo::seed)
            .await
            .map_err(|e| api_error("seeding the demo", e))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = server.clone();
        let task = tokio::spawn(async move {
            serving
                .serve(listener, async move {
                    let _ = stopped.await;
                })
                .await
        });
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .context("making the HTTP client")?;
        Ok(Running {
            server,
            demo,
            base: format!("http://{addr}"),
            http,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        })
    }

    /// Shuts the server down gracefully and removes its data.
    pub(crate) async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .context("the server task failed")?
                .context("serving")?;
        }
        Ok(())
    }

    pub(crate) async fn write<T, F>(&self, what: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.server
            .state()
            .db
            .write(f)
            .await
            .map_err(|e| api_error(what, e))
    }

    async fn read<T, F>(&self, what: &'static str, f: F) -> Result<T>
    where
        F: FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.server
            .state()
            .db
            .read(f)
            .await
            .map_err(|e| api_error(what, e))
    }

    /// Rows (live and tombstones) in the demo tenant.
    async fn count_rows(&self) -> Result<u64> {
        let firm = self.demo.firm.to_string();
        self.read("counting rows", move |c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM entities WHERE firm_id = ?1",
                [firm],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
        .await
    }

    /// Signs a demo user in on a new install.
    pub(crate) async fn device(&self, email: &str) -> Result<Device> {
        let client = ClientId(uuid::Uuid::now_v7());
        let response = self
            .http
            .post(format!("{}/v1/auth/login", self.base))
            .json(&LoginRequest {
                email: email.into(),
                password: demo::PASSWORD.into(),
                client_id: Some(client),
                device_name: Some("bench".into()),
            })
            .send()
            .await
            .with_context(|| format!("signing {email} in"))?;
        let status = response.status();
        let body = response.text().await.context("reading the login answer")?;
        ensure!(status.is_success(), "login {email}: {status}: {body}");
        let login: LoginResponse =
            serde_json::from_str(&body).context("decoding the login answer")?;
        Ok(Device {
            base: self.base.clone(),
            http: self.http.clone(),
            token: login.token,
            client,
            next_seq: 1,
        })
    }
}

/// An app install: its token, client id and outbox counter.
#[derive(Debug)]
pub(crate) struct Device {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) token: String,
    pub(crate) client: ClientId,
    next_seq: u64,
}

impl Device {
    /// Pushes `mutations` as the next outbox entries; every one must be applied.
    pub(crate) async fn push(&mut self, mutations: Vec<Mutation>) -> Result<()> {
        let count = mutations.len();
        let first = self.next_seq;
        let pending: Vec<PendingMutation> = mutations
            .into_iter()
            .enumerate()
            .map(|(i, mutation)| PendingMutation {
                seq: first + i as u64,
                created_at: chrono::Utc::now(),
                mutation,
            })
            .collect();
        let response = self
            .http
            .post(format!("{}/v1/sync/push", self.base))
            .bearer_auth(&self.token)
            .json(&PushRequest {
                client_id: self.client,
                mutations: pending,
            })
            .send()
            .await
            .context("push request")?;
        let status = response.status();
        let body = response.text().await.context("reading the push answer")?;
        ensure!(status.is_success(), "push: {status}: {body}");
        let answer: PushResponse =
            serde_json::from_str(&body).context("decoding the push answer")?;
        if let Some(halt) = &answer.halted {
            bail!("push halted at seq {}: {}", halt.seq, halt.message);
        }
        ensure!(
            answer.results.len() == count,
            "push of {count} answered {} results",
            answer.results.len()
        );
        if let Some(bad) = answer
            .results
            .iter()
            .find(|r| r.outcome != Outcome::Applied)
        {
            bail!("mutation {} was not applied: {:?}", bad.seq, bad.outcome);
        }
        self.next_seq = first + count as u64;
        ensure!(
            answer.last_seq + 1 == self.next_seq,
            "server's last_seq {} after pushing up to {}",
            answer.last_seq,
            self.next_seq - 1
        );
        Ok(())
    }

    /// One pull page; answers the round trip (request out to last body byte in) and the page.
    pub(crate) async fn pull(
        &self,
        cursor: u64,
        limit: Option<u32>,
    ) -> Result<(Duration, PullResponse)> {
        let query = PullQuery {
            client_id: self.client,
            cursor,
            results_after: Some(self.next_seq - 1),
            wait: None,
            limit,
        };
        let start = Instant::now();
        let response = self
            .http
            .get(format!("{}/v1/sync/pull", self.base))
            .bearer_auth(&self.token)
            .query(&query)
            .send()
            .await
            .context("pull request")?;
        let status = response.status();
        let body = response.bytes().await.context("reading the pull answer")?;
        let elapsed = start.elapsed();
        ensure!(
            status.is_success(),
            "pull: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        let page = serde_json::from_slice(&body).context("decoding the pull answer")?;
        Ok((elapsed, page))
    }
}

/// Runs a bench of `full` items, or `quick` ones when `args` is `--quick`, on a new
/// multi-threaded runtime; any other argument is refused with `usage`.
pub(crate) fn run_sized<F, Fut>(
    args: &[String],
    usage: &str,
    (full, quick): (u64, u64),
    bench: F,
) -> Result<()>
where
    F: FnOnce(u64) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut n = full;
    for arg in args {
        match arg.as_str() {
            "--quick" => n = quick,
            other => bail!("unknown argument {other}; {usage}"),
        }
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(bench(n))
}

/// Prints the peak heap a step held above `before`'s baseline, with the process's peak RSS
/// before (`rss_before`) and now.
pub(crate) fn print_peak_heap(step: &str, peak_heap: usize, rss_before: Option<f64>) {
    println!(
        "peak heap while {step}, above before: {:.1} MB{}",
        peak_heap as f64 / 1_048_576.0,
        match (rss_before, peak_rss_mb()) {
            (Some(a), Some(b)) =>
                format!(" (peak RSS of the process {a:.0} MB before, {b:.0} MB after)"),
            _ => String::new(),
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1 000");
        assert_eq!(group(1_000_000), "1 000 000");
    }

    #[test]
    fn nearest_rank() {
        let t: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(percentile(&t, 50), Duration::from_millis(10));
        assert_eq!(percentile(&t, 95), Duration::from_millis(19));
        assert_eq!(percentile(&[], 95), Duration::ZERO);
    }
}
