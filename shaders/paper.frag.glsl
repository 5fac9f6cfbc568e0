#version 330 core
#include "layer.glsl"
// Paper grain over the picture: fine fibres that do not move, so the page reads as paper.
uniform float grain;  // strength, from the preset's `uniforms`

float hash(vec2 p) {
    return fract(sin(dot(p, vec2(127.1, 311.7))) * 43758.5453);
}

void main() {
    vec2 p = gl_FragCoord.xy;
    float fibre = hash(floor(p * vec2(0.5, 2.0))) * 0.6 + hash(floor(p)) * 0.4;
    float shade = (fibre - 0.5) * 2.0 * grain;
    frag = vec4(vec3(shade > 0.0 ? 1.0 : 0.0), abs(shade) * u_opacity);
}
