//! Checks of the sshd side, read together with the PAM stack: PAM is used,
//! keyboard-interactive (which carries the code prompt) is on, every
//! `AuthenticationMethods` list can succeed and asks for the code, the
//! `password` method (which answers every PAM prompt with the password)
//! stays out of the way, root can still get in, and `Match` blocks that
//! change any of this are pointed out.

use super::report::{Check, Section};
use super::sshd_settings::{RootLogin, SshdSettings};

/// Keywords that change who is asked what, in their usual spelling.
const AUTH_KEYWORDS: [&str; 10] = [
    "AuthenticationMethods",
    "AuthorizedKeysCommand",
    "AuthorizedKeysFile",
    "GSSAPIAuthentication",
    "HostbasedAuthentication",
    "KbdInteractiveAuthentication",
    "PasswordAuthentication",
    "PermitRootLogin",
    "PubkeyAuthentication",
    "UsePAM",
];

const KEY_THEN_CODE: &str = "AuthenticationMethods publickey,keyboard-interactive";

/// What the PAM stack contributes to a login flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PamFlow {
    /// Another module of the stack checks a password (common-auth).
    pub asks_password: bool,
    /// The module takes password and code together (`forward_pass`).
    pub forward_pass: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Publickey,
    Hostbased,
    Gssapi,
    Password,
    /// keyboard-interactive through PAM: where the code is asked.
    KbdPam,
    Other,
}

impl Method {
    fn parse(text: &str) -> Method {
        let (name, device) = match text.split_once(':') {
            Some((name, device)) => (name, Some(device)),
            None => (text, None),
        };
        match (name, device) {
            ("publickey", _) => Method::Publickey,
            ("hostbased", _) => Method::Hostbased,
            ("gssapi-with-mic", _) => Method::Gssapi,
            ("password", _) => Method::Password,
            ("keyboard-interactive", None | Some("pam")) => Method::KbdPam,
            _ => Method::Other,
        }
    }

    /// The keyword that switches the method off, when it is off.
    fn disabled_by(self, settings: &SshdSettings) -> Option<&'static str> {
        match self {
            Method::Publickey if !settings.pubkey_authentication() => Some("PubkeyAuthentication"),
            Method::Hostbased if !settings.hostbased_authentication() => {
                Some("HostbasedAuthentication")
            }
            Method::Gssapi if !settings.gssapi_authentication() => Some("GSSAPIAuthentication"),
            Method::Password if !settings.password_authentication() => {
                Some("PasswordAuthentication")
            }
            _ => None,
        }
    }
}

/// What one `AuthenticationMethods` list leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// A method of the list is switched off.
    Disabled(&'static str),
    /// sshd's password method answers the code prompt with the password.
    PasswordAnswersCode,
    /// Only the code is asked: no key, no password.
    CodeAlone,
    /// Logs in without being asked for a code.
    NoCode,
    /// Asks for the code and something else.
    Code,
}

impl Outcome {
    fn usable(&self) -> bool {
        !matches!(self, Outcome::Disabled(_) | Outcome::PasswordAnswersCode)
    }
}

struct MethodList {
    text: String,
    methods: Vec<Method>,
    /// Expanded from `AuthenticationMethods any`.
    from_any: bool,
}

fn method_lists(settings: &SshdSettings) -> Vec<MethodList> {
    let lists = settings.authentication_methods();
    if lists.iter().any(|list| list.eq_ignore_ascii_case("any")) {
        return [
            ("publickey", Method::Publickey),
            ("password", Method::Password),
            ("keyboard-interactive", Method::KbdPam),
            ("hostbased", Method::Hostbased),
            ("gssapi-with-mic", Method::Gssapi),
        ]
        .into_iter()
        .filter(|(_, method)| method.disabled_by(settings).is_none())
        .map(|(name, method)| MethodList {
            text: format!("any ({name})"),
            methods: vec![method],
            from_any: true,
        })
        .collect();
    }
    lists
        .iter()
        .map(|list| MethodList {
            text: list.clone(),
            methods: list.split(',').map(Method::parse).collect(),
            from_any: false,
        })
        .collect()
}

