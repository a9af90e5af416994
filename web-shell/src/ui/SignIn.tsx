import { useState } from "react";
import type { SignInView } from "../generated/types/shared_types";
import { useDispatch } from "./common";

/** The token of an invitation link (`/invite/<token>`), when the page was opened from one. */
function invitationToken(): string | null {
  const m = /^\/invite\/([^/?#]+)/.exec(window.location.pathname);
  return m ? decodeURIComponent(m[1]) : null;
}

export function SignInScreen({ view }: { view: SignInView }) {
  const token = invitationToken();
  return token ? <AcceptInvitation view={view} token={token} /> : <SignInForm view={view} />;
}

function AcceptInvitation({ view, token }: { view: SignInView; token: string }) {
  const dispatch = useDispatch();
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const mismatch = again !== "" && again !== password;
  return (
    <section className="card sign-in">
      <h1>Welcome to Kvits</h1>
      <p className="muted">You were invited. Choose a password to finish.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (mismatch) return;
          dispatch({ kind: "Session", value: { kind: "AcceptInvitation", token, password } });
        }}
      >
        <div className="field">
          <label htmlFor="invite-password">New password</label>
          <input
            id="invite-password"
            type="password"
            autoComplete="new-password"
            required
            minLength={12}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <span className="hint">At least 12 characters, and not easy to guess: a few words only you would put together.</span>
        </div>
        <div className={`field${mismatch ? " field-invalid" : ""}`}>
          <label htmlFor="invite-password-again">Password again</label>
          <input
            id="invite-password-again"
            type="password"
            autoComplete="new-password"
            required
            value={again}
            aria-invalid={mismatch || undefined}
            onChange={(e) => setAgain(e.target.value)}
          />
          {mismatch && <span className="field-error">The two passwords differ.</span>}
        </div>
        {view.error && (
          <p className="form-error" role="alert">
            {view.error}
          </p>
        )}
        <button type="submit" className="button-primary" disabled={view.busy || mismatch}>
          {view.busy ? "Setting up…" : "Set password and sign in"}
        </button>
      </form>
      <p className="muted small">
        Already have a password? <a href="/">Sign in</a>
      </p>
    </section>
  );
}

function SignInForm({ view }: { view: SignInView }) {
  const dispatch = useDispatch();
  const [email, setEmail] = useState(view.email);
  const [password, setPassword] = useState("");
  return (
    <section className="card sign-in">
      <h1>Sign in to Kvits</h1>
      <p className="muted">Receipts, approvals and messages from your accounting firm.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          dispatch({ kind: "Session", value: { kind: "SignIn", email: email.trim(), password } });
        }}
        aria-describedby={view.error ? "sign-in-error" : undefined}
      >
        <div className="field">
          <label htmlFor="sign-in-email">Email</label>
          <input
            id="sign-in-email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="sign-in-password">Password</label>
          <input
            id="sign-in-password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        {view.error && (
          <p className="form-error" id="sign-in-error" role="alert">
            {view.error}
          </p>
        )}
        <button type="submit" className="button-primary" disabled={view.busy}>
          {view.busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </section>
  );
}
