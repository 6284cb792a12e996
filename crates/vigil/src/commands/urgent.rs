//! The urgent line's commands (deskurgent): `vigil desk roster`, `vigil desk
//! purge`, and starting the urgent line inside `vigil desk serve`.

use std::sync::Arc;
use std::time::Duration;

use vigil_core::{Day, DeskIdentity};
use vigil_desk::alerts::Sender;
use vigil_desk::audit::AuditAction;
use vigil_desk::clock::SystemClock;
use vigil_desk::roster::{format_time, new_shift, on_duty};
use vigil_desk::urgent::UrgentLine;
use vigil_store::DeskStore;
use vigil_store::urgent::PurgeKind;
use zeroize::Zeroizing;

use super::Result;
use super::desk::Desk;
use crate::cli::RosterCommand;
use crate::config::DeskConfigFile;

/// How often the urgent line looks for new urgent reports and due alerts.
const TICK: Duration = Duration::from_secs(2);

/// Checks `[alerts]` and starts the urgent line; refuses a config that would
/// send alerts in clear.
pub fn spawn_urgent_line(
    file: &DeskConfigFile,
    store: Arc<dyn DeskStore>,
    identity: Arc<DeskIdentity>,
) -> Result {
    let token = std::env::var("VIGIL_TELEGRAM_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(Zeroizing::new);
    let sender = match &file.alerts {
        Some(alerts) => {
            alerts.check(token.as_deref().map(String::as_str))?;
            Some(Sender::new(alerts.clone(), token)?)
        }
        None => None,
    };
    UrgentLine::new(store, identity, Arc::new(SystemClock), sender).spawn_every(TICK);
    Ok(())
}

pub async fn roster(desk: &Desk, command: Option<RosterCommand>) -> Result {
    match command.unwrap_or(RosterCommand::List) {
        RosterCommand::List => {
            let shifts = desk.store.duty_shifts().await?;
            if shifts.is_empty() {
                println!(
                    "no shifts: urgent reports alert no one (add one with `vigil desk roster add`)"
                );
            }
            let now = vigil_desk::clock::Clock::unix_seconds(&SystemClock);
            let current = on_duty(&shifts, now).map(|s| s.id.clone());
            for s in &shifts {
                let mark = if current.as_deref() == Some(s.id.as_str()) {
                    "  (on now)"
                } else {
                    ""
                };
                println!(
                    "{}  {} – {} UTC  {}{mark}",
                    s.id,
                    format_time(s.starts),
                    format_time(s.ends),
                    s.people.join(", ")
                );
            }
        }
        RosterCommand::Add {
            from,
            to,
            people,
            id,
        } => {
            let shift = new_shift(id.as_deref(), &from, &to, &people)?;
            desk.store.duty_put_shift(&shift).await?;
            cli_audit(desk, AuditAction::RosterChanged, &[&shift.id]).await?;
            println!("shift {} saved", shift.id);
        }
        RosterCommand::Remove { id } => {
            if !desk.store.duty_delete_shift(&id).await? {
                return Err(format!(
                    "no shift {id:?}: `vigil desk roster list` shows the ids / нет такой смены"
                )
                .into());
            }
            cli_audit(desk, AuditAction::RosterChanged, &[&id, "removed"]).await?;
            println!("shift {id} removed");
        }
    }
    Ok(())
}

/// An audit entry for a change made with the command line (actor `(cli)`).
pub async fn cli_audit(desk: &Desk, action: AuditAction, subjects: &[&str]) -> Result {
    vigil_desk::audit::record(
        desk.store.as_ref(),
        super::desk::unix_now(),
        vigil_desk::audit::COMMAND_LINE,
        action,
        subjects,
    )
    .await?;
    Ok(())
}

pub async fn purge(desk: &Desk, dry_run: bool) -> Result {
    let Some(retention) = &desk.file.retention else {
        return Err(
            "the desk config has no [retention] section, so nothing is purged: add \
             reports_uncoded_days and/or closed_cases_years under [retention] (docs/desk.md)"
                .into(),
        );
    };
    retention.check()?;
    let today = Day::today();
    let (reports_before, cases_before) = retention.cutoffs(today);
    let items = if dry_run {
        desk.store
            .retention_candidates(reports_before, cases_before)
            .await?
    } else {
        let gone = desk
            .store
            .retention_purge(reports_before, cases_before)
            .await?;
        // Kinds and how many (the ids are printed below, for the operator).
        let count = |kind: PurgeKind| gone.iter().filter(|i| i.kind == kind).count();
        let reports = format!("reports={}", count(PurgeKind::Report));
        let cases = format!("cases={}", count(PurgeKind::Case));
        cli_audit(desk, AuditAction::Purge, &[&reports, &cases]).await?;
        gone
    };
    let verb = if dry_run { "would purge" } else { "purged" };
    for item in &items {
        let age = (today.date() - item.day.date()).whole_days();
        println!(
            "{verb} {} {} {} ({age} days)",
            item.kind.as_str(),
            item.id,
            item.day
        );
    }
    let reports = items
        .iter()
        .filter(|i| i.kind == vigil_store::urgent::PurgeKind::Report)
        .count();
    println!(
        "{verb}: {reports} uncoded reports, {} closed cases",
        items.len() - reports
    );
    Ok(())
}
