#!/usr/bin/env bash
# Install (or upgrade) the kurator-py control plane into the current Kubernetes cluster:
# namespace kurator-system, a 3-node NATS JetStream cluster, and the five services
# (fleet, apps, edge, observability, backup), each a Deployment with several replicas.
set -euo pipefail

NAMESPACE="kurator-system"
SERVICES=(fleet apps edge observability backup)

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BASE_DIR="${SCRIPT_DIR}/kubernetes"
PRODUCTION_DIR="${SCRIPT_DIR}/overlays/production"

usage() {
    cat <<EOF
Usage: $(basename "$0") [options]

Installs the kurator-py control plane with 'kubectl apply -k', then waits until the NATS
StatefulSet and every service Deployment have rolled out.

Options:
  --kubeconfig-secret FILE  Store FILE (the Karmada API server's kubeconfig) as key
                            'kubeconfig' of Secret karmada-kubeconfig in ${NAMESPACE}.
                            The services read it from /etc/kurator/karmada/kubeconfig.
                            Without it they start, but have no Kubernetes access.
  --production              Use deploy/overlays/production: required (not preferred) pod
                            anti-affinity, one replica per node; needs >= 3 nodes.
  -k, --kustomize DIR       Apply this kustomization instead (your own overlay).
  --context NAME            kubectl context to use (default: the current one).
  --timeout DURATION        How long to wait for each rollout (default: 300s).
  --no-wait                 Apply and return without waiting for the rollouts.
  --dry-run                 Change nothing: print the objects that would be applied.
                            Uses 'kubectl apply --dry-run=client -o yaml' when a cluster
                            answers, else renders offline with 'kubectl kustomize'.
  -h, --help                Show this help.

Examples:
  $(basename "$0")
  $(basename "$0") --kubeconfig-secret ~/.kube/karmada.config
  $(basename "$0") --production --timeout 10m
  $(basename "$0") --dry-run > kurator.yaml
EOF
}

die() {
    echo "error: $*" >&2
    exit 1
}

log() {
    echo ">> $*" >&2
}

KUSTOMIZE_DIR="${BASE_DIR}"
KUBECONFIG_SECRET_FILE=""
CONTEXT=""
TIMEOUT="300s"
WAIT=1
DRY_RUN=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        --kubeconfig-secret)
            [[ $# -ge 2 ]] || die "--kubeconfig-secret needs a FILE"
            KUBECONFIG_SECRET_FILE="$2"
            shift 2
            ;;
        --kubeconfig-secret=*)
            KUBECONFIG_SECRET_FILE="${1#*=}"
            shift
            ;;
        --production)
            KUSTOMIZE_DIR="${PRODUCTION_DIR}"
            shift
            ;;
        -k | --kustomize)
            [[ $# -ge 2 ]] || die "$1 needs a DIR"
            KUSTOMIZE_DIR="$2"
            shift 2
            ;;
        --kustomize=*)
            KUSTOMIZE_DIR="${1#*=}"
            shift
            ;;
        --context)
            [[ $# -ge 2 ]] || die "--context needs a NAME"
            CONTEXT="$2"
            shift 2
            ;;
        --context=*)
            CONTEXT="${1#*=}"
            shift
            ;;
        --timeout)
            [[ $# -ge 2 ]] || die "--timeout needs a DURATION (e.g. 300s, 10m)"
            TIMEOUT="$2"
            shift 2
            ;;
        --timeout=*)
            TIMEOUT="${1#*=}"
            shift
            ;;
        --no-wait)
            WAIT=0
            shift
            ;;
        --dry-run)
            DRY_RUN=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown option: $1"
            ;;
    esac
done

command -v kubectl >/dev/null 2>&1 \
    || die "kubectl not found on PATH (https://kubernetes.io/docs/tasks/tools/)"
[[ -f "${KUSTOMIZE_DIR}/kustomization.yaml" ]] \
    || die "no kustomization.yaml in ${KUSTOMIZE_DIR}"
if [[ -n "${KUBECONFIG_SECRET_FILE}" ]]; then
    [[ -r "${KUBECONFIG_SECRET_FILE}" ]] || die "cannot read kubeconfig file ${KUBECONFIG_SECRET_FILE}"
