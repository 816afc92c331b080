#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The packages, end to end, on this machine (scripts/test runs it once,
# after the default build's make check):
#     tests/packaging/test_packages.sh BUILDDIR
# BUILDDIR is a configured build tree. As root, with the tools of
# scripts/common.sh's QUORATE_PKGS installed (exit 77 with a message when one
# is missing, or when not root), it:
#  1. builds the .deb (make deb) and the .rpm (make rpm), and checks that
#     both carry configure.ac's version;
#  2. runs lintian on the .deb and rpmlint on the .rpm: no error, and every
#     warning tag is listed (with its reason) in packaging/README.md;
#  3. checks the RPM's payload and scriptlets (config(noreplace), %license,
#     systemd scriptlets) and that its quorated runs;
#  4. installs the .deb with apt-get, checks the conffile, /var/lib/quorate
#     (0700) and the unit's systemd-analyze security exposure (< 5.0);
#  5. starts the installed quorated with the packaged config, a scratch data
#     directory and a loopback port, under the unit's capability bounding
#     set, no_new_privs, umask, and ProtectSystem/ProtectHome/PrivateTmp
#     (emulated with a mount namespace), applies the guide's hyperv.json
#     (target, O_DIRECT LUNs on sparse files, ACL, CHAP) with its command
#     lines (--dry-run, apply, apply again), logs in with iscsi-inq and
#     qemu-io, registers and reserves as the Windows hosts would and runs the
#     guide's status, cluster, session, stats, pr, snapshot and pr clear
#     lines against it, stops the daemon by PID, and moves a copy of its
#     data directory aside as the guide does (in a mount namespace);
#  6. runs the guide's corosync, qnetd and qdevice commands in private mount
#     namespaces (a tmpfs over /etc/corosync: the machine's files are never
#     touched) and checks the example corosync.conf files with corosync -t;
#  7. purges the package and finds no file of it left.
# Each guide command it runs must appear verbatim in docs/deploy-ha-pair.md
# (guide_has), so the guide and the test cannot drift apart. The package is
# purged on any exit; if systemd is PID 1, a policy-rc.d keeps apt from
# starting the service on the machine while the package is installed.

set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: $0 BUILDDIR}" && pwd) || exit 1
GUIDE=$REPO/docs/deploy-ha-pair.md
PKG_README=$REPO/packaging/README.md
# O_DIRECT LUNs: /tmp may be a tmpfs, which has no O_DIRECT.
export TMPDIR=/var/tmp
# qt_init checks that this exists; the installed one is used once installed.
QUORATED=$BUILD/daemon/quorated
QT_SRCDIR=$REPO/tests/integration
. "$REPO/tests/integration/lib.sh"

[ "$(id -u)" = 0 ] || qt_skip "not root: installing a .deb needs root"
qt_require make dpkg-buildpackage dh lintian rpmbuild rpmlint rpm2cpio cpio \
	systemd-analyze apt-get iscsi-inq qemu-io setpriv unshare corosync corosync-keygen \
	corosync-qnetd-certutil corosync-qdevice-net-certutil
if dpkg-query -W -f='${Status}\n' quorate 2>/dev/null | grep -q 'installed'; then
	qt_fail "a quorate package is installed on this machine: not replacing it" \
		"(apt-get purge quorate first)"
fi

/usr/bin/python3 -c 'import seccomp' 2>/dev/null ||
	qt_skip "python3-seccomp not installed (the unit's system call filter)"
# The unit's mount settings and the guide's corosync steps run in private
# mount namespaces.
unshare --mount --propagation private true 2>/dev/null ||
	qt_skip "no mount namespaces here (unshare --mount failed)"

qt_init packages 250
VERSION=$(sed -n 's/^PACKAGE_VERSION = //p' "$BUILD/Makefile")
[ -n "$VERSION" ] || qt_fail "no PACKAGE_VERSION in $BUILD/Makefile"
WORK=$QT_DIR
PKG_INSTALLED=0
POLICY_RCD=
RUNDIR=

pkg_cleanup()
{
	local rc=$?
	trap - EXIT
	if [ "$QT_DAEMON_STOPPED" = 0 ]; then
		qt_daemon_stop TERM || true
	fi
	if [ "$PKG_INSTALLED" = 1 ]; then
		apt-get purge -y -q quorate >"$WORK/purge-cleanup.log" 2>&1 ||
			qt_log "cleanup: apt-get purge quorate failed (see $WORK/purge-cleanup.log)"
	fi
	[ -n "$POLICY_RCD" ] && rm -f "$POLICY_RCD"
	[ -n "$RUNDIR" ] && rm -rf "$RUNDIR"
	(exit "$rc")
	qt_cleanup
}
trap pkg_cleanup EXIT

