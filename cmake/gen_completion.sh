#!/bin/sh
# gen_completion.sh ROLLSAFE OUT: writes OUT, the bash completion of the
# built rollsafe tool, from what the tool itself says:
#   - the commands: the "Commands:" section of `rollsafe --help`;
#   - each command's options: its option table (ROLLSAFE_LIST_OPTIONS=1
#     rollsafe CMD, src/cli/opt.h), less those the command refuses as not
#     applying to it (fix, restore, runs and purge share one table and take
#     only some): each is tried as `rollsafe CMD --OPTION [x] --help`, which
#     parses the options and stops at --help, doing nothing;
#   - what a value is: the word after the option in the help text (FILE,
#     PATH or LIB.so: a file; DIR: a directory), and for the options that
#     take one of a few words (--format, --reader-framing, ...) those words,
#     as the help text lists them.
# Run at build time by cmake/docs.cmake; POSIX sh and awk only.
set -eu

rollsafe=$1
out=$2
tmp=$out.tmp

commands=$("$rollsafe" --help | awk '
  /^Commands:/ { in_list = 1; next }
  in_list && /^  [a-z]/ { print $1; next }
  in_list && /^$/ { exit }')
[ -n "$commands" ] || { echo "gen_completion.sh: no commands in '$rollsafe --help'" >&2; exit 1; }

# words CMD OPTION: the words OPTION's value may be, from CMD's help text.
words() {
  case $2 in
    format)
      w="text json"
      if "$rollsafe" "$1" --help | grep -q 'sarif'; then w="$w sarif"; fi
      echo "$w" ;;
    reader-framing) echo "raw envelope confluent" ;;
    column-encoding) echo "binary base64 hex" ;;
    raw-writer) echo "auto" ;;
    fail-on) echo "error warning info never" ;;
    *) echo "" ;;
  esac
}

{
  echo "# bash completion for rollsafe(1): $("$rollsafe" --version)."
  echo "# Generated at build time by cmake/gen_completion.sh from the tool's"
  echo "# option tables and help text; do not edit."
  echo
  echo "_rollsafe_commands='$(echo $commands)'"
  for cmd in $commands; do
    help=$("$rollsafe" "$cmd" --help)
    opts=""
    case_lines=""
    table=$(ROLLSAFE_LIST_OPTIONS=1 "$rollsafe" "$cmd")
    [ -n "$table" ] || { echo "gen_completion.sh: $cmd lists no options" >&2; exit 1; }
    echo "$table" | {
      opts=""
      values=""
      while read -r long short takes; do
        # An option the command refuses does not apply to it.
        if [ "$takes" = 1 ]; then
          probe=$("$rollsafe" "$cmd" "--$long" x --help 2>&1 >/dev/null || true)
        else
          probe=$("$rollsafe" "$cmd" "--$long" --help 2>&1 >/dev/null || true)
        fi
        case $probe in
          *"does not apply"* | *"unknown option"*) continue ;;
        esac
        names="--$long"
        [ "$short" = "-" ] || names="$names -$short"
        opts="$opts $names"
        [ "$takes" = 1 ] || continue
        meta=$(printf '%s\n' "$help" |
          sed -n "s/.*--$long[ =]\\([^ ,;)]*\\).*/\\1/p" | head -n 1)
        w=$(words "$cmd" "$long")
        if [ -n "$w" ]; then
          kind="words:$w"
        else
          case $meta in
            FILE | PATH | LIB.so | CONFIG) kind=file ;;
            DIR) kind=dir ;;
            *) kind=none ;;
          esac
        fi
        for n in $names; do values="$values $n=$kind;"; done
      done
      var=$(echo "$cmd" | tr '-' '_')
      echo "_rollsafe_opts_$var='$(echo $opts)'"
      echo "_rollsafe_values_$var='$(echo $values)'"
    }
  done
  cat <<'EOF'

# _rollsafe_kind CMD OPTION: how OPTION's value completes (file, dir,
# words:W W..., none), or nothing when OPTION takes no value.
_rollsafe_kind() {
  local var=_rollsafe_values_${1//-/_} entry
  local IFS=';'
  for entry in ${!var}; do
    entry=${entry# }
    if [[ ${entry%%=*} == "$2" ]]; then
      printf '%s' "${entry#*=}"
      return
    fi
  done
}

_rollsafe() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local cmd='' i
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -*) ;;
      *) cmd=${COMP_WORDS[i]}; break ;;
    esac
  done
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W '-h --help -V --version' -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$_rollsafe_commands help" -- "$cur"))
    fi
    return
  fi
  if [[ $cmd == help ]]; then
    COMPREPLY=($(compgen -W "$_rollsafe_commands" -- "$cur"))
    return
  fi
  local opts=_rollsafe_opts_${cmd//-/_}
  [[ -n ${!opts+set} ]] || return
  # The value of an option: "--opt VALUE", "--opt=VALUE" (bash splits the
  # '=' into a word of its own).
  local opt='' value=$cur
  if [[ $cur == --*=* ]]; then
    opt=${cur%%=*}
    value=${cur#*=}
  elif [[ $cur == = ]]; then
    opt=$prev
    value=''
  elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
    opt=${COMP_WORDS[COMP_CWORD - 2]}
  elif [[ $prev == -* ]]; then
    opt=$prev
  fi
  local kind=''
  [[ -n $opt ]] && kind=$(_rollsafe_kind "$cmd" "$opt")
  if [[ -n $kind ]]; then
    case $kind in
      file) COMPREPLY=($(compgen -f -- "$value")) ;;
      dir) COMPREPLY=($(compgen -d -- "$value")) ;;
      words:*) COMPREPLY=($(compgen -W "${kind#words:}" -- "$value")) ;;
    esac
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "${!opts}" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _rollsafe rollsafe
EOF
} >"$tmp"
mv "$tmp" "$out"
