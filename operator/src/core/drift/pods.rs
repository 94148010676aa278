//! Pod drift: pod containers that run another image than their template
//! names, with the revision that tells why (changed by hand, a rollout
//! still under way, or a CronJob run started from an earlier template).

use super::{
    model::{PodFinding, PodSnapshot, TemplateContainer},
    running::{RunningImage, counterpart, same_text},
};

/// Pods whose containers run another image than the template names.
pub(super) fn pod_drift(template: &[TemplateContainer], pods: &[PodSnapshot]) -> Vec<PodFinding> {
    let mut drift = Vec::new();
    for pod in pods {
        for (position, container) in pod.containers.iter().enumerate() {
            let Some(wanted) = counterpart(template, container, position) else {
                continue;
            };
            if same_text(&wanted.image, &container.image) {
                continue;
            }
            drift.push(PodFinding {
                pod: pod.name.clone(),
                container: container.name.to_string(),
                init: container.init,
                image: container.image.to_string(),
                template_image: wanted.image.to_string(),
                running_digest: container
                    .image_id
                    .as_deref()
                    .and_then(RunningImage::parse)
                    .map(|r| *r.digest()),
                revision: pod.revision.clone(),
            });
        }
    }
    drift
}