# Non-interactive apt that waits for other users of the dpkg lock.
cat >"$WORK/apt.conf" <<EOF
APT::Get::Assume-Yes "true";
DPkg::Lock::Timeout "300";
EOF
export APT_CONFIG=$WORK/apt.conf DEBIAN_FRONTEND=noninteractive

# make TARGET in the build tree (not with make check's MAKEFLAGS).
pkg_make()
{
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$BUILD" "$@"
}

# guide_has LINE: the guide shows LINE verbatim (leading blanks ignored);
# the check before the purge makes sure every line of its sh blocks was
# seen here.
guide_has()
{
	sed 's/^[[:space:]]*//' "$GUIDE" | grep -qxF -- "$1" ||
		qt_fail "docs/deploy-ha-pair.md no longer shows: $1"
	printf '%s\n' "$1" >>"$WORK/guide-seen"
}

# guide_run LINE: guide_has LINE, then run it in this shell.
guide_run()
{
	guide_has "$1"
	qt_log "guide: $1"
	eval "$1" || qt_fail "guide command failed: $1"
}

# tags_listed TOOL FILE: every W: tag in FILE (lintian or rpmlint output)
# is named in packaging/README.md.
tags_listed()
{
	local tag
	for tag in $(sed -n -e 's/^W: [^ ]* \([^ ]*\).*$/\1/p' \
		-e 's/^[^ ]*: W: \([^ ]*\).*$/\1/p' "$2" | sort -u); do
		grep -q -- "\`$tag\`" "$PKG_README" ||
			qt_fail "$1 warning '$tag' is neither fixed nor listed in packaging/README.md"
	done
}

# exposure UNITFILE: systemd-analyze's overall exposure, which must be < 5.0
# with no complaint about the unit's settings.
check_exposure()
{
	local out score
	out=$(systemd-analyze security --offline=true --no-pager "$1" 2>"$WORK/analyze.err") ||
		qt_fail "systemd-analyze security $1 failed: $(cat "$WORK/analyze.err")"
	! grep -Eiq 'unknown|failed to parse|invalid|ignoring' "$WORK/analyze.err" ||
		qt_fail "systemd-analyze complains about $1: $(cat "$WORK/analyze.err")"
	score=$(printf '%s\n' "$out" | sed -n 's/^.*Overall exposure level for [^:]*: \([0-9.]*\) .*$/\1/p')
	[ -n "$score" ] || qt_fail "no exposure level in systemd-analyze's output for $1"
	awk -v s="$score" 'BEGIN { exit !(s < 5.0) }' ||
		qt_fail "exposure of $1 is $score (want < 5.0)"
	EXPOSURE=$score
}

# --- 1. build ---------------------------------------------------------------
t0=$(date +%s)
pkg_make deb >"$WORK/deb.log" 2>&1 || { tail -n 40 "$WORK/deb.log" >&2; qt_fail "make deb"; }
t1=$(date +%s)
pkg_make rpm >"$WORK/rpm.log" 2>&1 || { tail -n 40 "$WORK/rpm.log" >&2; qt_fail "make rpm"; }
t2=$(date +%s)
qt_log "ok: make deb ($((t1 - t0)) s), make rpm ($((t2 - t1)) s)"
DEB_DIR=$BUILD/pkg-deb
ARCH=$(dpkg --print-architecture)
DEB=$DEB_DIR/quorate_${VERSION}-1_$ARCH.deb
RPM=$(ls "$BUILD"/pkg-rpm/RPMS/*/quorate-"$VERSION"-1*.rpm 2>/dev/null | head -n 1)
[ -f "$DEB" ] || qt_fail "make deb did not produce $DEB"
[ -n "$RPM" ] || qt_fail "make rpm did not produce quorate-$VERSION-1*.rpm"
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION-1" ] ||
	qt_fail ".deb version $(dpkg-deb -f "$DEB" Version), configure.ac says $VERSION"
[ "$(rpm -qp --qf '%{VERSION}-%{RELEASE}' "$RPM" 2>/dev/null)" = "$VERSION-1" ] ||
	qt_fail ".rpm version $(rpm -qp --qf '%{VERSION}' "$RPM"), configure.ac says $VERSION"
qt_log "ok: both packages carry version $VERSION"

# --- 2. lintian, rpmlint ----------------------------------------------------
lintian --fail-on error --no-tag-display-limit "$DEB" >"$WORK/lintian.out" 2>&1 ||
	{ cat "$WORK/lintian.out" >&2; qt_fail "lintian reports errors on $(basename "$DEB")"; }
tags_listed lintian "$WORK/lintian.out"
qt_log "ok: lintian: $(grep -c '^E:' "$WORK/lintian.out") errors," \
	"$(grep -c '^W:' "$WORK/lintian.out") warnings ($(sed -n 's/^W: [^ ]* \([^ ]*\).*/\1/p' \
	"$WORK/lintian.out" | sort -u | tr '\n' ' '))"
rpmlint -c "$REPO/packaging/rpm/rpmlint.toml" "$RPM" >"$WORK/rpmlint.out" 2>&1
grep -Eq ' 0 errors, [0-9]+ warnings' "$WORK/rpmlint.out" ||
	{ cat "$WORK/rpmlint.out" >&2; qt_fail "rpmlint reports errors on $(basename "$RPM")"; }
tags_listed rpmlint "$WORK/rpmlint.out"
qt_log "ok: rpmlint: $(sed -n 's/^.* checked; \([0-9]* errors, [0-9]* warnings\).*$/\1/p' \
	"$WORK/rpmlint.out") ($(sed -n 's/^[^ ]*: W: \([^ ]*\).*/\1/p' "$WORK/rpmlint.out" |
	sort -u | tr '\n' ' '))"

