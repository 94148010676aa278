//! Which PatchPolicy governs which workload. A policy matches a workload
//! when its `kinds`, `namespaceSelector` (against the namespace's labels)
//! and `selector` (against the workload's own labels) all match. A workload
//! matched by several policies is governed by exactly one: the highest
//! `priority`, and among equals the alphabetically first name. Every policy
//! that matches a workload it does not govern, or that shares workloads with
//! another, learns about it through [`Overlap`]s, which end up in both
//! policies' `status.overlaps`.
//!
//! Pure: label selectors are evaluated over plain maps; the caller reads
//! labels from the cluster.

use std::{cmp::Ordering, collections::BTreeMap};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::policy::SpecError;
use crate::api::workload::WorkloadKind;

/// Labels as Kubernetes keeps them.
pub type Labels = BTreeMap<String, String>;

/// What of a policy decides which workloads it matches.
#[derive(Debug, Clone, Copy)]
pub struct PolicyScope<'a> {
    /// The policy's name (the tie-breaker).
    pub name: &'a str,
    /// `spec.priority`: the highest governs.
    pub priority: i32,
    /// `spec.namespaceSelector`; `None` matches every namespace.
    pub namespace_selector: Option<&'a LabelSelector>,
    /// `spec.selector`; `None` matches every workload.
    pub selector: Option<&'a LabelSelector>,
    /// `spec.kinds`; empty means every kind.
    pub kinds: &'a [WorkloadKind],
}

/// What of a workload the policies are matched against.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadScope<'a> {
    /// Its kind.
    pub kind: WorkloadKind,
    /// Its own labels (not its pods').
    pub labels: &'a Labels,
    /// Its namespace's labels; `None` when the namespace is not known, which
    /// matches only policies without a namespace selector.
    pub namespace_labels: Option<&'a Labels>,
}

/// Two policies that match some of the same workloads, seen from one of
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// The other policy (index into the policies given to [`govern`]).
    pub other: usize,
    /// Workloads both match.
    pub workloads: usize,
    /// Of those, how many this policy governs.
    pub governed_here: usize,
}

/// The outcome of [`govern`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Governance {
    /// For each workload (in the order given): the index of the policy that
    /// governs it, if any matches.
    pub governor: Vec<Option<usize>>,
    /// For each policy: how many workloads it governs.
    pub governed: Vec<usize>,
    /// For each policy: its overlaps with the others, ordered by the other
    /// policy's index.
    pub overlaps: Vec<Vec<Overlap>>,
}

/// Matches every workload against every policy and picks each workload's
/// governor. Selectors are assumed valid ([`validate_selector`]); an
/// expression with an unknown operator matches nothing.
pub fn govern(policies: &[PolicyScope<'_>], workloads: &[WorkloadScope<'_>]) -> Governance {
    let mut governance = Governance {
        governor: Vec::with_capacity(workloads.len()),
        governed: vec![0; policies.len()],
        overlaps: vec![Vec::new(); policies.len()],
    };
    // (policy, other) → (shared, governed by policy)
    let mut shared: BTreeMap<(usize, usize), (usize, usize)> = BTreeMap::new();
    for workload in workloads {
        let matching: Vec<usize> = (0..policies.len())
            .filter(|&index| policies.get(index).is_some_and(|policy| matches(policy, workload)))
            .collect();
        let governor = matching
            .iter()
            .copied()
            .min_by(|&a, &b| rank(&policies[a], &policies[b]));
        if let Some(governor) = governor {
            governance.governed[governor] += 1;
        }
        for &a in &matching {
            for &b in matching.iter().filter(|&&b| b != a) {
                let entry = shared.entry((a, b)).or_default();
                entry.0 += 1;
                if governor == Some(a) {
                    entry.1 += 1;
                }
            }
        }
        governance.governor.push(governor);
    }
    for ((policy, other), (workloads, governed_here)) in shared {
        governance.overlaps[policy].push(Overlap {
            other,
            workloads,
            governed_here,
        });
    }
    governance
}

/// The order in which policies win a workload: higher priority first, then
/// the alphabetically first name.
fn rank(a: &PolicyScope<'_>, b: &PolicyScope<'_>) -> Ordering {
    b.priority.cmp(&a.priority).then_with(|| a.name.cmp(b.name))
}

/// Whether a policy matches a workload.
pub fn matches(policy: &PolicyScope<'_>, workload: &WorkloadScope<'_>) -> bool {
    if !policy.kinds.is_empty() && !policy.kinds.contains(&workload.kind) {
        return false;
    }
    let namespace_ok = match (policy.namespace_selector, workload.namespace_labels) {
        (None, _) => true,
        (Some(selector), Some(labels)) => selector_matches(selector, labels),
        (Some(selector), None) => is_empty(selector),
    };
    namespace_ok
        && policy
            .selector
            .is_none_or(|selector| selector_matches(selector, workload.labels))
}

