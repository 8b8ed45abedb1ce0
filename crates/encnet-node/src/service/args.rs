//! Typed access to an invocation's `args` map; a missing or mistyped field is
//! a `bad_request`, never a panic.

use std::collections::BTreeMap;

use encnet_ucan::Ipld;

use super::ServiceError;

pub(super) type Args = BTreeMap<String, Ipld>;

pub(super) fn string_arg<'a>(args: &'a Args, name: &str) -> Result<&'a str, ServiceError> {
    optional_string_arg(args, name)?.ok_or_else(|| missing(name, "a string"))
}

pub(super) fn optional_string_arg<'a>(
    args: &'a Args,
    name: &str,
) -> Result<Option<&'a str>, ServiceError> {
    match args.get(name) {
        None | Some(Ipld::Null) => Ok(None),
        Some(Ipld::String(s)) => Ok(Some(s)),
        Some(_) => Err(missing(name, "a string")),
    }
}

pub(super) fn bytes_arg<'a>(args: &'a Args, name: &str) -> Result<&'a [u8], ServiceError> {
    match args.get(name) {
        Some(Ipld::Bytes(b)) => Ok(b),
        _ => Err(missing(name, "bytes")),
    }
}

pub(super) fn int_arg(args: &Args, name: &str) -> Result<u64, ServiceError> {
    optional_int_arg(args, name)?.ok_or_else(|| missing(name, "an integer"))
}

pub(super) fn optional_int_arg(args: &Args, name: &str) -> Result<Option<u64>, ServiceError> {
    match args.get(name) {
        None | Some(Ipld::Null) => Ok(None),
        Some(Ipld::Integer(i)) => u64::try_from(*i)
            .map(Some)
            .map_err(|_| ServiceError::BadRequest(format!("args.{name} out of range"))),
        Some(_) => Err(missing(name, "an integer")),
    }
}

fn missing(name: &str, kind: &str) -> ServiceError {
    ServiceError::BadRequest(format!("args.{name} must be {kind}"))
}
