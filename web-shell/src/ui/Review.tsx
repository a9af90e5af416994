import type {
  AnswerView,
  HistoryView,
  ReviewField,
  ReviewView,
} from "../generated/types/shared_types";
import { ChoiceSelect, EchoInput, useDispatch } from "./common";
import { VatLines } from "./Vat";

function useReview() {
  const dispatch = useDispatch();
  return {
    edit: (field: ReviewField) => dispatch({ kind: "Review", value: { kind: "Edit", value: field } }),
    send: (kind: "SaveCorrection" | "SendBack" | "MarkReviewed" | "SendAnswer" | "Unlock") =>
      dispatch({ kind: "Review", value: { kind } }),
    answer: (text: string) => dispatch({ kind: "Review", value: { kind: "EditAnswer", value: text } }),
  };
}

/** The accounting firm's review of an approved receipt: correct, ask, mark reviewed. */
export function ReviewPanel({ view }: { view: ReviewView }) {
  const { edit, send } = useReview();
  const err = (field: string) => view.errors.find((e) => e.field === field)?.message ?? null;
  const refused = err("review");
  return (
    <section className="card review" aria-labelledby="review-h">
      <h2 id="review-h">Review</h2>
      {view.reviewed && <p className="status status-ok">Reviewed: ready for export.</p>}
      {view.exported && (
        <p className={`status ${view.exported.changed ? "status-warn" : "status-ok"}`}>
          {view.exported.text}
          {view.exported.can_unlock && (
            <>
              {" "}
              <button type="button" className="button" onClick={() => send("Unlock")}>
                Unlock to correct
              </button>
            </>
          )}
        </p>
      )}
      {refused && (
        <p className="form-error" role="alert">
          {refused}
        </p>
      )}
      {!view.exported?.locked && (
      <form
        aria-label="Correction"
        onSubmit={(e) => {
          e.preventDefault();
          send("SaveCorrection");
        }}
      >
        <ChoiceSelect
          label="Expense type (booked as)"
          placeholder="Choose an expense type"
          choices={view.expense_types}
          detail="suffix"
          error={err("expense_type")}
          onChange={(id) => id && edit({ kind: "ExpenseType", value: id })}
        />
        <EchoInput
          label="Account"
          value={view.account_code}
          placeholder={view.type_account_code ?? ""}
          error={err("account_code")}
          onChange={(v) => edit({ kind: "AccountCode", value: v })}
        />
        <VatLines
          view={view.vat}
          amount={view.amount}
          err={err}
          onEdit={(v) => edit({ kind: "Vat", value: v })}
        />
        <div className="actions">
          <button type="submit" className="button">
            Save correction
          </button>
          {!view.reviewed && !view.exported && (
            <button type="button" className="button-primary" onClick={() => send("MarkReviewed")}>
              Mark reviewed
            </button>
          )}
        </div>
      </form>
      )}
      {!view.exported && (
      <form
        aria-label="Return with a question"
        onSubmit={(e) => {
          e.preventDefault();
          send("SendBack");
        }}
      >
        <EchoInput
          label="Question for the employee"
          multiline
          value={view.question}
          error={err("question")}
          onChange={(v) => edit({ kind: "Question", value: v })}
        />
        <div className="actions">
          <button type="submit" className="button">
            Return with question
          </button>
        </div>
      </form>
      )}
    </section>
  );
}

/** The employee's side: the question the receipt came back with, and the answer. */
export function AnswerPanel({ view }: { view: AnswerView }) {
  const { send, answer } = useReview();
  const err = (field: string) => view.errors.find((e) => e.field === field)?.message ?? null;
  return (
    <section className="card answer" aria-labelledby="answer-h">
      <h2 id="answer-h">Question from {view.asked_by}</h2>
      <q className="reason">{view.question}</q>
      {view.sent ? (
        <p>
          Your answer: <q>{view.sent}</q>
        </p>
      ) : (
        <form
          aria-label="Answer"
          onSubmit={(e) => {
            e.preventDefault();
            send("SendAnswer");
          }}
        >
          <EchoInput
            label="Your answer"
            multiline
            value={view.answer}
            error={err("answer") ?? err("review")}
            onChange={answer}
          />
          <div className="actions">
            <button type="submit" className="button">
              Send answer
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

/** Every change to the document, newest first. */
export function History({ entries }: { entries: HistoryView[] }) {
  if (entries.length === 0) return null;
  return (
    <section className="card" aria-labelledby="history-h">
      <h2 id="history-h">History</h2>
      <ol className="history">
        {entries.map((h, i) => (
          <li key={i}>
            <span>{h.text}</span> <span className="muted small">{h.at}</span>
            {h.note && <q className="reason">{h.note}</q>}
            {h.changes.length > 0 && (
              <ul className="changes">
                {h.changes.map((c, j) => (
                  <li key={j}>{c}</li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
