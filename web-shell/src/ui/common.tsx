// Small building blocks the screens share: the core handle in context, images loaded through the
// core, text fields that keep the caret while the core echoes each keystroke, pickers.

import { createContext, useContext, useEffect, useId, useRef, useState } from "react";
import type { ReactNode } from "react";
import type { CoreHandle } from "../core/api";
import type { Choice, Event, ImageRef, Route } from "../generated/types/shared_types";

export const CoreContext = createContext<CoreHandle | null>(null);

export function useCore(): CoreHandle {
  const core = useContext(CoreContext);
  if (!core) throw new Error("useCore outside <App>");
  return core;
}

/** A function that sends one event to the core. */
export function useDispatch(): (event: Event) => void {
  const core = useCore();
  return (event) => core.dispatch(event);
}

export function navigate(route: Route): Event {
  return { kind: "Navigate", value: route };
}

/** An object URL for an image ref, or null while loading / when the image is not available. */
export function useImage(ref: ImageRef | null | undefined): string | null {
  const core = useCore();
  const [url, setUrl] = useState<string | null>(null);
  const key = ref ? `${ref.file_ref ?? ""}|${ref.url ?? ""}` : "";
  useEffect(() => {
    let live = true;
    setUrl(null);
    if (!ref || (!ref.file_ref && !ref.url)) return;
    core.loadImage(ref).then(
      (u) => {
        if (live) setUrl(u);
      },
      () => {
        if (live) setUrl(null);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [core, key]);
  return url;
}

/** A receipt image; a calm placeholder while it loads or when it is not on this device. */
export function Picture(props: {
  image: ImageRef | null | undefined;
  alt: string;
  className?: string;
  onClick?: () => void;
}) {
  const url = useImage(props.image);
  const cls = `picture ${props.className ?? ""}`;
  if (!url) {
    return (
      <span className={`${cls} picture-empty`} role="img" aria-label={props.alt}>
        <svg viewBox="0 0 24 24" aria-hidden="true" width="24" height="24">
          <path
            d="M6 2h9l5 5v15H6z M15 2v5h5 M9 12h8 M9 15h8 M9 18h5"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.5"
          />
        </svg>
      </span>
    );
  }
  if (props.onClick) {
    return (
      <button type="button" className="picture-button" onClick={props.onClick}>
        <img className={cls} src={url} alt={props.alt} />
      </button>
    );
  }
  return <img className={cls} src={url} alt={props.alt} />;
}

/**
 * Local text state for an input whose value the core also owns. Each change goes to the core
 * at once; the core's value replaces the local one only when it differs from what was typed
 * (e.g. the form was reset), so the caret never jumps.
 */
export function useEcho(value: string, send: (v: string) => void): [string, (v: string) => void] {
  const [local, setLocal] = useState(value);
  const sent = useRef(value);
  useEffect(() => {
    if (value !== sent.current) {
      sent.current = value;
      setLocal(value);
    }
  }, [value]);
  const change = (v: string) => {
    sent.current = v;
    setLocal(v);
    send(v);
  };
  return [local, change];
}

export function Field(props: {
  label: string;
  error?: string | null;
  hint?: string;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  const described = [props.error ? errId : null, props.hint ? hintId : null].filter(Boolean).join(" ");
  return (
    <div className={`field${props.error ? " field-invalid" : ""}`}>
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, described || undefined)}
      {props.hint && (
        <span className="hint" id={hintId}>
          {props.hint}
        </span>
      )}
      {props.error && (
        <span className="field-error" id={errId}>
          {props.error}
        </span>
      )}
    </div>
  );
}

/** A text input echoed through the core. */
export function EchoInput(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string | null;
  type?: string;
  inputMode?: "decimal" | "text" | "numeric";
  disabled?: boolean;
  placeholder?: string;
  autoComplete?: string;
  multiline?: boolean;
  maxLength?: number;
}) {
  const [text, setText] = useEcho(props.value, props.onChange);
  return (
    <Field label={props.label} error={props.error}>
      {(id, described) =>
        props.multiline ? (
          <textarea
            id={id}
            value={text}
            disabled={props.disabled}
            aria-invalid={props.error ? true : undefined}
            aria-describedby={described}
            placeholder={props.placeholder}
            rows={3}
            onChange={(e) => setText(e.target.value)}
          />
        ) : (
          <input
            id={id}
            type={props.type ?? "text"}
            inputMode={props.inputMode}
            value={text}
            disabled={props.disabled}
            aria-invalid={props.error ? true : undefined}
            aria-describedby={described}
            placeholder={props.placeholder}
            autoComplete={props.autoComplete}
            maxLength={props.maxLength}
            onChange={(e) => setText(e.target.value)}
          />
        )
      }
    </Field>
  );
}

/** A `<select>` of choices, grouped by each choice's `detail`. */
export function ChoiceSelect(props: {
  label: string;
  choices: Choice[];
  placeholder: string;
  onChange: (id: string | null) => void;
  error?: string | null;
  disabled?: boolean;
  /** Group by detail (cards) or show detail after the label (expense type codes). */
  detail: "group" | "suffix";
}) {
  const selected = props.choices.find((c) => c.selected)?.id ?? "";
  const options = (cs: Choice[]) =>
    cs.map((c) => (
      <option key={c.id} value={c.id}>
        {props.detail === "suffix" && c.detail ? `${c.label} (${c.detail})` : c.label}
      </option>
    ));
  let body: ReactNode;
  if (props.detail === "group") {
    const plain = props.choices.filter((c) => !c.detail);
    const groups = new Map<string, Choice[]>();
    for (const c of props.choices) {
      if (!c.detail) continue;
      const g = groups.get(c.detail) ?? [];
      g.push(c);
      groups.set(c.detail, g);
    }
    body = (
      <>
        {[...groups.entries()].map(([name, cs]) => (
          <optgroup key={name} label={name}>
            {options(cs)}
          </optgroup>
        ))}
        {options(plain)}
      </>
    );
  } else {
    body = options(props.choices);
  }
  return (
    <Field label={props.label} error={props.error}>
      {(id, described) => (
        <select
          id={id}
          value={selected}
          disabled={props.disabled}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={described}
          onChange={(e) => props.onChange(e.target.value || null)}
        >
          <option value="">{props.placeholder}</option>
          {body}
        </select>
      )}
    </Field>
  );
}

export function MoreButton(props: { more: number; what: string }) {
  const dispatch = useDispatch();
  if (props.more <= 0) return null;
  return (
    <button type="button" className="button-quiet more" onClick={() => dispatch({ kind: "ShowMore" })}>
      Show {props.more} more {props.what}
    </button>
  );
}

export function Decisions(props: { decisions: { text: string; reason: string | null }[] }) {
  if (props.decisions.length === 0) return null;
  return (
    <section className="card" aria-labelledby="decisions-h">
      <h2 id="decisions-h">Decisions</h2>
      <ol className="decisions">
        {props.decisions.map((d, i) => (
          <li key={i}>
            <span>{d.text}</span>
            {d.reason && <q className="reason">{d.reason}</q>}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function BackButton(props: { label?: string }) {
  const dispatch = useDispatch();
  return (
    <button type="button" className="button-quiet back" onClick={() => dispatch({ kind: "Back" })}>
      <span aria-hidden="true">←</span> {props.label ?? "Back"}
    </button>
  );
}

/** What a refused request to the server says, for the person: its message, or its status. */
export async function refusal(r: Response): Promise<string> {
  const body = (await r.json().catch(() => null)) as { message?: string } | null;
  return body?.message ?? `The server answered ${r.status}.`;
}

/** The outcome of an action done straight with the server: an error, or what was done. */
export function Outcome(props: { error: string | null; done?: string | null }) {
  return (
    <>
      {props.error && (
        <p className="form-error" role="alert">
          {props.error}
        </p>
      )}
      {props.done && (
        <p className="done" role="status">
          {props.done}
        </p>
      )}
    </>
  );
}