# --- 3. the RPM -------------------------------------------------------------
flags=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$RPM")
printf '%s\n' "$flags" | grep -Eq '^c[a-z]*n[a-z]* /etc/quorate/quorated.conf$' ||
	qt_fail "rpm: /etc/quorate/quorated.conf is not %config(noreplace): $flags"
printf '%s\n' "$flags" | grep -Eq '^l /usr/share/licenses/quorate[^ ]*/COPYING$' ||
	qt_fail "rpm: COPYING is not %license"
scripts=$(rpm -qp --scripts "$RPM")
for s in 'install-system-units quorated.service' 'remove-system-units quorated.service' \
	'mark-restart-system-units quorated.service' 'systemd-tmpfiles --create quorate.conf'; do
	printf '%s\n' "$scripts" | grep -qF "$s" || qt_fail "rpm scriptlets lack '$s'"
done
mkdir "$WORK/rpmroot"
(cd "$WORK/rpmroot" && rpm2cpio "$RPM" | cpio -idm --quiet) || qt_fail "rpm2cpio $RPM"
out=$("$WORK/rpmroot/usr/sbin/quorated" --version 2>&1) || qt_fail "the RPM's quorated --version: $out"
printf '%s\n' "$out" | grep -qF "$VERSION" || qt_fail "the RPM's quorated --version says '$out'"
check_exposure "$WORK/rpmroot/usr/lib/systemd/system/quorated.service"
qt_log "ok: rpm: config(noreplace), %license, systemd scriptlets, quorated $VERSION runs," \
	"unit exposure $EXPOSURE"

# --- 4. install the .deb ----------------------------------------------------
# Names of files of ours anywhere in the system before the installation.
find_ours()
{
	find /etc /usr /lib /var/lib -xdev \( -path /var/lib/apt/lists -o -path /var/lib/docker \
		-o -path "/var/lib/qt-pkgtest.*" \) \
		-prune -o -name '*quorat*' -print 2>/dev/null | sort
}
find_ours >"$WORK/before"
if [ -d /run/systemd/system ] && [ ! -e /usr/sbin/policy-rc.d ]; then
	# systemd runs this machine: do not let the postinst start quorated.
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	POLICY_RCD=/usr/sbin/policy-rc.d
fi
PKG_INSTALLED=1
t0=$(date +%s)
(cd "$DEB_DIR" && guide_run "apt-get install ./quorate_${VERSION}-1_$ARCH.deb") \
	>"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; qt_fail "apt-get install"; }
qt_log "ok: apt-get install ./quorate_${VERSION}-1_$ARCH.deb ($(($(date +%s) - t0)) s)"
# The guide's other packages (scripts/test has installed them already).
for l in 'apt-get install corosync corosync-qdevice' 'apt-get install corosync-qnetd'; do
	guide_run "$l" >>"$WORK/install.log" 2>&1
done
dpkg-query -W -f='${Conffiles}\n' quorate | grep -q '^ */etc/quorate/quorated.conf ' ||
	qt_fail "/etc/quorate/quorated.conf is not a conffile"
if command -v systemd-tmpfiles >/dev/null; then
	[ "$(stat -c %a:%U /var/lib/quorate 2>/dev/null)" = 700:root ] ||
		qt_fail "/var/lib/quorate is $(stat -c %a:%U /var/lib/quorate 2>&1), want 700:root"
fi
UNIT=/lib/systemd/system/quorated.service
[ -f "$UNIT" ] || qt_fail "no $UNIT"
check_exposure "$UNIT"
qt_log "ok: conffile, /var/lib/quorate 0700, $UNIT exposure $EXPOSURE"
out=$(guide_run "quorated --version" 2>&1)
printf '%s\n' "$out" | grep -qF "$VERSION" || qt_fail "quorated --version says '$out'"
[ "$(command -v quorated)" = /usr/sbin/quorated ] || qt_fail "quorated is not /usr/sbin/quorated"
guide_run "quorated --check-config" >/dev/null 2>&1
qt_log "ok: installed quorated $VERSION accepts the packaged config"

