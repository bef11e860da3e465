//! Reading a PAM service's stack of one type (`auth`) the way Linux-PAM
//! does: `#` starts a comment anywhere, a trailing backslash continues the
//! line, `[...]` groups a control or an argument with blanks, a leading `-`
//! on the type means "skip silently if the module is missing", and
//! `@include FILE`, `TYPE include FILE` and `TYPE substack FILE` insert that
//! file's lines of the type in place, so jumps count over the flat list.

use std::fs;
use std::path::{Path, PathBuf};

use super::origin::Origin;
use super::system_root::{ReadError, SystemRoot};

/// Linux-PAM's limit on nested includes.
const MAX_INCLUDE_DEPTH: usize = 20;

/// What a PAM return value makes the stack do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Ignore,
    Ok,
    Done,
    Bad,
    Die,
    Reset,
    /// Skip this many following lines.
    Jump(usize),
}

/// The control field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Required,
    Requisite,
    Sufficient,
    Optional,
    /// `[value=action ...]`, in order.
    Actions(Vec<(String, Action)>),
}

impl Control {
    /// The action for a module return value such as `success` or
    /// `auth_err`, falling back to `default`.
    pub fn action(&self, value: &str) -> Action {
        let success = value == "success";
        match self {
            Control::Required | Control::Requisite | Control::Optional if success => Action::Ok,
            Control::Sufficient if success => Action::Done,
            Control::Required => Action::Bad,
            Control::Requisite => Action::Die,
            Control::Sufficient | Control::Optional => Action::Ignore,
            Control::Actions(actions) => {
                let find = |key: &str| actions.iter().find(|(name, _)| name == key);
                find(value)
                    .or_else(|| find("default"))
                    .map_or(Action::Ignore, |(_, action)| *action)
            }
        }
    }

    /// How the control is written.
    pub fn describe(&self) -> String {
        match self {
            Control::Required => "required".into(),
            Control::Requisite => "requisite".into(),
            Control::Sufficient => "sufficient".into(),
            Control::Optional => "optional".into(),
            Control::Actions(actions) => {
                let parts: Vec<String> = actions
                    .iter()
                    .map(|(value, action)| format!("{value}={}", describe_action(*action)))
                    .collect();
                format!("[{}]", parts.join(" "))
            }
        }
    }
}

fn describe_action(action: Action) -> String {
    match action {
        Action::Ignore => "ignore".into(),
        Action::Ok => "ok".into(),
        Action::Done => "done".into(),
        Action::Bad => "bad".into(),
        Action::Die => "die".into(),
        Action::Reset => "reset".into(),
        Action::Jump(n) => n.to_string(),
    }
}

/// One module line of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamLine {
    pub origin: Origin,
    /// A leading `-` on the type: the line is skipped if the module is
    /// missing.
    pub skip_if_missing: bool,
    pub control: Control,
    /// The module as written: a file name or an absolute path.
    pub module: String,
    pub args: Vec<String>,
    /// The files the line was included through, outermost first, by the
    /// name the include used (for example `common-auth`).
    pub included_via: Vec<String>,
}

impl PamLine {
    /// The module's file name without directories.
    pub fn module_name(&self) -> &str {
        self.module.rsplit('/').next().unwrap_or(&self.module)
    }
}

/// The flat list of one type's lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PamStack {
    pub lines: Vec<PamLine>,
    /// Lines that could not be understood, includes that could not be read.
    pub problems: Vec<String>,
}

/// Reads the `kind` lines (for example `auth`) of `service` in `pam_dir`
/// (a directory on this machine).
pub fn load(
    root: &SystemRoot,
    pam_dir: &Path,
    service: &str,
    kind: &str,
) -> Result<PamStack, ReadError> {
    let path = pam_dir.join(service);
    let text = root.read(&path)?;
    let mut loader = Loader {
        root,
        pam_dir,
        kind,
        stack: PamStack::default(),
    };
    loader.parse(&root.show(&path), &text, &[], 0);
    Ok(loader.stack)
}

struct Loader<'a> {
    root: &'a SystemRoot,
    pam_dir: &'a Path,
    kind: &'a str,
    stack: PamStack,
}

