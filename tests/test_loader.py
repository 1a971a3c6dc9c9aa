"""The scenario loader at its boundary: every bad input is one InputError naming the file, the key
path and what was expected, both from the library and through the real CLI (exit code 2, no
traceback); and the good inputs (the reference scenario, every duration form, a separate estate
file, --set overrides) load to the values they spell.
"""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.common.errors import InputError
from sim.model.plan import DEFAULT_STEPS, StepDuration
from sim.model.scenario import Scenario, load_estate, load_scenario

REPO = Path(__file__).resolve().parents[1]
SHARED_CONTOSO = REPO.parent / "shared" / "examples" / "contoso.yaml"
SCENARIOS = REPO / "scenarios"

# A small valid scenario that the bad inputs below break one thing at a time. It holds one of
# everything a reference can point at, so each dangling reference is a one-line edit.
BASE_TEXT = """\
name: base
estate:
  expressroute_circuits:
    - {name: er-1}
  vnets:
    - name: vnet-a
      subnets:
        - {name: web, nsg: nsg-web, route_table: rt-web}
        - {name: data}
      gateway: {name: gw-a, kind: expressroute, circuit: er-1}
    - name: vnet-b
      subnets:
        - {name: app}
      peerings: [vnet-a]
  cloud_services:
    - name: cs-web
      vnet: vnet-a
      availability_sets: [as-web]
      vms:
        - {name: web-01, availability_set: as-web, subnets: [web], os_disk: {storage_account: st-a}}
        - {name: web-02, availability_set: as-web, subnets: [web], os_disk: {storage_account: st-a}}
    - name: cs-app
      vnet: vnet-b
      vms:
        - {name: app-01, subnets: [app], os_disk: {storage_account: st-b, size_gb: 64}}
  storage_accounts:
    - {name: st-a}
    - {name: st-b}
  nsgs:
    - {name: nsg-web}
  route_tables:
    - {name: rt-web}
plan:
  crews: 2
  maintenance_windows:
    - {every: saturday, at: "22:00", for: 8h}
"""
BASE: dict[str, Any] = yaml.safe_load(BASE_TEXT)


def edited(edit: Callable[[dict[str, Any]], object]) -> str:
    """BASE with one edit applied, as YAML text."""
    data = copy.deepcopy(BASE)
    edit(data)
    return yaml.safe_dump(data, sort_keys=False)


