import { useState } from "react";
import type { QualityScores } from "../bindings/QualityScores";
import { QualityCharts } from "./QualityCharts";
import { ReviewPanel } from "./ReviewPanel";

/** The quality charts with the heatmap leading to each input's review: arrows move between
 *  inputs, Escape closes. */
export function QualityReview({
  root,
  chain,
  env,
  version,
  q,
}: {
  root: string;
  chain: string;
  env: string;
  version: string;
  q: QualityScores;
}) {
  const [open, setOpen] = useState<string | null>(null);
  const inputs = q.inputs.map((i) => i.input);
  // While a review is open, arrows move between inputs and Escape closes it, wherever the focus
  // is in the charts or the panel (but not while typing).
  const onKey = (e: React.KeyboardEvent) => {
    if (open === null || (e.target as HTMLElement).closest("input, textarea, select")) return;
    const at = inputs.indexOf(open);
    const by = e.key === "ArrowDown" || e.key === "ArrowRight" ? 1 : e.key === "ArrowUp" || e.key === "ArrowLeft" ? -1 : 0;
    if (by !== 0) {
      e.preventDefault();
      const next = inputs[at + by];
      if (next !== undefined) setOpen(next);
    } else if (e.key === "Escape") {
      e.preventDefault();
      setOpen(null);
    }
  };
  return (
    <div className="quality-review" onKeyDown={onKey}>
      <QualityCharts q={q} onOpen={setOpen} selected={open} />
      {open && inputs.includes(open) && (
        <ReviewPanel
          root={root}
          chain={chain}
          env={env}
          version={version}
          inputs={inputs}
          input={open}
          onMove={setOpen}
          onClose={() => setOpen(null)}
        />
      )}
    </div>
  );
}
