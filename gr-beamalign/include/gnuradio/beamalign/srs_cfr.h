/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_SRS_CFR_H
#define INCLUDED_BEAMALIGN_SRS_CFR_H

#include <gnuradio/beamalign/api.h>
#include <gnuradio/block.h>
#include <cstdint>
#include <vector>

namespace gr {
namespace beamalign {

/*!
 * \brief CFR snapshots from M antenna streams carrying SRS-like OFDM symbols (seed 003).
 * \ingroup beamalign
 *
 * \details Each input stream is one antenna; symbols of fft_size + cp_len samples follow
 * back to back from the first sample. Per symbol and antenna: drop the cyclic prefix,
 * FFT, divide the SRS subcarriers by the known sequence (LS estimate) and keep K of them
 * evenly spaced. SRS symbol i sits on subcarrier comb_offset + comb (i - L/2) (negative
 * ones wrap to the top of the FFT). Output: one vector of M*K items per symbol,
 * antenna-major (antenna m's K subcarriers at m*K..m*K+K-1), the input of
 * coarray_spectrum. A symbol with NaN/Inf samples on any antenna is counted, logged
 * once and dropped.
 */
class BEAMALIGN_API srs_cfr : virtual public gr::block
{
public:
    typedef std::shared_ptr<srs_cfr> sptr;

    /*!
     * \param num_antennas M (input streams)
     * \param fft_size OFDM FFT size N
     * \param cp_len cyclic prefix samples
     * \param comb comb spacing of the SRS (2 in NR's comb-2)
     * \param comb_offset SRS comb offset, 0..comb-1
     * \param sequence the SRS symbols X (length L, comb * L <= N, no zeros)
     * \param num_subcarriers K snapshots kept per symbol (1 <= K <= L)
     */
    static sptr make(int num_antennas,
                     int fft_size,
                     int cp_len,
                     int comb,
                     int comb_offset,
                     const std::vector<gr_complex>& sequence,
                     int num_subcarriers);

    //! FFT bin of SRS symbol i (the mapping the source must use)
    static int srs_bin(int fft_size, int comb, int comb_offset, int length, int i);

    virtual uint64_t dropped_symbols() const = 0;
};

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_SRS_CFR_H */
