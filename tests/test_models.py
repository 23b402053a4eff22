# SPDX-License-Identifier: GPL-3.0-or-later
"""Weight files: training writes loadable safetensors + sidecar; bad files are refused."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gnuradio.beamalign.fileio import FileFormatError
from gnuradio.beamalign.models import registry
from gnuradio.beamalign.models.qssr_net import QSSRNet
from gnuradio.beamalign.models.sr_bsnet import SRBSNet
from gnuradio.beamalign.models.store import save_model

DEFAULT_QSSR_NET, DEFAULT_SR_BSNET = registry.path_of("qssr-net"), registry.path_of("sr-bsnet")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained by the real command."""
    out = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", "train", "qssr-net",
                          "--epochs", "1", "--steps", "2", "--batch", "8", "--quiet",
                          "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return out


def test_training_writes_a_model_with_its_sidecar(trained):
    sidecar = json.loads(trained.with_suffix(".json").read_text())
    assert sidecar["architecture"]["name"] == "qssr-net"
    assert sidecar["training"]["command"].startswith("beamalign train qssr-net")
    assert sidecar["training"]["scenario"]["snr_db_uniform"] == [5.0, 30.0]
    assert len(sidecar["sha256"]) == 64
    net = QSSRNet.load(trained)
    history = [(np.tile([-0.75, -0.25, 0.25, 0.75], (3, 1)), np.abs(np.random.default_rng(0).normal(size=(3, 4))))]
    u = net.estimate("tx", history)
    assert u.shape == (3,) and np.all(np.abs(u) <= 1)


SHIPPED = [(path, "qssr-net") for path in sorted(DEFAULT_QSSR_NET.parent.glob("qssr_net*.safetensors"))]
SHIPPED.append((DEFAULT_SR_BSNET, "sr-bsnet"))


@pytest.mark.parametrize("path, name", SHIPPED, ids=[p.stem for p, _ in SHIPPED])
def test_the_shipped_models_say_how_they_were_trained(path, name):
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["training"]["command"].startswith(f"beamalign train {name}")
    assert sidecar["architecture"]["name"] == name
    cls = QSSRNet if name == "qssr-net" else SRBSNet
    cls.load(path)
    if path.stem.startswith("qssr_net_"):  # a size-specific network says its size
        nt, nr = map(int, path.stem.split("_")[-1].split("x"))
        assert (sidecar["training"]["scenario"]["nt"], sidecar["training"]["scenario"]["nr"]) == (nt, nr)


def test_each_link_size_finds_its_network():
    assert registry.qssr_net_for(64, 16) == DEFAULT_QSSR_NET
    assert registry.qssr_net_for(8, 4) == DEFAULT_QSSR_NET  # none trained: the 64 x 16 network
    for path, _ in SHIPPED[:-1]:
        if path.stem.startswith("qssr_net_"):
            nt, nr = map(int, path.stem.split("_")[-1].split("x"))
            assert registry.qssr_net_output(nt, nr) == path == registry.qssr_net_for(nt, nr)


def test_every_registry_entry_loads_and_says_what_it_was_trained_for():
    for name, entry in registry.SHIPPED.items():
        assert entry.path.exists(), name
        assert entry.trained_for
        assert registry.load(name).sidecar["architecture"]["name"] == entry.network.ARCHITECTURE


def test_sr_bsnet_training_writes_a_model_that_picks_pairs(tmp_path):
    out = tmp_path / "srb.safetensors"
    run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", "train", "sr-bsnet",
                          "--epochs", "1", "--steps", "2", "--batch", "8", "--quiet",
                          "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    net = SRBSNet.load(out)
    r, t = net.best_pair(np.random.default_rng(0).random((5, 4, 16)))
    assert r.shape == (5,) and np.all((0 <= r) & (r < 16)) and np.all((0 <= t) & (t < 64))


def test_corrupt_weights_are_refused(trained, tmp_path):
    copy = tmp_path / "m.safetensors"
    shutil.copy(trained, copy)
    shutil.copy(trained.with_suffix(".json"), copy.with_suffix(".json"))
    data = bytearray(copy.read_bytes())
    data[-10] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="sha256"):
        QSSRNet.load(copy)


