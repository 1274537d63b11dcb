//! What every resolver gets: the operations' environment (store, policies,
//! the request's one "now" and its id) and who is calling.
use crate::domain::principal::Principal;
use crate::error::AppResult;
use crate::ops::{Caller, Env, Strategy};

pub struct Context {
    pub env: Env,
    pub caller: Caller,
}

impl juniper::Context for Context {}

impl Context {
    /// `principal` is `None` for a request without a key: it may introspect
    /// the schema and accept an invitation, nothing else.
    pub fn new(principal: Option<Principal>, env: Env) -> Self {
        Self {
            env,
            caller: Caller::from_principal(principal),
        }
    }

    /// The same context, letting webhooks point at private addresses.
    pub fn allowing_private_webhooks(mut self, allow: bool) -> Self {
        self.env.webhooks_private = allow;
        self
    }

    /// The same context, filtering lists with `lists`.
    pub fn with_lists(mut self, lists: Strategy) -> Self {
        self.env.lists = lists;
        self
    }

    /// This request's id.
    pub fn request_id(&self) -> &str {
        &self.env.request_id
    }

    /// The calling key, or the refusal of a request that needs one.
    pub fn caller(&self) -> AppResult<&Principal> {
        self.caller.key()
    }
}
