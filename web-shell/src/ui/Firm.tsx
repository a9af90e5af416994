// The firm's console, for firm admins: client companies (add, edit, pause), the staff (invite,
// role, assigned clients) and whether accountants see only their assigned clients. Every
// action needs the network; the core says so, and what it did, in the view.

import { useState } from "react";
import { CompanyInput, StaffInput } from "../generated/types/shared_types";
import type { Choice, ClientRow, FirmView, StaffRow } from "../generated/types/shared_types";
import { AccessButton, ActionStatus, Check, EditorForm, InvitationList, RoleChecks, Text } from "./Catalog";
import { ChoiceSelect, useDispatch } from "./common";

export function FirmScreen({ view }: { view: FirmView }) {
  const dispatch = useDispatch();
  return (
    <section className="catalog" aria-labelledby="firm-h" aria-busy={view.busy || undefined}>
      <div className="screen-head">
        <h1 id="firm-h">
          Firm <span className="muted">· {view.name}</span>
        </h1>
        <button type="button" className="button-quiet" onClick={() => dispatch({ kind: "Firm", value: { kind: "Refresh" } })}>
          Refresh
        </button>
      </div>
      <ActionStatus busy={view.busy} error={view.error} done={view.done} link={view.link} />
      <Clients view={view} />
      <Staff view={view} />
    </section>
  );
}

