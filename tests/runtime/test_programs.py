"""Traced programs kept on disk: loaded instead of traced, bit for bit the same results, keyed by
the arguments' tree and types, and only for ffdiff's own functions."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ffdiff.runtime import programs as exported
from ffdiff.fitting.objectives import _elastic_loss, frobenius
from ffdiff.potentials import edip


@pytest.fixture
def folder(tmp_path):
    before = exported._directory
    exported.enable(tmp_path / "exported")
    yield tmp_path / "exported"
    exported._directory = before


def test_stable_names_cover_ffdiff_functions_only():
    assert exported.stable_name(frobenius) == "ffdiff.fitting.objectives.frobenius"
    assert exported.stable_name(functools.partial(_elastic_loss, edip.energy)) == (
        "ffdiff.fitting.objectives._elastic_loss(ffdiff.potentials.edip.energy)")
    assert exported.stable_name(lambda a, b: a - b) is None
    assert exported.stable_name(np.linalg.norm) is None  # not ffdiff's: its source is not in the key
    assert exported.stable_name(functools.partial(frobenius, b=1.0)) is None
    assert exported.stable_name(functools.partial(_elastic_loss, lambda p: p)) is None


def test_a_kept_program_is_loaded_not_traced(folder, monkeypatch):
    a, b = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    first = exported.Program(frobenius, exported.stable_name(frobenius))(a, b)
    assert len(list(folder.glob("*.jax-exported"))) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("traced again")

    monkeypatch.setattr(jax.export, "export", refuse)
    again = exported.Program(frobenius, exported.stable_name(frobenius))  # as a new process would
    assert float(again(a, b)) == float(first) == float(jax.jit(frobenius)(a, b))
    with pytest.raises(AssertionError, match="traced again"):  # other shapes: another key
        again(a[:1], b[:1])
    monkeypatch.undo()
    again(a[:1], b[:1])
    assert len(list(folder.glob("*.jax-exported"))) == 2


def test_a_damaged_file_is_traced_again(folder, caplog):
    a, b = jnp.ones(4), jnp.zeros(4)
    exported.Program(frobenius, exported.stable_name(frobenius))(a, b)
    (path,) = folder.glob("*.jax-exported")
    path.write_bytes(path.read_bytes()[:100])
    assert float(exported.Program(frobenius, exported.stable_name(frobenius))(a, b)) == 2.0
    assert "tracing it again" in caplog.text
    leaves, tree = jax.tree.flatten((a, b))
    assert exported.Program(frobenius, "x")._key(tree, leaves) != exported.Program(frobenius, "y")._key(tree, leaves)


@pytest.mark.parametrize("kept", [True, False])
def test_compiler_options_reach_xla_whether_kept_or_not(folder, kept):
    """An option XLA does not know fails the compilation: the options are not dropped on either path."""
    name = exported.stable_name(frobenius) if kept else None
    with pytest.raises(Exception, match="xla_no_such_option"):
        exported.Program(frobenius, name, {"xla_no_such_option": True})(jnp.ones(5), jnp.zeros(5))
    assert float(exported.Program(frobenius, name, {"xla_cpu_use_fusion_emitters": False})(
        jnp.ones(5), jnp.zeros(5))) == pytest.approx(5.0 ** 0.5)


def test_off_or_unnamed_keeps_nothing(folder, tmp_path):
    exported.Program(frobenius, None)(jnp.ones(3), jnp.zeros(3))
    exported.enable(None)
    exported.Program(frobenius, "frobenius")(jnp.ones(3), jnp.zeros(3))
    assert not list(folder.glob("*.jax-exported"))


def _held_lock(folder, program, *args):
    import fcntl

    leaves, tree = jax.tree.flatten(args)
    path = folder / "locks" / f"{program._key(tree, leaves)}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115
    fcntl.flock(handle, fcntl.LOCK_EX)  # as another job compiling the same program would
    return handle


def test_a_program_compiled_elsewhere_meanwhile_is_waited_for(folder, monkeypatch):
    import threading

    a, b = np.arange(6.0), np.ones(6)
    program = exported.Program(frobenius, exported.stable_name(frobenius))
    polling, sleep = threading.Event(), exported.time.sleep
    monkeypatch.setattr(exported.time, "sleep", lambda s: (polling.set(), sleep(s)))
    done = []
    with _held_lock(folder, program, a, b):
        waiter = threading.Thread(target=lambda: done.append(float(program(a, b))), daemon=True)
        waiter.start()
        assert polling.wait(30)  # it waits for the lock...
        assert not done and not list(folder.glob("*.jax-exported"))  # ...having neither traced nor compiled
    waiter.join(30)  # the other job is done
    assert done == [float(jax.jit(frobenius)(a, b))]


def test_the_lock_lets_its_holder_in_again(folder, monkeypatch, caplog):
    path = folder / "locks" / "k.lock"
    monkeypatch.setattr(exported, "LOCK_WAIT_S", 0.2)
    with exported._only_process(path), exported._only_process(path):  # no waiting for itself
        pass
    with exported._only_process(path):  # and it was released
        pass
    assert "still locked" not in caplog.text


def test_a_lock_held_too_long_is_given_up(folder, monkeypatch, caplog):
    a, b = np.arange(3.0), np.ones(3)
    program = exported.Program(frobenius, exported.stable_name(frobenius))
    monkeypatch.setattr(exported, "LOCK_WAIT_S", 0.2)
    with _held_lock(folder, program, a, b):
        assert float(program(a, b)) == float(jax.jit(frobenius)(a, b))
    assert "compiling here as well" in caplog.text


def test_a_kept_program_of_another_signature_is_traced_again(folder, caplog):
    """A kept program under the key of a call it does not fit (copied from elsewhere, or kept by a key
    that missed what changed) is traced again and replaced, as a damaged one is, not run."""
    program = exported.Program(frobenius, exported.stable_name(frobenius))
    program(np.arange(6.0).reshape(2, 3), np.ones((2, 3)))
    (kept,) = folder.glob("*.jax-exported")
    a, b = jnp.ones(4, dtype=jnp.int32), jnp.zeros(4, dtype=jnp.int32)
    leaves, tree = jax.tree.flatten((a, b))
    path = folder / f"{program._key(tree, leaves)}.jax-exported"
    kept.rename(path)
    assert float(exported.Program(frobenius, exported.stable_name(frobenius))(a, b)) == 2.0
    assert "does not match" in caplog.text
    replaced = jax.export.deserialize(bytearray(path.read_bytes()))
    assert [(x.shape, x.dtype) for x in replaced.in_avals] == [((4,), jnp.int32)] * 2
