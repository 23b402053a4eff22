/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_BEAM_CMD_H
#define INCLUDED_BEAMALIGN_BEAM_CMD_H

#include <gnuradio/block.h>
#include <gnuradio/logger.h>
#include <gnuradio/tags.h>
#include <gnuradio/types.h>
#include <pmt/pmt.h>
#include <cstdint>
#include <deque>
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
    bool has_time = false;  // radio time (UHD time spec) from which the weights apply
    int64_t time_full = 0;  // whole seconds
    double time_frac = 0.0; // fraction in [0, 1)
};

/*!
 * Maps radio time to sample indices from the time tags a UHD block puts on its stream
 * (`rx_time` on received samples, `tx_time` on samples to transmit): the tag's offset
 * is the sample at that time, and samples follow at the sample rate (updated by
 * `rx_rate` / `tx_rate` tags when present).
 */
class time_reference
{
public:
    explicit time_reference(double samp_rate)
        : d_rate(samp_rate)
    {
    }
    //! Takes the time and rate tags among `tags` (a block's input tags, in order).
    void update(const std::vector<gr::tag_t>& tags);
    //! The sample at the command's time; false when no time tag has come yet (or the
    //! rate is unknown).
    bool sample_of(const beam_command& cmd, uint64_t& sample) const;
    bool valid() const { return d_valid && d_rate > 0.0; }

private:
    double d_rate;
    bool d_valid = false;
    uint64_t d_offset = 0;
    int64_t d_full = 0;
    double d_frac = 0.0;
};

/*! Phase quantisation of a B-bit phase shifter; bits <= 0 leaves w unchanged. */
std::vector<gr_complex> quantise_phases(const std::vector<gr_complex>& w, int bits);

/*!
 * The weights one array block applies: requested weights, their B-bit phase
 * quantisation and the per-element calibration, as per-element taps (conjugated for a
 * receive combiner, y = sum conj(w_n) c_n x_n; as they are for a transmit splitter,
 * x_n = w_n c_n s).
 */
class array_weights
{
public:
    array_weights(const char* who,
                  int num_elements,
                  int bits,
                  const std::vector<gr_complex>& calibration,
                  bool conjugate);
    void set_requested(const std::vector<gr_complex>& w);
    void set_calibration(const std::vector<gr_complex>& calibration);
    void set_bits(int bits);
    const std::vector<gr_complex>& weights() const { return d_weights; }
    const std::vector<gr_complex>& taps() const { return d_taps; }

private:
    std::string d_who;
    int d_num;
    int d_bits;
    bool d_conjugate;
    std::vector<gr_complex> d_requested, d_weights, d_calibration, d_taps;
    void check_calibration(const std::vector<gr_complex>& calibration) const;
    void refresh();
};

/*!
 * Parses a `beam_cmd` dict. Returns an empty string on success, otherwise what is
 * wrong (the message is then to be dropped). expected_length < 0 skips the
 * length check for weights.
 */
std::string parse_beam_cmd(const pmt::pmt_t& msg, int expected_length, beam_command& out);

/*! Reads a numeric vector field (f32/f64 vector) into floats; false if absent or wrong.
 */
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
/*!
 * Beam commands waiting to be applied, shared by every block that switches weights.
 * Untimed commands apply at the next sample, in arrival order; timed ones (`sample`)
 * at their sample, in sample order. A command for a sample already produced is late:
 * it joins the untimed ones in arrival order (so it never overrides a newer command,
 * nor holds up later ones) and is counted; one further ahead than max_lead samples,
 * or beyond max_pending queued commands, is refused.
 */
class time_reference;

class beam_schedule
{
public:
    static constexpr size_t max_pending = 256;
    static constexpr uint64_t max_lead = uint64_t(1) << 32; // 70 s at 61.44 Msps

    //! Queues cmd; `now` is the next sample to be produced. A command timed by radio
    //! `time` becomes a sample-timed one through `clock`, or waits (see resolve) until
    //! the stream's first time tag. Returns why it was refused, or an empty string.
    std::string
    add(const beam_command& cmd, uint64_t now, const time_reference* clock = nullptr);
    //! Turns commands waiting for a time reference into sample-timed ones once `clock`
    //! has one; returns why one was refused (the last), or an empty string.
    std::string resolve(uint64_t now, const time_reference& clock);
    //! Pops the next command due at `sample` into out. False when none is due.
    bool pop_due(uint64_t sample, beam_command& out);
    //! The sample of the earliest queued timed command (UINT64_MAX when none).
    uint64_t next_switch() const;
    //! Commands that arrived after their sample.
    uint64_t late() const { return d_late; }

private:
    uint64_t d_late = 0;
    std::deque<beam_command> d_queue;    // untimed first, then timed by sample
    std::deque<beam_command> d_awaiting; // timed by radio time, no time reference yet
};

class bad_input_log
{
public:
    void report(gr::logger_ptr logger, const std::string& what);
    uint64_t count() const { return d_count; }

private:
    std::set<std::string> d_seen;
    uint64_t d_count = 0;
};

/*!
 * When an array block's weights switch: its beam_schedule, the radio-time reference of
 * its stream and its switch boundary, shared by beam_combiner, beam_splitter and
 * sim_array_source. A block whose stream carries no radio time (timed = false) refuses
 * commands timed by `time`.
 */
class beam_switcher
{
public:
    explicit beam_switcher(double samp_rate, bool timed = true)
        : d_clock(samp_rate)
        , d_timed(timed)
    {
    }

    void set_boundary(uint64_t samples) { d_boundary = samples; }
    uint64_t late() const { return d_schedule.late(); }

    //! Queues a parsed command (the block's lock held); refusals go to `bad`.
    void accept(beam_command cmd, gr::logger_ptr logger, bad_input_log& bad);

    /*!
     * Runs one work() call over [first, first + count): `tags` are the input tags there
     * (time tags among them); apply(cmd, sample) switches at a sample, and
     * process(offset, n) handles n items from offset under the weights in force.
     */
    template <class Apply, class Process>
    void run(uint64_t first,
             int count,
             const std::vector<gr::tag_t>& tags,
             gr::logger_ptr logger,
             bad_input_log& bad,
             Apply apply,
             Process process)
    {
        const uint64_t end = first + count;
        d_clock.update(tags);
        const std::string refused = d_schedule.resolve(first, d_clock);
        if (!refused.empty()) {
            bad.report(logger, refused);
        }
        int done = 0;
        beam_command cmd;
        while (true) {
            const uint64_t at = first + done;
            if (d_schedule.pop_due(at, cmd)) {
                apply(cmd, at);
                continue;
            }
            const uint64_t next = d_schedule.next_switch();
            if (next >= end) {
                break;
            }
            const int switch_offset = static_cast<int>(next - first);
            process(done, switch_offset - done);
            done = switch_offset;
        }
        process(done, count - done);
        d_next_sample = end;
    }

private:
    beam_schedule d_schedule;
    time_reference d_clock;
    bool d_timed;
    uint64_t d_boundary = 1;
    uint64_t d_next_sample = 0; // the next sample run() handles (read by accept)
};

} // namespace beamalign
} // namespace gr

#endif
