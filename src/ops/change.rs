//! The write commands (an admin token): `move`, `drain`, `cordon`,
//! `uncordon`, `pin`, `unpin`, `register`, `remove`, `reload`. Each prints
//! one line saying what the server did, or with `--json` its answer.

use std::collections::BTreeMap;
use std::net::IpAddr;

use muster_api::client::Reply;
use muster_api::{HostView, MoveQuery, NewHostBody};

use super::{Ctx, OpsError, print, print_json};

/// `muster move HOST ROLE [--now] [--force]`.
pub(super) async fn move_host(
    ctx: &Ctx,
    host: &str,
    role: &str,
    now: bool,
    force: bool,
) -> Result<(), OpsError> {
    let reply = ctx
        .client
        .move_host(host, role, &MoveQuery { now, force })
        .await?;
    if ctx.json {
        return print_json(&reply.json);
    }
    let m = reply.value;
    print(&if m.now {
        format!("{}: moving to {} now, without a drain\n", m.host, m.role)
    } else {
        format!(
            "{}: moving to {}: draining first (out of DNS until its work is done)\n",
            m.host, m.role
        )
    })
}

/// `muster drain HOST [--force]`.
pub(super) async fn drain(ctx: &Ctx, host: &str, force: bool) -> Result<(), OpsError> {
    let reply = ctx.client.drain(host, force).await?;
    done(ctx, reply, "draining out of its role")
}

/// `muster cordon HOST [--force]`.
pub(super) async fn cordon(ctx: &Ctx, host: &str, force: bool) -> Result<(), OpsError> {
    let reply = ctx.client.cordon(host, force).await?;
    done(ctx, reply, "cordoned: out of automation and DNS")
}

/// `muster uncordon HOST`.
pub(super) async fn uncordon(ctx: &Ctx, host: &str) -> Result<(), OpsError> {
    let reply = ctx.client.uncordon(host).await?;
    done(ctx, reply, "uncordoned: back in automation")
}

/// `muster pin HOST [ROLE] [--force]`.
pub(super) async fn pin(ctx: &Ctx, host: &str, role: Option<&str>, force: bool) -> Result<(), OpsError> {
    let reply = ctx.client.pin(host, role, force).await?;
    let what = match reply.value.drain.as_ref().and_then(|d| d.to.clone()) {
        Some(to) => format!("pinned: moving to {to} first, then automation leaves it there"),
        None => "pinned: automation never moves it".to_owned(),
    };
    done(ctx, reply, &what)
}

/// `muster unpin HOST`.
pub(super) async fn unpin(ctx: &Ctx, host: &str) -> Result<(), OpsError> {
    let reply = ctx.client.unpin(host).await?;
    done(ctx, reply, "unpinned: automation may move it again")
}

/// `muster register HOST --address IP… [--role R] [--label K=V…]`.
pub(super) async fn register(
    ctx: &Ctx,
    name: String,
    addresses: Vec<IpAddr>,
    role: Option<String>,
    labels: BTreeMap<String, String>,
) -> Result<(), OpsError> {
    let body = NewHostBody {
        name,
        addresses,
        role,
        labels,
    };
    let reply = ctx.client.register(&body).await?;
    done(ctx, reply, "registered as a static host")
}

/// `muster remove HOST [--force]`. The server answers 204 without a body;
/// `--json` prints `{"removed": HOST}`.
pub(super) async fn remove(ctx: &Ctx, host: &str, force: bool) -> Result<(), OpsError> {
    ctx.client.remove(host, force).await?;
    if ctx.json {
        let mut quoted = String::new();
        for c in host.chars() {
            match c {
                '"' | '\\' => {
                    quoted.push('\\');
                    quoted.push(c);
                }
                c if c.is_control() => quoted.push_str(&format!("\\u{:04x}", c as u32)),
                c => quoted.push(c),
            }
        }
        return print_json(&format!("{{\"removed\":\"{quoted}\"}}"));
    }
    print(&format!("{host}: removed\n"))
}

/// `muster reload`.
pub(super) async fn reload(ctx: &Ctx) -> Result<(), OpsError> {
    let reply = ctx.client.reload().await?;
    if ctx.json {
        return print_json(&reply.json);
    }
    let r = reply.value;
    print(&match r.serial {
        Some(serial) => format!("policy {} in force; zone serial {serial}\n", r.policy),
        None => format!("policy {} in force; the zone did not change\n", r.policy),
    })
}

/// Prints the server's JSON, or `HOST: what (role R, state S, in DNS)`.
fn done(ctx: &Ctx, reply: Reply<HostView>, what: &str) -> Result<(), OpsError> {
    if ctx.json {
        return print_json(&reply.json);
    }
    let h = reply.value;
    print(&format!(
        "{}: {what} (role {}, state {}, {})\n",
        h.name,
        h.role.as_deref().unwrap_or("none"),
        h.state,
        if h.published { "in DNS" } else { "not in DNS" }
    ))
}
