#version 330 core
// Shows a canvas on a target of another size, by scene units: the picture keeps its
// proportions (the sides crop or show background). Used to present and to resample on resize.
uniform sampler2D u_canvas;
uniform vec3 u_background;
uniform float u_source_aspect;
uniform float u_target_aspect;
uniform vec4 u_viewport;  // x, y, width, height of the target area in pixels
uniform float u_gain;     // master brightness
out vec4 frag;

void main() {
    vec2 local = (gl_FragCoord.xy - u_viewport.xy) / u_viewport.zw;
    vec2 units = (local * 2.0 - 1.0) * vec2(u_target_aspect, 1.0);
    vec2 uv = (units / vec2(u_source_aspect, 1.0) + 1.0) * 0.5;
    bool inside = all(greaterThanEqual(uv, vec2(0.0))) && all(lessThanEqual(uv, vec2(1.0)));
    vec3 colour = inside ? texture(u_canvas, uv).rgb : u_background;
    frag = vec4(colour * u_gain, 1.0);
}