fn evaluate(list: &MethodList, settings: &SshdSettings, pam: PamFlow) -> Outcome {
    if let Some(keyword) = list.methods.iter().find_map(|m| m.disabled_by(settings)) {
        return Outcome::Disabled(keyword);
    }
    let has = |method| list.methods.contains(&method);
    if has(Method::Password) && !pam.forward_pass {
        return Outcome::PasswordAnswersCode;
    }
    if !has(Method::KbdPam) && !has(Method::Password) {
        return Outcome::NoCode;
    }
    let other_factor = pam.asks_password
        || list.methods.iter().any(|m| {
            matches!(
                m,
                Method::Publickey | Method::Hostbased | Method::Gssapi | Method::Password
            )
        });
    if other_factor {
        Outcome::Code
    } else {
        Outcome::CodeAlone
    }
}

/// What every login that can succeed has in common.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Logins {
    /// Every login passes keyboard-interactive, where the code is asked.
    pub all_ask_code: bool,
    /// Every login needs a public key.
    pub all_need_key: bool,
    /// Some login passes keyboard-interactive and is asked for the code.
    pub some_ask_code: bool,
}

pub fn logins(settings: &SshdSettings, pam: PamFlow) -> Logins {
    let usable: Vec<(MethodList, Outcome)> = method_lists(settings)
        .into_iter()
        .map(|list| {
            let outcome = evaluate(&list, settings, pam);
            (list, outcome)
        })
        .filter(|(_, outcome)| outcome.usable())
        .collect();
    if usable.is_empty() {
        return Logins::default();
    }
    let asks_code = |outcome: &Outcome| matches!(outcome, Outcome::Code | Outcome::CodeAlone);
    Logins {
        all_ask_code: usable.iter().all(|(_, outcome)| asks_code(outcome)),
        some_ask_code: usable.iter().any(|(_, outcome)| asks_code(outcome)),
        all_need_key: usable
            .iter()
            .all(|(list, _)| list.methods.contains(&Method::Publickey)),
    }
}

pub fn checks(settings: &SshdSettings, pam: PamFlow) -> Vec<Check> {
    let mut checks = vec![
        use_pam_check(settings),
        kbd_check(settings),
        methods_check(settings, pam),
        password_check(settings, pam),
        root_check(settings, pam),
    ];
    checks.extend(match_check(settings));
    checks
}

/// " (file:line)" for a keyword set in the files, "" otherwise.
fn set_at(settings: &SshdSettings, keyword: &str) -> String {
    settings
        .origin(keyword)
        .map(|origin| format!(" ({origin})"))
        .unwrap_or_default()
}

fn use_pam_check(settings: &SshdSettings) -> Check {
    if settings.use_pam() {
        return Check::ok(Section::Sshd, "UsePAM", "yes");
    }
    Check::fail(
        Section::Sshd,
        "UsePAM",
        format!(
            "no{}: sshd never runs the PAM stack, so no code is asked",
            set_at(settings, "usepam")
        ),
        "set `UsePAM yes`",
    )
}

fn kbd_check(settings: &SshdSettings) -> Check {
    if settings.kbd_interactive() {
        return Check::ok(Section::Sshd, "KbdInteractiveAuthentication", "yes");
    }
    Check::fail(
        Section::Sshd,
        "KbdInteractiveAuthentication",
        format!(
            "no{}: the code prompt travels over keyboard-interactive",
            set_at(settings, "kbdinteractiveauthentication")
        ),
        "set `KbdInteractiveAuthentication yes` (before OpenSSH 8.7: \
         `ChallengeResponseAuthentication yes`) in a file read before that line, \
         e.g. /etc/ssh/sshd_config.d/rust-totp.conf",
    )
}

