"""The migration plan: crews, windows, ordering, step durations, failures, named assumptions.

Times are minutes. Every default below that is not published by Microsoft says "assumption"; the
user overrides it in the scenario's ``plan:`` block or with ``--set plan.KEY=VALUE``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from sim.common.timeparse import ClockMinutes, Minutes, format_minutes, parse_duration
from sim.model.estate import Items, Model, Name, Plain
from sim.model.remedies import REMEDIES

Distribution = Literal["deterministic", "triangular", "lognormal", "pert"]

# ---- bounds of a plan's numbers and dates (docs/scenario-format.md, "Ranges") --------------------
# Each is an assumption chosen far beyond any real migration, so that a typo (1e12 minutes, year
# 9999, a billion crews) is refused at load instead of exhausting time or memory in the run.

DAY = 1440.0
"""Minutes in a day."""
YEAR = 365 * DAY
"""Minutes in a (365-day) year."""
MAX_HORIZON = 10 * YEAR
"""Longest ``plan.horizon``: ten years. Assumption: no classic migration plan spans more."""
MIN_HORIZON = 60.0
"""Shortest ``plan.horizon``: one hour."""
DEFAULT_HORIZON = YEAR
"""Default ``plan.horizon``: one year of simulated time."""
MAX_STEP = 30 * DAY
"""Longest ``base`` and ``per_vm`` of a step and ``plan.check``: thirty days. Assumption: the
platform's longest step takes hours, not weeks."""
MAX_RETRY_AFTER = DAY
"""Longest ``plan.failures.retry_after``: one day. Assumption: the platform says "retry the
operation after a short time"."""
MAX_WRITES = 1000.0
"""Most Resource Manager writes per VM or per other resource in one Prepare or Commit
(assumption: three are assumed; a thousand is far beyond any resource)."""
MAX_WRITE_LIMIT = 1_000_000
"""Highest ``plan.write_limit_per_hour`` (the published limit is 1,200; ``null`` is no limit)."""
MAX_SEED = 2**63 - 1
"""Highest ``plan.seed``: 63 bits, as the replications' own seeds
(:func:`sim.engine.sampling.replication_seed`), so a seed fits a signed 64-bit integer column."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""Earliest timestamp a plan takes (``start``, ``deadline``, a window's ``start``, a wave's
``not_before``)."""
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Timestamps are before this: with a horizon of at most ten years, every time a run derives
stays far inside what the outputs write (``datetime`` ends at year 9999)."""


def _in_range(value: datetime | None) -> datetime | None:
    # A timestamp without an offset is compared as a wall-clock time: the zone moves it by at
    # most a day, far inside the margins of EARLIEST and LATEST.
    if value is None:
        return value
    low, high = (
        (EARLIEST, LATEST)
        if value.tzinfo is not None
        else (EARLIEST.replace(tzinfo=None), LATEST.replace(tzinfo=None))
    )
    if not low <= value < high:
        raise ValueError(
            f"expected a timestamp from {EARLIEST:%Y-%m-%d} up to (not including)"
            f" {LATEST:%Y-%m-%d}, got {value.isoformat()}"
        )
    return value


def _bounded(maximum: float, what: str, minimum: float | None = None) -> AfterValidator:
    """A duration's bounds, worded as durations: "expected a duration of at most 30d (43,200
    minutes), got 44,640 minutes" (not bare minutes)."""

    def got(value: float) -> str:
        # 5,257,440 minutes as such (not 5.25744e+06); 1e+300 stays short
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value < 1e12 else f"{value:.6g}"

    def check(value: float) -> float:
        if minimum is not None and value < minimum:
            raise ValueError(
                f"expected {what} of at least {format_minutes(minimum)}"
                f" ({minimum:,.0f} minutes), got {got(value)} minutes"
            )
        if value > maximum:
            raise ValueError(
                f"expected {what} of at most {format_minutes(maximum)}"
                f" ({maximum:,.0f} minutes), got {got(value)} minutes"
            )
        return value

    return AfterValidator(check)


