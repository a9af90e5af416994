import type { VatEdit, VatLinesView } from "../generated/types/shared_types";
import { EchoInput } from "./common";

/**
 * A form's VAT lines, one per rate. A line with a rate and no amounts takes the rest of the
 * receipt's amount, split by its rate (the core does the sum).
 */
export function VatLines(props: {
  view: VatLinesView;
  /** The receipt's amount, shown beside the lines' total. */
  amount?: string | null;
  err: (field: string) => string | null;
  onEdit: (edit: VatEdit) => void;
}) {
  const { view, err, onEdit } = props;
  const whole = err("vat");
  return (
    <fieldset className="vat-lines">
      <legend>VAT ({view.currency})</legend>
      {view.lines.map((line, i) => (
        <div className="vat-line field-pair" key={i} role="group" aria-label={`VAT line ${i + 1}`}>
          <EchoInput
            label="Rate %"
            inputMode="decimal"
            value={line.rate}
            error={err(`vat.${i}.rate`)}
            onChange={(v) => onEdit({ kind: "Rate", line: i, value: v })}
          />
          <EchoInput
            label="Net"
            inputMode="decimal"
            value={line.net}
            placeholder="from the rate"
            error={err(`vat.${i}.net`)}
            onChange={(v) => onEdit({ kind: "Net", line: i, value: v })}
          />
          <EchoInput
            label="VAT"
            inputMode="decimal"
            value={line.vat}
            placeholder="from the rate"
            error={err(`vat.${i}.vat`)}
            onChange={(v) => onEdit({ kind: "Amount", line: i, value: v })}
          />
          <button type="button" className="button-quiet danger" onClick={() => onEdit({ kind: "Remove", line: i })}>
            Remove line {i + 1}
          </button>
        </div>
      ))}
      {view.total && (
        <p className="muted small">
          Lines add up to {view.total}
          {props.amount ? `; the receipt is ${props.amount}` : ""}
        </p>
      )}
      {whole && (
        <p className="form-error" role="alert">
          {whole}
        </p>
      )}
      {view.can_add && (
        <button type="button" className="button" onClick={() => onEdit({ kind: "Add" })}>
          Add VAT rate
        </button>
      )}
    </fieldset>
  );
}
