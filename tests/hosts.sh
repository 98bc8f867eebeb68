# Several hosts on this machine, for the tests that need them (multihost, slurm, heal): network
# namespaces joined by veth pairs on a bridge, addresses only inside the namespaces. Sourced after
# lib.sh:  hosts_make N || skip;  then ${hosts[@]} (names), host_addr NAME, host_run NAME CMD...
# (CMD in NAME's namespace with NAME as its host name), host_cut NAME / host_join NAME (its link
# down / up), hosts_left SECONDS (processes still on the hosts), and agent.sh (an rsh agent for Open MPI that enters a namespace instead of ssh-ing).
# Everything is removed at exit (processes in the namespaces killed first).
hosts=()
hosts_tag=rc$$
hosts_net=10.199.$(($$ % 200))
hosts_cleanup() {
  local h
  for h in "${hosts[@]}"; do
    ip netns pids "$h" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$h" 2>/dev/null || true
  done
  ip link del "${hosts_tag}br" 2>/dev/null || true
}
# hosts_make N: make N hosts named ${hosts_tag}a, b, ...; non-zero (and the reason on stderr) where
# this machine cannot (not root, no iproute2 or unshare)
hosts_make() {
  command -v ip >/dev/null && command -v unshare >/dev/null || { echo "no ip or unshare" >&2; return 1; }
  trap hosts_cleanup EXIT
  local i h
  ip link add "${hosts_tag}br" type bridge && ip link set "${hosts_tag}br" up || return 1
  for i in $(seq 1 "$1"); do
    h=$hosts_tag$(printf "\\x$(printf %x $((96 + i)))")
    hosts+=("$h")
    ip netns add "$h" || return 1
    ip link add "v$h" type veth peer name eth0 netns "$h" || return 1
    ip link set "v$h" master "${hosts_tag}br" && ip link set "v$h" up || return 1
    ip netns exec "$h" ip addr add "$hosts_net.$i/16" dev eth0 || return 1
    ip netns exec "$h" ip link set eth0 up && ip netns exec "$h" ip link set lo up || return 1
  done
  ip netns exec "${hosts[0]}" unshare --uts true || return 1
  hosts_agent > agent.sh && chmod +x agent.sh
}
host_addr() { ip netns exec "$1" ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }
host_run() {
  local h=$1
  shift
  ip netns exec "$h" unshare --uts sh -c "hostname $h; exec \"\$@\"" sh "$@"
}
host_cut() { ip link set "v$1" down; }
# hosts_left SECONDS: the processes still running on any host after waiting up to SECONDS for
# them to end (pid and name, one a line; nothing when all ended)
hosts_left() {
  local left="" h
  for _ in $(seq 1 $(($1 * 10))); do
    left=$(for h in "${hosts[@]}"; do ip netns pids "$h"; done | xargs -r ps -o pid=,comm= -p || true)
    [ -z "$left" ] && break
    sleep 0.1
  done
  echo "$left"
}
# hosts_left_cut SECONDS HOST: the processes left after HOST was cut off the network. Every
# process on the other hosts and every rank on HOST must end within SECONDS. Open MPI's daemon on
# HOST may outlive them: when it had data in flight to mpirun at the cut, TCP retransmits it for
# many minutes instead of sending keepalives. So its link is restored (the network heals) and it
# must then end within 10 s, as it does when it hears that mpirun is gone.
hosts_left_cut() {
  local left
  left=$(hosts_left "$1")
  if [ -n "$left" ] && ! echo "$left" | grep -qv ' orted$' && [ -z "$(hosts_pids_except "$2")" ]; then
    echo "note: Open MPI's daemon on the cut host outlived its ranks; restoring its link" >&2
    host_join "$2"
    left=$(hosts_left 10)
  fi
  echo "$left"
}
hosts_pids_except() { # the processes of every host but $1
  local h
  for h in "${hosts[@]}"; do [ "$h" = "$1" ] || ip netns pids "$h"; done | xargs -r ps -o pid= -p || true
}
host_join() { # until the bridge forwards its traffic again
  ip link set "v$1" up
  for _ in $(seq 1 100); do
    ip link show "v$1" | grep -q 'state UP' && bridge link show dev "v$1" 2>/dev/null | grep -q forwarding && break
    sleep 0.1
  done
  sleep 1
}
# the rsh agent: "agent.sh HOST COMMAND..." runs COMMAND in that host's namespace with its name
hosts_agent() {
  local h
  echo '#!/bin/bash'
  echo 'host=$1; shift'
  echo 'case $host in'
  for h in "${hosts[@]}"; do echo "  $(host_addr "$h")|$h) ns=$h ;;"; done
  echo '  *) echo "agent: unknown host $host" >&2; exit 1 ;;'
  echo 'esac'
  echo 'exec ip netns exec "$ns" unshare --uts sh -c "hostname $ns; $*"'
}
