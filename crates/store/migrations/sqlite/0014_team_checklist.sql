-- The team's own checklist items (DESIGN.md §5): a manual item with `required: false` never
-- blocks approval. Item states and kinds are closed sets, as promotion states are.
ALTER TABLE checklist_items ADD COLUMN required INTEGER NOT NULL DEFAULT 1;

CREATE TRIGGER checklist_items_state_insert BEFORE INSERT ON checklist_items
WHEN NEW.state NOT IN ('passed', 'failed', 'waived', 'not_applicable', 'unticked', 'ticked')
  OR NEW.kind NOT IN ('auto', 'manual')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: checklist_items.state or kind'); END;
CREATE TRIGGER checklist_items_state_update BEFORE UPDATE OF state, kind ON checklist_items
WHEN NEW.state NOT IN ('passed', 'failed', 'waived', 'not_applicable', 'unticked', 'ticked')
  OR NEW.kind NOT IN ('auto', 'manual')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: checklist_items.state or kind'); END;

-- When each agent step started, in ms after its run: steps that ran at once overlap on the
-- timeline (rows from before stay NULL and are drawn one after another).
ALTER TABLE run_steps ADD COLUMN offset_ms INTEGER;
