//! What the agent remembers across restarts, in `state_dir`:
//!
//! - `role`: the role the box holds, so a restarted agent does not run the
//!   hook again for a role it already holds;
//! - `token`: the host's own token, when the controller issued one at
//!   enrolment (mode 0600); it replaces the enrolment token from then on.
//!
//! Both are written atomically: a temporary file in the same directory,
//! synced, then renamed over the old one, so a crash leaves the old content
//! or the new, never half of either.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::AgentError;
use crate::config::Token;

const ROLE: &str = "role";
const TOKEN: &str = "token";

/// The agent's state directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Creates `dir` if needed; fails early when it cannot be.
    pub fn try_new(dir: &Path) -> Result<Self, AgentError> {
        std::fs::create_dir_all(dir).map_err(|source| AgentError::State {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Self { dir: dir.to_owned() })
    }

    /// `state_dir/role`.
    pub fn role_path(&self) -> PathBuf {
        self.dir.join(ROLE)
    }

    /// `state_dir/token`.
    pub fn token_path(&self) -> PathBuf {
        self.dir.join(TOKEN)
    }

    /// The role remembered, `None` when there is none (no file, or empty).
    pub fn load_role(&self) -> Result<Option<String>, AgentError> {
        self.read_first_line(ROLE)
    }

    /// Remembers `role`, atomically.
    pub fn store_role(&self, role: &str) -> Result<(), AgentError> {
        self.write(ROLE, role, 0o644)
    }

    /// The host token the controller issued, if one was stored.
    pub fn load_token(&self) -> Result<Option<Token>, AgentError> {
        Ok(self.read_first_line(TOKEN)?.map(Token::new))
    }

    /// Remembers the host token, readable by the agent's user only.
    pub fn store_token(&self, token: &Token) -> Result<(), AgentError> {
        self.write(TOKEN, token.expose(), 0o600)
    }

    fn read_first_line(&self, file: &str) -> Result<Option<String>, AgentError> {
        let path = self.dir.join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text
                .lines()
                .next()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(AgentError::State { path, source }),
        }
    }

    fn write(&self, file: &str, value: &str, mode: u32) -> Result<(), AgentError> {
        let path = self.dir.join(file);
        let tmp = self.dir.join(format!(".{file}.tmp"));
        let fail = |source| AgentError::State {
            path: path.clone(),
            source,
        };
        let _ = std::fs::remove_file(&tmp);
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(fail)?;
        out.write_all(format!("{value}\n").as_bytes()).map_err(fail)?;
        out.sync_all().map_err(fail)?;
        drop(out);
        std::fs::rename(&tmp, &path).map_err(fail)?;
        // Make the rename itself durable; not every file system allows
        // syncing a directory, and the data is safe either way.
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_role_survives_a_new_reader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("nested/state");
        let file = StateDir::try_new(&state).expect("creates the dir");
        assert_eq!(file.load_role().expect("reads"), None, "nothing yet");
        file.store_role("smtp-out").expect("writes");
        file.store_role("web").expect("overwrites");
        let again = StateDir::try_new(&state).expect("exists");
        assert_eq!(again.load_role().expect("reads"), Some("web".to_owned()));
        assert_eq!(std::fs::read_to_string(again.role_path()).expect("read"), "web\n");
        let names: Vec<_> = std::fs::read_dir(&state)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["role"], "no temporary file left behind");
    }

    #[test]
    fn an_empty_or_hand_edited_file_is_read_sensibly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = StateDir::try_new(dir.path()).expect("dir");
        std::fs::write(file.role_path(), "").expect("write");
        assert_eq!(file.load_role().expect("reads"), None);
        std::fs::write(file.role_path(), "  bounce  \n# edited by hand\n").expect("write");
        assert_eq!(file.load_role().expect("reads"), Some("bounce".to_owned()));
        // A temporary file left by a crash does not stop the next write.
        std::fs::write(dir.path().join(".role.tmp"), "half").expect("write");
        file.store_role("web").expect("writes");
        assert_eq!(file.load_role().expect("reads"), Some("web".to_owned()));
    }

    #[test]
    fn the_host_token_is_kept_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::try_new(dir.path()).expect("dir");
        assert_eq!(state.load_token().expect("reads"), None);
        state.store_token(&Token::new("abc123")).expect("writes");
        assert_eq!(state.load_token().expect("reads"), Some(Token::new("abc123")));
        let mode = std::fs::metadata(state.token_path())
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn an_unusable_dir_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").expect("write");
        let err = StateDir::try_new(&blocker.join("sub")).expect_err("not a dir");
        assert!(err.to_string().contains("file/sub"), "{err}");
        assert!(!err.is_retryable());
    }
}
