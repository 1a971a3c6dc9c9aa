"""Calibration from dry-run timings: recovery of known durations, the YAML block, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.common.errors import InputError
from sim.experiments.calibration import STEPS, calibrate, fit_step, read_timings, write_durations
from sim.model.plan import Durations, Plan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "dry-run-timings.csv"

TRUE = {  # step: (base, per_vm, sigma of the log)
    "validate": (5.0, 1 / 6, 0.2),
    "prepare": (10.0, 1.0, 0.25),
    "abort": (4.0, 0.2, 0.2),
}


def synthetic(path: Path, seed: int = 3, repeats: int = 50) -> Path:
    """Timings drawn from the simulator's own model: median base + per_vm * vms, lognormal."""
    rng = np.random.default_rng(seed)
    lines = ["Unit,Step,VMs,Minutes,Operator"]
    for step, (base, per_vm, sigma) in TRUE.items():
        vms = np.tile([0, 0, 1, 2, 5, 10, 20, 50, 100], repeats)
        minutes = (base + per_vm * vms) * np.exp(sigma * rng.standard_normal(vms.size))
        lines += [
            f"u{i},{step},{v},{m:.4f},ann"
            for i, (v, m) in enumerate(zip(vms, minutes, strict=True))
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_recovers_known_base_per_vm_and_spread(tmp_path: Path) -> None:
    cal = calibrate(synthetic(tmp_path / "t.csv"))
    fits = {f.step: f for f in cal.fits}
    assert list(fits) == ["validate", "prepare", "abort"]  # STEPS order, observed steps only
    for step, (base, per_vm, sigma) in TRUE.items():
        f = fits[step]
        assert f.n == 450
        assert f.base == pytest.approx(base, rel=0.10)
        assert f.per_vm == pytest.approx(per_vm, rel=0.10)
        assert f.spread == pytest.approx(sigma, rel=0.10)
        assert f.distribution == "lognormal"
        assert 0.5 < f.r2 <= 1.0


def test_exact_data_fit_exactly() -> None:
    f = fit_step("prepare", [0, 2, 4, 8], [10.0, 12.0, 14.0, 18.0])
    assert (f.base, f.per_vm) == pytest.approx((10.0, 1.0))
    assert f.spread == 0.0 and f.distribution == "deterministic"
    assert f.r2 == pytest.approx(1.0)


def test_small_samples_and_one_vm_count() -> None:
    two = fit_step("commit", [1, 3], [6.0, 8.0])
    assert two.distribution == "deterministic" and "fewer than 3" in two.note
    assert (two.base, two.per_vm) == pytest.approx((5.0, 1.0))
    same = fit_step("stop", [4, 4, 4], [2.0, 8.0, 4.0])
    assert same.per_vm == 0.0 and same.base == pytest.approx(4.0)  # the geometric mean
    assert "per_vm" in same.note
    assert same.spread == pytest.approx(math.sqrt(2 * math.log(2) ** 2 / 2))
    none = fit_step("start", [0, 0, 0], [5.0, 5.0, 5.0])
    assert none.note == "" and math.isnan(none.r2) and none.spread == 0.0


def test_yaml_block_loads_into_a_plan(tmp_path: Path) -> None:
    cal = calibrate(synthetic(tmp_path / "t.csv"))
    text = cal.to_yaml()
    assert text.splitlines()[3] == "durations:"
    data = yaml.safe_load(text)
    plan = Plan.model_validate(data)
    assert data["durations"] == cal.durations()
    fits = {f.step: f for f in cal.fits}
    assert plan.durations.prepare.base == pytest.approx(fits["prepare"].base, abs=1e-4)
    assert plan.durations.prepare.distribution == "lognormal"
    assert plan.durations.commit == Durations().commit  # not observed: the default stays
    # Pasted under plan: in a scenario (indented), it loads the same.
    indented = "\n".join("  " + line for line in text.splitlines())
    sc = tmp_path / "s.yaml"
    sc.write_text(f"name: t\nestate: {{nsgs: [{{name: a}}]}}\nplan:\n{indented}\n")
    from sim.model.scenario import load_scenario

    assert load_scenario(sc).plan.durations == plan.durations
    out = write_durations(cal, tmp_path / "d.yaml")
    assert out.read_text() == text
    with pytest.raises(InputError, match="already exists"):
        write_durations(cal, out)
    write_durations(cal, out, force=True)
    rows = cal.rows()
    assert [r["step"] for r in rows] == ["validate", "prepare", "abort"]
    assert set(rows[0]) == {
        "step", "n", "vms", "base", "per_vm", "distribution", "spread", "r2_log", "note",
    }  # fmt: skip


def test_the_example_file() -> None:
    cal = calibrate(EXAMPLE)
    steps = [f.step for f in cal.fits]
    assert {"validate", "prepare", "abort"} <= set(steps)
    assert set(steps) <= set(STEPS)
    Plan.model_validate(yaml.safe_load(cal.to_yaml()))


def bad(tmp_path: Path, text: str) -> InputError:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_timings(path)
    assert info.value.file == str(path)
    return info.value


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("unit,step,vms\nu,prepare,3\n", 1, None, "missing column minutes"),
        ("unit,vms\nu,3\n", 1, None, "missing columns step, minutes"),
        ("unit,step,vms,minutes\nu,prepare,3,12\nu,prepare,4,abc\n", 3, "minutes", "'abc'"),
        ("unit,step,vms,minutes\nu,prepare,3,-2\n", 2, "minutes", "negative minutes"),
        ("unit,step,vms,minutes\nu,prepare,3,0\n", 2, "minutes", "greater than zero"),
        ("unit,step,vms,minutes\nu,prepare,3,nan\n", 2, "minutes", "finite"),
        ("unit,step,vms,minutes\nu,migrate,3,5\n", 2, "step", "'migrate'"),
        ("unit,step,vms,minutes\nu,check,3,5\n", 2, "step", "plan.check"),
        ("unit,step,vms,minutes\nu,prepare,2.5,5\n", 2, "vms", "whole number"),
        ("unit,step,vms,minutes\nu,prepare,1e300,5\n", 2, "vms", "0 to 1,000,000, got '1e300'"),
        (
            "unit,step,vms,minutes\nu,prepare,3,12\nu,prepare,3,100000\n",
            3,
            "minutes",
            "at most 30d",
        ),
        ("unit,step,vms,minutes\nu,prepare,3,1e308\n", 2, "minutes", "(43,200 minutes"),
        ("unit,step,vms,minutes\nu,prepare,3,43200.001\n", 2, "minutes", "got '43200.001'"),
        ("unit,step,vms,minutes\nu,prepare,-1,5\n", 2, "vms", "'-1'"),
        ("unit,step,vms,minutes\nu,prepare,,5\n", 2, "vms", "missing value"),
        ("unit,step,vms,minutes\nu,prepare,3\n", 2, "minutes", "missing value"),
        ("unit,step,vms,minutes\n", None, None, "no rows"),
        ("unit,step,vms,minutes\n\n\n", None, None, "no rows"),
        ("", None, None, "is empty"),
        ("  \n", None, None, "is empty"),
        (",,,\n", None, None, "has no header"),
    ],
)
def test_bad_timings_name_file_line_and_column(
    tmp_path: Path, text: str, line: int | None, column: str | None, words: str
) -> None:
    err = bad(tmp_path, text)
    assert err.line == line
    assert err.key_path == (column or "")
    assert words in err.message
    if column == "step":
        assert "validate, prepare, commit, abort" in err.message
    if "missing column" in words:
        assert "unit, step, vms, minutes" in err.message


