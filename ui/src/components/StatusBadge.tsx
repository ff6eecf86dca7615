const LABELS: Record<string, string> = {
  completed: "completed",
  failed: "failed",
  timed_out: "timed out",
  budget_exceeded: "over budget",
  cancelled: "cancelled",
  running: "running",
};

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  return (
    <span className={`badge badge-${status}`} data-testid={testId}>
      {LABELS[status] ?? status}
    </span>
  );
}

/** A gate's state as one glyph: passed, failed, running (started), or accepted otherwise. */
export function gateGlyph(state: string): string {
  if (state === "passed") return "✓";
  if (state === "failed") return "✗";
  if (state === "started") return "…";
  return "≈";
}
