-- The same schema as migrations/sqlite/0001, in PostgreSQL types (BIGINT for
-- INTEGER, BYTEA for BLOB), plus the head of the audit chain.

-- Networks and their lifecycle (DESIGN §4.2, §4.3).
CREATE TABLE networks (
    network_id             TEXT PRIMARY KEY NOT NULL,
    owner_did              TEXT NOT NULL,
    name                   TEXT NOT NULL,
    alg                    TEXT NOT NULL,
    state                  TEXT NOT NULL,
    key_version            BIGINT NOT NULL,
    min_decryption_version BIGINT NOT NULL,
    key_backend            TEXT NOT NULL,
    threshold_n            BIGINT NOT NULL,
    threshold_t            BIGINT NOT NULL,
    public_key             BYTEA NOT NULL,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    UNIQUE (owner_did, name)
);

-- One row per key version; the private key sealed with the network-seal key.
CREATE TABLE network_keys (
    network_id         TEXT NOT NULL REFERENCES networks (network_id),
    key_version        BIGINT NOT NULL,
    public_key         BYTEA NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    created_at         TEXT NOT NULL,
    PRIMARY KEY (network_id, key_version)
);

CREATE TABLE members (
    network_id         TEXT NOT NULL REFERENCES networks (network_id),
    node_id            TEXT NOT NULL,
    role               TEXT NOT NULL,
    url                TEXT,
    verification_share BYTEA,
    PRIMARY KEY (network_id, node_id)
);

CREATE TABLE ceremonies (
    ceremony_id     TEXT PRIMARY KEY NOT NULL,
    network_id      TEXT NOT NULL,
    transcript_hash BYTEA NOT NULL,
    transcript      BYTEA NOT NULL,
    created_at      TEXT NOT NULL
);

-- Replay protection: (issuer, nonce) is unique while unexpired.
CREATE TABLE nonces (
    issuer     TEXT NOT NULL,
    nonce      BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, nonce)
);
CREATE INDEX nonces_by_expiry ON nonces (expires_at);

-- UCAN revocations (UCAN.md decision 10): never undone.
CREATE TABLE revocations (
    cid            TEXT PRIMARY KEY NOT NULL,
    revoked_by     TEXT NOT NULL,
    invocation_cid TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

-- Append-only, hash-chained audit log (DESIGN §4.10).
CREATE TABLE audit (
    seq            BIGINT PRIMARY KEY NOT NULL,
    time           TEXT NOT NULL,
    network        TEXT NOT NULL,
    requester      TEXT NOT NULL,
    command        TEXT NOT NULL,
    invocation_cid TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    entry_hash     TEXT NOT NULL
);
CREATE INDEX audit_by_network ON audit (network, seq);

-- The last entry of the chain. Every append locks this one row
-- (SELECT … FOR UPDATE), so node processes sharing the database append one
-- after another and the chain stays linear.
CREATE TABLE audit_head (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));
