/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef INCLUDED_BEAMALIGN_CHANNEL_MODEL_H
#define INCLUDED_BEAMALIGN_CHANNEL_MODEL_H

#include <gnuradio/beamalign/api.h>
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

namespace gr {
namespace beamalign {

using cfloat = std::complex<float>;

/*!
 * \brief Per-element hardware impairment of one array side (seed 000 eq. 11-14).
 *
 * \details Element n's response to direction u is multiplied by
 * exp(j*(phase[n] + 2*pi*position[n]*u)); position errors are in wavelengths.
 * Empty vectors mean "no impairment of that kind".
 */
struct BEAMALIGN_API element_impairment {
    std::vector<float> phase_rad;
    std::vector<float> position_wl;
    bool empty() const { return phase_rad.empty() && position_wl.empty(); }
};

/*! \brief One propagation path: complex gain, normalised AoD u_tx and AoA u_rx. */
struct BEAMALIGN_API path {
    cfloat gain;
    float u_tx;
    float u_rx;
};

/*!
 * \brief ULA response a(N, u) = exp(j*pi*n*u)/sqrt(N), with an optional impairment.
 */
BEAMALIGN_API std::vector<cfloat>
ula_response(int num_elements, float u, const element_impairment& impairment = {});

/*!
 * \brief H = sum_l g_l a_rx(u_rx,l) a_tx(u_tx,l)^H, row-major Nr x Nt.
 */
BEAMALIGN_API std::vector<cfloat> channel_from_paths(int nt,
                                                     int nr,
                                                     const std::vector<path>& paths,
                                                     const element_impairment& tx = {},
                                                     const element_impairment& rx = {});

/*!
 * \brief Saleh-Valenzuela path draw of seed 000 Sec. V-A.
 *
 * \details u uniform in [-1, 1]; profile "los": first gain CN(0, 1), the others
 * CN(0, 0.01); profile "nlos": all CN(0, 1). Gains are rescaled afterwards by
 * the caller so that ||H||_F = 1 (see normalise_paths).
 */
class BEAMALIGN_API sv_path_generator
{
public:
    sv_path_generator(int num_paths, const std::string& profile, uint64_t seed);
    std::vector<path> draw();

private:
    int d_num_paths;
    float d_nlos_variance;
    uint64_t d_state[4];
    double uniform();
    cfloat complex_normal(float variance);
};

/*! \brief Rescales the path gains so that the channel they build has ||H||_F = 1. */
BEAMALIGN_API void normalise_paths(int nt,
                                   int nr,
                                   std::vector<path>& paths,
                                   const element_impairment& tx = {},
                                   const element_impairment& rx = {});

/*!
 * \brief Fast complex white Gaussian noise: xoshiro256+ uniforms and the Box-Muller
 * transform, unit variance (E|z|^2 = 1).
 */
class BEAMALIGN_API gaussian_noise
{
public:
    explicit gaussian_noise(uint64_t seed);
    /*! Writes n samples of CN(0, variance). */
    void fill(cfloat* out, int n, float variance);

private:
    uint64_t d_state[4];
    uint64_t next();
};

} // namespace beamalign
} // namespace gr

#endif /* INCLUDED_BEAMALIGN_CHANNEL_MODEL_H */
