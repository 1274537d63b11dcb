//! The GraphQL API, with Prefect Cloud's snake_case names. Resolvers follow
//! one shape: parse the input, load, ask Cedar, act, all in one transaction.
mod api_keys;
pub mod audit;
mod audit_events;
mod auth_info;
pub mod context;
pub mod cost;
pub mod execute;
mod inputs;
mod invitations;
mod key_lifecycle;
pub(crate) mod leaks;
pub use leaks::MAX_REPORTED;
mod memberships;
mod mutation;
pub mod prepared;
mod query;
mod scalars;
mod service_accounts;
mod tenants;
mod types;
pub(crate) mod webhooks;

use juniper::{EmptySubscription, RootNode};

pub use self::context::Context;
pub use self::mutation::Mutation;
pub use self::query::Query;
pub use self::service_accounts::KEYS_PER_ACCOUNT;

pub type Schema = RootNode<Query, Mutation, EmptySubscription<Context>>;

/// Parse-time limits: a document past any of them is refused before it runs.
/// Generous enough for GraphiQL's introspection query.
pub const MAX_DEPTH: usize = 16;
pub const MAX_FIELDS: usize = 1_000;
pub const MAX_TOKENS: usize = 5_000;

pub fn schema() -> Schema {
    Schema::new(Query, Mutation, EmptySubscription::new())
        .limit_depth(MAX_DEPTH)
        .limit_fields(MAX_FIELDS)
        .limit_tokens(MAX_TOKENS)
}

/// The SDL as served; `schema.graphql` in the repository must equal it.
pub fn sdl() -> String {
    schema().as_sdl()
}
