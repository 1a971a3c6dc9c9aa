"""Experiment results as pandas DataFrames: replications' rows and comparison tables.

:func:`replications_frame` gives one row per replication (the columns of ``replications.csv``,
or of ``compare-replications.csv`` for a comparison: ``alternative`` first);
:func:`comparison_frame` one row per alternative and metric (the columns of ``compare.csv``).
The units are the metrics' own, in their names (``makespan_hours``, ``vm_hours_down``...;
counts otherwise, see ``docs/experiments.md``). Values are the records' own floats, not the
files' six decimals. The frames of one replication's records are in :mod:`sim.outputs.frames`;
``docs/frames.md`` lists every column.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import fields

import pandas as pd

from sim.experiments.comparison import CSV_COLUMNS, TABLE_PERCENTILES, Comparison
from sim.experiments.replications import ReplicationRow
from sim.experiments.run import Experiment

COMPARISON_COLUMNS = CSV_COLUMNS  # those of compare.csv, in its order
"""The columns of :func:`comparison_frame`: those of ``compare.csv``, in its order."""


def _dtypes() -> dict[str, str]:
    hints = typing.get_type_hints(ReplicationRow)
    return {f.name: "int64" if hints[f.name] is int else "float64" for f in fields(ReplicationRow)}


def _rows_frame(rows: Sequence[ReplicationRow]) -> pd.DataFrame:
    dtypes = _dtypes()
    return pd.DataFrame(
        {
            name: pd.Series([getattr(r, name) for r in rows], dtype=dtype)
            for name, dtype in dtypes.items()
        }
    )


def replications_frame(
    source: Experiment | Comparison | Sequence[ReplicationRow],
) -> pd.DataFrame:
    """One row per replication, ordered by replication index.

    - an experiment (``sim.run_experiment``) or rows: the columns of ``replications.csv``
      (:meth:`ReplicationRow.columns <sim.experiments.replications.ReplicationRow.columns>`);
    - a comparison (``sim.compare``): ``alternative`` (a categorical in the order given) then
      those columns, every alternative's rows one after the other, as
      ``compare-replications.csv``.

    Failed replications have no row. Integers (``replication``, ``seed``, counts) are ``int64``,
    the rest ``float64``.
    """
    if isinstance(source, Comparison):
        parts = [_rows_frame(rows) for rows in source.results]
        pairs = zip(source.names, source.results, strict=True)
        names = [name for name, rows in pairs for _ in rows]
        body = (
            pd.concat(parts, ignore_index=True) if any(len(p) for p in parts) else _rows_frame([])
        )
        alternative = pd.Series(pd.Categorical(names, categories=list(source.names)))
        body.insert(0, "alternative", alternative)
        return body
    rows = source.rows if isinstance(source, Experiment) else source
    bad = next((r for r in rows if not isinstance(r, ReplicationRow)), None)
    if bad is not None:
        raise TypeError(
            "replications_frame expects an experiment, a comparison or ReplicationRow records, "
            f"got {type(bad).__name__}"
        )
    return _rows_frame(rows)


def comparison_frame(comparison: Comparison) -> pd.DataFrame:
    """One row per metric and alternative (:data:`COMPARISON_COLUMNS`, as ``compare.csv``):
    metrics in the comparison's order, alternatives in the order given; ``alternative`` and
    ``metric`` are categoricals in those orders. Values are in the metric's unit (``prob_best``
    a share, 0 to 1); an undefined interval bound is ``NaN``; ``best`` is true for every
    alternative tied for the lowest mean."""
    rows = [r for metric in comparison.metrics for r in comparison.tables[metric]]
    data: dict[str, object] = {
        "alternative": pd.Categorical(
            [r.alternative for r in rows], categories=list(comparison.names)
        ),
        "metric": pd.Categorical([r.metric for r in rows], categories=list(comparison.metrics)),
        "n": pd.Series([r.n for r in rows], dtype="int64"),
        "mean": pd.Series([r.mean.estimate for r in rows], dtype="float64"),
        "mean_ci_low": pd.Series([r.mean.low for r in rows], dtype="float64"),
        "mean_ci_high": pd.Series([r.mean.high for r in rows], dtype="float64"),
    }
    for p in TABLE_PERCENTILES:
        data[f"p{p}"] = pd.Series([r.percentiles[p] for r in rows], dtype="float64")
    data["diff_to_best"] = pd.Series([r.difference.estimate for r in rows], dtype="float64")
    data["diff_ci_low"] = pd.Series([r.difference.low for r in rows], dtype="float64")
    data["diff_ci_high"] = pd.Series([r.difference.high for r in rows], dtype="float64")
    data["prob_best"] = pd.Series([r.probability_best for r in rows], dtype="float64")
    data["best"] = pd.Series([r.best for r in rows], dtype="bool")
    return pd.DataFrame(data)
