-- The newest verdict of each image a policy decided, kept by a trigger, so a policy preview reads
-- one row per image instead of every verdict of its window (worker/preview.ts readWindow; it was
-- ~140 ms for 50,000 verdicts and grew with them: bench/README.md "Stats").
-- An image is a (reference, namespace) pair, as a preview replays it; namespace is the context's
-- namespace as json_extract reads it (no declared type, so a string and a number stay apart, as in a
-- GROUP BY), X'' when the context has none.
CREATE TABLE IF NOT EXISTS verdict_images (
  policy_id  TEXT NOT NULL,
  reference  TEXT NOT NULL,
  namespace  NOT NULL,
  last_ms    INTEGER NOT NULL,
  verdict_id TEXT NOT NULL,
  PRIMARY KEY (policy_id, reference, namespace)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS verdict_images_by_time ON verdict_images (policy_id, last_ms);

-- The rows already there (SQLite: with MAX(), the bare id comes from the row that holds it).
INSERT INTO verdict_images (policy_id, reference, namespace, last_ms, verdict_id)
  SELECT policy_id, reference, COALESCE(json_extract(context, '$.namespace'), X''), MAX(evaluated_ms), id
  FROM verdicts GROUP BY 1, 2, 3;

-- From now on each inserted verdict moves its image's entry forward (a later one never back; the
-- larger id breaks a tie, as verdict IDs sort by time).
CREATE TRIGGER IF NOT EXISTS verdicts_latest_image AFTER INSERT ON verdicts
BEGIN
  INSERT INTO verdict_images (policy_id, reference, namespace, last_ms, verdict_id)
    VALUES (NEW.policy_id, NEW.reference, COALESCE(json_extract(NEW.context, '$.namespace'), X''), NEW.evaluated_ms, NEW.id)
    ON CONFLICT (policy_id, reference, namespace) DO UPDATE SET last_ms = excluded.last_ms, verdict_id = excluded.verdict_id
      WHERE excluded.last_ms > verdict_images.last_ms
        OR (excluded.last_ms = verdict_images.last_ms AND excluded.verdict_id > verdict_images.verdict_id);
END;
