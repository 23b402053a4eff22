# SPDX-License-Identifier: GPL-3.0-or-later
"""Every examples/*.grc compiles with grcc, and its Python runs headless."""
import os
import shutil
import subprocess
import sys
import time

import pytest
from conftest import SOURCE_DIR

EXAMPLES = sorted((SOURCE_DIR / "examples").glob("*.grc"))
# What each example prints once it has done its job (it then keeps running).
DONE_MARKERS = {"rsrp_sweep": "best beam", "qssr_alignment": "alignment qssr-net",
                "gw_sc_vbi": "chanest gw-sc-vbi pilot 2: NMSE", "srs_doa": "doa scg: AoA",
                "mod_dnn_doa": "doa mod-dnn: AoA", "ota_alignment_ue": "alignment qssr-net",
                "ota_alignment_bs": None, "probe_prediction": "from top-5",
                "fusion_prediction": "from top-5"}
# The user's flowgraph needs the base station's running beside it (two processes).
PARTNERS = {"ota_alignment_ue": "ota_alignment_bs"}
RUN_SECONDS = 60


@pytest.mark.parametrize("grc", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_compiles_and_runs(grc, tmp_path):
    grcc = shutil.which("grcc")
    assert grcc, "grcc (Debian package gnuradio) is not on PATH"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    compiled = subprocess.run([sys.executable, grcc, "-o", str(tmp_path), str(grc)], env=env,
                              capture_output=True, text=True, timeout=120)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    script = tmp_path / f"{grc.stem}.py"
    assert script.exists()
    partner = None
    if grc.stem in PARTNERS:
        other = SOURCE_DIR / "examples" / f"{PARTNERS[grc.stem]}.grc"
        subprocess.run([sys.executable, grcc, "-o", str(tmp_path), str(other)], env=env,
                       capture_output=True, text=True, timeout=120, check=True)
        partner = subprocess.Popen([sys.executable, str(tmp_path / f"{other.stem}.py")],
                                   env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                   cwd=tmp_path)

    marker = DONE_MARKERS[grc.stem]
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path)
        # With no marker (the base station prints nothing), a few seconds of running is it.
        deadline = time.monotonic() + (RUN_SECONDS if marker else 3)
        while time.monotonic() < deadline and proc.poll() is None and (
                marker is None or marker not in log.read_text()):
            time.sleep(0.2)  # polling a child's log, not timing the code under test
        still_running = proc.poll() is None
        proc.kill()
        proc.wait()
        if partner:
            partner.kill()
            partner.wait()
    text = log.read_text()
    assert "Traceback" not in text, text
    assert marker is None or marker in text, text
    assert still_running, f"the flowgraph exited early:\n{text}"
