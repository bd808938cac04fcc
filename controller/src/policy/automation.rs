//! Checks `default_want:`, `schedules:` and `autoscale:` and builds their
//! typed form: parsed cron expressions, timezones from the IANA database,
//! host counts, load rules with their defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::tz::TimeZone;

use super::locate::YamlPath;
use super::raw::{Entries, RawAutoscale, RawSchedule, Text};
use super::validate::{Checker, Ctx};
use super::{Aggregate, Autoscale, Cron, Role, Schedule, WantCount, values};

/// The cooldown of a load rule when the policy does not say.
const DEFAULT_COOLDOWN: Duration = Duration::from_secs(60);

/// The stabilization window of a load rule when the policy does not say.
const DEFAULT_STABILIZATION: Duration = Duration::from_secs(300);

/// The timezone of a schedule when the policy does not say.
const DEFAULT_TIMEZONE: &str = "UTC";

/// A window longer than this is a different default, not a window.
const MAX_WINDOW: Duration = Duration::from_secs(7 * 86_400);

/// The metrics agents report, for load rules to follow.
pub(super) const METRICS: [&str; 7] = [
    "queue_depth",
    "load1",
    "load5",
    "load15",
    "cpu",
    "mem_used",
    "disk_free",
];

pub(super) fn default_want(
    c: &mut Checker,
    ctx: &Ctx,
    raw: Option<Entries<Text>>,
) -> BTreeMap<String, WantCount> {
    match raw {
        None => BTreeMap::new(),
        Some(raw) => want(
            c,
            ctx,
            &YamlPath::root().key("default_want"),
            &raw,
            "default_want",
        ),
    }
}

pub(super) fn schedules(c: &mut Checker, ctx: &Ctx, raw: Vec<RawSchedule>) -> Vec<Schedule> {
    let at = YamlPath::root().key("schedules");
    let mut schedules: Vec<Schedule> = Vec::with_capacity(raw.len());
    for (i, raw) in raw.into_iter().enumerate() {
        let schedule = schedule(c, ctx, &at.index(i), raw);
        if !schedule.name.is_empty() && schedules.iter().any(|s| s.name == schedule.name) {
            let message = format!(
                "schedule \"{}\" is defined twice; schedule names must be unique",
                schedule.name
            );
            c.report(&at.index(i).key("name"), message);
        }
        schedules.push(schedule);
    }
    schedules
}

fn schedule(c: &mut Checker, ctx: &Ctx, at: &YamlPath, raw: RawSchedule) -> Schedule {
    let name = raw.name.as_str().trim().to_owned();
    if name.is_empty() {
        c.report(
            &at.key("name"),
            "a schedule needs a non-empty name (it is the actor in events)",
        );
    }
    let cron = c
        .value(
            &at.key("cron"),
            Cron::parse(raw.cron.as_str()).map_err(|e| format!("cron: {e}")),
        )
        .unwrap_or_else(|| Cron::parse("0 0 1 1 *").unwrap_or_else(|_| unreachable!("a valid cron")));
    let window = |text: &str| match values::duration(text)? {
        Duration::ZERO => Err("a schedule window must last longer than 0".to_owned()),
        d if d > MAX_WINDOW => Err(format!(
            "{} is longer than a week; a window that long is a default: use default_want",
            text.trim()
        )),
        d => Ok(d),
    };
    let duration = c
        .field(at, "for", Some(&raw.duration), window)
        .unwrap_or(Duration::ZERO);
    let tz_name = raw
        .timezone
        .as_ref()
        .map_or(DEFAULT_TIMEZONE, |tz| tz.as_str().trim());
    let timezone = match TimeZone::get(tz_name) {
        Ok(tz) => tz,
        Err(_) => {
            let message = format!(
                "timezone \"{tz_name}\" is not in the IANA timezone database; \
                 write a name like UTC, Europe/Paris or America/Los_Angeles"
            );
            c.report(&at.key("timezone"), message);
            TimeZone::UTC
        }
    };
    let want_at = at.key("want");
    let subject = format!("schedule \"{name}\"");
    let want = want(c, ctx, &want_at, &raw.want, &subject);
    Schedule {
        name,
        cron,
        duration,
        timezone,
        want,
    }
}

/// A `want:` mapping: role to host count, one `rest` at most.
fn want(
    c: &mut Checker,
    ctx: &Ctx,
    at: &YamlPath,
    raw: &Entries<Text>,
    subject: &str,
) -> BTreeMap<String, WantCount> {
    if raw.0.is_empty() {
        c.report(
            at,
            "want is empty; say how many hosts each role should have, like `smtp-out: 4`",
        );
    }
    c.unique_keys(at, &raw.0, "role");
    let mut rest: Option<&str> = None;
    let mut out = BTreeMap::new();
    for (role, count) in &raw.0 {
        let value_at = at.key(role);
        ctx.role_ref(c, &value_at, role, || format!("{subject} wants role \"{role}\""));
        match values::want(count.as_str()) {
            Err(message) => c.report(&value_at, format!("{role}: {message}")),
            Ok(WantCount::Rest) => match rest {
                Some(first) => c.report(
                    &value_at,
                    format!("only one role can take the rest; \"{first}\" already does"),
                ),
                None => {
                    rest = Some(role);
                    out.insert(role.clone(), WantCount::Rest);
                }
            },
            Ok(count) => {
                out.insert(role.clone(), count);
            }
        }
    }
    out
}

