#!/usr/bin/env bash
# Installs what Kvits' build, tests and benchmarks need on a Debian machine, and only what is
# missing. Safe to run again and again; `./dev` runs it before every command.
set -euo pipefail

need_apt=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
# A real ImageMagick `convert` (not a stand-in script of the same name).
have_imagemagick() { [ -x /usr/bin/convert ] && /usr/bin/convert -version 2>/dev/null | grep -q ImageMagick; }

have_cmd tesseract || need_apt+=(tesseract-ocr)
ls /usr/share/tesseract-ocr/*/tessdata/deu.traineddata >/dev/null 2>&1 || need_apt+=(tesseract-ocr-deu)
have_imagemagick || need_apt+=(imagemagick)
have_cmd vipsthumbnail || need_apt+=(libvips-tools)
{ have_cmd djpeg && have_cmd cjpeg; } || need_apt+=(libjpeg-turbo-progs)
have_cmd pkg-config || need_apt+=(pkg-config)
pkg-config --exists libturbojpeg 2>/dev/null || need_apt+=(libturbojpeg0-dev)
# The web shell's browser tests drive Debian's Chromium (never a downloaded browser).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# The Android core module's JVM tests: JNA loads the Rust library, JUnit 4 runs them.
[ -f /usr/share/java/jna.jar ] || need_apt+=(libjna-java)
{ [ -f /usr/share/java/junit4.jar ] && [ -f /usr/share/java/hamcrest-core.jar ]; } || need_apt+=(junit4 libhamcrest-java)
have_cmd java || need_apt+=(default-jdk-headless)
# The iOS package's tests run in a Debian trixie chroot with Swift (see `cargo xtask swift`).
have_cmd debootstrap || need_apt+=(debootstrap)

if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo "setup: adding the wasm32-unknown-unknown Rust target" >&2
    rustup target add wasm32-unknown-unknown
fi

# pnpm: Crux's TypeScript type generator installs the generated package's dev tools (tsc) with
# it. Node.js and npm come with the machine; npm installs pnpm from the npm registry.
if ! have_cmd pnpm; then
    have_cmd npm || need_node=1
    if [ "${need_node:-0}" = 1 ]; then
        echo "setup: installing Node.js and npm" >&2
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
    echo "setup: installing pnpm" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || [ -w "$(npm prefix -g)/lib" ] || sudo="sudo"
    $sudo npm install -g --silent pnpm@9 >/dev/null
fi

# kotlinc: the npm package `kotlin-compiler` ships the JVM compiler and the Kotlin libraries.
KOTLIN_HOME="${KVITS_KOTLIN_HOME:-$HOME/.cache/kvits/kotlin-compiler}"
if [ ! -x "$KOTLIN_HOME/node_modules/kotlin-compiler/bin/kotlinc" ]; then
    echo "setup: installing kotlinc (npm kotlin-compiler) into $KOTLIN_HOME" >&2
    mkdir -p "$KOTLIN_HOME"
    npm install --prefix "$KOTLIN_HOME" --no-audit --no-fund --silent kotlin-compiler@2.4.20 >/dev/null
fi
