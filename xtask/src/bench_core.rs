//! `cargo xtask bench core`: what one user action costs in the Crux core, as a shell pays for
//! it — an `update` and a `view` round trip through Crux's bincode bridge, with a model
//! holding 1 000 receipts and 200 messages. Goal: a median of at most 50 µs per round trip.
//!
//! The model gets there the way a phone's does: `Start` goes through
//! [`Bridge`](crux_core::bridge::Bridge), and the `Store` load it asks for is answered with
//! rows as the device's store would hold them (the signed-in session, this install's record,
//! and the mirror of one company: the demo's Birch Bakery of `kvits_demo` with its catalog and
//! rule, signed in as Mark, plus 1 000 of his own receipts in every status, 50 of Emma's
//! waiting for his approval, and 200 messages in a few threads). The core then starts syncing; its HTTP request is left unanswered, as on a phone
//! with no network.
//!
//! Each measured round trip is what a shell does for one user action: serialise the event
//! with bincode, `Bridge::update`, then `Bridge::view` (the view model serialised with
//! bincode). Timed with `std::time::Instant` over [`ITERATIONS`] round trips per event kind
//! after [`WARMUP`] untimed ones, on one thread, in [`ROUNDS`] rounds in which the kinds take
//! turns; the spread of the rounds' medians shows how steady the machine was. The xtask
//! binary's counting global allocator (`main.rs`) adds a few nanoseconds to every allocation.
//!
//! A figure printer, not a test: it fails only when the core answers wrongly, never on a
//! figure.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use crux_core::bridge::{Bridge, EffectId, Request};
use crux_time::TimeRequest;
use kvits_demo::Person;
use kvits_protocol::{
    Approval, ApprovalRule, ApprovalStep, ClientId, CompanyId, Decision, DecisionKind,
    DocumentType, Entity, Expense, ExpenseFields, ExpenseId, ExpenseStatus, ExpenseTypeId,
    FirmSummary, Membership, Message, MessageId, MessageRead, Money, PaymentMethodId, ReceiptPage,
    Role, Session, Thread, ThreadId, Timestamp, UserId, UserSummary,
};
use shared::effects::{Collection, EffectFfi, StoreRequest, StoreResponse, StoredRow};
use shared::model::local::{DeviceRecord, SessionRecord};
use shared::view::ScreenView;
use shared::{Event, FormField, Route, ViewModel};

use crate::bench_sync::percentile;
use shared::ReceiptEvent;

const USAGE: &str = "usage: cargo xtask bench core";

/// The user's own receipts in the model.
const RECEIPTS: u64 = 1_000;
/// A colleague's submitted receipts waiting for the user's approval.
const TASKS: u64 = 50;
/// Messages, spread over [`THREADS`] conversations.
const MESSAGES: u64 = 200;
const THREADS: u64 = 6;
/// Timed round trips per event kind.
const ITERATIONS: usize = 2_000;
/// The timed round trips are made in this many rounds, the event kinds taking turns, so that
/// the machine getting busier or quieter during the run weighs on every kind alike.
const ROUNDS: usize = 10;
/// Untimed round trips before the first round of each kind.
const WARMUP: usize = 200;
/// Untimed round trips before each later round (the other kinds ran in between).
const ROUND_WARMUP: usize = 20;
/// The median round trip we aim for, in µs. Printed next to the figures, never asserted.
const GOAL_US: f64 = 50.0;

/// The wall clock the bench's core sees: 2025-06-02 09:30:00 UTC.
const NOW_SECS: i64 = 1_748_856_600;

type KvitsBridge = Bridge<shared::Kvits>;