function Clients({ view }: { view: FirmView }) {
  const dispatch = useDispatch();
  const [open, setOpen] = useState<string | null>(null);
  const save = (input: CompanyInput) => dispatch({ kind: "Firm", value: { kind: "SaveCompany", value: input } });
  return (
    <section className="card settings" aria-labelledby="clients-h">
      <div className="section-head">
        <h2 id="clients-h">Client companies</h2>
        <button type="button" className="button" onClick={() => setOpen("new")} disabled={open === "new"}>
          Add client company
        </button>
      </div>
      {open === "new" && (
        <div className="editor">
          <CompanyEditor row={null} countries={view.countries} done={() => setOpen(null)} save={save} />
        </div>
      )}
      <ul className="settings-list">
        {view.clients.map((c) => (
          <li key={c.id}>
            <div className="settings-row">
              <div className="settings-main">
                {c.name} <span className="muted">{c.base_currency}</span>
                {!c.active && <span className="tag">Paused</span>}
                <div className="small muted">
                  {[c.country_name, c.registration_number && `Reg. no. ${c.registration_number}`, c.vat_number && `VAT ${c.vat_number}`, c.time_zone]
                    .filter(Boolean)
                    .join(" · ")}
                </div>
                <div className="small">
                  {c.staff} · {c.members} {c.members === 1 ? "person" : "people"}
                </div>
              </div>
              {open !== c.id && (
                <button type="button" className="button-quiet" onClick={() => setOpen(c.id)}>
                  Edit {c.name}
                </button>
              )}
            </div>
            {open === c.id && (
              <div className="editor">
                <CompanyEditor row={c} countries={view.countries} done={() => setOpen(null)} save={save} />
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function CompanyEditor(props: { row: ClientRow | null; countries: Choice[]; done: () => void; save: (v: CompanyInput) => void }) {
  const r = props.row;
  const [name, setName] = useState(r?.name ?? "");
  const [currency, setCurrency] = useState(r?.base_currency ?? "EUR");
  const [regNo, setRegNo] = useState(r?.registration_number ?? "");
  const [vatNo, setVatNo] = useState(r?.vat_number ?? "");
  const [country, setCountry] = useState(r?.country ?? "");
  const [timeZone, setTimeZone] = useState(r?.time_zone ?? "");
  const [active, setActive] = useState(r?.active ?? true);
  const [selfApproval, setSelfApproval] = useState(r?.allow_self_approval ?? false);
  return (
    <EditorForm
      label={r ? `Edit client company ${r.name}` : "New client company"}
      onCancel={props.done}
      onSave={() => {
        props.save(new CompanyInput(r?.id ?? null, name, currency, regNo, vatNo, country, timeZone, active, selfApproval));
        props.done();
      }}
    >
      <div className="field-pair">
        <Text label="Name" value={name} onChange={setName} required />
        <Text label="Base currency" value={currency} onChange={setCurrency} required />
      </div>
      <div className="field-pair">
        <Text label="Registration number" value={regNo} onChange={setRegNo} />
        <Text label="VAT number" value={vatNo} onChange={setVatNo} />
      </div>
      <div className="field-pair">
        <label className="field">
          <span>Country</span>
          <select value={country} onChange={(e) => setCountry(e.target.value)}>
            <option value="">—</option>
            {props.countries.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <Text label="Time zone" value={timeZone} onChange={setTimeZone} />
      </div>
      <Check label="Active (its people can sign in and sync)" checked={active} onChange={setActive} />
      <Check
        label="People may approve their own expenses when a rule names only them (a one-person company)"
        checked={selfApproval}
        onChange={setSelfApproval}
      />
    </EditorForm>
  );
}

function Staff({ view }: { view: FirmView }) {
  const dispatch = useDispatch();
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section className="card settings" aria-labelledby="staff-h">
      <div className="section-head">
        <h2 id="staff-h">Staff</h2>
        <button type="button" className="button" onClick={() => setOpen("new")} disabled={open === "new"}>
          Invite a colleague
        </button>
      </div>
      <Check
        label="Accountants see only the clients assigned to them"
        checked={view.assigned_clients_only}
        onChange={(on) => dispatch({ kind: "Firm", value: { kind: "SetAssignedClientsOnly", assigned_clients_only: on } })}
      />
      <JournalFormat view={view} />
      {open === "new" && (
        <div className="editor">
          <StaffEditor
            row={null}
            clients={view.client_choices}
            done={() => setOpen(null)}
            save={(email, name, firmAdmin, assigned) =>
              dispatch({ kind: "Firm", value: { kind: "InviteStaff", value: new StaffInput(email, name, firmAdmin, assigned) } })
            }
          />
        </div>
      )}
      {!view.loaded && !view.error && <p className="muted">Loading the staff…</p>}
      <ul className="settings-list">
        {view.staff.map((s) => (
          <li key={s.user_id}>
            <div className="settings-row">
              <div className="settings-main">
                {s.name} <span className="muted">{s.email}</span>
                <div className="small">
                  <span className="tag">{s.role}</span> {s.disabled && <span className="tag tag-warn">Access off</span>}{" "}
                  {s.assigned_text}
                </div>
              </div>
              {open !== s.user_id && (
                <button type="button" className="button-quiet" onClick={() => setOpen(s.user_id)}>
                  Change {s.name}
                </button>
              )}
              {s.can_set_access && (
                <AccessButton
                  name={s.name}
                  disabled={s.disabled}
                  busy={view.busy}
                  set={(on) => dispatch({ kind: "Firm", value: { kind: "SetStaffAccess", user_id: s.user_id, on } })}
                />
              )}
            </div>
            {open === s.user_id && (
              <div className="editor">
                <StaffEditor
                  row={s}
                  clients={s.assigned}
                  done={() => setOpen(null)}
                  save={(_email, _name, firmAdmin, assigned) =>
                    dispatch({ kind: "Firm", value: { kind: "SetStaff", user_id: s.user_id, firm_admin: firmAdmin, assigned } })
                  }
                />
              </div>
            )}
          </li>
        ))}
      </ul>
      <InvitationList
        invitations={view.invitations}
        busy={view.busy}
        cancel={(id) => dispatch({ kind: "Firm", value: { kind: "CancelStaffInvitation", id } })}
      />
    </section>
  );
}

function StaffEditor(props: {
  row: StaffRow | null;
  clients: Choice[];
  done: () => void;
  save: (email: string, name: string, firmAdmin: boolean, assigned: string[]) => void;
}) {
  const r = props.row;
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [firmAdmin, setFirmAdmin] = useState(r?.firm_admin ?? false);
  const [assigned, setAssigned] = useState<string[]>(props.clients.filter((c) => c.selected).map((c) => c.id));
  return (
    <EditorForm
      label={r ? `Change ${r.name}` : "Invite a colleague"}
      onCancel={props.done}
      onSave={() => {
        props.save(email.trim(), name.trim(), firmAdmin, assigned);
        props.done();
      }}
    >
      {!r && (
        <div className="field-pair">
          <Text label="Name" value={name} onChange={setName} required />
          <Text label="Email" value={email} onChange={setEmail} required />
        </div>
      )}
      <Check label="Firm admin (manages staff and clients, sees every client)" checked={firmAdmin} onChange={setFirmAdmin} />
      <RoleChecks legend="Assigned clients" roles={props.clients} value={assigned} onChange={setAssigned} />
    </EditorForm>
  );
}

/** The export journal's separator and decimal mark, for the firm's spreadsheets. */
function JournalFormat({ view }: { view: FirmView }) {
  const dispatch = useDispatch();
  const chosen = (choices: { id: string; selected: boolean }[]) => choices.find((c) => c.selected)?.id ?? "";
  const save = (separator: string, decimal_mark: string) =>
    dispatch({ kind: "Firm", value: { kind: "SetJournalFormat", separator, decimal_mark } });
  return (
    <div className="field-pair" role="group" aria-label="Export journal">
      <ChoiceSelect
        label="Journal separator"
        placeholder="Choose a separator"
        choices={view.journal_separators}
        detail="suffix"
        onChange={(id) => id && save(id, chosen(view.decimal_marks))}
      />
      <ChoiceSelect
        label="Decimal mark"
        placeholder="Choose a decimal mark"
        choices={view.decimal_marks}
        detail="suffix"
        onChange={(id) => id && save(chosen(view.journal_separators), id)}
      />
    </div>
  );
}
