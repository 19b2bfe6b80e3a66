"""The Kubernetes manifests of deploy/k8s/, checked for their wiring (no cluster exists here to apply
them): probes on the server's health routes, a grace period longer than preStop plus the drain,
the env sources every pod reads, selectors that match, and limits that agree with the settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pyai.api.body_limits import MULTIPART_OVERHEAD
from pyai.cli import build_parser
from pyai.settings import Settings

K8S = Path(__file__).resolve().parent.parent / "deploy" / "k8s"


def load() -> dict[tuple[str, str], dict]:
    docs = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and "kind" in doc and doc["kind"] != "Kustomization":
                docs[(doc["kind"], doc["metadata"]["name"])] = doc
    return docs


DOCS = load()
CONFIG = DOCS[("ConfigMap", "pyai-config")]["data"]


def pod(kind: str, name: str) -> dict:
    return DOCS[(kind, name)]["spec"]["template"]["spec"]


def test_kustomization_lists_every_manifest_but_the_job() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files - {"migrate-job.yaml"}  # the Job runs first, on its own
    assert {i["name"] for i in kustomization["images"]} == {"pyai-server"}


def test_config_holds_real_settings() -> None:
    assert all(name.startswith("PYAI_") and name[5:].lower() in Settings.model_fields for name in CONFIG)
    Settings(**{k[5:].lower(): v for k, v in CONFIG.items()})  # every value parses
    assert CONFIG["PYAI_WORKER_IN_PROCESS"] == "false" and CONFIG["PYAI_LOG_FORMAT"] == "json"
    secret = DOCS[("Secret", "pyai-secrets")]["stringData"]
    assert set(secret) == {"PYAI_SECRET_KEY", "PYAI_DATABASE_URL", "PYAI_REDIS_URL"}
    assert secret["PYAI_DATABASE_URL"].startswith("postgresql+asyncpg://")


@pytest.mark.parametrize(
    "kind,name,command",
    [("Deployment", "pyai-api", "serve"), ("Deployment", "pyai-worker", "worker"), ("Job", "pyai-migrate", "migrate")],
)
def test_pods_run_the_image_with_config_secret_and_data(kind: str, name: str, command: str) -> None:
    spec = pod(kind, name)
    (container,) = spec["containers"]
    assert container["image"] == "pyai-server" and container["args"][0] == command
    assert build_parser().parse_args(container["args"]).command == command
    sources = [next(iter(s.values()))["name"] for s in container["envFrom"]]
    assert sources == ["pyai-config", "pyai-secrets"]
    assert {"name": "data", "mountPath": CONFIG["PYAI_DATA_DIR"]} in container["volumeMounts"]
    assert spec["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "pyai-data"}}]
    assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["runAsUser"] == 10001  # the image's user
    if kind == "Deployment":
        labels = DOCS[(kind, name)]["spec"]["selector"]["matchLabels"]
        assert labels.items() <= DOCS[(kind, name)]["spec"]["template"]["metadata"]["labels"].items()
    assert DOCS[("PersistentVolumeClaim", "pyai-data")]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_api_probes_drain_and_grace_period() -> None:
    spec = pod("Deployment", "pyai-api")
    (api,) = spec["containers"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["startupProbe"]["httpGet"]["path"] == "/healthz"
    port = api["ports"][0]
    assert port["name"] == "http" and port["containerPort"] == 8080 and api["args"][-1] == "8080"
    pre_stop = api["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = float(CONFIG["PYAI_DRAIN_TIMEOUT_SECONDS"])
    assert spec["terminationGracePeriodSeconds"] > float(pre_stop[1]) + drain + 5
    assert DOCS[("Deployment", "pyai-api")]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_service_ingress_and_disruption_budgets_select_the_pods() -> None:
    api_labels = DOCS[("Deployment", "pyai-api")]["spec"]["template"]["metadata"]["labels"]
    service = DOCS[("Service", "pyai-api")]["spec"]
    assert service["selector"].items() <= api_labels.items() and service["ports"][0]["targetPort"] == "http"
    for name in ("pyai-api", "pyai-worker"):
        pdb = DOCS[("PodDisruptionBudget", name)]["spec"]
        labels = DOCS[("Deployment", name)]["spec"]["template"]["metadata"]["labels"]
        assert pdb["selector"]["matchLabels"].items() <= labels.items() and pdb["maxUnavailable"] == 1

    ingress = DOCS[("Ingress", "pyai")]
    notes = ingress["metadata"]["annotations"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "pyai-api", "port": {"name": "http"}}
    ws_seconds = Settings().realtime_max_session_seconds
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(notes[f"nginx.ingress.kubernetes.io/{timeout}"]) > ws_seconds
    body = notes["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert int(body) == int(CONFIG["PYAI_MAX_UPLOAD_BYTES"]) + MULTIPART_OVERHEAD
    assert notes["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
    host = ingress["spec"]["rules"][0]["host"]
    assert re.fullmatch(rf"https://{re.escape(host)}/?", CONFIG["PYAI_PUBLIC_BASE_URL"])
