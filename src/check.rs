//! `muster check FILE…`: validate policies, print every problem, exit non-zero on any.

use std::path::PathBuf;
use std::process::ExitCode;

use muster_controller::policy;

/// Arguments of `muster check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Policy files to validate.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub(crate) fn run(args: &CheckArgs) -> ExitCode {
    let mut failed = false;
    for file in &args.files {
        match policy::load_file(file) {
            Ok(p) => println!(
                "{}: ok (zone {}, {} roles, {} hosts)",
                file.display(),
                p.zone,
                p.roles.len(),
                p.hosts.len()
            ),
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
