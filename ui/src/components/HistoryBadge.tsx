import { useEffect, useState } from "react";
import { databaseInfo, toApiError } from "../backend";
import type { DatabaseView } from "../bindings/DatabaseView";

/** Where the history lives, in the top bar: a laptop's SQLite file or the team's PostgreSQL.
 *  A PM looking at gate scores knows whose history they are (and that a teammate's runs on
 *  another database are not in it). */
export function HistoryBadge() {
  const [db, setDb] = useState<DatabaseView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    databaseInfo().then(
      (v) => live && setDb(v),
      (e: unknown) => live && setError(toApiError(e).message),
    );
    return () => {
      live = false;
    };
  }, []);
  if (error) {
    return (
      <span className="history-badge bad" data-testid="history-badge" title={error}>
        history unavailable
      </span>
    );
  }
  if (!db) return null;
  const shared = db.engine === "PostgreSQL";
  const where = shared ? hostAndDb(db.location) : "this computer";
  const schema = db.pending.length
    ? `schema ${db.schema} of ${db.latest}: ${db.pending.length} migration(s) pending`
    : `schema ${db.schema}`;
  return (
    <span
      className={shared ? "history-badge shared" : "history-badge"}
      data-testid="history-badge"
      title={`History: ${db.engine} ${db.location} (${schema})`}
    >
      {db.engine} · {where}
    </span>
  );
}

/** `host/db` of a PostgreSQL URL (already without its password). */
export function hostAndDb(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname}`;
  } catch {
    return url;
  }
}
