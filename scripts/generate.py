"""Generate a project with Cookiecutter, then hand over to the project's scripts/start."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from cookiecutter.exceptions import CookiecutterException, FailedHookException
from cookiecutter.main import cookiecutter


def parse_answers(pairs: list[str]) -> dict[str, str]:
    """Turn ["broker=rabbitmq", ...] into {"broker": "rabbitmq", ...}."""
    answers = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator:
            raise SystemExit(f"error: answer {pair!r} is not of the form key=value")
        answers[key] = value
    return answers


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("template", help="path to this template")
    parser.add_argument("answers", nargs="*", metavar="key=value", help="answers to prompts")
    parser.add_argument("--no-input", action="store_true", help="use defaults for the rest")
    parser.add_argument("-o", "--output-dir", default=".", help="where to create the project")
    parser.add_argument("--generate-only", action="store_true", help="do not start the project")
    args = parser.parse_intermixed_args(argv)
    # Cookiecutter logs a traceback for a refused answer; the hook's own line says it all.
    logging.getLogger("cookiecutter").addHandler(logging.NullHandler())
    logging.getLogger("cookiecutter").propagate = False

    try:
        project = Path(
            cookiecutter(
                args.template,
                no_input=args.no_input,
                extra_context=parse_answers(args.answers),
                output_dir=args.output_dir,
            )
        )
    except FailedHookException:
        return 1  # The hook has printed which answer it refused.
    except (CookiecutterException, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    print(f"Generated {project}", flush=True)
    if args.generate_only:
        return 0
    start = project / "scripts" / "start"
    os.execv(start, [str(start)])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
