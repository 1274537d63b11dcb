//! The only place action names are spelled. They must match
//! `policies/schema.cedarschema`; a unit test checks that they do.
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    ReadAccount,
    ReadTenant,
    ReadApiKey,
    CreateServiceAccount,
    DeleteServiceAccount,
    CreateApiKey,
    DeleteApiKey,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::ReadAccount,
        Action::ReadTenant,
        Action::ReadApiKey,
        Action::CreateServiceAccount,
        Action::DeleteServiceAccount,
        Action::CreateApiKey,
        Action::DeleteApiKey,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::ReadAccount => "ReadAccount",
            Action::ReadTenant => "ReadTenant",
            Action::ReadApiKey => "ReadApiKey",
            Action::CreateServiceAccount => "CreateServiceAccount",
            Action::DeleteServiceAccount => "DeleteServiceAccount",
            Action::CreateApiKey => "CreateApiKey",
            Action::DeleteApiKey => "DeleteApiKey",
        }
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
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
