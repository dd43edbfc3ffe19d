-- Verdict statistics (GET /v1/stats, docs/stats.md).
-- code: the reason code that decided (a deny's first reason to deny, an allow's first reason).
-- upstream_host: the host of the first upstream that failed the decision, NULL when none did.
-- Both are written by the verdict log (worker/stores/verdict-log.ts).
ALTER TABLE verdicts ADD COLUMN code TEXT;
ALTER TABLE verdicts ADD COLUMN upstream_host TEXT;

-- Rows written before this migration: their deciding code from the stored reasons (the codes below
-- are src/reasons.ts NOT_DENY_REASONS). Their upstream host stays NULL: they count in no host's errors.
UPDATE verdicts SET code = CASE decision
  WHEN 'deny' THEN COALESCE(
    (SELECT json_extract(r.value, '$.code') FROM json_each(verdicts.reasons) AS r
      WHERE json_extract(r.value, '$.code') NOT IN
        ('STATIC_ALLOW', 'NOTARY_SIGNED', 'SIMPLE_SIGNED', 'COSIGN_SIGNED', 'DIGEST_UNRESOLVED', 'TAG_UNRESOLVED', 'AUDIT_MODE', 'NOTARY_STALE_TRUST_DATA')
      ORDER BY r.key LIMIT 1),
    json_extract(reasons, '$[0].code'))
  ELSE json_extract(reasons, '$[0].code') END
WHERE code IS NULL;

-- Counts per policy and UTC hour, kept by a trigger as verdicts are inserted, so a stats query reads
-- a few rows per hour instead of every verdict (bench/README.md "Stats": a month of a million
-- verdicts). hits: answered from the verdict cache; misses: verified afresh (static rules and no
-- matching rule are neither). Denies only in the code, image and host tables.
CREATE TABLE IF NOT EXISTS verdict_hours (
  policy_id TEXT NOT NULL, hour_ms INTEGER NOT NULL, decision TEXT NOT NULL,
  n INTEGER NOT NULL, hits INTEGER NOT NULL, misses INTEGER NOT NULL,
  PRIMARY KEY (policy_id, hour_ms, decision)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verdict_hour_codes (
  policy_id TEXT NOT NULL, hour_ms INTEGER NOT NULL, code TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (policy_id, hour_ms, code)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verdict_hour_denied (
  policy_id TEXT NOT NULL, hour_ms INTEGER NOT NULL, reference TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (policy_id, hour_ms, reference)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verdict_hour_hosts (
  policy_id TEXT NOT NULL, hour_ms INTEGER NOT NULL, host TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (policy_id, hour_ms, host)
) WITHOUT ROWID;
-- Across policies (no policy named, or a restricted token's few).
CREATE INDEX IF NOT EXISTS verdict_hours_by_hour ON verdict_hours (hour_ms);
CREATE INDEX IF NOT EXISTS verdict_hour_codes_by_hour ON verdict_hour_codes (hour_ms);
CREATE INDEX IF NOT EXISTS verdict_hour_denied_by_hour ON verdict_hour_denied (hour_ms);
CREATE INDEX IF NOT EXISTS verdict_hour_hosts_by_hour ON verdict_hour_hosts (hour_ms);

-- The counts of the rows already there.
INSERT INTO verdict_hours (policy_id, hour_ms, decision, n, hits, misses)
  SELECT policy_id, evaluated_ms - evaluated_ms % 3600000, decision, COUNT(*), SUM(cached),
    SUM(cached = 0 AND COALESCE(code, '') NOT IN ('STATIC_ALLOW', 'STATIC_DENY', 'NO_MATCHING_RULE'))
  FROM verdicts GROUP BY 1, 2, 3;
INSERT INTO verdict_hour_codes (policy_id, hour_ms, code, n)
  SELECT policy_id, evaluated_ms - evaluated_ms % 3600000, COALESCE(code, 'UNKNOWN'), COUNT(*)
  FROM verdicts WHERE decision = 'deny' GROUP BY 1, 2, 3;
INSERT INTO verdict_hour_denied (policy_id, hour_ms, reference, n)
  SELECT policy_id, evaluated_ms - evaluated_ms % 3600000, reference, COUNT(*)
  FROM verdicts WHERE decision = 'deny' GROUP BY 1, 2, 3;

-- From now on, each inserted verdict counts itself (one statement per write stays one statement).
CREATE TRIGGER IF NOT EXISTS verdicts_count AFTER INSERT ON verdicts
BEGIN
  INSERT INTO verdict_hours (policy_id, hour_ms, decision, n, hits, misses)
    VALUES (NEW.policy_id, NEW.evaluated_ms - NEW.evaluated_ms % 3600000, NEW.decision, 1, NEW.cached,
      NEW.cached = 0 AND COALESCE(NEW.code, '') NOT IN ('STATIC_ALLOW', 'STATIC_DENY', 'NO_MATCHING_RULE'))
    ON CONFLICT (policy_id, hour_ms, decision) DO UPDATE SET n = n + 1, hits = hits + excluded.hits, misses = misses + excluded.misses;
  INSERT INTO verdict_hour_codes (policy_id, hour_ms, code, n)
    SELECT NEW.policy_id, NEW.evaluated_ms - NEW.evaluated_ms % 3600000, COALESCE(NEW.code, 'UNKNOWN'), 1 WHERE NEW.decision = 'deny'
    ON CONFLICT (policy_id, hour_ms, code) DO UPDATE SET n = n + 1;
  INSERT INTO verdict_hour_denied (policy_id, hour_ms, reference, n)
    SELECT NEW.policy_id, NEW.evaluated_ms - NEW.evaluated_ms % 3600000, NEW.reference, 1 WHERE NEW.decision = 'deny'
    ON CONFLICT (policy_id, hour_ms, reference) DO UPDATE SET n = n + 1;
  INSERT INTO verdict_hour_hosts (policy_id, hour_ms, host, n)
    SELECT NEW.policy_id, NEW.evaluated_ms - NEW.evaluated_ms % 3600000, NEW.upstream_host, 1 WHERE NEW.upstream_host IS NOT NULL
    ON CONFLICT (policy_id, hour_ms, host) DO UPDATE SET n = n + 1;
END;
