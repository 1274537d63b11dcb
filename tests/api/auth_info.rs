//! auth_info: who a key stands for, as every kind of caller sees it.
use crate::helpers::AUTH_INFO;
use crate::snap;
use crate::world::world;

#[test]
fn auth_info_by_caller() {
    let w = world();
    snap!("auth_info_by_caller", w.by_caller(AUTH_INFO));
}
