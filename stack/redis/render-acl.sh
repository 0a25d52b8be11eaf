#!/bin/sh
# Renders stack/redis/users.acl (a template) into the ACL file Redis reads: `#{VARIABLE}` becomes `#` and the
# SHA-256 of the variable's value, comments and blank lines go. Under Docker Compose, the redis container
# runs it before redis-server: render-acl.sh <template> <acl file>. src/stack/redis-acl.ts does the same
# natively; a test checks that both give the same file.
set -eu
template=$1
out=$2
umask 077
: > "$out.tmp"
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    '' | '#'*) continue ;;
  esac
  while :; do
    var=$(printf '%s\n' "$line" | sed -n 's/.*#{\([A-Z0-9_]*\)}.*/\1/p')
    [ -n "$var" ] || break
    eval "value=\${$var:-}"
    if [ -z "$value" ]; then
      echo "render-acl.sh: $var is not set" >&2
      exit 1
    fi
    hash=$(printf '%s' "$value" | sha256sum | cut -d' ' -f1)
    line=$(printf '%s\n' "$line" | sed "s/#{$var}/#$hash/")
  done
  printf '%s\n' "$line" >> "$out.tmp"
done < "$template"
mv "$out.tmp" "$out"
