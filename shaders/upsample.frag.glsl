#version 330 core
// A layer drawn at a lower resolution (premultiplied light), sampled up over the picture.
uniform sampler2D u_layer;
uniform vec4 u_viewport;  // x, y, width, height of the target area in pixels
out vec4 frag;

void main() {
    frag = texture(u_layer, (gl_FragCoord.xy - u_viewport.xy) / u_viewport.zw);
}
