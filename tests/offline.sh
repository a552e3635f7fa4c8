#!/bin/sh
# Runs a command with the network cut: in a new network namespace that holds loopback only (the
# Jupyter kernel talks to nbmake over 127.0.0.1). Used by `make test-notebooks`.
exec unshare -rn sh -c '"$(command -v ip || echo /usr/sbin/ip)" link set lo up && exec "$@"' offline "$@"
