// Small, pure formatting helpers shared by the screens.

/** USD with enough digits to tell small LLM costs apart; null is "unknown", never $0. */
export function money(cost: number | null | undefined): string {
  if (cost === null || cost === undefined) return "unknown";
  if (cost === 0) return "$0.00";
  if (cost < 0.01) return `$${cost.toFixed(4)}`;
  return `$${cost.toFixed(2)}`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} m ${Math.round(s % 60)} s`;
}

export function seconds(secs: number): string {
  if (secs >= 60 && secs % 60 === 0) return `${secs / 60} m`;
  return `${secs} s`;
}

/** A readable local time from an RFC 3339 stamp. */
export function when(stamp: string): string {
  const d = new Date(stamp);
  return Number.isNaN(d.getTime()) ? stamp : d.toLocaleString();
}

/** An event's payload as a person reads it: a text output as text, not as a JSON string. */
export function readable(payload: string): string {
  try {
    const v: unknown = JSON.parse(payload);
    return typeof v === "string" ? v : payload;
  } catch {
    return payload;
  }
}
