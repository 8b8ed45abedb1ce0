//! Route groups; each module has its own `router()`.

pub(crate) mod decrypt;
pub(crate) mod network;
pub(crate) mod public;
