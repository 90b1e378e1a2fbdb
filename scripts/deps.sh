#!/bin/sh
# Install the Debian 12 packages that building and testing hermes-c need.
# As root: apt-get installs what is missing. Otherwise: print the exact
# command and exit non-zero.
set -u

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libevent-dev libcurl4-openssl-dev libmsgpack-dev libsqlite3-dev sqlite3
libseccomp-dev libssl-dev libjansson-dev libyaml-dev libedit-dev
libwebsockets-dev libcmocka-dev libbsd-dev
curl tmux openssh-server openssh-client bash python3 procps iproute2"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

# The independent peers (aimock, the MCP SDK) are npm packages: node and
# npm from Debian unless the machine already has them.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing" >&2
	echo "deps.sh: run as root: apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || exit 1
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null || exit 1
