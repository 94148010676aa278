//! The cron expressions of `windows[].schedule`: the standard five fields
//! (minute hour day-of-month month day-of-week) of crontab(5), read into bit
//! sets and matched against local calendar dates and wall-clock times.
//!
//! refit reads cron itself rather than through a crate. `cron` wants six or
//! seven fields (seconds first). `croner` accepts more than the standard (`L`,
//! `W`, `#`, `?`, `+`, seconds and year fields, `@` macros), so a spec that a
//! person reads as "standard cron" could mean something else; its errors are
//! free text that cannot name the field and token; and it resolves
//! daylight-saving gaps and repeated hours by its own rules. Change windows
//! need exactly refit's DST rules (see [`super::zone`]), so this module only
//! answers "does this date match" and "at which wall-clock times", and the
//! caller turns wall-clock times into instants.
//!
//! Day matching follows crontab(5): when both day-of-month and day-of-week
//! are restricted (neither starts with `*`), a day matches when either
//! matches; otherwise both must match. `*/2` starts with `*`, so like Vixie
//! cron it counts as unrestricted for this rule.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// One of the five fields of a cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronField {
    /// Minute of the hour, 0-59.
    Minute,
    /// Hour of the day, 0-23.
    Hour,
    /// Day of the month, 1-31.
    DayOfMonth,
    /// Month, 1-12 or `JAN`-`DEC`.
    Month,
    /// Day of the week, 0-7 (0 and 7 are Sunday) or `SUN`-`SAT`.
    DayOfWeek,
}

const FIELDS: [CronField; 5] = [
    CronField::Minute,
    CronField::Hour,
    CronField::DayOfMonth,
    CronField::Month,
    CronField::DayOfWeek,
];

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl CronField {
    /// The name used in error messages, e.g. `day-of-month`.
    pub fn name(self) -> &'static str {
        match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        }
    }

    fn bounds(self) -> (u32, u32) {
        match self {
            CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 7),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            CronField::Minute => "a number 0-59",
            CronField::Hour => "a number 0-23",
            CronField::DayOfMonth => "a number 1-31",
            CronField::Month => "a number 1-12 or a month name (JAN-DEC)",
            CronField::DayOfWeek => "a number 0-7 (0 and 7 are Sunday) or a day name (SUN-SAT)",
        }
    }

    fn value_of_name(self, text: &str) -> Option<u32> {
        let names: &[&str] = match self {
            CronField::Month => &MONTH_NAMES,
            CronField::DayOfWeek => &DAY_NAMES,
            _ => return None,
        };
        let offset = if self == CronField::Month { 1 } else { 0 };
        (0u32..)
            .zip(names)
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(index, _)| index + offset)
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a schedule is not a cron expression refit reads: the field (when the
/// problem is inside one), the token that is wrong, and what is wrong with
/// it. Shown as `day-of-month field "31-30": the range runs backwards …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronProblem {
    /// The field, or `None` when the expression as a whole is wrong.
    pub field: Option<CronField>,
    /// The offending token (a list element, or the whole expression).
    pub token: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for CronProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "{field} field {:?}: {}", self.token, self.message),
            None => write!(f, "{:?} {}", self.token, self.message),
        }
    }
}

/// How day-of-month and day-of-week combine (crontab(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayRule {
    /// At least one of the two fields starts with `*`: both must match.
    Both,
    /// Both are restricted: either may match.
    Either,
}

/// A parsed five-field cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    /// Bits 0-6, Sunday = 0 (a 7 in the expression is folded into 0).
    days_of_week: u64,
    day_rule: DayRule,
}

impl Cron {
    /// Parses a standard five-field expression such as `0 22 * * FRI,SAT`.
    pub fn parse(expression: &str) -> Result<Cron, CronProblem> {
        let whole = |message: String| CronProblem {
            field: None,
            token: expression.to_owned(),
            message,
        };
        let trimmed = expression.trim();
        if trimmed.starts_with('@') {
            return Err(whole(
                "is a macro; refit reads only the five fields (minute hour day-of-month month day-of-week), e.g. \"0 0 * * *\" instead of @daily".to_owned(),
            ));
        }
        let parts: Vec<&str> = trimmed.split_whitespace().collect();
        let [minute, hour, day_of_month, month, day_of_week] = parts[..] else {
            let found = parts.len();
            let hint = if matches!(found, 6 | 7) {
                "; refit schedules have no seconds or year field"
            } else {
                ""
            };
            return Err(whole(format!(
                "has {found} fields; expected 5: minute hour day-of-month month day-of-week{hint}"
            )));
        };
        let texts = [minute, hour, day_of_month, month, day_of_week];
        let mut bits = [0u64; 5];
        for ((field, text), slot) in FIELDS.iter().zip(texts).zip(bits.iter_mut()) {
            *slot = parse_field(*field, text)?;
        }
        let [minutes, hours, days_of_month, months, mut days_of_week] = bits;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        let restricted = |text: &str| !text.starts_with('*');
        let day_rule = if restricted(day_of_month) && restricted(day_of_week) {
            DayRule::Either
        } else {
            DayRule::Both
        };
        Ok(Cron {
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            day_rule,
        })
    }

