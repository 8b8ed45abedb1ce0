//! UCAN 1.0 for encnet: the capability layer the node enforces.
//!
//! Start with [`Signed`]: `Signed::<Invocation>::from_bytes` decodes a token
//! strictly and verifies its signature; [`chain::validate`] (or, for callers
//! that order their own checks, [`chain::validate_proofs`]) checks the proof
//! chain. Tokens are made with [`DelegationBuilder`] and [`InvocationBuilder`]
//! and travel in a [`Container`]. Every ambiguity of the specifications is
//! settled by the "encnet decisions" of the project's `UCAN.md`; the choices
//! it leaves open are in `docs/decisions.md`.
//!
//! Untrusted input only ever produces a [`UcanError`], never a panic.

#![forbid(unsafe_code)]
#![deny(missing_docs, clippy::unwrap_used, clippy::expect_used)]

pub mod chain;
pub mod container;
pub mod delegation;
pub mod did;
pub mod envelope;
pub mod error;
pub mod invocation;
pub mod ipld;
pub mod policy;
pub mod revocation;
pub mod varsig;

mod cbor;
mod command;
mod time;

pub use cid::Cid;
pub use ipld_core::ipld::Ipld;

pub use chain::{DelegationCache, ProofOrder, ProofStore, ValidatedChain};
pub use command::Command;
pub use container::{Container, ContainerLimits};
pub use delegation::{Delegation, DelegationBuilder};
pub use did::{Did, Ed25519Signer, PublicKey, Signer};
pub use envelope::{Signed, TokenKind};
pub use error::UcanError;
pub use invocation::{Invocation, InvocationBuilder};
pub use policy::{EvalBudget, Policy};
pub use revocation::RevocationLookup;
pub use varsig::{Algorithm, VarsigHeader};
