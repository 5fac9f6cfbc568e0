"""GL fixtures: one place creates OpenGL contexts in the tests (EGL, Mesa llvmpipe)."""
