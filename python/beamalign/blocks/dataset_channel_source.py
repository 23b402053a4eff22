# SPDX-License-Identifier: GPL-3.0-or-later
"""Plays a site data set's users into sim_array_source, one `channel` message each."""
import threading

import numpy as np
import pmt
from gnuradio import gr

from .. import protocol as proto
from ..predict import probe_system, sector_system, sites
from ..predict.datasets import resolve
from .messages import dict_to_pmt
from .validate import BadInput, GuardedBlock, guarded


class dataset_channel_source(GuardedBlock, gr.basic_block):
    """Sends the next user's per-antenna channel on `channel` at each `start` message
    (and at flowgraph start with autostart).

    The channel is the user's downlink through a num_h x num_v UPA facing azimuth_deg
    (None: the data set's busiest sector) with downtilt_deg, as row h^H of H (Nr = 1),
    multiplied by 10^(scale_db / 20): sim_array_source works in unit-power samples, so
    an rsrp_meter with ref_dbm = re_power_dbm - scale_db reads the RSRPs in dBm
    (`probe_system.flowgraph_levels` gives the three numbers). The message also carries
    the user's index and position. Users are taken in order of `users` (empty: every
    in-sector user), wrapping around.

    With sector 0, 1 or 2 the users are those of that sector of seed 002's three-sector
    BS (8 x 8 panels, 20 deg downtilt; num_h, num_v, azimuth_deg and downtilt_deg are
    then the scenario's), each channel at the carrier normalised to ||h|| = 1 before
    the scaling, as seed 002 normalises its CSI.
    """

    def __init__(self, dataset="munich-30ghz", users=(), num_h=16, num_v=8, azimuth_deg=None,
                 downtilt_deg=10.0, scale_db=41.0, autostart=False, sector=-1):
        gr.basic_block.__init__(self, name="dataset_channel_source", in_sig=None, out_sig=None)
        site = sites.load_site(resolve(dataset))
        if int(sector) >= 0:
            self.channels = sector_system.sector_channels(site, int(sector))
        else:
            system = probe_system.System(int(num_h), int(num_v),
                                         None if azimuth_deg is None or azimuth_deg < -360
                                         else float(azimuth_deg), float(downtilt_deg))
            self.channels = probe_system.site_channels(site, system)
        chosen = np.asarray(users, dtype=np.int64).ravel()
        if chosen.size and (chosen.min() < 0 or chosen.max() >= len(self.channels)):
            raise ValueError(f"users must index the {len(self.channels)} in-sector users")
        self.order = chosen if chosen.size else np.arange(len(self.channels))
        self.scale = 10 ** (float(scale_db) / 20)
        self.autostart = autostart
        self.sent = 0
        self.bad_input = BadInput()
        self._lock = threading.Lock()
        self.register_message_ports({proto.START: self._handle_start},
                                    outputs=(proto.CHANNEL,))

    def start(self):
        if self.autostart:
            self.next_channel()
        return True

    @guarded
    def _handle_start(self, msg):
        self.next_channel()

    def next_channel(self):
        """Publishes the next user's channel; returns its in-sector index."""
        with self._lock:
            user = int(self.order[self.sent % len(self.order)])
            self.sent += 1
        h = np.conj(self.channels.channels[user]) * self.scale
        self.message_port_pub(pmt.intern(proto.CHANNEL), dict_to_pmt({
            proto.H: h.astype(np.complex64), proto.USER: user,
            proto.POSITION: self.channels.positions[user].astype(np.float32)}))
        return user
