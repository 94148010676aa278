//! Durations as refit specs write them: one or more `<integer><unit>` parts
//! with the units `s`, `m`, `h` and `d` (`30m`, `4h`, `1h30m`, `3d`), the
//! grammar of [`crate::api::DURATION_PATTERN`]. A day is 24 hours of elapsed
//! time; refit durations never mean calendar days.

use std::time::Duration;

/// Why a duration string was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The string is empty.
    #[error("a duration cannot be empty; write it like 30m, 4h, 1h30m or 3d")]
    Empty,
    /// A part has a number but no unit, or a unit refit does not know.
    #[error(
        "`{input}` is not a duration: after {number} expected one of the units s, m, h, d (e.g. 30m, 4h, 1h30m, 3d)"
    )]
    MissingUnit {
        /// The whole input.
        input: String,
        /// The number without a unit.
        number: String,
    },
    /// Something other than a digit where a number must start.
    #[error("`{input}` is not a duration: expected a number at `{rest}` (write it like 30m, 4h, 1h30m or 3d)")]
    ExpectedNumber {
        /// The whole input.
        input: String,
        /// The part that could not be read.
        rest: String,
    },
    /// The total does not fit.
    #[error("`{input}` is too long a duration")]
    Overflow {
        /// The whole input.
        input: String,
    },
}

/// Parses a refit duration (`30m`, `4h`, `1h30m`, `3d`).
pub fn parse(input: &str) -> Result<Duration, DurationError> {
    if input.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total: u64 = 0;
    let mut rest = input;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::ExpectedNumber {
                input: input.to_owned(),
                rest: rest.to_owned(),
            });
        }
        let (number, after) = rest.split_at(digits);
        let seconds_per_unit: u64 = match after.as_bytes().first() {
            Some(b's') => 1,
            Some(b'm') => 60,
            Some(b'h') => 3_600,
            Some(b'd') => 86_400,
            _ => {
                return Err(DurationError::MissingUnit {
                    input: input.to_owned(),
                    number: number.to_owned(),
                });
            }
        };
        let overflow = || DurationError::Overflow {
            input: input.to_owned(),
        };
        let value: u64 = number.parse().map_err(|_| overflow())?;
        total = value
            .checked_mul(seconds_per_unit)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(overflow)?;
        rest = &after[1..];
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration the way specs write it, largest units first
/// (`1h30m`, `3d`, `0s`). [`parse`] reads it back to the same value.
pub fn format(duration: Duration) -> String {
    Written(duration).to_string()
}

/// A duration as specs write it, for `write!` without an intermediate
/// string (selection explains soak times for every image a scan judges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written(pub Duration);

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut seconds = self.0.as_secs();
        if seconds == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if seconds >= size {
                write!(f, "{}{unit}", seconds / size)?;
                seconds %= size;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn reads_the_durations_specs_use() {
        for (text, seconds) in [
            ("30m", 1_800),
            ("4h", 14_400),
            ("1h30m", 5_400),
            ("3d", 259_200),
            ("45s", 45),
            ("0m", 0),
            ("1d12h", 129_600),
        ] {
            assert_eq!(parse(text), Ok(Duration::from_secs(seconds)), "{text}");
        }
    }

    #[test]
    fn says_what_is_wrong_with_a_duration() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        assert_eq!(
            parse("4").map_err(|e| e.to_string()),
            Err("`4` is not a duration: after 4 expected one of the units s, m, h, d (e.g. 30m, 4h, 1h30m, 3d)".into())
        );
        assert_eq!(
            parse("2w").map_err(|e| e.to_string()),
            Err(
                "`2w` is not a duration: after 2 expected one of the units s, m, h, d (e.g. 30m, 4h, 1h30m, 3d)".into()
            )
        );
        assert_eq!(
            parse("4 hours").map_err(|e| e.to_string()),
            Err(
                "`4 hours` is not a duration: after 4 expected one of the units s, m, h, d (e.g. 30m, 4h, 1h30m, 3d)"
                    .into()
            )
        );
        assert_eq!(
            parse("h4").map_err(|e| e.to_string()),
            Err("`h4` is not a duration: expected a number at `h4` (write it like 30m, 4h, 1h30m or 3d)".into())
        );
        assert!(matches!(
            parse("99999999999999999999d"),
            Err(DurationError::Overflow { .. })
        ));
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(seconds in 0u64..10_000_000_000) {
            let duration = Duration::from_secs(seconds);
            prop_assert_eq!(parse(&format(duration)), Ok(duration));
        }

        #[test]
        fn never_panics(input in "\\PC{0,20}") {
            let _ = parse(&input);
        }

        /// Whatever the CRD's pattern admits, the parser reads.
        #[test]
        fn reads_everything_the_crd_pattern_admits(input in "([0-9]{1,6}[smhd]){1,4}") {
            prop_assert!(parse(&input).is_ok());
        }
    }
}
