#!/bin/bash
# Prepares what bench/gpu_run.sh needs on a lent GPU machine that has python3 (3.12) and numpy
# but none of the app's packages, no GL loaders and no JACK, and cannot download: wheels in .whl/,
# the glvnd GL loaders in .gl/, JACK and PortAudio in .jack/ (Debian packages of this machine's
# release, unpacked there under a private prefix). Run here, once, from the repository root; the
# three folders stay out of git (.git/info/exclude) and travel with the call as `carry`.
#
#   bash bench/gpu_carry.sh            # ~42 MB; 64 MiB at most may travel with the working tree
set -eu
cd "$(dirname "$0")/.."
for folder in .whl .gl .jack; do
    grep -qx "/$folder/" .git/info/exclude 2>/dev/null || echo "/$folder/" >> .git/info/exclude
    mkdir -p "$folder"
done
PY=${PY:-.venv/bin/python}
# the app's runtime packages, the versions of this venv, for CPython 3.12 on x86-64 (no deps: each named);
# numpy too (the machine's 2.5 moves a gallery picture: a tap on a bar line lands in the next bar);
# atomics is left out (x86-64 never loads it), av too (video only)
version() { "$PY" -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'; }
wheels=""
for name in numpy moderngl glcontext pygame pydantic pydantic_core annotated-types typing-inspection typing_extensions \
            platformdirs cffi pycparser sounddevice soundfile python-osc tomli_w python-rtmidi JACK-Client; do
    v=$(version "$name")
    [ -n "$v" ] || { echo "$name is not installed in $PY's environment"; exit 1; }
    wheels="$wheels $name==$v"
done
platforms=""
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux_2_5 manylinux1; do
    platforms="$platforms --platform ${tag}_x86_64"
done
# shellcheck disable=SC2086
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $platforms \
    -d .whl $wheels
# apt for amd64 with its own lists, whatever this machine's processor
mkdir -p /tmp/ddp-amd64/partial
o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/ddp-amd64"
# shellcheck disable=SC2086
apt-get $o update -qq
(cd .gl && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
# jackd2 and PortAudio with what they link to (a library the machine has already is used from there)
(cd .jack && apt-get $o download -qq jackd2 libjack-jackd2-0 libportaudio2 libasound2 libasound2-data libdb5.3 \
    libopus0 libsamplerate0 libzita-alsa-pcmi0 libzita-resampler1 libsndfile1 libflac12 libmp3lame0 libmpg123-0 \
    libogg0 libvorbis0a libvorbisenc2 libreadline8 libdbus-1-3 libexpat1 libsystemd0 liblz4-1 libzstd1 libgcrypt20 \
    libgpg-error0 liblzma5 libcap2)
du -sh .whl .gl .jack