# --- 5. run the installed quorated as the unit would ------------------------
# Without systemd as PID 1, what util-linux and libseccomp can apply of the
# unit is applied to its ExecStart=: the capability bounding set,
# no_new_privs and umask (setpriv); ProtectSystem=full, ProtectHome=yes and
# PrivateTmp=yes as a private mount namespace (unshare: /usr, /boot, /efi
# and /etc read-only, empty /home, /root and /run/user, private /tmp and
# /var/tmp); SystemCallFilter=, SystemCallErrorNumber=,
# MemoryDenyWriteExecute= and RestrictAddressFamilies= as a seccomp filter
# (unit_seccomp.py). The data directory and the backing files are in
# /var/lib, as they would be under the unit (the work directory is in
# /var/tmp, which the daemon does not see).
for s in 'NoNewPrivileges=yes' 'ProtectSystem=full' 'ProtectHome=yes' 'PrivateTmp=yes'; do
	grep -qx "$s" "$UNIT" || qt_fail "the unit lost $s (update this emulation)"
done
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr 'A-Z ' 'a-z\n' | sed -n 's/^cap_/+/p' |
	paste -sd, -)
umask_unit=$(sed -n 's/^UMask=//p' "$UNIT")
[ -n "$caps" ] && [ -n "$umask_unit" ] || qt_fail "no CapabilityBoundingSet= or UMask= in $UNIT"
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
RUNDIR=$(mktemp -d /var/lib/qt-pkgtest.XXXXXX) || qt_fail "mktemp in /var/lib"
cat >"$WORK/as-unit" <<EOF
#!/bin/sh
exec unshare --mount --propagation slave sh -c '
set -e
for d in /usr /boot /efi /etc; do
	[ -d \$d ] || continue
	mount --bind \$d \$d
	mount -o remount,bind,ro \$d
done
for d in /home /root /run/user; do
	[ ! -d \$d ] || mount -t tmpfs -o ro,mode=0755 tmpfs \$d
done
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
umask $umask_unit
exec setpriv --bounding-set=-all,$caps --inh-caps=-all --no-new-privs \\
	/usr/bin/python3 $RUNDIR/unit_seccomp.py $UNIT $exec_start "\$@"
' as-unit "\$@"
EOF
# Copied: the repository may be under /root or /home, hidden by ProtectHome.
cp "$REPO/tests/packaging/unit_seccomp.py" "$RUNDIR/"
chmod +x "$WORK/as-unit"
QUORATED=$WORK/as-unit
qt_daemon_start 'quorated .* ready: node' --config /etc/quorate/quorated.conf \
	--data-dir "$RUNDIR/data" --listen "127.0.0.1:$QT_PORT" ||
	qt_fail "the installed quorated did not start with the packaged config"
[ "$(sed -n 's/^CapBnd:[[:space:]]*//p' "/proc/$QT_DAEMON_PID/status")" != \
	"$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)" ] ||
	qt_fail "quorated does not run with the unit's bounding set"
