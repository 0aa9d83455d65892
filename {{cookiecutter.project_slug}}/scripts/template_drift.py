"""Regenerate this project from its template and show how the working tree has drifted.

The template is cloned with git at a ref and rendered by Cookiecutter, without prompts,
from the answers in .cookiecutter-answers.json (a key the answers lack takes the
template's default). Every file the template renders is compared with the same path in
the working tree; files the template does not render (your own code, .venv, .env) and
paths listed in pyproject.toml's [tool.cruft] skip are not. The diff on stdout turns the
working tree into what the template renders, so `git apply` takes it.

Exit status: 0 no drift, 1 drift, 2 the template could not be fetched or rendered.
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from cookiecutter.exceptions import CookiecutterException
from cookiecutter.main import cookiecutter

PROJECT = Path(__file__).resolve().parent.parent
ANSWERS = PROJECT / ".cookiecutter-answers.json"


class RegenerationError(Exception):
    """The template could not be fetched or rendered; the message says why."""


def read_answers() -> dict[str, object]:
    """The answers the project was generated with."""
    try:
        answers = json.loads(ANSWERS.read_text())
    except (OSError, ValueError) as error:
        raise RegenerationError(f"cannot read {ANSWERS.name}: {error}") from error
    if not isinstance(answers, dict):
        raise RegenerationError(f"{ANSWERS.name} is not a JSON object of answers")
    return answers


def clone(template: str, ref: str, destination: Path) -> Path:
    """Clone the template and check out `ref`: a tag, a branch or a commit."""
    for failure, command in (
        (f"cannot clone {template}", ["clone", "--quiet", "--no-checkout", template, destination]),
        (f"cannot check out {ref}", ["-C", destination, "checkout", "--quiet", ref]),
    ):
        git = subprocess.run(["git", *map(str, command)], capture_output=True, text=True)
        if git.returncode != 0:
            raise RegenerationError(f"{failure}: {git.stderr.strip()}")
    return destination


def render(template: Path, answers: dict[str, object], workspace: Path) -> Path:
    """Render the template without prompts under `workspace`; return the project directory."""
    # A config of its own keeps ~/.cookiecutterrc's defaults out of the answers, and
    # Cookiecutter's replay files out of the home directory.
    config = workspace / "cookiecutter-config.json"
    config.write_text(
        json.dumps(
            {
                "cookiecutters_dir": str(workspace / "cookiecutters"),
                "replay_dir": str(workspace / "replay"),
            }
        )
    )
    try:
        project = cookiecutter(
            str(template),
            no_input=True,
            extra_context=answers,
            output_dir=str(workspace / "rendered"),
            config_file=str(config),
        )
    except (CookiecutterException, ValueError) as error:
        raise RegenerationError(f"the template refused the answers: {error}") from error
    return Path(project)


def skipped(rendered: Path) -> set[Path]:
    """The rendered paths that pyproject.toml's [tool.cruft] skip leaves out, as cruft does."""
    pyproject = PROJECT / "pyproject.toml"
    settings = tomllib.loads(pyproject.read_text()) if pyproject.is_file() else {}
    patterns = settings.get("tool", {}).get("cruft", {}).get("skip", [])
    return {
        match
        for pattern in patterns
        for match in (rendered.glob(pattern) if "*" in pattern else [rendered / pattern])
    }


def git_mode(path: Path) -> str:
    return "100755" if path.stat().st_mode & 0o111 else "100644"


def diff_lines(text: str) -> list[str]:
    """Split for difflib, marking a missing final newline as git does."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def file_diff(name: str, current: Path, rendered: Path) -> str:
    """The git diff that turns the working tree's `current` into `rendered`; "" if none."""
    header = [f"diff --git a/{name} b/{name}\n"]
    if current.is_file():
        old_name, old_content = f"a/{name}", current.read_bytes()
        if git_mode(current) != git_mode(rendered):
            header += [f"old mode {git_mode(current)}\n", f"new mode {git_mode(rendered)}\n"]
    else:
        old_name, old_content = "/dev/null", b""
        header.append(f"new file mode {git_mode(rendered)}\n")
    new_content = rendered.read_bytes()
    if old_content == new_content:
        return "".join(header) if len(header) > 1 else ""
    try:
        old_text, new_text = old_content.decode(), new_content.decode()
    except UnicodeDecodeError:
        return "".join([*header, f"Binary files {old_name} and b/{name} differ\n"])
    body = difflib.unified_diff(diff_lines(old_text), diff_lines(new_text), old_name, f"b/{name}")
    return "".join([*header, *body])


def drift(rendered: Path) -> list[str]:
    """One diff per rendered file that differs from the working tree, in path order."""
    leave_out = skipped(rendered)
    diffs = []
    for path in sorted(rendered.rglob("*")):
        if not path.is_file() or leave_out.intersection([path, *path.parents]):
            continue
        name = path.relative_to(rendered).as_posix()
        difference = file_diff(name, PROJECT / name, path)
        if difference:
            diffs.append(difference)
    return diffs


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "template",
        nargs="?",
        default=os.environ.get("TEMPLATE_URL"),
        help="what git clones: the template's URL or a local clone (default: $TEMPLATE_URL)",
    )
    parser.add_argument(
        "ref",
        nargs="?",
        default=os.environ.get("TEMPLATE_REF") or "HEAD",
        help="tag, branch or commit (default: $TEMPLATE_REF, else the default branch)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the regenerated project and say where"
    )
    args = parser.parse_args(argv)
    if not args.template:
        print("error: no template: pass its git URL or set TEMPLATE_URL", file=sys.stderr)
        return 2
    # Cookiecutter logs a traceback for a refused answer; the error line says it all.
    logging.getLogger("cookiecutter").addHandler(logging.NullHandler())
    logging.getLogger("cookiecutter").propagate = False

    workspace = Path(tempfile.mkdtemp(prefix="template-drift-"))
    kept = False  # Only a complete regeneration is worth keeping.
    try:
        template = clone(args.template, args.ref, workspace / "template")
        answers = read_answers()
        if args.ref != "HEAD":
            # The generated CI pins TEMPLATE_REF to the ref it was rendered at; render
            # at `ref` the same way, so an upgrade's diff moves the pin along.
            answers["_template_ref"] = args.ref
        rendered = render(template, answers, workspace)
        diffs = drift(rendered)
        kept = args.keep
    except RegenerationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if not kept:
            shutil.rmtree(workspace)
    if kept:
        print(f"Regenerated into {rendered}", file=sys.stderr)
    source = f"{args.template} at {args.ref}"
    if not diffs:
        print(f"No drift: the working tree matches every file {source} renders.", file=sys.stderr)
        return 0
    sys.stdout.write("".join(diffs))
    print(
        f"Drift: {len(diffs)} file(s) differ from what {source} renders; "
        "the diff above turns the working tree into it (git apply takes it).",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
