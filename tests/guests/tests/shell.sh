#!/bin/sh
# The default interactive shell, also reachable as phyllome.test=shell.
echo "PHYLLOME-SHELL busybox sh; 'poweroff' stops the VM"
setsid cttyhack sh -l
poweroff -f
