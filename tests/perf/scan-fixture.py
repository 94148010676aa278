#!/usr/bin/env python3
"""Writes a fixture for timing `refit scan` end to end (docs/PERFORMANCE.md).

It creates, under OUT:
  manifests/  Deployments, each with two containers, in files of 100;
  layout/     an OCI layout tree (see operator/src/registry/layout.rs) with
              one repository per (image, copy): the newest TAGS tags of a
              real tag history from ../shared/data/tags, each a distinct
              manifest, and one config per repository.

Images are "clustered" as in a real cluster: each repository has one to
five tags in use, shared by many workloads.

Usage: scan-fixture.py OUT [--repositories 200] [--workloads 2000] [--tags 300]
                        [--image-host HOST]
Then:  refit scan OUT/manifests --oci-layout OUT/layout --output json

`--image-host` makes the manifests name another registry host than the
layout's (`registry.example`): operator-scan.sh copies the layout into a
real registry and points the workloads at it.
"""

import argparse
import hashlib
import json
import pathlib
import random

TAGS_DIR = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data" / "tags"
REF_NAME = "org.opencontainers.image.ref.name"
HOST = "registry.example"


def read_history(path):
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        tag, listed = line.split("\t")
        rows.append((listed, tag))
    rows.sort()
    return rows


def write_blob(repo_dir, document):
    data = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    digest = hashlib.sha256(data).hexdigest()
    path = repo_dir / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"sha256:{digest}", len(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--repositories", type=int, default=200)
    parser.add_argument("--workloads", type=int, default=2000)
    parser.add_argument("--tags", type=int, default=300)
    parser.add_argument("--tags-dir", type=pathlib.Path, default=TAGS_DIR)
    parser.add_argument("--image-host", default=HOST)
    args = parser.parse_args()
    rng = random.Random(20261201)
    histories = sorted(args.tags_dir.glob("*.tsv"))
    repositories = []
    for number in range(args.repositories):
        history = histories[number % len(histories)]
        image = history.stem
        window = read_history(history)[-args.tags:]
        path = f"team-{number % 20}/{image}-{number}"
        repo_dir = args.out / "layout" / HOST / path
        (repo_dir).mkdir(parents=True, exist_ok=True)
        (repo_dir / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        config, config_size = write_blob(
            repo_dir,
            {
                "architecture": "amd64",
                "os": "linux",
                "created": window[-1][0],
                "rootfs": {"type": "layers", "diff_ids": []},
            },
        )
        entries = []
        for _, tag in window:
            manifest, size = write_blob(
                repo_dir,
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {
                        "mediaType": "application/vnd.oci.image.config.v1+json",
                        "digest": config,
                        "size": config_size,
                    },
                    "layers": [],
                    "annotations": {"fixture.tag": tag},
                },
            )
            entries.append(
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": manifest,
                    "size": size,
                    "annotations": {REF_NAME: tag},
                }
            )
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
        (repo_dir / "index.json").write_text(json.dumps(index))
        # A few older tags in use: what a cluster runs of this image.
        in_use = rng.sample([tag for _, tag in window[: len(window) // 2] or window], k=min(5, rng.randint(1, 5)))
        repositories.append((f"{args.image_host}/{path}", in_use))

    manifests = args.out / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    documents = []
    for number in range(args.workloads):
        containers = []
        for position in range(2):
            repository, in_use = rng.choice(repositories)
            containers.append({"name": f"c{position}", "image": f"{repository}:{rng.choice(in_use)}"})
        documents.append(
            json.dumps(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": f"app-{number}", "namespace": f"team-{number % 200}"},
                    "spec": {
                        "selector": {"matchLabels": {"app": f"app-{number}"}},
                        "template": {
                            "metadata": {"labels": {"app": f"app-{number}"}},
                            "spec": {"containers": containers},
                        },
                    },
                }
            )
        )
    for start in range(0, len(documents), 100):
        (manifests / f"workloads-{start // 100:03}.yaml").write_text("\n---\n".join(documents[start : start + 100]) + "\n")


if __name__ == "__main__":
    main()
