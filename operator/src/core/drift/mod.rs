//! Drift evaluation: what a workload runs against what it should run.
//!
//! Input is plain data ([`model`], [`facts`]): the workload's containers as
//! written, its pods (which image each container runs, by `imageID`), the
//! registry facts the registry layer gathered, and the policy's rules and
//! baselines. Output is one finding per governed container, the pods that
//! run something other than their template, and the nodes below the
//! policy's minimums. Nothing here talks to Kubernetes or a registry; the
//! cluster layer turns findings into DriftReports.
//!
//! The words, as the code uses them:
//!
//! - a **finding** is one thing reported: a container ([`ContainerFinding`]),
//!   a pod off its template ([`PodFinding`]), a node below a minimum;
//! - a container finding carries a **verdict** ([`Verdict`]): the state,
//!   the candidate, the reason. Containers that name the same image and
//!   whose pods report the same image IDs share one;
//! - a verdict is concluded from the image's **analysis**: what is decided
//!   about an image as written, whoever runs it (its rule, version
//!   selection, the tag's digest, its base image), made once per image per
//!   scan.
//!
//! The files follow a container through evaluation: [`evaluator`] (the
//! scan's memo of analyses and verdicts), `analysis` (the tag and digest
//! analysis), `running` (what the pods report), `runtime` (sidecars and
//! nodes), `pods` (pod drift).

mod analysis;
mod evaluator;
pub mod facts;
pub mod model;
mod pods;
mod running;
mod runtime;

pub use self::{
    evaluator::{Evaluator, evaluate},
    facts::{BaseFacts, RegistryFacts, RepositoryFacts, TagFacts},
    model::{
        ContainerFinding, EvaluationContext, NodeSnapshot, PodContainer, PodFinding, PodRevision, PodSnapshot,
        RunningDigests, RuntimeBaselines, TemplateContainer, Verdict, WorkloadFindings,
    },
};

#[cfg(test)]
mod tests;
