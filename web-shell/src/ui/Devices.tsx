// The signed-in person's devices: each session with where and when it was last used, and a
// way to sign any of them out (a lost phone, a shared computer). Asked of the server directly,
// with the path the view model names: it needs the network.

import { useCallback, useEffect, useState } from "react";
import { Outcome, refusal, useCore } from "./common";

/** One signed-in device, as the server lists it (kvits_protocol::SignedInDevice). */
interface SignedInDevice {
  id: string;
  device_name?: string;
  signed_in_at: string;
  last_used_at: string;
  expires_at: string;
  current: boolean;
}

function day(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export function Devices({ path, close }: { path: string; close: () => void }) {
  const core = useCore();
  const [devices, setDevices] = useState<SignedInDevice[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const r = await core.request(path);
      if (!r.ok) {
        setError(await refusal(r));
        return;
      }
      setDevices((await r.json()) as SignedInDevice[]);
      setError(null);
    } catch {
      setError("Your devices can be listed only online.");
    }
  }, [core, path]);
  useEffect(() => {
    void load();
  }, [load]);
  const end = async (d: SignedInDevice) => {
    setDone(null);
    try {
      const r = await core.request(`${path}/${encodeURIComponent(d.id)}`, { method: "DELETE" });
      if (!r.ok && r.status !== 404) {
        setError(await refusal(r));
        return;
      }
      setDone(`${d.device_name ?? "That device"} is signed out.`);
      await load();
    } catch {
      setError("A device can be signed out only online.");
    }
  };
  return (
    <section className="card devices" role="dialog" aria-labelledby="devices-h">
      <div className="screen-head">
        <h2 id="devices-h">Your devices</h2>
        <button type="button" className="button-quiet" onClick={close}>
          Close
        </button>
      </div>
      <p className="muted small">
        Where you are signed in. A device unused for 30 days signs out by itself; sign out one you no longer have.
      </p>
      {devices === null && !error && <p className="muted">Loading…</p>}
      {devices && (
        <ul className="rows" aria-label="Signed-in devices">
          {devices.map((d) => (
            <li key={d.id} className="row" aria-label={d.device_name ?? "A device"}>
              <div>
                <strong>{d.device_name ?? "A device"}</strong>
                {d.current && (
                  <>
                    {" "}
                    <span className="tag">This device</span>
                  </>
                )}
                <p className="muted small">
                  Signed in {day(d.signed_in_at)} · last used {day(d.last_used_at)}
                </p>
              </div>
              {!d.current && (
                <div className="actions">
                  <button type="button" className="button" onClick={() => void end(d)}>
                    Sign out this device
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      <Outcome error={error} done={done} />
    </section>
  );
}
