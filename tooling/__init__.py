"""What the template's tests and its benchmark share: the option matrix, isolated pieces of
this machine's services, virtualenvs for rendered projects, background processes.

Both import it as `tooling` from the template's root: pytest puts the root on sys.path
(pyproject.toml's pythonpath), and scripts/benchmark runs from there.
"""
