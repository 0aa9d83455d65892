"""scripts/benchmark runs end to end: a functional check with tiny numbers, nothing timed."""

from __future__ import annotations

import json

from benchmarks.run import VARIANTS
from conftest import TEMPLATE_DIR, run

# Every configuration on a Redis broker or with Redis results, and the bare Celery
# baselines of both brokers (rabbitmq, redis needs bare Celery on RabbitMQ).
EXPECTED = {
    "bare Celery, redis": "bare",
    "bare Celery, rabbitmq": "bare",
    "cookiecutter-django's settings, redis": "peer",
    "redis, django-db": "rendered",
    "redis, redis": "rendered",
    "redis, none": "rendered",
    "rabbitmq, redis": "rendered",
    **{f"redis, django-db + {key}={value}": "variant" for key, value in VARIANTS},
}


def test_the_benchmark_measures_every_configuration(tmp_path) -> None:
    output, results = tmp_path / "benchmark.json", tmp_path / "results.md"
    completed = run(
        [
            *(TEMPLATE_DIR / "scripts" / "benchmark", "--tasks", "30", "--round-trips", "5"),
            *("--rounds", "1", "--cold-start-runs", "2", "--only", "redis", "--output", output),
            *("--results", results),
        ],
        cwd=tmp_path,
        timeout=300,
    )

    document = json.loads(output.read_text())
    configurations = {entry["name"]: entry for entry in document["configurations"]}
    assert {name: entry["kind"] for name, entry in configurations.items()} == EXPECTED
    for name, entry in configurations.items():
        [measured] = entry["rounds"]
        assert measured["tasks_per_s"] > 0 and measured["enqueue_per_s"] > 0, name
        assert measured["ready_s"] > 0, name
        # Read from the worker's processes and the client's: some, and under a second a task.
        assert 0 < measured["worker_cpu_ms"] < 1000, name
        assert 0 < measured["client_cpu_ms"] < 1000, name
        assert measured["versions"]["celery"], name
        if entry["result_backend"] == "none":
            assert measured["get_ms"] is None, name
        else:
            assert len(measured["get_ms"]) == 5 and min(measured["get_ms"]) > 0, name
            assert 0 < measured["get_p50_ms"] <= measured["get_p99_ms"], name
        assert entry["median"]["tasks_per_s"] == measured["tasks_per_s"], name
    assert document["cold_start"]["bare Celery"]["median_s"] > 0
    assert document["cold_start"]["my_project"]["median_s"] > 0
    assert document["cold_start"]["Django alone"]["median_s"] > 0
    assert document["cold_start"]["cookiecutter-django's settings"]["median_s"] > 0
    assert document["machine"]["cpus"] > 0
    assert document["machine"]["project_packages"]["celery"]

    table_rows = {
        line.split(" | ")[0].removeprefix("| ")
        for line in completed.stdout.splitlines()
        if line.startswith("| ")
    }
    rendered = {name for name, kind in EXPECTED.items() if kind != "variant"}
    variants = {f"{key}={value}" for key, value in VARIANTS}
    assert rendered | variants | {"as rendered"} <= table_rows
    assert "| redis, none | " in completed.stdout and "| n/a | n/a |" in completed.stdout
    assert any(row.startswith('`python -c "import django') for row in table_rows)
    # Each goal that this run measured, with its target.
    goals = ("tasks/s \N{MULTIPLICATION SIGN} bare", "CPU ms/task", "get p50 ms", "cold start")
    for goal in goals:
        assert any(goal in row for row in table_rows), goal
    page = results.read_text()
    assert page.startswith(f"# Benchmark results, {document['started_at'][:10]}\n")
    assert completed.stdout.strip() in page and "Machine: " in page


def test_the_growth_section_measures_each_figure_beside_its_target(tmp_path) -> None:
    output, results = tmp_path / "benchmark.json", tmp_path / "results.md"
    completed = run(
        [
            *(TEMPLATE_DIR / "scripts" / "benchmark", "--growth", "only", "--rounds", "1"),
            *("--tasks", "30", "--round-trips", "5", "--growth-rows", "12000"),
            *("--growth-periodic-tasks", "30", "--growth-ticks", "5"),
            *("--output", output, "--results", results),
        ],
        cwd=tmp_path,
        timeout=300,
    )

    grown = json.loads(output.read_text())["growth"]
    assert set(grown["rows"]) == {"1000", "12000"}
    for size, [measured] in grown["rows"].items():
        assert measured["table_rows"] == int(size)
        assert measured["tasks_per_s"] > 0 and measured["get_p50_ms"] > 0, size
        assert measured["write_p50_ms"] > 0 and measured["read_p50_ms"] > 0, size
    cleanup = grown["cleanup"]
    # Every expired row went, in more than one batch; the load's own rows stayed.
    assert cleanup["deleted"] == 12000 and cleanup["batches"] == 3 and cleanup["left"] > 0
    assert cleanup["steady_tasks_per_s"] > 0 and cleanup["cleanup_tasks_per_s"] > 0
    few, many = grown["beat"].values()
    assert many["periodic_tasks"] - few["periodic_tasks"] == 20
    assert few["setup_s"] > 0 and many["tick_cpu_ms"] > 0
    # Nothing changed between ticks: the same statements, whatever the number of tasks.
    assert many["statements"] == few["statements"]
    assert many["queries_per_tick"] == few["queries_per_tick"]
    for goal in ("get p50 at 12,000", "result write p50", "during the cleanup", "beat"):
        assert goal in completed.stdout, goal
    assert completed.stdout.strip() in results.read_text()