[ "$(readlink "/proc/$QT_DAEMON_PID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
	qt_fail "quorated does not run in a mount namespace of its own"
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$QT_DAEMON_PID/status" ||
	qt_fail "quorated does not run under a seccomp filter"
[ "$(stat -c %a "$RUNDIR/data")" = 700 ] || qt_fail "data directory not created mode 0700"
qt_log "ok: installed quorated (pid $QT_DAEMON_PID) ready with the packaged config," \
	"bounding set $caps, ProtectSystem/ProtectHome/PrivateTmp and the system call" \
	"filter emulated"

# The guide's section 7 (targets and LUNs from hyperv.json) against this
# daemon, with sparse files in /var/lib for the guide's shared devices.
quoratectl()
{
	timeout 60 /usr/sbin/quoratectl --ipc "$QT_IPC" "$@"
}
WITNESS_DEV=$RUNDIR/witness.img
CSV_DEV=$RUNDIR/csv.img
cd "$WORK" || exit 1
guide_run '(umask 077 && tr -dc A-Za-z0-9 </dev/urandom | head -c 16 >hyperv.chap)'
[ "$(stat -c %a hyperv.chap)" = 600 ] || qt_fail "the guide's hyperv.chap is not mode 0600"
CHAP_SECRET=$(head -n 1 hyperv.chap)
[ ${#CHAP_SECRET} = 16 ] || qt_fail "the guide's CHAP secret has ${#CHAP_SECRET} characters"
# hyperv.json as the guide shows it (its one json block), written as an
# editor would (mode 0644), its two device paths replaced by the files here.
sizes=$(/usr/bin/python3 - "$GUIDE" "$WITNESS_DEV" "$CSV_DEV" <<'EOF'
import json, re, sys
blocks = re.findall(r"^```json\n(.*?)^```$", open(sys.argv[1]).read(), re.S | re.M)
if len(blocks) != 1:
    sys.exit("the guide has %d json blocks, want 1 (hyperv.json)" % len(blocks))
text = blocks[0]
luns = json.loads(text)["targets"][0]["luns"]
if [l["lun"] for l in luns] != [0, 1]:
    sys.exit("hyperv.json's LUNs are %s, want 0 and 1" % [l["lun"] for l in luns])
for l, path in zip(luns, sys.argv[2:4]):
    if text.count('"%s"' % l["path"]) != 1:
        sys.exit("hyperv.json: path %s is not there once" % l["path"])
    text = text.replace('"%s"' % l["path"], '"%s"' % path)
    print(l["size"])
with open("hyperv.json", "w") as f:
    f.write(text)
EOF
) || qt_fail "cannot take hyperv.json from the guide"
chmod 644 hyperv.json
set -- $sizes
truncate -s "$1" "$WITNESS_DEV" && truncate -s "$2" "$CSV_DEV" ||
	qt_fail "sparse files of $1 and $2 bytes in $RUNDIR"
guide_run 'chmod 600 hyperv.json'
guide_run 'sed -i "s/@CHAP_SECRET@/$(cat hyperv.chap)/" hyperv.json'
[ "$(stat -c %a hyperv.json)" = 600 ] || qt_fail "hyperv.json is not mode 0600 after the guide's steps"
[ "$(/usr/bin/python3 -c 'import json; print(json.load(open("hyperv.json"))["targets"][0]["chap"]["secret"])')" = \
	"$CHAP_SECRET" ] || qt_fail "the guide's sed did not put the secret of hyperv.chap in hyperv.json"
out=$(guide_run 'quoratectl config apply hyperv.json --dry-run')
printf '%s\n' "$out" | grep -qx 'would make 6 change(s):' ||
	qt_fail "config apply --dry-run of the guide's file: $out"
! printf '%s\n' "$out" | grep -qF "$CHAP_SECRET" || qt_fail "config apply --dry-run shows the secret"
[ "$(quoratectl --json target list | /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" = 0 ] ||
	qt_fail "config apply --dry-run changed something: $(quoratectl target list)"
out=$(guide_run 'quoratectl config apply hyperv.json')
printf '%s\n' "$out" | grep -qx '6 change(s):' || qt_fail "config apply of the guide's file: $out"
out=$(guide_run 'quoratectl config apply hyperv.json')
[ "$out" = "nothing to change" ] || qt_fail "config apply of the guide's file again: $out"
guide_run 'IQN=iqn.2026-12.com.example:hyperv'
out=$(guide_run 'quoratectl lun list "$IQN"')
quoratectl --json lun list "$IQN" | /usr/bin/python3 -c '
import json, sys
luns = json.load(sys.stdin)
assert [l["lun"] for l in luns] == [0, 1], luns
assert all(l["direct"] for l in luns), luns' ||
	qt_fail "lun list does not show LUNs 0 and 1 with O_DIRECT: $out"
for n in 0 1; do
	quoratectl --json lun show "$IQN" $n | /usr/bin/python3 -c '
import json, sys
l = json.load(sys.stdin)
assert l["online"] and not l["write_cache"] and l["naa"].startswith("6"), l' ||
		qt_fail "LUN $n of the guide's file: $(quoratectl lun show "$IQN" $n)"
done
HV1=iqn.1991-05.com.microsoft:hv1.example.com
url="iscsi://hyperv%$CHAP_SECRET@127.0.0.1:$QT_PORT/$IQN"
qt_check "iscsi-inq logs in with CHAP as hv1 (LUN 0)" iscsi-inq -i "$HV1" "$url/0"
qt_check "iscsi-inq logs in with CHAP as hv1 (LUN 1)" iscsi-inq -i "$HV1" "$url/1"
# Data through io_uring and O_DIRECT, under the filter.
img="driver=iscsi,transport=tcp,portal=127.0.0.1:$QT_PORT,target=$IQN,lun=1"
img="$img,initiator-name=$HV1,user=hyperv,password=$CHAP_SECRET"
qt_check "qemu-io writes and reads back a pattern on LUN 1" qemu-io --image-opts "$img" \
	-c "write -P 0x5a 0 1M" -c "read -P 0x5a 0 1M" -c "write -P 0xa5 63M 1M" -c "read -P 0xa5 63M 1M"
timeout 60 iscsi-inq -i "$HV1" "iscsi://127.0.0.1:$QT_PORT/$IQN/0" >/dev/null 2>&1 &&
	qt_fail "a login without CHAP succeeded"
timeout 60 iscsi-inq -i iqn.2026-11.org.quorate:other "$url/0" >/dev/null 2>&1 &&
	qt_fail "a login from an initiator not in the ACL succeeded"
# As under the unit, a backing file in /var/tmp is not visible (PrivateTmp).
truncate -s 16M "$WORK/in-var-tmp.img"
quoratectl lun create "$IQN" --lun 2 --path "$WORK/in-var-tmp.img" >/dev/null 2>&1 &&
	qt_fail "a backing file in /var/tmp was accepted: the PrivateTmp emulation is not in effect"
qt_log "ok: hyperv.json of the guide: --dry-run, apply, apply again changes nothing; LUNs" \
	"O_DIRECT, ACL and CHAP as in the guide; iscsi-inq and qemu-io through them"

# The guide's sections 5 and 9: the node, the cluster (this node alone),
# sessions, statistics and reservations as the Windows hosts leave them
# (hv1 holds Write Exclusive - Registrants Only on the witness, both are
# registered; raw-socket initiators with CHAP), consistency.
/usr/bin/python3 - "$QT_SRCDIR" "$QT_PORT" "$IQN" "$CHAP_SECRET" <<'EOF' ||
import struct, sys
sys.path.insert(0, sys.argv[1])
import iscsi_raw as r
port, target, secret = int(sys.argv[2]), sys.argv[3], sys.argv[4]
def session(host):
    c = r.Conn("127.0.0.1", port, timeout=20)
    rsp = c.login("iqn.1991-05.com.microsoft:%s.example.com" % host, target,
                  chap=("hyperv", secret))
    if rsp.status_class != 0:
        sys.exit("login of %s: %r" % (host, rsp))
    for _ in range(8):  # the unit attentions of a new nexus
        if c.command(bytes(6))[0] == 0:
            return c
    sys.exit("TEST UNIT READY of %s never GOOD" % host)
def prout(c, sa, rk=0, sark=0, ptype=0):
    param = struct.pack(">QQ", rk, sark) + bytes(8)
    st, sense, _ = c.command(bytes([0x5F, sa, ptype, 0, 0]) + struct.pack(">I", len(param)) +
                             b"\0", data_out=param)
    if st != 0:
        sys.exit("PERSISTENT RESERVE OUT %d: status %#x sense %s" % (sa, st, sense.hex()))
hv1, hv2 = session("hv1"), session("hv2")
prout(hv1, 0, sark=0x4856310000000001)                # REGISTER
prout(hv1, 1, rk=0x4856310000000001, ptype=5)         # RESERVE, WR_EX_RO
prout(hv2, 0, sark=0x4856320000000002)                # REGISTER
hv1.logout()
hv2.logout()
EOF
	qt_fail "PR OUT as hv1 and hv2"
guide_run 'quoratectl session list' >/dev/null
guide_run 'quoratectl stats "$IQN"' >/dev/null
quoratectl --json stats "$IQN" | /usr/bin/python3 -c '
import json, sys
luns = {l["lun"]: l for l in json.load(sys.stdin)["luns"]}
assert luns[1]["written_bytes"] >= 2 << 20, luns[1]' ||
	qt_fail "stats do not count qemu-io's writes to LUN 1"
out=$(guide_run 'quoratectl pr show "$IQN" 0')
printf '%s\n' "$out" | grep -q '^reservation: *WR_EX_RO, held by iqn.1991-05.com.microsoft:hv1' ||
	qt_fail "pr show does not show hv1's reservation: $out"
quoratectl --json pr show "$IQN" 0 | /usr/bin/python3 -c '
import json, sys
pr = json.load(sys.stdin)
regs = sorted(g["initiator_port"].split(",")[0] for g in pr["registrants"])
assert regs == ["iqn.1991-05.com.microsoft:hv1.example.com",
                "iqn.1991-05.com.microsoft:hv2.example.com"], pr
assert all(g["node"] == 1 for g in pr["registrants"]), pr' ||
	qt_fail "pr show --json: $(quoratectl --json pr show "$IQN" 0)"
out=$(guide_run 'quoratectl cluster status')
quoratectl --json cluster status | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)
n = c["nodes"]
assert c["quorate"] and len(n) == 1 and n[0]["self"] and n[0]["member"] and n[0]["serving"], c
assert not n[0]["diverged"], c' || qt_fail "cluster status: $out"
out=$(guide_run 'quoratectl status')
printf '%s\n' "$out" | grep -qx 'serving: *yes' && printf '%s\n' "$out" | grep -qx 'quorate: *yes' ||
	qt_fail "status: $out"
out=$(guide_run 'quoratectl cluster verify')
printf '%s\n' "$out" | grep -q '^consistent' || qt_fail "cluster verify: $out"
qt_log "ok: session list, stats, pr show (hv1's WR_EX_RO, two registrants), cluster status," \
	"status and cluster verify as in the guide"

# Section 10: a snapshot saved and installed (on a standalone node, into
# itself: nothing changes), then the dead initiator's reservation broken.
# The file goes in the package's /var/lib/quorate, which the daemon (its
# data directory is elsewhere here) sees as under the unit; the guide's rm
# leaves it as the package made it.
digest=$(quoratectl --json status | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])')
[ -d /var/lib/quorate ] || qt_fail "no /var/lib/quorate after the installation"
[ ! -e /var/lib/quorate/cluster.snapshot ] || qt_fail "/var/lib/quorate/cluster.snapshot exists already"
guide_run 'quoratectl snapshot save /var/lib/quorate/cluster.snapshot' >/dev/null
[ "$(stat -c %a /var/lib/quorate/cluster.snapshot)" = 600 ] || qt_fail "cluster.snapshot is not mode 0600"
guide_has 'scp /var/lib/quorate/cluster.snapshot node2:/var/lib/quorate/'
guide_run 'quoratectl snapshot install /var/lib/quorate/cluster.snapshot --replace' >/dev/null
guide_run 'rm /var/lib/quorate/cluster.snapshot'
[ "$(quoratectl --json status | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])')" \
	= "$digest" ] || qt_fail "installing the node's own snapshot changed its state"
# Where the unit hides it, the daemon cannot write it (quoratectl gives it
# the absolute path; PrivateTmp here).
quoratectl snapshot save "$WORK/hidden.snapshot" >/dev/null 2>&1 &&
	qt_fail "snapshot save wrote into /var/tmp: the daemon should not see it"
out=$(guide_run 'quoratectl pr clear "$IQN" 0 --force')
quoratectl --json pr show "$IQN" 0 | /usr/bin/python3 -c '
import json, sys
pr = json.load(sys.stdin)
assert pr["registrants"] == [] and pr["reservation"] is None, pr' ||
	qt_fail "pr clear --force left: $(quoratectl pr show "$IQN" 0) ($out)"
qt_log "ok: snapshot save and install --replace, pr clear --force as in the guide"
qt_daemon_stop TERM
[ "$QT_DAEMON_STATUS" = 0 ] || qt_fail "quorated exited with $QT_DAEMON_STATUS on SIGTERM"
qt_log "ok: the installed quorated stopped by PID"

# Section 10's empty data directory, in a mount namespace whose /var/lib is
# a tmpfs holding a copy of the data directory used above.
cp -a "$RUNDIR/data" "$WORK/data-copy"
guide_has 'mv /var/lib/quorate /var/lib/quorate.diverged'
unshare --mount --propagation private bash -ec "
mount -t tmpfs -o mode=0755 tmpfs /var/lib
cp -a '$WORK/data-copy' /var/lib/quorate
mv /var/lib/quorate /var/lib/quorate.diverged
[ ! -e /var/lib/quorate ] && [ -s /var/lib/quorate.diverged/quorate.db ]
" >"$WORK/mv.log" 2>&1 || { cat "$WORK/mv.log" >&2; qt_fail "the guide's mv of the data directory"; }
qt_log "ok: the data directory moved aside as in the guide (in a mount namespace)"

# The guide's node configuration step (it replaces the conffile, which the
# purge below removes): the cluster example.
guide_run 'cp /usr/share/doc/quorate/examples/quorated-cluster.conf /etc/quorate/quorated.conf'
guide_run 'quorated --check-config' >/dev/null 2>&1
grep -qx 'cluster = corosync' /etc/quorate/quorated.conf ||
	qt_fail "the guide's node configuration is not the cluster example"
out=$(quorated --check-config --config /usr/share/doc/quorate/examples/quorated-standalone.conf 2>&1) ||
	qt_fail "the standalone example is refused: $out"
qt_log "ok: the cluster and standalone examples pass --check-config"

# --- 6. corosync, qnetd, qdevice (private mount namespaces) -----------------
# Each script below runs with a tmpfs over /etc/corosync; "scp" in the guide
# is a copy through $WORK/xfer. 192.0.2.11 (node1 in the examples) becomes
# 127.0.0.1, as the guide says to set this host's address.
mkdir -p "$WORK/xfer"
EXAMPLES=/usr/share/doc/quorate/examples
ns_script()
{
	printf 'set -ex\nmount -t tmpfs tmpfs /etc/corosync\ncd %s\n' "$WORK/xfer" >"$WORK/$1.sh"
}
ns_add()
{
	guide_has "$2"
	printf '%s\n' "$2" >>"$WORK/$1.sh"
}
ns_run()
{
	unshare --mount --propagation private bash "$WORK/$1.sh" >"$WORK/$1.log" 2>&1 ||
		{ tail -n 30 "$WORK/$1.log" >&2; qt_fail "guide steps '$1' failed (log: $WORK/$1.log)"; }
}

ns_script corosync
ns_add corosync 'corosync-keygen'
ns_add corosync "cp $EXAMPLES/corosync-2node-qdevice.conf /etc/corosync/corosync.conf"
printf 'sed -i s/192.0.2.11/127.0.0.1/ /etc/corosync/corosync.conf\n' >>"$WORK/corosync.sh"
ns_add corosync 'corosync -t'
printf 'cp %s /etc/corosync/corosync.conf\n' "$EXAMPLES/corosync-3node.conf" >>"$WORK/corosync.sh"
printf 'sed -i s/192.0.2.11/127.0.0.1/ /etc/corosync/corosync.conf\ncorosync -t\n' >>"$WORK/corosync.sh"
# A broken file must fail: the check can fail.
printf 'sed -i "$ d" /etc/corosync/corosync.conf\n! corosync -t\n' >>"$WORK/corosync.sh"
ns_run corosync
qt_log "ok: corosync-keygen; corosync -t accepts both example corosync.conf files, refuses a broken one"

# qnetd host and node1 share a namespace (qnetd and qdevice use different
# directories under /etc/corosync); node2 has its own.
ns_script qnetd-node1
ns_add qnetd-node1 'corosync-qnetd-certutil -i'
printf 'cp /etc/corosync/qnetd/nssdb/qnetd-cacert.crt .\n' >>"$WORK/qnetd-node1.sh"
ns_add qnetd-node1 'corosync-qdevice-net-certutil -i -c qnetd-cacert.crt'
ns_add qnetd-node1 'corosync-qdevice-net-certutil -r -n quorate'
printf 'cp /etc/corosync/qdevice/net/nssdb/qdevice-net-node.crq .\n' >>"$WORK/qnetd-node1.sh"
ns_add qnetd-node1 'corosync-qnetd-certutil -s -c qdevice-net-node.crq -n quorate'
printf 'cp /etc/corosync/qnetd/nssdb/cluster-quorate.crt .\n' >>"$WORK/qnetd-node1.sh"
ns_add qnetd-node1 'corosync-qdevice-net-certutil -M -c cluster-quorate.crt'
printf 'cp /etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12 .\n' >>"$WORK/qnetd-node1.sh"
guide_has 'scp /etc/corosync/qnetd/nssdb/qnetd-cacert.crt node1: node2:'
guide_has 'scp /etc/corosync/qdevice/net/nssdb/qdevice-net-node.crq qnetd:'
guide_has 'scp /etc/corosync/qnetd/nssdb/cluster-quorate.crt node1:'
guide_has 'scp /etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12 node2:'
ns_run qnetd-node1
ns_script node2
ns_add node2 'corosync-qdevice-net-certutil -i -c qnetd-cacert.crt'
ns_add node2 'corosync-qdevice-net-certutil -m -c qdevice-net-node.p12'
ns_run node2
qt_log "ok: qnetd CA, node1 request, signing, import and p12 export, node2 import"
# The machine's /etc/corosync is untouched.
[ ! -e /etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12 ] ||
	qt_log "note: this machine has its own qdevice certificate (not ours)"

# Every command line in the guide's sh blocks (also those indented in a
# list) was run above, except those that need systemd as PID 1 (systemctl),
# other hosts (scp) or Fedora/RHEL (dnf); the guide says which ones the
# tests do not run.
while read -r l; do
	grep -qxF -- "$l" "$WORK/guide-seen" && continue
	case $l in
	"systemctl "* | "scp "* | "dnf "*) continue ;;
	esac
	qt_fail "docs/deploy-ha-pair.md shows '$l', which this test does not run"
