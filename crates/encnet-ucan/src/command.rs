//! Command paths (`/crypto/sign`) and their segment-wise attenuation.

use std::fmt;
use std::str::FromStr;

use crate::error::UcanError;

/// A validated UCAN command: starts with `/`, lowercase, no empty segment,
/// no trailing slash except for `/` itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Command(String);

impl Command {
    /// The command as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `self` covers `other` segment by segment: `/` covers every
    /// command, `/crypto` covers `/crypto/sign` but not `/cryptocurrency`.
    pub fn is_prefix_of(&self, other: &Self) -> bool {
        self.0 == "/"
            || other
                .0
                .strip_prefix(&self.0)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

impl FromStr for Command {
    type Err = UcanError;

    fn from_str(s: &str) -> Result<Self, UcanError> {
        let bad = |why: &str| UcanError::malformed(format!("command {s:?}: {why}"));
        let Some(rest) = s.strip_prefix('/') else {
            return Err(bad("must start with /"));
        };
        if s.chars().any(char::is_uppercase) {
            return Err(bad("must be lowercase"));
        }
        if !rest.is_empty() && rest.split('/').any(str::is_empty) {
            return Err(bad("empty segment or trailing slash"));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> Command {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn syntax() {
        for ok in ["/", "/crypto", "/crypto/sign", "/a-b/c_d"] {
            assert!(ok.parse::<Command>().is_ok(), "{ok}");
        }
        for bad in ["", "crypto", "/crypto/", "//", "/a//b", "/Crypto"] {
            assert!(bad.parse::<Command>().is_err(), "{bad}");
        }
    }

    #[test]
    fn segment_prefix() {
        assert!(cmd("/").is_prefix_of(&cmd("/crypto/sign")));
        assert!(cmd("/crypto").is_prefix_of(&cmd("/crypto/sign")));
        assert!(cmd("/crypto").is_prefix_of(&cmd("/crypto")));
        assert!(!cmd("/crypto").is_prefix_of(&cmd("/cryptocurrency")));
        assert!(!cmd("/crypto/sign").is_prefix_of(&cmd("/crypto")));
    }
}
