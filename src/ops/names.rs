//! `muster record add|ls|rm` and `muster alias set|rm|ls`: the zone's
//! static records and aliases, through the REST API. Reads take a read
//! token, changes an admin token (its name is the events' actor).

use muster_api::{AliasView, NewRecordBody, RecordQuery, StaticRecordView};

use super::table::{Cell, Style, Table};
use super::{ApiArgs, Ctx, OpsError, print, print_json};

/// `muster record …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RecordCommand {
    /// Add a static record: `muster record add _dmarc TXT "v=DMARC1; p=none"`.
    ///
    /// NAME is relative to the zone (`@` is the apex) or absolute (ending
    /// in a dot). DATA is presentation format: `10 mx1` for MX, text for
    /// TXT (unquoted text is one string, split at 255 bytes; quoted
    /// strings stay as written), `TYPEnnn` takes `\# LENGTH HEX`. The
    /// server refuses what the zone cannot hold (a CNAME at the apex or
    /// beside other data, a name outside the zone) and says why.
    #[command(after_help = super::EXIT_STATUS)]
    Add(RecordAddArgs),
    /// List the static records: the policy's and those added here.
    #[command(alias = "list", after_help = super::EXIT_STATUS)]
    Ls(RecordLsArgs),
    /// Remove records added with `record add`: the one with DATA, or every
    /// one of NAME and TYPE. The policy's records are removed in the policy.
    #[command(alias = "remove", after_help = super::EXIT_STATUS)]
    Rm(RecordRmArgs),
}

/// `muster alias …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AliasCommand {
    /// Point an alias at a host (new, or a move): `muster alias set john.pop ms2`.
    ///
    /// The alias is published as a CNAME to the host's own name. It stays
    /// when the host dies or is cordoned (a mapping, not a pool);
    /// `muster hosts` and the status page flag it then.
    #[command(after_help = super::EXIT_STATUS)]
    Set(AliasSetArgs),
    /// Remove an alias set here (the policy's are removed in the policy).
    #[command(alias = "remove", after_help = super::EXIT_STATUS)]
    Rm(AliasNameArgs),
    /// List the aliases with the host each follows.
    #[command(alias = "list", after_help = super::EXIT_STATUS)]
    Ls(RecordLsArgs),
}

/// `muster record add NAME TYPE DATA… [--ttl N]`.
#[derive(Debug, clap::Args)]
pub(crate) struct RecordAddArgs {
    /// The owner: relative to the zone (`_dmarc`, `@`) or absolute.
    name: String,
    /// The type: A, AAAA, TXT, CNAME, MX, SRV, CAA, TLSA, PTR, NS or TYPEnnn.
    #[arg(value_name = "TYPE")]
    rtype: String,
    /// The data; several words are joined with spaces (`10 mx1`).
    #[arg(required = true, num_args = 1..)]
    data: Vec<String>,
    /// TTL in seconds (default: the policy's `ttl`).
    #[arg(long, value_name = "N")]
    ttl: Option<u32>,
    #[command(flatten)]
    api: ApiArgs,
}

/// `muster record rm NAME TYPE [DATA…]`.
#[derive(Debug, clap::Args)]
pub(crate) struct RecordRmArgs {
    /// The owner: relative to the zone or absolute.
    name: String,
    /// The type.
    #[arg(value_name = "TYPE")]
    rtype: String,
    /// Only the record with this data (default: every one of NAME and TYPE).
    #[arg(num_args = 0..)]
    data: Vec<String>,
    #[command(flatten)]
    api: ApiArgs,
}

/// Only the API flags.
#[derive(Debug, clap::Args)]
pub(crate) struct RecordLsArgs {
    #[command(flatten)]
    api: ApiArgs,
}

/// `muster alias set NAME HOST`.
#[derive(Debug, clap::Args)]
pub(crate) struct AliasSetArgs {
    /// The alias: relative to the zone (`john.pop`) or absolute.
    name: String,
    /// The host it follows.
    host: String,
    #[command(flatten)]
    api: ApiArgs,
}

/// `muster alias rm NAME`.
#[derive(Debug, clap::Args)]
pub(crate) struct AliasNameArgs {
    /// The alias: relative to the zone or absolute.
    name: String,
    #[command(flatten)]
    api: ApiArgs,
}

