-- Networks and their lifecycle (DESIGN §4.2, §4.3).
CREATE TABLE networks (
    network_id             TEXT PRIMARY KEY NOT NULL,
    owner_did              TEXT NOT NULL,
    name                   TEXT NOT NULL,
    alg                    TEXT NOT NULL,
    state                  TEXT NOT NULL,
    key_version            INTEGER NOT NULL,
    min_decryption_version INTEGER NOT NULL,
    key_backend            TEXT NOT NULL,
    threshold_n            INTEGER NOT NULL,
    threshold_t            INTEGER NOT NULL,
    public_key             BLOB NOT NULL,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    UNIQUE (owner_did, name)
);

-- One row per key version; the private key sealed with the network-seal key.
CREATE TABLE network_keys (
    network_id         TEXT NOT NULL REFERENCES networks (network_id),
    key_version        INTEGER NOT NULL,
    public_key         BLOB NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at         TEXT NOT NULL,
    PRIMARY KEY (network_id, key_version)
);

CREATE TABLE members (
    network_id         TEXT NOT NULL REFERENCES networks (network_id),
    node_id            TEXT NOT NULL,
    role               TEXT NOT NULL,
    url                TEXT,
    verification_share BLOB,
    PRIMARY KEY (network_id, node_id)
);

CREATE TABLE ceremonies (
    ceremony_id     TEXT PRIMARY KEY NOT NULL,
    network_id      TEXT NOT NULL,
    transcript_hash BLOB NOT NULL,
    transcript      BLOB NOT NULL,
    created_at      TEXT NOT NULL
);

-- Replay protection: (issuer, nonce) is unique while unexpired.
CREATE TABLE nonces (
    issuer     TEXT NOT NULL,
    nonce      BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
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
    seq            INTEGER PRIMARY KEY NOT NULL,
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
