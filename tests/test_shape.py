# SPDX-License-Identifier: GPL-3.0-or-later
"""The package's shape: who may import whom, one protocol module, a thin command line
that answers bad arguments with one line, and documentation inside the repository."""
import ast
import re
import subprocess
import sys

import pytest
from conftest import SOURCE_DIR

PACKAGE = SOURCE_DIR / "python" / "beamalign"
KERNELS = ("arrays", "codebooks", "channels", "align", "doa", "chanest", "predict")
ABOVE_KERNELS = ("bench", "blocks", "cli", "commands", "training", "flowgraphs")


def _imported_packages(path):
    """Top-level subpackages of beamalign that a module imports (relative or absolute)."""
    tree = ast.parse(path.read_text())
    depth = len(path.relative_to(PACKAGE).parts) - 1  # 0 for beamalign/x.py
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(path.relative_to(PACKAGE).parts[:depth])
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                parts = base + (node.module.split(".") if node.module else [])
                if parts:
                    found.add(parts[0])
                else:  # from . import x, y
                    found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("gnuradio.beamalign."):
                found.add(node.module.split(".")[2])
    return found


def _modules(package):
    root = PACKAGE / package
    return sorted(root.rglob("*.py")) if root.is_dir() else [PACKAGE / f"{package}.py"]


def test_models_import_nothing_above_them():
    forbidden = {"align", "doa", "chanest", "predict", "bench", "blocks", "cli", "training",
                 "commands", "flowgraphs", "hw"}
    for path in _modules("models"):
        assert not (_imported_packages(path) & forbidden), path


def test_kernel_packages_import_no_layer_above_them():
    checked = 0
    for package in KERNELS:
        for path in _modules(package):
            if path.exists():
                checked += 1
                assert not (_imported_packages(path) & set(ABOVE_KERNELS)), path
    assert checked > 20


def test_function_local_imports_are_only_optional_heavy_dependencies():
    # matplotlib for figures, UHD and pyadi-iio for hardware, and the module that brings Torch
    # (seconds to import) to the paths that use it; each such import says why.
    # Sionna RT (mitsuba, drjit) loads its LLVM backend at import, which must be found first.
    # Dask (distributed) only for runs spread over workers.
    allowed = {"matplotlib", "matplotlib.pyplot", "gnuradio.uhd", "adi", ".mod_dnn", "mitsuba", "sionna.rt", "drjit", "distributed", "dask"}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import):
                        names = {alias.name for alias in inner.names}
                    elif isinstance(inner, ast.ImportFrom):
                        names = {f"{'.' * inner.level}{inner.module or ''}"}
                        if inner.module == "gnuradio":
                            names = {f"gnuradio.{alias.name}" for alias in inner.names}
                    else:
                        continue
                    assert names <= allowed, f"{path}:{inner.lineno} imports {names} in a function"


def _protocol_names():
    namespace = {}
    exec((PACKAGE / "protocol.py").read_text(), namespace)
    return set(namespace["PORTS"]) | set(namespace["KEYS"])


def test_no_protocol_key_literal_outside_the_protocol_module():
    names = _protocol_names()
    assert {"beam_cmd", "rsrp", "rsrp_dbm", "beam"} <= names
    # A key used as a key: subscript, .get, pmt.intern, msg_connect port, dict literal key.
    python_use = re.compile(r'(\[|\.get\(|intern\(|_connect\([^)]*, )"([a-z_]+)"')
    dict_key = re.compile(r'(^\s+|\{|, )"([a-z_]+)":', re.M)
    speakers = [*(PACKAGE / "blocks").glob("*.py"), *(PACKAGE / "hw").glob("*.py"),
                PACKAGE / "flowgraphs.py", PACKAGE / "commands.py"]
    for path in speakers:
        text = path.read_text()
        used = {m.group(2) for m in python_use.finditer(text)} & names
        used |= {m.group(2) for m in dict_key.finditer(text)} & names - _output_fields(path)
        assert not used, f"{path}: protocol keys as literals: {sorted(used)}"
    cpp = re.compile(r'(intern|mp)\("([a-z_]+)"\)')
    for path in (SOURCE_DIR / "gr-beamalign").rglob("*.[ch]*"):
        if path.name != "protocol.h":
            used = {m.group(2) for m in cpp.finditer(path.read_text())} & names
            assert not used, f"{path}: protocol keys as literals: {sorted(used)}"


def _output_fields(path):
    """commands.py writes its own JSON files, whose fields are not the protocol's."""
    return {"method", "paths", "nmse_db", "angle_deg", "pilot", "cpu_s", "power_db",
            "u_tx", "u_rx", "measurements", "beam", "failed", "reason", "best_beam",
            "snr_loss_db"} if path.name == "commands.py" else set()


def test_every_source_file_carries_its_licence():
    files = [*PACKAGE.rglob("*.py"), *(SOURCE_DIR / "tests").glob("*.py"),
             SOURCE_DIR / "apps" / "beamalign", *(SOURCE_DIR / "gr-beamalign").rglob("*.cc"),
             *(SOURCE_DIR / "gr-beamalign").rglob("*.h"), *(PACKAGE / "bindings").glob("*.cc")]
    assert len(files) > 100
    for path in files:
        head = "\n".join(path.read_text().splitlines()[:5])
        assert "SPDX-License-Identifier: GPL-3.0-or-later" in head, path


def test_command_line_is_thin():
    assert len((PACKAGE / "cli.py").read_text().splitlines()) < 250


