#!/bin/sh
# Nemo action condition (/usr/share/nemo/actions): does the action apply to every
# selected file? "lock": none is a locked (*.age) file; "unlock": all are.
# Exit 0 shows the action. Names only, no file is opened: Nemo runs this on every
# right-click.
verb=$1
shift
for file in "$@"; do
  case $file in
    *.[aA][gG][eE]) [ "$verb" = unlock ] || exit 1 ;;
    *) [ "$verb" = lock ] || exit 1 ;;
  esac
done
[ $# -gt 0 ]
