//! What the pods really run: the image IDs they report for a template
//! container, read as digests that can be compared with the registry's.

use std::sync::Arc;

use smallvec::SmallVec;

use super::{
    facts::TagFacts,
    model::{PodContainer, PodSnapshot, RunningDigests, TemplateContainer},
};
use crate::core::reference::Digest;

/// An image as a pod reports it running.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum RunningImage {
    /// A repository digest (`repo@sha256:…`): comparable with tag digests.
    Manifest(Digest),
    /// A local image ID (`sha256:…`): the config digest.
    Config(Digest),
}

impl RunningImage {
    /// Reads an `imageID`: `docker.io/library/nginx@sha256:…`,
    /// `docker-pullable://nginx@sha256:…`, or a bare `sha256:…` image ID.
    pub fn parse(image_id: &str) -> Option<RunningImage> {
        let id = image_id
            .strip_prefix("docker-pullable://")
            .or_else(|| image_id.strip_prefix("docker://"))
            .unwrap_or(image_id);
        match id.rsplit_once('@') {
            Some((_, digest)) => Digest::parse(digest).ok().map(RunningImage::Manifest),
            None => Digest::parse(id).ok().map(RunningImage::Config),
        }
    }

    pub fn digest(&self) -> &Digest {
        match self {
            RunningImage::Manifest(digest) | RunningImage::Config(digest) => digest,
        }
    }

    /// Whether this is the image the tag facts describe; `None` when that
    /// cannot be told (an image ID and no config digests known).
    pub fn is(&self, facts: &TagFacts) -> Option<bool> {
        match self {
            RunningImage::Manifest(digest) => {
                let current = facts.digest.as_ref()?;
                Some(digest == current || facts.platform_digests.contains(digest))
            }
            // Only some platforms' config digests may be known (refit reads
            // one platform of an index): a miss then proves nothing.
            RunningImage::Config(digest) if facts.config_digests.contains(digest) => Some(true),
            RunningImage::Config(_) if facts.config_digests.is_empty() || facts.platform_digests.len() > 1 => None,
            RunningImage::Config(_) => Some(false),
        }
    }
}

/// The distinct images a container's pods run: one in a settled workload,
/// two during a rollout.
pub(super) type RunningImages = SmallVec<[RunningImage; 2]>;

/// The image IDs a template container's pods report, each once, in text
/// order. A settled workload reports one; a rollout two.
pub(super) type ReportedImageIds<'p> = SmallVec<[&'p Arc<str>; 2]>;

/// What the pods report for the template's container at `position` while
/// they run the image it names (a pod that runs another image is a pod
/// finding, not this container's).
pub(super) fn reported_image_ids<'p>(
    pods: &'p [PodSnapshot],
    container: &TemplateContainer,
    position: usize,
) -> ReportedImageIds<'p> {
    let mut image_ids = ReportedImageIds::new();
    let counterparts = pods
        .iter()
        .filter_map(|pod| counterpart(&pod.containers, container, position));
    for same in counterparts {
        if !same_text(&same.image, &container.image) {
            continue;
        }
        if let Some(image_id) = &same.image_id
            && !image_ids.iter().any(|known| same_text(known, image_id))
        {
            image_ids.push(image_id);
        }
    }
    image_ids.sort_unstable();
    image_ids
}

/// The container of `containers` with the name (and kind) of `wanted`,
/// which stands at `position` in its own list. Pods list their template's
/// containers in its order, so that position is looked at first; a
/// container injected ahead of it moves it, and then it is searched for.
pub(super) fn counterpart<'c, C, W>(containers: &'c [C], wanted: &W, position: usize) -> Option<&'c C>
where
    C: NamedContainer,
    W: NamedContainer,
{
    let same = |c: &&C| c.init() == wanted.init() && same_text(c.name(), wanted.name());
    containers
        .get(position)
        .filter(same)
        .or_else(|| containers.iter().find(same))
}

