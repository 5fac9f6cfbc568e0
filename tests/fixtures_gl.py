"""GL fixtures: one place creates OpenGL contexts in the tests (EGL, Mesa llvmpipe).

`gl_context` is one standalone context for the whole session (creating one costs
time); `ctx` hands it to a test and fails the test if GL reports an error before
or after it, so a stray GL error is pinned on the test that caused it.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def gl_context():
    moderngl = pytest.importorskip("moderngl")
    try:
        context = moderngl.create_standalone_context(backend="egl", require=330)
    except Exception as error:  # no EGL / Mesa on this machine: the GL tier cannot run
        pytest.skip(f"no headless OpenGL (EGL): {error}")
    yield context
    context.release()


@pytest.fixture
def ctx(gl_context):
    before = gl_context.error  # reading the error also clears it: read once
    assert before == "GL_NO_ERROR", f"GL error left by an earlier test: {before}"
    yield gl_context
    after = gl_context.error
    assert after == "GL_NO_ERROR", f"GL error during the test: {after}"
