//! `muster check FILE…`: validate policies, print every problem and
//! warning, exit non-zero on any problem (and on warnings with `--strict`).

use std::path::PathBuf;
use std::process::ExitCode;

use muster_controller::policy;

/// Arguments of `muster check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Policy files to validate.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Treat warnings (overlapping windows, mins the inventory cannot
    /// fill) as errors.
    #[arg(long)]
    strict: bool,
}

pub(crate) fn run(args: &CheckArgs) -> ExitCode {
    let mut failed = false;
    for file in &args.files {
        match policy::load_file(file) {
            Ok(p) => {
                for warning in &p.warnings {
                    eprintln!(
                        "{}:{}:{}: warning: {}",
                        warning.file.display(),
                        warning.line,
                        warning.column,
                        warning.message
                    );
                }
                let what = format!(
                    "zone {}, {}, {}, {}, {}",
                    p.zone,
                    count(p.roles.len(), "role"),
                    count(p.hosts.len(), "host"),
                    count(p.schedules.len(), "schedule"),
                    count(p.autoscale.len(), "load rule"),
                );
                let warnings = count(p.warnings.len(), "warning");
                if args.strict && !p.warnings.is_empty() {
                    failed = true;
                    let them = if p.warnings.len() == 1 {
                        "it an error"
                    } else {
                        "them errors"
                    };
                    eprintln!("{}: failed ({warnings}; --strict makes {them})", file.display());
                } else if p.warnings.is_empty() {
                    println!("{}: ok ({what})", file.display());
                } else {
                    println!("{}: ok ({what}, {warnings})", file.display());
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("{e}");
                let problems = e.problems().len();
                if problems > 0 {
                    eprintln!("{}: failed ({})", file.display(), count(problems, "problem"));
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `1 schedule`, `2 schedules`.
fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}