fn is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && selector.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// Whether labels satisfy a selector: every `matchLabels` pair, and every
/// expression (`In`, `NotIn`, `Exists`, `DoesNotExist`). An empty selector
/// matches everything.
pub fn selector_matches(selector: &LabelSelector, labels: &Labels) -> bool {
    let pairs = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.get(key) == Some(value));
    pairs
        && selector.match_expressions.iter().flatten().all(|expression| {
            let value = labels.get(&expression.key);
            let values = expression.values.as_deref().unwrap_or_default();
            match expression.operator.as_str() {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// Checks a selector the way the API server checks those of built-in kinds
/// (a PatchPolicy's selectors pass admission unchecked): known operators,
/// values where the operator needs them and none where it does not.
/// `field` is the selector's path, e.g. `spec.namespaceSelector`.
pub fn validate_selector(field: &str, selector: &LabelSelector) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for (index, expression) in selector.match_expressions.iter().flatten().enumerate() {
        let path = format!("{field}.matchExpressions[{index}]");
        let values = expression.values.as_deref().unwrap_or_default();
        match expression.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => errors.push(SpecError {
                field: format!("{path}.values"),
                problem: format!("operator {} needs at least one value", expression.operator),
            }),
            "Exists" | "DoesNotExist" if !values.is_empty() => errors.push(SpecError {
                field: format!("{path}.values"),
                problem: format!("operator {} takes no values", expression.operator),
            }),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errors.push(SpecError {
                field: format!("{path}.operator"),
                problem: format!("{other:?} is not a selector operator; use In, NotIn, Exists or DoesNotExist"),
            }),
        }
        if expression.key.is_empty() {
            errors.push(SpecError {
                field: format!("{path}.key"),
                problem: "the key cannot be empty".into(),
            });
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn match_labels(pairs: &[(&str, &str)]) -> LabelSelector {
        LabelSelector {
            match_labels: Some(labels(pairs)),
            match_expressions: None,
        }
    }

    fn expression(key: &str, operator: &str, values: &[&str]) -> LabelSelector {
        LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: key.to_owned(),
                operator: operator.to_owned(),
                values: (!values.is_empty()).then(|| values.iter().map(|v| (*v).to_owned()).collect()),
            }]),
        }
    }

    fn scope<'a>(name: &'a str, priority: i32, selector: Option<&'a LabelSelector>) -> PolicyScope<'a> {
        PolicyScope {
            name,
            priority,
            namespace_selector: None,
            selector,
            kinds: &[],
        }
    }

    #[test]
    fn selectors_follow_kubernetes_semantics() {
        let web = labels(&[("app", "web"), ("tier", "frontend")]);
        assert!(selector_matches(&match_labels(&[("app", "web")]), &web));
        assert!(!selector_matches(&match_labels(&[("app", "api")]), &web));
        assert!(selector_matches(&expression("tier", "In", &["frontend", "edge"]), &web));
        assert!(!selector_matches(&expression("tier", "NotIn", &["frontend"]), &web));
        assert!(selector_matches(&expression("team", "NotIn", &["a"]), &web));
        assert!(selector_matches(&expression("app", "Exists", &[]), &web));
        assert!(selector_matches(&expression("team", "DoesNotExist", &[]), &web));
        assert!(selector_matches(&LabelSelector::default(), &web));
    }

    #[test]
    fn the_highest_priority_governs_and_ties_go_to_the_first_name() {
        let all = LabelSelector::default();
        let policies = [
            scope("zeta", 10, Some(&all)),
            scope("beta", 0, Some(&all)),
            scope("alpha", 0, Some(&all)),
        ];
        let web = labels(&[("app", "web")]);
        let workloads = [WorkloadScope {
            kind: WorkloadKind::Deployment,
            labels: &web,
            namespace_labels: None,
        }];
        assert_eq!(govern(&policies, &workloads).governor, [Some(0)]);
        assert_eq!(
            govern(&policies[1..], &workloads).governor,
            [Some(1)],
            "alpha before beta"
        );
    }

    #[test]
    fn overlaps_are_reported_to_both_policies() {
        let web_selector = match_labels(&[("app", "web")]);
        let policies = [scope("web", 5, Some(&web_selector)), scope("everything", 0, None)];
        let web = labels(&[("app", "web")]);
        let api = labels(&[("app", "api")]);
        let workload = |labels| WorkloadScope {
            kind: WorkloadKind::Deployment,
            labels,
            namespace_labels: None,
        };
        let governance = govern(&policies, &[workload(&web), workload(&api), workload(&web)]);
        assert_eq!(governance.governor, [Some(0), Some(1), Some(0)]);
        assert_eq!(governance.governed, [2, 1]);
        assert_eq!(
            governance.overlaps[0],
            [Overlap {
                other: 1,
                workloads: 2,
                governed_here: 2
            }]
        );
        assert_eq!(
            governance.overlaps[1],
            [Overlap {
                other: 0,
                workloads: 2,
                governed_here: 0
            }]
        );
    }

    #[test]
    fn kinds_and_namespace_labels_narrow_a_policy() {
        let team = match_labels(&[("team", "storefront")]);
        let policy = PolicyScope {
            name: "p",
            priority: 0,
            namespace_selector: Some(&team),
            selector: None,
            kinds: &[WorkloadKind::Deployment],
        };
        let none = Labels::new();
        let storefront = labels(&[("team", "storefront")]);
        let at = |kind, namespace_labels| WorkloadScope {
            kind,
            labels: &none,
            namespace_labels,
        };
        assert!(matches(&policy, &at(WorkloadKind::Deployment, Some(&storefront))));
        assert!(!matches(&policy, &at(WorkloadKind::CronJob, Some(&storefront))));
        assert!(!matches(&policy, &at(WorkloadKind::Deployment, Some(&none))));
        assert!(!matches(&policy, &at(WorkloadKind::Deployment, None)));
    }

    #[test]
    fn invalid_selectors_name_the_field() {
        let errors = validate_selector("spec.selector", &expression("app", "Equals", &["web"]));
        assert_eq!(
            errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "spec.selector.matchExpressions[0].operator: \"Equals\" is not a selector operator; use In, NotIn, Exists or DoesNotExist"
            ]
        );
        let errors = validate_selector("spec.namespaceSelector", &expression("team", "In", &[]));
        assert_eq!(
            errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["spec.namespaceSelector.matchExpressions[0].values: operator In needs at least one value"]
        );
    }
}