StepMinutes = Annotated[Minutes, _bounded(MAX_STEP, "a duration")]
"""A duration of at most :data:`MAX_STEP` (30 days)."""
RetryMinutes = Annotated[Minutes, _bounded(MAX_RETRY_AFTER, "a duration")]
"""A duration of at most :data:`MAX_RETRY_AFTER` (one day)."""
HorizonMinutes = Annotated[Minutes, _bounded(MAX_HORIZON, "a horizon", minimum=MIN_HORIZON)]
"""A duration from :data:`MIN_HORIZON` (one hour) to :data:`MAX_HORIZON` (ten years)."""
LongMinutes = Annotated[Minutes, _bounded(MAX_HORIZON, "a duration")]
"""A duration of at most :data:`MAX_HORIZON` (10 years)."""


def _constant_to_step(value: Any) -> Any:
    # "stop: 2m" is shorthand for a deterministic step of that length.
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"base": value}
    return value


class StepDuration(Model):
    """Duration of one step: ``base + per_vm * vms_in_unit`` minutes, drawn from a distribution.

    ``spread`` is distribution-specific: the sigma of the log for ``lognormal``; the relative
    half-width around the central value for ``triangular`` and ``pert``.
    """

    base: StepMinutes = 0.0
    per_vm: StepMinutes = 0.0
    distribution: Distribution = "deterministic"
    spread: float = Field(default=0.0, ge=0.0, le=5.0)

    def central(self, vms: int) -> float:
        """The central value in minutes for a unit of ``vms`` VMs."""
        return self.base + self.per_vm * vms


Step = Annotated[StepDuration, BeforeValidator(_constant_to_step)]

# Default step durations (minutes). Per-step times are NOT published by Microsoft (see
# migration-facts.md); the published anchor is the whole migration: "a few tens of VMs ... less than
# an hour", "hundreds of VMs ... a few hours". Each default is an assumption chosen to land inside
# those figures.
DEFAULT_STEPS: dict[str, dict[str, Any]] = {
    "validate": {"base": 5, "per_vm": 1 / 6},  # assumption: read-only check, seconds per VM
    "prepare": {"base": 10, "per_vm": 1},  # assumption: metadata build dominates
    "commit": {"base": 5, "per_vm": 1 / 3},  # assumption
    "abort": {"base": 5, "per_vm": 1 / 6},  # assumption
    "stop": {"base": 2},  # assumption
    "deallocate": {"base": 2},  # assumption
    "start": {"base": 5},  # source: migration lab toolset, "5-10 minutes to create and start"
}
"""The defaults of the platform's steps. The remediation steps (``remediate``, ``restore``) have
no default here: each rule has its own (:data:`sim.model.remedies.REMEDIES`); a value set in
``durations:`` replaces every rule's."""


STEP_NAMES: tuple[str, ...] = (*DEFAULT_STEPS, "remediate", "restore")
"""The step names of :class:`Durations` (the keys of a scenario's ``durations:``)."""


class Durations(Model):
    validate_: Step = Field(default=StepDuration(**DEFAULT_STEPS["validate"]), alias="validate")
    prepare: Step = StepDuration(**DEFAULT_STEPS["prepare"])
    commit: Step = StepDuration(**DEFAULT_STEPS["commit"])
    abort: Step = StepDuration(**DEFAULT_STEPS["abort"])
    stop: Step = StepDuration(**DEFAULT_STEPS["stop"])
    deallocate: Step = StepDuration(**DEFAULT_STEPS["deallocate"])
    start: Step = StepDuration(**DEFAULT_STEPS["start"])
    remediate: Step | None = Field(
        default=None,
        description="Every rule's pre-step at once (default: each rule's own, plan.remedies).",
    )
    restore: Step | None = Field(
        default=None,
        description="Every rule's post-step at once (default: each rule's own, plan.remedies).",
    )

    @model_validator(mode="before")
    @classmethod
    def _keep_defaults(cls, data: Any) -> Any:
        # A step written as a mapping keeps the defaults of the keys it leaves out
        # ({spread: 0.3} only widens the default step); a constant replaces the whole step.
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, value in data.items():
            if name in DEFAULT_STEPS and isinstance(value, dict):
                merged[name] = {**DEFAULT_STEPS[name], **value}
        return merged

    def step(self, name: str) -> StepDuration:
        """The duration of platform step ``name`` (not ``remediate``/``restore``: see
        :meth:`Plan.remedy_step`)."""
        value = getattr(self, "validate_" if name == "validate" else name)
        assert isinstance(value, StepDuration)
        return value


