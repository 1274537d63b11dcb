//! Who the calling key stands for, and where.
use super::{Caller, Env, caller_entities};
use crate::authz::Action;
use crate::authz::entities::account_uid;
use crate::domain::principal::Principal;
use crate::error::AppResult;

/// The caller itself, if it may see its own account. Needs no database:
/// the verified key carries what Cedar is asked about.
pub fn get<'c>(env: &Env, caller: &'c Caller) -> AppResult<&'c Principal> {
    let p = caller.key()?;
    let ents = caller_entities(p)?;
    env.session(p, &ents)?.check_visible(
        Action::ReadAccount,
        &account_uid(p.account_id),
        "account",
    )?;
    Ok(p)
}
