"""``simulator.objects.PerObject``: values kept per live object, found by identity."""

from __future__ import annotations

from sparsim.simulator.objects import PerObject


class _Thing:
    """Equal to every other ``_Thing`` (and unhashable): only identity tells them apart."""

    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Thing)


def test_one_value_per_object_and_extra_key():
    made: list[tuple[object, tuple]] = []

    def make(obj: object, *extra: object) -> int:
        made.append((obj, extra))
        return len(made)

    store: PerObject[_Thing, int] = PerObject(make, 10)
    a, b = _Thing(), _Thing()
    assert store(a) == store(a) == 1  # made once for the object
    assert store(b) == 2  # an equal but other object gets its own value
    assert store(a, "x") == store(a, "x") == 3  # extra key parts key separately
    assert store(a, "y") == 4
    assert made == [(a, ()), (b, ()), (a, ("x",)), (a, ("y",))]


def test_emptied_at_the_limit():
    calls: list[object] = []
    store: PerObject[_Thing, int] = PerObject(lambda obj: calls.append(obj) or len(calls), 2)
    things = [_Thing() for _ in range(3)]
    assert [store(t) for t in things] == [1, 2, 3]  # the third emptied the store first
    assert store(things[2]) == 3  # kept after the emptying
    assert store(things[0]) == 4  # made again


def test_an_entry_holds_its_object():
    # the entry keeps the object alive, so no other object can take its id while it lives;
    # a stale id (an entry whose object differs) is made again, never returned
    store: PerObject[_Thing, int] = PerObject(lambda obj: id(obj), 10)
    first = _Thing()
    assert store(first) == id(first)
    store._entries[id(first)] = (_Thing(), -1)  # an entry for another object at that id
    assert store(first) == id(first)
