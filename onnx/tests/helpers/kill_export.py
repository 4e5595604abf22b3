"""Kills package exports at 50 moments each and checks what is left (run by test_export_kill.py).

Runs as its own process so that every trial can be forked from a parent that has never run
PyTorch on more than one thread. Usage: ``kill_export.py WORKDIR TRIALS``; prints a JSON summary.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import torch

torch.set_num_threads(1)

from instructcell_onnx.exporter import export_package  # noqa: E402
from instructcell_onnx.leftovers import sweep  # noqa: E402
from instructcell_onnx.manifest import sha256_file  # noqa: E402
from instructcell_onnx.random_init import random_model  # noqa: E402

_, OLD_MODEL, TOK, GENES = random_model("tiny", 0)
_, NEW_MODEL, _, _ = random_model("tiny", 1)


def export(out: Path, seed: int, overwrite: bool) -> None:
    model = OLD_MODEL if seed == 0 else NEW_MODEL
    export_package(
        out,
        model,
        TOK,
        GENES,
        "instruct",
        {"kind": "random-init", "preset": "tiny", "seed": seed},
        ["fp32"],
        verify=True,
        overwrite=overwrite,
        threads=1,
        log=lambda _: None,
    )


def complete_seed(pkg: Path) -> int:
    """The seed of the complete package at ``pkg``; raises if any file is missing or altered."""
    m = json.loads((pkg / "manifest.json").read_text())
    for entry in list(m["files"].values()) + m["graphs"]:
        if sha256_file(pkg / entry["file"]) != entry["sha256"]:
            raise AssertionError(f"{pkg}: {entry['file']} does not match the manifest")
    if not json.loads((pkg / "verification.json").read_text())["passed"]:
        raise AssertionError(f"{pkg}: verification did not pass")
    return int(m["source"]["seed"])


def killed_export(out: Path, overwrite: bool, after: float) -> bool:
    """Forks an export of the seed-1 package to ``out``, kills it after ``after`` seconds;
    whether it had finished."""
    pid = os.fork()
    if pid == 0:
        try:
            export(out, 1, overwrite)
            os._exit(0)
        except BaseException:
            os._exit(1)
    time.sleep(after)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def main() -> int:
    work, trials = Path(sys.argv[1]), int(sys.argv[2])
    old = work / "old"
    export(old, 0, False)
    start = time.time()
    export(work / "timing", 1, False)
    full = time.time() - start
    summary = {"export_seconds": full, "trials": trials}
    for mode in ("replace", "fresh"):
        finished = 0
        outcomes: dict[str, int] = {}
        for trial in range(trials):
            d = work / f"{mode}-{trial}"
            d.mkdir()
            pkg = d / "pkg"
            if mode == "replace":
                shutil.copytree(old, pkg)
            finished += killed_export(pkg, mode == "replace", full * 1.1 * ((trial * 37) % trials) / trials)
            sweep(d)  # what the next export into this directory does first
            left = sorted(p.name for p in d.iterdir())
            if left not in (["pkg"], []) or (mode == "replace" and left != ["pkg"]):
                raise AssertionError(f"{mode} #{trial}: left {left}")
            state = "absent" if not left else f"seed {complete_seed(pkg)}"
            outcomes[state] = outcomes.get(state, 0) + 1
            shutil.rmtree(d)
        summary[mode] = {"finished": finished, "outcomes": outcomes}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
