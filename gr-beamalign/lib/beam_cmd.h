/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_BEAM_CMD_H
#define INCLUDED_BEAMALIGN_BEAM_CMD_H

#include <gnuradio/logger.h>
#include <gnuradio/types.h>
#include <pmt/pmt.h>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace gr {
namespace beamalign {

/*! A parsed `beam_cmd` message (SPEC section 5). */
struct beam_command {
    std::string side;
    int64_t beam_id = -1;
    std::vector<gr_complex> weights;
    bool has_sample = false;
    uint64_t sample = 0;
};

/*!
 * Parses a `beam_cmd` dict. Returns an empty string on success, otherwise what is
 * wrong (the message is then to be dropped). expected_length < 0 skips the
 * length check for weights.
 */
std::string parse_beam_cmd(const pmt::pmt_t& msg, int expected_length, beam_command& out);

/*! Reads a numeric vector field (f32/f64 vector) into floats; false if absent or wrong. */
bool dict_float_vector(const pmt::pmt_t& dict,
                       const pmt::pmt_t& key,
                       std::vector<float>& out,
                       std::string& error);

/*! Reads a complex vector field (c32/c64 vector); false if absent or wrong. */
bool dict_complex_vector(const pmt::pmt_t& dict,
                         const pmt::pmt_t& key,
                         std::vector<gr_complex>& out,
                         std::string& error);

/*! The `beam` stream tag value. */
pmt::pmt_t beam_tag_value(int64_t beam_id, int64_t tx_beam_id, int64_t rx_beam_id);

/*!
 * Bad input is logged the first time each kind of problem is seen, then only
 * counted, so a misbehaving peer cannot flood the log.
 */
class bad_input_log
{
public:
    void report(gr::logger_ptr logger, const std::string& what);
    uint64_t count() const { return d_count; }

private:
    std::set<std::string> d_seen;
    uint64_t d_count = 0;
};

} // namespace beamalign
} // namespace gr

#endif
