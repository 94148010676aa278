//! Validating a PatchPolicy: everything the API server could not check
//! (regexes, semver ranges, globs, durations, selector operators, sidecar
//! image references), every problem named by its field. Pure: no client is
//! needed, and the scanner and the reconciler reach the same verdict.

use std::time::Duration;

use crate::{
    api::PatchPolicySpec,
    core::{
        duration,
        governance::validate_selector,
        policy::{ImageRules, SpecError},
        reference::ImageReference,
    },
};

/// The shortest scan interval (the CRD also says so).
pub const MIN_SCAN_INTERVAL: Duration = Duration::from_secs(60);

/// A policy refit can act on.
#[derive(Debug, Clone)]
pub struct ValidPolicy {
    /// Its image rules.
    pub rules: ImageRules,
    /// `spec.scanInterval`.
    pub scan_interval: Duration,
    /// Whether base images are checked.
    pub check_base_images: bool,
    /// `spec.ticketExpiry`.
    pub ticket_expiry: Duration,
    /// `spec.rollout.progressDeadline`.
    pub progress_deadline: Duration,
    /// `spec.rollout.verifyFor`.
    pub verify_for: Duration,
    /// `spec.rollout.rollbackOnFailure`.
    pub rollback_on_failure: bool,
}

/// Checks a spec; on failure, every problem.
pub fn validate(spec: &PatchPolicySpec) -> Result<ValidPolicy, Vec<SpecError>> {
    let mut errors = Vec::new();
    let rules = ImageRules::compile(spec).map_err(|mut problems| errors.append(&mut problems));
    if let Some(selector) = &spec.namespace_selector {
        errors.extend(validate_selector("spec.namespaceSelector", selector));
    }
    if let Some(selector) = &spec.selector {
        errors.extend(validate_selector("spec.selector", selector));
    }
    let mut parse = |field: &str, text: &str| match duration::parse(text) {
        Ok(value) => Some(value),
        Err(error) => {
            errors.push(SpecError {
                field: field.to_owned(),
                problem: error.to_string(),
            });
            None
        }
    };
    let scan_interval = parse("spec.scanInterval", &spec.scan_interval);
    let ticket_expiry = parse("spec.ticketExpiry", &spec.ticket_expiry);
    let progress_deadline = parse("spec.rollout.progressDeadline", &spec.rollout.progress_deadline);
    let verify_for = parse("spec.rollout.verifyFor", &spec.rollout.verify_for);
    if let Some(interval) = scan_interval
        && interval < MIN_SCAN_INTERVAL
    {
        errors.push(SpecError {
            field: "spec.scanInterval".into(),
            problem: format!("`{}` is shorter than the minimum of 1m", spec.scan_interval),
        });
    }
    for (index, sidecar) in spec.runtime.iter().flat_map(|r| r.sidecars.iter()).enumerate() {
        if let Some(image) = &sidecar.image
            && let Err(error) = ImageReference::parse(image)
        {
            errors.push(SpecError {
                field: format!("spec.runtime.sidecars[{index}].image"),
                problem: format!("`{image}` is not an image reference: {error}"),
            });
        }
    }
    match (rules, scan_interval, ticket_expiry, progress_deadline, verify_for) {
        (Ok(rules), Some(scan_interval), Some(ticket_expiry), Some(progress_deadline), Some(verify_for))
            if errors.is_empty() =>
        {
            Ok(ValidPolicy {
                rules,
                scan_interval,
                check_base_images: spec.base_images.as_ref().is_some_and(|b| b.enabled),
                ticket_expiry,
                progress_deadline,
                verify_for,
                rollback_on_failure: spec.rollout.rollback_on_failure,
            })
        }
        _ => Err(errors),
    }
}

/// The problems as one message for a condition or an event.
pub fn message(errors: &[SpecError]) -> String {
    let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    listed.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> PatchPolicySpec {
        serde_json::from_value(json).expect("a spec")
    }

    #[test]
    fn a_valid_policy_compiles_with_its_interval() {
        let valid = validate(&spec(serde_json::json!({"scanInterval": "30m", "baseImages": {}}))).expect("valid");
        assert_eq!(valid.scan_interval, Duration::from_secs(1800));
        assert!(valid.check_base_images);
    }

    #[test]
    fn every_problem_names_its_field() {
        let errors = validate(&spec(serde_json::json!({
            "images": [{"match": "nginx", "allowTags": "^(1"}],
            "selector": {"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["web"]}]},
            "scanInterval": "30s",
        })))
        .expect_err("invalid");
        let text = message(&errors);
        assert!(
            text.contains("spec.images[0].allowTags: `^(1` is not a valid regular expression"),
            "{text}"
        );
        assert!(text.contains("spec.selector.matchExpressions[0].operator"), "{text}");
        assert!(
            text.contains("spec.scanInterval: `30s` is shorter than the minimum of 1m"),
            "{text}"
        );
    }
}
