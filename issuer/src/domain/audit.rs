//! The audit trail's vocabulary and rows: every event the issuer records, by name, and the
//! shape of a listed entry. Storage appends and lists them (table `audit`, append-only).

use credential::citizen::Level;

use super::StatusAction;

/// An audit event. The stored names ([`AuditEvent::as_str`]) are the trail's vocabulary and
/// never change, since the rows already written keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    /// `enrolment.basic`: a citizen enrolled at the basic level.
    EnrolmentBasic,
    /// `enrolment.high`: a citizen enrolled at the high level.
    EnrolmentHigh,
    /// `offer.redeemed`: a pre-authorized code was exchanged for a token.
    OfferRedeemed,
    /// `offer.dead`: an offer died after too many wrong `tx_code`s.
    OfferDead,
    /// `refresh.used`: a refresh token was spent for a new token.
    RefreshUsed,
    /// `refresh.grace`: a retry of a spent refresh token, answered within the reuse grace.
    RefreshGrace,
    /// `refresh.refused`: a refresh token was refused (reuse, revoked or suspended enrolment).
    RefreshRefused,
    /// `credential.issued`: one credential of a batch was issued.
    CredentialIssued,
    /// `status.revoke`, `status.suspend`, `status.reinstate`: credentials changed status.
    Status(StatusAction),
    /// `citizen.revoke`, `citizen.suspend`, `citizen.reinstate`: a citizen's hold changed.
    Citizen(StatusAction),
    /// `citizen.lift-hold`: a citizen's revocation hold was lifted.
    CitizenLiftHold,
    /// `key.created`: a signing key was created.
    KeyCreated,
    /// `key.rotated`: the active signing key was rotated.
    KeyRotated,
    /// `key.withdrawn`: a signing key was withdrawn as compromised.
    KeyWithdrawn,
    /// `officer.added`.
    OfficerAdded,
    /// `officer.removed`.
    OfficerRemoved,
    /// `platform.added`.
    PlatformAdded,
    /// `platform.removed`.
    PlatformRemoved,
    /// `housekeeping.sweep`: counts of the rows a sweep deleted.
    HousekeepingSweep,
}

impl AuditEvent {
    /// Every event, each once.
    pub const ALL: [AuditEvent; 23] = [
        AuditEvent::EnrolmentBasic,
        AuditEvent::EnrolmentHigh,
        AuditEvent::OfferRedeemed,
        AuditEvent::OfferDead,
        AuditEvent::RefreshUsed,
        AuditEvent::RefreshGrace,
        AuditEvent::RefreshRefused,
        AuditEvent::CredentialIssued,
        AuditEvent::Status(StatusAction::Revoke),
        AuditEvent::Status(StatusAction::Suspend),
        AuditEvent::Status(StatusAction::Reinstate),
        AuditEvent::Citizen(StatusAction::Revoke),
        AuditEvent::Citizen(StatusAction::Suspend),
        AuditEvent::Citizen(StatusAction::Reinstate),
        AuditEvent::CitizenLiftHold,
        AuditEvent::KeyCreated,
        AuditEvent::KeyRotated,
        AuditEvent::KeyWithdrawn,
        AuditEvent::OfficerAdded,
        AuditEvent::OfficerRemoved,
        AuditEvent::PlatformAdded,
        AuditEvent::PlatformRemoved,
        AuditEvent::HousekeepingSweep,
    ];

    /// The event of an enrolment at `level`: high, or basic for every other level.
    pub fn enrolment(level: Level) -> AuditEvent {
        if level == Level::High {
            AuditEvent::EnrolmentHigh
        } else {
            AuditEvent::EnrolmentBasic
        }
    }

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditEvent::EnrolmentBasic => "enrolment.basic",
            AuditEvent::EnrolmentHigh => "enrolment.high",
            AuditEvent::OfferRedeemed => "offer.redeemed",
            AuditEvent::OfferDead => "offer.dead",
            AuditEvent::RefreshUsed => "refresh.used",
            AuditEvent::RefreshGrace => "refresh.grace",
            AuditEvent::RefreshRefused => "refresh.refused",
            AuditEvent::CredentialIssued => "credential.issued",
            AuditEvent::Status(StatusAction::Revoke) => "status.revoke",
            AuditEvent::Status(StatusAction::Suspend) => "status.suspend",
            AuditEvent::Status(StatusAction::Reinstate) => "status.reinstate",
            AuditEvent::Citizen(StatusAction::Revoke) => "citizen.revoke",
            AuditEvent::Citizen(StatusAction::Suspend) => "citizen.suspend",
            AuditEvent::Citizen(StatusAction::Reinstate) => "citizen.reinstate",
            AuditEvent::CitizenLiftHold => "citizen.lift-hold",
            AuditEvent::KeyCreated => "key.created",
            AuditEvent::KeyRotated => "key.rotated",
            AuditEvent::KeyWithdrawn => "key.withdrawn",
            AuditEvent::OfficerAdded => "officer.added",
            AuditEvent::OfficerRemoved => "officer.removed",
            AuditEvent::PlatformAdded => "platform.added",
            AuditEvent::PlatformRemoved => "platform.removed",
            AuditEvent::HousekeepingSweep => "housekeeping.sweep",
        }
    }
}

stored_names!(AuditEvent);

/// One audit row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    /// Sequence number.
    pub seq: i64,
    /// Unix time.
    pub at: i64,
    /// Who: an officer id, `system`, `wallet`, `cli:<user>`.
    pub actor: String,
    /// Event name.
    pub event: String,
    /// Subject id.
    pub subject: Option<String>,
    /// Ids and outcomes (JSON).
    pub detail: Option<String>,
}

/// Which audit events to list (`issuer audit`); `None` selects any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events at or after this unix time.
    pub since: Option<i64>,
    /// Events at or before this unix time.
    pub until: Option<i64>,
    /// Events whose name starts with this (`status.` selects every status change).
    pub event_prefix: Option<String>,
    /// Events of this actor.
    pub actor: Option<String>,
    /// The newest this many matching events are listed (oldest first).
    pub limit: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_audit_event_name_parses_back_to_its_event() {
        for e in AuditEvent::ALL {
            assert_eq!(AuditEvent::parse(e.as_str()), Some(e), "{e}");
        }
        let mut names: Vec<_> = AuditEvent::ALL.iter().map(|e| e.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditEvent::ALL.len(), "names are distinct");
        assert_eq!(AuditEvent::parse("status.unknown"), None);
    }

    #[test]
    fn enrolment_event_is_high_only_for_the_high_level() {
        assert_eq!(
            AuditEvent::enrolment(Level::High),
            AuditEvent::EnrolmentHigh
        );
        assert_eq!(
            AuditEvent::enrolment(Level::Basic),
            AuditEvent::EnrolmentBasic
        );
    }
}
