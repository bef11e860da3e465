//! `rust-totp doctor`: checks sshd, its PAM stack (or another service's),
//! the users' secret files and the clock for the mistakes that lock admins
//! out once the one-time code is switched on, and prints each check as OK,
//! WARN or FAIL with a fix. Exits 0 when nothing fails, 1 when something
//! does, 2 on a usage error.

mod accounts;
mod clock;
mod origin;
mod pam_analysis;
mod pam_checks;
mod pam_stack;
mod report;
mod service;
mod sshd_checks;
mod sshd_config;
mod sshd_settings;
mod system_root;
mod user_checks;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

use accounts::Accounts;
use pam_analysis::PamAnalysis;
use report::{Check, Colour, Report, Section, Sources};
use service::Service;
use sshd_checks::PamFlow;
use sshd_settings::LoadOptions;
use system_root::SystemRoot;
use user_checks::{SshdLogins, UserChecks};

#[derive(Debug, Parser)]
#[command(
    name = "doctor",
    bin_name = "rust-totp doctor",
    about = "Check sshd, its PAM stack (or another PAM service's), the users' secret \
             files and the clock for set-up mistakes that lock users out",
    after_help = "Exit status: 0 when no check fails, 1 when one does, 2 on a usage error."
)]
struct DoctorArgs {
    /// sshd's main configuration file [default: /etc/ssh/sshd_config]
    #[arg(long, value_name = "PATH")]
    sshd_config: Option<PathBuf>,

    /// The PAM configuration directory [default: /etc/pam.d]
    #[arg(long, value_name = "PATH")]
    pam_dir: Option<PathBuf>,

    /// The PAM service to check; sshd's own settings are checked only for sshd
    #[arg(long, value_name = "NAME", default_value = "sshd", value_parser = Service::parse)]
    service: Service,

    /// Check only these users (default: every account that can log in through the service)
    #[arg(long = "user", value_name = "NAME", num_args = 1..)]
    users: Vec<String>,

    /// Print the report as JSON
    #[arg(long)]
    json: bool,

    /// Treat DIR as the root directory of the system to check
    #[arg(long, value_name = "DIR", default_value = "/", hide = true)]
    root: PathBuf,

    /// Read the sshd configuration files instead of running `sshd -T`
    #[arg(long = "no-sshd-t", hide = true)]
    no_sshd_t: bool,
}

/// Runs the `doctor` subcommand with the arguments that follow it and returns
/// the process exit status.
pub fn run(args: Vec<OsString>) -> i32 {
    let command_line = std::iter::once(OsString::from("rust-totp doctor")).chain(args);
    let args = match DoctorArgs::try_parse_from(command_line) {
        Ok(args) => args,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { 2 } else { 0 };
        }
    };
    let report = diagnose(&args);
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text(Colour::for_stdout()));
    }
    report.exit_status()
}

fn diagnose(args: &DoctorArgs) -> Report {
    let root = SystemRoot::new(args.root.clone());
    let service = &args.service;
    let pam_dir = args
        .pam_dir
        .clone()
        .unwrap_or_else(|| root.path("/etc/pam.d"));

    let (pam, pam_checks) = match pam_stack::load(&root, &pam_dir, service.name(), "auth") {
        Ok(stack) => {
            let analysis = PamAnalysis::new(stack);
            let checks = pam_checks::stack_checks(&root, service, &analysis);
            (Some(analysis), checks)
        }
        Err(error) => (None, vec![pam_checks::missing_stack_check(service, &error)]),
    };
    let flow = pam_flow(pam.as_ref());
    let (sshd_source, sshd, mut checks) = if service.is_sshd() {
        let sshd = load_sshd(args, &root);
        let mut checks = sshd.findings;
        checks.extend(sshd_checks::checks(&sshd.settings, flow));
        (sshd.source, Some(sshd.settings), checks)
    } else {
        let source = format!("not checked (PAM service {service})");
        (source, None, Vec::new())
    };
    checks.extend(pam_checks);
    checks.push(pam_checks::common_auth_check(
        &root,
        &pam_dir,
        pam_checks::is_proxmox(&root),
    ));

    let (users_source, user_checks) = match Accounts::load(&root) {
        Ok(accounts) => {
            let user_checks = UserChecks {
                root: &root,
                service,
                accounts: &accounts,
                sshd: sshd.as_ref().map(|settings| SshdLogins {
                    settings,
                    logins: sshd_checks::logins(settings, flow),
                }),
                pam: pam.as_ref(),
            };
            (accounts.describe_source(), user_checks.run(&args.users))
        }
        Err(error) => (
            "none".to_owned(),
            vec![Check::fail(
                Section::Users,
                "accounts",
                error.to_string(),
                "point --root at a system with /etc/passwd",
            )],
        ),
    };
    checks.extend(user_checks);
    checks.push(clock::check(&root));

    let sources = Sources {
        sshd: sshd_source,
        pam: root.show(&pam_dir.join(service.name())),
        users: users_source,
    };
    Report::new(sources, checks)
}

fn load_sshd(args: &DoctorArgs, root: &SystemRoot) -> sshd_settings::Loaded {
    let config = args
        .sshd_config
        .clone()
        .unwrap_or_else(|| root.path("/etc/ssh/sshd_config"));
    sshd_settings::load(&LoadOptions {
        root,
        config: &config,
        run_sshd_t: root.is_real() && !args.no_sshd_t,
    })
}

/// What the PAM stack adds to sshd's methods. Without a readable stack,
/// assume a password is asked, so that no code-alone failure is claimed
/// on missing evidence.
fn pam_flow(pam: Option<&PamAnalysis>) -> PamFlow {
    match pam {
        Some(analysis) => PamFlow {
            asks_password: analysis.asks_password,
            forward_pass: analysis
                .module()
                .is_some_and(|module| module.forward_pass()),
        },
        None => PamFlow {
            asks_password: true,
            forward_pass: false,
        },
    }
}
