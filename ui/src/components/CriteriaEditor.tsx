import { useEffect, useState } from "react";
import * as backend from "../backend";
import { toApiError } from "../backend";
import type { ApiError } from "../bindings/ApiError";
import type { CriteriaChange } from "../bindings/CriteriaChange";
import type { QualityCriteria } from "../bindings/QualityCriteria";

/** The seed's "adjust the quality criteria": criteria, their guidance and the threshold edited
 *  in place, written to chain.yaml with a required reason (audited). */
export function CriteriaEditor({
  root,
  chain,
  onSaved,
}: {
  root: string;
  chain: string;
  onSaved: (change: CriteriaChange) => void;
}) {
  const [saved, setSaved] = useState<QualityCriteria | null>(null);
  const [draft, setDraft] = useState<QualityCriteria | null>(null);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState(false);

  useEffect(() => {
    if (!open) return;
    let live = true;
    backend.qualityCriteria(root, chain).then(
      (c) => {
        if (!live) return;
        setSaved(c);
        setDraft(c);
      },
      (e) => live && setError(toApiError(e)),
    );
    return () => {
      live = false;
    };
  }, [root, chain, open]);

  if (!open) {
    return (
      <button data-testid="adjust-criteria" onClick={() => setOpen(true)}>
        Adjust the criteria…
      </button>
    );
  }
  const changed = JSON.stringify(draft) !== JSON.stringify(saved);
  const setCriterion = (i: number, patch: Partial<{ name: string; guidance: string | null }>) =>
    draft && setDraft({ ...draft, criteria: draft.criteria.map((c, j) => (j === i ? { ...c, ...patch } : c)) });
  const save = async () => {
    if (!draft) return;
    setBusy(true);
    setError(null);
    try {
      const change = await backend.setQualityCriteria(root, chain, draft, reason);
      setSaved(draft);
      setReason("");
      onSaved(change);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card criteria-editor" data-testid="criteria-editor" aria-label="quality criteria">
      <h3>Quality criteria</h3>
      <p className="muted small">
        Written to <code>chain.yaml</code> (comments kept). The files change, so the next gate run judges a new version.
      </p>
      {!draft && !error && <p className="muted">Loading…</p>}
      {draft && (
        <>
          <label className="inline-label">
            Threshold (average of 1–5)
            <input
              type="number"
              min={1}
              max={5}
              step={0.1}
              value={draft.min_average}
              data-testid="criteria-threshold"
              onChange={(e) => setDraft({ ...draft, min_average: Number(e.target.value) })}
            />
          </label>
          <table className="criteria-table">
            <thead>
              <tr>
                <th scope="col">criterion</th>
                <th scope="col">what it means for this chain (told to the reviewer)</th>
                <th scope="col">
                  <span className="visually-hidden">remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {draft.criteria.map((c, i) => (
                <tr key={i}>
                  <td>
                    <input
                      aria-label={`criterion ${i + 1} name`}
                      value={c.name}
                      data-testid={`criterion-name-${i}`}
                      onChange={(e) => setCriterion(i, { name: e.target.value })}
                    />
                  </td>
                  <td>
                    <input
                      className="wide"
                      aria-label={`guidance for ${c.name || `criterion ${i + 1}`}`}
                      value={c.guidance ?? ""}
                      maxLength={500}
                      placeholder="e.g. every figure matches the sources"
                      data-testid={`criterion-guidance-${i}`}
                      onChange={(e) => setCriterion(i, { guidance: e.target.value || null })}
                    />
                  </td>
                  <td>
                    <button
                      aria-label={`remove ${c.name}`}
                      disabled={draft.criteria.length <= 1}
                      onClick={() => setDraft({ ...draft, criteria: draft.criteria.filter((_, j) => j !== i) })}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button
            onClick={() => setDraft({ ...draft, criteria: [...draft.criteria, { name: "", guidance: null }] })}
            disabled={draft.criteria.length >= 12}
          >
            Add a criterion
          </button>
          <label className="block-label">
            Why the change (required: shown on the promotion and kept in the audit log)
            <textarea
              data-testid="criteria-reason"
              value={reason}
              maxLength={2000}
              rows={2}
              onChange={(e) => setReason(e.target.value)}
            />
          </label>
        </>
      )}
      {error && (
        <div className="error-box" role="alert">
          <strong>{error.code}</strong> {error.message}
        </div>
      )}
      <div className="row-actions">
        <button
          className="primary"
          data-testid="criteria-save"
          disabled={busy || !changed || reason.trim() === ""}
          onClick={() => void save()}
        >
          {busy ? "Saving…" : "Save the criteria"}
        </button>
        <button onClick={() => setOpen(false)}>Close</button>
        {!changed && draft && <span className="muted small">Change a value to save.</span>}
        {changed && reason.trim() === "" && <span className="muted small">Say why before saving.</span>}
      </div>
    </section>
  );
}