fn methods_check(settings: &SshdSettings, pam: PamFlow) -> Check {
    const NAME: &str = "AuthenticationMethods";
    let lists = method_lists(settings);
    let evaluated: Vec<(&MethodList, Outcome)> = lists
        .iter()
        .map(|list| (list, evaluate(list, settings, pam)))
        .collect();
    let where_set = set_at(settings, "authenticationmethods");
    if !evaluated.iter().any(|(_, outcome)| outcome.usable()) {
        let reasons: Vec<String> = evaluated
            .iter()
            .map(|(list, outcome)| dead_end(list, outcome))
            .collect();
        return Check::fail(
            Section::Sshd,
            NAME,
            format!(
                "no list can succeed{where_set}, nobody can log in over ssh: {}",
                reasons.join("; ")
            ),
            format!(
                "`{KEY_THEN_CODE}` (key, then code) or \
                 `AuthenticationMethods keyboard-interactive` (password and code)"
            ),
        );
    }
    if let Some((list, _)) = evaluated
        .iter()
        .find(|(_, outcome)| *outcome == Outcome::CodeAlone)
    {
        return Check::fail(
            Section::Sshd,
            NAME,
            format!(
                "`{}`{where_set} logs in with the code alone: PAM asks no password \
                 and no key is required",
                list.text
            ),
            format!("`{KEY_THEN_CODE}`, or `@include common-auth` above the module line"),
        );
    }
    if !evaluated
        .iter()
        .any(|(_, outcome)| *outcome == Outcome::Code)
    {
        return Check::fail(
            Section::Sshd,
            NAME,
            format!("never reaches keyboard-interactive{where_set}: nobody is asked for a code"),
            format!("`{KEY_THEN_CODE}`"),
        );
    }
    let mut problems = Vec::new();
    for (list, outcome) in &evaluated {
        match outcome {
            Outcome::NoCode => problems.push(format!("`{}` logs in without a code", list.text)),
            Outcome::Disabled(_) | Outcome::PasswordAnswersCode if !list.from_any => {
                problems.push(dead_end(list, outcome));
            }
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Check::warn(
            Section::Sshd,
            NAME,
            format!("{}{where_set}", problems.join("; ")),
            format!(
                "list only method lists that end in keyboard-interactive, e.g. `{KEY_THEN_CODE}`"
            ),
        );
    }
    let good: Vec<&str> = evaluated
        .iter()
        .filter(|(_, outcome)| *outcome == Outcome::Code)
        .map(|(list, _)| list.text.as_str())
        .collect();
    Check::ok(
        Section::Sshd,
        NAME,
        format!("{}: every login is asked for the code", good.join(" ")),
    )
}

fn dead_end(list: &MethodList, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Disabled(keyword) => format!("`{}` never succeeds: {keyword} is no", list.text),
        Outcome::PasswordAnswersCode => {
            let position = |wanted| list.methods.iter().position(|m| *m == wanted);
            let before = matches!(
                (position(Method::Password), position(Method::KbdPam)),
                (Some(password), Some(kbd)) if password < kbd
            );
            let prefix = if before {
                "password is listed before keyboard-interactive, but "
            } else {
                ""
            };
            format!(
                "`{}` never succeeds: {prefix}sshd's password method runs the whole PAM stack \
                 and answers the code prompt with the password",
                list.text
            )
        }
        Outcome::CodeAlone | Outcome::NoCode | Outcome::Code => {
            format!("`{}` can succeed", list.text)
        }
    }
}

fn password_check(settings: &SshdSettings, pam: PamFlow) -> Check {
    const NAME: &str = "PasswordAuthentication";
    if !settings.password_authentication() {
        return Check::ok(Section::Sshd, NAME, "no");
    }
    let used = method_lists(settings)
        .iter()
        .any(|list| list.methods.contains(&Method::Password));
    if !used {
        return Check::ok(
            Section::Sshd,
            NAME,
            "yes, but AuthenticationMethods does not use the password method",
        );
    }
    if pam.forward_pass {
        return Check::ok(
            Section::Sshd,
            NAME,
            "yes: with forward_pass the password prompt takes password and code typed together",
        );
    }
    Check::warn(
        Section::Sshd,
        NAME,
        format!(
            "yes{}: sshd's password method gives the password to every PAM prompt, so it can \
             never pass the code check; clients that try it fail",
            set_at(settings, "passwordauthentication")
        ),
        "set `PasswordAuthentication no`; keyboard-interactive asks for password and code",
    )
}

