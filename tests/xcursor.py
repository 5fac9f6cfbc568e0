"""The X cursor as the server shows it (XFixes), for checking that a window hides it.

Xvfb never draws the cursor into screenshots, so the image comes from XFixes.
"""

from __future__ import annotations

import ctypes
import ctypes.util


class _CursorImage(ctypes.Structure):
    _fields_ = [("x", ctypes.c_short), ("y", ctypes.c_short), ("width", ctypes.c_ushort),
                ("height", ctypes.c_ushort), ("xhot", ctypes.c_ushort), ("yhot", ctypes.c_ushort),
                ("cursor_serial", ctypes.c_ulong), ("pixels", ctypes.POINTER(ctypes.c_ulong)),
                ("atom", ctypes.c_ulong), ("name", ctypes.c_char_p)]


def cursor_alpha_pixels(display: str) -> int:
    """How many pixels of the current cursor image are not fully transparent (0: hidden)."""
    xlib = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    xfixes = ctypes.CDLL(ctypes.util.find_library("Xfixes") or "libXfixes.so.3")
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    xlib.XFree.argtypes = [ctypes.c_void_p]
    xfixes.XFixesQueryVersion.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
    xfixes.XFixesGetCursorImage.restype = ctypes.POINTER(_CursorImage)
    xfixes.XFixesGetCursorImage.argtypes = [ctypes.c_void_p]
    connection = xlib.XOpenDisplay(display.encode())
    if not connection:
        raise RuntimeError(f"cannot open X display {display}")
    try:
        major, minor = ctypes.c_int(6), ctypes.c_int(0)
        xfixes.XFixesQueryVersion(connection, ctypes.byref(major), ctypes.byref(minor))
        image = xfixes.XFixesGetCursorImage(connection)
        if not image:
            raise RuntimeError("XFixesGetCursorImage returned nothing")
        cursor = image.contents
        count = cursor.width * cursor.height
        visible = sum(1 for i in range(count) if (cursor.pixels[i] >> 24) & 0xFF)
        xlib.XFree(image)
        return visible
    finally:
        xlib.XCloseDisplay(connection)
