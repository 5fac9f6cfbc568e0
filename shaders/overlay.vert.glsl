#version 330 core
// A rectangle in target pixels (y down from the top, as a designer counts), from gl_VertexID.
uniform vec4 u_rect;     // x, y, width, height in pixels, y from the top
uniform vec2 u_target;   // target width, height in pixels
out vec2 v_uv;

void main() {
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1);
    vec2 pixel = u_rect.xy + corner * u_rect.zw;
    v_uv = vec2(corner.x, corner.y);
    gl_Position = vec4(pixel.x / u_target.x * 2.0 - 1.0, 1.0 - pixel.y / u_target.y * 2.0, 0.0, 1.0);
}
