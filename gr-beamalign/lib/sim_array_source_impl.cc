/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "sim_array_source_impl.h"
#include <gnuradio/beamalign/protocol.h>
#include <gnuradio/io_signature.h>
#include <volk/volk.h>
#include <cmath>
#include <stdexcept>

namespace gr {
namespace beamalign {

namespace {
constexpr float NOISELESS_SNR_DB = 300.0f;
} // namespace

sim_array_source::sptr sim_array_source::make(int nt,
                                              int nr,
                                              float snr_db,
                                              int num_paths,
                                              const std::string& profile,
                                              const std::vector<gr_complex>& pilot,
                                              uint64_t seed)
{
    return gnuradio::make_block_sptr<sim_array_source_impl>(
        nt, nr, snr_db, num_paths, profile, pilot, seed);
}

sim_array_source_impl::sim_array_source_impl(int nt,
                                             int nr,
                                             float snr_db,
                                             int num_paths,
                                             const std::string& profile,
                                             const std::vector<gr_complex>& pilot,
                                             uint64_t seed)
    : gr::sync_block("sim_array_source",
                     gr::io_signature::make(0, 0, 0),
                     gr::io_signature::make(1, 1, sizeof(gr_complex)))
    , d_nt(nt)
    , d_nr(nr)
    , d_pilot(pilot)
    , d_generator(num_paths, profile, seed)
    , d_noise(seed)
    , d_snr_db(snr_db)
{
    if (nt < 1 || nr < 1) {
        throw std::invalid_argument("sim_array_source: nt and nr must be at least 1");
    }
    if (d_pilot.empty()) {
        d_pilot.assign(1, gr_complex(1.0f, 0.0f));
    }
    for (const auto& p : d_pilot) {
        if (!std::isfinite(p.real()) || !std::isfinite(p.imag())) {
            throw std::invalid_argument("sim_array_source: pilot holds NaN or Inf");
        }
    }
    if (!std::isfinite(snr_db)) {
        throw std::invalid_argument("sim_array_source: snr_db must be finite");
    }
    d_f.assign(nt, gr_complex(1.0f / std::sqrt(static_cast<float>(nt)), 0.0f));
    d_w.assign(nr, gr_complex(0.0f, 0.0f));
    d_w[0] = gr_complex(1.0f, 0.0f);
    set_snr_db(snr_db);

    auto paths = d_generator.draw();
    normalise_paths(d_nt, d_nr, paths);
    d_h = channel_from_paths(d_nt, d_nr, paths);

    message_port_register_in(protocol::BEAM_CMD);
    message_port_register_in(protocol::CHANNEL);
    message_port_register_out(protocol::CHANNEL_INFO);
    set_msg_handler(protocol::BEAM_CMD,
                    [this](const pmt::pmt_t& msg) { handle_beam_cmd(msg); });
    set_msg_handler(protocol::CHANNEL,
                    [this](const pmt::pmt_t& msg) { handle_channel(msg); });
    d_pending_initial_paths = paths;
}

void sim_array_source_impl::set_snr_db(float snr_db)
{
    std::lock_guard<std::mutex> lock(d_mutex);
    d_snr_db = snr_db;
    d_noise_variance =
        snr_db >= NOISELESS_SNR_DB ? 0.0f : std::pow(10.0f, -snr_db / 10.0f);
    d_gain_stale = true;
}

float sim_array_source_impl::snr_db() const
{
    std::lock_guard<std::mutex> lock(d_mutex);
    return d_snr_db;
}

std::vector<gr_complex> sim_array_source_impl::channel() const
{
    std::lock_guard<std::mutex> lock(d_mutex);
    return d_h;
}

bool sim_array_source_impl::start()
{
    // The first channel is published once the flowgraph runs, so subscribers see it.
    publish_channel(&d_pending_initial_paths);
    return true;
}

void sim_array_source_impl::handle_beam_cmd(const pmt::pmt_t& msg)
{
    beam_command cmd;
    std::string error = parse_beam_cmd(msg, -1, cmd);
    if (error.empty()) {
        const int expected = cmd.side == protocol::SIDE_TX ? d_nt : d_nr;
        if (static_cast<int>(cmd.weights.size()) != expected) {
            error = "beam_cmd weights have length " + std::to_string(cmd.weights.size()) +
                    ", the " + cmd.side + " array has " + std::to_string(expected) +
                    " elements";
        }
    }
    if (!error.empty()) {
        d_bad.report(d_logger, error);
        return;
    }
    std::lock_guard<std::mutex> lock(d_mutex);
    d_switcher.accept(cmd, d_logger, d_bad);
}

void sim_array_source_impl::apply(const beam_command& cmd)
{
    if (cmd.side == protocol::SIDE_TX) {
        d_f = cmd.weights;
        d_tx_beam_id = cmd.beam_id;
    } else {
        d_w = cmd.weights;
        d_rx_beam_id = cmd.beam_id;
    }
    d_beam_id = cmd.beam_id;
    d_weights_changed = true;
    d_gain_stale = true;
}

void sim_array_source_impl::handle_channel(const pmt::pmt_t& msg)
{
    // An empty dict is PMT_NIL; it asks for a new channel from the generator.
    if (!pmt::is_dict(msg)) {
        d_bad.report(d_logger, "channel message is not a dict");
        return;
    }
    std::string error;
    element_impairment tx = d_tx_impairment, rx = d_rx_impairment;
    const struct {
        pmt::pmt_t key;
        std::vector<float>* target;
        int length;
    } impairment_fields[] = { { protocol::TX_PHASE, &tx.phase_rad, d_nt },
                              { protocol::TX_POSITION, &tx.position_wl, d_nt },
                              { protocol::RX_PHASE, &rx.phase_rad, d_nr },
                              { protocol::RX_POSITION, &rx.position_wl, d_nr } };
    for (const auto& field : impairment_fields) {
        std::vector<float> values;
        if (dict_float_vector(msg, field.key, values, error)) {
            if (static_cast<int>(values.size()) != field.length) {
                error = std::string("channel field '") +
                        pmt::symbol_to_string(field.key) + "' has length " +
                        std::to_string(values.size()) + ", expected " +
                        std::to_string(field.length);
            } else {
                *field.target = values;
            }
        }
        if (!error.empty()) {
            d_bad.report(d_logger, error);
            return;
        }
    }

    std::vector<gr_complex> h;
    std::vector<path> paths;
    bool have_paths = false;
    if (dict_complex_vector(msg, protocol::H, h, error)) {
        if (static_cast<int>(h.size()) != d_nt * d_nr) {
            error = "channel field 'h' has length " + std::to_string(h.size()) +
                    ", expected nr*nt = " + std::to_string(d_nt * d_nr);
        }
    } else if (error.empty()) {
        std::vector<gr_complex> gains;
        std::vector<float> u_tx, u_rx;
        const bool has_gains = dict_complex_vector(msg, protocol::GAINS, gains, error);
        if (error.empty() && has_gains) {
            dict_float_vector(msg, protocol::U_TX, u_tx, error);
            if (error.empty()) {
                dict_float_vector(msg, protocol::U_RX, u_rx, error);
            }
            if (error.empty() &&
                (u_tx.size() != gains.size() || u_rx.size() != gains.size())) {
                error = "channel fields 'gains', 'u_tx', 'u_rx' must have equal lengths";
            }
            if (error.empty()) {
                for (size_t l = 0; l < gains.size(); ++l) {
                    paths.push_back({ gains[l], u_tx[l], u_rx[l] });
                }
                have_paths = true;
            }
        } else if (error.empty()) {
            paths = d_generator.draw();
            normalise_paths(d_nt, d_nr, paths, tx, rx);
            have_paths = true;
        }
    }
    if (!error.empty()) {
        d_bad.report(d_logger, error);
        return;
    }
    if (have_paths) {
        h = channel_from_paths(d_nt, d_nr, paths, tx, rx);
    }
    {
        std::lock_guard<std::mutex> lock(d_mutex);
        d_h = std::move(h);
        d_tx_impairment = tx;
        d_rx_impairment = rx;
        d_gain_stale = true;
    }
    publish_channel(have_paths ? &paths : nullptr);
}

void sim_array_source_impl::publish_channel(const std::vector<path>* paths)
{
    pmt::pmt_t d = pmt::make_dict();
    d = pmt::dict_add(d, protocol::NT, pmt::from_long(d_nt));
    d = pmt::dict_add(d, protocol::NR, pmt::from_long(d_nr));
    d = pmt::dict_add(d, protocol::H, pmt::init_c32vector(d_h.size(), d_h));
    if (paths) {
        std::vector<gr_complex> gains;
        std::vector<float> u_tx, u_rx;
        for (const auto& p : *paths) {
            gains.push_back(p.gain);
            u_tx.push_back(p.u_tx);
            u_rx.push_back(p.u_rx);
        }
        d = pmt::dict_add(d, protocol::GAINS, pmt::init_c32vector(gains.size(), gains));
        d = pmt::dict_add(d, protocol::U_TX, pmt::init_f32vector(u_tx.size(), u_tx));
        d = pmt::dict_add(d, protocol::U_RX, pmt::init_f32vector(u_rx.size(), u_rx));
    }
    message_port_pub(protocol::CHANNEL_INFO, d);
}

void sim_array_source_impl::refresh_gain()
{
    // g = w^H H f: the only per-beam cost, paid once per change, never per sample.
    gr_complex g(0.0f, 0.0f);
    for (int r = 0; r < d_nr; ++r) {
        gr_complex row(0.0f, 0.0f);
        volk_32fc_x2_dot_prod_32fc(
            &row, &d_h[static_cast<size_t>(r) * d_nt], d_f.data(), d_nt);
        g += std::conj(d_w[r]) * row;
    }
    d_gain = g;
    float w_energy = 0.0f;
    for (const auto& x : d_w) {
        w_energy += std::norm(x);
    }
    d_noise_variance_w = d_noise_variance * w_energy;
    d_gain_stale = false;
}

void sim_array_source_impl::produce(gr_complex* out, int count)
{
    // Signal: g * pilot, the pilot restarting at the last tag.
    const size_t pilot_len = d_pilot.size();
    int done = 0;
    while (done < count) {
        const size_t phase = d_pilot_index % pilot_len;
        const int run = static_cast<int>(
            std::min<size_t>(pilot_len - phase, static_cast<size_t>(count - done)));
        volk_32fc_s32fc_multiply_32fc(out + done, d_pilot.data() + phase, d_gain, run);
        done += run;
        d_pilot_index += run;
    }
    if (d_noise_variance_w > 0.0f) {
        if (d_noise_buffer.size() < static_cast<size_t>(count)) {
            d_noise_buffer.resize(count);
        }
        d_noise.fill(d_noise_buffer.data(), count, d_noise_variance_w);
        volk_32fc_x2_add_32fc(out, out, d_noise_buffer.data(), count);
    }
}

int sim_array_source_impl::work(int noutput_items,
                                gr_vector_const_void_star&,
                                gr_vector_void_star& output_items)
{
    auto* out = static_cast<gr_complex*>(output_items[0]);
    std::lock_guard<std::mutex> lock(d_mutex);
    const uint64_t first = nitems_written(0);
    // One segment per set of weights: a timed command splits the output at its sample.
    d_switcher.run(
        first,
        noutput_items,
        d_no_tags,
        d_logger,
        d_bad,
        [this](const beam_command& cmd, uint64_t) { apply(cmd); },
        [&](int offset, int n) {
            if (n <= 0) {
                return;
            }
            if (d_weights_changed) {
                add_item_tag(0,
                             first + offset,
                             protocol::BEAM,
                             beam_tag_value(d_beam_id, d_tx_beam_id, d_rx_beam_id),
                             alias_pmt());
                d_pilot_index = 0;
                d_weights_changed = false;
            }
            if (d_gain_stale) {
                refresh_gain();
            }
            produce(out + offset, n);
        });
    return noutput_items;
}

} // namespace beamalign
} // namespace gr
