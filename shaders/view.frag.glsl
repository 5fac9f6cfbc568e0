#version 330 core
// Shows a canvas on a target of another size, by scene units: the picture keeps its
// proportions (the sides crop or show background). Used to present and to resample on resize.
// A background layer adds light behind the drawing: a vertical gradient and a vignette.
#ifndef EXACT
#define EXACT 0
#endif
uniform sampler2D u_canvas;
uniform vec3 u_background;
uniform float u_source_aspect;
uniform float u_target_aspect;
uniform vec4 u_viewport;  // x, y, width, height of the target area in pixels
uniform float u_gain;     // master brightness
uniform vec3 u_tint_top;     // added to the picture at the top edge (a gradient to the bottom's)
uniform vec3 u_tint_bottom;
uniform float u_vignette;    // 0..1 darkening toward the corners
out vec4 frag;

void main() {
    vec2 local = (gl_FragCoord.xy - u_viewport.xy) / u_viewport.zw;
    vec2 units = (local * 2.0 - 1.0) * vec2(u_target_aspect, 1.0);
    vec2 uv = (units / vec2(u_source_aspect, 1.0) + 1.0) * 0.5;
    bool inside = all(greaterThanEqual(uv, vec2(0.0))) && all(lessThanEqual(uv, vec2(1.0)));
#if EXACT
    // the canvas is the target's size and shape: each pixel is one texel, fetched without filtering
    vec3 colour = texelFetch(u_canvas, ivec2(gl_FragCoord.xy - u_viewport.xy), 0).rgb;
#else
    vec3 colour = inside ? texture(u_canvas, uv).rgb : u_background;
#endif
    colour += mix(u_tint_bottom, u_tint_top, local.y);
    float corner = length(units / vec2(u_target_aspect, 1.0)) / 1.41421356;
    colour *= 1.0 - u_vignette * smoothstep(0.35, 1.0, corner);
    frag = vec4(max(colour, 0.0) * u_gain, 1.0);
}
