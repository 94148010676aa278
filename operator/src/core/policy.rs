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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryGlob {
    normalized: String,
}

impl RepositoryGlob {
    /// Normalizes a pattern (see the type's doc).
    pub fn new(pattern: &str) -> RepositoryGlob {
        let is_glob = |s: &str| s.contains(['*', '?']);
        let normalized = match pattern.split_once('/') {
            _ if pattern.starts_with(['*', '?']) => pattern.to_owned(),
            None => format!("{DOCKER_HUB}/library/{pattern}"),
            Some((first, _)) if is_glob(first) => pattern.to_owned(),
            Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => {
                let mut normalized = pattern.to_owned();
                for alias in ["index.docker.io/", "registry-1.docker.io/"] {
                    if let Some(rest) = pattern.strip_prefix(alias) {
                        normalized = format!("{DOCKER_HUB}/{rest}");
                    }
                }
                normalized
            }
            Some(_) => format!("{DOCKER_HUB}/{pattern}"),
        };
        RepositoryGlob { normalized }
    }

    fn validate(pattern: &str) -> Result<(), String> {
        if pattern.is_empty() {
            return Err("the pattern cannot be empty; use `**` for every image".into());
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
    use super::*;

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
}
