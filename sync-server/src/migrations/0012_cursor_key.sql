-- The pull cursor is the firm's change counter enciphered with a key of the firm's own
-- (cursor.rs), so a client reads nothing of the firm's activity in it.
ALTER TABLE firms ADD COLUMN cursor_key TEXT;
UPDATE firms SET cursor_key = lower(hex(randomblob(16))) WHERE cursor_key IS NULL;
CREATE TRIGGER firms_cursor_key AFTER INSERT ON firms WHEN NEW.cursor_key IS NULL
BEGIN
    UPDATE firms SET cursor_key = lower(hex(randomblob(16))) WHERE id = NEW.id;
END;
