"""Calibration from a dry run: fit each step's ``base``, ``per_vm`` and spread to observed timings.

Microsoft advises a Validate/Prepare/Abort dry run, which "will also give you a sense of migration
duration". ``migsim calibrate TIMINGS.csv`` reads what was observed and writes a ``durations:``
block a scenario can paste under ``plan:``.

Input
    A CSV file with a header line and the columns ``unit``, ``step``, ``vms``, ``minutes`` (any
    order, any case; other columns are ignored): the unit migrated (for the reader only), the
    step (one of :data:`STEPS`, the :class:`~sim.model.plan.Durations` names), the unit's VM count
    (a whole number, 0 to :data:`~sim.model.estate.MAX_COUNT`) and the step's observed minutes
    (greater than zero, at most :data:`~sim.model.plan.MAX_STEP`, the longest step a scenario
    takes). A fit the scenario loader would refuse (``base`` or ``per_vm`` over ``MAX_STEP``) is
    refused too, never written. Every problem is an :class:`~sim.common.errors.InputError`
    naming the file, the line and the column.

The model and the fit
    The simulator draws a step's duration as ``c(v) * exp(sigma * Z)``, ``Z`` standard normal,
    with the central value ``c(v) = base + per_vm * v`` the median (``distribution: lognormal``,
    ``spread: sigma``). Under that model ``log(minutes) = log(base + per_vm * v) + sigma * Z``,
    so the maximum-likelihood fit of ``base`` and ``per_vm`` is least squares on the log
    durations: minimise ``sum((log y - log(base + per_vm * v))**2)`` with ``base > 0`` and
    ``per_vm >= 0`` (:func:`scipy.optimize.least_squares`, trust-region reflective, started
    from the non-negative ordinary least squares line on the minutes, :func:`scipy.optimize.nnls`).
    An additive model fitted on raw minutes would estimate the mean, ``exp(sigma**2 / 2)`` above
    the median the simulator expects; the log fit estimates the median directly and weighs
    every observation by its relative error, as multiplicative noise asks.

    - ``spread`` = the residual standard deviation of ``log(observed / fitted)``, with ``n - k``
      degrees of freedom (``k`` the parameters fitted), capped at 5 (the plan's limit);
    - ``R²`` on the log scale: ``1 - SS_res / SS_tot`` of the log durations (blank when every
      observation is equal);
    - when every observation of a step has the same VM count, ``per_vm`` cannot be told apart
      from ``base``: ``per_vm`` is 0 and ``base`` the geometric mean (noted);
    - a step with fewer than 3 observations, or a spread that rounds to 0, is written
      ``deterministic``.

Output
    Only the steps observed are written; the others keep the scenario's (or the default)
    durations, since a ``durations:`` mapping keeps the defaults of the steps it leaves out.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from sim.common.atomic import YAML_SUFFIXES, atomic_file, refuse_existing
from sim.common.errors import InputError
from sim.common.timeparse import format_minutes
from sim.model.estate import MAX_COUNT
from sim.model.plan import MAX_STEP, STEP_NAMES
from sim.model.scenario import read_text

# scipy ships no type information: as ``Any`` its calls stay out of strict checking.
optimize: Any = import_module("scipy.optimize")

STEPS = STEP_NAMES
"""Step names a timings file may use (the keys of a scenario's ``durations:``)."""

COLUMNS = ("unit", "step", "vms", "minutes")
MAX_SPREAD = 5.0
MIN_BASE = 1e-9


@dataclass(frozen=True)
class Observation:
    """One observed step: ``line`` is its line in the file."""

    unit: str
    step: str
    vms: int
    minutes: float
    line: int


@dataclass(frozen=True)
class StepFit:
    """The fitted duration of one step and how well it fits."""

    step: str
    n: int
    vms_min: int
    vms_max: int
    base: float
    per_vm: float
    spread: float
    r2: float  # on the log scale; NaN when undefined
    note: str = ""

    @property
    def distribution(self) -> str:
        return "lognormal" if self.spread > 0 else "deterministic"

    def as_dict(self) -> dict[str, str | float | int]:
        return {
            "step": self.step,
            "n": self.n,
            "vms": f"{self.vms_min}-{self.vms_max}"
            if self.vms_min != self.vms_max
            else str(self.vms_min),
            "base": self.base,
            "per_vm": self.per_vm,
            "distribution": self.distribution,
            "spread": self.spread,
            "r2_log": self.r2,
            "note": self.note,
        }

    def yaml_value(self) -> str:
        parts = [f"base: {_num(self.base)}", f"per_vm: {_num(self.per_vm)}"]
        parts.append(f"distribution: {self.distribution}")
        if self.spread > 0:
            parts.append(f"spread: {_num(self.spread)}")
        return "{" + ", ".join(parts) + "}"


def _num(x: float) -> str:
    # Fixed-point (PyYAML reads "1e-05" as a string), at most four decimals, no trailing zeros.
    text = f"{x:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


@dataclass(frozen=True)
class Calibration:
    """Every step's fit, in :data:`STEPS` order, and the file it came from."""

    source: str
    fits: tuple[StepFit, ...]

    @property
    def observations(self) -> int:
        return sum(f.n for f in self.fits)

    def rows(self) -> list[dict[str, str | float | int]]:
        """One row per fitted step, for a table (``step, n, vms, base, per_vm, distribution,
        spread, r2_log, note``)."""
        return [f.as_dict() for f in self.fits]

    def durations(self) -> dict[str, dict[str, Any]]:
        """The ``durations:`` mapping as plain data (minutes)."""
        out: dict[str, dict[str, Any]] = {}
        for f in self.fits:
            item: dict[str, Any] = {
                "base": float(_num(f.base)),
                "per_vm": float(_num(f.per_vm)),
                "distribution": f.distribution,
            }
            if f.spread > 0:
                item["spread"] = float(_num(f.spread))
            out[f.step] = item
        return out

    def to_yaml(self) -> str:
        """A ``durations:`` block (minutes) with a comment per step: paste it under ``plan:``."""
        lines = [
            f"# Step durations fitted by migsim calibrate from {self.source}"
            f" ({self.observations} observations).",
            "# Minutes: base + per_vm * VMs is the median; spread is the sigma of the log.",
            "# Paste under plan: (steps not listed keep their defaults).",
            "durations:",
        ]
        for f in self.fits:
            r2 = "-" if math.isnan(f.r2) else f"{f.r2:.3f}"
            note = f"; {f.note}" if f.note else ""
            lines.append(f"  # {f.step}: n={f.n}, R² (log)={r2}{note}")
            lines.append(f"  {f.step}: {f.yaml_value()}")
        return "\n".join(lines) + "\n"


# ---- reading ---------------------------------------------------------------------------------


def read_timings(path: str | Path, shown: str | None = None) -> list[Observation]:
    """Read and check a timings CSV (see the module doc); raise :class:`InputError` naming the
    file, the line and the column of the first problem."""
    path = Path(path)
    shown = shown or str(path)
    text = read_text(path, shown, "a timings file", ".csv")
    expected = "expected a header line with the columns unit, step, vms, minutes"
    if not text.strip():
        raise InputError(shown, (), f"is empty; {expected} and one row per observed step")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next((r for r in reader if any(cell.strip() for cell in r)), None)
        if header is None:
            raise InputError(shown, (), f"has no header; {expected}")
        names = [h.strip().lower() for h in header]
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise InputError(
                shown,
                (),
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)};"
                f" {expected} (found: {', '.join(h.strip() for h in header) or 'nothing'})",
                line=reader.line_num,
            )
        col = {c: names.index(c) for c in COLUMNS}
        out: list[Observation] = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            out.append(_observation(record, col, shown, reader.line_num))
    except csv.Error as exc:
        raise InputError(shown, (), f"malformed CSV: {exc}", line=reader.line_num) from None
    if not out:
        raise InputError(shown, (), "has a header but no rows; expected one row per observed step")
    return out


