import { useState } from "react";
import type { ChecklistView } from "../bindings/ChecklistView";
import { when } from "../format";

const MARK: Record<string, string> = {
  passed: "✓",
  ticked: "✓",
  failed: "✗",
  waived: "≈",
  not_applicable: "–",
  unticked: "○",
};

/** The seed's checklist by section; manual items tick with a click. */
export function Checklist({
  checklist,
  onTick,
}: {
  checklist: ChecklistView;
  onTick: (key: string, note: string | null) => void;
}) {
  const sections = [...new Set(checklist.items.map((i) => i.section))];
  const [note, setNote] = useState("");
  return (
    <div className="checklist">
      <label className="tick-note">
        Note for the next tick (optional)
        <input
          data-testid="tick-note"
          value={note}
          placeholder="e.g. runbook reviewed with on-call"
          onChange={(e) => setNote(e.target.value)}
        />
      </label>
      {sections.map((section) => (
        <section key={section}>
          <h4>{section}</h4>
          <ul>
            {checklist.items
              .filter((i) => i.section === section)
              .map((i) => {
                const manual = i.kind === "manual" && i.state === "unticked";
                return (
                  <li key={i.key} className={`item item-${i.state}`} data-testid={`checklist-item-${i.key}`}>
                    <button
                      className="tick"
                      disabled={!manual}
                      title={manual ? "tick this item" : i.state}
                      onClick={() => {
                        onTick(i.key, note.trim() || null);
                        setNote("");
                      }}
                    >
                      {MARK[i.state] ?? "?"}
                    </button>
                    <div>
                      <div className="item-key">
                        {i.key} <span className={`badge badge-${i.state}`}>{i.state.replace("_", " ")}</span>
                      </div>
                      {i.evidence && <div className="muted item-evidence">{i.evidence}</div>}
                      {i.ticked_by && (
                        <div className="muted item-evidence">
                          ticked by {i.ticked_by} {i.ticked_at ? when(i.ticked_at) : ""} {i.note ? `— ${i.note}` : ""}
                        </div>
                      )}
                    </div>
                  </li>
                );
              })}
          </ul>
        </section>
      ))}
      <p className={checklist.blocking.length ? "blocking" : "muted"}>
        {checklist.blocking.length ? `Not approvable yet: ${checklist.blocking.join("; ")}` : "Approvable."}
      </p>
    </div>
  );
}
