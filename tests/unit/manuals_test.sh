#!/usr/bin/env bash
# The manuals, the program's --help and the bash completion agree:
#   - every rendered page reads with `man -l` without a warning;
#   - upgrader(8) documents exactly the commands, options and exit statuses
#     `upgrader --help` lists;
#   - the completion offers exactly those commands and options, and the
#     instances of the configuration directory it is pointed at.
# (That upgrader.conf(5) documents every key the parser accepts is a C++
# unit test, TheConfigurationManual.*, with the list taken from the parser.)
#
#   manuals_test.sh UPGRADER MAN_BUILD_DIR MAN_SOURCE_DIR COMPLETION
set -euo pipefail
upgrader=$1 man_dir=$2 man_src=$3 completion=$4

if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
  echo "skipped: man and groff are not installed (scripts/install-deps installs man-db)"
  exit 77
fi
if [ ! -f "$man_dir/upgrader.8" ]; then
  echo "skipped: no rendered manuals in $man_dir (scdoc was not found when configuring)"
  exit 77
fi

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# same WHAT EXPECTED ACTUAL: two sorted word lists are equal.
same() {
  if [ "$2" = "$3" ]; then
    echo "ok: $1"
  else
    fail "$1"
    diff <(tr ' ' '\n' <<<"$2") <(tr ' ' '\n' <<<"$3") | sed 's/^/    /' || true
  fi
}
words() { tr ' ' '\n' | sed '/^$/d' | sort -u | paste -sd' '; }

# --- every page renders without a warning -----------------------------------
for page in "$man_dir"/*.[0-9]; do
  warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || echo "man failed")
  text=$(MANWIDTH=80 man -l "$page" 2>/dev/null | wc -l)
  if [ -n "$warnings" ]; then
    fail "$(basename "$page") renders with warnings:"
    sed 's/^/    /' <<<"$warnings"
  elif [ "$text" -lt 20 ]; then
    fail "$(basename "$page") renders to $text lines"
  else
    echo "ok: $(basename "$page") renders without warnings ($text lines)"
  fi
done
for page in upgrader.8 upgrader.conf.5 upgrade@.service.8; do
  [ -f "$man_dir/$page" ] || fail "$page was not rendered"
done

# --- upgrader --help against upgrader(8) -------------------------------------
help=$("$upgrader" --help)
section() {  # section NAME: the lines of upgrader.8.scd's section NAME
  awk -v want="# $1" '/^# / { on = ($0 == want); next } on' "$man_src/upgrader.8.scd"
}
help_block() {  # help_block HEADER: the lines of --help after HEADER: up to a blank
  awk -v want="$1:" '$0 == want { on = 1; next } on && /^$/ { exit } on' <<<"$help"
}

help_commands=$(help_block Commands | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | words)
man_commands=$(section COMMANDS | sed -n 's/^\*\([a-z][a-z-]*\)\*.*/\1/p' | words)
same "upgrader(8) documents exactly the commands of --help ($help_commands)" \
  "$help_commands" "$man_commands"

# The option column: "  -v, --verbose", "      --config FILE".
help_options=$(help_block Options | sed -n 's/^ \{2,6\}\(\(-[a-z], \)\{0,1\}--[a-z-]*\).*/\1/p' |
  grep -o -- '--\{0,1\}[a-z][a-z-]*' | words)
man_options=$(section OPTIONS | grep -v '^	' | grep -o -- '\*--\?[a-z][a-z-]*\*' | tr -d '*' | words)
same "upgrader(8) documents exactly the options of --help ($help_options)" \
  "$help_options" "$man_options"

help_statuses=$(awk '/^Exit codes:/ { on = 1 } on' <<<"$help" | grep -o '\b[0-9]\b' | words)
man_statuses=$(section "EXIT STATUS" | sed -n 's/^\*\([0-9]\)\*$/\1/p' | words)
same "upgrader(8) documents exactly the exit statuses of --help ($help_statuses)" \
  "$help_statuses" "$man_statuses"

# --- the bash completion against --help --------------------------------------
complete_words() {  # complete_words [--config-dir DIR] WORD...: what TAB offers
  bash -c 'source "$1"; shift
    COMP_WORDS=(upgrader "$@"); COMP_CWORD=$#; COMPREPLY=()
    _upgrader; printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$@" | words
}
# --help lists "help" as a command; completing it is pointless but harmless:
# the completion offers what --help lists but "help".
same "the completion offers every command but help" \
  "$(tr ' ' '\n' <<<"$help_commands" | grep -vx help | words)" "$(complete_words "")"
same "the completion offers every option" "$help_options" "$(complete_words -)"

conf_dir=$(mktemp -d)
trap 'rm -rf -- "$conf_dir"' EXIT
touch "$conf_dir/progressdb.conf" "$conf_dir/quay.conf" "$conf_dir/example.conf.sample"
same "the completion offers the configured instances, not the sample" \
  "progressdb quay" "$(complete_words --config-dir "$conf_dir" apply "")"
same "after the instance, nothing more" "" \
  "$(complete_words --config-dir "$conf_dir" status quay "")"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks held"