def _observation(record: Sequence[str], col: dict[str, int], shown: str, line: int) -> Observation:
    def cell(name: str) -> str:
        i = col[name]
        if i >= len(record) or not record[i].strip():
            raise InputError(shown, (name,), f"missing value; expected a {_WHAT[name]}", line=line)
        return record[i].strip()

    unit = cell("unit")
    step = cell("step").lower()
    if step not in STEPS:
        hint = " (check is plan.check, not a step duration)" if step == "check" else ""
        raise InputError(
            shown,
            ("step",),
            f"unknown step {step!r}{hint}; expected one of: {', '.join(STEPS)}",
            line=line,
        )
    vms_text = cell("vms")
    try:
        vms_value = float(vms_text)
    except ValueError:
        vms_value = math.nan
    if not (
        math.isfinite(vms_value) and 0 <= vms_value <= MAX_COUNT and vms_value == int(vms_value)
    ):
        raise InputError(
            shown,
            ("vms",),
            f"expected a whole number of VMs, 0 to {MAX_COUNT:,}, got {vms_text!r}",
            line=line,
        )
    minutes_text = cell("minutes")
    try:
        minutes = float(minutes_text)
    except ValueError:
        raise InputError(
            shown, ("minutes",), f"expected a number of minutes, got {minutes_text!r}", line=line
        ) from None
    if not math.isfinite(minutes):
        raise InputError(
            shown,
            ("minutes",),
            f"expected a finite number of minutes, got {minutes_text!r}",
            line=line,
        )
    if minutes < 0:
        raise InputError(
            shown,
            ("minutes",),
            f"negative minutes {minutes_text!r}; expected a duration greater than zero",
            line=line,
        )
    if minutes == 0:
        raise InputError(
            shown,
            ("minutes",),
            "expected minutes greater than zero (a step always takes some time; write fractions"
            " such as 0.5)",
            line=line,
        )
    if minutes > MAX_STEP:
        raise InputError(
            shown,
            ("minutes",),
            f"expected a step's duration of at most {format_minutes(MAX_STEP)}"
            f" ({MAX_STEP:,.0f} minutes, the longest a scenario takes), got {minutes_text!r}",
            line=line,
        )
    return Observation(unit, step, int(vms_value), minutes, line)


