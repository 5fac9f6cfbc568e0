#version 330 core
#include "common.glsl"
// One instance per mark: a capsule from p0 to p1 of radius `width` (a dot when p0 == p1).
// Each mark is placed and faded by its own tap time, so a mark drawn a frame late
// looks exactly as if it had been drawn on time.
in vec2 in_p0;
in vec2 in_p1;
in float in_width;
in vec4 in_color;     // rgb + opacity
in float in_t_tap;    // tap time, s since the scene's epoch
in float in_life;     // s the arrival glow lasts
in float in_shape;    // a SHAPE_* code (defined by the host from preset/shapes.py)
in float in_glow;     // glow strength
in float in_stamped;  // 1 once the mark is in the canvas: the live body is no longer drawn
in float in_t_show;   // s since epoch: a live mark grows in from here (far ahead: held back, unconfirmed)

uniform float u_aspect;
uniform float u_now;           // s since epoch
uniform float u_decayed_until; // the canvas has faded up to this time
uniform float u_drifted_until; // ... and drifted up to this time
uniform float u_keep_log;      // log of the share kept per second
uniform vec3 u_background;
uniform float u_zoom_log;      // drift per second
uniform float u_turn_rate;     // radians per second
uniform vec2 u_shift;          // slide, scene units per second
uniform int u_mode;            // MODE_BODY or MODE_GLOW (defined by the host)
uniform bool u_live;           // drawn over the canvas (skip stamped bodies) or into it
uniform float u_grow;          // s a live mark takes to grow in from in_t_show (0: there at once)

out vec2 v_pos;
flat out vec2 v_p0;
flat out vec2 v_p1;
flat out float v_width;
flat out vec4 v_color;
flat out float v_shape;
flat out float v_flash;

void main() {
    // the motion the canvas has applied since the tap, so the mark sits where it would have drifted to
    float age = max(u_drifted_until - in_t_tap, 0.0);
    float scale = exp(u_zoom_log * age);
    float turn = u_turn_rate * age;
    vec2 p0 = drift(in_p0, scale, turn) + u_shift * age;
    vec2 p1 = drift(in_p1, scale, turn) + u_shift * age;
    // a provisional mark grows in (its tap may yet be withdrawn); stamped and overlay marks are whole
    float shown = u_now - in_t_show;
    float presence = !u_live ? 1.0 : u_grow > 0.0 ? clamp(shown / u_grow, 0.0, 1.0) : step(0.0, shown);
    presence = presence * presence * (3.0 - 2.0 * presence);  // smoothstep: slow start, no jump at the end
    float width = in_width * scale * (0.5 + 0.5 * presence);

    float fade = exp(u_keep_log * max(u_decayed_until - in_t_tap, 0.0));
    v_color = vec4(u_background + (in_color.rgb - u_background) * fade, in_color.a * presence);
    v_flash = 0.0;
    float reach = in_shape > 2.5 ? width * 1.6 : width;  // splats and glyphs reach past their size
    bool visible = true;
    if (u_mode == MODE_GLOW) {
        float left = 1.0 - max(u_now - in_t_tap, 0.0) / max(in_life, 1e-3);
        v_flash = left > 0.0 ? left * left * in_glow * presence : 0.0;
        visible = v_flash > 0.0;
        reach = width * 2.5;  // the halo is under 5 % beyond this: no need to shade more pixels
    } else if (u_live) {
        visible = in_stamped < 0.5 && presence > 0.0;
    }

    // a quad along the segment, big enough for the soft edge (or the glow)
    vec2 axis = p1 - p0;
    float len = length(axis);
    vec2 along = len > 1e-6 ? axis / len : vec2(1.0, 0.0);
    vec2 across = vec2(-along.y, along.x);
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;
    float pad = reach + 0.004;
    vec2 centre = (p0 + p1) * 0.5;
    vec2 pos = centre + along * corner.x * (len * 0.5 + pad) + across * corner.y * pad;

    v_pos = pos;
    v_p0 = p0;
    v_p1 = p1;
    v_width = width;
    v_shape = in_shape;
    gl_Position = visible ? vec4(units_to_clip(pos, u_aspect), 0.0, 1.0) : vec4(2.0, 2.0, 2.0, 1.0);
}
