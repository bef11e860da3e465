//! Local accounts from `/etc/passwd`, `/etc/shadow` and `/etc/group`, and
//! what an account's entries say about logging in: a shell that refuses
//! logins, a locked password.

use std::collections::BTreeMap;

use super::system_root::{ReadError, SystemRoot};

/// Shells that refuse interactive logins, by file name.
const NO_LOGIN_SHELLS: [&str; 2] = ["nologin", "false"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

impl Account {
    /// The shell when it refuses logins (`nologin`, `false`).
    pub fn no_login_shell(&self) -> Option<&str> {
        let name = self.shell.rsplit('/').next().unwrap_or_default();
        NO_LOGIN_SHELLS
            .contains(&name)
            .then_some(self.shell.as_str())
    }
}

/// A group's id and listed members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub gid: u32,
    pub members: Vec<String>,
}

/// Whether a password can be used, from the shadow (or passwd) entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Password {
    Usable,
    /// `!...` or `*...`: no password login; keys may still work.
    Locked,
    /// The shadow file could not be read.
    Unknown,
}

#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub users: Vec<Account>,
    password_fields: BTreeMap<String, String>,
    shadow_readable: bool,
    groups: BTreeMap<String, Group>,
}

impl Accounts {
    /// Reads the three files under `root`. Only `/etc/passwd` is required;
    /// without `/etc/shadow` password locks are unknown.
    pub fn load(root: &SystemRoot) -> Result<Self, ReadError> {
        let read = |path: &str| root.read(&root.path(path));
        let passwd = read("/etc/passwd")?;
        let shadow = read("/etc/shadow").ok();
        let group = read("/etc/group").unwrap_or_default();
        Ok(Self::parse(&passwd, shadow.as_deref(), &group))
    }

    pub fn parse(passwd: &str, shadow: Option<&str>, group: &str) -> Self {
        let mut accounts = Accounts {
            shadow_readable: shadow.is_some(),
            ..Accounts::default()
        };
        for fields in records(passwd, 7) {
            let (Ok(uid), Ok(gid)) = (fields[2].parse(), fields[3].parse()) else {
                continue;
            };
            accounts
                .password_fields
                .insert(fields[0].to_owned(), fields[1].to_owned());
            accounts.users.push(Account {
                name: fields[0].to_owned(),
                uid,
                gid,
                home: fields[5].to_owned(),
                shell: fields[6].to_owned(),
            });
        }
        for fields in records(shadow.unwrap_or_default(), 2) {
            accounts
                .password_fields
                .insert(fields[0].to_owned(), fields[1].to_owned());
        }
        for fields in records(group, 4) {
            let Ok(gid) = fields[2].parse() else {
                continue;
            };
            let members = fields[3]
                .split(',')
                .filter(|member| !member.is_empty())
                .map(str::to_owned)
                .collect();
            accounts
                .groups
                .insert(fields[0].to_owned(), Group { gid, members });
        }
        accounts
    }

    /// The files read, for the report's header.
    pub fn describe_source(&self) -> String {
        if self.shadow_readable {
            "/etc/passwd, /etc/shadow, /etc/group".to_owned()
        } else {
            "/etc/passwd, /etc/group (/etc/shadow unreadable: password locks unknown)".to_owned()
        }
    }

    pub fn user(&self, name: &str) -> Option<&Account> {
        self.users.iter().find(|account| account.name == name)
    }

    pub fn user_by_uid(&self, uid: u32) -> Option<&Account> {
        self.users.iter().find(|account| account.uid == uid)
    }

    pub fn password(&self, name: &str) -> Password {
        let field = self.password_fields.get(name).map(String::as_str);
        match field {
            Some(field) if field.starts_with('!') || field.starts_with('*') => Password::Locked,
            Some("x") | None if !self.shadow_readable => Password::Unknown,
            _ => Password::Usable,
        }
    }

    /// Whether `account` belongs to `group` (primary or listed); `None`
    /// when the group does not exist.
    pub fn is_member(&self, account: &Account, group: &str) -> Option<bool> {
        let group = self.groups.get(group)?;
        Some(group.gid == account.gid || group.members.contains(&account.name))
    }
}

/// Non-comment lines split at `:`, with at least `min_fields` fields.
fn records(text: &str, min_fields: usize) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .map(|line| line.split(':').collect::<Vec<_>>())
        .filter(move |fields| fields.len() >= min_fields && !fields[0].is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        sync:x:4:65534:sync:/bin:/bin/sync\n\
        alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n\
        bob:x:1001:1001::/home/bob:/bin/false\n\
        broken:x:notanumber:1::/:/bin/sh\n";
    const SHADOW: &str = "root:$y$j9T$abc:19000:0:99999:7:::\n\
        daemon:*:19000:0:99999:7:::\n\
        alice:!$y$j9T$def:19000:0:99999:7:::\n";
    const GROUP: &str = "root:x:0:\ntotp-users:x:2000:alice,carol\nalice:x:1000:\n";

    #[test]
    fn parses_users_and_skips_malformed_lines() {
        let accounts = Accounts::parse(PASSWD, Some(SHADOW), GROUP);
        let names: Vec<&str> = accounts.users.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["root", "daemon", "sync", "alice", "bob"]);
        let alice = accounts.user("alice").unwrap();
        assert_eq!((alice.uid, alice.gid), (1000, 1000));
        assert_eq!(alice.home, "/home/alice");
        assert_eq!(accounts.user_by_uid(0).unwrap().name, "root");
    }

    #[test]
    fn login_shells() {
        let accounts = Accounts::parse(PASSWD, None, "");
        assert_eq!(accounts.user("root").unwrap().no_login_shell(), None);
        assert_eq!(
            accounts.user("daemon").unwrap().no_login_shell(),
            Some("/usr/sbin/nologin")
        );
        assert_eq!(
            accounts.user("bob").unwrap().no_login_shell(),
            Some("/bin/false")
        );
    }

    #[test]
    fn password_locks() {
        let accounts = Accounts::parse(PASSWD, Some(SHADOW), "");
        assert_eq!(accounts.password("root"), Password::Usable);
        assert_eq!(accounts.password("daemon"), Password::Locked);
        assert_eq!(accounts.password("alice"), Password::Locked);
        // In passwd but not in a readable shadow file: "x" stays usable.
        assert_eq!(accounts.password("bob"), Password::Usable);
        let without_shadow = Accounts::parse(PASSWD, None, "");
        assert_eq!(without_shadow.password("root"), Password::Unknown);
    }

    #[test]
    fn group_membership() {
        let accounts = Accounts::parse(PASSWD, None, GROUP);
        let alice = accounts.user("alice").unwrap();
        let root = accounts.user("root").unwrap();
        assert_eq!(accounts.is_member(alice, "totp-users"), Some(true));
        assert_eq!(accounts.is_member(root, "totp-users"), Some(false));
        assert_eq!(accounts.is_member(root, "root"), Some(true));
        assert_eq!(accounts.is_member(root, "nogroup"), None);
    }
}