_WHAT = {
    "unit": "unit name",
    "step": f"step name ({', '.join(STEPS)})",
    "vms": "whole number of VMs",
    "minutes": "number of minutes",
}


# ---- fitting ---------------------------------------------------------------------------------


def fit_step(step: str, vms: Sequence[int], minutes: Sequence[float]) -> StepFit:
    """Fit one step (see the module doc). ``minutes`` must all be greater than zero."""
    x = np.asarray(vms, dtype=float)
    y = np.asarray(minutes, dtype=float)
    n = int(y.size)
    if n == 0 or not np.all(y > 0):
        raise ValueError("expected at least one observation, every one greater than zero")
    logy = np.log(y)
    note = ""
    if np.unique(x).size < 2:
        base, per_vm, k = float(np.exp(logy.mean())), 0.0, 1
        if x[0] > 0:
            note = f"one VM count ({int(x[0])}): per_vm cannot be told from base, set to 0"
    else:
        (b0, p0), _ = optimize.nnls(np.column_stack([np.ones_like(x), x]), y)
        start = [max(float(b0), 1e-3 * float(y.min())), max(float(p0), 0.0)]

        def residuals(theta: np.ndarray[Any, np.dtype[np.float64]]) -> Any:
            return logy - np.log(theta[0] + theta[1] * x)

        fit = optimize.least_squares(
            residuals, start, bounds=([MIN_BASE, 0.0], [np.inf, np.inf]), method="trf"
        )
        base, per_vm, k = float(fit.x[0]), float(fit.x[1]), 2
    resid = logy - np.log(base + per_vm * x)
    ss_res = float(np.sum(resid**2))
    ss_tot = float(np.sum((logy - logy.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
    spread = math.sqrt(ss_res / (n - k)) if n > k else 0.0
    if n < 3:
        spread = 0.0
        note = "; ".join(filter(None, [note, "fewer than 3 observations: deterministic"]))
    if spread > MAX_SPREAD:
        spread = MAX_SPREAD
        note = "; ".join(filter(None, [note, f"spread capped at {MAX_SPREAD:g}"]))
    if float(_num(spread)) == 0:
        spread = 0.0
    return StepFit(step, n, int(x.min()), int(x.max()), base, per_vm, spread, r2, note)


def calibrate(path: str | Path, shown: str | None = None) -> Calibration:
    """Read a timings CSV and fit every step it holds; :class:`InputError` on bad input,
    including a fit whose ``base`` or ``per_vm`` the scenario loader would refuse (not finite, or
    more than :data:`~sim.model.plan.MAX_STEP`)."""
    shown = shown or str(path)
    observations = read_timings(path, shown)
    fits = []
    for step in STEPS:
        obs = [o for o in observations if o.step == step]
        if not obs:
            continue
        # A fit at the edge of float range says so below, not as a warning on the terminal.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fit = fit_step(step, [o.vms for o in obs], [o.minutes for o in obs])
        _check_fit(fit, obs, shown)
        fits.append(fit)
    return Calibration(Path(shown).name, tuple(fits))


def _check_fit(fit: StepFit, obs: Sequence[Observation], shown: str) -> None:
    """Refuse a fit the scenario loader would refuse: ``base`` and ``per_vm`` finite, zero or
    more and at most :data:`~sim.model.plan.MAX_STEP`, ``spread`` finite."""
    lines = ", ".join(str(o.line) for o in obs[:5]) + (", ..." if len(obs) > 5 else "")
    for key, value in (("base", fit.base), ("per_vm", fit.per_vm), ("spread", fit.spread)):
        limit = MAX_SPREAD if key == "spread" else MAX_STEP
        # the value as written (four decimals): a geometric mean of 43,200s is 43,200 again
        if not (math.isfinite(value) and 0 <= float(_num(value)) <= limit):
            raise InputError(
                shown,
                (fit.step,),
                f"the fitted {key} ({value:,.6g}) is outside what a scenario takes (0 to"
                f" {limit:,.0f}); expected observed timings of this step (lines {lines}) that"
                " fit a duration of base + per_vm * VMs",
            )


def write_durations(calibration: Calibration, out: Path, *, force: bool = False) -> Path:
    """Write :meth:`Calibration.to_yaml` to ``out`` atomically; an existing file needs ``force``."""
    out = Path(out)
    refuse_existing(
        out, force=force, what="a durations file such as durations.yaml", suffixes=YAML_SUFFIXES
    )
    with atomic_file(out, force=force) as tmp:
        tmp.write_bytes(calibration.to_yaml().encode("utf-8"))
    return out
