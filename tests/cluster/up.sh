#!/usr/bin/env bash
# up.sh NAME [--demo]  ==  cluster.sh up NAME [--demo]
exec "$(dirname "$0")/cluster.sh" up "$@"
