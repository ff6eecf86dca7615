-- The app's change feed (issue 13): a write transaction that changes what a screen shows bumps
-- its topic's sequence, by triggers, so every process and every code path counts without
-- remembering to. The app polls these three rows a few times a second and refreshes the screens
-- of the topics that moved. Heartbeats and lease renewals alone bump nothing.
CREATE TABLE change_feed (
    topic TEXT PRIMARY KEY CHECK (topic IN ('runs', 'history', 'serve')),
    seq   INTEGER NOT NULL
);
INSERT INTO change_feed (topic, seq) VALUES ('runs', 0), ('history', 0), ('serve', 0);

-- What the app shows of a serve process that holds an env's lease (Home): renewed with the lease.
ALTER TABLE serve_leases ADD COLUMN listen TEXT;
ALTER TABLE serve_leases ADD COLUMN renewed_at TEXT;
ALTER TABLE serve_leases ADD COLUMN requests_per_min INTEGER NOT NULL DEFAULT 0;
ALTER TABLE serve_leases ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
ALTER TABLE serve_leases ADD COLUMN last_error TEXT;
ALTER TABLE serve_leases ADD COLUMN last_error_at TEXT;

CREATE TRIGGER feed_runs_insert AFTER INSERT ON runs
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'runs'; END;
CREATE TRIGGER feed_runs_update AFTER UPDATE OF status ON runs WHEN OLD.status IS NOT NEW.status
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'runs'; END;
CREATE TRIGGER feed_runs_delete AFTER DELETE ON runs
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'runs'; END;
CREATE TRIGGER feed_versions_insert AFTER INSERT ON versions
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_versions_update AFTER UPDATE ON versions
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_versions_delete AFTER DELETE ON versions
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_deployments_insert AFTER INSERT ON deployments
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_deployments_update AFTER UPDATE ON deployments
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_deployments_delete AFTER DELETE ON deployments
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_flags_insert AFTER INSERT ON flags
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_flags_update AFTER UPDATE ON flags
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_flags_delete AFTER DELETE ON flags
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_gate_reports_insert AFTER INSERT ON gate_reports
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_gate_reports_update AFTER UPDATE ON gate_reports
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_gate_reports_delete AFTER DELETE ON gate_reports
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_promotions_insert AFTER INSERT ON promotions
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_promotions_update AFTER UPDATE ON promotions
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_promotions_delete AFTER DELETE ON promotions
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_promotion_gates_insert AFTER INSERT ON promotion_gates
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_promotion_gates_update AFTER UPDATE ON promotion_gates
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_promotion_gates_delete AFTER DELETE ON promotion_gates
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_checklist_items_insert AFTER INSERT ON checklist_items
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_checklist_items_update AFTER UPDATE ON checklist_items
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_checklist_items_delete AFTER DELETE ON checklist_items
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_audit_insert AFTER INSERT ON audit
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'history'; END;
CREATE TRIGGER feed_serve_leases_insert AFTER INSERT ON serve_leases
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'serve'; END;
CREATE TRIGGER feed_serve_leases_update AFTER UPDATE ON serve_leases
WHEN OLD.holder IS NOT NEW.holder OR OLD.acquired_at IS NOT NEW.acquired_at
  OR OLD.in_flight IS NOT NEW.in_flight OR OLD.requests_per_min IS NOT NEW.requests_per_min
  OR OLD.last_error IS NOT NEW.last_error
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'serve'; END;
CREATE TRIGGER feed_serve_leases_delete AFTER DELETE ON serve_leases
BEGIN UPDATE change_feed SET seq = seq + 1 WHERE topic = 'serve'; END;