/// Runs a `record` command.
pub(super) async fn record(command: RecordCommand) -> Result<(), OpsError> {
    match command {
        RecordCommand::Add(a) => {
            let ctx = Ctx::try_new(&a.api)?;
            let body = NewRecordBody {
                name: a.name,
                rtype: a.rtype,
                data: a.data.join(" "),
                ttl: a.ttl,
            };
            let reply = ctx.client.add_record(&body).await?;
            if ctx.json {
                return print_json(&reply.json);
            }
            print(&format!("added {}\n", line(&reply.value)))
        }
        RecordCommand::Ls(a) => {
            let ctx = Ctx::try_new(&a.api)?;
            let reply = ctx.client.records().await?;
            if ctx.json {
                return print_json(&reply.json);
            }
            print(&records_table(&reply.value, ctx.colour))
        }
        RecordCommand::Rm(a) => {
            let ctx = Ctx::try_new(&a.api)?;
            let query = RecordQuery {
                name: Some(a.name),
                rtype: Some(a.rtype),
                data: (!a.data.is_empty()).then(|| a.data.join(" ")),
            };
            let reply = ctx.client.remove_records(&query).await?;
            if ctx.json {
                return print_json(&reply.json);
            }
            let lines: String = reply
                .value
                .removed
                .iter()
                .map(|r| format!("removed {}\n", line(r)))
                .collect();
            print(&lines)
        }
    }
}

/// Runs an `alias` command.
pub(super) async fn alias(command: AliasCommand) -> Result<(), OpsError> {
    match command {
        AliasCommand::Set(a) => {
            let ctx = Ctx::try_new(&a.api)?;
            let reply = ctx.client.set_alias(&a.name, &a.host).await?;
            if ctx.json {
                return print_json(&reply.json);
            }
            let v = &reply.value;
            let mut text = format!("{} -> {}", short(&v.name), v.host);
            if let Some(flag) = &v.flag {
                text.push_str(&format!(
                    " (host {flag}: the alias points there anyway; move it when the host is back)"
                ));
            }
            text.push('\n');
            print(&text)
        }
        AliasCommand::Rm(a) => {
            let ctx = Ctx::try_new(&a.api)?;
            ctx.client.remove_alias(&a.name).await?;
            if ctx.json {
                let json = serde_json::json!({ "removed": a.name });
                return print_json(&json.to_string());
            }
            print(&format!("{}: alias removed\n", a.name))
        }
        AliasCommand::Ls(a) => {
            let ctx = Ctx::try_new(&a.api)?;
            let reply = ctx.client.aliases().await?;
            if ctx.json {
                return print_json(&reply.json);
            }
            print(&aliases_table(&reply.value, ctx.colour))
        }
    }
}

/// Most of a record's data a table shows; `--json` has all of it.
const DATA_WIDTH: usize = 72;

/// `NAME TTL TYPE DATA`, as in a zone file.
fn line(r: &StaticRecordView) -> String {
    format!("{} {} {} {}", r.name, r.ttl, r.rtype, r.data)
}

/// A name without its final dot.
fn short(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}

fn clip(text: &str) -> String {
    if text.chars().count() <= DATA_WIDTH {
        return text.to_owned();
    }
    let head: String = text.chars().take(DATA_WIDTH - 1).collect();
    format!("{head}…")
}

fn records_table(records: &[StaticRecordView], colour: bool) -> String {
    if records.is_empty() {
        return "no static records\n".to_owned();
    }
    let mut t = Table::with_header(&["NAME", "TTL", "TYPE", "SOURCE", "DATA"]);
    for r in records {
        t.row(vec![
            r.name.as_str().into(),
            r.ttl.to_string().into(),
            r.rtype.as_str().into(),
            Cell::new(r.source.word(), Style::Dim),
            clip(&r.data).into(),
        ]);
    }
    t.render(colour)
}

fn aliases_table(aliases: &[AliasView], colour: bool) -> String {
    if aliases.is_empty() {
        return "no aliases\n".to_owned();
    }
    let mut t = Table::with_header(&["ALIAS", "HOST", "SOURCE", "NOTES"]);
    for a in aliases {
        let note = match a.flag.as_deref() {
            Some(flag) => Cell::new(format!("host {flag}: still points there"), Style::Red),
            None => "".into(),
        };
        t.row(vec![
            short(&a.name).into(),
            a.host.as_str().into(),
            Cell::new(a.source.word(), Style::Dim),
            note,
        ]);
    }
    t.render(colour)
}

#[cfg(test)]
mod tests {
    use muster_api::NameSource;

    use super::*;

    #[test]
    fn tables_show_sources_and_flags() {
        let records = [StaticRecordView {
            name: "_dmarc.lists.example.test.".to_owned(),
            rtype: "TXT".to_owned(),
            ttl: 300,
            data: format!("\"{}\"", "x".repeat(100)),
            source: NameSource::Api,
        }];
        let text = records_table(&records, false);
        assert!(text.starts_with("NAME"), "{text}");
        assert!(text.contains("api") && text.contains('…'), "{text}");
        let aliases = [AliasView {
            name: "john.pop.lists.example.test.".to_owned(),
            host: "ms1".to_owned(),
            source: NameSource::Policy,
            flag: Some("dead".to_owned()),
        }];
        let text = aliases_table(&aliases, false);
        assert!(text.contains("john.pop.lists.example.test  ms1"), "{text}");
        assert!(text.contains("host dead"), "{text}");
        assert_eq!(records_table(&[], false), "no static records\n");
    }
}
