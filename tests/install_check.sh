#!/bin/sh
# tests/install_check.sh BUILD_DIR CC: `make install` works and yields a usable library.
#
# Installs the build into a scratch prefix, then builds a small program against it through
# pkg-config twice, with the shared and with the static library, and runs both. Checks too
# that the shared library exports only public pl_ symbols (internal pl__ ones are hidden).
set -eu
build=$1
cc=$2
prefix=$(mktemp -d "${TMPDIR:-/tmp}/parley-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cat >"$prefix/app.c" <<'APP'
#include <parley/parley.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    if (pl_init() != PL_OK)
        return 1;
    return strcmp(pl_errname(PL_E_DECRYPT), "PL_E_DECRYPT") == 0 ? 0 : 1;
}
APP
# shellcheck disable=SC2046
"$cc" "$prefix/app.c" $(pkg-config --cflags --libs parley) -Wl,-rpath,"$prefix/lib" \
    -o "$prefix/app-shared"
"$prefix/app-shared"
# shellcheck disable=SC2046
"$cc" "$prefix/app.c" $(pkg-config --cflags parley) "$prefix/lib/libparley.a" \
    $(pkg-config --libs libsodium) -o "$prefix/app-static"
"$prefix/app-static"

leaked=$(nm -D --defined-only "$prefix/lib/libparley.so" | awk '{print $3}' | grep -v '^pl_[a-z]' || true)
if [ -n "$leaked" ]; then
    echo "install_check: non-public symbols exported:" "$leaked" >&2
    exit 1
fi
echo "install_check: ok ($(nm -D --defined-only "$prefix/lib/libparley.so" | wc -l) public symbols)"
