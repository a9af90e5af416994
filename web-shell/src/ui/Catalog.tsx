// Company settings for admins and the firm's accountants: expense types, cards and own money,
// approval rules. Each editor keeps its draft locally and sends one Save event; the core checks it.

import { useState } from "react";
import type { ReactNode } from "react";
import {
  ApprovalRuleInput,
  ExpenseTypeInput,
  InviteInput,
  PaymentMethodInput,
} from "../generated/types/shared_types";
import type {
  ApprovalRuleRow,
  CatalogView,
  Choice,
  DocumentKind,
  ExpenseTypeRow,
  InvitationRow,
  MemberRow,
  PaymentMethodRow,
} from "../generated/types/shared_types";
import { useDispatch } from "./common";

export function CatalogScreen({ view }: { view: CatalogView }) {
  return (
    <section className="catalog" aria-labelledby="catalog-h">
      <div className="screen-head">
        <h1 id="catalog-h">
          Company settings <span className="muted">· {view.company}</span>
        </h1>
      </div>
      <ExpenseTypes rows={view.expense_types} />
      <PaymentMethods rows={view.payment_methods} members={view.members} />
      <ApprovalRules
        rows={view.approval_rules}
        types={view.expense_types}
        approvers={view.approvers}
        baseCurrency={view.base_currency}
      />
      <People view={view} />
    </section>
  );
}

