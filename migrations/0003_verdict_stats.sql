-- Verdict statistics (GET /v1/stats, docs/stats.md): two facts per verdict written by the verdict
-- log, and covering indexes so each stats query reads one index range, not the table.
-- code: the reason code that decided (a deny's first reason to deny, an allow's first reason).
-- upstream_host: the host of the first upstream that failed the decision, NULL when none did.
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

-- Series, cache ratio and reason codes per policy, and across policies.
CREATE INDEX IF NOT EXISTS verdicts_stats_by_policy ON verdicts (policy_id, evaluated_ms, decision, cached, code);
CREATE INDEX IF NOT EXISTS verdicts_stats_by_time ON verdicts (evaluated_ms, decision, cached, code);
-- Top denied images.
CREATE INDEX IF NOT EXISTS verdicts_denied_by_policy ON verdicts (policy_id, decision, evaluated_ms, reference);
-- Upstream errors: only the rows that have one.
CREATE INDEX IF NOT EXISTS verdicts_upstream_errors ON verdicts (policy_id, evaluated_ms, upstream_host) WHERE upstream_host IS NOT NULL;
