//! Fuzzes the policy loader: any text is loaded or rejected with located
//! problems, never a panic. Run with `bench/fuzz.sh policy`.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use muster_controller::policy::{PolicyError, load_str};

/// Lines as YAML counts them: `\r\n`, a lone `\r` and `\n` each end one.
fn yaml_lines(text: &str) -> usize {
    text.replace("\r\n", "\n").chars().filter(|&c| c == '\n' || c == '\r').count() + 1
}

fuzz_target!(|text: &str| {
    let path = Path::new("fuzzed.yaml");
    match load_str(path, text) {
        Ok(_) => {}
        Err(PolicyError::Io { .. }) => panic!("a text has no I/O to fail"),
        Err(PolicyError::Invalid(problems)) => {
            assert!(!problems.is_empty(), "rejected without a reason");
            let lines = yaml_lines(text);
            for p in &problems {
                assert_eq!(p.file, path);
                assert!(p.line >= 1 && p.line <= lines + 1 && p.column >= 1, "{p:?}");
                assert!(!p.message.trim().is_empty(), "{p:?}");
            }
        }
    }
});
