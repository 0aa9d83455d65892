"""The Kubernetes manifests: kustomize builds them, the schemas accept them, they keep promises.

For each answer that changes a manifest (broker x scheduler x Flower), `kubectl kustomize`
builds deploy/kubernetes and kubernetes-validate checks every object, strictly, against the
Kubernetes schemas its wheel carries (offline). KEDA's ScaledObject is a custom resource
with no schema there: check-jsonschema checks it against tests/schemas/keda-scaledobject.json,
written from KEDA's documentation for the fields the template uses. What no schema sees is
read from the built objects: probes on every long-running container, and that they run the
project's own probe commands; the worker's grace period against the hard time limit; one
beat; no secret value anywhere; settings that the project reads. tests/test_production_path.py
runs the manifests' containers as declared.
"""

from __future__ import annotations

import ast
import functools
import itertools
import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import TEMPLATE_DIR, VENV_BIN, run
from rehearsal import env_file
from test_deploy_files import HAND_BACK_SECONDS, default_limits, seconds
from tooling.options import label

SLUG = "my_project"
NAME = "my-project"  # The slug as a Kubernetes name: namePrefix and the Secrets' names.
VARIANTS = [
    {"broker": broker, "scheduler": scheduler, "use_flower": flower}
    for broker, scheduler, flower in itertools.product(
        ("redis", "rabbitmq"), ("database", "file"), ("yes", "no")
    )
]
KEDA_SCHEMA = TEMPLATE_DIR / "tests" / "schemas" / "keda-scaledobject.json"
HEALTH = ["python", "-m", "infrastructure.health"]
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
# Names whose values are secret: URLs too, which carry the passwords of their services.
SECRET_LIKE = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|KEY|AUTH|CREDENTIAL|_URL$")
# The version whose schemas the objects must follow: the kubectl this machine has.
KUBERNETES_VERSION = "1.32.0"


def every(variants: list[dict[str, str]]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("answers", variants, ids=map(label, variants))


@functools.cache
def kustomize(project: Path) -> str:
    return run(["kubectl", "kustomize", project / "deploy" / "kubernetes"], cwd=project).stdout


def built(project: Path) -> list[dict]:
    """The objects `kubectl apply -k deploy/kubernetes` would send, as kustomize builds them.

    Each call parses them anew, so a test may change its copy.
    """
    return [document for document in yaml.safe_load_all(kustomize(project)) if document]


def of_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {item["metadata"]["name"]: item for item in objects if item["kind"] == kind}


def pod_specs(objects: list[dict]) -> dict[str, dict]:
    """Deployment and Job name -> its pod template's spec."""
    return {
        item["metadata"]["name"]: item["spec"]["template"]["spec"]
        for item in objects
        if item["kind"] in ("Deployment", "Job")
    }


def kubernetes_validate(manifest: Path, check: bool = True):
    """kubernetes-validate, strict (no unknown field), against its bundled schemas."""
    command = [VENV_BIN / "kubernetes-validate", "--strict", "--kubernetes-version"]
    return run([*command, KUBERNETES_VERSION, manifest], cwd=manifest.parent, check=check)


def settings(objects: list[dict]) -> dict[str, str]:
    [config_map] = of_kind(objects, "ConfigMap").values()
    return config_map["data"]


def health_module(project: Path) -> tuple[set[str], str]:
    """The rendered infrastructure/health.py's probe names (PROBES) and its HEALTH_PATH."""
    tree = ast.parse((project / "infrastructure" / "health.py").read_text())
    values = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in ([node.target] if isinstance(node, ast.AnnAssign) else node.targets)
        if isinstance(target, ast.Name)
    }
    names = {key.value for key in values["PROBES"].keys}
    return names, values["HEALTH_PATH"].value


@every(VARIANTS)
def test_kustomize_builds_objects_that_follow_the_kubernetes_schemas(bake, answers, tmp_path):
    objects = built(bake(**answers))
    manifest = tmp_path / "built.yaml"
    manifest.write_text(yaml.safe_dump_all(objects))

    validated = kubernetes_validate(manifest)

    passed = re.findall(r"passed for resource (\S+)", validated.stdout)
    unchecked = re.findall(r"Couldn't find schema for kind (\w+)", validated.stdout)
    assert len(passed) + len(unchecked) == len(objects), validated.stdout
    assert set(unchecked) == {"ScaledObject"}, validated.stdout
    expected = {"ConfigMap", "Job", "Deployment", "Service", "PodDisruptionBudget"}
    assert expected <= {item["kind"] for item in objects}
    assert all(item["metadata"]["name"].startswith(f"{NAME}-") for item in objects)