pub(super) fn autoscale(
    c: &mut Checker,
    ctx: &Ctx,
    roles: &BTreeMap<String, Role>,
    raw: Vec<RawAutoscale>,
) -> Vec<Autoscale> {
    let at = YamlPath::root().key("autoscale");
    let mut rules: Vec<Autoscale> = Vec::with_capacity(raw.len());
    for (i, raw) in raw.into_iter().enumerate() {
        let rule = rule(c, ctx, roles, &at.index(i), raw);
        if rules.iter().any(|r| r.role == rule.role) {
            let message = format!(
                "role \"{}\" already has a load rule; one rule per role (combine them)",
                rule.role
            );
            c.report(&at.index(i).key("role"), message);
        }
        rules.push(rule);
    }
    rules
}

fn rule(
    c: &mut Checker,
    ctx: &Ctx,
    roles: &BTreeMap<String, Role>,
    at: &YamlPath,
    raw: RawAutoscale,
) -> Autoscale {
    let role = raw.role.as_str().to_owned();
    ctx.role_ref(c, &at.key("role"), &role, || {
        format!("autoscale rule names role \"{role}\"")
    });
    let metric = raw.metric.as_str().trim().to_owned();
    if !METRICS.contains(&metric.as_str()) {
        c.report(
            &at.key("metric"),
            format!(
                "metric \"{metric}\" is not one agents report; use one of {}",
                METRICS.join(", ")
            ),
        );
    }
    let aggregate = c
        .field(at, "aggregate", raw.aggregate.as_ref(), |text| {
            match text.trim() {
                "sum" => Ok(Aggregate::Sum),
                "mean" => Ok(Aggregate::Mean),
                other => Err(format!("\"{other}\" is not sum or mean")),
            }
        })
        .unwrap_or(Aggregate::Sum);
    let target = |text: &str| match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!("\"{}\" is not a positive number", text.trim())),
    };
    let target_per_host = c
        .field(at, "target_per_host", Some(&raw.target_per_host), target)
        .unwrap_or(1.0);
    let role_min = roles.get(&role).map_or(0, |r| r.min);
    let count = |text: &str| values::integer(text, 0, 100_000).map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let min = c.field(at, "min", raw.min.as_ref(), count).unwrap_or(role_min);
    let max = c.field(at, "max", raw.max.as_ref(), count);
    if let Some(max) = max
        && max < min
    {
        c.report(&at.key("max"), format!("max {max} is below min {min}"));
    }
    let step = c
        .field(at, "step", raw.step.as_ref(), |t| {
            values::integer(t, 1, 10_000).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        })
        .unwrap_or(1);

    let borrow_at = at.key("borrow_from");
    let mut borrow_from: Vec<String> = Vec::new();
    for (i, lender) in raw.borrow_from.iter().enumerate() {
        let lender = lender.as_str();
        let subject = || format!("autoscale rule for \"{role}\" borrows from role \"{lender}\"");
        if !ctx.role_ref(c, &borrow_at.index(i), lender, subject) {
            continue;
        }
        if lender == role {
            c.report(
                &borrow_at.index(i),
                format!("role \"{role}\" cannot borrow hosts from itself"),
            );
        } else if borrow_from.iter().any(|earlier| earlier == lender) {
            c.report(&borrow_at.index(i), format!("role \"{lender}\" is listed twice"));
        } else {
            borrow_from.push(lender.to_owned());
        }
    }
    let give_back_to = raw.give_back_to.as_ref().map(|text| text.as_str().to_owned());
    if let Some(taker) = &give_back_to {
        let subject = || format!("autoscale rule for \"{role}\" gives back to role \"{taker}\"");
        if ctx.role_ref(c, &at.key("give_back_to"), taker, subject) && *taker == role {
            c.report(
                &at.key("give_back_to"),
                format!("role \"{role}\" cannot give hosts back to itself"),
            );
        }
    }
    let name = match &raw.name {
        Some(name) if !name.as_str().trim().is_empty() => name.as_str().trim().to_owned(),
        Some(_) => {
            c.report(
                &at.key("name"),
                "name is empty; leave it out to get autoscale-<role>",
            );
            String::new()
        }
        None => format!("autoscale-{role}"),
    };
    Autoscale {
        cooldown: c
            .field(at, "cooldown", raw.cooldown.as_ref(), values::duration)
            .unwrap_or(DEFAULT_COOLDOWN),
        stabilization: c
            .field(at, "stabilization", raw.stabilization.as_ref(), values::duration)
            .unwrap_or(DEFAULT_STABILIZATION),
        name,
        role,
        metric,
        aggregate,
        target_per_host,
        min,
        max,
        borrow_from,
        give_back_to,
        step,
    }
}