impl Loader<'_> {
    fn parse(&mut self, name: &str, text: &str, via: &[String], depth: usize) {
        for (line_number, line) in logical_lines(text) {
            let origin = Origin {
                file: name.to_owned(),
                line: line_number,
            };
            let words = split_words(&line);
            let Some(first) = words.first() else {
                continue;
            };
            if first == "@include" {
                match words.get(1) {
                    Some(file) => self.include(file, &origin, via, depth),
                    None => self.problem(&origin, "@include without a file name"),
                }
                continue;
            }
            let (skip_if_missing, kind) = match first.strip_prefix('-') {
                Some(kind) => (true, kind),
                None => (false, first.as_str()),
            };
            if !kind.eq_ignore_ascii_case(self.kind) {
                continue;
            }
            self.module_line(origin, skip_if_missing, &words[1..], via, depth);
        }
    }

    fn module_line(
        &mut self,
        origin: Origin,
        skip_if_missing: bool,
        words: &[String],
        via: &[String],
        depth: usize,
    ) {
        let (Some(control), Some(module)) = (words.first(), words.get(1)) else {
            self.problem(&origin, "incomplete line");
            return;
        };
        if control.eq_ignore_ascii_case("include") || control.eq_ignore_ascii_case("substack") {
            self.include(module, &origin, via, depth);
            return;
        }
        let Some(control) = parse_control(control) else {
            self.problem(&origin, &format!("unknown control \"{control}\""));
            return;
        };
        self.stack.lines.push(PamLine {
            origin,
            skip_if_missing,
            control,
            module: module.clone(),
            args: words[2..].to_vec(),
            included_via: via.to_vec(),
        });
    }

    fn include(&mut self, file: &str, origin: &Origin, via: &[String], depth: usize) {
        if depth >= MAX_INCLUDE_DEPTH {
            self.problem(origin, "includes nested too deeply, not followed");
            return;
        }
        let path = if file.starts_with('/') {
            self.root.path(file)
        } else {
            self.pam_dir.join(file)
        };
        match fs::read_to_string(&path) {
            Ok(text) => {
                let mut chain = via.to_vec();
                chain.push(file.to_owned());
                self.parse(&self.root.show(&path), &text, &chain, depth + 1);
            }
            Err(error) => {
                let message = format!("cannot read included {}: {error}", self.root.show(&path));
                self.problem(origin, &message);
            }
        }
    }

    fn problem(&mut self, origin: &Origin, message: &str) {
        self.stack.problems.push(format!("{origin}: {message}"));
    }
}

/// The lines with comments removed and continuations joined, each with the
/// number of its first physical line; blank lines are dropped.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (index, raw) in text.lines().enumerate() {
        if current.is_empty() {
            start = index + 1;
        }
        let (content, continued) = match raw.strip_suffix('\\') {
            Some(content) => (content, true),
            None => (raw, false),
        };
        let content = content.split('#').next().unwrap_or_default();
        current.push_str(content);
        current.push(' ');
        if !continued {
            if !current.trim().is_empty() {
                lines.push((start, current.trim().to_owned()));
            }
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        lines.push((start, current.trim().to_owned()));
    }
    lines
}

/// Splits at blanks; `[` at the start of a word runs to the matching `]`
/// (with `\]` for a literal bracket) and may contain blanks. The brackets
/// are kept on a control and dropped on an argument, as Linux-PAM does;
/// the caller sees the control with them.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return words;
        };
        let mut word = String::new();
        if first == '[' {
            bracketed(&mut chars, &mut word, words.len() == 1);
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        words.push(word);
    }
}

fn bracketed(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, word: &mut String, keep: bool) {
    chars.next();
    if keep {
        word.push('[');
    }
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&']') => word.extend(chars.next()),
            ']' => {
                if keep {
                    word.push(']');
                }
                return;
            }
            c => word.push(c),
        }
    }
}

fn parse_control(text: &str) -> Option<Control> {
    let simple = match text.to_ascii_lowercase().as_str() {
        "required" => Some(Control::Required),
        "requisite" => Some(Control::Requisite),
        "sufficient" => Some(Control::Sufficient),
        "optional" => Some(Control::Optional),
        _ => None,
    };
    if simple.is_some() {
        return simple;
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    let mut actions = Vec::new();
    for pair in inner.split_whitespace() {
        let (value, action) = pair.split_once('=')?;
        actions.push((value.to_ascii_lowercase(), parse_action(action)?));
    }
    Some(Control::Actions(actions))
}

fn parse_action(text: &str) -> Option<Action> {
    Some(match text.to_ascii_lowercase().as_str() {
        "ignore" => Action::Ignore,
        "ok" => Action::Ok,
        "done" => Action::Done,
        "bad" => Action::Bad,
        "die" => Action::Die,
        "reset" => Action::Reset,
        number => Action::Jump(number.parse().ok()?),
    })
}

/// Where a module named in a stack is, as libpam would load it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleFile {
    Found(PathBuf),
    /// Named without a path, not in libpam's module directory but in
    /// another security directory, where libpam does not look.
    Elsewhere {
        found: PathBuf,
        module_dir: PathBuf,
    },
    Missing,
}

