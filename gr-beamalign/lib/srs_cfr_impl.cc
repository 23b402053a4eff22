/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gnuradio/beamalign/srs_cfr.h>
#include <gnuradio/fft/fft.h>
#include <gnuradio/io_signature.h>
#include <cmath>
#include <stdexcept>
#include <string>

namespace gr {
namespace beamalign {

int srs_cfr::srs_bin(int fft_size, int comb, int comb_offset, int length, int i)
{
    const int subcarrier = comb_offset + comb * (i - length / 2);
    return ((subcarrier % fft_size) + fft_size) % fft_size;
}

class srs_cfr_impl : public srs_cfr
{
public:
    srs_cfr_impl(int num_antennas,
                 int fft_size,
                 int cp_len,
                 int comb,
                 int comb_offset,
                 const std::vector<gr_complex>& sequence,
                 int num_subcarriers)
        : gr::block(
              "srs_cfr",
              gr::io_signature::make(std::max(num_antennas, 1),
                                     std::max(num_antennas, 1),
                                     sizeof(gr_complex)),
              gr::io_signature::make(1,
                                     1,
                                     sizeof(gr_complex) * std::max(num_antennas, 1) *
                                         std::max(num_subcarriers, 1)))
        , d_m(num_antennas)
        , d_n(fft_size)
        , d_cp(cp_len)
        , d_k(num_subcarriers)
        , d_fft(std::max(fft_size, 1), 1)
    {
        const int length = static_cast<int>(sequence.size());
        if (num_antennas < 1 || fft_size < 2 || cp_len < 0 || comb < 1 ||
            comb_offset < 0 || comb_offset >= comb) {
            throw std::invalid_argument("srs_cfr: need num_antennas >= 1, fft_size >= 2, "
                                        "cp_len >= 0, 0 <= comb_offset < comb");
        }
        if (length < 1 || comb * length > fft_size) {
            throw std::invalid_argument(
                "srs_cfr: the sequence (" + std::to_string(length) + " symbols every " +
                std::to_string(comb) + " subcarriers) must fit in fft_size " +
                std::to_string(fft_size));
        }
        if (num_subcarriers < 1 || num_subcarriers > length) {
            throw std::invalid_argument("srs_cfr: num_subcarriers must be in 1.." +
                                        std::to_string(length));
        }
        for (int j = 0; j < d_k; ++j) {
            // K of the L SRS subcarriers, evenly spread (the middle one when K = 1).
            const int i = d_k == 1
                              ? length / 2
                              : static_cast<int>(std::lround(static_cast<double>(j) *
                                                             (length - 1) / (d_k - 1)));
            const gr_complex x = sequence[i];
            if (!(std::abs(x) > 0.0f) || !std::isfinite(std::abs(x))) {
                throw std::invalid_argument(
                    "srs_cfr: sequence symbols must be finite and "
                    "non-zero");
            }
            d_bins.push_back(srs_bin(fft_size, comb, comb_offset, length, i));
            d_inverse.push_back(1.0f / x);
        }
        set_output_multiple(1);
    }

    uint64_t dropped_symbols() const override { return d_dropped; }

    void forecast(int noutput_items, gr_vector_int& ninput_items_required) override
    {
        for (auto& required : ninput_items_required) {
            required = noutput_items * (d_n + d_cp);
        }
    }

    int general_work(int noutput_items,
                     gr_vector_int& ninput_items,
                     gr_vector_const_void_star& input_items,
                     gr_vector_void_star& output_items) override
    {
        const int symbol = d_n + d_cp;
        int available = noutput_items;
        for (int m = 0; m < d_m; ++m) {
            available = std::min(available, ninput_items[m] / symbol);
        }
        auto* out = static_cast<gr_complex*>(output_items[0]);
        int produced = 0;
        for (int s = 0; s < available; ++s) {
            bool finite = true;
            for (int m = 0; m < d_m && finite; ++m) {
                const auto* x =
                    static_cast<const gr_complex*>(input_items[m]) + s * symbol;
                for (int n = 0; n < symbol; ++n) {
                    if (!std::isfinite(x[n].real()) || !std::isfinite(x[n].imag())) {
                        finite = false;
                        break;
                    }
                }
            }
            if (!finite) {
                if (d_dropped++ == 0) {
                    d_logger->warn("dropped an SRS symbol holding NaN or Inf samples "
                                   "(further ones are only counted)");
                }
                continue;
            }
            gr_complex* snapshot = out + static_cast<size_t>(produced) * d_m * d_k;
            for (int m = 0; m < d_m; ++m) {
                const auto* x =
                    static_cast<const gr_complex*>(input_items[m]) + s * symbol + d_cp;
                std::copy(x, x + d_n, d_fft.get_inbuf());
                d_fft.execute();
                const gr_complex* spectrum = d_fft.get_outbuf();
                for (int j = 0; j < d_k; ++j) {
                    snapshot[m * d_k + j] = spectrum[d_bins[j]] * d_inverse[j];
                }
            }
            ++produced;
        }
        consume_each(available * symbol);
        return produced;
    }

private:
    const int d_m, d_n, d_cp, d_k;
    gr::fft::fft_complex_fwd d_fft;
    std::vector<int> d_bins;
    std::vector<gr_complex> d_inverse;
    uint64_t d_dropped = 0;
};

srs_cfr::sptr srs_cfr::make(int num_antennas,
                            int fft_size,
                            int cp_len,
                            int comb,
                            int comb_offset,
                            const std::vector<gr_complex>& sequence,
                            int num_subcarriers)
{
    return gnuradio::make_block_sptr<srs_cfr_impl>(
        num_antennas, fft_size, cp_len, comb, comb_offset, sequence, num_subcarriers);
}

} // namespace beamalign
} // namespace gr
