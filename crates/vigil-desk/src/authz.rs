//! Who may do what at the desk: roles, permissions and the one table that
//! joins them. Every handler asks here (through `SignedIn::require` in
//! web.rs); no handler decides by role on its own.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Keys, accounts, roles, retention; sees and may do everything.
    Admin,
    /// Runs the team: the roster, publication, the record.
    Coordinator,
    /// Nights and weekends: urgent reports, acknowledging, recording the outcome.
    DutyLawyer,
    /// Turns reports into the verified record.
    Verifier,
    /// Counts and coded fields; names and report text only when granted.
    Analyst,
}

pub const ROLES: [Role; 5] = [
    Role::Admin,
    Role::Coordinator,
    Role::DutyLawyer,
    Role::Verifier,
    Role::Analyst,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::DutyLawyer => "duty_lawyer",
            Role::Verifier => "verifier",
            Role::Analyst => "analyst",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        ROLES.into_iter().find(|r| r.as_str() == s)
    }

    /// The role's name for a person, Russian or English.
    pub fn label(self, ru: bool) -> &'static str {
        match (self, ru) {
            (Role::Admin, true) => "администратор",
            (Role::Admin, false) => "admin",
            (Role::Coordinator, true) => "координатор",
            (Role::Coordinator, false) => "coordinator",
            (Role::DutyLawyer, true) => "дежурный юрист",
            (Role::DutyLawyer, false) => "duty lawyer",
            (Role::Verifier, true) => "верификатор",
            (Role::Verifier, false) => "verifier",
            (Role::Analyst, true) => "аналитик",
            (Role::Analyst, false) => "analyst",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name the desk does not know, with the ones it does.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown role {0:?}: use admin, coordinator, duty_lawyer, verifier or analyst / \
     неизвестная роль {0:?}: admin, coordinator, duty_lawyer, verifier или analyst"
)]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s).ok_or_else(|| UnknownRole(s.chars().take(32).collect()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Perm {
    /// The queue itself: that reports arrived, when, urgent or not.
    ReadQueue,
    /// The decrypted text of a report.
    ReadReportText,
    /// Persons' names and contacts.
    ReadNames,
    /// Code reports into the record: persons, actions, events, cases.
    Code,
    /// Merge and unmerge persons.
    Merge,
    /// Answer a reporter.
    Reply,
    /// "I'm on it" on an urgent report.
    Acknowledge,
    ManageRoster,
    ManageAccounts,
    ReadAudit,
    Publish,
    Export,
    Purge,
}

/// Rights an account can hold beyond its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Names,
    ReportText,
}

impl Grant {
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::Names => "names",
            Grant::ReportText => "report_text",
        }
    }

    fn perm(self) -> Perm {
        match self {
            Grant::Names => Perm::ReadNames,
            Grant::ReportText => Perm::ReadReportText,
        }
    }

    /// The grants in a stored comma-separated list; unknown words are ignored
    /// (they grant nothing).
    pub fn parse_list(s: &str) -> Vec<Grant> {
        s.split(',')
            .filter_map(|g| match g.trim() {
                "names" => Some(Grant::Names),
                "report_text" => Some(Grant::ReportText),
                _ => None,
            })
            .collect()
    }

    pub fn list_to_string(grants: &[Grant]) -> String {
        grants
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// THE table: what each role may do. Change access here and in the
/// authorisation matrix (docs/desk.md and crates/vigil-desk/tests/access.rs).
pub fn role_allows(role: Role, perm: Perm) -> bool {
    use Perm::*;
    match role {
        Role::Admin => true,
        Role::Coordinator => !matches!(perm, ManageAccounts | ReadAudit | Purge),
        Role::DutyLawyer => matches!(
            perm,
            ReadQueue | ReadReportText | ReadNames | Code | Reply | Acknowledge
        ),
        Role::Verifier => matches!(
            perm,
            ReadQueue | ReadReportText | ReadNames | Code | Merge | Reply | Acknowledge | Export
        ),
        Role::Analyst => matches!(perm, ReadQueue | Export),
    }
}

/// Whether an account with this role and these grants may do `perm`.
pub fn allows(role: Role, grants: &[Grant], perm: Perm) -> bool {
    role_allows(role, perm) || grants.iter().any(|g| g.perm() == perm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_analyst_sees_names_and_text_only_when_granted() {
        assert!(!allows(Role::Analyst, &[], Perm::ReadNames));
        assert!(!allows(Role::Analyst, &[], Perm::ReadReportText));
        assert!(allows(Role::Analyst, &[Grant::Names], Perm::ReadNames));
        assert!(!allows(
            Role::Analyst,
            &[Grant::Names],
            Perm::ReadReportText
        ));
        assert!(allows(
            Role::Analyst,
            &Grant::parse_list("names,report_text"),
            Perm::ReadReportText
        ));
        // A grant never reaches beyond reading.
        assert!(!allows(
            Role::Analyst,
            &[Grant::Names, Grant::ReportText],
            Perm::Merge
        ));
    }

    #[test]
    fn only_admins_manage_accounts_read_the_audit_log_and_purge() {
        for role in ROLES {
            for perm in [Perm::ManageAccounts, Perm::ReadAudit, Perm::Purge] {
                assert_eq!(
                    role_allows(role, perm),
                    role == Role::Admin,
                    "{role} {perm:?}"
                );
            }
        }
        assert_eq!(Role::parse("duty_lawyer"), Some(Role::DutyLawyer));
        assert!("root".parse::<Role>().is_err());
    }
}