pub fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("unknown argument {arg}; {USAGE}");
    }
    let started = Instant::now();
    println!(
        "Crux core through its bincode bridge, one thread, {} CPU(s){}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average().map_or(String::new(), |l| format!(", load average {l}"))
    );

    let fixture = Fixture::new()?;
    let bridge = KvitsBridge::new(shared::Core::new());
    let load_ms = start(&bridge, &fixture)?;
    println!(
        "model: {RECEIPTS} own receipts, {TASKS} approval tasks, {MESSAGES} messages in \
         {THREADS} threads ({} stored rows, loaded through the bridge in {load_ms:.1} ms)",
        fixture.rows.len()
    );
    println!(
        "round trip = bincode-serialise the event + Bridge::update + Bridge::view; \
         {ITERATIONS} timed per event in {ROUNDS} rounds, after {WARMUP} warm-up"
    );
    println!(
        "update/view µs: medians of the two parts; rounds: the lowest and highest of the \
         {ROUNDS} rounds' medians"
    );

    let cases = cases(&fixture);
    let mut samples: Vec<Samples> = cases.iter().map(|_| Samples::default()).collect();
    for round in 0..ROUNDS {
        for (case, samples) in cases.iter().zip(&mut samples) {
            measure_round(&bridge, case, round == 0, samples)
                .with_context(|| format!("measuring {}", case.label))?;
        }
    }

    println!();
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>11} {:>9} {:>13} {:>10}",
        "event",
        "median µs",
        "p90 µs",
        "mean µs",
        "update µs",
        "view µs",
        "rounds µs",
        "view bytes"
    );
    let mut medians = Vec::new();
    for (case, samples) in cases.iter().zip(&samples) {
        let median = percentile(&samples.totals, 50);
        let sum: Duration = samples.totals.iter().sum();
        let mean = sum / u32::try_from(samples.totals.len().max(1)).unwrap_or(u32::MAX);
        let lowest = samples
            .round_medians
            .iter()
            .min()
            .copied()
            .unwrap_or_default();
        let highest = samples
            .round_medians
            .iter()
            .max()
            .copied()
            .unwrap_or_default();
        println!(
            "{:<34} {:>9.1} {:>9.1} {:>9.1} {:>11.1} {:>9.1} {:>13} {:>10}",
            case.label,
            us(median),
            us(percentile(&samples.totals, 90)),
            us(mean),
            us(percentile(&samples.updates, 50)),
            us(percentile(&samples.views, 50)),
            format!("{:.1}-{:.1}", us(lowest), us(highest)),
            samples.view_bytes
        );
        medians.push((case.label, us(median)));
    }

    println!();
    let over: Vec<String> = medians
        .iter()
        .filter(|(_, median)| *median > GOAL_US)
        .map(|(label, median)| format!("{label} ({median:.1} µs)"))
        .collect();
    if over.is_empty() {
        println!("goal ≤ {GOAL_US:.0} µs median per round trip: every event is within it");
    } else {
        println!(
            "goal ≤ {GOAL_US:.0} µs median per round trip: over it: {}",
            over.join(", ")
        );
    }
    eprintln!("bench took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// measuring

/// One event kind to time.
#[derive(Debug)]
struct Case {
    label: &'static str,
    /// Sent once, untimed, before the round trips (e.g. open the form that `events` edit).
    setup: Option<Event>,
    /// Sent in turn, one per round trip.
    events: Vec<Event>,
    /// What the screen must be after each of `events`.
    expect: fn(&ScreenView) -> bool,
}

/// What the rounds of one event kind measured.
#[derive(Debug, Default)]
struct Samples {
    /// Whole round trips.
    totals: Vec<Duration>,
    /// Their part up to the end of `update`.
    updates: Vec<Duration>,
    /// Their `view` part.
    views: Vec<Duration>,
    /// The median round trip of each round.
    round_medians: Vec<Duration>,
    /// The largest serialised view model seen.
    view_bytes: usize,
}

fn cases(fixture: &Fixture) -> Vec<Case> {
    let receipt = Event::Navigate(Route::Receipt {
        expense_id: fixture.draft.to_string(),
    });
    vec![
        Case {
            label: "Navigate(Receipts)",
            setup: None,
            events: vec![Event::Navigate(Route::Receipts)],
            expect: |s| matches!(s, ScreenView::Receipts(_)),
        },
        Case {
            label: "Navigate(Receipt { expense_id })",
            setup: None,
            events: vec![receipt.clone()],
            expect: |s| matches!(s, ScreenView::Receipt(_)),
        },
        Case {
            label: "EditForm(Merchant(..))",
            setup: Some(receipt),
            events: (0..8)
                .map(|i| {
                    Event::Receipts(ReceiptEvent::EditForm(FormField::Merchant(format!(
                        "Rimi Hipermārkets {i}"
                    ))))
                })
                .collect(),
            expect: |s| matches!(s, ScreenView::Receipt(r) if r.merchant.starts_with("Rimi")),
        },
        Case {
            label: "Navigate(Approvals)",
            setup: None,
            events: vec![Event::Navigate(Route::Approvals)],
            expect: |s| matches!(s, ScreenView::Approvals(a) if !a.pending.is_empty()),
        },
        Case {
            label: "Navigate(Inbox)",
            setup: None,
            events: vec![Event::Navigate(Route::Inbox)],
            expect: |s| matches!(s, ScreenView::Inbox(i) if !i.threads.is_empty()),
        },
    ]
}

/// One round of `case`: its setup, warm-up, then its share of the timed round trips. The
/// first round also checks what the core answers.
fn measure_round(
    bridge: &KvitsBridge,
    case: &Case,
    first: bool,
    samples: &mut Samples,
) -> Result<()> {
    let mut requests = Vec::new();
    let mut view = Vec::new();
    if let Some(setup) = &case.setup {
        round_trip(bridge, setup, &mut requests, &mut view)?;
        check_round_trip(&requests, &view, |_| true)?;
    }
    let warmup = if first { WARMUP } else { ROUND_WARMUP };
    let timed = ITERATIONS / ROUNDS;
    let mut round = Vec::with_capacity(timed);
    for i in 0..warmup + timed {
        let event = &case.events[i % case.events.len()];
        let (update, total) = round_trip(bridge, event, &mut requests, &mut view)?;
        if first && i < case.events.len() {
            check_round_trip(&requests, &view, case.expect)?;
            samples.view_bytes = samples.view_bytes.max(view.len());
        }
        if i >= warmup {
            round.push(total);
            samples.updates.push(update);
            samples.views.push(total - update);
        }
    }
    samples.round_medians.push(percentile(&round, 50));
    samples.totals.extend(round);
    Ok(())
}

/// One shell round trip; answers how long it took up to the end of `update`, and in all.
fn round_trip(
    bridge: &KvitsBridge,
    event: &Event,
    requests: &mut Vec<u8>,
    view: &mut Vec<u8>,
) -> Result<(Duration, Duration)> {
    requests.clear();
    view.clear();
    let start = Instant::now();
    let bytes = bincode::serialize(event).context("serialising the event")?;
    bridge
        .update(&bytes, requests)
        .map_err(|e| anyhow!("Bridge::update: {e}"))?;
    let updated = start.elapsed();
    bridge
        .view(view)
        .map_err(|e| anyhow!("Bridge::view: {e}"))?;
    Ok((updated, start.elapsed()))
}

/// The event asked only for a render, and the view model decodes to the expected screen.
fn check_round_trip(requests: &[u8], view: &[u8], expect: fn(&ScreenView) -> bool) -> Result<()> {
    let requests = decode_requests(requests)?;
    let asked: Vec<&str> = requests.iter().map(|r| effect_name(&r.effect)).collect();
    ensure!(
        asked.iter().all(|name| *name == "Render"),
        "the event asked for {asked:?}; the bench times only events that need nothing but a render"
    );
    let view: ViewModel = bincode::deserialize(view).context("decoding the view model")?;
    if let Some(alert) = &view.alert {
        bail!("the core answered with an alert: {alert}");
    }
    ensure!(
        expect(&view.screen),
        "unexpected screen: {}",
        screen_name(&view.screen)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// starting the core

/// Sends `Start` and, like a shell, answers what the core asks for until it has loaded: the
/// clock and the store's rows (in whichever order it asks). Answers how long the load took.
fn start(bridge: &KvitsBridge, fixture: &Fixture) -> Result<f64> {
    let start = Event::Start {
        server_url: "http://127.0.0.1:9".into(),
        entropy: vec![7; 32],
        device_name: "bench".into(),
        utc_offset_minutes: 0,
    };
    let mut out = Vec::new();
    bridge
        .update(&bincode::serialize(&start)?, &mut out)
        .map_err(|e| anyhow!("Bridge::update(Start): {e}"))?;
    let mut pending = decode_requests(&out)?;

    let now = bincode::serialize(&crux_time::TimeResponse::Now {
        instant: crux_time::Instant::new(NOW_SECS.unsigned_abs(), 0),
    })?;
    let loaded = bincode::serialize(&StoreResponse::Loaded {
        rows: fixture.rows.clone(),
    })?;
    let mut load_ms = None;
    let mut syncing = false;
    while let Some(request) = pending.pop() {
        let more = match &request.effect {
            EffectFfi::Render(_) => Vec::new(),
            EffectFfi::Time(TimeRequest::Now) => resolve(bridge, request.id, &now)?,
            EffectFfi::Store(StoreRequest::Load) if load_ms.is_none() => {
                let timer = Instant::now();
                let more = resolve(bridge, request.id, &loaded)?;
                load_ms = Some(timer.elapsed().as_secs_f64() * 1e3);
                more
            }
            // Signed in with a token, the core starts syncing: left unanswered, as offline.
            EffectFfi::Http(_) => {
                syncing = true;
                Vec::new()
            }
            other => bail!(
                "while starting, the core asked for {} (the bench answers only the clock and \
                 one store load)",
                effect_name(other)
            ),
        };
        pending.extend(more);
    }
    let load_ms = load_ms.ok_or_else(|| anyhow!("Start never asked to load the store"))?;
    ensure!(syncing, "the core did not start syncing after the load");

    let mut out = Vec::new();
    bridge
        .view(&mut out)
        .map_err(|e| anyhow!("Bridge::view: {e}"))?;
    let view: ViewModel = bincode::deserialize(&out).context("decoding the view model")?;
    match &view.screen {
        ScreenView::Receipts(r) => {
            let total = r.receipts.len() as u64 + u64::from(r.more);
            ensure!(
                total == RECEIPTS,
                "the receipts screen lists {total} receipts, not {RECEIPTS}"
            );
        }
        other => bail!(
            "after the load the core shows {}, not the receipts",
            screen_name(other)
        ),
    }
    Ok(load_ms)
}

fn resolve(bridge: &KvitsBridge, id: EffectId, output: &[u8]) -> Result<Vec<Request<EffectFfi>>> {
    let mut out = Vec::new();
    bridge
        .resolve(id, output, &mut out)
        .map_err(|e| anyhow!("Bridge::resolve({}): {e}", id.0))?;
    decode_requests(&out)
}

fn decode_requests(bytes: &[u8]) -> Result<Vec<Request<EffectFfi>>> {
    bincode::deserialize(bytes).context("decoding the effect requests")
}

fn effect_name(effect: &EffectFfi) -> &'static str {
    match effect {
        EffectFfi::Render(_) => "Render",
        EffectFfi::Http(_) => "Http",
        EffectFfi::Time(_) => "Time",
        EffectFfi::Store(_) => "Store",
        EffectFfi::ProcessPhoto(_) => "ProcessPhoto",
        EffectFfi::Upload(_) => "Upload",
    }
}

fn screen_name(screen: &ScreenView) -> &'static str {
    match screen {
        ScreenView::Loading => "Loading",
        ScreenView::Broken { .. } => "Broken",
        ScreenView::SignIn(_) => "SignIn",
        ScreenView::Receipts(_) => "Receipts",
        ScreenView::Receipt(_) => "Receipt",
        ScreenView::Approvals(_) => "Approvals",
        ScreenView::Approval(_) => "Approval",
        ScreenView::Inbox(_) => "Inbox",
        ScreenView::Thread(_) => "Thread",
        ScreenView::Compose(_) => "Compose",
        ScreenView::Catalog(_) => "Catalog",
        ScreenView::Firm(_) => "Firm",
        ScreenView::Clients(_) => "Clients",
        ScreenView::Export(_) => "Export",
        ScreenView::Cards(_) => "Cards",
    }
}

// ---------------------------------------------------------------------------------------------
// the device's store

/// The rows a signed-in phone's store holds.
#[derive(Debug)]
struct Fixture {
    rows: Vec<StoredRow>,
    /// One of the user's drafts (its form is editable).
    draft: ExpenseId,
}

/// The people of the demo's Birch Bakery the rows are about.
#[derive(Debug, Clone, Copy)]
struct People {
    /// The signed-in user, Mark: employee and approver as in the demo, and (the bench's own
    /// addition) client contact, so that one user has receipts, approval tasks and messages.
    user: &'static Person,
    /// Emma: submits the receipts the user approves.
    colleague: &'static Person,
    /// Alice: the other manager, who decides the user's receipts.
    approver: &'static Person,
    /// Anna, the firm's accountant, who writes the messages.
    accountant: &'static Person,
}

const PEOPLE: People = People {
    user: &kvits_demo::MARK,
    colleague: &kvits_demo::EMMA,
    approver: &kvits_demo::ALICE,
    accountant: &kvits_demo::ANNA,
};

const MERCHANTS: [&str; 8] = [
    "Circle K Brīvības iela",
    "Rimi Hipermārkets",
    "Lido Atpūtas centrs",
    "Narvesen",
    "Neste Ulbroka",
    "Maxima XX",
    "Airbaltic",
    "Depo DIY",
];

/// A stable UUID for the `i`-th row of a kind.
fn uuid(kind: &str, i: u64) -> uuid::Uuid {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("kvits-bench/{kind}/{i}").as_bytes(),
    )
}

