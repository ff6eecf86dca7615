import { useState } from "react";

/** "Waive…" on a failed gate: a reason is required, then the waiver is recorded with who/when. */
export function WaiveControl({ gate, onWaive }: { gate: string; onWaive: (reason: string) => Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  if (!open) {
    return (
      <button className="small-button" data-testid={`waive-${gate}`} onClick={() => setOpen(true)}>
        Waive…
      </button>
    );
  }
  return (
    <form
      className="waive"
      onSubmit={(e) => {
        e.preventDefault();
        void onWaive(reason.trim()).then(() => setOpen(false));
      }}
    >
      <input
        data-testid={`waive-reason-${gate}`}
        placeholder="Why is this failure acceptable?"
        value={reason}
        autoFocus
        onChange={(e) => setReason(e.target.value)}
      />
      <button type="submit" data-testid={`waive-submit-${gate}`} disabled={!reason.trim()}>
        Waive
      </button>
      <button type="button" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </form>
  );
}
