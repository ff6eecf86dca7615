import { useState } from "react";
import type { ChecklistItemView } from "../bindings/ChecklistItemView";
import type { ChecklistView } from "../bindings/ChecklistView";
import type { ItemState } from "../bindings/ItemState";
import { when } from "../format";

const MARK: Record<ItemState, string> = {
  passed: "✓",
  ticked: "✓",
  failed: "✗",
  waived: "≈",
  not_applicable: "–",
  unticked: "○",
};

const SAY: Record<ItemState, string> = {
  passed: "passed",
  ticked: "ticked",
  failed: "failed",
  waived: "waived",
  not_applicable: "not applicable",
  unticked: "not ticked",
};

/** A manual item: tick or untick it, with an optional note. */
function ManualControl({
  item,
  editable,
  onTick,
  onUntick,
}: {
  item: ChecklistItemView;
  editable: boolean;
  onTick: (key: string, note: string | null) => void;
  onUntick: (key: string, note: string | null) => void;
}) {
  const [note, setNote] = useState("");
  if (!editable) return null;
  const ticked = item.state === "ticked";
  return (
    <span className="tick-control">
      <input
        data-testid={`tick-note-${item.key}`}
        aria-label={`note for ${ticked ? "unticking" : "ticking"} ${item.key} (optional)`}
        value={note}
        placeholder={ticked ? "why untick? (optional)" : "note (optional)"}
        maxLength={2000}
        onChange={(e) => setNote(e.target.value)}
      />
      <button
        data-testid={`${ticked ? "untick" : "tick"}-${item.key}`}
        onClick={() => {
          (ticked ? onUntick : onTick)(item.key, note.trim() || null);
          setNote("");
        }}
      >
        {ticked ? "Untick" : "Tick"}
      </button>
    </span>
  );
}

/** The checklist by section: gate evidence decides the automatic items, a person ticks and
 *  unticks the manual ones (who, when and a note each time). */
export function Checklist({
  checklist,
  editable = true,
  onTick,
  onUntick,
}: {
  checklist: ChecklistView;
  /** False once the promotion is approved: its checklist is then a record. */
  editable?: boolean;
  onTick: (key: string, note: string | null) => void;
  onUntick: (key: string, note: string | null) => void;
}) {
  const sections = [...new Set(checklist.items.map((i) => i.section))];
  return (
    <div className="checklist">
      {sections.map((section) => (
        <section key={section}>
          <h4>{section}</h4>
          <ul>
            {checklist.items
              .filter((i) => i.section === section)
              .map((i) => (
                <li key={i.key} className={`item item-${i.state}`} data-testid={`checklist-item-${i.key}`}>
                  <span className="tick" aria-hidden>
                    {MARK[i.state]}
                  </span>
                  <div className="item-body">
                    <div className="item-key">
                      {i.key} <span className={`badge badge-${i.state}`}>{SAY[i.state]}</span>
                      {i.kind === "manual" && <span className="muted small"> · a person checks</span>}
                      {!i.required && <span className="badge badge-skipped"> optional</span>}
                    </div>
                    {i.evidence && <div className="muted item-evidence">{i.evidence}</div>}
                    {i.ticked_by && (
                      <div className="muted item-evidence" data-testid={`ticked-by-${i.key}`}>
                        {i.state === "ticked" ? "ticked" : "unticked"} by {i.ticked_by}{" "}
                        {i.ticked_at ? when(i.ticked_at) : ""}
                        {i.note ? ` — “${i.note}”` : ""}
                      </div>
                    )}
                  </div>
                  {i.kind === "manual" && (
                    <ManualControl item={i} editable={editable} onTick={onTick} onUntick={onUntick} />
                  )}
                </li>
              ))}
          </ul>
        </section>
      ))}
      <p className={checklist.blocking.length ? "blocking" : "muted"} data-testid="checklist-blocking">
        {checklist.blocking.length ? `Not approvable yet: ${checklist.blocking.join("; ")}` : "Nothing blocks approval."}
      </p>
    </div>
  );
}