def estate(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = d["estate"]
    return out


def cs(d: dict[str, Any], i: int) -> dict[str, Any]:
    out: dict[str, Any] = estate(d)["cloud_services"][i]
    return out


def vm(d: dict[str, Any], c: int = 0, i: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = cs(d, c)["vms"][i]
    return out


def vnet(d: dict[str, Any], i: int) -> dict[str, Any]:
    out: dict[str, Any] = estate(d)["vnets"][i]
    return out


def plan(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = d["plan"]
    return out


# Nine levels of ten: 10**9 "lol"s once expanded, from about a hundred written nodes.
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{child}: &{child} [{', '.join([f'*{parent}'] * 10)}]\n"
    for parent, child in zip("abcdefghi", "bcdefghij", strict=True)
)

MISSING = object()  # the file is not created
DIRECTORY = object()  # the path is a directory


@dataclass(frozen=True)
class Bad:
    id: str
    content: str | bytes | object
    key_path: str
    expected: Sequence[str]  # fragments of the message: what was wrong and what was expected
    line: int | None = None  # checked when given
    name: str = "scenario.yaml"


BAD_INPUTS = [
    Bad(
        "malformed-yaml",
        "name: broken\nestate:\n  vnets: [{name: a}\n  cloud_services: []\n",
        "",
        ["malformed YAML", "expected"],
        line=4,
    ),
    Bad(
        "unknown-key-top",
        edited(lambda d: d.update(colour="red")),
        "colour",
        ["unknown key 'colour'", "expected one of: name, description, estate, plan"],
    ),
    Bad(
        "unknown-key-nested",
        edited(lambda d: vm(d).update(colour="blue")),
        "estate.cloud_services[0].vms[0].colour",
        ["unknown key 'colour'", "expected one of:", "os_disk", "availability_set"],
    ),
    Bad(
        "unknown-key-plan",
        edited(lambda d: plan(d).update(crew=3)),
        "plan.crew",
        ["unknown key 'crew'", "expected one of:", "crews", "maintenance_windows"],
    ),
    Bad(
        "wrong-type-crews",
        edited(lambda d: plan(d).update(crews="two")),
        "plan.crews",
        ["valid integer", "'two'"],
    ),
    Bad(
        "wrong-type-size-gb",
        edited(lambda d: vm(d, 1, 0)["os_disk"].update(size_gb=-5)),
        "estate.cloud_services[1].vms[0].os_disk.size_gb",
        ["greater than or equal to 1", "-5"],
    ),
    Bad(
        "duplicate-vm-name",
        edited(lambda d: vm(d, 0, 1).update(name="web-01")),
        "estate.cloud_services[0].vms[1].name",
        ["duplicate VM name 'web-01'", "expected each VM name once"],
    ),
    Bad(
        "duplicate-vm-name-across-cloud-services",
        edited(lambda d: vm(d, 1, 0).update(name="web-02")),
        "estate.cloud_services[1].vms[0].name",
        ["duplicate VM name 'web-02'", "expected each VM name once"],
    ),
    Bad(
        "duplicate-storage-account",
        edited(lambda d: estate(d)["storage_accounts"].append({"name": "st-a"})),
        "estate.storage_accounts[2].name",
        ["duplicate storage account name 'st-a'", "expected each storage account name once"],
    ),
    Bad(
        "dangling-vm-storage-account",
        edited(lambda d: vm(d, 1, 0)["os_disk"].update(storage_account="st-zz")),
        "estate.cloud_services[1].vms[0].os_disk.storage_account",
        ["unknown storage account 'st-zz'", "expected one of: st-a, st-b"],
    ),
    Bad(
        "extensions-unreported-not-installed",
        edited(
            lambda d: vm(d, 0, 1).update(
                extensions=["BGInfo/2.1"], extensions_unreported=["BGInfo/2.1", "VMAccess/2.0"]
            )
        ),
        "estate.cloud_services[0].vms[1].extensions_unreported[1]",
        ["unknown extension of the VM 'VMAccess/2.0'", "expected one of: BGInfo/2.1"],
    ),
    Bad(
        "extensions-unreported-twice",
        edited(
            lambda d: vm(d, 0, 1).update(
                extensions=["BGInfo/2.1", "VMAccess/2.0"],
                extensions_unreported=["BGInfo/2.1", "VMAccess/2.0", "BGInfo/2.1"],
            )
        ),
        "estate.cloud_services[0].vms[1].extensions_unreported[2]",
        [
            "duplicate extension 'BGInfo/2.1' (first at extensions_unreported[0])",
            "expected each extension once",
        ],
    ),
    Bad(
        "extensions-unreported-twice-in-another-case",
        edited(
            lambda d: vm(d, 0, 1).update(
                extensions=["BGInfo/2.1"], extensions_unreported=["bginfo/2.1", "BGINFO/2.1"]
            )
        ),
        "estate.cloud_services[0].vms[1].extensions_unreported[1]",
        ["duplicate extension 'BGINFO/2.1' (first at extensions_unreported[0])"],
    ),
    Bad(
        "vm-lists-a-subnet-twice",
        edited(lambda d: vm(d, 0, 1).update(subnets=["web", "data", "web"])),
        "estate.cloud_services[0].vms[1].subnets[2]",
        ["duplicate subnet 'web' (first at subnets[0]); expected each subnet once"],
    ),
    Bad(
        "dangling-vm-data-disk-storage-account",
        edited(
            lambda d: vm(d).update(
                data_disks=[{"storage_account": "st-a"}, {"storage_account": "nope"}]
            )
        ),
        "estate.cloud_services[0].vms[0].data_disks[1].storage_account",
        ["unknown storage account 'nope'", "expected one of: st-a, st-b"],
    ),
    Bad(
        "dangling-vm-subnet",
        edited(lambda d: vm(d, 0, 1).update(subnets=["web", "dmz"])),
        "estate.cloud_services[0].vms[1].subnets[1]",
        ["'dmz'", "expected one of: data, web"],
    ),
    Bad(
        "subnet-of-another-vnet",
        edited(lambda d: vm(d, 1, 0).update(subnets=["web"])),
        "estate.cloud_services[1].vms[0].subnets[0]",
        ["'web'", "vnet-b", "expected one of: app"],
    ),
    Bad(
        "dangling-vm-availability-set",
        edited(lambda d: vm(d, 0, 1).update(availability_set="as-wbe")),
        "estate.cloud_services[0].vms[1].availability_set",
        ["unknown availability set 'as-wbe'", "expected one of: as-web"],
    ),
    Bad(
        "availability-set-across-cloud-services",
        edited(lambda d: vm(d, 1, 0).update(availability_set="as-web")),
        "estate.cloud_services[1].vms[0].availability_set",
        ["'as-web' belongs to cloud service 'cs-web'", "cannot span cloud services"],
    ),
    Bad(
        "dangling-cloud-service-vnet",
        edited(lambda d: cs(d, 1).update(vnet="vnet-c")),
        "estate.cloud_services[1].vnet",
        ["unknown virtual network 'vnet-c'", "expected one of: vnet-a, vnet-b"],
    ),
    Bad(
        "dangling-subnet-nsg",
        edited(lambda d: vnet(d, 0)["subnets"][1].update(nsg="nsg-data")),
        "estate.vnets[0].subnets[1].nsg",
        ["unknown NSG 'nsg-data'", "expected one of: nsg-web"],
    ),
    Bad(
        "dangling-subnet-route-table",
        edited(lambda d: vnet(d, 0)["subnets"][1].update(route_table="rt-data")),
        "estate.vnets[0].subnets[1].route_table",
        ["unknown route table 'rt-data'", "expected one of: rt-web"],
    ),
    Bad(
        "dangling-gateway-circuit",
        edited(lambda d: vnet(d, 0)["gateway"].update(circuit="er-2")),
        "estate.vnets[0].gateway.circuit",
        ["unknown ExpressRoute circuit 'er-2'", "expected one of: er-1"],
    ),
    Bad(
        "dangling-gateway-circuit-in-list",
        edited(
            lambda d: vnet(d, 0).update(
                gateway=[
                    {"name": "gw-vpn", "kind": "vpn"},
                    {"name": "gw-er", "kind": "expressroute", "circuit": "er-9"},
                ]
            )
        ),
        "estate.vnets[0].gateway[1].circuit",
        ["unknown ExpressRoute circuit 'er-9'", "expected one of: er-1"],
    ),
    Bad(
        "dangling-peering",
        edited(lambda d: vnet(d, 1).update(peerings=["vnet-a", "vnet-x"])),
        "estate.vnets[1].peerings[1]",
        ["unknown virtual network 'vnet-x'", "expected one of: vnet-a, vnet-b"],
    ),
    Bad(
        "alias-bomb",
        ALIAS_BOMB,
        "",
        ["YAML aliases expand", "alias bomb"],
    ),
    Bad(
        "not-utf8",
        "name: café\nestate: {}\n".encode("latin-1"),
        "",
        ["is not UTF-8", "0xe9", "expected a scenario file encoded as UTF-8"],
        line=1,
    ),
    Bad(
        "missing-file",
        MISSING,
        "",
        ["file not found", "expected a scenario file"],
        name="no-such-scenario.yaml",
    ),
    Bad("empty-file", "", "", ["expected a mapping"]),
    Bad("comments-only", "# nothing here\n", "", ["expected a mapping"]),
    Bad("top-level-list", "- name: a\n- name: b\n", "", ["expected a mapping"]),
    Bad("top-level-scalar", "just words\n", "", ["expected a mapping"]),
    Bad(
        "directory",
        DIRECTORY,
        "",
        ["is a folder", "expected a scenario file"],
        name="a-directory",
    ),
    Bad(
        "duplicate-key",
        "name: one\nestate: {}\nplan:\n  crews: 2\n  check: 5m\n  crews: 3\n",
        "",
        ["duplicate key 'crews'", "expected each key once"],
        line=6,
    ),
    Bad(
        "unquoted-clock",
        "name: t\nestate: {}\nplan:\n  maintenance_windows:\n"
        "    - {every: saturday, at: 22:00, for: 8h}\n",
        "plan.maintenance_windows[0].at",
        ['quoted clock time such as "22:00"', "1320"],
        line=5,
    ),
    Bad(
        "bad-clock",
        edited(lambda d: plan(d)["maintenance_windows"][0].update(at="25:00")),
        "plan.maintenance_windows[0].at",
        ['expected a clock time "HH:MM"', "'25:00'"],
    ),
    Bad(
        "negative-duration",
        edited(lambda d: plan(d).update(check=-30)),
        "plan.check",
        ["expected a duration of zero or more", "-30"],
    ),
    Bad(
        "negative-duration-with-unit",
        edited(lambda d: plan(d).update(durations={"prepare": {"base": "10m", "per_vm": "-1m"}})),
        "plan.durations.prepare.per_vm",
        ["expected a duration", "'-1m'"],
    ),
    Bad(
        "not-a-duration",
        edited(lambda d: plan(d).update(durations={"stop": "two minutes"})),
        "plan.durations.stop",
        ["expected a duration such as 90s, 45m, 2h, 1d or minutes", "'two minutes'"],
    ),
    Bad(
        "probability-above-one",
        edited(lambda d: plan(d).update(failures={"prepare": 1.5})),
        "plan.failures.prepare",
        ["less than or equal to 1", "1.5"],
    ),
    Bad(
        "probability-below-zero",
        edited(lambda d: plan(d).update(failures={"commit": -0.1})),
        "plan.failures.commit",
        ["greater than or equal to 0", "-0.1"],
    ),
    Bad(
        "window-without-length",
        edited(lambda d: plan(d)["maintenance_windows"][0].update({"for": 0})),
        "plan.maintenance_windows[0].for",
        ["expected a window length greater than zero"],
    ),
    Bad(
        "window-length-missing",
        edited(lambda d: plan(d)["maintenance_windows"][0].pop("for")),
        "plan.maintenance_windows[0].for",
        ["missing required key 'for'"],
    ),
    Bad(
        "window-recurring-and-one-off",
        edited(lambda d: plan(d)["maintenance_windows"][0].update(start="2026-12-05T22:00:00Z")),
        "plan.maintenance_windows[0]",
        ["expected either 'every' with 'at' (recurring) or 'start' (one-off)"],
    ),
    Bad(
        "missing-name",
        edited(lambda d: d.pop("name")),
        "name",
        ["missing required key 'name'"],
    ),
]


def make_input(case: Bad, directory: Path) -> Path:
    path = directory / case.name
    if case.content is DIRECTORY:
        path.mkdir()
    elif isinstance(case.content, bytes):
        path.write_bytes(case.content)
    elif isinstance(case.content, str):
        path.write_text(case.content, encoding="utf-8")
    else:
        assert case.content is MISSING
    return path


def load_error(path: Path, overrides: Sequence[str] = ()) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(path, overrides)
    return info.value


def assert_names(err: InputError, file: str, key_path: str, expected: Sequence[str]) -> None:
    text = err.render()
    assert err.file == file, text
    assert text.startswith(file), text
    assert err.key_path == key_path, text
    if key_path:
        assert f": {key_path}: " in text, text
    for fragment in expected:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert "Traceback" not in text


def load_scenario_text(text: str, overrides: Sequence[str] = ()) -> Scenario:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(text, encoding="utf-8")
        return load_scenario(path, overrides)


def test_base_scenario_is_valid() -> None:
    scenario = load_scenario_text(BASE_TEXT)
    assert scenario.name == "base"
    assert [v.name for v in scenario.estate.vnets] == ["vnet-a", "vnet-b"]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.id)
def test_bad_input_is_one_input_error(case: Bad, tmp_path: Path) -> None:
    path = make_input(case, tmp_path)
    err = load_error(path)
    assert_names(err, str(path), case.key_path, case.expected)
    if case.line is not None:
        assert err.line == case.line, err.render()
        assert err.render().startswith(f"{path}:{case.line}: ")
    if case.content not in (MISSING, DIRECTORY) and case.key_path:
        assert err.line is not None, "a key path inside a file should come with its line"


def test_alias_bomb_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    began = time.perf_counter()
    err = load_error(path)
    elapsed = time.perf_counter() - began
    assert elapsed < 0.5, f"alias bomb took {elapsed:.2f}s to refuse"
    assert "alias" in err.message


def test_alias_bomb_inside_an_estate_file_fails_fast(tmp_path: Path) -> None:
    (tmp_path / "estate.yaml").write_text(ALIAS_BOMB, encoding="utf-8")
    (tmp_path / "scenario.yaml").write_text("name: t\nestate: estate.yaml\n", encoding="utf-8")
    began = time.perf_counter()
    err = load_error(tmp_path / "scenario.yaml")
    assert time.perf_counter() - began < 0.5
    assert err.file is not None and err.file.endswith("estate.yaml")
    assert "alias" in err.message


def test_hand_written_anchors_are_fine(tmp_path: Path) -> None:
    text = BASE_TEXT.replace(
        '    - {every: saturday, at: "22:00", for: 8h}\n',
        '    - &night {every: saturday, at: "22:00", for: 8h}\n    - *night\n',
    )
    path = tmp_path / "anchors.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    assert len(scenario.plan.maintenance_windows) == 2


def test_unknown_key_message_lists_every_accepted_key(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(edited(lambda d: vm(d).update(colour="blue")), encoding="utf-8")
    err = load_error(path)
    accepted = err.message.split("expected one of: ", 1)[1].split(", ")
    assert accepted == [
        "name",
        "size",
        "cores",
        "availability_set",
        "subnets",
        "nsg",
        "os_disk",
        "data_disks",
        "extensions",
        "agent_ready",
        "extensions_unreported",
        "endpoint_acls",
        "alerts",
        "autoscale",
        "public_ip",
        "state",
        "boot_diagnostics",
    ]


def test_line_points_at_the_offending_key(tmp_path: Path) -> None:
    text = BASE_TEXT.replace("{name: data}", "{name: data, nsg: nsg-nope}")
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    err = load_error(path)
    lines = text.splitlines()
    assert err.line is not None
    assert "nsg-nope" in lines[err.line - 1]


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    def two_problems(d: dict[str, Any]) -> None:
        vm(d)["os_disk"]["storage_account"] = "nope-1"
        vm(d, 1, 0)["os_disk"]["storage_account"] = "nope-2"

    path = tmp_path / "s.yaml"
    path.write_text(edited(two_problems), encoding="utf-8")
    err = load_error(path)
    assert err.key_path == "estate.cloud_services[0].vms[0].os_disk.storage_account"
    assert "also: estate.cloud_services[1].vms[0].os_disk.storage_account" in err.render()


# ---- a separate estate file ----------------------------------------------------------------------


def write_split(tmp_path: Path, estate_text: str) -> tuple[Path, Path]:
    (tmp_path / "estates").mkdir()
    estate_file = tmp_path / "estates" / "the-estate.yaml"
    estate_file.write_text(estate_text, encoding="utf-8")
    scenario = tmp_path / "what-if.yaml"
    scenario.write_text(
        "name: split\nestate: estates/the-estate.yaml\nplan: {crews: 2}\n", encoding="utf-8"
    )
    return scenario, estate_file


def estate_text(edit: Callable[[dict[str, Any]], object] = lambda d: None) -> str:
    data = copy.deepcopy(BASE)
    edit(data)
    return yaml.safe_dump(data["estate"], sort_keys=False)


@pytest.mark.parametrize(
    ("edit", "key_path", "expected"),
    [
        (
            lambda d: cs(d, 1).update(vnet="vnet-c"),
            "cloud_services[1].vnet",
            ["unknown virtual network 'vnet-c'", "expected one of: vnet-a, vnet-b"],
        ),
        (
            lambda d: vm(d).update(colour="blue"),
            "cloud_services[0].vms[0].colour",
            ["unknown key 'colour'", "expected one of:"],
        ),
        (
            lambda d: estate(d)["storage_accounts"].append({"name": "st-b"}),
            "storage_accounts[2].name",
            ["duplicate storage account name 'st-b'"],
        ),
    ],
    ids=["dangling-reference", "unknown-key", "duplicate-name"],
)
def test_error_in_separate_estate_file_names_that_file_and_its_own_path(
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], object],
    key_path: str,
    expected: list[str],
) -> None:
    scenario, estate_file = write_split(tmp_path, estate_text(edit))
    err = load_error(scenario)
    assert err.file is not None
    assert Path(err.file).resolve() == estate_file.resolve()
    assert_names(err, err.file, key_path, expected)
    assert "the-estate.yaml" in err.render()
    assert err.line is not None