def test_kubernetes_validate_refuses_an_unknown_field(bake, tmp_path) -> None:
    """The schema check above can fail: a misspelled field is refused, offline."""
    [job] = of_kind(built(bake()), "Job").values()
    job["spec"]["template"]["spec"]["containers"][0]["comand"] = ["true"]
    manifest = tmp_path / "job.yaml"
    manifest.write_text(yaml.safe_dump(job))

    validated = kubernetes_validate(manifest, check=False)

    assert validated.returncode != 0 and "comand" in validated.stdout + validated.stderr


@every(VARIANTS)
def test_each_worker_scales_on_its_own_queue_with_keda(bake, answers, tmp_path) -> None:
    objects = built(bake(**answers))
    scaled_objects = of_kind(objects, "ScaledObject")
    deployments = of_kind(objects, "Deployment")
    targets = {}

    for name, scaled in scaled_objects.items():
        instance = tmp_path / f"{name}.json"
        instance.write_text(json.dumps(scaled))
        run([VENV_BIN / "check-jsonschema", "--schemafile", KEDA_SCHEMA, instance], cwd=tmp_path)
        target = scaled["spec"]["scaleTargetRef"]["name"]
        # KEDA owns the count: a `replicas` in the Deployment would be reset by each apply.
        assert "replicas" not in deployments[target]["spec"], target
        [trigger] = scaled["spec"]["triggers"]
        assert trigger["type"] == answers["broker"]
        # The Redis list, or the RabbitMQ queue, that the target's worker consumes; the
        # list's key has the broker's global_keyprefix (settings), the project's slug.
        list_key = trigger["metadata"].get("listName")
        if list_key:
            assert list_key.startswith(f"{SLUG}:"), list_key
        queue = list_key.removeprefix(f"{SLUG}:") if list_key else trigger["metadata"]["queueName"]
        [container] = deployments[target]["spec"]["template"]["spec"]["containers"]
        assert f"--queues={queue}" in container["command"], (target, queue)
        targets[target] = queue
        if answers["broker"] == "rabbitmq":
            # The environment variable KEDA reads the URL from is one the worker has.
            assert trigger["metadata"]["hostFromEnv"] == "CELERY_BROKER_URL"
            assert {"secretRef": {"name": NAME}} in container["envFrom"]
    assert targets == {f"{NAME}-worker": "celery", f"{NAME}-worker-slow": "slow"}


def test_the_keda_schema_refuses_a_misspelled_trigger_field(bake, tmp_path) -> None:
    scaled = of_kind(built(bake()), "ScaledObject")[f"{NAME}-worker"]
    scaled["spec"]["triggers"][0]["metadata"]["listname"] = "celery"
    instance = tmp_path / "scaledobject.json"
    instance.write_text(json.dumps(scaled))

    checked = run(
        [VENV_BIN / "check-jsonschema", "--schemafile", KEDA_SCHEMA, instance],
        cwd=tmp_path,
        check=False,
    )

    assert checked.returncode != 0


@every(VARIANTS)
def test_every_long_running_container_is_probed_with_the_projects_own_probes(bake, answers) -> None:
    project = bake(**answers)
    objects = built(project)
    probe_names, health_path = health_module(project)
    deployments = of_kind(objects, "Deployment")
    expected = {"web", "worker", "worker-slow", "beat"}
    expected |= {"flower"} if answers["use_flower"] == "yes" else set()
    assert set(deployments) == {f"{NAME}-{name}" for name in expected}

    for name, deployment in deployments.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        for kind in PROBES:
            probe = container.get(kind)
            assert probe, f"{name} has no {kind}"
            if "exec" in probe:
                command = probe["exec"]["command"]
                assert command[:3] == HEALTH, (name, kind, command)
                # Probe names, then at most the node they ask about.
                names = list(itertools.takewhile(lambda a: not a.startswith("--"), command[3:]))
                assert names and set(names) <= probe_names, (name, kind, command)
                assert command[3 + len(names) :] in ([], ["--node", "slow@%h"]), (name, command)
            else:
                # The web server's /health/ (what `health web-alive` asks for), on its port.
                assert probe["httpGet"]["path"] == health_path, (name, kind)
                ports = {port["name"] for port in container["ports"]}
                assert probe["httpGet"]["port"] in ports, (name, kind)
    for name, node in ((f"{NAME}-worker", []), (f"{NAME}-worker-slow", ["--node", "slow@%h"])):
        worker = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        # Liveness needs no broker (an outage restarts no worker); readiness pings through it.
        assert worker["livenessProbe"]["exec"]["command"][3:] == ["worker-alive", *node]
        assert worker["readinessProbe"]["exec"]["command"][3:] == ["worker-ready", *node]
        # The node the probes ask about is the one the worker takes.
        hostname = [a for a in worker["command"] if a.startswith("--hostname=")]
        assert hostname == ([f"--hostname={node[1]}"] if node else []), name


