import type { ServeStatusView } from "../bindings/ServeStatusView";
import { when } from "../format";

/** Whether a `chainlift serve` process holds this env, from its lease: where, since when,
 * requests per minute, runs in flight, and its newest error. */
export function ServeLine({ env, status }: { env: string; status: ServeStatusView | undefined }) {
  if (!status) {
    return (
      <div className="serve-line muted small" data-testid={`serve-status-${env}`}>
        <div>
          <span className="serve-dot off" aria-hidden /> not served here — <code>chainlift serve --env {env}</code>
        </div>
      </div>
    );
  }
  if (!status.live) {
    return (
      <div className="serve-line small warn-text" data-testid={`serve-status-${env}`}>
        <div>
          <span className="serve-dot stale" aria-hidden /> serve on {status.host}
          {status.pid !== null && ` (pid ${status.pid})`} stopped renewing its lease
          {status.renewed_at && ` at ${when(status.renewed_at)}`}
        </div>
      </div>
    );
  }
  return (
    <div className="serve-line small" data-testid={`serve-status-${env}`}>
      <div>
        <span className="serve-dot on" aria-hidden /> <strong>served</strong> by {status.host}
        {status.pid !== null && ` (pid ${status.pid})`}
        {status.listen && (
          <>
            {" "}
            on <code>{status.listen}</code>
          </>
        )}{" "}
        <span className="muted">since {when(status.since)}</span>
      </div>
      <div className="serve-figures">
        <span data-testid={`serve-rpm-${env}`}>{status.requests_per_min} req/min</span>
        <span data-testid={`serve-in-flight-${env}`}>{status.in_flight} in flight</span>
      </div>
      {status.last_error && (
        <div className="serve-error" data-testid={`serve-error-${env}`} title={status.last_error}>
          last error{status.last_error_at && ` ${when(status.last_error_at)}`}: {status.last_error}
        </div>
      )}
    </div>
  );
}