Probability = Annotated[float, Field(ge=0.0, le=1.0)]


AfterPrepareFailure = Literal["retry", "abort"]
"""What the operator does after a failed Prepare: ``retry`` the same Prepare (the platform's
steps are idempotent; the unit stays locked) or ``abort`` it first and prepare again."""


class Failures(Model):
    """Probability that one attempt of a step fails, and what follows.

    A failed Prepare is retried as it is after ``retry_after`` (``after_prepare: retry``, the
    platform's common-errors list: transient errors clear on a retry of the idempotent step) or
    aborted and prepared again (``after_prepare: abort``). A Check that finds a problem
    (``check``) is the operator's Abort, then another Prepare. A failed Commit is retried after
    ``retry_after`` and cannot be aborted.
    """

    validate_: Probability = Field(default=0.0, alias="validate")
    prepare: Probability = 0.0
    check: Probability = Field(
        default=0.0,
        description="Probability that the Check after Prepare finds a problem: Abort, then"
        " Prepare again.",
    )
    commit: Probability = 0.0
    after_prepare: AfterPrepareFailure = Field(
        default="retry",
        description="After a failed Prepare: retry it as it is (the platform's steps are"
        " idempotent) or abort first.",
    )
    max_attempts: int = Field(
        default=5, ge=1, le=100, description="Attempts before a unit is given up."
    )
    # Assumption: the platform says "retry the operation after a short time" (migration-facts.md)
    # without a number; five minutes is ours.
    retry_after: RetryMinutes = Field(
        default=5.0,
        description="Assumption: minutes before a failed Prepare (retried as it is) or a failed"
        " Commit is tried again.",
    )


Every = Literal[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "day",
    "weekday",
    "weekend",
]


_ONE_DAY = frozenset(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
"""``every`` values that open once a week."""


def _not_a_number(value: Any) -> Any:
    # pydantic reads a number as seconds since 1970 (Unix time): 1764972000 would silently be a
    # date; a scenario writes a timestamp.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            f"expected a timestamp such as 2027-01-09T22:00:00Z, got the number {value!r}"
        )
    return value


LooseDateTime = Annotated[
    datetime, BeforeValidator(_not_a_number), Field(strict=False), AfterValidator(_in_range)
]
"""A timestamp (YAML's, or an ISO 8601 string) from :data:`EARLIEST` to :data:`LATEST`."""


def _utc(value: datetime | None) -> datetime | None:
    # A timestamp with an offset is converted to UTC (the clock and every *_utc column are UTC).
    # One without an offset stays naive here: the plan reads it in plan.timezone (_localize), so
    # outputs never depend on the machine's zone.
    if value is None or value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-23:59 is past what a datetime holds, in UTC
        raise ValueError(
            f"expected a timestamp from {EARLIEST:%Y-%m-%d} up to (not including)"
            f" {LATEST:%Y-%m-%d}, got {value.isoformat()}"
        ) from None