/// An absolute path as written; a bare name in the `security` directory
/// beside the checked system's libpam, which is where libpam loads it from
/// (`/lib/<multiarch>/security` on Debian bookworm). Without a libpam in
/// the tree, the first of the usual security directories that has it.
pub fn find_module(root: &SystemRoot, module: &str) -> ModuleFile {
    if module.starts_with('/') {
        let path = root.path(module);
        return if path.is_file() {
            ModuleFile::Found(path)
        } else {
            ModuleFile::Missing
        };
    }
    let anywhere = module_dirs(root)
        .into_iter()
        .map(|dir| dir.join(module))
        .find(|path| path.is_file());
    let Some(module_dir) = libpam_module_dir(root) else {
        return anywhere.map_or(ModuleFile::Missing, ModuleFile::Found);
    };
    let path = module_dir.join(module);
    match anywhere {
        _ if path.is_file() => ModuleFile::Found(path),
        Some(found) => ModuleFile::Elsewhere { found, module_dir },
        None => ModuleFile::Missing,
    }
}

/// The library directories, each with its subdirectories (the multiarch
/// ones) first.
fn lib_dirs(root: &SystemRoot) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for lib in ["/lib", "/usr/lib", "/lib64", "/usr/lib64"] {
        let lib = root.path(lib);
        let Ok(entries) = fs::read_dir(&lib) else {
            continue;
        };
        let mut arch_dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|dir| dir.is_dir())
            .collect();
        // This machine's own multiarch directory before any other.
        arch_dirs.sort_by_key(|dir| {
            let native = dir
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(std::env::consts::ARCH));
            (!native, dir.clone())
        });
        dirs.extend(arch_dirs);
        dirs.push(lib);
    }
    dirs
}

/// `security` beside the first `libpam.so.0` found.
fn libpam_module_dir(root: &SystemRoot) -> Option<PathBuf> {
    lib_dirs(root)
        .into_iter()
        .find(|dir| dir.join("libpam.so.0").exists())
        .map(|dir| dir.join("security"))
}

