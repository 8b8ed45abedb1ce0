-- Replay protection on SQLite becomes an append-only log (docs/decisions.md).
-- The node, the file's only writer, holds every unexpired claim in memory
-- and decides each new claim there; this table makes each claim durable
-- and refills that memory at start-up. Appended rows fill pages in order,
-- where the keyed table wrote one random leaf of its key's index per claim
-- on every commit. Expired rows are deleted from the start of the log.
CREATE TABLE nonce_log (
    seq        INTEGER PRIMARY KEY,
    issuer     TEXT NOT NULL,
    nonce      BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
INSERT INTO nonce_log (issuer, nonce, expires_at)
    SELECT issuer, nonce, expires_at FROM nonces ORDER BY expires_at;
DROP TABLE nonces;
ALTER TABLE nonce_log RENAME TO nonces;