def test_missing_sidecar_and_wrong_architecture_are_refused(trained, tmp_path):
    copy = tmp_path / "m.safetensors"
    shutil.copy(trained, copy)
    with pytest.raises(FileFormatError, match="no such file"):
        QSSRNet.load(copy)
    sidecar = json.loads(trained.with_suffix(".json").read_text())
    sidecar["architecture"]["name"] = "sr-bsnet"
    copy.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(FileFormatError, match="architecture.name"):
        QSSRNet.load(copy)
    sidecar["architecture"]["name"] = "qssr-net"
    sidecar["architecture"]["hidden"] = 32
    copy.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(FileFormatError, match="do not fit"):
        QSSRNet.load(copy)


def test_nan_weights_with_a_matching_checksum_are_refused(tmp_path):
    net = QSSRNet(hidden=8, layers=1)
    tensors = {key: value.clone() for key, value in net.state_dict().items()}
    next(iter(tensors.values())).fill_(float("nan"))
    path = save_model(tmp_path / "nan.safetensors", tensors, net.architecture(), {})
    with pytest.raises(FileFormatError, match="NaN or Inf"):
        QSSRNet.load(path)


@pytest.mark.parametrize("field, value, message", [
    ("hidden", 10 ** 7, "outside"), ("gru_layers", 10 ** 6, "outside"),
    ("hidden", "64", "integer"), ("hidden", 1.5, "integer"), ("hidden", True, "integer")])
def test_architecture_fields_are_bounded(trained, tmp_path, field, value, message):
    copy = tmp_path / "m.safetensors"
    shutil.copy(trained, copy)
    sidecar = json.loads(trained.with_suffix(".json").read_text())
    sidecar["architecture"][field] = value
    copy.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(FileFormatError, match=f"'{field}'.*{message}|{message}.*'{field}'"):
        QSSRNet.load(copy)


def test_an_architecture_that_is_not_an_object_is_refused(trained, tmp_path):
    copy = tmp_path / "m.safetensors"
    shutil.copy(trained, copy)
    sidecar = json.loads(trained.with_suffix(".json").read_text())
    sidecar["architecture"] = "qssr-net"
    copy.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(FileFormatError, match="'architecture' must be an object"):
        QSSRNet.load(copy)


def test_training_never_overwrites_the_shipped_weights_by_default(tmp_path):
    before = DEFAULT_SR_BSNET.read_bytes()
    run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", "train", "sr-bsnet",
                          "--epochs", "1", "--steps", "1", "--batch", "4", "--quiet"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / DEFAULT_SR_BSNET.name).exists()
    assert DEFAULT_SR_BSNET.read_bytes() == before


def test_aligner_with_a_bad_model_fails_at_construction(tmp_path):
    from gnuradio import beamalign
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    with pytest.raises(FileFormatError, match="bad.json"):
        beamalign.beam_aligner("qssr-net", 64, 16, "unit", False, 0.0, str(bad))


def test_a_link_without_its_network_aligns_with_qssr_and_says_so(caplog):
    from gnuradio.beamalign.align.strategies import QSSR, QSSRNet, make_strategy
    from gnuradio.beamalign.models import registry

    # Every link of 16, 32, 64 or 128 elements a side has its network.
    sides = registry.QSSR_NET_SIDES
    assert all(registry.qssr_net_trained(nt, nr) for nt in sides for nr in sides)
    with caplog.at_level("WARNING"):
        strategy = make_strategy("qssr-net", 256, 16)
    assert type(strategy) is QSSR and "no QSSR-Net trained for a 256 x 16 link" in caplog.text
    assert isinstance(make_strategy("qssr-net", 32, 32), QSSRNet)
    # An explicit model file is the user's choice, whatever its size.
    assert isinstance(make_strategy("qssr-net", 256, 16, model=str(DEFAULT_QSSR_NET)), QSSRNet)
