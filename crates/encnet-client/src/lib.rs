//! encnet-client: the Rust SDK of an encnet node.
//!
//! Start with [`Client`]: discover a network, [`encrypt`] locally to its
//! public key once its owner's attestation verifies ([`attest`]; the
//! plaintext never leaves the process), and
//! [`Client::decrypt`] through a UCAN invocation whose signed answer is
//! verified before any key is used. [`delegate`] issues the grants that let
//! others decrypt; [`delegate::chain_from_tokens`] reads the chains they
//! travel in; [`audit::verify_page`] checks an audit page.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod attest;
pub mod audit;
mod client;
pub mod decrypt;
pub mod delegate;
mod error;

pub use client::{AdminCommand, Client};
pub use decrypt::{encrypt, encrypt_unattested};
pub use error::ClientError;
