"""SIGKILL at 50 moments of a package export, replacing a package and writing a new one: the
destination is afterwards the complete old package, the complete new one, or (new) absent, and
the next export's clean-up leaves no temporary behind."""

import json
import os
import subprocess
import sys
from pathlib import Path

from instructcell_onnx import leftovers

HELPER = Path(__file__).parent / "helpers" / "kill_export.py"


def test_killed_exports_leave_old_or_new_package_and_no_temporaries(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    run = subprocess.run(
        [sys.executable, str(HELPER), str(tmp_path), "50"], capture_output=True, text=True, env=env, timeout=1800
    )
    assert run.returncode == 0, run.stderr[-4000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    print(summary)
    replace, fresh = summary["replace"], summary["fresh"]
    assert set(replace["outcomes"]) <= {"seed 0", "seed 1"} and sum(replace["outcomes"].values()) == 50
    assert set(fresh["outcomes"]) <= {"absent", "seed 1"} and sum(fresh["outcomes"].values()) == 50
    # The kills are spread over the whole export: most land before its end.
    assert replace["outcomes"].get("seed 0", 0) >= 25 and fresh["outcomes"].get("absent", 0) >= 25


def test_sweep_restores_a_cut_replacement_and_removes_dead_partials(tmp_path):
    dead = 4_194_400  # above any Linux pid_max
    h = leftovers.host()
    (tmp_path / f".pkg.old-{h}-{dead}-0").mkdir()
    (tmp_path / f".pkg.old-{h}-{dead}-0" / "manifest.json").write_text("{}")
    (tmp_path / f".pkg.partial-{h}-{dead}-1").mkdir()
    (tmp_path / f".other.partial-{h}-{os.getpid()}-2").mkdir()
    (tmp_path / f".pkg.partial-elsewhere-{dead}-3").mkdir()
    leftovers.sweep(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".other.partial-" + f"{h}-{os.getpid()}-2", f".pkg.partial-elsewhere-{dead}-3", "pkg"]
    )
    assert (tmp_path / "pkg" / "manifest.json").read_text() == "{}"


def test_publish_replaces_in_one_step(tmp_path):
    out, tmp = tmp_path / "pkg", tmp_path / "new"
    out.mkdir()
    (out / "a").write_text("old")
    tmp.mkdir()
    (tmp / "a").write_text("new")
    leftovers.publish(tmp, out)
    assert (out / "a").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg"]
