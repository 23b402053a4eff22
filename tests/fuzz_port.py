# SPDX-License-Identifier: GPL-3.0-or-later
"""One block, one message port, fuzzed in this process (run by test_message_fuzz.py in a
subprocess so a crash or a hang is caught): seeded malformed messages, then a good
one that the block must still answer. Prints one JSON line of counts."""
import json
import sys
import time

import numpy as np
import pmt
from gnuradio import beamalign, blocks, gr

from gnuradio.beamalign import channels, codebooks
from gnuradio.beamalign.blocks.message_link import message_link
from gnuradio.beamalign.blocks.message_recorder import message_recorder
from gnuradio.beamalign.blocks.messages import beam_cmd, dict_to_pmt
from gnuradio.beamalign.flowgraphs import alignment, prediction, rsrp_sweep

ODD = ["x", True, 1.5, -7, 2 ** 62, float("nan"), float("inf"), [1.0], [], {"a": 1},
       np.zeros(3, np.complex64), np.full(5, np.nan, np.float32), "beam_cmd"]


def odd_pmt(rng):
    kind = rng.integers(9)
    if kind == 0:
        return pmt.from_long(int(rng.integers(-2 ** 62, 2 ** 62)))
    if kind == 1:
        return pmt.from_double(float(rng.choice([np.nan, np.inf, -1e308, 0.5])))
    if kind == 2:
        return pmt.intern("garbage")
    if kind == 3:
        return pmt.PMT_NIL
    if kind == 4:
        return pmt.cons(pmt.intern("a"), pmt.from_long(1))
    if kind == 5:
        size = int(rng.integers(0, 2000))
        return pmt.init_f32vector(size, [1.0] * size)
    if kind == 6:
        return pmt.init_c32vector(1_000_000, np.ones(1_000_000, np.complex64))
    if kind == 7:
        return pmt.make_vector(3, pmt.from_double(np.nan))
    return pmt.init_u8vector(4, [1, 2, 3, 4])


def malformed(rng, good):
    """A message like `good` (a dict of fields) with something wrong, or not a dict."""
    if rng.random() < 0.25:
        return odd_pmt(rng)
    fields = dict(good)
    key = rng.choice(sorted(fields))
    action = rng.integers(4)
    if action == 0:
        del fields[key]
    elif action == 1:
        fields[key] = ODD[rng.integers(len(ODD))]
    elif action == 2:
        value = np.asarray(fields[key])
        size = int(rng.choice([0, 1, max(value.size - 1, 0), value.size + 1, 100_000]))
        fields[key] = np.resize(value.ravel(), size) if size else np.zeros(0, value.dtype)
    else:
        fields["unexpected_" + key] = ODD[rng.integers(len(ODD))]
    try:
        message = dict_to_pmt(fields)
    except TypeError:  # a value our encoder does not take (a bool array): raw PMT then
        message = pmt.dict_add(pmt.make_dict(), pmt.intern(key), odd_pmt(rng))
    if rng.random() < 0.1 and fields:  # a value PMT cannot be built from Python directly
        message = pmt.dict_add(message, pmt.intern(key), odd_pmt(rng))
    return message


def post(block, port, message):
    block.to_basic_block()._post(pmt.intern(port), message)


