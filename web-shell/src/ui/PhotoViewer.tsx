// A full-window viewer for a receipt's pages: large image, click to zoom, arrows between pages.

import { useEffect, useRef, useState } from "react";
import type { PageView } from "../generated/types/shared_types";
import { useImage } from "./common";

export function PhotoViewer(props: {
  pages: PageView[];
  index: number;
  onIndex: (i: number) => void;
  onClose: () => void;
}) {
  const { pages, index, onIndex, onClose } = props;
  const page = pages[index];
  const url = useImage(page.image);
  const [zoom, setZoom] = useState(false);
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    setZoom(false);
  }, [index]);
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    close.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
      if (e.key === "ArrowRight" && index < pages.length - 1) onIndex(index + 1);
      if (e.key === "ArrowLeft" && index > 0) onIndex(index - 1);
    };
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      previous?.focus?.();
    };
  }, [index, pages.length, onClose, onIndex]);
  return (
    <div className="viewer" role="dialog" aria-modal="true" aria-label={`Page ${index + 1} of ${pages.length}`}>
      <div className="viewer-bar">
        <span>
          Page {index + 1} of {pages.length}
        </span>
        <span className="spacer" />
        <button type="button" className="button-quiet" onClick={() => setZoom((z) => !z)} aria-pressed={zoom}>
          {zoom ? "Fit to screen" : "Zoom in"}
        </button>
        {pages.length > 1 && (
          <>
            <button type="button" className="button-quiet" disabled={index === 0} onClick={() => onIndex(index - 1)}>
              Previous page
            </button>
            <button
              type="button"
              className="button-quiet"
              disabled={index === pages.length - 1}
              onClick={() => onIndex(index + 1)}
            >
              Next page
            </button>
          </>
        )}
        <button ref={close} type="button" className="button-quiet" onClick={onClose}>
          Close
        </button>
      </div>
      <div className={`viewer-stage${zoom ? " viewer-zoomed" : ""}`}>
        {url ? (
          <img
            src={url}
            alt={`Receipt page ${index + 1}, full size`}
            onClick={() => setZoom((z) => !z)}
            className="viewer-image"
          />
        ) : (
          <p className="muted" role="status">
            Loading the photo… (it needs the network if it is not on this device)
          </p>
        )}
      </div>
    </div>
  );
}

/** The pages of a receipt shown large, in a column; click one to open it in the viewer. */
export function PageStrip(props: { pages: PageView[] }) {
  const [viewing, setViewing] = useState<number | null>(null);
  return (
    <>
      <ul className="page-strip" aria-label="Receipt pages">
        {props.pages.map((p, i) => (
          <li key={p.sha256}>
            <LargePage page={p} n={i + 1} onOpen={() => setViewing(i)} />
          </li>
        ))}
      </ul>
      {viewing !== null && props.pages[viewing] && (
        <PhotoViewer pages={props.pages} index={viewing} onIndex={setViewing} onClose={() => setViewing(null)} />
      )}
    </>
  );
}

function LargePage(props: { page: PageView; n: number; onOpen: () => void }) {
  const url = useImage(props.page.image);
  const thumb = useImage(url ? null : props.page.thumbnail);
  const src = url ?? thumb;
  return (
    <button type="button" className="large-page" onClick={props.onOpen} aria-label={`Open page ${props.n} large`}>
      {src ? (
        <img src={src} alt={`Receipt page ${props.n}`} />
      ) : (
        <span className="picture-empty large-empty">Loading page {props.n}…</span>
      )}
    </button>
  );
}