/** A section with a list and one editor open at a time (a row's id, "new", or none). */
function Editable<Row extends { id: string }>(props: {
  title: string;
  id: string;
  addLabel: string;
  rows: Row[];
  empty: string;
  render: (row: Row) => ReactNode;
  editor: (row: Row | null, done: () => void) => ReactNode;
  editLabel: (row: Row) => string;
}) {
  const [open, setOpen] = useState<string | null>(null);
  const done = () => setOpen(null);
  return (
    <section className="card settings" aria-labelledby={props.id}>
      <div className="section-head">
        <h2 id={props.id}>{props.title}</h2>
        <button type="button" className="button" onClick={() => setOpen("new")} disabled={open === "new"}>
          {props.addLabel}
        </button>
      </div>
      {open === "new" && <div className="editor">{props.editor(null, done)}</div>}
      {props.rows.length === 0 ? (
        <p className="muted">{props.empty}</p>
      ) : (
        <ul className="settings-list">
          {props.rows.map((r) => (
            <li key={r.id}>
              <div className="settings-row">
                <div className="settings-main">{props.render(r)}</div>
                {open !== r.id && (
                  <button type="button" className="button-quiet" onClick={() => setOpen(r.id)}>
                    {props.editLabel(r)}
                  </button>
                )}
              </div>
              {open === r.id && <div className="editor">{props.editor(r, done)}</div>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function EditorForm(props: { label: string; onSave: () => void; onCancel: () => void; children: ReactNode }) {
  return (
    <form
      aria-label={props.label}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSave();
      }}
    >
      {props.children}
      <div className="actions">
        <button type="submit" className="button-primary">
          Save
        </button>
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function Text(props: { label: string; value: string; onChange: (v: string) => void; inputMode?: "decimal" | "numeric"; required?: boolean }) {
  return (
    <label className="field">
      <span>{props.label}</span>
      <input
        value={props.value}
        inputMode={props.inputMode}
        required={props.required}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </label>
  );
}

export function Check(props: { label: string; checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <label className="check">
      <input type="checkbox" checked={props.checked} onChange={(e) => props.onChange(e.target.checked)} />
      {props.label}
    </label>
  );
}

function Inactive({ active }: { active: boolean }) {
  return active ? null : <span className="tag">Not in use</span>;
}

function ExpenseTypes({ rows }: { rows: ExpenseTypeRow[] }) {
  const dispatch = useDispatch();
  return (
    <Editable
      title="Expense types"
      id="types-h"
      addLabel="Add expense type"
      rows={rows}
      empty="No expense types yet."
      editLabel={(r) => `Edit ${r.name}`}
      render={(r) => (
        <>
          <span className="code">{r.code}</span> {r.name} <Inactive active={r.active} />
        </>
      )}
      editor={(row, done) => <TypeEditor row={row} done={done} save={(v) => dispatch({ kind: "Catalog", value: { kind: "SaveExpenseType", value: v } })} />}
    />
  );
}

function TypeEditor(props: { row: ExpenseTypeRow | null; done: () => void; save: (v: ExpenseTypeInput) => void }) {
  const [code, setCode] = useState(props.row?.code ?? "");
  const [name, setName] = useState(props.row?.name ?? "");
  const [active, setActive] = useState(props.row?.active ?? true);
  return (
    <EditorForm
      label={props.row ? `Edit expense type ${props.row.name}` : "New expense type"}
      onCancel={props.done}
      onSave={() => {
        props.save(new ExpenseTypeInput(props.row?.id ?? null, code.trim(), name.trim(), active));
        props.done();
      }}
    >
      <div className="field-pair">
        <Text label="Code" value={code} onChange={setCode} required />
        <Text label="Name" value={name} onChange={setName} required />
      </div>
      <Check label="In use" checked={active} onChange={setActive} />
    </EditorForm>
  );
}

function PaymentMethods({ rows, members }: { rows: PaymentMethodRow[]; members: MemberRow[] }) {
  const dispatch = useDispatch();
  return (
    <Editable
      title="Cards and own money"
      id="cards-h"
      addLabel="Add card"
      rows={rows}
      empty="No cards yet."
      editLabel={(r) => `Edit ${r.label}`}
      render={(r) => (
        <>
          {r.label}
          {r.last_four && <span className="muted"> ·{r.last_four}</span>}
          {r.own_money ? (
            <span className="muted"> — reimbursed</span>
          ) : (
            <span className="muted"> — {r.holder ? `held by ${r.holder}` : "shared company card"}</span>
          )}{" "}
          <Inactive active={r.active} />
        </>
      )}
      editor={(row, done) => (
        <CardEditor row={row} members={members} done={done} save={(v) => dispatch({ kind: "Catalog", value: { kind: "SavePaymentMethod", value: v } })} />
      )}
    />
  );
}

function CardEditor(props: {
  row: PaymentMethodRow | null;
  members: MemberRow[];
  done: () => void;
  save: (v: PaymentMethodInput) => void;
}) {
  const r = props.row;
  const [own, setOwn] = useState(r?.own_money ?? false);
  const [label, setLabel] = useState(r?.label ?? "");
  const [lastFour, setLastFour] = useState(r?.last_four ?? "");
  const [holder, setHolder] = useState(r?.holder_id ?? "");
  const [active, setActive] = useState(r?.active ?? true);
  const [statementRef, setStatementRef] = useState(r?.statement_ref ?? "");
  return (
    <EditorForm
      label={r ? `Edit ${r.label}` : "New card"}
      onCancel={props.done}
      onSave={() => {
        props.save(
          new PaymentMethodInput(
            r?.id ?? null,
            own,
            label.trim(),
            own || lastFour.trim() === "" ? null : lastFour.trim(),
            own || holder === "" ? null : holder,
            active,
            own || statementRef.trim() === "" ? null : statementRef.trim(),
          ),
        );
        props.done();
      }}
    >
      <Check label="Own money / cash (reimbursed)" checked={own} onChange={setOwn} />
      <div className="field-pair">
        <Text label="Label" value={label} onChange={setLabel} required />
        {!own && <Text label="Last four digits" value={lastFour} onChange={setLastFour} inputMode="numeric" />}
      </div>
      {!own && (
        <label className="field">
          <span>Card holder</span>
          <select value={holder} onChange={(e) => setHolder(e.target.value)}>
            <option value="">Shared company card</option>
            {props.members.map((m) => (
              <option key={m.user_id} value={m.user_id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {!own && (
        <Text
          label="Card account on bank statements (if they do not show the last four digits)"
          value={statementRef}
          onChange={setStatementRef}
        />
      )}
      <Check label="In use" checked={active} onChange={setActive} />
    </EditorForm>
  );
}

function ApprovalRules(props: {
  rows: ApprovalRuleRow[];
  types: ExpenseTypeRow[];
  approvers: Choice[];
  baseCurrency: string;
}) {
  const dispatch = useDispatch();
  return (
    <Editable
      title="Approval rules"
      id="rules-h"
      addLabel="Add rule"
      rows={props.rows}
      empty="No rules: receipts need no approval."
      editLabel={(r) => `Edit ${r.name}`}
      render={(r) => (
        <>
          <span className="rule-pos">{r.position}.</span> <strong>{r.name}</strong> <Inactive active={r.active} />
          <div className="muted small">{r.summary}</div>
        </>
      )}
      editor={(row, done) => (
        <RuleEditor
          row={row}
          types={props.types}
          approvers={props.approvers}
          nextPosition={Math.max(0, ...props.rows.map((r) => r.position)) + 10}
          currency={row?.currency ?? props.baseCurrency}
          done={done}
          save={(v) => dispatch({ kind: "Catalog", value: { kind: "SaveApprovalRule", value: v } })}
        />
      )}
    />
  );
}

function RuleEditor(props: {
  row: ApprovalRuleRow | null;
  types: ExpenseTypeRow[];
  approvers: Choice[];
  nextPosition: number;
  // The currency of the limits: the rule's own, or the company's for a new rule.
  currency: string;
  done: () => void;
  save: (v: ApprovalRuleInput) => void;
}) {
  const r = props.row;
  const [name, setName] = useState(r?.name ?? "");
  const [position, setPosition] = useState(String(r?.position ?? props.nextPosition));
  const [active, setActive] = useState(r?.active ?? true);
  const [doc, setDoc] = useState<string>(r?.document_type?.kind ?? "");
  const [types, setTypes] = useState<string[]>(r?.expense_type_ids ?? []);
  const [min, setMin] = useState(r?.min_amount ?? "");
  const [max, setMax] = useState(r?.max_amount ?? "");
  const [steps, setSteps] = useState<string[][]>(r ? r.steps.map((s) => s.map((c) => c.id)) : [[]]);
  // Approvers named in a step who are no longer offered stay visible (and removable).
  const known = new Map<string, string>(props.approvers.map((a) => [a.id, a.label]));
  for (const s of r?.steps ?? []) for (const c of s) if (!known.has(c.id)) known.set(c.id, c.label);
  const toggle = (list: string[], id: string) => (list.includes(id) ? list.filter((x) => x !== id) : [...list, id]);
  return (
    <EditorForm
      label={r ? `Edit rule ${r.name}` : "New approval rule"}
      onCancel={props.done}
      onSave={() => {
        const documentType: DocumentKind | null =
          doc === "Receipt" || doc === "Invoice" || doc === "Other" ? { kind: doc } : null;
        props.save(
          new ApprovalRuleInput(
            r?.id ?? null,
            name.trim(),
            Number.parseInt(position, 10) || 0,
            active,
            documentType,
            types,
            min.trim(),
            max.trim(),
            steps.filter((s) => s.length > 0),
          ),
        );
        props.done();
      }}
    >
      <div className="field-pair">
        <Text label="Rule name" value={name} onChange={setName} required />
        <Text label="Order" value={position} onChange={setPosition} inputMode="numeric" />
      </div>
      <label className="field">
        <span>Documents</span>
        <select value={doc} onChange={(e) => setDoc(e.target.value)}>
          <option value="">Any document</option>
          <option value="Receipt">Receipts</option>
          <option value="Invoice">Invoices</option>
          <option value="Other">Other documents</option>
        </select>
      </label>
      <fieldset>
        <legend>Expense types (none ticked: every type)</legend>
        <div className="checks-inline">
          {props.types.map((t) => (
            <Check key={t.id} label={t.name} checked={types.includes(t.id)} onChange={() => setTypes(toggle(types, t.id))} />
          ))}
        </div>
      </fieldset>
      <div className="field-pair">
        <Text label={`From amount (${props.currency})`} value={min} onChange={setMin} inputMode="decimal" />
        <Text label={`Below amount (${props.currency})`} value={max} onChange={setMax} inputMode="decimal" />
      </div>
      {steps.map((step, i) => (
        <fieldset key={i} className="step">
          <legend>
            Step {i + 1}: any one of these approves
          </legend>
          <div className="checks-inline">
            {[...known.entries()].map(([id, label]) => (
              <Check
                key={id}
                label={label}
                checked={step.includes(id)}
                onChange={() => setSteps(steps.map((s, j) => (j === i ? toggle(s, id) : s)))}
              />
            ))}
          </div>
          {steps.length > 1 && (
            <button type="button" className="button-quiet danger" onClick={() => setSteps(steps.filter((_, j) => j !== i))}>
              Remove step {i + 1}
            </button>
          )}
        </fieldset>
      ))}
      <button type="button" className="button-quiet" onClick={() => setSteps([...steps, []])}>
        Add a step
      </button>
      <Check label="In use" checked={active} onChange={setActive} />
    </EditorForm>
  );
}

function People(props: { view: CatalogView }) {
  const dispatch = useDispatch();
  const v = props.view;
  const [open, setOpen] = useState<string | null>(null);
  const label = (role: string) => v.roles.find((r) => r.id === role)?.label ?? role.replace("_", " ");
  return (
    <section className="card settings" aria-labelledby="people-h" aria-busy={v.people_busy || undefined}>
      <div className="section-head">
        <h2 id="people-h">People</h2>
        <button type="button" className="button" onClick={() => setOpen("new")} disabled={open === "new"}>
          Invite someone
        </button>
      </div>
      <p className="muted small">
        Inviting people and changing roles or access needs the network. Turning someone's access off ends every
        session of theirs at once; what they saved on their devices stays there until it is turned on again.
      </p>
      <ActionStatus busy={v.people_busy} error={v.people_error} done={v.people_done} link={v.invite_link} />
      {open === "new" && (
        <div className="editor">
          <InviteEditor
            roles={v.roles}
            done={() => setOpen(null)}
            save={(email, name, roles) => dispatch({ kind: "People", value: { kind: "Invite", value: new InviteInput(email, name, roles) } })}
          />
        </div>
      )}
      <ul className="settings-list">
        {v.members.map((m) => (
          <li key={m.user_id}>
            <div className="settings-row">
              <div className="settings-main">
                {m.name} <span className="muted">{m.email}</span>
                <div className="small">
                  {m.roles.map((r) => (
                    <span key={r} className="tag">
                      {label(r)}
                    </span>
                  ))}
                  {m.disabled && <span className="tag tag-warn">Access off</span>}
                </div>
              </div>
              {open !== m.user_id && (
                <button type="button" className="button-quiet" onClick={() => setOpen(m.user_id)}>
                  Change roles of {m.name}
                </button>
              )}
              {m.can_set_access && (
                <AccessButton
                  name={m.name}
                  disabled={m.disabled}
                  busy={v.people_busy}
                  set={(on) => dispatch({ kind: "People", value: { kind: "SetAccess", user_id: m.user_id, on } })}
                />
              )}
            </div>
            {open === m.user_id && (
              <div className="editor">
                <RolesEditor
                  member={m}
                  roles={v.roles}
                  done={() => setOpen(null)}
                  save={(roles) => dispatch({ kind: "People", value: { kind: "SetRoles", user_id: m.user_id, roles } })}
                />
              </div>
            )}
          </li>
        ))}
      </ul>
      <InvitationList
        invitations={v.invitations}
        busy={v.people_busy}
        cancel={(id) => dispatch({ kind: "People", value: { kind: "CancelInvitation", id } })}
      />
    </section>
  );
}

/** Invitations not accepted yet: who, what accepting gives, until when the link works. Nothing
 * here says whether the e-mail already has an account (only the invited person learns that). */
export function InvitationList(props: { invitations: InvitationRow[]; busy: boolean; cancel: (id: string) => void }) {
  if (props.invitations.length === 0) return null;
  return (
    <>
      <h3 className="subhead">Invited, not accepted yet</h3>
      <ul className="settings-list" aria-label="Open invitations">
        {props.invitations.map((i) => (
          <li key={i.id}>
            <div className="settings-row">
              <div className="settings-main">
                {i.name} <span className="muted">{i.email}</span>
                <div className="small">
                  <span className="tag">{i.grants}</span>
                  <span className={i.expired ? "tag tag-warn" : "muted"}>{i.until}</span>
                </div>
              </div>
              <button type="button" className="button-quiet danger" disabled={props.busy} onClick={() => props.cancel(i.id)}>
                Cancel the invitation of {i.name}
              </button>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}

/** Turns a person's access off (every session of theirs ends at once) or on again. */
export function AccessButton(props: { name: string; disabled: boolean; busy: boolean; set: (on: boolean) => void }) {
  return props.disabled ? (
    <button type="button" className="button-quiet" disabled={props.busy} onClick={() => props.set(true)}>
      Turn on access for {props.name}
    </button>
  ) : (
    <button type="button" className="button-quiet danger" disabled={props.busy} onClick={() => props.set(false)}>
      Turn off access for {props.name}
    </button>
  );
}

/** What an action that needs the server is doing: saving, refused, or done (with the link of an
 * invitation to hand over). */
export function ActionStatus(props: { busy: boolean; error: string | null; done: string | null; link: string | null }) {
  return (
    <>
      {props.busy && (
        <p className="processing" role="status">
          <span className="spinner" aria-hidden="true" /> Saving…
        </p>
      )}
      {props.error && (
        <p className="form-error" role="alert">
          {props.error}
        </p>
      )}
      {props.done && (
        <div className="done" role="status">
          <p>{props.done}</p>
          {props.link && <InviteLink link={props.link} />}
        </div>
      )}
    </>
  );
}

export function InviteLink({ link }: { link: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="invite-link">
      <label className="field">
        <span>Invitation link</span>
        <input readOnly value={link} onFocus={(e) => e.target.select()} />
      </label>
      <button
        type="button"
        className="button"
        onClick={() => {
          void navigator.clipboard?.writeText(link).then(() => setCopied(true));
        }}
      >
        {copied ? "Copied" : "Copy link"}
      </button>
    </div>
  );
}

export function RoleChecks(props: { roles: Choice[]; value: string[]; onChange: (v: string[]) => void; legend: string }) {
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      <div className="checks-inline">
        {props.roles.map((r) => (
          <Check
            key={r.id}
            label={r.label}
            checked={props.value.includes(r.id)}
            onChange={(on) => props.onChange(on ? [...props.value, r.id] : props.value.filter((x) => x !== r.id))}
          />
        ))}
      </div>
    </fieldset>
  );
}

function InviteEditor(props: {
  roles: Choice[];
  done: () => void;
  save: (email: string, name: string, roles: string[]) => void;
}) {
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [roles, setRoles] = useState<string[]>(["employee"]);
  return (
    <EditorForm
      label="Invite someone"
      onCancel={props.done}
      onSave={() => {
        props.save(email.trim(), name.trim(), roles);
        props.done();
      }}
    >
      <div className="field-pair">
        <Text label="Name" value={name} onChange={setName} required />
        <Text label="Email" value={email} onChange={setEmail} required />
      </div>
      <RoleChecks legend="Roles" roles={props.roles} value={roles} onChange={setRoles} />
    </EditorForm>
  );
}

function RolesEditor(props: { member: MemberRow; roles: Choice[]; done: () => void; save: (roles: string[]) => void }) {
  const [roles, setRoles] = useState<string[]>(props.member.roles);
  // Roles this screen cannot assign (e.g. accountant) are kept as they are.
  const fixed = props.member.roles.filter((r) => !props.roles.some((c) => c.id === r));
  return (
    <EditorForm
      label={`Roles of ${props.member.name}`}
      onCancel={props.done}
      onSave={() => {
        props.save([...new Set([...fixed, ...roles])]);
        props.done();
      }}
    >
      <RoleChecks legend={`Roles of ${props.member.name}`} roles={props.roles} value={roles} onChange={setRoles} />
    </EditorForm>
  );
}