def test_header_is_case_insensitive_and_extra_columns_ignored(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("\ufeffMinutes, VMS ,note,Step,UNIT\n12.5,3,x,Prepare,v1\n\n7,0,,validate,st\n")
    obs = read_timings(path)
    assert [(o.step, o.vms, o.minutes, o.unit, o.line) for o in obs] == [
        ("prepare", 3, 12.5, "v1", 2),
        ("validate", 0, 7.0, "st", 4),
    ]


def test_missing_file_and_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_timings(tmp_path / "none.csv")
    path = tmp_path / "latin.csv"
    path.write_bytes(b"unit,step,vms,minutes\n\xe9,prepare,1,2\n")
    with pytest.raises(InputError, match="UTF-8") as info:
        read_timings(path)
    assert info.value.line == 2


@pytest.mark.timeout(60)
def test_calibrate_refuses_durations_validate_would_refuse(tmp_path: Path) -> None:
    """Observed minutes over the loader's 30-day step limit are exit 2 naming the file and the
    line, with no RuntimeWarning on the terminal and no durations file; 30 days itself is fine and
    what is written loads."""
    from click.testing import CliRunner

    from sim.cli import cli

    huge = tmp_path / "huge.csv"
    huge.write_text("unit,step,vms,minutes\nu,prepare,3,1e308\nv,prepare,5,1e308\n")
    out = tmp_path / "d.yaml"
    result = CliRunner().invoke(cli, ["calibrate", str(huge), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"{huge}:2: minutes: expected a step's duration of at most 30d" in " ".join(
        result.stderr.split()
    )
    assert "Warning" not in result.output and "Traceback" not in result.output
    assert not out.exists()
    edge = tmp_path / "edge.csv"
    edge.write_text("unit,step,vms,minutes\nu,prepare,0,43200\nv,prepare,0,43200\n")
    result = CliRunner().invoke(cli, ["calibrate", str(edge), "--out", str(out)])
    assert result.exit_code == 0, result.output
    durations = yaml.safe_load(out.read_text())["durations"]
    assert durations["prepare"]["base"] == 43200
    Durations.model_validate(durations)


def test_a_fit_outside_the_loader_range_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the fit gives, a base or per_vm the loader would refuse is never written."""
    import sim.experiments.calibration as calibration

    real = calibration.fit_step

    def steep(step: str, vms: list[int], minutes: list[float]) -> calibration.StepFit:
        fit = real(step, vms, minutes)
        return calibration.StepFit(step, fit.n, 0, 9, fit.base, 1e6, fit.spread, fit.r2)

    monkeypatch.setattr(calibration, "fit_step", steep)
    path = tmp_path / "t.csv"
    path.write_text("unit,step,vms,minutes\nu,prepare,0,5\nv,prepare,9,50\n")
    with pytest.raises(InputError) as caught:
        calibrate(path)
    err = caught.value
    assert err.key_path == "prepare"
    assert "the fitted per_vm (1e+06) is outside what a scenario takes (0 to 43,200)" in err.message
    assert "lines 2, 3" in err.message