def test_malformed_separate_estate_file(tmp_path: Path) -> None:
    scenario, estate_file = write_split(tmp_path, "vnets:\n  - {name: a\ncloud_services: []\n")
    err = load_error(scenario)
    assert err.file is not None and Path(err.file).resolve() == estate_file.resolve()
    assert "malformed YAML" in err.message
    assert err.line is not None


def test_missing_separate_estate_file_names_it(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: t\nestate: estates/none.yaml\n", encoding="utf-8")
    err = load_error(scenario)
    assert err.file is not None and err.file.endswith("none.yaml")
    assert "file not found" in err.message


def test_separate_estate_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    scenario, _ = write_split(tmp_path, "- just\n- a list\n")
    err = load_error(scenario)
    assert err.file is not None and err.file.endswith("the-estate.yaml")
    assert "expected a mapping" in err.message


def test_load_estate_reports_paths_from_its_own_top(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(estate_text(lambda d: vnet(d, 1).update(peerings=["vnet-q"])), "utf-8")
    with pytest.raises(InputError) as info:
        load_estate(path)
    assert_names(info.value, str(path), "vnets[1].peerings[0]", ["unknown virtual network"])


# ---- names hold no control characters ----------------------------------------------------------

# Where a name (or another identifier) is written, and an edit of BASE that puts ``bad`` there.
NAME_PLACES: list[tuple[str, Callable[[dict[str, Any], str], object]]] = [
    ("name", lambda d, bad: d.update(name=bad)),
    ("estate.subscription", lambda d, bad: estate(d).update(subscription=bad)),
    ("estate.location", lambda d, bad: estate(d).update(location=bad)),
    ("estate.vnets[1].name", lambda d, bad: vnet(d, 1).update(name=bad)),
    ("estate.vnets[0].subnets[1].name", lambda d, bad: vnet(d, 0)["subnets"][1].update(name=bad)),
    ("estate.cloud_services[1].name", lambda d, bad: cs(d, 1).update(name=bad)),
    ("estate.cloud_services[0].vms[1].name", lambda d, bad: vm(d, 0, 1).update(name=bad)),
    ("estate.cloud_services[0].vms[1].size", lambda d, bad: vm(d, 0, 1).update(size=bad)),
    (
        "estate.cloud_services[0].vms[1].extensions[0]",
        lambda d, bad: vm(d, 0, 1).update(extensions=[bad]),
    ),
    (
        "estate.cloud_services[0].vms[1].os_disk.blob",
        lambda d, bad: vm(d, 0, 1)["os_disk"].update(blob=bad),
    ),
    (
        "estate.storage_accounts[1].name",
        lambda d, bad: estate(d)["storage_accounts"][1].update(name=bad),
    ),
    ("estate.nsgs[0].name", lambda d, bad: estate(d)["nsgs"][0].update(name=bad)),
    (
        "estate.vnets[0].services[0].name",
        lambda d, bad: vnet(d, 0).update(services=[{"name": bad, "kind": "hdinsight"}]),
    ),
    (
        "plan.waves[0].name",
        lambda d, bad: plan(d).update(ordering="waves", waves=[{"name": bad, "units": ["st-a"]}]),
    ),
]

# Control characters (ESC of a terminal escape sequence, BEL, NUL, tab, newline, CR, DEL, NEL),
# the bidirectional override U+202E and the line separator U+2028. (A lone surrogate is refused
# too, but libyaml refuses its escape first: see test_lone_surrogate_in_a_name_is_refused.)
UNSAFE = [
    "\x1b]0;pwned\x07\x1b[2J",
    "a\x00b",
    "a\tb",
    "a\nb",
    "a\rb",
    "clean\x01",
    "a\x7f",
    "a\x85b",
]
UNSAFE += ["abc\u202etxt.exe", "a\u2028b"]


@pytest.mark.parametrize(("key_path", "edit"), NAME_PLACES, ids=[k for k, _ in NAME_PLACES])
def test_names_with_control_characters_are_refused(
    tmp_path: Path, key_path: str, edit: Callable[[dict[str, Any], str], object]
) -> None:
    """A name, a reference or another identifier holding a control character, a bidirectional
    override, a line separator or a lone surrogate is refused at its key path and line, the
    character shown escaped; the same name without it loads."""
    path = tmp_path / "s.yaml"
    for bad in UNSAFE:
        data = copy.deepcopy(BASE)
        edit(data, bad)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        err = load_error(path)
        assert_names(err, str(path), key_path, ["expected a name without control characters"])
        assert err.line is not None
        ch = next(c for c in bad if not c.isprintable())
        assert f"it holds {ch!r} (U+{ord(ch):04X})" in err.message
        assert all(c.isprintable() for c in err.render()), err.render()
    data = copy.deepcopy(BASE)
    edit(data, "ok-\u00e9\U0001f600\u200d")  # printable, an emoji and a zero-width joiner
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    try:
        load_scenario(path)
    except InputError as exc:  # a reference the edit broke, never the characters
        assert "control characters" not in exc.message, exc.render()


def test_lone_surrogate_in_a_name_is_refused() -> None:
    """PyYAML's own parser (used without libyaml) reads "\\ud800" as a lone surrogate, and
    Python reads a byte that is not UTF-8 on the command line as one (U+DC80-U+DCFF): no UTF-8
    output can hold it. The records refuse it, and so does ``--location``."""
    from pydantic import ValidationError

    from sim.importers.result import check_location
    from sim.model.estate import NSG

    with pytest.raises(ValidationError):
        NSG(name="a\ud800b")
    with pytest.raises(InputError, match="U\\+DCFF"):
        check_location("West\udcffEurope")


def test_description_may_hold_tabs_and_line_breaks_but_no_escape(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    text = 'description: "two\\tcolumns\\nand a second line"\n' + BASE_TEXT
    path.write_text(text, encoding="utf-8")
    assert load_scenario(path).description == "two\tcolumns\nand a second line"
    path.write_text('description: "red \\e[31m text"\n' + BASE_TEXT, encoding="utf-8")
    err = load_error(path)
    assert_names(err, str(path), "description", ["expected text without control characters"])
    assert err.line == 1 and "'\\x1b' (U+001B)" in err.message


def test_cli_puts_no_escape_sequence_on_the_terminal(tmp_path: Path) -> None:
    """``name: "\\e]0;pwned\\a\\e[2J"`` (set the terminal's title, clear the screen): validate
    exits 2 with one message that shows the name escaped."""
    (tmp_path / "s.yaml").write_text(
        'name: "\\e]0;pwned\\a\\e[2J"\n' + BASE_TEXT.split("\n", 1)[1], encoding="utf-8"
    )
    proc = run_cli(["validate", "s.yaml"], tmp_path)
    assert_cli_input_error(proc, "s.yaml:1", "name", ["'\\x1b]0;pwned\\x07\\x1b[2J'"])
    assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


# ---- --set -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "key_path", "expected"),
    [
        ("plan.crews", "", ["'plan.crews'", "expected KEY.PATH=VALUE", "plan.crews=3"]),
        ("plan..crews=3", "", ["expected KEY.PATH=VALUE"]),
        ("=3", "", ["expected KEY.PATH=VALUE"]),
        ("plan.crews[x]=3", "", ["expected KEY.PATH=VALUE"]),
        ("name.first=x", "name", ["expected a mapping here"]),
        ("plan.crews.value=3", "plan.crews", ["expected a mapping here"]),
        (
            "plan.maintenance_windows[3].for=6h",
            "plan.maintenance_windows[3]",
            ["no such list item (plan.maintenance_windows has 1 item)"],
        ),
        (
            "estate.vnets[0][0]=x",
            "estate.vnets[0]",
            ["is not a list (it holds a mapping); expected a list for [0]"],
        ),
        ("plan.crews[0]=3", "plan.crews", ["is not a list (it holds 2); expected a list for [0]"]),
        ("name[1].x=3", "name", ["is not a list (it holds 'base'); expected a list for [1]"]),
        ("plan.crews=[", "plan.crews", ["is not valid YAML"]),
    ],
)
def test_bad_set_override(
    tmp_path: Path, override: str, key_path: str, expected: list[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE_TEXT, encoding="utf-8")
    err = load_error(path, [override])
    assert_names(err, "--set", key_path, expected)


def test_set_inside_a_list_item_blames_set_for_the_items_check(tmp_path: Path) -> None:
    """--set 'plan.maintenance_windows[0].for=8d': the window's own check refuses 'for' (a
    window every saturday lasts at most 7d) and names it: --set is blamed, not the file's
    line of the window; the same window in the file is blamed on the file, at its line."""
    path = tmp_path / "s.yaml"
    path.write_text(BASE_TEXT, encoding="utf-8")
    expected = ["a window every saturday lasts at most 7d", "got 'for' of 8d"]
    err = load_error(path, ["plan.maintenance_windows[0].for=8d"])
    assert_names(err, "--set", "plan.maintenance_windows[0]", expected)
    assert err.line is None
    text = BASE_TEXT.replace("for: 8h}", "for: 8d}")
    path.write_text(text, encoding="utf-8")
    err = load_error(path)
    assert_names(err, str(path), "plan.maintenance_windows[0]", expected)
    assert err.line == len(text.splitlines())
    # an override of another key of the window, not the one the check names: the file's
    err = load_error(path, ["plan.maintenance_windows[0].every=saturday"])
    assert_names(err, str(path), "plan.maintenance_windows[0]", expected)


def test_set_value_of_wrong_type_names_the_key_path(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE_TEXT, encoding="utf-8")
    err = load_error(path, ["plan.crews=two"])
    assert err.key_path == "plan.crews"
    assert "valid integer" in err.message


# A remediation with no post-step (pre-step): its duration there is an error at that key path,
# in the file or from --set, like a rule with no steps at all (from the fresh-user trial).
MISSING_STEPS = [
    ("MIG031", "restore", "post-step", "remediate"),
    ("MIG035", "restore", "post-step", "remediate"),
    ("MIG018", "restore", "post-step", "remediate"),
    ("MIG009", "restore", "post-step", "remediate"),
    ("MIG017", "remediate", "pre-step", "restore"),
    ("MIG030", "remediate", "pre-step", "restore"),
]


@pytest.mark.parametrize(("rule", "step", "kind", "other"), MISSING_STEPS)
def test_remedy_step_the_rule_does_not_have(
    tmp_path: Path, rule: str, step: str, kind: str, other: str
) -> None:
    path = tmp_path / "s.yaml"
    text = BASE_TEXT + f"  remedies:\n    {rule}:\n      {other}: 5m\n      {step}: 45m\n"
    path.write_text(text, encoding="utf-8")
    message = (
        f"{rule}'s remediation has no {kind}; expected only {other} under plan.remedies.{rule}"
    )
    err = load_error(path)
    assert_names(err, str(path), f"plan.remedies.{rule}.{step}", [message])
    assert err.line == len(text.splitlines())  # the step's own line
    path.write_text(BASE_TEXT, encoding="utf-8")
    assert_names(
        load_error(path, [f"plan.remedies.{rule}.{step}=45m"]),
        "--set",
        f"plan.remedies.{rule}.{step}",
        [message],
    )
    assert load_scenario(path, [f"plan.remedies.{rule}.{other}=45m"]).plan.remedy_step(
        rule, "remediate" if other == "remediate" else "restore"
    ) == StepDuration(base=45.0)


def test_unknown_remedy_rule_blames_set_when_set_wrote_it(tmp_path: Path) -> None:
    """--set plan.remedies.MIG032.remediate=10m: the rule came from --set, so --set is named (the
    file was, at the line of plan); a rule the file itself lists is the file's, at its line."""
    path = tmp_path / "s.yaml"
    path.write_text(BASE_TEXT, encoding="utf-8")
    err = load_error(path, ["plan.remedies.MIG032.remediate=10m"])
    assert_names(err, "--set", "plan.remedies.MIG032", ["no remediation step for MIG032"])
    assert err.line is None
    text = BASE_TEXT + "  remedies:\n    MIG032: {restore: 5m}\n"
    path.write_text(text, encoding="utf-8")
    err = load_error(path, ["plan.remedies.MIG032.remediate=10m"])
    assert_names(err, str(path), "plan.remedies.MIG032", ["no remediation step for MIG032"])
    assert err.line == len(text.splitlines())
    # an override that wrote elsewhere leaves the blame with the file
    err = load_error(path, ["plan.crews=3"])
    assert_names(err, str(path), "plan.remedies.MIG032", ["no remediation step for MIG032"])


# ---- the CLI end to end --------------------------------------------------------------------------


def run_cli(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["COLUMNS"] = "400"  # keep rich from folding long paths
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def flat(text: str) -> str:
    """Whitespace-normalised text, so a console's line wrapping does not matter."""
    return " ".join(text.split())


def assert_cli_input_error(
    proc: subprocess.CompletedProcess[str], file: str, key_path: str, expected: Sequence[str] = ()
) -> None:
    both = proc.stdout + proc.stderr
    assert "Traceback" not in both, both
    assert proc.returncode == 2, both
    stderr = flat(proc.stderr)
    assert file in stderr, proc.stderr
    if key_path:
        assert f"{key_path}:" in stderr, proc.stderr
    for fragment in expected:
        assert flat(fragment) in stderr, proc.stderr


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: c.id)
def test_cli_validate_bad_input_exits_2(case: Bad, tmp_path: Path) -> None:
    make_input(case, tmp_path)
    proc = run_cli(["validate", case.name], tmp_path)
    assert_cli_input_error(proc, case.name, case.key_path, case.expected[:1])


def test_cli_validate_error_in_separate_estate_file(tmp_path: Path) -> None:
    write_split(tmp_path, estate_text(lambda d: cs(d, 1).update(vnet="vnet-c")))
    proc = run_cli(["validate", "what-if.yaml"], tmp_path)
    assert_cli_input_error(
        proc, "the-estate.yaml", "cloud_services[1].vnet", ["unknown virtual network 'vnet-c'"]
    )
    assert "estate.cloud_services" not in proc.stderr


@pytest.mark.parametrize(
    ("override", "file", "key_path"),
    [
        ("plan.crews", "--set", ""),
        ("name.first=x", "--set", "name"),
        ("plan.crews=two", "", "plan.crews"),  # which file is named here is the CLI's choice
        ("plan.remedies.MIG032.remediate=10m", "error: --set:", "plan.remedies.MIG032"),
        ("plan.remedies.MIG031.restore=45m", "error: --set:", "plan.remedies.MIG031.restore"),
    ],
)
def test_cli_bad_set_exits_2(tmp_path: Path, override: str, file: str, key_path: str) -> None:
    (tmp_path / "s.yaml").write_text(BASE_TEXT, encoding="utf-8")
    proc = run_cli(["validate", "s.yaml", "--set", override], tmp_path)
    assert_cli_input_error(proc, file, key_path)


# ---- good inputs -------------------------------------------------------------------------------


def shared_contoso() -> Path:
    if not SHARED_CONTOSO.is_file():
        reason = f"reference scenario not found at {SHARED_CONTOSO}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return SHARED_CONTOSO


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_reference_scenario_loads_unchanged() -> None:
    path = shared_contoso()
    before = digest(path)
    sc = load_scenario(path)
    assert digest(path) == before
    assert sc.name == "contoso-weu"
    est = sc.estate
    assert est.subscription == "contoso-prod"
    assert [v.name for v in est.vnets] == ["vnet-shared", "vnet-prod"]
    assert [c.name for c in est.cloud_services] == ["cs-dns", "cs-web", "cs-sql", "cs-legacy"]
    assert sum(len(c.vms) for c in est.cloud_services) == 6
    assert est.vnets[0].gateway[0].circuit == "er-ams"  # one mapping, held as a list of one
    assert est.vnets[1].gateway[0].kind == "vpn"
    assert est.storage_account("stprodvhds").premium
    p = sc.plan
    assert p.seed == 42
    assert p.start == datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
    assert p.ordering == "smallest_first"
    assert p.crews == 2
    assert p.check == 30.0
    assert [(w.every, w.at, w.length) for w in p.maintenance_windows] == [
        ("saturday", 22 * 60, 480.0),
        ("sunday", 22 * 60, 480.0),
    ]
    validate = p.durations.step("validate")
    assert validate.base == 5.0
    assert validate.per_vm == pytest.approx(1 / 6)
    prepare = p.durations.step("prepare")
    assert (prepare.base, prepare.per_vm, prepare.distribution, prepare.spread) == (
        10.0,
        1.0,
        "lognormal",
        0.3,
    )
    assert p.durations.step("commit").per_vm == pytest.approx(1 / 3)
    assert p.durations.step("stop") == StepDuration(base=2.0)
    assert p.durations.step("start").distribution == "triangular"
    # not in the file: the defaults
    assert p.durations.remediate is None and p.durations.restore is None  # each rule's own
    assert p.remedy_step("MIG013", "restore") == StepDuration(base=20.0)  # the table's
    assert p.remedy_step("MIG012", "remediate") == StepDuration(base=5.0, per_vm=2.0)
    assert (p.failures.prepare, p.failures.commit, p.failures.validate_) == (0.05, 0.01, 0.0)
    assert p.restart_after == "prepare"
    assert p.write_limit_per_hour == 1200


def test_repo_scenarios_load() -> None:
    for path in sorted(SCENARIOS.glob("*.yaml")):
        load_scenario(path)


def test_set_overrides_change_the_plan() -> None:
    path = shared_contoso()
    sc = load_scenario(
        path, ["plan.crews=3", "plan.check=1h", "plan.maintenance_windows[0].for=6h"]
    )
    assert sc.plan.crews == 3
    assert sc.plan.check == 60.0
    assert sc.plan.maintenance_windows[0].length == 360.0
    assert sc.plan.maintenance_windows[1].length == 480.0
    again = load_scenario(path)  # overrides leave the file and later loads alone
    assert (again.plan.crews, again.plan.check) == (2, 30.0)


def test_set_overrides_read_yaml_values_and_create_mappings(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE_TEXT, encoding="utf-8")
    sc = load_scenario(
        path,
        [
            "plan.failures.prepare=0.1",
            "plan.ordering=[vnet-b, vnet-a]",
            "plan.future_support=true",
            "plan.durations.stop=90s",
            "estate.cloud_services[1].vms[0].endpoint_acls=true",
            'plan.maintenance_windows=[{every: weekend, at: "01:00", for: 3h}]',
        ],
    )
    assert sc.plan.failures.prepare == 0.1
    assert sc.plan.ordering == ("vnet-b", "vnet-a")
    assert sc.plan.future_support is True
    assert sc.plan.durations.step("stop").base == 1.5
    assert sc.estate.cloud_services[1].vms[0].endpoint_acls is True
    assert [(w.every, w.at, w.length) for w in sc.plan.maintenance_windows] == [
        ("weekend", 60, 180.0)
    ]


def test_set_overrides_reach_a_separate_estate_file(tmp_path: Path) -> None:
    scenario, _ = write_split(tmp_path, estate_text())
    sc = load_scenario(scenario, ["estate.vnets[1].priority=5", "plan.crews=4"])
    assert sc.estate.vnets[1].priority == 5
    assert sc.plan.crews == 4


@pytest.mark.parametrize(
    ("written", "minutes"),
    [
        ("90s", 1.5),
        ("45m", 45.0),
        ("2h", 120.0),
        ("1d", 1440.0),
        ("1h30m", 90.0),
        ("1h 30m", 90.0),
        ("1d2h", 1560.0),
        ("1.5h", 90.0),
        ("2H", 120.0),
        (30, 30.0),
        (2.5, 2.5),
        ("30", 30.0),
        (0, 0.0),
    ],
)
def test_duration_forms(written: str | float, minutes: float) -> None:
    def set_all(d: dict[str, Any]) -> None:
        plan(d)["check"] = written
        plan(d)["durations"] = {"stop": written, "prepare": {"base": written, "per_vm": written}}

    sc = load_scenario_text(edited(set_all))
    assert sc.plan.check == pytest.approx(minutes)
    stop = sc.plan.durations.step("stop")
    assert stop.base == pytest.approx(minutes)
    assert (stop.per_vm, stop.distribution) == (0.0, "deterministic")
    prepare = sc.plan.durations.step("prepare")
    assert prepare.base == pytest.approx(minutes)
    assert prepare.per_vm == pytest.approx(minutes)
    assert sc.plan.durations.step("prepare").central(3) == pytest.approx(4 * minutes)


def test_step_forms_and_defaults() -> None:
    def durations(d: dict[str, Any]) -> None:
        plan(d)["durations"] = {
            "stop": "2m",
            "start": {"base": "5m", "distribution": "triangular", "spread": 0.5},
            "commit": {"base": "5m", "per_vm": "20s", "distribution": "lognormal", "spread": 0.3},
            "validate": {"base": "1m", "distribution": "pert", "spread": 1},
        }

    d = load_scenario_text(edited(durations)).plan.durations
    assert d.step("stop") == StepDuration(base=2.0)
    assert d.step("stop").distribution == "deterministic"
    assert (d.step("start").distribution, d.step("start").spread) == ("triangular", 0.5)
    assert d.step("commit").central(6) == pytest.approx(7.0)
    assert d.step("validate").distribution == "pert"
    for step in ("prepare", "abort", "deallocate"):
        assert d.step(step) == StepDuration(**DEFAULT_STEPS[step]), step


def test_default_plan() -> None:
    sc = load_scenario_text("name: bare\nestate: {}\n")
    p = sc.plan
    assert (p.seed, p.start, p.ordering, p.crews, p.check, p.remediation) == (
        0,
        None,
        "as_listed",
        1,
        0.0,
        "auto",
    )
    assert p.maintenance_windows == ()
    assert (p.restart_after, p.future_support, p.write_limit_per_hour) == ("prepare", False, 1200)
    for step, default in DEFAULT_STEPS.items():
        assert p.durations.step(step) == StepDuration(**default), step


def test_windows_recurring_and_one_off() -> None:
    def windows(d: dict[str, Any]) -> None:
        plan(d)["maintenance_windows"] = [
            {"every": "weekday", "at": "01:30", "for": "3h"},
            {"start": datetime(2026, 12, 24, 18, 0, tzinfo=UTC), "for": "2d"},
            {"start": "2026-12-31 22:00", "for": "90m"},
        ]

    w = load_scenario_text(edited(windows)).plan.maintenance_windows
    assert (w[0].every, w[0].at, w[0].length) == ("weekday", 90, 180.0)
    assert (w[1].start, w[1].length) == (datetime(2026, 12, 24, 18, 0, tzinfo=UTC), 2880.0)
    assert w[2].start == datetime(2026, 12, 31, 22, 0, tzinfo=UTC)  # no zone: UTC


def test_estate_as_a_path() -> None:
    scenario = SCENARIOS / "small-what-if.yaml"
    sc = load_scenario(scenario)
    assert sc.estate == load_estate(SCENARIOS / "estates" / "small-estate.yaml")
    assert sc.plan.future_support is True
    assert sc.plan.restart_after == "commit"


def test_estate_as_a_path_is_relative_to_the_scenario_file(tmp_path: Path) -> None:
    scenario, _ = write_split(tmp_path, estate_text())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cwd = Path.cwd()
    try:
        os.chdir(elsewhere)
        sc = load_scenario(Path("..") / scenario.name)
    finally:
        os.chdir(cwd)
    assert sc.estate == load_scenario_text(BASE_TEXT).estate
    assert sc.plan.crews == 2


def test_gateway_one_mapping_or_a_list() -> None:
    one = load_scenario_text(BASE_TEXT).estate.vnets[0].gateway
    assert [g.name for g in one] == ["gw-a"]
    two = load_scenario_text(
        edited(
            lambda d: vnet(d, 1).update(
                gateway=[{"name": "gw-b1", "kind": "vpn"}, {"name": "gw-b2", "kind": "vpn"}]
            )
        )
    ).estate.vnets[1]
    assert [g.name for g in two.gateways] == ["gw-b1", "gw-b2"]


def test_availability_set_implied_by_vms() -> None:
    # Without availability_sets on the cloud service, any set name the VMs use is fine.
    def implied(d: dict[str, Any]) -> None:
        del cs(d, 0)["availability_sets"]
        vm(d, 0, 0)["availability_set"] = "as-one"
        vm(d, 0, 1)["availability_set"] = "as-two"

    sc = load_scenario_text(edited(implied))
    assert {v.availability_set for v in sc.estate.cloud_services[0].vms} == {"as-one", "as-two"}


def test_subnet_names_are_unique_only_within_their_vnet() -> None:
    def same_subnet(d: dict[str, Any]) -> None:
        vnet(d, 1)["subnets"].append({"name": "web"})
        vm(d, 1, 0)["subnets"] = ["web"]

    sc = load_scenario_text(edited(same_subnet))
    assert sc.estate.cloud_services[1].vms[0].subnets == ("web",)


def test_clean_scenario_shape() -> None:
    """The clean scenario keeps clear of every trigger of rules.md that can be seen in the data."""
    sc = load_scenario(SCENARIOS / "clean.yaml")
    est = sc.estate
    assert len(est.vnets) == 2
    for v in est.vnets:
        members = [c for c in est.cloud_services if c.vnet == v.name]
        assert 2 <= len(members) <= 3, v.name
        assert not v.peerings and not v.services
        assert len({g.kind for g in v.gateways}) <= 1
        assert not any(g.circuit or g.transit for g in v.gateways)
    assert all(c.vnet for c in est.cloud_services)
    assert not est.expressroute_circuits
    sets = {vm.availability_set for _, vm in est.vms()}
    assert len(sets - {None}) == 1
    for c in est.cloud_services:
        assert not c.roles and c.rbac_assignments == 0
        assert len({vm.availability_set for vm in c.vms}) == 1  # all in one set, or all in none
    for _, machine in est.vms():
        assert len(machine.subnets) == 1
        assert not (machine.endpoint_acls or machine.extensions)
        assert not (machine.alerts or machine.autoscale)
        assert machine.state == "Running"
        if machine.boot_diagnostics:
            assert not est.storage_account(machine.boot_diagnostics).premium
    for account in est.storage_accounts:
        assert not {"unattached_disks", "images"} & set(account.contents)
    used = {c.reserved_ip for c in est.cloud_services}
    assert any(r.name not in used for r in est.reserved_ips)  # an unattached reserved IP
    assert sc.plan.crews == 2
    assert any(w.every == "weekend" for w in sc.plan.maintenance_windows)
    assert isinstance(sc.plan.ordering, str)