def _localize(value: datetime, zone: ZoneInfo) -> datetime:
    """``value`` in UTC; a naive ``value`` is a wall-clock time in ``zone``.

    A wall-clock time that happens twice (the hour the clocks go back) is the first of the two;
    one that does not happen (the hour the clocks go forward) is read with the offset before the
    change, so it lands one hour later in the new offset (``fold=0``, PEP 495).
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _zone_name(value: Any) -> Any:
    name = value.strip() if isinstance(value, str) else ""
    try:
        if name in ("localtime", "posixrules", "Factory"):  # the machine's zone, not a plan's
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"expected an IANA time zone name such as Europe/Amsterdam or UTC, got {value!r}"
        ) from None
    return name


TimeZoneName = Annotated[str, BeforeValidator(_zone_name)]
"""An IANA time zone name (``Europe/Amsterdam``), checked against the tz database (tzdata)."""


class MaintenanceWindow(Model):
    """A recurring window (``every`` + ``at``) or a one-off window (``start``), lasting ``for``."""

    every: Every | None = None
    at: ClockMinutes | None = None
    start: LooseDateTime | None = None
    length: LongMinutes = Field(alias="for")

    @field_validator("length")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("expected a window length greater than zero")
        return v

    def repeat(self) -> float | None:
        """Minutes from one opening of a recurring window to its next (a day for ``day``,
        ``weekday`` and ``weekend``; a week for one named day); ``None`` for a one-off window."""
        if self.every is None:
            return None
        return 7 * DAY if self.every in _ONE_DAY else DAY

    @field_validator("start")
    @classmethod
    def _zone(cls, v: datetime | None) -> datetime | None:
        return _utc(v)

    @model_validator(mode="after")
    def _shape(self) -> MaintenanceWindow:
        if (self.every is None) == (self.start is None):
            raise ValueError("expected either 'every' with 'at' (recurring) or 'start' (one-off)")
        if self.every is not None and self.at is None:
            raise ValueError("expected 'at' (a clock time such as \"22:00\") with 'every'")
        if self.start is not None and self.at is not None:
            raise ValueError("'at' belongs to a recurring window; a one-off window takes 'start'")
        repeat = self.repeat()
        if repeat is not None and self.length > repeat:
            raise ValueError(
                f"a window every {self.every} lasts at most {format_minutes(repeat)} (its"
                f" repeat; windows that touch merge), got 'for' of {format_minutes(self.length)}"
            )
        return self


class Precedence(Model):
    """A planner's own constraint: unit ``before`` commits before unit ``after`` prepares."""

    before: Name
    after: Name


Remediation = Literal["auto", "none"]


DispatchPolicy = Literal["just_in_time", "prepare_ahead"]
"""The operator's dispatch policy (:mod:`sim.engine.dispatch`)."""


class RemedyDurations(Model):
    """One rule's remediation durations (``plan.remedies.MIG013``): overrides of the table."""

    remediate: Step | None = None
    restore: Step | None = None


class MaxParallel(Model):
    """Caps on units of one kind between Prepare start and Commit end at once (no cap: None).

    Microsoft's toolset ran eight concurrent streams and the platform moves "one virtual network
    at a time" (migration-facts.md): ``vnet: 1`` is that rule; no cap is published otherwise.
    """

    vnet: int | None = Field(default=None, ge=1, le=10_000)
    cloud_service: int | None = Field(default=None, ge=1, le=10_000)
    storage_account: int | None = Field(default=None, ge=1, le=10_000)
    other: int | None = Field(default=None, ge=1, le=10_000)

    def cap(self, kind: str) -> int | None:
        """The cap of unit kind ``kind`` (``vnet``, ``cloud_service``, ``storage_account``, any
        other kind counts as ``other``)."""
        if kind in ("vnet", "cloud_service", "storage_account"):
            value: int | None = getattr(self, kind)
            return value
        return self.other


RestartAfter = Literal["prepare", "commit"]


def _not_before(value: Any) -> Any:
    # A timestamp (YAML reads an unquoted one as a datetime) stays a datetime; anything else is a
    # duration from plan.start ("2h", "1d", minutes).
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, str) and not _looks_like_duration(value):
        try:
            return _utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            raise ValueError(
                "expected a duration from plan.start (such as 2h or 1d) or a timestamp such as"
                f" 2027-01-09T22:00:00Z, got {value!r}"
            ) from None
    return parse_duration(value)


def _looks_like_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except ValueError:
        return False
    return True


def _not_before_range(value: float | datetime) -> float | datetime:
    if isinstance(value, datetime):
        return _in_range(value)  # type: ignore[return-value]
    if value > MAX_HORIZON:
        raise ValueError(
            f"expected a duration from plan.start of at most {format_minutes(MAX_HORIZON)}"
            f" ({MAX_HORIZON:,.0f} minutes), got {value:,.6g} minutes"
        )
    return value


NotBefore = Annotated[
    float | datetime, BeforeValidator(_not_before), AfterValidator(_not_before_range)
]
"""Minutes from ``plan.start``, or a timestamp (placed on the clock by ``plan.start``; one
without an offset is read in ``plan.timezone``)."""


class Wave(Model):
    """A group of units for ``ordering: waves``: none of them starts before ``not_before``."""

    name: Name
    units: Items[Name] = Field(min_length=1, description="Unit names, in the order wanted.")
    not_before: NotBefore = Field(
        default=0.0,
        description="Earliest start of the wave's units: a duration from plan.start (2h, 1d) or"
        " a timestamp (needs plan.start). Honoured under every ordering.",
    )


