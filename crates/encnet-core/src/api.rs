//! Wire types of the HTTP API, shared by node and client.