@every(VARIANTS)
def test_web_worker_and_beat_wait_for_the_migrate_job(bake, answers) -> None:
    objects = built(bake(**answers))
    specs = pod_specs(objects)
    [job] = of_kind(objects, "Job")
    migrate = ["python", "manage.py", "migrate", "--no-input"]
    assert specs[job]["containers"][0]["command"] == migrate

    for name in ("web", "worker", "worker-slow", "beat"):
        [wait] = specs[f"{NAME}-{name}"]["initContainers"]
        assert "python manage.py migrate --check" in " ".join(wait["command"]), name
        assert wait["envFrom"] == specs[job]["containers"][0]["envFrom"], name


def test_the_worker_lets_a_running_task_finish(bake, project_python) -> None:
    """Grace period: the stop timeout the settings give, plus compose's and systemd's minute."""
    project = bake()
    python = project_python(project)
    objects = built(project)
    limit, stop = default_limits(project, python)
    compose = yaml.safe_load((project / "compose.yaml").read_text())

    assert int(settings(objects)["CELERY_TASK_TIME_LIMIT"]) == limit
    assert int(settings(objects)["CELERY_WORKER_STOP_TIMEOUT"]) == stop
    for name in ("worker", "worker-slow"):
        worker = pod_specs(objects)[f"{NAME}-{name}"]
        assert worker["terminationGracePeriodSeconds"] >= max(limit, stop) + HAND_BACK_SECONDS
        grace = seconds(compose["services"][name]["stop_grace_period"])
        assert worker["terminationGracePeriodSeconds"] == grace, name


