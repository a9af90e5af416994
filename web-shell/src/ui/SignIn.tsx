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
  // Someone new chooses a password; someone whose e-mail already has a Kvits account accepts
  // with that account's password (the server tells which, only to whoever holds the link).
  const [hasAccount, setHasAccount] = useState(false);
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const mismatch = !hasAccount && again !== "" && again !== password;
  return (
    <section className="card sign-in">
      <h1>Welcome to Kvits</h1>
      <p className="muted">You were invited. Accept the invitation to sign in.</p>
      <fieldset>
        <legend className="sr-only">Do you have a Kvits account?</legend>
        <ul className="checks">
          <li>
            <label className="check">
              <input type="radio" name="invite-mode" checked={!hasAccount} onChange={() => setHasAccount(false)} />I am new to Kvits
            </label>
          </li>
          <li>
            <label className="check">
              <input type="radio" name="invite-mode" checked={hasAccount} onChange={() => setHasAccount(true)} />I already have a
              Kvits account with this e-mail
            </label>
          </li>
        </ul>
      </fieldset>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (mismatch) return;
          dispatch({ kind: "Session", value: { kind: "AcceptInvitation", token, password } });
        }}
      >
        {hasAccount ? (
          <div className="field">
            <label htmlFor="invite-password">Your Kvits password</label>
            <input
              id="invite-password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <span className="hint">The one you sign in with. The invitation's roles are added to your account.</span>
          </div>
        ) : (
          <>
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
          </>
        )}
        {view.error && (
          <p className="form-error" role="alert">
            {view.error}
          </p>
        )}
        <button type="submit" className="button-primary" disabled={view.busy || mismatch}>
          {view.busy ? "Signing in…" : hasAccount ? "Accept and sign in" : "Set password and sign in"}
        </button>
      </form>
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
