"""Benchmark of the rendered projects' Celery against bare Celery: `scripts/benchmark`.

run.py drives it from the template's virtualenv; client.py (the producer), probe.py (the
worker's wrapper) and bare.py (the bare Celery app) run in a rendered project's
virtualenv, so bare and rendered use the very same Celery. This module imports nothing.
"""
