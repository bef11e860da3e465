//! Reading `sshd_config` the way sshd does when `sshd -T` cannot be run:
//! keywords are case-insensitive, the first value of a keyword wins,
//! `Include` is followed in place (relative patterns are under `/etc/ssh`,
//! matches in lexical order), and a `Match` block lasts until the next
//! `Match` or the end of the file it is in. Lines inside `Match` blocks are
//! not applied; they are collected so that the caller can point at them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::origin::Origin;
use super::system_root::{ReadError, SystemRoot};

/// sshd's limit on nested `Include`s.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Where sshd resolves relative `Include` patterns.
const SSHD_CONFIG_DIR: &str = "/etc/ssh";

/// One keyword line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lower case, with `ChallengeResponseAuthentication` folded into
    /// `kbdinteractiveauthentication` as current OpenSSH does.
    pub keyword: String,
    pub args: Vec<String>,
    pub origin: Origin,
}

/// A `Match` block and the keywords it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchBlock {
    pub origin: Origin,
    pub criteria: String,
    pub keywords: Vec<String>,
}

/// What the files say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFiles {
    /// The first value of each keyword outside `Match` blocks.
    pub global: BTreeMap<String, Directive>,
    pub match_blocks: Vec<MatchBlock>,
    /// Included files that could not be read, nesting too deep.
    pub problems: Vec<String>,
}

/// Reads `main` (a path on this machine) and everything it includes.
pub fn read(root: &SystemRoot, main: &Path) -> Result<ConfigFiles, ReadError> {
    let text = root.read(main)?;
    let mut reader = Reader {
        root,
        files: ConfigFiles::default(),
    };
    reader.parse(&root.show(main), &text, None, 0);
    Ok(reader.files)
}

struct Reader<'a> {
    root: &'a SystemRoot,
    files: ConfigFiles,
}

impl Reader<'_> {
    /// Parses one file's text. `block` is the index of the `Match` block the
    /// file was included from, if any.
    fn parse(&mut self, name: &str, text: &str, mut block: Option<usize>, depth: usize) {
        for (index, line) in text.lines().enumerate() {
            let Some((keyword, args)) = split_line(line) else {
                continue;
            };
            let origin = Origin {
                file: name.to_owned(),
                line: index + 1,
            };
            match keyword.as_str() {
                "include" => self.include(&args, &origin, block, depth),
                "match" => {
                    self.files.match_blocks.push(MatchBlock {
                        origin,
                        criteria: args.join(" "),
                        keywords: Vec::new(),
                    });
                    block = Some(self.files.match_blocks.len() - 1);
                }
                _ => self.set(keyword, args, origin, block),
            }
        }
    }

    fn set(&mut self, keyword: String, args: Vec<String>, origin: Origin, block: Option<usize>) {
        if let Some(block) = block.and_then(|index| self.files.match_blocks.get_mut(index)) {
            if !block.keywords.contains(&keyword) {
                block.keywords.push(keyword);
            }
            return;
        }
        self.files
            .global
            .entry(keyword.clone())
            .or_insert(Directive {
                keyword,
                args,
                origin,
            });
    }

    fn include(
        &mut self,
        patterns: &[String],
        origin: &Origin,
        block: Option<usize>,
        depth: usize,
    ) {
        if depth >= MAX_INCLUDE_DEPTH {
            self.files
                .problems
                .push(format!("{origin}: Include nested too deeply, not followed"));
            return;
        }
        for pattern in patterns {
            let system_pattern = if pattern.starts_with('/') {
                PathBuf::from(pattern)
            } else {
                Path::new(SSHD_CONFIG_DIR).join(pattern)
            };
            for path in expand_glob(&self.root.path(&system_pattern)) {
                match fs::read_to_string(&path) {
                    Ok(text) => self.parse(&self.root.show(&path), &text, block, depth + 1),
                    Err(error) => self.files.problems.push(format!(
                        "{origin}: cannot read included {}: {error}",
                        self.root.show(&path)
                    )),
                }
            }
        }
    }
}

/// Splits a line into its lower-case keyword and arguments; `None` for
/// blank lines and comments. The keyword ends at white space or `=`.
pub fn split_line(line: &str) -> Option<(String, Vec<String>)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    let mut keyword = keyword.to_ascii_lowercase();
    if keyword == "challengeresponseauthentication" {
        keyword = "kbdinteractiveauthentication".to_owned();
    }
    Some((keyword, split_args(rest)))
}