    /// Whether the expression fires at some time of `date`.
    pub fn matches_date(&self, date: NaiveDate) -> bool {
        if !bit(self.months, date.month()) {
            return false;
        }
        let day_of_month = bit(self.days_of_month, date.day());
        let day_of_week = bit(self.days_of_week, date.weekday().num_days_from_sunday());
        match self.day_rule {
            DayRule::Both => day_of_month && day_of_week,
            DayRule::Either => day_of_month || day_of_week,
        }
    }

    /// The wall-clock times at which it fires on a matching date, as minutes
    /// after midnight, in increasing order.
    pub fn minutes_of_day(&self) -> Vec<u16> {
        let mut out = Vec::new();
        for hour in 0u16..24 {
            if bit(self.hours, hour.into()) {
                for minute in 0u16..60 {
                    if bit(self.minutes, minute.into()) {
                        out.push(hour * 60 + minute);
                    }
                }
            }
        }
        out
    }

    /// Whether some calendar date ever matches. Only day-of-month and month
    /// can conflict (`30 2`: February has no 30th); any month/day pair that
    /// exists falls on every weekday over the years, and with the "either"
    /// rule every week has a matching day.
    pub fn matches_some_date(&self) -> bool {
        if self.day_rule == DayRule::Either {
            return true;
        }
        (1..=12u32).filter(|month| bit(self.months, *month)).any(|month| {
            let longest = match month {
                2 => 29,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            (1..=longest).any(|day| bit(self.days_of_month, day))
        })
    }
}

fn bit(set: u64, index: u32) -> bool {
    index < 64 && set & (1 << index) != 0
}

fn parse_field(field: CronField, text: &str) -> Result<u64, CronProblem> {
    let mut bits = 0;
    for element in text.split(',') {
        if element.is_empty() {
            return Err(CronProblem {
                field: Some(field),
                token: text.to_owned(),
                message: "has an empty list element (two commas, or a comma at an end)".to_owned(),
            });
        }
        bits |= parse_element(field, element)?;
    }
    Ok(bits)
}

/// One list element: `*`, `N`, `A-B`, each optionally followed by `/STEP`
/// (a step on a single number is rejected, as crontab(5) does).
fn parse_element(field: CronField, element: &str) -> Result<u64, CronProblem> {
    let problem = |message: String| CronProblem {
        field: Some(field),
        token: element.to_owned(),
        message,
    };
    let (range, step) = match element.split_once('/') {
        None => (element, None),
        Some((range, step_text)) => {
            let step = match step_text.parse::<u32>() {
                Ok(step) if step >= 1 && step_text.bytes().all(|b| b.is_ascii_digit()) => step,
                Ok(0) => return Err(problem("a step must be at least 1".to_owned())),
                _ => return Err(problem(format!("the step {step_text:?} is not a number"))),
            };
            (range, Some(step))
        }
    };
    let (low, high) = if range == "*" {
        field.bounds()
    } else if let Some((start, end)) = range.split_once('-') {
        let low = value(field, start).map_err(&problem)?;
        let mut high = value(field, end).map_err(&problem)?;
        // `FRI-SUN` reads naturally; SUN is 0, so the end becomes 7.
        if field == CronField::DayOfWeek && high == 0 && low > 0 && field.value_of_name(end).is_some() {
            high = 7;
        }
        if low > high {
            return Err(problem(format!(
                "the range runs backwards ({start} is after {end}); write the smaller value first"
            )));
        }
        (low, high)
    } else {
        let single = value(field, range).map_err(&problem)?;
        if let Some(step) = step {
            let (_, max) = field.bounds();
            return Err(problem(format!(
                "a step needs a range or `*`, e.g. {single}-{max}/{step} or */{step}"
            )));
        }
        (single, single)
    };
    let step = step.unwrap_or(1);
    let mut bits = 0;
    let mut current = low;
    while current <= high {
        bits |= 1 << current;
        match current.checked_add(step) {
            Some(next) => current = next,
            None => break,
        }
    }
    Ok(bits)
}

fn value(field: CronField, text: &str) -> Result<u32, String> {
    let (min, max) = field.bounds();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(number) if (min..=max).contains(&number) => Ok(number),
            _ => Err(format!("{text} is out of range {min}-{max}")),
        };
    }
    field
        .value_of_name(text)
        .ok_or_else(|| format!("{text:?} is not {}", field.expected()))
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDate};
    use proptest::prelude::*;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn dates_in(cron: &str, from: NaiveDate, days: i64) -> Vec<NaiveDate> {
        let cron = Cron::parse(cron).expect("valid test cron");
        (0..days)
            .map(|offset| from + Duration::days(offset))
            .filter(|d| cron.matches_date(*d))
            .collect()
    }

    fn problem(expression: &str) -> String {
        Cron::parse(expression)
            .map(|_| ())
            .expect_err("must be rejected")
            .to_string()
    }

    #[test]
    fn reads_times_from_minutes_and_hours_with_ranges_steps_and_lists() {
        let cron = Cron::parse("0,30 22-23 * * *").expect("valid");
        assert_eq!(cron.minutes_of_day(), vec![1320, 1350, 1380, 1410]);
        let cron = Cron::parse("*/20 */12 * * *").expect("valid");
        assert_eq!(cron.minutes_of_day(), vec![0, 20, 40, 720, 740, 760]);
        let cron = Cron::parse("5-20/5 1 * * *").expect("valid");
        assert_eq!(cron.minutes_of_day(), vec![65, 70, 75, 80]);
    }

    #[test]
    fn names_of_days_and_months_are_case_insensitive_and_work_in_ranges() {
        // 2026-11-27 is a Friday.
        assert_eq!(
            dates_in("0 22 * * fri,SAT", date(2026, 11, 23), 7),
            vec![date(2026, 11, 27), date(2026, 11, 28)]
        );
        assert_eq!(
            dates_in("0 22 * * Mon-Wed", date(2026, 11, 23), 7),
            vec![date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)]
        );
        assert_eq!(
            dates_in("0 0 1 jan-MAR *", date(2026, 1, 1), 365),
            vec![date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
        );
    }

    #[test]
    fn sunday_is_both_zero_and_seven_and_fri_to_sun_wraps_to_seven() {
        let sundays = dates_in("0 0 * * 0", date(2026, 11, 23), 14);
        assert_eq!(sundays, vec![date(2026, 11, 29), date(2026, 12, 6)]);
        assert_eq!(dates_in("0 0 * * 7", date(2026, 11, 23), 14), sundays);
        assert_eq!(
            dates_in("0 0 * * FRI-SUN", date(2026, 11, 23), 7),
            vec![date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]
        );
        assert_eq!(
            dates_in("0 0 * * 5-7", date(2026, 11, 23), 7),
            dates_in("0 0 * * FRI-SUN", date(2026, 11, 23), 7)
        );
    }

    #[test]
    fn restricted_day_of_month_and_day_of_week_match_when_either_matches() {
        // The 13th of each month, and every Friday: the classic crontab rule.
        let matched = dates_in("0 0 13 * FRI", date(2026, 11, 1), 30);
        assert_eq!(
            matched,
            vec![
                date(2026, 11, 6),
                date(2026, 11, 13),
                date(2026, 11, 20),
                date(2026, 11, 27)
            ]
        );
        let matched = dates_in("0 0 1 * MON", date(2026, 6, 1), 30);
        assert!(matched.contains(&date(2026, 6, 1)) && matched.contains(&date(2026, 6, 8)));
        assert_eq!(matched.len(), 5, "{matched:?}");
    }

    #[test]
    fn a_star_prefixed_field_makes_both_day_fields_required() {
        // `*/2` starts with `*`, so only odd days that are also Mondays match.
        assert_eq!(
            dates_in("0 0 */2 * MON", date(2026, 6, 1), 30),
            vec![date(2026, 6, 1), date(2026, 6, 15), date(2026, 6, 29)]
        );
        assert_eq!(dates_in("0 0 * * MON", date(2026, 6, 1), 7), vec![date(2026, 6, 1)]);
    }

    #[test]
    fn month_ends_and_leap_days_only_match_dates_that_exist() {
        let thirty_firsts = dates_in("0 22 31 * *", date(2026, 1, 1), 365);
        assert_eq!(thirty_firsts.len(), 7);
        assert!(thirty_firsts.iter().all(|d| d.day() == 31));
        assert_eq!(
            dates_in("0 1 29 2 *", date(2026, 1, 1), 4 * 366),
            vec![date(2028, 2, 29)]
        );
    }

    #[test]
    fn knows_whether_any_date_can_ever_match() {
        for never in ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30-31 FEB *"] {
            assert!(!Cron::parse(never).expect("valid").matches_some_date(), "{never}");
        }
        for sometimes in ["0 1 29 2 *", "0 0 31 * *", "0 0 30 2 MON", "0 0 * * *"] {
            assert!(
                Cron::parse(sometimes).expect("valid").matches_some_date(),
                "{sometimes}"
            );
        }
    }

    #[test]
    fn invalid_expressions_name_the_field_and_the_token() {
        for (expression, message) in [
            (
                "0 0 31-30 * *",
                "day-of-month field \"31-30\": the range runs backwards (31 is after 30); write the smaller value first",
            ),
            ("60 0 * * *", "minute field \"60\": 60 is out of range 0-59"),
            ("0 24 * * *", "hour field \"24\": 24 is out of range 0-23"),
            ("0 0 0 * *", "day-of-month field \"0\": 0 is out of range 1-31"),
            ("0 0 * 13 *", "month field \"13\": 13 is out of range 1-12"),
            ("0 0 * * 8", "day-of-week field \"8\": 8 is out of range 0-7"),
            (
                "0 0 * JANUARY *",
                "month field \"JANUARY\": \"JANUARY\" is not a number 1-12 or a month name (JAN-DEC)",
            ),
            (
                "0 0 * * FRY",
                "day-of-week field \"FRY\": \"FRY\" is not a number 0-7 (0 and 7 are Sunday) or a day name (SUN-SAT)",
            ),
            (
                "0 0 MON * *",
                "day-of-month field \"MON\": \"MON\" is not a number 1-31",
            ),
            ("0 0 L * *", "day-of-month field \"L\": \"L\" is not a number 1-31"),
            ("*/0 * * * *", "minute field \"*/0\": a step must be at least 1"),
            ("*/x * * * *", "minute field \"*/x\": the step \"x\" is not a number"),
            (
                "5/15 * * * *",
                "minute field \"5/15\": a step needs a range or `*`, e.g. 5-59/15 or */15",
            ),
            (
                "0 1,,2 * * *",
                "hour field \"1,,2\": has an empty list element (two commas, or a comma at an end)",
            ),
            (
                "0 0 22 * * *",
                "\"0 0 22 * * *\" has 6 fields; expected 5: minute hour day-of-month month day-of-week; refit schedules have no seconds or year field",
            ),
            (
                "0 0 22 * * * 2026",
                "\"0 0 22 * * * 2026\" has 7 fields; expected 5: minute hour day-of-month month day-of-week; refit schedules have no seconds or year field",
            ),
            (
                "0 22 * *",
                "\"0 22 * *\" has 4 fields; expected 5: minute hour day-of-month month day-of-week",
            ),
            (
                "@daily",
                "\"@daily\" is a macro; refit reads only the five fields (minute hour day-of-month month day-of-week), e.g. \"0 0 * * *\" instead of @daily",
            ),
            (
                "0 99999999999 * * *",
                "hour field \"99999999999\": 99999999999 is out of range 0-23",
            ),
        ] {
            assert_eq!(problem(expression), message, "{expression}");
        }
    }

    #[test]
    fn the_problem_says_which_field_it_is_in() {
        let problem = Cron::parse("0 0 31-30 * *").expect_err("backwards range");
        assert_eq!(problem.field, Some(CronField::DayOfMonth));
        assert_eq!(problem.token, "31-30");
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(input in "\\PC{0,40}") {
            let _ = Cron::parse(&input);
        }

        #[test]
        fn never_panics_on_cron_shaped_text(input in "([0-9*/,A-Za-z-]{1,8} ){4}[0-9*/,A-Za-z-]{1,8}") {
            if let Ok(cron) = Cron::parse(&input) {
                let _ = cron.minutes_of_day();
                let _ = cron.matches_some_date();
            }
        }

        /// A single number in each field fires exactly at that minute.
        #[test]
        fn single_values_fire_exactly_once_a_day(minute in 0u16..60, hour in 0u16..24) {
            let cron = Cron::parse(&format!("{minute} {hour} * * *")).expect("valid");
            prop_assert_eq!(cron.minutes_of_day(), vec![hour * 60 + minute]);
        }
    }
}
