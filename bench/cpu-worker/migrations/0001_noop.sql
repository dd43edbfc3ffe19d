-- Nothing: the CPU Worker has no state. A migration exists so `d1 migrations apply` has work.
CREATE TABLE IF NOT EXISTS bench_noop (id INTEGER PRIMARY KEY);
