//! A PatchPolicy's image rules, checked and compiled: what only Rust can
//! validate (regexes, semver ranges, globs, durations) is validated here,
//! with errors that name the field, so the controller can report
//! `InvalidSpec` and `refit scan` can refuse a bad `--policy` file.

use std::time::Duration;

use regex::Regex;

use super::{constraint::Constraint, duration, reference::DOCKER_HUB};
use crate::api::patch_policy::{ImageRule, PatchPolicySpec, UpdateStrategy};

/// A spec problem: the field (`spec.images[1].allowTags`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct SpecError {
    /// JSON path of the field, as `kubectl explain` spells it.
    pub field: String,
    /// What is wrong and, where possible, how to fix it.
    pub problem: String,
}

/// One image rule, ready to use.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Position in `spec.images` (for messages); `None` for the implicit
    /// rule of a policy without `images`.
    pub index: Option<usize>,
    /// The `match` pattern after normalization.
    pub pattern: RepositoryGlob,
    /// How far images may move.
    pub update: UpdateStrategy,
    /// A version range candidates must satisfy.
    pub constraint: Option<Constraint>,
    /// Only tags matching this are candidates.
    pub allow_tags: Option<Regex>,
    /// Tags matching this are never candidates.
    pub ignore_tags: Option<Regex>,
    /// Whether pre-releases may be candidates.
    pub allow_prerelease: bool,
    /// Soak time.
    pub min_age: Option<Duration>,
    /// Roll out as `tag@digest`.
    pub pin_digest: bool,
}

impl CompiledRule {
    /// The rule a policy without `images` applies to every image: the
    /// field defaults of an image rule, matching everything.
    pub fn default_for_all() -> CompiledRule {
        CompiledRule {
            index: None,
            pattern: RepositoryGlob::new("**"),
            update: UpdateStrategy::default(),
            constraint: None,
            allow_tags: None,
            ignore_tags: None,
            allow_prerelease: false,
            min_age: None,
            pin_digest: true,
        }
    }
}

/// A policy's image rules in order; the first that matches a repository
/// governs it.
#[derive(Debug, Clone)]
pub struct ImageRules {
    rules: Vec<CompiledRule>,
}

impl ImageRules {
    /// Compiles `spec.images`. All problems are reported, not just the
    /// first.
    pub fn compile(spec: &PatchPolicySpec) -> Result<ImageRules, Vec<SpecError>> {
        if spec.images.is_empty() {
            return Ok(ImageRules {
                rules: vec![CompiledRule::default_for_all()],
            });
        }
        let mut errors = Vec::new();
        let mut rules = Vec::new();
        for (index, rule) in spec.images.iter().enumerate() {
            match compile_rule(index, rule) {
                Ok(compiled) => rules.push(compiled),
                Err(mut problems) => errors.append(&mut problems),
            }
        }
        if errors.is_empty() {
            Ok(ImageRules { rules })
        } else {
            Err(errors)
        }
    }

    /// The rule for a normalized repository name
    /// (`docker.io/library/nginx`), if any.
    pub fn rule_for(&self, repository: &str) -> Option<&CompiledRule> {
        self.rules.iter().find(|rule| rule.pattern.matches(repository))
    }

    /// The rules in order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }
}

