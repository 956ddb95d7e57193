#!/usr/bin/env bash
# Install the Debian packages that the named sections of
# scripts/packages.txt list and that are missing (only when run as root;
# otherwise list them and carry on, so a machine prepared by hand still
# builds).  Sections: build (the library and the demo), test, bench;
# none named: all of them.  With [test], also generate the de_DE.UTF-8
# locale (decimal comma) that the locale tests run under.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
want=" ${*:-build test bench} "
missing=()
section=
while read -r pkg; do
  case "$pkg" in
    ''|'#'*) continue ;;
    '['*']') section=${pkg#[}; section=${section%]}; continue ;;
  esac
  case "$want" in *" $section "*) ;; *) continue ;; esac
  case " ${missing[*]-} " in *" $pkg "*) continue ;; esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$here/packages.txt"
root=false
[ "$(id -u)" -eq 0 ] && root=true
if [ ${#missing[@]} -gt 0 ]; then
  if $root; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (run as root to install): ${missing[*]}" >&2
  fi
fi
case "$want" in
  *" test "*)
    if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
      if $root && [ -f /etc/locale.gen ] && command -v locale-gen >/dev/null; then
        echo "setup: generating the de_DE.UTF-8 locale"
        sed -i 's/^# *de_DE.UTF-8/de_DE.UTF-8/' /etc/locale.gen
        locale-gen >/dev/null
      else
        echo "setup: no de_DE.UTF-8 locale (the locale tests will skip)" >&2
      fi
    fi
    ;;
esac