/// Informational: whether root can log in at all. The users checks warn
/// when root relies on ssh but cannot get in.
fn root_check(settings: &SshdSettings, pam: PamFlow) -> Check {
    const NAME: &str = "PermitRootLogin";
    let detail = match settings.root_login() {
        RootLogin::Any => "yes".to_owned(),
        RootLogin::No => "no: root cannot log in over ssh".to_owned(),
        RootLogin::KeyOnly if logins(settings, pam).all_ask_code => format!(
            "key only{}: root may not use keyboard-interactive, which every login needs, \
             so root cannot log in over ssh",
            set_at(settings, "permitrootlogin")
        ),
        RootLogin::KeyOnly => "key only: root logs in with a key, without a code".to_owned(),
    };
    Check::ok(Section::Sshd, NAME, detail)
}

fn match_check(settings: &SshdSettings) -> Option<Check> {
    let blocks: Vec<String> = settings
        .match_blocks()
        .iter()
        .filter_map(|block| {
            let keywords: Vec<&str> = AUTH_KEYWORDS
                .iter()
                .copied()
                .filter(|keyword| block.keywords.contains(&keyword.to_ascii_lowercase()))
                .collect();
            (!keywords.is_empty()).then(|| {
                format!(
                    "`Match {}` ({}) sets {}",
                    block.criteria,
                    block.origin,
                    keywords.join(", ")
                )
            })
        })
        .collect();
    (!blocks.is_empty()).then(|| {
        Check::warn(
            Section::Sshd,
            "Match",
            format!("not evaluated: {}", blocks.join("; ")),
            "check each case with `sshd -T -C user=NAME,host=HOST,addr=ADDRESS`",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;

    const PASSWORD_STACK: PamFlow = PamFlow {
        asks_password: true,
        forward_pass: false,
    };
    const CODE_ONLY_STACK: PamFlow = PamFlow {
        asks_password: false,
        forward_pass: false,
    };

    fn settings(dump: &str) -> SshdSettings {
        SshdSettings::from_dump(dump, None)
    }

    fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
        checks
            .iter()
            .find(|check| check.name == name)
            .unwrap_or_else(|| panic!("no {name} in {checks:#?}"))
    }

    const KEY_AND_CODE: &str = "usepam yes\nkbdinteractiveauthentication yes\n\
        passwordauthentication no\nauthenticationmethods publickey,keyboard-interactive\n";

    #[test]
    fn key_then_code_is_clean() {
        let checks = checks(&settings(KEY_AND_CODE), CODE_ONLY_STACK);
        assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:#?}");
        assert_eq!(checks.len(), 5);
        // Debian's default PermitRootLogin (prohibit-password) shuts root out.
        assert!(
            find(&checks, "PermitRootLogin")
                .detail
                .contains("root cannot log in")
        );
    }

    #[test]
    fn use_pam_and_kbd_off_fail() {
        let checks = checks(
            &settings("usepam no\nkbdinteractiveauthentication no\n"),
            PASSWORD_STACK,
        );
        assert_eq!(find(&checks, "UsePAM").status, Status::Fail);
        assert_eq!(
            find(&checks, "KbdInteractiveAuthentication").status,
            Status::Fail
        );
    }

    #[test]
    fn key_alone_is_a_warning() {
        let checks = checks(
            &settings("usepam yes\npasswordauthentication no\nauthenticationmethods any\n"),
            PASSWORD_STACK,
        );
        let methods = find(&checks, "AuthenticationMethods");
        assert_eq!(methods.status, Status::Warn);
        assert!(
            methods
                .detail
                .contains("`any (publickey)` logs in without a code")
        );
    }

    #[test]
    fn code_alone_fails() {
        const CODE_ONLY: &str = "usepam yes\npasswordauthentication no\n\
            authenticationmethods keyboard-interactive\n";
        let checks = checks(&settings(CODE_ONLY), CODE_ONLY_STACK);
        assert_eq!(find(&checks, "AuthenticationMethods").status, Status::Fail);
        let with_password = super::checks(&settings(CODE_ONLY), PASSWORD_STACK);
        assert_eq!(
            find(&with_password, "AuthenticationMethods").status,
            Status::Ok
        );
    }

    #[test]
    fn no_list_with_the_code_fails() {
        let checks = checks(
            &settings("authenticationmethods publickey\n"),
            PASSWORD_STACK,
        );
        let methods = find(&checks, "AuthenticationMethods");
        assert_eq!(methods.status, Status::Fail);
        assert!(
            methods
                .detail
                .contains("never reaches keyboard-interactive")
        );
    }

    #[test]
    fn password_before_kbd_can_never_succeed() {
        let checks = checks(
            &settings("authenticationmethods password,keyboard-interactive\n"),
            PASSWORD_STACK,
        );
        let methods = find(&checks, "AuthenticationMethods");
        assert_eq!(methods.status, Status::Fail);
        assert!(methods.detail.contains("nobody can log in"));
        assert!(
            methods
                .detail
                .contains("password is listed before keyboard-interactive")
        );
        assert_eq!(find(&checks, "PasswordAuthentication").status, Status::Warn);
        let forward = PamFlow {
            asks_password: true,
            forward_pass: true,
        };
        let checks = super::checks(
            &settings("authenticationmethods password,keyboard-interactive\n"),
            forward,
        );
        assert_eq!(find(&checks, "AuthenticationMethods").status, Status::Ok);
        assert_eq!(find(&checks, "PasswordAuthentication").status, Status::Ok);
    }

    #[test]
    fn a_dead_list_next_to_a_good_one_warns() {
        let checks = checks(
            &settings(
                "passwordauthentication no\n\
                 authenticationmethods publickey,password publickey,keyboard-interactive\n",
            ),
            PASSWORD_STACK,
        );
        let methods = find(&checks, "AuthenticationMethods");
        assert_eq!(methods.status, Status::Warn);
        assert!(methods.detail.contains("PasswordAuthentication is no"));
        assert_eq!(find(&checks, "PasswordAuthentication").status, Status::Ok);
    }

    #[test]
    fn password_method_with_any_warns() {
        let checks = checks(
            &settings("usepam yes\npubkeyauthentication no\n"),
            PASSWORD_STACK,
        );
        assert_eq!(find(&checks, "PasswordAuthentication").status, Status::Warn);
        assert_eq!(find(&checks, "AuthenticationMethods").status, Status::Ok);
    }

    #[test]
    fn root_login() {
        let with = |extra: &str, dump: &str| {
            let checks = checks(&settings(&format!("{dump}{extra}")), CODE_ONLY_STACK);
            find(&checks, "PermitRootLogin").detail.clone()
        };
        assert_eq!(with("permitrootlogin yes\n", KEY_AND_CODE), "yes");
        assert!(with("permitrootlogin no\n", KEY_AND_CODE).starts_with("no"));
        assert!(with("", "authenticationmethods any\n").contains("without a code"));
    }

    #[test]
    fn method_parsing() {
        assert_eq!(Method::parse("keyboard-interactive:pam"), Method::KbdPam);
        assert_eq!(Method::parse("keyboard-interactive:bsdauth"), Method::Other);
        assert_eq!(Method::parse("publickey"), Method::Publickey);
        assert_eq!(Method::parse("gssapi-with-mic"), Method::Gssapi);
    }

    #[test]
    fn login_summary() {
        let key_and_code = logins(&settings(KEY_AND_CODE), CODE_ONLY_STACK);
        assert!(key_and_code.all_ask_code);
        assert!(key_and_code.all_need_key);
        let any = logins(&settings(""), PASSWORD_STACK);
        assert!(!any.all_ask_code);
        assert!(any.some_ask_code);
        assert!(!any.all_need_key);
        let keys_only = logins(
            &settings("authenticationmethods publickey\n"),
            PASSWORD_STACK,
        );
        assert!(!keys_only.some_ask_code);
        let password_and_code = logins(
            &settings("authenticationmethods keyboard-interactive\n"),
            PASSWORD_STACK,
        );
        assert!(password_and_code.all_ask_code);
        assert!(!password_and_code.all_need_key);
        let nobody = logins(
            &settings("authenticationmethods password\n"),
            PASSWORD_STACK,
        );
        assert_eq!(nobody, Logins::default());
    }
}
