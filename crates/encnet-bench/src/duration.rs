//! Durations on the command line: `--duration 30s`, `--warmup 0s`, as the
//! `encnet` CLI writes them.

use std::time::Duration;

/// Parses a whole number of ms, s, m, h, d or w (`30s`, `2m`).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    match parse_duration_or_zero(text)? {
        zero if zero.is_zero() => Err(format!("{text:?}: must be more than zero")),
        duration => Ok(duration),
    }
}

/// As [`parse_duration`], zero allowed (`0s` turns a phase off).
pub(crate) fn parse_duration_or_zero(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?}: expected a whole number and ms, s, m, h, d or w");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let millis_per_unit = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(bad()),
    };
    number
        .checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit_and_zero_only_where_allowed() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration_or_zero("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("99999999999999999w").is_err());
    }
}
