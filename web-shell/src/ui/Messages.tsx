import { useState } from "react";
import type { AttachmentView, ComposeView, InboxView, ThreadView } from "../generated/types/shared_types";
import { BackButton, EchoInput, MoreButton, navigate, useCore, useDispatch } from "./common";

export function InboxScreen({ view }: { view: InboxView }) {
  const dispatch = useDispatch();
  return (
    <section aria-labelledby="inbox-h">
      <div className="screen-head">
        <h1 id="inbox-h">
          Messages
          {view.unread > 0 && <span className="muted"> · {view.unread} unread</span>}
        </h1>
        {view.can_compose && (
          <button type="button" className="button-primary" onClick={() => dispatch(navigate({ kind: "Compose" }))}>
            New message
          </button>
        )}
      </div>
      {view.threads.length === 0 ? (
        <p className="empty card">No messages yet.</p>
      ) : (
        <ul className="rows" aria-label="Conversations">
          {view.threads.map((t) => (
            <li key={t.id} className={`row thread-row${t.unread > 0 ? " unread" : ""}`}>
              <button
                type="button"
                className="row-button"
                onClick={() => dispatch(navigate({ kind: "Thread", thread_id: t.id }))}
                aria-label={`${t.subject} — ${t.company}${t.unread > 0 ? `, ${t.unread} unread` : ""}`}
              >
                <span className="row-main">
                  <span className="row-title">{t.subject}</span>
                  <span className="row-meta">
                    {t.company} · {t.last_at}
                  </span>
                  <span className="preview">{t.preview}</span>
                </span>
                {t.unread > 0 && (
                  <span className="badge" aria-hidden="true">
                    {t.unread}
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
      )}
      <MoreButton more={view.more} what="conversations" />
    </section>
  );
}

export function ThreadScreen({ view }: { view: ThreadView }) {
  const dispatch = useDispatch();
  const [body, setBody] = useState("");
  return (
    <section className="thread" aria-labelledby="thread-h">
      <BackButton label="Messages" />
      <div className="screen-head">
        <h1 id="thread-h">{view.subject}</h1>
        <span className="muted">{view.company}</span>
      </div>
      <ol className="messages" aria-label="Messages">
        {view.messages.map((m) => (
          <li key={m.id} className={`message${m.mine ? " mine" : ""}`}>
            <article aria-label={`Message from ${m.author}`}>
              <header className="message-head">
                <strong>{m.author}</strong>
                <time className="muted">{m.at}</time>
                {m.queued && <span className="status status-pending">Not sent yet</span>}
              </header>
              <p className="message-body">{m.body}</p>
              {m.attachment && <AttachmentLink attachment={m.attachment} />}
              {m.reads.length > 0 && (
                <ul className="reads" aria-label="Read by">
                  {m.reads.map((r, i) => (
                    <li key={i} className={r.read_at ? "read" : "unread"}>
                      {r.read_at ? `${r.name} read it ${r.read_at}` : `${r.name} has not read it yet`}
                    </li>
                  ))}
                </ul>
              )}
            </article>
          </li>
        ))}
      </ol>
      {view.can_reply && (
        <form
          className="card reply"
          onSubmit={(e) => {
            e.preventDefault();
            dispatch({ kind: "Messages", value: { kind: "Reply", body } });
            setBody("");
          }}
        >
          <div className="field">
            <label htmlFor="reply-body">Reply</label>
            <textarea id="reply-body" rows={3} value={body} onChange={(e) => setBody(e.target.value)} />
          </div>
          <button type="submit" className="button-primary" disabled={body.trim() === ""}>
            Send reply
          </button>
        </form>
      )}
    </section>
  );
}

/** A message's file: fetched through the core (with the user's credentials) when asked for, then
 * handed to the browser as a download under its own name. */
function AttachmentLink({ attachment }: { attachment: AttachmentView }) {
  const core = useCore();
  const [state, setState] = useState<"idle" | "loading" | "failed">("idle");
  const download = async () => {
    setState("loading");
    const url = await core.loadImage(attachment.file).catch(() => null);
    if (!url) {
      setState("failed");
      return;
    }
    setState("idle");
    const link = document.createElement("a");
    link.href = url;
    link.download = attachment.file_name;
    link.click();
  };
  return (
    <p className="attachment">
      <button
        type="button"
        className="button-quiet"
        disabled={state === "loading"}
        onClick={() => void download()}
        aria-label={`Download ${attachment.file_name}, ${attachment.size}`}
      >
        {state === "loading" ? "Downloading…" : `Download ${attachment.file_name}`}
      </button>
      <span className="muted"> {attachment.size}</span>
      {state === "failed" && (
        <span className="field-error" role="alert">
          {" "}
          Could not download it. Try again when you are online.
        </span>
      )}
    </p>
  );
}

export function ComposeScreen({ view }: { view: ComposeView }) {
  const dispatch = useDispatch();
  const all = view.companies.length > 0 && view.companies.every((c) => c.selected);
  return (
    <section className="compose" aria-labelledby="compose-h">
      <BackButton label="Messages" />
      <h1 id="compose-h">New message</h1>
      <form
        className="card"
        onSubmit={(e) => {
          e.preventDefault();
          dispatch({ kind: "Messages", value: { kind: "Send" } });
        }}
      >
        <fieldset className="recipients">
          <legend>To</legend>
          <button
            type="button"
            className="button-quiet"
            disabled={all}
            onClick={() => dispatch({ kind: "Messages", value: { kind: "EditCompose", value: { kind: "AllCompanies" } } })}
          >
            All client companies
          </button>
          <ul className="checks">
            {view.companies.map((c) => (
              <li key={c.id}>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={c.selected}
                    onChange={() => dispatch({ kind: "Messages", value: { kind: "EditCompose", value: { kind: "ToggleCompany", value: c.id } } })}
                  />
                  {c.label}
                </label>
              </li>
            ))}
          </ul>
        </fieldset>
        <EchoInput
          label="Subject"
          value={view.subject}
          onChange={(v) => dispatch({ kind: "Messages", value: { kind: "EditCompose", value: { kind: "Subject", value: v } } })}
        />
        <EchoInput
          label="Message"
          multiline
          value={view.body}
          onChange={(v) => dispatch({ kind: "Messages", value: { kind: "EditCompose", value: { kind: "Body", value: v } } })}
        />
        {view.error && (
          <p className="form-error" role="alert">
            {view.error}
          </p>
        )}
        <div className="actions">
          <button type="submit" className="button-primary">
            Send
          </button>
        </div>
      </form>
    </section>
  );
}
