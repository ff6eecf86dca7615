/** The rollback confirmation: one more click, then the pointer moves back at once. */
export function ConfirmRollback({ env, onConfirm, onCancel }: { env: string; onConfirm: () => void; onCancel: () => void }) {
  return (
    <div className="modal" role="dialog" aria-label="confirm rollback">
      <div className="card">
        <h3>Roll back {env}?</h3>
        <p>The pointer moves back to the previous deployment; the very next run uses it.</p>
        <button onClick={onCancel}>Cancel</button>{" "}
        <button className="primary" data-testid="confirm-button" onClick={onConfirm}>
          Roll back
        </button>
      </div>
    </div>
  );
}