/// Splits arguments at white space, honouring double and single quotes and
/// backslash escapes, and stops at a word that starts with `#`.
fn split_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return args,
            Some(_) => {}
        }
        let mut arg = String::new();
        let mut quote = None;
        while let Some(c) = chars.next() {
            match (c, quote) {
                ('\\', _) => arg.extend(chars.next()),
                ('"' | '\'', None) => quote = Some(c),
                (c, Some(q)) if c == q => quote = None,
                (c, None) if c.is_whitespace() => break,
                (c, _) => arg.push(c),
            }
        }
        args.push(arg);
    }
}

/// The existing paths matching `pattern` (`*`, `?` and `[...]` in any
/// component), in lexical order; the pattern itself when it has no
/// wildcard.
fn expand_glob(pattern: &Path) -> Vec<PathBuf> {
    let mut matches = vec![PathBuf::from("/")];
    for component in pattern.components().skip(1) {
        let part = component.as_os_str().to_string_lossy();
        if !part.contains(['*', '?', '[']) {
            for path in &mut matches {
                path.push(component);
            }
            continue;
        }
        let mut next = Vec::new();
        for dir in &matches {
            next.extend(matching_entries(dir, &part));
        }
        next.sort();
        matches = next;
    }
    matches
}

fn matching_entries(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.') || pattern.starts_with('.'))
        .filter(|name| wildcard_match(pattern.as_bytes(), name.as_bytes()))
        .map(|name| dir.join(name))
        .collect()
}

/// Shell-style matching of one path component.
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| wildcard_match(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && wildcard_match(rest, &name[1..]),
        Some((b'[', rest)) => match (name.split_first(), class_end(rest)) {
            (Some((&c, name_rest)), Some(end)) => {
                class_matches(&rest[..end], c) && wildcard_match(&rest[end + 1..], name_rest)
            }
            (Some((&c, name_rest)), None) => c == b'[' && wildcard_match(rest, name_rest),
            (None, _) => false,
        },
        Some((&p, rest)) => name.first() == Some(&p) && wildcard_match(rest, &name[1..]),
    }
}

/// Index of the `]` closing a class whose text starts at `rest[0]`.
fn class_end(rest: &[u8]) -> Option<usize> {
    let start = usize::from(matches!(rest.first(), Some(b'!' | b'^')));
    let first = start + usize::from(rest.get(start) == Some(&b']'));
    rest.iter()
        .skip(first)
        .position(|&c| c == b']')
        .map(|pos| pos + first)
}

