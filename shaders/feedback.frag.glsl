#version 330 core
#include "common.glsl"
// The canvas's memory, one pass: fade toward the background (keep = (1 - decay) ** dt, computed on
// the CPU), drift (zoom, turn, slide), and the preset's effects: blur (ink bleeding into paper),
// warp (a slow flow that carries the drawing), hue (the ink's colours turning).
// Every amount is for this step's dt, so the look does not depend on the frame rate.
uniform sampler2D u_canvas;
uniform vec3 u_background;
uniform vec3 u_offset;       // added once when the background changes: the drawing keeps its contrast
uniform float u_keep;
uniform bool u_moving;       // resample (drift or warp); otherwise read exact texels
uniform float u_scale;       // inverse zoom for this step: where each pixel came from
uniform float u_turn;        // inverse turn for this step
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

void main() {
    vec2 uv = gl_FragCoord.xy / u_size;
    vec3 colour;
    if (!u_moving) {
        ivec2 from = ivec2(gl_FragCoord.xy) - u_step;  // no resampling blur
        bool inside = all(greaterThanEqual(from, ivec2(0))) && all(lessThan(from, ivec2(u_size)));
        colour = inside ? texelFetch(u_canvas, from, 0).rgb : u_background;
        uv = (vec2(from) + 0.5) / u_size;
    } else {
        vec2 units = (uv * 2.0 - 1.0) * vec2(u_aspect, 1.0);
        vec2 source = drift(units - u_shift, u_scale, u_turn);
        if (u_warp > 0.0) source -= u_warp * flow(source * u_warp_scale, u_warp_time);
        uv = (source / vec2(u_aspect, 1.0) + 1.0) * 0.5;
        colour = sample_at(uv);
    }
    if (u_blur > 0.0) {
        vec2 px = u_blur_px / u_size;
        vec3 around = 0.25 * (sample_at(uv + vec2(px.x, 0.0)) + sample_at(uv - vec2(px.x, 0.0))
                              + sample_at(uv + vec2(0.0, px.y)) + sample_at(uv - vec2(0.0, px.y)));
        colour = mix(colour, around, u_blur);
    }
    vec3 ink = colour - u_background;
    if (u_hue != 0.0) ink = turn_hue(ink, u_hue);
    frag = vec4(u_background + ink * u_keep + u_offset, 1.0);
}
