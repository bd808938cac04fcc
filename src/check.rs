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
                failed |= args.strict && !p.warnings.is_empty();
                println!(
                    "{}: ok (zone {}, {} roles, {} hosts, {} schedules, {} load rules{})",
                    file.display(),
                    p.zone,
                    p.roles.len(),
                    p.hosts.len(),
                    p.schedules.len(),
                    p.autoscale.len(),
                    match p.warnings.len() {
                        0 => String::new(),
                        n => format!(", {n} warning(s)"),
                    }
                );
            }
            Err(e) => {
                failed = true;
                eprintln!("{e}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
