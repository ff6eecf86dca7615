import { useState } from "react";
import type { VersionDiff } from "../bindings/VersionDiff";
import type { VersionView } from "../bindings/VersionView";
import { when } from "../format";

interface Props {
  versions: VersionView[];
  onCreate: (tag: string | null, note: string | null) => Promise<VersionView | null>;
  /** Tag an untagged version; true when it took. */
  onTag: (hash: string, tag: string) => Promise<boolean>;
  loadDiff: (a: string, b: string) => Promise<VersionDiff>;
}

/** Versions with tags; snapshot the files as a new (tagged) version; diff any two. */
/** An untagged version's "Tag…" control: a name, once (a version has one tag). */
function TagControl({ v, onTag }: { v: VersionView; onTag: Props["onTag"] }) {
  const [open, setOpen] = useState(false);
  const [tag, setTag] = useState("");
  if (!open) {
    return (
      <button className="small-button" data-testid={`tag-${v.version}`} onClick={() => setOpen(true)}>
        Tag…
      </button>
    );
  }
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (tag.trim()) void onTag(v.hash, tag.trim()).then((took) => took && setOpen(false));
      }}
    >
      <input autoFocus data-testid="tag-input" placeholder="v1.2" value={tag} onChange={(e) => setTag(e.target.value)} />
      <button type="submit" className="small-button" data-testid="tag-save" disabled={!tag.trim()}>
        Save
      </button>
      <button type="button" className="small-button" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </form>
  );
}

export function VersionsScreen({ versions, onCreate, onTag, loadDiff }: Props) {
  const [tag, setTag] = useState("");
  const [note, setNote] = useState("");
  const [made, setMade] = useState<VersionView | null>(null);
  const [pick, setPick] = useState<{ a: string | null; b: string | null }>({ a: null, b: null });
  const [diff, setDiff] = useState<VersionDiff | null>(null);
  const [diffError, setDiffError] = useState<string | null>(null);

  const create = async () => {
    const v = await onCreate(tag.trim() || null, note.trim() || null);
    if (v) {
      setMade(v);
      setTag("");
      setNote("");
    }
  };
  const compare = async () => {
    if (!pick.a || !pick.b) return;
    try {
      setDiff(await loadDiff(pick.a, pick.b));
      setDiffError(null);
    } catch (e) {
      setDiffError(String((e as { message?: string }).message ?? e));
    }
  };

  return (
    <div className="versions">
      <section className="card version-create">
        <h3>Snapshot the files on disk</h3>
        <form
          className="row-form"
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          <input data-testid="version-tag" placeholder="tag (optional), e.g. v1.2-rc" value={tag} onChange={(e) => setTag(e.target.value)} />
          <input placeholder="note (optional)" value={note} onChange={(e) => setNote(e.target.value)} />
          <button type="submit" className="primary" data-testid="version-create-button">
            Create version
          </button>
        </form>
        {made && (
          <p className={made.existing ? "muted" : "ok-text"} data-testid="version-created">
            {made.existing
              ? `These files are already stored as ${made.version}.`
              : `Created ${made.version} (${made.hash.slice(0, 12)}).`}
          </p>
        )}
      </section>
      {versions.length === 0 ? (
        <div className="empty card">
          <h2>No versions yet</h2>
          <p className="muted">
            A version is created when you promote, or here: “Create version” snapshots the chain's files (immutable,
            by content hash).
          </p>
        </div>
      ) : (
        <div className="card">
          <div className="toolbar">
            <h3>Versions</h3>
            <span className="muted">pick A and B to compare</span>
            <button data-testid="version-diff-button" disabled={!pick.a || !pick.b || pick.a === pick.b} onClick={() => void compare()}>
              Diff {pick.a ?? "A"} → {pick.b ?? "B"}
            </button>
          </div>
          <table className="agents">
            <thead>
              <tr>
                <th>A</th>
                <th>B</th>
                <th>#</th>
                <th>version</th>
                <th>hash</th>
                <th>deployed to</th>
                <th>author</th>
                <th>created</th>
                <th>note</th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.hash} data-testid={`version-row-${v.version}`}>
                  <td>
                    <input type="radio" name="a" aria-label={`A = ${v.version}`} checked={pick.a === v.version} onChange={() => setPick({ ...pick, a: v.version })} />
                  </td>
                  <td>
                    <input type="radio" name="b" aria-label={`B = ${v.version}`} checked={pick.b === v.version} onChange={() => setPick({ ...pick, b: v.version })} />
                  </td>
                  <td>{v.seq}</td>
                  <td>
                    <strong>{v.version}</strong> {!v.tag && <TagControl v={v} onTag={onTag} />}
                  </td>
                  <td className="model">{v.hash.slice(0, 12)}</td>
                  <td>
                    {v.deployed_to.length
                      ? v.deployed_to.map((e) => (
                          <span key={e} className="badge badge-deployed">
                            {e}
                          </span>
                        ))
                      : "—"}
                  </td>
                  <td>{v.author}</td>
                  <td>{when(v.created_at)}</td>
                  <td className="muted">{v.note ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {diffError && <div className="error-box">{diffError}</div>}
      {diff && (
        <section className="card" data-testid="version-diff">
          <h3>
            {diff.a} → {diff.b}: {diff.files.length} file{diff.files.length === 1 ? "" : "s"} changed
          </h3>
          {diff.files.map((f) => (
            <details key={f.path} open>
              <summary>
                <span className={`badge badge-${f.change}`}>{f.change}</span> <code>{f.path}</code>
              </summary>
              <pre className="unified" tabIndex={0} aria-label="the diff">
                {f.diff.split("\n").map((line, i) => (
                  <span key={i} className={line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : ""}>
                    {line}
                    {"\n"}
                  </span>
                ))}
              </pre>
            </details>
          ))}
        </section>
      )}
    </div>
  );
}
