/* -*- c++ -*- */
/*
 * Copyright 2026 gr-beamalign authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <gnuradio/beamalign/channel_model.h>
#include <cmath>
#include <stdexcept>

namespace gr {
namespace beamalign {

namespace {

constexpr double two_pi = 6.283185307179586;

uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

// splitmix64 expands one seed into a well-mixed xoshiro state.
void seed_state(uint64_t seed, uint64_t state[4])
{
    for (int i = 0; i < 4; ++i) {
        seed += 0x9E3779B97F4A7C15ULL;
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        state[i] = z ^ (z >> 31);
    }
}

uint64_t xoshiro_next(uint64_t s[4])
{
    const uint64_t result = s[0] + s[3];
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

} // namespace

std::vector<cfloat>
ula_response(int num_elements, float u, const element_impairment& impairment)
{
    const double scale = 1.0 / std::sqrt(static_cast<double>(num_elements));
    std::vector<cfloat> a(num_elements);
    for (int n = 0; n < num_elements; ++n) {
        double phase = M_PI * n * u;
        if (!impairment.phase_rad.empty()) {
            phase += impairment.phase_rad[n];
        }
        if (!impairment.position_wl.empty()) {
            phase += two_pi * impairment.position_wl[n] * u;
        }
        a[n] = cfloat(scale * std::cos(phase), scale * std::sin(phase));
    }
    return a;
}

std::vector<cfloat> channel_from_paths(int nt,
                                       int nr,
                                       const std::vector<path>& paths,
                                       const element_impairment& tx,
                                       const element_impairment& rx)
{
    std::vector<cfloat> h(static_cast<size_t>(nr) * nt, cfloat(0, 0));
    for (const auto& p : paths) {
        const auto a_rx = ula_response(nr, p.u_rx, rx);
        const auto a_tx = ula_response(nt, p.u_tx, tx);
        for (int r = 0; r < nr; ++r) {
            const cfloat g = p.gain * a_rx[r];
            for (int t = 0; t < nt; ++t) {
                h[static_cast<size_t>(r) * nt + t] += g * std::conj(a_tx[t]);
            }
        }
    }
    return h;
}

void normalise_paths(int nt,
                     int nr,
                     std::vector<path>& paths,
                     const element_impairment& tx,
                     const element_impairment& rx)
{
    const auto h = channel_from_paths(nt, nr, paths, tx, rx);
    double energy = 0.0;
    for (const auto& x : h) {
        energy += std::norm(x);
    }
    if (!(energy > 0.0)) {
        throw std::invalid_argument("channel has zero energy and cannot be normalised");
    }
    const float scale = static_cast<float>(1.0 / std::sqrt(energy));
    for (auto& p : paths) {
        p.gain *= scale;
    }
}

sv_path_generator::sv_path_generator(int num_paths,
                                     const std::string& profile,
                                     uint64_t seed)
    : d_num_paths(num_paths)
{
    if (num_paths < 1) {
        throw std::invalid_argument("num_paths must be at least 1");
    }
    if (profile == "los") {
        d_nlos_variance = 0.01f;
    } else if (profile == "nlos") {
        d_nlos_variance = 1.0f;
    } else {
        throw std::invalid_argument("profile must be \"los\" or \"nlos\", got \"" +
                                    profile + "\"");
    }
    seed_state(seed, d_state);
}

double sv_path_generator::uniform()
{
    return (xoshiro_next(d_state) >> 11) * 0x1.0p-53;
}

cfloat sv_path_generator::complex_normal(float variance)
{
    const double u1 = 1.0 - uniform(); // (0, 1]: log stays finite
    const double u2 = uniform();
    const double r = std::sqrt(-variance * std::log(u1));
    return cfloat(r * std::cos(two_pi * u2), r * std::sin(two_pi * u2));
}

std::vector<path> sv_path_generator::draw()
{
    std::vector<path> paths(d_num_paths);
    for (int l = 0; l < d_num_paths; ++l) {
        paths[l].gain = complex_normal(l == 0 ? 1.0f : d_nlos_variance);
        paths[l].u_tx = static_cast<float>(2.0 * uniform() - 1.0);
        paths[l].u_rx = static_cast<float>(2.0 * uniform() - 1.0);
    }
    return paths;
}

gaussian_noise::gaussian_noise(uint64_t seed)
{
    seed_state(seed ^ 0xA5A5A5A5ULL, d_state);
}

uint64_t gaussian_noise::next()
{
    return xoshiro_next(d_state);
}

void gaussian_noise::fill(cfloat* out, int n, float variance)
{
    // Box-Muller: |z|^2 = -variance*ln(u1) is Exp(variance), phase uniform, so z ~ CN(0,
    // var).
    constexpr float to_unit = 0x1.0p-24f;
    constexpr float two_pi_f = 6.28318530718f;
    for (int i = 0; i < n; ++i) {
        const uint64_t bits = next();
        const float u1 = ((bits >> 40) + 1) * to_unit; // (0, 1]
        const float u2 = ((bits >> 16) & 0xFFFFFF) * to_unit;
        const float r = std::sqrt(-variance * std::log(u1));
        float s, c;
        sincosf(two_pi_f * u2, &s, &c);
        out[i] = cfloat(r * c, r * s);
    }
}

} // namespace beamalign
} // namespace gr
