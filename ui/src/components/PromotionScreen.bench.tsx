// How long the promotion screen takes to render a promotion with 100 quality inputs × 4
// criteria (the bar: < 200 ms to open). A benchmark, not a test:
//   npx vitest bench --run src/components/PromotionScreen.bench.tsx
import { cleanup, render } from "@testing-library/react";
import { bench, describe } from "vitest";
import type { PromotionView } from "../bindings/PromotionView";
import { PromotionScreen } from "./PromotionScreen";

const criteria = ["completeness", "accuracy", "formatting", "relevance"];
const inputs = Array.from({ length: 100 }, (_, i) => ({
  input: `input-${String(i).padStart(3, "0")}.json`,
  run_id: `run-${i}`,
  error: null,
  scores: criteria.map((criterion, j) => ({ criterion, score: 1 + ((i + j) % 5), rationale: `${criterion}: a sentence of rationale for input ${i}` })),
}));
const keys = ["chain-completes", "output-format", "event-handoffs", "output-quality", "edge-cases", "secrets-set", "rollback-documented"];
const promotion: PromotionView = {
  id: "0199aaaa-bbbb-7ccc-8ddd-eeeeffff0000",
  created_at: "2026-12-03T10:00:00Z",
  chain: "content-pipeline",
  to_env: "production",
  version: "v7",
  state: "awaiting_approval",
  gates: ["smoke", "quality", "cost", "config", "infra", "rollback"].map((gate) => ({
    gate,
    status: "passed",
    summary: `${gate}: every check passed`,
    waived_by: null,
    waiver_note: null,
    quality:
      gate === "quality"
        ? { min_average: 4, overall: 3.9, baseline: "v6", criteria: criteria.map((name) => ({ name, average: 3.9, baseline: 4.1 })), inputs }
        : null,
  })),
  checklist: {
    items: keys.map((key) => ({
      key,
      section: "functional",
      kind: key === "rollback-documented" ? "manual" : "auto",
      state: key === "rollback-documented" ? "unticked" : "passed",
      evidence: "evidence",
      ticked_by: null,
      ticked_at: null,
      note: null,
      required: true,
    })),
    blocking: ["rollback-documented is not ticked"],
  },
  approved_by: null,
  approval_note: null,
  approvers: ["dana"],
  acting_as: "dana",
  criteria_changes: [],
  reason: null,
  warnings: [],
};
const noop = () => undefined;

describe("promotion screen", () => {
  bench("render 100 inputs × 4 criteria", () => {
    render(
      <PromotionScreen
        promotion={promotion}
        root="/p"
        deployed={{ production: "v6" }}
        onTick={noop}
        onUntick={noop}
        onApprove={noop}
        onDeploy={noop}
        onRollback={noop}
        onWaive={() => Promise.resolve()}
        onRepromote={noop}
        onExport={() => Promise.resolve(null)}
      />,
    );
    cleanup();
  });
});
