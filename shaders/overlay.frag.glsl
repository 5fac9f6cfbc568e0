#version 330 core
// Text (a texture of rendered glyphs) or a solid rectangle, tinted, straight alpha.
uniform sampler2D u_texture;
uniform bool u_textured;
uniform vec4 u_color;
in vec2 v_uv;
out vec4 frag;

void main() {
    float alpha = u_textured ? texture(u_texture, v_uv).a : 1.0;
    frag = vec4(u_color.rgb, u_color.a * alpha);
}
