//! The only place action names are spelled. They must match
//! `policies/schema.cedarschema`; a unit test checks that they do.
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumIter, strum::IntoStaticStr)]
pub enum Action {
    ReadAccount,
    ReadTenant,
    ReadApiKey,
    CreateServiceAccount,
    DeleteServiceAccount,
    CreateApiKey,
    DeleteApiKey,
    CreateTenant,
    UpdateServiceAccount,
    ReadMembership,
    UpdateMembership,
    DeleteMembership,
    CreateInvitation,
    ReadInvitation,
    DeleteInvitation,
    AcceptInvitation,
    RotateApiKey,
    UpdateApiKey,
    ReadAuditEvent,
    Forward,
    ManageWebhook,
    ReadWebhook,
    RevokeLeakedApiKey,
}

impl Action {
    /// Every action, in declaration order.
    pub fn all() -> impl Iterator<Item = Action> {
        <Action as strum::IntoEnumIterator>::iter()
    }

    /// Its Cedar name (`Keyward::Action::"<name>"`).
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Words for an error message: "You may not {describe}."
    pub fn describe(self) -> &'static str {
        match self {
            Action::ReadAccount => "see this account",
            Action::ReadTenant => "see this tenant",
            Action::ReadApiKey => "see this API key",
            Action::CreateServiceAccount => "create service accounts in this tenant",
            Action::DeleteServiceAccount => "delete this service account",
            Action::CreateApiKey => "create an API key for this account",
            Action::DeleteApiKey => "revoke this API key",
            Action::CreateTenant => "create tenants",
            Action::UpdateServiceAccount => "change this service account",
            Action::ReadMembership => "see this membership",
            Action::UpdateMembership => "change this member's role",
            Action::DeleteMembership => "remove this member",
            Action::CreateInvitation => "invite members to this tenant",
            Action::ReadInvitation => "see this invitation",
            Action::DeleteInvitation => "revoke this invitation",
            Action::AcceptInvitation => "accept this invitation",
            Action::RotateApiKey => "rotate this API key",
            Action::UpdateApiKey => "change this API key",
            Action::ReadAuditEvent => "read this tenant's audit log",
            Action::Forward => "make this request",
            Action::ManageWebhook => "manage this tenant's webhooks",
            Action::ReadWebhook => "see this tenant's webhooks",
            Action::RevokeLeakedApiKey => "revoke this API key as leaked",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
