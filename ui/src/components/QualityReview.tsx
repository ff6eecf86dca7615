import { useState } from "react";
import type { QualityScores } from "../bindings/QualityScores";
import { QualityCharts } from "./QualityCharts";
import { ReviewPanel } from "./ReviewPanel";

/** The quality charts with the heatmap leading to each input's review. */
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
  return (
    <>
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
    </>
  );
}