/// Whether two shared strings say the same. The cluster snapshot interns
/// its strings, so equal ones are usually one string, which the address
/// tells without reading either (`Arc`'s own `==` always compares the
/// text).
pub(super) fn same_text(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// Template and pod containers alike: what identifies a container in a pod.
pub(super) trait NamedContainer {
    fn name(&self) -> &Arc<str>;
    fn init(&self) -> bool;
}

impl NamedContainer for TemplateContainer {
    fn name(&self) -> &Arc<str> {
        &self.name
    }
    fn init(&self) -> bool {
        self.init
    }
}

impl NamedContainer for PodContainer {
    fn name(&self) -> &Arc<str> {
        &self.name
    }
    fn init(&self) -> bool {
        self.init
    }
}

/// Distinct images the pods run, read from their image IDs (sorted).
pub(super) fn running_images(image_ids: &[&Arc<str>]) -> RunningImages {
    let mut running: RunningImages = image_ids.iter().filter_map(|id| RunningImage::parse(id)).collect();
    running.sort_unstable();
    running.dedup();
    running
}

/// The distinct digests of the running images.
pub(super) fn digests(running: &[RunningImage]) -> RunningDigests {
    let mut digests: RunningDigests = running.iter().map(|r| *r.digest()).collect();
    digests.dedup();
    digests
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NGINX_DIGEST: &str = "sha256:1c37140f16e7e8965dc7cc3a4a9057d98599216bf20f04e4d92b06fe8f18db50";

    fn nginx_digest() -> Digest {
        Digest::parse(NGINX_DIGEST).expect("valid digest")
    }

    #[test]
    fn every_runtimes_spelling_of_a_repository_digest_reads_as_that_digest() {
        // containerd, dockershim, and a runtime that reports the short name.
        for image_id in [
            format!("docker.io/library/nginx@{NGINX_DIGEST}"),
            format!("docker-pullable://nginx@{NGINX_DIGEST}"),
            format!("nginx@{NGINX_DIGEST}"),
            format!("localhost:5000/acme/storefront@{NGINX_DIGEST}"),
        ] {
            assert_eq!(
                RunningImage::parse(&image_id),
                Some(RunningImage::Manifest(nginx_digest())),
                "{image_id}"
            );
        }
    }

    #[test]
    fn a_bare_image_id_is_a_config_digest() {
        assert_eq!(
            RunningImage::parse(NGINX_DIGEST),
            Some(RunningImage::Config(nginx_digest()))
        );
        assert_eq!(
            RunningImage::parse(&format!("docker://{NGINX_DIGEST}")),
            Some(RunningImage::Config(nginx_digest()))
        );
    }

    #[test]
    fn an_image_id_without_a_valid_digest_is_not_read() {
        for image_id in [
            "",
            "nginx:1.29.8-alpine",
            "docker.io/library/nginx@sha256:1c37",
            "docker.io/library/nginx@md5:1c37140f16e7e8965dc7cc3a4a9057d9",
            // The digest comes after the last `@`.
            &format!("nginx@{NGINX_DIGEST}@sha256:ab"),
        ] {
            assert_eq!(RunningImage::parse(image_id), None, "{image_id}");
        }
    }

    proptest! {
        #[test]
        fn any_name_before_the_last_at_reads_as_the_digest_after_it(
            prefix in proptest::sample::select(vec!["", "docker-pullable://", "docker://"]),
            name in "[a-z0-9./:@-]{0,30}",
            hex in "[0-9a-f]{64}",
        ) {
            let digest = Digest::parse(&format!("sha256:{hex}")).expect("valid digest");
            prop_assert_eq!(
                RunningImage::parse(&format!("{prefix}{name}@sha256:{hex}")),
                Some(RunningImage::Manifest(digest))
            );
        }

        #[test]
        fn reading_an_image_id_never_panics(image_id in "\\PC{0,200}") {
            let _ = RunningImage::parse(&image_id);
        }
    }
}