done < <(awk '/^[[:space:]]*```sh$/ { b = 1; next } /^[[:space:]]*```/ { b = 0 } b' "$GUIDE" |
	sed 's/^[[:space:]]*//' | grep -v '^$')
qt_log "ok: every Linux command line of docs/deploy-ha-pair.md was run"

# --- 7. purge ---------------------------------------------------------------
dpkg-query -L quorate | sort >"$WORK/files"
t0=$(date +%s)
apt-get purge quorate >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log" >&2; qt_fail "apt-get purge"; }
PKG_INSTALLED=0
qt_log "ok: apt-get purge quorate ($(($(date +%s) - t0)) s)"
! dpkg-query -W -f='${Status}\n' quorate 2>/dev/null | grep -q 'installed' ||
	qt_fail "quorate still installed after purge"
while read -r f; do
	[ -d "$f" ] && continue
	[ ! -e "$f" ] || qt_fail "$f left after purge"
done <"$WORK/files"
for d in /etc/quorate /var/lib/quorate /usr/share/doc/quorate; do
	[ ! -e "$d" ] || qt_fail "$d left after purge"
done
find_ours >"$WORK/after"
diff "$WORK/before" "$WORK/after" >"$WORK/left" ||
	{ cat "$WORK/left" >&2; qt_fail "files named *quorat* differ before install and after purge"; }
qt_log "ok: no file of the package left after purge"
qt_log PASS
