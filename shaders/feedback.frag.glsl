#version 330 core
#include "common.glsl"
// The canvas's memory, one pass: fade toward the background (keep = (1 - decay) ** dt, computed on
// the CPU), drift (zoom, turn, slide), and the preset's effects: blur (ink bleeding into paper),
// warp (a slow flow that carries the drawing), hue (the ink's colours turning).
// Every amount is for this step's dt, so the look does not depend on the frame rate.
//
// Compiled in variants (the host defines MOVING, BLUR, WARP, HUE and HALF as 0 or 1): a CPU
// rasterizer runs every branch of a shader, so a pass pays only for what the look uses.
#ifndef MOVING
#define MOVING 1
#endif
#ifndef BLUR
#define BLUR 1
#endif
#ifndef WARP
#define WARP 1
#endif
#ifndef HUE
#define HUE 1
#endif
#ifndef HALF
#define HALF 0
#endif
uniform sampler2D u_canvas;
uniform vec3 u_background;
uniform vec3 u_offset;       // added once when the background changes: the drawing keeps its contrast
uniform float u_keep;
uniform mat2 u_drift;        // inverse zoom and turn for this step: where each pixel came from (the host
                             // makes it once, so no pixel computes a sine)
uniform vec2 u_shift;        // slide for this step, scene units
uniform ivec2 u_step;        // a pure slide: whole pixels for this step (exact texels, no blur)
uniform float u_aspect;
uniform vec2 u_size;
uniform float u_blur;        // share mixed with the neighbours this step (0..1)
uniform float u_blur_px;     // the neighbours' distance in pixels
uniform float u_warp;        // displacement this step, scene units
uniform float u_warp_scale;  // swirls per half screen height
uniform float u_warp_time;   // the flow's own slow clock
uniform float u_hue;         // radians the ink's colour turns this step
uniform int u_seed;          // changes every pass: the rounding's dither (HALF)
out vec4 frag;

vec3 sample_at(vec2 uv) {
    bool inside = all(greaterThanEqual(uv, vec2(0.0))) && all(lessThanEqual(uv, vec2(1.0)));
    return inside ? texture(u_canvas, uv).rgb : u_background;
}

// A divergence-free flow (x moves with y, y with x): it swirls the drawing without piling it up.
vec2 flow(vec2 p, float t) {
    return vec2(sin(p.y * 1.7 + t) + 0.5 * sin(p.y * 3.1 - 0.7 * t),
                cos(p.x * 1.3 - 0.8 * t) + 0.5 * cos(p.x * 2.9 + 0.5 * t));
}

vec3 turn_hue(vec3 v, float angle) {
    const vec3 k = vec3(0.57735027);  // rotate about the grey axis: lightness stays, hue turns
    float c = cos(angle), s = sin(angle);
    return v * c + cross(k, v) * s + k * dot(k, v) * (1.0 - c);
}

#if HALF
// Half floats keep 11 bits; a driver may convert by truncating (Mesa's llvmpipe does), and pass
// after pass that bias darkened the page. So the shader rounds itself, stochastically: onto the
// half-float grid with a dither that is unbiased on average (small fades still happen, nothing
// drifts), and a value already on the grid (clean paper, settled ink) is kept exactly.
float dither(ivec2 pixel, int seed) {
    uint h = uint(pixel.x) * 0x8da6b343u ^ uint(pixel.y) * 0xd8163841u ^ uint(seed) * 0xcb1ab31fu;
    h ^= h >> 15; h *= 0x2c1b3c6du; h ^= h >> 12; h *= 0x297a2d39u; h ^= h >> 15;
    return float(h >> 8) * (1.0 / 16777216.0);  // 0..1, deterministic: the same show, the same picture
}

vec3 to_half_grid(vec3 v, float offset) {
    // a float's top 10 mantissa bits are a half's: add the dither below them, then drop them
    uvec3 bits = floatBitsToUint(v) + uvec3(offset * 8192.0);
    return uintBitsToFloat(bits & uvec3(0xFFFFE000u));
}
#endif

void main() {
    vec2 uv = gl_FragCoord.xy / u_size;
    vec3 colour;
#if MOVING
    vec2 units = (uv * 2.0 - 1.0) * vec2(u_aspect, 1.0);
    vec2 source = u_drift * (units - u_shift);  // drift() of common.glsl, as one matrix
#if WARP
    source -= u_warp * flow(source * u_warp_scale, u_warp_time);
#endif
    uv = (source / vec2(u_aspect, 1.0) + 1.0) * 0.5;
    colour = sample_at(uv);
#else
    ivec2 from = ivec2(gl_FragCoord.xy) - u_step;  // no resampling blur
    bool inside = all(greaterThanEqual(from, ivec2(0))) && all(lessThan(from, ivec2(u_size)));
    colour = inside ? texelFetch(u_canvas, from, 0).rgb : u_background;
#if BLUR
    uv = (vec2(from) + 0.5) / u_size;
#endif
#endif
#if BLUR
    vec2 px = u_blur_px / u_size;
    vec3 around = 0.25 * (sample_at(uv + vec2(px.x, 0.0)) + sample_at(uv - vec2(px.x, 0.0))
                          + sample_at(uv + vec2(0.0, px.y)) + sample_at(uv - vec2(0.0, px.y)));
    colour = mix(colour, around, u_blur);
#endif
    vec3 ink = colour - u_background;
#if HUE
    ink = turn_hue(ink, u_hue);
#endif
    vec3 result = u_background + ink * u_keep + u_offset;
#if HALF
    result = to_half_grid(result, dither(ivec2(gl_FragCoord.xy), u_seed));
#endif
    frag = vec4(result, 1.0);
}