fn class_matches(class: &[u8], c: u8) -> bool {
    let (negated, class) = match class.split_first() {
        Some((b'!' | b'^', rest)) => (true, rest),
        _ => (false, class),
    };
    let mut found = false;
    let mut i = 0;
    while i < class.len() {
        if i + 2 < class.len() && class[i + 1] == b'-' {
            found |= (class[i]..=class[i + 2]).contains(&c);
            i += 3;
        } else {
            found |= class[i] == c;
            i += 1;
        }
    }
    found != negated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let host = dir.path().join(path.trim_start_matches('/'));
            fs::create_dir_all(host.parent().unwrap()).unwrap();
            fs::write(host, text).unwrap();
        }
        let root = SystemRoot::new(dir.path().to_owned());
        (dir, root)
    }

    fn value(files: &ConfigFiles, keyword: &str) -> Option<Vec<String>> {
        files.global.get(keyword).map(|d| d.args.clone())
    }

    #[test]
    fn splits_keywords_arguments_quotes_and_comments() {
        assert_eq!(split_line("   # comment"), None);
        assert_eq!(split_line(""), None);
        assert_eq!(
            split_line("UsePAM yes"),
            Some(("usepam".into(), vec!["yes".into()]))
        );
        assert_eq!(
            split_line("PasswordAuthentication=no"),
            Some(("passwordauthentication".into(), vec!["no".into()]))
        );
        assert_eq!(
            split_line("\tBanner = \"/etc/my banner\" # trailing"),
            Some(("banner".into(), vec!["/etc/my banner".into()]))
        );
        assert_eq!(
            split_line("AuthenticationMethods publickey,keyboard-interactive  password"),
            Some((
                "authenticationmethods".into(),
                vec!["publickey,keyboard-interactive".into(), "password".into()]
            ))
        );
        assert_eq!(
            split_line("ChallengeResponseAuthentication yes"),
            Some(("kbdinteractiveauthentication".into(), vec!["yes".into()]))
        );
    }

    #[test]
    fn first_value_wins_and_includes_are_read_in_place() {
        let (_dir, root) = tree(&[
            (
                "/etc/ssh/sshd_config",
                "Include /etc/ssh/sshd_config.d/*.conf\n\
                 KbdInteractiveAuthentication no\nUsePAM yes\n",
            ),
            (
                "/etc/ssh/sshd_config.d/20-b.conf",
                "KbdInteractiveAuthentication no\n",
            ),
            (
                "/etc/ssh/sshd_config.d/10-a.conf",
                "ChallengeResponseAuthentication yes\n",
            ),
            ("/etc/ssh/sshd_config.d/ignored.txt", "UsePAM no\n"),
        ]);
        let files = read(&root, &root.path("/etc/ssh/sshd_config")).unwrap();
        assert_eq!(
            value(&files, "kbdinteractiveauthentication"),
            Some(vec!["yes".into()])
        );
        let origin = &files.global["kbdinteractiveauthentication"].origin;
        assert_eq!(origin.to_string(), "/etc/ssh/sshd_config.d/10-a.conf:1");
        assert_eq!(value(&files, "usepam"), Some(vec!["yes".into()]));
        assert!(files.problems.is_empty());
    }

    #[test]
    fn relative_includes_are_under_etc_ssh_and_missing_ones_are_reported() {
        let (_dir, root) = tree(&[
            ("/srv/custom_config", "Include extra.conf gone.conf\n"),
            ("/etc/ssh/extra.conf", "UsePAM yes\n"),
        ]);
        let files = read(&root, &root.path("/srv/custom_config")).unwrap();
        assert_eq!(value(&files, "usepam"), Some(vec!["yes".into()]));
        assert_eq!(files.problems.len(), 1);
        assert!(files.problems[0].contains("/etc/ssh/gone.conf"));
    }

    #[test]
    fn match_blocks_are_collected_not_applied_and_end_with_their_file() {
        let (_dir, root) = tree(&[
            (
                "/etc/ssh/sshd_config",
                "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n",
            ),
            (
                "/etc/ssh/sshd_config.d/a.conf",
                "AuthenticationMethods publickey,keyboard-interactive\n\
                 Match Address 198.51.100.0/24\n    AuthenticationMethods publickey\n    \
                 PasswordAuthentication yes\n",
            ),
        ]);
        let files = read(&root, &root.path("/etc/ssh/sshd_config")).unwrap();
        assert_eq!(
            value(&files, "authenticationmethods"),
            Some(vec!["publickey,keyboard-interactive".into()])
        );
        assert_eq!(
            value(&files, "passwordauthentication"),
            Some(vec!["no".into()])
        );
        assert_eq!(files.match_blocks.len(), 1);
        let block = &files.match_blocks[0];
        assert_eq!(block.criteria, "Address 198.51.100.0/24");
        assert_eq!(block.origin.to_string(), "/etc/ssh/sshd_config.d/a.conf:2");
        assert_eq!(
            block.keywords,
            vec!["authenticationmethods", "passwordauthentication"]
        );
    }

    #[test]
    fn include_loops_stop_at_the_depth_limit() {
        let (_dir, root) = tree(&[("/etc/ssh/sshd_config", "Include sshd_config\nUsePAM yes\n")]);
        let files = read(&root, &root.path("/etc/ssh/sshd_config")).unwrap();
        assert_eq!(value(&files, "usepam"), Some(vec!["yes".into()]));
        assert_eq!(files.problems.len(), 1);
        assert!(files.problems[0].contains("nested too deeply"));
    }

    #[test]
    fn unreadable_main_file_is_an_error() {
        let (_dir, root) = tree(&[]);
        let error = read(&root, &root.path("/etc/ssh/sshd_config")).unwrap_err();
        assert_eq!(error.path, "/etc/ssh/sshd_config");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match(b"*.conf", b"a.conf"));
        assert!(wildcard_match(b"*.conf", b".conf"));
        assert!(!wildcard_match(b"*.conf", b"a.conf~"));
        assert!(wildcard_match(b"?0-*", b"10-x"));
        assert!(wildcard_match(b"[0-9]*", b"5x"));
        assert!(!wildcard_match(b"[!0-9]*", b"5x"));
        assert!(wildcard_match(b"[]a]", b"]"));
        assert!(wildcard_match(b"a[", b"a["));
        assert!(!wildcard_match(b"abc", b"abd"));
    }
}
