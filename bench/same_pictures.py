"""Are the gallery's pictures the same as at another commit? (A refactor must not move a pixel.)

Every look of the gallery replays the same exact taps (`steady_taps`: 8 s, en trois then en quatre,
with refine records) at 1/60 s a step, as live, and is read back mid-tune and at the end, at the
thumbnails' size; the same is done with the code of another commit (checked out in a temporary git
worktree, each side in its own interpreter) and the two compared pixel by pixel. The taps are given,
not heard, so a change of the detector does not count here; only the render's.

    .venv/bin/python bench/same_pictures.py 15a3c4f^        # the working tree against a commit
    .venv/bin/python bench/same_pictures.py HEAD~3 --size 1280x720 --looks sparks ink

Prints, per look and moment, the largest difference (levels of 255) and how many pixels differ;
exits 1 when any picture differs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MOMENTS = (2.0, 4.3, 8.5)  # s: early, mid-tune (rings, glows and fresh marks on screen), the end

# Run in the tree being drawn (its own package on sys.path first): steady_taps moved from the gallery
# to render/steady.py during the redesign, so both places are tried.
DRAW = """
import sys
import moderngl, numpy as np
try:
    from dessins_de_planche.render.steady import steady_taps
except ImportError:
    from dessins_de_planche.render.gallery import steady_taps
from dessins_de_planche.render.offline import replay
from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import load_gallery

out, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
moments = [float(m) for m in sys.argv[4].split(",")]
looks = set(sys.argv[5].split(",")) if len(sys.argv) > 5 and sys.argv[5] else None
step = 1 / 60
taps = steady_taps(8.0)
pictures = {}
ctx = moderngl.create_standalone_context(backend="egl", require=330)
for name, preset in sorted(load_gallery(presets_dir()).items()):
    if looks and name not in looks:
        continue
    for moment in moments:  # a replay that stops there: what the show had drawn at that moment
        scene = replay(ctx, taps[taps["detected_at"] <= moment], moment, preset, (width, height), step=step,
                       tail=0.0)
        pictures[f"{name}@{moment:g}s"] = scene.read_canvas()
        scene.release()
np.savez_compressed(out, **pictures)
"""


def draw(tree: Path, out: Path, size: tuple[int, int], looks=()) -> dict[str, np.ndarray]:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": str(Path.home()),
           "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, "-c", DRAW, str(out), str(size[0]), str(size[1]),
                    ",".join(str(m) for m in MOMENTS), ",".join(looks)], cwd=tree, env=env, check=True)
    with np.load(out) as data:
        return {key: data[key] for key in data.files}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commit", help="the commit to compare the working tree with")
    parser.add_argument("--size", default="480x270", help="WxH (default: the thumbnails' 480x270)")
    parser.add_argument("--looks", nargs="*", default=(), help="only these looks (default: the whole gallery)")
    args = parser.parse_args(argv)
    size = tuple(int(part) for part in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="ddp-pictures-") as folder:
        folder = Path(folder)
        other = folder / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(other), args.commit], cwd=ROOT, check=True)
        try:
            before = draw(other, folder / "before.npz", size, args.looks)
            after = draw(ROOT, folder / "after.npz", size, args.looks)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False)
    differ = 0
    for key in sorted(set(before) | set(after)):
        if key not in before or key not in after:
            print(f"{key:28s} only {'after' if key in after else 'before'}")
            differ += 1
            continue
        gap = np.abs(before[key].astype(np.int16) - after[key].astype(np.int16))
        pixels = int(np.count_nonzero(gap.max(axis=-1)))
        differ += pixels > 0
        print(f"{key:28s} largest difference {int(gap.max()):3d}, pixels differing {pixels}")
    print(f"{len(after)} pictures at {size[0]}x{size[1]} against {args.commit}: "
          f"{'all identical' if not differ else f'{differ} differ'}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
