-- The owner's attestation of each key version (DESIGN §4.3): the statement
-- as canonical JSON and the owner's signature (standard base64). The node
-- checks both before storing and serves them in the descriptor.
CREATE TABLE attestations (
    network_id  TEXT NOT NULL REFERENCES networks (network_id),
    key_version INTEGER NOT NULL,
    statement   TEXT NOT NULL,
    signature   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (network_id, key_version)
);
