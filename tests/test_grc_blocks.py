# SPDX-License-Identifier: GPL-3.0-or-later
"""Every block has GRC YAML that GNU Radio Companion loads and validates."""
from conftest import SOURCE_DIR
from gnuradio import gr
from gnuradio.grc.core.platform import Platform

BLOCKS = ["beam_aligner", "beam_combiner", "beam_display", "beam_predictor", "beam_splitter",
          "chanest_estimator", "channel_emulator", "coarray_spectrum", "codebook_sweeper",
          "dataset_channel_source", "doa_estimator", "gpio_phase_shifter",
          "message_link", "pc_hbf_source", "phaser_array", "position_map", "result_display", "rsrp_meter", "sim_array_source",
          "sim_srs_source", "srs_cfr", "uhd_array_sink", "uhd_array_source",
          "uhd_rf_chain_source", "uhd_srs_source"]


def test_every_block_yaml_loads_and_validates():
    platform = Platform(version=gr.version(), prefs=None,
                        version_parts=(gr.major_version(), gr.api_version(),
                                       gr.minor_version()))
    platform.build_library(["/usr/share/gnuradio/grc/blocks", str(SOURCE_DIR / "grc")])
    ids = sorted(b[len("beamalign_"):] for b in platform.blocks if b.startswith("beamalign_"))
    assert ids == BLOCKS
    flow_graph = platform.make_flow_graph()
    for name in BLOCKS:
        block = flow_graph.new_block(f"beamalign_{name}")
        block.params["id"].set_value(f"{name}_0")
        block.rewrite()
        block.validate()
        # A bare flowgraph has no `import beamalign` for defaults that call it.
        errors = [e for e in block.get_error_messages()
                  if "not connected" not in e and "'beamalign' is not defined" not in e
                  and "Expression None is invalid" not in e]
        assert not errors, (name, errors)
