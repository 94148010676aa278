//! The real tag histories in `operator/testdata/tags/` (nginx, node,
//! python, postgres and redis: every tag the official images listed, with
//! the instant it was first listed), read the same way by the unit tests
//! and by the core benchmark.
//!
//! Test data, not part of the operator: it is compiled only for refit's
//! own tests and with the `testdata` feature, which nothing but refit's
//! dev-dependency on itself turns on (so `cargo bench` has it and the
//! shipped binary does not carry the ~650 kB of histories).

use chrono::{DateTime, Utc};

use crate::core::version::TagInfo;

/// Each image with its history file, in the order [`tag_histories`] gives
/// them.
const FILES: [(&str, &str); 5] = [
    ("nginx", include_str!("../testdata/tags/nginx.tsv")),
    ("node", include_str!("../testdata/tags/node.tsv")),
    ("python", include_str!("../testdata/tags/python.tsv")),
    ("postgres", include_str!("../testdata/tags/postgres.tsv")),
    ("redis", include_str!("../testdata/tags/redis.tsv")),
];

/// Every history, as `(image, tags)`: nginx, node, python, postgres,
/// redis. Tags are in file order (oldest listing first).
pub fn tag_histories() -> Vec<(&'static str, Vec<TagInfo>)> {
    FILES.iter().map(|(image, text)| (*image, parse(image, text))).collect()
}

/// `tag<TAB>RFC 3339 instant` per line; `#` lines are comments.
///
/// # Panics
/// On a line of another shape, naming the file and line, so a damaged
/// history fails the tests instead of quietly losing tags or dates.
fn parse(image: &str, text: &str) -> Vec<TagInfo> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.is_empty())
        .map(|(index, line)| {
            let created = line
                .split_once('\t')
                .and_then(|(tag, created)| Some((tag, DateTime::parse_from_rfc3339(created).ok()?)));
            let Some((tag, created)) = created else {
                panic!(
                    "operator/testdata/tags/{image}.tsv line {}: expected `tag<TAB>RFC 3339 instant`, found {line:?}",
                    index + 1
                );
            };
            TagInfo {
                tag: tag.to_owned(),
                created: Some(created.with_timezone(&Utc)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_history_is_read_whole_with_its_dates() {
        let histories = tag_histories();
        let names: Vec<&str> = histories.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["nginx", "node", "python", "postgres", "redis"]);
        for (name, tags) in &histories {
            let lines = FILES
                .iter()
                .find(|(file, _)| file == name)
                .map(|(_, text)| text.lines().filter(|l| !l.starts_with('#')).count());
            assert_eq!(Some(tags.len()), lines, "{name}: one tag per line");
        }
        let alpine = histories[0]
            .1
            .iter()
            .find(|t| t.tag == "1.25.3-alpine")
            .expect("nginx lists 1.25.3-alpine");
        assert!(
            alpine.created.is_some_and(|c| c.to_rfc3339().starts_with("2023-")),
            "{alpine:?}"
        );
    }

    #[test]
    #[should_panic(expected = "operator/testdata/tags/nginx.tsv line 2: expected `tag<TAB>RFC 3339 instant`")]
    fn a_line_without_a_date_fails_naming_the_file_and_line() {
        parse("nginx", "# tag\tfirst listed\n1.27.0-alpine\n");
    }
}
