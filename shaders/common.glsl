// Shared by every pass. Scene units: y = 1 is the top edge, x = aspect the right edge,
// so circles stay round and a drawing keeps its shape when the window changes.

vec2 units_to_clip(vec2 units, float aspect) {
    return vec2(units.x / aspect, units.y);
}

// The feedback drift: zoom by `scale` and turn clockwise by `turn` radians.
vec2 drift(vec2 p, float scale, float turn) {
    float c = cos(turn), s = sin(turn);
    return scale * vec2(c * p.x + s * p.y, -s * p.x + c * p.y);
}
