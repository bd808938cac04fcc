#!/bin/sh
# An example role-change hook for `muster agent --on-role-change`.
#
# The controller assigned this box a new role; make Postfix serve it by
# installing that role's master.cf (and main.cf, if one exists) and
# reloading Postfix. Keep one variant per role:
#
#   /etc/postfix/roles/master.cf.smtp-out    # outbound relay: smtp client, no public :25
#   /etc/postfix/roles/master.cf.smtp-in     # public :25 for the list domain
#   /etc/postfix/roles/master.cf.bounce      # :25 for bounces only
#   /etc/postfix/roles/master.cf.web         # local submission only
#   /etc/postfix/roles/master.cf.spare       # local submission only
#   /etc/postfix/roles/main.cf.<role>        # optional, same idea
#
# The agent sets:
#   MUSTER_ROLE           the role to take (e.g. smtp-in)
#   MUSTER_PREVIOUS_ROLE  the role held until now (empty on a fresh box)
#   MUSTER_HOST           this host's name in muster
#
# Contract with the agent:
# - exit 0 only when the box now serves MUSTER_ROLE; the agent then reports
#   the new role and the controller publishes the box in its records;
# - any other exit keeps the old role; the agent reports "exit N: <the last
#   5 lines of stderr>", the host stays out of DNS, and the hook is retried
#   later with backoff. So write the reason to stderr.
# - it may run again for the same role (after an interrupted run, or a
#   retry), so it must be idempotent: it is.
# - it is killed after hook_timeout (agent.yaml, default 5m).
#
# Drains are the controller's job: by the time this runs, the box is out of
# DNS and its queue is empty (or the drain timed out).

set -eu

ROLES_DIR=${MUSTER_ROLES_DIR:-/etc/postfix/roles}
POSTFIX_DIR=${MUSTER_POSTFIX_DIR:-/etc/postfix}
LOCK=${MUSTER_HOOK_LOCK:-/run/muster-role-change.lock}

role=${MUSTER_ROLE:?MUSTER_ROLE is not set; run me from muster agent}
previous=${MUSTER_PREVIOUS_ROLE:-}
host=${MUSTER_HOST:-$(hostname)}

log() { echo "role-change[$host]: $*" >&2; }

# A role name becomes part of a path: accept only what muster allows.
case $role in
  *[!a-z0-9-]* | '' | -*) log "refusing odd role name '$role'"; exit 2 ;;
esac

# One run at a time, even if an operator runs this by hand meanwhile.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$LOCK"
  flock -w 60 9 || { log "another role change holds $LOCK"; exit 75; }
fi

master_src=$ROLES_DIR/master.cf.$role
main_src=$ROLES_DIR/main.cf.$role
if [ ! -f "$master_src" ]; then
  log "no $master_src: this box has no Postfix setup for role $role"
  exit 2
fi

# install SRC DEST: put SRC in place of DEST if it differs; keep the old
# file as DEST.muster-old for rollback. Prints "changed" when it did.
# (Each step says `|| return 1`: `set -e` does not reach into a function
# called from $(...) in every shell.)
install_if_changed() {
  src=$1 dest=$2
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
    return 0
  fi
  if [ -f "$dest" ]; then
    cp -p "$dest" "$dest.muster-old" || return 1
  fi
  # Same directory, then rename: Postfix never reads half a file.
  cp "$src" "$dest.muster-new" || return 1
  mv -f "$dest.muster-new" "$dest" || return 1
  echo changed
}

rollback() {
  for f in master.cf main.cf; do
    if [ -f "$POSTFIX_DIR/$f.muster-old" ]; then
      mv -f "$POSTFIX_DIR/$f.muster-old" "$POSTFIX_DIR/$f"
    fi
  done
}

# Leftovers from an earlier, interrupted run are not ours to roll back to.
rm -f "$POSTFIX_DIR/master.cf.muster-old" "$POSTFIX_DIR/main.cf.muster-old"

changed=$(install_if_changed "$master_src" "$POSTFIX_DIR/master.cf")
if [ -f "$main_src" ]; then
  changed=$changed$(install_if_changed "$main_src" "$POSTFIX_DIR/main.cf")
fi

# Refuse a configuration Postfix itself refuses, and put the old one back.
if ! postfix check >&2; then
  log "postfix check failed for role $role; restoring the previous files"
  rollback
  exit 1
fi

# Reload (or start) Postfix. Under systemd, let systemd own Postfix's
# processes: started from here they would belong to the agent's unit and
# die with it.
apply() {
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    if systemctl is-active --quiet postfix; then
      [ -z "$changed" ] || systemctl reload postfix
    else
      systemctl start postfix
    fi
  else
    if postfix status >/dev/null 2>&1; then
      [ -z "$changed" ] || postfix reload >&2
    else
      postfix start >&2
    fi
  fi
}

if ! apply; then
  log "Postfix did not take the configuration for role $role; restoring the previous files"
  if [ -n "$changed" ]; then
    rollback
    apply || log "and Postfix did not take the previous files either"
  fi
  exit 1
fi

rm -f "$POSTFIX_DIR/master.cf.muster-old" "$POSTFIX_DIR/main.cf.muster-old"
if [ -n "$changed" ]; then
  log "now serving $role (was ${previous:-none})"
else
  log "already configured for $role (was ${previous:-none}); nothing to change"
fi
exit 0
