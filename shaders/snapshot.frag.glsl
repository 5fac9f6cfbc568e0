#version 330 core
// A crossfade: the picture as it was when the preset changed, laid over the new look, fading out.
uniform sampler2D u_picture;
uniform vec4 u_viewport;  // x, y, width, height of the target area in pixels
uniform float u_alpha;
out vec4 frag;

void main() {
    vec2 local = (gl_FragCoord.xy - u_viewport.xy) / u_viewport.zw;
    frag = vec4(texture(u_picture, local).rgb, u_alpha);
}