fn at(secs_before_now: i64) -> Result<Timestamp> {
    Timestamp::from_timestamp(NOW_SECS - secs_before_now, 0)
        .ok_or_else(|| anyhow!("timestamp out of range"))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).context("serialising a stored row")
}

fn mirror_row(entity: &Entity) -> Result<StoredRow> {
    Ok(StoredRow {
        collection: Collection::Mirror,
        key: format!("{}/{}", entity.kind().as_str(), entity.id()),
        value: json(entity)?,
    })
}

impl Fixture {
    fn new() -> Result<Fixture> {
        let people = PEOPLE;
        let firm = kvits_demo::FIRM;
        let birch = kvits_demo::BIRCH;
        let company = birch.id;
        let mut rows = Vec::new();

        // This install and its signed-in session.
        let device = DeviceRecord {
            client_id: ClientId(uuid("client", 0)),
            user_id: Some(people.user.id),
            next_seq: 1,
        };
        rows.push(StoredRow {
            collection: Collection::Meta,
            key: "device".into(),
            value: json(&device)?,
        });
        let mut user_roles = people.user.roles_in(company).to_vec();
        user_roles.push(Role::Client);
        user_roles.sort();
        let session = SessionRecord {
            token: Some("t".into()),
            session: Session {
                user: UserSummary {
                    id: people.user.id,
                    name: people.user.name.into(),
                    email: people.user.email.into(),
                },
                firm: FirmSummary {
                    id: firm.id,
                    name: firm.name.into(),
                },
                memberships: vec![Membership {
                    company_id: company,
                    company_name: birch.name.into(),
                    roles: user_roles.clone(),
                    active: true,
                }],
                staff: None,
            },
            company_id: Some(company),
        };
        rows.push(StoredRow {
            collection: Collection::Meta,
            key: "session".into(),
            value: json(&session)?,
        });

        // The company, its catalog and its rule: the demo's.
        let mut birch_entity = birch.entity();
        for m in &mut birch_entity.members {
            if m.user_id == people.user.id {
                m.roles.clone_from(&user_roles);
            }
        }
        let mut entities = vec![Entity::Company(birch_entity)];
        let types = birch.expense_types();
        let type_ids: Vec<ExpenseTypeId> = types.iter().map(|t| t.id).collect();
        entities.extend(types.into_iter().map(Entity::ExpenseType));
        let methods = birch.payment_methods();
        let method_ids: Vec<PaymentMethodId> = methods.iter().map(|m| m.id).collect();
        entities.extend(methods.into_iter().map(Entity::PaymentMethod));
        let rule = birch
            .approval_rules()
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("the demo's Birch Bakery has no approval rule"))?;
        entities.push(Entity::ApprovalRule(rule.clone()));

