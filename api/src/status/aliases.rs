//! The status page's aliases card: every alias with the host it follows,
//! those whose host is dead, cordoned or gone first and flagged (the alias
//! stays: it is a mapping, not a pool, so an operator moves it).

use std::fmt::Write as _;

use super::page::Esc;

/// How many aliases the card lists; the flagged ones always come first.
const SHOWN: usize = 50;

/// One alias on the page.
pub(crate) struct AliasRow {
    /// The alias, without the zone's dot.
    pub(crate) name: String,
    /// The host it follows.
    pub(crate) host: String,
    /// `dead`, `cordoned`, `missing`, or nothing to say.
    pub(crate) flag: Option<&'static str>,
}

/// Sorts `aliases` flagged first (by name within each group).
pub(crate) fn order(aliases: &mut [AliasRow]) {
    aliases.sort_by(|a, b| {
        b.flag
            .is_some()
            .cmp(&a.flag.is_some())
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// The card, or nothing when the zone has no alias.
pub(crate) fn card(out: &mut String, aliases: &[AliasRow]) {
    if aliases.is_empty() {
        return;
    }
    let flagged = aliases.iter().filter(|a| a.flag.is_some()).count();
    let _ = write!(
        out,
        r#"<section class="card aliases" id="aliases"><header><h2>Aliases <span class="sub">{} · CNAME to the host's own name</span></h2>{}</header><table><thead><tr><th>alias</th><th>host</th><th></th></tr></thead><tbody>"#,
        aliases.len(),
        if flagged > 0 {
            format!(r#"<span class="warn">{flagged} to a host out of service</span>"#)
        } else {
            String::new()
        }
    );
    for a in aliases.iter().take(SHOWN) {
        let flag = match a.flag {
            Some(why) => format!(
                r#"<span class="warn" title="the alias stays; `muster alias set` moves it">host {why}</span>"#
            ),
            None => String::new(),
        };
        let _ = write!(
            out,
            r#"<tr class="alias{}"><td>{}</td><td><b>{}</b></td><td>{flag}</td></tr>"#,
            if a.flag.is_some() { " flagged" } else { "" },
            Esc(&a.name),
            Esc(&a.host),
        );
    }
    out.push_str("</tbody></table>");
    if aliases.len() > SHOWN {
        let _ = write!(
            out,
            r#"<p class="empty">and {} more: <code>muster alias ls</code></p>"#,
            aliases.len() - SHOWN
        );
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, host: &str, flag: Option<&'static str>) -> AliasRow {
        AliasRow {
            name: name.to_owned(),
            host: host.to_owned(),
            flag,
        }
    }

    #[test]
    fn flagged_aliases_come_first_and_say_why() {
        let mut aliases = vec![
            row("a.pop", "ms1", None),
            row("z.pop", "ms2", Some("dead")),
            row("<b>", "ms3", Some("cordoned")),
        ];
        order(&mut aliases);
        assert_eq!(aliases[0].name, "<b>");
        assert_eq!(aliases[1].name, "z.pop");
        let mut out = String::new();
        card(&mut out, &aliases);
        assert!(out.contains("2 to a host out of service"), "{out}");
        assert!(
            out.contains("host dead") && out.contains("host cordoned"),
            "{out}"
        );
        assert!(
            out.contains("&lt;b&gt;") && !out.contains("<b><"),
            "escaped: {out}"
        );
        let mut none = String::new();
        card(&mut none, &[]);
        assert!(none.is_empty());
    }
}