def _ordering(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class Plan(Model):
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    timezone: TimeZoneName = Field(
        default="UTC",
        description="IANA time zone of the plan: recurring windows, timestamps without an offset"
        " and every clock time shown to a person are in it, daylight saving included.",
    )
    start: LooseDateTime | None = None
    deadline: NotBefore | None = Field(
        default=None,
        description="When everything must have committed: a duration from plan.start (such as"
        " 30h) or a timestamp; outputs give P(done by the deadline).",
    )
    ordering: Annotated[Plain | tuple[Name, ...], BeforeValidator(_ordering)] = "as_listed"
    crews: int = Field(default=1, ge=1, le=10_000)  # more crews than units is never needed
    check: StepMinutes = 0.0
    horizon: HorizonMinutes = Field(
        default=DEFAULT_HORIZON,
        description="Simulated time after which the run stops: work not done by then is reported"
        " as not finished by the horizon.",
    )
    remediation: Remediation = "auto"
    maintenance_windows: Items[MaintenanceWindow] = ()
    durations: Durations = Durations()
    failures: Failures = Failures()
    restart_after: RestartAfter = Field(
        default="prepare",
        description="Assumption: when the platform starts non-VNet VMs again.",
    )
    future_support: bool = Field(
        default=False, description="What-if: MIG002/MIG003 cloud services migrate with downtime."
    )
    aadds_migration: bool = Field(
        default=False,
        description="What-if: a VNet with Azure AD Domain Services (MIG008) migrates with the"
        " published three-phase procedure instead of being blocked.",
    )
    write_limit_per_hour: int | None = Field(
        default=1200,
        ge=1,
        le=MAX_WRITE_LIMIT,
        description="Resource Manager writes per hour (published: 1,200).",
    )
    # Assumption: no source gives the writes one migrated VM costs. Three (VM, NIC, disk) makes
    # the published warning "> 400 VMs in a VNet" meet the published 1,200 writes/hour exactly.
    writes_per_vm: float = Field(
        default=3.0,
        ge=0.0,
        le=MAX_WRITES,
        description="Assumption: Resource Manager writes per VM in each Prepare and each Commit.",
    )
    writes_per_resource: float = Field(
        default=1.0,
        ge=0.0,
        le=MAX_WRITES,
        description="Assumption: writes per other resource of a unit in each Prepare and Commit.",
    )
    dispatch: DispatchPolicy = Field(
        default="just_in_time",
        description="just_in_time: a unit's disruptive pre-steps, Validate, Prepare, Check, Commit"
        " and restores run back to back inside one maintenance window; prepare_ahead: units with"
        " no disruptive pre-step prepare when a crew is free and wait Prepared for Commit's"
        " window.",
    )
    max_parallel: MaxParallel = MaxParallel()
    remedies: dict[str, RemedyDurations] = Field(
        default_factory=dict,
        description="Per rule (MIG013, ...): durations of its pre-step and post-step.",
    )
    precedence: Items[Precedence] = ()
    waves: Items[Wave] = Field(
        default=(),
        description="Groups of units with earliest start times (ordering: waves); units in no"
        " wave go last.",
    )

    @field_validator("start")
    @classmethod
    def _zone(cls, v: datetime | None) -> datetime | None:
        return _utc(v)

    @model_validator(mode="after")
    def _local_times(self) -> Plan:
        # Timestamps without an offset are wall-clock times in plan.timezone: place them on the
        # UTC clock now, so nothing downstream sees a naive datetime. The models are frozen, so
        # the validated values are replaced in place, once, here.
        zone = self.zone
        if isinstance(self.deadline, datetime) and self.start is None:
            raise ValueError(
                "plan.deadline is a timestamp but plan.start is not set; expected plan.start, or"
                " a deadline as a duration from the start (such as 30h)"
            )
        if self.start is not None:
            object.__setattr__(self, "start", _localize(self.start, zone))
        if isinstance(self.deadline, datetime):
            object.__setattr__(self, "deadline", _localize(self.deadline, zone))
            assert self.start is not None
            if self.deadline <= self.start:
                raise ValueError(
                    f"plan.deadline {self.deadline:%Y-%m-%dT%H:%M:%SZ} is not after plan.start"
                    f" {self.start:%Y-%m-%dT%H:%M:%SZ}; expected a deadline after the start"
                )
        for i, w in enumerate(self.maintenance_windows):
            if w.start is not None and w.length > self.horizon:
                raise ValueError(
                    f"plan.maintenance_windows[{i}] lasts {format_minutes(w.length)}, longer than"
                    f" plan.horizon ({format_minutes(self.horizon)}); expected a one-off window"
                    " no longer than the horizon"
                )
        windows = tuple(
            w.model_copy(update={"start": _localize(w.start, zone)})
            if w.start is not None and w.start.tzinfo is None
            else w
            for w in self.maintenance_windows
        )
        waves = tuple(
            v.model_copy(update={"not_before": _localize(v.not_before, zone)})
            if isinstance(v.not_before, datetime) and v.not_before.tzinfo is None
            else v
            for v in self.waves
        )
        object.__setattr__(self, "maintenance_windows", windows)
        object.__setattr__(self, "waves", waves)
        return self

    @property
    def zone(self) -> ZoneInfo:
        """``plan.timezone`` as a :class:`zoneinfo.ZoneInfo` (from the ``tzdata`` package when the
        system has no tz database)."""
        return ZoneInfo(self.timezone)

    def deadline_minutes(self) -> float | None:
        """``plan.deadline`` in minutes from ``plan.start`` (None without a deadline).

        Raises :class:`ValueError` for a timestamp deadline without ``plan.start``.
        """
        if self.deadline is None:
            return None
        if isinstance(self.deadline, datetime):
            if self.start is None:
                raise ValueError("a deadline timestamp needs plan.start")
            return (self.deadline - self.start).total_seconds() / 60.0
        return float(self.deadline)

    @field_validator("waves")
    @classmethod
    def _wave_names(cls, v: tuple[Wave, ...]) -> tuple[Wave, ...]:
        seen: set[str] = set()
        for wave in v:
            if wave.name in seen:
                raise ValueError(f"wave {wave.name!r} is named twice; expected one name per wave")
            seen.add(wave.name)
        return v

    @field_validator("remedies")
    @classmethod
    def _known_rules(cls, v: dict[str, RemedyDurations]) -> dict[str, RemedyDurations]:
        # Each problem at its own key path (plan.remedies.MIG032, plan.remedies.MIG031.restore),
        # so that the loader names the line, or --set when an override wrote that key.
        problems: list[InitErrorDetails] = []

        def problem(loc: tuple[str, ...], given: BaseModel, message: str) -> None:
            problems.append(
                InitErrorDetails(
                    type=PydanticCustomError("value_error", "{message}", {"message": message}),
                    loc=loc,
                    input=given.model_dump(exclude_none=True),  # a block: the message alone
                )
            )

        for rule, own in v.items():
            remedy = REMEDIES.get(rule)
            if remedy is None:
                problem(
                    (rule,),
                    own,
                    f"no remediation step for {rule}; expected one of"
                    f" {', '.join(sorted(REMEDIES))}",
                )
                continue
            for step, has, kind, other in (
                ("remediate", remedy.pre, "pre-step", "restore"),
                ("restore", remedy.post, "post-step", "remediate"),
            ):
                given = getattr(own, step)
                if given is not None and not has:
                    problem(
                        (rule, step),
                        given,
                        f"{rule}'s remediation has no {kind}; expected only {other} under"
                        f" plan.remedies.{rule}",
                    )
        if problems:
            raise ValidationError.from_exception_data("Plan", problems)
        return v

    def remedy_step(self, rule: str, step: Literal["remediate", "restore"]) -> StepDuration:
        """The duration of rule ``rule``'s pre-step (``remediate``) or post-step (``restore``):
        ``plan.remedies.RULE`` if set, else ``plan.durations.remediate``/``restore`` if set, else
        the table's (:data:`sim.model.remedies.REMEDIES`)."""
        own = self.remedies.get(rule)
        chosen = getattr(own, step) if own is not None else None
        if chosen is None:
            chosen = getattr(self.durations, step)
        if chosen is None:
            base, per_vm = getattr(REMEDIES[rule], step)
            chosen = StepDuration(base=base, per_vm=per_vm)
        assert isinstance(chosen, StepDuration)
        return chosen
