// What a custom shader layer receives. Start your file with the version line (330 core), then
// include this file by name (see docs/presets.md, "Custom shaders"), then write main() and set
// `frag` (rgb + alpha). Scene units: y = 1 is the top edge,
// x = u_aspect the right edge, (0, 0) the centre; `scene_units()` gives this pixel's.
uniform float u_time;         // seconds since the scene began
uniform float u_dt;           // seconds since the previous frame (scale per-frame changes by it)
uniform vec2 u_resolution;    // the target's size in pixels
uniform float u_aspect;       // width / height
uniform float u_beat_phase;   // 0..1 through the current beat
uniform float u_bar_phase;    // 0..1 through the current bar
uniform float u_tempo;        // beats per minute (0 until the tracker hears one)
uniform float u_level;        // the room's loudness, 0..1
uniform float u_brightness;   // how bright the sound is, 0..1
uniform float u_opacity;      // the layer's opacity from the preset
uniform sampler2D u_canvas;   // the drawing so far (for target = "canvas": the previous canvas)
uniform int u_tap_count;      // how many entries of the arrays below are real (newest first)
uniform vec4 u_taps[32];      // per recent tap: (age in s, kind 0 unknown/1 heel/2 toe, velocity, zone)
uniform vec2 u_tap_pos[32];   // where that tap's first mark landed, scene units
out vec4 frag;

vec2 scene_units() {
    return (gl_FragCoord.xy / u_resolution * 2.0 - 1.0) * vec2(u_aspect, 1.0);
}

vec2 canvas_uv() {
    return gl_FragCoord.xy / u_resolution;
}
