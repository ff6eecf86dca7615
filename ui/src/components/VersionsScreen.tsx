import type { VersionView } from "../bindings/VersionView";
import { when } from "../format";

export function VersionsScreen({ versions }: { versions: VersionView[] }) {
  if (versions.length === 0) {
    return (
      <div className="empty card">
        <h2>No versions yet</h2>
        <p className="muted">
          A version is created when you promote, or with <code>chainlift version create CHAIN --tag v1</code>.
        </p>
      </div>
    );
  }
  return (
    <div className="card">
      <table className="agents">
        <thead>
          <tr>
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
              <td>{v.seq}</td>
              <td>
                <strong>{v.version}</strong>
              </td>
              <td className="model">{v.hash.slice(0, 12)}</td>
              <td>{v.deployed_to.join(", ") || "—"}</td>
              <td>{v.author}</td>
              <td>{when(v.created_at)}</td>
              <td className="muted">{v.note ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
