"""model.pt: saved as plain data, loaded with weights_only=True; foreign objects are refused."""

import pickle
from dataclasses import asdict

import numpy as np
import pytest
import torch

import pinnkan as pk
from pinnkan.errors import PinnkanError
from pinnkan.output.model_file import VERSION, read_model_file, save_model
from pinnkan.solver import SolveOptions, build_model

BOUNDS = ((-1.0, -1.0), (1.0, 1.0))


def _options(**kw):
    return SolveOptions(**kw).complete(dim=2, n_fields=1)


def _points():
    return torch.as_tensor(np.random.default_rng(0).uniform(-1, 1, (50, 2)))


@pytest.mark.parametrize("model", ["kan", "mlp"])
def test_saved_network_loads_back_with_identical_predictions(tmp_path, model):
    o = _options(model=model, grid=7, widths=[2, 5, 1])
    torch.manual_seed(0)
    net = build_model(o, BOUNDS, torch.float64, torch.device("cpu"))
    path = save_model(tmp_path / "model.pt", net, asdict(o), BOUNDS, net.describe())
    saved = read_model_file(path)
    assert saved["format"] == "pinnkan-model" and saved["version"] == VERSION
    assert saved["network"]["model"] == model and saved["network"]["widths"] == [2, 5, 1]
    back = pk.load_model(path)
    x = _points()
    assert torch.equal(back(x), net(x))


def test_version_1_file_with_options_only_loads(tmp_path):
    o = _options(grid=6, widths=[2, 4, 1])
    torch.manual_seed(1)
    net = build_model(o, BOUNDS, torch.float64, torch.device("cpu"))
    torch.save({"state_dict": net.state_dict(), "architecture": net.describe(), "options": asdict(o),
                "bounds": ([-1.0, -1.0], [1.0, 1.0])}, tmp_path / "old.pt")
    x = _points()
    assert torch.equal(pk.load_model(tmp_path / "old.pt")(x), net(x))


class _Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_malicious_pickle_in_model_file_is_refused_and_runs_nothing(tmp_path):
    target = tmp_path / "pwned.txt"
    bad = tmp_path / "model.pt"
    torch.save({"state_dict": {}, "options": {}, "payload": _Payload(str(target))}, bad)
    assert not target.exists()
    with pytest.raises(PinnkanError, match=r"model file .*model\.pt was refused.*nothing in it was run"):
        pk.load_model(bad)
    assert not target.exists()
    # the same file through plain pickle would have run the payload: the test means something
    with open(bad, "rb"):
        pass
    pickle.loads(pickle.dumps(_Payload(str(target)))).close()
    assert target.exists()


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    (b"not a torch file", "could not be read"),
])
def test_missing_or_broken_model_file_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "model.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PinnkanError, match=message):
        pk.load_model(path)


def test_newer_format_version_is_refused(tmp_path):
    torch.save({"format": "pinnkan-model", "version": VERSION + 1, "network": {}, "state_dict": {}},
               tmp_path / "model.pt")
    with pytest.raises(PinnkanError, match=f"format version {VERSION + 1}"):
        pk.load_model(tmp_path / "model.pt")


def test_json_is_strict(tmp_path):
    import json

    from pinnkan.output.atomic import write_json

    path = write_json(tmp_path / "m.json", {"a": float("inf"), "b": [np.float64("nan"), 1.5], "c": np.int64(3)})
    text = path.read_text()
    assert "Infinity" not in text and "NaN" not in text
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": 3}