fn module_dirs(root: &SystemRoot) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = lib_dirs(root)
        .into_iter()
        .map(|dir| dir.join("security"))
        .filter(|dir| dir.is_dir())
        .collect();
    dirs.push(root.path("/usr/local/lib/security"));
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pam_tree(files: &[(&str, &str)]) -> (tempfile::TempDir, SystemRoot, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path().to_owned());
        let pam_dir = root.path("/etc/pam.d");
        fs::create_dir_all(&pam_dir).unwrap();
        for (name, text) in files {
            fs::write(pam_dir.join(name), text).unwrap();
        }
        (dir, root, pam_dir)
    }

    const COMMON_AUTH: &str = "# here are the per-package modules\n\
        auth\t[success=1 default=ignore]\tpam_unix.so nullok\n\
        auth\trequisite\t\t\tpam_deny.so\n\
        auth\trequired\t\t\tpam_permit.so\n";

    #[test]
    fn includes_are_flattened_in_place_and_other_types_skipped() {
        let (_dir, root, pam_dir) = pam_tree(&[
            (
                "sshd",
                "@include common-auth\nauth required pam_rust_totp.so nullok # note\n\
                 account required pam_nologin.so\n",
            ),
            ("common-auth", COMMON_AUTH),
        ]);
        let stack = load(&root, &pam_dir, "sshd", "auth").unwrap();
        let modules: Vec<&str> = stack.lines.iter().map(PamLine::module_name).collect();
        assert_eq!(
            modules,
            [
                "pam_unix.so",
                "pam_deny.so",
                "pam_permit.so",
                "pam_rust_totp.so"
            ]
        );
        assert_eq!(stack.lines[0].included_via, vec!["common-auth"]);
        assert_eq!(
            stack.lines[0].origin.to_string(),
            "/etc/pam.d/common-auth:2"
        );
        assert_eq!(stack.lines[3].args, vec!["nullok"]);
        assert!(stack.lines[3].included_via.is_empty());
        assert_eq!(stack.lines[3].origin.to_string(), "/etc/pam.d/sshd:2");
        assert!(stack.problems.is_empty());
    }

    #[test]
    fn brackets_continuations_and_dash_types() {
        let (_dir, root, pam_dir) = pam_tree(&[(
            "sshd",
            "auth [success=1 default=ignore] pam_succeed_if.so \\\n   quiet user notingroup totp\n\
             -auth required /usr/lib/x/pam_rust_totp.so [authtok_prompt=Code please: ]\n",
        )]);
        let stack = load(&root, &pam_dir, "sshd", "auth").unwrap();
        assert_eq!(stack.lines.len(), 2);
        let first = &stack.lines[0];
        assert_eq!(
            first.control,
            Control::Actions(vec![
                ("success".into(), Action::Jump(1)),
                ("default".into(), Action::Ignore)
            ])
        );
        assert_eq!(first.args, vec!["quiet", "user", "notingroup", "totp"]);
        let second = &stack.lines[1];
        assert!(second.skip_if_missing);
        assert_eq!(second.module_name(), "pam_rust_totp.so");
        assert_eq!(second.args, vec!["authtok_prompt=Code please: "]);
        assert_eq!(second.origin.line, 3);
    }

    #[test]
    fn include_and_substack_controls_take_only_their_type() {
        let (_dir, root, pam_dir) = pam_tree(&[
            (
                "sshd",
                "auth substack common-auth\nauth include other-auth\n",
            ),
            ("common-auth", COMMON_AUTH),
            (
                "other-auth",
                "account required pam_unix.so\nauth optional pam_echo.so\n",
            ),
        ]);
        let stack = load(&root, &pam_dir, "sshd", "auth").unwrap();
        assert_eq!(stack.lines.len(), 4);
        assert_eq!(stack.lines[3].module, "pam_echo.so");
        assert_eq!(stack.lines[3].control, Control::Optional);
    }

    #[test]
    fn problems_are_collected() {
        let (_dir, root, pam_dir) = pam_tree(&[(
            "sshd",
            "@include missing\nauth sometimes pam_x.so\nauth required\n@include sshd\n",
        )]);
        let stack = load(&root, &pam_dir, "sshd", "auth").unwrap();
        assert!(stack.lines.is_empty());
        assert!(stack.problems[0].contains("cannot read included /etc/pam.d/missing"));
        assert!(stack.problems[1].contains("unknown control \"sometimes\""));
        assert!(stack.problems[2].contains("incomplete line"));
        assert!(
            stack
                .problems
                .iter()
                .any(|p| p.contains("nested too deeply"))
        );
        assert!(load(&root, &pam_dir, "nothere", "auth").is_err());
    }

    #[test]
    fn control_actions() {
        let jump = parse_control("[success=2 default=ignore]").unwrap();
        assert_eq!(jump.action("success"), Action::Jump(2));
        assert_eq!(jump.action("auth_err"), Action::Ignore);
        assert_eq!(jump.describe(), "[success=2 default=ignore]");
        assert_eq!(Control::Sufficient.action("success"), Action::Done);
        assert_eq!(Control::Sufficient.action("auth_err"), Action::Ignore);
        assert_eq!(Control::Required.action("auth_err"), Action::Bad);
        assert_eq!(Control::Requisite.action("auth_err"), Action::Die);
        assert_eq!(parse_control("[success=maybe]"), None);
        assert_eq!(parse_control("[success]"), None);
    }

    fn module_tree(files: &[&str]) -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path().to_owned());
        for file in files {
            let path = root.path(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, b"").unwrap();
        }
        (dir, root)
    }

    #[test]
    fn without_libpam_modules_are_found_in_any_security_dir_or_by_path() {
        let installed = "/usr/lib/x86_64-linux-gnu/security/pam_rust_totp.so";
        let (_dir, root) = module_tree(&[installed]);
        assert_eq!(
            find_module(&root, "pam_rust_totp.so"),
            ModuleFile::Found(root.path(installed))
        );
        assert_eq!(
            find_module(&root, installed),
            ModuleFile::Found(root.path(installed))
        );
        assert_eq!(
            find_module(&root, "pam_google_authenticator.so"),
            ModuleFile::Missing
        );
        assert_eq!(
            find_module(&root, "/lib/pam_rust_totp.so"),
            ModuleFile::Missing
        );
    }

    #[test]
    fn bare_names_are_looked_up_beside_libpam_only() {
        let bookworm = "/lib/x86_64-linux-gnu/security/pam_rust_totp.so";
        let usr = "/usr/lib/x86_64-linux-gnu/security/pam_rust_totp.so";
        let libpam = "/lib/x86_64-linux-gnu/libpam.so.0";
        let (_dir, root) = module_tree(&[libpam, bookworm]);
        assert_eq!(
            find_module(&root, "pam_rust_totp.so"),
            ModuleFile::Found(root.path(bookworm))
        );
        // Without merged /usr, /usr/lib is not where libpam looks.
        let (_dir, root) =
            module_tree(&[libpam, usr, "/lib/x86_64-linux-gnu/security/pam_unix.so"]);
        assert_eq!(
            find_module(&root, "pam_rust_totp.so"),
            ModuleFile::Elsewhere {
                found: root.path(usr),
                module_dir: root.path("/lib/x86_64-linux-gnu/security"),
            }
        );
        assert_eq!(find_module(&root, usr), ModuleFile::Found(root.path(usr)));
        let local = "/usr/local/lib/security/pam_rust_totp.so";
        let (_dir, root) = module_tree(&[libpam, local]);
        assert!(matches!(
            find_module(&root, "pam_rust_totp.so"),
            ModuleFile::Elsewhere { .. }
        ));
        let (_dir, root) = module_tree(&[libpam]);
        assert_eq!(find_module(&root, "pam_rust_totp.so"), ModuleFile::Missing);
    }
}