def test_repository_documents_itself():
    docs = SOURCE_DIR / "docs"
    for name in ("design.md", "protocol.md", "algorithms.md", "extending.md"):
        assert (docs / name).stat().st_size > 1000, name
    assert "docs/" in (SOURCE_DIR / "README.md").read_text()
    # Spelled in pieces so that this file does not match its own check.
    pattern = re.compile("|".join(["ALGORITHMS" + r"\.md", "shared" + "/", "closing" + " note"]))
    for root in ("python", "gr-beamalign", "docs", "tests"):
        for path in (SOURCE_DIR / root).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".cc", ".h", ".md", ".txt"):
                assert not pattern.search(path.read_text()), path
    assert not pattern.search((SOURCE_DIR / "README.md").read_text())


UNWRITABLE = "/proc/beamalign-cannot-write-here.json"
BAD_ARGUMENTS = [
    # sweep
    ["sweep", "--nt", "0"], ["sweep", "--snr-db", "nan"], ["sweep", "--seed", "-1"],
    ["sweep", "--dwell", "0"], ["sweep", "--json", "/nonexistent/x.json"],
    ["sweep", "--json", UNWRITABLE], ["sweep", "--timeout", "inf"], ["sweep", "--paths", "x"],
    # align
    ["align", "--nt", "0"], ["align", "--nr", "-4"], ["align", "--trials", "0"],
    ["align", "--snr-db", "nan"], ["align", "--model", "/nonexistent.safetensors"],
    ["align", "--method", "x"], ["align", "--json", UNWRITABLE], ["align", "--timeout", "0"],
    # train
    ["train", "qssr-net", "--epochs", "-1"], ["train", "qssr-net", "--batch", "0"],
    ["train", "mod-dnn", "--nt", "8"], ["train", "doa-cnn", "--ae-samples", "5"],
    ["train", "qssr-net", "--out", "/nonexistent/m.safetensors"], ["train", "nonsense"],
    ["train", "qssr-net", "--nproc", "0"], ["train", "mod-dnn", "--nproc", "2", "--nnodes", "2"],
    ["train", "probe-predictor", "--nproc", "2", "--master", "nohost"],
    ["train", "qssr-net", "--nnodes", "2"], ["train", "qssr-net", "--master", "nohost"],
    ["train", "qssr-net", "--nnodes", "2", "--node-rank", "2", "--master", "127.0.0.1:5"],
    # calibrate
    ["calibrate"], ["calibrate", "--online", "--chamber"],
    ["calibrate", "--online", "--snr-db", "nan"], ["calibrate", "--online", "--updates", "0"],
    ["calibrate", "--online", "--sigma-p", "-1"], ["calibrate", "--chamber", "--antennas", "0"],
    ["calibrate", "--chamber", "--angles", "0", "nan", "5"],
    ["calibrate", "--chamber", "--positioner", "serial:/dev/x"],
    ["calibrate", "--chamber", "--state", "/nonexistent/s.json"],
    # eda
    ["eda", "--groups", "0"], ["eda", "--antennas", "1"], ["eda", "--srl-bound", "-1"],
    ["eda", "--snr-db", "nan"], ["eda", "--json", UNWRITABLE],
    # chanest
    ["chanest", "--pilots", "0"], ["chanest", "--snr-db", "nan"], ["chanest", "--paths", "0"],
    ["chanest", "--grouping", "/nonexistent.json"], ["chanest", "--method", "x"],
    # doa
    ["doa", "--snr-db", "nan"], ["doa", "--angle-deg", "nan"], ["doa", "--angle-deg", "75"],
    ["doa", "--rho", "2"], ["doa", "--symbols", "0"], ["doa", "--json", UNWRITABLE],
    # node, ota
    ["node", "bs", "--link", "udp://127.0.0.1:5"], ["node", "ue", "--trials", "0"],
    ["node", "xx"], ["ota"], ["node", "bs", "--source", "uhd", "--device-args", "type=b200,serial=X"],
    ["node", "ue", "--source", "uhd", "--device-args", "type=b200,serial=X"], ["ota", "--emulate", "--loss", "2"],
    ["ota", "--emulate", "--link", "tcp://127.0.0.1"],
    # bench
    ["bench", "align-snr", "--trials", "0"], ["bench", "doa-snr", "--calibration", "/nope"],
    ["bench", "speed", "--paths", "3"], ["bench", "align-snr", "--nx", "4"],
    ["bench", "chanest-snr", "--grouping", "/nope.json"], ["bench", "nonsense"],
    ["bench", "align-snr", "--json", UNWRITABLE], ["bench", "doa-cdf", "--array-seed", "-1"],
    ["bench", "align-snr", "--workers", "0"], ["bench", "align-snr", "--scheduler", "host:8786"],
    ["bench", "align-snr", "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"],
    ["bench", "speed", "--workers", "2"], ["bench", "align-snr", "--chunk-trials", "0"],
    ["dataset", "stat", "--out", "s.npz", "--workers", "2"], ["bench", "chanest-arrays", "--arrays", "8x9"],
    ["bench", "chanest-snr", "--nz", "6", "--m", "4"], ["bench", "chanest-snr", "--groups", "0"],
    ["bench", "align-snr", "--methods", "qssr,nope"], ["bench", "align-outage", "--methods", ","],
]


@pytest.mark.parametrize("argv", BAD_ARGUMENTS, ids=" ".join)
def test_bad_arguments_end_in_one_line_and_exit_2(argv, tmp_path):
    try:
        run = subprocess.run([sys.executable, "-m", "gnuradio.beamalign.cli", *argv],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{argv} hung")
    assert run.returncode == 2, (argv, run.stderr)
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("beamalign") and "error" in lines[0], lines
