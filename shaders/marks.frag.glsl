#version 330 core
// The mark's shape as a signed distance (in scene units), anti-aliased over one pixel.
// Body: premultiplied "over" blending. Glow: additive light that fades over the mark's life.
// v_shape is a SHAPE_* code; the host defines them from the table in preset/shapes.py.
in vec2 v_pos;
flat in vec2 v_p0;
flat in vec2 v_p1;
flat in float v_width;
flat in vec4 v_color;
flat in float v_shape;
flat in float v_flash;

uniform int u_mode;
uniform float u_pixel;   // scene units per pixel
uniform float u_level;   // audio level 0..1: the glow breathes with the room
out vec4 frag;

float segment_t(vec2 p, vec2 a, vec2 b) {
    vec2 ab = b - a;
    float l2 = dot(ab, ab);
    return l2 > 1e-12 ? clamp(dot(p - a, ab) / l2, 0.0, 1.0) : 0.0;
}

// Glyphs sit at the segment's middle, turned along it (up when p0 == p1), sized by the width.
vec2 glyph_space(vec2 p) {
    vec2 axis = v_p1 - v_p0;
    float len = length(axis);
    vec2 up = len > 1e-7 ? axis / len : vec2(0.0, 1.0);
    vec2 q = p - 0.5 * (v_p0 + v_p1);
    return vec2(dot(q, vec2(up.y, -up.x)), dot(q, up));
}

float box(vec2 q, vec2 half_size) {
    vec2 d = abs(q) - half_size;
    return length(max(d, 0.0)) + min(max(d.x, d.y), 0.0);
}

float glyph_distance(vec2 p) {
    vec2 q = glyph_space(p);
    float w = v_width;
    float a = atan(q.x, q.y);
    float seed = fract(sin(dot(v_p0, vec2(12.9898, 78.233))) * 43758.5453) * 6.2831853;
    if (v_shape < SHAPE_SPLAT + 0.5) {
        // splat: a blot with a ragged edge, the same ragged edge for the same mark
        float edge = 1.0 + 0.13 * sin(3.0 * a + seed) + 0.09 * sin(5.0 * a - 2.0 * seed) + 0.05 * sin(11.0 * a + 3.0 * seed);
        return length(q) - w * edge;
    }
    if (v_shape < SHAPE_STAR + 0.5) {
        // star: five points
        float spike = pow(abs(cos(2.5 * a)), 3.0);
        return length(q) - w * mix(0.38, 1.25, spike);
    }
    if (v_shape < SHAPE_CROSS + 0.5) {
        // cross: a stitch, two bars at 45 degrees
        vec2 r = vec2(q.x + q.y, q.y - q.x) * 0.70710678;
        return min(box(r, vec2(w, w * 0.2)), box(r, vec2(w * 0.2, w)));
    }
    return (abs(q.x) + abs(q.y) - w) * 0.70710678;  // SHAPE_DIAMOND
}

float distance_to_mark(vec2 p) {
    if (v_shape > SHAPE_SPLAT - 0.5) return glyph_distance(p);  // splat and after: glyphs
    float t = segment_t(p, v_p0, v_p1);
    float d = length(p - mix(v_p0, v_p1, t));
    if (v_shape > SHAPE_PETAL - 0.5) {
        // petal: slim at the inner end, full at the outer, round tip
        float r = v_width * mix(0.3, 1.0, sqrt(t));
        return d - r;
    }
    if (v_shape > SHAPE_RING - 0.5) {
        // ring
        float thickness = max(v_width * 0.22, u_pixel);
        return abs(d - v_width + thickness) - thickness;
    }
    return d - v_width;  // SHAPE_DOT, SHAPE_STROKE: a capsule from p0 to p1
}

void main() {
    float d = distance_to_mark(v_pos);
    if (u_mode == MODE_GLOW) {
        float halo = exp(-max(d, 0.0) / (v_width * 0.8 + u_pixel)) * v_flash * (0.8 + 0.4 * u_level);
        vec3 light = mix(v_color.rgb, vec3(1.0), 0.45) * halo * 0.7;
        frag = vec4(light, 0.0);
        return;
    }
    float edge = max(u_pixel, v_width * 0.08);
    float cover = clamp(0.5 - d / edge, 0.0, 1.0);
    // a little light in the middle of each mark gives it body on a projector
    float core = smoothstep(0.0, -v_width, d);
    vec3 colour = v_color.rgb * (0.9 + 0.25 * core);
    float alpha = cover * v_color.a;
    if (alpha <= 0.0) discard;
    frag = vec4(colour * alpha, alpha);
}
