#version 330 core
#include "layer.glsl"
// A ring of light spreads from where each recent tap landed: heel rings wide and warm,
// toe rings small and cool. Drawn over the picture each frame, never kept in the canvas.
// Cheap on a CPU rasterizer: the newest RINGS taps only (a ring lives 1 s: at 8 taps/s that is
// all of them), the loop stops at the first ring too old (the taps come newest first), and a
// pixel far from a ring pays one distance for it.
// Smooth light: drawn at a quarter of the picture's resolution (never under 180 lines) and sampled up.
#pragma resolution 0.25
uniform float speed;   // how fast a ring spreads, half screen heights per second
uniform float width;   // ring thickness

const int RINGS = 8;
const float LIFE = 1.0;

void main() {
    vec2 p = scene_units();
    vec3 light = vec3(0.0);
    float reach = 6.0 * width;  // the ring's light is under 0.3 % beyond this
    for (int i = 0; i < u_tap_count && i < RINGS; ++i) {
        vec4 tap = u_taps[i];
        float age = tap.x;
        if (age > LIFE) break;
        bool heel = tap.y > 0.5 && tap.y < 1.5;
        float radius = age * speed * (heel ? 1.0 : 0.6);
        float d = abs(length(p - u_tap_pos[i]) - radius);
        if (d > reach) continue;
        float ring = exp(-d / width) * (1.0 - age / LIFE) * tap.z;
        light += ring * (heel ? vec3(1.0, 0.62, 0.2) : vec3(0.25, 0.85, 1.0));
    }
    float strength = clamp(max(light.r, max(light.g, light.b)), 0.0, 1.0);
    frag = vec4(light / max(strength, 1e-3), strength * u_opacity * 0.6);
}
