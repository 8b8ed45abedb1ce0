-- Signed checkpoints of the audit chain (DESIGN §4.10): the node's
-- Ed25519 signature (standard base64) over the JCS bytes of
-- {type, nodeId, sequence, headHash, time}. A chain that ends before its
-- latest checkpoint was truncated: the node refuses to start on it, and
-- `encnet audit verify` names the missing entries.
CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY NOT NULL,
    node_id    TEXT NOT NULL,
    head_hash  TEXT NOT NULL,
    time       TEXT NOT NULL,
    signature  TEXT NOT NULL
);
