//! The UCAN commands of the API (DESIGN §4.6, §4.7), written once for node,
//! client and CLI.

/// Every command under the encryption namespace.
pub const ENCRYPTION: &str = "/encryption";
/// Decrypt: unwrap a data key and re-wrap it to the receiver.
pub const DECRYPT: &str = "/encryption/decrypt";
/// Read a network's audit log.
pub const AUDIT_READ: &str = "/encryption/audit/read";
/// Every administrative command of a network.
pub const NETWORK: &str = "/encryption/network";
/// Create a network.
pub const NETWORK_CREATE: &str = "/encryption/network/create";
/// Add a key version.
pub const NETWORK_ROTATE: &str = "/encryption/network/rotate";
/// Retire key versions below a minimum.
pub const NETWORK_RETIRE: &str = "/encryption/network/retire";
/// Deny every decrypt until restored.
pub const NETWORK_REVOKE: &str = "/encryption/network/revoke";
/// Undo a revoke.
pub const NETWORK_RESTORE: &str = "/encryption/network/restore";
/// Shred the network's keys.
pub const NETWORK_DESTROY: &str = "/encryption/network/destroy";
/// Record the owner's attestation of a network key.
pub const NETWORK_ATTEST: &str = "/encryption/network/attest";
/// Revoke a delegation (UCAN revocation).
pub const UCAN_REVOKE: &str = "/ucan/revoke";