@every(VARIANTS)
def test_the_worker_memory_limit_fits_its_pool(bake, answers) -> None:
    objects = built(bake(**answers))
    values = settings(objects)
    pool_kib = int(values["CELERY_WORKER_CONCURRENCY"]) * int(
        values["CELERY_WORKER_MAX_MEMORY_PER_CHILD"]
    )
    disruptions = of_kind(objects, "PodDisruptionBudget")
    assert set(disruptions) == {f"{NAME}-worker", f"{NAME}-worker-slow"}

    for name, disruption in disruptions.items():
        [worker] = pod_specs(objects)[name]["containers"]
        limit = worker["resources"]["limits"]["memory"]
        assert limit.endswith("Mi") and int(limit[:-2]) * 1024 > pool_kib, (name, limit)
        labels = of_kind(objects, "Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        # Each budget covers its own workers, and only them.
        assert disruption["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert disruption["spec"]["maxUnavailable"] == 1


@every(VARIANTS)
def test_exactly_one_beat_replaced_not_rolled(bake, answers) -> None:
    objects = built(bake(**answers))
    beat = of_kind(objects, "Deployment")[f"{NAME}-beat"]

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert all(
        item["spec"]["scaleTargetRef"]["name"] != f"{NAME}-beat"
        for item in of_kind(objects, "ScaledObject").values()
    )


@every(VARIANTS)
def test_no_secret_value_is_in_the_manifests(bake, answers) -> None:
    objects = built(bake(**answers))

    assert not of_kind(objects, "Secret")
    for name in settings(objects):
        assert not SECRET_LIKE.search(name), name
    for owner, spec in pod_specs(objects).items():
        for container in spec.get("initContainers", []) + spec["containers"]:
            for variable in container.get("env", []):
                if SECRET_LIKE.search(variable["name"]):
                    assert "value" not in variable, (owner, variable)
            # Secrets arrive only from the Secrets the user creates.
            sources = [source["secretRef"]["name"] for source in container["envFrom"][1:]]
            assert sources and set(sources) <= {NAME, f"{NAME}-flower"}, (owner, sources)


@every(VARIANTS)
def test_the_settings_are_variables_the_project_reads(bake, answers) -> None:
    project = bake(**answers)
    objects = built(project)
    documented = (
        env_file(project / ".env.example")
        | env_file(project / "deploy" / "systemd" / "environment.example")
        | env_file(project / ".env.compose.example")
    )

    values = settings(objects)
    assert set(values) <= set(documented), set(values) - set(documented)
    assert values["DJANGO_SETTINGS_MODULE"] == f"{SLUG}.settings.prod"
    for spec in pod_specs(objects).values():
        for container in spec["containers"]:
            names = {variable["name"] for variable in container.get("env", [])}
            assert names <= set(documented), names - set(documented)


@every(VARIANTS)
def test_containers_run_unprivileged_on_a_read_only_root(bake, answers) -> None:
    project = bake(**answers)
    objects = built(project)
    compose_image = yaml.safe_load((project / "compose.yaml").read_text())["x-app"]["image"]

    for owner, spec in pod_specs(objects).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, owner
        # A long-running app process is not PID 1, which would leave zombies unreaped.
        if owner in of_kind(objects, "Deployment"):
            assert spec["shareProcessNamespace"] is True, owner
        assert spec["securityContext"]["runAsUser"] == 10001, owner  # The Dockerfile's USER.
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in spec.get("initContainers", []) + spec["containers"]:
            # The image compose builds and runs, with the tag kustomization.yaml sets.
            assert container["image"] == f"{compose_image}:latest", owner
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, owner
            assert context["allowPrivilegeEscalation"] is False, owner
            assert context["capabilities"] == {"drop": ["ALL"]}, owner
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            # The temp directory, where the worker keeps its liveness file, is writable.
            assert "emptyDir" in volumes[mounts["/tmp"]], owner
            for variable in container.get("env", []):
                if variable["name"] == "CELERY_BEAT_SCHEDULE_FILENAME":
                    directory = str(Path(variable["value"]).parent)
                    assert "persistentVolumeClaim" in volumes[mounts[directory]], owner
                    claim = volumes[mounts[directory]]["persistentVolumeClaim"]["claimName"]
                    assert claim in of_kind(objects, "PersistentVolumeClaim"), claim
    beat = pod_specs(objects)[f"{NAME}-beat"]["containers"][0]
    names = [variable["name"] for variable in beat.get("env", [])]
    assert ("CELERY_BEAT_SCHEDULE_FILENAME" in names) == (answers["scheduler"] == "file")


@every(VARIANTS)
def test_services_reach_their_pods(bake, answers) -> None:
    objects = built(bake(**answers))
    deployments = of_kind(objects, "Deployment")
    services = of_kind(objects, "Service")
    expected = {f"{NAME}-web"} | ({f"{NAME}-flower"} if answers["use_flower"] == "yes" else set())
    assert set(services) == expected

    for name, service in services.items():
        template = deployments[name]["spec"]["template"]
        assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
        ports = {port["name"] for port in template["spec"]["containers"][0]["ports"]}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports


def test_without_kubernetes_there_are_no_manifests_and_the_readme_says_nothing(bake) -> None:
    project = bake(use_kubernetes="no", use_docker="no")

    assert not (project / "deploy" / "kubernetes").exists()
    readme = (project / "README.md").read_text()
    assert "Running on Kubernetes" not in readme and "deploy/kubernetes" not in readme
    # The manifests run the Dockerfile's image: it stays for Kubernetes without Compose.
    assert (bake(use_docker="no") / "Dockerfile").exists()
    assert not (bake(use_docker="no") / "compose.yaml").exists()


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_production_settings_accept_the_configmap(bake, project_python, broker) -> None:
    """The ConfigMap's values, with the Secret's keys, pass production's own checks.

    RabbitMQ's consumer timeout, for one, must exceed the hard time limit, or production
    refuses to start: the ConfigMap must give both.
    """
    project = bake(broker=broker)
    python = project_python(project)
    secret = {
        "DJANGO_SECRET_KEY": "a-kubernetes-test-secret-" + "x" * 40,
        "DATABASE_URL": "postgres://user:password@postgres.example.com:5432/name",
        "CELERY_BROKER_URL": f"{'redis' if broker == 'redis' else 'amqp'}://broker.example.com",
        "EMAIL_URL": "smtp+tls://user:password@smtp.example.com:587",
    }

    run(
        [python, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=project,
        env={"PATH": f"{python.parent}:/usr/bin:/bin", **settings(built(project)), **secret},
    )