def wait(predicate, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def fuzz_array_source(port, rng, count):
    nt, nr = 8, 4
    tb = gr.top_block()
    src = beamalign.sim_array_source(nt, nr, 20.0, 3, "los", [], 1)
    meter = beamalign.rsrp_meter("energy", [], 0, 64, 0.0, False)
    rsrp, info = message_recorder(), message_recorder()
    tb.connect(src, blocks.throttle(gr.sizeof_gr_complex, 1e6), meter)
    tb.msg_connect(meter, "rsrp", rsrp, "in")
    tb.msg_connect(src, "channel_info", info, "in")
    good_cmd = {"side": "tx", "beam_id": 5, "weights": np.ones(nt, np.complex64)}
    good_channel = {"h": np.ones(nt * nr, np.complex64)}
    tb.start()
    for _ in range(count):
        post(src, port, malformed(rng, good_cmd if port == "beam_cmd" else good_channel))
    if port == "beam_cmd":
        post(src, port, beam_cmd("tx", 777, np.ones(nt)))
        answered = wait(lambda: any(m["beam_id"] == 777 for m in list(rsrp.messages)))
    else:
        before = len(info.messages)
        post(src, port, dict_to_pmt({"h": np.full(nt * nr, 0.5, np.complex64)}))
        answered = wait(lambda: any(np.allclose(m["h"], 0.5) for m in info.messages[before:]))
    tb.stop()
    tb.wait()
    return src.malformed_messages(), 0, answered


def fuzz_combiner(port, rng, count):
    n = 4
    tb = gr.top_block()
    combiner = beamalign.beam_combiner(n, 0, [])
    meter = beamalign.rsrp_meter("energy", [], 0, 64, 0.0, False)
    rsrp = message_recorder()
    for ch in range(n):
        tb.connect(blocks.null_source(gr.sizeof_gr_complex),
                   blocks.throttle(gr.sizeof_gr_complex, 1e6), (combiner, ch))
    tb.connect(combiner, meter)
    tb.msg_connect(meter, "rsrp", rsrp, "in")
    good = {"side": "rx", "beam_id": 5, "weights": np.ones(n, np.complex64),
            "sample": 10}
    tb.start()
    for _ in range(count):
        post(combiner, port, malformed(rng, good))
    post(combiner, port, beam_cmd("rx", 777, np.ones(n)))
    answered = wait(lambda: any(m["beam_id"] == 777 for m in list(rsrp.messages)))
    tb.stop()
    tb.wait()
    return combiner.malformed_messages(), 0, answered


def fuzz_aligner(port, rng, count):
    tb = alignment(method="qssr", nt=16, nr=8, seed=2, dwell_timeout_s=0.2)
    aligner = tb.aligner
    goods = {"rsrp": {"beam_id": 1, "tx_beam_id": 1, "rx_beam_id": -1, "power": 0.5,
                      "rsrp_dbm": -3.0, "nsamples": 64, "offset": 10, "complete": True},
             "channel_info": {"nt": 16, "nr": 8, "h": np.ones(128, np.complex64)},
             "start": {"now": 1}, "abort": {"why": 1}}
    tb.start()
    for _ in range(count):
        post(aligner, port, malformed(rng, goods[port]))
    # Ports have separate queues, handled in no fixed order across ports: wait until the
    # garbage is handled, so a late `abort` cannot end the good alignment below. Garbage
    # on `start` starts alignments (any message does): let them end.
    wait(lambda: aligner.to_basic_block().nmsgs(pmt.intern(port)) == 0, 60.0)
    wait(lambda: aligner._search is None, 60.0)
    trial = channels.saleh_valenzuela(1, 16, 8, 3, "los", rng=3)
    result = tb.align(trial[0], timeout=60.0)
    tb.stop()
    tb.wait()
    answered = not result["failed"] and np.isfinite(result["power_db"])
    return aligner.malformed_messages(), aligner.bad_input.internal, answered


def fuzz_sweeper(port, rng, count):
    tb = rsrp_sweep(nt=8, nr=4, seed=1)
    sweeper = tb.sweeper
    sweeper.autostart = False
    goods = {"rsrp": {"beam_id": 1, "power": 0.5, "rsrp_dbm": -3.0, "complete": True},
             "start": {"now": 1}}
    tb.start()
    for _ in range(count):
        post(sweeper, port, malformed(rng, goods[port]))
    wait(lambda: sweeper.to_basic_block().nmsgs(pmt.intern(port)) == 0, 60.0)
    wait(lambda: sweeper._index is None, 60.0)
    sweeper.done.clear()
    post(sweeper, "start", pmt.PMT_T)
    answered = sweeper.done.wait(60.0) and not sweeper.last_result["failed"]
    tb.stop()
    tb.wait()
    return sweeper.malformed_messages(), sweeper.bad_input.internal, answered


def fuzz_display(port, rng, count):
    tb = gr.top_block()
    display = beamalign.beam_display("tx", 64, 20, 100.0)
    tb.connect((display, 0), blocks.null_sink(gr.sizeof_float * 64))
    tb.connect((display, 1), blocks.null_sink(gr.sizeof_float * 20))
    good = {"method": "qssr", "f": codebooks.steered_beam(16, 0.3),
            "w": codebooks.steered_beam(8, 0.1), "probes_dbm": np.zeros(20, np.float32)}
    tb.start()
    for _ in range(count):
        post(display, port, malformed(rng, good))
    before = display._pattern.copy()
    post(display, port, dict_to_pmt(dict(good, f=codebooks.steered_beam(16, -0.7))))
    answered = wait(lambda: not np.array_equal(display._pattern, before))
    peak = float(np.linspace(-1, 1, 64)[int(np.argmax(display._pattern))])
    tb.stop()
    tb.wait()
    return display.malformed_messages(), display.bad_input.internal, answered and abs(peak + 0.7) < 0.1


def fuzz_forwarders(port, rng, count):
    tb = gr.top_block()
    link, recorder = message_link(0.0), message_recorder()
    tb.msg_connect(link, "out", recorder, "in")
    tb.start()
    for _ in range(count):
        post(link, port, malformed(rng, {"a": 1}))
    post(link, port, dict_to_pmt({"good": 1}))
    answered = wait(lambda: len(recorder.messages) == count + 1 and
                    recorder.messages[-1] == {"good": 1})
    tb.stop()
    tb.wait()
    return 0, 0, answered


def fuzz_predictor(port, rng, count):
    tb = prediction(users=[3, 4], seed=2, dwell_timeout_s=0.2)
    predictor = tb.predictor
    goods = {"rsrp": {"beam_id": 1, "tx_beam_id": 1, "rx_beam_id": -1, "power": 0.5,
                      "rsrp_dbm": -80.0, "nsamples": 64, "offset": 10, "complete": True},
             "channel_info": {"nt": 128, "nr": 1, "h": np.ones(128, np.complex64)},
             "start": {"now": 1}, "abort": {"why": 1}}
    tb.start()
    for _ in range(count):
        post(predictor, port, malformed(rng, goods[port]))
    wait(lambda: predictor.to_basic_block().nmsgs(pmt.intern(port)) == 0, 60.0)
    wait(lambda: predictor._plan is None, 60.0)
    _, result = tb.predict_next(timeout=60.0)
    tb.stop()
    tb.wait()
    answered = not result["failed"] and result["measurements"] == 13 and \
        np.isfinite(result["snr_loss_db"])
    return predictor.malformed_messages(), predictor.bad_input.internal, answered


def fuzz_dataset_source(port, rng, count):
    tb = gr.top_block()
    source = beamalign.dataset_channel_source(users=[7, 8])
    recorder = message_recorder()
    tb.msg_connect(source, "channel", recorder, "in")
    tb.start()
    for _ in range(count):
        post(source, port, malformed(rng, {"now": 1}))
    answered = wait(lambda: len(recorder.messages) == count)
    users = {m["user"] for m in recorder.messages}
    tb.stop()
    tb.wait()
    return source.malformed_messages(), source.bad_input.internal, answered and users == {7, 8}


def fuzz_result_display(port, rng, count):
    tb = gr.top_block()
    display = beamalign.result_display("scores", 16, 100.0)
    tb.connect(display, blocks.null_sink(gr.sizeof_float * 16))
    good = {"method": "probe-predictor", "scores": np.full(16, 0.5, np.float32)}
    tb.start()
    for _ in range(count):
        post(display, port, malformed(rng, good))
    post(display, port, dict_to_pmt(dict(good, scores=np.arange(16, dtype=np.float32))))
    answered = wait(lambda: np.array_equal(display._shown, np.arange(16)))
    tb.stop()
    tb.wait()
    return display.malformed_messages(), display.bad_input.internal, answered


def fuzz_position_map(port, rng, count):
    tb = gr.top_block()
    view = beamalign.position_map("munich-3p5ghz", 1, 64, 100.0)
    for i in range(3):
        tb.connect((view, i), blocks.null_sink(gr.sizeof_gr_complex))
    good = ({"method": "probe-predictor", "position": np.array([10.0, -5.0], np.float32)}
            if port == "result" else {"position": np.array([1.0, 2.0, 1.5], np.float32)})
    tb.start()
    for _ in range(count):
        post(view, port, malformed(rng, good))
    post(view, port, dict_to_pmt(good))
    expected = (10 - 5j) if port == "result" else complex(1.0 - view.bs_position[0],
                                                          2.0 - view.bs_position[1])
    answered = wait(lambda: abs((view._estimate if port == "result" else view._true)
                                - expected) < 1e-3)
    tb.stop()
    tb.wait()
    return view.malformed_messages(), view.bad_input.internal, answered


FUZZERS = {"beam_predictor": fuzz_predictor, "position_map": fuzz_position_map, "result_display": fuzz_result_display, "dataset_channel_source": fuzz_dataset_source,
           "sim_array_source": fuzz_array_source, "beam_combiner": fuzz_combiner,
           "beam_aligner": fuzz_aligner, "codebook_sweeper": fuzz_sweeper,
           "beam_display": fuzz_display, "message_link": fuzz_forwarders}


def main():
    block, port, seed, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    gr.logging().set_default_level(gr.log_levels.err)
    malformed_count, internal, answered = FUZZERS[block](port, np.random.default_rng(seed),
                                                         count)
    print(json.dumps({"block": block, "port": port, "sent": count,
                      "malformed": int(malformed_count), "internal": int(internal),
                      "answered": bool(answered)}))


if __name__ == "__main__":
    main()
