"""Print the distributions of this environment that kaigo-graph does not need at run time.

requirements.lock pins the dev extra too (pytest, hypothesis, mypy, ruff …): the image builder installs the
whole lock hash-checked, then uninstalls what this prints. What stays is the closure of kaigo-graph's own
requirements (markers evaluated here, extras followed: sqlalchemy[asyncio] keeps greenlet), plus pip.

    python docker/prune_dev_deps.py | xargs -r pip uninstall -y
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, distribution, distributions

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = "kaigo-graph"
ALWAYS_KEPT = {"pip"}


def runtime_closure(root: str) -> set[str]:
    keep: set[str] = set()
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, str]] = [(canonicalize_name(root), "")]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            sys.exit(f"{name} is required but not installed: the lock and pyproject.toml disagree")
        keep.add(name)
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": extra}):
                continue
            # requirements of the root's extras ("dev") are skipped: the marker names them
            todo.append((canonicalize_name(req.name), ""))
            todo.extend((canonicalize_name(req.name), e) for e in req.extras)
    return keep


def main() -> None:
    keep = runtime_closure(ROOT) | ALWAYS_KEPT
    installed = {canonicalize_name(d.metadata["Name"]) for d in distributions()}
    for name in sorted(installed - keep):
        print(name)


if __name__ == "__main__":
    main()