fn compile_rule(index: usize, rule: &ImageRule) -> Result<CompiledRule, Vec<SpecError>> {
    let field = |name: &str| format!("spec.images[{index}].{name}");
    let mut errors = Vec::new();
    let regex = |name: &str, pattern: &Option<String>, errors: &mut Vec<SpecError>| {
        pattern.as_deref().and_then(|pattern| match Regex::new(pattern) {
            Ok(regex) => Some(regex),
            Err(error) => {
                errors.push(SpecError {
                    field: field(name),
                    problem: format!(
                        "`{pattern}` is not a valid regular expression: {}",
                        regex_error_summary(&error.to_string())
                    ),
                });
                None
            }
        })
    };
    let allow_tags = regex("allowTags", &rule.allow_tags, &mut errors);
    let ignore_tags = regex("ignoreTags", &rule.ignore_tags, &mut errors);
    let constraint = rule
        .constraint
        .as_deref()
        .and_then(|text| match Constraint::parse(text) {
            Ok(constraint) => Some(constraint),
            Err(error) => {
                errors.push(SpecError {
                    field: field("constraint"),
                    problem: format!(
                        "`{text}` is not a semver range ({error}); write it as Flux, Argo CD Image Updater and Helm do, e.g. `>=1.25 <1.28`, `~1.25`, `1.25.x` or `^1.25 || ^2.0`"
                    ),
                });
                None
            }
        });
    if constraint.is_some()
        && !matches!(
            rule.update,
            UpdateStrategy::Patch | UpdateStrategy::Minor | UpdateStrategy::Major
        )
    {
        errors.push(SpecError {
            field: field("constraint"),
            problem: "a constraint applies only when update is patch, minor or major".into(),
        });
    }
    let min_age = rule.min_age.as_deref().and_then(|text| match duration::parse(text) {
        Ok(age) => Some(age),
        Err(error) => {
            errors.push(SpecError {
                field: field("minAge"),
                problem: error.to_string(),
            });
            None
        }
    });
    if let Err(problem) = RepositoryGlob::validate(&rule.repository) {
        errors.push(SpecError {
            field: field("match"),
            problem,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CompiledRule {
        index: Some(index),
        pattern: RepositoryGlob::new(&rule.repository),
        update: rule.update,
        constraint,
        allow_tags,
        ignore_tags,
        allow_prerelease: rule.allow_prerelease,
        min_age,
        pin_digest: rule.pin_digest,
    })
}

/// The regex crate's messages draw the pattern over several lines and end
/// with the one-line error; keep that line.
fn regex_error_summary(text: &str) -> &str {
    text.lines().last().unwrap_or(text).trim()
}

/// A glob over normalized repository names: `*` matches within one path
/// segment, `**` across segments, `?` one character other than `/`.
///
/// A pattern is normalized like an image name when its first segment is
/// plain text that is not a registry host, so `nginx` means
/// `docker.io/library/nginx` and `bitnami/*` means `docker.io/bitnami/*`.
/// Docker Hub's other names are spelled `docker.io`, and a plain
/// one-segment Docker Hub name gets `library/` as an image's would
/// (`docker.io/nginx` means `docker.io/library/nginx`).
///
/// Every normalized repository has a registry and at least one path
/// segment, and Docker Hub's have at least two path segments; so a pattern
/// of one segment that is not normalized (`*`, `*-exporter`) and a Docker
/// Hub pattern of one globbed path segment (`docker.io/*`) match nothing
/// unless they contain `**`. [`ImageRules::compile`] (and the CRD's CEL
/// rules on `match`) refuse them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryGlob {
    normalized: String,
}

/// Docker Hub's names as a pattern may start with them.
const DOCKER_HUB_PREFIXES: [&str; 3] = ["docker.io/", "index.docker.io/", "registry-1.docker.io/"];

fn is_glob(text: &str) -> bool {
    text.contains(['*', '?'])
}

/// The part after `docker.io/` (or one of its other names), if the
/// pattern names Docker Hub.
fn docker_hub_path(pattern: &str) -> Option<&str> {
    DOCKER_HUB_PREFIXES
        .iter()
        .find_map(|prefix| pattern.strip_prefix(prefix))
}

impl RepositoryGlob {
    /// Normalizes a pattern (see the type's doc).
    pub fn new(pattern: &str) -> RepositoryGlob {
        let normalized = match pattern.split_once('/') {
            _ if pattern.starts_with(['*', '?']) => pattern.to_owned(),
            None => format!("{DOCKER_HUB}/library/{pattern}"),
            Some((first, _)) if is_glob(first) => pattern.to_owned(),
            Some(_) if let Some(path) = docker_hub_path(pattern) => {
                if path.contains('/') || is_glob(path) {
                    format!("{DOCKER_HUB}/{path}")
                } else {
                    format!("{DOCKER_HUB}/library/{path}")
                }
            }
            Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => pattern.to_owned(),
            Some(_) => format!("{DOCKER_HUB}/{pattern}"),
        };
        RepositoryGlob { normalized }
    }

    fn validate(pattern: &str) -> Result<(), String> {
        if pattern.is_empty() {
            return Err("the pattern cannot be empty; use `**` for every image".into());
        }
        // `**` crosses segments, so patterns with it are never refused here.
        let crosses = pattern.contains("**");
        if !crosses && !pattern.contains('/') && pattern.starts_with(['*', '?']) {
            return Err(format!(
                "`{pattern}` matches no image: `*` and `?` stay within one path segment, and every repository has at least two (`docker.io/library/nginx`); use `**` for every image or `docker.io/library/*` for Docker Hub's official images"
            ));
        }
        if !crosses && docker_hub_path(pattern).is_some_and(|path| !path.contains('/') && is_glob(path)) {
            return Err(format!(
                "`{pattern}` matches no image: every Docker Hub repository has two path segments (`docker.io/library/nginx`, `docker.io/bitnami/redis`); use `docker.io/**` for every Docker Hub image or `docker.io/library/*` for the official images"
            ));
        }
        if pattern.contains(char::is_whitespace) {
            return Err(format!("`{pattern}` contains whitespace"));
        }
        if pattern.contains(['@']) || pattern.rsplit('/').next().is_some_and(|last| last.contains(':')) {
            return Err(format!(
                "`{pattern}` names a tag or digest; `match` is a repository pattern (e.g. `docker.io/library/nginx`)"
            ));
        }
        if pattern.contains("***") {
            return Err(format!("`{pattern}`: use `*` within a segment or `**` across segments"));
        }
        Ok(())
    }

    /// The normalized pattern.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// Whether a normalized repository name matches.
    pub fn matches(&self, repository: &str) -> bool {
        glob_match(self.normalized.as_bytes(), repository.as_bytes())
    }
}

/// Iterative glob matching with backtracking to the last star: linear in
/// practice for the short patterns policies use.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // (pattern position after the star, text position, crosses segments)
    let mut backtrack: Option<(usize, usize, bool)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            let double = pattern.get(p + 1) == Some(&b'*');
            p += if double { 2 } else { 1 };
            backtrack = Some((p, t, double));
            continue;
        }
        if p < pattern.len() && (pattern[p] == text[t] || (pattern[p] == b'?' && text[t] != b'/')) {
            p += 1;
            t += 1;
            continue;
        }
        match backtrack {
            Some((star_p, star_t, crosses)) if crosses || text[star_t] != b'/' => {
                backtrack = Some((star_p, star_t + 1, crosses));
                p = star_p;
                t = star_t + 1;
            }
            _ => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::core::reference::ImageReference;

    fn spec_with(images: serde_json::Value) -> PatchPolicySpec {
        serde_json::from_value(serde_json::json!({ "images": images })).expect("a valid spec shape")
    }

    #[test]
    fn patterns_match_normalized_repositories() {
        let cases = [
            ("nginx", "docker.io/library/nginx", true),
            ("nginx", "docker.io/library/nginx-exporter", false),
            ("docker.io/library/nginx", "docker.io/library/nginx", true),
            ("index.docker.io/library/nginx", "docker.io/library/nginx", true),
            ("bitnami/*", "docker.io/bitnami/redis", true),
            ("ghcr.io/acme/*", "ghcr.io/acme/storefront", true),
            ("ghcr.io/acme/*", "ghcr.io/acme/team/api", false),
            ("ghcr.io/acme/**", "ghcr.io/acme/team/api", true),
            ("**", "registry.k8s.io/pause", true),
            ("*", "docker.io/library/nginx", false),
            ("*/library/*", "docker.io/library/python", true),
            ("localhost:5000/team/app-?", "localhost:5000/team/app-1", true),
            ("localhost:5000/team/app-?", "localhost:5000/team/app-12", false),
            ("**/node", "docker.io/library/node", true),
            ("**/node", "docker.io/library/nodered", false),
            // A plain one-segment pattern is a Docker Hub official image,
            // globbed or not, and so is a plain one after `docker.io/`.
            ("ngin?", "docker.io/library/nginx", true),
            ("nginx-*", "docker.io/library/nginx-exporter", true),
            ("docker.io/nginx", "docker.io/library/nginx", true),
            ("index.docker.io/nginx", "docker.io/library/nginx", true),
            ("docker.io/library/*", "docker.io/library/python", true),
            ("docker.io/library/*", "docker.io/bitnami/redis", false),
            ("docker.io/**", "docker.io/bitnami/redis", true),
            ("docker.io/*/*", "docker.io/bitnami/redis", true),
        ];
        for (pattern, repository, expected) in cases {
            assert_eq!(
                RepositoryGlob::new(pattern).matches(repository),
                expected,
                "{pattern} ~ {repository}"
            );
        }
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let rules = ImageRules::compile(&spec_with(serde_json::json!([
            {"match": "docker.io/library/nginx", "update": "patch"},
            {"match": "**", "update": "major"},
        ])))
        .expect("valid");
        assert_eq!(
            rules.rule_for("docker.io/library/nginx").map(|r| r.update),
            Some(UpdateStrategy::Patch)
        );
        assert_eq!(
            rules.rule_for("docker.io/library/redis").map(|r| r.update),
            Some(UpdateStrategy::Major)
        );
    }

    #[test]
    fn images_no_rule_matches_are_not_governed() {
        let rules = ImageRules::compile(&spec_with(serde_json::json!([{"match": "ghcr.io/acme/**"}]))).expect("valid");
        assert!(rules.rule_for("docker.io/library/nginx").is_none());
    }

    #[test]
    fn a_policy_without_rules_governs_every_image_with_the_defaults() {
        let rules = ImageRules::compile(&spec_with(serde_json::json!([]))).expect("valid");
        let rule = rules.rule_for("quay.io/prometheus/node-exporter").expect("governed");
        assert_eq!(rule.update, UpdateStrategy::Minor);
        assert!(rule.pin_digest);
        assert!(rule.min_age.is_none());
    }

    #[test]
    fn constraints_written_as_flux_argo_cd_and_helm_write_them_compile() {
        for constraint in [
            ">=1.25 <1.28",
            "<1.27 || >=2.0",
            "!=1.27.1, <1.28",
            "1.25.x",
            "~1.25",
            "^1.25",
            "1.25 - 1.27",
            ">=1.25.0-0",
        ] {
            let spec = spec_with(serde_json::json!([{"match": "nginx", "update": "major", "constraint": constraint}]));
            let rules = ImageRules::compile(&spec).unwrap_or_else(|errors| panic!("`{constraint}`: {errors:?}"));
            assert!(rules.rules()[0].constraint.is_some(), "{constraint}");
        }
    }

    #[test]
    fn an_invalid_constraint_says_what_is_wrong_and_what_would_be_valid() {
        let errors = ImageRules::compile(&spec_with(serde_json::json!([
            {"match": "nginx", "constraint": "> one"},
            {"match": "redis", "constraint": ">=7.2<8"},
        ])))
        .expect_err("invalid");
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "spec.images[0].constraint: `> one` is not a semver range (`one` is not a version: a version starts with a number, `x`, `X` or `*`); write it as Flux, Argo CD Image Updater and Helm do, e.g. `>=1.25 <1.28`, `~1.25`, `1.25.x` or `^1.25 || ^2.0`",
                "spec.images[1].constraint: `>=7.2<8` is not a semver range (`<8` follows `7.2` without a space or a comma between them); write it as Flux, Argo CD Image Updater and Helm do, e.g. `>=1.25 <1.28`, `~1.25`, `1.25.x` or `^1.25 || ^2.0`",
            ]
        );
    }

    #[test]
    fn every_invalid_field_is_named() {
        let errors = ImageRules::compile(&spec_with(serde_json::json!([
            {"match": "docker.io/library/nginx", "allowTags": "^(\\d+\\.\\d+$", "minAge": "3 days"},
            {"match": "redis:7.2", "constraint": "> one"},
        ])))
        .expect_err("invalid");
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 4, "{messages:#?}");
        assert!(
            messages[0].starts_with("spec.images[0].allowTags: `^(\\d+\\.\\d+$` is not a valid regular expression"),
            "{}",
            messages[0]
        );
        assert!(
            messages[1].starts_with("spec.images[0].minAge: `3 days` is not a duration"),
            "{}",
            messages[1]
        );
        assert!(
            messages[2].starts_with("spec.images[1].constraint: `> one` is not a semver range"),
            "{}",
            messages[2]
        );
        assert_eq!(
            messages[3],
            "spec.images[1].match: `redis:7.2` names a tag or digest; `match` is a repository pattern (e.g. `docker.io/library/nginx`)"
        );
    }

    fn match_errors(pattern: &str) -> Vec<String> {
        match ImageRules::compile(&spec_with(serde_json::json!([{"match": pattern}]))) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_lone_star_is_refused_with_the_patterns_that_mean_every_image() {
        assert_eq!(
            match_errors("*"),
            [
                "spec.images[0].match: `*` matches no image: `*` and `?` stay within one path segment, and every repository has at least two (`docker.io/library/nginx`); use `**` for every image or `docker.io/library/*` for Docker Hub's official images"
            ]
        );
    }

    #[test]
    fn one_segment_patterns_that_start_with_a_glob_are_refused() {
        for pattern in ["?", "*x*", "*-exporter", "???*"] {
            let errors = match_errors(pattern);
            assert_eq!(errors.len(), 1, "{pattern}: {errors:?}");
            assert!(
                errors[0].starts_with(&format!("spec.images[0].match: `{pattern}` matches no image: ")),
                "{}",
                errors[0]
            );
        }
    }

    #[test]
    fn a_docker_hub_pattern_of_one_globbed_segment_is_refused() {
        assert_eq!(
            match_errors("docker.io/*"),
            [
                "spec.images[0].match: `docker.io/*` matches no image: every Docker Hub repository has two path segments (`docker.io/library/nginx`, `docker.io/bitnami/redis`); use `docker.io/**` for every Docker Hub image or `docker.io/library/*` for the official images"
            ]
        );
        for pattern in ["index.docker.io/*", "registry-1.docker.io/*", "docker.io/ngin?"] {
            let errors = match_errors(pattern);
            assert!(
                errors.len() == 1 && errors[0].contains("matches no image"),
                "{pattern}: {errors:?}"
            );
        }
    }

    #[test]
    fn patterns_that_can_match_an_image_are_accepted() {
        for (pattern, repository) in [
            ("**", "docker.io/library/nginx"),
            ("*nginx**", "mynginx.example/web"),
            ("nginx", "docker.io/library/nginx"),
            ("ngin?", "docker.io/library/nginx"),
            ("nginx*", "docker.io/library/nginx"),
            ("*/nginx", "registry.example/nginx"),
            ("*/library/*", "docker.io/library/python"),
            ("docker.io/nginx", "docker.io/library/nginx"),
            ("docker.io/**", "docker.io/library/nginx"),
            ("docker.io/*/*", "docker.io/bitnami/redis"),
            ("ghcr.io/*", "ghcr.io/storefront"),
        ] {
            assert_eq!(match_errors(pattern), Vec::<String>::new(), "{pattern}");
            assert!(
                RepositoryGlob::new(pattern).matches(repository),
                "{pattern} ~ {repository}"
            );
        }
    }

    /// Image references over a small alphabet, so that the glob patterns
    /// below have a fair chance of matching them.
    fn repository() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!["", "docker.io/", "index.docker.io/", "ab.io/", "localhost:5000/"]),
            prop::collection::vec("[a-c]{1,3}", 1..4),
        )
            .prop_filter_map("a valid reference", |(host, path)| {
                ImageReference::parse(&format!("{host}{}:1.25.3-alpine3.20", path.join("/")))
                    .ok()
                    .map(|reference| reference.name().to_owned())
            })
    }

    fn pattern() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!["", "docker.io/", "index.docker.io/", "ab.io/"]),
            prop::collection::vec("[a-c*?]{1,4}", 1..3),
        )
            .prop_map(|(host, segments)| format!("{host}{}", segments.join("/")))
    }

    proptest::proptest! {
        #[test]
        fn a_pattern_refused_for_matching_nothing_matches_no_image(
            pattern in pattern(),
            repositories in prop::collection::vec(repository(), 1..32),
        ) {
            let refused = RepositoryGlob::validate(&pattern).is_err_and(|problem| problem.contains("matches no image"));
            if refused {
                let glob = RepositoryGlob::new(&pattern);
                for repository in &repositories {
                    prop_assert!(!glob.matches(repository), "{pattern} was refused but matches {repository}");
                }
            }
        }
    }
}
