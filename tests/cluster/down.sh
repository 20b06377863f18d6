#!/usr/bin/env bash
# down.sh NAME  ==  cluster.sh down NAME
exec "$(dirname "$0")/cluster.sh" down "$@"
