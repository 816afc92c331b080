# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared by scripts/demo and scripts/test: install the Debian 12 packages
# that are missing (and only those, so a rerun costs nothing), and build out
# of tree. Sourced, not run. Expects REPO (the repository root).

# Build dependencies, the initiators the tests drive, and tools they use;
# the last two lines: building and checking the packages (make deb, make
# rpm, lintian, rpmlint, systemd-analyze, the unit's seccomp filter) and the
# deployment guide's corosync, qnetd and qdevice commands
# (tests/packaging/test_packages.sh); iproute2 for the network namespaces of
# tests/cluster/.
QUORATE_PKGS="build-essential autoconf automake libtool pkg-config libqb-dev
	libcorosync-common-dev libcpg-dev libvotequorum-dev libcmap-dev libinih-dev
	check libsqlite3-dev liburing-dev libisal-dev libssl-dev libjson-c-dev libmicrohttpd-dev
	libsmartcols-dev libiscsi-dev libiscsi-bin qemu-utils qemu-block-extra python3 sqlite3 libsystemd-dev
	debhelper lintian rpm rpmlint systemd python3-seccomp corosync corosync-qdevice
	corosync-qnetd iproute2"

say()
{
	printf '==> %s\n' "$*"
}

die()
{
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# install_missing PKG...: apt-get install what dpkg does not list as installed.
install_missing()
{
	local p missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || die "missing packages:$missing (run as root, or install them)"
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing || die "apt-get install failed"
}

# stale FILE DEP...: FILE is missing or older than one of DEP.
stale()
{
	local f=$1 d
	shift
	[ -e "$f" ] || return 0
	for d in "$@"; do
		[ "$d" -nt "$f" ] && return 0
	done
	return 1
}

# build DIR [CONFIGURE_ARGS...]: autoreconf when the generated files are
# missing or older than their inputs, configure DIR when it has no Makefile
# or was configured with other options, then make.
build()
{
	local dir=$1
	shift
	cd "$REPO" || die "cannot cd to $REPO"
	# shellcheck disable=SC2046
	if stale configure configure.ac Makefile.am $(find . -name '*.mk' -not -path './build*'); then
		say "autoreconf -fi"
		autoreconf -fi || die "autoreconf failed"
	fi
	mkdir -p "$dir"
	cd "$dir" || die "cannot cd to $dir"
	# Reconfigure when the options differ, unless BUILD_ANY_CONFIG is set
	# (scripts/demo: any existing configuration of the tree will do).
	if [ ! -f Makefile ] || { [ -z "${BUILD_ANY_CONFIG:-}" ] &&
		[ "$(cat .configure-args 2>/dev/null)" != "$*" ]; }; then
		say "configure $* (in $dir)"
		"$REPO/configure" "$@" >configure.out 2>&1 || {
			tail -n 30 configure.out >&2
			die "configure failed (see $dir/config.log)"
		}
		printf '%s' "$*" >.configure-args
	fi
	say "make -j$(nproc) (in $dir)"
	make -j"$(nproc)" >make.out 2>&1 || {
		grep -E 'error|warning' make.out | head -n 40 >&2
		tail -n 20 make.out >&2
		printf 'build failed; full output in %s/make.out\n' "$dir" >&2
		return 1
	}
}