fi

KUBECTL=(kubectl)
if [[ -n "${CONTEXT}" ]]; then
    KUBECTL+=(--context "${CONTEXT}")
fi

# The karmada-kubeconfig Secret as YAML (rendered locally, needs no cluster).
kubeconfig_secret_yaml() {
    "${KUBECTL[@]}" create secret generic karmada-kubeconfig \
        --namespace "${NAMESPACE}" \
        --from-file=kubeconfig="${KUBECONFIG_SECRET_FILE}" \
        --dry-run=client -o yaml
}

cluster_reachable() {
    "${KUBECTL[@]}" get --raw=/version --request-timeout=5s >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------
# --dry-run: print, change nothing.
# ---------------------------------------------------------------------------------------
if [[ "${DRY_RUN}" -eq 1 ]]; then
    if cluster_reachable; then
        log "dry run against the cluster (kubectl apply --dry-run=client)"
        "${KUBECTL[@]}" apply -k "${KUSTOMIZE_DIR}" --dry-run=client -o yaml
    else
        log "no cluster reachable: rendering offline with kubectl kustomize"
        kubectl kustomize "${KUSTOMIZE_DIR}"
    fi
    if [[ -n "${KUBECONFIG_SECRET_FILE}" ]]; then
        echo "---"
        kubeconfig_secret_yaml
    fi
    exit 0
fi

cluster_reachable \
    || die "cannot reach a Kubernetes API server (check 'kubectl cluster-info'${CONTEXT:+ for context ${CONTEXT}})"

# ---------------------------------------------------------------------------------------
# The Secret first (its namespace with it), so the pods find it when they start.
# ---------------------------------------------------------------------------------------
SECRET_CHANGED=0
if [[ -n "${KUBECONFIG_SECRET_FILE}" ]]; then
    log "namespace ${NAMESPACE}"
    "${KUBECTL[@]}" apply -f "${BASE_DIR}/namespace.yaml"
    log "secret ${NAMESPACE}/karmada-kubeconfig from ${KUBECONFIG_SECRET_FILE}"
    secret_result="$(kubeconfig_secret_yaml | "${KUBECTL[@]}" apply -f -)"
    echo "${secret_result}"
    # "configured" means an existing Secret got new contents: running pods must restart to
    # read it (they load the kubeconfig at start-up).
    if [[ "${secret_result}" == *" configured"* ]]; then
        SECRET_CHANGED=1
    fi
fi

log "applying ${KUSTOMIZE_DIR}"
"${KUBECTL[@]}" apply -k "${KUSTOMIZE_DIR}"

if [[ "${SECRET_CHANGED}" -eq 1 ]]; then
    log "kubeconfig changed: restarting the services"
    for svc in "${SERVICES[@]}"; do
        "${KUBECTL[@]}" -n "${NAMESPACE}" rollout restart "deployment/kurator-${svc}"
    done
fi

if [[ "${WAIT}" -eq 0 ]]; then
    log "not waiting for rollouts (--no-wait)"
    exit 0
fi

# ---------------------------------------------------------------------------------------
# Wait: the bus first (the services are not ready until they reach it), then each service.
# ---------------------------------------------------------------------------------------
log "waiting for statefulset/nats (timeout ${TIMEOUT})"
"${KUBECTL[@]}" -n "${NAMESPACE}" rollout status statefulset/nats --timeout="${TIMEOUT}" \
    || die "NATS did not become ready; see: kubectl -n ${NAMESPACE} describe pods -l app=nats"

for svc in "${SERVICES[@]}"; do
    log "waiting for deployment/kurator-${svc} (timeout ${TIMEOUT})"
    "${KUBECTL[@]}" -n "${NAMESPACE}" rollout status "deployment/kurator-${svc}" --timeout="${TIMEOUT}" \
        || die "kurator-${svc} did not become ready; see: kubectl -n ${NAMESPACE} logs -l app=kurator-${svc}"
done

"${KUBECTL[@]}" -n "${NAMESPACE}" get pods -o wide
log "kurator-py is installed in namespace ${NAMESPACE}"
log "publish intents to NATS: kubectl -n ${NAMESPACE} port-forward svc/nats 4222:4222"
