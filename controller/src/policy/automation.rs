//! Checks `schedules:` and `autoscale:`. Their meaning arrives with the
//! scheduler and the autoscaler; here they are checked for form and for
//! references to roles, and kept as written.

use std::time::Duration;

use super::locate::YamlPath;
use super::raw::{RawAutoscale, RawSchedule};
use super::validate::{Checker, Ctx};
use super::{Autoscale, Schedule, values};

/// The cooldown of a load rule when the policy does not say.
const DEFAULT_COOLDOWN: Duration = Duration::from_secs(120);

/// The timezone of a schedule when the policy does not say.
const DEFAULT_TIMEZONE: &str = "UTC";

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
    let cron = raw.cron.as_str().trim().to_owned();
    let fields = cron.split_whitespace().count();
    if fields != 5 {
        c.report(
            &at.key("cron"),
            format!(
                "cron \"{cron}\" has {fields} fields; expected 5 (minute hour day-of-month month day-of-week)"
            ),
        );
    }
    let positive = |text: &str| match values::duration(text)? {
        Duration::ZERO => Err("a schedule window must last longer than 0".to_owned()),
        d => Ok(d),
    };
    let duration = c
        .field(at, "for", Some(&raw.duration), positive)
        .unwrap_or(Duration::ZERO);
    let timezone = match &raw.timezone {
        None => DEFAULT_TIMEZONE.to_owned(),
        Some(tz) => {
            let tz = tz.as_str().trim();
            if tz.is_empty() || tz.contains(char::is_whitespace) {
                let message =
                    format!("timezone \"{tz}\" is not a timezone name like UTC or America/Los_Angeles");
                c.report(&at.key("timezone"), message);
            }
            tz.to_owned()
        }
    };

    let want_at = at.key("want");
    if raw.want.0.is_empty() {
        c.report(
            &want_at,
            "want is empty; say how many hosts each role should have, like `smtp-out: 4`",
        );
    }
    c.unique_keys(&want_at, &raw.want.0, "role");
    let mut rest: Option<&str> = None;
    for (role, count) in &raw.want.0 {
        let value_at = want_at.key(role);
        ctx.role_ref(c, &value_at, role, || {
            format!("schedule \"{name}\" wants role \"{role}\"")
        });
        match values::want(count.as_str()) {
            Err(message) => c.report(&value_at, format!("{role}: {message}")),
            Ok(()) if count.as_str().trim() != "rest" => {}
            Ok(()) => match rest {
                Some(first) => c.report(
                    &value_at,
                    format!("only one role can take the rest; \"{first}\" already does"),
                ),
                None => rest = Some(role),
            },
        }
    }
    let want = raw
        .want
        .0
        .iter()
        .map(|(role, count)| (role.clone(), count.as_str().trim().to_owned()))
        .collect();
    Schedule {
        name,
        cron,
        duration,
        timezone,
        want,
    }
}

pub(super) fn autoscale(c: &mut Checker, ctx: &Ctx, raw: Vec<RawAutoscale>) -> Vec<Autoscale> {
    let at = YamlPath::root().key("autoscale");
    raw.into_iter()
        .enumerate()
        .map(|(i, raw)| rule(c, ctx, &at.index(i), raw))
        .collect()
}

fn rule(c: &mut Checker, ctx: &Ctx, at: &YamlPath, raw: RawAutoscale) -> Autoscale {
    let role = raw.role.as_str().to_owned();
    ctx.role_ref(c, &at.key("role"), &role, || {
        format!("autoscale rule names role \"{role}\"")
    });
    let metric = raw.metric.as_str().trim().to_owned();
    if metric.is_empty() {
        c.report(
            &at.key("metric"),
            "metric is empty; name the agent metric to follow, like queue_depth",
        );
    }
    let target = |text: &str| match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!("\"{}\" is not a positive number", text.trim())),
    };
    let target_per_host = c
        .field(at, "target_per_host", Some(&raw.target_per_host), target)
        .unwrap_or(1.0);

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
        ctx.role_ref(c, &at.key("give_back_to"), taker, subject);
    }
    Autoscale {
        cooldown: c
            .field(at, "cooldown", raw.cooldown.as_ref(), values::duration)
            .unwrap_or(DEFAULT_COOLDOWN),
        role,
        metric,
        target_per_host,
        borrow_from,
        give_back_to,
    }
}
