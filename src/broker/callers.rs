//! Who asks (as the kernel says) and whom a policy rule names: uids, user
//! names, gids, group names.

use serde::Deserialize;

/// Who is asking, as the kernel tells it (never as the request says).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    /// The primary group, then the supplementary ones.
    pub gids: Vec<u32>,
    pub pid: i32,
    pub user: Option<String>,
    pub groups: Vec<String>,
    /// The caller's executable, where the kernel shows it.
    pub exe: Option<String>,
}

impl Caller {
    /// `uid 1001 (alice)`, for reasons and logs.
    pub fn describe(&self) -> String {
        match &self.user {
            Some(u) => format!("uid {} ({u})", self.uid),
            None => format!("uid {}", self.uid),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Callers {
    #[serde(default)]
    uids: Vec<u32>,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    gids: Vec<u32>,
    #[serde(default)]
    groups: Vec<String>,
}

impl Callers {
    pub(super) fn include(&self, c: &Caller) -> bool {
        self.uids.contains(&c.uid)
            || c.user.as_ref().is_some_and(|u| self.users.contains(u))
            || c.gids.iter().any(|g| self.gids.contains(g))
            || c.groups.iter().any(|g| self.groups.contains(g))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.uids.is_empty()
            && self.users.is_empty()
            && self.gids.is_empty()
            && self.groups.is_empty()
    }
}
