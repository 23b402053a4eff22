/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Boost.Test checks of the plain C++ kernels against values derived by hand.
 */
#define BOOST_TEST_MODULE beamalign_kernels
#include "beam_combiner_impl.h"
#include <gnuradio/beamalign/channel_model.h>
#include <boost/test/unit_test.hpp>
#include <cmath>

using namespace gr::beamalign;

BOOST_AUTO_TEST_CASE(ula_response_has_the_expected_phases)
{
    // a(4, 0.5): element n has phase pi*n/2, magnitude 1/2.
    const auto a = ula_response(4, 0.5f);
    BOOST_TEST(std::fabs(a[1].real()) <= 1e-6);
    BOOST_TEST(std::fabs(a[1].imag() - 0.5) <= 1e-6);
    BOOST_TEST(std::fabs(a[2].real() + 0.5) <= 1e-6);
}

BOOST_AUTO_TEST_CASE(position_error_rotates_by_two_pi_d_u)
{
    // 0.25 wavelength at u = 1 adds a quarter turn: element 1 at pi + pi/2 = 3pi/2.
    element_impairment imp;
    imp.position_wl = { 0.0f, 0.25f };
    const auto b = ula_response(2, 1.0f, imp);
    BOOST_TEST(std::fabs(b[1].real()) <= 1e-6);
    BOOST_TEST(std::fabs(b[1].imag() + 1.0 / std::sqrt(2.0)) <= 1e-6);
}

BOOST_AUTO_TEST_CASE(single_path_channel_is_normalised)
{
    // ||a_r a_t^H||_F = 1, so the one path's gain and ||H||_F both become 1.
    std::vector<path> paths = { { cfloat(3.0f, 4.0f), 0.1f, -0.3f } };
    normalise_paths(8, 4, paths);
    BOOST_TEST(std::fabs(std::abs(paths[0].gain) - 1.0) <= 1e-5);
    double energy = 0.0;
    for (const auto& x : channel_from_paths(8, 4, paths)) {
        energy += std::norm(x);
    }
    BOOST_TEST(std::fabs(energy - 1.0) <= 1e-5);
}

BOOST_AUTO_TEST_CASE(path_generator_statistics)
{
    // First path CN(0, 1), the others CN(0, 0.01), u uniform on [-1, 1].
    sv_path_generator gen(3, "los", 7);
    double p0 = 0.0, p1 = 0.0, mean_u = 0.0, max_u = 0.0;
    const int draws = 20000;
    for (int i = 0; i < draws; ++i) {
        const auto d = gen.draw();
        p0 += std::norm(d[0].gain);
        p1 += std::norm(d[1].gain);
        mean_u += d[0].u_tx;
        max_u = std::max(max_u, double(std::fabs(d[2].u_rx)));
    }
    BOOST_TEST(std::fabs(p0 / draws - 1.0) <= 0.05);
    BOOST_TEST(std::fabs(p1 / draws - 0.01) <= 0.0005);
    BOOST_TEST(std::fabs(mean_u / draws) <= 0.02);
    BOOST_TEST(max_u <= 1.0);
}

BOOST_AUTO_TEST_CASE(noise_is_circular_with_the_set_variance)
{
    gaussian_noise noise(11);
    std::vector<cfloat> z(200000);
    noise.fill(z.data(), static_cast<int>(z.size()), 0.5f);
    std::complex<double> mean(0, 0), pseudo(0, 0);
    double power = 0.0;
    for (const auto& x : z) {
        mean += std::complex<double>(x);
        pseudo += std::complex<double>(x * x);
        power += std::norm(x);
    }
    const double n = static_cast<double>(z.size());
    BOOST_TEST(std::fabs(power / n - 0.5) <= 0.005);
    BOOST_TEST(std::abs(mean / n) < 0.005);
    BOOST_TEST(std::abs(pseudo / n) < 0.005);
}

BOOST_AUTO_TEST_CASE(two_bit_quantisation_keeps_the_magnitude)
{
    // 50 degrees rounds to 90 on a 2-bit phase shifter.
    const auto q = quantise_phases({ std::polar(2.0f, float(50.0 * M_PI / 180.0)) }, 2);
    BOOST_TEST(std::fabs(std::arg(q[0]) - M_PI / 2) <= 1e-6);
    BOOST_TEST(std::fabs(std::abs(q[0]) - 2.0) <= 1e-6);
}