        // The user's receipts in every status, and a colleague's waiting for the user.
        let catalog = Catalog {
            company,
            types: &type_ids,
            methods: &method_ids,
            rule: &rule,
            people,
        };
        for i in 0..RECEIPTS {
            entities.push(Entity::Expense(catalog.own_expense(i)?));
        }
        for i in 0..TASKS {
            entities.push(Entity::Expense(catalog.task(i)?));
        }
        let draft = ExpenseId(uuid("expense", 0));

        // Conversations with the accounting firm.
        let mut threads: Vec<Thread> = (0..THREADS)
            .map(|t| {
                Ok(Thread {
                    id: ThreadId(uuid("thread", t)),
                    company_id: company,
                    subject: format!("Month-end documents, part {}", t + 1),
                    created_by: people.accountant.id,
                    created_at: at(((THREADS - t) * 30 * 86_400) as i64)?,
                    broadcast_id: None,
                    last_message_at: at(0)?,
                })
            })
            .collect::<Result<_>>()?;
        for m in 0..MESSAGES {
            let thread = &mut threads[(m % THREADS) as usize];
            let mine = m % 3 == 2;
            let created_at = at(((MESSAGES - m) * 3_600) as i64)?;
            thread.last_message_at = created_at;
            let message = Message {
                id: MessageId(uuid("message", m)),
                thread_id: thread.id,
                company_id: company,
                author_id: if mine { people.user } else { people.accountant }.id,
                author_name: if mine { people.user } else { people.accountant }
                    .name
                    .into(),
                body: format!(
                    "Message {m}: please send the receipts for the fuel card statement of \
                     this month, and the invoice from the office supplier."
                ),
                attachment: None,
                created_at,
            };
            // The user has read the older half of the firm's messages.
            if !mine && m < MESSAGES / 2 {
                entities.push(Entity::MessageRead(MessageRead {
                    message_id: message.id,
                    thread_id: message.thread_id,
                    company_id: company,
                    user_id: people.user.id,
                    read_at: at(((MESSAGES - m) * 3_600 - 600) as i64)?,
                }));
            }
            entities.push(Entity::Message(message));
        }
        entities.extend(threads.into_iter().map(Entity::Thread));

