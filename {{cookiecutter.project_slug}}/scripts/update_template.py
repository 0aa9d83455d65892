"""Take the template's changes since the commit this project was rendered from.

.cruft.json records the template's address, that commit and the answers. cruft renders
the template at that commit and at the newest one (or --checkout REF) from the answers,
and applies the difference to the working tree as a three-way merge (`git apply -3`):
your changes stay, the template's land, and a file where both changed the same lines
keeps both versions between conflict markers. Those files are listed and the exit status
is 1; every other file is merged whole. KEY=VALUE changes an answer on the way
(use_flower=yes); an answer the template added since takes its default.

--check does the same in a temporary worktree of HEAD and leaves this one alone: it says
whether the template has changed and whether the changes would merge cleanly, and exits 0
whatever it finds, for CI. Otherwise the exit status is 0 when the project is updated or
already up to date, 1 on conflicts, and 2 when the update could not start (nothing is
changed then).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.config import get_user_config
from cookiecutter.exceptions import CookiecutterException
from cookiecutter.generate import generate_context, generate_files
from cookiecutter.prompt import prompt_for_config

PROJECT = Path(__file__).resolve().parent.parent
STATE = ".cruft.json"
# Cookiecutter renders every answer as a template before any hook can check it, so an
# answer holding template syntax would run code here (and in CI, from a pull request
# that edits .cruft.json). The template never records one: its hook refuses them.
# (Escaped so that this file, itself a template, holds none.)
TEMPLATE_SYNTAX = re.compile(r"\{[\{\%\#]")
# A template git cannot fetch is an error to report, not a password prompt to hang on.
ENVIRONMENT = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}


class UpdateError(Exception):
    """The update could not start; the message says why."""


def git(*arguments: str | Path, cwd: Path, failure: str, stdin: str | None = None) -> str:
    """Run git; on failure raise UpdateError with `failure` and git's last line."""
    completed = subprocess.run(
        ["git", *map(str, arguments)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=ENVIRONMENT,
    )
    if completed.returncode != 0:
        said = completed.stderr.strip().splitlines()
        raise UpdateError(
            f"{failure}: {said[-1] if said else f'git exited {completed.returncode}'}"
        )
    return completed.stdout


def read_state() -> dict:
    """The template's address, the commit and the answers, as cruft records them."""
    try:
        state = json.loads((PROJECT / STATE).read_text())
    except (OSError, ValueError) as error:
        raise UpdateError(f"cannot read {STATE}: {error}") from error
    if not (
        isinstance(state, dict)
        and isinstance(state.get("template"), str)
        and isinstance(state.get("context", {}).get("cookiecutter"), dict)
    ):
        raise UpdateError(f"{STATE} does not record the template's address and the answers")
    for key, value in state["context"]["cookiecutter"].items():
        refuse_template_syntax(key, value, f"{STATE}'s answer")
    if not state.get("commit"):
        raise UpdateError(
            f"{STATE} records no template commit: set its commit to the one this project "
            "was rendered from"
        )
    return state


def parse_answers(pairs: list[str], declared: dict) -> dict[str, str]:
    """KEY=VALUE arguments, each the name of one of the template's answers."""
    answers = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or key.startswith("_") or key not in declared:
            known = ", ".join(key for key in declared if not key.startswith("_"))
            raise UpdateError(f"{pair!r} is not KEY=VALUE for one of the answers: {known}")
        refuse_template_syntax(key, value, "the answer")
        answers[key] = value
    return answers


def refuse_template_syntax(key: str, value: object, where: str) -> None:
    """Refuse an answer that Cookiecutter would run as a template."""
    if isinstance(value, str) and TEMPLATE_SYNTAX.search(value):
        raise UpdateError(
            f"{where} {key} holds template syntax (a brace, then a brace, % or #): refused"
        )


def render(template: Path, commit: str, state: dict, workspace: Path) -> Path:
    """The project that the template at `commit` renders from the recorded answers.

    As cruft renders it: the answers over the template's defaults, without prompts.
    """
    source = workspace / "rendered-from"
    git("worktree", "add", "--detach", "--quiet", source, commit, cwd=template, failure="git")
    answers = state["context"]["cookiecutter"]
    try:
        context = generate_context(
            context_file=source / "cookiecutter.json",
            default_context=get_user_config()["default_context"],
            extra_context={key: value for key, value in answers.items() if not key.startswith("_")},
        )
        context["cookiecutter"] = prompt_for_config(context, no_input=True)
        context["cookiecutter"].update(_template=state["template"], _commit=commit)
        rendered = generate_files(
            repo_dir=source,
            context=context,
            overwrite_if_exists=True,
            output_dir=workspace / "rendered",
        )
    except (CookiecutterException, ValueError) as error:
        raise UpdateError(f"the template at {commit:.12} refused the answers: {error}") from error
    return Path(rendered)


def store_base_files(rendered: Path) -> None:
    """Put every file of the render the project started from into its git objects.

    `git apply -3` merges a file only when the repository has the version the template's
    diff starts from. A project's history has it only while the user committed that
    file exactly as rendered and CI fetched that far back, so without this step an edited
    file would not merge on a second update, or in a shallow clone: cruft falls back to
    applying hunks where they fit and leaving .rej files.
    """
    files = [str(path) for path in sorted(rendered.rglob("*")) if path.is_file()]
    git(
        "hash-object",
        "-w",
        "--no-filters",
        "--stdin-paths",
        cwd=PROJECT,
        stdin="\n".join(files) + "\n",
        failure="cannot store the template's files in this repository",
    )


def merge(worktree: Path, template: Path, ref: str | None, answers: dict[str, str]) -> list[str]:
    """Run cruft's update in `worktree`; return the files left with conflicts."""
    command = [sys.executable, "-m", "cruft", "update", "--skip-apply-ask"]
    command += ["--template-path", str(template)]
    if ref:
        command += ["--checkout", ref]
    if answers:
        command += ["--variables-to-update", json.dumps(answers)]
    cruft = subprocess.run(command, cwd=worktree, capture_output=True, text=True, env=ENVIRONMENT)
    if cruft.returncode != 0:
        said = (cruft.stdout + cruft.stderr).strip().splitlines()
        raise UpdateError(f"cruft update failed: {said[-1] if said else cruft.returncode}")
    # cruft reports success whatever `git apply -3` left: conflicts are unmerged paths, and
    # .rej files where it fell back to applying the hunks that fit.
    unmerged = git("diff", "--name-only", "--diff-filter=U", "-z", cwd=worktree, failure="git")
    rejected = git(
        "ls-files",
        "--others",
        "--exclude-standard",
        "-z",
        "--",
        "*.rej",
        cwd=worktree,
        failure="git",
    )
    return sorted(
        {name for name in unmerged.split("\0") if name}
        | {f"{name.removesuffix('.rej')} (see {name})" for name in rejected.split("\0") if name}
    )


def annotate(level: str, title: str, message: str) -> None:
    """Show the finding on the workflow run's page too, when run by GitHub Actions."""
    if os.environ.get("GITHUB_ACTIONS") == "true":
        escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        print(f"::{level} title={title}::{escaped}")


def update(args: argparse.Namespace, workspace: Path) -> int:
    state = read_state()
    recorded = state["commit"]
    if not args.check and git("status", "--porcelain", cwd=PROJECT, failure="not a git work tree"):
        raise UpdateError(
            "commit or stash your changes first: the update is reviewed and undone with git"
        )
    template = workspace / "template.git"
    git(
        "clone",
        "--quiet",
        "--bare",
        "--",
        state["template"],
        template,
        cwd=workspace,
        failure=f"cannot fetch the template from {state['template']}",
    )
    ref = args.checkout or "HEAD"
    newest = git(
        "rev-parse",
        "--verify",
        ref + "^{commit}",
        cwd=template,
        failure=f"the template has no {ref}",
    ).strip()
    git(
        "cat-file",
        "-e",
        recorded + "^{commit}",
        cwd=template,
        failure=f"the template has no commit {recorded}, the one {STATE} records",
    )
    declared = json.loads(
        git("show", f"{newest}:cookiecutter.json", cwd=template, failure="no cookiecutter.json")
    )
    answers = parse_answers(args.answers, declared)
    unchanged = not git("diff", "--name-only", recorded, newest, cwd=template, failure="git")
    source = f"the template ({state['template']})"
    if unchanged and not answers:
        print(f"Up to date: {source} has no changes after {recorded:.12}.")
        return 0

    store_base_files(render(template, recorded, state, workspace))
    if args.check:
        worktree = workspace / "project"
        git("worktree", "add", "--detach", "--quiet", worktree, "HEAD", cwd=PROJECT, failure="git")
        try:
            conflicts = merge(worktree, template, args.checkout, answers)
        finally:
            git("worktree", "remove", "--force", worktree, cwd=PROJECT, failure="git")
    else:
        conflicts = merge(PROJECT, template, args.checkout, answers)

    ahead = git("rev-list", "--count", f"{recorded}..{newest}", cwd=template, failure="git")
    change = f"from {recorded:.12} to {newest:.12} ({ahead.strip()} new commits)"
    if unchanged:
        change = f"at {recorded:.12}, with {' '.join(args.answers)}"
    if args.check:
        print(f"Template update available: {source} {change}.")
        if conflicts:
            finding = (
                "It conflicts with this project's changes in "
                f"{', '.join(conflicts)}: scripts/update-template takes it and marks those "
                "files for you to resolve."
            )
        else:
            finding = "It merges cleanly with this project's changes: scripts/update-template."
        print(finding)
        annotate("warning" if conflicts else "notice", "Template update available", finding)
        return 0
    print(f"Updated to {source} {change}.")
    if conflicts:
        print(
            f"Conflicts in {len(conflicts)} file(s), each with both versions between <<<<<<< "
            "ours and >>>>>>> theirs (`git checkout --ours FILE` or `--theirs FILE` takes one "
            "side); every other change merged:"
        )
        print("".join(f"  {name}\n" for name in conflicts), end="")
        return 1
    print("Review the changes with `git status` and `git diff HEAD`, then commit them.")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/update-template", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="say whether an update is available and would merge cleanly; change nothing",
    )
    parser.add_argument(
        "--checkout", metavar="REF", help="a tag, branch or commit (default: the newest commit)"
    )
    parser.add_argument(
        "answers", nargs="*", metavar="KEY=VALUE", help="an answer to change, e.g. use_flower=yes"
    )
    args = parser.parse_args(argv)
    workspace = Path(tempfile.mkdtemp(prefix="update-template-"))
    try:
        return update(args, workspace)
    except UpdateError as error:
        if not args.check:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"warning: cannot check for template updates: {error}", file=sys.stderr)
        annotate("warning", "Template update check", str(error))
        return 0
    finally:
        shutil.rmtree(workspace)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
