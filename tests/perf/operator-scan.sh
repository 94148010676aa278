#!/usr/bin/env bash
# Times the operator's first full scan (`refit run`) of a synthetic cluster,
# for docs/PERFORMANCE.md: the test API server (release build, simulated
# controllers, so every Deployment has a pod reporting an image ID), the
# real Distribution registry on 127.0.0.1 holding the fixture's images
# (copied with skopeo), and a PatchPolicy governing all of it.
#
# Usage: tests/perf/operator-scan.sh RUNS REFIT_BINARY...
# (several binaries are run in turn against the same cluster, to compare
# builds).
# Needs docker-registry, skopeo and kubectl (as .ci/run installs them).
# Prints, per run, the scan's own duration (refit_scan_duration_seconds)
# and the CPU time the refit process used until that scan finished.
set -euo pipefail
runs=$1
shift
binaries=()
for binary in "$@"; do binaries+=("$(realpath "$binary")"); done
cd "$(dirname "$0")/../.."
work=$(mktemp -d /tmp/refit-operator-scan.XXXXXX)
registry_port=5999
metrics_port=18080
host="127.0.0.1:$registry_port"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

python3 tests/perf/scan-fixture.py "$work/fixture" --repositories 20 --tags 40 --workloads 150 --image-host "$host"

cat > "$work/registry.yml" <<YAML
version: 0.1
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: $host}
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
until curl -sf "http://$host/v2/" >/dev/null; do sleep 0.2; done
(cd "$work/fixture/layout/registry.example" && find . -name index.json -printf '%h\n' | sed 's|^\./||') |
  while read -r repository; do
    python3 -c 'import json,sys; [print(m["annotations"]["org.opencontainers.image.ref.name"]) for m in json.load(open(sys.argv[1]))["manifests"]]' \
      "$work/fixture/layout/registry.example/$repository/index.json" |
      xargs -I{} skopeo copy -q --dest-tls-verify=false \
        "oci:$work/fixture/layout/registry.example/$repository:{}" "docker://$host/$repository:{}"
  done

cargo build -q --release -p refit-apiserver
target/release/refit-apiserver serve --crds crds --kubeconfig "$work/kubeconfig.yaml" --nodes 10 >"$work/apiserver.log" 2>&1 &
pids+=($!)
until [ -s "$work/kubeconfig.yaml" ] && KUBECONFIG="$work/kubeconfig.yaml" kubectl get ns >/dev/null 2>&1; do sleep 0.2; done
export KUBECONFIG="$work/kubeconfig.yaml"
for n in $(seq 0 199); do printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-%s\n---\n' "$n"; done |
  kubectl apply --validate=false -f - >/dev/null
kubectl apply --validate=false -f "$work/fixture/manifests" >/dev/null
kubectl apply --validate=false -f - >/dev/null <<YAML
apiVersion: refit.dev/v1alpha1
kind: PatchPolicy
metadata: {name: everything}
spec:
  mode: Report
  images:
    - {match: "$host/**", update: minor}
YAML
cat > "$work/refit.yaml" <<YAML
registries:
  - {host: "$host", insecure: true, rateLimit: {requestsPerSecond: 1000, burst: 1000}}
operator:
  metricsAddress: 127.0.0.1:$metrics_port
  logFormat: json
YAML
sleep 5 # let the simulated controllers create the pods

for run in $(seq 1 "$runs"); do
 for refit in "${binaries[@]}"; do
  kubectl delete drift -A --all >/dev/null 2>&1 || true
  "$refit" run --config "$work/refit.yaml" >"$work/refit-$run.log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null | grep -q '^refit_scans_total{trigger="policy"} 1'; do
    kill -0 "$pid" || { cat "$work/refit-$run.log"; exit 1; }
    sleep 0.1
  done
  ticks=$(getconf CLK_TCK)
  cpu=$(awk -v t="$ticks" '{printf "%.2f", ($14 + $15) / t}' "/proc/$pid/stat")
  rss=$(awk '/VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$pid/status")
  scan=$(curl -sf "http://127.0.0.1:$metrics_port/metrics" | awk '/^refit_scan_duration_seconds_sum\{trigger="policy"\}/ {print $2}')
  reports=$(kubectl get drift -A --no-headers 2>/dev/null | wc -l)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "run $run $refit: scan ${scan}s, refit CPU ${cpu}s until then, peak RSS $rss, $reports DriftReports"
 done
done