        for entity in &entities {
            rows.push(mirror_row(entity)?);
        }
        Ok(Fixture { rows, draft })
    }
}

/// What the expenses refer to.
#[derive(Debug)]
struct Catalog<'a> {
    company: CompanyId,
    types: &'a [ExpenseTypeId],
    methods: &'a [PaymentMethodId],
    rule: &'a ApprovalRule,
    people: People,
}

impl Catalog<'_> {
    fn fields(&self, i: u64) -> ExpenseFields {
        let date = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
            .and_then(|d| d.checked_add_days(chrono::Days::new(i % 150)));
        ExpenseFields {
            expense_type_id: Some(self.types[(i % self.types.len() as u64) as usize]),
            payment_method_id: Some(self.methods[(i % self.methods.len() as u64) as usize]),
            amount: Some(Money {
                amount_minor: 199 + (i as i64 * 7_919) % 25_000,
                currency: "EUR".into(),
            }),
            base_amount: None,
            date,
            merchant: Some(MERCHANTS[(i % MERCHANTS.len() as u64) as usize].into()),
            note: i.is_multiple_of(4).then(|| "Client lunch".to_string()),
            vat: Vec::new(),
            account_code: None,
        }
    }

    fn page(i: u64) -> ReceiptPage {
        ReceiptPage {
            sha256: format!(
                "{:032x}{:032x}",
                uuid("page-a", i).as_u128(),
                uuid("page-b", i).as_u128()
            ),
            size: 140_000 + i * 37 % 40_000,
            content_type: "image/jpeg".into(),
            width: 1512,
            height: 2016,
        }
    }

    fn approval(&self, approvers: Vec<UserId>, current_step: u32) -> Approval {
        Approval {
            rule_id: self.rule.id,
            rule_name: self.rule.name.clone(),
            steps: vec![ApprovalStep {
                approver_ids: approvers,
            }],
            current_step,
        }
    }

    fn decision(&self, kind: DecisionKind, at: Timestamp, reason: Option<&str>) -> Decision {
        Decision {
            kind,
            step: 0,
            revision: 2,
            by: self.people.approver.id,
            by_name: self.people.approver.name.into(),
            at,
            reason: reason.map(Into::into),
        }
    }

    /// The user's `i`-th receipt (the first one a draft): 20 % drafts, 10 % returned,
    /// 20 % waiting for approval, 40 % approved, 10 % rejected.
    fn own_expense(&self, i: u64) -> Result<Expense> {
        let created_at = at(((RECEIPTS - i) * 3 * 3_600) as i64)?;
        let submitted_at = at(((RECEIPTS - i) * 3 * 3_600 - 600) as i64)?;
        let decided_at = at(((RECEIPTS - i) * 3 * 3_600 - 7_200) as i64)?;
        // At submission the author is left out of a step that names others too.
        let approval = || self.approval(vec![self.people.approver.id], 0);
        let (status, approval, decisions, submitted, updated_at) = match i % 10 {
            0 | 1 => (ExpenseStatus::Draft, None, vec![], None, created_at),
            2 => (
                ExpenseStatus::Returned,
                Some(approval()),
                vec![self.decision(
                    DecisionKind::Return,
                    decided_at,
                    Some("The date is cut off; please take the photo again."),
                )],
                Some(submitted_at),
                decided_at,
            ),
            3 | 4 => (
                ExpenseStatus::Submitted,
                Some(approval()),
                vec![],
                Some(submitted_at),
                submitted_at,
            ),
            9 => (
                ExpenseStatus::Rejected,
                Some(approval()),
                vec![self.decision(
                    DecisionKind::Reject,
                    decided_at,
                    Some("A private purchase."),
                )],
                Some(submitted_at),
                decided_at,
            ),
            _ => (
                ExpenseStatus::Approved,
                Some(Approval {
                    current_step: 1,
                    ..approval()
                }),
                vec![self.decision(DecisionKind::Approve, decided_at, None)],
                Some(submitted_at),
                decided_at,
            ),
        };
        Ok(Expense {
            id: ExpenseId(uuid("expense", i)),
            company_id: self.company,
            created_by: self.people.user.id,
            created_by_name: self.people.user.name.into(),
            document_type: if i.is_multiple_of(7) {
                DocumentType::Invoice
            } else {
                DocumentType::Receipt
            },
            fields: self.fields(i),
            pages: vec![Self::page(i)],
            status,
            revision: if submitted.is_some() { 2 } else { 1 },
            approval,
            decisions,
            created_at,
            updated_at,
            submitted_at: submitted,
            history: Vec::new(),
            export: None,
        })
    }

    /// A colleague's receipt, submitted and waiting for the user's decision.
    fn task(&self, i: u64) -> Result<Expense> {
        let n = RECEIPTS + i;
        let created_at = at(((TASKS - i) * 5 * 3_600) as i64)?;
        let submitted_at = at(((TASKS - i) * 5 * 3_600 - 300) as i64)?;
        Ok(Expense {
            id: ExpenseId(uuid("expense", n)),
            company_id: self.company,
            created_by: self.people.colleague.id,
            created_by_name: self.people.colleague.name.into(),
            document_type: DocumentType::Receipt,
            fields: self.fields(n),
            pages: vec![Self::page(n)],
            status: ExpenseStatus::Submitted,
            revision: 2,
            approval: Some(
                self.approval(
                    self.rule
                        .steps
                        .first()
                        .map(|s| s.approver_ids.clone())
                        .unwrap_or_default(),
                    0,
                ),
            ),
            decisions: Vec::new(),
            created_at,
            updated_at: submitted_at,
            submitted_at: Some(submitted_at),
            history: Vec::new(),
            export: None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// printing

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The 1-minute load average (Linux), to tell a busy machine's figures from a quiet one's.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next().map(str::to_string)
}
