import { useState } from "react";
import type { ApprovalView, ApprovalsView, TaskRow } from "../generated/types/shared_types";
import { BackButton, Decisions, MoreButton, Picture, navigate, useDispatch } from "./common";
import { PageStrip } from "./PhotoViewer";

function TaskItem({ task }: { task: TaskRow }) {
  const dispatch = useDispatch();
  const title = task.merchant || task.expense_type || "Receipt";
  return (
    <li className="row task-row">
      <button
        type="button"
        className="row-button"
        onClick={() => dispatch(navigate({ kind: "Approval", expense_id: task.id }))}
        aria-label={`${title} from ${task.submitter}, ${task.amount ?? "no amount"}, ${task.status_text}`}
      >
        <Picture image={task.thumbnail} alt="" className="thumb" />
        <span className="row-main">
          <span className="row-title">{title}</span>
          <span className="row-meta">
            {task.submitter}
            {task.expense_type && task.merchant && ` · ${task.expense_type}`}
            {task.payment_method && ` · ${task.payment_method}`}
            {task.date && ` · ${task.date}`}
          </span>
          <span className={`status status-${task.pending ? "pending" : "neutral"}`}>{task.status_text}</span>
        </span>
        <span className="row-amount">{task.amount ?? "—"}</span>
      </button>
    </li>
  );
}

export function ApprovalsScreen({ view }: { view: ApprovalsView }) {
  return (
    <section aria-labelledby="approvals-h">
      <div className="screen-head">
        <h1 id="approvals-h">Approvals</h1>
      </div>
      <section aria-labelledby="pending-h">
        <h2 id="pending-h">Waiting for you</h2>
        {view.pending.length === 0 ? (
          <p className="empty card">Nothing to approve right now.</p>
        ) : (
          <ul className="rows" aria-label="Waiting for you">
            {view.pending.map((t) => (
              <TaskItem key={t.id} task={t} />
            ))}
          </ul>
        )}
        <MoreButton more={view.more} what="tasks" />
      </section>
      {view.decided.length > 0 && (
        <section aria-labelledby="decided-h">
          <h2 id="decided-h">Recently decided</h2>
          <ul className="rows" aria-label="Recently decided">
            {view.decided.map((t) => (
              <TaskItem key={t.id} task={t} />
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}

export function ApprovalScreen({ view }: { view: ApprovalView }) {
  const dispatch = useDispatch();
  const [reason, setReason] = useState("");
  const t = view.task;
  const title = t.merchant || t.expense_type || "Receipt";
  return (
    <section className="approval" aria-labelledby="approval-h">
      <BackButton label="Approvals" />
      <div className="screen-head">
        <h1 id="approval-h">
          {title} <span className="muted">· {t.amount ?? "no amount"}</span>
        </h1>
        <span className={`status status-${t.pending ? "pending" : "neutral"}`}>{t.status_text}</span>
      </div>
      <div className="approval-layout">
        <div className="approval-photos">
          {view.pages.length === 0 ? <p className="muted card">No photo.</p> : <PageStrip pages={view.pages} />}
        </div>
        <div className="approval-side">
          <section className="card" aria-labelledby="details-h">
            <h2 id="details-h">Details</h2>
            <dl className="details">
              <dt>Submitted by</dt>
              <dd>{t.submitter}</dd>
              {t.submitted_at && (
                <>
                  <dt>Submitted</dt>
                  <dd>{t.submitted_at}</dd>
                </>
              )}
              <dt>Expense type</dt>
              <dd>{t.expense_type ?? "—"}</dd>
              <dt>Paid with</dt>
              <dd>{t.payment_method ?? "—"}</dd>
              <dt>Amount</dt>
              <dd>{t.amount ?? "—"}</dd>
              <dt>Date</dt>
              <dd>{t.date ?? "—"}</dd>
              {t.merchant && (
                <>
                  <dt>Merchant</dt>
                  <dd>{t.merchant}</dd>
                </>
              )}
              {view.note && (
                <>
                  <dt>Note</dt>
                  <dd>{view.note}</dd>
                </>
              )}
            </dl>
          </section>
          {view.can_decide && (
            <section className="card decide" aria-labelledby="decide-h">
              <h2 id="decide-h">Your decision</h2>
              <button
                type="button"
                className="button-primary approve"
                onClick={() => dispatch({ kind: "Approvals", value: { kind: "Approve", expense_id: t.id } })}
              >
                Approve
              </button>
              <form
                className="reject-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  dispatch({ kind: "Approvals", value: { kind: "Reject", expense_id: t.id, reason } });
                }}
              >
                <div className={`field${view.reject_error ? " field-invalid" : ""}`}>
                  <label htmlFor="reject-reason">Reason for rejecting</label>
                  <textarea
                    id="reject-reason"
                    rows={2}
                    value={reason}
                    aria-invalid={view.reject_error ? true : undefined}
                    aria-describedby={view.reject_error ? "reject-error" : undefined}
                    onChange={(e) => setReason(e.target.value)}
                  />
                  {view.reject_error && (
                    <span className="field-error" id="reject-error">
                      {view.reject_error}
                    </span>
                  )}
                </div>
                <button type="submit" className="button danger">
                  Reject
                </button>
              </form>
            </section>
          )}
          <Decisions decisions={view.decisions} />
        </div>
      </div>
    </section>
  );
}
