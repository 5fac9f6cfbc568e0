#version 330 core
#include "common.glsl"
// The canvas's memory: fade toward the background (keep = (1 - decay) ** dt, computed on the CPU)
// and, when the preset drifts, zoom/turn the whole drawing a little.
uniform sampler2D u_canvas;
uniform vec3 u_background;
uniform float u_keep;
uniform bool u_moving;
uniform float u_scale;   // inverse zoom for this step: where each pixel came from
uniform float u_turn;    // inverse turn for this step
uniform float u_aspect;
uniform vec2 u_size;
out vec4 frag;

void main() {
    vec3 colour;
    if (!u_moving) {
        // exact texel: no resampling blur from repeated passes
        colour = texelFetch(u_canvas, ivec2(gl_FragCoord.xy), 0).rgb;
    } else {
        vec2 units = (gl_FragCoord.xy / u_size * 2.0 - 1.0) * vec2(u_aspect, 1.0);
        vec2 source = drift(units, u_scale, u_turn);
        vec2 uv = (source / vec2(u_aspect, 1.0) + 1.0) * 0.5;
        bool inside = all(greaterThanEqual(uv, vec2(0.0))) && all(lessThanEqual(uv, vec2(1.0)));
        colour = inside ? texture(u_canvas, uv).rgb : u_background;
    }
    frag = vec4(u_background + (colour - u_background) * u_keep, 1.0);
}
